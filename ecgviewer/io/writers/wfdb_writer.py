"""WFDB output: the header is written by the ``wfdb`` library (``Record.wrheader``) and the
annotations by ``wfdb.wrann``; the 16-bit signal file (format 16, interleaved little-endian)
is written here chunk by chunk, because ``wfdb.wrsamp`` needs the whole signal in memory.

Gain: 1000 adu/mV (1 uV steps, +-32.7 mV) for every lead that fits; a lead with larger values
(a non-ECG channel in its own unit) gets the largest 1-2-5 gain that keeps it in 16 bits.
ECG leads are in mV; non-ECG channels are written with unit "NU" (their unit is not known
here), so they read back as non-ECG. Patient age and sex go into header comments in the PTB
style ("age: 62", "sex: male"), the patient id and device into comments too ("patient id: ...",
"device: ..."; the WFDB header has no field for them, our reader takes them back). Annotation texts that are WFDB beat symbols are written as such; any
other text is a NOTE annotation ('"') with the text as its aux note. Durations are dropped.
Control characters in texts (a form feed in an MIT-BIH aux note, a tab, a line break) are
removed or made spaces (:func:`~ecgviewer.io.writers.clean_text`): ``wfdb.wrann`` refuses them
and a line break would end a header line; a note says so.

The record name (the file name without ``.hea``) must be letters, digits, ``_`` or ``-``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ecgviewer.io.writers import (
    Progress,
    TextCleaner,
    WriteResult,
    ascii_name,
    check_wfdb_name,
    chunks,
    lead_ranges,
)
from ecgviewer.record import Record

_GAINS = [g * 10.0**e for e in range(3, -7, -1) for g in (5, 2, 1)]
MAX_DIGITAL = 32767


def _gain(peak: float) -> float:
    for g in [1000.0] + [x for x in _GAINS if x < 1000]:
        if peak * g <= MAX_DIGITAL - 1:
            return g
    return _GAINS[-1]


def iter_write(record: Record, path: Path) -> Progress:
    import wfdb
    from wfdb.io.annotation import ann_label_table

    name = check_wfdb_name(path)
    folder = path.parent
    notes: list[str] = []
    clean = TextCleaner()

    yield 0, 2 * record.n_samples, "measuring lead ranges"
    lo, hi = lead_ranges(record)
    gains = [_gain(max(abs(a), abs(b))) for a, b in zip(lo, hi, strict=True)]
    for k, (lead, g) in enumerate(zip(record.leads, gains, strict=True)):
        if g != 1000.0 and lead not in record.non_ecg:
            peak = max(abs(lo[k]), abs(hi[k]))
            notes.append(f"{lead}: values up to {peak:.1f} mV, stored at {g:g} adu/mV")
    gain_arr = np.array(gains)[:, None]
    dat = folder / f"{name}.dat"
    checksum = np.zeros(record.n_leads, dtype=np.int64)
    init = None
    with open(dat, "wb") as fh:
        for a, page in chunks(record):
            digital = np.clip(np.round(page * gain_arr), -MAX_DIGITAL, MAX_DIGITAL).astype("<i2")
            if init is None:
                init = digital[:, 0].astype(int).tolist()
            checksum += digital.sum(axis=1, dtype=np.int64)
            fh.write(digital.T.tobytes())
            yield record.n_samples + a + page.shape[1], 2 * record.n_samples, "writing samples"
    checksum = (checksum + 32768) % 65536 - 32768
    comments = []
    if record.patient.age is not None:
        comments.append(f"age: {record.patient.age:g}")
    if record.patient.sex in ("M", "F"):
        comments.append(f"sex: {'male' if record.patient.sex == 'M' else 'female'}")
    if record.patient.id:
        comments.append(f"patient id: {clean(record.patient.id)}")
    if record.patient.name:
        written, said = ascii_name(record.patient.name, "WFDB")
        if written:
            comments.append(f"patient name: {written}")
        notes.extend(said)
    if record.patient.birth_date:
        comments.append(f"birth date: {record.patient.birth_date.isoformat()}")
    if record.device:
        comments.append(f"device: {clean(record.device)}")
    if record.derived_leads:
        comments.append(f"derived leads: {' '.join(record.derived_leads)}")
    start = record.start
    header = wfdb.Record(
        record_name=name,
        n_sig=record.n_leads,
        fs=record.fs,
        sig_len=record.n_samples,
        base_time=start.time() if start else None,
        base_date=start.date() if start else None,
        file_name=[dat.name] * record.n_leads,
        fmt=["16"] * record.n_leads,
        adc_gain=gains,
        baseline=[0] * record.n_leads,
        units=["NU" if lead in record.non_ecg else "mV" for lead in record.leads],
        adc_res=[16] * record.n_leads,
        adc_zero=[0] * record.n_leads,
        init_value=init,
        checksum=[int(c) for c in checksum],
        block_size=[0] * record.n_leads,
        sig_name=[clean(lead) for lead in record.leads],
        comments=comments,
    )
    header.wrheader(write_dir=str(folder), expanded=False)
    paths = [folder / f"{name}.hea", dat]
    if record.annotations:
        beat_symbols = set(ann_label_table.symbol.tolist()) - {'"', " "}
        samples, symbols, aux, chans = [], [], [], []
        dropped = moved = 0
        for ann in sorted(record.annotations, key=lambda a: a.onset):
            sample = int(round(ann.onset * record.fs))
            if not 0 <= sample < record.n_samples:
                dropped += 1
                continue
            text = clean(ann.text).strip()
            samples.append(sample)
            if text in beat_symbols:
                symbols.append(text)
                aux.append("")
            else:
                symbols.append('"')
                aux.append(text)
                if sample == 0 and record.n_samples > 1:
                    samples[-1] = 1  # wfdb.rdann takes notes at sample 0 for its own header
                    moved += 1
            chans.append(record.leads.index(ann.lead) if ann.lead in record.leads else 0)
        if samples:
            wfdb.wrann(
                name,
                "atr",
                np.array(samples),
                symbol=symbols,
                aux_note=aux,
                chan=np.array(chans),
                fs=record.fs,
                write_dir=str(folder),
            )
            paths.append(folder / f"{name}.atr")
        if any(a.duration > 0 for a in record.annotations):
            notes.append("WFDB annotations have no duration: annotation durations dropped")
        if dropped:
            notes.append(f"{dropped} annotations outside the signal dropped")
        if moved:
            notes.append(
                f"{moved} text annotations at 0 s written at sample 1 (WFDB readers "
                "take notes at sample 0 for header information)"
            )
    if clean.changed:
        notes.append(clean.note())
    if record.non_ecg:
        notes.append(f"non-ECG channels written with unit NU: {', '.join(record.non_ecg)}")
    return WriteResult(paths, notes)
