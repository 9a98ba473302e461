"""Zero-phase ECG filters on the last axis, for the viewer's display and the model's input.

Every filter is a Butterworth (or notch) IIR run forwards and backwards (``sosfiltfilt`` /
``filtfilt``): zero phase, so QRS onsets and R peaks stay where they were recorded, which matters
for calipers and for the anomaly map lining up with the trace. Second-order sections keep the
low cut-offs used for baseline wander (0.05-0.5 Hz at 500-1000 Hz) numerically stable, which
``(b, a)`` polynomials are not.

All functions take any shape ``(..., n)``, return float32 of the same shape, never modify their
input and never raise on awkward input: a cut-off at or above Nyquist is skipped (a low-pass
there removes nothing) or clipped (a band-pass becomes a high-pass), and short signals get a
shorter padding instead of scipy's "input too short" error. Computation runs in float64.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage
from scipy import signal as sps
from scipy.interpolate import PchipInterpolator

try:  # scipy's 1-D rank filter, which ndimage.median_filter calls for a 1-D row (private)
    from scipy.ndimage import _ni_support, _rank_filter_1d

    #: scipy.ndimage's code for mode="nearest" (what median_filter passes for it).
    _NEAREST = _ni_support._extend_mode_to_code("nearest", is_filter=True)
except (ImportError, AttributeError):  # pragma: no cover - other scipy layouts
    _rank_filter_1d = None

try:  # scipy's Cython section filter, which scipy.signal.sosfilt wraps (private, so guarded)
    from scipy.signal._sosfilt import _sosfilt
except ImportError:  # pragma: no cover - other scipy layouts: the public function
    _sosfilt = None

log = logging.getLogger(__name__)

#: Fraction of Nyquist above which a cut-off is treated as "at Nyquist" (nothing to filter).
_NYQ_MARGIN = 0.98
#: Rate (Hz) at which :func:`remove_baseline` estimates the baseline.
_BASELINE_FS = 50.0
#: Shortest signal (samples) worth filtering; below this the input is returned as float32.
_MIN_SAMPLES = 4


def _as_float(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _padlen(n: int, default: int, fs: float, lowest_cut: float | None) -> int:
    """Padding for filtfilt: long enough to absorb the start-up transient of a low cut-off
    (about one period of the cut-off), never longer than the signal allows."""
    want = default
    if lowest_cut:
        want = max(default, int(round(fs / lowest_cut)))
    return max(0, min(want, n - 1))


def scipy_padlen(sos: np.ndarray) -> int:
    """``scipy.signal.sosfiltfilt``'s own default padding: 3 x the number of filter taps."""
    zeros = min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return 3 * (2 * len(sos) + 1 - zeros)


def _sosfiltfilt(
    sos: np.ndarray, x: np.ndarray, fs: float, lowest_cut: float | None, edges: str = "odd"
) -> np.ndarray:
    pad = _padlen(x.shape[-1], scipy_padlen(sos), fs, lowest_cut)
    return sosfiltfilt(sos, x, pad, edges)


@lru_cache(maxsize=128)
def _sos_zi(key: bytes, n_sections: int) -> np.ndarray:
    sos = np.frombuffer(key, dtype=np.float64).reshape(n_sections, 6)
    return sps.sosfilt_zi(sos)


def sosfiltfilt(sos: np.ndarray, x: np.ndarray, padlen: int, edges: str = "odd") -> np.ndarray:
    """``scipy.signal.sosfiltfilt(sos, x, axis=-1, padlen=padlen, padtype=edges)``, the same
    result to the bit, with the filter's initial state cached per design: scipy solves for it
    on every call, which cost about as much as filtering 10 s of 12 leads. ``edges``: "odd"
    (scipy's default, what the model was trained with) or "even" (:data:`DISPLAY_EDGES`).

    Both passes run through scipy's own section filter on one C-contiguous copy of the padded
    rows (:data:`_sosfilt`, where this scipy has it): ``scipy.signal.sosfilt``'s checks, axis
    moves and copies around it were a quarter of a call (12 leads x 10 s: 250 -> 190 us at
    100 Hz, 1.84 -> 1.42 ms at 500 Hz), and scoring filters each ECG about 11 times.
    """
    x = np.asarray(x, dtype=np.float64)
    sos = np.ascontiguousarray(sos, dtype=np.float64)
    n = x.shape[-1]
    if padlen >= n:
        raise ValueError(f"padlen {padlen} must be less than the signal length {n}")
    zi = _sos_zi(sos.tobytes(), len(sos))
    if edges not in ("odd", "even"):
        raise ValueError(f"edges must be 'odd' or 'even', not {edges!r}")
    if _sosfilt is None:
        return _sosfiltfilt_public(sos, x, padlen, zi, edges)
    rows = x.reshape(-1, n)
    ext = np.empty((rows.shape[0], n + 2 * padlen))
    if edges == "even":
        even_extend_into(ext, rows, padlen)
    else:
        odd_extend_into(ext, rows, padlen)
    _sosfilt(sos, ext, zi[None, :, :] * ext[:, :1, None])  # forwards, in place
    back = ext[:, ::-1].copy()
    _sosfilt(sos, back, zi[None, :, :] * back[:, :1, None])  # backwards, in place
    return back[:, ::-1][:, padlen : padlen + n].reshape(x.shape)


def odd_extend_into(out: np.ndarray, rows: np.ndarray, padlen: int) -> None:
    """Write ``rows`` (m, n) into ``out[:, padlen : padlen + n]`` with ``padlen`` samples of
    odd extension before and after them (scipy's ``padtype="odd"``: each end reflected
    through its first or last sample). Columns of ``out`` beyond ``n + 2 * padlen`` are left
    as they are."""
    n = rows.shape[1]
    out[:, padlen : padlen + n] = rows
    if padlen > 0:
        out[:, :padlen] = 2 * rows[:, :1] - rows[:, padlen:0:-1]
        out[:, padlen + n : 2 * padlen + n] = 2 * rows[:, -1:] - rows[:, -2 : -(padlen + 2) : -1]


def even_extend_into(out: np.ndarray, rows: np.ndarray, padlen: int) -> None:
    """:func:`odd_extend_into` with even extension (scipy's ``padtype="even"``: each end
    mirrored about its first or last sample, without the point reflection's offset)."""
    n = rows.shape[1]
    out[:, padlen : padlen + n] = rows
    if padlen > 0:
        out[:, :padlen] = rows[:, padlen:0:-1]
        out[:, padlen + n : 2 * padlen + n] = rows[:, -2 : -(padlen + 2) : -1]


def _sosfiltfilt_public(
    sos: np.ndarray, x: np.ndarray, padlen: int, zi: np.ndarray, edges: str = "odd"
) -> np.ndarray:
    """:func:`sosfiltfilt` through ``scipy.signal.sosfilt`` (a scipy without ``_sosfilt``)."""
    zi = zi.reshape([len(sos)] + [1] * (x.ndim - 1) + [2])
    if padlen > 0:
        odd = edges == "odd"
        left = (2 * x[..., :1] if odd else 0) - (1 if odd else -1) * x[..., padlen:0:-1]
        right = (2 * x[..., -1:] if odd else 0) - (1 if odd else -1) * x[
            ..., -2 : -(padlen + 2) : -1
        ]
        ext = np.concatenate((left, x, right), axis=-1)
    else:
        ext = x
    y, _ = sps.sosfilt(sos, ext, axis=-1, zi=zi * ext[..., :1])
    y, _ = sps.sosfilt(sos, y[..., ::-1], axis=-1, zi=zi * y[..., -1:])
    y = y[..., ::-1]
    return y[..., padlen:-padlen] if padlen > 0 else y


@lru_cache(maxsize=64)
def _butter_cached(
    order: int, freqs: float | tuple[float, float], btype: str, fs: float
) -> np.ndarray:
    return sps.butter(order, freqs, btype=btype, fs=fs, output="sos")


def _butter(order: int, freqs: float | tuple[float, float], btype: str, fs: float) -> np.ndarray:
    """Cached design: ``butter`` costs about 1 ms, more than filtering 10 s of 12 leads.
    A copy is returned because scipy's sosfilt wants a writable array."""
    return _butter_cached(order, freqs, btype, fs).copy()


@lru_cache(maxsize=16)
def _notch_cached(freq: float, q: float, fs: float) -> np.ndarray:
    b, a = sps.iirnotch(freq, q, fs=fs)
    return sps.tf2sos(b, a)


def _notch_sos(freq: float, q: float, fs: float) -> np.ndarray:
    return _notch_cached(freq, q, fs).copy()


def _skip(x: np.ndarray) -> np.ndarray:
    return np.array(x, dtype=np.float32, copy=True)


def _short(x: np.ndarray) -> bool:
    return x.ndim == 0 or x.shape[-1] < _MIN_SAMPLES


def highpass(
    x: np.ndarray, fs: float, cutoff: float = 0.5, order: int = 2, edges: str = "odd"
) -> np.ndarray:
    """Butterworth high-pass, zero phase: removes baseline wander below ``cutoff`` Hz.

    Parameters
    ----------
    x : array (..., n)
        Signal, filtered along the last axis.
    fs : float
        Sampling rate in Hz.
    cutoff : float
        -3 dB frequency of one pass (the two passes make it about -6 dB). 0.5 Hz is the
        usual monitoring choice; 0.05 Hz is the diagnostic one that keeps ST segments exact.
    order : int
        Order of one pass; the zero-phase result has twice the attenuation slope.
    edges : str
        How the ends are extended before filtering: "odd" (scipy's default) or "even"
        (:data:`DISPLAY_EDGES`).

    Returns
    -------
    np.ndarray
        float32, same shape. Unfiltered copy when ``cutoff`` is not in (0, Nyquist).
    """
    return _one_sided(x, fs, cutoff, order, "highpass", edges)


def lowpass(
    x: np.ndarray, fs: float, cutoff: float, order: int = 4, edges: str = "odd"
) -> np.ndarray:
    """Butterworth low-pass, zero phase (e.g. 40 Hz for display, 25 Hz for the model).

    A ``cutoff`` at or above Nyquist is skipped: the recording holds nothing above it anyway.
    See :func:`highpass` for the parameters.
    """
    return _one_sided(x, fs, cutoff, order, "lowpass", edges)


def _one_sided(
    x: np.ndarray, fs: float, cutoff: float, order: int, kind: str, edges: str = "odd"
) -> np.ndarray:
    """High- or low-pass; skipped (a float32 copy) when too short or ``cutoff`` is out of range.

    Only a high-pass has a slow response that sets the edge padding, hence its cutoff there.
    """
    x = _as_float(x)
    if _short(x) or not (0 < cutoff < _NYQ_MARGIN * fs / 2):
        if not _short(x):
            log.debug("%s %.3g Hz skipped at fs=%.4g Hz", kind, cutoff, fs)
        return _skip(x)
    sos = _butter(order, float(cutoff), kind, float(fs))
    lowest = cutoff if kind == "highpass" else None
    return _sosfiltfilt(sos, x, fs, lowest, edges).astype(np.float32)


def bandpass(
    x: np.ndarray, fs: float, low: float, high: float, order: int = 2, edges: str = "odd"
) -> np.ndarray:
    """Butterworth band-pass ``low``-``high`` Hz, zero phase.

    When ``high`` is at or above Nyquist the band-pass degrades to a high-pass at ``low``;
    when ``low`` is not positive it degrades to a low-pass at ``high``.
    """
    x = _as_float(x)
    nyq = _NYQ_MARGIN * fs / 2
    has_low = 0 < low < nyq
    has_high = 0 < high < nyq and (not has_low or high > low)
    if _short(x) or not (has_low or has_high):
        return _skip(x)
    if has_low and has_high:
        sos = _butter(order, (float(low), float(high)), "bandpass", float(fs))
        return _sosfiltfilt(sos, x, fs, low, edges).astype(np.float32)
    if has_low:
        return highpass(x, fs, low, order, edges)
    return lowpass(x, fs, high, order, edges)


def notch(
    x: np.ndarray, fs: float, freq: float = 50.0, q: float = 30.0, edges: str = "odd"
) -> np.ndarray:
    """Remove mains interference at ``freq`` Hz (50 in Europe, 60 in the Americas), zero phase.

    ``q`` is the quality factor: bandwidth = freq / q (30 -> 1.7 Hz at 50 Hz). Skipped when
    ``freq`` is not below Nyquist, as in PTB-XL's 100 Hz records where 50 Hz *is* Nyquist.
    """
    x = _as_float(x)
    if _short(x) or not (0 < freq < _NYQ_MARGIN * fs / 2):
        if not _short(x):
            log.debug("notch %.3g Hz skipped at fs=%.4g Hz", freq, fs)
        return _skip(x)
    sos = _notch_sos(float(freq), float(q), float(fs))
    # The notch rings for about q / freq seconds; pad that much when the signal allows.
    return _sosfiltfilt(sos, x, fs, freq / q, edges).astype(np.float32)


def remove_baseline(
    x: np.ndarray, fs: float, window_s: tuple[float, float] = (0.2, 0.6)
) -> np.ndarray:
    """Baseline wander removal with two median filters (de Chazal et al. 2004).

    A 200 ms median removes QRS complexes and P waves, a 600 ms median of that removes T waves;
    what is left is the baseline, which is subtracted. Unlike a 0.5 Hz high-pass it does not
    distort ST segments and T waves (no low-frequency phase or amplitude change in the band of
    the repolarisation). Median filters are slow at full rate, so the baseline is estimated on
    the signal taken at about 50 Hz (it has no content near that) and interpolated back:
    about 4 ms for 10 s of 12 leads at 500 Hz (0.4 s at full rate).
    """
    x = _as_float(x)
    if _short(x):
        return _skip(x)
    n = x.shape[-1]
    step = max(1, int(fs // _BASELINE_FS))
    base = x[..., ::step]
    rate = fs / step
    for w in window_s:
        size = max(1, int(round(w * rate)) | 1)  # odd: centred window
        size = min(size, max(1, (base.shape[-1] - 1) | 1))
        base = running_median(base, size)
    if step > 1:
        coarse_t = np.arange(base.shape[-1]) * step
        flat = base.reshape(-1, base.shape[-1])
        fine_t = np.arange(n)
        base = np.stack([np.interp(fine_t, coarse_t, row) for row in flat])
        base = base.reshape(x.shape)
    return (x - base).astype(np.float32)


#: Where :func:`remove_baseline_at_beats` looks for each beat's isoelectric moment, in
#: seconds before its R peak (the PR segment lies here at PR 120-250 ms; in a wide complex
#: whose R peak comes late the window still ends before most of the QRS).
PR_KNOT_SEARCH_S = (0.12, 0.03)
#: Length of the flattest stretch taken as the knot (s).
PR_KNOT_LENGTH_S = 0.02


def remove_baseline_at_beats(x: np.ndarray, fs: float, r_peaks: np.ndarray) -> np.ndarray:
    """Baseline removal through one isoelectric knot per beat (the PR segment), for median
    beats whose ST levels and T waves are measured.

    Why not :func:`remove_baseline`: its 600 ms median follows any ST-T dome longer than
    ~300 ms, and an acute infarct's elevated ST with its T wave lasts 400 ms and more, so
    the ST elevation was taken out as "baseline" (a Philips cart's inferior STEMI read ST
    +0.00 mV where the trace stands 0.25 mV above its PR segment). Here each beat's knot is
    the flattest 20 ms over all leads in 120-30 ms before its R peak, each lead's level
    there its mean, and the baseline a monotone cubic (PCHIP, no overshoot between knots)
    through them, flat beyond the first and last knot: wander slower than about half the
    heart rate is removed and nothing between two PR segments is touched. With fewer than
    two usable beats :func:`remove_baseline` is used.
    """
    x = _as_float(x)
    if _short(x):
        return _skip(x)
    n = x.shape[-1]
    rows = x.reshape(-1, n)
    lo, hi = int(round(PR_KNOT_SEARCH_S[0] * fs)), int(round(PR_KNOT_SEARCH_S[1] * fs))
    length = max(2, int(round(PR_KNOT_LENGTH_S * fs)))
    peaks = np.unique(np.asarray(r_peaks, dtype=np.int64))
    peaks = peaks[(peaks - lo >= 0) & (peaks < n)]
    if peaks.size < 2 or lo - hi < length:
        return remove_baseline(x, fs)
    starts = np.arange(lo, hi + length - 2, -1)  # offsets before R of each candidate's start
    # (beats, candidates, samples): the samples of every candidate stretch of every beat
    idx = peaks[:, None, None] - starts[None, :, None] + np.arange(length)[None, None, :]
    seg = rows[:, idx]  # (leads, beats, candidates, samples)
    spread = (seg.max(axis=-1) - seg.min(axis=-1)).sum(axis=0)  # (beats, candidates)
    best = np.argmin(spread, axis=1)
    at = np.arange(peaks.size)
    levels = seg[:, at, best].mean(axis=-1)  # (leads, beats)
    knots = (peaks - starts[best] + (length - 1) / 2).astype(np.float64)
    rising = np.concatenate([[True], np.diff(knots) > 0])  # beats closer than the search
    while not rising.all():
        knots, levels = knots[rising], levels[:, rising]
        rising = np.concatenate([[True], np.diff(knots) > 0])
    if knots.size < 2:
        return remove_baseline(x, fs)
    t = np.arange(n, dtype=np.float64)
    base = PchipInterpolator(knots, levels, axis=1, extrapolate=False)(t)
    base[:, t < knots[0]] = levels[:, :1]
    base[:, t > knots[-1]] = levels[:, -1:]
    return (x - base.reshape(x.shape)).astype(np.float32)


def running_median(x: np.ndarray, size: int) -> np.ndarray:
    """Median of ``size`` samples centred on each sample along the last axis, edges extended
    with their nearest value (``ndimage.median_filter(x, (1, ..., size), mode="nearest")``).

    Row by row through scipy's 1-D rank filter (:data:`_rank_filter_1d`, the one
    ``median_filter`` itself picks for a 1-D row), which is 4-10x faster than its N-d filter
    with a one-row footprint and gives the same values; called directly, without
    ``median_filter``'s checks around each row (12 leads of 10 s at 50 Hz: 0.23 -> 0.08 ms).
    Rows holding NaN keep the N-d filter, whose ordering of NaN is its own.
    """
    x = np.asarray(x)
    if x.ndim == 0 or not np.isfinite(x).all():
        return ndimage.median_filter(x, size=(1,) * (x.ndim - 1) + (size,), mode="nearest")
    flat = x.reshape(-1, x.shape[-1])
    out = np.empty(flat.shape, flat.dtype)
    n = flat.shape[1]
    # The rows median_filter gives its 1-D filter (its own condition), in the types it takes.
    # (a window of 1 or 2 samples is a minimum or maximum filter there).
    direct = (
        _rank_filter_1d is not None
        and size >= 3
        and flat.dtype in (np.float64, np.float32)
        and (n - (size - 1) // 2 >= 0 or n == 1)
    )
    for i, row in enumerate(flat):
        if direct:
            _rank_filter_1d.rank_filter(
                np.ascontiguousarray(row), size // 2, size, out[i], _NEAREST, row.dtype.type(0), 0
            )
        else:
            out[i] = ndimage.median_filter(row, size=size, mode="nearest")
    return out.reshape(x.shape)


#: How the display filter extends a strip's ends: mirrored ("even"), not point-reflected
#: through the last sample as scipy does ("odd"). A 10 s strip that ends on an R wave was
#: reflected into a 2 mV step that the 0.5 Hz high-pass drew as a 4-6 mm ramp over the last
#: half second (PTB-XL 01713, V5: -0.67 mV at the end where the trace is flat, -0.09 mirrored).
DISPLAY_EDGES = "even"


@dataclass(frozen=True)
class DisplayFilter:
    """The clinician's display filter settings; ``None`` switches a stage off.

    Applied to the trace on screen and in reports, and stated beside it via :meth:`describe`,
    so that what is printed says how it was filtered.
    """

    highpass: float | None = 0.5
    lowpass: float | None = 40.0
    notch: float | None = None

    def __post_init__(self) -> None:
        for name in ("highpass", "lowpass", "notch"):
            value = getattr(self, name)
            if value is not None and not (np.isfinite(value) and value > 0):
                raise ValueError(
                    f"display filter {name} must be a positive frequency, got {value!r}"
                )
        if self.highpass is not None and self.lowpass is not None and self.lowpass <= self.highpass:
            raise ValueError(
                f"display filter low-pass ({self.lowpass:g} Hz) must be above its high-pass "
                f"({self.highpass:g} Hz)"
            )

    def apply(self, x: np.ndarray, fs: float) -> np.ndarray:
        """Filter ``x`` (..., n) sampled at ``fs`` Hz; float32 out. Stages that do not fit
        the rate (cut-off above Nyquist) are skipped, as :meth:`describe` reports."""
        # Every stage returns a new float32 array, so the input is never modified.
        y = np.array(x, dtype=np.float32, copy=True)
        edges = DISPLAY_EDGES
        if self.highpass is not None and self.lowpass is not None:
            y = bandpass(y, fs, self.highpass, self.lowpass, edges=edges)
        elif self.highpass is not None:
            y = highpass(y, fs, self.highpass, edges=edges)
        elif self.lowpass is not None:
            y = lowpass(y, fs, self.lowpass, edges=edges)
        if self.notch is not None:
            y = notch(y, fs, self.notch, edges=edges)
        return y

    def describe(self, fs: float | None = None) -> str:
        """Caption such as ``"0.5-40 Hz, notch 50 Hz"``; ``"unfiltered"`` when all are off.

        With ``fs`` given, stages that :meth:`apply` would skip at that rate are left out.
        """
        nyq = None if fs is None else _NYQ_MARGIN * fs / 2

        def fits(f: float | None) -> bool:
            return f is not None and f > 0 and (nyq is None or f < nyq)

        hp = self.highpass if fits(self.highpass) else None
        lp = self.lowpass if fits(self.lowpass) else None
        nt = self.notch if fits(self.notch) else None
        parts = []
        if hp is not None and lp is not None:
            parts.append(f"{_fmt(hp)}-{_fmt(lp)} Hz")
        elif hp is not None:
            parts.append(f"high-pass {_fmt(hp)} Hz")
        elif lp is not None:
            parts.append(f"low-pass {_fmt(lp)} Hz")
        if nt is not None:
            parts.append(f"notch {_fmt(nt)} Hz")
        return ", ".join(parts) if parts else "unfiltered"


def _fmt(f: float) -> str:
    return f"{f:g}"


#: Presets the viewer offers: diagnostic bandwidth (AHA 0.05-150 Hz) and a monitoring one.
DIAGNOSTIC = DisplayFilter(highpass=0.05, lowpass=150.0, notch=None)
MONITORING = DisplayFilter(highpass=0.5, lowpass=40.0, notch=None)
UNFILTERED = DisplayFilter(highpass=None, lowpass=None, notch=None)
