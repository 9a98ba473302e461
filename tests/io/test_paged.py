"""The shared paged-signal base: indexing parsed and checked once for every paged reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ecgviewer.errors import CorruptFileError, InvalidSignalError
from ecgviewer.io._paged import PagedSignalBase, file_stamp
from ecgviewer.record import PagedSignal


class _Memory(PagedSignalBase):
    """Pages from an array in memory; records each page asked of the reader."""

    def __init__(self, data: np.ndarray, path: Path, stamp: bool = False) -> None:
        self._data, self._path, self.shape = data, path, data.shape
        self._stamp = file_stamp(path) if stamp else None
        self.pages: list[tuple[list[int], int, int]] = []

    def _read_page(self, rows: list[int], a: int, b: int) -> np.ndarray:
        self.pages.append((rows, a, b))
        return self._data[rows, a:b].astype(np.float64)  # the base converts to float32


@pytest.fixture
def data() -> np.ndarray:
    return np.arange(4 * 100, dtype=np.float32).reshape(4, 100)


def test_indexing_matches_numpy(tmp_path: Path, data: np.ndarray) -> None:
    sig = _Memory(data, tmp_path)
    assert isinstance(sig, PagedSignal) and len(sig) == 4
    for key in [
        (slice(None), slice(10, 20)),
        (1, slice(5, 9)),
        ([0, 2], slice(None)),
        (slice(1, 3), 7),
        (2, 99),
        (slice(None), slice(90, 500)),
        (np.array([True, False, True, False]), slice(0, 100, 3)),
    ]:
        got = sig[key]
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, data[key])
    np.testing.assert_array_equal(np.asarray(sig), data)
    assert sig[:, 50:40].shape == (4, 0)
    assert all(rows and a < b for rows, a, b in sig.pages)  # readers see only real pages


def test_bad_keys_and_pages_refused(tmp_path: Path, data: np.ndarray) -> None:
    sig = _Memory(data, tmp_path)
    with pytest.raises(IndexError, match="reversed"):
        sig[:, ::-1]
    with pytest.raises(IndexError, match="int or a slice"):
        sig[:, [1, 2]]
    with pytest.raises(IndexError):
        sig[9, :]
    with pytest.raises(InvalidSignalError, match="outside the record"):
        sig.read([0], 90, 101)


def test_changed_file_and_bad_values_refused(tmp_path: Path, data: np.ndarray) -> None:
    f = tmp_path / "x.bin"
    f.write_bytes(b"1234")
    sig = _Memory(data, f, stamp=True)
    assert sig[0, :3].tolist() == [0, 1, 2]
    f.write_bytes(b"123456")
    with pytest.raises(CorruptFileError, match="changed on disk"):
        sig[0, :3]
    bad = data.copy()
    bad[2, 50] = np.nan
    sig = _Memory(bad, tmp_path)
    sig._check_finite = True
    np.testing.assert_array_equal(sig[:, :50], data[:, :50])
    with pytest.raises(InvalidSignalError, match="NaN"):
        sig[:, 40:60]
    sig = _Memory(data * 1e6, tmp_path)
    sig._max_abs_mv = 1e6
    with pytest.raises(InvalidSignalError, match="not an ECG"):
        sig[:, 90:]
