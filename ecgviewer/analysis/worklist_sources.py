"""What a worklist (and ``ecgad score``) scores: the ECGs of a folder, an HDF5 collection, a
PTB-XL database CSV or a single file, as lazy :class:`RecordEntry` lists.

Nothing here is scored or hashed, and no ECG is read until an entry's ``load()`` is called, so
the worklist can show every row by name at once. How the entries are scored is
:mod:`ecgviewer.analysis.worklist_jobs`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from ecgviewer.errors import ECGError
from ecgviewer.io.files import COLLECTION_EXTENSIONS, ecg_files
from ecgviewer.io.ptbxl_database import read_ptbxl_database
from ecgviewer.record import Patient, Record, RecordEntry


def scan_source(path: str | os.PathLike[str]) -> Iterator[RecordEntry]:
    """Entries of a folder, an HDF5 collection, a PTB-XL database CSV or a single file.

    Lazy: a folder is walked as the caller consumes it and no ECG file is opened here.
    """
    p = Path(path)
    if p.is_dir():
        yield from scan_folder(p)
    elif p.suffix.lower() == ".csv":
        yield from scan_ptbxl_csv(p)
    elif p.suffix.lower() in COLLECTION_EXTENSIONS:
        yield from _collection_entries(p)
    else:
        yield _file_entry(p)


def scan_folder(folder: Path) -> Iterator[RecordEntry]:
    """ECG files under ``folder``, each once, by the one folder scan (:func:`io.files.ecg_files`:
    recursive, sorted, hidden names skipped, WFDB by its ``.hea``).

    A file that cannot be listed (a damaged collection, a FIFO, a link loop) becomes one entry
    whose ``load()`` raises its error, so it is an error row and the rest are still scored.
    """
    for found in ecg_files(folder):
        if found.problem is not None:
            yield failed_entry(found.path, found.problem)
        elif found.collection:
            yield from _collection_entries(found.path)
        else:
            yield _file_entry(found.path)


def failed_entry(path: Path, error: ECGError) -> RecordEntry:
    """An entry for a file that could not even be listed: loading it raises ``error``."""
    return RecordEntry(
        source=str(path),
        key="",
        label=path.stem,
        load=_Raise(error),
        extra={"error": error.problem},
    )


class _Raise:
    """A picklable ``load`` that raises the listing error (shown as the file's error row)."""

    def __init__(self, error: ECGError) -> None:
        self.error = error

    def __call__(self) -> Record:
        raise self.error


def _file_entry(path: Path) -> RecordEntry:
    def load() -> Record:
        from ecgviewer import io

        out = io.read(path)
        if not isinstance(out, Record):
            raise ECGError(path, "holds several ECGs: open it as a collection")
        return out

    return RecordEntry(source=str(path), key="", label=path.stem, load=load)


def _collection_entries(path: Path) -> list[RecordEntry]:
    """The ECGs of an HDF5 file; a file that cannot be listed is one failed entry."""
    from ecgviewer import io

    try:
        out = io.read(path)
    except ECGError as exc:
        return [failed_entry(path, exc)]
    return out if isinstance(out, list) else [RecordEntry(str(path), "", path.stem, lambda: out)]


def scan_ptbxl_csv(csv_path: Path) -> Iterator[RecordEntry]:
    """Entries of a PTB-XL style ``ptbxl_database.csv`` (records beside it, WFDB).

    Rows, demographics and PTB-XL's spellings come from :mod:`ecgviewer.io.ptbxl_database`
    (the same rules model/ trains with); the recording date rides along for the worklist.
    """
    for row in read_ptbxl_database(csv_path):
        yield RecordEntry(
            source=str(row.header),
            key="",
            label=f"ecg {row.ecg_id or row.header.stem}",
            load=_ptbxl_loader(row.header, row.patient),
            patient=row.patient,
            extra={"start": row.recording_date},
        )


def _ptbxl_loader(hea: Path, patient: Patient) -> Callable[[], Record]:
    def load() -> Record:
        rec = _file_entry(hea).load()
        if rec.patient.id is None and rec.patient.age is None:
            rec = replace(rec, patient=patient)
        return rec

    return load


def load_row(path: str, key: str = "", patient: Patient | None = None, start: str = "") -> Record:
    """Load the ECG behind a worklist row (a file, or ``key`` inside a collection).

    ``patient`` and ``start`` (the row's recording time, ISO, e.g. from a PTB-XL CSV) fill
    in what the file lacks: a PTB-XL header has no date, so a comparison could not tell
    that its "previous" ECG was recorded two years later.
    """
    from ecgviewer import io

    out = io.read(path)
    if isinstance(out, list):
        match = [e for e in out if e.key == key]
        if not match:
            raise ECGError(path, f"holds no ECG with key {key!r}")
        out = match[0].load()
    if patient is not None and out.patient.id is None and out.patient.age is None:
        out = replace(out, patient=patient)
    if out.start is None and start:
        try:
            out = replace(out, start=datetime.fromisoformat(start.strip()))
        except ValueError:
            pass  # a date the row could not give: the ECG stays without one
    return out
