"""SCP-ECG (EN 1064 / ISO 11073-91064, protocol versions 1.x-3.0), sections 0-11.

Written here from the standard's public descriptions; what is read:

- **0** pointers (each section's place; every section header checked against it: one a few
  bytes off, or one naming another section with the pointer's length and a good CRC, is
  taken with a note);
- **1** patient and acquisition: patient id, age (any unit), sex, acquisition date and time,
  the acquiring device (model, manufacturer, software);
- **2** Huffman tables: the default table (marker 19999) or the file's own tables, table
  switches included (:mod:`ecgviewer.io._scp_huffman`);
- **3** leads: names from the standard's lead codes, sample ranges, the reference-beat
  subtraction flag;
- **4** QRS locations: subtraction zones and protected zones;
- **5** reference beats (type 0) -> ``Record.cart.median_beats``;
- **6** rhythm (a whole rate stored as a rounded interval, 600 Hz as 1667 us, read as that
  rate): Huffman or plain 16-bit values, first or second differences undone (16-bit
  wrap-around, as encoders compute them); with **bimodal compression** the decimated stretches
  outside the protected zones are brought back to the full rate by linear interpolation
  between the group centres (each stored value is the mean of ``rate`` samples); with
  **reference-beat subtraction** the reference beat is added back inside every type-0 QRS
  subtraction zone, aligned on the fiducial point; finally amplitudes x AVM (nV) -> mV;
- **7** global measurements (reference beat 0: P, QRS, T boundaries and axes; RR; the v2
  ventricular rate and QTc), **8** and **11** the interpretation -> ``Record.cart``;
  **9** (manufacturer) and **10** (per-lead measurements) are noted, not shown.

An 8-lead file (I, II, V1-V6) gets III, aVR, aVL, aVF derived (``Record.derived_leads``).
Damaged files give a one-line :class:`CorruptFileError` naming the section; lengths are all
checked against the file, and the Huffman decoder never produces more values than a lead
needs, so a hostile file cannot make the reader loop or allocate without bound.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ecgviewer.errors import (
    CorruptFileError,
    InvalidSignalError,
    NoECGChannelsError,
    UnknownFormatError,
)
from ecgviewer.io._common import birth_date, person_name
from ecgviewer.io._lead_codes import SCP_LEAD_NAMES
from ecgviewer.io._scp_huffman import HuffmanError, Table, decode, parse_tables, plain_16_bit
from ecgviewer.record import CartReading, Patient, Record

__all__ = ["read"]

SECTION_HEADER = 16
UNDEFINED = 29999  # "not computed" in section 7
#: Files larger than this are not SCP-ECG resting ECGs (uint16 lead lengths cap a lead at
#: 64 KiB per section; 16 leads, two sections, text): refuse rather than read gigabytes.
MAX_FILE_BYTES = 64 << 20
MAX_SAMPLES_PER_LEAD = 2_000_000

_MANUFACTURERS = {
    1: "Burdick",
    2: "Cambridge",
    3: "Compumed",
    4: "Datamed",
    5: "Fukuda",
    6: "Hewlett-Packard",
    7: "Marquette",
    8: "Mortara",
    9: "Nihon Kohden",
    10: "Okin",
    11: "Quinton",
    12: "Siemens",
    13: "Spacelabs",
    14: "Telemed",
    15: "Hellige",
    16: "ESA-OTE",
    17: "Schiller",
    18: "Picker-Schwarzer",
    19: "Elettronica-Trentina",
    20: "Zwönitz",
}
#: Section 1 tag 14 language support code -> text codec (8-bit character sets; others, such as
#: the 16-bit ISO 10646 code, are read as Latin-1).
_CODECS = {
    0x00: "latin-1",
    0x01: "latin-1",
    0x03: "iso8859_2",
    0x0B: "iso8859_4",
    0x13: "iso8859_5",
    0x1B: "iso8859_6",
    0x23: "iso8859_7",
    0x2B: "iso8859_8",
    0x33: "iso8859_11",
    0x3B: "iso8859_15",
    0x27: "gb2312",
    0x2F: "euc_kr",
}
_AGE_UNIT_YEARS = {1: 1.0, 2: 1 / 12, 3: 7 / 365.25, 4: 1 / 365.25, 5: 1 / 8766}


def read(path: Path, **_opts: Any) -> Record:
    """Read an SCP-ECG file's rhythm, reference beats, patient, device and cart reading."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise CorruptFileError(path, f"{size} bytes is far larger than any SCP-ECG file")
    return _Scp(path, path.read_bytes()).record()


@dataclass
class _Lead:
    name: str
    start: int  # 1-based sample numbers, inclusive
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


@dataclass
class _Qrs:
    kind: int
    start: int
    fiducial: int
    end: int


@dataclass
class _Coded:
    """One section 5 or 6 header plus its decoded leads (integer units)."""

    avm_nv: int
    interval_us: int
    leads: list[np.ndarray] = field(default_factory=list)


class _Scp:
    def __init__(self, path: Path, data: bytes) -> None:
        self.path = path
        self.data = data
        self.notes: list[str] = []
        self.sections: dict[int, tuple[int, int, int]] = {}  # id -> (offset, length, version)
        self.tables: list[Table] | None = None
        self.codec = "latin-1"  # text encoding, from the device's language code (tag 14)

    def fail(self, problem: str) -> CorruptFileError:
        return CorruptFileError(self.path, problem)

    # ------------------------------------------------------------------ structure
    def record(self) -> Record:
        self._pointers()
        if 2 in self.sections:
            try:
                self.tables = parse_tables(self.body(2))
            except HuffmanError as exc:
                raise self.fail(f"section 2 (Huffman tables): {exc}") from None
            if plain_16_bit(self.tables):
                self.tables = None  # its one 0/16-bit "code": plain 16-bit samples
        leads, subtraction = self._leads()
        qrs, protected, ref_length_ms, ref_fiducial = self._qrs_locations()
        reference = self._reference_beats(leads, ref_length_ms) if 5 in self.sections else None
        signal, fs = self._rhythm(leads, subtraction, qrs, protected, reference, ref_fiducial)
        patient, start, device = self._patient_data()
        for section, what in ((9, "manufacturer-specific data"), (10, "per-lead measurements")):
            if section in self.sections:
                self.notes.append(f"section {section} ({what}) present, not shown")
        record = Record(
            signal=signal,
            fs=fs,
            leads=[lead.name for lead in leads],
            start=start,
            patient=patient,
            source=str(self.path),
            format="scp_ecg",
            device=device,
            notes=tuple(self.notes),
            cart=self._cart(leads, reference),
        )
        return record.with_derived_limb_leads()

    def _pointers(self) -> None:
        data = self.data
        if len(data) < 6 + SECTION_HEADER:
            raise self.fail("too short for an SCP-ECG file (no section 0)")
        declared = int.from_bytes(data[2:6], "little")
        if declared != len(data):
            self.notes.append(f"file size field says {declared} bytes, the file has {len(data)}")
        elif binascii.crc_hqx(data[2:], 0xFFFF) != int.from_bytes(data[:2], "little"):
            self.notes.append("file checksum (CRC) does not match: the file may be damaged")
        length0 = int.from_bytes(data[10:14], "little")
        if int.from_bytes(data[8:10], "little") != 0 or not SECTION_HEADER <= length0 <= len(data):
            raise self.fail("section 0 (pointers) is missing or damaged")
        misplaced: list[int] = []
        zero_based: list[int] = []  # header one byte on, where a 0-based pointer would say
        renamed: list[str] = []  # headers naming another section, length and CRC right
        for pos in range(6 + SECTION_HEADER, min(6 + length0, len(data)) - 9, 10):
            sid = int.from_bytes(data[pos : pos + 2], "little")
            length = int.from_bytes(data[pos + 2 : pos + 6], "little")
            index = int.from_bytes(data[pos + 6 : pos + 10], "little")
            if length == 0 or sid > 11 or sid == 0:
                continue  # absent section, a manufacturer's own section, or section 0 itself
            offset = index - 1
            if length < SECTION_HEADER or offset < 0 or offset + length > len(data):
                self.notes.append(f"section {sid} pointer runs past the file: ignored")
                continue
            if int.from_bytes(data[offset + 2 : offset + 4], "little") != sid:
                found = _find_section(data, sid, offset)
                if found is not None:
                    self.notes.append(
                        f"section {sid} found {found - offset:+d} bytes from where its pointer "
                        "says (the file's section pointers are off)"
                    )
                    offset = found
                elif _whole_section(data, offset, length):
                    renamed.append(str(sid))
                else:
                    self.notes.append(f"section {sid} header names another section: ignored")
                    misplaced.append(sid)
                    if int.from_bytes(data[offset + 3 : offset + 5], "little") == sid:
                        zero_based.append(sid)
                    continue
            own_length = int.from_bytes(data[offset + 4 : offset + 8], "little")
            if SECTION_HEADER <= own_length <= length:
                length = own_length
            self.sections[sid] = (offset, length, data[offset + 9])
        if renamed:
            self.notes.append(
                f"section{'s' * (len(renamed) > 1)} {', '.join(renamed)}: another id in the "
                "header, but length and CRC as the pointer says (ids rewritten, as by an "
                "anonymiser): read where the pointers say"
            )
        if 3 not in self.sections or 6 not in self.sections:
            missing = [str(s) for s in (3, 6) if s not in self.sections]
            if zero_based and set(zero_based) == set(misplaced):
                # Healforce's handheld recorders (Prince 180D) write such files: pointers
                # counted from 0, CRCs of their own, leads interleaved in one unencoded stream
                raise UnknownFormatError(
                    self.path,
                    "a non-standard SCP-ECG (section pointers counted from 0, section CRCs that "
                    "do not match, as Healforce handheld recorders write): this program does "
                    "not read it",
                )
            if any(int(s) in misplaced for s in missing):
                raise self.fail(
                    f"section {' and '.join(missing)} not where the section pointers say: "
                    "the pointers are damaged (or written by a non-standard device)"
                )
            raise NoECGChannelsError(
                self.path, f"no section {' or '.join(missing)}: the file holds no rhythm ECG"
            )

    def body(self, sid: int) -> bytes:
        offset, length, _ = self.sections[sid]
        return self.data[offset + SECTION_HEADER : offset + length]

    # ------------------------------------------------------------------ section 3, 4
    def _leads(self) -> tuple[list[_Lead], bool]:
        body = self.body(3)
        if len(body) < 2 or body[0] == 0:
            raise NoECGChannelsError(self.path, "section 3 defines no leads")
        count, flags = body[0], body[1]
        if 2 + 9 * count > len(body):
            raise self.fail(f"section 3 declares {count} leads but holds {(len(body) - 2) // 9}")
        leads = []
        seen: set[str] = set()
        for i in range(count):
            pos = 2 + 9 * i
            start = int.from_bytes(body[pos : pos + 4], "little")
            end = int.from_bytes(body[pos + 4 : pos + 8], "little")
            code = body[pos + 8]
            name = SCP_LEAD_NAMES.get(code, f"lead {code}")  # other codes kept as "lead N"
            if name in seen:
                name = f"{name} ({i + 1})"
            seen.add(name)
            if start == 0:  # some writers count from 0 with an exclusive end; the standard
                start = 1  # counts from 1, inclusive: the same samples
            if end < start or end - start >= MAX_SAMPLES_PER_LEAD:
                raise self.fail(f"section 3: lead {name} has the sample range {start}-{end}")
            leads.append(_Lead(name, start, end))
        return leads, bool(flags & 0x01)

    def _qrs_locations(self) -> tuple[list[_Qrs], list[tuple[int, int]], int, int]:
        if 4 not in self.sections:
            return [], [], 0, 0
        body = self.body(4)
        if len(body) < 6:
            raise self.fail("section 4 (QRS locations) is too short")
        ref_length_ms = int.from_bytes(body[0:2], "little")
        ref_fiducial = int.from_bytes(body[2:4], "little")
        n = int.from_bytes(body[4:6], "little")
        qrs: list[_Qrs] = []
        protected: list[tuple[int, int]] = []
        pos = 6
        if pos + 14 * n <= len(body):
            for _ in range(n):
                kind = int.from_bytes(body[pos : pos + 2], "little")
                sb, fc, se = (
                    int.from_bytes(body[pos + k : pos + k + 4], "little") for k in (2, 6, 10)
                )
                qrs.append(_Qrs(kind, sb, fc, se))
                pos += 14
            if pos + 8 * n <= len(body):
                for _ in range(n):
                    a = int.from_bytes(body[pos : pos + 4], "little")
                    b = int.from_bytes(body[pos + 4 : pos + 8], "little")
                    if 0 < a <= b:
                        protected.append((a, b))
                    pos += 8
        else:
            self.notes.append("section 4: QRS locations truncated, ignored")
        protected.sort()
        return qrs, protected, ref_length_ms, ref_fiducial

    # ------------------------------------------------------------------ section 5, 6
    def _coded(self, sid: int, counts: list[int | None], names: list[str]) -> _Coded:
        body = self.body(sid)
        what = f"section {sid}"
        if len(body) < 6 + 2 * len(counts):
            raise self.fail(f"{what} is too short")
        avm = int.from_bytes(body[0:2], "little")
        interval = int.from_bytes(body[2:4], "little")
        difference = body[4]
        if difference not in (0, 1, 2):
            raise self.fail(f"{what}: unknown difference encoding {difference}")
        sizes = [int.from_bytes(body[6 + 2 * i : 8 + 2 * i], "little") for i in range(len(counts))]
        pos = 6 + 2 * len(counts)
        if pos + sum(sizes) > len(body):
            self.notes.append(f"{what}: lead data runs past the section; read what is there")
        extra = len(body) - pos - sum(sizes)
        if sizes and extra >= 2 + min(sizes):
            # Room for at least one more lead: the lead table (section 3) lists too few, and
            # the first lead's bytes would be read from the others' lengths (garbage, 58x).
            raise self.fail(
                f"{what} holds {extra:,} bytes beyond the data of the {len(counts)} lead(s) "
                "section 3 declares: the lead table and the lead data disagree"
            )
        coded = _Coded(avm, interval)
        for name, size, count in zip(names, sizes, counts, strict=True):
            chunk = body[pos : pos + size]
            pos += size
            if self.tables is not None:
                if count is None:
                    raise self.fail(f"{what}: Huffman-coded, but the number of samples is unknown")
                try:
                    values = decode(chunk, count, self.tables)
                except HuffmanError as exc:
                    raise self.fail(f"{what}, lead {name}: {exc}") from None
            else:
                n = len(chunk) // 2 if count is None else min(count, len(chunk) // 2)
                values = np.frombuffer(chunk[: 2 * n], dtype="<i2").astype(np.int64)
            coded.leads.append(_undo_differences(values, difference))
        return coded

    def _reference_beats(self, leads: list[_Lead], ref_length_ms: int) -> _Coded | None:
        body = self.body(5)
        interval = int.from_bytes(body[2:4], "little") if len(body) >= 4 else 0
        count = None
        if ref_length_ms and interval:
            count = int(round(ref_length_ms * 1000 / interval))
        elif self.tables is not None:
            self.notes.append("reference beats skipped: their length (section 4) is missing")
            return None
        names = [lead.name for lead in leads]
        coded = self._coded(5, [count] * len(leads), names)
        if coded.interval_us == 0 or any(v.size == 0 for v in coded.leads):
            self.notes.append("reference beats skipped: empty, or no sampling interval")
            return None
        return coded

    def _rhythm(
        self,
        leads: list[_Lead],
        subtraction: bool,
        qrs: list[_Qrs],
        protected: list[tuple[int, int]],
        reference: _Coded | None,
        ref_fiducial: int,
    ) -> tuple[np.ndarray, float]:
        body = self.body(6)
        if len(body) < 6:
            raise self.fail("section 6 (rhythm) is too short")
        interval = int.from_bytes(body[2:4], "little")
        version = self.sections[6][2]
        bimodal = body[5] == 1 and version < 30
        rate = 1
        if bimodal and reference is None:
            self.notes.append(
                "bimodal compression without reference beats (section 5): the "
                "full sampling rate is unknown, shown at the stored rate"
            )
        if bimodal and reference is not None and interval != reference.interval_us:
            if interval % reference.interval_us or not 1 < interval // reference.interval_us <= 8:
                raise self.fail(
                    f"section 6: bimodal rhythm interval {interval} us is not a whole multiple "
                    f"of the reference beat's {reference.interval_us} us"
                )
            rate = interval // reference.interval_us
            interval = reference.interval_us
        if interval == 0:
            raise self.fail("section 6: sampling interval is 0")
        fs = _rate_hz(interval)
        counts: list[int | None] = [
            _stored_count(lead, protected, rate) if rate > 1 else lead.length for lead in leads
        ]
        coded = self._coded(6, counts, [lead.name for lead in leads])
        if coded.avm_nv == 0:
            raise InvalidSignalError(self.path, "section 6: amplitude multiplier (AVM) is 0")
        rows: list[np.ndarray] = []
        for i, (lead, values) in enumerate(zip(leads, coded.leads, strict=True)):
            if rate > 1:
                # Residuals (reference beat subtracted) and raw samples are not interpolated
                # into each other: the reference beat is added back to the zone's samples only.
                zones = (
                    _subtraction_zones(lead, qrs, ref_fiducial, reference.leads[i].size)
                    if subtraction and reference is not None and i < len(reference.leads)
                    else []
                )
                values = _undecimate(values, lead, protected, rate, [z[:2] for z in zones])
            rows.append(values.astype(np.float64) * coded.avm_nv)  # nV
        if subtraction:
            if reference is None:
                raise self.fail(
                    "rhythm stored as residuals (reference beat subtracted) but the reference "
                    "beat (section 5) is missing"
                )
            for lead, row, beat in zip(leads, rows, reference.leads, strict=True):
                _add_reference_beat(row, lead, beat * float(reference.avm_nv), qrs, ref_fiducial)
        return self._stack(leads, rows), fs

    def _stack(self, leads: list[_Lead], rows: list[np.ndarray]) -> np.ndarray:
        declared = [lead.length for lead in leads]
        short = [
            (lead, row.size)
            for lead, row in zip(leads, rows, strict=True)
            if row.size < lead.length
        ]
        if short and all(row.size == 0 for row in rows):
            raise NoECGChannelsError(self.path, "section 6 holds no samples")
        if short:
            lead, got = short[0]
            self.notes.append(
                f"lead data holds {got} of the {lead.length} samples section 3 declares "
                f"(lead {lead.name}{' and others' if len(short) > 1 else ''}): the file was "
                "written short; showing what is there"
            )
        first = min(lead.start for lead in leads)
        ends = [
            lead.start + min(row.size, lead.length) - 1
            for lead, row in zip(leads, rows, strict=True)
        ]
        last = max(ends)
        if last < first:
            raise NoECGChannelsError(self.path, "section 6 holds no samples")
        if last - first >= MAX_SAMPLES_PER_LEAD:
            raise self.fail(f"section 3: leads span samples {first}-{last}, not one ECG")
        signal = np.zeros((len(leads), last - first + 1), dtype=np.float64)
        for i, (lead, row) in enumerate(zip(leads, rows, strict=True)):
            n = min(row.size, lead.length)
            signal[i, lead.start - first : lead.start - first + n] = row[:n]
        if (
            len(set(declared)) > 1
            or len({lead.start for lead in leads}) > 1
            or len({min(r.size, lead.length) for r, lead in zip(rows, leads, strict=True)}) > 1
        ):
            self.notes.append("leads cover different time spans: gaps shown as 0 mV")
        return (signal / 1e6).astype(np.float32)

    # ------------------------------------------------------------------ section 1
    def _patient_data(self) -> tuple[Patient, datetime | None, str | None]:
        if 1 not in self.sections:
            return Patient(), None, None
        tags: dict[int, bytes] = {}
        body = self.body(1)
        pos = 0
        while pos + 3 <= len(body):
            tag = body[pos]
            length = int.from_bytes(body[pos + 1 : pos + 3], "little")
            if tag == 255:
                break
            tags.setdefault(tag, body[pos + 3 : pos + 3 + length])
            pos += 3 + length
        device = tags.get(14, b"")
        if len(device) > 16:
            self.codec = _CODECS.get(device[16], "latin-1")
        pid = _text(tags.get(2, b""), self.codec) or None
        age = None
        if len(tags.get(4, b"")) >= 3:
            value = int.from_bytes(tags[4][:2], "little")
            unit = _AGE_UNIT_YEARS.get(tags[4][2])
            if unit is not None and 0 < value * unit < 150:
                age = round(value * unit, 2)
        sex = {1: "M", 2: "F"}.get(tags.get(8, b"\x00")[0] if tags.get(8) else 0)
        start = _acquisition_time(tags.get(25, b""), tags.get(26, b""))
        born = None
        if len(tags.get(5, b"")) >= 4:
            try:
                born = date(int.from_bytes(tags[5][:2], "little"), tags[5][2], tags[5][3])
            except ValueError:
                born = None
        born = birth_date(born, start)
        if age is None and born is not None and start is not None:
            # From a real date only (30 February gave an age and no birth date).
            age = float(
                start.year - born.year - ((start.month, start.day) < (born.month, born.day))
            )
        patient = Patient(
            id=pid,
            age=age,
            sex=sex,
            name=person_name(
                _text(tags.get(0, b""), self.codec), _text(tags.get(1, b""), self.codec)
            ),
            birth_date=born,
        )
        return patient, start, _device(tags.get(14, b""))

    # ------------------------------------------------------------------ section 7, 8, 11
    def _cart(self, leads: list[_Lead], reference: _Coded | None) -> CartReading | None:
        measurements = self._measurements() if 7 in self.sections else {}
        statements: list[str] = []
        for sid in (8, 11):
            if sid in self.sections:
                statements += _statements(self.body(sid), sid == 11, self.codec)
        beats = fs = None
        names: tuple[str, ...] = ()
        if reference is not None:
            length = min(v.size for v in reference.leads)
            beats = (
                np.stack([v[:length] for v in reference.leads]).astype(np.float64)
                * reference.avm_nv
                / 1e6
            ).astype(np.float32)
            fs = _rate_hz(reference.interval_us)
            names = tuple(lead.name for lead in leads)
        if not measurements and not statements and beats is None:
            return None
        return CartReading(
            measurements=measurements,
            statements=tuple(statements),
            median_beats=beats,
            median_fs=fs,
            median_leads=names,
            source="SCP-ECG",
        )

    def _measurements(self) -> dict[str, float]:
        body = self.body(7)
        out: dict[str, float] = {}
        if len(body) < 6:
            return out
        n_blocks, n_spikes = body[0], body[1]
        rr = int.from_bytes(body[2:4], "little")
        if 0 < rr < UNDEFINED - 1:
            out["rr"] = float(rr)
            out["heart_rate"] = round(60000.0 / rr, 1)
        if n_blocks >= 1 and len(body) >= 6 + 16:
            p_on, p_off, qrs_on, qrs_off, t_off = (
                int.from_bytes(body[6 + 2 * k : 8 + 2 * k], "little") for k in range(5)
            )
            axes = [
                int.from_bytes(body[16 + 2 * k : 18 + 2 * k], "little", signed=True)
                for k in range(3)
            ]

            def ok(*values: int) -> bool:
                return all(v < UNDEFINED - 1 for v in values)

            if ok(p_on, p_off) and p_off > p_on:
                out["p_duration"] = float(p_off - p_on)
            if ok(p_on, qrs_on) and qrs_on > p_on:
                out["pr"] = float(qrs_on - p_on)
            if ok(qrs_on, qrs_off) and qrs_off > qrs_on:
                out["qrs"] = float(qrs_off - qrs_on)
            if ok(qrs_on, t_off) and t_off > qrs_on:
                out["qt"] = float(t_off - qrs_on)
            for key, axis in zip(("p_axis", "qrs_axis", "t_axis"), axes, strict=True):
                if -360 <= axis <= 360:
                    out[key] = float(axis)
        # After the beat blocks: pacemaker spikes (4 + 6 bytes each), the QRS list, then (v2)
        # ventricular rate, atrial rate and QTc.
        pos = 6 + 16 * n_blocks + 10 * n_spikes
        if pos + 2 <= len(body):
            pos += 2 + int.from_bytes(body[pos : pos + 2], "little")
            if pos + 6 <= len(body):
                vent, atrial, qtc = (
                    int.from_bytes(body[pos + 2 * k : pos + 2 * k + 2], "little") for k in range(3)
                )
                if 0 < vent < UNDEFINED - 1:
                    out["heart_rate"] = float(vent)
                if 0 < atrial < UNDEFINED - 1:
                    out["atrial_rate"] = float(atrial)
                if 0 < qtc < UNDEFINED - 1:
                    out["qtc"] = float(qtc)
        return out


# ---------------------------------------------------------------------------- helpers
def _undo_differences(values: np.ndarray, difference: int) -> np.ndarray:
    """Amplitudes from first/second differences, wrapping at 16 bits like the encoders."""
    if difference == 0 or values.size == 0:
        return values
    if difference == 1:
        out = np.cumsum(values)
    elif values.size < 3:
        out = values.copy()
    else:
        # x[n] = d[n] + 2 x[n-1] - x[n-2]: the slope x[n] - x[n-1] grows by d[n].
        slopes = (values[1] - values[0]) + np.concatenate(([0], np.cumsum(values[2:])))
        out = np.concatenate(([values[0]], values[0] + np.cumsum(slopes)))
    return (out + 32768) % 65536 - 32768


def _zones_in(lead: _Lead, protected: list[tuple[int, int]]) -> list[tuple[int, int]]:
    zones = []
    cursor = lead.start
    for a, b in protected:
        a, b = max(a, cursor), min(b, lead.end)
        if a <= b:
            zones.append((a, b))
            cursor = b + 1
    return zones


def _stretches(lead: _Lead, protected: list[tuple[int, int]]) -> list[tuple[int, int, bool]]:
    """The lead's timeline as (first, last, protected) stretches, 1-based inclusive."""
    out = []
    cursor = lead.start
    for a, b in _zones_in(lead, protected):
        if a > cursor:
            out.append((cursor, a - 1, False))
        out.append((a, b, True))
        cursor = b + 1
    if cursor <= lead.end:
        out.append((cursor, lead.end, False))
    return out


def _stored_count(lead: _Lead, protected: list[tuple[int, int]], rate: int) -> int:
    """Values bimodal compression stores: every protected sample, one per group elsewhere."""
    return sum(
        (b - a + 1) if keep else -(-(b - a + 1) // rate)
        for a, b, keep in _stretches(lead, protected)
    )


def _undecimate(
    values: np.ndarray,
    lead: _Lead,
    protected: list[tuple[int, int]],
    rate: int,
    zones: list[tuple[int, int]] | None = None,
) -> np.ndarray:
    """Full-rate samples from bimodal data: protected samples as stored; elsewhere each value
    (the mean of ``rate`` samples) stands at its group's centre and the samples between are
    interpolated linearly, the samples beyond a stretch's first or last centre holding it.

    ``zones``: the reference-beat subtraction zones (1-based, inclusive), where the values are
    residuals and outside raw samples: no interpolation reaches across their edges (across
    one, a residual of -0.06 mV blended with a raw +0.5 mV gave spikes of 0.1-0.3 mV once the
    reference beat was added back). A complete lead covers every declared sample; one written
    short ends at its last stored value.
    """
    times: list[np.ndarray] = []
    firsts: list[np.ndarray] = []  # each value's first and last sample
    lasts: list[np.ndarray] = []
    full = np.arange(lead.start, lead.end + 1, dtype=np.float64)
    for a, b, keep in _stretches(lead, protected):
        if keep:
            times.append(np.arange(a, b + 1, dtype=np.float64))
            firsts.append(times[-1])
            lasts.append(times[-1])
        else:
            n = -(-(b - a + 1) // rate)
            starts = a + np.arange(n, dtype=np.float64) * rate
            times.append(np.minimum(starts + (rate - 1) / 2, b))
            firsts.append(starts)
            lasts.append(np.minimum(starts + rate - 1, b))
    anchors = np.concatenate(times) if times else np.zeros(0)
    complete = values.size >= anchors.size
    n = min(anchors.size, values.size)
    if n == 0:
        return np.zeros(0)
    anchors, stored = anchors[:n], values[:n].astype(np.float64)
    covered = full if complete else full[full <= max(anchors[-1], lead.start)]
    edges = sorted({e for a, b in zones or [] for e in (a, b + 1)})
    if not edges:
        return np.interp(covered, anchors, stored)
    # Segment k: samples from edges[k - 1] up to edges[k] - 1 (segment 0 before the first).
    # A group that an edge cuts averages residuals with raw samples: it belongs to neither.
    seg_of_first = np.searchsorted(edges, np.concatenate(firsts)[:n], side="right")
    seg_of_last = np.searchsorted(edges, np.concatenate(lasts)[:n], side="right")
    seg_of_anchor = np.where(seg_of_first == seg_of_last, seg_of_first, -1)
    seg_of_sample = np.searchsorted(edges, covered, side="right")
    out = np.empty(covered.size)
    for k in np.unique(seg_of_sample).tolist():
        here = seg_of_sample == k
        own = seg_of_anchor == k
        if own.any():
            out[here] = np.interp(covered[here], anchors[own], stored[own])
        else:  # no whole group inside (a zone shorter than a group): the nearest values
            out[here] = np.interp(covered[here], anchors, stored)
    return out


def _subtraction_zones(
    lead: _Lead, qrs: list[_Qrs], ref_fiducial: int, beat_len: int
) -> list[tuple[int, int, int]]:
    """``(first, last, fiducial)`` of each type-0 QRS's subtraction zone in ``lead`` (1-based
    samples, inclusive) where the reference beat (``beat_len`` samples, fiducial at
    ``ref_fiducial``) covers it: the samples that hold residuals."""
    out = []
    for q in qrs:
        if q.kind != 0:
            continue
        first = max(q.start, lead.start, q.fiducial - ref_fiducial + 1)
        last = min(q.end, lead.end, q.fiducial - ref_fiducial + beat_len)
        if last >= first:
            out.append((first, last, q.fiducial))
    return out


def _add_reference_beat(
    row: np.ndarray, lead: _Lead, beat_nv: np.ndarray, qrs: list[_Qrs], ref_fiducial: int
) -> None:
    """Add the reference beat back in each type-0 subtraction zone (in place, nV)."""
    for first, last, fiducial in _subtraction_zones(lead, qrs, ref_fiducial, beat_nv.size):
        last = min(last, lead.start + row.size - 1)  # a lead written short
        if last < first:
            continue
        r0 = first - lead.start
        m0 = first - fiducial + ref_fiducial - 1
        row[r0 : r0 + last - first + 1] += beat_nv[m0 : m0 + last - first + 1]


def _text(raw: bytes, codec: str = "latin-1") -> str:
    """A NUL-terminated text field, control characters (stray length bytes) removed."""
    text = raw.split(b"\x00", 1)[0].decode(codec, "replace")
    return "".join(ch for ch in text if ch.isprintable()).strip()


def _acquisition_time(day: bytes, clock: bytes) -> datetime | None:
    if len(day) < 4:
        return None
    year = int.from_bytes(day[:2], "little")
    h, m, s = (clock[0], clock[1], clock[2]) if len(clock) >= 3 else (0, 0, 0)
    try:
        return datetime(year, day[2], day[3], h, m, s)
    except ValueError:
        return None


def _device(raw: bytes) -> str | None:
    """Tag 14: model (bytes 8-13), manufacturer code (7), then length-prefixed strings."""
    if len(raw) < 14:
        return None
    model = _text(raw[8:14])
    strings = [_text(s) for s in raw[36:].split(b"\x00")] if len(raw) > 36 else []
    strings += [""] * 5
    maker = strings[4] or _MANUFACTURERS.get(raw[7], "")
    software = strings[2] if strings[2].lower() not in ("", "unknown") else ""
    text = " ".join(p for p in (maker, model) if p and p.lower() != "unknown")
    if software:
        text = f"{text} (software {software})" if text else f"software {software}"
    return text or None


def _statements(body: bytes, coded: bool, codec: str) -> list[str]:
    """Sections 8 and 11: a header (confirmation, date, time, count), then statements."""
    if len(body) < 9:
        return []
    count = body[8]
    pos = 9
    out: list[str] = []
    for _ in range(count):
        if pos + 3 > len(body):
            break
        length = int.from_bytes(body[pos + 1 : pos + 3], "little")
        raw = body[pos + 3 : pos + 3 + length]
        pos += 3 + length
        if coded and raw[:1] in (b"\x01", b"\x02", b"\x03"):
            raw = raw[1:]  # statement type byte
        parts = [p.decode(codec, "replace").strip() for p in raw.split(b"\x00")]
        text = ": ".join(p for p in parts if p and p.isprintable())
        if text:
            out.append(text)
    return out


#: How far from where its pointer says a section is looked for (bytes): real files were seen
#: with every pointer after a rewritten section 1 short by 5, and with 0-based pointers.
SECTION_SEARCH = 16


def _rate_hz(interval_us: int) -> float:
    """Samples per second from a sampling interval in whole microseconds. A whole rate whose
    interval is not whole is stored rounded (600 Hz as 1667 us, as Welch Allyn carts write
    it): that rate is given back, not 599.88 Hz (the file cannot say more exactly)."""
    rate = round(1e6 / interval_us)
    if rate and abs(1e6 / rate - interval_us) <= 0.5:
        return float(rate)
    return 1e6 / interval_us


def _whole_section(data: bytes, offset: int, length: int) -> bool:
    """The section at ``offset`` has the pointer's length and a matching CRC: it is the one the
    pointer names even if its header's id, not that of a standard section, says otherwise (a
    public SCP anonymiser rewrites the ids of every section and recomputes the CRCs, leaving
    the sections where they were)."""
    if int.from_bytes(data[offset + 2 : offset + 4], "little") <= 11:
        return False  # another standard section: the pointer is wrong, not the id
    if int.from_bytes(data[offset + 4 : offset + 8], "little") != length:
        return False
    return _crc_matches(data, offset, length)


def _find_section(data: bytes, sid: int, offset: int) -> int | None:
    """The start of section ``sid`` within :data:`SECTION_SEARCH` bytes of ``offset``: its
    header names it, its length fits the file and its CRC matches (so no stray bytes pass)."""
    for delta in sorted(range(-SECTION_SEARCH, SECTION_SEARCH + 1), key=abs):
        at = offset + delta
        if delta == 0 or at < 0 or at + SECTION_HEADER > len(data):
            continue
        if int.from_bytes(data[at + 2 : at + 4], "little") != sid:
            continue
        length = int.from_bytes(data[at + 4 : at + 8], "little")
        if not SECTION_HEADER <= length <= len(data) - at:
            continue
        if _crc_matches(data, at, length):
            return at
    return None


def _crc_matches(data: bytes, at: int, length: int) -> bool:
    """Whether the section of ``length`` bytes at ``at`` carries its own CRC-CCITT."""
    return binascii.crc_hqx(data[at + 2 : at + length], 0xFFFF) == int.from_bytes(
        data[at : at + 2], "little"
    )
