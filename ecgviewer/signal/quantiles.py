"""``np.percentile`` along the last axis (method "linear"), the same values without its
per-call cost.

Why: numpy's percentile spends ~35 us of argument handling on every call before any work,
and scoring calls it about seven times per ECG, on arrays of 15 to 60,000 values (R-peak
levels, lead ranges, window scaling); and numpy partitions at the two order statistics a
quantile between samples needs 5-8x slower than at one. Here the rows are partitioned one
rank at a time (:func:`partition_in_place`) and interpolated with numpy's own formula, so the
values are the same to the bit (tests/signal/test_quantiles.py); the outer ranks of long rows
(a lead's 0.5th and 99.5th percentiles) come from the few values beyond a sampled bound
instead. Rows holding NaN and integer input go through numpy. :func:`median` is
``np.median`` the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def percentile(a: np.ndarray, q: float | Sequence[float], as_float64: bool = False) -> np.ndarray:
    """``np.percentile(a, q, axis=-1)`` of a float array: for a sequence ``q``, shape
    ``(len(q), *a.shape[:-1])``; for one ``q``, ``a.shape[:-1]`` (0-d for a 1-D ``a``).

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
        return np.asarray(np.percentile(a.astype(np.float64) if as_float64 else a, q, axis=-1))
    if one and a.dtype != np.float64 and not as_float64:
        return np.asarray(np.percentile(a, q, axis=-1))
    fractions = [v / 100 for v in np.atleast_1d(np.asarray(q, dtype=np.float64)).tolist()]
    if min(fractions) < 0 or max(fractions) > 1:
        raise ValueError("percentiles must be in the range [0, 100]")
    n = a.shape[-1]
    picks = []
    for f in fractions:
        virtual = (n - 1) * f
        below = math.floor(virtual)
        picks.append((below, min(below + 1, n - 1), virtual - below))
    stats = _order_stats(a, sorted({k for lo, hi, _ in picks for k in (lo, hi)}))
    rows = []
    for lo_at, hi_at, t in picks:
        lo, hi = stats[lo_at], stats[hi_at]
        if as_float64:
            lo, hi = lo.astype(np.float64), hi.astype(np.float64)
        diff = (hi - lo).astype(np.float64)  # numpy subtracts in the input's type
        lo, hi = lo.astype(np.float64), hi.astype(np.float64)
        # numpy's _lerp: a + (b - a) * t, or b - (b - a) * (1 - t) where t >= 0.5.
        rows.append(hi - diff * (1 - t) if t >= 0.5 else lo + diff * t)
    return np.asarray(rows[0]) if one else np.stack(rows)


def median(a: np.ndarray, overwrite_input: bool = False) -> np.ndarray:
    """``np.median(a, axis=-1)`` of a float array, the same values, with an even count's two
    middle values found by :func:`partition_in_place` (numpy partitions at both at once,
    5-8x slower on long rows). ``overwrite_input``: partition ``a`` itself, no copy.
    Integers and rows holding NaN go through numpy."""
    a = np.asarray(a)
    if a.dtype.kind != "f" or a.ndim == 0 or a.shape[-1] == 0 or np.isnan(a).any():
        return np.asarray(np.median(a, axis=-1))
    part = a if overwrite_input else a.copy()
    n = part.shape[-1]
    k = n // 2
    if n % 2:
        part.partition(k, axis=-1)
        return part[..., k].copy()
    partition_in_place(part, [k - 1, k])
    return np.asarray(np.mean(part[..., k - 1 : k + 1], axis=-1))


def partition_in_place(a: np.ndarray, ranks: Sequence[int]) -> None:
    """``a.partition(ranks, axis=-1)`` for the values at ``ranks``: each rank's value is
    where a full sort would put it, bit for bit (the other positions may differ).

    Why: numpy partitions at several ranks 5-8x slower than at one (12 rows of 3,500
    values: ~600 against ~100 us at two adjacent ranks), and a median of an even count, or a
    percentile between two samples, needs two. Here the largest rank is partitioned over the
    whole row, each smaller one over the part before the previous one; a rank just below
    the previous takes that part's largest value (swapped, so no value is lost).
    """
    if a.shape[-1] == 0 or not len(ranks):
        return
    ordered = sorted({int(k) % a.shape[-1] for k in ranks}, reverse=True)
    a.partition(ordered[0], axis=-1)
    for above, k in zip(ordered[:-1], ordered[1:]):
        head = a[..., :above]
        if k == above - 1:  # swap the part's largest value to its end
            at = np.expand_dims(head.argmax(axis=-1), -1)
            largest = np.take_along_axis(head, at, -1)
            np.put_along_axis(head, at, head[..., k : k + 1], -1)
            head[..., k : k + 1] = largest
            continue
        head.partition(k, axis=-1)


# Rows at least this long take their outer ranks (the lowest and highest TAIL_SHARE of the
# row) from a few candidates (:func:`_tail_stats`); the rest are partitioned.
TAIL_MIN_LENGTH = 1024
TAIL_SHARE = 1 / 32
_TAIL_STEP = 16  # every 16th sample bounds a tail


def _order_stats(a: np.ndarray, ranks: list[int]) -> dict[int, np.ndarray]:
    """The values of the given ranks (0 = smallest) of each row of ``a`` (no NaN)."""
    n = a.shape[-1]
    stats: dict[int, np.ndarray] = {}
    if n >= TAIL_MIN_LENGTH:
        low = [k for k in ranks if k < n * TAIL_SHARE]
        high = [k for k in ranks if k >= n - n * TAIL_SHARE]
        rows = a.reshape(-1, n)
        if low:
            stats.update(_tail_stats(rows, low))
        if high:
            mirrored = _tail_stats(-rows, [n - 1 - k for k in high])
            stats.update({k: -mirrored[n - 1 - k] for k in high})
        stats = {k: v.reshape(a.shape[:-1]) for k, v in stats.items()}
        ranks = [k for k in ranks if k not in stats]
    if ranks:
        part = np.array(a, copy=True)
        partition_in_place(part, ranks)
        stats.update({k: part[..., k] for k in ranks})
    return stats


def _tail_stats(rows: np.ndarray, ranks: list[int]) -> dict[int, np.ndarray]:
    """The values of low ``ranks`` of each row of the 2-D ``rows``, from the row's values at
    or below a bound, the same values as a partition of the whole row.

    Why: partitioning a 5,000-sample row costs 25-30 us on some CPUs (numpy without its
    SIMD sort there) however small the rank; the 0.5th percentile is the 25th value, and the
    values at or below a bound taken from every 16th sample are a few dozen. The bound is
    checked: the rank's value is among the candidates exactly when at least rank + 1 values
    lie at or below it; a row where fewer do (samples picked at its extremes) is partitioned.
    """
    top = max(ranks)
    sample = rows[:, ::_TAIL_STEP]
    at = min(sample.shape[1] - 1, 2 * (top + 1) // _TAIL_STEP + 4)
    bound = np.partition(sample, at, axis=-1)[:, at : at + 1]
    below = rows <= bound
    counts = np.count_nonzero(below, axis=1)
    out = np.empty((len(ranks), rows.shape[0]), rows.dtype)
    for i, row in enumerate(rows):
        if counts[i] > top:
            part = np.sort(row[below[i]])  # a few dozen values: a sort is the cheaper call
        else:
            part = row.copy()
            partition_in_place(part, ranks)
        out[:, i] = part[ranks]
    return dict(zip(ranks, out))
