"""ISHNE Holter (ISHNE standard output format 1.0, Badilini et al., A.N.E. 1998) with its
beat annotation file.

Layout, little-endian throughout:

- ``.ecg``: magic ``ISHNE1.0`` (8 bytes), a CRC-CCITT of the header (uint16), a 512-byte fixed
  header (variable-block size, samples per lead, offsets of the variable block and the ECG,
  version, names, id, sex, race, birth/record/file dates, start time, number of leads, 12 lead
  specifications, 12 lead qualities, 12 amplitude resolutions in nV, pacemaker code, recorder,
  sampling rate, ...), the variable-length block, then the samples as int16 interleaved by lead
  (sample-major).
- ``.ann``: magic ``ANN  1.0``, CRC, the same header, then a uint32 sample number of the first
  annotation and 4-byte records (label, internal use, uint16 samples since the previous one).

The header CRC (CRC-CCITT, initial value 0xFFFF, over the bytes from offset 10 to the start of
the ECG; either byte order) is checked. Writers in the field get it wrong or leave it 0, so a
mismatch does not refuse the file (other readers, e.g. ecgdatakit, only warn too): the Record
carries a note saying the header fields are unverified, and every field is still checked for
plausibility (rate, lead count, resolution, data size), which raises on damage.

Samples are reached through ``np.memmap``: files up to :data:`WHOLE_LOAD_VALUES` output
values are read at once, longer ones (a 24-48 h Holter) get an :class:`IshnePagedSignal` that
reads only the requested page. Opening the ``.ann`` opens the ``.ecg`` beside it.
"""

from __future__ import annotations

import binascii
import os
import re
import struct
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np

from ecgviewer.errors import (
    CorruptFileError,
    FileAccessError,
    InvalidSignalError,
    UnknownFormatError,
)
from ecgviewer.io._channels import unique_names
from ecgviewer.io._common import birth_date, check_readable, person_name
from ecgviewer.io._paged import PagedSignalBase
from ecgviewer.record import MAX_FS, MIN_FS, Annotation, Patient, Record

__all__ = ["read", "IshneHeader", "IshnePagedSignal", "read_header"]

#: Files with at most this many output values are read whole; longer ones are paged.
WHOLE_LOAD_VALUES = 4_000_000
PREAMBLE = 10  # magic + CRC
FIXED_HEADER = 512
ECG_MAGIC = b"ISHNE1.0"
ANN_MAGIC = b"ANN  1.0"

#: Lead specification codes (standard, table 2).
LEAD_SPECS: dict[int, str] = {
    1: "bipolar",
    2: "X",
    3: "Y",
    4: "Z",
    5: "I",
    6: "II",
    7: "III",
    8: "aVR",
    9: "aVL",
    10: "aVF",
    11: "V1",
    12: "V2",
    13: "V3",
    14: "V4",
    15: "V5",
    16: "V6",
    17: "ES",
    18: "AS",
    19: "AI",
}
LEAD_QUALITY: dict[int, str] = {
    2: "intermittent noise",
    3: "frequent noise",
    4: "intermittent disconnection",
    5: "frequent disconnection",
}
PACEMAKER: dict[int, str] = {
    1: "pacemaker of unknown type",
    2: "single-chamber unipolar pacemaker",
    3: "dual-chamber unipolar pacemaker",
    4: "single-chamber bipolar pacemaker",
    5: "dual-chamber bipolar pacemaker",
}
#: Beat labels of the annotation file (standard, table 3).
BEAT_LABELS: dict[str, str] = {
    "N": "N",
    "V": "V",
    "S": "S",
    "C": "calibration",
    "B": "bundle branch block beat",
    "P": "paced",
    "X": "artefact",
    "!": "timeout",
    "U": "unknown beat",
}

_FIXED = struct.Struct("<iiiih40s40s20shh3h3h3h3hh12h12h12hh40sh80s80s88s")
assert _FIXED.size == FIXED_HEADER


@dataclass
class IshneHeader:
    """The fixed header of an ISHNE ``.ecg`` or ``.ann`` file, checked."""

    path: Path
    magic: bytes
    var_block_size: int
    samples_per_lead: int
    var_block_offset: int
    ecg_offset: int
    version: int
    first_name: str
    last_name: str
    patient_id: str
    sex: int
    race: int
    birth_date: tuple[int, int, int]
    record_date: tuple[int, int, int]
    file_date: tuple[int, int, int]
    start_time: tuple[int, int, int]
    n_leads: int
    lead_spec: list[int]
    lead_quality: list[int]
    resolution_nv: list[int]
    pacemaker: int
    recorder: str
    fs: float
    variable_block: bytes
    crc_problem: str | None = None  # why the header CRC could not confirm the fields

    def start(self) -> datetime | None:
        d, m, y = self.record_date
        hh, mm, ss = self.start_time
        try:
            return datetime.combine(date(y, m, d), time(hh, mm, ss))
        except (ValueError, OverflowError):
            return None

    def birth(self) -> date | None:
        d, m, y = self.birth_date
        try:
            return date(y, m, d)
        except (ValueError, OverflowError):
            return None


def _str(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("latin-1").strip()


def _other_ecg_hint(head: bytes) -> str:
    """What a non-ISHNE ``.ecg`` file looks like, where it is recognisable: Contec's ECG90A
    raw files (a NUL-ended record number, then the recording's date and time as text) share
    the extension; the cart's own software exports them as EDF or SCP-ECG, which are read."""
    if re.match(rb"\d{4,10}\x00+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", head[:48]):
        return (
            ": a Contec ECG90A raw file, which this program does not read; export it as EDF "
            "or SCP-ECG from the Contec software"
        )
    return ""


def read_header(path: Path, expect: bytes) -> IshneHeader:
    """Parse and check the header of ``path`` (``expect``: the magic it must have)."""
    try:
        with open(path, "rb") as fh:
            pre = fh.read(PREAMBLE + FIXED_HEADER)
            if len(pre) < PREAMBLE + FIXED_HEADER:
                raise CorruptFileError(
                    path, f"ISHNE header truncated ({len(pre)} of {PREAMBLE + FIXED_HEADER} bytes)"
                )
            magic = pre[:8]
            if magic != expect:
                raise UnknownFormatError(
                    path,
                    f"not an ISHNE {'annotation' if expect == ANN_MAGIC else 'ECG'} "
                    f"file (magic {magic!r}, expected {expect!r})" + _other_ecg_hint(pre),
                )
            f = _FIXED.unpack(pre[PREAMBLE:])
            var_size, n_samples, var_off, ecg_off = f[0], f[1], f[2], f[3]
            if (
                var_size < 0
                or var_off != PREAMBLE + FIXED_HEADER
                or ecg_off != var_off + var_size
                or var_size > 64 * 2**20
            ):
                raise CorruptFileError(
                    path,
                    f"ISHNE header offsets disagree (variable block {var_size} bytes at "
                    f"{var_off}, data at {ecg_off})",
                )
            var_block = fh.read(var_size)
    except PermissionError:
        raise FileAccessError(path, "permission denied: the file cannot be read") from None
    except OSError as exc:
        raise FileAccessError(path, f"cannot be opened: {exc.strerror or exc}") from None
    if len(var_block) < var_size:
        raise CorruptFileError(path, "ISHNE variable-length header block is truncated")
    stored = struct.unpack("<H", pre[8:10])[0]
    computed = binascii.crc_hqx(pre[PREAMBLE:] + var_block, 0xFFFF)
    swapped = ((computed & 0xFF) << 8) | (computed >> 8)
    crc_problem = None
    if stored == 0:
        crc_problem = "the header has no CRC (0): its fields could not be verified"
    elif stored not in (computed, swapped):
        crc_problem = (
            f"header CRC {stored:#06x} does not match its fields ({computed:#06x}): "
            "the header may be damaged; check the rate and amplitudes"
        )
    n_leads = f[22]
    return IshneHeader(
        path=path,
        magic=magic,
        var_block_size=var_size,
        samples_per_lead=n_samples,
        var_block_offset=var_off,
        ecg_offset=ecg_off,
        version=f[4],
        first_name=_str(f[5]),
        last_name=_str(f[6]),
        patient_id=_str(f[7]),
        sex=f[8],
        race=f[9],
        birth_date=tuple(f[10:13]),
        record_date=tuple(f[13:16]),
        file_date=tuple(f[16:19]),
        start_time=tuple(f[19:22]),
        n_leads=n_leads,
        lead_spec=list(f[23:35]),
        lead_quality=list(f[35:47]),
        resolution_nv=list(f[47:59]),
        pacemaker=f[59],
        recorder=_str(f[60]),
        fs=float(f[61]),
        variable_block=var_block,
        crc_problem=crc_problem,
    )


def _check(hdr: IshneHeader, file_size: int) -> tuple[IshneHeader, str | None]:
    """Refuse a header no reading can trust. A file holding fewer samples than its header
    promises (a copy cut short, or a writer that put the total over all leads in the
    per-lead field) is read as far as it goes, with a note, when at least a second is there:
    the header and that note are returned."""
    path = hdr.path
    if not 1 <= hdr.n_leads <= 12:
        raise CorruptFileError(path, f"ISHNE header gives {hdr.n_leads} leads (1-12 allowed)")
    if not MIN_FS <= hdr.fs <= MAX_FS:
        raise InvalidSignalError(path, f"ISHNE sampling rate {hdr.fs:g} Hz is implausible")
    res = hdr.resolution_nv[: hdr.n_leads]
    if any(r <= 0 for r in res):
        k = next(i for i, r in enumerate(res) if r <= 0)
        raise CorruptFileError(
            path, f"lead {k + 1}: amplitude resolution {res[k]} nV is not positive"
        )
    if hdr.samples_per_lead <= 0:
        raise CorruptFileError(path, f"ISHNE header gives {hdr.samples_per_lead} samples per lead")
    have = (file_size - hdr.ecg_offset) // (2 * hdr.n_leads)
    if have >= hdr.samples_per_lead:
        return hdr, None
    if have < hdr.fs:
        raise CorruptFileError(
            path,
            f"ISHNE data is truncated: the header promises {hdr.samples_per_lead} samples "
            f"per lead, the file holds {max(have, 0)}",
        )
    note = (
        f"the file holds {have} of the {hdr.samples_per_lead} samples per lead its header "
        f"promises ({_duration(have / hdr.fs)} of {_duration(hdr.samples_per_lead / hdr.fs)}): "
        "cut short, the samples present are shown"
    )
    return replace(hdr, samples_per_lead=int(have)), note


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


class IshnePagedSignal(PagedSignalBase):
    """A long ISHNE recording read page by page from disk (float32 mV).

    Each page maps the file afresh, so no handle outlives a read and worker threads can read
    safely; indexing and checks come from :class:`~ecgviewer.io._paged.PagedSignalBase`.
    """

    def __init__(self, hdr: IshneHeader, stat: tuple[int, int]) -> None:
        self._hdr = hdr
        self._path = hdr.path
        self._stamp = stat
        self._scale = np.array(hdr.resolution_nv[: hdr.n_leads], dtype=np.float64) * 1e-6
        self.shape = (hdr.n_leads, hdr.samples_per_lead)

    def _read_page(self, rows: list[int], a: int, b: int) -> np.ndarray:
        n = self._hdr.n_leads
        table = np.memmap(
            self._path,
            dtype="<i2",
            mode="r",
            offset=self._hdr.ecg_offset + 2 * n * a,
            shape=(b - a, n),
        )
        try:
            page = table[:, rows].T.astype(np.float32)
        finally:
            del table
        page *= self._scale[rows, None].astype(np.float32)
        return page


def _sibling(path: Path, suffix: str) -> Path | None:
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.is_file():
            return candidate
    return None


def read(path: Path, **opts: Any) -> Record:
    """Read an ISHNE Holter ``.ecg`` (or its ``.ann``: the ``.ecg`` beside it is opened).

    Parameters
    ----------
    **opts
        ``whole_load_values`` overrides :data:`WHOLE_LOAD_VALUES` (tests, benchmarks).
    """
    path = Path(path)
    check_readable(path)
    with open(path, "rb") as fh:
        magic = fh.read(8)
    ann_path: Path | None = None
    if magic == ANN_MAGIC:
        ann_path = path
        ecg = _sibling(path, ".ecg")
        if ecg is None:
            raise FileAccessError(
                path,
                "an ISHNE annotation file: its recording "
                f"({path.with_suffix('.ecg').name}) is not beside it",
            )
        path = ecg
        check_readable(path)
    else:
        ann_path = _sibling(path, ".ann")
    st = os.stat(path)
    hdr = read_header(path, ECG_MAGIC)
    hdr, cut_short = _check(hdr, st.st_size)
    n = hdr.n_leads
    signal: Any = IshnePagedSignal(hdr, (st.st_size, st.st_mtime_ns))
    if n * hdr.samples_per_lead <= int(opts.get("whole_load_values", WHOLE_LOAD_VALUES)):
        signal = signal.read(list(range(n)), 0, hdr.samples_per_lead)
    notes: list[str] = [cut_short] if cut_short else []
    names = []
    for k in range(n):
        spec = hdr.lead_spec[k]
        name = LEAD_SPECS.get(spec)
        if name is None or name == "bipolar":
            name = f"lead {k + 1}" + (" (bipolar)" if name else "")
        names.append(name)
        quality = LEAD_QUALITY.get(hdr.lead_quality[k])
        if quality:
            notes.append(f"{name}: the recorder reports {quality}")
    if hdr.crc_problem:
        notes.append(hdr.crc_problem)
    if hdr.pacemaker in PACEMAKER:
        notes.append(f"patient has a {PACEMAKER[hdr.pacemaker]}")
    annotations: list[Annotation] = []
    if ann_path is not None:
        try:
            annotations = _annotations(ann_path, hdr, notes)
        except (CorruptFileError, UnknownFormatError, FileAccessError) as exc:
            notes.append(f"beat annotations not read: {exc.problem}")
    start = hdr.start()
    birth = hdr.birth()
    age = None
    if birth and start:
        years = start.year - birth.year - ((start.month, start.day) < (birth.month, birth.day))
        age = float(years) if 0 <= years < 150 else None
    pid = hdr.patient_id if hdr.patient_id.lower() not in ("", "none", "x") else None
    return Record(
        signal=signal,
        fs=hdr.fs,
        leads=unique_names(names),
        start=start,
        patient=Patient(
            id=pid,
            age=age,
            sex={1: "M", 2: "F"}.get(hdr.sex),
            name=person_name(hdr.last_name, hdr.first_name),
            birth_date=birth_date(birth, start),
        ),
        annotations=annotations,
        source=str(path),
        format="ishne",
        device=hdr.recorder or None,
        notes=tuple(notes),
    )


def _annotations(path: Path, ecg: IshneHeader, notes: list[str]) -> list[Annotation]:
    """Beat labels of the ``.ann`` file, at their sample times."""
    size = path.stat().st_size
    hdr = read_header(path, ANN_MAGIC)
    if hdr.crc_problem and not hdr.crc_problem.startswith("the header has no CRC"):
        notes.append(f"annotation file: {hdr.crc_problem}")
    body = size - hdr.ecg_offset - 4
    if body < 0:
        raise CorruptFileError(path, "ISHNE annotation file has no annotation data")
    n = body // 4
    first = np.fromfile(path, dtype="<u4", count=1, offset=hdr.ecg_offset)
    recs = np.fromfile(
        path,
        dtype=[("label", "S1"), ("internal", "S1"), ("toc", "<u2")],
        count=n,
        offset=hdr.ecg_offset + 4,
    )
    times = int(first[0]) + np.cumsum(recs["toc"].astype(np.int64))
    out = []
    for label, t in zip(recs["label"], times, strict=True):
        if t > ecg.samples_per_lead:
            break
        text = label.decode("latin-1")
        if not text.strip("\x00 "):
            continue
        out.append(Annotation(float(t) / ecg.fs, 0.0, BEAT_LABELS.get(text, text)))
    return out
