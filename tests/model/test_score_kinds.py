"""model/score_kinds.py: record components from stitched maps; ensembles; map variants."""

from __future__ import annotations

import numpy as np
import pytest

from model.config import ModelConfig
from model.score_kinds import ensemble_score, error_variant, map_variant, score_components


def _stitched(n: int, beats: bool = True) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    st = {}
    for prefix in ("", "all_"):
        st[f"{prefix}global_sq"] = rng.random((12, n)).astype(np.float32)
        st[f"{prefix}global_v"] = np.zeros((1, n), np.float32)
        st[f"{prefix}trend_sq"] = rng.random((12, n)).astype(np.float32)
        beat = rng.random((12, n)).astype(np.float32)
        if not beats:
            beat[:] = np.nan
        st[f"{prefix}beat_sq"] = beat
        st[f"{prefix}beat_v"] = np.zeros((1, n), np.float32)
    return st


def test_components_are_means_over_the_record_not_its_padding() -> None:
    cfg = ModelConfig()
    st = _stitched(1000)
    st["global_sq"][:, 960:] = 1e6  # padding: must not count
    comps, maps = score_components(st, 960, cfg, {"w", "mse"})
    assert set(maps) == {"w", "mse"}
    assert comps["global_mse"] == float(st["global_sq"][:, :960].mean())
    # log-variance 0: the uncertainty-weighted error equals the plain one
    assert comps["global_w"] == comps["global_mse"]
    assert "combined_w_p95" in comps and "trend_all" in comps and "global_nll" not in comps
    every, _ = score_components(st, 960, cfg)
    assert {"global_nll_all", "map_p99_mse_all"} <= set(every)
    # Without the map summaries: the same components less the summaries.
    lean, lean_maps = score_components(st, 960, cfg, {"w", "mse"}, summaries=False)
    summaries = {"combined_w_p95", "combined_w_toplead", "map_p99_w", "map_p99_mse"}
    assert set(lean) == set(comps) - summaries
    assert all(lean[k] == comps[k] for k in lean)
    assert all(np.array_equal(lean_maps[v], maps[v]) for v in maps)


def test_without_beats_the_beat_component_is_the_global_one() -> None:
    comps, _ = score_components(_stitched(960, beats=False), 960, ModelConfig(), {"mse"})
    assert comps["beat_mse"] == comps["global_mse"]


def test_variants_and_ensembles() -> None:
    sq, v = np.array([4.0]), np.array([np.log(2.0)])
    assert error_variant(sq, v, "w")[0] == 2.0
    assert np.isclose(error_variant(sq, v, "nll")[0], 2.0 + np.log(2.0))
    assert map_variant("combined_w_all") == "w_all" and map_variant("trend_all") == "mse_all"
    spec = {"components": ["a", "b"], "log": [False, False], "mean": [0, 0], "std": [1, 1]}
    assert ensemble_score({"a": 1.0, "b": 3.0}, spec) == 4.0
    assert ensemble_score({"a": 1.0, "b": float("nan")}, spec) == 2.0  # rescaled to full weight


def test_qrs_window_components_average_the_global_nll_around_the_r_peaks() -> None:
    """Each kind: the global NLL over R-60..R+60 ms, beat by beat, then over beats and leads;
    an error confined to the QRS windows counts fully there and is diluted in the strip mean."""
    from model.score_kinds import QRS_KINDS, qrs_window_components

    cfg = ModelConfig()
    st = _stitched(1000)
    for prefix in ("", "all_"):
        st[f"{prefix}global_sq"][:] = 1.0
    peaks = np.array([100, 300, 500, 700, 900, 3])  # the last has no complete window
    for r in peaks[:-1]:
        st["global_sq"][:, r - 6 : r + 6] = 5.0  # the QRS windows only
    comps = qrs_window_components(st, 960, cfg, peaks)
    assert set(comps) == set(QRS_KINDS)
    assert comps["qrs_global_nll"] == 5.0  # log-variance 0: the NLL is the squared error
    assert comps["qrs_global_nll_all"] == 1.0
    whole, _ = score_components(st, 960, cfg, {"nll"})
    assert whole["global_nll"] < 1.5  # the strip's mean dilutes the QRS
    # No complete window: the strip's mean.
    none = qrs_window_components(st, 960, cfg, np.array([2], np.int64))
    assert none["qrs_global_nll"] == float(st["global_sq"][:, :960].astype(np.float64).mean())


def test_the_qrs_kinds_are_offered_to_the_network_alone_not_to_the_shipped_score() -> None:
    from model.fold9 import network_kinds
    from model.score_kinds import QRS_KINDS, SCORE_KINDS, SHIPPED_CANDIDATES

    assert set(QRS_KINDS) <= set(SCORE_KINDS) and set(QRS_KINDS) <= set(network_kinds())
    assert not set(QRS_KINDS) & set(SHIPPED_CANDIDATES)
    assert set(SHIPPED_CANDIDATES) | set(QRS_KINDS) == set(SCORE_KINDS)


def test_only_combined_map_kinds_need_a_map_variant() -> None:
    from model.score_kinds import is_map_kind

    for kind in ("combined_w", "global_mse_all", "beat_nll", "combined_w_p95"):
        assert is_map_kind(kind)
    for kind in ("beat_knn", "measure_mahal", "qrst_angle", "trend", "trend_all", "ensemble"):
        assert not is_map_kind(kind)


def test_the_bundled_detector_builds_only_the_map_variant_its_score_uses() -> None:
    """The shipped ensemble's one restoration part is combined_w; its other parts (bank,
    measurements, VCG) are paired with "mse" by map_variant but use no map: none is built."""
    from model.infer import Detector
    from model.score_kinds import is_map_kind

    det = Detector.load()
    parts = [k for k in det._kinds if is_map_kind(k)]
    assert parts == ["combined_w"] and det.map_kind == "combined_w"
    assert det.needed_variants == {"w"}


def test_ensemble_parts_add_up_to_the_score() -> None:
    """Each part's weighted z (what the viewer names as making an ECG unusual as a whole)
    sums to the ensemble score when every part is there and no hinge adds to it."""
    from model.score_kinds import ensemble_parts, ensemble_score

    spec = {
        "components": ["a", "b", "c"],
        "log": [False, True, False],
        "mean": [1.0, 0.0, 2.0],
        "std": [2.0, 1.0, 0.5],
        "weight": [1.0, 2.0, 1.0],
    }
    comps = {"a": 5.0, "b": float(np.e), "c": 1.0}
    parts = ensemble_parts(comps, spec)
    assert parts == pytest.approx({"a": 2.0, "b": 2.0, "c": -2.0})
    assert sum(parts.values()) == pytest.approx(ensemble_score(comps, spec))
    assert "b" not in ensemble_parts({"a": 5.0, "b": float("nan")}, spec)
