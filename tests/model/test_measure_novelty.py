"""The measurement-range model: features of real ECGs, the normal range fitted on normals,
and the Detector component that uses it."""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer import io
from ecgviewer.errors import ModelError
from ecgviewer.record import Record
from model.config import ModelConfig
from model.infer import AMPLITUDE_KIND, MEASURE_KIND, Detector
from model.measure_novelty import MeasurementNovelty, feature_names
from model.preprocess import prepare
from tests.conftest import PTBXL
from tests.model.conftest import ZeroNet, synthetic_record, tiny_config


def _ptbxl(ecg_id: int) -> Record:
    path = PTBXL / "records100" / f"{ecg_id // 1000 * 1000:05d}" / f"{ecg_id:05d}_lr.hea"
    if not path.is_file():
        pytest.skip(f"{path} not available")
    rec = io.read(path)
    assert isinstance(rec, Record)
    return rec


def _fitted(rng: np.random.Generator, n: int = 400) -> MeasurementNovelty:
    names = feature_names(ModelConfig().leads)
    x = rng.normal(size=(n, len(names)))
    x[:, names.index("paced")] = 0.0  # never varies among normals: left out
    return MeasurementNovelty.fit(x, names)


def test_distance_grows_with_departure_and_survives_the_weights_file() -> None:
    rng = np.random.default_rng(3)
    model = _fitted(rng)
    names = model.names
    centre = np.zeros(len(names))
    far = centre.copy()
    far[names.index("qrs_ms")] = 8.0  # 8 spreads away, clipped at 6
    assert not model.keep[names.index("paced")]
    assert model.score(far) > model.score(centre) + 20
    back = MeasurementNovelty.from_state(model.state())
    rows = np.stack([centre, far])
    assert np.allclose(back.score(rows), model.score(rows))
    assert np.isnan(model.score(np.full(len(names), np.nan)))


def test_amplitude_deviation_counts_only_wave_amplitudes_and_keeps_common_shifts() -> None:
    rng = np.random.default_rng(4)
    names = feature_names(ModelConfig().leads)
    base = rng.normal(size=(600, len(names)))
    # Normal R amplitudes rise and fall together across the leads (body size, electrode
    # distance): a shared factor, as in real ECGs.
    r_cols = [i for i, n in enumerate(names) if n.endswith("_r_mv")]
    base[:, r_cols] = rng.normal(size=(600, 1)) + 0.3 * base[:, r_cols]
    model = MeasurementNovelty.fit(base, names)
    centre = np.median(base, axis=0)
    interval = centre.copy()
    interval[names.index("qrs_ms")] += 8 * model.scale[names.index("qrs_ms")]
    assert model.amplitude_deviation(interval) == pytest.approx(model.amplitude_deviation(centre))
    # Every lead's R wave 4 spreads taller: along the normals' shared direction, which the
    # Mahalanobis distance discounts and the amplitude deviation does not.
    tall = centre.copy()
    tall[r_cols] += 4 * model.scale[r_cols]
    n_amp = sum(n.endswith(("_q_mv", "_r_mv", "_s_mv", "_t_mv")) for n in names)
    assert model.amplitude_deviation(tall) == pytest.approx(
        model.amplitude_deviation(centre) + 16 * len(r_cols) / n_amp, rel=0.05
    )
    one_lead = centre.copy()
    one_lead[r_cols[0]] += 4 * model.scale[r_cols[0]] * np.sqrt(len(r_cols))
    assert model.score(tall) < model.score(one_lead)
    back = MeasurementNovelty.from_state(model.state())
    rows = np.stack([centre, tall])
    assert np.allclose(back.amplitude_deviation(rows), model.amplitude_deviation(rows))
    assert np.isnan(model.amplitude_deviation(np.full(len(names), np.nan)))


def test_features_of_a_real_ecg_measure_its_rate() -> None:
    rec = _ptbxl(1)
    cfg = ModelConfig()
    p = prepare(rec, cfg, measurements=True)
    assert p.measure_features is not None
    feats = dict(zip(feature_names(cfg.leads), p.measure_features))
    rr = np.diff(p.r_peaks[p.r_peaks < 10 * cfg.fs]) / cfg.fs
    assert feats["heart_rate_bpm"] == pytest.approx(60.0 / rr.mean(), rel=0.05)
    assert 60 <= feats["qrs_ms"] <= 140
    assert feats["rr_cv"] == pytest.approx(rr.std() / rr.mean(), abs=1e-6)


def test_detector_component_and_missing_ranges() -> None:
    cfg = tiny_config()
    rng = np.random.default_rng(5)
    rec, _ = synthetic_record(500.0, 10.0, seed=1, hr=70.0)
    fitted = _fitted(rng)
    det = Detector(ZeroNet(cfg), cfg, {}, "cpu", all_components=True, measure_model=fitted)
    res = det.score(rec)
    assert np.isfinite(res.components[MEASURE_KIND])
    assert res.components[AMPLITUDE_KIND] == pytest.approx(
        float(fitted.amplitude_deviation(prepare(rec, cfg, measurements=True).measure_features))
    )
    # Without the component wanted, nothing is measured (it costs ~10 ms per ECG).
    plain = Detector(ZeroNet(cfg), cfg, {}, "cpu", measure_model=fitted)
    assert not plain.wants_measurements
    assert MEASURE_KIND not in plain.score(rec).components
    card = {
        "score_kind": "ensemble",
        "score_ensemble": {
            "components": [MEASURE_KIND, "combined_w"],
            "log": [True, True],
            "mean": [0.0, 0.0],
            "std": [1.0, 1.0],
            "weight": [1.0, 1.0],
        },
    }
    with pytest.raises(ModelError, match="measurement ranges"):
        Detector(ZeroNet(cfg), cfg, card, "cpu")
    amp_card = {
        "score_kind": "ensemble",
        "score_ensemble": {**card["score_ensemble"], "components": [AMPLITUDE_KIND, "combined_w"]},
    }
    with pytest.raises(ModelError, match="measurement ranges"):
        Detector(ZeroNet(cfg), cfg, amp_card, "cpu")
    amp_det = Detector(ZeroNet(cfg), cfg, amp_card, "cpu", measure_model=fitted)
    assert amp_det.wants_measurements
    assert np.isfinite(amp_det.score(rec).score)
    scored = Detector(ZeroNet(cfg), cfg, card, "cpu", measure_model=fitted).score(rec)
    assert np.isfinite(scored.score)


def test_global_z_names_the_measurements_far_from_normal() -> None:
    """A first-degree AV block's PR is named (the score's measurement part said only that
    the numbers were unusual); per-lead values and modest departures are not."""
    rng = np.random.default_rng(5)
    model = _fitted(rng, 2000)
    names = model.names
    x = np.zeros(len(names))  # the normals' median
    x[names.index("pr_ms")] = 9.0  # clipped at 6
    x[names.index("qrs_axis_deg")] = -4.5
    x[names.index("qtc_fridericia_ms")] = 2.0  # within the normal range
    x[names.index("V1_r_mv")] = 9.0  # per-lead: left to the findings
    z = model.global_z(x)
    assert list(z) == ["pr_ms", "qrs_axis_deg"]
    assert z["pr_ms"] == pytest.approx(6.0) and z["qrs_axis_deg"] < -4.0
    assert model.global_z(np.full(len(names), np.nan)) == {}
    # Without a consistent P wave (atrial fibrillation) P-based values are not named: "PR
    # longer" beside "PR unavailable" read as an AV block on an AF report.
    x[names.index("irregular")] = 1.0
    assert list(model.global_z(x)) == ["qrs_axis_deg"]


def test_a_scored_ecg_carries_its_far_measurements() -> None:
    """ScoreResult.measure_z comes from the bundled model's measurement part."""
    det = Detector.load()
    if det.measure_model is None:
        pytest.skip("bundled model without a measurement part")
    res = det.score(_ptbxl(1))
    assert all(abs(v) >= 4.0 for v in res.measure_z.values())
    assert res.summary().get("measure_z", {}) == res.measure_z


def test_a_measured_pr_stays_named_when_the_p_duration_is_not() -> None:
    """The "no_p" feature says that the P duration was not measured, not that there is no P
    wave: a first-degree AV block with a measured PR of 318 ms lost its PR."""
    rng = np.random.default_rng(6)
    model = _fitted(rng, 2000)
    names = model.names
    x = np.zeros(len(names))
    x[names.index("pr_ms")] = 6.7
    x[names.index("no_p")] = 1.0
    assert list(model.global_z(x)) == ["pr_ms"]
