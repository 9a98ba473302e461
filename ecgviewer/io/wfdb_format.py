"""PhysioNet WFDB records (``.hea`` + signal files + annotation files), read with ``wfdb``.

Named ``wfdb_format`` so it does not shadow the ``wfdb`` library. Decisions:

* **Any signal format wfdb decodes** (8, 16, 61, 80, 160, 212, 310, 311, 24, 32, FLAC, WFDB-MAT
  with a byte offset, several signal files per record). Before decoding, each signal file's size
  is checked against the header so a truncated ``.dat`` is a clear :class:`CorruptFileError`,
  not a numpy broadcast error.
* **Units.** Voltage channels go to mV (mV, uV, V; a missing unit is mV, the WFDB default).
  A channel in another unit (mmHg, NU, %) is kept unchanged and listed in ``Record.non_ecg``.
* **Multi-frequency records** (``212x4``: several samples per frame) are read unsmoothed and
  every channel is resampled with ``scipy.signal.resample_poly`` to the highest ECG channel
  rate (a 500 Hz MCL1 beside a 125 Hz ABP gives a 500 Hz Record); a note says so. wfdb's own
  default would average each frame, throwing away the ECG's resolution.
* **Invalid samples and multi-segment gaps.** wfdb returns NaN for the format's "invalid
  sample" code and for the parts of a multi-segment record where a channel or segment is
  missing (``~`` gaps). The Record rejects NaN, so they become 0 mV, each run is marked with a
  "signal gap" annotation (on the lead, or on no lead when all channels are missing) and a
  note gives the count. Nothing is silently invented: the gap is visible and named.
* **Annotations.** Every annotation file beside the header (``.atr``, ``.qrs``, ``.ecg``,
  ``.sqrs``, ...) is attached; onsets use that file's own sampling rate; the text is the
  symbol plus the aux note (NUL bytes stripped), e.g. "+ (N", or the aux note alone for
  NOTE annotations (symbol '"'); files other than the reference
  ``.atr`` add their extension ("N [qrs]").
* **Header comments** give age and sex in the PTB ("age: 81", "sex: female"), MIMIC/PTB-XL
  ("<age>: 56 <sex>: female") and MIT-BIH ("69 M 1085 1629 x1") styles; "patient id: ..."
  and "device: ..." comments (as our WFDB writer puts them) give the id and device.
* **Long records are paged.** Single-segment, single-rate records longer than
  :data:`WHOLE_LOAD_VALUES` samples are read page by page with ``wfdb.rdrecord(sampfrom,
  sampto)``; invalid samples in a page are 0 mV (gap annotations are not computed, which would
  need the whole file).

* **Fast path for simple records.** wfdb's header parse costs about 4 ms per 12-lead record
  (pandas lookups per field per signal), which dominates scoring whole archives of short
  records. A simple single-file record (format 16, 61, 80, 212, 24 or 32, one sample per
  frame, complete signal lines) is parsed and decoded by :mod:`ecgviewer.io._wfdb_fast`,
  giving wfdb's values exactly; anything else, and every paged record, goes through wfdb.
  :data:`FAST_PATH` turns it off. Annotation files are found from a cached listing of the
  folder (one ``os.scandir`` per folder and change, not a glob per record).

wfdb only ever reads here: no function of it that writes is called.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import wfdb
from wfdb.io import _signal

from ecgviewer.errors import (
    CorruptFileError,
    ECGError,
    FileAccessError,
    FileTooLargeError,
    InvalidSignalError,
    NoECGChannelsError,
    brief,
)
from ecgviewer.filekind import stat_regular
from ecgviewer.io import _wfdb_fast
from ecgviewer.io._channels import (
    GAP_TEXT,
    classify_channels,
    gap_runs,
    rate_ratio,
    resample,
    unique_names,
)
from ecgviewer.io._common import (
    birth_date,
    check_readable,
    is_number,
    parse_date,
    person_name,
    unit_scale,
)
from ecgviewer.io._paged import PagedSignalBase
from ecgviewer.record import MAX_FS, Annotation, Patient, Record, normalize_lead_name

log = logging.getLogger(__name__)

#: Records with at most this many samples (all channels) are read whole; longer single-rate,
#: single-segment records are paged.
WHOLE_LOAD_VALUES = 4_000_000
#: Longest multi-segment record read (samples, all channels): wfdb merges the segments in
#: memory (float64 plus its copies), and they are not paged. 50 million: 12 leads at 500 Hz
#: for 2.3 hours, ~0.4 GB as float64; a MIMIC record of days is refused with its segments named.
MAX_MULTI_SEGMENT_VALUES = 50_000_000
#: Most signals a header may declare (PhysioNet records have up to a few dozen).
MAX_SIGNALS = 1024
#: Largest header read (real ones are a few KB; the text is read whole).
MAX_HEADER_BYTES = 1 << 20
#: Longest record or signal line accepted (real ones are well under 200 characters): wfdb's
#: line patterns backtrack polynomially on a long line that does not match (a 64,000-character
#: line took it 29 s), so a longer line is refused before wfdb sees it.
MAX_HEADER_LINE = 4096
#: Read simple records with :mod:`ecgviewer.io._wfdb_fast` instead of wfdb (same values,
#: about 0.4 ms instead of 6 for a PTB-XL record); tests turn it off to compare.
FAST_PATH = True

#: Extensions that are never annotation files (everything else beside the header is tried).
_NOT_ANNOTATIONS = {
    "hea",
    "dat",
    "mat",
    "xyz",
    "txt",
    "csv",
    "json",
    "xml",
    "edf",
    "bdf",
    "md",
    "html",
    "pdf",
    "png",
    "jpg",
    "zip",
    "gz",
    "tar",
    "h5",
    "hdf5",
    "npy",
    "py",
    "sh",
    "log",
    "flac",
    "d0",
    "d1",
    "d2",
    "d3",
    "d4",
    "d5",
    "d6",
    "d7",
    "d8",
    "d9",
    "scp",
    "ini",
}


#: Extensions PhysioNet databases use for annotation files.
KNOWN_ANNOTATIONS = {
    "atr",
    "qrs",
    "ecg",
    "sqrs",
    "gqrs",
    "gqrsh",
    "gqrsl",
    "wqrs",
    "ari",
    "man",
    "pwave",
    "wabp",
    "apn",
    "st",
    "stb",
    "pu",
    "pu0",
    "pu1",
    "q1c",
    "qt1",
    "ann",
    "event",
    "alarm",
}


def record_name(path: Path) -> Path:
    """The WFDB record (path without extension) for a ``.hea``, a data file or a bare name."""
    if path.suffix.lower() == ".hea":
        return path.with_suffix("")
    if Path(str(path) + ".hea").is_file():
        return path
    if path.with_suffix(".hea").is_file():
        return path.with_suffix("")
    raise FileAccessError(path, "no WFDB header (.hea) found beside this file")


def _wfdb_error(path: Path, exc: BaseException, what: str) -> ECGError:
    if isinstance(exc, ECGError):
        return exc
    if isinstance(exc, PermissionError):
        return FileAccessError(path, f"permission denied reading the {what}")
    if isinstance(exc, FileNotFoundError):
        name = Path(exc.filename).name if exc.filename else "a file it names"
        return FileAccessError(path, f"the {what} refers to {name}, which is missing")
    text = f"{type(exc).__name__}: {exc}".strip()
    return CorruptFileError(path, f"invalid WFDB {what} ({text[:200]})")


def read(path: str | os.PathLike[str], **opts: Any) -> Record:
    """Read a WFDB record into a :class:`Record`.

    Parameters
    ----------
    path
        The ``.hea`` file, one of the record's signal files, or the record name.
    **opts
        ``whole_load_values`` overrides :data:`WHOLE_LOAD_VALUES`,
        ``max_multi_segment_values`` :data:`MAX_MULTI_SEGMENT_VALUES`; ``annotations=False``
        skips annotation files.

    Raises
    ------
    ECGError
        Missing or truncated signal files, header errors, no ECG channel, implausible rate.
    """
    p = Path(path)
    if p.exists() or not Path(str(p) + ".hea").is_file():  # a bare record name is fine too
        check_readable(p)
    rec = record_name(p)
    hea = rec.with_suffix(rec.suffix + ".hea") if rec.suffix else Path(str(rec) + ".hea")
    check_readable(hea)
    limit = int(opts.get("whole_load_values", WHOLE_LOAD_VALUES))
    # wfdb parses a header slowly (pandas lookups per field, ~4 ms for 12 leads) and
    # rdrecord parses it again: a simple record is parsed (and later decoded) by _wfdb_fast;
    # otherwise a quick scan of our own decides size checks and paging, so a short record
    # costs one wfdb parse.
    raw = _header_bytes(hea)
    fast = None
    if raw is not None:
        _check_line_lengths(hea, raw)
        _check_header_tokens(hea, raw)
        fast = _wfdb_fast.parse_header(raw) if FAST_PATH else None
    quick: Any = fast if fast is not None else _scan_header(hea, raw)
    if quick is None:
        try:
            quick = wfdb.rdheader(str(rec))
        except Exception as exc:  # wfdb raises bare ValueError/IndexError on malformed headers
            raise _wfdb_error(hea, exc, "header") from exc
    _check_counts(hea, quick)
    fs_frame = float(quick.fs or 0)
    if not math.isfinite(fs_frame) or fs_frame <= 0 or fs_frame > MAX_FS:
        raise InvalidSignalError(hea, f"sampling rate {fs_frame!r} Hz in the header is not usable")
    if not quick.n_sig:
        raise NoECGChannelsError(hea, "the header lists no signals")
    if _is_layout_segment(quick):
        raise NoECGChannelsError(
            hea,
            "the layout header of a multi-segment record (signal names, no samples): "
            "open the record's own header, which lists the segments",
        )
    multi = isinstance(quick, wfdb.MultiRecord) or bool(getattr(quick, "seg_name", None))
    total = int(quick.sig_len or 0) * int(quick.n_sig)
    if multi and total > int(opts.get("max_multi_segment_values", MAX_MULTI_SEGMENT_VALUES)):
        hours = int(quick.sig_len or 0) / fs_frame / 3600
        raise FileTooLargeError(
            hea,
            f"multi-segment record of {hours:,.1f} h ({total:,} samples in all) is too long "
            "to read at once (its segments are merged in memory): open one of its segments",
        )
    if multi:
        _check_segments(hea, rec, list(getattr(quick, "seg_name", None) or []))
    paged = False
    if not multi:
        _check_sizes(hea, rec.parent, quick)
        spf_quick = [int(s or 1) for s in (quick.samps_per_frame or [1] * quick.n_sig)]
        paged = set(spf_quick) == {1} and int(quick.sig_len or 0) * quick.n_sig > limit
    loaded = None
    try:
        if paged:
            header = wfdb.rdheader(str(rec))
        elif (
            fast is not None and (p_signal := _wfdb_fast.read_signal(rec.parent, fast)) is not None
        ):
            fast.p_signal = p_signal
            loaded = header = fast
        else:
            # A multi-segment header lacks the per-signal fields: wfdb merges the segments
            # (NaN in the gaps) and the merged record carries them.
            loaded = header = wfdb.rdrecord(str(rec), smooth_frames=False)
    except Exception as exc:
        raise _wfdb_error(hea, exc, "record") from exc
    fs_frame = float(header.fs)

    spf = [int(s or 1) for s in (header.samps_per_frame or [1] * header.n_sig)]
    names = [str(n) for n in (header.sig_name or [f"signal {i}" for i in range(header.n_sig)])]
    units = [u if u else "mV" for u in (header.units or ["mV"] * header.n_sig)]
    scales = [unit_scale(u) for u in units]
    is_ecg = classify_channels(names, [s is not None for s in scales])
    if not any(is_ecg):
        found = ", ".join(f"{n} ({u})" for n, u in zip(names, units, strict=True))
        raise NoECGChannelsError(hea, f"no ECG channel among {header.n_sig} signals: {found}")
    rates = [fs_frame * k for k in spf]
    fs_out = max(r for r, e in zip(rates, is_ecg, strict=True) if e)
    sig_len = int(header.sig_len or 0)
    notes: list[str] = []
    annotations: list[Annotation] = []
    lead_names = unique_names(
        [normalize_lead_name(n) if e else n for n, e in zip(names, is_ecg, strict=True)]
    )
    factors = [1.0 if s is None else s for s in scales]

    if paged:
        signal: Any = WfdbPagedSignal(rec, hea, factors, sig_len)
        notes.append("long record read page by page; invalid samples are drawn as 0 mV")
    else:
        signal = _read_whole(
            rec, hea, rates, fs_out, factors, lead_names, annotations, notes, loaded
        )
        tiny = _tiny_amplitude_note(signal, is_ecg, header, units)
        if tiny:
            notes.append(tiny)

    if opts.get("annotations", True):
        annotations.extend(_read_annotations(rec, header, fs_frame, notes))
    annotations.sort(key=lambda a: a.onset)
    age, sex = parse_age_sex(header.comments or [])
    start, start_note = _start(header)
    if start_note:
        notes.append(start_note)
    comments = header.comments or []
    return Record(
        signal=signal,
        fs=fs_out,
        leads=lead_names,
        start=start,
        patient=Patient(
            id=_comment(comments, _PATIENT_ID),
            age=age,
            sex=sex,
            name=person_name(_comment(comments, _PATIENT_NAME)),
            birth_date=birth_date(parse_date(_comment(comments, _BIRTH_DATE), "%Y-%m-%d")),
        ),
        annotations=annotations,
        source=str(hea),
        format="wfdb",
        non_ecg=tuple(n for n, e in zip(lead_names, is_ecg, strict=True) if not e),
        device=_comment(comments, _DEVICE),
        notes=tuple(notes),
    )


def _tiny_amplitude_note(
    signal: np.ndarray, is_ecg: list[bool], header: Any, units: list[str]
) -> str | None:
    """A note where every ECG lead spans under 10 uV (a thousandth of an ECG's) and the
    header's gain is 100,000 or more per unit: the gain is then most likely a thousand times
    too large (the PhysioNet/CinC 2020 copies of PTB write 2000000/mV where PTB has 2000).
    The samples are still shown as the header says; the note tells the reader why they look
    flat."""
    rows = [i for i, e in enumerate(is_ecg) if e and i < signal.shape[0]]
    gains = [float(g) for g in (getattr(header, "adc_gain", None) or [])]
    if not rows or len(gains) < signal.shape[0] or min(gains[i] for i in rows) < 1e5:
        return None
    with np.errstate(all="ignore"):
        x = np.asarray(signal[rows], dtype=np.float64)
        spans = np.nanmax(x, axis=1) - np.nanmin(x, axis=1)
    if not np.isfinite(spans).any() or np.nanmax(spans) >= 0.01:
        return None
    i = rows[0]
    return (
        f"every ECG lead spans under 10 uV (at most {1000 * float(np.nanmax(spans)):.2g} uV) "
        f"with a gain of {gains[i]:g} per {units[i]} in the header: that gain is probably a "
        "thousand times too large (amplitudes shown as the header gives them)"
    )


def _check_counts(hea: Path, header: Any) -> None:
    """Refuse a header whose signal count or length no recording has (10^9 signals, -5
    samples) before any list or array is sized from it."""
    n_sig = int(header.n_sig or 0)
    if not 0 <= n_sig <= MAX_SIGNALS:
        raise CorruptFileError(
            hea,
            f"the header declares {n_sig:,} signals (0 to {MAX_SIGNALS} expected): damaged header",
        )
    sig_len = header.sig_len
    if sig_len is not None and int(sig_len) < 0:
        raise CorruptFileError(
            hea, f"the header declares a negative length ({int(sig_len)} samples)"
        )


class _QuickHeader:
    """The fields of a WFDB header needed before reading: rate, length, signal files."""

    def __init__(self) -> None:
        self.fs: float = 250.0  # the WFDB default when the record line omits it
        self.n_sig = 0
        self.sig_len: int | None = None
        self.seg_name: list[str] | None = None
        self.file_name: list[str] = []
        self.fmt: list[str] = []
        self.samps_per_frame: list[int] = []
        self.byte_offset: list[int] = []


_FMT = re.compile(r"^(\d+)(?:x(\d+))?(?::(\d+))?(?:\+(\d+))?$")


def _header_bytes(hea: Path) -> bytes | None:
    """The header file's bytes; None when it cannot be read (wfdb then says why)."""
    try:
        if hea.stat().st_size > MAX_HEADER_BYTES:
            raise CorruptFileError(
                hea,
                f"a {hea.stat().st_size:,}-byte header is not a WFDB header (at most "
                f"{MAX_HEADER_BYTES:,} bytes are read)",
            )
        return hea.read_bytes()
    except OSError:
        return None


def _check_line_lengths(hea: Path, raw: bytes) -> None:
    """Refuse a header with a record or signal line longer than MAX_HEADER_LINE (comments
    may be long: wfdb does not pattern-match them)."""
    for number, line in enumerate(raw.splitlines(), start=1):
        if len(line) > MAX_HEADER_LINE and not line.lstrip().startswith(b"#"):
            raise CorruptFileError(
                hea,
                f"line {number} of the header is {len(line):,} characters long (at most "
                f"{MAX_HEADER_LINE:,} in a WFDB header): damaged or not a WFDB header",
            )


_INT = re.compile(r"-?\d+")
#: ``gain[(baseline)][/units]`` of a signal line.
_GAIN = re.compile(r"(?P<gain>[^(/]+)(?:\((?P<baseline>[^)]*)\))?(?:/(?P<units>.*))?")
#: Largest ADC gain (ADC units per physical unit) taken at face value: at 10^9 a 32-bit sample
#: spans about one unit; 10^308 made every lead a flat 0.
MAX_GAIN = 1e9


def _check_header_tokens(hea: Path, raw: bytes) -> None:
    """Refuse a record or signal line whose sampling frequency, length, format or gain does
    not parse, naming the line.

    wfdb's header patterns do not fail on such a token: they match a shorter prefix and shift
    the other fields, or take the default (``s0010_re 15 abc 38400`` read at 250 Hz, format
    ``16x-1`` named a lead ``-8337 0 i``, a length of ``1e9`` read 1 sample).
    """
    lines = [
        (number, text.split("#", 1)[0].split())
        for number, text in enumerate(raw.decode("latin-1").splitlines(), start=1)
    ]
    lines = [(number, fields) for number, fields in lines if fields]
    if not lines:
        return
    first, record = lines[0]

    def bad(line: int, what: str, token: str, expected: str) -> CorruptFileError:
        return CorruptFileError(
            hea, f"header line {line}: {what} {brief(token, 40)!r} is not {expected}"
        )

    fs = record[2] if len(record) > 2 else None
    if fs is not None:
        m = re.fullmatch(r"([^/(]+)(?:/([^(]+)(?:\(([^)]*)\))?)?", fs)
        if m is None or not all(is_number(g) for g in m.groups() if g is not None):
            raise bad(first, "sampling frequency", fs, "a number")
    if len(record) > 3 and not _INT.fullmatch(record[3]):
        raise bad(first, "sample count", record[3], "a whole number")
    if "/" in record[0] or len(record) < 2 or not _INT.fullmatch(record[1]):
        return  # a multi-segment record's segment lines; a bad signal count: said elsewhere
    for k, (number, fields) in enumerate(lines[1 : 1 + int(record[1])], start=1):
        name = " ".join(fields[8:]) or str(k)
        if len(fields) > 1 and not _FMT.fullmatch(fields[1]):
            raise bad(
                number, f"signal {name}: format", fields[1], "a WFDB format (16, 212x4, 16+512)"
            )
        if len(fields) < 3:
            continue
        g = _GAIN.fullmatch(fields[2])
        ok = (
            g is not None
            and is_number(g["gain"])
            and (g["baseline"] is None or _INT.fullmatch(g["baseline"]) is not None)
        )
        if not ok:
            raise bad(number, f"signal {name}: gain", fields[2], "gain[(baseline)][/units]")
        assert g is not None
        gain = float(g["gain"])
        # A gain of 0 is WFDB's "uncalibrated" (read at its default of 200, as wfdb does: real
        # records carry it on auxiliary channels, and refusing it would refuse the record).
        if not math.isfinite(gain) or abs(gain) > MAX_GAIN:
            raise InvalidSignalError(
                hea, f"header line {number}: signal {name} has an unusable gain {gain:g}"
            )


def _scan_header(hea: Path, raw: bytes | None) -> _QuickHeader | None:
    """Parse the record and signal lines; None when anything is unusual (wfdb then parses)."""
    if raw is None:
        return None
    text = raw.decode("latin-1")
    lines = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        return None
    q = _QuickHeader()
    tokens = lines[0].split()
    try:
        q.n_sig = int(tokens[1])
        if len(tokens) > 2:
            q.fs = float(tokens[2].split("/")[0].split("(")[0])
        if len(tokens) > 3:
            q.sig_len = int(tokens[3])
    except (IndexError, ValueError):
        return None
    _check_counts(hea, q)  # before wfdb is asked (it sizes lists from the count)
    if "/" in tokens[0]:
        q.seg_name = [ln.split()[0] for ln in lines[1:]]
        return q
    if len(lines) < 1 + q.n_sig:
        return None
    for line in lines[1 : 1 + q.n_sig]:
        parts = line.split()
        m = _FMT.match(parts[1]) if len(parts) > 1 else None
        if not m:
            return None
        q.file_name.append(parts[0])
        q.fmt.append(m.group(1))
        q.samps_per_frame.append(int(m.group(2) or 1))
        q.byte_offset.append(int(m.group(4) or 0))
    return q


def _check_segments(hea: Path, rec: Path, segments: list[str]) -> None:
    """Refuse a segment that is the record itself or another multi-segment record: WFDB
    segments are single-segment records, and wfdb would follow such a loop until Python's
    recursion limit."""
    for name in dict.fromkeys(segments):
        if name == "~":
            continue
        if name == rec.name:
            raise CorruptFileError(hea, f"segment {brief(name, 60)} refers to itself")
        raw = _header_bytes(rec.parent / f"{name}.hea")
        lines = [ln.strip() for ln in (raw or b"")[:MAX_HEADER_LINE].decode("latin-1").splitlines()]
        first = next((ln for ln in lines if ln and not ln.startswith("#")), "")
        if first and "/" in first.split()[0]:
            raise CorruptFileError(
                hea,
                f"segment {brief(name, 60)} is itself a multi-segment record "
                "(WFDB segments hold samples; nested segments are not read)",
            )


def _is_layout_segment(header: Any) -> bool:
    """Whether a header is a multi-segment record's layout segment (MIMIC's
    ``*_layout.hea``: every signal file "~", no samples), which holds no ECG of its own."""
    files = list(getattr(header, "file_name", None) or [])
    return bool(files) and all(f == "~" for f in files) and not int(header.sig_len or 0)


def _check_sizes(hea: Path, folder: Path, header: Any) -> None:
    """Compare every signal file's size with what the header promises."""
    if not header.sig_len or not header.file_name:
        return
    per_file: dict[str, list[int]] = {}
    for i, name in enumerate(header.file_name):
        per_file.setdefault(name, []).append(i)
    for name, idx in per_file.items():
        fmt = str(header.fmt[idx[0]])
        bps = _signal.BYTES_PER_SAMPLE.get(fmt, 0)
        if not bps:
            continue  # FLAC: compressed, size unknown in advance
        data = folder / name
        if not data.exists():
            raise FileAccessError(hea, f"signal file {name} named in the header is missing")
        stat_regular(data)  # a FIFO or device named as signal file is refused, never opened
        if not os.access(data, os.R_OK):
            raise FileAccessError(data, "permission denied: the file cannot be read")
        offset = int((header.byte_offset or [0] * header.n_sig)[idx[0]] or 0)
        spf = header.samps_per_frame or [1] * header.n_sig
        n = header.sig_len * sum(int(spf[i] or 1) for i in idx)
        need = offset + math.floor(n * bps)
        have = data.stat().st_size
        if _holds_text(data, offset):
            raise CorruptFileError(
                data,
                "the signal file holds numbers as text (a table saved with a .dat name), "
                "not WFDB binary samples: open the table as CSV with its sampling rate",
            )
        if have < need:
            raise CorruptFileError(
                data,
                f"signal data truncated: the header promises {header.sig_len} samples "
                f"per signal ({need} bytes) but the file has {have} bytes "
                f"(about {int(max(have - offset, 0) / max(n * bps, 1) * header.sig_len)} samples)",
            )


_TEXT_BYTES = frozenset(b"0123456789.-+eE \t\r\n,;")


def _holds_text(data: Path, offset: int) -> bool:
    """Whether a signal file begins with lines of numbers as text: a table exported and then
    named as the record's .dat (seen in a public project's "PTB" record), which wfdb reads
    as garbage without a word. Binary samples of an ECG all but never stay among digits,
    separators and line breaks for a kilobyte."""
    with open(data, "rb") as fh:
        fh.seek(offset)
        head = fh.read(1024)
    return (
        len(head) >= 64
        and set(head) <= _TEXT_BYTES
        and b"\n" in head
        and any(c in head for c in b"\t,; ")
        and any(48 <= c <= 57 for c in head)
    )


def _read_whole(
    rec: Path,
    hea: Path,
    rates: list[float],
    fs_out: float,
    factors: list[float],
    lead_names: list[str],
    annotations: list[Annotation],
    notes: list[str],
    r: Any = None,
) -> np.ndarray:
    if r is None:
        try:
            r = wfdb.rdrecord(str(rec), smooth_frames=False)
        except Exception as exc:
            raise _wfdb_error(hea, exc, "record") from exc
    n_frames = int(r.sig_len)
    n_out = int(round(n_frames * fs_out / float(r.fs)))
    if (
        r.e_p_signal is None
        and all(rate_ratio(fs_out, rate) == (1, 1) for rate in rates)
        and r.p_signal.shape[0] >= n_out
        and np.isfinite(r.p_signal).all()
    ):
        # One rate, every sample valid (most files): all channels at once, the same values
        # as channel by channel below, each lead's samples side by side (else Record copies them).
        scaled = r.p_signal[:n_out].T * np.asarray(factors, np.float64)[:, None]
        return scaled.astype(np.float32, order="C")
    chans = r.e_p_signal if r.e_p_signal is not None else list(r.p_signal.T)
    out = np.zeros((len(chans), n_out), dtype=np.float32)
    missing = np.zeros((len(chans), n_out), dtype=bool)
    resampled = []
    for i, x in enumerate(chans):
        x = np.asarray(x, dtype=np.float64)
        bad = ~np.isfinite(x)
        if bad.any():
            x = np.where(bad, 0.0, x)
        up, down = rate_ratio(fs_out, rates[i])
        if up != down:
            resampled.append(f"{lead_names[i]} ({rates[i]:g} Hz)")
            y = resample(x, up, down)[:n_out]
            if bad.any():  # each output sample inherits the state of its nearest input sample
                pos = np.minimum((np.arange(n_out) * down) // up, len(bad) - 1)
                missing[i] = bad[pos]
        else:
            y = x[:n_out]
            missing[i, : len(bad)] = bad[:n_out]
        out[i, : len(y)] = y * factors[i]
    if resampled:
        notes.append(f"resampled to {fs_out:g} Hz: {', '.join(resampled)}")
    if missing.any():
        every = np.asarray(missing.all(axis=0))
        for a, b in gap_runs(every):
            annotations.append(Annotation(a / fs_out, (b - a) / fs_out, GAP_TEXT, None))
        for i in range(len(chans)):
            for a, b in gap_runs(missing[i] & ~every):
                annotations.append(
                    Annotation(a / fs_out, (b - a) / fs_out, GAP_TEXT, lead_names[i])
                )
        counts = missing.sum(axis=1)
        which = ", ".join(f"{lead_names[i]} {int(c)}" for i, c in enumerate(counts) if c)
        notes.append(f"samples missing in the file (invalid or gap), drawn as 0 mV: {which}")
    return out


class WfdbPagedSignal(PagedSignalBase):
    """A long single-rate WFDB record read page by page (float32, mV); indexing and checks
    come from :class:`~ecgviewer.io._paged.PagedSignalBase`."""

    def __init__(self, rec: Path, hea: Path, factors: list[float], sig_len: int) -> None:
        self._rec = rec
        self._hea = hea
        self._path = hea
        self._factors = np.asarray(factors, dtype=np.float64)
        self.shape = (len(factors), sig_len)

    def _read_page(self, rows: list[int], a: int, b: int) -> np.ndarray:
        order = sorted(set(rows))
        try:
            r = wfdb.rdrecord(str(self._rec), sampfrom=a, sampto=b, channels=order)
        except Exception as exc:
            raise _wfdb_error(self._hea, exc, "record") from exc
        data = np.nan_to_num(r.p_signal.T, nan=0.0, posinf=0.0, neginf=0.0)
        data = data * self._factors[order][:, None]
        return data[[order.index(i) for i in rows]].astype(np.float32)


#: Folder listings for :func:`_files_of`: absolute folder -> (device, inode, mtime_ns,
#: {stem: sorted names}). A few folders (an archive is read folder by folder).
_LISTINGS: dict[str, tuple[int, int, int, dict[str, list[str]]]] = {}
_LISTINGS_MAX = 4
_LISTINGS_LOCK = threading.Lock()
#: A listing is kept only when the folder was last changed this long before it was taken:
#: a change within the file system's timestamp granularity (a jiffy on Linux, 2 s on FAT)
#: could leave the modification time unchanged.
_SETTLED_NS = 2_000_000_000


def _files_of(folder: Path, stem: str) -> list[str]:
    """The names ``<stem>.<ext>`` in ``folder`` (``<ext>`` without a dot), sorted: the files
    ``folder.glob(stem + ".*")`` gave that the caller does not skip for a dotted extension.

    One cached listing per folder, grouped by the name before the last dot, instead of a scan
    per record (a scan is O(files in the folder), so O(N^2) over an archive folder). A folder
    whose modification time (or identity) changed is listed again. The list is shared: read
    it, never change it."""
    key = os.path.abspath(folder)
    try:
        st = os.stat(key)
    except OSError:
        return []
    with _LISTINGS_LOCK:
        hit = _LISTINGS.get(key)
    if hit is not None and hit[:3] == (st.st_dev, st.st_ino, st.st_mtime_ns):
        return hit[3].get(stem, [])
    taken = time.time_ns()
    groups: dict[str, list[str]] = {}
    try:
        with os.scandir(key) as it:
            for entry in it:
                head, dot, _ = entry.name.rpartition(".")
                if dot:
                    groups.setdefault(head, []).append(entry.name)
    except OSError:
        return []
    for names in groups.values():
        names.sort()
    if taken - st.st_mtime_ns > _SETTLED_NS:
        with _LISTINGS_LOCK:
            _LISTINGS.pop(key, None)
            while len(_LISTINGS) >= _LISTINGS_MAX:
                del _LISTINGS[next(iter(_LISTINGS))]
            _LISTINGS[key] = (st.st_dev, st.st_ino, st.st_mtime_ns, groups)
    return groups.get(stem, [])


def _read_annotations(
    rec: Path, header: Any, fs_frame: float, notes: list[str]
) -> list[Annotation]:
    """Annotations from every annotation file beside the header. A damaged file with a known
    annotation extension is reported in ``notes`` (its beats are missing, and the user must
    know); an unknown extension that does not parse was not an annotation file."""
    folder = rec.parent
    stem = rec.name
    out: list[Annotation] = []
    for name in _files_of(folder, stem):
        f = folder / name
        ext = name[len(stem) + 1 :]
        if not ext or "." in ext or ext.lower() in _NOT_ANNOTATIONS or not f.is_file():
            continue
        if ext in (header.file_name or []) or f.name in (header.file_name or []):
            continue
        try:
            ann = wfdb.rdann(str(rec), ext)
        except Exception as exc:  # not an annotation file after all, or a damaged one
            log.info("%s: skipped %s, not a readable annotation file (%s)", rec, f.name, exc)
            if ext.lower() in KNOWN_ANNOTATIONS:
                notes.append(
                    f"annotation file {f.name} could not be read (damaged, or a variant not known here)"
                )
            continue
        fs = float(ann.fs) if ann.fs else fs_frame
        symbols = ann.symbol or [""] * len(ann.sample)
        aux = ann.aux_note or [""] * len(ann.sample)
        for sample, sym, note in zip(ann.sample, symbols, aux, strict=False):
            aux_text = str(note or "").replace("\x00", "").strip()
            symbol = str(sym or "").strip()
            # '"' is WFDB's NOTE code: the aux text is the whole message.
            text = (
                aux_text
                if symbol == '"' and aux_text
                else " ".join(t for t in (symbol, aux_text) if t)
            )
            if ext != "atr":  # .atr is the reference; name the source of any other file
                text = f"{text} [{ext}]"
            out.append(Annotation(float(sample) / fs, 0.0, text))
    return out


_AGE = re.compile(r"<?\bage\b>?\s*:\s*([0-9]+(?:\.[0-9]+)?)", re.IGNORECASE)
_SEX = re.compile(r"<?\b(?:sex|gender)\b>?\s*:\s*([A-Za-z]+)", re.IGNORECASE)
_MITBIH = re.compile(r"^\s*(\d{1,3})\s+([MF])\b")
# "patient id: X" and "device: X" comments (as ecgviewer's WFDB writer puts them). The value
# is stripped in Python: a lazy group before trailing whitespace backtracks quadratically on
# a long comment (32,000 spaces: 3.4 s).
_PATIENT_ID = re.compile(r"^\s*<?patient[ _]?id>?\s*:(.*)$", re.IGNORECASE)
_PATIENT_NAME = re.compile(r"^\s*<?patient[ _]?name>?\s*:(.*)$", re.IGNORECASE)
_BIRTH_DATE = re.compile(r"^\s*<?(?:birth[ _]?date|date of birth)>?\s*:(.*)$", re.IGNORECASE)
_DEVICE = re.compile(r"^\s*<?device>?\s*:(.*)$", re.IGNORECASE)


def _comment(comments: list[str], pattern: re.Pattern[str]) -> str | None:
    """The first non-empty value (surrounding whitespace removed) of ``pattern``'s lines."""
    for line in comments:
        m = pattern.match(line)
        if m and m.group(1).strip():
            return m.group(1).strip()
    return None


def parse_age_sex(comments: list[str]) -> tuple[float | None, str | None]:
    """Age (years) and sex ("M"/"F") from WFDB header comments; None when absent or "??"."""
    age: float | None = None
    sex: str | None = None
    for line in comments:
        m = _AGE.search(line)
        if m and age is None:
            value = float(m.group(1))
            age = value if 0 <= value < 130 else None
        m = _SEX.search(line)
        if m and sex is None:
            word = m.group(1).lower()
            sex = (
                "M"
                if word in ("m", "male", "man")
                else "F"
                if word in ("f", "female", "woman")
                else None
            )
    if age is None and sex is None:
        for line in comments:
            m = _MITBIH.match(line)
            if m:
                return float(m.group(1)), m.group(2)
    return age, sex


def _start(header: Any) -> tuple[datetime | None, str | None]:
    if header.base_date is not None and header.base_time is not None:
        return datetime.combine(header.base_date, header.base_time), None
    if header.base_time is not None:
        return None, f"start time of day {header.base_time.isoformat()} (no date in the header)"
    return None, None
