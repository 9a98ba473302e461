"""Which files hold ECGs: the files that make up one record, and the ECG files of a folder.

One walk, one set of rules, for every folder source: the worklist and ``ecgad score`` (through
``analysis.worklist_sources``), model training's ``--folder`` and the benchmarks. The rules:

* Recursive; each folder's files in name order, then its sub-folders in name order.
* Hidden names (starting with ``.``: ``.git``, macOS ``._x.xml`` copies) are skipped, files and
  folders alike.
* Links to files are followed; links to folders are not (no loops, no leaving the tree).
* A file with an ECG extension that is not a regular file (FIFO, device, dangling link, link
  loop), or a sub-folder that cannot be listed, is reported with its problem and never opened:
  a named pipe would block the reader forever.
* A record spread over several files is listed once: WFDB by its ``.hea`` (not its data files,
  nor the segment headers of a multi-segment record), ISHNE by its ``.ecg`` (not its ``.ann``).
* Arrays (``.npy``, ``.csv``, ``.txt``) are not listed: they carry no sampling rate.
* ``.xml`` is shared with every other XML document: only files whose first bytes are one of
  the XML ECG formats (HL7 aECG, GE MUSE, Philips Sierra) are listed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ecgviewer.errors import ECGError, FileAccessError
from ecgviewer.filekind import open_regular, stat_regular
from ecgviewer.io import READERS, supported_extensions

__all__ = ["COLLECTION_EXTENSIONS", "FoundFile", "ecg_files", "files_of", "wfdb_files"]

#: Files that hold many ECGs (opened as a collection, one entry per ECG).
COLLECTION_EXTENSIONS = frozenset({".h5", ".hdf5", ".hdf"})
#: Extensions never listed on their own: data files read through their header (WFDB .dat/.mat,
#: ISHNE .ann) and arrays without a sampling rate.
_NOT_LISTED = frozenset({".dat", ".mat", ".ann", ".npy", ".csv", ".txt"})
#: A multi-segment WFDB record's segment and layout headers (``name_0001``, ``name_layout``).
_SEGMENT = re.compile(r"^(.*)_(\d+|layout)$")
_SNIFF_BYTES = 4096


@dataclass(frozen=True)
class FoundFile:
    """One ECG file of a folder scan (nothing in it has been read yet)."""

    path: Path
    #: True for a file of many ECGs (HDF5).
    collection: bool = False
    #: Why it cannot be opened (not a regular file, a folder that cannot be listed); never
    #: opened when set.
    problem: ECGError | None = None


def listed_extensions() -> frozenset[str]:
    """Extensions a folder scan lists (each one ECG, or a collection of them)."""
    return frozenset(supported_extensions()) - _NOT_LISTED


def ecg_files(folder: str | os.PathLike[str]) -> Iterator[FoundFile]:
    """The ECG files under ``folder``, lazily, by the rules of this module's docstring.

    Only ``.xml`` files are opened (their first 4 KiB, to tell an ECG from other XML).
    """
    yield from _walk(Path(folder), listed_extensions())


def _walk(folder: Path, extensions: frozenset[str]) -> Iterator[FoundFile]:
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        problem = FileAccessError(folder, f"cannot be listed: {exc.strerror or exc}")
        yield FoundFile(folder, problem=problem)
        return
    present = {e.name for e in entries}
    subfolders: list[Path] = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        if _is_real_folder(entry):
            subfolders.append(path)
            continue
        stem, ext = os.path.splitext(entry.name)
        ext = ext.lower()
        if ext not in extensions:
            continue
        if ext == ".hea" and _is_segment_header(stem, present):
            continue
        try:
            stat_regular(path)  # a FIFO, device or link loop is named, never opened
        except ECGError as exc:
            yield FoundFile(path, problem=exc)
            continue
        if ext == ".xml" and not _is_xml_ecg(path):
            continue
        yield FoundFile(path, collection=ext in COLLECTION_EXTENSIONS)
    for sub in subfolders:
        yield from _walk(sub, extensions)


def _is_real_folder(entry: os.DirEntry[str]) -> bool:
    """A folder that is not a link (links to folders are not followed)."""
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _is_segment_header(stem: str, present: set[str]) -> bool:
    match = _SEGMENT.match(stem)
    return bool(match and f"{match.group(1)}.hea" in present)


def _is_xml_ecg(path: Path) -> bool:
    """True when the file's first bytes are one of the XML ECG formats' (by their sniffers)."""
    try:
        with open_regular(path) as fh:
            head = fh.read(_SNIFF_BYTES)
    except (OSError, ECGError):
        return False
    return any(spec.sniff(head, path) for spec in READERS if ".xml" in spec.extensions)


# ---------------------------------------------------------------------- one record's files
def wfdb_files(header: str | os.PathLike[str]) -> list[Path]:
    """The ``.hea`` plus the data files and segment headers it names, that exist.

    The first token of each signal line is the data file name; for a multi-segment record it
    is a segment name whose own header is followed recursively. ``~`` (empty segment) skipped.
    """
    hea = Path(header)
    if hea.suffix.lower() != ".hea":
        hea = hea.with_suffix(".hea")
    seen: list[Path] = []
    _collect_wfdb(hea, seen, depth=0)
    return seen


def _collect_wfdb(hea: Path, seen: list[Path], depth: int) -> None:
    if hea in seen or depth > 3:
        return
    seen.append(hea)
    try:
        lines = hea.read_text(encoding="latin-1").splitlines()
    except OSError:
        return
    body = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    for line in body[1:]:
        token = line.split()[0]
        if token == "~" or "/" in token or "\\" in token:
            continue
        data = hea.parent / token
        segment = hea.parent / f"{token}.hea"
        if data.is_file() and data not in seen:
            seen.append(data)
        elif segment.is_file():
            _collect_wfdb(segment, seen, depth + 1)


def files_of(path: str | os.PathLike[str]) -> list[Path]:
    """Every file whose bytes make up the ECG at ``path`` (WFDB: header + data)."""
    p = Path(path)
    if p.suffix.lower() == ".hea" or (
        p.suffix.lower() in (".dat", ".mat") and p.with_suffix(".hea").is_file()
    ):
        return wfdb_files(p)
    return [p]
