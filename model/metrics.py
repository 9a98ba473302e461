"""Detection and localization metrics (numpy/scipy only, no scikit-learn in the bundle).

AUROC is the Mann-Whitney U statistic (ties count half), AUPRC is average precision, as
scikit-learn defines them; tests compare against hand-worked cases.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve; NaN when one class is absent."""
    labels = np.asarray(labels, bool).ravel()
    scores = np.asarray(scores, np.float64).ravel()
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auprc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision: sum over positives of precision at their rank / number of positives."""
    labels = np.asarray(labels, bool).ravel()
    scores = np.asarray(scores, np.float64).ravel()
    if labels.sum() == 0:
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores = scores[order]
    tp = np.cumsum(labels[order])
    # Evaluate at the last index of each run of tied scores.
    last = np.r_[np.flatnonzero(np.diff(sorted_scores) != 0), len(scores) - 1]
    tp_at, n_at = tp[last], last + 1
    precision = tp_at / n_at
    recall = tp_at / labels.sum()
    prev = np.r_[0.0, recall[:-1]]
    return float(np.sum((recall - prev) * precision))


def sens_spec(labels: np.ndarray, scores: np.ndarray, threshold: float) -> tuple[float, float]:
    labels = np.asarray(labels, bool)
    flagged = np.asarray(scores) >= threshold
    sens = float(flagged[labels].mean()) if labels.any() else float("nan")
    spec = float((~flagged[~labels]).mean()) if (~labels).any() else float("nan")
    return sens, spec


def youden_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """Threshold maximising sensitivity + specificity - 1 (chosen on selection data only)."""
    labels = np.asarray(labels, bool)
    scores = np.asarray(scores, np.float64)
    candidates = np.unique(scores)
    best, best_j = float(candidates[0]), -1.0
    for t in candidates:
        s, p = sens_spec(labels, scores, t)
        if s + p - 1 > best_j:
            best, best_j = float(t), s + p - 1
    return best


def dice(pred: np.ndarray, truth: np.ndarray) -> float:
    pred = np.asarray(pred, bool)
    truth = np.asarray(truth, bool)
    denom = pred.sum() + truth.sum()
    return float(2 * (pred & truth).sum() / denom) if denom else float("nan")
