"""The scoring controller: measurements, then the model, said through signals in that order."""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer.record import STANDARD_LEADS, Record
from ecgviewer.ui.scoring_controller import ScoringController, default_scoring_job
from ecgviewer.ui.state import ViewState
from ecgviewer.ui.workers import JobTracker
from tests.ui.fakes import fake_job


def _record(seconds: float = 10.0, leads: tuple[str, ...] = STANDARD_LEADS) -> Record:
    from ecgviewer.signal.synthetic import synthetic_ecg

    ecg = synthetic_ecg(fs=250.0, duration=seconds, seed=1)
    sig = np.asarray(ecg.signal)
    rows = [list(ecg.leads).index(lead) for lead in leads]
    return Record(sig[rows], 250.0, list(leads))


@pytest.fixture
def make(qtbot):
    """Make a controller with ``job``; returns it and the list of (signal, argument) it said."""
    jobs = JobTracker()

    def controller(job=fake_job) -> tuple[ScoringController, list[tuple[str, object]]]:
        ctl = ScoringController(jobs, ViewState(), job)
        said: list[tuple[str, object]] = []
        for name in ("measured", "scoring_started", "scored", "not_scored", "left_to_overview"):
            getattr(ctl, name).connect(
                lambda *args, n=name: said.append((n, args[0] if args else None))
            )
        return ctl, said

    yield controller
    jobs.cancel_all()
    jobs.wait_all(3.0)


def test_measures_then_scores_the_record(qtbot, make):
    ctl, said = make()
    rec = _record()
    ctl.start(rec)
    qtbot.waitUntil(lambda: any(n == "scored" for n, _ in said), timeout=30_000)
    names = [n for n, _ in said]
    assert names == ["measured", "scoring_started", "scored"]
    assert 60 < said[0][1].hr_bpm < 80  # the synthetic ECG beats at 70 per minute
    assert getattr(said[2][1], "score", None) is not None
    assert ctl.elapsed_s() >= 0.0


def test_a_record_without_the_model_leads_is_not_scored_and_says_why(qtbot, make):
    ctl, said = make(default_scoring_job)
    ctl.start(_record(leads=("I", "II", "V1")))
    qtbot.waitUntil(lambda: any(n == "not_scored" for n, _ in said), timeout=30_000)
    reason = dict(said)["not_scored"]
    assert "12 standard leads" in reason and "scoring_started" not in dict(said)


def test_a_long_recording_is_left_to_the_overview(qtbot, make):
    ctl, said = make()
    ctl.long_recording_s = 60.0
    ctl.start(_record(seconds=90.0))
    qtbot.waitUntil(lambda: any(n == "left_to_overview" for n, _ in said), timeout=30_000)
    assert "scoring_started" not in dict(said)
