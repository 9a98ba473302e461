"""R-peak detection on one lead or on all leads of an ECG, at any rate from 50 Hz up.

Why our own detector
--------------------
Candidates we measured (2-core machine shared with other jobs; ``benchmarks/signal_speed.py``):

- ``wfdb.processing.xqrs_detect`` (PhysioNet's maintained detector): accurate on MIT-BIH 100,
  but single-lead and slow for our use: 17 ms for 10 s of one lead at 360 Hz, 34 ms at
  500 Hz, 2.5 s for the 30 min record; twelve leads would cost twelve times that, and the
  model detects beats in every ECG it scores (budget <= 50 ms per ECG for everything). Its
  learning phase misses the first beat of most 10 s PTB-XL strips, and it found no beat at
  all in lead ii of the 1000 Hz PTB record s0010_re, where this detector finds all 52.
- ``neurokit2.ecg_peaks``: good detectors, but pulls pandas, scikit-learn and matplotlib into
  the frozen desktop bundle for one function; single-lead as well.
- heartpy (the reference model's choice): does not import on current setuptools.

So this module implements a Pan-Tompkins style detector (Pan & Tompkins 1985, with the
adaptive signal/noise levels, T-wave discrimination and search-back of Hamilton & Tompkins
1986) on a multi-lead energy envelope, written with vectorised scipy/numpy except for one short
decision loop over candidate peaks (about one per 250 ms):

1. band-pass 5-15 Hz (zero phase) each lead, where QRS energy dominates P/T waves and
   baseline wander; first difference; square;
2. normalise each lead's energy by its 99th percentile, so no lead (or an artefact in one)
   dominates, and sum over leads: QRS complexes coincide across leads, noise does not;
3. 120 ms centred moving average -> envelope whose maxima sit at QRS centres;
4. candidates = envelope maxima at least the refractory period (250 ms) apart
   (``scipy.signal.find_peaks``), classified with Pan-Tompkins adaptive thresholds, a T-wave
   test (a candidate < 360 ms after a beat with under half its slope is a T wave) and
   search-back at half threshold when an RR gap exceeds 1.66x the recent mean;
5. each detection is moved to the largest |amplitude| of the reference lead (the given one,
   e.g. lead II, or the lead with the largest QRS amplitude) within +-80 ms, after a 0.5-45 Hz
   band-pass of that lead alone, so the returned sample is the R (or QS) peak itself.

Measured (tests/signal/test_rpeaks.py, benchmarks/signal_speed.py): on the whole 30 min of
MIT-BIH record 100 (2273 reference beats, 50 ms tolerance, ``wfdb.processing.compare_annotations``)
sensitivity 99.96% (the one miss is a beat 25 ms before the end of the record) and positive
predictivity 100%, at 360 Hz and after resampling to 100 Hz; 10 s of 12 leads in about 2 ms at
100 Hz and 4-6 ms at 500 Hz; every beat of synthetic ECGs at 45-140 bpm and 100-1000 Hz;
regular RR on PTB-XL sinus-rhythm normals, with single-lead electrode artefacts ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import ndimage
from scipy import signal as sps

from ecgviewer.signal.few_median import median_of_few
from ecgviewer.signal.filters import bandpass
from ecgviewer.signal.quantiles import median, percentile

#: QRS band (Pan-Tompkins 5-15 Hz).
QRS_BAND = (5.0, 15.0)
#: No two beats closer than this (s): 240 bpm. Also the find_peaks distance between candidates.
REFRACTORY_S = 0.25
#: Candidates closer than this (s) to the last beat are tested for being a T wave. Pan and
#: Tompkins use 360 ms; T peaks come up to about 450 ms after R at slow rates with long QT.
T_WAVE_WINDOW_S = 0.45
#: Moving-average width (s) of the energy envelope (about one QRS duration).
INTEGRATION_S = 0.12
#: Half width (s) of the window in which a detection is moved to the R peak.
REFINE_S = 0.08
#: Cap of one lead's normalised QRS energy (multiples of its 99th percentile).
CLIP_ENERGY = 1.5
#: Signals whose reference lead has less than this peak-to-peak amplitude (mV) are flat.
FLAT_MV = 1e-3
#: Detections whose median QRS size (0.5-45 Hz, largest |amplitude| on the reference lead)
#: is below this (mV) are amplifier noise on a disconnected or flat recording, not beats:
#: even low-voltage ECGs (< 0.5 mV in the limb leads) have QRS of several tenths of a mV in
#: their largest lead.
MIN_QRS_MV = 0.05


def detect_r_peaks(
    signal: np.ndarray,
    fs: float,
    *,
    lead: int | None = None,
) -> np.ndarray:
    """Sample indices of the R peaks of an ECG.

    Parameters
    ----------
    signal : array (n,) or (n_leads, n)
        One lead or several leads in mV (QRS smaller than MIN_QRS_MV count as no beat). NaN
        samples are treated as 0; rows that are entirely NaN or flat are ignored. For long
        recordings use :func:`detect_r_peaks_paged`, which never loads the whole signal.
    fs : float
        Sampling rate in Hz (50 Hz and up; tested at 100-1000 Hz).
    lead : int, optional
        Row to place the peaks on (e.g. the index of lead II). By default the row with the
        largest median QRS amplitude.

    Returns
    -------
    np.ndarray
        int64 sample indices, sorted, at least the refractory period apart. Empty when the
        signal is flat, too short (< 0.5 s) or has no QRS-like activity.
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise ValueError(f"signal must be 1-D or 2-D (n_leads, n), got shape {x.shape}")
    n = x.shape[1]
    if not fs or fs <= 0 or n < 0.5 * fs or n < 16:
        return np.empty(0, dtype=np.int64)

    x = np.where(np.isfinite(x), x, 0.0)
    ptp = np.ptp(x, axis=1)
    usable = ptp > FLAT_MV
    if not usable.any():
        return np.empty(0, dtype=np.int64)
    xs = x[usable]

    env, energy, bp = _envelope(xs, fs)
    beats = _classify(env, energy, fs)
    if beats.size == 0:
        return beats

    rows = np.flatnonzero(usable)
    if lead is not None and 0 <= lead < x.shape[0] and usable[lead]:
        ref = x[lead]
    else:
        ref = xs[_best_lead(bp, beats, fs)] if len(rows) > 1 else xs[0]
    peaks, size = _refine(ref, beats, fs)
    if len(peaks) and np.median(size) < MIN_QRS_MV:
        return np.empty(0, dtype=np.int64)
    return peaks


def detect_r_peaks_paged(
    signal: Any,
    fs: float,
    *,
    lead: int | None = None,
    rows: Sequence[int] | None = None,
    page_s: float = 60.0,
    overlap_s: float = 2.0,
) -> np.ndarray:
    """R peaks of a long recording (a 24 h Holter), read and processed page by page.

    Each page of ``page_s`` seconds is analysed with ``overlap_s`` seconds of context on both
    sides and keeps only the peaks inside itself, so beats at page edges are found once. The
    adaptive thresholds restart at each page, which also lets them follow slow changes of
    amplitude over hours.

    Parameters
    ----------
    signal : array or :class:`~ecgviewer.record.PagedSignal`, shape (n_leads, n)
        Anything that supports ``signal[rows, a:b]`` and ``signal.shape``.
    fs, lead
        As for :func:`detect_r_peaks`; ``lead`` indexes the selected ``rows``.
    rows : sequence of int, optional
        Rows to use (e.g. the ECG leads, without blood pressure). Default: all.
    """
    n_rows, n = int(signal.shape[0]), int(signal.shape[1])
    sel = list(range(n_rows)) if rows is None else list(rows)
    page = max(1, int(round(page_s * fs)))
    pad = max(0, int(round(overlap_s * fs)))
    found: list[np.ndarray] = []
    for a in range(0, n, page):
        b = min(n, a + page)
        lo, hi = max(0, a - pad), min(n, b + pad)
        chunk = np.asarray(signal[sel, lo:hi], dtype=np.float64)
        peaks = detect_r_peaks(chunk, fs, lead=lead) + lo
        found.append(peaks[(peaks >= a) & (peaks < b)])
    if not found:
        return np.empty(0, dtype=np.int64)
    peaks = np.concatenate(found)
    # A beat on a page boundary can be found by both pages a sample or two apart.
    refractory = int(round(REFRACTORY_S * fs))
    keep = np.ones(peaks.size, dtype=bool)
    keep[1:] = np.diff(peaks) >= refractory
    return peaks[keep].astype(np.int64)


def _envelope(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Summed, per-lead-normalised QRS energy: (smoothed envelope, raw energy, band-passed
    leads)."""
    low, high = QRS_BAND
    high = min(high, 0.45 * fs)  # 5-15 Hz fits any rate >= 34 Hz; clip for safety
    bp = bandpass(x, fs, low, high, order=2).astype(np.float64)
    d = np.diff(bp, axis=1, prepend=bp[:, :1])
    e = d * d
    scale = percentile(e, 99)
    scale[scale <= 0] = 1.0
    # Clipping at CLIP_ENERGY x the 99th percentile caps what one lead can add: an artefact
    # (electrode pop, baseline step) in one lead then counts no more than its own QRS.
    energy = np.minimum(e / scale[:, None], CLIP_ENERGY).sum(axis=0)
    width = max(1, int(round(INTEGRATION_S * fs)))
    env = ndimage.uniform_filter1d(energy, width, mode="nearest")
    return env, energy, bp


def _classify(env: np.ndarray, energy: np.ndarray, fs: float) -> np.ndarray:
    """Pan-Tompkins decision on the envelope's candidate maxima; returns beat indices."""
    refractory = max(1, int(round(REFRACTORY_S * fs)))
    # Only true interior maxima: an envelope still rising at the first or last sample is
    # usually a filter edge or a recording artefact (PTB-XL strips end with a step), not a beat.
    cand, _ = sps.find_peaks(env, distance=refractory)
    # A shoulder on an envelope that keeps rising into the first or last sample is an edge
    # artefact; a beat there would itself be the edge maximum and is lost either way.
    # A QRS centred within half an integration window of the ends is cut anyway.
    edge = max(1, int(round(INTEGRATION_S * fs)))
    head_max = env[:edge].max()
    tail_max = env[-edge:].max()
    shoulder = ((cand < edge) & (env[cand] < head_max)) | (
        (cand >= env.size - edge) & (env[cand] < tail_max)
    )
    cut = (cand < edge // 2) | (cand >= env.size - edge // 2)
    cand = cand[~(shoulder | cut)]
    if cand.size == 0 or env.max() <= 0:
        return np.empty(0, dtype=np.int64)
    heights = env[cand]
    # Peak slope (energy of the derivative) around each candidate: separates QRS from T.
    half = max(1, int(round(INTEGRATION_S * fs / 2)))
    slopes = ndimage.maximum_filter1d(energy, 2 * half + 1, mode="nearest")[cand]

    # Initial levels from the first 10 s: the loudest candidates are beats; the envelope's
    # median is the noise floor between complexes (QRS fill well under half of any strip).
    head = int(10 * fs)
    first = heights[cand < head] if (cand < head).any() else heights
    spk = float(percentile(first, 80))
    npk = float(median(env[:head]))
    if spk <= 0:
        return np.empty(0, dtype=np.int64)
    # Candidates far below the loudest ones cannot be beats even on search-back: this keeps
    # a flat line with a few microvolts of noise from producing "beats".
    floor = 0.02 * float(percentile(heights, 95))

    t_window = int(round(T_WAVE_WINDOW_S * fs))
    beats: list[int] = []  # indices into cand
    rr: list[int] = []
    last_slope = 0.0
    # The loop reads Python numbers (the same float64 and integer values): numpy scalars
    # cost several times as much per operation.
    at, level, steep = cand.tolist(), heights.tolist(), slopes.tolist()
    i = 0
    while i < cand.size:
        c, h = at[i], level[i]
        thr = npk + 0.25 * (spk - npk)
        is_beat = h > thr and h > floor
        # The T wave comes later at slow rates: widen its window to 60% of the recent RR.
        window = max(t_window, 0.6 * _recent_rr(rr)) if rr else t_window
        if is_beat and beats:
            gap = c - at[beats[-1]]
            if gap < window and _t_like(h, steep[i], spk, last_slope):
                is_beat = False
        if is_beat:
            if beats:
                rr.append(c - at[beats[-1]])
            beats.append(i)
            spk = 0.125 * h + 0.875 * spk
            last_slope = steep[i]
        else:
            npk = 0.125 * h + 0.875 * npk
        # Search-back: a gap much longer than the recent RR means a missed beat; take the
        # largest candidate in the gap that passes half the threshold.
        if beats and len(rr) >= 2 and i + 1 < cand.size:
            mean_rr = _recent_rr(rr)
            nxt = at[i + 1]
            prev = at[beats[-1]]
            if nxt - prev > 1.66 * mean_rr:
                lo = beats[-1] + 1
                hi = i + 1
                if hi > lo:
                    j = lo + int(np.argmax(heights[lo:hi]))
                    if (
                        level[j] > 0.5 * thr
                        and level[j] > floor
                        and at[j] - prev >= refractory
                        and j not in beats
                        and (
                            at[j] - prev >= window
                            or not _t_like(level[j], steep[j], spk, last_slope)
                        )
                    ):
                        rr.append(at[j] - prev)
                        beats.append(j)
                        spk = 0.25 * level[j] + 0.75 * spk
                        last_slope = steep[j]
                        beats.sort()
        i += 1
    return cand[np.array(sorted(set(beats)), dtype=np.int64)].astype(np.int64)


def _recent_rr(rr: list[int]) -> float:
    """Mean of the last 8 RR intervals (samples): integers, so their float sum is exact in
    any order and this equals ``np.mean`` without its ~5 us per call, twice per candidate."""
    recent = rr[-8:]
    return sum(recent) / len(recent)


def _t_like(height: float, slope: float, spk: float, last_slope: float) -> bool:
    """A candidate soon after a beat is a T wave (or an artefact) when its steepest slope is
    under half that of the last QRS (Pan-Tompkins; a quarter in squared units) or its energy
    under 40% of the running QRS level: premature beats that early are rare and, being
    QRS complexes, have about normal energy."""
    return slope < 0.25 * last_slope or height < 0.4 * spk


def _best_lead(bp: np.ndarray, beats: np.ndarray, fs: float) -> int:
    """Row with the largest median QRS-band amplitude at the detected beats.

    Uses the 5-15 Hz leads already computed for the envelope: their peak-to-peak amplitude
    ranks leads by QRS size as well as a broadband filter would, at no extra filtering cost.
    """
    half = max(1, int(round(REFINE_S * fs)))
    b = beats[(beats >= half) & (beats < bp.shape[1] - half)]
    if b.size == 0:
        return 0
    offsets = np.arange(-half, half + 1)
    seg = bp[:, b[:, None] + offsets[None, :]]  # (leads, beats, window)
    amp = median_of_few(seg.max(axis=2) - seg.min(axis=2), axis=1)
    return int(np.argmax(amp))


def _refine(ref: np.ndarray, beats: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Move each beat to the largest |amplitude| of ``ref`` within +-REFINE_S; also return
    that amplitude (mV, 0.5-45 Hz) of each kept beat."""
    y = np.abs(bandpass(ref, fs, 0.5, 45.0).astype(np.float64))
    n = y.size
    half = max(1, int(round(REFINE_S * fs)))
    offsets = np.arange(-half, half + 1)
    idx = np.clip(beats[:, None] + offsets[None, :], 0, n - 1)
    peaks = idx[np.arange(len(beats)), np.argmax(y[idx], axis=1)]
    peaks = np.unique(peaks)
    # Two detections may have moved onto neighbouring samples of the same complex: keep the
    # larger of any pair closer than the refractory period.
    refractory = int(round(REFRACTORY_S * fs))
    keep: list[int] = []
    for p in peaks:
        if keep and p - keep[-1] < refractory:
            if y[p] > y[keep[-1]]:
                keep[-1] = int(p)
            continue
        keep.append(int(p))
    kept = np.asarray(keep, dtype=np.int64)
    return kept, y[kept]
