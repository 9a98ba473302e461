"""Background work of the main window: display-filter loading, measurements, scoring.

A mixin of :class:`~ecgviewer.ui.main_window.MainWindow` (kept apart to keep modules small).
The jobs run one after the other on the Worker: the display filter's import (first start
only), measurements, then the anomaly model. Results of jobs the window has replaced (the user
opened another ECG) are dropped.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Generator
from typing import Any

from ecgviewer.errors import InvalidSignalError, MissingLeadsError, ModelError
from ecgviewer.record import Record
from ecgviewer.ui import messages
from ecgviewer.ui.display import Measurements, filters_loaded, load_filters_job, measure_job
from ecgviewer.ui.overlay import (
    findings_from,
    flag_texts,
    heat_scale,
    model_text,
    quality_lines,
    verdict,
)
from ecgviewer.ui.state import PAGE_SECONDS
from ecgviewer.ui.workers import Worker
from ecgviewer.wording import comparison, percentile_verdict

log = logging.getLogger(__name__)

MEASURE_SECONDS = 60.0  # heart rate and intervals over this much signal (around the page)


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


class AnalysisJobsMixin:
    """Starts and receives the window's background jobs; never blocks the GUI thread."""

    def _load_filters(self) -> None:
        worker = Worker(load_filters_job, kind="filters")
        worker.signals.finished.connect(lambda _res, w=worker: self._on_filters_loaded(w))
        worker.signals.failed.connect(lambda exc, w=worker: self._on_filters_loaded(w, exc))
        self.jobs.start(worker)

    def _on_filters_loaded(self, worker: Worker, exc: BaseException | None = None) -> None:
        if exc is not None:
            log.error("display filter unavailable: %s", exc)
        if self.record is not None and filters_loaded():
            freeze_heap()  # Qt, pyqtgraph and scipy are in: keep GC passes off them
            self.redraw()
        if self.record is not None:
            self.start_measuring()

    def start_measuring(self, start_s: float | None = None) -> None:
        """Measure from ``start_s`` (default: the page on screen, which a long recording may
        have moved to while the display filter was loading)."""
        if self.record is None:
            return
        if start_s is None:
            start_s = self.state.page_start if self.record.duration > MEASURE_SECONDS else 0.0
        self._measured_from = start_s
        worker = Worker(
            lambda rec=self.record: measure_job(rec, MEASURE_SECONDS, start_s), kind="measure"
        )
        self.jobs.start(worker, finished=self._on_measured, failed=self._on_measure_failed)

    def _on_measured(self, result: Measurements) -> None:
        self.measurements = result
        self.measure_panel.show_measurements(result)
        self._chain_scoring()

    def measure_page_if_needed(self) -> None:
        """A long recording: measure the minute around the page on screen once the page
        leaves the measured one (its first minute may be a gap without signal)."""
        if self.record is None or self.record.duration <= MEASURE_SECONDS:
            return
        start = self.state.page_start
        done_from = getattr(self, "_measured_from", 0.0)
        if done_from <= start and start + PAGE_SECONDS <= done_from + MEASURE_SECONDS:
            return
        self.measure_panel.clear("measuring…")
        self.start_measuring(start)

    def _on_measure_failed(self, exc: BaseException) -> None:
        log.warning("measurements failed: %s", exc, exc_info=exc)
        self.measure_panel.clear(f"unavailable: {exc}")
        self._chain_scoring()

    def _chain_scoring(self) -> None:
        if self._score_after_measure:
            self._score_after_measure = False
            self.start_scoring()

    def start_scoring(self) -> None:
        """Run the anomaly model on the current record in the background."""
        if self.record is None:
            return
        from ecgviewer.analysis.scoring import unscorable_reason

        # The bundled model's lead rule; an injected job (tests) scores what it can.
        reason = unscorable_reason(self.record) if self.scoring_job is default_scoring_job else None
        if reason is not None:  # said once, here; never a dialog per file or per window
            self._score_after_measure = False
            self.show_not_scored(reason)
            return
        limit = self.long_recording_s  # MainWindow.attach_review (ui.review_hooks)
        if limit is not None and self.record.duration > limit:
            self._score_after_measure = False  # a Holter: the overview dock scores it by window
            self.analysis_panel.status_label.setText(
                "long recording: scored window by window in the overview below"
            )
            return
        self._score_after_measure = False
        record, device = self.record, self.state.device
        worker = Worker(lambda: self.scoring_job(record, device), kind="score")
        self.result = None
        self.analysis_panel.set_running(True)
        self.analysis_panel.status_label.setText("starting the anomaly model…")
        self._score_started = time.perf_counter()
        self._elapsed_timer.start()
        # The tracker delivers only while this job is current: no stale check per handler.
        self.jobs.start(
            worker,
            progress=self._on_score_progress,
            finished=self._on_scored,
            failed=self._on_score_failed,
            cancelled=self._on_score_cancelled,
        )

    def cancel_scoring(self) -> None:
        self.jobs.cancel("score")

    def _tick_elapsed(self) -> None:
        self.analysis_panel.set_elapsed(time.perf_counter() - self._score_started)

    def _on_score_progress(self, done: int, total: int, message: str) -> None:
        self.analysis_panel.set_progress(
            done, total, message, time.perf_counter() - self._score_started
        )

    def _finish_scoring_ui(self, status: str) -> None:
        self._elapsed_timer.stop()
        self.analysis_panel.set_running(False)
        self.analysis_panel.progress.setRange(0, 1)
        self.analysis_panel.progress.setValue(1 if status.startswith("done") else 0)
        self.analysis_panel.status_label.setText(status)
        self._tick_elapsed()

    def _on_scored(self, result: Any) -> None:
        if self.record is None:
            return
        self.result = result
        if not self._heap_frozen:  # the first result: torch is imported by now
            self._heap_frozen = True
            freeze_heap()
        self.heat_scale = heat_scale(result)
        self._finish_scoring_ui("done")
        pct = getattr(result, "percentile", None)
        band = (
            "heat band: calibrated findings (the default threshold marks what is beyond "
            "normal ECGs)"
            if getattr(result, "finding_map", None) is not None
            else "heat band: per-sample restoration error"
        )
        details = [f"model: {model_text(result)}", band]
        if not findings_from(result, self.record.ecg_leads):
            details.append("findings: none beyond what normal ECGs show")
        details += quality_lines(result) + flag_texts(result)
        words = verdict(pct, getattr(result, "flags", ()))
        if words != percentile_verdict(pct):  # a recording problem (signal quality) comes first
            self.analysis_panel.show_result(
                float(result.score), pct, words, "\n".join(details), headline=words.split(":")[0]
            )
        else:
            self.analysis_panel.show_result(
                float(result.score), pct, comparison(pct), "\n".join(details)
            )
        self.findings = findings_from(result, self.record.ecg_leads)
        self.findings_panel.set_findings(self.findings)
        self.redraw(overlay_only=True)
        self.scoring_finished.emit(result)

    def show_not_scored(self, reason: str) -> None:
        """The panel says once why this record is not scored (no dialog, no stale result)."""
        self.result = None
        self._elapsed_timer.stop()
        self.analysis_panel.set_running(False)
        self.analysis_panel.progress.setRange(0, 1)
        self.analysis_panel.progress.setValue(0)
        self.analysis_panel.status_label.setText(f"Not scored: {reason}")
        self.analysis_panel.show_not_scored()
        self.findings_panel.set_findings([])

    def _on_score_failed(self, exc: BaseException) -> None:
        if isinstance(exc, MissingLeadsError | InvalidSignalError):
            self.show_not_scored(getattr(exc, "problem", str(exc)))  # the record, not a fault
            return
        if isinstance(exc, ImportError):
            exc = ModelError(
                None, f"the anomaly model is not available in this installation ({exc})"
            )
        self._finish_scoring_ui(f"failed: {exc}")
        messages.show_error(self, exc, title="Anomaly model")

    def _on_score_cancelled(self) -> None:
        self._finish_scoring_ui("cancelled")
