"""The background work for the ECG on screen, as a controller the main window owns.

:class:`ScoringController` runs the jobs one after the other on the Worker pool: the display
filter's import (first start only), measurements, then the anomaly model. It owns their state
(which job follows, the elapsed clock, when the heap is frozen) and says what happened through
signals; the window shows it. Results of jobs for an ECG no longer on screen are dropped by the
window's :class:`~ecgviewer.ui.workers.JobTracker`, so no handler checks for stale results.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from ecgviewer.record import Record
from ecgviewer.ui.display import Measurements, filters_loaded, load_filters_job, measure_job
from ecgviewer.ui.state import PAGE_SECONDS, ViewState
from ecgviewer.ui.workers import JobTracker, Worker

log = logging.getLogger(__name__)

MEASURE_SECONDS = 60.0  # heart rate and intervals over this much signal (around the page)

ScoringJobFactory = Callable[[Record, str], Generator[Any, None, Any]]


def default_scoring_job(record: Record, device: str) -> Generator[Any, None, Any]:
    """The real model job; imported lazily so the window opens before torch is imported."""
    from ecgviewer.analysis.scoring import score_record_job

    return (yield from score_record_job(record, device=device))


def freeze_heap() -> None:
    """Move every object alive now to the GC's permanent generation.

    After torch and scipy are imported the heap holds millions of long-lived objects, and each
    full (generation 2) collection scans them all: measured pauses of 100-400 ms on the GUI
    thread. Freezing them once (``gc.freeze``) keeps later collections short. The cost: what
    is alive now is never collected (a few MB: modules, the first record).
    """
    gc.freeze()
    log.info("heap frozen: %d objects moved to the permanent generation", gc.get_freeze_count())


class ScoringController(QObject):
    """Display filter, measurements and the anomaly model for the record on screen."""

    filters_ready = Signal()  # the display filter can be drawn now
    measuring = Signal()  # measuring again (a long recording paged out of the measured minute)
    measured = Signal(object)  # Measurements
    measure_failed = Signal(object)  # the exception
    scoring_started = Signal()
    score_progress = Signal(int, int, str, float)  # done, total, message, elapsed s
    elapsed = Signal(float)  # s since scoring started, while it runs
    scored = Signal(object)  # the Detector's result
    score_failed = Signal(object)  # the exception
    scoring_cancelled = Signal()
    not_scored = Signal(str)  # why the model cannot score this record (said once)
    left_to_overview = Signal()  # a long recording: scored window by window elsewhere

    def __init__(
        self,
        jobs: JobTracker,
        state: ViewState,
        scoring_job: ScoringJobFactory | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.state = state  # the window's view state: device, page on screen
        self.scoring_job: ScoringJobFactory = scoring_job or default_scoring_job
        self.record: Record | None = None
        #: Recordings longer than this are left to the overview dock (MainWindow.attach_review).
        self.long_recording_s: float | None = None
        self.measured_from = 0.0
        self._score_after_measure = False
        self._heap_frozen = False
        self._started = 0.0
        self._clock = QTimer(self)
        self._clock.setInterval(200)
        self._clock.timeout.connect(lambda: self.elapsed.emit(self.elapsed_s()))

    def elapsed_s(self) -> float:
        return time.perf_counter() - self._started

    # -------------------------------------------------------------- one record
    def start(self, record: Record) -> None:
        """Work on ``record``: display filter (first time only), measurements, then scoring."""
        self.record = record
        self.measured_from = 0.0
        self._score_after_measure = True
        if filters_loaded():
            self.start_measuring()
        else:
            self._load_filters()

    def _load_filters(self) -> None:
        worker = Worker(load_filters_job, kind="filters")
        worker.signals.finished.connect(lambda _res: self._on_filters_loaded())
        worker.signals.failed.connect(lambda exc: self._on_filters_loaded(exc))
        self.jobs.start(worker)

    def _on_filters_loaded(self, exc: BaseException | None = None) -> None:
        if exc is not None:
            log.error("display filter unavailable: %s", exc)
        if self.record is not None and filters_loaded():
            freeze_heap()  # Qt, pyqtgraph and scipy are in: keep GC passes off them
            self.filters_ready.emit()
        if self.record is not None:
            self.start_measuring()

    # -------------------------------------------------------------- measurements
    def start_measuring(self, start_s: float | None = None) -> None:
        """Measure from ``start_s`` (default: the page on screen, which a long recording may
        have moved to while the display filter was loading)."""
        if self.record is None:
            return
        if start_s is None:
            start_s = self.state.page_start if self.record.duration > MEASURE_SECONDS else 0.0
        self.measured_from = start_s
        worker = Worker(
            lambda rec=self.record: measure_job(rec, MEASURE_SECONDS, start_s), kind="measure"
        )
        self.jobs.start(worker, finished=self._on_measured, failed=self._on_measure_failed)

    def _on_measured(self, result: Measurements) -> None:
        self.measured.emit(result)
        self._chain_scoring()

    def measure_page_if_needed(self) -> None:
        """A long recording: measure the minute around the page on screen once the page
        leaves the measured one (its first minute may be a gap without signal)."""
        if self.record is None or self.record.duration <= MEASURE_SECONDS:
            return
        start = self.state.page_start
        done_from = self.measured_from
        if done_from <= start and start + PAGE_SECONDS <= done_from + MEASURE_SECONDS:
            return
        self.measuring.emit()
        self.start_measuring(start)

    def _on_measure_failed(self, exc: BaseException) -> None:
        log.warning("measurements failed: %s", exc, exc_info=exc)
        self.measure_failed.emit(exc)
        self._chain_scoring()

    def _chain_scoring(self) -> None:
        if self._score_after_measure:
            self._score_after_measure = False
            self.start_scoring()

    # -------------------------------------------------------------- the anomaly model
    def start_scoring(self) -> None:
        """Run the anomaly model on the current record in the background."""
        if self.record is None:
            return
        from ecgviewer.analysis.scoring import unscorable_reason

        self._score_after_measure = False
        # The bundled model's lead rule; an injected job (tests) scores what it can.
        reason = unscorable_reason(self.record) if self.scoring_job is default_scoring_job else None
        if reason is not None:  # said once, here; never a dialog per file or per window
            self.stop_clock()
            self.not_scored.emit(reason)
            return
        limit = self.long_recording_s
        if limit is not None and self.record.duration > limit:
            self.left_to_overview.emit()  # a Holter: the overview dock scores it by window
            return
        record, device, job = self.record, self.state.device, self.scoring_job
        worker = Worker(lambda: job(record, device), kind="score")
        self.scoring_started.emit()
        self._started = time.perf_counter()
        self._clock.start()
        # The tracker delivers only while this job is current: no stale check per handler.
        self.jobs.start(
            worker,
            progress=lambda done, total, message: self.score_progress.emit(
                done, total, message, self.elapsed_s()
            ),
            finished=self._on_scored,
            failed=self._on_score_failed,
            cancelled=self._on_score_cancelled,
        )

    def cancel_scoring(self) -> None:
        self.jobs.cancel("score")

    def stop_clock(self) -> None:
        self._clock.stop()

    def _on_scored(self, result: Any) -> None:
        if self.record is None:
            return
        if not self._heap_frozen:  # the first result: torch is imported by now
            self._heap_frozen = True
            freeze_heap()
        self.stop_clock()
        self.scored.emit(result)

    def _on_score_failed(self, exc: BaseException) -> None:
        self.stop_clock()
        self.score_failed.emit(exc)

    def _on_score_cancelled(self) -> None:
        self.stop_clock()
        self.scoring_cancelled.emit()
