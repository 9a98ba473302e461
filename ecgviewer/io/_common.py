"""Checks and conversions every reader shares: readable file, units to mV, lead naming,
the fill some carts write after their median beats, plausible cart values, limb leads
derived from I and II in standard order."""

from __future__ import annotations

import math
import os
from datetime import date, datetime
from pathlib import Path

import numpy as np

from ecgviewer.errors import EmptyFileError, FileAccessError, InvalidSignalError
from ecgviewer.filekind import open_regular, stat_regular
from ecgviewer.record import (
    CALIBRATION_PULSE_TEXT,
    CALIBRATION_SAME_MV,
    STANDARD_LEADS,
    Annotation,
    limb_leads_from,
)

#: Multiplier from a physical unit (as headers spell it, lowercased) to millivolts.
UNIT_TO_MV: dict[str, float] = {
    "mv": 1.0,
    "millivolt": 1.0,
    "millivolts": 1.0,
    "uv": 1e-3,
    "µv": 1e-3,
    "μv": 1e-3,
    "microvolt": 1e-3,
    "microvolts": 1e-3,
    "nv": 1e-6,
    "v": 1e3,
    "volt": 1e3,
    "volts": 1e3,
}


def is_number(text: str) -> bool:
    """Whether ``text`` parses as a float (what a header field or sample token must)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_readable(path: Path) -> None:
    """Raise a clear :class:`FileAccessError`/:class:`EmptyFileError` before any parsing.

    Only regular files pass: a FIFO or device would block the reader (and the worklist) for
    ever, and a symbolic-link loop is named as one rather than called missing.
    """
    st = stat_regular(path)
    if not os.access(path, os.R_OK):
        raise FileAccessError(path, "permission denied: the file cannot be read")
    if st.st_size == 0:
        raise EmptyFileError(path, "the file is empty (0 bytes)")


def head_bytes(path: Path, n: int = 4096) -> bytes:
    """First ``n`` bytes, for sniffing; permission errors become :class:`FileAccessError`."""
    try:
        with open_regular(path) as fh:
            return fh.read(n)
    except OSError as exc:
        raise FileAccessError(path, f"cannot be opened: {exc.strerror or exc}") from None


def unit_scale(unit: str | None) -> float | None:
    """Factor to mV for a unit string, or None when it is not a voltage (mmHg, %, '')."""
    if unit is None:
        return None
    key = unit.strip().lower().replace(" ", "")
    # "µV" written as UTF-8 but read as Latin-1 (EDF headers are ASCII; writers vary).
    key = key.replace("\u00c2\u00b5", "\u00b5").replace("\u00e2\u00b5", "\u00b5")
    return UNIT_TO_MV.get(key)


def ensure_finite(path: Path | str | None, signal: np.ndarray, leads: list[str]) -> None:
    """Raise :class:`InvalidSignalError` naming the first lead with NaN/inf samples."""
    bad = ~np.isfinite(signal)
    if bad.any():
        row = int(np.argmax(bad.any(axis=1)))
        raise InvalidSignalError(
            path, f"{int(bad.sum())} samples are NaN or infinite (first in lead {leads[row]})"
        )


def trim_trailing_fill(beats: np.ndarray, min_run: int = 20) -> np.ndarray:
    """Median beats (leads x samples) without the fill a cart writes after them to complete
    a fixed-size block: a trailing run, at least ``min_run`` samples and 5 % of the block
    long, where every lead holds exactly its last value. Why: Philips Sierra 1.04 exports
    (and their HL7 aECG conversions) hold a 1.2 s block of which a 500 Hz beat fills 600
    samples, the rest 32767 (82 mV once scaled). No recorded beat is exactly constant in all
    of its leads for that long."""
    if beats.ndim != 2 or beats.shape[1] < 2:
        return beats
    varying = np.flatnonzero(~(beats == beats[:, -1:]).all(axis=0))
    if varying.size == 0:
        return beats
    keep = int(varying[-1]) + 1
    run = beats.shape[1] - keep
    return beats[:, :keep] if run >= max(min_run, 0.05 * beats.shape[1]) else beats


def calibration_pulse(
    signal: np.ndarray, fs: float, tol: float = CALIBRATION_SAME_MV
) -> tuple[Annotation, str] | None:
    """The labelled annotation (text :data:`~ecgviewer.record.CALIBRATION_PULSE_TEXT`) and
    the note for the 1 mV square pulse a cart (Philips) writes into every lead alike after
    the ECG: in the last 2 s, at least 50 ms at 1 mV in every lead (two or more), only 0 or
    1 mV from there to the end, within ``tol`` mV (the cart's own export: exactly; a
    conversion re-rounds lead by lead). None when there is none. Readers keep the pulse, as
    the cart prints it; nothing measures or scores it
    (:func:`ecgviewer.signal.calibration.ecg_end`)."""
    x = np.asarray(signal)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 4 or not fs > 0:
        return None
    tail = np.asarray(x[:, -int(min(x.shape[1], 2.0 * fs)) :], dtype=np.float64)
    flat = np.abs(tail) <= tol
    high = np.abs(tail - 1.0) <= tol
    columns = np.flatnonzero(high.all(axis=0))
    if columns.size < max(2, int(0.05 * fs)):
        return None
    first, last = int(columns[0]), int(columns[-1])
    if not (flat | high)[:, first:].all() or not high[:, first : last + 1].all():
        return None
    onset = (x.shape[1] - tail.shape[1] + first) / fs
    label = Annotation(onset, (last - first + 1) / fs, f"{CALIBRATION_PULSE_TEXT} 1 mV")
    return label, f"1 mV calibration pulse at {onset:.2f} s (the cart's, not ECG)"


#: Ranges outside which a cart's value is an export error or a placeholder (a 0 for a wave
#: it did not find), not a measurement: one Philips 1.04 file gives a P duration of 508 ms
#: while its per-lead P durations are 76-92 ms; a "defective ECG" export gives 0 for QTcF and
#: the atrial rate. Axes in degrees, the rest in ms or bpm.
CART_PLAUSIBLE: dict[str, tuple[float, float]] = {
    "heart_rate": (10, 400),
    "rr": (150, 6000),
    "p_duration": (10, 300),
    "pr": (40, 600),
    "qrs": (20, 400),
    "qt": (100, 1000),
    "qtc": (100, 1000),
    "qtcf": (100, 1000),
    "atrial_rate": (10, 600),
    "p_axis": (-180, 360),
    "qrs_axis": (-180, 360),
    "t_axis": (-180, 360),
}


def plausible_cart_value(key: str, value: float, notes: list[str]) -> bool:
    """Whether the cart's ``value`` for ``key`` is a measurement (:data:`CART_PLAUSIBLE`;
    keys it does not list always are); when not, ``notes`` says it is not shown."""
    low, high = CART_PLAUSIBLE.get(key, (-math.inf, math.inf))
    if low <= value <= high:
        return True
    notes.append(f"the cart's {key.replace('_', ' ')} {value:g} is not plausible: not shown")
    return False


def derive_standard_leads(
    signal: np.ndarray, leads: list[str]
) -> tuple[np.ndarray, list[str], tuple[str, ...]]:
    """Add III, aVR, aVL, aVF from I and II where missing and put leads in standard order.

    Returns the new signal, lead names and the names that were derived. Leads outside the
    standard twelve keep their place after them.
    """
    present = dict(zip(leads, signal, strict=True))
    derived: list[str] = []
    if "I" in present and "II" in present:
        for name, values in limb_leads_from(present["I"], present["II"]).items():
            if name not in present:
                present[name] = values
                derived.append(name)
    order = [n for n in STANDARD_LEADS if n in present] + [
        n for n in leads if n not in STANDARD_LEADS
    ]
    out = np.stack([present[n] for n in order]).astype(np.float32)
    return out, order, tuple(derived)


#: What files write where they hold no name (lowercased), beside runs of "x", "-", "?".
_NO_NAME = {"none", "unknown", "n/a", "na", "null"}


#: A patient name longer than this is cut (an aECG with 100,000 <given> parts made one of
#: 200,000 characters, which the comparison's warning then printed whole).
MAX_NAME_CHARS = 120
#: At most this many given/middle names are joined.
MAX_NAME_PARTS = 6


def person_name(family: str | None, *given: str | None) -> str | None:
    """ "FAMILY, Given Middle" from a file's name parts, or None where the file holds none.

    Why here: nine readers split names their own way (MUSE's last/first elements, DICOM's
    ``^``, EDF+'s underscores); the patient header shows them one way."""

    def clean(part: str | None) -> str:
        text = " ".join(printable_name(part).split())
        # Placeholders: "---", "XXXXXX", "?" (what anonymising exports write).
        return "" if text.lower() in _NO_NAME or not text.strip("xX*?-., ") else text

    last = clean(family)
    rest = " ".join(p for p in (clean(g) for g in given[:MAX_NAME_PARTS]) if p)
    name = (f"{last}, {rest}" if last and rest else last or rest)[:MAX_NAME_CHARS].strip()
    return name or None


def printable_name(text: str | None) -> str:
    """``text`` without control characters (a hostile name must not break a header line)."""
    return "".join(ch if ch.isprintable() else " " for ch in (text or ""))[:200]


def birth_date(value: date | None, start: datetime | None = None) -> date | None:
    """``value`` where it can be a date of birth: after 1850 and not after the recording
    (or today, where the recording's date is unknown); else None (placeholders such as
    1900-01-01 are kept: they are what the file says)."""
    if value is None:
        return None
    latest = start.date() if start is not None else date.today()
    return value if date(1850, 1, 1) <= value <= latest else None


def parse_date(text: str | None, *formats: str) -> date | None:
    """The first of ``formats`` (strptime) that reads ``text``, as a date; else None."""
    text = (text or "").strip()
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None
