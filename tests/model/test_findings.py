"""Calibrated findings: thresholds keep normals quiet, a changed lead or beat is found where
it was changed, adjacent beats merge, and the bundled model finds a real inserted beat."""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer import io
from ecgviewer.record import STANDARD_LEADS, Record
from model import findings as F
from model.data import ptbxl_split
from model.infer import Detector
from model.localization_benchmark import as_record, insert
from tests.model.conftest import bundled_weights

LEADS = tuple(STANDARD_LEADS)


def _evidence(rng: np.random.Generator, n_beats: int = 10) -> F.Evidence:
    """A normal-like ECG: each lead has its own typical level (lead III naturally noisier)."""
    level = np.linspace(0.0, 2.0, 12)
    lead = {p: level + rng.normal(scale=0.3, size=12) for p in F.PARTS}
    beat = {p: level[:, None] + rng.normal(scale=0.3, size=(12, n_beats)) for p in F.PARTS}
    starts = np.arange(n_beats) * 0.9 + 0.2
    return F.Evidence(lead, beat, np.stack([starts, starts + 0.96], axis=1), 10.0)


@pytest.fixture(scope="module")
def calibration() -> dict:
    rng = np.random.default_rng(0)
    return F.fit_calibration([_evidence(rng) for _ in range(400)], LEADS)


def test_calibration_keeps_normals_quiet(calibration: dict) -> None:
    assert calibration["normal_share_with_findings"] <= F.NORMAL_SHARE
    rng = np.random.default_rng(1)  # fresh normals, not the ones calibrated on
    share = np.mean([bool(F.findings(_evidence(rng), calibration, LEADS)) for _ in range(300)])
    assert share <= F.NORMAL_SHARE + 0.05
    # Per-lead calibration: the naturally high lead (V6 here) is not always on top.
    assert abs(float(np.mean(F.lead_scores(_evidence(rng), calibration)))) < 1.0


def test_a_changed_lead_is_a_whole_lead_finding_with_its_part(calibration: dict) -> None:
    ev = _evidence(np.random.default_rng(2))
    ev.lead["shape"][LEADS.index("aVF")] += 5.0  # far above what normals' aVF shows
    found = F.findings(ev, calibration, LEADS)
    top = found[0]
    assert (top.lead, top.part) == ("aVF", "shape")
    assert top.start == pytest.approx(0.2) and top.end == pytest.approx(ev.spans[-1, 1])
    assert top.percentile == pytest.approx(100.0)
    assert int(np.argmax(F._z(ev.lead, calibration["lead"]))) == LEADS.index("aVF")


def test_changed_beats_are_found_merged_and_ranked(calibration: dict) -> None:
    ev = _evidence(np.random.default_rng(3))
    v2 = LEADS.index("V2")
    ev.beat["restoration"][v2, 3:5] += 12.0  # two adjacent beats
    ev.beat["restoration"][LEADS.index("I"), 8] += 20.0  # one beat, more unusual
    found = [
        f for f in F.findings(ev, calibration, LEADS) if f.part in ("beat", "beat_restoration")
    ]
    assert [f.lead for f in found[:2]] == ["I", "V2"]  # most unusual first
    merged = found[1]
    assert merged.start == pytest.approx(ev.spans[3, 0]) and merged.end == pytest.approx(
        ev.spans[4, 1]
    )
    assert found[0].start == pytest.approx(ev.spans[8, 0])
    assert all(f.score > calibration["beat"]["threshold"] for f in found)


def test_a_wide_spatial_qrs_t_angle_is_a_whole_ecg_finding() -> None:
    """model/vcg.py's angle beyond the normals' 99th percentile: a finding of the whole ECG
    (no lead), with its own threshold beside the lead and beat findings'."""
    rng = np.random.default_rng(4)
    normals = []
    for _ in range(400):
        ev = _evidence(rng)
        ev.qrst_angle = float(np.clip(rng.normal(50.0, 25.0), 0.0, 180.0))
        normals.append(ev)
    cal = F.fit_calibration(normals, LEADS)
    assert cal["qrst_angle"]["threshold"] == pytest.approx(
        np.percentile([e.qrst_angle for e in normals], F.QRST_ANGLE_PERCENTILE)
    )
    assert 0.005 <= cal["normal_share_with_qrst_angle_finding"] <= 0.015
    wide = _evidence(np.random.default_rng(5))
    wide.qrst_angle = 170.0
    found = [f for f in F.findings(wide, cal, LEADS) if f.part == "qrst_angle"]
    assert len(found) == 1 and found[0].lead is None
    assert found[0].percentile == pytest.approx(100.0) and found[0].score > 4.0
    usual = _evidence(np.random.default_rng(5))
    usual.qrst_angle = 60.0
    assert not [f for f in F.findings(usual, cal, LEADS) if f.part == "qrst_angle"]
    # The angle's normals count against the one budget: the beat threshold rises for them.
    assert cal["normal_share_with_findings"] <= F.NORMAL_SHARE
    without = F.fit_calibration(
        [F.Evidence(e.lead, e.beat, e.spans, e.duration) for e in normals], LEADS
    )
    assert cal["beat"]["threshold"] >= without["beat"]["threshold"]
    assert cal["normal_share_with_findings"] == pytest.approx(
        np.mean([bool(F.findings(e, cal, LEADS)) for e in normals]), abs=1e-3
    )


@pytest.mark.slow
@pytest.mark.needs_shared
def test_bundled_model_finds_an_inserted_wide_beat_where_it_was_inserted(ptbxl_dir) -> None:
    det = Detector.load(bundled_weights(), device="cpu")
    if not det.findings_cal:
        pytest.skip("the bundled model card has no findings calibration yet")
    normal = next(i for i in ptbxl_split(ptbxl_dir, det.cfg).report if i.normal)
    rec = io.read(normal.path)
    assert isinstance(rec, Record)
    ins = insert(rec, "premature_wide_beat", seed=1, key=normal.ecg_id)
    altered = det.score(as_record(rec, ins))
    where = np.flatnonzero(ins.labels.any(axis=0)) / rec.fs
    hit = [f for f in altered.findings if f.start <= where.mean() <= f.end]
    assert hit, (altered.findings, where.min(), where.max())
    assert len(det.score(rec).findings) <= len(altered.findings)


def test_the_bundled_calibration_was_made_with_this_budget() -> None:
    """Bundled weights must come with a findings calibration fitted under today's budget
    (python -m model.calibrate_findings after a change to model/findings.py): the share it
    measured on the selection normals is within NORMAL_SHARE."""
    import json

    card_path = bundled_weights().with_name("model_card.json")
    if not card_path.is_file():
        pytest.skip("no bundled model card")
    cal = json.loads(card_path.read_text(encoding="utf-8")).get("findings_calibration")
    if not cal:
        pytest.skip("the bundled model card has no findings calibration yet")
    assert 0 < cal["normal_share_with_findings"] <= F.NORMAL_SHARE
    assert cal["n_normals"] >= 200
    assert cal["lead"]["threshold"] > 0 and cal["beat"]["threshold"] > cal["lead"]["threshold"]
