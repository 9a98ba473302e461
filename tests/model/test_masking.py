"""Masks: the scoring patterns hide every sample exactly once; training masks hide the ratio."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.config import ModelConfig
from model.masking import beat_patterns, global_patterns, random_beat_masks, random_global_masks
from model.preprocess import prepare
from model.restore import forward_windows
from tests.model.conftest import ZeroNet, synthetic_record, tiny_config

CONFIGS = [
    ModelConfig(),  # 100 Hz: 960-sample window, 10-sample patches, 96-sample beats
    ModelConfig(fs=500.0),  # the reference's rate: 4800 samples, 50-sample patches
    ModelConfig(n_patterns=4, patch_seconds=0.07),  # a window that is not a whole number of patches
    ModelConfig(fs=250.0, n_patterns=5),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.fs:g}Hz-{c.n_patterns}p-{c.patch_len}")
def test_scoring_patterns_are_complementary_and_cover_every_sample(cfg: ModelConfig) -> None:
    for patterns, length in (
        (global_patterns(cfg), cfg.global_len),
        (beat_patterns(cfg), cfg.beat_len),
    ):
        assert patterns.shape == (cfg.n_patterns, length) and patterns.dtype == bool
        np.testing.assert_array_equal(patterns.sum(axis=0), np.ones(length))  # once, and only once
        assert patterns.any(axis=1).all()  # no empty pattern (a wasted network pass)


@pytest.mark.parametrize("repeats", [2, 3])
def test_repeated_scoring_patterns_hide_every_sample_once_per_repeat(repeats: int) -> None:
    cfg = ModelConfig()
    for pat in (global_patterns(cfg, repeats), beat_patterns(cfg, repeats)):
        assert pat.shape[0] == repeats * cfg.n_patterns
        for r in range(repeats):
            group = pat[r * cfg.n_patterns : (r + 1) * cfg.n_patterns]
            np.testing.assert_array_equal(group.sum(axis=0), 1)
        assert len({row.tobytes() for row in pat}) == len(pat)  # the repeats really differ


def test_global_patterns_hide_whole_patches() -> None:
    cfg = ModelConfig()
    pat = global_patterns(cfg)
    for k in range(cfg.n_patterns):
        patches = pat[k, : cfg.n_patches * cfg.patch_len].reshape(cfg.n_patches, cfg.patch_len)
        assert (patches.all(axis=1) | ~patches.any(axis=1)).all()  # each patch all or nothing
        np.testing.assert_array_equal(patches[:, 0], np.arange(cfg.n_patches) % cfg.n_patterns == k)


def test_beat_patterns_are_contiguous_spans() -> None:
    cfg = ModelConfig()
    for row in beat_patterns(cfg):
        idx = np.flatnonzero(row)
        assert np.all(np.diff(idx) == 1)


def test_scoring_measures_each_sample_once_through_the_network() -> None:
    # With a network that restores 0 (log-variance 0), the summed error of a window is exactly
    # its squared input: any sample hidden twice or never would show here.
    cfg = tiny_config()
    rec, _ = synthetic_record(100.0, 10.0)
    p = prepare(rec, cfg)
    (m,) = forward_windows(ZeroNet(cfg).eval(), p.windows, cfg, "cpu")
    x = p.windows[0].signal
    np.testing.assert_allclose(m.global_sq, x**2, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(m.trend_sq, x**2, rtol=1e-5, atol=1e-7)
    covered = np.isfinite(m.beat_sq[0])
    assert covered.sum() > 0.5 * cfg.global_len
    np.testing.assert_allclose(m.beat_sq[:, covered], (x**2)[:, covered], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("cfg", CONFIGS[:3], ids=["100Hz", "500Hz", "odd-patches"])
def test_training_global_masks_hide_the_configured_ratio(cfg: ModelConfig) -> None:
    gen = torch.Generator().manual_seed(0)
    masks = random_global_masks(64, cfg, gen)
    assert masks.shape == (64, cfg.global_len) and masks.dtype == torch.bool
    n_mask = round(cfg.mask_ratio * cfg.n_patches)
    body = masks[:, : cfg.n_patches * cfg.patch_len].reshape(64, cfg.n_patches, cfg.patch_len)
    assert bool((body.all(-1) | ~body.any(-1)).all())  # whole patches
    assert (body[..., 0].sum(1) == n_mask).all()  # exactly the ratio of patches
    frac = masks.float().mean(1)
    assert torch.allclose(frac, torch.full_like(frac, cfg.mask_ratio), atol=1.5 / cfg.n_patches)
    assert len({tuple(m.tolist()) for m in body[..., 0]}) > 60  # random per ECG
    again = random_global_masks(64, cfg, torch.Generator().manual_seed(0))
    assert torch.equal(masks, again)  # reproducible from the seed


def test_training_beat_masks_hide_one_span_of_the_ratio() -> None:
    cfg = ModelConfig()
    masks = random_beat_masks(16, 4, cfg, torch.Generator().manual_seed(1))
    assert masks.shape == (16, 4, cfg.beat_len)
    span = round(cfg.mask_ratio * cfg.beat_len)
    assert (masks.sum(-1) == span).all()
    for row in masks.reshape(-1, cfg.beat_len):
        idx = torch.nonzero(row).ravel()
        assert bool((idx.diff() == 1).all())
    starts = {int(torch.nonzero(r)[0]) for r in masks.reshape(-1, cfg.beat_len)}
    assert len(starts) > 10
