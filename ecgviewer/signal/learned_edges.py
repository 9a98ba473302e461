"""Global wave edges learned from cardiologists' per-lead delineation: a second opinion
beside the rules of :mod:`~ecgviewer.signal.intervals`.

Why: the rules find the QRS from the spatial velocity of all leads and P and T from their
slopes, then shift each edge by a constant; LUDB's cardiologists mark every lead on its own,
and the standard's global edge is the earliest onset / latest offset over the 12 leads. A
small 1-D U-Net that labels every sample of one lead as P, QRS, T or none (trained on LUDB
records 1-100's per-lead marks, ``model/train_delineator.py``; 12 x 80 leads per fold) finds
edges as those cardiologists place them, lead by lead, and the global edges follow from the
same earliest/latest rule as the reference. Its errors only partly coincide with the rules'
(correlation 0.3 for P, 0.7 for QRS on records 1-50), so :func:`~ecgviewer.signal.intervals.measure`
averages the two (5-fold cross-validation on records 1-100, every record measured by a network
that never saw it: ``benchmarks/measure_accuracy.py --fold-weights`` and the README).

Inference is numpy only (this layer is torch-free): the exported weights have their batch
norms folded into the convolutions (``resources/delineator/weights.npz``, with the biases of
each interval measured out of fold, which are subtracted here). It needs the 12 standard
leads at :data:`MIN_FS` or more; otherwise :func:`learned_intervals` gives None and the rules
alone measure.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from ecgviewer.paths import resource
from ecgviewer.record import STANDARD_LEADS
from ecgviewer.signal.filters import highpass
from ecgviewer.signal.resample import resample

#: The network's rate (Hz): LUDB's 500 Hz halved.
WORK_FS = 250.0
#: Slowest input rate measured. The network learned from 500 Hz records brought to 250 Hz
#: (their noise above ~110 Hz filtered away by the resampling); a record recorded at 250 Hz
#: keeps that noise, and on synthetic ECGs at 250 Hz the network's T waves ran into the next
#: beat (QT 190-450 ms long) where at 360-1000 Hz they did not. So 400 Hz at least.
MIN_FS = 400.0
#: Bundled weights (``python -m model.train_delineator`` writes them).
WEIGHTS = "delineator/weights.npz"
#: Classes of the network's output, per sample.
NONE, P_WAVE, QRS, T_WAVE = 0, 1, 2, 3
#: Shortest runs (samples at WORK_FS) taken as a wave: 20 ms for P and QRS, 40 ms for T.
MIN_RUN = {P_WAVE: 5, QRS: 5, T_WAVE: 10}
INTERVALS = ("p_duration", "pr", "qrs", "qt")


def network_input(x: np.ndarray, fs: float) -> np.ndarray:
    """(n_leads, 2, n) float32 at :data:`WORK_FS`: each lead (0.5 Hz high-pass, scaled by its
    99.5th percentile of |x|) beside :func:`spatial_velocity` of all leads, the context that
    tells the network where the global QRS is. Training makes its inputs here too."""
    y = highpass(np.asarray(x, dtype=np.float64), fs, 0.5).astype(np.float64)
    if abs(fs - WORK_FS) > 1e-6:
        y = resample(y, fs, WORK_FS)
    scale = np.maximum(np.percentile(np.abs(y), 99.5, axis=1, keepdims=True), 0.05)
    y = y / scale
    vel = spatial_velocity(y)
    return np.stack([np.stack([lead, vel]) for lead in y]).astype(np.float32)


def spatial_velocity(leads: np.ndarray) -> np.ndarray:
    """Root of the summed squared sample-to-sample changes of the scaled leads (n_leads, n),
    scaled by its 99th percentile: large in every QRS, whichever leads carry it."""
    vel = np.sqrt((np.diff(leads, axis=1, prepend=leads[:, :1]) ** 2).sum(axis=0))
    return vel / max(float(np.percentile(vel, 99)), 1e-6)


@lru_cache(maxsize=2)
def load_weights(path: Path | None = None) -> dict[str, np.ndarray]:
    """The exported network: ``enc{i}_{j}_w/b``, ``dec{i}_{j}_w/b`` (folded convolutions),
    ``head_w/b`` and ``bias_<interval>`` (ms, out of fold)."""
    with np.load(path or resource(WEIGHTS)) as blob:
        return {k: blob[k] for k in blob.files}


def _conv(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """'same' 1-D convolution (N, C, L) * (O, C, K) -> (N, O, L), as one matrix product."""
    k = w.shape[-1]
    padded = np.pad(x, ((0, 0), (0, 0), (k // 2, k // 2)))
    cols = np.lib.stride_tricks.sliding_window_view(padded, k, axis=2)  # (N, C, L, K)
    n, c, length, _ = cols.shape
    flat = cols.transpose(0, 2, 1, 3).reshape(n * length, c * k)
    out = flat @ w.reshape(w.shape[0], c * k).T + b
    return out.reshape(n, length, w.shape[0]).transpose(0, 2, 1)


def _block(x: np.ndarray, net: dict[str, np.ndarray], name: str) -> np.ndarray:
    for j in (0, 1):
        x = np.maximum(_conv(x, net[f"{name}_{j}_w"], net[f"{name}_{j}_b"]), 0.0)
    return x


def _upsample(x: np.ndarray, size: int) -> np.ndarray:
    """Linear interpolation to ``size`` samples (half-sample centres, as in training)."""
    n = x.shape[-1]
    pos = np.clip((np.arange(size) + 0.5) * n / size - 0.5, 0, n - 1)
    i0 = np.floor(pos).astype(np.int64)
    i1 = np.minimum(i0 + 1, n - 1)
    w = (pos - i0).astype(x.dtype)
    return x[..., i0] * (1 - w) + x[..., i1] * w


def forward(inputs: np.ndarray, net: dict[str, np.ndarray]) -> np.ndarray:
    """Class scores (n_leads, 4, n) of the U-Net for :func:`network_input`'s (n_leads, 2, n)."""
    depth = sum(1 for k in net if k.startswith("enc") and k.endswith("_0_w"))
    x = inputs.astype(np.float32)
    skips = []
    for i in range(depth):
        x = _block(x, net, f"enc{i}")
        if i < depth - 1:
            skips.append(x)
            half = x.shape[-1] // 2
            x = x[..., : 2 * half].reshape(*x.shape[:2], half, 2).max(axis=-1)
    for i in range(depth - 1):
        skip = skips.pop()
        x = _block(np.concatenate([_upsample(x, skip.shape[-1]), skip], axis=1), net, f"dec{i}")
    head = net["head_w"]
    return np.einsum("ncl,oc->nol", x, head.reshape(head.shape[0], -1)) + net["head_b"][:, None]


def lead_waves(labels: np.ndarray) -> list[dict[int, list[tuple[int, int, int]]]]:
    """Per lead, the (onset, centre, offset) runs of each wave class in (n_leads, n) labels."""
    out = []
    for row in labels:
        waves: dict[int, list[tuple[int, int, int]]] = {}
        for cls, shortest in MIN_RUN.items():
            edges = np.diff(np.r_[0, (row == cls).astype(np.int8), 0])
            starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
            waves[cls] = [
                (int(a), int((a + b) // 2), int(b))
                for a, b in zip(starts, ends, strict=True)
                if b - a + 1 >= shortest
            ]
        out.append(waves)
    return out


def global_intervals(
    waves: Sequence[dict[int, list[tuple[int, int, int]]]],
    fs: float,
    beats: np.ndarray | None = None,
) -> dict[str, float | None]:
    """Median over beats of the global P duration, PR, QRS and QT (ms), as the standard
    defines them: per beat, the earliest onset and the latest offset over the leads.

    Beats are QRS runs of at least 6 leads whose centres lie within 80 ms; with ``beats``
    (samples at ``fs``), only those within 80 ms of one of them count (the beats the median
    beat is made of: no PVC)."""
    near = 0.08 * fs
    centres_all = sorted(c for w in waves for (_, c, _) in w[QRS])
    clusters: list[list[int]] = []
    for c in centres_all:
        if clusters and c - clusters[-1][-1] <= near:
            clusters[-1].append(c)
        else:
            clusters.append([c])
    centres = [int(np.median(c)) for c in clusters if len(c) >= 6]
    values: dict[str, list[float]] = {k: [] for k in INTERVALS}
    ms = 1000.0 / fs
    for k, c in enumerate(centres):
        if beats is not None and (beats.size == 0 or np.min(np.abs(beats - c)) > near):
            continue
        prev_c = centres[k - 1] if k else -(10**9)
        next_c = centres[k + 1] if k + 1 < len(centres) else 10**9
        qrs = [(a, b) for w in waves for (a, m, b) in w[QRS] if abs(m - c) <= near]
        on, off = min(a for a, _ in qrs), max(b for _, b in qrs)
        pw = [
            (a, b) for w in waves for (a, m, b) in w[P_WAVE] if max(prev_c, c - 0.5 * fs) < m < on
        ]
        tw = [
            (a, b) for w in waves for (a, m, b) in w[T_WAVE] if off < m < min(next_c, c + 0.8 * fs)
        ]
        values["qrs"].append((off - on) * ms)
        if len(pw) >= 3:
            p_on = min(a for a, _ in pw)
            values["p_duration"].append((max(b for _, b in pw) - p_on) * ms)
            values["pr"].append((on - p_on) * ms)
        if len(tw) >= 3:
            values["qt"].append((max(b for _, b in tw) - on) * ms)
    return {k: (float(np.median(v)) if v else None) for k, v in values.items()}


def learned_intervals(
    signal: np.ndarray,
    fs: float,
    leads: Sequence[str],
    beats: np.ndarray | None = None,
    weights: Path | None = None,
) -> dict[str, float | None] | None:
    """The network's global intervals (ms, its out-of-fold bias removed) of a 12-lead ECG.

    ``beats``: R peaks (samples at ``fs``) of the beats to measure. None when the 12 standard
    leads are not all there, the rate is below :data:`MIN_FS` (400 Hz) or no weights are
    bundled.
    """
    if fs < MIN_FS - 1e-6 or not set(STANDARD_LEADS) <= set(leads):
        return None
    try:
        net = load_weights(weights)
    except OSError:
        return None
    rows = [list(leads).index(name) for name in STANDARD_LEADS]
    x = np.asarray(signal, dtype=np.float64)[rows]
    labels = forward(network_input(x, fs), net).argmax(axis=1)
    at_work = None if beats is None else np.asarray(beats, dtype=np.float64) * WORK_FS / fs
    values = global_intervals(lead_waves(labels), WORK_FS, at_work)
    return {
        k: (None if v is None else v - float(net.get(f"bias_{k}", 0.0))) for k, v in values.items()
    }
