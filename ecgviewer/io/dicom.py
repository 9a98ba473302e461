"""DICOM waveforms holding ECG: 12-lead ECG, General ECG, Ambulatory ECG, and any other
waveform SOP class (hemodynamic, electrophysiology) whose channels are ECG leads.

pydicom reads the file (transfer syntaxes, explicit/implicit VR, sequences, character sets):
DICOM is too large a standard to parse by hand, and pydicom is maintained, MIT-licensed and
pure Python. What this module adds is the ECG meaning:

- **Multiplex groups.** Every group of the ``WaveformSequence`` is looked at. Groups labelled
  as median/representative beats go to ``Record.cart.median_beats``; all other groups are the
  rhythm. Several rhythm groups are joined as more leads: groups at a lower rate are resampled
  to the highest one (``resample_poly``) and the shorter ones padded with 0 mV, each with a
  note. A lead that appears in two groups keeps the first and is noted.
- **Samples to mV.** ``value = raw x ChannelSensitivity x ChannelSensitivityCorrectionFactor +
  ChannelBaseline`` (PS3.3 C.10.9.1.4) in the units of ``ChannelSensitivityUnitsSequence``
  (UCUM: uV, mV, V), converted to millivolts. Samples are decoded by pydicom
  (``multiplex_array``: 8/16/32-bit, signed/unsigned per ``WaveformSampleInterpretation``).
- **Lead names** from the channel source code: SCP-ECG (``SCPECG`` ``5.6.3-9-N``) and MDC
  (``MDC`` ``2:N``) lead numbers share one table; otherwise the code meaning ("Lead I
  (Einthoven)" -> I). Channels whose unit is not a voltage are kept in ``non_ecg``.
- **Patient** (PatientID, PatientSex, PatientAge or birth date), the acquisition time
  (AcquisitionDateTime, else ContentDate/Time), the **device** (manufacturer, model,
  software), and the cart's global measurements and statements from the
  ``WaveformAnnotationSequence`` into ``Record.cart``.

pydicom reads the waveform data with the dataset (a sequence item's values are not
deferred), bounded by :data:`MAX_FILE_BYTES`. A rhythm group of more than
:data:`WHOLE_LOAD_VALUES` values (an ambulatory recording) is then not converted in memory:
it becomes a :class:`DicomPagedSignal` that maps the samples at the file offset pydicom
reports and scales only the page asked for (uncompressed little-endian transfer syntaxes).
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from ecgviewer.errors import (
    CorruptFileError,
    InvalidSignalError,
    NoECGChannelsError,
    brief,
)
from ecgviewer.io._channels import rate_ratio, resample, unique_names
from ecgviewer.io._common import birth_date, check_readable, parse_date, person_name, unit_scale
from ecgviewer.io._lead_codes import SCP_LEAD_NAMES
from ecgviewer.io._paged import PagedSignalBase, file_stamp
from ecgviewer.record import (
    CART_MEASUREMENT_UNITS,
    MAX_FS,
    STANDARD_LEADS,
    Annotation,
    CartReading,
    Patient,
    Record,
    normalize_lead_name,
)

__all__ = ["read", "lead_name_from_code"]

#: Larger DICOM files are not ECG waveform objects we can sensibly load (a 24 h 12-lead
#: Holter at 1 kHz in 16 bits is ~2 GB; such archives should be exported to EDF or ISHNE).
MAX_FILE_BYTES = 512 * 2**20

#: Waveforms with more values (channels x samples) are read page by page from the file.
WHOLE_LOAD_VALUES = 4_000_000
#: (WaveformSampleInterpretation, bits allocated) -> little-endian numpy type, for paging.
_SAMPLE_TYPES = {
    ("SS", 16): "<i2",
    ("US", 16): "<u2",
    ("SB", 8): "i1",
    ("UB", 8): "u1",
    ("SS", 32): "<i4",
    ("US", 32): "<u4",
}

_MEDIAN_WORDS = ("median", "represent", "average", "template")
_AGE_UNITS = {"Y": 1.0, "M": 1 / 12, "W": 7 / 365.25, "D": 1 / 365.25}
#: Cart measurement code meanings (lowercase) -> CartReading.measurements keys.
_MEASUREMENT_NAMES = {
    "rr interval": "rr",
    "pr interval": "pr",
    "qrs duration": "qrs",
    "qt interval": "qt",
    "qtc interval": "qtc",
    "p axis": "p_axis",
    "qrs axis": "qrs_axis",
    "t axis": "t_axis",
    "p duration": "p_duration",
    "ventricular heart rate": "heart_rate",
    "heart rate": "heart_rate",
    "pp interval": "pp",
}


#: Waveform annotation items read at most (a cart writes tens to a few hundred).
MAX_ANNOTATION_ITEMS = 5000

#: Measurement codes (scheme, code value) -> cart reading key. Why the code before the label:
#: an ECG Toolkit conversion labels its T axis (SCPECG 5.10.3-15) "QRS Axis", and a cart
#: writing its labels in another language or wording would lose them all.
_MEASUREMENT_CODES = {
    ("SCPECG", "5.10.2.1-3"): "rr",
    ("SCPECG", "5.10.2.1-5"): "pp",
    ("SCPECG", "5.13.5-7"): "pr",
    ("SCPECG", "5.13.5-9"): "qrs",
    ("SCPECG", "5.13.5-11"): "qt",
    ("SCPECG", "5.10.2.5-5"): "qtc",
    ("SCPECG", "5.10.3-11"): "p_axis",
    ("SCPECG", "5.10.3-13"): "qrs_axis",
    ("SCPECG", "5.10.3-15"): "t_axis",
    ("LN", "8867-4"): "heart_rate",
    ("LN", "8625-6"): "pr",
    ("LN", "8633-0"): "qrs",
    ("LN", "8634-8"): "qt",
    ("LN", "8636-3"): "qtc",
}


def _without_parentheses(text: str) -> str:
    """``re.sub(r"\\(.*?\\)", "", text)`` in linear time: each "(" and the first ")" after
    it on the same line removed, with what lies between (that pattern backtracks
    quadratically on a long run of "(" without a ")": 8,000 took 0.3 s)."""
    lines = []
    for line in text.split("\n"):
        parts, start = [], 0
        while True:
            opening = line.find("(", start)
            closing = line.find(")", opening + 1) if opening >= 0 else -1
            if closing < 0:
                break
            parts.append(line[start:opening])
            start = closing + 1
        parts.append(line[start:])
        lines.append("".join(parts))
    return "\n".join(lines)


def lead_name_from_code(code: str, scheme: str, meaning: str) -> str:
    """The lead name of a channel source code (SCPECG ``5.6.3-9-N``, MDC ``2:N``), else the
    code meaning without "Lead" and parenthesised remarks."""
    number = None
    m = re.fullmatch(r"5\.6\.3-9-(\d+)", code.strip())
    if m and scheme.upper().startswith("SCPECG"):
        number = int(m.group(1))
    m = re.fullmatch(r"2:(\d+)", code.strip())
    if m and scheme.upper() == "MDC":
        number = int(m.group(1))
    if number in SCP_LEAD_NAMES:
        return SCP_LEAD_NAMES[number]
    text = _without_parentheses(meaning).strip()
    return normalize_lead_name(text) if text else (code or "?")


def read(path: Path, **opts: Any) -> Record:
    """Read the ECG of a DICOM waveform file (``whole_load_values``: see :data:`WHOLE_LOAD_VALUES`).

    Raises
    ------
    ECGError
        Not DICOM, no waveform, no ECG channel, damaged waveform data, absurd rate.
    """
    path = Path(path)
    check_readable(path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise CorruptFileError(
            path, f"DICOM file of {size / 2**20:.0f} MB is too large for an ECG waveform object"
        )
    import pydicom
    from pydicom.errors import InvalidDicomError

    # pydicom warns on harmless deviations (UIDs, value lengths) as elements are decoded,
    # which happens lazily: the whole read runs with those warnings silenced.
    with warnings.catch_warnings(), _pydicom_log_silenced():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(str(path))
            groups = list(ds.get("WaveformSequence") or [])
        except InvalidDicomError:
            # pydicom's own text ends "Use force=True to force reading.": advice for a
            # programmer, not for the reader of this message.
            raise CorruptFileError(
                path, "not a valid DICOM file (no 'DICM' prefix or file meta information)"
            ) from None
        if not groups:
            sop = getattr(ds.get("SOPClassUID"), "name", None) or ds.get("SOPClassUID") or "unknown"
            # A damaged length can make the UID kilobytes of binary: quote its start only.
            raise NoECGChannelsError(path, f"DICOM object ({brief(sop, 80)}) holds no waveform")
        return _Builder(
            path, ds, groups, int(opts.get("whole_load_values", WHOLE_LOAD_VALUES))
        ).record()


_silenced = threading.local()


class _SilencedWhileReading(logging.Filter):
    """Drops pydicom's log records in a thread that is inside :func:`read`.

    pydicom logs (not ``warnings.warn``) each invalid value it decodes, quoting it whole: a
    damaged file floods stderr with kilobytes of binary. Per thread, so that a read elsewhere
    (or pydicom used by other code) keeps its log.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_silenced, "depth", 0)


_PYDICOM_FILTER = _SilencedWhileReading()


@contextmanager
def _pydicom_log_silenced() -> Iterator[None]:
    logger = logging.getLogger("pydicom")
    if _PYDICOM_FILTER not in logger.filters:
        logger.addFilter(_PYDICOM_FILTER)
    _silenced.depth = getattr(_silenced, "depth", 0) + 1
    try:
        yield
    finally:
        _silenced.depth -= 1


class _Group:
    def __init__(
        self,
        index: int,
        label: str,
        fs: float,
        names: list[str],
        data: np.ndarray,
        voltage: list[bool],
    ) -> None:
        self.index, self.label, self.fs = index, label, fs
        self.names, self.data, self.voltage = names, data, voltage

    @property
    def is_median(self) -> bool:
        return any(word in self.label.lower() for word in _MEDIAN_WORDS)


class _Builder:
    def __init__(self, path: Path, ds: Any, groups: list[Any], whole_load_values: int) -> None:
        self.path, self.ds, self.items = path, ds, groups
        self.notes: list[str] = []
        self.whole_load_values = whole_load_values
        syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
        self.little_endian_uncompressed = syntax in (
            "1.2.840.10008.1.2",
            "1.2.840.10008.1.2.1",
        )  # implicit / explicit VR little endian

    def record(self) -> Record:
        groups = [self._group(i, item) for i, item in enumerate(self.items)]
        rhythm = [g for g in groups if not g.is_median and any(g.voltage)]
        median = [g for g in groups if g.is_median and any(g.voltage)]
        if not rhythm:
            if median:  # only beats stored: show them rather than nothing
                rhythm, median = median[:1], []
                self.notes.append("the file stores median beats only: showing them")
            else:
                raise NoECGChannelsError(self.path, "no DICOM waveform channel is in volts")
        signal, names, voltage, fs = self._join(rhythm)
        is_ecg = [v and not _is_non_ecg(n) for n, v in zip(names, voltage, strict=True)]
        if not any(is_ecg):
            raise NoECGChannelsError(self.path, f"no ECG lead among channels {names}")
        start = self._start()
        first_group = rhythm[0].index + 1 if len(rhythm) == 1 else None
        return Record(
            signal=signal,
            fs=fs,
            leads=names,
            start=start,
            patient=self._patient(start),
            annotations=self._text_events(first_group, fs, signal.shape[1]),
            source=str(self.path),
            format="dicom",
            non_ecg=tuple(n for n, e in zip(names, is_ecg, strict=True) if not e),
            device=self._device(),
            notes=tuple(self.notes),
            cart=self._cart(median),
        )

    # -- waveform groups
    def _group(self, index: int, item: Any) -> _Group:
        from pydicom.waveforms.numpy_handler import multiplex_array

        label = str(item.get("MultiplexGroupLabel") or f"group {index + 1}")
        # The file offset of the samples is known only before pydicom converts the element.
        tell = getattr(item.get_item(0x54001010), "value_tell", None)
        try:
            fs = float(item.SamplingFrequency)
            n_ch = int(item.NumberOfWaveformChannels)
            n_s = int(item.NumberOfWaveformSamples)
            channels = list(item.ChannelDefinitionSequence)
        except (AttributeError, TypeError, ValueError) as exc:
            raise CorruptFileError(
                self.path, f"waveform {label}: incomplete description ({exc})"
            ) from None
        if not (0 < fs <= MAX_FS):
            raise InvalidSignalError(
                self.path, f"waveform {label}: sampling frequency {fs:g} Hz is implausible"
            )
        bits = int(item.get("WaveformBitsAllocated") or 0)
        data_len = len(item.get("WaveformData") or b"")
        dtype = _SAMPLE_TYPES.get((str(item.get("WaveformSampleInterpretation") or ""), bits))
        # A count of channels that its own definitions and the data's size both contradict
        # (a file saying 1 channel with 12 definitions and 12 channels' bytes): the two agree.
        recount = (
            n_s >= 1
            and len(channels) >= 1
            and len(channels) != n_ch
            and dtype is not None
            and self.little_endian_uncompressed
            and 0 <= data_len - len(channels) * n_s * (bits // 8) <= 1  # + DICOM's pad byte
        )
        if recount:
            self.notes.append(
                f"waveform {label} says {n_ch} channel(s) but defines {len(channels)} and "
                f"holds the samples of {len(channels)}: read as {len(channels)}"
            )
            n_ch = len(channels)
        if n_ch < 1 or n_s < 1 or len(channels) != n_ch:
            raise CorruptFileError(
                self.path,
                f"waveform {label}: {n_ch} channels, {n_s} samples "
                f"and {len(channels)} channel definitions disagree",
            )
        expected = n_ch * n_s * max(bits // 8, 1)
        if bits not in (8, 16, 32, 64) or data_len < expected:
            raise CorruptFileError(
                self.path,
                f"waveform {label}: data holds {data_len} bytes, {n_ch} channels x "
                f"{n_s} samples x {bits} bits need {expected} (truncated or damaged)",
            )
        held = data_len // (n_ch * max(bits // 8, 1))
        if held > n_s and data_len - expected > 1:  # beyond DICOM's pad byte: a damaged count
            self.notes.append(
                f"waveform {label}: the file holds {held:,} samples per channel but its header "
                f"declares {n_s:,}: only the declared samples were read"
            )
        names: list[str] = []
        voltage: list[bool] = []
        gains = np.empty(n_ch)
        offsets = np.empty(n_ch)
        for k, ch in enumerate(channels):
            src = (ch.get("ChannelSourceSequence") or [None])[0]
            code = str(src.get("CodeValue", "")) if src is not None else ""
            scheme = str(src.get("CodingSchemeDesignator", "")) if src is not None else ""
            meaning = str(src.get("CodeMeaning", "")) if src is not None else ""
            names.append(
                lead_name_from_code(code, scheme, meaning)
                if src is not None
                else str(ch.get("ChannelLabel") or f"channel {k + 1}")
            )
            units = (ch.get("ChannelSensitivityUnitsSequence") or [None])[0]
            unit = str(units.get("CodeValue", "")) if units is not None else ""
            factor = unit_scale(unit)
            voltage.append(factor is not None)
            where = f"waveform {label} channel {names[-1]}"
            sens = self._scale(ch.get("ChannelSensitivity"), f"{where}: channel sensitivity")
            corr = self._scale(
                ch.get("ChannelSensitivityCorrectionFactor"), f"{where}: sensitivity correction"
            )
            base = _number(ch.get("ChannelBaseline"), 0.0)
            gains[k] = sens * corr * (factor or 1.0)
            offsets[k] = base * (factor or 1.0)
        if not (np.isfinite(gains).all() and np.isfinite(offsets).all()):
            raise InvalidSignalError(
                self.path, f"waveform {label}: scaling gives non-finite values"
            )
        if (
            n_ch * n_s > self.whole_load_values
            and dtype is not None
            and self.little_endian_uncompressed
        ):
            offset = _data_offset(self.path, tell, bytes(item.WaveformData))
            if offset is not None:
                data: Any = DicomPagedSignal(self.path, offset, n_s, dtype, gains, offsets)
                return _Group(index, label, fs, names, data, voltage)
        try:
            if recount:  # pydicom's reader trusts the stated count
                assert dtype is not None
                raw = np.frombuffer(bytes(item.WaveformData), dtype).reshape(n_s, n_ch)
            else:
                raw = multiplex_array(self.ds, index, as_raw=True)  # (samples, channels)
        except (AttributeError, KeyError, ValueError, TypeError, NotImplementedError) as exc:
            raise CorruptFileError(
                self.path, f"waveform {label}: samples cannot be decoded ({exc})"
            ) from None
        data = np.empty((n_ch, raw.shape[0]), dtype=np.float32)
        for k in range(n_ch):
            data[k] = raw[:, k] * gains[k] + offsets[k]
        return _Group(index, label, fs, names, data, voltage)

    def _scale(self, value: Any, what: str) -> float:
        """A scale factor; 1 when absent. One that is present but 0, negative or not a finite
        number is refused: taken as 1 (or used as 0) it would draw the lead silently wrong."""
        if value is None or str(value).strip() == "":
            return 1.0
        number = _num(value, None)
        if number is None or number <= 0:
            raise InvalidSignalError(
                self.path, f"{what} {brief(value, 40)} is not a positive number"
            )
        return number

    def _join(self, groups: list[_Group]) -> tuple[Any, list[str], list[bool], float]:
        if len(groups) == 1 and isinstance(groups[0].data, DicomPagedSignal):
            g = groups[0]
            self.notes.append("long waveform read page by page from the file")
            return g.data, unique_names(g.names), g.voltage, g.fs
        for g in groups:
            g.data = np.asarray(g.data)
        fs = max(g.fs for g in groups)
        rows: list[np.ndarray] = []
        names: list[str] = []
        voltage: list[bool] = []
        for g in groups:
            data = g.data
            if g.fs != fs:
                up, down = rate_ratio(fs, g.fs)
                data = np.stack([resample(row, up, down) for row in data])
                self.notes.append(f"waveform {g.label} resampled from {g.fs:g} to {fs:g} Hz")
            for name, row, volt in zip(g.names, data, g.voltage, strict=True):
                if name in names and name in STANDARD_LEADS:
                    self.notes.append(
                        f"lead {name} of waveform {g.label} also in an earlier "
                        "group: the first is shown"
                    )
                    continue
                names.append(name)
                rows.append(row)
                voltage.append(volt)
        n = max(len(r) for r in rows)
        if any(len(r) != n for r in rows):
            self.notes.append(f"waveform groups of unequal length padded with 0 mV to {n} samples")
        out = np.zeros((len(rows), n), dtype=np.float32)
        for k, r in enumerate(rows):
            out[k, : len(r)] = r
        if len(groups) > 1:
            self.notes.append(
                f"{len(groups)} waveform groups joined: " + ", ".join(g.label for g in groups)
            )
        return out, unique_names(names), voltage, fs

    # -- metadata
    def _start(self) -> datetime | None:
        ds = self.ds
        text = str(ds.get("AcquisitionDateTime") or "").strip()
        if not text:
            text = (str(ds.get("ContentDate") or "") + str(ds.get("ContentTime") or "")).strip()
        m = re.match(r"(\d{8})(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?", text)
        if not m:
            return None
        try:
            return datetime(
                int(m.group(1)[:4]),
                int(m.group(1)[4:6]),
                int(m.group(1)[6:]),
                int(m.group(2) or 0),
                int(m.group(3) or 0),
                int(m.group(4) or 0),
                int((m.group(5) or "0").ljust(6, "0")),
            )
        except ValueError:
            self.notes.append(f"acquisition time {text!r} is not a valid date")
            return None

    def _patient(self, start: datetime | None) -> Patient:
        ds = self.ds
        sex = str(ds.get("PatientSex") or "").strip().upper()
        age = None
        born_text = ds.get("PatientBirthDate")
        born = birth_date(
            parse_date(born_text.strip() if isinstance(born_text, str) else "", "%Y%m%d"), start
        )
        m = re.fullmatch(r"(\d{1,3})([YMWD])", str(ds.get("PatientAge") or "").strip().upper())
        if m:
            age = round(int(m.group(1)) * _AGE_UNITS[m.group(2)], 2)
        elif born is not None and start is not None:  # a real date only (not 30 February)
            years = start.year - born.year - ((start.month, start.day) < (born.month, born.day))
            age = float(years) if 0 <= years < 150 else None
        pid = str(ds.get("PatientID") or "").strip() or None
        return Patient(
            id=pid,
            age=age,
            sex=sex if sex in ("M", "F") else None,
            name=_person_name(ds.get("PatientName")),
            birth_date=born,
        )

    def _device(self) -> str | None:
        ds = self.ds
        parts = [str(ds.get(k) or "").strip() for k in ("Manufacturer", "ManufacturerModelName")]
        # "Unknown" is what converters write for a manufacturer they were not told.
        text = " ".join(p for p in parts if p and p.lower() not in ("unknown", "n/a", "-"))
        software = ds.get("SoftwareVersions")
        if software:
            sw = software if isinstance(software, str) else " ".join(str(s) for s in software)
            sw = " ".join(sw.split())
            text = f"{text}, software {sw}" if text else f"software {sw}"
        return text or None

    def _text_events(self, group: int | None, fs: float, n: int) -> list[Annotation]:
        """Free-text annotations placed at samples of the (single) rhythm group. Coded
        fiducial points (P onset, QRS offset, ...) are not taken: producers differ in which
        group (rhythm or median beat) their positions count in."""
        out: list[Annotation] = []
        if group is None:
            return out
        for ann in self._annotations():
            text = str(ann.get("UnformattedTextValue") or "").strip()
            positions = ann.get("ReferencedSamplePositions")
            channels = ann.get("ReferencedWaveformChannels")
            if not text or positions is None:
                continue
            positions = (
                list(positions)
                if isinstance(positions, (list, tuple)) or hasattr(positions, "__iter__")
                else [positions]
            )
            ref_group = int(channels[0]) if channels is not None and len(channels) else group
            if ref_group != group or not positions:
                continue
            first = int(positions[0])
            last = (
                int(positions[-1])
                if str(ann.get("TemporalRangeType") or "") in ("SEGMENT", "MULTISEGMENT")
                else first
            )
            if 1 <= first <= n:
                out.append(Annotation((first - 1) / fs, max(0, last - first) / fs, text))
        return sorted(out, key=lambda a: a.onset)

    def _annotations(self) -> list[Any]:
        """The waveform annotation items, at most :data:`MAX_ANNOTATION_ITEMS` of them, each a
        dataset (an item of another VR is skipped). Why: 100,000 items took 35 s and 700 MB,
        pydicom parsing each lazily; and one item written as bytes refused the whole file."""
        from pydicom.dataset import Dataset

        items = self.ds.get("WaveformAnnotationSequence") or []
        try:
            count = len(items)
        except TypeError:
            return []
        if count > MAX_ANNOTATION_ITEMS:
            self.notes.append(
                f"{count:,} waveform annotations: the first {MAX_ANNOTATION_ITEMS:,} read"
            )
        out = []
        for ann in islice(items, MAX_ANNOTATION_ITEMS):
            if isinstance(ann, Dataset):
                names = ann.get("ConceptNameCodeSequence")
                if names is not None and not all(isinstance(n, Dataset) for n in names):
                    continue  # a code sequence written as bytes: no measurement to read
                out.append(ann)
        return out

    def _cart(self, median: list[_Group]) -> CartReading | None:
        measurements: dict[str, float] = {}
        statements: list[str] = []
        for ann in self._annotations():
            text = ann.get("UnformattedTextValue")
            if text and str(text).strip():
                if ann.get("ReferencedSamplePositions") is None:
                    statements.append(str(text).strip())
                continue
            names = ann.get("ConceptNameCodeSequence")
            value = ann.get("NumericValue")
            if not names or value is None or ann.get("ReferencedSamplePositions") is not None:
                continue
            meaning = str(names[0].get("CodeMeaning", "")).strip()
            coded = (
                str(names[0].get("CodingSchemeDesignator", "")).strip().upper(),
                str(names[0].get("CodeValue", "")).strip(),
            )
            key = _MEASUREMENT_CODES.get(coded) or _MEASUREMENT_NAMES.get(
                meaning.lower(), meaning.lower().replace(" ", "_")
            )
            number = _num(
                value if not isinstance(value, (list, tuple)) else (value[0] if value else None),
                None,
            )
            units = ann.get("MeasurementUnitsCodeSequence")
            unit = str(units[0].get("CodeValue", "")) if units else ""
            if number is not None and unit == "s" and CART_MEASUREMENT_UNITS.get(key) == "ms":
                number *= 1000.0  # intervals given in seconds: the cart reading uses ms
            if number == 0 and not key.endswith("axis"):
                continue  # an interval or rate of 0: not measured
            if number is not None and key and key not in measurements:
                measurements[key] = number
        beats = None
        if median:
            g = median[0]
            keep = [k for k, v in enumerate(g.voltage) if v]
            beats = g.data[keep].astype(np.float32)
        if not measurements and not statements and beats is None:
            return None
        return CartReading(
            measurements=measurements,
            statements=tuple(statements),
            median_beats=beats,
            median_fs=median[0].fs if median else None,
            median_leads=tuple(median[0].names[k] for k, v in enumerate(median[0].voltage) if v)
            if median
            else (),
            source=self._device() or "DICOM",
        )


class DicomPagedSignal(PagedSignalBase):
    """A long DICOM waveform group read page by page from the file (float32 mV).

    The samples are the group's WaveformData, interleaved (samples x channels) at the file
    offset pydicom reports; each page maps the file afresh (no handle outlives a read).
    Indexing and checks come from :class:`~ecgviewer.io._paged.PagedSignalBase`.
    """

    def __init__(
        self,
        path: Path,
        offset: int,
        n_samples: int,
        sample_type: str,
        gains: np.ndarray,
        offsets: np.ndarray,
    ) -> None:
        self._path, self._offset, self._type = path, offset, np.dtype(sample_type)
        self._gains, self._offsets = gains, offsets
        self.shape = (len(gains), n_samples)
        self._stamp = file_stamp(path)
        if offset + n_samples * len(gains) * self._type.itemsize > self._stamp[0]:
            raise CorruptFileError(path, "DICOM waveform data runs past the end of the file")

    def _read_page(self, rows: list[int], a: int, b: int) -> np.ndarray:
        n = self.shape[0]
        table = np.memmap(
            self._path,
            dtype=self._type,
            mode="r",
            offset=self._offset + a * n * self._type.itemsize,
            shape=(b - a, n),
        )
        try:
            page = table[:, rows].T.astype(np.float64)
        finally:
            del table
        return (page * self._gains[rows, None] + self._offsets[rows, None]).astype(np.float32)


def _data_offset(path: Path, tell: int | None, data: bytes) -> int | None:
    """Where ``data`` (a group's WaveformData, as pydicom read it) starts in the file.

    pydicom's ``value_tell`` is the file offset for top-level elements but counts from the
    sequence's own buffer in some encodings, so the candidate is checked against the bytes
    (head and tail), else the file is searched once; None when it cannot be placed.
    """
    import mmap

    probe = min(len(data), 256)
    if probe == 0:
        return None
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:

        def fits(at: int) -> bool:
            return (
                0 <= at
                and at + len(data) <= len(mm)
                and mm[at : at + probe] == data[:probe]
                and mm[at + len(data) - probe : at + len(data)] == data[-probe:]
            )

        if tell is not None and fits(int(tell)):
            return int(tell)
        at = mm.find(data[:probe])
        for _ in range(100):  # a flat start matches in many places: give up, load it instead
            if at < 0:
                break
            if fits(at):
                return at
            at = mm.find(data[:probe], at + 1)
    return None


def _is_non_ecg(name: str) -> bool:
    from ecgviewer.io._channels import looks_like_other

    return looks_like_other(name)


def _number(value: Any, default: float) -> float:
    """:func:`_num` with a number as the default (never None)."""
    number = _num(value, default)
    return default if number is None else number


def _num(value: Any, default: float | None) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if np.isfinite(number) else default


def _person_name(value: Any) -> str | None:
    """A DICOM PN value as "FAMILY, Given Middle": family^given^middle^prefix^suffix, the
    alphabetic group before any "="; the first of several values. Anything that is not text
    (a name of another VR, bytes) gives None: a 100 kB name stored as UN read "b'AAAA…" and
    two values "[Doe, Jane, Roe Rick]"."""
    from pydicom.multival import MultiValue
    from pydicom.valuerep import PersonName

    if isinstance(value, MultiValue):
        value = value[0] if len(value) else None  # several names: the first
    if not isinstance(value, (str, PersonName)):
        return None  # bytes (a name stored as UN or OB), a sequence, nothing
    parts = str(value).split("=")[0].split("^")
    return person_name(parts[0], *parts[1:3])
