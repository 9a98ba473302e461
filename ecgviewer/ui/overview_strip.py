"""Long-recording overview: the anomaly score over the whole recording, to navigate a Holter.

:class:`OverviewStrip` draws one value per 10 s window (filled in as the background job scores
them), the findings as markers and the page on screen as a shaded region; a click asks for that
time. :class:`LongRecordingPanel` adds paging (10 s / 1 min), "next finding" (walks the
recording's top anomalies, most unusual first) and the scoring controls (start, cancel,
resume where it stopped). The panel only emits ``position_changed(t0)``: the viewer owns the
page on screen.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from ecgviewer.analysis.long_recording import LongRecordingScores
from ecgviewer.record import Record
from ecgviewer.result import Finding
from ecgviewer.review.store import ReviewStore
from ecgviewer.ui.messages import show_error
from ecgviewer.ui.workers import JobTracker, Worker
from ecgviewer.wording import elapsed_text

log = logging.getLogger(__name__)

PAGE_S = 10.0
TOP_FINDINGS = 20


class TimeAxis(pg.AxisItem):
    """Time from the recording's start, h:mm:ss: the viewer's ruler uses the same convention
    (the clock time, when the file knows it, is in the position line)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.start = None  # kept for callers; the axis itself is always time from start

    def tickStrings(
        self, values: list[float], scale: float, spacing: float
    ) -> list[str]:  # pyqtgraph's name
        return [elapsed_text(float(v), long=True) for v in values]


def clock(record: Record | None, t: float) -> str:
    """Time from the start (h:mm:ss), plus the clock time when the file knows it."""
    text = elapsed_text(t)
    if record is not None and record.start is not None:
        text += f" (clock {clock_time(record.start, t)})"
    return text


def clock_time(start: datetime, t: float) -> str:
    """The clock time ``t`` s after ``start``, to the second as :func:`elapsed_text` rounds
    it (truncated, "0:01:05 from start" stood beside "clock 07:01:04")."""
    return (start + timedelta(seconds=round(t))).strftime("%H:%M:%S")


def done_message(state: LongRecordingScores, text: str, top: int = TOP_FINDINGS) -> str:
    """What a scoring run did, in words that agree with the progress bar and the button."""
    scored = int(np.isfinite(state.scores).sum())
    n_findings = min(len(state.findings), top)
    not_scored = state.n_done - scored
    if scored == 0 and state.problems:
        problem = max(state.problems.items(), key=lambda kv: kv[1])[0]
        return f"Not scored: {problem}."
    msg = f"{text}: {scored} of {state.n_windows} windows scored."
    if n_findings:
        msg += f" Next finding (F) walks the {n_findings} most unusual."
    elif scored:
        msg += " No findings."
    if not_scored > 0:
        why = ""
        if state.problems:
            why = ": " + max(state.problems.items(), key=lambda kv: kv[1])[0]
        msg += f" {not_scored} not scored{why}."
    return msg


class OverviewStrip(pg.PlotWidget):
    """Score per window over the whole recording; click to jump."""

    position_requested = Signal(float)  # seconds from the start (centre of the click)

    def __init__(self, parent: QWidget | None = None) -> None:
        self.axis = TimeAxis(orientation="bottom")
        super().__init__(parent, axisItems={"bottom": self.axis}, background="w")
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setMenuEnabled(False)
        self.setFixedHeight(120)
        item = self.getPlotItem()
        item.showGrid(x=True, y=False, alpha=0.25)
        # The curve's height ranks windows; raw model scores are not for reading off.
        item.setLabel("left", "unusual ↑")
        item.getAxis("left").setStyle(showValues=False)
        item.getAxis("left").setWidth(28)
        self.curve = pg.PlotDataItem(
            pen=pg.mkPen(QColor(40, 80, 230), width=1),
            fillLevel=0.0,
            brush=pg.mkBrush(40, 80, 230, 70),
            connect="finite",
        )
        self.markers = pg.ScatterPlotItem(
            symbol="t", size=9, pen=pg.mkPen(None), brush=pg.mkBrush(220, 60, 20)
        )
        self.region = pg.LinearRegionItem(
            movable=False, brush=pg.mkBrush(0, 0, 0, 40), pen=pg.mkPen(QColor(0, 0, 0, 160))
        )
        self.region.setZValue(10)
        for it in (self.curve, self.markers, self.region):
            self.addItem(it)
        self.duration = 1.0
        self.scene().sigMouseClicked.connect(self._clicked)

    def set_recording(self, record: Record) -> None:
        self.duration = max(record.duration, 1.0)
        self.axis.start = record.start
        self.setXRange(0, self.duration, padding=0.0)
        self.curve.setData([], [])
        self.markers.setData([], [])
        self.getPlotItem().setLabel("bottom", "time from start (h:mm:ss)")

    def set_scores(self, state: LongRecordingScores) -> None:
        x = state.centres()
        y = state.scores
        finite = y[np.isfinite(y)]
        if finite.size:
            # From just under the quietest windows, so the unusual ones stand out (a 0-based
            # axis squeezes a 24 h curve into a flat band at the top).
            lo, hi = float(np.percentile(finite, 1)), float(finite.max())
            floor = max(0.0, lo - 0.1 * max(hi - lo, 1e-6))
            self.curve.setFillLevel(floor)
            self.setYRange(floor, hi + 0.08 * max(hi - floor, 1e-6), padding=0.0)
        self.curve.setData(x, y)
        found = state.ranked_findings(TOP_FINDINGS)
        # Markers on the curve, at the finding's beat time and its window's score.
        self.markers.setData(
            [f.centre for f in found], [float(state.scores[state.window_of(f)]) for f in found]
        )

    def set_view(self, t0: float, t1: float) -> None:
        # At 24 h a 10 s page is < 1 px wide: draw at least 0.2% of the width so it shows.
        half = max(t1 - t0, self.duration * 0.002) / 2
        c = (t0 + t1) / 2
        self.region.setRegion((c - half, c + half))

    def _clicked(self, event: Any) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        vb = self.getPlotItem().vb
        pos = event.scenePos()
        if not vb.sceneBoundingRect().contains(pos):
            return
        t = float(vb.mapSceneToView(QPointF(pos)).x())
        self.position_requested.emit(min(max(t, 0.0), self.duration))


class _WindowsBridge(QObject):
    windows_scored = Signal(object)


class LongRecordingPanel(QWidget):
    """Overview strip + paging + "next finding" + background scoring of a long recording.

    Parameters
    ----------
    detector
        Detector object or factory for the job; None = the bundled model.
    store
        When given, window scores are saved per file, so scoring resumes after a restart.
    """

    position_changed = Signal(float)  # start of the page to show, seconds
    scoring_finished = Signal(object)  # LongRecordingScores
    finding_chosen = Signal(object)  # the Finding stepped to (times from the recording start)

    def __init__(
        self,
        detector: Any = None,
        store: ReviewStore | None = None,
        parent: QWidget | None = None,
        device: str = "auto",
        batch: int = 16,
    ) -> None:
        super().__init__(parent)
        self.detector, self.store, self.device, self.batch = detector, store, device, batch
        self.record: Record | None = None
        self.unscorable: str | None = None  # why the model cannot score this recording
        self.state: LongRecordingScores | None = None
        self.t0 = 0.0
        self.finding_index = -1
        self.jobs = JobTracker()
        self.worker: Worker | None = None
        self._bridge = _WindowsBridge(self)
        self._bridge.windows_scored.connect(self._on_windows)

        self.strip = OverviewStrip()
        self.strip.position_requested.connect(lambda t: self.go_to(t - PAGE_S / 2))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.addWidget(self.strip)
        row = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for key, text, tip, slot in (
            ("back1m", "◀◀ 1 min", "Alt+Shift+Left", lambda: self.page(-60.0)),
            ("back10", "◀ 10 s", "Alt+Left", lambda: self.page(-PAGE_S)),
            ("fwd10", "10 s ▶", "Alt+Right", lambda: self.page(PAGE_S)),
            ("fwd1m", "1 min ▶▶", "Alt+Shift+Right", lambda: self.page(60.0)),
            ("prev", "◀ Previous finding", "Shift+F", lambda: self.step_finding(-1)),
            ("next", "Next finding ▶", "F", lambda: self.step_finding(1)),
        ):
            b = QPushButton(text)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            row.addWidget(b)
            self.buttons[key] = b
            sc = QShortcut(QKeySequence(tip), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)
        row.addStretch(1)
        self.position_label = QLabel()
        row.addWidget(self.position_label)
        row.addStretch(1)
        self.progress = QProgressBar()
        self.progress.setFixedWidth(240)
        self.progress.setFormat("%v/%m windows scored")
        row.addWidget(self.progress)
        self.score_button = QPushButton("Score recording")
        self.score_button.clicked.connect(self.toggle_scoring)
        row.addWidget(self.score_button)
        lay.addLayout(row)
        self.finding_label = QLabel("Not scored yet: the overview fills in as windows are scored.")
        lay.addWidget(self.finding_label)
        self._enable(False)

    # -------------------------------------------------------------- recording and position
    def set_record(self, record: Record, state: LongRecordingScores | None = None) -> None:
        """Show a recording (cancels the scoring of the previous one)."""
        self.cancel_scoring()
        self.record = record
        from ecgviewer.analysis.scoring import unscorable_reason

        # The bundled model's lead rule; an injected detector (tests) scores what it can.
        self.unscorable = unscorable_reason(record) if self.detector is None else None
        self.state = state or LongRecordingScores.for_record(record, PAGE_S)
        self.t0 = 0.0
        self.finding_index = -1
        self.strip.set_recording(record)
        self.strip.set_scores(self.state)
        self.progress.setRange(0, self.state.n_windows)
        self.progress.setValue(self._n_scored())
        self._enable(True)
        self._update_button()
        if self.unscorable:
            self.finding_label.setText(f"Not scored: {self.unscorable}.")
        else:
            self.finding_label.setText(
                "Not scored yet: the overview fills in as windows are scored."
            )
        self.go_to(0.0)

    def _n_scored(self) -> int:
        return 0 if self.state is None else int(np.isfinite(self.state.scores).sum())

    def _enable(self, on: bool) -> None:
        for b in self.buttons.values():
            b.setEnabled(on)
        self.score_button.setEnabled(on)

    def go_to(self, t0: float) -> None:
        """Show the page starting at ``t0`` (clamped to the recording)."""
        if self.record is None:
            return
        self.show_position(t0)
        self.position_changed.emit(self.t0)

    def show_position(self, t0: float) -> None:
        """Marker and position line at ``t0`` without asking the viewer to move (it paged
        itself); the same time convention as the viewer's ruler."""
        if self.record is None:
            return
        last = max(0.0, self.record.duration - PAGE_S)
        self.t0 = min(max(0.0, float(t0)), last)
        self.strip.set_view(self.t0, self.t0 + PAGE_S)
        end_t = min(self.t0 + PAGE_S, self.record.duration)
        start, end = elapsed_text(self.t0, long=True), elapsed_text(end_t, long=True)
        pages = math.ceil(self.record.duration / PAGE_S)
        # The last page starts less than a page before the end: it is the last, not "9 of 10".
        number = pages if self.t0 >= last - 1e-6 else int(self.t0 // PAGE_S) + 1
        self.position_label.setText(
            f"{start} – {end} from start{self._clock_note(self.t0)}   (page {number} of {pages})"
        )

    def _clock_note(self, t: float) -> str:
        if self.record is None or self.record.start is None:
            return ""
        return f", clock {clock_time(self.record.start, t)}"

    def page(self, delta_s: float) -> None:
        self.go_to(self.t0 + delta_s)

    def step_finding(self, delta: int) -> Finding | None:
        """Go to the next (``delta=1``) or previous top anomaly, most unusual first."""
        found = self.state.ranked_findings(TOP_FINDINGS) if self.state is not None else []
        if not found:
            self.finding_label.setText(
                f"No findings: this recording cannot be scored ({self.unscorable})."
                if self.unscorable
                else "No findings yet: score the recording first."
            )
            return None
        self.finding_index = (self.finding_index + delta) % len(found)
        f = found[self.finding_index]
        centre = f.centre
        # The page is the scored window itself (what the score is about), which holds the beat.
        self.go_to(self.state.window_bounds(self.state.window_of(f))[0])
        lead = f" in lead {f.lead}" if f.lead else ""
        self.finding_label.setText(
            f"Finding {self.finding_index + 1} of {len(found)}: at {elapsed_text(centre, long=True)} from "
            f"start{self._clock_note(centre)}{lead}"
        )
        self.finding_chosen.emit(f)
        return f

    # -------------------------------------------------------------- scoring
    def toggle_scoring(self) -> None:
        if self.worker is not None and not self.worker.is_done:
            self.cancel_scoring()
        else:
            self.start_scoring()

    def start_scoring(self) -> Worker | None:
        """Score the windows not scored yet (a resume after a cancel)."""
        if self.record is None or self.state is None or self.unscorable:
            return None
        from ecgviewer.analysis.long_recording import long_recording_job

        record, state, bridge = self.record, self.state, self._bridge
        detector, store, device, batch = self.detector, self.store, self.device, self.batch

        def job() -> Any:
            return long_recording_job(
                record,
                state,
                detector,
                window_s=PAGE_S,
                batch=batch,
                store=store,
                emit=bridge.windows_scored.emit,
                device=device,
            )

        worker = Worker(job, kind="long_recording")
        self.worker = worker
        # The tracker delivers only while this job is current: no stale check per handler.
        self.jobs.start(
            worker,
            progress=self._on_progress,
            finished=lambda _state: self._on_done("Scoring finished"),
            cancelled=lambda: self._on_done("Scoring paused: press Resume to go on"),
            failed=self._on_failed,
        )
        self._update_button()
        return worker

    def cancel_scoring(self) -> None:
        self.jobs.cancel("long_recording")

    def _update_button(self, ended: bool = False) -> None:
        """``ended``: called from the worker's last signal, which the GUI thread may handle
        before the worker thread has marked itself done."""
        running = not ended and self.worker is not None and not self.worker.is_done
        done = self.state is not None and self.state.complete
        if getattr(self, "unscorable", None):
            self.score_button.setText("Cannot be scored")
            self.score_button.setEnabled(False)
            return
        self.score_button.setText(
            "Pause scoring"
            if running
            else (
                "Scored"
                if done
                else ("Resume scoring" if self.state and self.state.n_done else "Score recording")
            )
        )
        self.score_button.setEnabled(self.record is not None and (running or not done))

    def _on_windows(self, _indices: list[int]) -> None:
        if self.state is not None:
            self.strip.set_scores(self.state)

    def _on_progress(self, done: int, total: int, message: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(self._n_scored())
        self.progress.setToolTip(message)
        if message.startswith("Checking"):  # hashing a long file before the first window
            self.finding_label.setText(message + ": scores saved earlier are reused")

    def _on_done(self, text: str) -> None:
        self._update_button(ended=True)
        if self.state is not None:
            self.strip.set_scores(self.state)
            self.progress.setValue(self._n_scored())
            self.finding_label.setText(done_message(self.state, text))
            if self.state.complete:
                self.scoring_finished.emit(self.state)

    def _on_failed(self, exc: BaseException) -> None:
        self._update_button(ended=True)
        show_error(self, exc)

    def shutdown(self, timeout: float = 3.0) -> None:
        """Cancel and wait (the owner's closeEvent calls this)."""
        self.jobs.cancel_all()
        self.jobs.wait_all(timeout)
