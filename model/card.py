"""Turn a selected checkpoint into the bundled weights + model card, with honest figures.

Everything chosen (score kind, threshold, percentile calibration) is chosen on the fold-9
*selection* half; detection figures are then measured on the *report* half, which played no
part in any choice. The card records both, labelled.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from model.beat_bank import BeatBank
from model.config import ModelConfig
from model.data import bank_from_files, folder_records, measure_model_from_files, ptbxl_split
from model.fold9 import Half, auroc_finite, choose_score, detection_metrics, figures, score_column
from model.infer import sha256_of
from model.local_events import EVENT_KINDS
from model.measure_novelty import MeasurementNovelty, feature_names
from model.network import CrossRestorationNet
from model.score_kinds import (
    AMPLITUDE_KIND,
    BANK_KIND,
    MEASURE_KIND,
    MEASURE_KINDS,
    NOT_NETWORK_KINDS,
    SCORE_KINDS,
    SHIPPED_CANDIDATES,
)
from model.vcg import QRST_ANGLE, T_COMPLEXITY

log = logging.getLogger(__name__)

INTENDED_USE = (
    "Research and decision support: ranks 12-lead resting ECGs by how unusual they are "
    "compared with normal ECGs, and shows where. Not a diagnostic device; every ECG must be "
    "read by a qualified clinician."
)


def limits(n_train: int) -> list[str]:
    """The card's limits; the first names how many normal ECGs the model learned from."""
    return [
        f"Trained on {n_train:,} normal 10 s 12-lead ECGs of PTB-XL (one German hospital, 1989-1996, "
        "Schiller devices) at 100 Hz: content above ~25 Hz (pacing spikes, notches) is not modelled.",
        *LIMITS,
    ]


LIMITS = [
    "Needs the 12 standard leads (limb leads may be derived from I and II).",
    "Scores rhythm changes only through beat and trend shape; it is no arrhythmia classifier.",
    "An unusual score is not a diagnosis: artefacts, lead reversal and noise score high too.",
]


def _map_references(
    net: Any,
    cfg: ModelConfig,
    val: Any,
    kind: str,
    spec: dict[str, Any] | None,
    bank: BeatBank | None,
    measure_model: MeasurementNovelty | None = None,
) -> tuple[float, dict[str, float], Any]:
    """Per-lead typical map level and the map's display reference, from the selection normals.

    Lead reference: median over normal ECGs of each lead's mean map. Map reference: median over
    normal ECGs of the 99th percentile of their lead-calibrated map (the viewer's full colour).
    Also returns the lead-calibrated Detector, which the findings calibration scores with.
    """
    from model.infer import Detector

    normals = [r for r, abnormal in zip(val.records, val.labels) if not abnormal]
    det = Detector(
        net,
        cfg,
        {"score_kind": kind, "score_ensemble": spec},
        "cpu",
        bank=bank,
        measure_model=measure_model,
    )
    results = [r for r in det.score_many(normals, batch=96) if not isinstance(r, Exception)]
    # A lead left out for its signal quality (off, clipped) has no lead score in that record.
    lead_reference = {
        name: float(np.median([r.lead_scores[name] for r in results if name in r.lead_scores]))
        for name in cfg.leads
    }
    det = Detector(
        net,
        cfg,
        {
            "score_kind": kind,
            "score_ensemble": spec,
            "calibration": {"lead_reference": lead_reference},
        },
        "cpu",
        bank=bank,
        measure_model=measure_model,
    )
    results = [r for r in det.score_many(normals, batch=96) if not isinstance(r, Exception)]
    map_reference = float(np.median([np.percentile(r.anomaly_map, 99) for r in results]))
    return map_reference, lead_reference, det


def _eval_every(history: list[dict[str, Any]]) -> int:
    """Epochs between selection checks, read back from the run's history (checkpoint choice
    depends on it)."""
    evaluated = [h["epoch"] for h in history if "selection_auroc" in h]
    if len(evaluated) >= 2:
        return int(evaluated[1] - evaluated[0])
    return int(evaluated[0]) if evaluated else 1


def _source_args(args: argparse.Namespace) -> str:
    """The data options of a run (the same for model.train and model.card)."""
    source = f"--ptbxl {args.ptbxl}" if args.ptbxl else f"--folder {args.folder}"
    if not args.ptbxl and getattr(args, "val_ptbxl", None):
        source += f" --val-ptbxl {args.val_ptbxl}"
    return source


def training_command(
    cfg: ModelConfig, args: argparse.Namespace, eval_every: int = 1, keep_evaluated: bool = False
) -> str:
    """The ``model.train`` command that trains this configuration (from the config itself)."""
    parts = [
        "python -m model.train",
        _source_args(args),
        f"--out {args.out}",
        f"--epochs {cfg.epochs}",
        f"--mask-ratio {cfg.mask_ratio:g}",
        f"--norm {cfg.norm_mode}",
        f"--norm-clip {cfg.norm_clip:g}",
        f"--batch-size {cfg.batch_size}",
        f"--lr {cfg.lr:g}",
        f"--beats {cfg.beats_per_ecg}",
        f"--channels {','.join(str(c) for c in cfg.channels)}",
        f"--seed {cfg.seed}",
        f"--eval-every {eval_every}",
    ]
    if getattr(args, "max_train", 0):
        parts.append(f"--max-train {args.max_train}")
    if isinstance(cfg.extra.get("init"), dict):
        parts.append(f"--init {cfg.extra['init']['path']}")
    if cfg.aug_gain or cfg.aug_wander or cfg.aug_noise:
        parts.append("--augment")
    if keep_evaluated:
        parts.append("--keep-evaluated")
    return " ".join(parts)


def _cached_state(cache: Path, key: str, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``build()``'s state, kept in ``cache`` under ``key`` (reading 7,000 ECGs takes minutes)
    and returned as it was saved, so choices see exactly the state that ships."""
    if cache.is_file():
        state = torch.load(cache, map_location="cpu", weights_only=True)
        if state.get("key") == key:
            return state
    state = {"key": key, **build()}
    torch.save(state, cache)
    return state


def _cached_bank(run: Path, paths: list[Path], cfg: ModelConfig) -> BeatBank:
    """The normal-beat bank of ``paths``, built once per run folder (fp16, as it ships)."""
    key = (
        f"{len(paths)}:{[str(p) for p in paths[:3]]}:{cfg.bank_low_hz}:{cfg.bank_high_hz}:"
        f"{cfg.bank_before}:{cfg.bank_after}:{cfg.bank_components}:{cfg.bank_k}"
    )
    state = _cached_state(run / "beat_bank.pt", key, lambda: bank_from_files(paths, cfg).state())
    return BeatBank.from_state(state)


def _cached_measure_model(run: Path, paths: list[Path], cfg: ModelConfig) -> MeasurementNovelty:
    """The training normals' measurement ranges (model/measure_novelty.py), once per run folder."""
    key = f"{len(paths)}:{[str(p) for p in paths[:3]]}:{feature_names(cfg.leads)}"
    state = _cached_state(
        run / "measure_novelty.pt", key, lambda: measure_model_from_files(paths, cfg).state()
    )
    return MeasurementNovelty.from_state(state)


def _candidates(run: Path, epoch: int | None) -> list[Path]:
    """Checkpoints to choose among: every kept evaluated epoch (``--keep-evaluated``), else
    best.pt; ``epoch`` names one."""
    kept = sorted(run.glob("epoch_*.pt"))
    if epoch is not None:
        wanted = run / f"epoch_{epoch:03d}.pt"
        if not wanted.is_file():
            raise SystemExit(f"{wanted}: no such checkpoint (train with --keep-evaluated)")
        return [wanted]
    if kept:
        return kept
    return [run / "best.pt"] if (run / "best.pt").is_file() else []


def _cached_components(
    run: Path,
    path: Path,
    half: str,
    net: Any,
    cfg: ModelConfig,
    val: Any,
    bank: BeatBank,
    measure_model: MeasurementNovelty | None = None,
) -> dict[str, np.ndarray]:
    """Every score component of one half for one checkpoint, kept in the run folder (keyed by
    the checkpoint's sha256 and the bank) so a second export need not score again."""
    from model.validation import score_components

    # The kinds are in the key: a cache from before a kind existed lacks its column.
    kinds = hashlib.sha256(",".join(SCORE_KINDS + EVENT_KINDS).encode()).hexdigest()[:8]
    key = (
        f"{sha256_of(path)}:{len(bank.vectors)}:{bank.k}:{len(val.labels)}:"
        f"{measure_model is not None}:{kinds}"
    )
    cache = run / f"components_{path.stem}_{half}.npz"
    if cache.is_file():
        blob = np.load(cache, allow_pickle=False)
        if str(blob["key"]) == key:
            return {k: blob[k] for k in blob.files if k != "key"}
    comps = score_components(net, cfg, val, "cpu", bank=bank, measure_model=measure_model)
    np.savez(cache, key=key, **comps)
    return comps


def _load_net(path: Path) -> tuple[Any, ModelConfig, dict[str, Any]]:
    blob = torch.load(path, map_location="cpu", weights_only=True)
    cfg = ModelConfig.from_dict(blob["config"])
    net = CrossRestorationNet(cfg)
    net.load_state_dict(blob["state_dict"])
    net.eval()
    return net, cfg, blob


def export_bundle(
    run: Path,
    export_dir: Path,
    args: argparse.Namespace,
    epoch: int | None = None,
    compare: list[Path] | None = None,
) -> dict[str, Any]:
    """Choose a checkpoint of ``run`` (or one of the ``compare`` weights, e.g. the model now
    bundled) and its score on the fold-9 selection half (the combined score with the beat
    bank, not the best single kind), measure on the report half (and with the halves
    swapped), and write weights + card."""
    from model.validation import load_validation

    run = Path(run)
    candidates = _candidates(run, epoch) + [Path(p) for p in compare or []]
    if not candidates:
        raise SystemExit(f"{run}: no checkpoint (best.pt, epoch_*.pt) and no --compare weights")
    _, cfg, _ = _load_net(candidates[0])
    root = args.ptbxl or args.val_ptbxl
    split = ptbxl_split(root, cfg)
    # The normal-beat bank holds the same training normals the network learned from.
    max_train = getattr(args, "max_train", 0) or None
    bank_paths = ([t.path for t in split.train] if args.ptbxl else folder_records(args.folder))[
        :max_train
    ]
    bank = _cached_bank(run, bank_paths, cfg)
    log.info("normal-beat bank: %d median beats", len(bank.vectors))
    measure_model = _cached_measure_model(run, bank_paths, cfg)
    sel_val = load_validation(split.selection)
    checkpoint_auroc: dict[str, float] = {}
    best: tuple[float, Path, dict[str, np.ndarray]] | None = None
    for path in candidates:
        net, cfg, _ = _load_net(path)
        comps = _cached_components(run, path, "selection", net, cfg, sel_val, bank, measure_model)
        _, _, auc = choose_score(comps, sel_val.labels, list(SHIPPED_CANDIDATES))
        checkpoint_auroc[str(path)] = round(auc, 4)
        log.info("%s: selection AUROC of the chosen score %.4f", path.name, auc)
        if best is None or auc > best[0]:
            best = (auc, path, comps)
    assert best is not None
    _, chosen_path, sel_comps = best
    net, cfg, blob = _load_net(chosen_path)
    rep_val = load_validation(split.report)
    rep_comps = _cached_components(
        run, chosen_path, "report", net, cfg, rep_val, bank, measure_model
    )
    sel = Half(sel_comps, sel_val.labels, [m.classes for m in sel_val.meta])
    rep = Half(rep_comps, rep_val.labels, [m.classes for m in rep_val.meta])
    report = figures(sel, rep)
    swapped = figures(rep, sel)
    kind, spec = report.pop("score_kind"), report.pop("score_ensemble")
    rest = report.pop("restoration_network_only")
    sel_auc = {
        k: round(float(v), 4)
        for k, v in (
            (k, auroc_finite(sel.labels, sel.comps[k])) for k in SCORE_KINDS if k in sel.comps
        )
    }
    sel_auc["chosen"] = report["choosing_half_auroc"]
    used = [kind] + list((spec or {}).get("components", []))
    # Parts the chosen score does not use are not shipped.
    bank_out = bank if BANK_KIND in used else None
    measure_out = measure_model if any(k in MEASURE_KINDS for k in used) else None
    sel_scores = score_column(sel.comps, kind, spec)
    normal_sel = np.sort(sel_scores[np.isfinite(sel_scores) & ~sel.labels])
    quantiles = np.quantile(normal_sel, np.linspace(0, 1, 501)).round(6).tolist()
    map_reference, lead_reference, calibrated_det = _map_references(
        net, cfg, sel_val, kind, spec, bank_out, measure_out
    )
    # Findings and the heat band's threshold, on the same selection normals (model/findings.py).
    from model.calibrate_findings import calibrate

    findings_calibration = calibrate(
        calibrated_det, [r for r, abnormal in zip(sel_val.records, sel_val.labels) if not abnormal]
    )

    export_dir.mkdir(parents=True, exist_ok=True)
    weights_path = export_dir / "weights.pt"
    half_state = {k: v.half() if v.is_floating_point() else v for k, v in net.state_dict().items()}
    blob_out: dict[str, Any] = {
        "config": cfg.to_dict(),
        "state_dict": half_state,
        "meta": {"score_kind": kind},
    }
    if bank_out is not None:
        blob_out["beat_bank"] = bank_out.state()
    if measure_out is not None:
        blob_out["measure_novelty"] = measure_out.state()
    torch.save(blob_out, weights_path)
    sha = sha256_of(weights_path)
    history: list[dict[str, Any]] = []
    if (run / "last.pt").is_file():
        history = torch.load(run / "last.pt", map_location="cpu", weights_only=False).get(
            "history", []
        )
    parts = report.pop("parts_alone_auroc")
    both = Half(
        {k: np.r_[sel.comps[k], rep.comps[k]] for k in sel.comps if k in rep.comps},
        np.r_[sel.labels, rep.labels],
        sel.classes + rep.classes,
    )
    fold9 = detection_metrics(
        both.labels, score_column(both.comps, kind, spec), both.classes, report["threshold"]
    )
    card = {
        "name": "ecg-cross-restoration",
        "version": f"{dt.date.today().isoformat()}-{sha[:8]}",
        "weights_sha256": sha,
        "weights_bytes": weights_path.stat().st_size,
        "parameters": int(sum(p.numel() for p in net.parameters())),
        "intended_use": INTENDED_USE,
        "limits": limits(len(split.train) if args.ptbxl else len(bank_paths)),
        "method": "Multi-scale cross-restoration (Jiang et al., MICCAI 2023) with a patient "
        "age/sex head (2024 extension); own implementation, see model/network.py"
        + (
            "; the record score also weighs the normal-beat bank distance "
            "(model/beat_bank.py), as chosen on the selection half"
            if bank_out is not None
            else ""
        )
        + (
            "; and how far the ECG's cart-style measurements (rate, RR regularity, intervals, "
            "axes, per-lead amplitudes and ST levels) lie from the training normals' "
            "(Mahalanobis distance, model/measure_novelty.py)"
            if measure_out is not None and MEASURE_KIND in used
            else ""
        )
        + (
            "; and how far its per-lead Q, R, S and T amplitudes lie from the training "
            "normals', feature by feature (mean squared z-score, model/measure_novelty.py)"
            if measure_out is not None and AMPLITUDE_KIND in used
            else ""
        )
        + (
            "; and the median beat's spatial QRS-T angle (Kors transform, model/vcg.py)"
            if QRST_ANGLE in used
            else ""
        )
        + (
            "; and the T wave's complexity over the leads (model/vcg.py)"
            if T_COMPLEXITY in used
            else ""
        )
        + (
            "; plus hinge parts for local events, a burst of muscle noise or a few beats' "
            "ST-T change beyond what normal ECGs show (model/local_events.py)"
            if (spec or {}).get("hinge")
            else ""
        ),
        "training_data": {
            "source": str(root),
            "rule": "PTB-XL 1.0.1, folds 1-8, diagnostic superclasses exactly {NORM} "
            "(scp_codes keys with diagnostic == 1, any likelihood)",
            "n_train_ecgs": int(len(split.train)) if args.ptbxl else None,
            "rate_hz": cfg.fs,
            "augmentation": {
                "gain": cfg.aug_gain,
                "wander": cfg.aug_wander,
                "noise": cfg.aug_noise,
            },
        },
        "selection": {
            "data": "PTB-XL fold 9, patient-disjoint half 0 (sha256(seed:patient_id) low bit)",
            "n": int(len(sel.labels)),
            "chosen": "checkpoint by the selection AUROC of its best score (single kind or "
            "weighted z-sum with the beat bank); then the score, the threshold for 90 % "
            "specificity on the selection normals and the percentile calibration",
            "checkpoint_auroc": checkpoint_auroc,
            "score_kind_auroc": sel_auc,
        },
        "score_kind": kind,
        "score_ensemble": spec,
        "threshold": report["threshold"],
        "threshold_rule": report["threshold_rule"],
        "calibration": {
            "data": "normal ECGs of the selection half",
            "n": int(len(normal_sel)),
            "normal_score_quantiles": quantiles,
            "map_reference": map_reference,
            "lead_reference": lead_reference,
            "normal_score_summary": {
                "median": float(np.median(normal_sel)),
                "p90": float(np.quantile(normal_sel, 0.9)),
                "p95": float(np.quantile(normal_sel, 0.95)),
                "p99": float(np.quantile(normal_sel, 0.99)),
            },
        },
        "findings_calibration": {
            **findings_calibration,
            "command": f"python -m model.calibrate_findings --ptbxl {root} --model {export_dir}",
        },
        "beat_bank": None
        if bank_out is None
        else {
            "what": "12-lead median beats (mV) of the training normals; distance = 1 - mean "
            "cosine similarity to the k most similar (model/beat_bank.py)",
            "n_beats": int(len(bank_out.vectors)),
            "band_hz": [cfg.bank_low_hz, cfg.bank_high_hz],
            "window_s": [-cfg.bank_before, cfg.bank_after],
            "components": int(bank_out.basis.shape[0]),
            "k": int(bank_out.k),
        },
        "measurement_ranges": None
        if measure_out is None
        else {
            "what": "robust z-scores of cart-style measurements of the first 10 s at the model "
            "rate, clipped, Mahalanobis distance² under a shrunk covariance of the training "
            "normals (model/measure_novelty.py); measure_amp: the mean squared clipped z-score "
            "of the per-lead Q, R, S and T amplitudes",
            "n_train_ecgs": int(len(bank_paths)),
            "features": list(measure_out.names),
            "n_features_used": int(measure_out.keep.sum()),
        },
        "validation_report_half": report,
        "validation_report_half_parts": {
            "note": "what each part alone reaches on the report half (each chosen on the selection half)",
            "restoration_network_only": {
                **rest,
                "selection_auroc": parts["restoration_network_only"]["choosing_half"],
                "report_auroc": parts["restoration_network_only"]["measured_half"],
            },
            **{
                kind_ + "_only": {
                    "selection_auroc": parts[kind_ + "_only"]["choosing_half"],
                    "report_auroc": parts[kind_ + "_only"]["measured_half"],
                }
                for kind_ in NOT_NETWORK_KINDS
                if kind_ + "_only" in parts
            },
        },
        "validation_swapped_halves": {
            "note": "score, ensemble and threshold chosen on the report half, measured on the "
            "selection half (the checkpoint stays the one chosen on the selection half)",
            **{
                k: v
                for k, v in swapped.items()
                if k not in ("score_ensemble", "restoration_network_only")
            },
        },
        "validation_fold9_all": {**fold9, "note": "includes the selection half: optimistic"},
        "training": {
            "command": training_command(
                cfg, args, _eval_every(history), keep_evaluated=bool(list(run.glob("epoch_*.pt")))
            ),
            "export_command": f"python -m model.card --run {args.out} {_source_args(args)} "
            f"--out {export_dir}"
            + (f" --epoch {epoch}" if epoch is not None else "")
            + "".join(f" --compare {p}" for p in compare or []),
            "seed": cfg.seed,
            "epochs": cfg.epochs,
            "selected_epoch": blob.get("meta", {}).get("epoch"),
            "config": cfg.to_dict(),
            "history": history,
            "torch": torch.__version__,
            "machine": platform.platform(),
        },
    }
    if chosen_path.parent != run:  # an earlier model won on the selection half: keep its recipe
        old_card = chosen_path.with_name("model_card.json")
        old = json.loads(old_card.read_text(encoding="utf-8")) if old_card.is_file() else {}
        card["training"] = {
            **old.get("training", {}),
            "chosen_over": sorted(checkpoint_auroc),
            "export_command": card["training"]["export_command"],
        }
        card["training_data"]["network_n_train_ecgs"] = old.get("training_data", {}).get(
            "n_train_ecgs"
        )
        card["training_data"]["augmentation"] = None
        n_net = card["training_data"]["network_n_train_ecgs"]
        if isinstance(n_net, int):
            card["limits"] = limits(n_net)
            card["limits"][0] += (
                f" The normal-beat bank holds all {len(bank_paths):,} training normals."
            )
    card["selection"]["chosen_checkpoint"] = str(chosen_path)
    (export_dir / "model_card.json").write_text(json.dumps(card, indent=1), encoding="utf-8")
    log.info(
        "exported %s (%d bytes), report-half AUROC %.4f",
        weights_path,
        card["weights_bytes"],
        report["auroc"],
    )
    return card


def main(argv: list[str] | None = None) -> int:
    """``python -m model.card --run RUN --ptbxl ROOT --out DIR``: choose a checkpoint of RUN,
    measure it and export it."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = argparse.ArgumentParser(prog="python -m model.card", description=main.__doc__)
    parser.add_argument(
        "--run", required=True, help="training run folder (epoch_*.pt or best.pt, last.pt)"
    )
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--ptbxl", help="PTB-XL folder the run was trained on")
    src.add_argument("--folder", help="folder of normal ECGs the run was trained on")
    parser.add_argument("--val-ptbxl", help="with --folder: PTB-XL folder whose fold 9 selects")
    parser.add_argument("--max-train", type=int, default=0)
    parser.add_argument("--epoch", type=int, default=None, help="export this kept epoch, no choice")
    parser.add_argument(
        "--compare",
        nargs="*",
        default=[],
        help="other weights (e.g. a copy of the bundled weights.pt) chosen among as well",
    )
    parser.add_argument("--out", required=True, help="where weights.pt + model_card.json go")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    if args.folder and not args.val_ptbxl:
        parser.error(
            "--folder needs --val-ptbxl: the selection and report halves come from its fold 9"
        )
    if args.threads:
        torch.set_num_threads(args.threads)
    ns = argparse.Namespace(
        ptbxl=args.ptbxl,
        folder=args.folder,
        val_ptbxl=args.val_ptbxl,
        out=args.run,
        max_train=args.max_train,
    )
    card = export_bundle(
        Path(args.run),
        Path(args.out),
        ns,
        epoch=args.epoch,
        compare=[Path(p) for p in args.compare],
    )
    print(
        json.dumps(
            {
                "score_kind": card["score_kind"],
                "report_half": card["validation_report_half"],
                "parts": card["validation_report_half_parts"],
                "swapped": card["validation_swapped_halves"],
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
