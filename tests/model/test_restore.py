"""One network call per set of windows: the inputs it builds and the patterns it reuses."""

from __future__ import annotations

import numpy as np
import torch

from model import restore
from model.infer import Detector
from model.masking import beat_patterns, global_patterns
from model.network import CrossRestorationNet, WithoutGil
from model.preprocess import Window, prepare
from model.restore import (
    ALL_PASS_MAPS,
    _beat_views,
    beat_slots,
    forward_windows,
    scoring_patterns,
)
from tests.model.conftest import bundled_weights, synthetic_record, tiny_config


def test_beat_views_are_the_beats_cut_from_each_window() -> None:
    cfg = tiny_config()
    rng = np.random.default_rng(0)
    lo, hi = cfg.beat_pre, cfg.global_len - (cfg.beat_len - cfg.beat_pre)
    windows = [
        Window(
            0, rng.normal(size=(cfg.n_leads, cfg.global_len)).astype(np.float32), *_scale(cfg), b
        )
        for b in (np.array([lo, hi // 2, hi]), np.zeros(0, np.int64), np.array([hi - 1]))
    ]
    x = np.stack([w.signal for w in windows])
    beats, valid = _beat_views(x, windows, 3, cfg)
    assert beats.shape == (3, 3, cfg.n_leads, cfg.beat_len)
    np.testing.assert_array_equal(valid, [[1, 1, 1], [0, 0, 0], [1, 0, 0]])
    for i, w in enumerate(windows):
        for j, r in enumerate(w.beats):
            np.testing.assert_array_equal(
                beats[i, j], w.signal[:, r - cfg.beat_pre : r - cfg.beat_pre + cfg.beat_len]
            )
    assert not beats[~valid].any()  # padding beats are zeros


def test_scoring_patterns_are_the_masking_patterns_built_once() -> None:
    cfg = tiny_config()
    g, b = scoring_patterns(cfg)
    np.testing.assert_array_equal(g, global_patterns(cfg))
    np.testing.assert_array_equal(b, beat_patterns(cfg))
    assert scoring_patterns(cfg)[0] is g  # cached
    assert not g.flags.writeable and not b.flags.writeable  # shared: nobody may change them


def _scale(cfg) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    return np.zeros(cfg.n_leads, np.float32), np.ones(cfg.n_leads, np.float32)


def test_all_pass_maps_only_those_asked_for_and_the_same_values() -> None:
    cfg = tiny_config()
    torch.manual_seed(0)
    net = CrossRestorationNet(cfg).eval()
    rec, _ = synthetic_record(100.0, 10.0)
    windows = prepare(rec, cfg).windows
    full = forward_windows(net, windows, cfg, "cpu")
    some = forward_windows(net, windows, cfg, "cpu", all_passes=("trend_sq", "beat_v"))
    for a, b in zip(full, some):
        assert set(a.all_sq) == set(ALL_PASS_MAPS) and list(b.all_sq) == ["trend_sq", "beat_v"]
        for name in ("global_sq", "global_v", "trend_sq", "beat_sq", "beat_v", "restored"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        for name in b.all_sq:
            np.testing.assert_array_equal(a.all_sq[name], b.all_sq[name])


def test_the_error_reduction_is_the_same_scripted_and_eager(monkeypatch) -> None:  # noqa: ANN001
    """forward_windows runs :func:`reduce_errors` through TorchScript (no GIL waits beside the
    second thread); where scripting is unavailable the plain function gives the same maps."""
    assert restore._error_reducer() is not restore.reduce_errors  # scripted here
    cfg = tiny_config()
    torch.manual_seed(0)
    net = CrossRestorationNet(cfg).eval()
    rec, _ = synthetic_record(100.0, 24.0)
    windows = prepare(rec, cfg).windows
    assert len(windows) >= 2
    scripted = forward_windows(net, windows, cfg, "cpu")
    monkeypatch.setattr(restore, "_error_reducer", lambda: restore.reduce_errors)
    eager = forward_windows(net, windows, cfg, "cpu")
    for a, b in zip(scripted, eager, strict=True):
        for name in ("global_sq", "global_v", "trend_sq", "beat_sq", "beat_v", "restored"):
            np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-6, atol=1e-7)
        assert a.pred_age == b.pred_age or abs(a.pred_age - b.pred_age) < 1e-4
        for name in a.all_sq:
            np.testing.assert_allclose(a.all_sq[name], b.all_sq[name], rtol=1e-6, atol=1e-7)


def test_beat_slots_are_padded_to_a_few_counts() -> None:
    assert [beat_slots(n) for n in (0, 1, 4, 5, 8, 9, 13)] == [4, 4, 4, 8, 8, 12, 16]


def test_padding_beat_slots_leaves_the_maps_as_they_were(monkeypatch) -> None:  # noqa: ANN001
    """Padded slots run through the traced network (which restores them too) but neither
    weigh in the fusion nor reach the maps: the bundled network gives the same maps. (Its
    fusion weighs real beats, unlike a random one's, so a padded slot counted as real would
    move them by ~0.1.)"""
    det = Detector.load(bundled_weights(), device="cpu")
    rec, _ = synthetic_record(500.0, 10.0, hr=67.0)
    windows = prepare(rec, det.cfg).windows
    assert all(len(w.beats) % restore.BEAT_SLOT_STEP for w in windows)  # padding happens
    net = WithoutGil(det.net)
    padded = forward_windows(net, windows, det.cfg, "cpu")
    monkeypatch.setattr(restore, "BEAT_SLOT_STEP", 1)
    exact = forward_windows(net, windows, det.cfg, "cpu")
    for a, b in zip(padded, exact):
        for name in ("global_sq", "global_v", "trend_sq", "beat_sq", "beat_v", "restored"):
            np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-5, atol=1e-5)
