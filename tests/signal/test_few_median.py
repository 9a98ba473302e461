"""median_of_few is np.median, and nanmedian_of_few np.nanmedian, value for value."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from ecgviewer.signal.few_median import median_of_few, nanmedian_of_few

CASES = [
    (shape, axis)
    for shape in [(12, 100, 15), (12, 14, 100), (3, 1, 7), (5, 2), (7,)]
    for axis in [0, 1, -1]
    if axis < len(shape)
]


@pytest.mark.parametrize(("shape", "axis"), CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_median_of_few_is_numpys_median(shape: tuple[int, ...], axis: int, dtype: type) -> None:
    rng = np.random.default_rng(len(shape) + axis)
    # Quantised so that ties are common, and with NaN in some rows.
    a = (np.round(rng.normal(size=shape) * 8) / 8).astype(dtype)
    cases = [a]
    if dtype is not np.int64 and a.size > 3:
        b = a.copy()
        b.flat[:: max(1, a.size // 3)] = np.nan
        cases.append(b)
    for x in cases:
        want = np.median(x, axis=axis)
        got = median_of_few(x, axis=axis)
        assert got.dtype == want.dtype and np.shape(got) == np.shape(want)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(("shape", "axis"), CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nanmedian_of_few_is_numpys_nanmedian(
    shape: tuple[int, ...], axis: int, dtype: type
) -> None:
    rng = np.random.default_rng(7 + len(shape) + axis)
    a = (np.round(rng.normal(size=shape) * 8) / 8).astype(dtype)
    a[rng.random(size=shape) < 0.4] = np.nan  # rows with odd, even and no finite values
    if a.ndim > 1:
        np.moveaxis(a, axis, -1)[0] = np.nan  # one whole row of NaN
    with warnings.catch_warnings():  # numpy warns of the all-NaN row
        warnings.simplefilter("ignore", RuntimeWarning)
        want = np.nanmedian(a, axis=axis)
    got = nanmedian_of_few(a, axis=axis)
    assert got.dtype == want.dtype and np.shape(got) == np.shape(want)
    np.testing.assert_array_equal(got, want)
