"""The whole multi-scale cross-restoration network in one module (after Jiang et al. 2023/2024).

Three 1-D convolutional encoders see the ECG at three scales: the masked global ECG (9.6 s,
12 leads), masked single heartbeats (-280..+680 ms around R), and the trend (smoothed first
difference) of the masked global ECG. Global and beat latents are fused by multi-head attention
over their concatenated tokens; small MLPs feed the fused latent back into each branch.
Decoders mirror the encoders. The global and beat decoders emit the restored 12 leads plus one
log-variance channel (aleatoric uncertainty) used by the loss ``exp(-v)*err^2 + v``; the trend
decoder restores the global ECG from the global and trend latents together. A small head
predicts age and sex from the fused global latent (the 2024 extension).

One difference from the published design, for speed: each ECG's global tokens are fused with
each of its K beats separately, and the K fused global latents are averaged (over valid beats)
before the single global decode. Scoring therefore decodes the global ECG once per mask pattern
instead of once per beat and pattern, and training sees the same computation.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import Tensor, nn

from model.config import ModelConfig


def _stage(c_in: int, c_out: int, kernel: int, transpose: bool) -> nn.Sequential:
    conv_cls = nn.ConvTranspose1d if transpose else nn.Conv1d
    pad = (kernel - 2) // 2  # exact halving / doubling of length for stride 2
    return nn.Sequential(
        conv_cls(c_in, c_out, kernel, stride=2, padding=pad, bias=False),
        nn.BatchNorm1d(c_out),
        nn.LeakyReLU(0.2, inplace=True),
    )


class Encoder(nn.Module):
    """Stride-2 convolutions, then a 1x1 projection to the latent width. Length / 2**stages."""

    def __init__(self, c_in: int, cfg: ModelConfig) -> None:
        super().__init__()
        widths = (c_in, *cfg.channels)
        self.body = nn.Sequential(
            *[_stage(a, b, cfg.kernel, False) for a, b in zip(widths[:-1], widths[1:])]
        )
        self.proj = nn.Conv1d(cfg.channels[-1], cfg.latent, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(self.body(x))


class Decoder(nn.Module):
    """Mirror of :class:`Encoder`: latent (B, c_lat, T) -> (B, c_out, T * 2**stages)."""

    def __init__(self, c_lat: int, c_out: int, cfg: ModelConfig) -> None:
        super().__init__()
        widths = tuple(reversed(cfg.channels))
        self.proj = nn.Sequential(
            nn.Conv1d(c_lat, widths[0], 1), nn.BatchNorm1d(widths[0]), nn.LeakyReLU(0.2, True)
        )
        stages = [_stage(a, b, cfg.kernel, True) for a, b in zip(widths[:-1], widths[1:])]
        self.body = nn.Sequential(*stages)
        pad = (cfg.kernel - 2) // 2
        self.head = nn.ConvTranspose1d(widths[-1], c_out, cfg.kernel, stride=2, padding=pad)

    def forward(self, z: Tensor) -> Tensor:
        return self.head(self.body(self.proj(z)))


class Fusion(nn.Module):
    """Multi-head attention over [global tokens | beat tokens] with residual + layer norm.

    Each ECG's global tokens are projected to queries/keys/values once and shared by its K
    beat pairs (``nn.MultiheadAttention`` would project them K times: 4x the cost).
    """

    def __init__(self, cfg: ModelConfig, n_global: int, n_local: int) -> None:
        super().__init__()
        if cfg.latent % cfg.heads:
            raise ValueError(f"latent {cfg.latent} must divide by heads {cfg.heads}")
        self.n_global = n_global
        self.heads = cfg.heads
        self.pos = nn.Parameter(torch.zeros(1, n_global + n_local, cfg.latent))
        nn.init.normal_(self.pos, std=0.02)
        self.qkv = nn.Linear(cfg.latent, 3 * cfg.latent)
        self.out = nn.Linear(cfg.latent, cfg.latent)
        self.norm = nn.LayerNorm(cfg.latent)
        self.to_global = nn.Sequential(
            nn.Linear(cfg.latent, cfg.latent), nn.GELU(), nn.Linear(cfg.latent, cfg.latent)
        )
        self.to_local = nn.Sequential(
            nn.Linear(cfg.latent, cfg.latent), nn.GELU(), nn.Linear(cfg.latent, cfg.latent)
        )

    def forward(self, g: Tensor, beats: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
        """g (B, D, Tg); beats (B, K, D, Tl); valid (B, K) bool -> global (B, D, Tg), beats.

        Mathematically the attention of each (global, beat k) pair over its concatenated
        tokens, computed without materialising K copies of the global tokens: a global query's
        softmax over [global | beat k] keys is the log-sum-exp weighted mix of its softmax over
        the global keys (computed once per ECG) and over the beat's few keys, and the output
        projection is pushed inside that mix (the beat values are projected once, then mixed).
        ~10x fewer operations than the concatenated form, same result to float rounding.
        """
        b, k, d, t_l = beats.shape
        t_g = g.shape[-1]
        h = self.heads
        dh = d // h
        scale = dh**-0.5
        g_tok = g.transpose(1, 2) + self.pos[:, :t_g]  # (B, Tg, D)
        l_tok = beats.transpose(2, 3) + self.pos[:, t_g:][:, None]  # (B, K, Tl, D)
        q_g, k_g, v_g = (
            self.qkv(g_tok).reshape(b, t_g, 3, h, dh).permute(2, 0, 3, 1, 4)
        )  # (B,H,Tg,dh)
        q_l, k_l, v_l = (
            self.qkv(l_tok).reshape(b, k, t_l, 3, h, dh).permute(3, 0, 1, 4, 2, 5)
        )  # (B,K,H,Tl,dh)
        w_out = self.out.weight.reshape(d, h, dh)  # out(x) = sum_h W_h x_h + bias

        # Global queries: over the global keys once per ECG ...
        s_gg = torch.einsum("bhqe,bhke->bhqk", q_g, k_g) * scale
        lse_gg = torch.logsumexp(s_gg, dim=-1)  # (B,H,Tg)
        proj_gg = torch.einsum("bhqk,bhke,dhe->bhqd", torch.softmax(s_gg, dim=-1), v_g, w_out)
        # ... and over each beat's keys; an invalid (padding) beat gets no weight at all.
        s_gl = torch.einsum("bhqe,bkhle->bkhql", q_g, k_l) * scale  # (B,K,H,Tg,Tl)
        lse_gl = torch.logsumexp(s_gl, dim=-1)  # (B,K,H,Tg)
        w_beat = torch.sigmoid(lse_gl - lse_gg[:, None]) * valid[:, :, None, None].to(g.dtype)
        proj_l = torch.einsum("bkhle,dhe->bkhld", v_l, w_out)  # beat values, projected once
        mix = torch.exp(s_gl - lse_gl[..., None]) * w_beat[..., None]  # softmax, lse known
        fg = self._fused_global_mean(g_tok, proj_gg, proj_l, w_beat, mix, valid)

        # Beat queries: a softmax over [global keys | own beat keys] (own keys hidden if padding).
        s_lg = torch.einsum("bkhqe,bhre->bkhqr", q_l, k_g) * scale
        s_ll = torch.einsum("bkhqe,bkhre->bkhqr", q_l, k_l) * scale
        s_ll = s_ll.masked_fill(~valid[:, :, None, None, None], float("-inf"))
        p = torch.softmax(torch.cat([s_lg, s_ll], dim=-1), dim=-1)
        o_l = torch.einsum("bkhqr,bhre->bkqhe", p[..., :t_g], v_g) + torch.einsum(
            "bkhqr,bkhre->bkqhe", p[..., t_g:], v_l
        )
        fl = self.norm(l_tok + self.out(o_l.reshape(b, k, t_l, d)))

        g_out = g + self.to_global(fg).transpose(1, 2)
        l_out = beats + self.to_local(fl).transpose(2, 3)
        return g_out, l_out

    def _fused_global_mean(
        self,
        g_tok: Tensor,
        proj_gg: Tensor,
        proj_l: Tensor,
        w_beat: Tensor,
        mix: Tensor,
        valid: Tensor,
    ) -> Tensor:
        """Mean over valid beats k of LayerNorm(g_tok + attention output of pair k): (B, Tg, D).

        For global token q of pair k the pre-norm vector is a combination of 1 + H vectors
        that depend on q only (the token plus bias, the projected global-only attention of each
        head) and H * Tl vectors that depend on k only (the beat's projected values). Its norm
        follows from the Gram matrices of those vectors, and the mean of the normalised vectors
        from two small matrix products, so the (B, K, Tg, D) tensor of all pairs (hundreds of
        MB per batch) is never built.
        """
        b, k, h, t_g, t_l = mix.shape
        basis_q = torch.cat([(g_tok + self.out.bias)[:, :, None], proj_gg.transpose(1, 2)], dim=2)
        basis_k = proj_l.reshape(b, k, h * t_l, -1)
        # LayerNorm subtracts the mean over D: centre every basis vector once.
        basis_q = basis_q - basis_q.mean(dim=-1, keepdim=True)  # (B, Tg, 1+H, D)
        basis_k = basis_k - basis_k.mean(dim=-1, keepdim=True)  # (B, K, H*Tl, D)
        alpha = torch.cat([torch.ones_like(w_beat[:, :, :1]), 1 - w_beat], dim=2).transpose(2, 3)
        beta = mix.permute(0, 1, 3, 2, 4).reshape(b, k, t_g, h * t_l)
        gram_qq = torch.einsum("bqid,bqjd->bqij", basis_q, basis_q)
        gram_kk = torch.einsum("bkid,bkjd->bkij", basis_k, basis_k)
        gram_qk = torch.einsum("bqid,bkjd->bkqij", basis_q, basis_k)
        sq = (alpha * torch.einsum("bqij,bkqj->bkqi", gram_qq, alpha)).sum(-1)
        sq = sq + (beta * torch.einsum("bkij,bkqj->bkqi", gram_kk, beta)).sum(-1)
        sq = sq + 2 * (alpha * (gram_qk * beta[:, :, :, None, :]).sum(-1)).sum(-1)
        inv_std = torch.rsqrt(sq / basis_q.shape[-1] + self.norm.eps)  # (B, K, Tg)
        # Average over valid beats (all K when none is valid).
        any_valid = valid.any(dim=1, keepdim=True)
        weights = torch.where(any_valid, valid, torch.ones_like(valid)).to(sq.dtype)
        weights = weights / weights.sum(dim=1, keepdim=True)
        r = weights[:, :, None] * inv_std
        centred = torch.einsum("bqi,bqid->bqd", torch.einsum("bkq,bkqi->bqi", r, alpha), basis_q)
        centred = centred + torch.einsum("bkqj,bkjd->bqd", r[..., None] * beta, basis_k)
        return centred * self.norm.weight + self.norm.bias


@dataclass
class Restoration:
    """Network outputs (normalised units). Signal (.., 12, L); log-variance (.., 1, L)."""

    global_signal: Tensor  # (B, 12, Lg)
    global_logvar: Tensor  # (B, 1, Lg)
    beat_signal: Tensor  # (B, K, 12, Lb)
    beat_logvar: Tensor  # (B, K, 1, Lb)
    trend_signal: Tensor  # (B, 12, Lg)
    age: Tensor  # (B,) predicted age / 100
    sex_logit: Tensor  # (B,) logit of P(female)


class CrossRestorationNet(nn.Module):
    """Global + beat + trend restoration with cross-attention fusion and a patient head."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        n = cfg.n_leads
        stride = 2 ** len(cfg.channels)
        if cfg.global_len % stride or cfg.beat_len % stride:
            raise ValueError(
                f"window lengths {cfg.global_len}/{cfg.beat_len} must divide by {stride}"
            )
        self.enc_global = Encoder(n, cfg)
        self.enc_beat = Encoder(n, cfg)
        self.enc_trend = Encoder(n, cfg)
        self.fusion = Fusion(cfg, cfg.global_len // stride, cfg.beat_len // stride)
        self.dec_global = Decoder(cfg.latent, n + 1, cfg)
        self.dec_beat = Decoder(cfg.latent, n + 1, cfg)
        self.dec_trend = Decoder(2 * cfg.latent, n, cfg)
        self.patient_head = nn.Sequential(
            nn.Linear(cfg.latent, cfg.latent), nn.GELU(), nn.Linear(cfg.latent, 2)
        )

    def forward(
        self, x_global: Tensor, x_beats: Tensor, valid: Tensor, x_trend: Tensor
    ) -> Restoration:
        """Restore masked inputs.

        Parameters
        ----------
        x_global
            (B, 12, Lg) masked, normalised global ECG.
        x_beats
            (B, K, 12, Lb) masked beats of the same ECGs (padding beats are zeros).
        valid
            (B, K) bool, False for padding beats.
        x_trend
            (B, 12, Lg) trend view of the masked global ECG.
        """
        b, k = x_beats.shape[:2]
        g = self.enc_global(x_global)
        # Scoring pads every window to the batch's most beats: the padding beats of a window
        # with real beats carry no weight in the fusion and their outputs are ignored, so in
        # eval mode they are neither encoded nor decoded (a window without any real beat keeps
        # its padding, which the fusion then averages; in training BatchNorm sees every beat).
        keep = (valid | ~valid.any(dim=1, keepdim=True)).reshape(b * k)
        skip = None if self.training or bool(keep.all()) else keep
        beats = self._beats(self.enc_beat, x_beats.reshape(b * k, *x_beats.shape[2:]), skip)
        beats = beats.reshape(b, k, *beats.shape[1:])
        g, beats = self.fusion(g, beats, valid)
        out_g = self.dec_global(g)
        out_b = self._beats(self.dec_beat, beats.reshape(b * k, *beats.shape[2:]), skip)
        out_b = out_b.reshape(b, k, *out_b.shape[1:])
        t = self.enc_trend(x_trend)
        out_t = self.dec_trend(torch.cat([g, t], dim=1))
        patient = self.patient_head(g.mean(dim=2))
        n = self.cfg.n_leads
        return Restoration(
            global_signal=out_g[:, :n],
            global_logvar=out_g[:, n:],
            beat_signal=out_b[:, :, :n],
            beat_logvar=out_b[:, :, n:],
            trend_signal=out_t,
            age=patient[:, 0],
            sex_logit=patient[:, 1],
        )

    @staticmethod
    def _beats(branch: nn.Module, x: Tensor, keep: Tensor | None) -> Tensor:
        """``branch(x)`` for all beats, or (``keep`` given) for the kept beats only, with
        zeros in place of the others."""
        if keep is None:
            return branch(x)
        out = branch(x[keep])
        full = out.new_zeros((x.shape[0], *out.shape[1:]))
        full[keep] = out
        return full


def fold_batchnorm(net: nn.Module) -> nn.Module:
    """Fold every eval-mode BatchNorm into the convolution before it, in place (inference only).

    BatchNorm after a bias-free convolution is a per-channel scale and shift, which the
    convolution's weights and a bias can carry instead: one pass over each activation less
    (about 1 ms per ECG on a CPU), the same outputs up to float rounding. The folded network
    cannot be trained any more (its BatchNorm layers are gone), so only
    :meth:`model.infer.Detector.load`, which owns the network it builds, folds.
    """
    net.eval()
    for seq in net.modules():
        if not isinstance(seq, nn.Sequential):
            continue
        for i in range(len(seq) - 1):
            conv, bn = seq[i], seq[i + 1]
            if not (
                isinstance(conv, (nn.Conv1d, nn.ConvTranspose1d))
                and isinstance(bn, nn.BatchNorm1d)
                and bn.running_mean is not None
                and bn.running_var is not None
                and conv.groups == 1
            ):
                continue
            with torch.no_grad():
                scale = torch.rsqrt(bn.running_var + bn.eps)
                if bn.affine:
                    scale = scale * bn.weight
                shift = -bn.running_mean * scale
                if bn.affine:
                    shift = shift + bn.bias
                # Output channels: dim 0 of a Conv1d weight, dim 1 of a ConvTranspose1d's.
                axis = 1 if isinstance(conv, nn.ConvTranspose1d) else 0
                shape = [1, 1, 1]
                shape[axis] = -1
                conv.weight.mul_(scale.reshape(shape))
                bias = shift if conv.bias is None else conv.bias * scale + shift
                conv.bias = nn.Parameter(bias.clone())
            seq[i + 1] = nn.Identity()
    return net


class _AsTuple(nn.Module):
    """The network with its outputs as a tuple (what TorchScript tracing can return)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(
        self, x_global: Tensor, x_beats: Tensor, valid: Tensor, x_trend: Tensor
    ) -> tuple[Tensor, ...]:
        out = self.net(x_global, x_beats, valid, x_trend)
        return tuple(getattr(out, f.name) for f in fields(Restoration))


class WithoutGil:
    """The eval-mode network, called through a TorchScript trace of itself: TorchScript runs
    the whole forward pass in C++ without Python's GIL.

    Scoring makes the CPU work that needs no network in a second Python thread while the
    network runs (model/infer.py). Run eagerly, the network takes the GIL back after each of
    its ~400 operations and waits for that thread to let go of it: measured on the 2-core
    machine, idle, one window 18-22 ms alone and 35-36 ms beside that thread; traced, 17 ms
    and 19-22 ms, with the same outputs (float32-identical on the ECGs tried).

    The trace is made on the path where every beat is encoded and decoded (the inputs' beats
    all marked real while tracing), so a batch of windows padded to the most beats runs
    through it too: its padding beats are restored as well (the eager network skips them),
    and as the fusion gives them no weight and their outputs are not read, every real output
    is the same (bit for bit on 128 ECGs' windows in calls of 16, padded to 1-2 beats more
    than some windows have; 4-8 % less time than the eager call there, whose Python
    dispatch of each operation costs more than the padding beats). The trace shares the
    network's parameters; where tracing fails the network runs eagerly.
    """

    def __init__(self, net: nn.Module) -> None:
        self.net = net
        #: the trace; None before the first call, False when tracing failed
        self._traced: Any = None

    def __call__(
        self, x_global: Tensor, x_beats: Tensor, valid: Tensor, x_trend: Tensor
    ) -> Restoration:
        if self.net.training or x_global.device.type != "cpu":
            return self.net(x_global, x_beats, valid, x_trend)
        if self._traced is None:
            every_beat = torch.ones_like(valid)  # the path without skipped (padding) beats
            self._traced = _trace(_AsTuple(self.net), (x_global, x_beats, every_beat, x_trend))
        if self._traced is False:
            return self.net(x_global, x_beats, valid, x_trend)
        return Restoration(*self._traced(x_global, x_beats, valid, x_trend))

    def __getattr__(self, name: str) -> object:  # eval(), to(), parameters() ... of the net
        return getattr(self.net, name)


def _trace(module: nn.Module, example: tuple[Tensor, ...]) -> Any:
    """``torch.jit.trace`` of ``module`` on ``example``, or False where that fails.

    torch 2.13 marks TorchScript deprecated in favour of ``torch.compile``/``torch.export``,
    which need a C++ compiler at run time or a build step; the warning is expected here, and
    a torch without ``torch.jit.trace`` (or one that cannot trace this network) scores eagerly.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.trace(module, example, check_trace=False)
    except Exception:  # noqa: BLE001 - any failure: the eager network gives the same outputs
        return False


def restoration_loss(
    out: Restoration,
    target_global: Tensor,
    target_beats: Tensor,
    valid: Tensor,
    age: Tensor,
    sex: Tensor,
    cfg: ModelConfig,
) -> tuple[Tensor, dict[str, float]]:
    """Uncertainty-weighted restoration + trend MSE + masked patient-attribute loss.

    ``age`` is age/100 with NaN when unknown; ``sex`` is 1 female / 0 male / NaN unknown.
    """
    v = out.global_logvar.clamp(-10, 10)
    err = (out.global_signal - target_global) ** 2
    loss_g = (torch.exp(-v) * err).mean() + v.mean()

    vb = out.beat_logvar.clamp(-10, 10)
    err_b = ((out.beat_signal - target_beats) ** 2 * torch.exp(-vb)).mean(dim=(2, 3)) + vb.mean(
        dim=(2, 3)
    )
    vf = valid.to(err_b.dtype)
    loss_b = (err_b * vf).sum() / vf.sum().clamp(min=1.0)

    loss_t = ((out.trend_signal - target_global) ** 2).mean()

    known_age = torch.isfinite(age)
    loss_age = (
        ((out.age[known_age] - age[known_age]) ** 2).mean()
        if known_age.any()
        else out.age.sum() * 0
    )
    known_sex = torch.isfinite(sex)
    loss_sex = (
        nn.functional.binary_cross_entropy_with_logits(out.sex_logit[known_sex], sex[known_sex])
        if known_sex.any()
        else out.sex_logit.sum() * 0
    )
    total = (
        loss_g
        + cfg.local_weight * loss_b
        + cfg.trend_weight * loss_t
        + cfg.attr_weight * (loss_age + loss_sex)
    )
    parts = {
        "global": float(loss_g.detach()),
        "beat": float(loss_b.detach()),
        "trend": float(loss_t.detach()),
        "age": float(loss_age.detach()),
        "sex": float(loss_sex.detach()),
    }
    return total, parts


def trend_view(x: Tensor, cfg: ModelConfig) -> Tensor:
    """Trend view of a (B, 12, L) ECG: moving average, first difference, per-lead scaling.

    The reference min-max scales it; we divide by 3 standard deviations and clip at 1 so an
    artefact in the derivative cannot flatten the rest of the lead.

    The first difference of a ``width``-sample moving average (the start edge-padded) is
    ``(x[t] - x[t - width]) / width``, computed so: the same values to float rounding
    (2e-7) as averaging then differencing, but 4-7x faster on a CPU, where torch's
    ``avg_pool1d`` and ``std`` on these short rows cost ~0.6 ms per ECG.
    """
    width = max(1, int(round(cfg.trend_smooth * cfg.fs)))
    shift = min(width, x.shape[-1])
    past = torch.cat([x[..., :1].expand(*x.shape[:-1], shift), x[..., :-shift]], dim=-1)
    d = (x - past) / width
    centred = d - d.mean(dim=-1, keepdim=True)
    std = ((centred * centred).sum(dim=-1, keepdim=True) / max(1, x.shape[-1] - 1)).sqrt()
    scale = 3 * std.clamp(min=1e-3)
    return (d / scale).clamp(-1.0, 1.0)
