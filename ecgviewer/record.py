"""The one in-memory ECG: :class:`Record`, plus :class:`Annotation`, :class:`Patient` and the
lightweight :class:`RecordEntry` used for files that hold many ECGs.

Qt-free and torch-free: readers build it, the viewer draws it, the model scores it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ecgviewer.errors import InvalidSignalError, MissingLeadsError

STANDARD_LEADS: tuple[str, ...] = (
    "I",
    "II",
    "III",
    "aVR",
    "aVL",
    "aVF",
    "V1",
    "V2",
    "V3",
    "V4",
    "V5",
    "V6",
)
#: Start of the text of the annotation a reader gives the 1 mV pulse a cart writes after the
#: ECG (Philips): kept as the cart prints it, never measured or scored
#: (:func:`ecgviewer.signal.calibration.ecg_end`).
CALIBRATION_PULSE_TEXT = "calibration pulse"
#: Samples counted as the pulse's 0 or 1 mV, alike in every lead (mV): a conversion re-rounds
#: the pulse by up to 4 units of 5 uV lead by lead.
CALIBRATION_SAME_MV = 0.025
#: The eight independent leads: III, aVR, aVL and aVF follow from I and II (Einthoven and
#: Goldberger).
INDEPENDENT_LEADS: tuple[str, ...] = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
LIMB_LEADS_DERIVABLE: tuple[str, ...] = ("III", "aVR", "aVL", "aVF")

#: Highest sampling rate we accept; anything above is an absurd header, not an ECG.
MAX_FS = 20_000.0
#: Lowest: below this an ECG cannot be drawn or scored (numerics records are ~1/60 Hz).
MIN_FS = 25.0


def limb_leads_from(lead_i: np.ndarray, lead_ii: np.ndarray) -> dict[str, np.ndarray]:
    """III, aVR, aVL, aVF from I and II (Einthoven/Goldberger): III = II - I,
    aVR = -(I + II)/2, aVL = I - II/2, aVF = II - I/2. The one place these formulas live."""
    return {
        "III": lead_ii - lead_i,
        "aVR": -(lead_i + lead_ii) / 2,
        "aVL": lead_i - lead_ii / 2,
        "aVF": lead_ii - lead_i / 2,
    }


_CANONICAL = {name.lower(): name for name in STANDARD_LEADS}
_ALIASES = {
    "mli": "I",
    "mlii": "II",
    "mliii": "III",
    "avr": "aVR",
    "avl": "aVL",
    "avf": "aVF",
    "d1": "I",
    "d2": "II",
    "d3": "III",
    "di": "I",
    "dii": "II",
    "diii": "III",
}


def _without_reference_suffix(key: str) -> str:
    """``re.sub(r"[\\s\\-]*(ref|-)?$", "", key)`` in linear time: a trailing "ref" and the
    whitespace and dashes before it (that pattern backtracks quadratically on a long run of
    spaces inside a hostile label: 8,000 of them took 1.3 s)."""
    if key.endswith("ref"):
        key = key[:-3]
    end = len(key)
    while end and (key[end - 1] == "-" or key[end - 1].isspace()):
        end -= 1
    return key[:end]


def normalize_lead_name(name: str) -> str:
    """Map a lead label as files write it to the standard name; keep unknown names verbatim.

    Handles case ("avr", "AVR"), prefixes ("ECG II", "Lead V1", "EKG-I"), suffixes ("V1-",
    "II-Ref"), modified leads ("MLII") and Roman/"D" spellings ("DII").
    """
    # Scoring one ECG asks ~24 times for the same few labels: short ones are remembered.
    return _normalized_short(name) if len(name) <= 64 else _normalized(name)


@lru_cache(maxsize=1024)
def _normalized_short(name: str) -> str:
    return _normalized(name)


def _normalized(name: str) -> str:
    raw = name.strip()
    key = raw.lower().replace("_", " ")
    key = re.sub(r"^(ecg|ekg|lead)[\s\-:]*", "", key)
    key = _without_reference_suffix(key).strip(" -")
    key = key.replace(" ", "")
    if key in _CANONICAL:
        return _CANONICAL[key]
    if key in _ALIASES:
        return _ALIASES[key]
    return raw


@dataclass(frozen=True)
class Annotation:
    """A labelled moment or span. ``onset`` and ``duration`` in seconds from the record start."""

    onset: float
    duration: float = 0.0
    text: str = ""
    lead: str | None = None


@dataclass
class Patient:
    """What the file says about the patient; every field optional. ``sex`` is "M" or "F".

    ``name`` as the file writes it, "FAMILY, Given" where the file keeps the parts apart;
    ``birth_date`` as the file gives it. Why both: a printed ECG is matched to its patient by
    name and date of birth, and two ECGs compared side by side must be the same person's."""

    id: str | None = None
    age: float | None = None
    sex: str | None = None
    name: str | None = None
    birth_date: date | None = None

    def identity(self) -> str:
        """One line naming the patient for a header: name, date of birth, id (what is known)."""
        parts = [self.name or ""]
        if self.birth_date is not None:
            parts.append(f"born {self.birth_date.isoformat()}")
        if self.id:
            parts.append(f"ID {self.id}")
        return "   ".join(p for p in parts if p) or "-"


#: Keys of :attr:`CartReading.measurements` (what carts print), with their units.
CART_MEASUREMENT_UNITS: dict[str, str] = {
    "heart_rate": "bpm",
    "rr": "ms",
    "p_duration": "ms",
    "pr": "ms",
    "qrs": "ms",
    "qt": "ms",
    "qtc": "ms",
    "qtcf": "ms",
    "atrial_rate": "bpm",
    "p_axis": "deg",
    "qrs_axis": "deg",
    "t_axis": "deg",
}


@dataclass
class CartReading:
    """What the acquiring cart itself measured and said, kept beside our own analysis.

    ``measurements`` uses the keys of :data:`CART_MEASUREMENT_UNITS` (global intervals in ms,
    axes in degrees, rate in bpm); a file may carry others, kept under their own names.
    ``statements`` is the cart's interpretation, one line each, in the file's order.
    ``median_beats`` (float32 mV, leads x samples at ``median_fs``) holds the cart's
    representative beats when the file stores them, in ``median_leads`` order.
    """

    measurements: dict[str, float] = field(default_factory=dict)
    statements: tuple[str, ...] = ()
    median_beats: np.ndarray | None = None
    median_fs: float | None = None
    median_leads: tuple[str, ...] = ()
    source: str = ""


@runtime_checkable
class PagedSignal(Protocol):
    """A long signal read from disk page by page (e.g. a 24 h EDF), never loaded whole.

    ``sig[leads, a:b]`` returns float32 millivolts for that page; ``np.asarray(sig)`` loads all.
    """

    shape: tuple[int, int]
    dtype: np.dtype[Any]

    def __getitem__(self, key: Any) -> np.ndarray: ...

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray: ...


@dataclass
class Record:
    """One ECG, in millivolts, ready to draw or score.

    Attributes
    ----------
    signal
        float32 mV, shape (n_leads, n_samples): an ndarray, a read-only memmap, or a
        :class:`PagedSignal` for long files.
    fs
        Sampling rate in Hz (one rate for all leads; readers resample odd leads and say so).
    leads
        Lead names, normalised (I, II, ..., V6); unknown names kept verbatim.
    start
        Acquisition start, when the file has it.
    patient
        Patient id, age, sex (optional).
    annotations
        Beat labels, events, notes from the file.
    source, format
        The file it came from and the reader that read it ("wfdb", "edf", ...).
    derived_leads
        Leads computed rather than recorded (e.g. III from I and II).
    non_ecg
        Channels kept but not ECG (blood pressure, respiration, status): never scored.
    device
        Recording device or software, when the file names it.
    notes
        Reader remarks worth showing ("leads resampled from 250 Hz", placeholders spotted).
    cart
        The cart's own measurements, statements and median beats, when the file carries them.
    """

    signal: Any
    fs: float
    leads: list[str]
    start: datetime | None = None
    patient: Patient = field(default_factory=Patient)
    annotations: list[Annotation] = field(default_factory=list)
    source: str | None = None
    format: str = ""
    derived_leads: tuple[str, ...] = ()
    non_ecg: tuple[str, ...] = ()
    device: str | None = None
    notes: tuple[str, ...] = ()
    cart: CartReading | None = None

    def __post_init__(self) -> None:
        if isinstance(self.signal, np.ndarray) and not isinstance(self.signal, np.memmap):
            if self.signal.dtype != np.float32:
                self.signal = np.asarray(self.signal, dtype=np.float32)
            if self.signal.ndim == 2 and not self.signal.flags.c_contiguous:
                # Each lead's samples side by side: readers of interleaved files (WFDB,
                # EDF) hand over a transposed view, and every filter, percentile and
                # comparison along a lead then strides through memory.
                self.signal = np.ascontiguousarray(self.signal)
        shape = tuple(self.signal.shape)
        if len(shape) != 2:
            raise InvalidSignalError(
                self.source, f"signal must be 2-D (leads x samples), got shape {shape}"
            )
        if shape[0] != len(self.leads):
            raise InvalidSignalError(
                self.source, f"{shape[0]} signal rows but {len(self.leads)} lead names"
            )
        if shape[0] == 0 or shape[1] == 0:
            raise InvalidSignalError(self.source, "no samples: the record is empty")
        try:
            fs = float(self.fs)
        except (TypeError, ValueError):
            raise InvalidSignalError(
                self.source, f"sampling rate {self.fs!r} is not a number"
            ) from None
        if not math.isfinite(fs) or not (MIN_FS <= fs <= MAX_FS):
            raise InvalidSignalError(
                self.source,
                f"sampling rate {self.fs!r} Hz is outside the plausible range "
                f"{MIN_FS:g}-{MAX_FS:g} Hz",
            )
        self.fs = fs
        self.leads = [str(name) for name in self.leads]
        # Whole-array checks only where the data is already in memory; paged sources check
        # each page as it is read (a 24 h file must open in under a second).
        if isinstance(self.signal, np.ndarray) and not isinstance(self.signal, np.memmap):
            if not np.isfinite(self.signal).all():
                bad = ~np.isfinite(self.signal)
                lead = self.leads[int(np.argmax(bad.any(axis=1)))]
                raise InvalidSignalError(
                    self.source,
                    f"{int(bad.sum())} samples are NaN or infinite (first in lead {lead})",
                )

    # ------------------------------------------------------------------ properties
    @property
    def n_leads(self) -> int:
        return int(self.signal.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.signal.shape[1])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.n_samples / self.fs

    @property
    def ecg_leads(self) -> list[str]:
        """Lead names that are ECG (not in ``non_ecg``)."""
        return [name for name in self.leads if name not in self.non_ecg]

    def lead_index(self, name: str) -> int:
        """Row of ``name`` in ``signal``; raises :class:`MissingLeadsError` when absent."""
        try:
            return self.leads.index(name)
        except ValueError:
            raise MissingLeadsError(self.source, f"lead {name} is not in this record") from None

    def time_of(self, seconds: float) -> datetime | None:
        """Wall-clock time of an offset, when the start is known."""
        return None if self.start is None else self.start + timedelta(seconds=seconds)

    # ------------------------------------------------------------------ helpers
    def data(self) -> np.ndarray:
        """The whole signal as an in-memory float32 array (loads a paged source)."""
        return np.asarray(self.signal, dtype=np.float32)

    def slice(self, t0: float, t1: float) -> Record:
        """The part between ``t0`` and ``t1`` seconds, as an in-memory Record.

        Times are clipped to the record; annotations are kept (shifted) where they overlap.
        Cheap on paged sources: only that page is read.
        """
        a = max(0, min(self.n_samples, int(round(t0 * self.fs))))
        b = max(a, min(self.n_samples, int(round(t1 * self.fs))))
        if b == a:
            raise InvalidSignalError(self.source, f"empty slice {t0:g}-{t1:g} s")
        page = np.array(self.signal[:, a:b], dtype=np.float32)
        shift = a / self.fs
        end = b / self.fs
        notes = [
            replace(ann, onset=ann.onset - shift)
            for ann in self.annotations
            if ann.onset + ann.duration >= shift and ann.onset <= end
        ]
        start = None if self.start is None else self.start + timedelta(seconds=shift)
        return replace(self, signal=page, start=start, annotations=notes)

    def with_derived_limb_leads(self) -> Record:
        """A copy with III, aVR, aVL, aVF computed from I and II where they are missing.

        The formulas are :func:`limb_leads_from`. Returns ``self`` unchanged when nothing is
        missing or I/II are absent.
        """
        missing = [name for name in LIMB_LEADS_DERIVABLE if name not in self.leads]
        if not missing or "I" not in self.leads or "II" not in self.leads:
            return self
        data = self.data()
        lead_i = data[self.leads.index("I")]
        lead_ii = data[self.leads.index("II")]
        formulas = limb_leads_from(lead_i, lead_ii)
        rows = [data] + [formulas[name][None, :] for name in missing]
        return replace(
            self,
            signal=np.concatenate(rows, axis=0).astype(np.float32),
            leads=list(self.leads) + missing,
            derived_leads=tuple(self.derived_leads) + tuple(missing),
        )

    def summary(self) -> str:
        """Multi-line human-readable description (``ecgad info``)."""
        lines = [
            f"file      {self.source or '<in memory>'}",
            f"format    {self.format or '?'}",
            f"leads     {self.n_leads}: {', '.join(self.leads)}",
            f"rate      {self.fs:g} Hz",
            f"duration  {self.duration:.2f} s ({self.n_samples} samples)",
            f"start     {self.start.isoformat(sep=' ') if self.start else 'unknown'}",
            f"patient   id={self.patient.id or '-'} age={_fmt(self.patient.age)} "
            f"sex={self.patient.sex or '-'}",
        ]
        if self.patient.name or self.patient.birth_date:
            born = self.patient.birth_date.isoformat() if self.patient.birth_date else "-"
            lines.append(f"name      {self.patient.name or '-'} (born {born})")
        if self.device:
            lines.append(f"device    {self.device}")
        if self.derived_leads:
            lines.append(f"derived   {', '.join(self.derived_leads)}")
        if self.non_ecg:
            lines.append(f"non-ECG   {', '.join(self.non_ecg)}")
        lines.append(f"annotations {len(self.annotations)}")
        lines.extend(f"note      {note}" for note in self.notes)
        return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


@dataclass
class RecordEntry:
    """One ECG inside a collection (HDF5 file, database CSV, folder): metadata now, data later.

    ``load()`` reads the Record on demand so a list of thousands opens at once.
    """

    source: str
    key: str
    label: str
    load: Callable[[], Record]
    patient: Patient = field(default_factory=Patient)
    start: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
