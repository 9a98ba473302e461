"""The normal-beat bank: median beats line up with R, distances behave, storage round-trips."""

from __future__ import annotations

import io as _io
from pathlib import Path

import numpy as np
import pytest
import torch

from ecgviewer import io
from ecgviewer.record import STANDARD_LEADS, Record
from model.beat_bank import BeatBank, window_median_beats
from model.config import ModelConfig
from model.data import ptbxl_split
from model.infer import Detector
from model.preprocess import prepare
from model.score_kinds import ensemble_score, fit_ensemble
from tests.model.conftest import bundled_weights, synthetic_record


def test_median_beat_is_the_beat_template_and_nan_without_beats() -> None:
    cfg = ModelConfig()
    rng = np.random.default_rng(0)
    template = rng.normal(size=(12, cfg.bank_len)).astype(np.float32)
    n = 2 * cfg.global_len
    x = np.zeros((12, n), np.float32)
    r_peaks = np.arange(60, cfg.global_len - 60, 80)  # beats only in the first window
    for r in r_peaks:
        x[:, r - cfg.bank_pre : r - cfg.bank_pre + cfg.bank_len] += template
    x += rng.normal(scale=0.01, size=x.shape).astype(np.float32)
    beats = window_median_beats(x, r_peaks, [0, cfg.global_len], cfg)
    assert beats.shape == (2, 12, cfg.bank_len)
    np.testing.assert_allclose(beats[0], template, atol=0.05)
    assert np.isnan(beats[1]).all()


def _bank_of_synthetic_normals(cfg: ModelConfig) -> BeatBank:
    medians = []
    for seed, hr in zip(range(12), np.linspace(55, 95, 12)):
        rec, _ = synthetic_record(fs=100.0, seed=seed, hr=float(hr))
        medians.append(prepare(rec, cfg, median_beats=True).median_beats)
    return BeatBank.build(np.concatenate(medians), cfg)


def test_distance_ignores_gain_but_not_lead_polarity() -> None:
    cfg = ModelConfig(bank_components=32, bank_k=1)
    bank = _bank_of_synthetic_normals(cfg)
    rec, _ = synthetic_record(fs=100.0, seed=3, hr=float(np.linspace(55, 95, 12)[3]))
    member = prepare(rec, cfg, median_beats=True).median_beats
    reversed_arms = rec.signal.copy()
    reversed_arms[0] *= -1  # lead I inverted: the classic limb-lead reversal
    flipped = prepare(
        Record(reversed_arms, rec.fs, list(rec.leads)), cfg, median_beats=True
    ).median_beats
    d_member, d_louder, d_flipped = bank.distance(np.concatenate([member, 2.5 * member, flipped]))
    assert d_member < 1e-3  # it is in the bank
    assert d_louder == pytest.approx(d_member, abs=1e-3)  # cosine: overall gain does not count
    assert d_flipped > 10 * max(d_member, 1e-3)
    assert np.isnan(bank.distance(np.full((1, 12, cfg.bank_len), np.nan)))[0]


def test_state_round_trips_through_a_weights_only_load() -> None:
    cfg = ModelConfig(bank_components=8, bank_k=2)
    bank = _bank_of_synthetic_normals(cfg)
    buf = _io.BytesIO()
    torch.save({"beat_bank": bank.state()}, buf)
    buf.seek(0)
    again = BeatBank.from_state(torch.load(buf, weights_only=True)["beat_bank"])
    probe = np.random.default_rng(1).normal(size=(4, 12, cfg.bank_len))
    np.testing.assert_allclose(again.distance(probe), bank.distance(probe), atol=2e-3)
    assert again.k == 2 and again.basis.shape == (8, 12 * cfg.bank_len)


def test_ensemble_weights_and_a_missing_component() -> None:
    rng = np.random.default_rng(0)
    cols = {"a": rng.normal(size=200) + 5, "b": rng.normal(size=200) * 3}
    spec = fit_ensemble(cols, np.ones(200, bool), weights={"a": 2.0})
    assert spec["weight"] == [2.0, 1.0]
    za = (np.log(6.0) - spec["mean"][0]) / spec["std"][0]
    zb = (1.0 - spec["mean"][1]) / spec["std"][1]
    assert ensemble_score({"a": 6.0, "b": 1.0}, spec) == pytest.approx(2 * za + zb)
    # "a" unavailable (e.g. no R peak for the beat bank): "b" alone, scaled to the full weight.
    assert ensemble_score({"a": float("nan"), "b": 1.0}, spec) == pytest.approx(3 * zb)
    assert np.isnan(ensemble_score({}, spec))


@pytest.mark.slow
@pytest.mark.needs_shared
def test_bundled_bank_scores_a_limb_lead_reversal_as_unusual(ptbxl_dir: Path) -> None:
    det = Detector.load(bundled_weights(), device="cpu")
    if det.bank is None:
        pytest.skip("the bundled score does not use the beat bank")
    normals = [r for r in ptbxl_split(ptbxl_dir, det.cfg).report if r.normal][:6]
    for item in normals:
        rec = io.read(item.path)
        assert isinstance(rec, Record)
        swapped = rec.signal.copy()
        idx = {name: i for i, name in enumerate(rec.leads)}
        # LA/RA reversal: I inverted, II and III swapped, aVR and aVL swapped.
        swapped[idx["I"]] = -rec.signal[idx["I"]]
        swapped[[idx["II"], idx["III"]]] = rec.signal[[idx["III"], idx["II"]]]
        swapped[[idx["aVR"], idx["aVL"]]] = rec.signal[[idx["aVL"], idx["aVR"]]]
        clean, reversal = det.score_many([rec, Record(swapped, rec.fs, list(rec.leads))])
        assert reversal.components["beat_knn"] > clean.components["beat_knn"], item.ecg_id
        assert reversal.score > clean.score, item.ecg_id


@pytest.mark.slow
def test_bundled_model_does_not_call_a_flat_recording_normal() -> None:
    # A disconnected cart: 10 uV of amplifier noise. No beat, so the beat bank distance is
    # its maximum; the quality check names every lead off, so no percentile is given at all
    # (a recording problem, never "within the range of normal ECGs").
    det = Detector.load(bundled_weights(), device="cpu")
    if det.bank is None:
        pytest.skip("the bundled score does not use the beat bank")
    noise = np.random.default_rng(0).normal(scale=0.01, size=(12, 5000)).astype(np.float32)
    res = det.score(Record(noise, 500.0, list(STANDARD_LEADS)))
    assert "no_r_peaks" in res.flags
    assert res.components["beat_knn"] == pytest.approx(1.0)
    assert any(flag.startswith("lead_off:") for flag in res.flags)
    assert res.percentile is None


def test_compare_equals_the_three_separate_lookups() -> None:
    """One search of the bank gives what distance, lead_distances and expected give alone."""
    from model.beat_bank import BeatBank
    from model.config import ModelConfig

    cfg = ModelConfig(bank_components=8, bank_k=3)
    rng = np.random.default_rng(0)
    bank = BeatBank.build(rng.normal(size=(40, 12, cfg.bank_len)).astype(np.float32), cfg)
    beats = rng.normal(size=(3, 12, cfg.bank_len)).astype(np.float32)
    beats[1] = np.nan  # a window without a beat
    distance, lead_distances, expected = bank.compare(beats)
    np.testing.assert_array_equal(distance, bank.distance(beats))
    np.testing.assert_array_equal(lead_distances, bank.lead_distances(beats))
    np.testing.assert_array_equal(expected, bank.expected(beats))
    assert np.isnan(distance[1]) and np.isfinite(distance[[0, 2]]).all()
