"""The one base for signals read from disk page by page (EDF, WFDB, ISHNE, DICOM, HDF5, arrays).

Indexing is parsed and checked here, once: ``sig[rows, a:b]`` with an int, slice, list or mask
for the rows and an int or forward slice for the columns (slices clip like numpy). A reader
implements only :meth:`PagedSignalBase._read_page` for a checked, non-empty page (the pattern
of mne-python's ``BaseRaw._read_segment_file``), so every paged format behaves the same to
the viewer, the scorer and the writers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ecgviewer.errors import CorruptFileError, FileAccessError, InvalidSignalError

__all__ = ["PagedSignalBase", "file_stamp"]


def file_stamp(path: Path) -> tuple[int, int]:
    """(size, mtime in ns): compared before each page so a file changed on disk is noticed."""
    st = os.stat(path)
    return (st.st_size, st.st_mtime_ns)


class PagedSignalBase:
    """A (leads, samples) float32 mV signal whose pages come from :meth:`_read_page`.

    Satisfies :class:`ecgviewer.record.PagedSignal`. Subclasses set ``shape`` and ``_path``
    (named in errors), optionally ``_stamp`` (from :func:`file_stamp`) to refuse reading a
    file that changed since it was opened.
    """

    dtype = np.dtype(np.float32)
    ndim = 2
    shape: tuple[int, int]
    _path: Path
    _stamp: tuple[int, int] | None = None
    #: Float sources (HDF5, arrays) may hold NaN/inf: each page is checked when True.
    _check_finite = False
    #: Largest |value| in mV a page may hold (None: not checked).
    _max_abs_mv: float | None = None

    def _read_page(self, rows: list[int], a: int, b: int) -> np.ndarray:
        """float32 mV ``[rows, a:b]``; called with ``rows`` non-empty and ``0 <= a < b <= n``."""
        raise NotImplementedError

    def read(self, rows: list[int], a: int, b: int) -> np.ndarray:
        """float32 mV ``[rows, a:b]`` for ``0 <= a <= b <= n_samples`` (checked here)."""
        if not 0 <= a <= b <= self.shape[1]:
            raise InvalidSignalError(
                self._path, f"page {a}:{b} is outside the record (0:{self.shape[1]} samples)"
            )
        if a == b or not rows:
            return np.zeros((len(rows), b - a), dtype=np.float32)
        self._check_unchanged()
        page = self._read_page(rows, a, b)
        page = page if page.dtype == np.float32 else page.astype(np.float32)
        self._check_values(page)
        return page

    def _check_values(self, page: np.ndarray) -> None:
        if self._check_finite and not np.isfinite(page).all():
            raise InvalidSignalError(self._path, "NaN or infinite samples in this part of the ECG")
        if self._max_abs_mv is not None and page.size:
            peak = float(np.abs(page).max())
            if peak > self._max_abs_mv:
                raise InvalidSignalError(
                    self._path, f"sample values up to {peak:.3g} mV are not an ECG"
                )

    def _check_unchanged(self) -> None:
        if self._stamp is None:
            return
        try:
            stamp = file_stamp(self._path)
        except OSError as exc:
            raise FileAccessError(self._path, f"can no longer be read: {exc.strerror}") from None
        if stamp != self._stamp:
            raise CorruptFileError(self._path, "the file changed on disk since it was opened")

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._path.name!r}, shape={self.shape})"

    def __getitem__(self, key: Any) -> np.ndarray:
        rows_key, cols_key = key if isinstance(key, tuple) else (key, slice(None))
        single = isinstance(rows_key, (int, np.integer))
        if single:
            rows = [range(self.shape[0])[rows_key]]
        else:
            rows = [int(r) for r in np.arange(self.shape[0])[rows_key]]
        name = type(self).__name__
        if isinstance(cols_key, (int, np.integer)):
            col = range(self.shape[1])[cols_key]
            page = self.read(rows, col, col + 1)[:, 0]
        elif isinstance(cols_key, slice):
            a, b, step = cols_key.indices(self.shape[1])
            if step < 0:
                raise IndexError(f"{name} does not support reversed slices")
            page = self.read(rows, a, max(a, b))[:, ::step]
        else:
            raise IndexError(f"{name} columns must be an int or a slice")
        return page[0] if single else page

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        data = self.read(list(range(self.shape[0])), 0, self.shape[1])
        return data if dtype is None else data.astype(dtype, copy=False)
