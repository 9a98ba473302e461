"""Train the learned wave-edge network of ecgviewer/signal/learned_edges.py on LUDB records
1-100 (all the shared ones; ``--records 1-50`` for the tuning half only) and export it for
numpy.

    python -m model.train_delineator --ludb ../shared/data/ludb --out resources/delineator/weights.npz \
        [--fold-weights runs/delineator_folds]

What it does, in order:

1. 5-fold cross-validation over the records (20 records a fold for 1-100): a network trained
   on the other folds' records labels the fold's records; their global intervals (earliest onset /
   latest offset over the 12 leads, median over beats) are compared with the cardiologists'
   (the same rule on their per-lead marks). The mean differences are the biases the export
   carries (subtracted at inference); the JSON table printed gives, per interval, the rules'
   error (``ecgviewer.signal.intervals.measure`` without the network), the network's (its bias
   taken from the other folds) and their average's, all out of fold.
   ``--fold-weights DIR`` also keeps each fold's network, for
   ``benchmarks/measure_accuracy.py --fold-weights DIR``: every record measured through the
   shipped code path by a network that never saw it (the honest figure for the shipped one).
2. One network trained on all the records with the same recipe, exported with batch norms
   folded into the convolutions (``ecgviewer.signal.learned_edges.load_weights``'s keys).

The network: a 1-D U-Net (widths 16-32-64, kernel 9, 0.12 M parameters) labelling each sample
of one lead as none/P/QRS/T from the lead and the spatial velocity of all 12
(``learned_edges.network_input``), trained with cross-entropy over the annotated span of each
lead, on random 4 s crops with noise and mains added to all 12 leads before the velocity
channel is made, and random gain, polarity and baseline wander on the lead.
About 3 minutes a network on 2 cores (17 minutes in all for 1-100).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ecgviewer.signal.learned_edges import (
    INTERVALS,
    P_WAVE,
    QRS,
    T_WAVE,
    WORK_FS,
    forward,
    global_intervals,
    lead_waves,
    network_input,
    spatial_velocity,
)

#: LUDB's per-lead annotation files, in ecgviewer.record.STANDARD_LEADS order.
LUDB_LEADS = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6")
WAVE_CLASS = {"p": P_WAVE, "N": QRS, "t": T_WAVE}
WIDTHS = (16, 32, 64)
KERNEL = 9
CROP = 1024  # samples at WORK_FS (4.1 s)


class UNet(nn.Module):
    """Encoder of two-convolution blocks with max pooling, decoder with linear upsampling."""

    def __init__(self, widths: tuple[int, ...] = WIDTHS, kernel: int = KERNEL) -> None:
        super().__init__()

        def block(a: int, b: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv1d(a, b, kernel, padding=kernel // 2),
                nn.BatchNorm1d(b),
                nn.ReLU(True),
                nn.Conv1d(b, b, kernel, padding=kernel // 2),
                nn.BatchNorm1d(b),
                nn.ReLU(True),
            )

        self.enc = nn.ModuleList()
        c = 2
        for w in widths:
            self.enc.append(block(c, w))
            c = w
        self.dec = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.dec.append(block(c + w, w))
            c = w
        self.head = nn.Conv1d(c, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, enc in enumerate(self.enc):
            x = enc(x)
            if i < len(self.enc) - 1:
                skips.append(x)
                x = F.max_pool1d(x, 2)
        for dec in self.dec:
            s = skips.pop()
            x = F.interpolate(x, size=s.shape[-1], mode="linear", align_corners=False)
            x = dec(torch.cat([x, s], 1))
        return self.head(x)


def export(net: UNet) -> dict[str, np.ndarray]:
    """The eval-mode network as learned_edges.forward reads it (batch norms folded)."""
    out: dict[str, np.ndarray] = {}
    for prefix, blocks in (("enc", net.enc), ("dec", net.dec)):
        for i, block in enumerate(blocks):
            for j, (conv, bn) in enumerate(((block[0], block[1]), (block[3], block[4]))):
                scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
                w = conv.weight.detach() * scale[:, None, None]
                b = (conv.bias.detach() - bn.running_mean) * scale + bn.bias.detach()
                out[f"{prefix}{i}_{j}_w"] = w.numpy().astype(np.float32)
                out[f"{prefix}{i}_{j}_b"] = b.numpy().astype(np.float32)
    out["head_w"] = net.head.weight.detach().numpy().astype(np.float32)
    out["head_b"] = net.head.bias.detach().numpy().astype(np.float32)
    return out


def load_ludb(ludb: Path, records: list[int]) -> dict[int, dict[str, Any]]:
    """Per record: network inputs, per-lead labels and annotated spans at WORK_FS, and the
    cardiologists' per-lead waves (samples at the file's rate) with that rate."""
    import wfdb

    out = {}
    for rec in records:
        base = str(ludb / "data" / str(rec))
        r = wfdb.rdrecord(base)
        names = [n.lower() for n in r.sig_name]
        x = r.p_signal.T[[names.index(lead) for lead in LUDB_LEADS]]
        fs = float(r.fs)
        inputs = network_input(x, fs)
        n = inputs.shape[-1]
        labels = np.zeros((12, n), np.int64)
        known = np.zeros((12, n), bool)
        waves = []
        for li, lead in enumerate(LUDB_LEADS):
            ann = wfdb.rdann(base, lead)
            sym, smp = ann.symbol, ann.sample
            lead_w: dict[int, list[tuple[int, int, int]]] = {c: [] for c in WAVE_CLASS.values()}
            for i, s in enumerate(sym):
                if (
                    s in WAVE_CLASS
                    and 0 < i < len(sym) - 1
                    and sym[i - 1] == "("
                    and sym[i + 1] == ")"
                ):
                    a, m, b = int(smp[i - 1]), int(smp[i]), int(smp[i + 1])
                    lead_w[WAVE_CLASS[s]].append((a, m, b))
                    lo, hi = int(round(a * WORK_FS / fs)), int(round(b * WORK_FS / fs))
                    labels[li, lo : hi + 1] = WAVE_CLASS[s]
            spans = [w for ws in lead_w.values() for w in ws]
            if spans:
                lo = int(round(min(w[0] for w in spans) * WORK_FS / fs))
                hi = int(round(max(w[2] for w in spans) * WORK_FS / fs))
                known[li, lo : hi + 1] = True
            waves.append(lead_w)
        out[rec] = {"inputs": inputs, "labels": labels, "known": known, "waves": waves, "fs": fs}
    return out


def train(
    data: dict[int, dict[str, Any]],
    records: list[int],
    steps: int,
    seed: int,
    stretch: float = 0.0,
    widths: tuple[int, ...] = WIDTHS,
    wide_weight: float = 1.0,
) -> UNet:
    """One network on ``records``' leads (batches of 32 random crops).

    ``stretch``: the share of crops taken from a span 0.8-1.25 times the crop's length and
    brought to it (linear interpolation, labels from the nearest sample), so that every wave
    is as much narrower or wider: a width the network cannot guess from the typical one.

    Noise is added to all 12 scaled leads of a crop before the velocity channel is made from
    them, as a noisy recording would give it: broadband noise in 70 % of crops (up to 0.08
    of each lead's scale, about 80 uV on a 1 mV lead) and mains (50 or 60 Hz) in 20 %. The
    lead itself also gets a random gain, polarity and baseline wander.

    ``wide_weight``: how much more often the leads of a record whose cardiologists' global
    QRS is 140 ms or wider are drawn (1: every lead as often; such complexes are rare among
    the records, and both methods read them short).
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = UNet(widths)
    opt = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=steps)
    items = [(r, lead) for r in records for lead in range(12)]
    draw = _draw_probabilities(data, items, wide_weight)
    t = np.arange(CROP) / WORK_FS
    for _ in range(steps):
        xb = np.zeros((32, 2, CROP), np.float32)
        yb = np.zeros((32, CROP), np.int64)
        mb = np.zeros((32, CROP), bool)
        for b in range(32):
            pick = rng.integers(len(items)) if draw is None else rng.choice(len(items), p=draw)
            r, lead = items[pick]
            d = data[r]
            span = CROP
            if stretch and rng.random() < stretch:
                span = min(int(round(CROP * rng.uniform(0.8, 1.25))), d["inputs"].shape[-1])
            st = int(rng.integers(0, d["inputs"].shape[-1] - span + 1))
            leads = d["inputs"][:, 0, st : st + span].astype(np.float64)
            labels = d["labels"][:, st : st + span]
            known = d["known"][:, st : st + span]
            if span != CROP:
                at = np.linspace(0, span - 1, CROP)
                leads = np.stack([np.interp(at, np.arange(span), lead) for lead in leads])
                nearest = np.rint(at).astype(np.int64)
                labels, known = labels[:, nearest], known[:, nearest]
            if rng.random() < 0.7:
                sigma = rng.uniform(0, 0.08) * rng.uniform(0.5, 1.5, (12, 1))
                leads = leads + rng.normal(0, 1, leads.shape) * sigma
            if rng.random() < 0.2:
                mains = rng.choice([50.0, 60.0])
                phase = rng.uniform(0, 6.3, (12, 1))
                leads = leads + rng.uniform(0, 0.1) * np.sin(2 * np.pi * mains * t + phase)
            sig = leads[lead] * rng.uniform(0.6, 1.6) * (1 if rng.random() < 0.5 else -1)
            sig = sig + rng.uniform(0, 0.3) * np.sin(
                2 * np.pi * rng.uniform(0.05, 0.5) * t + rng.uniform(0, 6.3)
            )
            xb[b, 0] = sig
            xb[b, 1] = spatial_velocity(leads)
            yb[b] = labels[lead]
            mb[b] = known[lead]
        logits = net(torch.from_numpy(xb))
        loss = F.cross_entropy(logits, torch.from_numpy(yb), reduction="none")[torch.from_numpy(mb)]
        opt.zero_grad()
        loss.mean().backward()
        opt.step()
        sched.step()
    return net.eval()


#: A record whose cardiologists' global QRS is at least this wide (ms) counts as wide.
WIDE_QRS_MS = 140.0


def _draw_probabilities(
    data: dict[int, dict[str, Any]], items: list[tuple[int, int]], wide_weight: float
) -> np.ndarray | None:
    """How likely each (record, lead) item is drawn: ``wide_weight`` times as likely for a
    record with a wide QRS (:data:`WIDE_QRS_MS`); None for every item alike."""
    if wide_weight == 1.0:
        return None
    wide = {r: (_reference_qrs(data[r]) or 0.0) >= WIDE_QRS_MS for r, _ in items}
    odds = np.array([wide_weight if wide[r] else 1.0 for r, _ in items])
    return odds / odds.sum()


def _reference_qrs(d: dict[str, Any]) -> float | None:
    """The cardiologists' global QRS (ms) of one loaded record (tests give none)."""
    if "waves" not in d:
        return None
    return global_intervals(d["waves"], d["fs"])["qrs"]


def predict(weights: dict[str, np.ndarray], d: dict[str, Any]) -> dict[str, float | None]:
    """Global intervals (ms, no bias removed) of one record by the exported network."""
    labels = forward(d["inputs"], weights).argmax(axis=1)
    return global_intervals(lead_waves(labels), WORK_FS)


def rules_intervals(ludb: Path, rec: int) -> dict[str, float | None]:
    """The rules' intervals for the record (ecgviewer.signal.intervals without the network)."""
    from ecgviewer.io import read
    from ecgviewer.signal.intervals import measure

    m = measure(read(str(ludb / "data" / f"{rec}.hea")), learned=False)
    return {"p_duration": m.p_duration_ms, "pr": m.pr_ms, "qrs": m.qrs_ms, "qt": m.qt_ms}


def _stats(d: list[float]) -> dict[str, float | int | None]:
    a = np.asarray(d, dtype=np.float64)
    return {
        "n": int(a.size),
        "mean_ms": round(float(a.mean()), 1) if a.size else None,
        "sd_ms": round(float(a.std(ddof=1)), 1) if a.size > 1 else None,
    }


def _mean(errors: list[float]) -> float:
    """Mean error (ms); 0 where the network measured none of the records (no bias known)."""
    return float(np.mean(errors)) if errors else 0.0


def _fold(records: list[int], f: int, folds: int) -> list[int]:
    """The records of fold ``f``: consecutive blocks (1-10, 11-20, ... for 50 and 5)."""
    return records[f * len(records) // folds : (f + 1) * len(records) // folds]


def cross_validate(
    ludb: Path,
    data: dict[int, dict[str, Any]],
    records: list[int],
    folds: int,
    steps: int,
    seed: int,
    fold_weights: Path | None = None,
    fit: Callable[[dict[int, dict[str, Any]], list[int], int, int], UNet] = train,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Out-of-fold biases and the error table (rules, network, their average).

    ``fit(data, records, steps, seed)`` trains one network (default: :func:`train` with its
    default recipe; the command passes its options, and trains the shipped network with the
    same ``fit``).

    ``fold_weights``: also write each fold's network there (``fold{k}.npz``, its biases from
    the other folds only) and ``folds.json`` (record -> file), so that
    ``benchmarks/measure_accuracy.py --fold-weights`` measures every record out of fold through
    the shipped code path (guard, fiducials and all).
    """
    out_of_fold: dict[int, dict[str, float | None]] = {}
    fold_nets: list[dict[str, np.ndarray]] = []
    for f in range(folds):
        test = _fold(records, f, folds)
        train_on = [r for r in records if r not in test]
        weights = export(fit(data, train_on, steps, seed + f))
        fold_nets.append(weights)
        for r in test:
            out_of_fold[r] = predict(weights, data[r])
        print(f"fold {f + 1}/{folds} done", file=sys.stderr, flush=True)
    ref = {r: global_intervals(data[r]["waves"], data[r]["fs"]) for r in records}
    rules = {r: rules_intervals(ludb, r) for r in records}

    def bias_without(test: list[int], q: str) -> float:
        """The network's mean out-of-fold error of ``q`` over the records not in ``test``."""
        return _mean(
            [
                out_of_fold[r][q] - ref[r][q]  # type: ignore[operator]
                for r in records
                if r not in test and out_of_fold[r][q] is not None and ref[r][q] is not None
            ]
        )

    biases: dict[str, float] = {}
    table: dict[str, Any] = {}
    for q in INTERVALS:
        biases[q] = bias_without([], q)
        net_err, rule_err, avg_err = [], [], []
        for f in range(folds):
            test = _fold(records, f, folds)
            bias = bias_without(test, q)
            for r in test:
                b_ref, own, rule = ref[r][q], out_of_fold[r][q], rules[r][q]
                if b_ref is None:
                    continue
                if own is not None:
                    net_err.append(own - bias - b_ref)
                if rule is not None:
                    rule_err.append(rule - b_ref)
                    avg_err.append(
                        (rule + own - bias) / 2 - b_ref if own is not None else rule - b_ref
                    )
        table[q] = {
            "rules": _stats(rule_err),
            "network": _stats(net_err),
            "average": _stats(avg_err),
        }
    if fold_weights is not None:
        fold_weights.mkdir(parents=True, exist_ok=True)
        which: dict[int, str] = {}
        for f, weights in enumerate(fold_nets):
            test = _fold(records, f, folds)
            for q in INTERVALS:
                weights[f"bias_{q}"] = np.float32(bias_without(test, q))
            np.savez_compressed(fold_weights / f"fold{f}.npz", **weights)
            which.update({r: f"fold{f}.npz" for r in test})
        (fold_weights / "folds.json").write_text(json.dumps(which, indent=0))
    return biases, table


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ludb", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("resources/delineator/weights.npz"))
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--records",
        default="1-100",
        help="LUDB records to learn from, FIRST-LAST (default: 1-100, all the shared ones)",
    )
    ap.add_argument(
        "--fold-weights",
        type=Path,
        help="also write each cross-validation fold's network here (for measure_accuracy.py)",
    )
    ap.add_argument(
        "--stretch",
        type=float,
        default=0.0,
        help="share of training crops stretched or squeezed in time by 0.8-1.25 (default 0)",
    )
    ap.add_argument(
        "--widths",
        default=",".join(str(w) for w in WIDTHS),
        help="the U-Net's channel widths, one level each (default 16,32,64)",
    )
    ap.add_argument(
        "--wide-weight",
        type=float,
        default=1.0,
        help="draw the leads of records with a global QRS >= 140 ms this many times as often",
    )
    args = ap.parse_args(argv)
    widths = tuple(int(w) for w in args.widths.split(","))
    torch.set_num_threads(args.threads)
    first, last = (int(v) for v in args.records.split("-"))
    records = list(range(first, last + 1))
    t0 = time.time()
    data = load_ludb(args.ludb, records)
    fit = functools.partial(
        train, stretch=args.stretch, widths=widths, wide_weight=args.wide_weight
    )
    biases, table = cross_validate(
        args.ludb, data, records, args.folds, args.steps, args.seed, args.fold_weights, fit
    )
    weights = export(fit(data, records, args.steps, args.seed + args.folds))
    for q, b in biases.items():
        weights[f"bias_{q}"] = np.float32(b)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **weights)
    report = {
        "records": f"LUDB {first}-{last}",
        "steps": args.steps,
        "seed": args.seed,
        "folds": args.folds,
        "stretch": args.stretch,
        "widths": list(widths),
        "wide_weight": args.wide_weight,
        "biases_ms": {q: round(b, 1) for q, b in biases.items()},
        "out_of_fold_error_ms": table,
        "seconds": round(time.time() - t0),
        "out": str(args.out),
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
