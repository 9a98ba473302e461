"""The EDF/BDF byte layout, read directly: header fields, samples through ``np.memmap``,
and EDF+ time-stamped annotation lists (TALs).

Why not pyedflib alone: edflib refuses EDF+D files outright ("the file is discontinuous and
cannot be read"), and reading samples through a memory map of the data records is faster
than edflib's record-by-record copy (a file of 1-sample records, as the Contec ECG90A writes,
reads ~50x faster) and never loads more than the requested page. pyedflib still validates
and describes EDF/EDF+C/BDF files in :mod:`ecgviewer.io.edf`; this module is the fallback for
EDF+D and the sample reader for all.

Digital to physical follows the EDF spec (and edflib):
``physical = (pmax - pmin) / (dmax - dmin) * (digital - dmin) + pmin``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from ecgviewer.errors import CorruptFileError, FileAccessError, FileTooLargeError

ANNOTATION_LABELS = ("EDF Annotations", "BDF Annotations")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@dataclass
class EdfHeader:
    """All header fields of an EDF/BDF file, parsed and checked against the file size."""

    path: Path
    version: bytes
    patient: str
    recording: str
    startdate: str
    starttime: str
    header_bytes: int
    reserved: str
    n_records: int
    record_duration: float
    labels: list[str]
    dims: list[str]
    pmin: np.ndarray
    pmax: np.ndarray
    dmin: np.ndarray
    dmax: np.ndarray
    spr: list[int]

    @property
    def is_bdf(self) -> bool:
        return self.version == b"\xffBIOSEMI"

    @property
    def is_plus(self) -> bool:
        return self.reserved.startswith(("EDF+", "BDF+"))

    @property
    def is_discontinuous(self) -> bool:
        return self.reserved.startswith(("EDF+D", "BDF+D"))

    @property
    def bytes_per_sample(self) -> int:
        return 3 if self.is_bdf else 2

    @property
    def record_bytes(self) -> int:
        return sum(self.spr) * self.bytes_per_sample

    @property
    def annotation_signals(self) -> list[int]:
        return [i for i, lab in enumerate(self.labels) if lab in ANNOTATION_LABELS]

    @property
    def data_signals(self) -> list[int]:
        """Signal numbers of the real signals, in the order pyedflib numbers them."""
        return [i for i, lab in enumerate(self.labels) if lab not in ANNOTATION_LABELS]

    def byte_offset(self, sig: int) -> int:
        """Offset of signal ``sig`` inside one data record."""
        return sum(self.spr[:sig]) * self.bytes_per_sample

    def start(self) -> datetime | None:
        """Start date and time from the header (EDF+ recording field year when present)."""
        try:
            day, month, yy = (int(x) for x in self.startdate.split("."))
            hh, mm, ss = (int(x) for x in self.starttime.split("."))
        except ValueError:
            return None
        year = 1900 + yy if yy >= 85 else 2000 + yy
        m = re.match(r"Startdate\s+(\d{2})-([A-Z]{3})-(\d{4})", self.recording.upper())
        if self.is_plus and m and m.group(2) in _MONTHS:
            year = int(m.group(3))
        try:
            return datetime(year, month, day, hh, mm, ss)
        except ValueError:
            return None


def _text(raw: bytes) -> str:
    return raw.decode("latin-1").strip()


def _numbers(path: Path, raw: bytes, n: int, width: int, what: str, kind: type) -> list:
    try:
        return [kind(_text(raw[width * i : width * (i + 1)])) for i in range(n)]
    except ValueError:
        raise CorruptFileError(path, f"EDF signal header field '{what}' is not a number") from None


def read_header(path: Path, file_size: int) -> EdfHeader:
    """Parse and check the header; raise :class:`CorruptFileError` on any inconsistency."""
    try:
        with open(path, "rb") as fh:
            main = fh.read(256)
            if len(main) < 256:
                raise CorruptFileError(path, f"EDF header truncated ({len(main)} of 256 bytes)")
            try:
                ns = int(_text(main[252:256]))
                header_bytes = int(_text(main[184:192]))
                n_records = int(_text(main[236:244]))
                duration = float(_text(main[244:252]))
            except ValueError:
                raise CorruptFileError(
                    path,
                    "EDF header fields (signal count, header size, record count or "
                    "record duration) are not numbers",
                ) from None
            if not 0 <= ns <= 4096 or header_bytes != 256 * (ns + 1):
                raise CorruptFileError(
                    path, f"EDF header size {header_bytes} does not fit {ns} signals"
                )
            sig = fh.read(256 * ns)
    except PermissionError:
        raise FileAccessError(path, "permission denied: the file cannot be read") from None
    except OSError as exc:
        raise FileAccessError(path, f"cannot be opened: {exc.strerror or exc}") from None
    if len(sig) < 256 * ns:
        raise CorruptFileError(path, "EDF signal headers truncated")
    at = [0]

    def field(width: int) -> bytes:
        start = at[0] * ns
        at[0] += width
        return sig[start : start + width * ns]

    labels = [_text(x) for x in _chunks(field(16), 16, ns)]
    field(80)  # transducer
    dims = [_text(x) for x in _chunks(field(8), 8, ns)]
    pmin = np.array(_numbers(path, field(8), ns, 8, "physical minimum", float))
    pmax = np.array(_numbers(path, field(8), ns, 8, "physical maximum", float))
    dmin = np.array(_numbers(path, field(8), ns, 8, "digital minimum", int), dtype=np.float64)
    dmax = np.array(_numbers(path, field(8), ns, 8, "digital maximum", int), dtype=np.float64)
    field(80)  # prefilter
    spr = _numbers(path, field(8), ns, 8, "samples per record", int)
    hdr = EdfHeader(
        path=path,
        version=main[:8],
        patient=_text(main[8:88]),
        recording=_text(main[88:168]),
        startdate=_text(main[168:176]),
        starttime=_text(main[176:184]),
        header_bytes=header_bytes,
        reserved=_text(main[192:236]),
        n_records=n_records,
        record_duration=duration,
        labels=labels,
        dims=dims,
        pmin=pmin,
        pmax=pmax,
        dmin=dmin,
        dmax=dmax,
        spr=spr,
    )
    _check(hdr, file_size)
    return hdr


def _chunks(raw: bytes, width: int, n: int) -> list[bytes]:
    return [raw[width * i : width * (i + 1)] for i in range(n)]


def _check(hdr: EdfHeader, file_size: int) -> None:
    path = hdr.path
    if any(n <= 0 for n in hdr.spr):
        raise CorruptFileError(path, "a signal has no samples per data record")
    if hdr.record_duration < 0 or (hdr.record_duration == 0 and hdr.data_signals):
        raise CorruptFileError(
            path, f"data record duration {hdr.record_duration:g} s gives no sampling rate"
        )
    if (hdr.dmax <= hdr.dmin).any():
        i = int(np.argmax(hdr.dmax <= hdr.dmin))
        raise CorruptFileError(path, f"signal {hdr.labels[i]}: digital maximum <= minimum")
    if (hdr.pmax == hdr.pmin).any():
        i = int(np.argmax(hdr.pmax == hdr.pmin))
        raise CorruptFileError(path, f"signal {hdr.labels[i]}: physical maximum = minimum")
    data_bytes = file_size - hdr.header_bytes
    if hdr.n_records < 0:  # -1: still being recorded; count from the size
        hdr.n_records = data_bytes // hdr.record_bytes
    expected = hdr.n_records * hdr.record_bytes
    if data_bytes < expected:
        raise CorruptFileError(
            path,
            f"EDF data is truncated: the header promises {hdr.n_records} data records "
            f"({expected} bytes) but the file holds {max(data_bytes, 0)} bytes",
        )


def records(hdr: EdfHeader) -> np.memmap:
    """The data records as a read-only (n_records, record_bytes) byte matrix."""
    return np.memmap(
        hdr.path,
        dtype=np.uint8,
        mode="r",
        offset=hdr.header_bytes,
        shape=(hdr.n_records, hdr.record_bytes),
    )


def read_physical(hdr: EdfHeader, table: np.ndarray, sig: int, s0: int, s1: int) -> np.ndarray:
    """Samples ``s0:s1`` (counted over the whole file) of signal ``sig``, in physical units."""
    spr = hdr.spr[sig]
    r0, r1 = s0 // spr, -(-s1 // spr)
    bps = hdr.bytes_per_sample
    off = hdr.byte_offset(sig)
    block = np.ascontiguousarray(table[r0:r1, off : off + spr * bps])
    if bps == 2:
        digital = block.view("<i2").reshape(-1).astype(np.float64)
    else:
        b = block.reshape(-1, 3).astype(np.int32)
        value = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        digital = np.where(value >= 1 << 23, value - (1 << 24), value).astype(np.float64)
    digital = digital[s0 - r0 * spr : s1 - r0 * spr]
    gain = (hdr.pmax[sig] - hdr.pmin[sig]) / (hdr.dmax[sig] - hdr.dmin[sig])
    return gain * (digital - hdr.dmin[sig]) + hdr.pmin[sig]


#: Most annotations read from one EDF+ file (a 24 h Holter with one per beat has ~100,000);
#: each costs ~0.4 KB in memory, so a file of tiny dense TALs is refused, not parsed to death.
MAX_ANNOTATIONS = 1_000_000


def read_tals(
    hdr: EdfHeader, record_onsets: bool = True
) -> tuple[np.ndarray | None, list[tuple[float, float, str]]]:
    """Every annotation ``(onset, duration, text)`` and, if asked, the onset of each data
    record, in seconds as written (relative to the header start time).

    Most data records hold only their time-keeping TAL ("+12\x14\x14\x00"): records with
    more are found with array operations over the annotation slots, and only those are
    parsed in Python, so a 24 h file of 86,400 records is scanned in tens of milliseconds.
    The slots are taken a window of records at a time (never all at once), and more than
    :data:`MAX_ANNOTATIONS` annotations are refused.
    """
    ann = hdr.annotation_signals
    if not ann:
        raise CorruptFileError(hdr.path, "EDF+ file without an annotation signal")
    onsets = np.empty(hdr.n_records) if record_onsets else None
    notes: list[tuple[float, float, str]] = []
    for r0, blocks in _slot_windows(hdr, ann):
        if onsets is not None:
            for r, row in enumerate(blocks[0], start=r0):
                onsets[r] = _tal_onset(hdr, r, row.tobytes().split(b"\x14", 1)[0])
        for r in _busy_rows(blocks):
            _parse_record_tals(hdr, r0 + int(r), [block[r] for block in blocks], notes)
            if len(notes) > MAX_ANNOTATIONS:
                raise FileTooLargeError(
                    hdr.path,
                    f"more than {MAX_ANNOTATIONS:,} EDF+ annotations (by data record "
                    f"{r0 + int(r)} of {hdr.n_records}): over the limit, not opened",
                )
    notes.sort(key=lambda note: note[0])
    return onsets, notes


def _busy_rows(blocks: list[np.ndarray]) -> np.ndarray:
    """Rows with anything after the first slot's time-keeping TAL (its terminating NUL)."""
    first = blocks[0]
    nonzero = first != 0
    end = np.argmax(~nonzero, axis=1)  # first NUL (0 when the slot is full)
    cols = np.arange(first.shape[1])[None, :]
    busy = (nonzero & (cols > end[:, None])).any(axis=1) | (end == 0)
    for extra in blocks[1:]:
        busy |= (extra != 0).any(axis=1)
    return np.flatnonzero(busy)


def _parse_record_tals(
    hdr: EdfHeader, r: int, slots: list[np.ndarray], notes: list[tuple[float, float, str]]
) -> None:
    for k, slot in enumerate(slots):
        tals = slot.tobytes().rstrip(b"\x00").split(b"\x00")
        for t, tal in enumerate(tals):
            if not tal:
                continue
            head, *texts = tal.split(b"\x14")
            onset_s, _, dur_s = head.partition(b"\x15")
            onset = _tal_onset(hdr, r, onset_s)
            try:
                duration = float(dur_s) if dur_s else 0.0
            except ValueError:
                duration = 0.0
            if k == 0 and t == 0:
                texts = texts[1:]  # the time-keeping TAL's own (empty) text
            for raw_text in texts:
                text = raw_text.decode("utf-8", errors="replace").strip()
                if text:
                    notes.append((onset, duration, text))


#: Bytes of data records mapped at a time while gathering annotation slots. The slots are
#: spread over the whole file; mapping it in windows keeps the resident set small (a 1 GB
#: file mapped at once would count 1 GB of page cache in the process's peak RSS).
GATHER_WINDOW_BYTES = 32 * 2**20


def _slot_windows(hdr: EdfHeader, sigs: list[int]) -> Iterator[tuple[int, list[np.ndarray]]]:
    """``(first record, slots)`` per window of records: the bytes of signals ``sigs`` in
    each record of the window, one (records, slot) array per signal."""
    bps = hdr.bytes_per_sample
    spans = [(hdr.byte_offset(s), hdr.spr[s] * bps) for s in sigs]
    step = max(1, GATHER_WINDOW_BYTES // hdr.record_bytes)
    for r0 in range(0, hdr.n_records, step):
        r1 = min(hdr.n_records, r0 + step)
        window = np.memmap(
            hdr.path,
            dtype=np.uint8,
            mode="r",
            offset=hdr.header_bytes + r0 * hdr.record_bytes,
            shape=(r1 - r0, hdr.record_bytes),
        )
        slots = [np.array(window[:, off : off + width]) for off, width in spans]
        del window
        yield r0, slots


def _tal_onset(hdr: EdfHeader, r: int, text: bytes) -> float:
    try:
        return float(text)
    except ValueError:
        raise CorruptFileError(
            hdr.path, f"EDF+ data record {r} has no valid time stamp ({text[:20]!r})"
        ) from None


def first_onset(hdr: EdfHeader) -> float:
    """Onset (s after the header start time) of the first data record of an EDF+ file: the
    sub-second part of the start time, which the header's hh.mm.ss cannot hold."""
    ann = hdr.annotation_signals
    if not hdr.is_plus or not ann or hdr.n_records == 0:
        return 0.0
    off = hdr.byte_offset(ann[0])
    with open(hdr.path, "rb") as fh:
        fh.seek(hdr.header_bytes + off)
        head = fh.read(min(hdr.spr[ann[0]] * hdr.bytes_per_sample, 64))
    try:
        return float(head.split(b"\x14", 1)[0])
    except ValueError:
        raise CorruptFileError(hdr.path, "first EDF+ data record has no valid time stamp") from None
