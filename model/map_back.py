"""From per-window errors at the model rate to the record's own timeline, samples and leads.

Overlapping windows are averaged onto the record's model-rate timeline (:func:`stitch`); maps
and the restored signal are interpolated onto the input's own samples with rows in the
record's lead order (:func:`record_rows`); beats get per-lead means of the map
(:func:`beat_scores`).
"""

from __future__ import annotations

import numpy as np

from model.config import ModelConfig
from model.preprocess import Prepared, to_input_rate
from model.restore import WindowMaps


def stitch(
    prepared: Prepared, maps: list[WindowMaps], cfg: ModelConfig, restored: bool = True
) -> dict[str, np.ndarray]:
    """Average overlapping windows onto the record's model-rate timeline (``restored``: also
    the restored signal in mV, ``restored_mv``, which only the per-sample results use)."""
    n = prepared.n_model + prepared.padded  # the filtered leads' length
    base = ("global_sq", "global_v", "trend_sq", "beat_sq", "beat_v")
    # The all-pass maps forward_windows was asked for (the same for every window).
    names = (
        base
        + (("restored_mv",) if restored else ())
        + tuple(f"all_{name}" for name in maps[0].all_sq)
    )
    sums: dict[str, np.ndarray] = {}
    counts = {name: np.zeros(n, np.float64) for name in names}
    length = cfg.global_len
    one = len(maps) == 1
    for w, m in zip(prepared.windows, maps):
        sl = slice(w.start, w.start + length)
        values = {
            "global_sq": m.global_sq,
            "global_v": m.global_v,
            "trend_sq": m.trend_sq,
            "beat_sq": m.beat_sq,
            "beat_v": m.beat_v,
            **{f"all_{name}": value for name, value in m.all_sq.items()},
        }
        if restored:
            values["restored_mv"] = m.restored * w.half[:, None] + w.centre[:, None]
        for name, value in values.items():
            if one:  # the sum is the window's own float32 values: no float64 sums needed
                sums[name] = np.zeros((value.shape[0], n), np.float32)
                sums[name][:, sl] = np.where(np.isfinite(value), value, 0)
            else:
                if name not in sums:
                    sums[name] = np.zeros((value.shape[0], n), np.float64)
                sums[name][:, sl] += np.where(np.isfinite(value), value, 0)
            counts[name][sl] += np.isfinite(value[0])
    out = {}
    for name in names:
        with np.errstate(invalid="ignore", divide="ignore"):
            # One window: its values divided by 1 (or 0 where not finite), the same in float32
            # as in float64 (10 s ECGs, most of an archive).
            count = counts[name].astype(np.float32) if one else counts[name]
            out[name] = (sums[name] / count).astype(np.float32)
    # Samples outside every window (a few edge samples of a 10 s ECG) take the nearest value.
    for name in (
        "global_sq",
        "global_v",
        "trend_sq",
        "restored_mv",
        "all_global_sq",
        "all_global_v",
        "all_trend_sq",
    ):
        if name not in out:
            continue
        arr = out[name]
        covered = np.flatnonzero(counts[name] > 0)
        if len(covered) and len(covered) < n:
            idx = np.clip(np.searchsorted(covered, np.arange(n)), 0, len(covered) - 1)
            arr[:] = arr[:, covered[idx]]
    return out


def record_rows(
    model_rows: np.ndarray, p: Prepared, cfg: ModelConfig, leads: list[str], fill: float
) -> np.ndarray:
    """A (12, n_model[+padded]) model-rate array at the record's own samples, one row per
    record lead (``leads``) in its order; leads the model does not use, and the samples
    left out after the ECG (``p.n_tail``: a cart's calibration pulse), are ``fill``."""
    at_input = to_input_rate(model_rows, p, cfg)
    out = np.full((len(leads), p.n_in + p.n_tail), fill, np.float32)
    for row, name in enumerate(cfg.leads):
        if name in leads:
            out[leads.index(name), : p.n_in] = at_input[row]
    return out


def beat_scores(
    comb: np.ndarray, r_peaks: np.ndarray, n_model: int, cfg: ModelConfig
) -> list[tuple[float, float, float, dict[str, float]]]:
    """``(start s, end s, mean, {lead: mean})`` of the (12, n_model) map over each beat view
    (-beat_before..+beat_after around R, at least half of it inside the record)."""
    beats = []
    post = cfg.beat_len - cfg.beat_pre
    starts = np.maximum(0, r_peaks - cfg.beat_pre)
    ends = np.minimum(n_model, r_peaks + post)
    keep = ends - starts >= cfg.beat_len // 2
    starts, ends = starts[keep], ends[keep]
    # Per-beat, per-lead means of the map from one cumulative sum (not a loop of means).
    csum = np.concatenate(
        [np.zeros((comb.shape[0], 1)), np.cumsum(comb, axis=1, dtype=np.float64)], axis=1
    )
    beat_lead_means = (csum[:, ends] - csum[:, starts]) / (ends - starts)  # (12, n_beats)
    for j, (a, b) in enumerate(zip(starts.tolist(), ends.tolist())):
        per_lead = beat_lead_means[:, j].tolist()
        beats.append(
            (
                a / cfg.fs,
                b / cfg.fs,
                float(np.mean(per_lead)),
                dict(zip(cfg.leads, per_lead)),
            )
        )
    return beats
