"""Accuracy of the bundled model on PTB-XL fold 9, printed as JSON.

    python benchmarks/model_accuracy.py [--ptbxl ../shared/data/ptbxl] [--limit N] [--threads N]

Every record of fold 9 is scored once with every score component (model/fold9.py does the
rest). ``report_half``: the shipped score, threshold and calibration (all chosen on the
*selection* half, as in the model card) measured on the *report* half, never used to choose:
AUROC, AUPRC, per superclass, sensitivity and the specificity reached at the card's threshold
(90 % specificity on the selection normals), the share of report-half normals above the
selection half's 95th percentile, and each part alone (the restoration network's own best
score as the card names it, the normal-beat bank, the measurement ranges). ``swapped_halves``: score, ensemble and
threshold chosen afresh on the report half and measured on the selection half. Localization:
the synthetic benchmark of model.localization_benchmark. Overlay (model.overlay_benchmark,
report half): share of normal ECGs with any finding, share of abnormal ECGs above the 95th
percentile with a finding, infarct-territory lead AUROC per territory, and the expected-normal
trace's RMS difference from the 0.5-40 Hz filtered input. Targets: issues 11 and 12.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REPO = Path(__file__).resolve().parent.parent
WEIGHTS = REPO / "resources" / "model" / "weights.pt"
TARGETS = {
    "report_auroc": 0.90,
    "report_network_only_auroc": 0.87,
    "report_sensitivity": 0.78,
    "report_normals_above_p95": [0.03, 0.07],
}


def _half(det: Any, items: list[Any], name: str) -> Any:
    import numpy as np

    from ecgviewer.errors import ECGError
    from model.evaluate import _read_one, iter_scored
    from model.fold9 import Half

    rows: list[dict[str, float]] = []
    for _item, _rec, res in iter_scored(det, items, lambda it: _read_one(it.path), desc=name):
        rows.append({} if isinstance(res, ECGError) else res.components)
    keys = sorted({k for r in rows for k in r})
    comps = {k: np.array([r.get(k, np.nan) for r in rows], float) for k in keys}
    return Half(comps, np.array([it.abnormal for it in items], bool), [it.classes for it in items])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ptbxl", default=str(REPO.parent / "shared" / "data" / "ptbxl"))
    p.add_argument("--weights", default=str(WEIGHTS))
    p.add_argument("--limit", type=int, default=0, help="at most N records per half (quick look)")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--skip-synthetic", action="store_true")
    p.add_argument("--skip-overlay", action="store_true")
    args = p.parse_args(argv)
    out: dict[str, Any] = {}
    if not Path(args.weights).is_file():
        print(json.dumps({"error": f"no weights at {args.weights}: train and export them first"}))
        return 1
    if not (Path(args.ptbxl) / "ptbxl_database.csv").is_file():
        print(json.dumps({"error": f"no PTB-XL layout at {args.ptbxl}"}))
        return 1
    import numpy as np
    import torch

    from model.data import ptbxl_split
    from model.evaluate import score_kind_status
    from model.fold9 import figures, measure
    from model.infer import BANK_KIND, MEASURE_KINDS, Detector
    from model.localization_benchmark import run
    from model.overlay_benchmark import run as run_overlay

    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    det = Detector.load(args.weights, device="auto")
    out["model"] = {
        **det.model_info,
        "score_kind": score_kind_status(det),
        "device": det.device,
        "torch_threads": torch.get_num_threads(),
    }
    det.all_components = True  # every component, for each part alone and the swapped choice
    split = ptbxl_split(args.ptbxl, det.cfg)
    limit = args.limit or None
    sel = _half(det, split.selection[:limit], "selection")
    rep = _half(det, split.report[:limit], "report")
    card = det.card
    rest = card.get("validation_report_half_parts", {}).get("restoration_network_only", {})
    parts = {}
    if rest.get("score_kind"):
        parts["restoration_network_only"] = (rest["score_kind"], rest.get("score_ensemble"))
    for extra in (BANK_KIND, *MEASURE_KINDS):
        if extra in rep.comps:
            parts[extra + "_only"] = (extra, None)
    shipped = measure(sel, rep, det.score_kind, det.ensemble, parts)
    if isinstance(card.get("threshold"), int | float):  # as the viewer uses it
        from model.fold9 import score_column
        from model.metrics import sens_spec

        scores = score_column(rep.comps, det.score_kind, det.ensemble)
        ok = np.isfinite(scores)
        sens, spec = sens_spec(rep.labels[ok], scores[ok], float(card["threshold"]))
        shipped["at_card_threshold"] = {
            "threshold": card["threshold"],
            "rule": card.get("threshold_rule", "Youden"),
            "sensitivity": round(sens, 4),
            "specificity": round(spec, 4),
        }
    out["report_half"] = shipped
    swapped = figures(rep, sel)
    swapped.pop("score_ensemble")
    swapped.pop("restoration_network_only")
    out["swapped_halves"] = {
        "note": "chosen on the report half, measured on the selection half",
        **swapped,
    }
    net_only = shipped["parts_alone_auroc"].get("restoration_network_only", {}).get("measured_half")
    out["targets"] = {
        **TARGETS,
        "met": {
            "report_auroc": shipped["auroc"] >= TARGETS["report_auroc"],
            "report_network_only_auroc": net_only is not None
            and net_only >= TARGETS["report_network_only_auroc"],
            "report_sensitivity": shipped["sensitivity"] >= TARGETS["report_sensitivity"],
            "report_normals_above_p95": TARGETS["report_normals_above_p95"][0]
            <= shipped["normals_above_p95_of_choosing_half"]
            <= TARGETS["report_normals_above_p95"][1],
        },
    }
    if not args.skip_synthetic:
        det.all_components = False
        out["synthetic_localization"] = run(det, args.ptbxl, limit=args.limit)
    if not args.skip_overlay:
        out["overlay_report_half"] = run_overlay(det, args.ptbxl, "report", limit=args.limit)
    out["limit"] = args.limit or None
    out["overlay_targets"] = {
        "normal_share_with_findings": "<= 0.10",
        "abnormal_above_p95_with_finding": ">= 0.80",
        "territory_lead_auroc": ">= 0.75",
        "expected_trace_rms_mv": "<= 0.08",
    }
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
