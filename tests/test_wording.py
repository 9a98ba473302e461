"""One wording for percentiles, verdicts and flags in viewer, worklist, report and CLI."""

from __future__ import annotations

import math

import pytest

from ecgviewer import wording


@pytest.mark.parametrize(
    "p, text",
    [
        (100.0, "> 99.9 %"),
        (99.96, "> 99.9 %"),
        (99.94, "99.9 %"),
        (99.6, "99.6 %"),
        (50.0, "50.0 %"),
        (0.0, "< 0.1 %"),
        (0.04, "< 0.1 %"),
        (0.06, "0.1 %"),
        (None, "n/a"),
        (math.nan, "n/a"),
        (math.inf, "n/a"),
    ],
)
def test_percentile_is_never_100_or_0(p, text):
    assert wording.percentile_text(p) == text


def test_no_form_ever_says_100_0_or_0_0():
    for p in (0.0, 1e-9, 99.99, 100.0):
        for text in (wording.percentile_text(p), wording.verdict(p), wording.headline(p)):
            assert "100.0" not in text and " 0.0 %" not in text


@pytest.mark.parametrize(
    "p, word",
    [
        (99.0, "unusual"),
        (95.0, "unusual"),
        (94.9, "somewhat unusual"),
        (80.0, "somewhat unusual"),
        (79.9, "within normal range"),
        (None, "no percentile"),
    ],
)
def test_verdict_word(p, word):
    assert wording.verdict_word(p) == word


def test_headline_and_sentence():
    assert wording.headline(100.0) == "Unusual · above 99.9\u00a0% of normal ECGs"
    assert wording.headline(0.01) == "Within normal range · lower than 99.9\u00a0% of normal ECGs"
    assert wording.verdict(100.0) == (
        "Unusual for a normal ECG: more unusual than 99.9 % of normal ECGs"
    )
    assert wording.verdict(12.0).startswith("within the range of normal ECGs")


@pytest.mark.parametrize(
    "flag, text",
    [
        ("resampled_from_500Hz", "resampled from 500 Hz"),
        ("resampled_from_257.5Hz", "resampled from 257.5 Hz"),
        ("derived_limb_leads", "limb leads III, aVR, aVL, aVF computed from I and II"),
        ("short_record_padded", "shorter than the model's 10 s window: padded"),
        ("something_new", "something new"),
    ],
)
def test_flags_in_plain_words(flag, text):
    assert wording.flag_text(flag) == text
    assert "_" not in wording.flag_text(flag)


def test_elapsed_time_one_convention():
    assert wording.elapsed_text(7.5) == "7.5 s"
    assert wording.elapsed_text(3725.0) == "1:02:05"
    assert wording.elapsed_text(11.0, long=True) == "0:00:11"


@pytest.mark.parametrize(
    ("score", "text"),
    [
        (5.44, "5.4"),
        (20.0, "20.0"),
        (20.01, "> 20"),
        (106.0, "> 20"),
        (None, "-"),
        (float("nan"), "-"),
    ],
)
def test_a_findings_size_beyond_20_sd_is_not_printed_as_a_number(score, text):
    assert wording.sd_text(score) == text


ALL_OFF = "lead_off:I,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5,V6"


@pytest.mark.parametrize(
    ("p", "flags", "word"),
    [
        (None, [ALL_OFF, "no_r_peaks"], "not scored: recording problem"),
        (None, ["clipped:I,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5,V6"], "not scored: recording problem"),
        (None, ["lead_off:V1,V2,V3,V4,V5,V6"], "recording problem"),
        (99.5, ["noisy:V1"], "unusual"),  # a possible problem: the score stands, flags say it
        (50.0, [], "within normal range"),
    ],
)
def test_table_verdict_says_a_recording_problem_first(p, flags, word):
    assert wording.table_verdict(p, flags) == word


def test_a_score_table_row_has_no_number_for_a_record_it_cannot_score():
    """A real Philips export with every lead flat (its cart printed "defective ECG"): the model
    still returns a number, but the quality check leaves no lead to score."""
    from types import SimpleNamespace

    from ecgviewer.analysis import archive, score_table

    result = SimpleNamespace(
        score=-0.91, percentile=None, flags={ALL_OFF, "no_r_peaks"}, lead_scores={"I": 1.0}
    )
    row = archive.result_row("f.xml", "", result, "v1")
    assert row["score"] == row["percentile"] == row["top_leads"] == ""
    assert row["verdict"] == "not scored: recording problem" and "lead_off:I" in row["flags"]
    table = score_table.result_row("f.xml", "", result, 1.0)
    assert table["score"] is None and table["top_leads"] == []
    assert table["verdict"] == "not scored: recording problem"


def test_headline_counts_local_findings_where_the_whole_ecg_is_not_unusual():
    """A PVC's four findings at 99.9 % under "Within normal range · percentile 19.6 %" read
    as a contradiction; the headline now names them (an unusual ECG needs no such note)."""
    assert (
        wording.headline(19.6, 4)
        == "Within normal range · above 19.6\u00a0% of normal ECGs · 4 local findings"
    )
    assert wording.headline(90.0, 1).endswith("· 1 local finding")
    assert wording.headline(99.5, 3) == wording.headline(99.5)
    assert wording.headline(19.6, 0) == wording.headline(19.6)


def test_an_unusual_ecg_without_findings_says_which_parts_make_it_so():
    """A complete AV block with a QT of 660 ms read "Unusual 99.6 %" over "findings: none";
    the score's parts now say where to look."""
    parts = {"beat_knn": 2.29, "measure_mahal": 4.01, "qrst_angle": 0.93, "measure_amp": 0.15}
    text = wording.whole_ecg_reason(parts)
    assert text.startswith("unusual as a whole, not in one place: mostly its measurements")
    restoring = wording.whole_ecg_reason({"combined_w": 2.1})
    assert restoring.startswith(
        "unusual as a whole, not in one place: mostly its restoration error"
    )
    assert text.index("measurements") < text.index("beat shape")
    assert "QRS-T" not in text  # below 1 SD: not a reason
    assert wording.whole_ecg_reason({"beat_knn": -1.5}) == ""
    assert wording.whole_ecg_reason(None) == ""


def test_measurement_note_says_which_numbers_are_far_from_normal():
    note = wording.measurement_note({"pr_ms": 6.0, "qrs_axis_deg": -4.46, "heart_rate_bpm": 4.2})
    assert note == (
        "measurements beyond normal ECGs: PR longer (≥ 6 SD), QRS axis (4.5 SD from normal), "
        "heart rate faster (4.2 SD)"
    )
    assert wording.measurement_note({}) == "" and wording.measurement_note(None) == ""
