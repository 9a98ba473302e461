"""Detector + signal quality: a recording problem is reported as such, not as an unusual ECG,
and leads that carry no usable signal are left out of what is shown."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ecgviewer import io
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
