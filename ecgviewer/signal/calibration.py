"""Where a record's ECG ends when the cart wrote its calibration pulse after it.

Philips carts (Sierra XML, and Philips' own HL7 aECG conversions of them) append to every
lead, after the 10.5 s ECG: a flat stretch, a 1 mV square pulse of 200 ms, flat again. The
readers keep it, as the cart prints it, and label it with an annotation whose text starts
with :data:`~ecgviewer.record.CALIBRATION_PULSE_TEXT`. Whatever measures or scores the ECG
stops before it: left in, the R-peak detector took the pulse for a beat at 10.7 s, the
quality check for a clipped lead and the anomaly model for an anomaly (its heat band and
findings on the pulse).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ecgviewer.record import CALIBRATION_PULSE_TEXT, CALIBRATION_SAME_MV


def ecg_end(record: Any) -> int | None:
    """The sample where the ECG ends, before the cart's calibration stretch (the flat samples
    before the labelled pulse included), or None when the record has no pulse label."""
    if not isinstance(getattr(record, "signal", None), np.ndarray):
        return None  # a paged Holter: no cart pulse, and its annotations are many
    onsets = [
        a.onset
        for a in getattr(record, "annotations", ())
        if str(a.text).startswith(CALIBRATION_PULSE_TEXT) and getattr(a, "lead", None) is None
    ]
    n = int(record.n_samples)
    if not onsets:
        return None
    pulse = int(round(min(onsets) * float(record.fs)))
    if not 0 < pulse < n:
        return None
    names = list(getattr(record, "ecg_leads", record.leads))
    rows = [record.leads.index(name) for name in names]
    before = np.asarray(record.signal[rows, :pulse], dtype=np.float64)
    flat = np.abs(before).max(axis=0) <= CALIBRATION_SAME_MV
    alike = flat & (np.ptp(before, axis=0) <= CALIBRATION_SAME_MV)
    differ = np.flatnonzero(~alike)
    # Nothing but flat samples before the pulse (every electrode off: the cart itself prints
    # "defective ECG"): that flat line is the ECG, and the pulse is still not.
    return int(differ[-1]) + 1 if differ.size else pulse
