"""Signal quality before anomaly: which leads are off, clipped, noisy or likely reversed.

A disconnected chest lead, a saturated amplifier or a swapped arm electrode makes an ECG look
"unusual" to the anomaly model for reasons that have nothing to do with the heart. This module
finds those problems first, per lead, so that the record is reported as a recording problem
("chest leads V1-V6 disconnected") and scored on the remaining leads, or said to be unscorable.
Qt-free and torch-free: the Detector attaches :class:`SignalQuality` to its result and the
viewer, worklist, report and CLI read it (or, from a cached summary, the flags alone).

Checks (thresholds below; ``benchmarks/quality_accuracy.py`` measures them on PTB-XL normals):

- **lead off**: a lead is flat, or shows no QRS where the other leads have beats: its QRS-band
  (5-40 Hz) amplitude at the beats is small (below :data:`LEAD_OFF_QRS_MV`) and not larger
  than between beats (a disconnected cart input carries amplifier noise of ~0.05 mV, which has
  no beats in it; see ``rpeaks.MIN_QRS_MV``).
- **clipped**: the lead sits at its own extreme value in several separate runs (an ADC or
  amplifier rail cuts the R or S waves flat).
- **noisy**: EMG (20-150 Hz content outside the QRS complexes, mains notched out), mains (50 or 60 Hz amplitude,
  only where the rate resolves it) or baseline wander (the two-median baseline's range).
- **lead reversal suspected**: lead I with negative P, QRS and T waves: the classic sign of
  swapped arm electrodes (LA/RA). Dextrocardia and ectopic atrial rhythms look the same in
  lead I, so the flag says "suspected".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import fft as sp_fft
from scipy import signal as sps

from ecgviewer.signal.calibration import ecg_end
from ecgviewer.signal.few_median import median_of_few, nanmedian_of_few
from ecgviewer.signal.filters import bandpass, odd_extend_into, running_median
from ecgviewer.signal.quantiles import median, percentile
from ecgviewer.signal.resample import resample, resampled_length
from ecgviewer.signal.rpeaks import detect_r_peaks

# ------------------------------------------------------------------------- thresholds
#: A lead whose robust range (0.5-99.5th percentile) is below this (mV) is flat.
FLAT_MV = 0.01
#: A lead whose median QRS-band amplitude at the beats is below this (mV) and not clearly
#: above its amplitude between beats carries no ECG (disconnected). Real low-voltage leads
#: keep QRS complexes well above their between-beat level.
LEAD_OFF_QRS_MV = 0.10
#: QRS amplitude must exceed the between-beat amplitude by this factor to count as a signal.
LEAD_OFF_RATIO = 1.6
#: Without any beat in the record, a lead whose QRS-band range is below this (mV) is off.
LEAD_OFF_NO_BEATS_MV = 0.08
#: Clipping: at least this many separate runs at the lead's extreme value ...
CLIP_MIN_RUNS = 3
#: ... each at least this long (s; two samples at 100 Hz).
CLIP_RUN_S = 0.015
#: Noise is "heavy" when it is large against the ECG it sits on: each measure below is divided
#: by the record's typical QRS amplitude (median over its connected leads of the 5-40 Hz range
#: at the beats), and must also exceed an absolute floor in mV.
#: EMG: robust RMS of the 20-150 Hz content outside the QRS complexes.
EMG_REL, EMG_MIN_MV = 0.035, 0.03
#: Mains: amplitude of the 50 or 60 Hz line (needs a rate of at least 130 Hz).
MAINS_REL, MAINS_MIN_MV = 0.05, 0.03
#: Baseline wander: range of the two-median baseline (over 2 mV the
#: trace wanders well into its neighbours on paper at 10 mm/mV).
WANDER_REL, WANDER_MIN_MV = 1.5, 2.5
#: LA/RA reversal: lead I's P wave must be at least this negative (mV), with QRS and T negative.
REVERSAL_P_MV = 0.02
#: Rate (Hz) at which beats, QRS amplitude, EMG and baseline are measured.
WORK_FS = 100.0
#: Seconds of the recording (from its start) in which the mains line is measured.
MAINS_SECONDS = 10.0
#: Half width (s) of the QRS window at each beat.
QRS_HALF_S = 0.06
#: EMG band (Hz): above most QRS energy, up to 150 Hz (or 0.45 x the rate); 50 and 60 Hz
#: are notched out first.
EMG_BAND = (20.0, 150.0)

#: The problems, as flag names (``ScoreResult.flags`` holds ``name:LEAD,LEAD``).
LEAD_OFF, CLIPPED, NOISY, REVERSAL = "lead_off", "clipped", "noisy", "lead_reversal_suspected"
PROBLEMS = (LEAD_OFF, CLIPPED, NOISY, REVERSAL)
#: Problems that make a lead unusable for scoring (noise and reversal leave it readable).
UNUSABLE = (LEAD_OFF, CLIPPED)

STANDARD_ORDER = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
LIMB = frozenset(STANDARD_ORDER[:6])
CHEST = frozenset(STANDARD_ORDER[6:])


@dataclass(frozen=True)
class LeadQuality:
    """What was measured on one lead, and which problems it shows (empty = fine)."""

    lead: str
    problems: tuple[str, ...] = ()
    range_mv: float = 0.0  # robust range of the raw lead
    qrs_mv: float = float("nan")  # median 5-40 Hz range at the beats (NaN without beats)
    between_mv: float = float("nan")  # the same between beats
    emg_mv: float = 0.0  # robust RMS of 20-150 Hz (up to 0.45 fs) outside QRS
    mains_mv: float = float("nan")  # 50/60 Hz amplitude (NaN when the rate cannot resolve it)
    wander_mv: float = 0.0  # baseline range
    emg_rel: float = 0.0  # the three noise measures over the record's typical QRS amplitude
    mains_rel: float = float("nan")
    wander_rel: float = 0.0
    clipped_runs: int = 0
    noise_kinds: tuple[str, ...] = ()  # "EMG", "mains", "baseline wander"
    detail: str = ""  # one line for the user, empty when fine


@dataclass(frozen=True)
class SignalQuality:
    """Per-lead quality of one ECG, and what it means for scoring it."""

    leads: tuple[LeadQuality, ...]
    reversal: str = ""  # e.g. "LA/RA" when a reversal is suspected
    reversal_detail: str = ""
    n_beats: int = 0

    def leads_with(self, problem: str) -> list[str]:
        if problem == REVERSAL:
            return ["I", "aVR"] if self.reversal == "LA/RA" else []
        return [q.lead for q in self.leads if problem in q.problems]

    @property
    def flags(self) -> set[str]:
        """``lead_off:V1,V2,...`` and the like, one per problem found."""
        return {f"{p}:{','.join(self.leads_with(p))}" for p in PROBLEMS if self.leads_with(p)}

    @property
    def ok(self) -> bool:
        return not self.flags

    @property
    def unusable(self) -> list[str]:
        """Leads the score must not rest on (off or clipped), in record order."""
        return [q.lead for q in self.leads if set(q.problems) & set(UNUSABLE)]

    @property
    def usable(self) -> list[str]:
        return [q.lead for q in self.leads if not set(q.problems) & set(UNUSABLE)]

    def headline(self) -> str:
        return quality_headline(self.flags)

    def detail_lines(self) -> list[str]:
        """One line per problem ("V1-V6: flat (0.000 mV range): ..."), leads with the same
        words grouped, then the reversal's evidence."""
        groups: dict[str, list[str]] = {}
        for q in self.leads:
            if q.problems:
                groups.setdefault(q.detail, []).append(q.lead)
        lines = [f"{lead_list(leads)}: {detail}" for detail, leads in groups.items()]
        return lines + ([self.reversal_detail] if self.reversal_detail else [])

    def compact(self) -> dict[str, Any]:
        """What a score summary keeps: the headline, how it was scored, each problem lead's line."""
        out: dict[str, Any] = {
            "headline": self.headline(),
            "scoring": scoring_note(self.flags, [q.lead for q in self.leads]),
            "leads": {q.lead: q.detail for q in self.leads if q.problems},
        }
        if self.reversal:
            out["reversal"] = self.reversal_detail
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (CLI, score summaries)."""
        return {
            "flags": sorted(self.flags),
            "headline": self.headline(),
            "reversal": self.reversal,
            "reversal_detail": self.reversal_detail,
            "n_beats": self.n_beats,
            "leads": {
                q.lead: {k: _json(v) for k, v in asdict(q).items() if k != "lead"}
                for q in self.leads
            },
        }


def _json(v: Any) -> Any:
    if isinstance(v, float):
        return None if not np.isfinite(v) else round(v, 4)
    if isinstance(v, tuple):
        return list(v)
    return v


# ------------------------------------------------------------------------- wording
def lead_list(leads: Iterable[str]) -> str:
    """Leads in standard order, runs of three or more written as a range: "V1-V6", "I, aVR"."""
    names = list(dict.fromkeys(leads))
    pos = {name: i for i, name in enumerate(STANDARD_ORDER)}
    std = sorted((n for n in names if n in pos), key=pos.__getitem__)
    other = [n for n in names if n not in pos]
    parts: list[str] = []
    run: list[str] = []
    for name in std + [""]:
        if (
            run
            and name
            and pos[name] == pos[run[-1]] + 1
            and not (run[-1] == "aVF" and name == "V1")
        ):
            run.append(name)
            continue
        if len(run) >= 3:
            parts.append(f"{run[0]}-{run[-1]}")
        else:
            parts.extend(run)
        run = [name] if name else []
    return ", ".join(parts + other)


def _group_name(leads: list[str]) -> str:
    s = set(leads)
    if s == CHEST:
        return "chest leads V1-V6"
    if s == LIMB:
        return "limb leads I-aVF"
    if s == LIMB | CHEST:
        return "all leads"
    return ("lead " if len(leads) == 1 else "leads ") + lead_list(leads)


def parse_flags(flags: Iterable[str]) -> dict[str, list[str]]:
    """``{"lead_off": ["V1", ...], ...}`` from result flags (other flags are ignored)."""
    out: dict[str, list[str]] = {}
    for flag in flags:
        name, _, leads = str(flag).partition(":")
        if name in PROBLEMS and leads:
            out[name] = [x for x in leads.split(",") if x]
    return out


def quality_headline(flags: Iterable[str]) -> str:
    """One line naming the recording problems ("chest leads V1-V6 disconnected; ..."), or ""."""
    found = parse_flags(flags)
    parts = []
    if LEAD_OFF in found:
        parts.append(f"{_group_name(found[LEAD_OFF])} disconnected (no ECG signal)")
    if CLIPPED in found:
        parts.append(f"{_group_name(found[CLIPPED])} clipped (amplifier saturated)")
    if NOISY in found:
        parts.append(f"heavy noise in {_group_name(found[NOISY])}")
    if REVERSAL in found:
        parts.append(
            "limb-lead reversal suspected (lead I inverted: arm electrodes LA/RA "
            "swapped, or dextrocardia?)"
        )
    return "; ".join(parts)


def short_text(flags: Iterable[str]) -> str:
    """Compact text for a table cell: "off V1-V6; noisy II" ("" when fine)."""
    found = parse_flags(flags)
    names = {LEAD_OFF: "off", CLIPPED: "clipped", NOISY: "noisy", REVERSAL: "reversed?"}
    return "; ".join(
        f"{names[p]} {lead_list(found[p])}" if p != REVERSAL else "LA/RA reversed?"
        for p in PROBLEMS
        if p in found
    )


def severity(flags: Iterable[str]) -> float:
    """A sort key: unusable leads count most, then reversal, then noisy leads (0 = fine)."""
    found = parse_flags(flags)
    return (
        10.0 * (len(found.get(LEAD_OFF, [])) + len(found.get(CLIPPED, [])))
        + (5.0 if REVERSAL in found else 0.0)
        + len(found.get(NOISY, []))
    )


def unusable_model_leads(flags: Iterable[str], leads: Sequence[str] = STANDARD_ORDER) -> list[str]:
    """The leads of ``leads`` (the 12 the model scores) that are off or clipped; extra leads
    (V3R, V7, ...) do not count, as the score does not rest on them."""
    found = parse_flags(flags)
    bad = set(found.get(LEAD_OFF, [])) | set(found.get(CLIPPED, []))
    return [n for n in leads if n in bad]


def too_few_usable_leads(flags: Iterable[str], leads: Sequence[str] = STANDARD_ORDER) -> bool:
    """True when leads off or clipped leave fewer than :data:`MIN_USABLE_LEADS` of ``leads``:
    whatever score the model gave, the record is not scored."""
    bad = unusable_model_leads(flags, leads)
    return bool(bad) and len(leads) - len(bad) < MIN_USABLE_LEADS


def scoring_note(flags: Iterable[str], leads: Sequence[str] = STANDARD_ORDER) -> str:
    """How the score relates to the quality problems (the verdict's second half)."""
    found = parse_flags(flags)
    bad = unusable_model_leads(flags, leads)
    if bad:
        usable = [n for n in leads if n not in bad]
        if too_few_usable_leads(flags, leads):
            return "not scored: too few leads carry a usable ECG" + (
                f" (only {lead_list(usable)})" if usable else ""
            )
        return (
            f"scored on the remaining leads {lead_list(usable)} only (heat band, lead scores); "
            "no percentile, as normal ECGs have all 12 leads"
        )
    if NOISY in found or REVERSAL in found:
        return "the score may reflect the recording problem rather than the heart"
    if found:  # only extra leads off or clipped
        return f"the score rests on the 12 standard leads ({lead_list(list(leads))}), all usable"
    return ""


#: Fewer usable leads than this: the record cannot be scored meaningfully.
MIN_USABLE_LEADS = 3


# ------------------------------------------------------------------------- assessment
def work_rate(fs: float) -> float:
    """The rate at which :func:`assess` finds beats and measures QRS, wander: :data:`WORK_FS`
    for recordings above it, else the recorded rate."""
    return WORK_FS if fs > WORK_FS * 1.05 else float(fs)


def assess(
    signal: np.ndarray,
    fs: float,
    leads: Sequence[str],
    *,
    at_work_rate: np.ndarray | None = None,
    peaks: np.ndarray | None = None,
) -> SignalQuality:
    """Measure every lead of ``signal`` (n_leads, n) in mV at ``fs`` Hz; see the module doc.

    The model's preprocessing has already resampled the leads and found the R peaks; passing
    them on saves doing it twice:

    ``at_work_rate``
        ``resample(signal, fs, WORK_FS)`` (same rows), used when ``fs`` is above the working
        rate (:func:`work_rate`); ignored otherwise.
    ``peaks``
        R peaks at :func:`work_rate` (``fs``) found on these leads (in any band: the detector
        band-passes them itself), instead of detecting them here.

    Both are ignored when ``signal`` holds NaN or infinite samples (zeroed here).
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    finite = bool(np.isfinite(x).all())
    if not finite:
        x = np.where(np.isfinite(x), x, 0.0)
        # Preprocessing resampled and found beats with the NaN in it, not with zeros as here.
        at_work_rate = peaks = None
    n_leads, n = x.shape
    names = [str(name) for name in leads][:n_leads]
    if n < max(16, int(fs)):  # under a second: nothing reliable to say
        return SignalQuality(tuple(LeadQuality(name) for name in names))
    own = np.asarray(signal)  # float32 samples (a Record's) partition at half the traffic
    lo, hi = percentile(
        own.reshape(x.shape) if finite and own.dtype == np.float32 else x,
        [0.5, 99.5],
        as_float64=True,
    )
    ranges = hi - lo
    flat = ranges < FLAT_MV
    runs = _clip_runs(x, fs)  # at the recorded rate: rails are exact sample values
    mains = _mains(x[:, : int(MAINS_SECONDS * fs)], fs)
    raw, raw_fs = x, fs
    # Beats, QRS amplitudes and baseline at the working rate (their bands are all below
    # 45 Hz): a few ms for 10 s of 12 leads whatever the recorded rate.
    if fs > WORK_FS * 1.05:
        expected = (n_leads, resampled_length(n, fs, WORK_FS))
        if at_work_rate is not None and at_work_rate.shape == expected:
            x = np.asarray(at_work_rate, dtype=np.float64)
        else:
            x = resample(x, fs, WORK_FS).astype(np.float64)
        fs = WORK_FS
    n = x.shape[1]
    if not (~flat).any():
        peaks = np.empty(0, np.int64)
    elif peaks is None:
        peaks = detect_r_peaks(x, fs)
    else:
        peaks = np.asarray(peaks, np.int64)
        peaks = peaks[peaks < n]
    qrs_band = bandpass(x, fs, 5.0, min(40.0, 0.45 * fs)).astype(np.float64)
    half = max(1, int(round(QRS_HALF_S * fs)))
    beats = peaks[(peaks >= half) & (peaks < n - half)]
    qrs_amp, between_amp = _beat_amplitudes(qrs_band, beats, half, n)
    no_beat_range = np.ptp(qrs_band, axis=1) if beats.size < 2 else None
    # EMG over its own band at the recorded rate (a 500 Hz cart shows muscle noise up to
    # 150 Hz), the mains lines notched out so that they are not counted twice.
    raw_beats = np.rint(beats * (raw_fs / fs)).astype(np.int64)
    emg = _emg(raw, raw_fs, raw_beats, max(1, int(round(QRS_HALF_S * raw_fs))))
    wander = _wander(x, fs)

    off = flat.copy()
    if beats.size >= 2:
        off |= (qrs_amp < LEAD_OFF_QRS_MV) & (qrs_amp < LEAD_OFF_RATIO * between_amp)
    elif no_beat_range is not None:
        off |= no_beat_range < LEAD_OFF_NO_BEATS_MV
    scale_of = (
        qrs_amp if beats.size >= 2 else (no_beat_range if no_beat_range is not None else ranges)
    )
    scale = float(np.median(scale_of[~off])) if (~off).any() else 1.0
    scale = max(scale, 1e-3)
    emg_rel, mains_rel, wander_rel = emg / scale, mains / scale, wander / scale

    out: list[LeadQuality] = []
    for i, name in enumerate(names):
        problems: list[str] = []
        details: list[str] = []
        kinds: list[str] = []
        if flat[i]:
            problems.append(LEAD_OFF)
            details.append(f"flat ({ranges[i]:.3f} mV range): electrode disconnected")
        elif (
            beats.size >= 2
            and qrs_amp[i] < LEAD_OFF_QRS_MV
            and qrs_amp[i] < LEAD_OFF_RATIO * between_amp[i]
        ):
            problems.append(LEAD_OFF)
            details.append(
                f"no QRS complexes ({qrs_amp[i]:.3f} mV at the beats, {between_amp[i]:.3f} mV "
                "between them): electrode disconnected"
            )
        elif no_beat_range is not None and no_beat_range[i] < LEAD_OFF_NO_BEATS_MV:
            problems.append(LEAD_OFF)
            details.append(
                f"only {no_beat_range[i]:.3f} mV of noise, no beats: electrode disconnected"
            )
        if LEAD_OFF not in problems:
            if runs[i] >= CLIP_MIN_RUNS:
                problems.append(CLIPPED)
                details.append(
                    f"clipped: flat at its extreme value in {runs[i]} places (amplifier saturated)"
                )
            if emg[i] > EMG_MIN_MV and emg_rel[i] > EMG_REL:
                kinds.append("EMG")
            if np.isfinite(mains[i]) and mains[i] > MAINS_MIN_MV and mains_rel[i] > MAINS_REL:
                kinds.append("mains")
            if wander[i] > WANDER_MIN_MV and wander_rel[i] > WANDER_REL:
                kinds.append("baseline wander")
            if kinds:
                problems.append(NOISY)
                details.append(
                    "heavy noise: "
                    + ", ".join(
                        {
                            "EMG": f"EMG {emg[i]:.3f} mV rms",
                            "mains": f"mains {mains[i]:.3f} mV",
                            "baseline wander": f"baseline wander {wander[i]:.2f} mV",
                        }[k]
                        for k in kinds
                    )
                )
        out.append(
            LeadQuality(
                lead=name,
                problems=tuple(problems),
                range_mv=float(ranges[i]),
                qrs_mv=float(qrs_amp[i]),
                between_mv=float(between_amp[i]),
                emg_mv=float(emg[i]),
                mains_mv=float(mains[i]),
                wander_mv=float(wander[i]),
                emg_rel=float(emg_rel[i]),
                mains_rel=float(mains_rel[i]),
                wander_rel=float(wander_rel[i]),
                clipped_runs=int(runs[i]),
                noise_kinds=tuple(kinds),
                detail="; ".join(details),
            )
        )
    reversal, reversal_detail = _limb_reversal(qrs_band, x, fs, beats, names, out)
    return SignalQuality(tuple(out), reversal, reversal_detail, int(beats.size))


def assess_record(
    record: Any,
    *,
    at_work_rate: dict[str, np.ndarray] | None = None,
    peaks: np.ndarray | None = None,
    end: int | None = None,
) -> SignalQuality:
    """:func:`assess` on a Record's ECG leads (channels in ``non_ecg`` are left out).

    ``at_work_rate``: leads already resampled to :data:`WORK_FS`, by name (used when every
    ECG lead is among them); ``peaks``: R peaks at :func:`work_rate` (see :func:`assess`);
    ``end``: the sample where the ECG ends, else where a cart's calibration pulse after it
    starts (:func:`~ecgviewer.signal.calibration.ecg_end`; its flat 1 mV top is no clipping).
    """
    names = list(record.ecg_leads)
    rows = [record.leads.index(name) for name in names]
    data = np.asarray(record.data() if hasattr(record, "data") else record.signal)
    if end is None:
        end = ecg_end(record)
    work = None
    if at_work_rate is not None and names and all(name in at_work_rate for name in names):
        work = np.stack([at_work_rate[name] for name in names])
    x = data[rows] if end is None else data[rows, :end]
    return assess(x, float(record.fs), names, at_work_rate=work, peaks=peaks)


#: Length and step (s) of the stretches in which :func:`noisy_spans` measures EMG.
SPAN_S, SPAN_STEP_S = 1.0, 0.5


def noisy_spans(
    signal: np.ndarray,
    fs: float,
    leads: Sequence[str],
    quality: SignalQuality,
    peaks: np.ndarray,
) -> dict[str, list[tuple[float, float]]]:
    """Where each lead of ``signal`` (n_leads, n, mV at ``fs``) carries heavy EMG noise for a
    while: stretches of :data:`SPAN_S` (every :data:`SPAN_STEP_S`) whose robust RMS in the EMG
    band, outside the QRS complexes (``peaks``, samples at ``fs``), exceeds what makes a whole
    record "noisy" (:data:`EMG_REL` of the record's typical QRS amplitude in ``quality``, and
    :data:`EMG_MIN_MV`), merged into (start, end) seconds per lead.

    Why: :func:`assess` judges the record as a whole, so a few seconds of muscle or motion
    noise in the limb leads of a Holter strip flagged nothing, and the anomaly model's top
    finding sat on it ("this beat differs from the expected normal beat")."""
    x = np.asarray(signal, dtype=np.float64)
    n = x.shape[-1]
    length, step = int(round(SPAN_S * fs)), int(round(SPAN_STEP_S * fs))
    connected = [q.qrs_mv for q in quality.leads if LEAD_OFF not in q.problems and q.qrs_mv > 0]
    if n < length or not connected or step < 1:
        return {}
    hf = _emg_band(x, float(fs))
    if hf is None:
        return {}
    hf = hf.astype(np.float64)
    half = max(1, int(round(QRS_HALF_S * fs)))
    for b in np.asarray(peaks, np.int64).tolist():  # QRS energy reaches into the band
        hf[:, max(0, b - 2 * half) : max(0, b + 2 * half)] = np.nan
    starts = np.arange(0, n - length + 1, step)
    seg = hf[:, starts[:, None] + np.arange(length)[None, :]]  # (leads, stretches, samples)
    centre = nanmedian_of_few(seg, axis=-1)[..., None]
    rms = 1.4826 * nanmedian_of_few(np.abs(seg - centre), axis=-1)
    enough = np.sum(np.isfinite(seg), axis=-1) >= 0.2 * length
    limit = max(EMG_MIN_MV, EMG_REL * float(np.median(connected)))
    out: dict[str, list[tuple[float, float]]] = {}
    for i, name in enumerate(list(leads)[: x.shape[0]]):
        loud = enough[i] & (np.nan_to_num(rms[i]) > limit)
        spans: list[tuple[float, float]] = []
        for k in np.flatnonzero(loud).tolist():
            a, z = starts[k] / fs, (starts[k] + length) / fs
            if spans and a <= spans[-1][1]:
                spans[-1] = (spans[-1][0], z)
            else:
                spans.append((a, z))
        if spans:
            out[str(name)] = spans
    return out


def _beat_amplitudes(
    band: np.ndarray, beats: np.ndarray, half: int, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Median range of each lead in the QRS window of each beat, and halfway between beats."""
    n_leads = band.shape[0]
    if beats.size < 2:
        return np.full(n_leads, np.nan), np.full(n_leads, np.nan)
    offsets = np.arange(-half, half + 1)
    seg = band[:, beats[:, None] + offsets[None, :]]
    qrs = median_of_few(seg.max(axis=2) - seg.min(axis=2), axis=1)
    mids = ((beats[:-1] + beats[1:]) // 2).astype(np.int64)
    mids = mids[(mids >= half) & (mids < n - half)]
    if mids.size == 0:
        return qrs, np.zeros(n_leads)
    seg = band[:, mids[:, None] + offsets[None, :]]
    between = median_of_few(seg.max(axis=2) - seg.min(axis=2), axis=1)
    return qrs, between


@lru_cache(maxsize=16)
def _emg_filter(fs: float) -> np.ndarray | None:
    """Band-pass over the EMG band with 50 and 60 Hz notches, as one cascade of sections."""
    top = min(EMG_BAND[1], 0.45 * fs)
    if top <= EMG_BAND[0] + 5:
        return None
    parts = [sps.butter(2, (EMG_BAND[0], top), btype="bandpass", fs=fs, output="sos")]
    for line in (50.0, 60.0):
        if line < 0.45 * fs:
            parts.append(sps.tf2sos(*sps.iirnotch(line, 30.0, fs=fs)))
    return np.vstack(parts)


@lru_cache(maxsize=16)
def _emg_gain(n_fft: int, fs: float) -> np.ndarray | None:
    """``|H|^2`` of :func:`_emg_filter` at the bins of an ``n_fft``-point real FFT (float32):
    the zero-phase (forwards and backwards) filter's gain, made once per length and rate."""
    sos = _emg_filter(fs)
    if sos is None:
        return None
    _, h = sps.sosfreqz(sos, worN=np.fft.rfftfreq(n_fft, 1.0 / fs), fs=fs)
    gain = (np.abs(h) ** 2).astype(np.float32)
    gain.flags.writeable = False
    return gain


def _emg_band(x: np.ndarray, fs: float) -> np.ndarray | None:
    """The EMG band of rows ``x`` at ``fs`` (float32), zero phase, None where ``fs`` has no
    such band.

    The forwards-and-backwards section filter's gain applied in one FFT of the rows, each
    extended by 0.25 s of odd reflection at both ends (as ``sosfiltfilt`` pads) and zeros
    beyond (so that the end does not wrap onto the start): 12 leads x 10 s at 500 Hz 0.92 ->
    0.39 ms. It is the section filter's output to within 1e-4 of its largest value from 1 s
    in, 1e-6 from 2 s (float32); within the first and last second both depend on how they
    pad (the notches ring for ~0.2 s). A noise estimate's input, not a displayed trace.
    """
    n = x.shape[1]
    pad = min(n - 1, int(0.25 * fs))
    n_fft = sp_fft.next_fast_len(n + 4 * pad, real=True)
    gain = _emg_gain(n_fft, float(fs))
    if gain is None:
        return None
    ext = np.zeros((x.shape[0], n_fft), np.float32)
    odd_extend_into(ext, x, pad)
    spectrum = sp_fft.rfft(ext, axis=1)
    spectrum *= gain
    return sp_fft.irfft(spectrum, n_fft, axis=1)[:, pad : pad + n]


def _emg(x: np.ndarray, fs: float, beats: np.ndarray, half: int) -> np.ndarray:
    """Robust RMS (MAD-based) of the EMG band with the QRS complexes left out.

    Zero phase, so that no ringing of a large QRS leaks past the window that leaves it out.
    """
    hf = _emg_band(x, float(fs))
    if hf is None:
        return np.zeros(x.shape[0])
    keep = np.ones(x.shape[1], bool)
    for b in beats.tolist():
        keep[max(0, b - 2 * half) : b + 2 * half] = False
    if keep.sum() < 0.2 * x.shape[1]:
        keep[:] = True
    part = hf[:, keep]  # a copy: partitioned in place below
    deviation = np.abs(part - median(part, overwrite_input=True)[:, None])
    return 1.4826 * median(deviation, overwrite_input=True)


@lru_cache(maxsize=16)
def _mains_window(n: int, fs: float) -> tuple[np.ndarray, np.ndarray, float]:
    """The Hanning window of ``n`` samples, the frequencies of its FFT bins and its gain (a
    sine of amplitude A gives |X| = A * gain at its bin), made once per length and rate."""
    window = np.hanning(n)
    window.flags.writeable = False
    freqs = np.fft.rfftfreq(n, 1.0 / fs)
    freqs.flags.writeable = False
    return window, freqs, float(window.sum() / 2)


@lru_cache(maxsize=4)
def _mains_bins(n: int, fs: float) -> tuple[np.ndarray, int] | None:
    """The windowed DFT of ``n`` samples at just the bins within 1 Hz of 50 and 60 Hz, as
    one real matrix (n, 2 x bins: cosine then sine parts) and the bins in the 50 Hz band;
    None when a band has no bin. Made once per rate for the 10 s every ECG of 10 s or more
    gives :func:`_mains` (1.7 MB at 500 Hz)."""
    window, freqs, _ = _mains_window(n, fs)
    bands = [np.flatnonzero((freqs >= f0 - 1.0) & (freqs <= f0 + 1.0)) for f0 in (50.0, 60.0)]
    if not all(b.size for b in bands):
        return None
    bins = np.concatenate(bands)
    phase = 2 * np.pi * np.outer(np.arange(n), bins) / n
    matrix = np.concatenate([window[:, None] * np.cos(phase), -window[:, None] * np.sin(phase)], 1)
    matrix = matrix.astype(np.float32)  # a product in float32 takes 0.2 instead of 0.34 ms
    matrix.flags.writeable = False
    return matrix, int(bands[0].size)


def _mains(x: np.ndarray, fs: float) -> np.ndarray:
    """Amplitude (mV) of the stronger of 50 and 60 Hz (+-1 Hz), NaN when fs < 130 Hz.

    For a 10 s strip (what every ECG of 10 s or more gives) the ~40 bins near the two lines
    come from one matrix product (float32) instead of the whole FFT: 0.73 -> 0.25 ms at 500
    Hz, the same magnitudes to ~1e-6 of their size."""
    if fs < 130:
        return np.full(x.shape[0], np.nan)
    n = x.shape[1]
    window, freqs, gain = _mains_window(n, float(fs))
    centred = x - x.mean(axis=1, keepdims=True)
    direct = _mains_bins(n, float(fs)) if n == int(MAINS_SECONDS * fs) else None
    if direct is not None:
        matrix, n50 = direct
        parts = (centred.astype(np.float32) @ matrix).astype(np.float64)
        half = parts.shape[1] // 2
        magnitude = np.hypot(parts[:, :half], parts[:, half:])
        return np.maximum(magnitude[:, :n50].max(axis=1), magnitude[:, n50:].max(axis=1)) / gain
    spec = np.fft.rfft(centred * window, axis=1)
    best = np.zeros(x.shape[0])
    for f0 in (50.0, 60.0):
        band = (freqs >= f0 - 1.0) & (freqs <= f0 + 1.0)
        if band.any():
            # Peak bin: a pure line's amplitude; a little spread from drift in the line rate.
            best = np.maximum(best, np.abs(spec[:, band]).max(axis=1) / gain)
    return best


def _wander(x: np.ndarray, fs: float) -> np.ndarray:
    """Range (mV) of the baseline: medians of 200 ms blocks (QRS and P removed), then a running
    median of three blocks (600 ms: T removed). The two-median baseline of
    ``filters.remove_baseline`` on blocks: the same ranges (r = 0.99 on PTB-XL) in 1/20 the time."""
    blk = max(1, int(round(0.2 * fs)))
    nb = x.shape[1] // blk
    if nb < 3:
        return np.zeros(x.shape[0])
    base = median_of_few(x[:, : nb * blk].reshape(x.shape[0], nb, blk), axis=2)
    base = running_median(base, 3)
    return base.max(axis=1) - base.min(axis=1)


def _clip_runs(x: np.ndarray, fs: float) -> np.ndarray:
    """How many separate runs of at least CLIP_RUN_S sit at the lead's max or min value
    (all leads and both rails at once: the run edges of a (2 x leads, n) mask)."""
    min_len = max(2, int(round(CLIP_RUN_S * fs)))
    n_leads = x.shape[0]
    top, bottom = x.max(axis=1), x.min(axis=1)
    span = top - bottom
    tol = np.maximum(1e-6, 1e-3 * span)
    at_rail = np.concatenate([x >= (top - tol)[:, None], x <= (bottom + tol)[:, None]])
    # Most leads touch their extremes at a few samples only: no run of min_len there.
    if not (np.count_nonzero(at_rail, axis=1) >= min_len).any():
        return np.zeros(n_leads, np.int64)
    padded = np.zeros((at_rail.shape[0], at_rail.shape[1] + 2), np.int8)
    padded[:, 1:-1] = at_rail
    edges = np.diff(padded, axis=1)
    # Row-major order: in every row starts and ends alternate, so the k-th start and the k-th
    # end over the whole array belong to the same run.
    start_rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)
    long_runs = start_rows[(ends - starts) >= min_len]
    counts = np.bincount(long_runs, minlength=2 * n_leads)
    out = (counts[:n_leads] + counts[n_leads:]).astype(np.int64)
    out[span <= FLAT_MV] = 0
    return out


def _median_beat(x: np.ndarray, beats: np.ndarray, before: int, after: int) -> np.ndarray | None:
    b = beats[(beats >= before) & (beats < x.shape[-1] - after)]
    if b.size < 3:
        return None
    return median_of_few(x[:, b[:, None] + np.arange(-before, after)[None, :]], axis=1)


def _limb_reversal(
    band: np.ndarray,
    x: np.ndarray,
    fs: float,
    beats: np.ndarray,
    names: list[str],
    quality: list[LeadQuality],
) -> tuple[str, str]:
    """LA/RA: lead I has negative P, QRS and T waves (aVR's are shown with them)."""
    if "I" not in names or "aVR" not in names:
        return "", ""
    i_row, r_row = names.index("I"), names.index("aVR")
    if quality[i_row].problems or quality[r_row].problems:
        return "", ""
    before, after = int(round(0.25 * fs)), int(round(0.45 * fs))
    wide = bandpass(x[[i_row, r_row]], fs, 0.5, min(40.0, 0.45 * fs)).astype(np.float64)
    med = _median_beat(wide, beats, before, after)
    if med is None:
        return "", ""
    # Isoelectric level: the PR segment (80-40 ms before R).
    base = med[:, before - int(0.08 * fs) : before - int(0.04 * fs) + 1].mean(axis=1, keepdims=True)
    med = med - base
    q = slice(before - int(round(QRS_HALF_S * fs)), before + int(round(QRS_HALF_S * fs)) + 1)
    qrs_net = med[:, q].max(axis=1) + med[:, q].min(axis=1)  # > 0: R dominant
    t_wave = med[:, before + int(0.2 * fs) : before + int(0.4 * fs)].mean(axis=1)
    p_wave = med[:, before - int(0.2 * fs) : before - int(0.1 * fs)].mean(axis=1)
    amp_i = med[0, q].max() - med[0, q].min()
    # In a normal ECG lead I is upright (P, QRS, T); swapped arm electrodes turn it over. A
    # clearly inverted P wave is what sets a reversal apart from a right axis (LPFB, RVH,
    # lateral MI), which inverts QRS and T in lead I but not a sinus P wave.
    if qrs_net[0] < -0.25 * amp_i and t_wave[0] < 0 and p_wave[0] < -REVERSAL_P_MV:
        return "LA/RA", (
            f"lead I inverted (P {p_wave[0]:+.2f}, QRS {qrs_net[0]:+.2f}, T {t_wave[0]:+.2f} mV) "
            f"; aVR P {p_wave[1]:+.2f}, QRS {qrs_net[1]:+.2f}, T {t_wave[1]:+.2f} mV: "
            "arm electrodes swapped, or dextrocardia"
        )
    return "", ""
