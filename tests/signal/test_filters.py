"""Zero-phase filters: frequency response from Butterworth theory, shapes, awkward inputs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from scipy import signal as sps

from ecgviewer.signal.filters import (
    DIAGNOSTIC,
    MONITORING,
    UNFILTERED,
    DisplayFilter,
    bandpass,
    highpass,
    lowpass,
    notch,
    remove_baseline,
    running_median,
)


def _sine(freq: float, fs: float, seconds: float = 10.0, amp: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * fs)) / fs
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _gain(y: np.ndarray, x: np.ndarray) -> float:
    """Amplitude ratio over the middle half (away from edge transients)."""
    n = x.shape[-1]
    mid = slice(n // 4, 3 * n // 4)
    return float(np.std(y[..., mid]) / np.std(x[..., mid]))


@pytest.mark.parametrize("fs", [100.0, 250.0, 360.0, 500.0, 1000.0])
def test_lowpass_gain_at_cutoff_is_butterworth_squared(fs: float) -> None:
    # One Butterworth pass has |H(fc)| = 1/sqrt(2); forward-backward squares it: 0.5.
    x = _sine(25.0, fs)
    assert _gain(lowpass(x, fs, 25.0), x) == pytest.approx(0.5, abs=0.02)
    assert _gain(lowpass(_sine(5.0, fs), fs, 25.0), _sine(5.0, fs)) == pytest.approx(1.0, abs=0.01)


def test_highpass_removes_wander_and_dc_keeps_qrs_band() -> None:
    fs = 500.0
    wander = _sine(0.1, fs, 20) + 3.0
    assert _gain(highpass(wander, fs, 0.5), _sine(0.1, fs, 20)) < 0.05
    x = _sine(10.0, fs)
    assert _gain(highpass(x, fs, 0.5), x) == pytest.approx(1.0, abs=0.005)
    # Gain at the cut-off is 0.5 for the zero-phase filter, as for the low-pass.
    x = _sine(0.5, fs, 40)
    assert _gain(highpass(x, fs, 0.5), x) == pytest.approx(0.5, abs=0.03)


def test_zero_phase_keeps_peak_position() -> None:
    fs = 500.0
    t = np.arange(5000) / fs
    pulse = np.exp(-0.5 * ((t - 4.0) / 0.01) ** 2).astype(np.float32)  # QRS-like
    for y in (lowpass(pulse, fs, 40.0), bandpass(pulse, fs, 0.5, 40.0), highpass(pulse, fs, 0.5)):
        assert int(np.argmax(y)) == 2000


def test_notch_removes_mains_keeps_neighbours() -> None:
    fs = 500.0
    assert _gain(notch(_sine(50.0, fs), fs, 50.0), _sine(50.0, fs)) < 0.05
    assert _gain(notch(_sine(60.0, fs), fs, 60.0), _sine(60.0, fs)) < 0.05
    # Bandwidth freq / q = 1.7 Hz: elsewhere the gain is scipy's |H(f)|^2 (two passes).
    b, a = sps.iirnotch(50.0, 30.0, fs=fs)
    for f in (10.0, 45.0, 55.0):
        expected = np.abs(sps.freqz(b, a, worN=[f], fs=fs)[1][0]) ** 2
        assert _gain(notch(_sine(f, fs), fs, 50.0), _sine(f, fs)) == pytest.approx(
            expected, abs=0.005
        )
    assert _gain(notch(_sine(10.0, fs), fs, 50.0), _sine(10.0, fs)) > 0.999


def test_matches_scipy_reference_in_the_middle() -> None:
    # Away from the edges our padding choice cannot matter: same as scipy's own sosfiltfilt.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 5000))
    sos = sps.butter(4, 40.0, btype="lowpass", fs=500.0, output="sos")
    ref = sps.sosfiltfilt(sos, x, axis=-1)
    np.testing.assert_allclose(lowpass(x, 500.0, 40.0)[:, 500:-500], ref[:, 500:-500], atol=1e-5)


@pytest.mark.parametrize("shape", [(5000,), (12, 5000), (2, 3, 5000)])
def test_shapes_dtype_and_input_untouched(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=shape).astype(np.float32)
    before = x.copy()
    for y in (
        highpass(x, 500.0),
        lowpass(x, 500.0, 40.0),
        bandpass(x, 500.0, 0.5, 40.0),
        notch(x, 500.0),
        remove_baseline(x, 500.0),
        MONITORING.apply(x, 500.0),
    ):
        assert y.shape == x.shape
        assert y.dtype == np.float32
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("n", [0, 1, 3, 5, 10, 50])
def test_short_signals_do_not_crash(n: int) -> None:
    x = np.linspace(0, 1, n, dtype=np.float32)
    for y in (
        highpass(x, 500.0, 0.05),
        lowpass(x, 500.0, 40.0),
        bandpass(x, 500.0, 0.5, 40.0),
        notch(x, 500.0),
        remove_baseline(x, 500.0),
    ):
        assert y.shape == (n,)
        assert np.all(np.isfinite(y))


def test_cutoffs_above_nyquist_are_skipped_or_clipped() -> None:
    fs = 100.0  # PTB-XL low rate: Nyquist 50 Hz
    x = np.random.default_rng(2).normal(size=(12, 1000)).astype(np.float32)
    np.testing.assert_array_equal(lowpass(x, fs, 150.0), x)
    np.testing.assert_array_equal(notch(x, fs, 50.0), x)
    np.testing.assert_array_equal(notch(x, fs, 60.0), x)
    np.testing.assert_array_equal(highpass(x, fs, 80.0), x)
    # A band-pass whose upper edge is past Nyquist is a high-pass at its lower edge.
    np.testing.assert_allclose(bandpass(x, fs, 0.5, 150.0), highpass(x, fs, 0.5), atol=1e-6)
    np.testing.assert_allclose(bandpass(x, fs, 0.0, 20.0, order=4), lowpass(x, fs, 20.0), atol=1e-6)


def test_remove_baseline_removes_wander_keeps_qrs() -> None:
    fs = 500.0
    t = np.arange(5000) / fs
    beats = sum(np.exp(-0.5 * ((t - c) / 0.01) ** 2) for c in np.arange(0.5, 10, 0.8))
    wander = 0.5 * np.sin(2 * np.pi * 0.3 * t) + 0.2
    y = remove_baseline((beats + wander).astype(np.float32), fs)
    between = np.abs(t[:, None] - np.arange(0.5, 10, 0.8)[None, :]).min(axis=1) > 0.1
    inner = between & (t > 0.6) & (t < 9.4)  # the median window reflects at the ends
    assert np.abs(y[inner]).max() < 0.05  # wander gone between beats (was up to 0.7)
    assert y[np.argmin(np.abs(t - 4.5))] == pytest.approx(1.0, abs=0.05)  # R amplitude kept


def test_display_filter_describe() -> None:
    assert DisplayFilter(0.5, 40.0, 50.0).describe() == "0.5-40 Hz, notch 50 Hz"
    assert DisplayFilter(0.05, 150.0, None).describe() == "0.05-150 Hz"
    assert DisplayFilter(0.5, None, None).describe() == "high-pass 0.5 Hz"
    assert DisplayFilter(None, 40.0, 60.0).describe() == "low-pass 40 Hz, notch 60 Hz"
    assert UNFILTERED.describe() == "unfiltered"
    # At 100 Hz neither a 150 Hz low-pass nor a 50 Hz notch can act: the caption says so.
    assert DIAGNOSTIC.describe(fs=100.0) == "high-pass 0.05 Hz"
    assert DisplayFilter(0.5, 40.0, 50.0).describe(fs=100.0) == "0.5-40 Hz"


def test_display_filter_apply_equals_stages() -> None:
    fs = 500.0
    x = np.random.default_rng(3).normal(size=(2, 3000)).astype(np.float32)
    f = DisplayFilter(0.5, 40.0, 50.0)
    staged = notch(bandpass(x, fs, 0.5, 40.0, edges="even"), fs, 50.0, edges="even")
    np.testing.assert_allclose(f.apply(x, fs), staged, atol=1e-6)
    y = UNFILTERED.apply(x, fs)
    np.testing.assert_array_equal(y, x)
    assert y is not x


@pytest.mark.parametrize("fs", [100.0, 500.0])
def test_display_filter_draws_no_ramp_where_a_strip_ends_on_an_r_wave(fs: float) -> None:
    """Scipy's odd extension reflects the strip through its last sample: a strip cut on an
    R wave got a ~2 mV step beyond its end, which the 0.5 Hz high-pass drew as a 4-6 mm
    downward ramp over the last half second where the trace is flat (PTB-XL 01713)."""
    from ecgviewer.signal.synthetic import synthetic_ecg

    s = synthetic_ecg(fs=fs, duration=10.0, seed=4)
    lead = s.signal[s.leads.index("V5")]
    r = int(np.argmax(lead[-int(1.2 * fs) :])) + lead.size - int(1.2 * fs)
    strip = lead[: r + 1]  # ends at the top of an R wave
    shown = MONITORING.apply(strip, fs)
    before = slice(r - int(0.45 * fs), r - int(0.1 * fs))  # the flat stretch before that R
    flat = strip[before] - np.median(strip[r - int(1.0 * fs) : r - int(0.1 * fs)])
    assert np.abs(shown[before] - flat).max() < 0.1
    odd = bandpass(strip, fs, 0.5, 40.0)  # scipy's edges, as before: the ramp
    assert np.abs(odd[before] - flat).max() > 0.2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"highpass": 40.0, "lowpass": 0.5},
        {"highpass": -1.0},
        {"lowpass": 0.0},
        {"notch": float("nan")},
    ],
)
def test_display_filter_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        DisplayFilter(**kwargs)


@pytest.mark.parametrize("shape", [(1000,), (12, 5000), (3, 2, 40)])
@pytest.mark.parametrize("padlen", [0, 1, 27, 39])
@pytest.mark.parametrize("section_filter", ["scipy's private", "public"])
def test_sosfiltfilt_matches_scipy_to_the_bit(
    shape: tuple[int, ...], padlen: int, section_filter: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cached-state zero-phase filter is scipy's sosfiltfilt, bit for bit, through
    scipy's private section filter and through the public one (a scipy without it)."""
    from scipy import signal as sps

    from ecgviewer.signal import filters
    from ecgviewer.signal.filters import sosfiltfilt

    if section_filter == "public":
        monkeypatch.setattr(filters, "_sosfilt", None)
    else:
        assert filters._sosfilt is not None  # the pinned scipy has it

    x = np.random.default_rng(1).normal(size=shape).cumsum(axis=-1)
    for sos in (
        sps.butter(2, (1.0, 25.0), btype="bandpass", fs=100.0, output="sos"),
        sps.butter(4, 40.0, btype="lowpass", fs=500.0, output="sos"),
        np.vstack([sps.butter(2, 5.0, "highpass", fs=100, output="sos")] * 2),
    ):
        want = sps.sosfiltfilt(sos, x, axis=-1, padlen=padlen)
        np.testing.assert_array_equal(sosfiltfilt(sos, x, padlen), want)
        np.testing.assert_array_equal(sosfiltfilt(sos, x, padlen), want)  # cached state
        even = sps.sosfiltfilt(sos, x, axis=-1, padlen=padlen, padtype="even")
        np.testing.assert_array_equal(sosfiltfilt(sos, x, padlen, "even"), even)
    with pytest.raises(ValueError, match="padlen"):
        sosfiltfilt(sos, x, shape[-1])


@pytest.mark.parametrize("shape", [(12, 500), (3, 2, 41), (257,), (2, 5), (4, 1)])
@pytest.mark.parametrize("size", [1, 3, 11, 31])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_running_median_is_scipys_median_filter_along_the_last_axis(
    shape: tuple[int, ...], size: int, dtype: type
) -> None:
    """Rows longer and shorter than the window (scipy's 1-D and N-d filters), any dtype."""
    rng = np.random.default_rng(size)
    # Quantised like ADC samples, so that ties are common.
    x = (np.round(rng.normal(size=shape) * 20) / 20).astype(dtype)
    want = ndimage.median_filter(x, size=(1,) * (x.ndim - 1) + (size,), mode="nearest")
    np.testing.assert_array_equal(running_median(x, size), want)
    np.testing.assert_array_equal(running_median(x.T.copy().T, size), want)  # F-ordered
    if dtype is np.int64:
        return
    want = ndimage.median_filter(x, size=(1,) * (x.ndim - 1) + (size,), mode="nearest")
    np.testing.assert_array_equal(running_median(x, size), want)
    x[..., min(7, x.shape[-1] - 1)] = np.nan  # NaN: scipy's N-d filter, as before
    want = ndimage.median_filter(x, size=(1,) * (x.ndim - 1) + (size,), mode="nearest")
    np.testing.assert_array_equal(running_median(x, size), want)


def test_scipy_padlen_is_scipys_default_padding() -> None:
    """sosfiltfilt with scipy_padlen is scipy.signal.sosfiltfilt with its default padding."""
    from scipy import signal as sps

    from ecgviewer.signal.filters import scipy_padlen, sosfiltfilt

    x = np.random.default_rng(2).normal(size=(12, 1000)).cumsum(axis=-1)
    for sos in (
        sps.butter(4, (15.0, 45.0), btype="bandpass", fs=100.0, output="sos"),
        sps.butter(2, 0.5, btype="highpass", fs=500.0, output="sos"),
        sps.tf2sos(*sps.iirnotch(50.0, 30.0, fs=500.0)),
    ):
        want = sps.sosfiltfilt(sos, x, axis=-1)
        np.testing.assert_array_equal(sosfiltfilt(sos, x, scipy_padlen(sos)), want)
