"""The bundled demo ECG: reproducible from its script, readable, physiologically consistent."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import wfdb

from ecgviewer.paths import resource
from ecgviewer.record import STANDARD_LEADS
from ecgviewer.signal.intervals import measure_signal
from ecgviewer.signal.rpeaks import detect_r_peaks

DEMO = resource("demo/demo_ecg.hea")


def _script() -> ModuleType:
    path = resource("make_demo_ecg.py")
    spec = importlib.util.spec_from_file_location("make_demo_ecg", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_regenerating_gives_identical_files(tmp_path: Path) -> None:
    hea = _script().write(tmp_path)
    assert hea.read_bytes() == DEMO.read_bytes()
    assert hea.with_suffix(".dat").read_bytes() == DEMO.with_suffix(".dat").read_bytes()


def _read():
    try:
        from ecgviewer.io import read
    except ImportError:  # pragma: no cover - the reader package is part of the project
        pytest.skip("ecgviewer.io is not available")
    return read(DEMO)


def test_reads_as_a_synthetic_standard_12_lead() -> None:
    rec = _read()
    assert rec.fs == 500.0
    assert tuple(rec.leads) == STANDARD_LEADS
    assert rec.signal.shape == (12, 5000)
    assert rec.patient.age == 64 and rec.patient.sex == "M"
    header = wfdb.rdheader(str(DEMO.with_suffix("")))
    assert any("SYNTHETIC" in c for c in header.comments)
    assert header.units == ["mV"] * 12 and header.fmt == ["16"] * 12
    # Same samples through wfdb itself (the reader converts nothing else).
    ref = wfdb.rdrecord(str(DEMO.with_suffix(""))).p_signal.T
    np.testing.assert_allclose(np.asarray(rec.signal), ref, atol=1e-6)


def test_einthoven_and_goldberger_hold() -> None:
    x = {
        n: row
        for n, row in zip(
            STANDARD_LEADS, wfdb.rdrecord(str(DEMO.with_suffix(""))).p_signal.T, strict=True
        )
    }
    np.testing.assert_allclose(x["III"], x["II"] - x["I"], atol=1e-9)
    np.testing.assert_allclose(x["aVR"] + x["aVL"] + x["aVF"], 0.0, atol=0.0016)
    np.testing.assert_allclose(x["aVF"], x["II"] - x["I"] / 2, atol=0.0006)


def _abnormal_span() -> tuple[float, float]:
    header = wfdb.rdheader(str(DEMO.with_suffix("")))
    for c in header.comments:
        m = re.search(r"abnormal: .* from ([0-9.]+) s to ([0-9.]+) s", c)
        if m:
            return float(m.group(1)), float(m.group(2))
    raise AssertionError("no abnormal span in the header comments")


def test_rhythm_with_one_premature_beat_and_compensatory_pause() -> None:
    rec = wfdb.rdrecord(str(DEMO.with_suffix("")))
    x, fs = rec.p_signal.T, float(rec.fs)
    peaks = detect_r_peaks(x, fs)
    rr = np.diff(peaks) / fs
    hr = 60 / np.median(rr)
    assert 60 <= hr <= 80
    t0, t1 = _abnormal_span()
    assert 5.0 <= t0 < t1 <= 7.5
    k = int(np.argmin(rr))  # the premature beat ends RR k
    assert rr[k] < 0.75 * np.median(rr)
    assert t0 <= peaks[k + 1] / fs <= t1
    # Full compensatory pause: coupling + pause = two sinus cycles (within HRV).
    assert rr[k] + rr[k + 1] == pytest.approx(2 * np.median(rr), rel=0.08)
    # All other beats are regular sinus beats.
    others = np.delete(rr, [k, k + 1])
    assert others.max() / others.min() < 1.2


def test_intervals_match_the_stated_ones() -> None:
    rec = wfdb.rdrecord(str(DEMO.with_suffix("")))
    x, fs = rec.p_signal.T, float(rec.fs)
    # The synthetic's nominal wave edges, so the raw detector edges (our defaults are
    # calibrated to cardiologists' wider global edges: QT reads ~55 ms longer).
    iv = measure_signal(x, fs, rec.sig_name, detect_r_peaks(x, fs), calibration={})
    assert iv.pr_ms == pytest.approx(160, abs=20)
    assert iv.qrs_ms == pytest.approx(90, abs=20)
    assert iv.qt_ms == pytest.approx(400, abs=20)
