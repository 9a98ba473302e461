"""Worklist to CSV and back, with the standard-library csv module.

Floats are written with ``repr`` so a read-back gives the same number (no rounding), empty cells
mean "none". The column order is stable and the first row is a header, so spreadsheets and
``pandas.read_csv`` open it directly.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import Any

from ecgviewer.errors import FileAccessError
from ecgviewer.review.worklist import WorklistRow

#: Columns written, in order (the clinically useful ones first).
COLUMNS: tuple[str, ...] = (
    "label",
    "patient_id",
    "start",
    "duration",
    "n_leads",
    "score",
    "percentile",
    "findings",
    "review_state",
    "note",
    "reviewer",
    "review_time",
    "model_version",
    "status",
    "error",
    "path",
    "key",
    "content_hash",
    "uid",
    "order",
    "flags",
    "reading_state",
    "signer",
    "signed_at",
    "statements",
    "reader_measurements",
    "readers",
)
_TYPES = {f.name: f.type for f in fields(WorklistRow)}


def export_csv(rows: Iterable[WorklistRow], path: str | os.PathLike[str]) -> int:
    """Write ``rows`` to ``path`` (UTF-8, header row); returns how many rows were written."""
    n = 0
    try:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS)
            for row in rows:
                writer.writerow([_cell(getattr(row, c)) for c in COLUMNS])
                n += 1
    except OSError as exc:
        raise FileAccessError(path, f"cannot write the CSV export: {exc.strerror or exc}") from None
    return n


def read_csv(path: str | os.PathLike[str]) -> list[WorklistRow]:
    """Read a file written by :func:`export_csv` back into rows."""
    with open(Path(path), newline="", encoding="utf-8") as fh:
        return [
            WorklistRow(**{k: _parse(k, v) for k, v in rec.items()}) for rec in csv.DictReader(fh)
        ]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple):  # flags: names without spaces ("lead_off:V1,V2")
        return " ".join(str(v) for v in value)
    return str(value)


def _parse(name: str, text: str) -> Any:
    kind = str(_TYPES[name])
    if kind.startswith("tuple"):
        return tuple(text.split())
    if "float" in kind:
        return float(text) if text != "" else None
    if "int" in kind:
        return int(text) if text != "" else (None if "None" in kind else 0)
    return text
