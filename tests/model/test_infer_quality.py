"""Detector + signal quality: a recording problem is reported as such, not as an unusual ECG,
and leads that carry no usable signal are left out of what is shown."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ecgviewer import io
from ecgviewer.record import Record
from ecgviewer.signal.quality import SignalQuality
from ecgviewer.ui.overlay import verdict
from model.infer import Detector
from tests.model.conftest import synthetic_record
from tests.model.test_infer import write_weights

CONTEC = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "fixtures"
    / "edf"
    / "contec_ecg90a_0000050.edf"
)
CHEST = ["V1", "V2", "V3", "V4", "V5", "V6"]


@pytest.fixture(scope="module")
def det(tmp_path_factory: pytest.TempPathFactory) -> Detector:
    return Detector.load(write_weights(tmp_path_factory.mktemp("w")), device="cpu")


@pytest.mark.skipif(not CONTEC.is_file(), reason="shared fixtures not present")
def test_contec_with_disconnected_chest_leads_is_a_recording_problem(det: Detector) -> None:
    record = io.read(CONTEC)
    res = det.score(record)
    assert "lead_off:V1,V2,V3,V4,V5,V6" in res.flags
    assert isinstance(res.quality, SignalQuality) and res.quality.unusable == CHEST
    # Scored on the limb leads only; the 12-lead percentile is withheld (kept for the card).
    assert res.percentile is None and "percentile_all_leads" in res.components
    assert set(res.lead_scores) == {"I", "II", "III", "aVR", "aVL", "aVF"}
    rows = [record.leads.index(name) for name in CHEST]
    assert not res.anomaly_map[rows].any() and np.isnan(res.restored[rows]).all()
    assert res.anomaly_map[:6].any()
    assert all(not set(per_lead) & set(CHEST) for *_, per_lead in res.beats)
    words = verdict(res.percentile, res.flags)
    assert words.startswith("Recording problem, not an unusual ECG: chest leads V1-V6 disconnected")
    assert "remaining leads I-aVF" in words and "unusual for a normal ECG" not in words
    summary = res.summary()
    assert summary["quality"]["headline"] == "chest leads V1-V6 disconnected (no ECG signal)"
    assert set(summary["quality"]["leads"]) == set(CHEST)


def test_flat_extra_leads_keep_the_12_lead_percentile(det: Detector) -> None:
    """A 15-lead cart export (public Philips file) whose V3R, V4R and V7 hold only zeros: the
    model scores the 12 standard leads, so their percentile stands; the extra leads are named
    (and left out of what is shown)."""
    base, _ = synthetic_record(500.0, 10.0, seed=5)
    extra = np.zeros((3, base.n_samples), np.float32)
    record = Record(
        np.vstack([base.signal, extra]), base.fs, [*base.leads, "V3R", "V4R", "V7"], source="x"
    )
    res = det.score(record)
    assert "lead_off:V3R,V4R,V7" in res.flags
    assert res.percentile is not None and res.percentile == det.score(base).percentile
    words = verdict(res.percentile, res.flags)
    assert words.startswith("Possible recording problem: leads V3R, V4R, V7 disconnected")
    assert "rests on the 12 standard leads" in words


def test_clean_ecg_keeps_its_percentile_and_all_leads(det: Detector) -> None:
    record, _ = synthetic_record(500.0, 10.0, seed=5)
    res = det.score(record)
    assert res.quality is not None and res.quality.ok
    assert res.percentile is not None and len(res.lead_scores) == 12
    assert "quality" not in res.summary()


def test_noisy_lead_is_flagged_but_still_scored(det: Detector) -> None:
    record, _ = synthetic_record(500.0, 10.0, seed=6)
    record.signal[8] += (
        np.random.default_rng(0).normal(0, 0.15, record.signal.shape[1]).astype(np.float32)
    )
    res = det.score(record)
    assert "noisy:V3" in res.flags and res.percentile is not None and len(res.lead_scores) == 12
    words = verdict(res.percentile, res.flags)
    assert "heavy noise in lead V3" in words and "may reflect the recording problem" in words


def test_every_lead_disconnected_is_not_scored(det: Detector) -> None:
    record, _ = synthetic_record(500.0, 10.0, seed=7)
    record.signal[:] = (
        np.random.default_rng(0).normal(0, 0.01, record.signal.shape).astype(np.float32)
    )
    res = det.score(record)
    assert "lead_off:I,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5,V6" in res.flags
    assert res.percentile is None and res.lead_scores == {} and not res.anomaly_map.any()
    assert verdict(res.percentile, res.flags).endswith(
        "Not scored: too few leads carry a usable ECG."
    )


SHARED_FIXTURES = [
    "hl7aecg/hl7_example_mortara_eli250.xml",  # 500 Hz, leads in a non-standard order
    "hl7aecg/cvrg_calecg2_example2.xml",  # 1000 Hz
    "other/ecgsoft_demo.scp",  # 8 leads: limb leads derived
    "edf/contec_ecg90a_0000050.edf",  # 800 Hz, 47 s, chest leads disconnected
    "wfdb/s0010_re.hea",  # 15 leads (Frank leads beside the 12)
]


def _records_to_compare(fixtures: Path, ptbxl: Path) -> list[Record]:
    from ecgviewer.signal.resample import resample
    from model.config import ModelConfig
    from model.data import ptbxl_split

    records = [io.read(fixtures / name) for name in SHARED_FIXTURES]
    for lab in ptbxl_split(ptbxl, ModelConfig()).selection[:4]:
        rec = io.read(lab.path)
        records.append(rec)
        # The same ECG at a cart's 500 Hz: the quality check reuses the resampled leads.
        up = resample(rec.data(), rec.fs, 500.0)
        records.append(Record(up, 500.0, list(rec.leads), source=f"{lab.ecg_id} at 500 Hz"))
    chest_off = records[-1].data().copy()
    chest_off[6:] = np.random.default_rng(0).normal(0, 0.02, chest_off[6:].shape)
    records.append(Record(chest_off, 500.0, list(records[-1].leads), source="chest off"))
    return records


def test_quality_reuses_preprocessing_with_the_same_flags_and_scores(
    det: Detector, fixtures_dir: Path, ptbxl_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quality check takes the resampled leads and R peaks from preprocessing (not
    computing them twice): the flags and scores are those of the check alone."""
    import ecgviewer.signal.quality as quality_mod
    from ecgviewer.signal.quality import assess_record
    from model.infer import prepare_for_scoring, quality_of
    from model.preprocess import prepare

    records = _records_to_compare(fixtures_dir, ptbxl_dir)
    calls = {"resample": 0, "detect_r_peaks": 0}
    for name in calls:
        original = getattr(quality_mod, name)

        def counted(*args, _name=name, _original=original, **kwargs):  # noqa: ANN002, ANN003, ANN202
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(quality_mod, name, counted)
    redone = {"resample": 0, "detect_r_peaks": 0}
    for record in records:
        p = prepare(record, det.cfg, median_beats=False)
        alone = assess_record(record)
        before = dict(calls)
        shared = quality_of(record, p, det.cfg)
        for name in calls:
            redone[name] += calls[name] - before[name]
        assert shared.flags == alone.flags, record.source
        # The peaks come from the band-passed leads: a beat at the very edge may be found by
        # one detector and not the other. Flags: equal on 747 of 750 PTB-XL variants (the other
        # three: borderline low-voltage limb leads beside simulated disconnected chest leads).
        assert abs(shared.n_beats - alone.n_beats) <= 1, record.source
        assert p.at_model_rate is None  # dropped once used: not carried to the network
    # Counted, not assumed: no record had its R peaks detected twice, and only the PTB record
    # was resampled again (its Frank leads vx, vy, vz are not among the model's 12).
    assert redone == {"resample": 1, "detect_r_peaks": 0}
    assert any(not assess_record(r).ok for r in records)  # the comparison includes problems
    # Scores: the Detector's results with the old, separate check ...
    old = []
    for record in records:
        p = prepare_for_scoring(record, det.cfg, det.bank is not None, quality=False)
        assert not isinstance(p, Exception)
        p.quality = assess_record(record)
        old.append(p)
    gen = det.iter_score_many(records, prepared=old)
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        before = stop.value
    # ... and with the shared one.
    after = det.score_many(records)
    for a, b in zip(before, after):
        assert a.flags == b.flags and a.score == b.score and a.percentile == b.percentile
        assert a.lead_scores == b.lead_scores
        np.testing.assert_array_equal(a.anomaly_map, b.anomaly_map)


def test_quality_beside_the_network_gives_the_same_results(det: Detector) -> None:
    """The signal-quality check in its own thread (while the network runs) or before it."""
    records = [synthetic_record(500.0, 10.0, seed=s)[0] for s in range(3)]
    rows = records[1].data().copy()
    rows[6:] = 0.0  # chest leads flat: off
    records[1] = Record(rows, 500.0, list(records[1].leads), source="chest flat")
    results = {}
    for beside in (False, True):
        det.quality_beside_network = beside
        results[beside] = det.score_many(records)
    det.quality_beside_network = True
    for a, b in zip(results[False], results[True]):
        assert a.flags == b.flags and a.score == b.score and a.percentile == b.percentile
        assert a.quality == b.quality
        # Without a bank the restored trace rides on the wander made beside the network.
        np.testing.assert_array_equal(a.restored, b.restored)
    assert det.bank is None
    assert "lead_off:V1,V2,V3,V4,V5,V6" in results[True][1].flags


SIERRA = CONTEC.parents[1] / "other" / "philips_sierra_1-04_ad4d3d80_orig.xml"


@pytest.mark.skipif(not SIERRA.is_file(), reason="shared fixtures not present")
def test_a_carts_calibration_pulse_is_not_scored(det: Detector) -> None:
    """Philips carts write a 1 mV pulse after the ECG in every lead (the reader labels it).
    It was scored as ECG: a beat at 10.7 s, a clipped V6, heat and findings on the pulse. The
    record is now scored as the ECG before it, its results still cover every sample."""
    from ecgviewer.signal.calibration import ecg_end

    record = io.read(SIERRA)
    end = ecg_end(record)
    assert end == 5300
    res = det.score(record)
    ecg = det.score(record.slice(0, end / record.fs))
    assert "calibration_pulse_left_out" in res.flags and not any("clipped" in f for f in res.flags)
    assert res.score == pytest.approx(ecg.score, abs=1e-9)
    assert res.anomaly_map.shape == (12, record.n_samples)
    np.testing.assert_array_equal(res.anomaly_map[:, :end], ecg.anomaly_map)
    assert not res.anomaly_map[:, end:].any() and np.isnan(res.restored[:, end:]).all()
    assert all(f.end <= end / record.fs for f in res.findings)


def test_findings_on_a_burst_of_noise_are_marked_and_put_last() -> None:
    """A finding lying in a stretch of heavy EMG of its lead is marked as a possible
    artefact and ranked after the clean ones; JSON keeps the mark."""
    from types import SimpleNamespace

    from ecgviewer.record import Record
    from ecgviewer.result import Finding
    from ecgviewer.signal.quality import assess_record
    from ecgviewer.signal.rpeaks import detect_r_peaks
    from ecgviewer.signal.synthetic import synthetic_ecg
    from model.config import ModelConfig
    from model.infer import _noise_marked
    from tests.signal.test_quality import _emg_burst

    fs = 500.0
    syn = synthetic_ecg(fs=fs, duration=10.0, seed=2)
    x = syn.signal.astype(np.float64).copy()
    x[1] += _emg_burst(x.shape[1], fs, 3.0, 6.0, 0.06)
    rec = Record(x.astype(np.float32), fs, list(syn.leads))
    cfg = ModelConfig()
    p = SimpleNamespace(r_peaks=detect_r_peaks(x, fs) * cfg.fs / fs, n_in=x.shape[1])
    findings = [
        Finding("II", 3.5, 5.0, 9.0, part="beat"),
        Finding("V2", 3.5, 5.0, 6.0),
        Finding("II", 8.0, 9.0, 4.0),
    ]
    out = _noise_marked(findings, rec, p, assess_record(rec), cfg)  # type: ignore[arg-type]
    assert [(f.lead, f.start, f.noisy) for f in out] == [
        ("V2", 3.5, False),
        ("II", 8.0, False),
        ("II", 3.5, True),
    ]
    assert out[-1].reason.endswith("possibly an artefact")
    assert Finding.from_json(out[-1].to_json()) == out[-1]
    assert "noisy" not in out[0].to_json()
    # A lead the record-level check calls noisy (here V2, as baseline wander would) marks
    # every finding of it.
    from dataclasses import replace

    q = assess_record(rec)
    q = replace(
        q,
        leads=tuple(replace(q1, problems=("noisy",)) if q1.lead == "V2" else q1 for q1 in q.leads),
    )
    out = _noise_marked(findings, rec, p, q, cfg)  # type: ignore[arg-type]
    assert [(f.lead, f.noisy) for f in out] == [("II", False), ("II", True), ("V2", True)]


def test_a_finding_on_the_recorders_own_artefact_mark_is_marked() -> None:
    """An ISHNE Holter's "X" beats ("artefact"): findings there were not marked, a motion
    artefact's slow shape showing nothing in the EMG band."""
    from types import SimpleNamespace

    from ecgviewer.record import Annotation, Record
    from ecgviewer.result import Finding
    from ecgviewer.signal.quality import assess_record
    from ecgviewer.signal.rpeaks import detect_r_peaks
    from ecgviewer.signal.synthetic import synthetic_ecg
    from model.config import ModelConfig
    from model.infer import _noise_marked

    fs = 500.0
    syn = synthetic_ecg(fs=fs, duration=10.0, seed=2)
    x = syn.signal.astype(np.float64)
    notes = [Annotation(4.2, 0.0, "artefact"), Annotation(8.5, 0.0, "N")]
    rec = Record(x.astype(np.float32), fs, list(syn.leads), annotations=notes)
    cfg = ModelConfig()
    p = SimpleNamespace(r_peaks=detect_r_peaks(x, fs) * cfg.fs / fs, n_in=x.shape[1])
    findings = [Finding("V2", 3.9, 4.9, 6.0), Finding("II", 8.0, 9.0, 4.0)]
    out = _noise_marked(findings, rec, p, assess_record(rec), cfg)  # type: ignore[arg-type]
    assert [(f.lead, f.noisy) for f in out] == [("II", False), ("V2", True)]
