"""``np.percentile`` along the last axis (method "linear"), the same values without its
per-call cost.

Why: numpy's percentile spends ~35 us of argument handling on every call before any work,
and scoring calls it about seven times per ECG, on arrays of 15 to 60,000 values (R-peak
levels, lead ranges, map percentiles). Here the rows are partitioned at the order statistics
the quantiles need (what numpy itself does) and interpolated with numpy's own formula, so the
values are the same to the bit (tests/signal/test_quantiles.py). Rows holding NaN, integer
input and other axes go through numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def percentile(
    a: np.ndarray, q: float | Sequence[float], as_float64: bool = False
) -> np.ndarray | float:
    """``np.percentile(a, q, axis=-1)`` of a float array: for a sequence ``q``, shape
    ``(len(q), *a.shape[:-1])``; for one ``q``, ``a.shape[:-1]`` (a float for 1-D ``a``).

    ``as_float64``: the values of ``np.percentile(a.astype(np.float64), q, axis=-1)``, for a
    float32 ``a`` whose order statistics (the same numbers) partition at half the memory
    traffic. Without it a float32 ``a`` gives numpy's values for ``a`` itself (with a sequence
    ``q`` numpy takes the difference of the two order statistics in float32, the rest in
    float64; with one ``q`` it works in float32 throughout, which goes through numpy here, as
    do integers and rows holding NaN).
    """
    a = np.asarray(a)
    one = np.ndim(q) == 0
    if a.dtype.kind != "f" or a.ndim == 0 or a.shape[-1] == 0 or np.isnan(a).any():
        return np.percentile(a.astype(np.float64) if as_float64 else a, q, axis=-1)
    if one and a.dtype != np.float64 and not as_float64:
        return np.percentile(a, q, axis=-1)
    fractions = [float(v) / 100 for v in ([q] if one else q)]  # type: ignore[list-item]
    if min(fractions) < 0 or max(fractions) > 1:
        raise ValueError("percentiles must be in the range [0, 100]")
    n = a.shape[-1]
    picks = []
    for f in fractions:
        virtual = (n - 1) * f
        below = math.floor(virtual)
        picks.append((below, min(below + 1, n - 1), virtual - below))
    part = np.partition(a, sorted({k for lo, hi, _ in picks for k in (lo, hi)}), axis=-1)
    rows = []
    for lo_at, hi_at, t in picks:
        lo, hi = part[..., lo_at], part[..., hi_at]
        if as_float64:
            lo, hi = lo.astype(np.float64), hi.astype(np.float64)
        diff = (hi - lo).astype(np.float64)
        lo, hi = lo.astype(np.float64), hi.astype(np.float64)
        # numpy's _lerp: a + (b - a) * t, or b - (b - a) * (1 - t) where t >= 0.5.
        rows.append(hi - diff * (1 - t) if t >= 0.5 else lo + diff * t)
    if one:
        return float(rows[0]) if a.ndim == 1 else rows[0]
    return np.stack(rows)
