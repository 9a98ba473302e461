"""The heat band's full scale: the same in the viewer and the printed report."""

from __future__ import annotations

from typing import Any

import numpy as np


def band_map(result: Any) -> np.ndarray | None:
    """What the heat band draws: the calibrated finding map (1 = a finding) when the model has
    a findings calibration, else the raw anomaly map."""
    fmap = getattr(result, "finding_map", None)
    return fmap if fmap is not None else getattr(result, "anomaly_map", None)


def heat_scale(result: Any) -> float:
    """Map value drawn at full opacity.

    For a calibrated finding map this is 2: the default 50 % threshold is the calibrated one
    (the band starts where a finding would), and a lower threshold shows more.

    The model card may give a reference (``map_reference``: a high percentile of the map over
    validation normals); otherwise the 99.5th percentile of this ECG's own map is used, so the
    band shows where this ECG is most unusual and the record score says how unusual it is.
    """
    if getattr(result, "finding_map", None) is not None:
        return 2.0
    ref = getattr(result, "map_reference", None)
    if ref is None:
        model = getattr(result, "model", None) or {}
        ref = model.get("map_reference") if isinstance(model, dict) else None
    if ref is not None and float(ref) > 0:
        return float(ref)
    amap = getattr(result, "anomaly_map", None)
    if amap is None:
        return 1.0
    vals = np.asarray(amap, dtype=np.float32)
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        return 1.0
    hi = float(np.percentile(vals, 99.5))
    return hi if hi > 0 else 1.0


#: Heat band resolution on paper (mm): one bin per half millimetre, on screen and in print.
HEAT_BIN_MM = 0.5
#: Opacity steps: equal neighbouring steps merge into one painted rectangle.
HEAT_LEVELS = 16


def bin_max(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Maximum of ``values`` in ``n_bins`` equal bins (a peak is never averaged away)."""
    values = np.asarray(values, dtype=np.float32)
    n = values.size
    if n == 0 or n_bins <= 0:
        return np.zeros(max(n_bins, 0), dtype=np.float32)
    if n <= n_bins:
        return values.copy()
    edges = np.linspace(0, n, n_bins + 1).astype(np.int64)
    clean = np.nan_to_num(values, nan=0.0)
    return np.maximum.reduceat(clean, edges[:-1]).astype(np.float32)


def heat_bins(values: np.ndarray, width_mm: float) -> np.ndarray:
    """The map under a trace segment ``width_mm`` long, binned to :data:`HEAT_BIN_MM`."""
    return bin_max(values, max(1, int(round(width_mm / HEAT_BIN_MM))))


def heat_alpha(bins: np.ndarray, scale: float, threshold: float, opacity: float) -> np.ndarray:
    """Per-bin opacity 0-255: 0 up to ``threshold * scale``, rising in :data:`HEAT_LEVELS`
    steps to ``opacity`` at ``scale`` (the one shading rule of screen and paper)."""
    vals = np.nan_to_num(np.asarray(bins, dtype=np.float32), nan=0.0)
    lo = threshold * scale
    span = max(scale - lo, 1e-12)
    level = np.clip((vals - lo) / span, 0.0, 1.0)
    steps = np.ceil(level * HEAT_LEVELS).astype(np.int64)  # 0 only at/below threshold
    return np.round(255 * opacity * steps / HEAT_LEVELS).astype(np.uint8)


def heat_runs(alpha: np.ndarray) -> list[tuple[int, int, int]]:
    """``(first bin, end bin, alpha)`` of each run of equal non-zero opacity, to paint."""
    alpha = np.asarray(alpha)
    if alpha.size == 0:
        return []
    change = np.flatnonzero(np.diff(alpha.astype(np.int16))) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [alpha.size]))
    return [(int(a), int(b), int(alpha[a])) for a, b in zip(starts, ends, strict=True) if alpha[a]]
