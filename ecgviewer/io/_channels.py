"""Channel bookkeeping shared by the multi-channel readers (WFDB, EDF): which channels are ECG,
unique lead names, one common sampling rate, and gap annotations.

Kept apart from ``_common`` because only readers of physiological multi-signal files (WFDB,
EDF) need it; single-purpose ECG formats (aECG, arrays) have ECG leads only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache

import numpy as np

from ecgviewer.record import STANDARD_LEADS, Annotation, normalize_lead_name

#: Text of the annotation that marks samples the file does not have (filled with 0 mV).
GAP_TEXT = "signal gap (no data; drawn as 0)"

# Labels of channels that are recognisably not ECG even when they are in volts: EEG electrode
# names of the 10-20/10-10 systems and BioSemi caps, and other physiological sensors (UC and
# TOCO: a CTG's uterine contraction channel, recorded beside the fetal ECG).
_EEG_ELECTRODE = re.compile(
    r"^(eeg[\s\-_]*)?(fp|af|f|fc|ft|c|cp|tp|t|p|po|o|a|m|i|n|nz|iz)(z|\d{1,2})"
    r"([\s\-_]*(ref|a1|a2|m1|m2|le|re|avg|cz|\w{1,3}\d?)?)$",
    re.IGNORECASE,
)
_BIOSEMI = re.compile(r"^[a-i]\d{1,2}$", re.IGNORECASE)
_NON_ECG_WORDS = re.compile(
    r"(eeg|eog|emg|resp|status|trig|event|marker|spo2|sao2|sat|pleth|pulse|temp|position|"
    r"light|snore|flow|thor|abd|ergo|accel|acc|gyro|eda|gsr|bp|abp|pap|cvp|art|co2|nbp|"
    r"hr\b|bpm|ppg|sound|mic|audio|imped|toco|\buc\b|"
    # Intracardiac electrograms of an EP lab (ablation, coronary sinus and His catheters,
    # right atrium and ventricle pairs): "ABL D/P", "CS 9-10", "HIS M", "RV 1-2".
    r"^abl\b|^(?:cs|rv|rva|hra|lra|lv)\s*\d{1,2}\s*[-,/]\s*\d{1,2}$|^his\b|^hra\b|\begm\b)",
    re.IGNORECASE,
)
_ECG_WORDS = re.compile(r"(ecg|ekg|mcl|^ml|^cm\d|^v[xyz]$|^[xyz]$|^v$)", re.IGNORECASE)


def looks_like_ecg(label: str) -> bool:
    """True for labels that name an ECG lead: standard leads, "ECG ..." channels, MCL1, Frank
    leads (vx/vy/vz)."""
    if normalize_lead_name(label) in STANDARD_LEADS:
        return True
    return bool(_ECG_WORDS.search(label.strip()))


def looks_like_other(label: str) -> bool:
    """True for labels of channels that are certainly not ECG (EEG electrodes, sensors)."""
    text = label.strip()
    if looks_like_ecg(text):
        return False
    return bool(_EEG_ELECTRODE.match(text) or _BIOSEMI.match(text) or _NON_ECG_WORDS.search(text))


def classify_channels(labels: Sequence[str], voltage: Sequence[bool]) -> list[bool]:
    """Which channels are ECG.

    A channel is ECG when its unit is a voltage and either its label names an ECG lead, or its
    label is not recognisably something else *and* the file holds no recognisable EEG/sensor
    channel. The second rule keeps Holter files that label leads "Chan 1" or "CH2" working,
    while an EEG cap with an odd channel (BioSemi "Ergo-Left") does not pass for an ECG.
    """
    ecg_named = [v and looks_like_ecg(lab) for lab, v in zip(labels, voltage, strict=True)]
    other = [looks_like_other(lab) for lab in labels]
    # A BioSemi cap names electrodes A1..H32: there "D1"/"D2" are electrodes, not the
    # Brazilian spelling of leads I and II.
    biosemi = [bool(_BIOSEMI.match(lab.strip())) for lab in labels]
    if sum(biosemi) >= 8:
        ecg_named = [e and not b for e, b in zip(ecg_named, biosemi, strict=True)]
        other = [o or b for o, b in zip(other, biosemi, strict=True)]
    any_other_voltage = any(o and v for o, v in zip(other, voltage, strict=True))
    result = []
    for named, is_other, volt in zip(ecg_named, other, voltage, strict=True):
        if named:
            result.append(True)
        elif volt and not is_other and not any_other_voltage:
            result.append(True)
        else:
            result.append(False)
    return result


def unique_names(names: Sequence[str]) -> list[str]:
    """Make lead names unique ("II", "II (2)") so ``Record.lead_index`` is unambiguous."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0) + 1
        seen[name] = count
        out.append(name if count == 1 else f"{name} ({count})")
    return out


@lru_cache(maxsize=256)
def rate_ratio(target: float, fs: float) -> tuple[int, int]:
    """``(up, down)`` with ``fs * up / down == target`` as closely as a small fraction allows
    (remembered: a Fraction costs ~30 us, and a reader asks once per channel)."""
    frac = Fraction(target / fs).limit_denominator(1000)
    return frac.numerator, frac.denominator


def resample(x: np.ndarray, up: int, down: int) -> np.ndarray:
    """Polyphase resampling (scipy's anti-aliased FIR), the one resampler the readers use."""
    if up == down:
        return x
    from scipy.signal import resample_poly  # scipy.signal is slow to import; only when needed

    return resample_poly(x, up, down)


def gap_runs(missing: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` sample ranges where the boolean ``missing`` is True."""
    if not missing.any():
        return []
    padded = np.concatenate(([False], missing, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def gap_annotations(
    runs: Sequence[tuple[int, int]], fs: float, lead: str | None
) -> list[Annotation]:
    """One "signal gap" annotation per run of missing samples."""
    return [Annotation(a / fs, (b - a) / fs, GAP_TEXT, lead) for a, b in runs]
