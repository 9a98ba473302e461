"""Median beats: dominant morphology only, ectopics counted, input rate kept."""

from __future__ import annotations

import warnings

import numpy as np

from ecgviewer.signal.median_beat import _median_skipping_nan, median_beats
from ecgviewer.signal.rpeaks import detect_r_peaks
from ecgviewer.signal.synthetic import synthetic_ecg


def test_pvc_left_out_and_beat_matches_a_clean_beat() -> None:
    fs = 500.0
    clean = synthetic_ecg(fs=fs, seed=8)
    ecg = synthetic_ecg(fs=fs, seed=8, pvc_at=5.0)
    mb = median_beats(ecg.signal, fs, ecg.leads, detect_r_peaks(ecg.signal, fs))
    ref = median_beats(clean.signal, fs, clean.leads, detect_r_peaks(clean.signal, fs))
    assert mb.beats is not None and mb.fs == fs and mb.leads == tuple(ecg.leads)
    assert mb.n_other_morphology == 1  # the PVC
    assert mb.n_used <= mb.n_detected - 2  # and the beat after its pause
    # The median beat is the normal beat: close to the clean record's, sample by sample.
    err = np.abs(mb.beats - ref.beats)[:, mb.r_index - 100 : mb.r_index + 200]
    assert float(err.max()) < 0.05


def test_too_few_beats_say_so() -> None:
    fs = 500.0
    ecg = synthetic_ecg(fs=fs, seed=3)
    mb = median_beats(ecg.signal, fs, ecg.leads, ecg.r_peaks[:2])
    assert mb.beats is None and "too short or too noisy" in mb.reason


def test_noise_without_repeating_beats_is_refused() -> None:
    rng = np.random.default_rng(0)
    fs = 500.0
    x = rng.normal(0, 0.5, (12, 5000))
    peaks = np.arange(250, 4800, 420)
    mb = median_beats(x, fs, [f"V{i}" for i in range(1, 13)], peaks)
    assert mb.beats is None and "noisy" in mb.reason


def test_median_skipping_nan_gives_nanmedians_values() -> None:
    rng = np.random.default_rng(5)
    for beats in (1, 2, 3, 8, 11):
        stack = np.round(rng.standard_normal((12, beats, 40)), 1)  # ties too
        stack[:, rng.random((beats, 40)) < 0.4] = np.nan  # samples beats leave open
        stack[3, rng.random((beats, 40)) < 0.3] = np.nan
        stack[:, :, 0] = np.nan  # no beat has the first sample
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the all-NaN sample
            expected = np.nanmedian(stack, axis=1)
        np.testing.assert_array_equal(_median_skipping_nan(stack), expected)


def test_beats_at_the_strip_ends_count_where_they_have_samples() -> None:
    syn = synthetic_ecg(fs=500.0, duration=10.0, hr=75.0, seed=3)
    peaks = detect_r_peaks(syn.signal, 500.0)
    mb = median_beats(syn.signal, 500.0, syn.leads, peaks)
    assert mb.beats is not None and np.isfinite(mb.beats).all()
    first = int(mb.used.min())
    assert first < mb.r_index  # the first beat's window starts before the strip
    assert np.abs(mb.beats[:, : mb.r_index - first]).max() > 0  # others fill its open part
