"""model/local_events.py: a noise burst and a few beats' ST-T change, on synthetic ECGs with
known events; and their hinge parts in the record score (model/score_kinds.py)."""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from ecgviewer.record import STANDARD_LEADS
from ecgviewer.signal.synthetic import synthetic_ecg
from model.local_events import HF_BURST, ST_CHANGE, event_features, hf_burst, st_change
from model.score_kinds import ensemble_score, fit_hinges, hinge_sum

FS = 100.0
ROW = {name: i for i, name in enumerate(STANDARD_LEADS)}


def _ecg(seed: int = 0, seconds: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    syn = synthetic_ecg(fs=FS, duration=seconds, seed=seed, wander_mv=0.0)
    return syn.signal.astype(np.float64), np.round(syn.r_peaks).astype(int)


def _noise(n: int, rms: float, seed: int) -> np.ndarray:
    sos = sps.butter(4, (15.0, 45.0), btype="bandpass", fs=FS, output="sos")
    x = sps.sosfiltfilt(sos, np.random.default_rng(seed).standard_normal(n))
    return x / x.std() * rms


def test_a_burst_of_muscle_noise_on_one_lead_raises_hf_burst() -> None:
    x, r = _ecg()
    clean = hf_burst(x, FS, r)
    burst = x.copy()
    start, length = 400, 80  # 0.8 s
    burst[ROW["V3"], start : start + length] += _noise(length, 0.10, 1) * sps.windows.tukey(
        length, 0.3
    )
    assert clean < 3.0
    assert hf_burst(burst, FS, r) > 3 * clean


def test_a_lead_noisy_all_along_is_not_a_burst() -> None:
    """Steady noise is a signal-quality matter (ecgviewer/signal/quality.py), not an event."""
    x, r = _ecg()
    noisy = x.copy()
    noisy[ROW["V2"]] += _noise(x.shape[1], 0.10, 2)
    assert hf_burst(noisy, FS, r) < 3.0


def test_three_beats_with_st_shifted_in_two_leads_read_as_the_shift() -> None:
    x, r = _ecg()
    shifted = x.copy()
    for rp in r[3:6]:
        shifted[[ROW["V2"], ROW["V3"]], rp + 6 : rp + 32] += 0.2
    assert st_change(x, FS, r) < 0.03
    # The 0.06-0.28 s window lies inside the shifted span: the full 0.2 mV, less the median.
    assert 0.15 < st_change(shifted, FS, r) <= 0.21


def test_one_lead_alone_does_not_raise_st_change() -> None:
    """The second-largest lead: a change confined to one lead (one bad electrode) stays low."""
    x, r = _ecg()
    one = x.copy()
    for rp in r[3:6]:
        one[ROW["V2"], rp + 6 : rp + 32] += 0.2
    assert st_change(one, FS, r) < 0.03


def test_st_change_levels_are_each_beats_own_window_means() -> None:
    """The beats' windows are gathered at once; the result must be the per-beat means."""
    from model.local_events import BASELINE_WINDOW_S, ST_BEATS, ST_WINDOW_S

    x, r = _ecg(seed=3)
    x = x + np.random.default_rng(0).standard_normal(x.shape) * 0.02
    a, b = (int(round(s * FS)) for s in ST_WINDOW_S)
    c, d = (int(round(s * FS)) for s in BASELINE_WINDOW_S)
    beats = [p for p in r.tolist() if p + c >= 0 and p + b < x.shape[1]]
    level = np.stack([x[:, p + a : p + b].mean(1) - x[:, p + c : p + d].mean(1) for p in beats], 1)
    change = level - np.median(level, axis=1)[:, None]
    kernel = np.ones(ST_BEATS) / ST_BEATS
    runs = np.stack([np.convolve(row, kernel, mode="valid") for row in change])
    assert st_change(x, FS, r) == np.sort(np.abs(runs).max(axis=1))[-2]


def test_too_few_beats_or_samples_give_nan() -> None:
    x, r = _ecg(seconds=3.0)
    assert np.isnan(st_change(x, FS, r[:4]))
    assert np.isnan(hf_burst(x[:, :100], FS, r[:1]))
    feats = event_features(x, x, FS, r[:4])
    assert set(feats) == {HF_BURST, ST_CHANGE} and np.isnan(feats[ST_CHANGE])


def test_hinges_are_zero_up_to_their_threshold_and_grow_beyond_it() -> None:
    rng = np.random.default_rng(0)
    normal_values = np.exp(rng.normal(0.0, 0.5, 1000))
    hinge = fit_hinges({"hf_burst": normal_values}, np.ones(1000, bool), 0.25, 90.0)
    assert hinge["threshold"][0] == np.percentile(np.log(normal_values), 90)
    assert abs(hinge["scale"][0] - 0.5) < 0.05
    threshold = float(np.exp(hinge["threshold"][0]))
    assert hinge_sum({"hf_burst": threshold * 0.9}, hinge) == 0.0
    above = hinge_sum({"hf_burst": threshold * np.exp(1.0)}, hinge)
    assert abs(above - 0.25 * 1.0 / hinge["scale"][0]) < 1e-9
    assert hinge_sum({"hf_burst": float("nan")}, hinge) == 0.0
    assert hinge_sum({}, hinge) == 0.0
    # In an ensemble: added to the weighted z-sum, which it leaves as it was otherwise.
    spec = {"components": ["a"], "log": [False], "mean": [0.0], "std": [1.0], "weight": [1.0]}
    comps = {"a": 2.0, "hf_burst": threshold * np.exp(1.0)}
    assert ensemble_score(comps, spec) == 2.0
    assert abs(ensemble_score(comps, {**spec, "hinge": hinge}) - (2.0 + above)) < 1e-12
