"""Long-recording overview: fills while scoring, click jumps, paging, next finding, pause/resume."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from ecgviewer.record import Record
from ecgviewer.ui.overview_strip import PAGE_S, LongRecordingPanel
from tests.analysis.fake_detector import FakeDetector

SPIKES = (125.0, 431.0, 302.0)  # the last is the largest


def recording(minutes: float = 10, fs: float = 100.0) -> Record:
    n = int(minutes * 60 * fs)
    t = np.arange(n) / fs
    sig = np.tile(0.2 * np.sin(2 * np.pi * 1.1 * t), (3, 1)).astype(np.float32)
    for k, at in enumerate(SPIKES):
        sig[1, int(at * fs)] = 3.0 + k
    return Record(sig, fs, ["I", "II", "V1"])


class GatedDetector(FakeDetector):
    """Blocks in its third call until the test opens the gate: a pause lands mid-recording."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.waiting = threading.Event()

    def score_many(self, records, batch=32):
        if len(self.batches) == 2 and not self.gate.is_set():
            self.waiting.set()
            self.gate.wait(10.0)
        return super().score_many(records, batch)


@pytest.fixture
def panel(qtbot):
    p = LongRecordingPanel(detector=FakeDetector(), batch=8)
    qtbot.addWidget(p)
    p.resize(1000, 200)
    p.show()
    p.set_record(recording())
    yield p
    p.shutdown()


def test_scores_fill_the_strip_and_next_finding_walks_top_anomalies(qtbot, panel):
    worker = panel.start_scoring()
    with qtbot.waitSignal(panel.scoring_finished, timeout=20_000):
        pass
    assert worker.is_done and panel.state.complete
    x, y = panel.strip.curve.getData()
    assert len(x) == 60 and np.nanmax(y) == pytest.approx(5.0, abs=1e-3)
    seen = []
    panel.position_changed.connect(seen.append)
    for expected in (302.0, 431.0, 125.0):
        panel.step_finding(1)
        assert seen[-1] <= expected <= seen[-1] + PAGE_S
    panel.step_finding(-1)
    assert seen[-1] <= 431.0 <= seen[-1] + PAGE_S
    assert "Finding 2 of" in panel.finding_label.text()


def test_paging_and_clamping(panel):
    panel.go_to(100.0)
    panel.page(PAGE_S)
    assert panel.t0 == 110.0
    panel.page(60.0)
    assert panel.t0 == 170.0
    panel.page(-1000.0)
    assert panel.t0 == 0.0
    panel.page(1e6)
    assert panel.t0 == 600.0 - PAGE_S


def test_click_on_the_strip_jumps_there(qtbot, panel):
    seen = []
    panel.position_changed.connect(seen.append)
    vb = panel.strip.getPlotItem().vb
    scene_pt = vb.mapViewToScene(QPointF(300.0, 0.5))
    view_pt = panel.strip.mapFromScene(scene_pt)
    qtbot.mouseClick(panel.strip.viewport(), Qt.MouseButton.LeftButton, pos=view_pt)
    assert seen and seen[-1] == pytest.approx(300.0 - PAGE_S / 2, abs=3.0)


def test_pause_and_resume_score_each_window_once(qtbot):
    det = GatedDetector()
    panel = LongRecordingPanel(detector=det, batch=4)
    qtbot.addWidget(panel)
    panel.set_record(recording())
    worker = panel.start_scoring()
    assert det.waiting.wait(10.0)  # two batches done, the third is in the model
    with qtbot.waitSignal(worker.signals.cancelled, timeout=10_000):
        panel.toggle_scoring()  # pause: takes effect at the next batch boundary
        det.gate.set()
    paused_at = panel.state.n_done
    assert paused_at == 12  # the batch in flight finishes, nothing after it
    assert panel.score_button.text() == "Resume scoring"
    with qtbot.waitSignal(panel.scoring_finished, timeout=20_000):
        panel.toggle_scoring()  # resume
    assert panel.state.complete and det.records == 60
    assert panel.score_button.text() == "Scored"
    # The worker's last signal can reach the GUI thread before the worker thread has marked
    # itself done (a busy machine): the button must not fall back to "Pause scoring".
    panel.worker._done.clear()
    panel._on_done("Scoring finished")
    assert panel.score_button.text() == "Scored"
    panel.worker._done.set()
    panel.shutdown()


def test_windows_the_model_refuses_are_explained(qtbot):
    panel = LongRecordingPanel(detector=FakeDetector(fail_leads_below=12), batch=8)
    qtbot.addWidget(panel)
    panel.set_record(recording(minutes=8))  # 3 leads: the fake model wants 12
    with qtbot.waitSignal(panel.scoring_finished, timeout=20_000):
        panel.start_scoring()
    assert panel.state.complete and not panel.state.findings
    # one plain statement, no "finished: 48 of 48 ... 48 not scored" contradiction
    assert panel.finding_label.text() == "Not scored: needs more leads."
    assert panel.progress.value() == 0
    panel.shutdown()


def test_done_message_agrees_with_what_happened():
    import numpy as np

    from ecgviewer.analysis.long_recording import LongRecordingScores
    from ecgviewer.record import Record
    from ecgviewer.ui.overview_strip import done_message

    rec = Record(np.zeros((1, 100 * 1810), np.float32), 100.0, ["II"], source="h.edf")
    state = LongRecordingScores.for_record(rec, 10.0)
    state.done[:] = True
    state.problems = {"the model needs the 12 standard leads; this record has II": 181}
    msg = done_message(state, "Scoring finished")
    assert msg == "Not scored: the model needs the 12 standard leads; this record has II."
    assert "walks the 0" not in msg
    state.scores[:100] = 1.0
    state.problems = {"too short": 81}
    msg = done_message(state, "Scoring finished")
    assert msg.startswith("Scoring finished: 100 of 181 windows scored.")
    assert "No findings." in msg and "81 not scored: too short." in msg


def test_the_last_page_is_numbered_last_and_clock_times_agree(qtbot):
    """A 95.6 s Holter's last page read "0:01:26 – 0:01:36 (page 9 of 10)" and never 10 of
    10; "0:01:05 from start" stood beside "clock 07:01:04" (rounded against truncated)."""
    from datetime import datetime

    from ecgviewer.ui.overview_strip import clock

    p = LongRecordingPanel(detector=FakeDetector(), batch=8)
    qtbot.addWidget(p)
    sig = np.tile(0.2 * np.sin(np.arange(9560) / 10.0), (3, 1)).astype(np.float32)
    rec = Record(sig, 100.0, ["I", "II", "V1"], start=datetime(2020, 1, 1, 7, 0, 0))
    p.set_record(rec)
    p.go_to(1e6)
    assert p.position_label.text().endswith("(page 10 of 10)")
    assert "0:01:36" in p.position_label.text()  # the end, rounded: not past it
    assert clock(rec, 64.6) == "0:01:05 (clock 07:01:05)"
    p.shutdown()


def test_next_finding_says_why_a_recording_has_none(qtbot):
    """A two-lead Holter: the button said "Cannot be scored" and Next finding "score the
    recording first"."""
    p = LongRecordingPanel(detector=None, batch=8)
    qtbot.addWidget(p)
    p.set_record(recording())
    assert p.unscorable
    assert p.step_finding(1) is None
    assert "cannot be scored" in p.finding_label.text()
    p.shutdown()
