"""How the local-event hinge parts (model/local_events.py) were chosen, on the selection half only.

Scores every fold-9 *selection*-half ECG and each of its normal ECGs with the four synthetic
insertions of model/localization_benchmark.py, with the bundled model. Then, for the card's
ensemble without hinges and with each hinge form (percentile of the normals where a hinge
starts, weight per SD beyond it), it prints as JSON:

- the AUROC of 10 x 2-fold cross-validation inside the selection half (ensemble and hinges
  fitted on one fold's normals, measured on the other fold), and its paired difference from
  the ensemble without hinges;
- how often a changed ECG scores above its own unchanged original, per insertion kind
  (hinges fitted on all selection normals).

The report half is never read. About 3 minutes on 2 cores::

    python benchmarks/local_events_cv.py [--ptbxl ../shared/data/ptbxl] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecgviewer import io  # noqa: E402
from model.data import ptbxl_split  # noqa: E402
from model.fold9 import ensemble_column  # noqa: E402
from model.infer import Detector  # noqa: E402
from model.local_events import EVENT_KINDS  # noqa: E402
from model.localization_benchmark import INSERTIONS, as_record, insert  # noqa: E402
from model.metrics import auroc  # noqa: E402
from model.score_kinds import fit_ensemble, fit_hinges  # noqa: E402

SEED = 20231008
FORMS = [(p, w) for p in (50.0, 75.0, 90.0, 95.0) for w in (0.25, 0.5, 1.0)]


def _components(det: Detector, records: list[Any]) -> list[dict[str, float] | None]:
    out: list[dict[str, float] | None] = []
    for res in det.score_many(records):
        out.append(dict(res.components) if hasattr(res, "components") else None)
    return out


def collect(det: Detector, root: str, limit: int) -> tuple[dict, np.ndarray, dict]:
    """Components of the selection half (by ECG) and of its normals' insertions (by kind)."""
    split = ptbxl_split(root, det.cfg)
    items = list(split.selection)[: limit or None]
    comps: dict[int, dict[str, float]] = {}
    abnormal = {}
    for a in range(0, len(items), 64):
        chunk = items[a : a + 64]
        for item, c in zip(chunk, _components(det, [io.read(it.path) for it in chunk])):
            if c is not None:
                comps[item.ecg_id] = c
                abnormal[item.ecg_id] = item.abnormal
    twins: dict[str, dict[int, dict[str, float]]] = {k: {} for k in INSERTIONS}
    for item in items:
        if item.abnormal or item.ecg_id not in comps:
            continue
        rec = io.read(item.path)
        made = []
        for kind in INSERTIONS:
            try:
                made.append((kind, as_record(rec, insert(rec, kind, SEED, item.ecg_id))))
            except ValueError:
                continue
        for (kind, _r), c in zip(made, _components(det, [r for _k, r in made])):
            if c is not None:
                twins[kind][item.ecg_id] = c
    ids = sorted(comps)
    return {i: comps[i] for i in ids}, np.array([abnormal[i] for i in ids]), twins


def _columns(rows: list[dict[str, float]], names: list[str]) -> dict[str, np.ndarray]:
    return {n: np.array([r.get(n, np.nan) for r in rows], np.float64) for n in names}


def _spec(
    rows: list[dict[str, float]],
    labels: np.ndarray,
    parts: list[str],
    form: tuple[float, float] | None,
) -> dict[str, Any]:
    spec = fit_ensemble(_columns(rows, parts), ~labels)
    if form is not None:
        percentile, weight = form
        spec["hinge"] = fit_hinges(_columns(rows, list(EVENT_KINDS)), ~labels, weight, percentile)
    return spec


def evaluate(
    comps: dict[int, dict[str, float]],
    labels: np.ndarray,
    twins: dict[str, dict[int, dict[str, float]]],
    parts: list[str],
    form: tuple[float, float] | None,
) -> dict[str, Any]:
    rows = list(comps.values())
    names = parts + list(EVENT_KINDS)
    rng = np.random.default_rng(0)
    aucs = []
    for _ in range(10):
        order = rng.permutation(len(rows))
        folds = (order[: len(rows) // 2], order[len(rows) // 2 :])
        for a, b in ((0, 1), (1, 0)):
            fit_rows = [rows[i] for i in folds[a]]
            spec = _spec(fit_rows, labels[folds[a]], parts, form)
            col = ensemble_column(_columns([rows[i] for i in folds[b]], names), spec)
            aucs.append(auroc(labels[folds[b]], col))
    spec = _spec(rows, labels, parts, form)
    pairs = {}
    for kind, by_id in twins.items():
        ids = sorted(by_id)
        changed = ensemble_column(_columns([by_id[i] for i in ids], names), spec)
        original = ensemble_column(_columns([comps[i] for i in ids], names), spec)
        pairs[kind] = round(float(np.mean(changed > original)), 4)
    return {"cv_aurocs": aucs, "modified_above_its_original": pairs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ptbxl", default=str(Path(__file__).parents[2] / "shared/data/ptbxl"))
    parser.add_argument("--limit", type=int, default=0, help="first N selection ECGs only")
    args = parser.parse_args(argv)
    det = Detector.load(device="cpu")
    parts = list((det.ensemble or {}).get("components", []))
    if not parts:
        raise SystemExit("the bundled card's score is not an ensemble")
    comps, labels, twins = collect(det, args.ptbxl, args.limit)
    base = evaluate(comps, labels, twins, parts, None)
    out: dict[str, Any] = {
        "data": "PTB-XL fold 9 selection half and its normals' insertions (report half unread)",
        "n": len(labels),
        "n_abnormal": int(labels.sum()),
        "ensemble_parts": parts,
        "without_hinges": {
            "cv_auroc": round(float(np.mean(base["cv_aurocs"])), 4),
            "modified_above_its_original": base["modified_above_its_original"],
        },
        "hinge_forms": [],
    }
    for form in FORMS:
        res = evaluate(comps, labels, twins, parts, form)
        diff = np.asarray(res["cv_aurocs"]) - np.asarray(base["cv_aurocs"])
        out["hinge_forms"].append(
            {
                "percentile": form[0],
                "weight": form[1],
                "cv_auroc": round(float(np.mean(res["cv_aurocs"])), 4),
                "paired_difference": round(float(diff.mean()), 4),
                "paired_difference_sd": round(float(diff.std()), 4),
                "modified_above_its_original": res["modified_above_its_original"],
            }
        )
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
