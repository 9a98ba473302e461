"""Synthetic localization benchmark: realistic local abnormalities inserted into real normal ECGs.

PTB-XL has no point labels, so we make them. Each normal ECG of the fold-9 *report* half (by
patient, see :func:`model.data.ptbxl_split`) gets, one at a time, each of four insertions; the
samples the insertion changed are the point labels. The same insertions on the fold-9
*selection*-half normals choose the one anomaly-map threshold used for Dice, so the reported
Dice never saw its own data. Everything is deterministic: insertion ``k`` on record ``ecg_id``
draws from ``numpy.random.default_rng([seed, ecg_id, k])``.

Insertions (times relative to detected R peaks; all amplitudes in mV, applied to the record's
own signal at its own rate, 100 Hz for the PTB-XL subset):

``premature_wide_beat``
    A ventricular-looking premature beat. Beat ``i`` (random, with at least 1 s before its
    predecessor and 0.6 s after it inside the record) is the template: its QRS-T from R-100 ms
    to R+400 ms, with the straight line joining the two ends subtracted (per lead). The
    template is widened 1.6x in time, inverted and scaled 1.3x, and placed with its R at
    ``r[i-1] + 0.65 * RR`` (coupling interval 65% of the preceding RR). The span from 160 ms
    before the new R to the later of 640 ms after it and 450 ms after the replaced sinus R is
    replaced by a straight baseline between the span's end samples plus the new complex, so the
    sinus beat it pre-empts disappears (compensatory pause). All 12 leads, one event.
``st_shift``
    ST elevation or depression (sign at random, magnitude uniform 0.15-0.30 mV) on three
    consecutive beats: a plateau from R+60 ms to R+320 ms with 40 ms raised-cosine ramps at each
    end. Territory at random: inferior (frontal-plane vector at +90 degrees: I 0, II 0.87x),
    high lateral (vector at -30 degrees: I 0.87x, II 0), anterior (V1-V4 1x) or lateral
    precordial (V4-V6 1x); III, aVR, aVL, aVF follow from I and II (Einthoven/Goldberger), so
    reciprocal changes appear where physics puts them.
``t_inversion``
    T waves inverted on three consecutive beats: over R+140 ms to R+min(440 ms, 0.7 RR) the
    deviation from the straight line joining the window's ends is negated (delta = -2 x
    deviation, tapered by a Tukey window of alpha 0.3). Territory: among inferior (II),
    lateral (I, V5, V6) and anterior (V2-V4) the one chosen at random among those whose mean
    T amplitude over the three beats is at least 0.1 mV (else the largest); limb leads derived.
``emg_burst``
    A muscle/electrode artefact: Gaussian white noise band-passed 15-45 Hz (4th-order
    Butterworth, capped at 0.45 fs), scaled to 0.10 mV RMS, under a Tukey (alpha 0.3)
    envelope of 0.8 s starting uniformly in [1, duration - 1.8] s, on one electrode chosen at
    random among RA, LA, LL, V1-V6: a limb electrode enters I/II (and so all limb leads) and
    every V lead through Wilson's terminal (-1/3); a chest electrode enters its own V lead.

Point labels: within each event span, a lead is labelled positive over the whole span when the
insertion changed it by at least 0.1 mV (one small paper square) somewhere in the span
(``LABEL_MV``); everything else is negative. Detection AUROC compares each modified ECG with the unmodified originals.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import signal as sps

from ecgviewer.record import STANDARD_LEADS, Record
from ecgviewer.signal.rpeaks import detect_r_peaks

log = logging.getLogger(__name__)

#: A lead counts as changed within an event span when |delta| reaches this (mV).
LABEL_MV = 0.1
_ROW = {name: i for i, name in enumerate(STANDARD_LEADS)}
Span = tuple[int, int]


@dataclass
class Insertion:
    """One modified ECG: the new signal (STANDARD_LEADS order) and its point labels."""

    kind: str
    signal: np.ndarray  # (12, n) mV
    labels: np.ndarray  # (12, n) bool
    spans: list[Span]
    detail: dict[str, Any]


def _derive_limb(delta: np.ndarray) -> np.ndarray:
    """Set the III/aVR/aVL/aVF rows of a delta from its I and II rows (Einthoven/Goldberger)."""
    d1, d2 = delta[_ROW["I"]], delta[_ROW["II"]]
    delta[_ROW["III"]] = d2 - d1
    delta[_ROW["aVR"]] = -(d1 + d2) / 2
    delta[_ROW["aVL"]] = d1 - d2 / 2
    delta[_ROW["aVF"]] = d2 - d1 / 2
    return delta


def _raised_cosine_plateau(n: int, ramp: int) -> np.ndarray:
    w = np.ones(n)
    ramp = min(ramp, n // 2)
    if ramp > 0:
        up = 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)
        w[:ramp] = up
        w[n - ramp :] = up[::-1]
    return w


def _s(seconds: float, fs: float) -> int:
    return int(round(seconds * fs))


def premature_wide_beat(
    x: np.ndarray, fs: float, r: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, list[Span], dict[str, Any]]:
    n = x.shape[1]
    ok = [i for i in range(1, len(r)) if r[i - 1] >= _s(1.0, fs) and r[i] + _s(0.6, fs) < n]
    if not ok:
        raise ValueError("no beat with room for a premature beat")
    i = int(rng.choice(ok))
    rr = r[i] - r[i - 1]
    a0, b0 = r[i] - _s(0.10, fs), r[i] + _s(0.40, fs)
    tmpl = x[:, a0 : b0 + 1].astype(np.float64)
    line = np.linspace(tmpl[:, :1], tmpl[:, -1:], tmpl.shape[1], axis=1)[..., 0]
    tmpl = tmpl - line
    stretch, gain = 1.6, -1.3
    r_new = r[i - 1] + int(round(0.65 * rr))
    a = r_new - _s(0.10 * stretch, fs)
    end_complex = r_new + _s(0.40 * stretch, fs)
    b = min(n - 1, max(end_complex, r[i] + _s(0.45, fs)))
    t_src = (np.arange(a0, b0 + 1) - r[i]) / fs
    t_new = (np.arange(a, b) - r_new) / fs / stretch
    new = np.zeros((x.shape[0], b - a))
    for row in range(x.shape[0]):
        new[row] = gain * np.interp(t_new, t_src, tmpl[row], left=0.0, right=0.0)
    base = np.linspace(x[:, a - 1], x[:, b], b - a + 2, axis=1)[:, 1:-1]
    delta = np.zeros_like(x, dtype=np.float64)
    delta[:, a:b] = base + new - x[:, a:b]
    return (
        delta,
        [(int(a), int(b))],
        {"beat": i, "r_new_s": round(float(r_new / fs), 3), "coupling": 0.65, "stretch": stretch},
    )


_ST_TERRITORIES = {
    "inferior": {"I": 0.0, "II": 0.866},
    "high_lateral": {"I": 0.866, "II": 0.0},
    "anterior": {"V1": 1.0, "V2": 1.0, "V3": 1.0, "V4": 1.0},
    "lateral_precordial": {"V4": 1.0, "V5": 1.0, "V6": 1.0},
}


def _three_beats(
    r: np.ndarray, n: int, fs: float, rng: np.random.Generator, after: float
) -> np.ndarray:
    ok = [k for k in range(len(r) - 2) if r[k] >= _s(0.3, fs) and r[k + 2] + _s(after, fs) < n]
    if not ok:
        raise ValueError("fewer than three beats with room after them")
    k = int(rng.choice(ok))
    return r[k : k + 3]


def st_shift(
    x: np.ndarray, fs: float, r: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, list[Span], dict[str, Any]]:
    beats = _three_beats(r, x.shape[1], fs, rng, 0.35)
    territory = str(rng.choice(list(_ST_TERRITORIES)))
    mag = float(rng.uniform(0.15, 0.30)) * float(rng.choice([-1.0, 1.0]))
    delta = np.zeros_like(x, dtype=np.float64)
    spans = []
    for rp in beats:
        a, b = rp + _s(0.06, fs), rp + _s(0.32, fs)
        shape = _raised_cosine_plateau(b - a, _s(0.04, fs))
        for lead, weight in _ST_TERRITORIES[territory].items():
            delta[_ROW[lead], a:b] += mag * weight * shape
        spans.append((int(a), int(b)))
    _derive_limb(delta)
    return delta, spans, {"territory": territory, "shift_mv": round(mag, 4)}


_T_TERRITORIES = {"inferior": ("II",), "lateral": ("I", "V5", "V6"), "anterior": ("V2", "V3", "V4")}


def t_inversion(
    x: np.ndarray, fs: float, r: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, list[Span], dict[str, Any]]:
    beats = _three_beats(r, x.shape[1], fs, rng, 0.45)
    rr = float(np.median(np.diff(r))) if len(r) > 1 else fs
    windows = [(rp + _s(0.14, fs), rp + min(_s(0.44, fs), int(0.7 * rr))) for rp in beats]
    deviation = {}
    for territory, leads in _T_TERRITORIES.items():
        amps = []
        for lead in leads:
            for a, b in windows:
                seg = x[_ROW[lead], a : b + 1].astype(np.float64)
                dev = seg - np.linspace(seg[0], seg[-1], len(seg))
                amps.append(dev.max())
        deviation[territory] = float(np.mean(amps))
    eligible = [t for t, amp in deviation.items() if amp >= 0.1]
    territory = str(rng.choice(eligible)) if eligible else max(deviation, key=deviation.__getitem__)
    delta = np.zeros_like(x, dtype=np.float64)
    for a, b in windows:
        taper = sps.windows.tukey(b - a + 1, 0.3)
        for lead in _T_TERRITORIES[territory]:
            seg = x[_ROW[lead], a : b + 1].astype(np.float64)
            dev = seg - np.linspace(seg[0], seg[-1], len(seg))
            delta[_ROW[lead], a : b + 1] = -2.0 * dev * taper
    _derive_limb(delta)
    return (
        delta,
        [(int(a), int(b) + 1) for a, b in windows],
        {"territory": territory, "t_amplitude_mv": round(deviation[territory], 4)},
    )


_ELECTRODES = ("RA", "LA", "LL", "V1", "V2", "V3", "V4", "V5", "V6")


def emg_burst(
    x: np.ndarray, fs: float, r: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, list[Span], dict[str, Any]]:
    n = x.shape[1]
    dur = _s(0.8, fs)
    start = _s(float(rng.uniform(1.0, n / fs - 1.8)), fs)
    electrode = str(rng.choice(_ELECTRODES))
    hi = min(45.0, 0.45 * fs)
    sos = sps.butter(4, (15.0, hi), btype="bandpass", fs=fs, output="sos")
    noise = sps.sosfiltfilt(sos, rng.standard_normal(dur + _s(1.0, fs)))[
        _s(0.5, fs) : _s(0.5, fs) + dur
    ]
    noise = noise / noise.std() * 0.10 * sps.windows.tukey(dur, 0.3)
    delta = np.zeros_like(x, dtype=np.float64)
    sl = slice(start, start + dur)
    if electrode in ("RA", "LA", "LL"):
        # Lead I = LA - RA, II = LL - RA; V leads see the Wilson terminal (RA + LA + LL) / 3.
        delta[_ROW["I"], sl] = {"RA": -1, "LA": 1, "LL": 0}[electrode] * noise
        delta[_ROW["II"], sl] = {"RA": -1, "LA": 0, "LL": 1}[electrode] * noise
        for lead in ("V1", "V2", "V3", "V4", "V5", "V6"):
            delta[_ROW[lead], sl] = -noise / 3
    else:
        delta[_ROW[electrode], sl] = noise
    _derive_limb(delta)
    return delta, [(start, start + dur)], {"electrode": electrode, "start_s": round(start / fs, 3)}


#: The insertions, in a fixed order (the index is part of each random seed).
INSERTIONS: dict[str, Callable[..., tuple[np.ndarray, list[Span], dict[str, Any]]]] = {
    "premature_wide_beat": premature_wide_beat,
    "st_shift": st_shift,
    "t_inversion": t_inversion,
    "emg_burst": emg_burst,
}


def standard_array(record: Record) -> np.ndarray:
    """The record's 12 standard leads in STANDARD_LEADS order (mV)."""
    data = record.data()
    return np.stack([data[record.lead_index(name)] for name in STANDARD_LEADS]).astype(np.float64)


def insert(record: Record, kind: str, seed: int, key: int) -> Insertion:
    """Apply insertion ``kind`` to a 12-lead record; deterministic in (seed, key, kind).

    Raises
    ------
    ValueError
        When the record has too few detectable beats for this insertion.
    """
    x = standard_array(record)
    r = detect_r_peaks(x, record.fs)
    if len(r) < 4:
        raise ValueError(f"only {len(r)} R peaks found")
    k = list(INSERTIONS).index(kind)
    rng = np.random.default_rng([seed, key, k])
    delta, spans, detail = INSERTIONS[kind](x, record.fs, np.asarray(r), rng)
    labels = np.zeros(x.shape, bool)
    for a, b in spans:
        changed = np.abs(delta[:, a:b]).max(axis=1) >= LABEL_MV
        labels[changed, a:b] = True
    return Insertion(kind, (x + delta).astype(np.float32), labels, spans, detail)


def as_record(original: Record, ins: Insertion) -> Record:
    """A Record holding the modified signal (STANDARD_LEADS order, same rate and patient)."""
    return replace(
        original,
        signal=ins.signal,
        leads=list(STANDARD_LEADS),
        annotations=[],
        derived_leads=(),
        non_ecg=(),
    )


def run(
    det: Any, root: str, seed: int = 20231008, batch: int = 64, limit: int = 0
) -> dict[str, Any]:
    """Run the benchmark with a Detector on a PTB-XL layout; returns the JSON-able figures.

    Calibration (the single Dice threshold, shared by all insertion kinds): insertions on the
    fold-9 selection-half normals. Figures: insertions on the fold-9 report-half normals.
    """
    from model.data import ptbxl_split
    from model.eval_common import LocalizationPool, _finite, iter_scored
    from model.metrics import auroc

    split = ptbxl_split(root, det.cfg)
    halves = {
        True: [r for r in split.selection if r.normal],
        False: [r for r in split.report if r.normal],
    }
    pools = {kind: LocalizationPool() for kind in INSERTIONS}
    pooled = LocalizationPool()
    original_scores: list[float] = []
    original_by_id: dict[int, float] = {}
    modified_scores: dict[str, list[float]] = {kind: [] for kind in INSERTIONS}
    paired: dict[str, list[bool]] = {kind: [] for kind in INSERTIONS}
    skipped: dict[str, int] = {kind: 0 for kind in INSERTIONS}
    examples: dict[str, dict[str, Any]] = {}
    pending: dict[tuple[int, str], Insertion] = {}
    cache: dict[int, Record] = {}

    def load(case: tuple[Any, str | None]) -> Record:
        from ecgviewer import io

        item, kind = case
        if item.ecg_id not in cache:
            cache.clear()
            rec = io.read(item.path)
            assert isinstance(rec, Record)
            cache[item.ecg_id] = rec
        rec = cache[item.ecg_id]
        if kind is None:
            return rec
        try:
            ins = insert(rec, kind, seed, item.ecg_id)
        except ValueError as exc:
            from ecgviewer.errors import ECGError

            skipped[kind] += 1
            raise ECGError(item.path, f"{kind} not insertable: {exc}") from None
        pending[(item.ecg_id, kind)] = ins
        examples.setdefault(kind, {"ecg_id": item.ecg_id, **ins.detail})
        return as_record(rec, ins)

    for calibration, items in halves.items():
        items = items[:limit] if limit else items
        kinds: list[str | None] = list(INSERTIONS) if calibration else [None, *INSERTIONS]
        cases = [(item, kind) for item in items for kind in kinds]
        desc = "insertions (selection half)" if calibration else "insertions (report half)"
        for (item, kind), _rec, res in iter_scored(det, cases, load, batch=batch, desc=desc):
            ins = pending.pop((item.ecg_id, kind), None) if kind else None
            if not hasattr(res, "anomaly_map"):
                if kind is None and not calibration:
                    original_scores.append(np.nan)
                continue
            if kind is None:
                original_scores.append(res.score)
                original_by_id[item.ecg_id] = res.score
                continue
            assert ins is not None
            if not calibration:
                modified_scores[kind].append(res.score)
                if item.ecg_id in original_by_id:
                    paired[kind].append(res.score > original_by_id[item.ecg_id])
            pools[kind].add(res.anomaly_map, ins.labels, calibration)
            pooled.maps.append(pools[kind].maps[-1])
            pooled.labels.append(pools[kind].labels[-1])
            pooled.calibration.append(calibration)
    overall = pooled.report()
    threshold = overall.get("dice_threshold")
    orig = np.asarray(original_scores, np.float64)
    per_kind = {}
    for kind in INSERTIONS:
        rep = pools[kind].report(threshold=threshold if threshold is not None else float("nan"))
        mod = np.asarray(modified_scores[kind], np.float64)
        both = np.r_[orig, mod]
        labels = np.r_[np.zeros(len(orig), bool), np.ones(len(mod), bool)]
        ok = np.isfinite(both)
        rep["detection_auroc_vs_original"] = _finite(auroc(labels[ok], both[ok]))
        # Paired: how often the modified ECG scores above its own original.
        rep["modified_above_its_original"] = (
            _finite(float(np.mean(paired[kind]))) if paired[kind] else None
        )
        rep["skipped_records"] = skipped[kind]
        rep["example"] = examples.get(kind)
        per_kind[kind] = rep
    return {
        "data": "PTB-XL fold 9 normals: selection half chooses the Dice threshold, report half is measured",
        "seed": seed,
        "label_rule": f"lead labelled over an event span where the insertion changed it by >= {LABEL_MV} mV",
        "n_report_normals": len(orig),
        "all_kinds": overall,
        "per_kind": per_kind,
    }
