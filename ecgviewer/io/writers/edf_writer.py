"""EDF+ output with pyedflib (edflib writes the header, the data records and the annotation
signal). Data records of 2-10 s when one divides the recording (or it is longer than 10 min),
a record stays within the spec's recommended 61,440 bytes and the records can hold every
annotation; else 1 s (or the shortest duration with a whole number of samples). Samples are
converted to 16-bit in numpy, chunk by chunk, and written one data record per call.

Each lead's physical range is its own minimum and maximum (rounded outward to 1 uV, or as
finely as EDF's 8-character field allows; the samples are converted with exactly the numbers
written in the header), mapped
on the full 16-bit range: the quantum is range / 65535 (0.15 uV for a +-5 mV lead). ECG leads
are in mV; non-ECG channels are written without a unit. Patient code and sex, start time and
equipment (the device) go into the EDF+ header fields; EDF+ stores a birth date, not an age,
so the age is not written; an unknown start is written as EDF+ "Startdate X". Annotation texts longer than edflib's 40 bytes are cut. A record
whose length is not a whole number of data records is padded to the next one by repeating its
last value (noted).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from ecgviewer.errors import InvalidSignalError
from ecgviewer.io.writers import (
    Progress,
    WriteResult,
    ascii_name,
    chunks,
    lead_ranges,
)
from ecgviewer.record import Record

#: edflib's longest annotation text (EDFLIB_WRITE_MAX_ANNOTATION_LEN).
MAX_ANNOTATION_BYTES = 40


#: The EDF spec's recommended largest data record (bytes).
MAX_RECORD_BYTES = 61440


#: edflib's most annotation signals (each holds one annotation per data record).
MAX_ANNOTATION_SIGNALS = 64


def _record_duration(
    fs: float, n_leads: int, n_samples: int, n_annotations: int
) -> tuple[float, int]:
    """(data record duration s, samples per record): a whole number of samples, as long as
    the recommended record size allows and the records can still hold every annotation
    (fewer, larger records write faster), at least 1 s when possible."""

    def fits(d: float) -> bool:
        records = max(1, math.ceil(n_samples / (fs * d)))
        return (
            n_leads * fs * d * 2 <= MAX_RECORD_BYTES
            and math.ceil(n_annotations / records) + 1 <= MAX_ANNOTATION_SIGNALS
        )

    def whole(d: float) -> int | None:
        spr = fs * d
        return int(round(spr)) if abs(spr - round(spr)) < 1e-6 and round(spr) >= 1 else None

    spr_of = {
        d: n for d in (10.0, 5.0, 4.0, 2.0, 1.0, 0.5, 0.25, 0.2, 0.1) if (n := whole(d)) is not None
    }
    long_ones = [d for d in (10.0, 5.0, 4.0, 2.0) if fits(d) and d in spr_of]
    # Prefer a duration that divides the recording (no padding); a long recording takes the
    # longest one anyway (at most 10 s of padding on hours of signal).
    exact = [d for d in long_ones if n_samples % spr_of[d] == 0]
    if exact:
        return exact[0], spr_of[exact[0]]
    if long_ones and n_samples / fs > 600:
        return long_ones[0], spr_of[long_ones[0]]
    for duration in (1.0, 0.5, 0.25, 0.2, 0.1, *long_ones):
        if duration in spr_of:
            return duration, spr_of[duration]
    raise InvalidSignalError(
        None, f"a sampling rate of {fs:g} Hz cannot be stored in EDF data records of 0.1-10 s"
    )


def _field(value: float, up: bool) -> str:
    """``value`` rounded outward (up for a maximum) to 1 uV, or as finely as EDF's
    8-character physical field allows, as the exact text written in the header.

    edflib truncates a number that needs all 8 characters (142407.3 is written 142407.2), so
    the header takes this text (:func:`_patch_header`) and the samples are converted with
    ``float`` of it: the values the header declares are the values used."""
    for decimals in (3, 2, 1, 0):
        factor = 10**decimals
        bound = (math.ceil(value * factor) if up else math.floor(value * factor)) / factor
        text = f"{bound:.{decimals}f}"
        if text.startswith("-") and float(text) == 0:
            text = text[1:]
        if len(text) <= 8:
            return text
    raise InvalidSignalError(None, f"value {value:g} does not fit an EDF physical field")


def _patch_header(path: Path, fields: list[tuple[str, str]], start_unknown: bool) -> None:
    """Put the exact physical minimum and maximum texts of each lead (the first signals;
    edflib adds the annotation signals after them) into the header, and for an unknown start
    the EDF+ way of saying so: "Startdate X" in the recording field and the spec's placeholder
    01.01.85 00.00.00 (edflib always writes the current time instead)."""
    with open(path, "r+b") as fh:
        head = bytearray(fh.read(256))
        ns = int(head[252:256].decode("ascii"))
        signals = bytearray(fh.read(256 * ns))
        for k, (pmin, pmax) in enumerate(fields):
            at = (16 + 80 + 8) * ns + 8 * k
            signals[at : at + 8] = pmin.encode("ascii").ljust(8)
            signals[at + 8 * ns : at + 8 * ns + 8] = pmax.encode("ascii").ljust(8)
        if start_unknown:
            recording = head[88:168].decode("latin-1").split()
            if len(recording) >= 2 and recording[0] == "Startdate":
                recording[1] = "X"
            head[88:168] = " ".join(recording).encode("latin-1")[:80].ljust(80)
            head[168:184] = b"01.01.8500.00.00"
        fh.seek(0)
        fh.write(head + signals)


def iter_write(record: Record, path: Path) -> Progress:
    import pyedflib

    notes: list[str] = []
    duration, spr = _record_duration(
        record.fs, record.n_leads, record.n_samples, len(record.annotations)
    )
    yield 0, 2 * record.n_samples, "measuring lead ranges"
    lo, hi = lead_ranges(record)
    headers: list[dict[str, str | int | float | None]] = []
    fields: list[tuple[str, str]] = []
    for k, lead in enumerate(record.leads):
        low, high = _field(float(lo[k]), False), _field(float(hi[k]), True)
        if float(high) - float(low) < 0.002:
            low, high = _field(float(low) - 0.001, False), _field(float(high) + 0.001, True)
        fields.append((low, high))
        # An int for a whole number: pyedflib warns of truncation at "-100104.0" (9 characters).
        pmin, pmax = (float(x) if "." in x else int(x) for x in (low, high))
        label = lead if len(lead) <= 16 else lead[:16]
        if label != lead:
            notes.append(f"label {lead!r} cut to 16 characters")
        headers.append(
            dict(
                label=label,
                dimension="" if lead in record.non_ecg else "mV",
                sample_frequency=spr / duration,
                physical_min=pmin,
                physical_max=pmax,
                digital_min=-32768,
                digital_max=32767,
                transducer="",
                prefilter="",
            )
        )
    writer = pyedflib.EdfWriter(str(path), record.n_leads, file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        if duration != 1.0:
            with warnings.catch_warnings():  # "may alter calculated sample_frequencies": no,
                warnings.simplefilter("ignore")  # the duration holds a whole number of samples
                writer.setDatarecordDuration(duration)
        writer.setSignalHeaders(headers)
        # edflib stores one annotation per annotation signal per data record: enough signals
        # for all of them (64 at most, edflib's limit).
        n_records = -(-record.n_samples // spr)
        needed = -(-len(record.annotations) // max(n_records, 1)) + 1
        writer.set_number_of_annotation_signals(min(needed, MAX_ANNOTATION_SIGNALS))
        if needed > MAX_ANNOTATION_SIGNALS:
            notes.append(
                f"{len(record.annotations)} annotations exceed what EDF+ data records "
                f"of {duration:g} s hold ({MAX_ANNOTATION_SIGNALS} per record): "
                "later ones may be lost"
            )
        if record.patient.id:
            writer.setPatientCode(record.patient.id[:80].replace(" ", "_"))
        if record.patient.sex in ("M", "F"):
            writer.setSex(1 if record.patient.sex == "M" else 0)
        if record.patient.name:
            written, said = ascii_name(record.patient.name, "EDF+")
            writer.setPatientName(written[:60].replace(" ", "_"))
            notes.extend(said)
        if record.patient.birth_date is not None:
            writer.setBirthdate(record.patient.birth_date)
        elif record.patient.age is not None:
            notes.append("EDF+ stores a birth date, not an age: the age is not written")
        if record.start is not None:
            writer.setStartdatetime(record.start)
        if record.device:
            writer.setEquipment(record.device[:40].replace(" ", "_"))
        pmins = np.array([h["physical_min"] for h in headers])[:, None]
        pmaxs = np.array([h["physical_max"] for h in headers])[:, None]
        for a, page in chunks(record, multiple=spr):
            if page.shape[1] % spr:
                # The last value repeated: 0 mV could be outside a lead's range (clipped to
                # it) or far from the last value, a step at the end either way.
                pad = spr - page.shape[1] % spr
                page = np.concatenate([page, np.repeat(page[:, -1:], pad, axis=1)], axis=1)
                notes.append(
                    f"padded with {pad} samples (the last value repeated) to a whole data record"
                )
            # Physical -> digital as edflib does it, for the whole chunk at once; then one
            # call per data record (pyedflib's writeSamples rebuilds each record in Python).
            digital = np.round((page - pmins) / (pmaxs - pmins) * 65535.0 - 32768.0)
            digital = np.clip(digital, -32768, 32767).astype(np.int16)
            n_rec = page.shape[1] // spr
            rows = digital.reshape(record.n_leads, n_rec, spr).transpose(1, 0, 2)
            rows = np.ascontiguousarray(rows.reshape(n_rec, record.n_leads * spr))
            for row in rows:
                if writer.blockWriteDigitalShortSamples(row) < 0:
                    raise OSError(5, "edflib could not write a data record")
            yield record.n_samples + a + page.shape[1], 2 * record.n_samples, "writing samples"
        cut = 0
        for ann in record.annotations:
            text = ann.text
            raw = text.encode("utf-8")
            if len(raw) > MAX_ANNOTATION_BYTES:
                text = raw[:MAX_ANNOTATION_BYTES].decode("utf-8", "ignore")
                cut += 1
            writer.writeAnnotation(ann.onset, ann.duration if ann.duration > 0 else -1, text)
        if cut:
            notes.append(f"{cut} annotation texts cut to {MAX_ANNOTATION_BYTES} bytes")
        if any(ann.lead for ann in record.annotations):
            notes.append("EDF+ annotations name no lead: the annotations' leads are dropped")
    finally:
        writer.close()
    _patch_header(path, fields, start_unknown=record.start is None)
    if record.non_ecg:
        notes.append(f"non-ECG channels written without a unit: {', '.join(record.non_ecg)}")
    return WriteResult([path], notes)
