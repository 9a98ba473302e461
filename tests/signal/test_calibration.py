"""ecgviewer.signal.calibration: where the ECG ends before a cart's calibration pulse, and
everything that measures the ECG stopping there (the fixtures are Philips exports)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ecgviewer.io import read
from ecgviewer.record import CALIBRATION_PULSE_TEXT
from ecgviewer.signal.calibration import ecg_end
from ecgviewer.signal.intervals import measure
from ecgviewer.signal.quality import assess_record
from ecgviewer.signal.rpeaks import detect_r_peaks

from ..conftest import FIXTURES

SIERRA = FIXTURES / "other" / "philips_sierra_1-04_ad4d3d80_orig.xml"
CONVERTED = FIXTURES / "hl7aecg" / "philips_ad4d3d80_converted.xml"


@pytest.mark.parametrize("path", [SIERRA, CONVERTED])
def test_the_ecg_ends_before_the_flat_stretch_and_the_pulse(path):
    rec = read(path)
    pulse = [a for a in rec.annotations if a.text.startswith(CALIBRATION_PULSE_TEXT)]
    assert len(pulse) == 1 and pulse[0].onset == pytest.approx(10.7)
    end = ecg_end(rec)
    assert end == 5300  # 10.6 s: the flat 100 ms before the pulse is the cart's too
    x = rec.signal[:, end:]
    assert np.all((np.abs(x) <= 0.025) | (np.abs(x - 1) <= 0.025))  # only 0 and 1 mV after
    assert np.ptp(rec.signal[:, end - 50 : end], axis=0).max() > 0.05  # ECG before it


def test_no_label_no_end():
    rec = read(FIXTURES / "hl7aecg" / "hl7_example_mortara_eli250.xml")
    assert ecg_end(rec) is None
    unlabelled = dataclasses.replace(read(SIERRA), annotations=[])
    assert ecg_end(unlabelled) is None  # the label, not a guess, says where the pulse is


def test_the_pulse_is_neither_a_beat_nor_clipping():
    rec = read(SIERRA)
    end = ecg_end(rec)
    ecg = rec.slice(0, end / rec.fs)
    # Left in, the detector found a beat at 10.71 s and the quality check a clipped V6.
    assert detect_r_peaks(np.asarray(rec.signal, float), rec.fs, lead=1).max() > end
    quality = assess_record(rec)
    assert not quality.leads_with("clipped")
    assert quality.to_dict() == assess_record(ecg).to_dict()
    whole, cut = measure(rec), measure(ecg)
    for name in ("heart_rate_bpm", "rr_ms", "pr_ms", "qrs_ms", "qt_ms", "qrs_axis_deg"):
        assert getattr(whole, name) == getattr(cut, name), name
    assert whole.beats.n_detected == cut.beats.n_detected == 7  # 8 with the pulse


def test_a_flat_ecg_before_the_pulse_is_lead_off_not_clipping():
    """A real Philips export whose 12 leads are flat up to the pulse (the cart printed
    "defective ECG"): the ECG is that flat line, so every lead is off; the pulse left in
    made them all "clipped" (flat at their extremes)."""
    rec = read(SIERRA)
    flat = rec.signal.copy()
    flat[:, :5300] = 0.0
    rec = dataclasses.replace(rec, signal=flat)
    assert ecg_end(rec) == 5350  # the pulse's first sample: 10.7 s
    quality = assess_record(rec)
    assert not quality.leads_with("clipped")
    assert set(quality.leads_with("lead_off")) == set(rec.ecg_leads)
