"""ecgviewer.io._channels: which channels of a file are ECG leads."""

from __future__ import annotations

from ecgviewer.io._channels import classify_channels


def test_an_ep_labs_intracardiac_electrograms_are_not_ecg_leads():
    """A Bard EP recording's 14 channels (3 surface leads, 11 catheter pairs) all passed as
    ECG: the global QRS took its edges from the His and coronary sinus electrograms."""
    labels = ["I", "III", "V1", "ABL D", "ABL P", "CS 1-2", "CS 9-10", "HIS D", "HIS M"]
    labels += ["RV 1-2", "HRA 1,2", "EGM 3"]
    assert classify_channels(labels, [True] * len(labels)) == [True] * 3 + [False] * 9


def test_holter_leads_named_by_number_or_bipolar_position_stay_ecg():
    assert classify_channels(["CH1", "CH2", "CS5"], [True] * 3) == [True] * 3
    assert classify_channels(["CM5", "II"], [True, True]) == [True, True]
