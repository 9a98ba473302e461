"""Fold-9 figures: score choice, 90 % specificity threshold, calibration, swapped halves
(model/fold9.py)."""

from __future__ import annotations

import numpy as np

from model.fold9 import (
    Half,
    choose_score,
    figures,
    share_above_percentile,
    specificity_threshold,
)
from model.metrics import auroc, sens_spec
from model.score_kinds import BANK_KIND


def test_forward_selection_weighs_the_stronger_part_double_and_improves_on_it() -> None:
    rng = np.random.default_rng(0)
    labels = np.r_[np.zeros(400, bool), np.ones(400, bool)]
    y = labels.astype(float)
    comps = {  # two independent noisy views of the label, one twice as informative
        "strong": np.exp(1.2 * y + rng.normal(size=800)),
        "weak": 0.6 * y + rng.normal(size=800),
        "noise": rng.normal(size=800),
    }
    kind, spec, auc = choose_score(comps, labels, ["strong", "weak", "noise"])
    assert kind == "ensemble" and spec is not None
    weights = dict(zip(spec["components"], spec["weight"]))
    assert "noise" not in weights
    assert weights["strong"] >= weights["weak"]
    assert spec["log"][spec["components"].index("strong")]  # positive: z of the log
    assert auc > auroc(labels, comps["strong"]) + 0.01


def test_a_single_best_part_is_kept_alone() -> None:
    rng = np.random.default_rng(1)
    labels = np.r_[np.zeros(300, bool), np.ones(300, bool)]
    comps = {"good": labels + rng.normal(scale=0.5, size=600), "noise": rng.normal(size=600)}
    kind, spec, _auc = choose_score(comps, labels, ["good", "noise"])
    assert kind == "good" and spec is None


def test_specificity_threshold_leaves_the_asked_share_of_normals_below() -> None:
    normals = np.random.default_rng(2).normal(size=457)
    t = specificity_threshold(normals, 0.9)
    _, spec = sens_spec(np.zeros(457, bool), normals, t)
    assert 0.9 <= spec < 0.9 + 1.5 / 457
    ties = np.r_[np.zeros(95), np.ones(5)]  # threshold above a tie run, never inside it
    assert sens_spec(np.zeros(100, bool), ties, specificity_threshold(ties, 0.9))[1] == 0.95


def test_share_above_percentile_of_an_identical_distribution_is_near_five_percent() -> None:
    rng = np.random.default_rng(3)
    share = share_above_percentile(rng.normal(size=20000), rng.normal(size=20000))
    assert abs(share - 0.05) < 0.006
    assert share_above_percentile(rng.normal(size=5000), rng.normal(1.0, size=5000)) > 0.2


def _half(rng: np.random.Generator, n: int) -> Half:
    labels = np.r_[np.zeros(n, bool), np.ones(n, bool)]
    y = labels.astype(float)
    comps = {
        BANK_KIND: np.exp(0.3 * y + 0.3 * rng.normal(size=2 * n)),
        "combined_w": y + rng.normal(size=2 * n),
        "global_mse": np.exp(0.5 * y + rng.normal(size=2 * n)),
    }
    classes = [frozenset({"NORM"})] * n + [
        frozenset({"MI"}),
        frozenset({"STTC"}),
        frozenset({"CD"}),
        frozenset({"HYP"}),
    ] * (n // 4)
    return Half(comps, labels, classes)


def test_figures_choose_on_one_half_and_measure_on_the_other() -> None:
    rng = np.random.default_rng(4)
    sel, rep = _half(rng, 400), _half(rng, 400)
    out = figures(sel, rep)
    assert out["score_kind"] == "ensemble"
    used = out["score_ensemble"]["components"]
    assert BANK_KIND in used and "combined_w" in used
    assert (
        out["restoration_network_only"]["score_ensemble"] is None
        or BANK_KIND not in out["restoration_network_only"]["score_ensemble"]["components"]
    )
    parts = out["parts_alone_auroc"]
    assert parts[BANK_KIND + "_only"]["measured_half"] == round(
        auroc(rep.labels, rep.comps[BANK_KIND]), 4
    )
    assert out["auroc"] > max(p["measured_half"] for p in parts.values())
    assert 0.85 < out["specificity"] < 0.95  # the 90 % threshold chosen on the other half
    assert 0.01 < out["normals_above_p95_of_choosing_half"] < 0.1
    assert set(out["per_superclass_auroc"]) == {"MI", "STTC", "CD", "HYP"}
    swapped = figures(rep, sel)
    assert swapped["choosing_half_auroc"] != out["choosing_half_auroc"]


def test_local_event_hinges_join_the_chosen_ensemble_fitted_on_the_choosing_normals() -> None:
    """model/local_events.py: the hinge parts are added to the chosen ensemble, not selected;
    their threshold is the choosing half's normals' 90th percentile, so a normal-looking event
    value adds nothing and one beyond it raises the score."""
    from model.fold9 import ensemble_column, with_event_hinges

    rng = np.random.default_rng(4)
    labels = np.r_[np.zeros(300, bool), np.ones(300, bool)]
    y = labels.astype(float)
    comps = {
        "beat_w": y + rng.normal(size=600),
        BANK_KIND: y + rng.normal(size=600),
        "hf_burst": np.exp(rng.normal(size=600)),
    }
    _, spec, _ = choose_score(comps, labels, ["beat_w", BANK_KIND])
    assert spec is not None
    hinged = with_event_hinges(spec, comps, labels)
    assert hinged["hinge"]["components"] == ["hf_burst"]
    assert np.isclose(
        hinged["hinge"]["threshold"][0], np.percentile(np.log(comps["hf_burst"][~labels]), 90)
    )
    plain, with_hinge = ensemble_column(comps, spec), ensemble_column(comps, hinged)
    below = np.log(comps["hf_burst"]) <= hinged["hinge"]["threshold"][0]
    np.testing.assert_allclose(with_hinge[below], plain[below])
    assert (with_hinge[~below] > plain[~below]).all()
    half = Half(comps, labels, [frozenset()] * 600)
    assert "hinge" in figures(half, half)["score_ensemble"]
    del comps["hf_burst"]  # older component caches: the spec as it was
    assert "hinge" not in with_event_hinges(spec, comps, labels)
