"""Intervals from hand-placed fiducials, and impossible orders refused."""

from __future__ import annotations

import math

import pytest

from ecgviewer.signal.fiducials import FiducialOrderError, check_order, intervals_from_fiducials

FID = {
    "p_onset": -0.200,
    "p_offset": -0.090,
    "qrs_onset": -0.040,
    "qrs_offset": 0.050,
    "t_end": 0.360,
}


def test_intervals_follow_the_standard_definitions():
    iv = intervals_from_fiducials(FID, rr_ms=1000.0)
    assert iv["pr"] == 160.0 and iv["p_duration"] == 110.0
    assert iv["qrs"] == 90.0 and iv["qt"] == 400.0
    assert iv["qtc_bazett"] == 400.0 and iv["qtc_fridericia"] == 400.0  # RR 1 s: QTc = QT
    iv = intervals_from_fiducials(FID, rr_ms=640.0)
    assert iv["qtc_bazett"] == pytest.approx(400 / math.sqrt(0.64), abs=0.05)
    assert iv["qtc_fridericia"] == pytest.approx(400 / 0.64 ** (1 / 3), abs=0.05)


def test_missing_points_give_none_not_numbers():
    iv = intervals_from_fiducials({"qrs_onset": -0.04, "qrs_offset": 0.05})
    assert iv["qrs"] == 90.0
    assert iv["pr"] is iv["qt"] is iv["qtc_bazett"] is iv["rr"] is None


@pytest.mark.parametrize(
    "change, words",
    [
        ({"qrs_offset": -0.06}, "QRS offset (-60 ms) cannot be before QRS onset"),
        ({"p_onset": -0.03}, "P offset (-90 ms) cannot be before P onset"),
        ({"t_end": 0.01}, "T end (10 ms) cannot be before QRS offset"),
        ({"t_end": 1.5}, "not shorter than the RR interval"),
        ({"q_peak": 0.0}, "unknown fiducial"),
        ({"t_end": float("nan")}, "not a finite time"),
    ],
)
def test_impossible_orders_are_refused_with_a_message(change, words):
    with pytest.raises(FiducialOrderError, match=words.replace("(", r"\(").replace(")", r"\)")):
        intervals_from_fiducials({**FID, **change}, rr_ms=1000.0)


def test_p_offset_may_touch_qrs_onset():
    check_order({"p_offset": -0.04, "qrs_onset": -0.04})
    with pytest.raises(FiducialOrderError):
        check_order({"qrs_onset": 0.0, "qrs_offset": 0.0})
