"""Plain arrays exported by research code: ``.npy`` and ``.csv``/``.txt``.

These files carry no sampling rate, so the caller must give one (``ecgad info --fs 500``, the
open dialog): ``read(path, fs=500, leads=[...], units="mV")``. Without it the reader refuses
rather than guess.

* **Orientation.** (leads, samples) and (samples, leads) are both accepted: the dimension of
  at most 16 is the leads (when both are, the smaller one; a ``leads`` list whose length
  matches one dimension decides). A 1-D array is one lead. CSV columns are leads when the
  file has a header row of names.
* **Names.** ``leads`` if given, else a CSV header row, else "ch1".."chN" with a note (we do
  not assume the standard 12-lead order for unnamed columns). A first CSV column named
  time/t/sample/index is dropped.
* **Units.** Values are taken as ``units`` (mV by default; uV and V scaled).
* **Large .npy** files are memory-mapped (``allow_pickle=False``: a .npy never runs code) and,
  above :data:`WHOLE_LOAD_VALUES` values, paged: each page is converted to float32 mV and
  checked for NaN/inf when read.
"""

from __future__ import annotations

import csv
import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ecgviewer.errors import CorruptFileError, EmptyFileError, FileTooLargeError, InvalidSignalError
from ecgviewer.io._channels import unique_names
from ecgviewer.io._common import (
    check_readable,
    ensure_finite,
    head_bytes,
    is_number,
    unit_scale,
)
from ecgviewer.io._paged import PagedSignalBase
from ecgviewer.record import MAX_FS, MIN_FS, Record, normalize_lead_name

#: Arrays with at most this many values are loaded; larger .npy files are paged.
WHOLE_LOAD_VALUES = 4_000_000
#: Most leads a file can have; a dimension above this is samples.
MAX_LEADS = 16
#: Largest CSV parsed (about 1.5x this in memory at peak): ~1 h of 12-lead 500 Hz text.
MAX_CSV_BYTES = 256 << 20
#: Larger sample magnitudes (1 kV) are damage, not an ECG (float32 would also overflow).
MAX_ABS_MV = 1e6

_TIME_COLUMNS = {
    "time",
    "t",
    "sample",
    "samples",
    "index",
    "idx",
    "seconds",
    "time_s",
    "ms",
    "time_ms",
    "timestamp",
    "",
}


def read(
    path: str | os.PathLike[str],
    fs: float | None = None,
    leads: Sequence[str] | None = None,
    units: str = "mV",
    **opts: Any,
) -> Record:
    """Read a ``.npy`` or ``.csv`` ECG array.

    Parameters
    ----------
    path
        The file.
    fs
        Sampling rate in Hz. Required: these files do not store it.
    leads
        Lead names, one per lead (optional).
    units
        Unit of the values: "mV" (default), "uV" or "V".

    Raises
    ------
    ECGError
        No or implausible rate, unknown units, unreadable/ambiguous array, NaN/inf samples.
    """
    p = Path(path)
    check_readable(p)
    rate = _check_rate(p, fs)
    factor = unit_scale(units)
    if factor is None:
        raise InvalidSignalError(p, f"units {units!r} are not a voltage (use mV, uV or V)")
    limit = int(opts.get("whole_load_values", WHOLE_LOAD_VALUES))
    notes: list[str] = []
    if p.suffix.lower() == ".npy" or head_bytes(p, 6) == b"\x93NUMPY":
        data, header_names = _load_npy(p), None
        fmt = "npy"
    else:
        data, header_names, empty = _load_csv(p)
        fmt = "csv"
        if empty:
            notes.append(f"{empty} empty columns (no value in the first rows) left out")
    given = list(leads) if leads is not None else None
    if header_names is not None:
        data = data.T  # CSV with a header: columns are leads
    else:
        data = _orient(p, data, len(given) if given else None)
    n_leads = data.shape[0]
    if given is not None and len(given) != n_leads:
        raise InvalidSignalError(p, f"{len(given)} lead names given for {n_leads} leads")
    if given is not None:
        names = [normalize_lead_name(str(n)) for n in given]
    elif header_names is not None:
        names = [normalize_lead_name(n) for n in header_names]
    else:
        names = [f"ch{i + 1}" for i in range(n_leads)]
        notes.append("lead names not given; pass leads=[...] (CLI --leads) to name them")
    names = unique_names(names)
    if data.shape[1] == 0:
        raise EmptyFileError(p, "the array has no samples")
    if isinstance(data, np.memmap) and data.size > limit:
        signal: Any = ArrayPagedSignal(p, data, factor, names)
        notes.append("large array read page by page")
    else:
        owned = fmt == "csv" and data.dtype == np.float64  # parsed here: scaled in place
        signal = data if owned else np.array(data, dtype=np.float64)
        ensure_finite(p, signal, names)
        with np.errstate(over="ignore"):  # an overflow gives inf: refused just below
            np.multiply(signal, factor, out=signal)
        peak = float(np.abs(signal).max()) if signal.size else 0.0
        if peak > MAX_ABS_MV:
            raise InvalidSignalError(
                p,
                f"sample values up to {peak:.3g} mV are not an ECG (wrong units?)"
                if np.isfinite(peak)
                else "sample values overflow when converted to mV: not an ECG",
            )
        signal = signal.astype(np.float32)
    if units.strip().lower() != "mv":
        notes.append(f"values given in {units}, converted to mV")
    return Record(
        signal=signal, fs=rate, leads=names, source=str(p), format=fmt, notes=tuple(notes)
    )


def _check_rate(p: Path, fs: float | None) -> float:
    if fs is None:
        raise InvalidSignalError(
            p,
            f"no sampling rate: {p.suffix.lower() or 'plain array'} files do not store one; "
            "give it (command line --fs, or the rate field of the open dialog)",
        )
    try:
        rate = float(fs)
    except (TypeError, ValueError):
        raise InvalidSignalError(p, f"sampling rate {fs!r} is not a number") from None
    if not math.isfinite(rate) or not MIN_FS <= rate <= MAX_FS:
        raise InvalidSignalError(
            p, f"sampling rate {fs!r} Hz is outside the plausible range {MIN_FS:g}-{MAX_FS:g} Hz"
        )
    return rate


def _load_npy(p: Path) -> np.ndarray:
    try:
        arr = np.load(p, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise CorruptFileError(p, f"not a plain numeric .npy array ({exc})") from None
    except (OSError, EOFError) as exc:
        raise CorruptFileError(p, f"damaged .npy file ({exc})") from None
    if not isinstance(arr, np.ndarray):
        raise CorruptFileError(p, "holds several arrays (.npz?), expected one")
    if arr.dtype.kind not in "iuf":
        raise CorruptFileError(p, f"holds {arr.dtype} values, expected numbers")
    return arr


def _table_kind(p: Path) -> str:
    """How messages name a text array: by its own suffix (a .txt table is not called CSV)."""
    return "CSV file" if p.suffix.lower() == ".csv" else "text table"


def _load_csv(p: Path) -> tuple[np.ndarray, list[str] | None, int]:
    """Parse a CSV straight from the file (numpy's C parser, no copy of the text in memory):
    about 1.5x the file's size at peak instead of ~13x, and refused above :data:`MAX_CSV_BYTES`.
    Also gives how many empty columns were left out (:func:`_filled_columns`)."""
    what = _table_kind(p)
    size = p.stat().st_size
    if size > MAX_CSV_BYTES:
        raise FileTooLargeError(
            p,
            f"{what} of {size / 2**20:,.0f} MB is over the {MAX_CSV_BYTES >> 20} MB limit for "
            "text arrays (save long recordings as .npy, which is read page by page)",
        )
    try:
        with open(p, encoding="utf-8-sig", newline="") as fh:
            head = fh.read(1 << 16)
            lines = [
                ln for ln in head.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
            ]
            if len(head) == 1 << 16 and lines and not head.endswith(("\n", "\r")):
                lines = lines[:-1] or lines  # the last line of the sample may be cut
            if not lines:
                raise EmptyFileError(p, f"the {what} has no rows")
            try:
                sample = lines[0] if len(lines) == 1 else "\n".join(lines[:5])
                delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t ").delimiter
            except csv.Error:
                delimiter = ","
            first = [
                c.strip().strip('"') for c in next(csv.reader([lines[0]], delimiter=delimiter))
            ]
            header = None
            if not all(is_number(c) for c in first if c):
                header = first
            keep, _width = _filled_columns(lines[1:] if header is not None else lines, delimiter)
            fh.seek(0)
            rows = _data_lines(fh, skip_first=header is not None)
            try:
                with warnings.catch_warnings():
                    # "input contained no data": a header-only file, said below as EmptyFileError
                    warnings.simplefilter("ignore", UserWarning)
                    data = np.loadtxt(
                        rows,
                        delimiter=None if delimiter == " " else delimiter,
                        dtype=np.float64,
                        ndmin=2,
                        usecols=keep,
                    )
            except ValueError as exc:
                raise CorruptFileError(p, f"{what} values are not all numbers ({exc})") from None
            if keep is not None:
                fh.seek(0)
                _check_left_out_empty(p, fh, keep, _width, delimiter, header is not None)
    except UnicodeDecodeError:
        raise CorruptFileError(p, f"not a text file ({what} expected)") from None
    if data.size == 0:
        raise EmptyFileError(p, f"the {what} has a header row but no samples")
    if header is not None and keep is not None:
        if len(header) != _width:  # which name goes with which kept column is not known
            raise CorruptFileError(
                p, f"header row has {len(header)} names but rows have {_width} values"
            )
        header = [header[k] for k in keep]  # a header of every column: its kept names
    if header is not None:
        if len(header) != data.shape[1]:
            raise CorruptFileError(
                p, f"header row has {len(header)} names but rows have {data.shape[1]} values"
            )
        if len(header) > 1 and header[0].strip().lower() in _TIME_COLUMNS:
            header = header[1:]
            data = data[:, 1:]
    empty = 0 if keep is None else _width - len(keep)
    return data, header, empty


def _filled_columns(lines: list[str], delimiter: str) -> tuple[list[int] | None, int]:
    """The columns holding a value in any of the file's first ``lines``, where some are empty
    in all of them (None: every column is used), and how many columns there are. Why: a
    Contec export writes the leads it did not record as empty cells (",,,,,,"), which numpy
    cannot read as numbers."""
    if delimiter == " " or not lines:
        return None, 0
    rows = list(csv.reader(lines, delimiter=delimiter))
    width = max(len(r) for r in rows)
    filled = [k for k in range(width) if any(k < len(r) and r[k].strip() for r in rows)]
    return (filled if filled and len(filled) < width else None), width


def _check_left_out_empty(
    p: Path, fh: Any, keep: list[int], width: int, delimiter: str, skip_first: bool
) -> None:
    """Refuse a table whose left-out columns (empty in its first rows) hold a value later,
    or whose rows are wider than the first rows said: a lead filled from row 6,000 on was
    dropped with a note, and a line of a million columns cut by the sample kept 32,768.
    One streaming pass, bounded by the size limit of text arrays."""
    kept = set(keep)
    for row in csv.reader(_data_lines(fh, skip_first), delimiter=delimiter):
        if len(row) > width:
            raise CorruptFileError(
                p, f"rows have up to {len(row):,} values, the first rows {width}"
            )
        for k, cell in enumerate(row):
            if k not in kept and cell.strip():
                raise CorruptFileError(
                    p,
                    f"column {k + 1} is empty in the first rows but holds values later: "
                    "give every lead a value in every row",
                )


def _data_lines(fh: Any, skip_first: bool) -> Any:
    """The file's lines without blank and comment lines (and the header row), lazily."""
    skipped = not skip_first
    for line in fh:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not skipped:
            skipped = True
            continue
        yield line


def _orient(p: Path, data: np.ndarray, n_names: int | None) -> np.ndarray:
    """Return (leads, samples)."""
    if data.ndim == 1:
        return data[None, :]
    if data.ndim != 2:
        raise InvalidSignalError(
            p, f"{data.ndim}-D array of shape {data.shape}: one ECG (leads x samples) expected"
        )
    rows, cols = data.shape
    if n_names is not None and (rows == n_names) != (cols == n_names):
        return data if rows == n_names else data.T
    if rows <= MAX_LEADS and (rows <= cols or cols > MAX_LEADS):
        return data
    if cols <= MAX_LEADS:
        return data.T
    raise InvalidSignalError(
        p,
        f"cannot tell leads from samples in shape {data.shape}: "
        f"expected one dimension of at most {MAX_LEADS} leads",
    )


class ArrayPagedSignal(PagedSignalBase):
    """A large memory-mapped array served page by page as float32 mV (each page checked for
    NaN/inf by :class:`~ecgviewer.io._paged.PagedSignalBase`)."""

    _check_finite = True

    def __init__(self, path: Path, data: np.ndarray, factor: float, names: list[str]) -> None:
        self._path = path
        self._data = data
        self._factor = factor
        self._names = names
        self.shape = (int(data.shape[0]), int(data.shape[1]))

    def _read_page(self, rows: list[int], a: int, b: int) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):  # overflow -> inf, refused by the base
            page = np.asarray(self._data[rows, a:b], dtype=np.float64) * self._factor
            return page.astype(np.float32)
