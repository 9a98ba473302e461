"""Calibrate findings and the heat band for the bundled weights, on the selection half only.

    python -m model.calibrate_findings --ptbxl ../shared/data/ptbxl [--model resources/model]

Scores the normal ECGs of the PTB-XL fold-9 *selection* half with the weights in ``--model``
and writes ``findings_calibration`` into its model card: per-lead means and spreads of each
score part, the whole-lead and beat thresholds, per-lead quantiles (a finding's percentile)
and the heat band's map threshold (see model/findings.py). The weights file is not touched,
so its sha256 stays valid. ``python -m model.card`` runs the same step when it exports new
weights; run this after replacing weights by hand.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ecgviewer.errors import ECGError
from model import findings as findings_mod

log = logging.getLogger(__name__)


def calibrate(det: Any, normals: list[Any]) -> dict[str, Any]:
    """``findings_calibration`` from scoring ``normals`` (Records) with ``det``."""
    det.findings_cal = None  # raw evidence, not findings of an older calibration
    results = [r for r in det.score_many(normals, batch=96) if not isinstance(r, ECGError)]
    cal = findings_mod.fit_calibration([r.evidence for r in results], tuple(det.cfg.leads))
    # Heat band: the map value only NORMAL_SHARE of normal ECGs exceed anywhere.
    maxima = np.array([float(np.nanmax(r.anomaly_map)) for r in results])
    cal["map_threshold"] = float(np.quantile(maxima, 1 - findings_mod.NORMAL_SHARE))
    cal["data"] = "normal ECGs of the PTB-XL fold-9 selection half"
    cal["command"] = "python -m model.calibrate_findings --ptbxl PTBXL --model DIR"
    return cal


def main(argv: list[str] | None = None) -> int:
    """Write ``findings_calibration`` into ``--model``/model_card.json."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = argparse.ArgumentParser(
        prog="python -m model.calibrate_findings", description=main.__doc__
    )
    parser.add_argument(
        "--ptbxl", required=True, help="PTB-XL folder (fold 9 selection half is used)"
    )
    parser.add_argument(
        "--model",
        default=None,
        help="folder with weights.pt + model_card.json (default: the bundled resources/model)",
    )
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    import torch

    from ecgviewer.paths import resource
    from model.data import ptbxl_split
    from model.infer import DEFAULT_WEIGHTS, Detector
    from model.validation import load_validation

    if args.threads:
        torch.set_num_threads(args.threads)
    weights = Path(args.model) / "weights.pt" if args.model else resource(DEFAULT_WEIGHTS)
    card_path = weights.with_name("model_card.json")
    det = Detector.load(weights, device="cpu")
    split = ptbxl_split(args.ptbxl, det.cfg)
    val = load_validation([item for item in split.selection if item.normal])
    if not val.records:
        print(json.dumps({"error": f"no selection-half normal ECGs under {args.ptbxl}"}))
        return 1
    cal = calibrate(det, val.records)
    cal["command"] = f"python -m model.calibrate_findings --ptbxl {args.ptbxl}" + (
        f" --model {args.model}" if args.model else ""
    )
    card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.is_file() else {}
    card["findings_calibration"] = cal
    card_path.write_text(json.dumps(card, indent=1), encoding="utf-8")
    summary = {k: cal[k] for k in ("n_normals", "normal_share_with_findings", "map_threshold")}
    summary["lead_threshold"] = cal["lead"]["threshold"]
    summary["beat_threshold"] = cal["beat"]["threshold"]
    print(json.dumps({"card": str(card_path), **summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
