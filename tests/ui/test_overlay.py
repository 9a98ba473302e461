"""Verdict wording and findings ranking (Qt-free)."""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer.result import Finding
from ecgviewer.ui.overlay import finding_text, findings_from, flag_texts, heat_scale, verdict
from tests.ui.fakes import FakeScoreResult


@pytest.mark.parametrize(
    "p, words",
    [
        (98.4, "Unusual for a normal ECG: more unusual than 98.4 % of normal ECGs"),
        (100.0, "more unusual than 99.9 % of normal ECGs"),
        (85.0, "Somewhat unusual"),
        (40.0, "within the range of normal ECGs"),
        (None, "no percentile"),
    ],
)
def test_verdict(p, words):
    assert words in verdict(p)


def _result(beats, amap=None):
    amap = np.zeros((2, 100), np.float32) if amap is None else amap
    return FakeScoreResult(1.0, 50.0, {}, beats, amap, amap)


def test_findings_are_the_results_own_in_shown_leads_only():
    # Beats alone are no findings: a normal ECG's beats must not fill the list.
    res = _result([(0.0, 0.5, 1.0, {"I": 0.2, "II": 0.9}), (1.0, 1.5, 3.0, {"I": 2.0})])
    assert findings_from(res, ["I", "II"]) == []
    res.findings = [
        Finding("V2", 1.0, 1.5, 4.0, 99.9, "beat"),
        Finding("II", 0.0, 9.0, 2.5, 99.0, "shape"),
    ]
    found = findings_from(res, ["I", "II"])
    assert [f.lead for f in found] == ["II"]
    assert found[0].centre == pytest.approx(4.5)
    assert "lead II" in finding_text(found[0]) and "2.5 SD" in finding_text(found[0])
    assert "normal-beat bank" in finding_text(found[0])
    assert "normal ECGs" in finding_text(found[0])  # not "ecgs": only the first letter lowered


def test_findings_from_a_cached_summary_are_read_back():
    res = _result([])
    res.findings = [Finding("III", 0.5, 1.5, 3.0, 99.5, "restoration").to_json()]  # as cached
    assert findings_from(res, ["III"]) == [Finding("III", 0.5, 1.5, 3.0, 99.5, "restoration")]


def test_heat_scale_is_positive_even_for_an_empty_map():
    assert heat_scale(_result([])) == 1.0
    amap = np.zeros((2, 1000), np.float32)
    amap[:, :500] = 2.0
    assert heat_scale(_result([], amap)) == pytest.approx(2.0)


def test_flags_in_words_known_and_unknown():
    result = _result([])
    result.flags = {"no_r_peaks", "resampled_from_500Hz"}
    texts = flag_texts(result)
    assert any(t.startswith("no R peaks found") and "flat" in t for t in texts)
    assert "resampled from 500 Hz" in texts


def test_a_recording_problem_is_not_called_an_unusual_ecg():
    off = {"lead_off:V1,V2,V3,V4,V5,V6", "resampled_from_800Hz"}
    words = verdict(None, off)
    assert words.startswith("Recording problem, not an unusual ECG: chest leads V1-V6 disconnected")
    assert "remaining leads I-aVF" in words
    noisy = verdict(98.4, {"noisy:II"})
    assert (
        noisy.startswith("Possible recording problem: heavy noise in lead II")
        and "more unusual than 98.4 % of normal ECGs" in noisy
    )
    assert "may reflect the recording problem" in noisy
    assert "Not scored" in verdict(
        None,
        {
            "lead_off:"
            + ",".join(["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"])
        },
    )


def test_quality_flags_are_told_once_in_quality_lines():
    from ecgviewer.signal.quality import LeadQuality, SignalQuality
    from ecgviewer.ui.overlay import quality_lines

    quality = SignalQuality((LeadQuality("I"), LeadQuality("V1", ("lead_off",), detail="flat")))
    result = type("R", (), {"flags": quality.flags | {"no_r_peaks"}, "quality": quality})()
    assert quality_lines(result) == [
        "signal quality: lead V1 disconnected (no ECG signal)",
        "  V1: flat",
    ]
    assert all("lead off" not in t for t in flag_texts(result)) and len(flag_texts(result)) == 1
