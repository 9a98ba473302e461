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
