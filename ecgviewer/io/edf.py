"""EDF, EDF+ (continuous and discontinuous) and BDF/BDF+ files.

pyedflib (edflib) checks that EDF, EDF+C and BDF files are compliant; the header, samples and
EDF+ annotations are read by :mod:`ecgviewer.io._edf_raw` (a memory map of the data
records), which pages naturally and is much faster than edflib's record-by-record reads and
its annotation pass (0.25-0.7 s for a 24 h file, against ~0.05 s). edflib refuses EDF+D files
outright, so those are checked by ``_edf_raw`` alone. The tests compare every sample and
annotation with what pyedflib reads.

Decisions, so the viewer and the model always get one Record shape:

* **One rate.** Every kept channel is resampled (scipy ``resample_poly``) to the highest
  sampling rate among the ECG channels; a note names the channels that were resampled. Mixed
  rates are rare in ECG files (usually a slow respiration or status channel beside the leads).
* **Units.** Voltage channels are converted to mV from their physical dimension (uV, mV, V).
  A channel whose dimension is not a voltage (mmHg, %, Boolean) is kept unchanged and listed in
  ``Record.non_ecg``; so are voltage channels whose label is an EEG electrode or a sensor
  (see :func:`ecgviewer.io._channels.classify_channels`). A file left with no ECG channel
  raises :class:`NoECGChannelsError` naming the channels it has (``require_ecg=False`` opens
  it anyway, every channel marked non-ECG).
* **EDF+D.** Data records are placed at their own onsets; the time between them is filled
  with 0 mV and marked with one "signal gap" annotation each, so the time axis stays wall-clock
  time and the EDF+ annotations (which count from the file start) land where they belong.
* **Long files are paged.** Up to :data:`WHOLE_LOAD_VALUES` output samples are read at once;
  longer files get an :class:`EdfPagedSignal` that maps the file for each page and reads only
  that page's data records. No handle outlives a page, so worker threads can read safely, and
  a page notices when the file changed on disk since it was opened.
* **Patient.** EDF+ subfields (code, sex, birthdate -> age at the start date), also in a
  plain EDF whose field is laid out that way. Otherwise plain EDF's free-text field is taken
  as the id unless it only holds placeholders ("X", "dd-MMM-yyyy"). EDF+ "Startdate X" means
  the start time is unknown.

The file is only ever opened for reading.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyedflib

from ecgviewer.errors import (
    CorruptFileError,
    ECGError,
    EmptyFileError,
    FileAccessError,
    InvalidSignalError,
    NoECGChannelsError,
)
from ecgviewer.io import _edf_raw
from ecgviewer.io._channels import (
    classify_channels,
    gap_annotations,
    rate_ratio,
    resample,
    unique_names,
)
from ecgviewer.io._common import birth_date, check_readable, person_name, unit_scale
from ecgviewer.io._paged import PagedSignalBase
from ecgviewer.record import (
    MAX_FS,
    STANDARD_LEADS,
    Annotation,
    Patient,
    Record,
    normalize_lead_name,
)

log = logging.getLogger(__name__)

#: Files with at most this many output samples (all channels) are read whole; longer ones are
#: paged. 4 M float32 values = 16 MB, e.g. 12 leads x 5.5 min at 1 kHz.
WHOLE_LOAD_VALUES = 4_000_000

#: Longest wall-clock span an EDF+D file may cover (gaps included): beyond it the record time
#: stamps are damage, not a recording.
MAX_SPAN_S = 366 * 86400.0

# edflib keeps a global table of open files without locking.
_EDFLIB_LOCK = threading.Lock()

#: Units of channels that are known not to be voltages (no note needed for them).
_KNOWN_OTHER_UNITS = {
    "mmhg",
    "%",
    "bpm",
    "boolean",
    "degc",
    "degf",
    "l/min",
    "ml",
    "cmh2o",
    "ohm",
    "kohm",
    "g",
    "mg",
    "lpm",
    "rpm",
    "s",
    "ms",
    "hz",
}

_PLACEHOLDERS = {"x", "dd-mmm-yyyy", "-", "?", "??", "unknown", "n/a", "na"}


# ---------------------------------------------------------------------------- layout
@dataclass
class _Channel:
    sig: int  # signal number in the raw header (annotation signals included)
    fs: float
    scale: float  # physical -> output units (mV for voltages, 1 otherwise)
    up: int = 1  # resampling to the record rate
    down: int = 1


@dataclass
class _EdfLayout:
    """Everything needed to read any page of the chosen channels, without an open handle."""

    header: _edf_raw.EdfHeader
    channels: list[_Channel]
    fs: float
    n_out: int
    # (onset s, first data record, number of records) of each contiguous run of records
    segments: list[tuple[float, int, int]]
    stat: tuple[int, int]

    @property
    def path(self) -> Path:
        return self.header.path

    def read_page(self, rows: list[int], a: int, b: int) -> np.ndarray:
        """float32 page ``[rows, a:b]`` at the record rate (checked by :class:`EdfPagedSignal`)."""
        page = np.empty((len(rows), b - a), dtype=np.float32)
        try:
            table = _edf_raw.records(self.header)
        except OSError as exc:
            raise FileAccessError(self.path, f"can no longer be read: {exc}") from None
        try:
            for k, row in enumerate(rows):
                page[k] = self._channel_out(table, self.channels[row], a, b)
        finally:
            del table
        return page

    def _span(self, table: np.ndarray, ch: _Channel, a: int, b: int) -> np.ndarray:
        """Samples ``a:b`` of one channel at its own rate on the wall-clock timeline; zeros
        before the start, after the end and in EDF+D gaps."""
        out = np.zeros(b - a, dtype=np.float64)
        spr = self.header.spr[ch.sig]
        for onset, first, count in self.segments:
            seg_start = int(round(onset * ch.fs))
            lo = max(a, seg_start)
            hi = min(b, seg_start + count * spr)
            if hi > lo:
                pos = first * spr + (lo - seg_start)
                out[lo - a : hi - a] = _edf_raw.read_physical(
                    self.header, table, ch.sig, pos, pos + hi - lo
                )
        return out

    def _channel_out(self, table: np.ndarray, ch: _Channel, a: int, b: int) -> np.ndarray:
        if ch.up == ch.down:
            return self._span(table, ch, a, b) * ch.scale
        # Read the matching stretch at the channel's rate plus a margin for the FIR, starting
        # on a multiple of ``down`` so output samples line up with a whole-file resample.
        margin = 20 * max(ch.up, ch.down) // ch.up + 8
        c0 = (a * ch.down // ch.up - margin) // ch.down * ch.down
        c1 = -(-b * ch.down // ch.up) + margin
        y = resample(self._span(table, ch, c0, c1), ch.up, ch.down)
        shift = c0 * ch.up // ch.down
        return y[a - shift : b - shift] * ch.scale


class EdfPagedSignal(PagedSignalBase):
    """A long EDF signal that reads each page from disk on demand (float32, mV).

    Indexing and checks come from :class:`~ecgviewer.io._paged.PagedSignalBase`.
    """

    def __init__(self, layout: _EdfLayout) -> None:
        self._layout = layout
        self._path = layout.path
        self._stamp = layout.stat
        self.shape = (len(layout.channels), layout.n_out)

    def _read_page(self, rows: list[int], a: int, b: int) -> np.ndarray:
        return self._layout.read_page(rows, a, b)


# ---------------------------------------------------------------------------- reading
@dataclass
class _Described:
    """What the file says, whichever library read it."""

    start: datetime | None
    annotations: list[tuple[float, float, str]]
    segments: list[tuple[float, int, int]]


def _describe_with_pyedflib(path: Path, hdr: _edf_raw.EdfHeader) -> _Described:
    """EDF, EDF+C, BDF: edflib checks the file is compliant (without its slow annotation
    pass); annotations come from the vectorised TAL scan."""
    with _EDFLIB_LOCK:
        try:
            rd = pyedflib.EdfReader(
                str(path), pyedflib.DO_NOT_READ_ANNOTATIONS, pyedflib.CHECK_FILE_SIZE
            )
        except OSError as exc:
            raise _map_pyedflib_error(path, exc) from None
        try:
            # edflib counts an "EDF Annotations" signal as data in a plain EDF (pyedflib's
            # own legacy test file has one); we drop it either way.
            counted = hdr.data_signals if hdr.is_plus else hdr.labels
            if rd.signals_in_file != len(counted):
                raise CorruptFileError(path, "EDF signal count disagrees between readers")
        finally:
            rd.close()
    return _describe_raw(hdr)


def _refused_by_edflib(path: Path, hdr: _edf_raw.EdfHeader) -> str | None:
    """What in the header edflib refuses though its values are plain, or None: a byte
    outside ASCII ("µV", "°C" in Latin-1; the 8-byte version field is not looked at, a BDF's
    is 0xFF "BIOSEMI" by definition), or a number of the fixed header (header bytes, records,
    duration, signals) that starts with a space (MNE's BioSemi test.bdf has "  1     ";
    edflib: "Number of Datarecords")."""
    with open(path, "rb") as fh:
        raw = fh.read(hdr.header_bytes)
    if any(b > 126 for b in raw[8:]):
        return "header has non-ASCII (Latin-1) characters"
    fields = (raw[184:192], raw[236:244], raw[244:252], raw[252:256])
    if any(f[:1] == b" " and f.strip() for f in fields):
        return "header numbers padded with leading spaces"
    return None


def _describe_raw(hdr: _edf_raw.EdfHeader) -> _Described:
    """EDF/EDF+C described by the raw reader alone (edflib only checks, or would refuse the
    header). Onsets count from the first data record (as edflib does); the start time gains
    its sub-second part from that record's time stamp. (pyedflib's getStartdatetime() scales
    the sub-second part wrongly: 100 ns units read as microseconds.)"""
    notes: list[tuple[float, float, str]] = []
    first = 0.0
    if hdr.is_plus and hdr.annotation_signals:
        _, notes = _edf_raw.read_tals(hdr, record_onsets=False)
        first = _edf_raw.first_onset(hdr)
    start = hdr.start()
    if start is not None:
        start += timedelta(seconds=first)
    return _Described(start, [(o - first, d, t) for o, d, t in notes], [(0.0, 0, hdr.n_records)])


def _describe_discontinuous(hdr: _edf_raw.EdfHeader) -> _Described:
    rec_onsets, notes = _edf_raw.read_tals(hdr)
    assert rec_onsets is not None
    first = float(rec_onsets[0]) if len(rec_onsets) else 0.0
    start = hdr.start()
    if start is not None:
        start += timedelta(seconds=first)
    notes = [(o - first, d, t) for o, d, t in notes]
    return _Described(start, notes, _segments(hdr.path, rec_onsets - first, hdr.record_duration))


def _map_pyedflib_error(path: Path, exc: OSError) -> ECGError:
    text = str(exc).strip().rstrip(".")
    text = text.replace(str(path) + ": ", "")
    low = text.lower()
    if "filesize" in low or "file size" in low or "number of data" in low:
        return CorruptFileError(
            path, f"EDF data is truncated or longer than the header says ({text})"
        )
    return CorruptFileError(path, f"not a valid EDF/EDF+/BDF file ({text})")


def read(path: str | os.PathLike[str], **opts: Any) -> Record:
    """Read an EDF, EDF+ or BDF file into a :class:`Record` (paged when long).

    Parameters
    ----------
    path
        The ``.edf``/``.bdf``/``.rec`` file.
    **opts
        ``whole_load_values`` overrides :data:`WHOLE_LOAD_VALUES` (tests, benchmarks);
        ``require_ecg=False`` opens a file without ECG channels (all channels in ``non_ecg``)
        instead of raising :class:`NoECGChannelsError`.

    Raises
    ------
    ECGError
        Truncated or malformed file, no ECG channel, implausible rates.
    """
    p = Path(path)
    check_readable(p)
    st = os.stat(p)
    hdr = _edf_raw.read_header(p, st.st_size)
    sigs = hdr.data_signals
    if not sigs:
        raise NoECGChannelsError(p, "the file holds annotations only, no signals")
    if hdr.n_records == 0:
        raise EmptyFileError(p, "the EDF file has a header but no data records")
    notes: list[str] = []
    if hdr.is_discontinuous:
        described = _describe_discontinuous(hdr)
    elif (refused := _refused_by_edflib(p, hdr)) is not None:
        # The raw reader takes the fields as they are and checks sizes itself.
        described = _describe_raw(hdr)
        notes.append(f"{refused}, which EDF does not allow: read without edflib's compliance check")
    else:
        described = _describe_with_pyedflib(p, hdr)

    labels = [hdr.labels[i] for i in sigs]
    dims = [hdr.dims[i] for i in sigs]
    rates = [hdr.spr[i] / hdr.record_duration for i in sigs]
    scales: list[float] = []
    voltage: list[bool] = []
    for label, dim in zip(labels, dims, strict=True):
        factor = unit_scale(dim)
        if factor is None and dim == "" and normalize_lead_name(label) in STANDARD_LEADS:
            factor = 1.0
            notes.append(f"{label}: no physical dimension in the file, taken as mV")
        voltage.append(factor is not None)
        scales.append(1.0 if factor is None else factor)
    unknown = [
        f"{lab} ({dim})"
        for lab, dim in zip(labels, dims, strict=True)
        if dim and unit_scale(dim) is None and dim.lower() not in _KNOWN_OTHER_UNITS
    ]
    if unknown:
        notes.append(
            "unit not a voltage, channel kept unscaled and not scored: "
            + ", ".join(unknown[:10])
            + (", ..." if len(unknown) > 10 else "")
        )
    is_ecg = classify_channels(labels, voltage)
    rate_from = is_ecg
    if not any(is_ecg):
        if opts.get("require_ecg", True):
            found = ", ".join(
                f"{lab} ({dim or 'no unit'})" for lab, dim in zip(labels, dims, strict=True)
            )
            if len(found) > 300:
                found = found[:300].rsplit(",", 1)[0] + ", ..."
            raise NoECGChannelsError(p, f"no ECG channel among {len(sigs)} signals: {found}")
        rate_from = voltage if any(voltage) else [True] * len(sigs)
    for label, fs in zip(labels, rates, strict=True):
        if not (0 < fs <= MAX_FS):
            raise InvalidSignalError(p, f"channel {label} has an implausible rate {fs:g} Hz")
    fs_out = max(fs for fs, use in zip(rates, rate_from, strict=True) if use)

    segments = described.segments
    last_onset, _, last_count = segments[-1]
    n_out = int(round((last_onset + last_count * hdr.record_duration) * fs_out))
    channels = []
    resampled = []
    for k, sig in enumerate(sigs):
        up, down = rate_ratio(fs_out, rates[k])
        if up != down:
            resampled.append(f"{labels[k]} ({rates[k]:g} Hz)")
        channels.append(_Channel(sig, rates[k], scales[k], up, down))
    if resampled:
        notes.append(f"resampled to {fs_out:g} Hz: {', '.join(resampled)}")
    layout = _EdfLayout(hdr, channels, fs_out, n_out, segments, (st.st_size, st.st_mtime_ns))
    signal: Any = EdfPagedSignal(layout)
    if len(sigs) * n_out <= int(opts.get("whole_load_values", WHOLE_LOAD_VALUES)):
        signal = np.asarray(EdfPagedSignal(layout))

    names = unique_names(
        [normalize_lead_name(lab) if e else lab for lab, e in zip(labels, is_ecg, strict=True)]
    )
    annotations = [
        Annotation(o, d, t.replace("\x00", "").strip()) for o, d, t in described.annotations
    ]
    if len(segments) > 1:
        gaps = []
        for (on0, _, n0), (on1, _, _) in zip(segments, segments[1:], strict=False):
            gaps.append(
                (int(round((on0 + n0 * hdr.record_duration) * fs_out)), int(round(on1 * fs_out)))
            )
        annotations += gap_annotations(gaps, fs_out, None)
        notes.append(
            f"EDF+D: {len(gaps)} gap(s) between data records, "
            f"{sum(b - a for a, b in gaps) / fs_out:g} s in all, drawn as 0 mV"
        )
    annotations.sort(key=lambda ann: ann.onset)

    patient, start, device, more = _metadata(hdr, described.start)
    notes.extend(more)
    return Record(
        signal=signal,
        fs=fs_out,
        leads=names,
        start=start,
        patient=patient,
        annotations=annotations,
        source=str(p),
        format="bdf" if hdr.is_bdf else ("edf+" if hdr.is_plus else "edf"),
        non_ecg=tuple(n for n, e in zip(names, is_ecg, strict=True) if not e),
        device=device,
        notes=tuple(notes),
    )


def _segments(path: Path, rec_onsets: np.ndarray, duration: float) -> list[tuple[float, int, int]]:
    """Group data records into contiguous runs: ``(onset s, first record, count)``."""
    if not np.isfinite(rec_onsets).all():
        raise CorruptFileError(path, "EDF+D data record time stamps are not numbers")
    span = float(rec_onsets[-1]) + duration if len(rec_onsets) else 0.0
    if span > MAX_SPAN_S:
        raise CorruptFileError(
            path, f"EDF+D data records span {span / 86400:.0f} days: the time stamps are damaged"
        )
    step = np.diff(rec_onsets)
    tol = 1e-6 + 1e-9 * duration
    if (step < duration - tol).any():
        r = int(np.argmax(step < duration - tol)) + 1
        raise CorruptFileError(path, f"EDF+D data record {r} starts before the previous one ends")
    breaks = np.flatnonzero(step > duration + tol) + 1
    firsts = np.concatenate(([0], breaks)).astype(int)
    lasts = np.concatenate((breaks, [len(rec_onsets)])).astype(int)
    return [(float(rec_onsets[f]), int(f), int(e - f)) for f, e in zip(firsts, lasts, strict=True)]


def _metadata(
    hdr: _edf_raw.EdfHeader, start: datetime | None
) -> tuple[Patient, datetime | None, str | None, list[str]]:
    """Patient, start, device and notes from the raw header fields."""
    notes: list[str] = []
    device = None
    patient = Patient()
    if hdr.is_plus:
        ptoks = hdr.patient.split()
        rtoks = hdr.recording.split()
        if len(rtoks) >= 2 and rtoks[0] == "Startdate" and rtoks[1].upper() == "X":
            start = None
            notes.append("start date not recorded (EDF+ 'Startdate X')")
        if len(rtoks) >= 5 and rtoks[4].lower() not in _PLACEHOLDERS:
            device = rtoks[4].replace("_", " ")
        patient = _plus_patient(ptoks, start)
    else:
        text = hdr.patient.strip()
        tokens = text.split()
        if tokens and all(t.lower() in _PLACEHOLDERS for t in tokens):
            notes.append(f"patient field holds only placeholders ({text!r})")
        elif _plus_style(tokens):
            # Many plain-EDF writers (EEG and Holter exports) fill the field the EDF+ way.
            patient = _plus_patient(tokens, start)
        elif text:
            patient = Patient(id=text)
    return patient, start, device, notes


def _plus_style(tokens: list[str]) -> bool:
    """A plain EDF patient field laid out as EDF+'s subfields: code, sex, birthdate."""
    return (
        len(tokens) >= 3
        and tokens[1].upper() in ("M", "F", "X")
        and (tokens[2].upper() == "X" or _parse_edf_date(tokens[2]) is not None)
    )


def _plus_patient(tokens: list[str], start: datetime | None) -> Patient:
    """The patient of EDF+ subfields (code, sex, birthdate, name; what follows unused).

    The name subfield writes spaces as "_"; EDF+ gives no family/given split, so it is
    shown as written ("Smith,_John" reads "Smith, John")."""
    code = tokens[0] if tokens else "X"
    sex = tokens[1].upper() if len(tokens) > 1 else "X"
    birth = _parse_edf_date(tokens[2]) if len(tokens) > 2 else None
    name = tokens[3].replace("_", " ").replace(",", ", ") if len(tokens) > 3 else None
    return Patient(
        id=None if code.lower() in _PLACEHOLDERS else code.replace("_", " "),
        sex=sex if sex in ("M", "F") else None,
        age=_age(birth, start),
        name=person_name(name) if name is None or name.lower() not in _PLACEHOLDERS else None,
        birth_date=birth_date(birth, start),
    )


def _parse_edf_date(token: str) -> date | None:
    if not re.fullmatch(r"\d{1,2}-[A-Za-z]{3}-\d{4}", token):
        return None
    try:
        return datetime.strptime(token, "%d-%b-%Y").date()
    except ValueError:
        return None


def _age(birth: date | None, start: datetime | None) -> float | None:
    """Whole years between birth and the recording (None when either is unknown)."""
    if birth is None or start is None:
        return None
    day = start.date()
    years = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
    return float(years) if 0 <= years < 150 else None
