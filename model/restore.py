"""One network call restores every window under every complementary mask pattern.

All mask patterns and all beats of a set of windows (of one ECG or of many) go through the
network in ONE batched call (the reference makes about 30 sequential calls at batch size 1);
what comes back per window is each sample's squared restoration error from the pass in which
it was hidden (:class:`WindowMaps`), at the model rate and in normalised units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from model.config import ModelConfig
from model.masking import beat_patterns, global_patterns
from model.preprocess import Window


@dataclass
class WindowMaps:
    """Per-window squared restoration errors at the model rate (normalised units).

    Each sample's error comes from the pass in which it was masked.
    """

    global_sq: np.ndarray  # (12, L)
    global_v: np.ndarray  # (1, L) predicted log-variance
    trend_sq: np.ndarray  # (12, L)
    beat_sq: np.ndarray  # (12, L) mean over covering beats, NaN where no beat covers
    beat_v: np.ndarray  # (1, L) likewise
    restored: np.ndarray  # (12, L) normalised restoration of each sample from its masked pass
    all_sq: dict[str, np.ndarray] = field(
        default_factory=dict
    )  # same, every sample, mean of passes
    pred_age: float = float("nan")  # the patient head's age estimate (years), mean of passes


def forward_windows(
    net: Any, windows: Sequence[Window], cfg: ModelConfig, device: str, autocast: str | None = None
) -> list[WindowMaps]:
    """Restore every window under every complementary mask pattern in one network call.

    On a GPU the inputs go through pinned memory with non-blocking copies; ``autocast``
    ("bf16"/"fp16", GPU only) runs the network in mixed precision (errors summed in fp32).
    """
    import contextlib
    import dataclasses

    import torch

    from model.network import trend_view

    n_w, n_p, n_leads = len(windows), cfg.n_patterns * max(1, cfg.score_repeats), cfg.n_leads
    length, blen, pre = cfg.global_len, cfg.beat_len, cfg.beat_pre
    repeats = max(1, cfg.score_repeats)
    g_pat = global_patterns(cfg, repeats)  # (R*P, L): every sample hidden once per repeat
    b_pat = beat_patterns(cfg, repeats)  # (R*P, Lb)
    k = max(1, max(len(w.beats) for w in windows))
    x = np.stack([w.signal for w in windows])  # (W, 12, L)
    beats = np.zeros((n_w, k, n_leads, blen), np.float32)
    valid = np.zeros((n_w, k), bool)
    for i, w in enumerate(windows):
        for j, r in enumerate(w.beats):
            beats[i, j] = w.signal[:, r - pre : r - pre + blen]
            valid[i, j] = True
    cuda = str(device).startswith("cuda")

    def upload(a: np.ndarray) -> Any:
        t = torch.from_numpy(a)
        return t.pin_memory().to(device, non_blocking=True) if cuda else t.to(device)

    mixed = (
        torch.autocast("cuda", dtype=torch.bfloat16 if autocast == "bf16" else torch.float16)
        if cuda and autocast
        else contextlib.nullcontext()
    )
    with torch.inference_mode():
        xt = upload(x)
        bt = upload(beats)
        gp = torch.from_numpy(g_pat).to(device)
        bp = torch.from_numpy(b_pat).to(device)
        x_in = (xt[:, None] * ~gp[None, :, None, :]).reshape(n_w * n_p, n_leads, length)
        b_in = (bt[:, None] * ~bp[None, :, None, None, :]).reshape(n_w * n_p, k, n_leads, blen)
        v_in = torch.from_numpy(valid).to(device).repeat_interleave(n_p, dim=0)
        with mixed:
            out = net(x_in, b_in, v_in, trend_view(x_in, cfg))
        if autocast:
            out = dataclasses.replace(
                out, **{f.name: getattr(out, f.name).float() for f in dataclasses.fields(out)}
            )
        og = out.global_signal.reshape(n_w, n_p, n_leads, length)
        vg = out.global_logvar.clamp(-10, 10).reshape(n_w, n_p, 1, length)
        ot = out.trend_signal.reshape(n_w, n_p, n_leads, length)
        ob = out.beat_signal.reshape(n_w, n_p, k, n_leads, blen)
        vb = out.beat_logvar.clamp(-10, 10).reshape(n_w, n_p, k, 1, blen)
        sel = gp[None, :, None, :].to(og.dtype) / repeats
        global_sq = ((og - xt[:, None]) ** 2 * sel).sum(1)
        global_v = (vg * sel[:, :, :1]).sum(1)
        trend_sq = ((ot - xt[:, None]) ** 2 * sel).sum(1)
        restored = (og * sel).sum(1)
        bsel = bp[None, :, None, None, :].to(ob.dtype) / repeats
        beat_sq = ((ob - bt[:, None]) ** 2 * bsel).sum(1)  # (W, K, 12, Lb)
        beat_v = (vb * bsel[..., :1, :]).sum(1)  # (W, K, 1, Lb)
        pred_age = (out.age.reshape(n_w, n_p).mean(1) * 100).float().cpu().numpy()
        g_all = ((og - xt[:, None]) ** 2).mean(1)
        gv_all = vg.mean(1)
        t_all = ((ot - xt[:, None]) ** 2).mean(1)
        b_all = ((ob - bt[:, None]) ** 2).mean(1)
        bv_all = vb.mean(1)
        global_sq, global_v, trend_sq, restored, beat_sq, beat_v = (
            t.float().cpu().numpy()
            for t in (global_sq, global_v, trend_sq, restored, beat_sq, beat_v)
        )
        g_all, gv_all, t_all, b_all, bv_all = (
            t.float().cpu().numpy() for t in (g_all, gv_all, t_all, b_all, bv_all)
        )
    maps = []
    for i, w in enumerate(windows):
        acc = np.zeros((2 * n_leads + 2, length), np.float32)
        cnt = np.zeros(length, np.float32)
        for j, r in enumerate(w.beats):
            sl = slice(r - pre, r - pre + blen)
            acc[:n_leads, sl] += beat_sq[i, j]
            acc[n_leads, sl] += beat_v[i, j, 0]
            acc[n_leads + 1 : 2 * n_leads + 1, sl] += b_all[i, j]
            acc[2 * n_leads + 1, sl] += bv_all[i, j, 0]
            cnt[sl] += 1
        with np.errstate(invalid="ignore", divide="ignore"):
            local = np.where(cnt > 0, acc / cnt, np.nan).astype(np.float32)
        maps.append(
            WindowMaps(
                global_sq[i],
                global_v[i],
                trend_sq[i],
                local[:n_leads],
                local[n_leads : n_leads + 1],
                restored[i],
                all_sq={
                    "global_sq": g_all[i],
                    "global_v": gv_all[i],
                    "trend_sq": t_all[i],
                    "beat_sq": local[n_leads + 1 : 2 * n_leads + 1],
                    "beat_v": local[2 * n_leads + 1 :],
                },
                pred_age=float(pred_age[i]),
            )
        )
    return maps
