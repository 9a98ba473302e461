"""Fold-9 figures from score columns, shared by the model card and benchmarks/model_accuracy.py.

Fold 9 is split by patient into a *selection* half (every choice) and a *report* half (only
measured). From the score components of both halves this module chooses a score (single kind
or a weighted z-sum, forward selection on the choosing half), a threshold for 90 % specificity
on the choosing half's normals, and measures on the other half: AUROC, AUPRC, sensitivity and
the specificity actually reached, per superclass, each part alone, and how many of the other
half's normals lie above the choosing half's 95th percentile (calibration). ``swapped`` does
the same with the halves' roles exchanged: the spread between the two directions is part of
the result.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from model.data import ABNORMAL_CLASSES
from model.local_events import EVENT_KINDS, HINGE_PERCENTILE, HINGE_WEIGHT
from model.metrics import auprc, auroc, sens_spec
from model.score_kinds import (
    NOT_NETWORK_KINDS,
    SCORE_KINDS,
    SHIPPED_CANDIDATES,
    ensemble_score,
    fit_ensemble,
    fit_hinges,
)

#: The operating point the card's threshold is chosen for (on the choosing half's normals).
TARGET_SPECIFICITY = 0.90
#: The percentile whose exceedance on the other half's normals checks the calibration.
CALIBRATION_PERCENTILE = 95.0
#: Most components of an ensemble (forward selection with replacement). 5 since the
#: vectorcardiographic kinds (model/vcg.py) were offered: cross-validated inside the selection
#: half (benchmarks/ensemble_cv.py, 10 x 2-fold) 4 parts without them 0.9108, with them 4 /
#: 5 / 6 parts 0.9108 / 0.9184 / 0.9158.
MAX_PARTS = 5


@dataclass
class Half:
    """Score components of one half: columns by kind, labels (True = abnormal), classes."""

    comps: dict[str, np.ndarray]
    labels: np.ndarray
    classes: list[frozenset[str]]


def auroc_finite(labels: np.ndarray, scores: np.ndarray) -> float:
    ok = np.isfinite(scores)
    return auroc(labels[ok], scores[ok])


def specificity_threshold(
    normal_scores: np.ndarray, specificity: float = TARGET_SPECIFICITY
) -> float:
    """The threshold below which ``specificity`` of these normals lie (flagged: score >= t)."""
    s = np.sort(np.asarray(normal_scores, np.float64)[np.isfinite(normal_scores)])
    k = int(np.ceil(specificity * len(s)))
    if k >= len(s):
        return float(np.nextafter(s[-1], np.inf))
    return float((s[k - 1] + s[k]) / 2) if s[k] > s[k - 1] else float(np.nextafter(s[k], np.inf))


def ensemble_column(comps: dict[str, np.ndarray], spec: dict[str, Any]) -> np.ndarray:
    n = len(comps[spec["components"][0]])
    names = list(spec["components"]) + list((spec.get("hinge") or {}).get("components", []))
    return np.array(
        [ensemble_score({k: comps[k][i] for k in names if k in comps}, spec) for i in range(n)]
    )


def score_column(
    comps: dict[str, np.ndarray], kind: str, spec: dict[str, Any] | None
) -> np.ndarray:
    return ensemble_column(comps, spec) if spec else comps[kind]


def greedy_ensemble(
    comps: dict[str, np.ndarray],
    labels: np.ndarray,
    candidates: list[str],
    max_parts: int = MAX_PARTS,
) -> tuple[dict[str, Any], float] | None:
    """Forward selection, with replacement, of up to ``max_parts`` components whose weighted
    summed z-scores rank these rows best (z against their normals); a component picked twice
    weighs double. Returns (spec, AUROC), or None if one component is best."""
    candidates = [k for k in candidates if k in comps and np.isfinite(comps[k]).any()]
    chosen: list[str] = []
    best_auc = -1.0
    normal = ~labels
    while len(chosen) < max_parts:
        trial_best = None
        for name in candidates:
            counts = Counter(chosen + [name])
            spec = fit_ensemble({k: comps[k] for k in counts}, normal, weights=counts)
            auc = auroc_finite(labels, ensemble_column(comps, spec))
            if trial_best is None or auc > trial_best[1]:
                trial_best = (name, auc)
        if trial_best is None or trial_best[1] <= best_auc + 1e-4:
            break
        chosen.append(trial_best[0])
        best_auc = trial_best[1]
    counts = Counter(chosen)
    if len(counts) < 2:
        return None
    return fit_ensemble({k: comps[k] for k in counts}, normal, weights=counts), best_auc


def choose_score(
    comps: dict[str, np.ndarray], labels: np.ndarray, candidates: list[str]
) -> tuple[str, dict[str, Any] | None, float]:
    """Best single kind or greedy ensemble among ``candidates`` on these rows."""
    single = {
        k: auroc_finite(labels, comps[k])
        for k in candidates
        if k in comps and np.isfinite(comps[k]).any()
    }
    kind = max(single, key=lambda k: single[k])
    ensemble = greedy_ensemble(comps, labels, list(single))
    if ensemble is not None and ensemble[1] > single[kind]:
        return "ensemble", ensemble[0], ensemble[1]
    return kind, None, single[kind]


def with_event_hinges(
    spec: dict[str, Any], comps: dict[str, np.ndarray], labels: np.ndarray
) -> dict[str, Any]:
    """``spec`` plus the local-event hinge parts (model/local_events.py), fitted on these
    rows' normals, when the components hold them (a fixed addition, not forward-selected:
    they exist for local events, which move the AUROC little either way)."""
    present = [k for k in EVENT_KINDS if k in comps and np.isfinite(comps[k]).any()]
    if not present:
        return spec
    hinge = fit_hinges({k: comps[k] for k in present}, ~labels, HINGE_WEIGHT, HINGE_PERCENTILE)
    return {**spec, "hinge": hinge}


def network_kinds() -> list[str]:
    """Score kinds of the restoration network alone (not the beat bank, not measurements)."""
    return [k for k in SCORE_KINDS if k not in NOT_NETWORK_KINDS]


def detection_metrics(
    labels: np.ndarray, scores: np.ndarray, classes: Sequence[frozenset[str]], threshold: float
) -> dict[str, Any]:
    ok = np.isfinite(scores)
    labels, scores = labels[ok], scores[ok]
    classes = [c for c, keep in zip(classes, ok) if keep]
    sens, spec = sens_spec(labels, scores, threshold)
    per_class = {}
    for name in ABNORMAL_CLASSES:
        member = np.array([name in c for c in classes], bool)
        use = member | ~labels
        per_class[name] = round(auroc(member[use], scores[use]), 4)
    return {
        "n_normal": int((~labels).sum()),
        "n_abnormal": int(labels.sum()),
        "auroc": round(auroc(labels, scores), 4),
        "auprc": round(auprc(labels, scores), 4),
        "sensitivity": round(sens, 4),
        "specificity": round(spec, 4),
        "per_superclass_auroc": per_class,
    }


def share_above_percentile(
    choose_normals: np.ndarray,
    other_normals: np.ndarray,
    percentile: float = CALIBRATION_PERCENTILE,
) -> float:
    """Share of ``other_normals`` above the ``percentile`` of ``choose_normals``."""
    ref = np.percentile(choose_normals[np.isfinite(choose_normals)], percentile)
    other = other_normals[np.isfinite(other_normals)]
    return float((other > ref).mean())


def measure(
    choose: Half,
    other: Half,
    kind: str,
    spec: dict[str, Any] | None,
    parts: dict[str, tuple[str, dict[str, Any] | None]],
) -> dict[str, Any]:
    """Figures on ``other`` for a score chosen on ``choose`` (threshold for 90 % specificity
    on ``choose``'s normals), with each part alone (``parts``: name -> (kind, spec))."""
    sel = score_column(choose.comps, kind, spec)
    rep = score_column(other.comps, kind, spec)
    threshold = specificity_threshold(sel[~choose.labels])
    out = detection_metrics(other.labels, rep, other.classes, threshold)
    out["threshold"] = threshold
    out["threshold_rule"] = f"{TARGET_SPECIFICITY:.0%} specificity on the choosing half's normals"
    out["choosing_half_auroc"] = round(auroc_finite(choose.labels, sel), 4)
    out["normals_above_p95_of_choosing_half"] = round(
        share_above_percentile(sel[~choose.labels], rep[~other.labels]), 4
    )
    out["parts_alone_auroc"] = {
        name: {
            "choosing_half": round(
                auroc_finite(choose.labels, score_column(choose.comps, k, s)), 4
            ),
            "measured_half": round(auroc_finite(other.labels, score_column(other.comps, k, s)), 4),
        }
        for name, (k, s) in parts.items()
    }
    return out


def figures(choose: Half, other: Half) -> dict[str, Any]:
    """Choose the shipped score and the network-only score on ``choose``; measure on ``other``."""
    kind, spec, _ = choose_score(choose.comps, choose.labels, list(SHIPPED_CANDIDATES))
    if spec is not None:
        spec = with_event_hinges(spec, choose.comps, choose.labels)
    parts: dict[str, tuple[str, dict[str, Any] | None]] = {}
    rest_kind, rest_spec, _ = choose_score(choose.comps, choose.labels, network_kinds())
    parts["restoration_network_only"] = (rest_kind, rest_spec)
    for extra in NOT_NETWORK_KINDS:
        if extra in choose.comps:
            parts[extra + "_only"] = (extra, None)
    out = measure(choose, other, kind, spec, parts)
    out["score_kind"], out["score_ensemble"] = kind, spec
    out["restoration_network_only"] = {"score_kind": rest_kind, "score_ensemble": rest_spec}
    return out
