"""Rhythm evidence: a regular rhythm with repeating P waves is normal, an irregular one without
them is found; too few beats say nothing."""

from __future__ import annotations

import numpy as np
import pytest

from model import rhythm
from model.config import ModelConfig
from tests.model.conftest import bundled_weights

CFG = ModelConfig()


def _strip(
    rr_s: np.ndarray, with_p: bool, rng: np.random.Generator, noise: float = 0.02
) -> tuple[np.ndarray, np.ndarray]:
    """(r_peaks, (12, n) band) at 100 Hz: a P bump 160 ms before each R, or fibrillatory noise."""
    fs = CFG.fs
    r = (0.5 + np.concatenate([[0.0], np.cumsum(rr_s)])) * fs
    r = np.round(r).astype(np.int64)
    n = int(r[-1] + fs)
    x = np.zeros((12, n))
    t = np.arange(n)
    for peak in r:
        x[:, peak] += 1.0
        if with_p:
            x[:, :] += 0.15 * np.exp(-0.5 * ((t - (peak - 0.16 * fs)) / (0.025 * fs)) ** 2)
    if not with_p:
        x += 0.05 * np.sin(2 * np.pi * 6.3 * t / fs + rng.uniform(0, 6, size=(12, 1)))
        x += rng.normal(scale=0.03, size=x.shape)
    x += rng.normal(scale=noise, size=x.shape)  # recording noise: P consistency varies
    return r, x


def _normal_values(rng: np.random.Generator) -> dict[str, float]:
    rr = 0.85 + rng.normal(scale=0.01, size=11)
    r, x = _strip(rr, True, rng, noise=float(rng.uniform(0.005, 0.05)))
    return rhythm.rhythm_values(r, x, x.shape[1], CFG)


def test_sinus_rhythm_is_regular_with_consistent_p_waves() -> None:
    values = _normal_values(np.random.default_rng(0))
    assert values["irregularity"] < 0.03
    assert values["p_consistency"] > 0.8


def test_irregular_rhythm_without_p_waves_is_beyond_normals() -> None:
    rng = np.random.default_rng(1)
    cal = rhythm.fit([_normal_values(rng) for _ in range(60)])
    assert cal["irregularity"] > cal["irregularity_median"]
    assert cal["p_consistency"] < cal["p_consistency_median"]
    r, x = _strip(rng.uniform(0.45, 1.2, size=14), False, rng)  # irregularly irregular
    af = rhythm.rhythm_values(r, x, x.shape[1], CFG)
    assert rhythm.is_irregular(af, cal)
    assert rhythm.strength(af, cal) > 1.0
    # Irregular but with P waves (sinus arrhythmia, ectopy with sinus beats): not this finding.
    r, x = _strip(rng.uniform(0.6, 1.2, size=14), True, rng)
    assert not rhythm.is_irregular(rhythm.rhythm_values(r, x, x.shape[1], CFG), cal)
    assert not rhythm.is_irregular(_normal_values(rng), cal)


def test_too_few_beats_or_no_calibration_say_nothing() -> None:
    rng = np.random.default_rng(2)
    r, x = _strip(np.array([0.8, 0.5, 1.1]), False, rng)
    values = rhythm.rhythm_values(r, x, x.shape[1], CFG)
    assert np.isnan(values["irregularity"]) and np.isnan(values["p_consistency"])
    assert not rhythm.is_irregular(values, rhythm.fit([_normal_values(rng)]))
    assert not rhythm.is_irregular(_normal_values(rng), {})
    assert rhythm.fit([values]) == {}


@pytest.mark.slow
@pytest.mark.needs_shared
def test_bundled_model_finds_the_irregular_rhythm_of_ptbxl_atrial_fibrillation(ptbxl_dir) -> None:
    from ecgviewer import io
    from model.infer import Detector

    det = Detector.load(bundled_weights(), device="cpu")
    if not (det.findings_cal or {}).get("rhythm"):
        pytest.skip("the bundled model card has no rhythm calibration yet")
    rec = io.read(ptbxl_dir / "records100" / "00000" / "00152_lr.hea")  # AFIB
    found = [f for f in det.score(rec).findings if f.part == "rhythm"]
    assert found and found[0].lead == rhythm.RHYTHM_LEAD
    assert found[0].duration > 5.0
    normal = io.read(ptbxl_dir / "records100" / "00000" / "00001_lr.hea")  # NORM, sinus
    assert not [f for f in det.score(normal).findings if f.part == "rhythm"]
