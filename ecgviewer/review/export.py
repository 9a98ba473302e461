"""Worklist to CSV and back, with the standard-library csv module.

Floats are written with ``repr`` so a read-back gives the same number (no rounding), empty cells
mean "none". The column order is stable and the first row is a header, so spreadsheets and
``pandas.read_csv`` open it directly.

Text cells are safe to open in a spreadsheet: control characters are dropped (a NUL stops
some CSV readers), and a text that starts like a formula (``=``, ``+``, ``-``, ``@``, tab or
carriage return, per OWASP's CSV-injection advice) gets a leading ``'`` so Excel or LibreOffice
shows it instead of running it (``=HYPERLINK(...)`` in a note). A text that is a plain number
("-0.5") is left as it is, and so are the numeric columns. :func:`read_csv` removes the ``'``
again. The ``statements`` column holds library codes bare and free text in double quotes,
"; " between (``IMI; "old MI; compare with prior"``), see
:func:`~ecgviewer.review.worklist.parse_statements`.
"""

from __future__ import annotations

import csv
import os
import re
import unicodedata
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


#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float | int):  # numbers stay numbers, signed or not
        return repr(value)
    if isinstance(value, tuple):  # flags: names without spaces ("lead_off:V1,V2")
        value = " ".join(str(v) for v in value)
    text = "".join(c for c in str(value) if c in "\t\n\r" or unicodedata.category(c) != "Cc")
    return "'" + text if _formula_quoted(text) else text


def _formula_quoted(text: str) -> bool:
    """Whether the cell's text carries (written) or needs (to write) the leading ``'``.

    Judged on the text without its leading quotes, so writing then reading gives the text back
    even when it began with ``'`` itself ("'=x" is written "''=x").
    """
    bare = text.lstrip("'")
    return bare.startswith(_FORMULA_START) and not _NUMBER.fullmatch(bare)


def _parse(name: str, text: str) -> Any:
    if _formula_quoted(text):
        text = text[1:]
    kind = str(_TYPES[name])
    if kind.startswith("tuple"):
        return tuple(text.split())
    if "float" in kind:
        return float(text) if text != "" else None
    if "int" in kind:
        return int(text) if text != "" else (None if "None" in kind else 0)
    return text
