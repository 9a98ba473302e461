"""Median (representative) beats of a 12-lead ECG, as electrocardiographs form them.

Carts measure one representative beat per lead rather than every beat: averaging the beats
of the dominant morphology cancels noise without low-pass filtering, so onsets and offsets
keep the full bandwidth of the recording. Here:

1. Baseline wander is removed with two median filters (no phase distortion of ST/T); nothing
   else is filtered, so the beat keeps the input's own rate and bandwidth.
2. Morphology: the QRS (-60..+80 ms around R, all leads) of every beat is correlated with every
   other; the beat most beats resemble seeds the dominant class, and beats correlating below
   ``MIN_CORRELATION`` with that class's median (ventricular ectopics, aberrant beats,
   artefacts) are left out and counted. A beat that does not match at its detected R peak is
   compared again at its best lag (within ``MAX_LAG_S``, at ``COMPARE_FS`` at least): a
   detector may put one beat's R peak on R and the next one's on R' or S, and at 100 Hz a
   QRS a fraction of a sample off decorrelates.
3. Rhythm: in a regular rhythm, beats that come early (RR under 80% of the median: atrial
   ectopics, whose P wave differs) or after a pause (RR over 125%) are left out and counted
   (``n_premature``); in an irregular rhythm (atrial
   fibrillation) only morphology selects.
4. Alignment: each kept beat is shifted (within +-10 ms, whole samples) to best match the
   class median's QRS, so R-peak jitter does not smear the onsets.
5. The median of the aligned beats, sample by sample, per lead (NaN-padded at the strip's
   ends, so the first and last beats count too).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ecgviewer.record import STANDARD_LEADS, normalize_lead_name
from ecgviewer.signal.few_median import median_of_few
from ecgviewer.signal.filters import remove_baseline, remove_baseline_at_beats
from ecgviewer.signal.resample import resample

#: Window of a median beat around its R peak (s).
PRE_S = 0.50
POST_S = 0.80
#: QRS segment compared between beats (s around R).
QRS_CMP_S = (0.06, 0.08)
#: Correlation with the dominant class median below which a beat is of other morphology.
MIN_CORRELATION = 0.90
#: A beat whose preceding RR is shorter than this fraction of the median RR is premature.
PREMATURE_FRACTION = 0.80
#: A beat after an RR longer than this fraction of the median ends a (compensatory) pause.
PAUSE_FRACTION = 1.25
#: Largest alignment shift (s).
MAX_SHIFT_S = 0.010
#: Largest lag (s) at which a beat is compared with its class's shape: the distance between
#: the R and R' (or S) peaks a detector may land on.
MAX_LAG_S = 0.05
#: Lowest rate (Hz) at which beats are compared with that shape.
COMPARE_FS = 500.0
#: Fewest beats a median beat is formed from.
MIN_BEATS = 2


@dataclass(frozen=True)
class MedianBeats:
    """Per-lead median beats, or why none could be formed (``beats`` is ``None`` then).

    ``beats`` is float32 mV, shape (len(leads), n) at ``fs`` with the R peak at sample
    ``r_index``; ``used`` are the R-peak samples of the beats that formed it; ``timing``
    (when not None) the same beats on another baseline, for the wave edges.
    """

    beats: np.ndarray | None
    fs: float
    leads: tuple[str, ...]
    r_index: int
    n_detected: int
    used: np.ndarray
    n_other_morphology: int = 0
    n_premature: int = 0
    irregular: bool = False
    rr_s: float | None = None  # median RR preceding the used beats
    reason: str = ""
    #: the beats with the median-filtered baseline, where ``beats`` has the PR-segment one
    #: (:func:`median_beats`, ``pr_baseline``): what the wave edges are found on
    timing: np.ndarray | None = None

    @property
    def n_used(self) -> int:
        return int(self.used.size)


def ecg_rows(signal: np.ndarray, leads: Sequence[str]) -> list[int]:
    """Rows to measure: the standard ECG leads when named so, otherwise every row; rows that
    are NaN or flat are left out."""
    names = [normalize_lead_name(str(n)) for n in leads] if leads else []
    standard = [i for i, n in enumerate(names) if n in STANDARD_LEADS and i < signal.shape[0]]
    rows = standard or list(range(signal.shape[0]))
    if not rows or signal.shape[-1] == 0:
        return []
    x = signal[rows]
    usable = np.isfinite(x).all(axis=1) & (np.ptp(x, axis=1) > 1e-3)
    return [i for i, ok in zip(rows, usable.tolist()) if ok]


def _corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of rows of ``a`` (k, m) with ``b`` (m,) or rows of ``b`` (j, m)."""
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    na = np.sqrt((a * a).sum(axis=-1)) + 1e-12
    nb = np.sqrt((b * b).sum(axis=-1)) + 1e-12
    if b.ndim == 1:
        return (a @ b) / (na * nb)
    return (a @ b.T) / np.outer(na, nb)


def _qrs_windows(
    clean: np.ndarray, at: np.ndarray, before: int, after: int, stride: int
) -> np.ndarray:
    """(beats, leads * samples) QRS windows ``before``..``after`` samples around ``at``."""
    idx = at[:, None] + np.arange(-before, after, stride)[None, :]
    return clean[:, idx].transpose(1, 0, 2).reshape(at.size, -1)


def _lagged_classes(
    clean: np.ndarray,
    cand: np.ndarray,
    qrs: np.ndarray,
    template: np.ndarray,
    seed_class: np.ndarray,
    fs: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Where each beat's QRS matches the dominant shape, and whether it does (correlation >=
    MIN_CORRELATION). A beat that matches at its detected R peak stays there; the others are
    compared again at their best lag within MAX_LAG_S, at COMPARE_FS at least (at 100 Hz a
    sharp QRS a fraction of a sample off correlated below the threshold with its own class),
    against the shape of the beats that matched."""
    same = _corr(qrs, template) >= MIN_CORRELATION
    if same.all():
        return cand, same
    # The shape to compare with: the beats that matched, else the seed's class.
    basis = same if same.sum() >= MIN_BEATS else seed_class
    up = max(1, int(np.ceil(COMPARE_FS / fs)))
    fine = np.asarray(resample(clean, fs, fs * up), np.float64) if up > 1 else clean
    f_fs = fs * up
    before = int(round(QRS_CMP_S[0] * f_fs))
    after = int(round(QRS_CMP_S[1] * f_fs)) + 1
    stride = max(1, int(f_fs // 1000))
    f_template = median_of_few(_qrs_windows(fine, cand[basis] * up, before, after, stride), 0)
    rest = ~same
    at_fine, similarity = _best_lags(fine, cand[rest] * up, f_template, before, after, stride, f_fs)
    lo, hi = int(round(QRS_CMP_S[0] * fs)), clean.shape[1] - int(round(QRS_CMP_S[1] * fs)) - 1
    at = cand.copy()
    at[rest] = np.clip(np.round(at_fine / up).astype(np.int64), lo, hi)
    same = same.copy()
    same[rest] = similarity >= MIN_CORRELATION
    return at, same


def _best_lags(
    clean: np.ndarray,
    cand: np.ndarray,
    template: np.ndarray,
    before: int,
    after: int,
    stride: int,
    fs: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Each beat moved by the lag (within +-MAX_LAG_S, staying inside the strip) whose QRS
    window correlates best with ``template``; and that correlation."""
    reach = int(round(MAX_LAG_S * fs))
    n = clean.shape[1]
    best_at, best_c = cand.copy(), np.full(cand.size, -np.inf)
    for lag in range(-reach, reach + 1, stride):
        at = cand + lag
        ok = (at - before >= 0) & (at + after <= n)
        if not ok.any():
            continue
        c = np.full(cand.size, -np.inf)
        c[ok] = _corr(_qrs_windows(clean, at[ok], before, after, stride), template)
        better = c > best_c
        best_at[better], best_c[better] = at[better], c[better]
    return best_at, best_c


def _best_shifts(
    clean: np.ndarray,
    at: np.ndarray,
    template: np.ndarray,
    before: int,
    after: int,
    shift: int,
    stride: int,
) -> np.ndarray:
    """For each beat at ``at``, the shift within +-``shift`` samples whose QRS window
    (``before``..``after`` around it, every ``stride``-th sample) correlates best with
    ``template``: the first best, 0 where no shifted window fits in the strip. All windows in
    one correlation instead of one call per beat and shift (the model's measurement features
    at 100 Hz: 4.95 -> 4.6 ms per ECG)."""
    n = clean.shape[1]
    shifts = np.arange(-shift, shift + 1, stride)
    starts = at[:, None] + shifts[None, :] - before  # (beats, shifts)
    fits = (starts >= 0) & (starts + before + after < n)
    idx = np.clip(starts, 0, None)[..., None] + np.arange(0, before + after, stride)
    idx = np.minimum(idx, n - 1)
    segs = clean[:, idx].transpose(1, 2, 0, 3).reshape(at.size * shifts.size, -1)
    c = _corr(segs, template).reshape(at.size, shifts.size)
    c = np.where(fits & np.isfinite(c), c, -np.inf)
    best = shifts[np.argmax(c, axis=1)]
    return np.where(np.isfinite(c).any(axis=1), best, 0)


def _median_skipping_nan(stack: np.ndarray) -> np.ndarray:
    """Median over axis 1 of ``stack`` (leads, beats, samples) leaving NaN out, NaN where all
    are: the values np.nanmedian gives, without its slow masked-array path (~0.7 ms a call)."""
    ordered = np.sort(stack, axis=1)  # NaN sort last
    n = np.count_nonzero(~np.isnan(ordered), axis=1, keepdims=True)
    low = np.take_along_axis(ordered, np.maximum(n - 1, 0) // 2, axis=1)
    high = np.take_along_axis(ordered, n // 2, axis=1)  # = low for an odd count
    return np.where(n > 0, (low + high) / 2, np.nan)[:, 0]


def _median_of_windows(stack: np.ndarray) -> np.ndarray:
    """Median over the beats (axis 1) of ``stack`` (leads, beats, samples), float32: np.median
    where every beat has the sample; the few samples a beat near the strip's ends leaves open
    are the median of the beats that have them (as np.nanmedian, faster)."""
    beats = median_of_few(stack, axis=1)
    open_ends = np.isnan(beats).any(axis=0)
    if open_ends.any():
        beats[:, open_ends] = _median_skipping_nan(stack[:, :, open_ends])
    return np.where(np.isfinite(beats), beats, 0.0).astype(np.float32)


def median_beats(
    signal: np.ndarray,
    fs: float,
    leads: Sequence[str],
    r_peaks: np.ndarray,
    lagged: bool = True,
    pr_baseline: bool = True,
    ectopy_aware: bool = True,
) -> MedianBeats:
    """Median beat of every ECG lead of ``signal`` (n_leads, n) in mV at ``fs`` Hz.

    ``lagged``: a beat that does not match the class's shape at its detected R peak is
    compared again at its best lag (within +-MAX_LAG_S) before it is judged of another
    morphology; ``False`` compares the windows around the detected R peaks only (the anomaly
    model's measurement ranges were built that way).

    Beats are chosen and aligned on the leads with the baseline taken out by two median
    filters (:func:`~ecgviewer.signal.filters.remove_baseline`), which flatten an ST-T dome
    longer than ~300 ms. ``pr_baseline``: ``beats`` are then the same beats with the
    baseline taken out through their PR segments instead
    (:func:`~ecgviewer.signal.filters.remove_baseline_at_beats`), which keeps ST elevation
    and long T waves, for amplitudes, ST levels and what is drawn, and the median-filtered
    ones are kept as ``timing`` for the wave edges (measured on those, LUDB's out-of-fold PR
    SD was 8.6 ms; on the PR-segment ones 12.3). ``False``: ``beats`` are the median-filtered
    ones (the anomaly model's measurement ranges were built that way).

    ``ectopy_aware``: the rhythm is judged irregular on the RR intervals that neither end nor
    start at a beat of other morphology (a PVC's coupling interval and its pause say nothing
    of the underlying rhythm); ``False`` judges it on all intervals (the model's ranges)."""
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    peaks = np.unique(np.asarray(r_peaks, dtype=np.int64))
    peaks = peaks[(peaks >= 0) & (peaks < x.shape[1])]
    rows = ecg_rows(x, leads)
    names = tuple(normalize_lead_name(str(leads[i])) if i < len(leads) else str(i) for i in rows)
    pre, post = int(round(PRE_S * fs)), int(round(POST_S * fs))
    empty = np.zeros(0, dtype=np.int64)

    def refuse(reason: str) -> MedianBeats:
        return MedianBeats(None, fs, names, pre, int(peaks.size), empty, reason=reason)

    if not rows:
        return refuse("no usable ECG lead (all flat or missing)")
    if peaks.size < MIN_BEATS + 1:
        return refuse(
            f"{peaks.size} beat(s) detected: a median beat needs at least "
            f"{MIN_BEATS + 1} (the recording is too short or too noisy)"
        )
    clean = remove_baseline(x[rows], fs).astype(np.float64)
    n = clean.shape[1]
    padded = np.pad(clean, ((0, 0), (pre + 1, post + 1)), constant_values=np.nan)

    def windows(at: np.ndarray) -> np.ndarray:
        idx = at[:, None] + np.arange(-pre, post + 1)[None, :] + pre + 1
        return padded[:, idx]  # (leads, beats, window)

    q0, q1 = pre - int(round(QRS_CMP_S[0] * fs)), pre + int(round(QRS_CMP_S[1] * fs)) + 1
    inside = (peaks - (pre - q0) >= 0) & (peaks + (q1 - pre) < n)
    cand = peaks[inside]
    if cand.size < MIN_BEATS:
        return refuse("fewer than 2 complete beats in the strip")
    # Shapes are compared at about 1 kHz at most: bounded work at any rate.
    stride = max(1, int(fs // 1000))
    qrs = windows(cand)[:, :, q0:q1:stride].transpose(1, 0, 2).reshape(cand.size, -1)

    # Dominant morphology: seeded by the beat most others resemble.
    pair = _corr(qrs, qrs)
    seed = int(np.argmax((pair >= MIN_CORRELATION).sum(axis=1)))
    cls = pair[seed] >= MIN_CORRELATION - 0.05
    template = median_of_few(qrs[cls], axis=0)
    at = cand  # where each beat's QRS window is taken
    if lagged:
        # Each beat at the lag that matches the class's shape best: where the R-peak detector
        # lands on R in one beat and on R' or S in the next (bundle branch blocks), windows
        # around the detected peaks do not line up, and beats of one shape correlated below
        # the threshold (PTB-XL 00195, RBBB: 6 of 11 beats called "other morphology").
        at, same = _lagged_classes(clean, cand, qrs, template, cls, fs)
        qrs = _qrs_windows(clean, at, pre - q0, q1 - pre, stride)
    else:
        same = _corr(qrs, template) >= MIN_CORRELATION
    if same.sum() < MIN_BEATS:
        return refuse("no two beats of the same shape: too noisy for a median beat")
    n_other = int(cand.size - same.sum())

    # Rhythm: premature beats carry another P wave; in an irregular rhythm keep all.
    rr = np.diff(peaks) / fs
    rr_med = float(np.median(rr))
    pos = np.searchsorted(peaks, cand)
    rr_prev = np.where(pos > 0, (cand - peaks[np.maximum(pos - 1, 0)]) / fs, np.nan)
    rr_dev = np.abs(rr - rr_med) / rr_med
    judged = rr_dev
    if ectopy_aware and (~same).any():
        # Two PVCs with their pauses made 4 of 13 intervals "off": sinus rhythm with visible
        # P waves was read "irregular (atrial fibrillation?)" and its P and PR dropped.
        ectopic = np.searchsorted(peaks, cand[~same])
        off = np.zeros(rr.size, dtype=bool)
        off[np.clip(ectopic - 1, 0, rr.size - 1)] = True  # the interval ending at the beat
        off[np.clip(ectopic, 0, rr.size - 1)] = True  # the interval starting at it
        if (~off).sum() >= 4:
            underlying = float(np.median(rr[~off]))
            judged = np.abs(rr[~off] - underlying) / underlying
    irregular = bool(np.mean(judged > 0.15) > 0.3)
    premature = np.zeros(cand.size, dtype=bool)
    if not irregular:
        premature = (
            np.isfinite(rr_prev)
            & same
            & ((rr_prev < PREMATURE_FRACTION * rr_med) | (rr_prev > PAUSE_FRACTION * rr_med))
        )
        if (same & ~premature).sum() < MIN_BEATS:
            premature[:] = False
    keep = same & ~premature
    chosen = at[keep]

    # Alignment on the QRS of the class median.
    shift = int(round(MAX_SHIFT_S * fs))
    tmpl = median_of_few(qrs[keep], axis=0)
    aligned = chosen.copy()
    if shift > 0 and chosen.size:
        aligned = chosen + _best_shifts(clean, chosen, tmpl, pre - q0, q1 - pre, shift, stride)
    beats = _median_of_windows(windows(aligned))
    timing = None
    if pr_baseline:  # the same beats, the baseline through their own PR segments (no PVC's)
        timing = beats
        level = remove_baseline_at_beats(x[rows], fs, aligned).astype(np.float64)
        level = np.pad(level, ((0, 0), (pre + 1, post + 1)), constant_values=np.nan)
        beats = _median_of_windows(level[:, aligned[:, None] + np.arange(-pre, post + 1) + pre + 1])
    rr_used = rr_prev[keep]
    rr_used = rr_used[np.isfinite(rr_used)]
    return MedianBeats(
        beats=beats,
        timing=timing,
        fs=float(fs),
        leads=names,
        r_index=pre,
        n_detected=int(peaks.size),
        used=aligned,
        n_other_morphology=n_other,
        n_premature=int(premature.sum()),
        irregular=irregular,
        rr_s=float(np.median(rr_used)) if rr_used.size else rr_med,
    )
