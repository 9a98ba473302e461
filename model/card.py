"""Turn a selected checkpoint into the bundled weights + model card, with honest figures.

Everything chosen (score kind, threshold, percentile calibration) is chosen on the fold-9
*selection* half; detection figures are then measured on the *report* half, which played no
part in any choice. The card records both, labelled.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import platform
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch

from model.beat_bank import BeatBank
from model.config import ModelConfig
from model.data import ABNORMAL_CLASSES, bank_from_files, folder_records, ptbxl_split
from model.infer import BANK_KIND, SCORE_KINDS, ensemble_score, fit_ensemble, sha256_of
from model.metrics import auprc, auroc, sens_spec, youden_threshold
from model.network import CrossRestorationNet

log = logging.getLogger(__name__)

INTENDED_USE = (
    "Research and decision support: ranks 12-lead resting ECGs by how unusual they are "
    "compared with normal ECGs, and shows where. Not a diagnostic device; every ECG must be "
    "read by a qualified clinician."
)
LIMITS = [
    "Trained on 3,500 normal 10 s 12-lead ECGs of PTB-XL (one German hospital, 1989-1996, "
    "Schiller devices) at 100 Hz: content above ~25 Hz (pacing spikes, notches) is not modelled.",
    "Needs the 12 standard leads (limb leads may be derived from I and II).",
    "Scores rhythm changes only through beat and trend shape; it is no arrhythmia classifier.",
    "An unusual score is not a diagnosis: artefacts, lead reversal and noise score high too.",
]


def _auroc_finite(labels: np.ndarray, scores: np.ndarray) -> float:
    ok = np.isfinite(scores)
    return auroc(labels[ok], scores[ok])


def detection_metrics(labels: np.ndarray, scores: np.ndarray, classes: list[frozenset[str]],
                      threshold: float) -> dict[str, Any]:
    ok = np.isfinite(scores)
    labels, scores = labels[ok], scores[ok]
    classes = [c for c, keep in zip(classes, ok) if keep]
    sens, spec = sens_spec(labels, scores, threshold)
    per_class = {}
    for name in ABNORMAL_CLASSES:
        member = np.array([name in c for c in classes])
        use = member | ~labels
        per_class[name] = round(auroc(member[use], scores[use]), 4)
    return {
        "n_normal": int((~labels).sum()), "n_abnormal": int(labels.sum()),
        "auroc": round(auroc(labels, scores), 4), "auprc": round(auprc(labels, scores), 4),
        "sensitivity": round(sens, 4), "specificity": round(spec, 4),
        "per_superclass_auroc": per_class,
    }


def _ensemble_column(comps: dict[str, np.ndarray], spec: dict[str, Any]) -> np.ndarray:
    n = len(comps[spec["components"][0]])
    return np.array([ensemble_score({k: comps[k][i] for k in spec["components"]}, spec) for i in range(n)])


def _greedy_ensemble(comps: dict[str, np.ndarray], labels: np.ndarray, candidates: list[str],
                     max_parts: int = 4) -> tuple[dict[str, Any], float] | None:
    """Forward selection, with replacement, of up to ``max_parts`` components whose weighted
    summed z-scores rank the selection half best (z against its normals); a component picked
    twice weighs double. Returns (spec, selection AUROC), or None if one component is best."""
    candidates = [k for k in candidates if k in comps and np.isfinite(comps[k]).any()]
    chosen: list[str] = []
    best_auc = -1.0
    normal = ~labels
    while len(chosen) < max_parts:
        trial_best = None
        for name in candidates:
            counts = Counter(chosen + [name])
            spec = fit_ensemble({k: comps[k] for k in counts}, normal, weights=counts)
            values = _ensemble_column(comps, spec)
            ok = np.isfinite(values)
            auc = auroc(labels[ok], values[ok])
            if trial_best is None or auc > trial_best[1]:
                trial_best = (name, auc)
        if trial_best is None or trial_best[1] <= best_auc + 1e-4:
            break
        chosen.append(trial_best[0])
        best_auc = trial_best[1]
    counts = Counter(chosen)
    if len(counts) < 2:
        return None
    return fit_ensemble({k: comps[k] for k in counts}, normal, weights=counts), best_auc


def _choose_score(comps: dict[str, np.ndarray], labels: np.ndarray, candidates: list[str]
                  ) -> tuple[str, dict[str, Any] | None, float]:
    """Best single kind or greedy ensemble among ``candidates`` on the selection half."""
    single = {k: auroc(labels[np.isfinite(comps[k])], comps[k][np.isfinite(comps[k])])
              for k in candidates if k in comps and np.isfinite(comps[k]).any()}
    kind = max(single, key=lambda k: single[k])
    ensemble = _greedy_ensemble(comps, labels, list(single))
    if ensemble is not None and ensemble[1] > single[kind]:
        return "ensemble", ensemble[0], ensemble[1]
    return kind, None, single[kind]


def _map_references(net: Any, cfg: ModelConfig, val: Any, kind: str, spec: dict[str, Any] | None,
                    bank: BeatBank | None) -> tuple[float, dict[str, float]]:
    """Per-lead typical map level and the map's display reference, from the selection normals.

    Lead reference: median over normal ECGs of each lead's mean map. Map reference: median over
    normal ECGs of the 99th percentile of their lead-calibrated map (the viewer's full colour).
    """
    from model.infer import Detector

    normals = [r for r, abnormal in zip(val.records, val.labels) if not abnormal]
    det = Detector(net, cfg, {"score_kind": kind, "score_ensemble": spec}, "cpu", bank=bank)
    results = [r for r in det.score_many(normals, batch=96) if not isinstance(r, Exception)]
    lead_reference = {
        name: float(np.median([r.lead_scores[name] for r in results])) for name in cfg.leads
    }
    det = Detector(net, cfg, {"score_kind": kind, "score_ensemble": spec,
                              "calibration": {"lead_reference": lead_reference}}, "cpu", bank=bank)
    results = [r for r in det.score_many(normals, batch=96) if not isinstance(r, Exception)]
    map_reference = float(np.median([np.percentile(r.anomaly_map, 99) for r in results]))
    return map_reference, lead_reference


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


def training_command(cfg: ModelConfig, args: argparse.Namespace, eval_every: int = 1) -> str:
    """The ``model.train`` command that trains this configuration (from the config itself)."""
    parts = [
        "python -m model.train", _source_args(args), f"--out {args.out}", f"--epochs {cfg.epochs}",
        f"--mask-ratio {cfg.mask_ratio:g}", f"--norm {cfg.norm_mode}", f"--norm-clip {cfg.norm_clip:g}",
        f"--batch-size {cfg.batch_size}", f"--lr {cfg.lr:g}", f"--beats {cfg.beats_per_ecg}",
        f"--channels {','.join(str(c) for c in cfg.channels)}", f"--seed {cfg.seed}",
        f"--eval-every {eval_every}",
    ]
    if getattr(args, "max_train", 0):
        parts.append(f"--max-train {args.max_train}")
    return " ".join(parts)


def export_bundle(best_pt: Path, export_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Evaluate ``best_pt`` on fold 9 (selection/report halves) and write weights + card."""
    from model.validation import load_validation, score_components

    blob = torch.load(best_pt, map_location="cpu", weights_only=True)
    cfg = ModelConfig.from_dict(blob["config"])
    net = CrossRestorationNet(cfg)
    net.load_state_dict(blob["state_dict"])
    net.eval()
    root = args.ptbxl or args.val_ptbxl
    split = ptbxl_split(root, cfg)
    # The normal-beat bank holds the same training normals the network learned from.
    max_train = getattr(args, "max_train", 0) or None
    bank_paths = ([t.path for t in split.train] if args.ptbxl else folder_records(args.folder))[:max_train]
    bank = bank_from_files(bank_paths, cfg)
    log.info("normal-beat bank: %d median beats", len(bank.vectors))
    halves = {}
    for name, items in (("selection", split.selection), ("report", split.report)):
        val = load_validation(items)
        comps = score_components(net, cfg, val, "cpu", bank=bank)
        halves[name] = (val, comps)
    sel_val, sel_comps = halves["selection"]
    rep_val, rep_comps = halves["report"]
    sel_auc = {k: auroc(sel_val.labels[np.isfinite(v)], v[np.isfinite(v)])
               for k, v in sel_comps.items() if k in SCORE_KINDS}
    # The restoration network alone (no bank), chosen the same way: reported for comparison.
    rest_kind, rest_spec, rest_sel = _choose_score(
        sel_comps, sel_val.labels, [k for k in SCORE_KINDS if k != BANK_KIND])
    rest_scores = {n: _ensemble_column(c, rest_spec) if rest_spec else c[rest_kind]
                   for n, c in (("selection", sel_comps), ("report", rep_comps))}
    kind, spec, chosen_auc = _choose_score(sel_comps, sel_val.labels, list(SCORE_KINDS))
    if spec is not None:
        for comps in (sel_comps, rep_comps):
            comps["ensemble"] = _ensemble_column(comps, spec)
        sel_auc["ensemble"] = chosen_auc
    if BANK_KIND not in ([kind] + list((spec or {}).get("components", []))):
        bank = None  # not used by the chosen score: not shipped
    sel_scores = sel_comps[kind]
    finite = np.isfinite(sel_scores)
    threshold = youden_threshold(sel_val.labels[finite], sel_scores[finite])
    normal_sel = np.sort(sel_scores[finite & ~sel_val.labels])
    quantiles = np.quantile(normal_sel, np.linspace(0, 1, 501)).round(6).tolist()
    map_reference, lead_reference = _map_references(net, cfg, sel_val, kind, spec, bank)
    # Findings and the heat band's threshold, on the same selection normals (model/findings.py).
    from model.calibrate_findings import calibrate
    from model.infer import Detector

    findings_det = Detector(net, cfg, {"score_kind": kind, "score_ensemble": spec,
                                       "calibration": {"lead_reference": lead_reference}}, "cpu", bank=bank)
    findings_calibration = calibrate(
        findings_det, [r for r, abnormal in zip(sel_val.records, sel_val.labels) if not abnormal])

    report = detection_metrics(rep_val.labels, rep_comps[kind], [m.classes for m in rep_val.meta], threshold)
    all_labels = np.r_[sel_val.labels, rep_val.labels]
    all_scores = np.r_[sel_scores, rep_comps[kind]]
    fold9 = detection_metrics(all_labels, all_scores,
                              [m.classes for m in sel_val.meta + rep_val.meta], threshold)

    export_dir.mkdir(parents=True, exist_ok=True)
    weights_path = export_dir / "weights.pt"
    half_state = {k: v.half() if v.is_floating_point() else v for k, v in net.state_dict().items()}
    blob_out: dict[str, Any] = {"config": cfg.to_dict(), "state_dict": half_state,
                                "meta": {"score_kind": kind}}
    if bank is not None:
        blob_out["beat_bank"] = bank.state()
    torch.save(blob_out, weights_path)
    sha = sha256_of(weights_path)
    history_path = Path(args.out) / "last.pt"
    history = []
    if history_path.is_file():
        history = torch.load(history_path, map_location="cpu", weights_only=False).get("history", [])
    card = {
        "name": "ecg-cross-restoration",
        "version": f"{dt.date.today().isoformat()}-{sha[:8]}",
        "weights_sha256": sha,
        "weights_bytes": weights_path.stat().st_size,
        "parameters": int(sum(p.numel() for p in net.parameters())),
        "intended_use": INTENDED_USE,
        "limits": LIMITS,
        "method": "Multi-scale cross-restoration (Jiang et al., MICCAI 2023) with a patient "
                  "age/sex head (2024 extension); own implementation, see model/network.py"
                  + ("; the record score also weighs the normal-beat bank distance "
                     "(model/beat_bank.py), as chosen on the selection half" if bank is not None else ""),
        "training_data": {
            "source": str(root),
            "rule": "PTB-XL 1.0.1, folds 1-8, diagnostic superclasses exactly {NORM} "
                    "(scp_codes keys with diagnostic == 1, any likelihood)",
            "n_train_ecgs": int(len(split.train)) if args.ptbxl else None,
            "rate_hz": cfg.fs,
        },
        "selection": {
            "data": "PTB-XL fold 9, patient-disjoint half 0 (sha256(seed:patient_id) low bit)",
            "n": int(len(sel_val.labels)),
            "chosen": "checkpoint with the best selection AUROC over score kinds; then the "
                      "score kind, the Youden threshold and the percentile calibration",
            "score_kind_auroc": {k: round(v, 4) for k, v in sel_auc.items()},
        },
        "score_kind": kind,
        "score_ensemble": spec,
        "threshold": threshold,
        "calibration": {
            "data": "normal ECGs of the selection half",
            "n": int(len(normal_sel)),
            "normal_score_quantiles": quantiles,
            "map_reference": map_reference,
            "lead_reference": lead_reference,
            "normal_score_summary": {
                "median": float(np.median(normal_sel)), "p90": float(np.quantile(normal_sel, 0.9)),
                "p95": float(np.quantile(normal_sel, 0.95)), "p99": float(np.quantile(normal_sel, 0.99)),
            },
        },
        "findings_calibration": {**findings_calibration,
                                 "command": f"python -m model.calibrate_findings --ptbxl {root} --model {export_dir}"},
        "beat_bank": None if bank is None else {
            "what": "12-lead median beats (mV) of the training normals; distance = 1 - mean "
                    "cosine similarity to the k most similar (model/beat_bank.py)",
            "n_beats": int(len(bank.vectors)), "band_hz": [cfg.bank_low_hz, cfg.bank_high_hz],
            "window_s": [-cfg.bank_before, cfg.bank_after], "components": int(bank.basis.shape[0]),
            "k": int(bank.k),
        },
        "validation_report_half": report,
        "validation_report_half_parts": {
            "note": "what each part alone reaches on the report half (each chosen on the selection half)",
            "restoration_network_only": {
                "score_kind": rest_kind, "score_ensemble": rest_spec,
                "selection_auroc": round(rest_sel, 4),
                "report_auroc": round(_auroc_finite(rep_val.labels, rest_scores["report"]), 4),
            },
            **({BANK_KIND + "_only": {
                "selection_auroc": round(sel_auc[BANK_KIND], 4),
                "report_auroc": round(_auroc_finite(rep_val.labels, rep_comps[BANK_KIND]), 4),
            }} if BANK_KIND in rep_comps else {}),
        },
        "validation_fold9_all": {**fold9, "note": "includes the selection half: optimistic"},
        "training": {
            "command": training_command(cfg, args, _eval_every(history)),
            "export_command": f"python -m model.card --run {args.out} {_source_args(args)} "
                              f"--out {export_dir}",
            "seed": cfg.seed,
            "epochs": cfg.epochs,
            "selected_epoch": blob.get("meta", {}).get("epoch"),
            "config": cfg.to_dict(),
            "history": history,
            "torch": torch.__version__,
            "machine": platform.platform(),
        },
    }
    (export_dir / "model_card.json").write_text(json.dumps(card, indent=1), encoding="utf-8")
    log.info("exported %s (%d bytes), report-half AUROC %.4f", weights_path, card["weights_bytes"],
             report["auroc"])
    return card


def main(argv: list[str] | None = None) -> int:
    """``python -m model.card --run RUN --ptbxl ROOT --out DIR``: export RUN/best.pt."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = argparse.ArgumentParser(prog="python -m model.card", description=main.__doc__)
    parser.add_argument("--run", required=True, help="training run folder (best.pt, last.pt)")
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--ptbxl", help="PTB-XL folder the run was trained on")
    src.add_argument("--folder", help="folder of normal ECGs the run was trained on")
    parser.add_argument("--val-ptbxl", help="with --folder: PTB-XL folder whose fold 9 selects")
    parser.add_argument("--max-train", type=int, default=0)
    parser.add_argument("--out", required=True, help="where weights.pt + model_card.json go")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    if args.folder and not args.val_ptbxl:
        parser.error("--folder needs --val-ptbxl: the selection and report halves come from its fold 9")
    if args.threads:
        torch.set_num_threads(args.threads)
    ns = argparse.Namespace(ptbxl=args.ptbxl, folder=args.folder, val_ptbxl=args.val_ptbxl,
                            out=args.run, max_train=args.max_train)
    card = export_bundle(Path(args.run) / "best.pt", Path(args.out), ns)
    print(json.dumps({"score_kind": card["score_kind"], "report_half": card["validation_report_half"],
                      "parts": card["validation_report_half_parts"]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
