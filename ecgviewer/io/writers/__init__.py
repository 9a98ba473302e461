"""Write a :class:`~ecgviewer.record.Record` as WFDB, EDF+ or HL7 aECG (``ecgad convert``,
File > Export signal).

Each writer is a generator ``iter_write(record, path) -> WriteResult`` that yields
``(done, total, message)`` between chunks, so the viewer can run it on its Worker and a long
Holter is written without ever being loaded whole (pages of :data:`CHUNK_VALUES` values).
:func:`write` drains it for the command line. What a format cannot hold (durations in WFDB,
the age in EDF+, non-ECG channels in aECG, ...) is listed in ``WriteResult.notes``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecgviewer.errors import ECGError, FileAccessError
from ecgviewer.record import Record

__all__ = ["FORMATS", "WriteResult", "chunks", "format_for", "iter_write", "planned_paths", "write"]

#: Format name -> (module, default extension, description).
FORMATS: dict[str, tuple[str, str, str]] = {
    "wfdb": ("wfdb_writer", ".hea", "WFDB (PhysioNet): .hea + .dat (16-bit) + .atr"),
    "edf": ("edf_writer", ".edf", "EDF+ with annotations (16-bit)"),
    "hl7aecg": ("aecg_writer", ".xml", "HL7 aECG XML"),
}
_EXTENSIONS = {".hea": "wfdb", ".dat": "wfdb", ".edf": "edf", ".xml": "hl7aecg"}
#: Values (leads x samples) per chunk: 2 M float32 = 8 MB in memory at a time.
CHUNK_VALUES = 2_000_000

Progress = Generator[tuple[int, int, str], None, "WriteResult"]


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
    if suffix not in _EXTENSIONS:
        raise ECGError(
            path,
            "cannot tell the output format from the extension "
            f"{suffix or '(none)'}: give --format {'|'.join(FORMATS)}",
        )
    return _EXTENSIONS[suffix]


def planned_paths(path: str | os.PathLike[str], fmt: str | None = None) -> list[Path]:
    """Every file a write to ``path`` may create (WFDB: header, signal and annotation files)."""
    out = Path(path)
    if format_for(out, fmt) == "wfdb":
        stem = out.name[: -len(out.suffix)] if out.suffix.lower() in (".hea", ".dat") else out.name
        return [out.parent / f"{stem}{ext}" for ext in (".hea", ".dat", ".atr")]
    return [out]


def iter_write(
    record: Record, path: str | os.PathLike[str], fmt: str | None = None, *, overwrite: bool = False
) -> Progress:
    """Write ``record`` to ``path``, yielding progress; returns a :class:`WriteResult`.

    Existing files are never replaced unless ``overwrite`` is given, the source file is never
    written over, and a write that fails part-way removes what it had written.
    """
    out = Path(path)
    name = format_for(out, fmt)
    if not out.parent.is_dir():
        raise FileAccessError(out, "the folder to write into does not exist")
    if not os.access(out.parent, os.W_OK):
        raise FileAccessError(out, "permission denied: cannot write into this folder")
    targets = planned_paths(out, name)
    source = Path(record.source).resolve() if record.source else None
    if source is not None and any(t.resolve() == source for t in targets):
        raise FileAccessError(out, "is the file being converted: choose another output name")
    existing = [t for t in targets if t.exists()]
    if existing and not overwrite:
        raise FileAccessError(existing[0], "already exists: not overwritten (use --overwrite)")
    module = importlib.import_module(f"ecgviewer.io.writers.{FORMATS[name][0]}")
    try:
        result = yield from module.iter_write(record, out)
    except BaseException as exc:
        for t in targets:
            if t not in existing:
                t.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise FileAccessError(out, f"cannot be written: {exc.strerror or exc}") from None
        raise
    return result


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
