"""Write a :class:`~ecgviewer.record.Record` as WFDB, EDF+ or HL7 aECG (``ecgad convert``,
File > Export signal).

Each writer is a generator ``iter_write(record, path) -> WriteResult`` that yields
``(done, total, message)`` between chunks, so the viewer can run it on its Worker and a long
Holter is written without ever being loaded whole (pages of :data:`CHUNK_VALUES` values).
:func:`write` drains it for the command line. What a format cannot hold (durations in WFDB,
the age in EDF+, non-ECG channels in aECG, ...) is listed in ``WriteResult.notes``.

Every write is all or nothing: the format writes its files into a temporary folder beside the
target, and they are moved into place only when all are written, so a failed or cancelled
write (disk full, a refused record) leaves an existing file or record as it was. Replacing a
WFDB record also removes the old record's annotation files the new one does not have (the
reader attaches every annotation file beside the header).
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecgviewer.errors import ECGError, FileAccessError
from ecgviewer.record import Record

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "WriteResult",
    "check_wfdb_name",
    "chunks",
    "TextCleaner",
    "clean_text",
    "existing_paths",
    "format_for",
    "iter_write",
    "planned_paths",
    "wfdb_record_name",
    "write",
]

#: Format name -> (module, default extension, description).
FORMATS: dict[str, tuple[str, str, str]] = {
    "wfdb": ("wfdb_writer", ".hea", "WFDB (PhysioNet): .hea + .dat (16-bit) + .atr"),
    "edf": ("edf_writer", ".edf", "EDF+ with annotations (16-bit)"),
    "hl7aecg": ("aecg_writer", ".xml", "HL7 aECG XML"),
}
#: Extension -> format (``format_for``; the GUI replaces one of these by the chosen format's).
EXTENSIONS = {".hea": "wfdb", ".dat": "wfdb", ".edf": "edf", ".xml": "hl7aecg"}
#: Values (leads x samples) per chunk: 2 M float32 = 8 MB in memory at a time.
CHUNK_VALUES = 2_000_000

Progress = Generator[tuple[int, int, str], None, "WriteResult"]

#: Characters of a WFDB record name (the header names its signal files after it, and wfdb and
#: the WFDB software library accept only these).
WFDB_NAME = re.compile(r"[A-Za-z0-9_-]+")
#: Control characters (C0, DEL, C1) and what no UTF-8 XML file can hold (lone surrogates,
#: U+FFFE/U+FFFF); tab, CR and LF are replaced by a space (they separate words).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_BREAKS = re.compile(r"\r\n|[\t\n\r]")


@dataclass
class WriteResult:
    """The files written and what the format could not hold."""

    paths: list[Path]
    notes: list[str] = field(default_factory=list)


def format_for(path: str | os.PathLike[str], fmt: str | None = None) -> str:
    """The output format: ``fmt`` when given, else from the extension of ``path``."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise ECGError(path, f"unknown output format {fmt!r} (choose {', '.join(FORMATS)})")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        raise ECGError(
            path,
            "cannot tell the output format from the extension "
            f"{suffix or '(none)'}: give --format {'|'.join(FORMATS)}",
        )
    return EXTENSIONS[suffix]


def wfdb_record_name(path: str | os.PathLike[str]) -> str:
    """The WFDB record name of ``path`` (``x.hea``, ``x.dat`` and ``x`` all name record x)."""
    out = Path(path)
    return out.name[: -len(out.suffix)] if out.suffix.lower() in (".hea", ".dat") else out.name


def check_wfdb_name(path: str | os.PathLike[str]) -> str:
    """The record name of ``path``; an ECGError when WFDB software cannot read it back."""
    name = wfdb_record_name(path)
    if not WFDB_NAME.fullmatch(name):
        raise ECGError(
            path,
            f"{name!r} is not a valid WFDB record name: use only the letters A-Z and a-z, "
            "digits, '_' and '-' (no dot, space or accented letter)",
        )
    return name


def planned_paths(path: str | os.PathLike[str], fmt: str | None = None) -> list[Path]:
    """Every file a write to ``path`` may create (WFDB: header, signal and annotation files)."""
    out = Path(path)
    if format_for(out, fmt) == "wfdb":
        stem = wfdb_record_name(out)
        return [out.parent / f"{stem}{ext}" for ext in (".hea", ".dat", ".atr")]
    return [out]


def existing_paths(path: str | os.PathLike[str], fmt: str | None = None) -> list[Path]:
    """The files of the target record that exist now: what a write to ``path`` replaces (for
    WFDB also annotation files of another annotator, ``x.qrs``, which the reader would attach
    to the new record)."""
    targets = planned_paths(path, fmt)
    found = [t for t in targets if t.exists()]
    if format_for(path, fmt) == "wfdb":
        found += [p for p in _annotation_files(Path(path)) if p not in targets]
    return found


def _annotation_files(path: Path) -> list[Path]:
    """WFDB annotation files (known annotator extensions) of the record ``path`` names."""
    from ecgviewer.io.wfdb_format import KNOWN_ANNOTATIONS

    stem = wfdb_record_name(path)
    return [
        p for ext in sorted(KNOWN_ANNOTATIONS) if (p := path.parent / f"{stem}.{ext}").is_file()
    ]


def clean_text(text: str) -> str:
    """``text`` without control characters: tab, CR and LF become a space, the others (and
    what XML cannot hold) are removed. Free texts (annotations, patient id, device, lead names)
    come from other files as they are: a form feed in an aux note makes XML invalid and
    ``wfdb.wrann`` refuse the record."""
    return _CONTROL.sub("", _BREAKS.sub(" ", text))


def ascii_text(text: str) -> str:
    """``text`` in printable ASCII, accents dropped ("Zürcher" -> "Zurcher"), other letters
    left out: EDF headers and WFDB header lines are ASCII, and a reader decodes anything
    else its own way (a "ü" in UTF-8 read back as "Ã¼")."""
    plain = unicodedata.normalize("NFKD", clean_text(text))
    return "".join(ch for ch in plain if " " <= ch <= "~")


def ascii_name(name: str, fmt: str) -> tuple[str, list[str]]:
    """A patient name as an ASCII header holds it (:func:`ascii_text`; "" when nothing of it
    is left) and the writer's note when that changed it ("Müller" written "Muller", a name in
    another script left out), so the change is said, not silent."""
    written = ascii_text(name)
    if not written.strip(" ,.-'"):
        return "", [f"patient name not written: {fmt} headers hold ASCII only"]
    if written == name:
        return written, []
    return written, [f"patient name written as {written!r}: {fmt} headers hold ASCII only"]


class TextCleaner:
    """:func:`clean_text` that counts the texts it changed, for the writer's note."""

    def __init__(self) -> None:
        self.changed = 0

    def __call__(self, text: str) -> str:
        out = clean_text(text)
        self.changed += out != text
        return out

    def note(self) -> str:
        return (
            f"{self.changed} texts held control characters (tabs, line breaks, ...): "
            "removed or written as spaces"
        )


def iter_write(
    record: Record, path: str | os.PathLike[str], fmt: str | None = None, *, overwrite: bool = False
) -> Progress:
    """Write ``record`` to ``path``, yielding progress; returns a :class:`WriteResult`.

    Existing files are never replaced unless ``overwrite`` is given, the source file is never
    written over, and a write that fails part-way (or is closed: cancelled) leaves no file of
    its own and the existing files as they were.
    """
    out = Path(path)
    name = format_for(out, fmt)
    if name == "wfdb":
        check_wfdb_name(out)
    if not out.parent.is_dir():
        raise FileAccessError(out, "the folder to write into does not exist")
    if not os.access(out.parent, os.W_OK):
        raise FileAccessError(out, "permission denied: cannot write into this folder")
    targets = planned_paths(out, name)
    source = Path(record.source).resolve() if record.source else None
    if source is not None and any(t.resolve() == source for t in targets):
        raise FileAccessError(out, "is the file being converted: choose another output name")
    existing = existing_paths(out, name)
    if existing and not overwrite:
        raise FileAccessError(existing[0], "already exists: not overwritten (use --overwrite)")
    module = importlib.import_module(f"ecgviewer.io.writers.{FORMATS[name][0]}")
    # Same folder, so the final moves are renames on one file system (atomic per file).
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
    except OSError as exc:
        raise FileAccessError(out, f"cannot be written: {exc.strerror or exc}") from None
    try:
        try:
            result = yield from module.iter_write(record, tmp / out.name)
        except ECGError as exc:
            if exc.path is not None and Path(exc.path).parent == tmp:
                raise type(exc)(out.parent / Path(exc.path).name, exc.problem) from None
            raise
        except OSError as exc:
            raise FileAccessError(out, f"cannot be written: {exc.strerror or exc}") from None
        written = [out.parent / p.name for p in result.paths]
        try:
            # Header last: a reader never finds a new header beside the old signal file.
            for p in sorted(result.paths, key=lambda q: q.suffix.lower() == ".hea"):
                os.replace(p, out.parent / p.name)
        except OSError as exc:
            raise FileAccessError(out, f"cannot be written: {exc.strerror or exc}") from None
        for old in existing:
            if old not in written:
                old.unlink(missing_ok=True)
                result.notes.append(f"{old.name} of the replaced record removed")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return WriteResult(written, result.notes)


def write(
    record: Record, path: str | os.PathLike[str], fmt: str | None = None, *, overwrite: bool = False
) -> WriteResult:
    """Write ``record`` to ``path`` (the format from ``fmt`` or the extension)."""
    gen = iter_write(record, path, fmt, overwrite=overwrite)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


def chunks(record: Record, multiple: int = 1) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, page)`` over the whole signal: float64 mV pages of about
    :data:`CHUNK_VALUES` values, each a multiple of ``multiple`` samples long (but the last)."""
    step = max(multiple, CHUNK_VALUES // max(record.n_leads, 1) // multiple * multiple)
    for a in range(0, record.n_samples, step):
        b = min(record.n_samples, a + step)
        yield a, np.asarray(record.signal[:, a:b], dtype=np.float64)


def lead_ranges(record: Record) -> tuple[np.ndarray, np.ndarray]:
    """Per-lead minimum and maximum over the whole signal (one chunked pass)."""
    lo = np.full(record.n_leads, np.inf)
    hi = np.full(record.n_leads, -np.inf)
    for _, page in chunks(record):
        lo = np.minimum(lo, page.min(axis=1))
        hi = np.maximum(hi, page.max(axis=1))
    return lo, hi
