"""Detection and localization metrics against hand-worked cases and library cross-checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from model.metrics import auprc, auroc, dice, sens_spec, youden_threshold


def test_auroc_hand_worked() -> None:
    # scikit-learn's roc_auc_score documentation example: 0.75.
    assert auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert auroc([0, 0, 1, 1], [1, 2, 3, 4]) == 1.0
    assert auroc([1, 1, 0, 0], [1, 2, 3, 4]) == 0.0


def test_auroc_ties_count_half() -> None:
    assert auroc([0, 1], [0.5, 0.5]) == 0.5
    # Pairs (pos, neg): (2,1) 1, (2,2) 0.5, (3,1) 1, (3,2) 1 -> 3.5 / 4.
    assert auroc([0, 0, 1, 1], [1, 2, 2, 3]) == pytest.approx(0.875)


def test_auroc_undefined_with_one_class() -> None:
    assert math.isnan(auroc([1, 1, 1], [0.1, 0.2, 0.3]))
    assert math.isnan(auroc([0, 0], [0.1, 0.2]))


def _roc_trapezoid(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC area by the trapezoid rule over every distinct threshold (ties form a diagonal)."""
    thresholds = np.r_[np.inf, np.unique(scores)[::-1]]
    tpr = [(scores[labels] >= t).mean() for t in thresholds]
    fpr = [(scores[~labels] >= t).mean() for t in thresholds]
    return float(np.trapezoid(tpr, fpr))


@pytest.mark.parametrize("seed", range(5))
def test_auroc_matches_mann_whitney_and_trapezoid(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.random(300) < 0.4
    scores = np.round(rng.normal(labels * 0.7, 1.0), 1)  # rounding makes many ties
    u = mannwhitneyu(scores[labels], scores[~labels]).statistic
    expected = u / (labels.sum() * (~labels).sum())
    assert auroc(labels, scores) == pytest.approx(expected, abs=1e-12)
    assert auroc(labels, scores) == pytest.approx(_roc_trapezoid(labels, scores), abs=1e-12)


def test_auprc_hand_worked() -> None:
    # scikit-learn's average_precision_score documentation example: 0.8333.
    assert auprc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(5 / 6)
    assert auprc([1, 1, 0, 0], [4, 3, 2, 1]) == 1.0


def test_auprc_ties_form_one_operating_point() -> None:
    assert auprc([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5]) == pytest.approx(0.5)
    # Thresholds 0.9: P 1, R 1/3; 0.5 (tie): P 2/3, R 2/3; 0.1: P 3/4, R 1.
    expected = (1 / 3) * 1 + (1 / 3) * (2 / 3) + (1 / 3) * (3 / 4)
    assert auprc([1, 0, 1, 1], [0.9, 0.5, 0.5, 0.1]) == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(3))
def test_auprc_matches_step_sum_over_thresholds(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    labels = rng.random(200) < 0.3
    scores = np.round(rng.normal(labels * 1.0, 1.0), 1)
    total, prev_recall = 0.0, 0.0
    for t in np.unique(scores)[::-1]:
        flagged = scores >= t
        recall = (flagged & labels).sum() / labels.sum()
        precision = (flagged & labels).sum() / flagged.sum()
        total += (recall - prev_recall) * precision
        prev_recall = recall
    assert auprc(labels, scores) == pytest.approx(total, abs=1e-12)
    # A random ranking's average precision is near the prevalence.
    assert auprc(labels, rng.random(200)) == pytest.approx(labels.mean(), abs=0.15)


def test_sens_spec_and_youden() -> None:
    labels = np.array([0, 0, 0, 1, 1, 1], bool)
    scores = np.array([0.1, 0.2, 0.6, 0.5, 0.7, 0.9])
    assert sens_spec(labels, scores, 0.5) == (1.0, pytest.approx(2 / 3))
    assert sens_spec(labels, scores, 0.65) == (pytest.approx(2 / 3), 1.0)
    t = youden_threshold(labels, scores)
    s, p = sens_spec(labels, scores, t)
    assert s + p - 1 == pytest.approx(2 / 3)  # best achievable J on these data
    assert youden_threshold([0, 0, 1, 1], [1, 2, 3, 4]) == 3.0  # perfect separation


def test_dice() -> None:
    assert dice([1, 1, 0, 0], [1, 0, 0, 0]) == pytest.approx(2 / 3)
    assert dice([1, 1], [1, 1]) == 1.0
    assert dice([1, 0], [0, 1]) == 0.0
    assert math.isnan(dice([0, 0], [0, 0]))
