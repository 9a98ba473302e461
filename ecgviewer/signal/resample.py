"""Sampling-rate conversion: any recorded rate to the model's rate, and the model's maps back.

Polyphase resampling (``scipy.signal.resample_poly``) rather than FFT resampling: it applies a
proper anti-aliasing FIR, needs no periodicity assumption (the FFT method wraps the end of a
10 s strip into its start) and is fast for the ratios ECGs need (500 -> 100 is up 1, down 5;
360 -> 100 is up 5, down 18). Irrational-looking ratios (e.g. 257.1 Hz headers) are
approximated by a fraction with a bounded denominator; the rate error this leaves is reported
by :func:`rational_ratio` and is far below what a cardiologist can see (< 0.01 %).
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np
from scipy import signal as sps

#: Largest denominator of the up/down fraction. 1000 keeps the polyphase filter short enough
#: (its length grows with max(up, down)) while matching any rate given to 0.1 Hz.
MAX_DENOMINATOR = 1000


@lru_cache(maxsize=256)
def rational_ratio(fs_in: float, fs_out: float) -> tuple[int, int]:
    """``(up, down)`` with ``up / down`` the closest fraction to ``fs_out / fs_in``
    (remembered: ``Fraction.limit_denominator`` costs ~60 us, and scoring asks for the same
    few ratios several times per ECG).

    Raises
    ------
    ValueError
        When a rate is not a positive finite number.
    """
    if not (np.isfinite(fs_in) and np.isfinite(fs_out) and fs_in > 0 and fs_out > 0):
        raise ValueError(f"sampling rates must be positive, got {fs_in!r} -> {fs_out!r}")
    frac = Fraction(fs_out / fs_in).limit_denominator(MAX_DENOMINATOR)
    if frac == 0:  # extreme down-sampling beyond the denominator bound
        frac = Fraction(1, MAX_DENOMINATOR)
    return frac.numerator, frac.denominator


def resample(x: np.ndarray, fs_in: float, fs_out: float, axis: int = -1) -> np.ndarray:
    """Resample ``x`` from ``fs_in`` to ``fs_out`` Hz along ``axis``; float32 out.

    The output has ``ceil(n * up / down)`` samples; sample ``k`` of the output is at time
    ``k / fs_out`` like sample ``k * fs_in / fs_out`` of the input (no delay: resample_poly
    compensates its FIR's group delay). Equal rates return an exact float32 copy.

    Parameters
    ----------
    x : array
        Signal of any shape; NaN rows propagate NaN (callers drop or zero them first).
    fs_in, fs_out : float
        Input and output rates in Hz.
    axis : int
        Time axis.
    """
    x = np.asarray(x)
    up, down = rational_ratio(fs_in, fs_out)
    if up == down:
        return np.array(x, dtype=np.float32, copy=True)
    if x.shape[axis] == 0:
        shape = list(x.shape)
        shape[axis] = 0
        return np.zeros(shape, dtype=np.float32)
    window = _anti_alias_fir(up, down)
    if up == 1 and axis in (-1, x.ndim - 1) and x.shape[-1] >= window.size:
        flat = np.asarray(x, dtype=np.float64).reshape(-1, x.shape[-1])
        if np.isfinite(flat).all():
            return _decimate(flat, down, window).reshape(*x.shape[:-1], -1).astype(np.float32)
    # padtype="line" extrapolates the trend at both ends instead of assuming zeros beyond the
    # signal, so a baseline offset does not produce a ringing step at the edges.
    y = sps.resample_poly(
        np.asarray(x, dtype=np.float64),
        up,
        down,
        axis=axis,
        window=window,
        padtype="line",
    )
    return y.astype(np.float32)


def _decimate(x: np.ndarray, down: int, fir: np.ndarray) -> np.ndarray:
    """``resample_poly(x, 1, down, axis=-1, window=fir, padtype="line")`` of finite rows
    (n, at least the filter's length), the same values to float64 rounding (~1e-15).

    Why: scipy's polyphase loop computes each output sample tap by tap (500 -> 100 Hz, 12
    leads x 10 s: ~0.9 ms). Here the rows, extended at both ends along the line through
    their first and last samples (scipy's ``"line"`` padding), are cut into blocks of
    ``down`` samples; one matrix product gives every block's share of every output it feeds
    (each tap group of ``down`` taps), and output ``m`` is the sum of block ``m + q``'s share
    for tap group ``q`` (~0.3 ms).
    """
    rows, n = x.shape
    half = (fir.size - 1) // 2
    n_out = -(-n // down)
    groups = -(-fir.size // down)
    slope = (x[:, -1] - x[:, 0]) / (n - 1)
    ext = np.empty((rows, (n_out + groups) * down))
    ext[:, half : half + n] = x
    ext[:, :half] = x[:, :1] - np.arange(half, 0, -1, dtype=np.float64) * slope[:, None]
    tail = ext.shape[1] - half - n
    ext[:, half + n :] = x[:, -1:] + np.arange(1, tail + 1, dtype=np.float64) * slope[:, None]
    taps = np.zeros(groups * down)
    taps[: fir.size] = fir[::-1]
    # shares[r, q, s]: block s of row r through tap group q.
    shares = taps.reshape(groups, down) @ ext.reshape(rows, -1, down).transpose(0, 2, 1)
    out = shares[:, 0, :n_out].copy()
    for q in range(1, groups):
        out += shares[:, q, q : q + n_out]
    return out


@lru_cache(maxsize=32)
def _anti_alias_fir(up: int, down: int) -> np.ndarray:
    """The FIR ``resample_poly`` designs by default (Kaiser, beta 5, 10 taps per phase),
    designed once per ratio instead of on every call (scipy copies it before use)."""
    rate = max(up, down)
    return sps.firwin(2 * 10 * rate + 1, 1.0 / rate, window=("kaiser", 5.0))


def resample_index(idx: np.ndarray | int, fs_in: float, fs_out: float) -> np.ndarray:
    """Map sample indices at ``fs_in`` to the nearest samples at ``fs_out`` (int64).

    Uses the same rational ratio as :func:`resample`, so an index maps onto the sample that
    :func:`resample` put at the same time.
    """
    up, down = rational_ratio(fs_in, fs_out)
    arr = np.asarray(idx, dtype=np.float64)
    return np.rint(arr * up / down).astype(np.int64)


def resampled_length(n: int, fs_in: float, fs_out: float) -> int:
    """Number of samples :func:`resample` returns for ``n`` input samples."""
    up, down = rational_ratio(fs_in, fs_out)
    if up == down:
        return n
    return -(-n * up // down)
