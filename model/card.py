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
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from model.config import ModelConfig
from model.data import ABNORMAL_CLASSES, ptbxl_split
from model.infer import SCORE_KINDS, ensemble_score, fit_ensemble, sha256_of
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


def _greedy_ensemble(comps: dict[str, np.ndarray], labels: np.ndarray, single_auc: dict[str, float],
                     max_parts: int = 3) -> tuple[dict[str, Any], float] | None:
    """Forward selection of up to ``max_parts`` components whose summed z-scores rank the
    selection half best (z against its normals). Returns (spec, selection AUROC)."""
    candidates = [k for k in single_auc if k in comps]
    chosen: list[str] = []
    best_auc = -1.0
    normal = ~labels
    while len(chosen) < max_parts:
        trial_best = None
        for name in candidates:
            if name in chosen:
                continue
            spec = fit_ensemble({k: comps[k] for k in chosen + [name]}, normal)
            values = np.array([
                ensemble_score({k: comps[k][i] for k in spec["components"]}, spec)
                for i in range(len(labels))
            ])
            ok = np.isfinite(values)
            auc = auroc(labels[ok], values[ok])
            if trial_best is None or auc > trial_best[1]:
                trial_best = (name, auc)
        if trial_best is None or trial_best[1] <= best_auc + 1e-4:
            break
        chosen.append(trial_best[0])
        best_auc = trial_best[1]
    if len(chosen) < 2:
        return None
    return fit_ensemble({k: comps[k] for k in chosen}, normal), best_auc


def _map_references(net: Any, cfg: ModelConfig, val: Any, kind: str, spec: dict[str, Any] | None
                    ) -> tuple[float, dict[str, float]]:
    """Per-lead typical map level and the map's display reference, from the selection normals.

    Lead reference: median over normal ECGs of each lead's mean map. Map reference: median over
    normal ECGs of the 99th percentile of their lead-calibrated map (the viewer's full colour).
    """
    from model.infer import Detector

    normals = [r for r, abnormal in zip(val.records, val.labels) if not abnormal]
    det = Detector(net, cfg, {"score_kind": kind, "score_ensemble": spec}, "cpu")
    results = [r for r in det.score_many(normals, batch=96) if not isinstance(r, Exception)]
    lead_reference = {
        name: float(np.median([r.lead_scores[name] for r in results])) for name in cfg.leads
    }
    det = Detector(net, cfg, {"score_kind": kind, "score_ensemble": spec,
                              "calibration": {"lead_reference": lead_reference}}, "cpu")
    results = [r for r in det.score_many(normals, batch=96) if not isinstance(r, Exception)]
    map_reference = float(np.median([np.percentile(r.anomaly_map, 99) for r in results]))
    return map_reference, lead_reference


def export_bundle(best_pt: Path, export_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Evaluate ``best_pt`` on fold 9 (selection/report halves) and write weights + card."""
    from model.train import load_validation, score_components

    blob = torch.load(best_pt, map_location="cpu", weights_only=True)
    cfg = ModelConfig.from_dict(blob["config"])
    net = CrossRestorationNet(cfg)
    net.load_state_dict(blob["state_dict"])
    net.eval()
    root = args.ptbxl or args.val_ptbxl
    split = ptbxl_split(root, cfg)
    halves = {}
    for name, items in (("selection", split.selection), ("report", split.report)):
        val = load_validation(items)
        comps = score_components(net, cfg, val, "cpu")
        halves[name] = (val, comps)
    sel_val, sel_comps = halves["selection"]
    sel_auc = {k: auroc(sel_val.labels[np.isfinite(v)], v[np.isfinite(v)])
               for k, v in sel_comps.items() if k in SCORE_KINDS}
    kind = max(sel_auc, key=lambda k: sel_auc[k])
    ensemble = _greedy_ensemble(sel_comps, sel_val.labels, sel_auc)
    if ensemble is not None and ensemble[1] > sel_auc[kind]:
        spec, ens_auc = ensemble
        for comps in (sel_comps, halves["report"][1]):
            comps["ensemble"] = np.array([
                ensemble_score({k: comps[k][i] for k in spec["components"]}, spec)
                for i in range(len(comps[spec["components"][0]]))
            ])
        sel_auc["ensemble"] = ens_auc
        kind = "ensemble"
    else:
        spec = None
    sel_scores = sel_comps[kind]
    finite = np.isfinite(sel_scores)
    threshold = youden_threshold(sel_val.labels[finite], sel_scores[finite])
    normal_sel = np.sort(sel_scores[finite & ~sel_val.labels])
    quantiles = np.quantile(normal_sel, np.linspace(0, 1, 501)).round(6).tolist()
    map_reference, lead_reference = _map_references(net, cfg, sel_val, kind, spec)

    rep_val, rep_comps = halves["report"]
    report = detection_metrics(rep_val.labels, rep_comps[kind], [m.classes for m in rep_val.meta], threshold)
    all_labels = np.r_[sel_val.labels, rep_val.labels]
    all_scores = np.r_[sel_scores, rep_comps[kind]]
    fold9 = detection_metrics(all_labels, all_scores,
                              [m.classes for m in sel_val.meta + rep_val.meta], threshold)

    export_dir.mkdir(parents=True, exist_ok=True)
    weights_path = export_dir / "weights.pt"
    half_state = {k: v.half() if v.is_floating_point() else v for k, v in net.state_dict().items()}
    torch.save({"config": cfg.to_dict(), "state_dict": half_state,
                "meta": {"score_kind": kind}}, weights_path)
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
                  "age/sex head (2024 extension); own implementation, see model/network.py",
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
        "validation_report_half": report,
        "validation_fold9_all": {**fold9, "note": "includes the selection half: optimistic"},
        "training": {
            "command": " ".join(["python -m model.train"] + sys.argv[1:]),
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
