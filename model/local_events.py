"""Local events: a short burst of muscle noise, or a few beats whose ST-T level departs from
the rest, beyond what normal ECGs show.

The score's other parts look at the whole ECG (median beats, measurements, mean restoration
error), so a change confined to three beats or to 0.8 s of one lead moves them little either
way: in the synthetic insertion benchmark (model/localization_benchmark.py, selection-half
normals) only 76 % of EMG-burst twins and 93 % of ST-shift twins scored above their own clean
original. These two signal-level features see exactly such events (99 % and 97-99 % of those
twins raise them), yet alone they rank abnormal ECGs little better than chance (AUROC 0.52 and
0.63), so they enter the record score as *hinges* (model/score_kinds.py): zero up to the 90th
percentile of the selection half's normal ECGs, so ordinary normal ECGs gain nothing, and
rising beyond it (benchmarks/local_events_cv.py shows the choice).

- ``hf_burst``: the 15-45 Hz content outside the QRS complexes, RMS over 0.4 s windows, its
  largest window over the lead's median window (largest over leads). A lead steadily noisy
  throughout keeps a ratio near 1 (signal quality reports that, ecgviewer/signal/quality.py);
  a burst on part of the strip does not.
- ``st_change``: per beat and lead the mean ST-T level (R+60 to R+280 ms) over the PR baseline
  before it (R-120 to R-60 ms), less the lead's median over beats; its mean over three
  consecutive beats, the largest over positions; the second-largest lead (mV), since a real
  ST or T change shows in more than one lead and a single noisy lead should not raise it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal as sps

from ecgviewer.signal.few_median import median_of_few
from ecgviewer.signal.filters import scipy_padlen, sosfiltfilt
from ecgviewer.signal.quantiles import median

#: The components this module makes (in ``ScoreResult.components``; hinge parts of the score).
HF_BURST, ST_CHANGE = "hf_burst", "st_change"
EVENT_KINDS = (HF_BURST, ST_CHANGE)

#: Band of the muscle-noise measure (Hz; capped at 0.45 fs).
HF_BAND = (15.0, 45.0)
#: Samples around each R peak left out of it, as (before, after) seconds: the QRS itself.
QRS_OUT_S = (0.10, 0.12)
#: RMS window of the burst measure (s).
HF_WINDOW_S = 0.4
#: Floor of a lead's median window RMS (mV), so a very clean lead's ratio stays finite.
HF_FLOOR_MV = 0.005
#: ST-T window and PR baseline, seconds from the R peak.
ST_WINDOW_S = (0.06, 0.28)
BASELINE_WINDOW_S = (-0.12, -0.06)
#: Consecutive beats an ST-T change must last; beats a record needs for the measure.
ST_BEATS, ST_MIN_BEATS = 3, 5
#: Each feature's hinge starts at this percentile of the selection normals and adds this
#: weight per SD of their log beyond it (chosen on the selection half: 10 x 2-fold
#: cross-validation, README "Local events").
HINGE_PERCENTILE, HINGE_WEIGHT = 90.0, 0.25


@lru_cache(maxsize=8)
def _hf_filter(fs: float) -> np.ndarray | None:
    top = min(HF_BAND[1], 0.45 * fs)
    if top <= HF_BAND[0] + 5:
        return None
    return sps.butter(4, (HF_BAND[0], top), btype="bandpass", fs=fs, output="sos")


def hf_burst(x: np.ndarray, fs: float, r_peaks: np.ndarray) -> float:
    """Largest 0.4 s RMS of the 15-45 Hz content outside the QRS over the lead's median
    (largest over leads); NaN when too little of the record lies outside the QRS."""
    sos = _hf_filter(float(fs))
    n = x.shape[1]
    window = int(round(HF_WINDOW_S * fs))
    if sos is None or n < 4 * window:
        return float("nan")
    # scipy's sosfiltfilt with its default padding, without its per-call initial-state solve
    hf = sosfiltfilt(sos, np.asarray(x, np.float64), scipy_padlen(sos))
    keep = np.ones(n, bool)
    before, after = (int(round(s * fs)) for s in QRS_OUT_S)
    for r in np.asarray(r_peaks, int).tolist():
        keep[max(0, r - before) : r + after] = False
    edge = int(round(0.3 * fs))  # the zero-phase filter's start and end transients
    keep[:edge] = False
    keep[n - edge :] = False
    kernel = np.ones(window)
    power = np.stack([np.convolve(row, kernel, mode="same") for row in hf**2 * keep])
    count = np.convolve(keep.astype(np.float64), kernel, mode="same")
    full = count >= 0.5 * window
    if full.sum() < 5:
        return float("nan")
    rms = np.sqrt(np.maximum(power[:, full], 0.0) / count[full])
    ratio = rms.max(axis=1) / np.maximum(median(rms), HF_FLOOR_MV)
    return float(ratio.max())


def st_change(band: np.ndarray, fs: float, r_peaks: np.ndarray) -> float:
    """Second-largest lead's largest three-beat ST-T change from its median beat level (mV);
    NaN with fewer than five complete beats."""
    n = band.shape[1]
    a, b = (int(round(s * fs)) for s in ST_WINDOW_S)
    c, d = (int(round(s * fs)) for s in BASELINE_WINDOW_S)
    beats = [r for r in np.asarray(r_peaks, int).tolist() if r + c >= 0 and r + b < n]
    if len(beats) < ST_MIN_BEATS:
        return float("nan")
    x = np.asarray(band, np.float64)
    at = np.asarray(beats)[:, None]
    # Every beat's window gathered at once, (leads, beats, window); contiguous, so that each
    # mean sums its window in the order the per-beat slices did (the same values, bit for bit).
    st = np.ascontiguousarray(x[:, at + np.arange(a, b)]).mean(axis=2)
    level = st - np.ascontiguousarray(x[:, at + np.arange(c, d)]).mean(axis=2)
    change = level - median_of_few(level, axis=1)[:, None]
    # "direct": what scipy's "auto" picks for a kernel this short, without its ~25 us choice
    runs = sps.convolve(change, np.ones((1, ST_BEATS)) / ST_BEATS, mode="valid", method="direct")
    per_lead = np.abs(runs).max(axis=1)
    return float(np.sort(per_lead)[-2])


def event_features(
    at_rate: np.ndarray, band: np.ndarray, fs: float, r_peaks: np.ndarray
) -> dict[str, float]:
    """Both features of a record: ``at_rate`` the unfiltered leads and ``band`` the model's
    band-passed leads, both (12, n) mV at rate ``fs``, with the record's R peaks."""
    return {
        HF_BURST: hf_burst(at_rate, fs, r_peaks),
        ST_CHANGE: st_change(band, fs, r_peaks),
    }
