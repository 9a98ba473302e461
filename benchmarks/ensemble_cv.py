"""Does offering a score kind to the ensemble help? Cross-validated on the selection half only.

    python benchmarks/ensemble_cv.py --components runs/e2/components_weights_selection.npz \
        [--ptbxl ../shared/data/ptbxl] [--kinds measure_amp] [--repeats 5] [--max-parts N]

The model card chooses its ensemble on the whole fold-9 selection half (forward selection,
model/fold9.py), so that half's AUROC of the chosen ensemble is optimistic, and the report half
must never be used to choose. This splits the selection half in two at random (``--repeats``
times, both ways round): the ensemble is chosen on one part, among every score kind with and
without ``--kinds``, and measured on the other. Printed as JSON: the AUROC of each way (mean
and SD over the 2 x repeats measurements) and the paired gain. ``--components``: the
selection-half components that ``python -m model.card`` caches in its run folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--components", required=True)
    p.add_argument("--ptbxl", default="../shared/data/ptbxl")
    p.add_argument("--kinds", nargs="+", default=["measure_amp"])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--max-parts", type=int, default=0, help="most parts of an ensemble (0: the card's)"
    )
    p.add_argument(
        "--max-parts-without",
        type=int,
        default=0,
        help="most parts of the ensemble without --kinds (0: as --max-parts)",
    )
    args = p.parse_args(argv)
    import numpy as np

    from model.config import ModelConfig
    from model.data import ptbxl_split
    from model.fold9 import MAX_PARTS, auroc_finite, ensemble_column, greedy_ensemble
    from model.score_kinds import SCORE_KINDS

    blob = np.load(args.components, allow_pickle=False)
    comps = {k: blob[k] for k in blob.files if k != "key"}
    labels = np.array([item.abnormal for item in ptbxl_split(args.ptbxl, ModelConfig()).selection])
    n = len(next(iter(comps.values())))
    if len(labels) != n:
        print(json.dumps({"error": f"{n} component rows for {len(labels)} selection records"}))
        return 1
    missing = [k for k in args.kinds if k not in comps]
    if missing:
        print(json.dumps({"error": f"{args.components} lacks {missing}: export again"}))
        return 1
    max_parts = {"with": args.max_parts or MAX_PARTS}
    max_parts["without"] = args.max_parts_without or max_parts["with"]
    with_kinds = [k for k in SCORE_KINDS if k in comps]
    without = [k for k in with_kinds if k not in args.kinds]
    rng = np.random.default_rng(args.seed)
    results: dict[str, list[float]] = {"without": [], "with": []}
    picked: dict[str, int] = {}
    for _ in range(args.repeats):
        order = rng.permutation(n)
        folds = (order[: n // 2], order[n // 2 :])
        for choose, measure in (folds, folds[::-1]):
            for name, candidates in (("without", without), ("with", with_kinds)):
                chosen = greedy_ensemble(
                    {k: v[choose] for k, v in comps.items()},
                    labels[choose],
                    candidates,
                    max_parts[name],
                )
                if chosen is None:  # one kind alone was best
                    single = max(
                        candidates, key=lambda k: auroc_finite(labels[choose], comps[k][choose])
                    )
                    scores = comps[single][measure]
                    parts = [single]
                else:
                    spec = chosen[0]
                    scores = ensemble_column({k: v[measure] for k, v in comps.items()}, spec)
                    parts = list(spec["components"])
                results[name].append(auroc_finite(labels[measure], scores))
                if name == "with":
                    for k in parts:
                        picked[k] = picked.get(k, 0) + 1
    gain = np.array(results["with"]) - np.array(results["without"])
    out: dict[str, Any] = {
        "data": "PTB-XL fold 9 selection half only",
        "n": int(n),
        "n_abnormal": int(labels.sum()),
        "protocol": f"{args.repeats} x random 2-fold: ensemble chosen on one fold, "
        "AUROC measured on the other",
        "kinds_offered": args.kinds,
        "max_parts": max_parts,
        **{
            f"auroc_{name}": {
                "mean": round(float(np.mean(v)), 4),
                "sd": round(float(np.std(v)), 4),
            }
            for name, v in results.items()
        },
        "paired_gain": {"mean": round(float(gain.mean()), 4), "sd": round(float(gain.std()), 4)},
        "times_each_kind_was_picked": dict(sorted(picked.items(), key=lambda kv: -kv[1])),
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
