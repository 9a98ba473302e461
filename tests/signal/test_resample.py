"""Polyphase resampling: lengths, no delay, band-limited content preserved, index mapping."""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer.signal.resample import rational_ratio, resample, resample_index, resampled_length


def test_equal_rates_are_an_exact_copy() -> None:
    x = np.random.default_rng(0).normal(size=(12, 1000))
    y = resample(x, 500.0, 500.0)
    assert y.dtype == np.float32 and y is not x
    np.testing.assert_array_equal(y, x.astype(np.float32))


@pytest.mark.parametrize(
    ("fs_in", "fs_out", "ratio"),
    [
        (500, 100, (1, 5)),
        (360, 100, (5, 18)),
        (100, 500, (5, 1)),
        (250, 100, (2, 5)),
        (1000, 100, (1, 10)),
        (128, 100, (25, 32)),
    ],
)
def test_rational_ratio(fs_in: float, fs_out: float, ratio: tuple[int, int]) -> None:
    assert rational_ratio(fs_in, fs_out) == ratio


def test_irregular_rate_is_approximated_closely() -> None:
    up, down = rational_ratio(257.1, 100.0)
    assert abs(up / down - 100.0 / 257.1) / (100.0 / 257.1) < 1e-4


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_invalid_rates_raise(bad: float) -> None:
    with pytest.raises(ValueError):
        resample(np.zeros(10), bad, 100.0)


@pytest.mark.parametrize(("fs_in", "fs_out"), [(500, 100), (360, 100), (100, 500), (257.1, 100)])
def test_sine_and_length(fs_in: float, fs_out: float) -> None:
    # A 5 Hz sine (well inside both bands) resampled equals the same sine sampled at fs_out.
    n = int(10 * fs_in)
    x = np.sin(2 * np.pi * 5.0 * np.arange(n) / fs_in)
    y = resample(x, fs_in, fs_out)
    assert y.shape == (resampled_length(n, fs_in, fs_out),)
    up, down = rational_ratio(fs_in, fs_out)
    t_out = np.arange(y.size) * down / (up * fs_in)
    expected = np.sin(2 * np.pi * 5.0 * t_out)
    mid = slice(y.size // 10, -y.size // 10)
    assert np.max(np.abs(y[mid] - expected[mid])) < 0.01


def test_no_delay_and_index_mapping() -> None:
    fs_in, fs_out = 500.0, 100.0
    t = np.arange(5000) / fs_in
    pulse = np.exp(-0.5 * ((t - 6.0) / 0.03) ** 2)
    y = resample(pulse, fs_in, fs_out)
    assert int(np.argmax(y)) == int(resample_index(3000, fs_in, fs_out)) == 600
    np.testing.assert_array_equal(resample_index(np.array([0, 5, 2503]), 500, 100), [0, 1, 501])
    assert resample_index(np.array([100]), 360, 100).dtype == np.int64


def test_axis_and_anti_aliasing() -> None:
    x = np.zeros((5000, 2))
    x[:, 1] = np.sin(2 * np.pi * 80.0 * np.arange(5000) / 500.0)  # above the new Nyquist
    y = resample(x, 500.0, 100.0, axis=0)
    assert y.shape == (1000, 2)
    assert np.abs(y[100:-100, 1]).max() < 0.02  # filtered out, not aliased to 20 Hz


def test_empty_signal() -> None:
    assert resample(np.zeros((12, 0)), 500, 100).shape == (12, 0)


@pytest.mark.parametrize(("fs_in", "fs_out"), [(500.0, 100.0), (360.0, 100.0), (100.0, 500.0)])
def test_resample_matches_scipy_default_design_to_the_bit(fs_in: float, fs_out: float) -> None:
    """The cached anti-aliasing FIR is the one resample_poly designs itself."""
    from scipy import signal as sps

    x = np.random.default_rng(2).normal(size=(12, 3000)).cumsum(axis=1)
    up, down = rational_ratio(fs_in, fs_out)
    want = sps.resample_poly(x, up, down, axis=-1, padtype="line").astype(np.float32)
    np.testing.assert_array_equal(resample(x, fs_in, fs_out), want)
    np.testing.assert_array_equal(resample(x, fs_in, fs_out), want)  # cached design


@pytest.mark.parametrize("fs_in", [200.0, 300.0, 500.0, 1000.0])
def test_whole_number_decimation_is_scipys_resample_poly(fs_in: float) -> None:
    """The block-product path for rates a whole multiple of the output's gives
    resample_poly's values (to float64 rounding; float32 out), for any length from the
    filter's up, with an offset and a trend (the "line" padding at both ends), 1-D to 3-D."""
    from scipy import signal as sps

    from ecgviewer.signal.resample import _anti_alias_fir, _decimate

    rng = np.random.default_rng(int(fs_in))
    up, down = rational_ratio(fs_in, 100.0)
    assert up == 1
    fir = _anti_alias_fir(up, down)
    for n in (fir.size, fir.size + 1, 997, 5000, 5003):
        x = rng.normal(size=(3, n)).cumsum(axis=1) * 0.05 + np.linspace(-2.0, 3.0, n) + 1.5
        want = sps.resample_poly(x, 1, down, axis=-1, window=fir, padtype="line")
        got = _decimate(x, down, fir)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max())
        np.testing.assert_allclose(
            resample(x, fs_in, 100.0), want.astype(np.float32), rtol=1e-6, atol=1e-6
        )
    one = resample(x[0], fs_in, 100.0)
    assert one.shape == want.shape[1:]
    np.testing.assert_array_equal(resample(x[None], fs_in, 100.0)[0], resample(x, fs_in, 100.0))


def test_decimation_with_nan_or_too_short_goes_through_scipy() -> None:
    from scipy import signal as sps

    from ecgviewer.signal.resample import _anti_alias_fir

    fir = _anti_alias_fir(1, 5)
    short = np.random.default_rng(1).normal(size=(2, fir.size - 1))
    want = sps.resample_poly(short, 1, 5, axis=-1, window=fir, padtype="line").astype(np.float32)
    np.testing.assert_array_equal(resample(short, 500.0, 100.0), want)
    holed = np.random.default_rng(2).normal(size=(2, 1000))
    holed[1, 500] = np.nan
    got = resample(holed, 500.0, 100.0)
    assert np.isfinite(got[0]).all() and np.isnan(got[1]).any()
