"""The cross-restoration network: shapes, padding beats, patient head masking, learning."""

from __future__ import annotations

import torch

from model.masking import random_beat_masks, random_global_masks
from model.network import (
    CrossRestorationNet,
    WithoutGil,
    fold_batchnorm,
    restoration_loss,
    trend_view,
)
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
    x = torch.sin(2 * torch.pi * 1.2 * t + phase) + 0.5 * torch.sin(
        2 * torch.pi * 3.6 * t + 2 * phase
    )
    beats = torch.stack(
        [x[:, :, 100 : 100 + cfg.beat_len], x[:, :, 300 : 300 + cfg.beat_len]], dim=1
    )
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


def _pairwise_fusion_reference(
    fusion: torch.nn.Module, g: torch.Tensor, beats: torch.Tensor, valid: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The definition the fast Fusion must match: for every (ECG, beat k) pair, multi-head
    attention over the concatenated [global | beat k] tokens (a padding beat's tokens hidden),
    residual + layer norm; the K fused global views averaged over valid beats."""
    b, k, d, t_l = beats.shape
    t_g = g.shape[-1]
    h = fusion.heads
    g_tok = g.transpose(1, 2) + fusion.pos[:, :t_g]
    fused_g, fused_l = [], []
    for j in range(k):
        tokens = torch.cat([g_tok, beats[:, j].transpose(1, 2) + fusion.pos[:, t_g:]], dim=1)
        q, key, val = fusion.qkv(tokens).reshape(b, t_g + t_l, 3, h, d // h).permute(2, 0, 3, 1, 4)
        allow = torch.ones(b, 1, 1, t_g + t_l, dtype=torch.bool)
        allow[:, 0, 0, t_g:] = valid[:, j : j + 1]
        att = torch.nn.functional.scaled_dot_product_attention(q, key, val, attn_mask=allow)
        fused = fusion.norm(tokens + fusion.out(att.transpose(1, 2).reshape(b, t_g + t_l, d)))
        fused_g.append(fused[:, :t_g])
        fused_l.append(fused[:, t_g:])
    w = torch.where(valid.any(1, keepdim=True), valid, torch.ones_like(valid)).float()
    w = w / w.sum(1, keepdim=True)
    fg = (torch.stack(fused_g, 1) * w[:, :, None, None]).sum(1)
    g_out = g + fusion.to_global(fg).transpose(1, 2)
    l_out = beats + fusion.to_local(torch.stack(fused_l, 1)).transpose(2, 3)
    return g_out, l_out


def test_fast_fusion_equals_pairwise_attention_over_concatenated_tokens() -> None:
    cfg = tiny_config()
    torch.manual_seed(3)
    net = CrossRestorationNet(cfg)
    fusion = net.fusion
    with torch.no_grad():  # make the attention far from uniform so a wrong mix would show
        fusion.qkv.weight.mul_(4.0)
    t_g = cfg.global_len // 2 ** len(cfg.channels)
    t_l = cfg.beat_len // 2 ** len(cfg.channels)
    g = torch.randn(3, cfg.latent, t_g, requires_grad=True)
    beats = torch.randn(3, 4, cfg.latent, t_l, requires_grad=True)
    valid = torch.tensor(
        [[True, True, False, True], [False, False, False, False], [True, False, False, False]]
    )
    fast_g, fast_l = fusion(g, beats, valid)
    ref_g, ref_l = _pairwise_fusion_reference(fusion, g, beats, valid)
    torch.testing.assert_close(fast_g, ref_g, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(fast_l, ref_l, rtol=1e-4, atol=1e-5)
    # Gradients (training uses the same code) agree as well.
    grads_fast = torch.autograd.grad(
        (fast_g.sum() + fast_l[valid].sum()), [g, beats, fusion.qkv.weight]
    )
    grads_ref = torch.autograd.grad(
        (ref_g.sum() + ref_l[valid].sum()), [g, beats, fusion.qkv.weight]
    )
    for a, r in zip(grads_fast, grads_ref):
        torch.testing.assert_close(a, r, rtol=1e-4, atol=1e-4)


def test_eval_skips_padding_beats_with_the_same_outputs() -> None:
    """In eval mode the padding beats of windows with real beats are not computed; every
    output that is used (all but the padding beats' restorations) stays the same."""
    import dataclasses

    from model.config import ModelConfig
    from model.network import CrossRestorationNet

    cfg = ModelConfig(channels=(8, 16, 32, 64), latent=16)
    torch.manual_seed(0)
    net = CrossRestorationNet(cfg).eval()
    b, k = 3, 4
    x = torch.randn(b, 12, cfg.global_len)
    beats = torch.randn(b, k, 12, cfg.beat_len)
    valid = torch.tensor([[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]], dtype=torch.bool)
    beats[~valid] = 0
    trend = torch.randn(b, 12, cfg.global_len)
    with torch.inference_mode():
        got = net(x, beats, valid, trend)
        net.train()  # the same computation over every beat (BatchNorm kept in eval form)
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.eval()
        want = net(x, beats, valid, trend)
    net.eval()
    for f in dataclasses.fields(got):
        a, w = getattr(got, f.name), getattr(want, f.name)
        if f.name.startswith("beat_"):
            used = valid | ~valid.any(dim=1, keepdim=True)
            a, w = a[used], w[used]
        torch.testing.assert_close(a, w, rtol=1e-5, atol=1e-5)


def test_folding_batchnorm_keeps_the_outputs_and_removes_the_layers() -> None:
    cfg = tiny_config()
    torch.manual_seed(2)
    net = CrossRestorationNet(cfg)
    with torch.no_grad():  # running statistics and affine parameters far from the defaults
        for mod in net.modules():
            if isinstance(mod, torch.nn.BatchNorm1d):
                mod.running_mean.normal_(0.0, 0.5)
                mod.running_var.uniform_(0.2, 3.0)
                mod.weight.normal_(1.0, 0.3)
                mod.bias.normal_(0.0, 0.3)
    net.eval()
    x, beats, valid, trend = _inputs(2, 3, seed=4)
    valid[1, 2] = False
    with torch.inference_mode():
        before = net(x, beats, valid, trend)
        folded = fold_batchnorm(net)
        after = folded(x, beats, valid, trend)
    assert folded is net
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in net.modules())
    for name in ("global_signal", "global_logvar", "beat_signal", "trend_signal", "age"):
        torch.testing.assert_close(
            getattr(after, name), getattr(before, name), rtol=1e-4, atol=1e-5
        )


def test_without_gil_is_the_network_traced_padded_batches_included(monkeypatch) -> None:  # noqa: ANN001
    cfg = tiny_config()
    torch.manual_seed(3)
    net = CrossRestorationNet(cfg).eval()
    fast = WithoutGil(net)
    x, beats, valid, trend = _inputs(2, 3, seed=5)
    with torch.inference_mode():
        # Every beat real: traced, the same outputs.
        out, want = fast(x, beats, valid, trend), net(x, beats, valid, trend)
        assert fast._traced not in (None, False)
        for name in ("global_signal", "beat_signal", "trend_signal", "age"):
            torch.testing.assert_close(getattr(out, name), getattr(want, name), rtol=0, atol=0)
        # Other beat counts and a window without beats follow the same path.
        x2, beats2, valid2, trend2 = _inputs(1, 5, seed=6)
        torch.testing.assert_close(
            fast(x2, beats2, valid2, trend2).global_signal,
            net(x2, beats2, valid2, trend2).global_signal,
            rtol=0,
            atol=0,
        )
        # A padded batch (the eager network skips its padding beats) runs through the trace,
        # which restores its padding beats too: every real output is the same.
        padded = valid.clone()
        padded[1, 1:] = False
        traced = fast._traced
        calls = []

        def counted(*a):  # noqa: ANN002, ANN202
            calls.append(a)
            return traced(*a)

        monkeypatch.setattr(fast, "_traced", counted)
        got, eager = fast(x, beats, padded, trend), net(x, beats, padded, trend)
        assert len(calls) == 1
        for name in ("global_signal", "global_logvar", "trend_signal", "age", "sex_logit"):
            torch.testing.assert_close(getattr(got, name), getattr(eager, name), rtol=0, atol=0)
        real = padded[:, :, None, None].expand_as(got.beat_signal)
        torch.testing.assert_close(got.beat_signal[real], eager.beat_signal[real], rtol=0, atol=0)
        assert not torch.equal(got.beat_signal[~real], eager.beat_signal[~real])  # restored too
        monkeypatch.setattr(fast, "_traced", traced)
        # It shares the network's parameters.
        fast2 = WithoutGil(net)
        before = fast2(x, beats, valid, trend).global_signal.clone()
        for param in net.parameters():
            param.mul_(2.0)
        after = fast2(x, beats, valid, trend).global_signal
        torch.testing.assert_close(after, net(x, beats, valid, trend).global_signal)
        assert not torch.equal(after, before)


def test_without_gil_runs_eagerly_where_tracing_fails(monkeypatch) -> None:  # noqa: ANN001
    cfg = tiny_config()
    net = CrossRestorationNet(cfg).eval()

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("no TorchScript in this torch")

    monkeypatch.setattr(torch.jit, "trace", broken)
    fast = WithoutGil(net)
    x, beats, valid, trend = _inputs(1, 2)
    with torch.inference_mode():
        out = fast(x, beats, valid, trend)
        torch.testing.assert_close(out.global_signal, net(x, beats, valid, trend).global_signal)
    assert fast._traced is False


def test_trend_view_is_the_scaled_difference_of_a_moving_average() -> None:
    """The shortcut in trend_view against its definition: edge-padded moving average, first
    difference (0 at the start), divided by 3 standard deviations, clipped at 1."""
    import dataclasses

    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 12, 300, generator=g).cumsum(-1) * 0.05
    x[1, 4] = 0.0  # a flat lead: zero trend, not NaN
    for smooth in (0.0, 0.02, 0.05):
        cfg = dataclasses.replace(tiny_config(), trend_smooth=smooth)
        width = max(1, round(smooth * cfg.fs))
        padded = torch.nn.functional.pad(x, (width - 1, 0), mode="replicate")
        avg = padded.unfold(-1, width, 1).mean(-1)
        d = torch.diff(avg, dim=-1, prepend=avg[..., :1])
        want = (d / (3 * d.std(dim=-1, keepdim=True).clamp(min=1e-3))).clamp(-1, 1)
        got = trend_view(x, cfg)
        assert torch.allclose(got, want, atol=1e-5), smooth
        assert torch.all(got[1, 4] == 0)
