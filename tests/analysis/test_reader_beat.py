"""The machine beat the interval editor starts from matches the viewer's measurement."""

from __future__ import annotations

import pytest

from ecgviewer.analysis.reader_beat import machine_beat
from ecgviewer.record import Record
from ecgviewer.signal.fiducials import intervals_from_fiducials
from ecgviewer.signal.synthetic import synthetic_ecg


@pytest.mark.parametrize("fs", [100, 500])
def test_fiducials_reproduce_the_measured_intervals(fs):
    s = synthetic_ecg(fs=fs, duration=10, seed=3)
    rec = Record(s.signal, s.fs, list(s.leads))
    mb = machine_beat(rec)
    assert mb.beat is not None and mb.beat.shape[0] == 12 and mb.fs == 500.0
    assert {"qrs_onset", "qrs_offset", "t_end"} <= set(mb.fiducials)
    iv = intervals_from_fiducials(mb.fiducials, mb.rr_ms)
    from ecgviewer.signal.intervals import measure_intervals
    from ecgviewer.signal.rpeaks import detect_r_peaks

    ref = measure_intervals(
        rec.signal, rec.fs, rec.leads, detect_r_peaks(rec.signal, rec.fs, lead=1)
    )
    assert iv["qrs"] == pytest.approx(ref.qrs_ms, abs=0.2)
    assert iv["qt"] == pytest.approx(ref.qt_ms, abs=0.2)
    assert mb.times_ms()[mb.r_index] == 0.0


def test_flat_line_gives_a_reason_not_a_beat():
    import numpy as np

    rec = Record(
        np.zeros((12, 5000), np.float32), 500.0, list(synthetic_ecg(fs=500, duration=1).leads)
    )
    mb = machine_beat(rec)
    assert mb.beat is None and mb.reason
