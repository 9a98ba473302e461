"""QRS pattern of the median beat: a lost R wave and a Q wave score in their own lead only."""

from __future__ import annotations

import numpy as np

from model import findings as F
from model.config import ModelConfig
from model.qrs_pattern import qrs_pattern, record_median_beat

CFG = ModelConfig()


def _beat(r_mv: float, q_mv: float) -> np.ndarray:
    """(bank_len,) mV at 100 Hz: a Q wave 30 ms and an R wave at the R position, on 0.1 mV."""
    x = np.full(CFG.bank_len, 0.1)
    r = CFG.bank_pre
    x[r - 3] -= q_mv
    x[r] += r_mv
    x[r + 3] -= 0.2  # S wave
    return x


def test_lost_r_and_q_wave_are_measured_per_lead_in_mv() -> None:
    beats = np.stack([_beat(1.0, 0.0) for _ in range(12)])
    beats[7] = _beat(0.1, 0.8)  # V2: QS-like, as after an anteroseptal infarct
    out = qrs_pattern(beats, CFG)
    assert out["r_loss"][0] == -1.0 and out["r_loss"][7] == -0.1  # baseline 0.1 mV removed
    assert out["q_wave"][0] == 0.0
    assert out["q_wave"][7] == 0.8 / (0.1 + 0.05)
    assert int(np.argmax(out["r_loss"])) == int(np.argmax(out["q_wave"])) == 7


def test_the_record_median_beat_skips_windows_without_a_beat() -> None:
    beats = np.stack([np.stack([_beat(1.0, 0.0)] * 12), np.full((12, CFG.bank_len), np.nan)])
    assert np.allclose(record_median_beat(beats), beats[0])
    assert record_median_beat(beats[1:]) is None and record_median_beat(None) is None
    assert np.isnan(qrs_pattern(None, CFG)["r_loss"]).all()


def _evidence(rng: np.random.Generator, v2_r: float, v2_q: float = 0.05) -> F.Evidence:
    """Random restoration evidence for 12 leads whose V2 (row 7) has this R and Q (mV)."""
    beats = np.stack([_beat(1.0 + rng.normal(scale=0.1), 0.05) for _ in range(12)])
    beats[7] = _beat(v2_r, v2_q)
    lead = {p: rng.normal(scale=0.3, size=12) for p in F.PARTS}
    lead.update(qrs_pattern(beats, CFG))
    beat = {p: rng.normal(scale=0.3, size=(12, 5)) for p in F.PARTS}
    spans = np.stack([np.arange(5.0), np.arange(5.0) + 0.9], axis=1)
    return F.Evidence(lead, beat, spans, 10.0)


def test_lead_scores_rank_the_lead_that_lost_its_r_wave_first() -> None:
    rng = np.random.default_rng(0)

    def evidence(v2_r: float) -> F.Evidence:
        return _evidence(rng, v2_r)

    normals = [evidence(1.0 + rng.normal(scale=0.1)) for _ in range(200)]
    cal = F.fit_calibration(normals, tuple(CFG.leads))
    assert set(F.LEAD_SCORE_PARTS) <= set(cal["lead"]["mean"])
    scores = F.lead_scores(evidence(0.05), cal)
    assert int(np.argmax(scores)) == 7


def test_a_qrs_pattern_beyond_every_normal_is_a_whole_lead_finding() -> None:
    rng = np.random.default_rng(1)

    def evidence(v2_r: float, v2_q: float = 0.05) -> F.Evidence:
        return _evidence(rng, v2_r, v2_q)

    normals = [evidence(1.0 + rng.normal(scale=0.1)) for _ in range(200)]
    cal = F.fit_calibration(normals, tuple(CFG.leads))
    assert cal["qrs"]["threshold"] > 0
    assert not [f for f in F.findings(evidence(1.0), cal, tuple(CFG.leads)) if f.lead == "V2"]
    found = [f for f in F.findings(evidence(0.05, 0.6), cal, tuple(CFG.leads)) if f.lead == "V2"]
    assert found and found[0].part in ("r_loss", "q_wave")
    assert found[0].score > cal["qrs"]["threshold"]
