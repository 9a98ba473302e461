"""One network call restores every window under every complementary mask pattern.

All mask patterns and all beats of a set of windows (of one ECG or of many) go through the
network in ONE batched call (the reference makes about 30 sequential calls at batch size 1);
what comes back per window is each sample's squared restoration error from the pass in which
it was hidden (:class:`WindowMaps`), at the model rate and in normalised units.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import warnings
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from torch import Tensor

from model.config import ModelConfig
from model.masking import beat_patterns, global_patterns
from model.network import trend_view
from model.preprocess import Window
from model.threads import torch_threads_for


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
    #: the same, for every sample the mean of all passes (those of ALL_PASS_MAPS asked for)
    all_sq: dict[str, np.ndarray] = field(default_factory=dict)
    pred_age: float = float("nan")  # the patient head's age estimate (years), mean of passes


#: The configuration fields the scoring mask patterns depend on (their cache key).
_PATTERN_FIELDS = (
    "fs",
    "global_seconds",
    "beat_before",
    "beat_after",
    "patch_seconds",
    "n_patterns",
)


@lru_cache(maxsize=8)
def _patterns(cfg_key: tuple[Any, ...], repeats: int) -> tuple[np.ndarray, np.ndarray]:
    """The scoring mask patterns of one configuration (built once, not per call), read-only."""
    cfg = ModelConfig(**dict(zip(_PATTERN_FIELDS, cfg_key)))
    g_pat, b_pat = global_patterns(cfg, repeats), beat_patterns(cfg, repeats)
    g_pat.flags.writeable = b_pat.flags.writeable = False
    return g_pat, b_pat


def scoring_patterns(cfg: ModelConfig) -> tuple[np.ndarray, np.ndarray]:
    """(R*P, L) global and (R*P, Lb) beat patterns: every sample hidden once per repeat."""
    key = tuple(getattr(cfg, name) for name in _PATTERN_FIELDS)
    return _patterns(key, max(1, cfg.score_repeats))


def _beat_views(
    x: np.ndarray, windows: Sequence[Window], k: int, cfg: ModelConfig
) -> tuple[np.ndarray, np.ndarray]:
    """(W, K, 12, Lb) beat views cut from the stacked windows ``x`` (W, 12, L), zeros for the
    padding beats, and (W, K) which are real."""
    n_w, n_leads, blen = len(windows), x.shape[1], cfg.beat_len
    beats = np.zeros((n_w, k, n_leads, blen), np.float32)
    valid = np.zeros((n_w, k), bool)
    counts = np.array([len(w.beats) for w in windows], np.int64)
    if counts.sum():
        win = np.repeat(np.arange(n_w), counts)
        slot = np.concatenate([np.arange(c) for c in counts])
        starts = np.concatenate([np.asarray(w.beats, np.int64) for w in windows]) - cfg.beat_pre
        cols = starts[:, None] + np.arange(blen)[None, :]  # (n, Lb)
        beats[win, slot] = x[win[:, None, None], np.arange(n_leads)[None, :, None], cols[:, None]]
        valid[win, slot] = True
    return beats, valid


#: Beat slots per window are padded up to a multiple of this. The network's kernels are built
#: for each input shape the first time it meets it (oneDNN on a CPU): every new count of beat
#: slots cost one ECG ~5 ms more, and ECGs of other heart rates keep bringing new counts.
BEAT_SLOT_STEP = 4


def beat_slots(most_beats: int) -> int:
    """Beat slots for windows of at most ``most_beats`` beats: a multiple of
    :data:`BEAT_SLOT_STEP` (padding beats get no weight in the fusion and are not read)."""
    return -(-max(1, most_beats) // BEAT_SLOT_STEP) * BEAT_SLOT_STEP


#: The maps :attr:`WindowMaps.all_sq` can hold (each sample's mean over every pass).
ALL_PASS_MAPS = ("global_sq", "global_v", "trend_sq", "beat_sq", "beat_v")


def reduce_errors(
    global_signal: Tensor,
    global_logvar: Tensor,
    trend_signal: Tensor,
    beat_signal: Tensor,
    beat_logvar: Tensor,
    age: Tensor,
    x: Tensor,
    beats: Tensor,
    g_pat: Tensor,
    b_pat: Tensor,
    repeats: float,
) -> tuple[
    Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor
]:
    """The network's restorations of every masked copy -> the per-window error maps.

    Each sample's squared error and log-variance from the pass that masked it (``g_pat`` /
    ``b_pat``: which samples each pass masks), the restored signal, the age estimate, and the
    mean over every pass of the maps in :data:`ALL_PASS_MAPS` (in that order). Shapes: ``x``
    (W, 12, L), ``beats`` (W, K, 12, Lb); the network's outputs have W * P rows.

    Written for TorchScript (``_error_reducer``): scripted, it runs without Python's GIL, so
    the thread beside the network (model/infer.py) does not hold up its ~25 small operations.
    """
    n_w, n_leads, length = x.shape[0], x.shape[1], x.shape[2]
    k, blen = beats.shape[1], beats.shape[3]
    n_p = g_pat.shape[0]
    og = global_signal.reshape(n_w, n_p, n_leads, length)
    vg = global_logvar.clamp(-10, 10).reshape(n_w, n_p, 1, length)
    ot = trend_signal.reshape(n_w, n_p, n_leads, length)
    ob = beat_signal.reshape(n_w, n_p, k, n_leads, blen)
    vb = beat_logvar.clamp(-10, 10).reshape(n_w, n_p, k, 1, blen)
    sel = g_pat.unsqueeze(0).unsqueeze(2).to(og.dtype) / repeats  # (1, P, 1, L)
    # Each squared error once, for both its masked-pass and its all-passes map.
    g_sq = (og - x.unsqueeze(1)) ** 2
    t_sq = (ot - x.unsqueeze(1)) ** 2
    b_sq = (ob - beats.unsqueeze(1)) ** 2
    bsel = b_pat.unsqueeze(0).unsqueeze(2).unsqueeze(3).to(ob.dtype) / repeats  # (1,P,1,1,Lb)
    return (
        (g_sq * sel).sum(1),  # global_sq (W, 12, L)
        (vg * sel).sum(1),  # global_v (W, 1, L)
        (t_sq * sel).sum(1),  # trend_sq
        (og * sel).sum(1),  # restored
        (b_sq * bsel).sum(1),  # beat_sq (W, K, 12, Lb)
        (vb * bsel).sum(1),  # beat_v (W, K, 1, Lb)
        age.reshape(n_w, n_p).mean(1) * 100,  # pred_age (W,)
        g_sq.mean(1),
        vg.mean(1),
        t_sq.mean(1),
        b_sq.mean(1),
        vb.mean(1),
    )


@lru_cache(maxsize=1)
def _error_reducer() -> Any:
    """:func:`reduce_errors` compiled by TorchScript, or the function itself where that fails
    (torch 2.13 marks TorchScript deprecated; the eager function gives the same values)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.script(reduce_errors)
    except Exception as exc:  # noqa: BLE001 - any failure: the eager function computes the same
        logging.getLogger(__name__).warning("error maps computed eagerly (no TorchScript: %s)", exc)
        return reduce_errors


def forward_windows(
    net: Any,
    windows: Sequence[Window],
    cfg: ModelConfig,
    device: str,
    autocast: str | None = None,
    all_passes: Collection[str] | None = None,
    inputs_ready: Callable[[], object] | None = None,
) -> list[WindowMaps]:
    """Restore every window under every complementary mask pattern in one network call.

    On a GPU the inputs go through pinned memory with non-blocking copies; ``autocast``
    ("bf16"/"fp16", GPU only) runs the network in mixed precision (errors summed in fp32).
    ``all_passes``: which of :data:`ALL_PASS_MAPS` go into ``all_sq`` (None: every one; a
    Detector asks only for those its score kinds use). ``inputs_ready`` is called once the
    network's inputs are built, just before the call that runs without the GIL.
    """
    wanted = set(ALL_PASS_MAPS if all_passes is None else all_passes)
    n_w, n_p, n_leads = len(windows), cfg.n_patterns * max(1, cfg.score_repeats), cfg.n_leads
    length, blen, pre = cfg.global_len, cfg.beat_len, cfg.beat_pre
    repeats = max(1, cfg.score_repeats)
    g_pat, b_pat = scoring_patterns(cfg)
    k = beat_slots(max(len(w.beats) for w in windows))
    x = np.stack([w.signal for w in windows])  # (W, 12, L)
    beats, valid = _beat_views(x, windows, k, cfg)
    cuda = str(device).startswith("cuda")

    def upload(a: np.ndarray) -> Any:
        t = torch.from_numpy(a)
        return t.pin_memory().to(device, non_blocking=True) if cuda else t.to(device)

    mixed = (
        torch.autocast("cuda", dtype=torch.bfloat16 if autocast == "bf16" else torch.float16)
        if cuda and autocast
        else contextlib.nullcontext()
    )
    # A few windows' tensors are too small to share between threads: the input masking, the
    # trend view and the error reduction run on the network's one thread too (with two threads
    # these small operations each woke the sleeping one: a single ECG took ~2 ms longer).
    threads = contextlib.nullcontext() if cuda else torch_threads_for(n_w)
    with torch.inference_mode(), threads:
        xt = upload(x)
        bt = upload(beats)
        gp = torch.tensor(g_pat, device=device)
        bp = torch.tensor(b_pat, device=device)
        x_in = (xt[:, None] * ~gp[None, :, None, :]).reshape(n_w * n_p, n_leads, length)
        b_in = (bt[:, None] * ~bp[None, :, None, None, :]).reshape(n_w * n_p, k, n_leads, blen)
        v_in = torch.from_numpy(valid).to(device).repeat_interleave(n_p, dim=0)
        with mixed:
            t_in = trend_view(x_in, cfg)
        if inputs_ready is not None:
            inputs_ready()
        with mixed:
            out = net(x_in, b_in, v_in, t_in)
        if autocast:
            out = dataclasses.replace(
                out, **{f.name: getattr(out, f.name).float() for f in dataclasses.fields(out)}
            )
        # TorchScript only on a CPU (it runs without the GIL there): on a GPU it would fuse
        # kernels on a shape's second call, a compile pause inside whatever is timed.
        reduce = reduce_errors if cuda else _error_reducer()
        reduced = reduce(
            out.global_signal,
            out.global_logvar,
            out.trend_signal,
            out.beat_signal,
            out.beat_logvar,
            out.age,
            xt,
            bt,
            gp,
            bp,
            float(repeats),
        )
        arrays = [t.float().cpu().numpy() for t in reduced]
        global_sq, global_v, trend_sq, restored, beat_sq, beat_v, pred_age = arrays[:7]
        means = dict(zip(ALL_PASS_MAPS, arrays[7:], strict=True))
        # Every pass's mean: whole windows, and beats (placed on the window below).
        whole = {
            name: means[name] for name in ("global_sq", "global_v", "trend_sq") if name in wanted
        }
        beat_all = [(name, means[name]) for name in ("beat_sq", "beat_v") if name in wanted]
    # Rows of the per-window beat accumulator: the masked-pass beat errors and log-variances,
    # then the all-pass ones asked for.
    rows = [(beat_sq, 0, n_leads), (beat_v, n_leads, 1)]
    for _name, values in beat_all:
        rows.append((values, rows[-1][1] + rows[-1][2], values.shape[-2]))
    n_rows = rows[-1][1] + rows[-1][2]
    maps = []
    for i, w in enumerate(windows):
        acc = np.zeros((n_rows, length), np.float32)
        cnt = np.zeros(length, np.float32)
        for j, r in enumerate(w.beats):
            sl = slice(r - pre, r - pre + blen)
            for values, first, count in rows:
                acc[first : first + count, sl] += values[i, j]
            cnt[sl] += 1
        with np.errstate(invalid="ignore", divide="ignore"):
            local = np.where(cnt > 0, acc / cnt, np.nan).astype(np.float32)
        all_sq = {name: values[i] for name, values in whole.items()}
        for (name, _values), (_v, first, count) in zip(beat_all, rows[2:]):
            all_sq[name] = local[first : first + count]
        maps.append(
            WindowMaps(
                global_sq[i],
                global_v[i],
                trend_sq[i],
                local[:n_leads],
                local[n_leads : n_leads + 1],
                restored[i],
                all_sq={name: all_sq[name] for name in ALL_PASS_MAPS if name in all_sq},
                pred_age=float(pred_age[i]),
            )
        )
    return maps
