"""EDF, EDF+ (continuous and discontinuous) and BDF/BDF+ files, read with pyedflib.

Decisions, so the viewer and the model always get one Record shape:

* **One rate.** Every kept channel is resampled (scipy ``resample_poly``) to the highest
  sampling rate among the ECG channels; a note names the channels that were resampled. Mixed
  rates are rare in ECG files (usually a slow respiration or status channel next to the leads).
* **Units.** Voltage channels are converted to mV from their physical dimension (uV, mV, V).
  A channel whose dimension is not a voltage (mmHg, %, Boolean) is kept unchanged and listed in
  ``Record.non_ecg``; so are voltage channels whose label is an EEG electrode or a sensor
  (see :func:`ecgviewer.io._channels.classify_channels`). A file left with no ECG channel
  raises :class:`NoECGChannelsError` naming the channels it has.
* **EDF+D.** Data records are placed at their own onsets; the time between them is filled
  with 0 mV and marked with one "signal gap" annotation each, so the time axis stays wall-clock
  time and the EDF+ annotations (which count from the file start) land where they belong.
* **Long files are paged.** Up to :data:`WHOLE_LOAD_VALUES` samples are read at once; longer
  files get an :class:`EdfPagedSignal` that reads only the requested page. It opens the file
  for each page (edflib opens a file in well under a millisecond without annotations) under
  one lock, so no handle outlives a page and worker threads can read safely.
* **Patient.** EDF+ subfields (code, sex, birthdate -> age at the start date). Plain EDF's
  free-text field is taken as the id unless it only holds placeholders ("X",
  "dd-MMM-yyyy"). EDF+ "Startdate X" means the start time is unknown.

The file is only ever opened for reading.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyedflib

from ecgviewer.errors import (
    CorruptFileError,
    ECGError,
    FileAccessError,
    InvalidSignalError,
    NoECGChannelsError,
)
from ecgviewer.io._channels import (
    classify_channels,
    gap_annotations,
    rate_ratio,
    resample,
    unique_names,
)
from ecgviewer.io._common import check_readable, unit_scale
from ecgviewer.record import MAX_FS, Annotation, Patient, Record, normalize_lead_name

log = logging.getLogger(__name__)

#: Files with at most this many output samples (all channels) are read whole; longer ones are
#: paged. 4 M float32 values = 16 MB, e.g. 12 leads x 5.5 min at 1 kHz.
WHOLE_LOAD_VALUES = 4_000_000

# edflib keeps a global table of open files without locking: every open/read/close goes
# through this lock.
_EDFLIB_LOCK = threading.Lock()

_PLACEHOLDERS = {"x", "dd-mmm-yyyy", "-", "?", "??", "unknown", "n/a", "na"}


# ---------------------------------------------------------------------------- raw header
@dataclass
class _RawHeader:
    """The fixed-size main header and the per-signal fields pyedflib does not expose raw."""

    version: bytes
    patient: str
    recording: str
    reserved: str
    header_bytes: int
    n_records: int
    record_duration: float
    labels: list[str]
    samples_per_record: list[int]

    @property
    def is_bdf(self) -> bool:
        return self.version == b"\xffBIOSEMI"

    @property
    def is_plus(self) -> bool:
        return self.reserved.startswith(("EDF+", "BDF+"))

    @property
    def is_discontinuous(self) -> bool:
        return self.reserved.startswith(("EDF+D", "BDF+D"))


def _ascii(raw: bytes) -> str:
    return raw.decode("latin-1").strip()


def _read_raw_header(path: Path) -> _RawHeader:
    try:
        with open(path, "rb") as fh:
            main = fh.read(256)
            if len(main) < 256:
                raise CorruptFileError(path, f"EDF header truncated ({len(main)} of 256 bytes)")
            try:
                n_signals = int(_ascii(main[252:256]))
                header_bytes = int(_ascii(main[184:192]))
                n_records = int(_ascii(main[236:244]))
                record_duration = float(_ascii(main[244:252]))
            except ValueError:
                raise CorruptFileError(
                    path, "EDF header fields (signal count, record count or duration) "
                    "are not numbers"
                ) from None
            if not 0 <= n_signals <= 4096:
                raise CorruptFileError(path, f"EDF header claims {n_signals} signals")
            sig = fh.read(256 * n_signals)
    except PermissionError:
        raise FileAccessError(path, "permission denied: the file cannot be read") from None
    except OSError as exc:
        raise FileAccessError(path, f"cannot be opened: {exc.strerror or exc}") from None
    if len(sig) < 256 * n_signals:
        raise CorruptFileError(path, "EDF signal headers truncated")
    ns = n_signals
    labels = [_ascii(sig[16 * i:16 * i + 16]) for i in range(ns)]
    spr_at = 216 * ns
    try:
        spr = [int(_ascii(sig[spr_at + 8 * i:spr_at + 8 * i + 8])) for i in range(ns)]
    except ValueError:
        raise CorruptFileError(path, "EDF samples-per-record fields are not numbers") from None
    return _RawHeader(
        version=main[:8], patient=_ascii(main[8:88]), recording=_ascii(main[88:168]),
        reserved=_ascii(main[192:236]), header_bytes=header_bytes, n_records=n_records,
        record_duration=record_duration, labels=labels, samples_per_record=spr,
    )


def _record_onsets(path: Path, raw: _RawHeader) -> np.ndarray:
    """Onset (s) of every data record of an EDF+D file, from each record's time-keeping TAL."""
    ann = [i for i, lab in enumerate(raw.labels) if lab in ("EDF Annotations", "BDF Annotations")]
    if not ann:
        raise CorruptFileError(path, "EDF+D file without an annotation signal")
    bps = 3 if raw.is_bdf else 2
    offset = sum(raw.samples_per_record[: ann[0]]) * bps
    width = raw.samples_per_record[ann[0]] * bps
    record_bytes = sum(raw.samples_per_record) * bps
    table = np.memmap(path, dtype=np.uint8, mode="r", offset=raw.header_bytes,
                      shape=(raw.n_records, record_bytes))
    onsets = np.empty(raw.n_records)
    # Only the first TAL matters ("+123.5\x14\x14"): 32 bytes hold any realistic onset.
    heads = np.array(table[:, offset:offset + min(width, 32)])
    del table
    for r, row in enumerate(heads):
        text = row.tobytes().split(b"\x14", 1)[0]
        try:
            onsets[r] = float(text)
        except ValueError:
            raise CorruptFileError(
                path, f"EDF+D data record {r} has no valid time stamp ({text[:20]!r})"
            ) from None
    return onsets - onsets[0]


# ---------------------------------------------------------------------------- layout
@dataclass
class _Channel:
    index: int          # signal number in pyedflib
    fs: float
    n_file: int         # samples in the file
    scale: float        # physical -> output units (mV for voltages, 1 otherwise)
    up: int = 1         # resampling to the record rate
    down: int = 1


@dataclass
class _EdfLayout:
    """Everything needed to read any page of the chosen channels, without an open handle."""

    path: Path
    channels: list[_Channel]
    fs: float
    n_out: int
    # (onset s, first data record, number of records) of each contiguous run of records
    segments: list[tuple[float, int, int]]
    n_records: int
    stat: tuple[int, int] = field(default=(0, 0))

    def check_unchanged(self) -> None:
        try:
            st = os.stat(self.path)
        except OSError as exc:
            raise FileAccessError(self.path, f"can no longer be read: {exc.strerror}") from None
        if (st.st_size, st.st_mtime_ns) != self.stat:
            raise CorruptFileError(self.path, "the file changed on disk since it was opened")

    def _channel_span(self, reader: Any, ch: _Channel, a: int, b: int) -> np.ndarray:
        """Samples ``a:b`` of one channel at its own rate on the wall-clock timeline; zeros
        before the start, after the end and in EDF+D gaps."""
        out = np.zeros(b - a, dtype=np.float64)
        spr = ch.n_file // self.n_records if self.n_records else 0
        for onset, first, count in self.segments:
            seg_start = int(round(onset * ch.fs))
            seg_len = count * spr
            lo = max(a, seg_start)
            hi = min(b, seg_start + seg_len)
            if hi <= lo:
                continue
            file_pos = first * spr + (lo - seg_start)
            data = reader.readSignal(ch.index, file_pos, hi - lo)
            if data.shape[0] != hi - lo:
                raise CorruptFileError(
                    self.path, f"data ends early: {hi - lo} samples asked at {file_pos}, "
                    f"{data.shape[0]} read"
                )
            out[lo - a:hi - a] = data
        return out

    def read(self, rows: list[int], a: int, b: int, reader: Any = None) -> np.ndarray:
        """float32 page ``[rows, a:b]`` at the record rate (``0 <= a <= b <= n_out``)."""
        if not (0 <= a <= b <= self.n_out):
            raise InvalidSignalError(
                self.path, f"page {a}:{b} is outside the record (0:{self.n_out} samples)"
            )
        page = np.empty((len(rows), b - a), dtype=np.float32)
        if b == a:
            return page
        if reader is None:
            self.check_unchanged()
            with _EDFLIB_LOCK, _open(self.path, annotations=False) as rd:
                self._fill(rd, page, rows, a, b)
        else:
            self._fill(reader, page, rows, a, b)
        return page

    def _fill(self, reader: Any, page: np.ndarray, rows: list[int], a: int, b: int) -> None:
        for k, row in enumerate(rows):
            ch = self.channels[row]
            if ch.up == ch.down:
                page[k] = self._channel_span(reader, ch, a, b) * ch.scale
                continue
            # Read the matching stretch at the channel's rate plus a margin for the FIR, start
            # on a multiple of ``down`` so output samples line up with a whole-file resample.
            margin = 20 * max(ch.up, ch.down) // ch.up + 8
            c0 = (a * ch.down // ch.up - margin) // ch.down * ch.down
            c1 = -(-b * ch.down // ch.up) + margin
            x = self._channel_span(reader, ch, c0, c1)
            y = resample(x, ch.up, ch.down)
            shift = c0 * ch.up // ch.down
            page[k] = y[a - shift:b - shift] * ch.scale


class EdfPagedSignal:
    """A long EDF signal that reads each page from disk on demand (float32, mV).

    Satisfies :class:`ecgviewer.record.PagedSignal`: ``sig[rows, a:b]``, ``np.asarray(sig)``.
    """

    dtype = np.dtype(np.float32)
    ndim = 2

    def __init__(self, layout: _EdfLayout) -> None:
        self._layout = layout
        self.shape = (len(layout.channels), layout.n_out)

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"EdfPagedSignal({self._layout.path.name!r}, shape={self.shape})"

    def __getitem__(self, key: Any) -> np.ndarray:
        rows_key, cols_key = (key if isinstance(key, tuple) else (key, slice(None)))
        if isinstance(rows_key, (int, np.integer)):
            rows = [range(self.shape[0])[rows_key]]
        else:
            rows = list(np.arange(self.shape[0])[rows_key])
        if isinstance(cols_key, (int, np.integer)):
            col = range(self.shape[1])[cols_key]
            page = self._layout.read([int(r) for r in rows], col, col + 1)[:, 0]
        elif isinstance(cols_key, slice):
            a, b, step = cols_key.indices(self.shape[1])
            if step < 0:
                raise IndexError("EdfPagedSignal does not support reversed slices")
            page = self._layout.read([int(r) for r in rows], a, max(a, b))[:, ::step]
        else:
            raise IndexError("EdfPagedSignal columns must be an int or a slice")
        return page[0] if isinstance(rows_key, (int, np.integer)) else page

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        data = self._layout.read(list(range(self.shape[0])), 0, self.shape[1])
        return data if dtype is None else data.astype(dtype, copy=False)


# ---------------------------------------------------------------------------- reading
class _open:
    """``pyedflib.EdfReader`` as a context manager whose errors are ours."""

    def __init__(self, path: Path, annotations: bool) -> None:
        self.path = path
        self.mode = pyedflib.READ_ALL_ANNOTATIONS if annotations else pyedflib.DO_NOT_READ_ANNOTATIONS
        self.reader: Any = None

    def __enter__(self) -> Any:
        try:
            self.reader = pyedflib.EdfReader(str(self.path), self.mode, pyedflib.CHECK_FILE_SIZE)
        except OSError as exc:
            raise _map_pyedflib_error(self.path, exc) from None
        return self.reader

    def __exit__(self, *exc: object) -> None:
        if self.reader is not None:
            self.reader.close()


def _map_pyedflib_error(path: Path, exc: OSError) -> ECGError:
    text = str(exc).strip().rstrip(".")
    low = text.lower()
    if "permission" in low or "can not be opened" in low and not os.access(path, os.R_OK):
        return FileAccessError(path, "permission denied: the file cannot be read")
    if "filesize" in low or "file size" in low or "number of datarecords" in low:
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
    raw = _read_raw_header(p)
    st = os.stat(p)
    with _EDFLIB_LOCK, _open(p, annotations=True) as rd:
        n_sig = int(rd.signals_in_file)
        if n_sig == 0:
            raise NoECGChannelsError(p, "the file holds annotations only, no signals")
        labels = [str(rd.getLabel(i)).strip() for i in range(n_sig)]
        dims = [str(rd.getPhysicalDimension(i)).strip() for i in range(n_sig)]
        rates = [float(rd.getSampleFrequency(i)) for i in range(n_sig)]
        n_file = [int(n) for n in rd.getNSamples()]
        start = rd.getStartdatetime()
        onsets, durations, texts = rd.readAnnotations()
        n_records = int(rd.datarecords_in_file)
        record_duration = float(rd.datarecord_duration)

        notes: list[str] = []
        scales: list[float] = []
        voltage: list[bool] = []
        for label, dim in zip(labels, dims, strict=True):
            factor = unit_scale(dim)
            if factor is None and dim == "" and normalize_lead_name(label) in _LEADS:
                factor = 1.0
                notes.append(f"{label}: no physical dimension in the file, taken as mV")
            voltage.append(factor is not None)
            scales.append(1.0 if factor is None else factor)
        is_ecg = classify_channels(labels, voltage)
        if not any(is_ecg) and not opts.get("require_ecg", True):
            # Caller wants to look at a non-ECG file anyway (``ecgad info``, tests): every
            # voltage channel stands in for a lead, nothing is marked ECG.
            is_ecg = [False] * n_sig
            rate_from = voltage if any(voltage) else [True] * n_sig
        elif not any(is_ecg):
            found = ", ".join(f"{lab} ({dim or 'no unit'})" for lab, dim in zip(labels, dims, strict=True))
            if len(found) > 300:
                found = found[:300] + ", ..."
            raise NoECGChannelsError(p, f"no ECG channel among {n_sig} signals: {found}")
        else:
            rate_from = is_ecg
        for label, fs in zip(labels, rates, strict=True):
            if not (0 < fs <= MAX_FS):
                raise InvalidSignalError(p, f"channel {label} has an implausible rate {fs:g} Hz")
        fs_out = max(fs for fs, e in zip(rates, rate_from, strict=True) if e)

        if raw.is_discontinuous and n_records > 1:
            rec_onsets = _record_onsets(p, raw)
            segments = _segments(p, rec_onsets, record_duration)
        else:
            segments = [(0.0, 0, n_records)]
        last_onset, _, last_count = segments[-1]
        total = last_onset + last_count * record_duration
        n_out = int(round(total * fs_out))

        channels = []
        resampled = []
        for i in range(n_sig):
            up, down = rate_ratio(fs_out, rates[i])
            if up != down:
                resampled.append(f"{labels[i]} ({rates[i]:g} Hz)")
            channels.append(_Channel(i, rates[i], n_file[i], scales[i], up, down))
        if resampled:
            notes.append(f"resampled to {fs_out:g} Hz: {', '.join(resampled)}")
        layout = _EdfLayout(p, channels, fs_out, n_out, segments, n_records,
                            (st.st_size, st.st_mtime_ns))
        limit = int(opts.get("whole_load_values", WHOLE_LOAD_VALUES))
        if n_sig * n_out <= limit:
            signal: Any = layout.read(list(range(n_sig)), 0, n_out, reader=rd)
        else:
            signal = EdfPagedSignal(layout)

    names = unique_names([normalize_lead_name(lab) if e else lab
                          for lab, e in zip(labels, is_ecg, strict=True)])
    annotations = [
        Annotation(float(on), max(float(du), 0.0), str(tx).replace("\x00", "").strip())
        for on, du, tx in zip(onsets, durations, texts, strict=True)
    ]
    if len(segments) > 1:
        gaps = []
        for (on0, _, n0), (on1, _, _) in zip(segments, segments[1:], strict=False):
            end = on0 + n0 * record_duration
            gaps.append((int(round(end * fs_out)), int(round(on1 * fs_out))))
        annotations += gap_annotations(gaps, fs_out, None)
        notes.append(
            f"EDF+D: {len(gaps)} gap(s) between data records, "
            f"{sum(b - a for a, b in gaps) / fs_out:g} s in all, drawn as 0 mV"
        )
    annotations.sort(key=lambda ann: ann.onset)

    patient, start, device, more = _metadata(raw, start)
    notes.extend(more)
    return Record(
        signal=signal, fs=fs_out, leads=names, start=start, patient=patient,
        annotations=annotations, source=str(p),
        format="bdf" if raw.is_bdf else ("edf+" if raw.is_plus else "edf"),
        non_ecg=tuple(n for n, e in zip(names, is_ecg, strict=True) if not e),
        device=device, notes=tuple(notes),
    )


_LEADS = {"I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"}


def _segments(path: Path, rec_onsets: np.ndarray, duration: float) -> list[tuple[float, int, int]]:
    """Group data records into contiguous runs: ``(onset s, first record, count)``."""
    if duration <= 0:
        raise CorruptFileError(path, "EDF+D file with a data record duration of 0")
    step = np.diff(rec_onsets)
    tol = 1e-6 + 1e-9 * duration
    if (step < duration - tol).any():
        r = int(np.argmax(step < duration - tol)) + 1
        raise CorruptFileError(path, f"EDF+D data record {r} starts before the previous one ends")
    breaks = np.flatnonzero(step > duration + tol) + 1
    firsts = np.concatenate(([0], breaks)).astype(int)
    lasts = np.concatenate((breaks, [len(rec_onsets)])).astype(int)
    return [(float(rec_onsets[f]), int(f), int(e - f)) for f, e in zip(firsts, lasts, strict=True)]


def _metadata(raw: _RawHeader, start: datetime | None) -> tuple[Patient, datetime | None, str | None, list[str]]:
    """Patient, start, device and notes from the raw header fields."""
    notes: list[str] = []
    device = None
    patient = Patient()
    if raw.is_plus:
        ptoks = raw.patient.split()
        rtoks = raw.recording.split()
        if len(rtoks) >= 2 and rtoks[0] == "Startdate" and rtoks[1].upper() == "X":
            start = None
            notes.append("start date not recorded (EDF+ 'Startdate X')")
        if len(rtoks) >= 5 and rtoks[4].lower() not in _PLACEHOLDERS:
            device = rtoks[4].replace("_", " ")
        code = ptoks[0] if ptoks else "X"
        sex = ptoks[1].upper() if len(ptoks) > 1 else "X"
        birth = _parse_edf_date(ptoks[2]) if len(ptoks) > 2 else None
        patient = Patient(
            id=None if code.lower() in _PLACEHOLDERS else code.replace("_", " "),
            sex=sex if sex in ("M", "F") else None,
            age=_age(birth, start),
        )
    else:
        text = raw.patient.strip()
        tokens = text.split()
        if tokens and all(t.lower() in _PLACEHOLDERS for t in tokens):
            notes.append(f"patient field holds only placeholders ({text!r})")
        elif text:
            patient = Patient(id=text)
    return patient, start, device, notes


def _parse_edf_date(token: str) -> date | None:
    m = re.fullmatch(r"(\d{1,2})-([A-Za-z]{3})-(\d{4})", token)
    if not m:
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
