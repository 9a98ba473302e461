"""Scoring many ECGs in chunks and pooling localisation maps: shared by model/evaluate.py and
model/localization_benchmark.py (evaluate runs the benchmark, so the benchmark must not import
evaluate)."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ecgviewer.errors import ECGError
from ecgviewer.record import Record
from model.metrics import auroc

#: Records read and scored per Detector.score_many call (windows per network call: ``batch``).
RECORDS_PER_CHUNK = 64


def iter_scored(
    det: Any,
    items: Sequence[Any],
    load: Callable[[Any], Record],
    *,
    batch: int = 64,
    desc: str = "scoring",
) -> Iterator[tuple[Any, Record | None, Any]]:
    """Yield ``(item, record, result)`` for every item, scoring chunks with ``score_many``.

    ``result`` is a ScoreResult, or the ECGError that stopped reading or scoring the item
    (``record`` is then None when it could not even be read). A tqdm bar goes to stderr.
    """
    from tqdm import tqdm

    with tqdm(total=len(items), desc=desc, file=sys.stderr, unit="ECG", leave=False) as bar:
        for a in range(0, len(items), RECORDS_PER_CHUNK):
            chunk = items[a : a + RECORDS_PER_CHUNK]
            records: list[Record | None] = []
            errors: dict[int, ECGError] = {}
            for j, item in enumerate(chunk):
                try:
                    records.append(load(item))
                except ECGError as exc:
                    records.append(None)
                    errors[j] = exc
            ok = [r for r in records if r is not None]
            results = iter(det.score_many(ok, batch=batch)) if ok else iter(())
            for j, (item, rec) in enumerate(zip(chunk, records)):
                yield item, rec, errors[j] if rec is None else next(results)
            bar.update(len(chunk))


def _finite(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 4)


def best_dice_threshold(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """The threshold t maximising pooled Dice of ``scores >= t``; exact, O(n log n).

    Returns ``(threshold, dice)``; NaN threshold when there is no positive label.
    """
    labels = np.asarray(labels, bool).ravel()
    scores = np.asarray(scores, np.float64).ravel()
    n_pos = int(labels.sum())
    if n_pos == 0:
        return float("nan"), float("nan")
    order = np.argsort(-scores, kind="mergesort")
    s = scores[order]
    tp = np.cumsum(labels[order])
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # thresholds between tie runs
    dice = 2 * tp[last] / (last + 1 + n_pos)
    k = int(np.argmax(dice))
    return float(s[last[k]]), float(dice[k])


def dice_at(labels: np.ndarray, scores: np.ndarray, threshold: float) -> float:
    pred = np.asarray(scores) >= threshold
    truth = np.asarray(labels, bool)
    denom = pred.sum() + truth.sum()
    return float(2 * (pred & truth).sum() / denom) if denom else float("nan")


@dataclass
class LocalizationPool:
    """Collects (map, point labels) pairs of records, split into calibration / evaluation."""

    maps: list[np.ndarray] = field(default_factory=list)
    labels: list[np.ndarray] = field(default_factory=list)
    calibration: list[bool] = field(default_factory=list)

    def add(
        self, anomaly_map: np.ndarray, labels: np.ndarray, calibration: bool, stride: int = 1
    ) -> None:
        self.maps.append(np.asarray(anomaly_map, np.float32)[:, ::stride].ravel())
        self.labels.append(np.asarray(labels, bool)[:, ::stride].ravel())
        self.calibration.append(bool(calibration))

    def _cat(self, which: bool | None) -> tuple[np.ndarray, np.ndarray]:
        idx = [i for i, c in enumerate(self.calibration) if which is None or c == which]
        if not idx:
            return np.empty(0, bool), np.empty(0, np.float32)
        return (
            np.concatenate([self.labels[i] for i in idx]),
            np.concatenate([self.maps[i] for i in idx]),
        )

    def report(self, threshold: float | None = None) -> dict[str, Any]:
        """AUROC over every record; Dice on the evaluation records at a calibration threshold."""
        lab_all, map_all = self._cat(None)
        out: dict[str, Any] = {
            "n_records": len(self.maps),
            "n_samples": int(lab_all.size),
            "positive_fraction": _finite(lab_all.mean()) if lab_all.size else None,
            "auroc": _finite(auroc(lab_all, map_all)) if lab_all.size else None,
        }
        if threshold is None:
            lab_c, map_c = self._cat(True)
            threshold, cal_dice = best_dice_threshold(lab_c, map_c)
            out["dice_calibration"] = _finite(cal_dice)
            out["n_calibration_records"] = int(sum(self.calibration))
        out["dice_threshold"] = None if not math.isfinite(threshold) else float(threshold)
        lab_e, map_e = self._cat(False)
        eval_idx = [i for i, c in enumerate(self.calibration) if not c]
        out["n_evaluation_records"] = len(eval_idx)
        if math.isfinite(threshold) and lab_e.size:
            out["dice"] = _finite(dice_at(lab_e, map_e, threshold))
            per = [
                dice_at(self.labels[i], self.maps[i], threshold)
                for i in eval_idx
                if self.labels[i].any()
            ]
            out["dice_mean_per_record"] = _finite(float(np.mean(per))) if per else None
            out["auroc_evaluation"] = _finite(auroc(lab_e, map_e))
        return out
