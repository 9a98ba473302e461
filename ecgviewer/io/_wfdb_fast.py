"""A fast path for simple WFDB records: our own header parser and numpy decoder.

Why: ``wfdb.rdheader`` costs about 4 ms for a 12-lead header (pandas ``.loc`` lookups per field
per signal in ``wfdb.io._header._parse_signal_lines``), more than everything else in reading a
short record together. Scoring whole archives (hundreds of thousands of PTB-XL-like records)
pays it per record, so the common simple case is handled here and everything else is left to
wfdb.

The simple case (anything else gives ``None`` and the caller uses wfdb, which then behaves
exactly as before):

* a single-segment record whose signals are all in one signal file, in format 16, 61, 80, 212,
  24 or 32, one sample per frame, no skew, one byte offset;
* every signal line complete up to its description: an explicit non-zero ADC gain (optionally
  ``(baseline)`` and ``/units``), ADC resolution, ADC zero, initial value, checksum, block size
  and a description;
* a record line with name, signal count, a plain sampling frequency (no counter frequency),
  length, and optionally base time and base date.

Within it the result matches ``wfdb.rdrecord(name, smooth_frames=False)`` field for field
(the header is decoded as ASCII ignoring other bytes, comments are stripped of " \\t#", a
missing baseline is the ADC zero, missing units are mV) and the physical signal is bit for
bit wfdb's: float64 ``(digital - baseline) / gain`` with the format's invalid-sample code as NaN.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from pathlib import Path

import numpy as np

#: Formats decoded here, with the digital value WFDB uses for an invalid sample.
INVALID_SAMPLE = {
    "16": -(2**15),
    "61": -(2**15),
    "80": -(2**7),
    "212": -(2**11),
    "24": -(2**23),
    "32": -(2**31),
}

# Every pattern here is unambiguous (no two quantifiers can share a run of characters), so a
# hostile line fails to match in linear time, not in the polynomial time of backtracking.
_NUM = r"(?:\d+(?:\.\d*)?|\.\d+)"
#: The record line. Beside WFDB's own "name n_sig fs sig_len [time [date]]", what the
#: PhysioNet/CinC Challenge 2020-2021 12-lead headers write, which wfdb refuses or misreads:
#: a name ending in ".mat" (Georgia: "E00001.mat 12 500 5000 05-May-2020 14:50:55") and the
#: date before the time, as DD-Mon-YYYY (every record of that collection).
_RECORD = re.compile(
    rf"(?P<name>[-\w]+)(?:\.(?:mat|dat|hea))?[ \t]+(?P<n_sig>\d+)[ \t]+(?P<fs>{_NUM})"
    r"[ \t]+(?P<sig_len>\d+)"
    r"(?:[ \t]+(?P<time>\d{1,2}(?::\d{1,2}){0,2}(?:\.\d{1,6})?)"
    r"(?:[ \t]+(?P<date>\d{1,2}/\d{1,2}/\d{4}))?"
    r"|[ \t]+(?P<day>\d{1,2}-[A-Za-z]{3}-\d{4})[ \t]+(?P<clock>\d{1,2}:\d{1,2}:\d{1,2})"
    # ISO date first (the CinC 2017 Challenge's headers; wfdb refuses them)
    r"|[ \t]+(?P<iso>\d{4}-\d{2}-\d{2})[ \t]+(?P<iso_clock>\d{1,2}:\d{1,2}:\d{1,2}))?",
    re.ASCII,
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_SIGNAL = re.compile(
    r"(?P<file>[-\w]*(?:\.\w*)?)[ \t]+"
    r"(?P<fmt>\d+)(?:x(?P<spf>\d+))?(?::(?P<skew>\d+))?(?:\+(?P<offset>\d+))?[ \t]+"
    rf"(?P<gain>-?{_NUM}(?:e[-+]?\d+)?)(?:\((?P<baseline>-?\d+)\))?(?:/(?P<units>[-\w^?%/]+))?"
    r"[ \t]+(?P<res>\d+)[ \t]+(?P<zero>-?\d+)[ \t]+(?P<init>-?\d+)[ \t]+(?P<checksum>-?\d+)"
    r"[ \t]+(?P<block>\d+)[ \t]+(?P<name>[^\t\n\r\f\v]+)",
    re.ASCII,
)


class SimpleRecord:
    """The fields of ``wfdb.Record`` that the WFDB reader uses, for a simple record.

    ``p_signal`` is None after :func:`parse_header` and set by :func:`read_signal`.
    """

    def __init__(self) -> None:
        self.record_name = ""
        self.n_sig = 0
        self.fs: float = 0
        self.sig_len = 0
        self.base_time: time | None = None
        self.base_date: date | None = None
        self.comments: list[str] = []
        self.seg_name: list[str] | None = None  # single segment
        self.file_name: list[str] = []
        self.fmt: list[str] = []
        self.samps_per_frame: list[int] = []
        self.byte_offset: list[int] = []
        self.adc_gain: list[float] = []
        self.baseline: list[int] = []
        self.units: list[str] = []
        self.sig_name: list[str] = []
        self.p_signal: np.ndarray | None = None
        self.e_p_signal: list[np.ndarray] | None = None  # never: one sample per frame


def parse_header(raw: bytes) -> SimpleRecord | None:
    """The header of a simple record, or None when wfdb must parse it (see the module)."""
    header_lines: list[str] = []
    comments: list[str] = []
    # As wfdb reads it: ASCII ignoring other bytes, every line stripped, '#' lines comments.
    for line in raw.decode("ascii", "ignore").splitlines():
        line = line.strip()
        if line.startswith("#"):
            comments.append(line.strip(" \t#"))
        elif line:
            header_lines.append(line)
    if not header_lines:
        return None
    m = _RECORD.fullmatch(header_lines[0])
    if m is None:
        return None
    r = SimpleRecord()
    r.record_name = m["name"]
    r.n_sig = int(m["n_sig"])
    r.sig_len = int(m["sig_len"])
    if r.n_sig < 1 or r.sig_len < 1 or len(header_lines) != 1 + r.n_sig:
        return None
    fs = float(m["fs"])
    if not fs > 0:
        return None
    r.fs = int(fs) if round(fs, 8) == float(int(fs)) else fs  # as wfdb does
    try:
        if m["time"]:
            fmt = ("%S", "%M:%S", "%H:%M:%S")[m["time"].count(":")]
            fmt += ".%f" if "." in m["time"] else ""
            r.base_time = datetime.strptime(m["time"], fmt).time()
        if m["date"]:
            r.base_date = datetime.strptime(m["date"], "%d/%m/%Y").date()
        if m["day"]:
            day, month, year = m["day"].split("-")
            if month.lower() not in _MONTHS:
                return None
            r.base_date = date(int(year), _MONTHS.index(month.lower()) + 1, int(day))
            r.base_time = datetime.strptime(m["clock"], "%H:%M:%S").time()
        if m["iso"]:
            r.base_date = date.fromisoformat(m["iso"])
            r.base_time = datetime.strptime(m["iso_clock"], "%H:%M:%S").time()
    except ValueError:  # an impossible time or date: wfdb's error
        return None
    r.comments = comments
    for line in header_lines[1:]:
        s = _SIGNAL.fullmatch(line)
        if s is None or not s["file"]:
            return None
        gain = float(s["gain"])
        if gain == 0 or int(s["spf"] or 1) != 1 or int(s["skew"] or 0) != 0:
            return None  # wfdb reads a gain of 0 as 200; frames and skew: wfdb's job
        r.file_name.append(s["file"])
        r.fmt.append(s["fmt"])
        r.samps_per_frame.append(1)
        r.byte_offset.append(int(s["offset"] or 0))
        r.adc_gain.append(gain)
        # A missing baseline is the ADC zero (WFDB's rule, and wfdb's).
        r.baseline.append(int(s["baseline"] if s["baseline"] is not None else s["zero"]))
        r.units.append(s["units"] or "mV")
        r.sig_name.append(s["name"])
    if (
        len(set(r.file_name)) != 1
        or len(set(r.fmt)) != 1
        or r.fmt[0] not in INVALID_SAMPLE
        or len(set(r.byte_offset)) != 1
    ):
        return None
    return r


def byte_count(fmt: str, n_samples: int) -> int:
    """Bytes holding ``n_samples`` samples in ``fmt`` (a last half 212 block counts whole)."""
    if fmt == "212":
        return (3 * n_samples + 1) // 2
    return n_samples * {"16": 2, "61": 2, "80": 1, "24": 3, "32": 4}[fmt]


def decode(buf: bytes, fmt: str, n_samples: int) -> np.ndarray:
    """The first ``n_samples`` digital samples of ``buf`` (frames interleaved), as integers."""
    if fmt == "16":
        return np.frombuffer(buf, dtype="<i2", count=n_samples)
    if fmt == "61":
        return np.frombuffer(buf, dtype=">i2", count=n_samples)
    if fmt == "32":
        return np.frombuffer(buf, dtype="<i4", count=n_samples)
    if fmt == "80":  # offset binary
        return np.frombuffer(buf, dtype=np.uint8, count=n_samples).astype(np.int16) - 128
    if fmt == "24":  # little-endian two's complement in 3 bytes
        b3 = np.frombuffer(buf, dtype=np.uint8, count=3 * n_samples).reshape(-1, 3)
        v = b3[:, 0].astype(np.int32) | (b3[:, 1].astype(np.int32) << 8)
        return v | (b3[:, 2].view(np.int8).astype(np.int32) << 16)
    if fmt == "212":  # two 12-bit samples in 3 bytes; the second's high nibble in byte 1
        n_pairs = (n_samples + 1) // 2
        padded = np.zeros(3 * n_pairs, dtype=np.uint8)  # a last half block: one sample
        nb = byte_count("212", n_samples)
        padded[:nb] = np.frombuffer(buf, dtype=np.uint8, count=nb)
        t = padded.reshape(-1, 3).astype(np.int16)
        pairs = np.empty((n_pairs, 2), dtype=np.int16)
        pairs[:, 0] = t[:, 0] | ((t[:, 1] & 0x0F) << 8)
        pairs[:, 1] = t[:, 2] | ((t[:, 1] & 0xF0) << 4)
        out = pairs.reshape(-1)[:n_samples]
        out[out > 2047] -= 4096
        return out
    raise ValueError(f"format {fmt} is not decoded here")


def read_signal(folder: Path, r: SimpleRecord) -> np.ndarray | None:
    """The physical signal, shape (sig_len, n_sig) float64 as wfdb's ``p_signal``; None when
    the file holds fewer bytes than the header promises (wfdb then reads it as before).

    The caller has checked the file (exists, is regular, is readable, is long enough).
    """
    fmt = r.fmt[0]
    n = r.sig_len * r.n_sig
    need = byte_count(fmt, n)
    with open(folder / r.file_name[0], "rb") as f:
        if r.byte_offset[0]:
            f.seek(r.byte_offset[0])
        buf = f.read(need)
    if len(buf) < need:
        return None
    digital = decode(buf, fmt, n).reshape(r.sig_len, r.n_sig)
    p = digital.astype(np.float64)
    p -= np.asarray(r.baseline, dtype=np.float64)
    p /= np.asarray(r.adc_gain, dtype=np.float64)
    bad = digital == INVALID_SAMPLE[fmt]
    if bad.any():
        p[bad] = np.nan
    return p
