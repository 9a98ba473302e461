"""MFER (Medical waveform Format Encoding Rules: ISO/TS 11073-92001, JIS T 7308; ``.mwf``),
what Japanese carts and monitors (Nihon Kohden, Fukuda Denshi, Suzuken) and GE export.

Our own decoder: no maintained Python MFER library exists, and the format is a small
tag-length-value header in front of plain samples.

Layout: a flat run of tags, each ``tag (1 byte), length, contents``. A length below 0x80 is
the length itself; ``0x80 | n`` says it follows in n big-endian bytes; 0x80 alone is an
indefinite length, closed by ``00 00`` (used by channel attributes). The single byte 0x80
ends the file. Header tags set defaults for every channel (byte order 0x01, block length
0x04, channel count 0x05, sequence count 0x06, waveform type 0x08, lead code 0x09, data type
0x0A, sampling interval 0x0B, resolution 0x0C, offset 0x0D, compression 0x0E, null value
0x12); a channel attribute (0x3F, channel number, length, nested tags) overrides them for
one channel. The samples (0x1E) hold, for each sequence, one block of each channel in turn:
block-length samples of channel 1, then of channel 2, ...; channels may differ in block
length, rate and data type (a monitor's ECG at 250 Hz beside pressures at 125 Hz). Patient
id 0x82, age and birth date 0x83, sex 0x84 (the name, 0x81, is not kept); start 0x85;
device 0x17; events 0x41.

Samples are reached through a read-only memory map; every length is checked against the
file before anything is allocated, and the output is capped at :data:`MAX_VALUES`.
"""

from __future__ import annotations

import math
import mmap
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ecgviewer.errors import (
    CorruptFileError,
    FileTooLargeError,
    InvalidSignalError,
    NoECGChannelsError,
    UnknownFormatError,
)
from ecgviewer.io._channels import (
    classify_channels,
    gap_annotations,
    gap_runs,
    rate_ratio,
    resample,
    unique_names,
)
from ecgviewer.io._common import birth_date, check_readable, person_name
from ecgviewer.io._lead_codes import SCP_LEAD_NAMES
from ecgviewer.record import MAX_FS, MIN_FS, Annotation, Patient, Record, normalize_lead_name

__all__ = ["read", "MAX_VALUES"]

Order = Literal["<", ">"]

#: Most output values (channels x samples) read; a 24 h 3-channel Holter at 250 Hz is 65 M.
MAX_VALUES = 100_000_000
MAX_CHANNELS = 256
MAX_DEPTH = 2  # a channel attribute inside a channel attribute is already malformed
MAX_TAGS = 200_000  # header tags: a walk over a hostile file stays bounded

END, BLE, TXC, BLK, CHN, SEQ, WFM, LDN = 0x80, 0x01, 0x03, 0x04, 0x05, 0x06, 0x08, 0x09
DTP, IVL, SEN, OFF, CMP, NUL, MAN, WAV = 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x12, 0x17, 0x1E
ATT, PRE, EVT, NAM, PID, AGE, SEX, TIM = 0x3F, 0x40, 0x41, 0x81, 0x82, 0x83, 0x84, 0x85
#: Tags a channel attribute may override (and that must not change once samples began).
CHANNEL_TAGS = frozenset({BLK, LDN, DTP, IVL, SEN, OFF, CMP, NUL})
#: Tags defined by the standard: the first tag of a file must be one of them.
KNOWN_TAGS = frozenset(
    {0x00, BLE, 0x02, TXC, BLK, CHN, SEQ, 0x07, WFM, LDN, DTP, IVL, SEN, OFF, CMP, 0x11, NUL}
    | {0x13, 0x15, 0x16, MAN, WAV, ATT, PRE, EVT, 0x42, 0x43, 0x44, NAM, PID, AGE, SEX, TIM}
)

#: Data type code -> numpy type (without byte order); 4 is a 16-bit status word, 9 the
#: AHA 8-bit difference compression, which we do not decode.
DATA_TYPES: dict[int, str] = {
    0: "i2",
    1: "u2",
    2: "i4",
    3: "u1",
    4: "u2",
    5: "i1",
    6: "u4",
    7: "f4",
    8: "f8",
}
STATUS_TYPE = 4
#: Resolution unit codes (0 is the volt; the rest keep their own units and are not ECG).
UNITS: dict[int, str] = {
    0: "V",
    1: "mmHg",
    2: "Pa",
    3: "cmH2O",
    4: "mmHg/s",
    5: "dyne",
    6: "N",
    7: "%",
    8: "degC",
    9: "1/min",
    10: "1/s",
    11: "Ohm",
    12: "A",
    13: "rpm",
    14: "W",
    15: "dB",
    16: "kg",
    17: "J",
    18: "dyne s/cm5",
    19: "L",
    20: "L/s",
    21: "L/min",
    22: "cd",
}
WAVEFORM_TYPES: dict[int, str] = {
    1: "standard 12-lead ECG",
    2: "long-term ECG",
    3: "vectorcardiogram",
    4: "stress ECG",
    20: "monitoring waveform",
}
#: Lead codes beyond the SCP-ECG lead table MFER shares: the standard's monitoring codes and
#: the 0xC0xx codes of Nihon Kohden monitors (CNS-6000 exports).
OTHER_LEADS: dict[int, str] = {
    143: "BP",
    160: "Resp (impedance)",
    175: "SpO2 pleth",
    0x1040: "status",
    0x1041: "body position",
    0x1042: "body movement",
    0x1043: "Resp",
    0xC005: "Resp",
    0xC006: "Resp (impedance)",
    0xC007: "Resp (thermistor)",
    0xC008: "SpO2 pleth",
    0xC009: "SpO2 pleth 2",
    0xC00A: "ART",
    0xC00B: "ART 2",
    0xC00E: "AO",
    0xC00F: "FEM",
    0xC012: "PAP",
    0xC013: "CVP",
    0xC014: "RAP",
    0xC015: "RVP",
    0xC016: "LAP",
    0xC017: "LVP",
    0xC018: "ICP",
    0xC024: "CO2",
    0xC028: "PAW",
}
_ENCODINGS = {
    "ascii": "latin-1",
    "ansix3.4": "latin-1",
    "utf-8": "utf-8",
    "utf-16le": "utf-16-le",
    "utf-16be": "utf-16-be",
    "utf-16": "utf-16",
    "iso-8859-1": "latin-1",
    "shift_jis": "shift_jis",
    "sjis": "shift_jis",
    "iso-2022-jp": "iso-2022-jp",
    "euc-jp": "euc-jp",
}


@dataclass
class _Header:
    """The tags as found, still raw: numbers are decoded once the byte order is known."""

    order: Order = ">"  # big-endian unless tag 0x01 says otherwise (the standard's default)
    defaults: dict[int, bytes] = field(default_factory=dict)
    channels: dict[int, dict[int, bytes]] = field(default_factory=dict)
    top: dict[int, bytes] = field(default_factory=dict)  # CHN, SEQ, WFM, AGE, SEX, TIM
    text: dict[int, str] = field(default_factory=dict)  # device, patient id
    waves: list[tuple[int, int]] = field(default_factory=list)  # (offset, bytes) of samples
    wave_indefinite: bool = False
    events: list[bytes] = field(default_factory=list)
    encoding: str = "latin-1"


@dataclass
class _Channel:
    """One channel's settings after defaults and its own attributes are merged."""

    name: str
    dtype: np.dtype[Any]
    block: int
    fs: float
    scale: float  # output units per sample unit (mV for voltages)
    voltage: bool
    offset: float
    null: float | None


class _Parser:
    """Walks the tags of one file; every error names the file and the byte offset."""

    def __init__(self, path: Path, buf: mmap.mmap | bytes) -> None:
        self.path = path
        self.buf = buf
        self.size = len(buf)
        self.hdr = _Header()
        self.count = 0

    def fail(self, problem: str) -> CorruptFileError:
        return CorruptFileError(self.path, f"MFER {problem}")

    def length(self, pos: int, end: int) -> tuple[int | None, int]:
        """(length or None when indefinite, position after the length field)."""
        if pos >= end:
            raise self.fail(f"header is truncated at byte {pos}")
        first = self.buf[pos]
        pos += 1
        if first < 0x80:
            return first, pos
        n = first & 0x7F
        if n == 0:
            return None, pos
        if n > 8 or pos + n > end:
            raise self.fail(f"length field at byte {pos - 1} is damaged ({n} length bytes)")
        return int.from_bytes(self.buf[pos : pos + n], "big"), pos + n

    def walk(self, pos: int, end: int, channel: int | None, depth: int) -> int:
        """Read tags from ``pos`` to ``end`` (or an end-of-contents in an indefinite channel
        attribute); returns where it stopped."""
        if depth > MAX_DEPTH:
            raise self.fail(f"channel attributes nested too deep at byte {pos}")
        hdr = self.hdr
        while pos < end:
            self.count += 1
            if self.count > MAX_TAGS:
                raise self.fail(f"header holds more than {MAX_TAGS} tags: damaged")
            tag = self.buf[pos]
            if tag == END and channel is None:
                return pos + 1
            if pos == 0 and tag not in KNOWN_TAGS:
                raise UnknownFormatError(
                    self.path, f"not an MFER file (first byte {tag:#04x} is no MFER tag)"
                )
            pos += 1
            if tag == ATT:
                if channel is not None:
                    raise self.fail(f"channel attribute inside a channel attribute at {pos}")
                number = 0
                for _ in range(3):  # channel number: 7 bits a byte, high bit = more follow
                    if pos >= end:
                        raise self.fail("header is truncated in a channel attribute")
                    byte = self.buf[pos]
                    pos += 1
                    number = number << 7 | byte & 0x7F
                    if not byte & 0x80:
                        break
                else:
                    raise self.fail(f"channel number before byte {pos} is damaged")
                if number >= MAX_CHANNELS:
                    raise self.fail(f"channel attribute for channel {number + 1}: too many")
                n, pos = self.length(pos, end)
                stop = end if n is None else pos + n
                if stop > end:
                    raise self.fail(f"channel {number + 1} attributes run past the file end")
                self.check_unchanged(tag, pos)
                after = self.walk(pos, stop, number, depth + 1)
                pos = after if n is None else stop
                continue
            n, pos = self.length(pos, end)
            if n is None:
                if tag == 0x00 and channel is not None:
                    raise self.fail(f"indefinite length on an empty tag at byte {pos}")
                if tag != WAV:
                    raise self.fail(f"indefinite length on tag {tag:#04x} at byte {pos}")
                hdr.wave_indefinite = True
                hdr.waves.append((pos, end - pos))
                return end
            if tag == 0x00 and n == 0 and channel is not None:
                return pos  # end-of-contents of an indefinite channel attribute
            if pos + n > end:
                if tag == WAV and channel is None:
                    hdr.waves.append((pos, end - pos))  # cut short: read() decides
                    return end
                raise self.fail(
                    f"tag {tag:#04x} at byte {pos} claims {n} bytes, only {end - pos} remain"
                )
            self.take(tag, pos, n, channel)
            pos += n
        return pos

    def check_unchanged(self, tag: int, pos: int) -> None:
        if self.hdr.waves and (tag in CHANNEL_TAGS or tag in (ATT, CHN, SEQ, BLE)):
            raise UnknownFormatError(
                self.path,
                f"MFER file changes its channel settings after the samples began (tag "
                f"{tag:#04x} at byte {pos}): this program does not read such files",
            )

    def take(self, tag: int, pos: int, n: int, channel: int | None) -> None:
        hdr = self.hdr
        value = bytes(self.buf[pos : pos + n]) if tag != WAV else b""
        if channel is not None:
            if tag in CHANNEL_TAGS:
                hdr.channels.setdefault(channel, {})[tag] = value
            return
        if tag == WAV:
            hdr.waves.append((pos, n))
            return
        self.check_unchanged(tag, pos)
        if tag == BLE and value:
            hdr.order = "<" if value[0] == 1 else ">"
        elif tag == TXC:
            key = value.split(b"\x00", 1)[0].decode("latin-1").strip().lower().replace(" ", "")
            hdr.encoding = _ENCODINGS.get(key, "latin-1")
        elif tag in CHANNEL_TAGS:
            hdr.defaults[tag] = value
        elif tag in (CHN, SEQ, WFM, AGE, SEX, TIM):
            hdr.top[tag] = value
        elif tag in (MAN, NAM, PID):
            hdr.text[tag] = _text(value, hdr.encoding)
        elif tag == EVT:
            hdr.events.append(value)


def _text(raw: bytes, encoding: str) -> str:
    text = raw.decode(encoding, "replace")
    return text.split("\x00", 1)[0].strip()


def _int(raw: bytes, order: Order, signed: bool = False) -> int:
    return int.from_bytes(raw, "little" if order == "<" else "big", signed=signed)


def _number(raw: bytes, order: Order, dtype: np.dtype[Any]) -> float:
    """A value written in the samples' own type (offset, null), or as a plain integer of
    whatever width the writer chose (Fukuda writes a 1-byte 0 offset for 16-bit samples)."""
    if len(raw) == dtype.itemsize:
        return float(np.frombuffer(raw, dtype.newbyteorder(order))[0])
    return float(_int(raw, order, signed=dtype.kind in "if"))


def _scaled(raw: bytes, order: Order, what: str, path: Path, signed: bool) -> tuple[int, float]:
    """(unit code, value) of an interval or resolution: unit, signed exponent, mantissa."""
    if len(raw) < 3:
        raise CorruptFileError(path, f"MFER {what} is {len(raw)} bytes long (3 or more needed)")
    exponent = int.from_bytes(raw[1:2], "big", signed=True)
    mantissa = _int(raw[2:], order, signed=signed)
    return raw[0], mantissa * 10.0**exponent


def _lead_name(raw: bytes | None, order: Order, index: int) -> str:
    if not raw:
        return f"channel {index + 1}"
    code = raw[0] if len(raw) == 1 else _int(raw[:2], order)
    name = SCP_LEAD_NAMES.get(code) or OTHER_LEADS.get(code)
    if name is None:
        label = _text(raw[2:], "latin-1") if len(raw) > 2 else ""
        name = label or f"channel {index + 1} (code {code:#06x})"
    return normalize_lead_name(name)


def _channel(path: Path, hdr: _Header, k: int, notes: list[str]) -> _Channel:
    """Channel ``k`` with the file's defaults overridden by its own attributes."""
    tags = {**hdr.defaults, **hdr.channels.get(k, {})}
    order = hdr.order
    name = _lead_name(tags.get(LDN), order, k)
    compression = tags.get(CMP)
    if compression and any(compression[:2]):
        raise UnknownFormatError(
            path,
            f"MFER channel {name} is compressed (code {_int(compression[:2], order)}): "
            "this program reads only uncompressed MFER samples",
        )
    code = tags[DTP][0] if tags.get(DTP) else 0
    if code == 9:
        raise UnknownFormatError(
            path, f"MFER channel {name} uses AHA 8-bit compression, which this program cannot read"
        )
    if code not in DATA_TYPES:
        raise UnknownFormatError(path, f"MFER channel {name} has unknown data type {code}")
    dtype = np.dtype(DATA_TYPES[code]).newbyteorder(order)
    block = _int(tags[BLK], order) if tags.get(BLK) else 1
    if not 1 <= block <= 2**31:
        raise CorruptFileError(path, f"MFER channel {name}: block length {block} is implausible")
    if IVL in tags:
        unit, value = _scaled(tags[IVL], order, "sampling interval", path, signed=False)
        if unit not in (0, 1) or value <= 0:
            raise InvalidSignalError(
                path,
                f"MFER channel {name}: sampling {'interval' if unit else 'rate'} is not a time",
            )
        fs = value if unit == 0 else 1.0 / value
    else:
        fs = 1000.0  # the standard's default interval, 1 ms
        if not notes or "sampling interval" not in notes[-1]:
            notes.append("no sampling interval in the file: the MFER default 1 ms (1000 Hz) used")
    if not math.isfinite(fs) or not 0 < fs <= MAX_FS:
        raise InvalidSignalError(
            path, f"MFER channel {name}: sampling rate {fs:g} Hz is implausible"
        )
    voltage = code != STATUS_TYPE
    scale = 1.0
    if SEN in tags:
        unit, value = _scaled(tags[SEN], order, "resolution", path, signed=True)
        if not math.isfinite(value) or value == 0:
            raise InvalidSignalError(path, f"MFER channel {name}: resolution {value:g} is unusable")
        voltage = voltage and unit == 0
        scale = value * 1e3 if unit == 0 else value
        if unit != 0:
            notes.append(f"{name}: in {UNITS.get(unit, f'unit code {unit}')}, not ECG")
    elif voltage:
        scale = 1e-3  # the standard's default resolution, 1 uV
        notes.append(f"{name}: no resolution in the file, the MFER default 1 uV used")
    offset = _number(tags[OFF], order, dtype) if tags.get(OFF) else 0.0
    null = _number(tags[NUL], order, dtype) if tags.get(NUL) else None
    return _Channel(name, dtype, block, fs, scale, voltage, offset, null)


def _patient(hdr: _Header, start: datetime | None) -> Patient:
    order = hdr.order
    pid = hdr.text.get(PID) or None
    # Written as DICOM writes names where the parts are kept apart: family^given^middle.
    name = person_name(*(hdr.text.get(NAM) or "").split("^")[:3])
    sex = {1: "M", 2: "F"}.get(hdr.top[SEX][0]) if hdr.top.get(SEX) else None
    age: float | None = None
    born: date | None = None
    raw = hdr.top.get(AGE, b"")
    if len(raw) >= 7:  # age in years, in days (2 bytes), then the date of birth
        try:
            born = date(_int(raw[3:5], order), raw[5], raw[6])
        except ValueError:
            born = None
    if raw[:1] and raw[0] != 0xFF:
        age = float(raw[0])
    elif born and start:
        years = start.year - born.year - ((start.month, start.day) < (born.month, born.day))
        age = float(years) if 0 <= years < 150 else None
    return Patient(id=pid, age=age, sex=sex, name=name, birth_date=birth_date(born, start))


def _start(hdr: _Header) -> datetime | None:
    raw = hdr.top.get(TIM, b"")
    if len(raw) < 7:
        return None
    try:
        when = datetime(_int(raw[0:2], hdr.order), raw[2], raw[3], raw[4], raw[5], raw[6])
    except ValueError:
        return None
    if len(raw) >= 9:
        millis = _int(raw[7:9], hdr.order)
        if millis < 1000:
            when += timedelta(milliseconds=millis)
    return when


def _events(hdr: _Header, fs: float) -> list[Annotation]:
    """Events: a 2-byte code, a 4-byte start and duration in the file's default sampling
    intervals, then free text."""
    out = []
    for raw in hdr.events[:10_000]:
        if len(raw) < 2:
            continue
        code = _int(raw[:2], hdr.order)
        onset = _int(raw[2:6], hdr.order) / fs if len(raw) >= 6 else 0.0
        duration = _int(raw[6:10], hdr.order) / fs if len(raw) >= 10 else 0.0
        info = _text(raw[10:], hdr.encoding) if len(raw) > 10 else ""
        out.append(Annotation(onset, duration, f"event {code}" + (f": {info}" if info else "")))
    return out


def read(path: Path, **_opts: Any) -> Record:
    """Read an MFER file (any byte order; channels at different rates are resampled to the
    highest ECG rate, as the EDF reader does)."""
    path = Path(path)
    check_readable(path)
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        return _decode(path, buf)


def _decode(path: Path, buf: mmap.mmap) -> Record:
    parser = _Parser(path, buf)
    parser.walk(0, len(buf), None, 0)
    hdr = parser.hdr
    if not hdr.waves:
        raise CorruptFileError(path, "MFER file holds no waveform (tag 0x1E): damaged or empty")
    notes: list[str] = []
    n_channels = _int(hdr.top[CHN], hdr.order) if hdr.top.get(CHN) else 1
    if not 1 <= n_channels <= MAX_CHANNELS:
        raise CorruptFileError(path, f"MFER header gives {n_channels} channels (1-256 allowed)")
    channels = [_channel(path, hdr, k, notes) for k in range(n_channels)]
    per_sequence = sum(ch.block * ch.dtype.itemsize for ch in channels)
    held = sum(n for _, n in hdr.waves)
    available = held // per_sequence
    if hdr.top.get(SEQ):
        wanted = _int(hdr.top[SEQ], hdr.order)
    else:
        wanted = available
    if hdr.wave_indefinite and wanted < available:
        available = wanted  # samples of indefinite length: as many as the header says
    if available == 0 or wanted == 0:
        raise CorruptFileError(
            path,
            f"MFER waveform is truncated or empty: {held} bytes, one sequence of all "
            f"{n_channels} channels needs {per_sequence}",
        )
    n_seq = min(wanted, available)
    if available < wanted:
        notes.append(
            f"the file holds {available} of the {wanted} sequences its header promises: "
            "cut short, the samples present are shown"
        )
    ecg = classify_channels([ch.name for ch in channels], [ch.voltage for ch in channels])
    if not any(ecg):
        kind = WAVEFORM_TYPES.get(hdr.top[WFM][0], "") if hdr.top.get(WFM) else ""
        raise NoECGChannelsError(
            path,
            f"no ECG channel among {n_channels} MFER channels"
            + (f" ({kind})" if kind else "")
            + ": "
            + ", ".join(ch.name for ch in channels[:20]),
        )
    fs_out = max(ch.fs for ch, e in zip(channels, ecg, strict=True) if e)
    duration = min(n_seq * ch.block / ch.fs for ch in channels)
    n_out = int(round(duration * fs_out))
    if n_out * n_channels > MAX_VALUES:
        raise FileTooLargeError(
            path, f"{n_channels} x {n_out} samples: more than this program loads ({MAX_VALUES:,})"
        )
    if n_out < 1:
        raise CorruptFileError(path, "MFER waveform holds no samples")

    layout = np.dtype(
        [(f"c{k}", ch.dtype, (ch.block,)) for k, ch in enumerate(channels)]
    )  # one sequence: each channel's block in turn
    if len(hdr.waves) == 1:
        offset, _ = hdr.waves[0]
        table = np.frombuffer(buf, dtype=layout, count=n_seq, offset=offset)
    else:  # several waveform tags: one stream, in file order
        stream = b"".join(bytes(buf[o : o + n]) for o, n in hdr.waves)
        table = np.frombuffer(stream, dtype=layout, count=n_seq)
    signal = np.empty((n_channels, n_out), dtype=np.float32)
    annotations: list[Annotation] = []
    resampled = []
    gaps = []
    names = unique_names([ch.name for ch in channels])
    try:  # the map cannot close while a view of it lives, even in a traceback
        for k, ch in enumerate(channels):
            raw = table[f"c{k}"].reshape(-1).astype(np.float64)
            missing = raw == ch.null if ch.null is not None else None
            values = (raw + ch.offset) * ch.scale
            if missing is not None and missing.any():
                values[missing] = 0.0
            up, down = rate_ratio(fs_out, ch.fs)
            if up != down:
                resampled.append(f"{names[k]} ({ch.fs:g} Hz)")
                values = resample(values, up, down)
            got = min(n_out, values.shape[0])
            signal[k, :got] = values[:got]
            signal[k, got:] = values[got - 1] if got else 0.0
            if missing is not None and missing.any():
                runs = [
                    (int(a * up // down), int(-(-b * up // down))) for a, b in gap_runs(missing)
                ]
                annotations += gap_annotations(runs, fs_out, names[k])
                gaps.append(f"{names[k]} {int(missing.sum())}")
    finally:
        del table
    if gaps:
        notes.append(f"samples the file marks missing (null value), drawn as 0: {', '.join(gaps)}")
    if resampled:
        notes.append(f"resampled to {fs_out:g} Hz: {', '.join(resampled)}")
    if not MIN_FS <= fs_out:
        raise InvalidSignalError(path, f"MFER sampling rate {fs_out:g} Hz is implausible")
    default_fs = channels[0].fs
    if hdr.defaults.get(IVL):
        unit, value = _scaled(hdr.defaults[IVL], hdr.order, "sampling interval", path, False)
        if value > 0 and unit in (0, 1):
            default_fs = value if unit == 0 else 1.0 / value
    annotations += _events(hdr, default_fs)
    annotations.sort(key=lambda ann: ann.onset)
    start = _start(hdr)
    device = " ".join(part for part in hdr.text.get(MAN, "").split("^") if part.strip()) or None
    record = Record(
        signal=signal,
        fs=fs_out,
        leads=names,
        start=start,
        patient=_patient(hdr, start),
        annotations=annotations,
        source=str(path),
        format="mfer",
        non_ecg=tuple(n for n, e in zip(names, ecg, strict=True) if not e),
        device=device,
        notes=tuple(notes),
    )
    return record.with_derived_limb_leads()
