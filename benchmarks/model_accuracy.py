"""Accuracy of the bundled model on PTB-XL fold 9, printed as JSON.

    python benchmarks/model_accuracy.py [--ptbxl ../shared/data/ptbxl] [--limit N] [--threads N]

Detection (model.evaluate): AUROC, AUPRC, sensitivity/specificity at the model card's threshold
and AUROC per superclass, on the fold-9 *selection* half (used for every choice: optimistic)
and the *report* half (never used to choose: the figure to quote). Localization: the synthetic
benchmark of model.localization_benchmark (inserted premature wide beats, ST shifts,
T inversions and EMG bursts in report-half normals; Dice threshold from the selection half).
Overlay (model.overlay_benchmark, report half): share of normal ECGs with any finding, share of
abnormal ECGs above the 95th percentile with a finding, infarct-territory lead AUROC per
territory, and the expected-normal trace's RMS difference from the 0.5-40 Hz filtered input.
Targets: detection AUROC >= 0.86 on fold 9 (issue 3); overlay targets of issue 12.
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ptbxl", default=str(REPO.parent / "shared" / "data" / "ptbxl"))
    p.add_argument("--weights", default=str(WEIGHTS))
    p.add_argument("--limit", type=int, default=0, help="at most N records per group (quick look)")
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
    import torch

    from model.evaluate import evaluate_ptbxl, score_kind_status
    from model.infer import Detector
    from model.localization_benchmark import run
    from model.overlay_benchmark import run as run_overlay

    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    det = Detector.load(args.weights, device="auto")
    out["model"] = {**det.model_info, "score_kind": score_kind_status(det), "device": det.device,
                    "torch_threads": torch.get_num_threads()}
    out["detection_fold9"] = evaluate_ptbxl(det, args.ptbxl, [9], limit=args.limit)
    if not args.skip_synthetic:
        out["synthetic_localization"] = run(det, args.ptbxl, limit=args.limit)
    if not args.skip_overlay:
        out["overlay_report_half"] = run_overlay(det, args.ptbxl, "report", limit=args.limit)
    out["limit"] = args.limit or None
    out["target"] = {"fold9_detection_auroc": 0.86, "normal_share_with_findings": "<= 0.10",
                     "abnormal_above_p95_with_finding": ">= 0.80", "territory_lead_auroc": ">= 0.75",
                     "expected_trace_rms_mv": "<= 0.08"}
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
