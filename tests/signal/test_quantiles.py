"""quantiles.percentile is np.percentile(..., axis=-1), value for value."""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer.signal.quantiles import median, partition_in_place, percentile

QS = [0.0, 0.5, 1.0, 5.0, 25.0, 50.0, 80.0, 95.0, 99.0, 99.5, 100.0]


@pytest.mark.parametrize("shape", [(1,), (2,), (15,), (1000,), (12, 960), (3, 4, 77), (12, 5000)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_percentile_is_numpys(shape: tuple[int, ...], dtype: type) -> None:
    rng = np.random.default_rng(sum(shape))
    x = rng.normal(size=shape) * 3
    for a in (x, np.round(x * 4) / 4):  # ties common in the second
        a = a.astype(dtype)
        ref = a.astype(np.float64)
        for q in QS:
            got, want = percentile(a, q), np.percentile(a, q, axis=-1)
            assert np.shape(got) == np.shape(want) and np.asarray(got).dtype == want.dtype
            np.testing.assert_array_equal(got, want)
        pair = [0.5, 99.5]
        for qs in (pair, QS):
            got = percentile(a, qs)
            assert got.dtype == np.float64
            np.testing.assert_array_equal(got, np.percentile(a, qs, axis=-1))
            # as_float64: numpy's values for the float64 copy
            for q in (qs, qs[-1]):
                want = np.percentile(ref, q, axis=-1)
                np.testing.assert_array_equal(percentile(a, q, as_float64=True), want)


def test_one_percentile_of_a_row_is_a_float_and_nan_rows_are_numpys() -> None:
    a = np.arange(10.0)
    assert percentile(a, 80).shape == () and float(percentile(a, 80)) == np.percentile(a, 80)
    b = np.random.default_rng(0).normal(size=(3, 50))
    b[1, 7] = np.nan
    np.testing.assert_array_equal(percentile(b, 95), np.percentile(b, 95, axis=-1))
    assert np.isnan(percentile(b, 95)[1])
    with pytest.raises(ValueError):
        percentile(a, 101)


def test_integers_go_through_numpy() -> None:
    a = np.arange(11)
    assert percentile(a, 50) == np.percentile(a, 50)


def test_outer_percentiles_of_long_rows_are_numpys() -> None:
    """ECG-like rows with plateaus and ties, constant rows, and rows whose every 16th sample
    is extreme (which once misled a faster path)."""
    from ecgviewer.signal.synthetic import synthetic_ecg

    ecg = synthetic_ecg(fs=500.0, duration=10.0, hr=70.0, seed=1).signal.astype(np.float32)
    rng = np.random.default_rng(5)
    clipped = np.clip(ecg, -0.3, 0.6)  # many equal values at both ends
    constant = np.zeros((2, 5000), np.float32)
    spiky = np.zeros((3, 4096))
    # Only the sampled samples are extreme (and distinct): the sample's bound lies beyond
    # fewer values than needed, and numpy's partition takes over.
    spiky[:, ::16] = -(1.0 + np.arange(256))
    noisy = rng.normal(size=(12, 3000))
    for a in (ecg, clipped, constant, spiky, -spiky, noisy, ecg[0], noisy[:, :1024]):
        for qs in ([0.5, 99.5], [1.0], [0.0, 100.0], [99.0]):
            want = np.percentile(a.astype(np.float64), qs, axis=-1)
            np.testing.assert_array_equal(percentile(a, qs, as_float64=True), want)


@pytest.mark.parametrize("n", [1, 2, 3, 10, 11, 64, 3500, 3501])
def test_partition_in_place_puts_each_rank_where_a_sort_would_and_keeps_every_value(
    n: int,
) -> None:
    rng = np.random.default_rng(n)
    a = np.round(rng.normal(size=(4, n)) * 3) / 3  # ties
    want = np.sort(a, axis=-1)
    for ranks in ([n // 2], [n // 2 - 1, n // 2], [0, n - 1], [n - 1, n // 3, n // 3 - 1, 0]):
        part = a.copy()
        partition_in_place(part, ranks)
        for k in ranks:
            np.testing.assert_array_equal(part[:, k], want[:, k])
        np.testing.assert_array_equal(np.sort(part, axis=-1), want)  # nothing lost


@pytest.mark.parametrize("shape", [(1,), (2,), (7,), (12, 3500), (12, 3501), (3, 4, 50)])
def test_median_is_numpys(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(sum(shape))
    for dtype in (np.float64, np.float32):
        a = (rng.normal(size=shape) * 3).astype(dtype)
        want = np.median(a, axis=-1)
        got = median(a)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(median(a.copy(), overwrite_input=True), want)
    b = np.arange(12.0).reshape(2, 6)
    b[0, 2] = np.nan
    np.testing.assert_array_equal(median(b), np.median(b, axis=-1))  # NaN: numpy's
    np.testing.assert_array_equal(median(np.arange(6)), np.median(np.arange(6)))  # integers
