"""Evaluate a trained model: detection and localization figures as JSON.

    python -m model.evaluate --ptbxl ../shared/data/ptbxl --folds 9
    python -m model.evaluate --folder DIR --labels labels.csv
    python -m model.evaluate --benchmark DIR        # benchmark_data.npy + benchmark_label.npy
    python -m model.evaluate --ptbxl ../shared/data/ptbxl --synthetic-localization

Detection: AUROC, AUPRC, sensitivity/specificity at the threshold stored in the model card
(the Youden threshold chosen on the fold-9 *selection* half by ``model.card``), and AUROC per
diagnostic superclass (records of that class vs. normals). With fold 9 the selection half (used
for every choice: optimistic) and the report half (never used to choose) are given separately.

Localization (point labels): AUROC of the per-sample anomaly map against the point labels,
pooled over records, leads and samples (no parameter is chosen, so all records count). Dice
needs a map threshold; it is chosen honestly: records are split in two by a seeded
permutation, the threshold maximising pooled Dice on the *calibration* half is applied to the
*evaluation* half, whose pooled Dice (and mean per-record Dice over records with a labelled
sample) is reported with the threshold. For the synthetic benchmark the calibration set is the
same insertions made on the fold-9 selection-half normals (see
:mod:`model.localization_benchmark`). Maps at input rates above the model's are evaluated every
``round(fs_in / model fs)`` samples: they carry nothing finer than the model rate.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ecgviewer.errors import ECGError
from ecgviewer.record import STANDARD_LEADS, Record
from model.data import ABNORMAL_CLASSES, Labelled, ptbxl_split, read_ptbxl, read_single

# Shared with model/localization_benchmark.py (which evaluate's main runs): in model/eval_common.py.
from model.eval_common import (  # noqa: F401 - re-exported for callers of model.evaluate
    RECORDS_PER_CHUNK,
    LocalizationPool,
    _finite,
    best_dice_threshold,
    dice_at,
    iter_scored,
)
from model.metrics import auprc, auroc, sens_spec, youden_threshold

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------- detection
def detection_report(
    labels: np.ndarray,
    scores: np.ndarray,
    classes: Sequence[frozenset[str]] | None,
    threshold: float | None,
) -> dict[str, Any]:
    """Detection figures; records with a NaN score (unscorable) are counted and left out."""
    labels = np.asarray(labels, bool)
    scores = np.asarray(scores, np.float64)
    ok = np.isfinite(scores)
    out: dict[str, Any] = {
        "n_normal": int((~labels[ok]).sum()),
        "n_abnormal": int(labels[ok].sum()),
        "n_unscorable": int((~ok).sum()),
    }
    lab, sc = labels[ok], scores[ok]
    out["auroc"] = _finite(auroc(lab, sc))
    out["auprc"] = _finite(auprc(lab, sc))
    if threshold is not None and len(sc):
        sens, spec = sens_spec(lab, sc, threshold)
        out["sensitivity"], out["specificity"] = _finite(sens), _finite(spec)
    if classes is not None:
        cls = [c for c, keep in zip(classes, ok) if keep]
        per = {}
        for name in ABNORMAL_CLASSES:
            member = np.array([name in c for c in cls], bool)
            use = member | ~lab
            per[name] = _finite(auroc(member[use], sc[use])) if member.any() else None
        out["per_superclass_auroc"] = per
    return out


# ---------------------------------------------------------------------------- localization
# ---------------------------------------------------------------------------- inputs
def threshold_of(det: Any) -> tuple[float | None, str]:
    t = det.card.get("threshold")
    if t is None:
        return None, "none in the model card"
    return float(t), "model card (Youden threshold chosen on the fold-9 selection half)"


def evaluate_ptbxl(
    det: Any, root: str | Path, folds: Sequence[int], batch: int = 64, limit: int = 0
) -> dict[str, Any]:
    """Detection on PTB-XL folds; fold 9 is reported as its selection and report halves."""
    groups: dict[str, list[Labelled]] = {}
    other = [f for f in folds if f != 9]
    if 9 in folds:
        split = ptbxl_split(root, det.cfg)
        groups["fold9_selection"] = split.selection
        groups["fold9_report"] = split.report
    if other:
        records = read_ptbxl(root)
        name = "folds_" + "_".join(str(f) for f in other)
        groups[name] = [r for r in records if r.fold in other and (r.normal or r.abnormal)]
    threshold, source = threshold_of(det)
    out: dict[str, Any] = {}
    scored: dict[str, tuple[np.ndarray, np.ndarray, list[frozenset[str]]]] = {}
    # Each part of an ensemble score alone (e.g. the restoration network vs. the beat bank).
    parts = list((det.ensemble or {}).get("components", [])) if det.score_kind == "ensemble" else []
    part_auroc: dict[str, dict[str, float | None]] = {}
    for name, items in groups.items():
        items = items[:limit] if limit else items
        labels, scores, classes = [], [], []
        part_values: dict[str, list[float]] = {p: [] for p in parts}
        for item, _rec, res in iter_scored(
            det, items, lambda it: _read_one(it.path), batch=batch, desc=name
        ):
            labels.append(item.abnormal)
            classes.append(item.classes)
            scores.append(np.nan if isinstance(res, ECGError) else res.score)
            for p in parts:
                part_values[p].append(
                    np.nan if isinstance(res, ECGError) else res.components.get(p, np.nan)
                )
        scored[name] = (np.asarray(labels, bool), np.asarray(scores), classes)
        lab = scored[name][0]
        part_auroc[name] = {}
        for p, values in part_values.items():
            v = np.asarray(values, float)
            ok = np.isfinite(v)
            part_auroc[name][p] = _finite(auroc(lab[ok], v[ok])) if ok.any() else None
    if threshold is None and "fold9_selection" in scored:
        lab, sc, _ = scored["fold9_selection"]
        ok = np.isfinite(sc)
        if lab[ok].any() and (~lab[ok]).any():
            threshold = youden_threshold(lab[ok], sc[ok])
            source = "Youden threshold chosen here on the fold-9 selection half (none in the card)"
    for name, (lab, sc, cls) in scored.items():
        out[name] = detection_report(lab, sc, cls, threshold)
        if parts:
            out[name]["ensemble_part_auroc"] = part_auroc[name]
        if name == "fold9_selection":
            out[name]["note"] = (
                "used for checkpoint, score kind, threshold and calibration: optimistic"
            )
    out["threshold"] = threshold
    out["threshold_source"] = source
    return out


def _read_one(path: str | Path) -> Record:
    return read_single(path, "list them one by one in the labels file")


_TRUE = {"1", "true", "yes", "abnormal", "abn", "a"}
_FALSE = {"0", "false", "no", "normal", "norm", "n"}


def read_labels(path: str | Path) -> list[tuple[str, bool, frozenset[str]]]:
    """``file,label[,classes]`` rows; label 1/0 or abnormal/normal; classes split on ; | or space."""
    rows = []
    with open(path, newline="", encoding="utf-8") as fh:
        for n, row in enumerate(csv.DictReader(fh), start=2):
            raw = (row.get("label") or "").strip().lower()
            if raw not in _TRUE | _FALSE or not row.get("file"):
                raise ECGError(
                    path, f"line {n}: need a file and a label 0/1 (normal/abnormal), got {row}"
                )
            classes = frozenset(
                c
                for c in (row.get("classes") or "").replace("|", ";").replace(" ", ";").split(";")
                if c
            )
            rows.append((row["file"].strip(), raw in _TRUE, classes))
    return rows


def evaluate_folder(
    det: Any, folder: str | Path, labels_csv: str | Path, batch: int = 64
) -> dict[str, Any]:
    """Detection on a folder of records listed in a labels CSV (paths relative to the folder)."""
    rows = read_labels(labels_csv)
    threshold, source = threshold_of(det)
    labels, scores, classes, failed = [], [], [], []
    for (_name, abnormal, cls), _rec, res in iter_scored(
        det, rows, lambda row: _read_one(Path(folder) / row[0]), batch=batch, desc="folder"
    ):
        labels.append(abnormal)
        classes.append(cls)
        if isinstance(res, ECGError):
            failed.append(str(res))
            scores.append(np.nan)
        else:
            scores.append(res.score)
    has_classes = any(classes)
    out = detection_report(
        np.asarray(labels), np.asarray(scores), classes if has_classes else None, threshold
    )
    out.update(threshold=threshold, threshold_source=source, errors=failed[:20])
    return out


def evaluate_benchmark(
    det: Any, folder: str | Path, fs: float = 500.0, batch: int = 64, seed: int = 0, limit: int = 0
) -> dict[str, Any]:
    """Point-labelled arrays (N x T x 12 data in mV and labels, leads in standard order)."""
    folder = Path(folder)
    data = np.load(folder / "benchmark_data.npy", mmap_mode="r")
    point = np.load(folder / "benchmark_label.npy", mmap_mode="r")
    if data.ndim != 3 or data.shape != point.shape or data.shape[2] != len(STANDARD_LEADS):
        raise ECGError(
            folder, f"benchmark arrays must both be N x T x 12, got {data.shape} and {point.shape}"
        )
    n = min(len(data), limit) if limit else len(data)
    calib = np.zeros(n, bool)
    calib[np.random.default_rng(seed).permutation(n)[: n // 2]] = True
    stride = max(1, int(round(fs / det.cfg.fs)))
    pool = LocalizationPool()
    rec_labels, scores = [], []

    def load(i: int) -> Record:
        return Record(
            np.ascontiguousarray(data[i].T, dtype=np.float32),
            fs,
            list(STANDARD_LEADS),
            source=f"{folder / 'benchmark_data.npy'}[{i}]",
            format="npy",
        )

    for i, _rec, res in iter_scored(det, list(range(n)), load, batch=batch, desc="benchmark"):
        lab = np.asarray(point[i]).T > 0
        rec_labels.append(bool(lab.any()))
        if isinstance(res, ECGError):
            scores.append(np.nan)
            continue
        scores.append(res.score)
        pool.add(res.anomaly_map, lab, bool(calib[i]), stride)
    threshold, source = threshold_of(det)
    return {
        "detection": detection_report(np.asarray(rec_labels), np.asarray(scores), None, threshold),
        "localization": {
            **pool.report(),
            "evaluated_every_n_samples": stride,
            "split": f"records permuted with seed {seed}: first half calibration",
        },
        "threshold_source": source,
    }


# ---------------------------------------------------------------------------- CLI
def load_detector(weights: str | None, device: str) -> tuple[Any, str]:
    from model.infer import Detector

    det = Detector.load(weights, device=device)
    return det, str(weights or "bundled resources/model/weights.pt")


def score_kind_status(det: Any) -> dict[str, Any]:
    """Whether the card's score kind is one this code computes (else scores fall back silently
    to another kind, and the card's threshold and percentiles no longer apply)."""
    from ecgviewer.signal.synthetic import synthetic_ecg

    syn = synthetic_ecg(fs=det.cfg.fs, duration=10.0, seed=0)
    res = det.score(Record(syn.signal, det.cfg.fs, list(STANDARD_LEADS), source="probe"))
    ok = det.score_kind in res.components
    out: dict[str, Any] = {"score_kind": det.score_kind, "computed_by_this_code": ok}
    if not ok:
        out["warning"] = (
            "the model card's score kind is not among the Detector's components: "
            "scores fall back to another kind, so the card's threshold does not apply"
        )
        log.warning(out["warning"])
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ecgad evaluate", description="Evaluate the anomaly model; prints JSON."
    )
    p.add_argument("--weights", help="weights.pt (default: the bundled weights)")
    p.add_argument(
        "--device",
        default="auto",
        choices=["auto", "cpu", "cuda"],
        help="where the model runs (default: auto, the GPU when there is one)",
    )
    p.add_argument("--ptbxl", help="PTB-XL folder in the official layout")
    p.add_argument("--folds", default="9", help="comma-separated folds to evaluate (default 9)")
    p.add_argument("--folder", help="folder of ECG records (with --labels)")
    p.add_argument("--labels", help="CSV with columns file,label[,classes]")
    p.add_argument("--benchmark", help="folder with benchmark_data.npy and benchmark_label.npy")
    p.add_argument("--benchmark-fs", type=float, default=500.0, help="rate of the benchmark arrays")
    p.add_argument(
        "--synthetic-localization",
        action="store_true",
        help="with --ptbxl: inserted abnormalities in fold-9 normals (model.localization_benchmark)",
    )
    p.add_argument(
        "--skip-detection", action="store_true", help="with --ptbxl: only the synthetic benchmark"
    )
    p.add_argument("--batch", type=int, default=64, help="windows per network call")
    p.add_argument(
        "--limit", type=int, default=0, help="at most N records per group (quick checks)"
    )
    p.add_argument(
        "--seed",
        type=int,
        default=20231008,
        help="seed of the synthetic abnormalities (default %(default)s)",
    )
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    return p


def main(argv: list[str] | None = None) -> int:
    """``ecgad evaluate``: print the evaluation JSON on stdout."""
    args = build_parser().parse_args(argv)
    if not (args.ptbxl or args.folder or args.benchmark):
        build_parser().error("give --ptbxl, --folder with --labels, or --benchmark")
    if args.folder and not args.labels:
        build_parser().error("--folder needs --labels")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    det, weights = load_detector(args.weights, args.device)
    out: dict[str, Any] = {
        "model": {**det.model_info, "weights": weights},
        "score_kind": score_kind_status(det),
    }
    if args.ptbxl and not args.skip_detection:
        folds = [int(f) for f in args.folds.split(",") if f.strip()]
        out["ptbxl"] = evaluate_ptbxl(det, args.ptbxl, folds, args.batch, args.limit)
    if args.ptbxl and args.synthetic_localization:
        from model.localization_benchmark import run

        out["synthetic_localization"] = run(
            det, args.ptbxl, seed=args.seed, batch=args.batch, limit=args.limit
        )
    if args.folder:
        out["folder"] = evaluate_folder(det, args.folder, args.labels, args.batch)
    if args.benchmark:
        out["benchmark"] = evaluate_benchmark(
            det, args.benchmark, args.benchmark_fs, args.batch, args.seed, args.limit
        )
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    raise SystemExit(main())
