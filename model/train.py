"""Train the cross-restoration model on normal ECGs; select on fold 9; write weights + card.

    python -m model.train --ptbxl ../shared/data/ptbxl --out runs/ptbxl --export resources/model
    python -m model.train --folder /data/normals --val-ptbxl ../shared/data/ptbxl --out runs/x
    torchrun --nproc-per-node 4 -m model.train --ptbxl ... --out runs/ddp

One process or many (torchrun sets WORLD_SIZE/RANK/LOCAL_RANK): DistributedDataParallel with
a DistributedSampler-style split of each epoch's permutation, gradients all-reduced by
PyTorch; only rank 0 validates, writes checkpoints and the model card. ``--resume`` continues
from ``OUT/last.pt`` with the optimiser, schedule and random state (a changed ``--epochs``
re-plans the cosine schedule from there). ``--init WEIGHTS`` fine-tunes trained weights;
``--augment`` adds cart/site differences (model/augment.py); ``--keep-evaluated`` keeps each
evaluated epoch so ``model.card`` can choose one by the combined score.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from model.augment import Augmentation
from model.config import ModelConfig
from model.data import Labelled, TrainingSet, build_training_set, folder_records, ptbxl_split
from model.masking import random_beat_masks, random_global_masks
from model.network import CrossRestorationNet, restoration_loss, trend_view

# In model/validation.py: model.card uses them too and must not import this module.
from model.validation import ValidationSet, load_validation, score_components  # noqa: F401

log = logging.getLogger("model.train")


# ---------------------------------------------------------------------------- batches
def make_batch(
    ts: TrainingSet,
    idx: np.ndarray,
    cfg: ModelConfig,
    gen: torch.Generator,
    rng: np.random.Generator,
) -> dict[str, torch.Tensor]:
    """Random crop, K random beats per ECG, random masks; targets are the unmasked views."""
    length, blen, pre = cfg.global_len, cfg.beat_len, cfg.beat_pre
    post = blen - pre
    k = cfg.beats_per_ecg
    n = len(idx)
    margin = ts.signals.shape[2] - length
    offsets = rng.integers(0, margin + 1, size=n) if margin > 0 else np.zeros(n, int)
    x = np.stack([ts.signals[i, :, o : o + length] for i, o in zip(idx, offsets)])
    if cfg.aug_gain or cfg.aug_wander or cfg.aug_noise:
        x = Augmentation(cfg.aug_gain, cfg.aug_wander, cfg.aug_noise).apply(x, cfg.fs, rng)
    beats = np.zeros((n, k, cfg.n_leads, blen), np.float32)
    valid = np.zeros((n, k), bool)
    for row, (i, o) in enumerate(zip(idx, offsets)):
        peaks = ts.r_peaks[i] - o
        peaks = peaks[(peaks >= pre) & (peaks + post <= length)]
        if len(peaks) == 0:
            continue
        for j, r in enumerate(rng.choice(peaks, size=k, replace=len(peaks) < k)):
            beats[row, j] = x[row, :, r - pre : r - pre + blen]
            valid[row, j] = True
    xt = torch.from_numpy(x)
    bt = torch.from_numpy(beats)
    gmask = random_global_masks(n, cfg, gen)
    bmask = random_beat_masks(n, k, cfg, gen)
    x_in = xt * ~gmask[:, None, :]
    b_in = bt * ~bmask[:, :, None, :]
    return {
        "x_in": x_in,
        "b_in": b_in,
        "valid": torch.from_numpy(valid),
        "trend": trend_view(x_in, cfg),
        "x": xt,
        "beats": bt,
        "age": torch.from_numpy(ts.age[idx]),
        "sex": torch.from_numpy(ts.sex[idx]),
    }


# ---------------------------------------------------------------------------- set-up
def _ddp_setup(device_arg: str) -> tuple[int, int, str]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and device_arg in ("auto", "cuda")
    gpus = torch.cuda.device_count() if use_cuda else 0
    device = f"cuda:{local % gpus}" if use_cuda else "cpu"
    if use_cuda:
        torch.cuda.set_device(local % gpus)
    if world > 1 and not dist.is_initialized():
        # NCCL refuses two ranks on one GPU; more local ranks than GPUs share them over gloo.
        shared = use_cuda and int(os.environ.get("LOCAL_WORLD_SIZE", "1")) > gpus
        dist.init_process_group("nccl" if use_cuda and not shared else "gloo")
    return rank, world, device


def _lr_lambda(total_steps: int, warmup: int):
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return f


def _load_training_data(
    args: argparse.Namespace, cfg: ModelConfig
) -> tuple[TrainingSet, list[Labelled]]:
    selection: list[Labelled] = []
    cache = Path(args.out) / "train_cache.npz"
    if args.ptbxl:
        split = ptbxl_split(args.ptbxl, cfg)
        train_items = split.train[: args.max_train] if args.max_train else split.train
        selection = split.selection
        paths = [t.path for t in train_items]
        ages = [t.age for t in train_items]
        sexes = [t.sex for t in train_items]
    else:
        paths = folder_records(args.folder)[: args.max_train or None]
        ages = sexes = None  # type: ignore[assignment]
        if args.val_ptbxl:
            selection = ptbxl_split(args.val_ptbxl, cfg).selection
    key = f"{len(paths)}:{paths[:3]}:{cfg.fs}:{cfg.global_len}:{cfg.norm_mode}:{cfg.norm_clip}"
    if (cfg.highpass_hz, cfg.lowpass_hz) != (ModelConfig.highpass_hz, ModelConfig.lowpass_hz):
        key += f":{cfg.highpass_hz}-{cfg.lowpass_hz}"  # (earlier caches keep their key)
    if cache.is_file():
        blob = np.load(cache, allow_pickle=False)
        if str(blob["key"]) == key:
            peaks = [blob["peaks"][a:b] for a, b in zip(blob["offsets"][:-1], blob["offsets"][1:])]
            return TrainingSet(blob["signals"], peaks, blob["age"], blob["sex"]), selection
    ts = build_training_set(paths, cfg, ages, sexes)
    offsets = np.cumsum([0] + [len(p) for p in ts.r_peaks])
    np.savez(
        cache,
        key=key,
        signals=ts.signals,
        peaks=np.concatenate(ts.r_peaks),
        offsets=offsets,
        age=ts.age,
        sex=ts.sex,
    )
    return ts, selection


# ---------------------------------------------------------------------------- training
def train(args: argparse.Namespace) -> dict[str, Any]:
    """Run training; returns the history (rank 0) and writes OUT/best.pt, OUT/last.pt."""
    from tqdm import tqdm

    cfg = ModelConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        lr=args.lr,
        beats_per_ecg=args.beats,
    )
    cfg.norm_mode, cfg.norm_clip, cfg.mask_ratio = args.norm, args.norm_clip, args.mask_ratio
    if not 0 < args.highpass < args.lowpass < cfg.fs / 2:
        raise SystemExit(
            f"--highpass {args.highpass:g} and --lowpass {args.lowpass:g}: "
            f"must lie between 0 and {cfg.fs / 2:g} Hz, in that order"
        )
    cfg.highpass_hz, cfg.lowpass_hz, cfg.weight_decay = (
        args.highpass,
        args.lowpass,
        args.weight_decay,
    )
    if args.augment:
        default = Augmentation()
        cfg.aug_gain, cfg.aug_wander, cfg.aug_noise = default.gain, default.wander, default.noise
    if args.channels:
        cfg.channels = tuple(int(c) for c in args.channels.split(","))
    if args.latent <= 0 or args.latent % cfg.heads:
        raise SystemExit(f"--latent {args.latent}: must be a positive multiple of {cfg.heads}")
    cfg.latent = args.latent
    if args.threads:
        torch.set_num_threads(args.threads)
    rank, world, device = _ddp_setup(args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    ts, selection_items = _load_training_data(args, cfg)
    val = load_validation(selection_items) if rank == 0 and selection_items else None
    if rank == 0:
        log.info("training items %d, selection records %d", len(ts), len(val.records) if val else 0)

    net = CrossRestorationNet(cfg).to(device)
    if args.init:
        _init_from(net, cfg, Path(args.init))
    model: torch.nn.Module = DistributedDataParallel(net) if world > 1 else net
    # An exponential moving average of the weights (``--ema``) is what gets evaluated and
    # saved: the selection AUROC of the raw weights swings by a few points between epochs.
    ema = (
        torch.optim.swa_utils.AveragedModel(
            net, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(args.ema), use_buffers=True
        )
        if args.ema
        else None
    )
    kept = ema.module if ema is not None else net
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    per_rank = len(ts) // world
    steps_per_epoch = max(1, per_rank // cfg.batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, _lr_lambda(steps_per_epoch * cfg.epochs, min(500, steps_per_epoch * 2))
    )
    history: list[dict[str, Any]] = []
    start_epoch, best = 0, -1.0
    last_path = out / "last.pt"
    if args.resume and last_path.is_file():
        state = torch.load(last_path, map_location="cpu", weights_only=False)
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        if ema is not None and "ema" in state:
            ema.load_state_dict(state["ema"])
        start_epoch, best, history = state["epoch"], state["best"], state["history"]
        log.info("resumed from %s at epoch %d", last_path, start_epoch)

    for epoch in range(start_epoch, cfg.epochs):
        model.train()
        perm = np.random.default_rng(cfg.seed + epoch).permutation(len(ts))
        mine = perm[rank : per_rank * world : world]  # DistributedSampler's split, no padding
        gen = torch.Generator().manual_seed(cfg.seed * 1000 + epoch * 10 + rank)
        rng = np.random.default_rng([cfg.seed, epoch, rank])
        sums: dict[str, float] = {}
        t0 = time.time()
        bar = tqdm(
            range(steps_per_epoch),
            desc=f"epoch {epoch + 1}/{cfg.epochs}",
            disable=rank != 0 or args.quiet,
            leave=False,
        )
        for step in bar:
            idx = mine[step * cfg.batch_size : (step + 1) * cfg.batch_size]
            b = {k: v.to(device) for k, v in make_batch(ts, idx, cfg, gen, rng).items()}
            res = model(b["x_in"], b["b_in"], b["valid"], b["trend"])
            loss, parts = restoration_loss(
                res, b["x"], b["beats"], b["valid"], b["age"], b["sex"], cfg
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            sched.step()
            if ema is not None:
                ema.update_parameters(net)
            for key, value in {"loss": float(loss.detach()), **parts}.items():
                sums[key] = sums.get(key, 0.0) + value
            bar.set_postfix(loss=f"{sums['loss'] / (step + 1):.3f}")
        entry: dict[str, Any] = {"epoch": epoch + 1, "seconds": round(time.time() - t0, 1)}
        entry.update({k: round(v / steps_per_epoch, 5) for k, v in sums.items()})
        if rank == 0:
            if val is not None and ((epoch + 1) % args.eval_every == 0 or epoch + 1 == cfg.epochs):
                from model.metrics import auroc

                comps = score_components(kept, cfg, val, device)
                aucs = {
                    k: auroc(val.labels[np.isfinite(v)], v[np.isfinite(v)])
                    for k, v in comps.items()
                    if not k.startswith("map_") and "age" not in k
                }
                entry["selection_auroc"] = {k: round(v, 4) for k, v in aucs.items()}
                top = max(aucs.values())
                if args.keep_evaluated:  # later choice on the combined score (model.card --epoch)
                    _save_best(out / f"epoch_{epoch + 1:03d}.pt", kept, cfg, epoch + 1, entry)
                if top > best:
                    best = top
                    _save_best(out / "best.pt", kept, cfg, epoch + 1, entry)
            elif val is None:
                _save_best(out / "best.pt", kept, cfg, epoch + 1, entry)
            history.append(entry)
            log.info(json.dumps(entry))
            torch.save(
                {
                    "model": net.state_dict(),
                    "opt": opt.state_dict(),
                    "sched": sched.state_dict(),
                    "epoch": epoch + 1,
                    "best": best,
                    "history": history,
                    **({"ema": ema.state_dict()} if ema is not None else {}),
                },
                last_path,
            )
        if world > 1:
            dist.barrier()
    if world > 1:
        dist.destroy_process_group()
    return {"history": history, "best": best}


def _init_from(net: torch.nn.Module, cfg: ModelConfig, path: Path) -> None:
    """Start from trained weights (a bundled weights.pt or a checkpoint) instead of random
    ones: fine-tuning on more normals costs a few epochs instead of a full training."""
    from model.infer import sha256_of

    blob = torch.load(path, map_location="cpu", weights_only=True)
    state = blob.get("state_dict") or blob["model"]
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    cfg.extra["init"] = {
        "path": str(path),
        "sha256": sha256_of(path),
        "epoch": blob.get("meta", {}).get("epoch"),
    }
    log.info("initialised from %s", path)


def _save_best(
    path: Path, net: torch.nn.Module, cfg: ModelConfig, epoch: int, entry: dict[str, Any]
) -> None:
    torch.save(
        {
            "config": cfg.to_dict(),
            "state_dict": net.state_dict(),
            "meta": {"epoch": epoch, "selection": json.dumps(entry)},
        },
        path,
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ecgad train", description="Train the anomaly model on normal ECGs."
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--ptbxl", help="PTB-XL folder (official layout): folds 1-8 normals train, fold 9 selects"
    )
    src.add_argument("--folder", help="folder of normal ECGs in any supported format")
    p.add_argument(
        "--val-ptbxl", help="with --folder: PTB-XL folder whose fold 9 selects the checkpoint"
    )
    p.add_argument("--out", required=True, help="run folder: cache, checkpoints, history")
    p.add_argument("--export", help="write weights.pt + model_card.json here after training")
    p.add_argument(
        "--epochs",
        type=int,
        default=ModelConfig.epochs,
        help="passes over the training ECGs (default %(default)s)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=ModelConfig.batch_size,
        help="ECG windows per optimiser step (default %(default)s)",
    )
    p.add_argument(
        "--lr", type=float, default=ModelConfig.lr, help="learning rate (default %(default)s)"
    )
    p.add_argument("--beats", type=int, default=4, help="random beats per ECG per step")
    p.add_argument("--channels", default="", help="encoder widths, e.g. 32,64,128,256")
    p.add_argument(
        "--latent",
        type=int,
        default=ModelConfig.latent,
        help="latent width per time step, shared by the fusion (default %(default)s)",
    )
    p.add_argument(
        "--norm",
        default=ModelConfig.norm_mode,
        choices=["lead", "record"],
        help="amplitude normalisation per lead or per record (default %(default)s)",
    )
    # The configuration's numbers a run may change, each defaulting to the bundled recipe's.
    for flag, default, what in (
        ("--norm-clip", ModelConfig.norm_clip, "clip normalised samples at this many units"),
        ("--mask-ratio", ModelConfig.mask_ratio, "fraction of each window masked for restoration"),
        ("--lowpass", ModelConfig.lowpass_hz, "the network's band limit in Hz"),
        ("--highpass", ModelConfig.highpass_hz, "the network's high-pass corner in Hz"),
        ("--weight-decay", ModelConfig.weight_decay, "AdamW weight decay"),
    ):
        p.add_argument(flag, type=float, default=default, help=f"{what} (default %(default)s)")
    p.add_argument(
        "--seed", type=int, default=ModelConfig.seed, help="random seed (default %(default)s)"
    )
    p.add_argument(
        "--device",
        default="auto",
        choices=["auto", "cpu", "cuda"],
        help="where to train (default: auto, the GPU when there is one)",
    )
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    p.add_argument(
        "--eval-every",
        type=int,
        default=1,
        help="validate on fold 9's selection half every N epochs (default 1)",
    )
    p.add_argument("--max-train", type=int, default=0, help="use only the first N training ECGs")
    p.add_argument(
        "--init", help="start from these weights (weights.pt or a checkpoint): fine-tuning"
    )
    p.add_argument(
        "--augment",
        action="store_true",
        help="per-lead gain, baseline drift and noise as differ between carts (model/augment.py)",
    )
    p.add_argument(
        "--keep-evaluated",
        action="store_true",
        help="also keep OUT/epoch_NNN.pt for every evaluated epoch",
    )
    p.add_argument(
        "--ema",
        type=float,
        default=0.0,
        help="evaluate and save an exponential moving average of the weights with this decay "
        "per step (e.g. 0.999); 0: the raw weights",
    )
    p.add_argument(
        "--resume", action="store_true", help="continue from the run folder's last checkpoint"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    train(args)
    if args.export and int(os.environ.get("RANK", "0")) == 0:
        from model.card import export_bundle

        export_bundle(Path(args.out), Path(args.export), args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
