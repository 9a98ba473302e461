"""Training augmentation (model/augment.py): small, shape-preserving, reproducible."""

from __future__ import annotations

import numpy as np

from model.augment import Augmentation


def _ecg_like(n: int = 16) -> np.ndarray:
    t = np.arange(960) / 100.0
    beat = np.exp(-(((t % 1.0) - 0.5) ** 2) / 0.001)  # one spike a second
    polarity = np.where(np.arange(12) % 3 == 0, -1.0, 1.0)[:, None]  # some leads negative
    return np.broadcast_to(beat * polarity, (n, 12, 960)).astype(np.float32).copy()


def test_augmentation_is_reproducible_and_keeps_shape_and_dtype() -> None:
    x = _ecg_like()
    a = Augmentation().apply(x, 100.0, np.random.default_rng(1))
    b = Augmentation().apply(x, 100.0, np.random.default_rng(1))
    assert a.shape == x.shape and a.dtype == np.float32 and np.array_equal(a, b)
    assert not np.array_equal(a, x)


def test_augmentation_never_hides_polarity_or_moves_beats() -> None:
    x = _ecg_like()
    y = Augmentation().apply(x, 100.0, np.random.default_rng(2))
    peaks = np.abs(x).argmax(axis=2)
    assert np.all(np.abs(y).argmax(axis=2) % 100 == 50)  # the largest sample is still a beat's peak
    at_peak = np.take_along_axis(y, peaks[..., None], axis=2)[..., 0]
    assert np.array_equal(
        np.sign(at_peak), np.sign(np.take_along_axis(x, peaks[..., None], axis=2)[..., 0])
    )
    gain = at_peak / np.take_along_axis(x, peaks[..., None], axis=2)[..., 0]
    assert np.all(np.abs(gain - 1) < 0.05 + 0.05 + 0.15)  # gain, drift and noise are all small


def test_no_augmentation_changes_nothing_but_the_copy() -> None:
    x = _ecg_like(2)
    y = Augmentation(gain=0.0, wander=0.0, noise=0.0).apply(x, 100.0, np.random.default_rng(0))
    assert np.allclose(y, x)
