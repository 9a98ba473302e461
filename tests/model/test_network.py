"""The cross-restoration network: shapes, padding beats, patient head masking, learning."""

from __future__ import annotations

import torch

from model.masking import random_beat_masks, random_global_masks
from model.network import CrossRestorationNet, restoration_loss, trend_view
from tests.model.conftest import tiny_config


def _inputs(b: int, k: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    cfg = tiny_config()
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, cfg.n_leads, cfg.global_len, generator=g)
    beats = torch.randn(b, k, cfg.n_leads, cfg.beat_len, generator=g)
    valid = torch.ones(b, k, dtype=torch.bool)
    return x, beats, valid, trend_view(x, cfg)


def test_forward_shapes() -> None:
    cfg = tiny_config()
    torch.manual_seed(0)
    net = CrossRestorationNet(cfg)
    x, beats, valid, trend = _inputs(3, 5)
    out = net(x, beats, valid, trend)
    n, lg, lb = cfg.n_leads, cfg.global_len, cfg.beat_len
    assert out.global_signal.shape == (3, n, lg)
    assert out.global_logvar.shape == (3, 1, lg)
    assert out.beat_signal.shape == (3, 5, n, lb)
    assert out.beat_logvar.shape == (3, 5, 1, lb)
    assert out.trend_signal.shape == (3, n, lg)
    assert out.age.shape == (3,) and out.sex_logit.shape == (3,)


def test_padding_beats_do_not_change_the_outputs() -> None:
    # Eval mode: BatchNorm uses running statistics, so each ECG's output depends on it alone.
    cfg = tiny_config()
    torch.manual_seed(1)
    net = CrossRestorationNet(cfg).eval()
    x, beats, valid, trend = _inputs(2, 2, seed=1)
    with torch.no_grad():
        ref = net(x, beats, valid, trend)
        junk = torch.randn(2, 3, cfg.n_leads, cfg.beat_len) * 5  # padding holds anything
        padded_valid = torch.cat([valid, torch.zeros(2, 3, dtype=torch.bool)], dim=1)
        pad = net(x, torch.cat([beats, junk], dim=1), padded_valid, trend)
        for name in ("global_signal", "global_logvar", "trend_signal", "age", "sex_logit"):
            torch.testing.assert_close(getattr(pad, name), getattr(ref, name), atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(pad.beat_signal[:, :2], ref.beat_signal, atol=1e-5, rtol=1e-4)
        # A window without any valid beat: one invalid beat or three give the same global view.
        none1 = net(x, junk[:, :1], torch.zeros(2, 1, dtype=torch.bool), trend)
        none3 = net(x, torch.randn_like(junk), torch.zeros(2, 3, dtype=torch.bool), trend)
        torch.testing.assert_close(none1.global_signal, none3.global_signal, atol=1e-5, rtol=1e-4)
        # ... and the beats really do inform the global restoration when they are valid.
        assert float((none1.global_signal - ref.global_signal).abs().max()) > 1e-5


def test_unknown_age_and_sex_contribute_no_gradient() -> None:
    cfg = tiny_config()
    torch.manual_seed(2)
    net = CrossRestorationNet(cfg)
    x, beats, valid, trend = _inputs(2, 2, seed=2)
    out = net(x, beats, valid, trend)
    nan = torch.full((2,), float("nan"))
    loss, parts = restoration_loss(out, x, beats, valid, nan, nan, cfg)
    assert torch.isfinite(loss) and parts["age"] == 0.0 and parts["sex"] == 0.0
    loss.backward()
    head = [p.grad for p in net.patient_head.parameters()]
    assert all(g is None or float(g.abs().sum()) == 0.0 for g in head)


def test_loss_decreases_on_a_tiny_batch() -> None:
    cfg = tiny_config()
    torch.manual_seed(3)
    net = CrossRestorationNet(cfg)
    t = torch.arange(cfg.global_len) / cfg.fs
    # Smooth periodic "ECGs" (a learnable signal, unlike white noise), 4 per batch.
    phase = torch.rand(4, cfg.n_leads, 1) * 6.28
    x = torch.sin(2 * torch.pi * 1.2 * t + phase) + 0.5 * torch.sin(2 * torch.pi * 3.6 * t + 2 * phase)
    beats = torch.stack([x[:, :, 100 : 100 + cfg.beat_len], x[:, :, 300 : 300 + cfg.beat_len]], dim=1)
    valid = torch.ones(4, 2, dtype=torch.bool)
    age = torch.tensor([0.5, 0.6, float("nan"), 0.3])
    sex = torch.tensor([1.0, 0.0, 1.0, float("nan")])
    gen = torch.Generator().manual_seed(0)
    gmask, bmask = random_global_masks(4, cfg, gen), random_beat_masks(4, 2, cfg, gen)
    x_in, b_in = x * ~gmask[:, None], beats * ~bmask[:, :, None]
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        out = net(x_in, b_in, valid, trend_view(x_in, cfg))
        loss, _ = restoration_loss(out, x, beats, valid, age, sex, cfg)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0], losses[::3]
