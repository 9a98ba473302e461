"""The main window: opens ECGs, draws them on paper, runs the model in the background.

Public entry points used by other parts of the program (worklist, app start-up):
``open_path(path)``, ``open_record(record, title=None)``, ``menus`` / ``actions`` to extend the
menu bar, and the ``record_loaded`` / ``scoring_finished`` signals.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QMainWindow,
    QSplitter,
    QWidget,
)

from ecgviewer.errors import ECGError, InvalidSignalError, MissingLeadsError, ModelError
from ecgviewer.paper.layouts import compute_page, page_layout_name
from ecgviewer.record import Record
from ecgviewer.result import Finding
from ecgviewer.ui import messages
from ecgviewer.ui.calipers import CaliperTool
from ecgviewer.ui.dialogs import CalibrationDialog
from ecgviewer.ui.display import (
    Measurements,
    build_page,
    filters_loaded,
)
from ecgviewer.ui.file_actions import FileActions
from ecgviewer.ui.lead_plot import LeadPlotWidget
from ecgviewer.ui.median_view import MedianActions
from ecgviewer.ui.menus import ViewToolbar, build_menu_bar
from ecgviewer.ui.overlay import finding_text, findings_from, heat_scale
from ecgviewer.ui.panels import SidePanel
from ecgviewer.ui.scoring_controller import (
    ScoringController,
    ScoringJobFactory,
)
from ecgviewer.ui.state import (
    DARK,
    LAYOUTS,
    LIGHT,
    PAGE_SECONDS,
    ViewState,
    settings,
)
from ecgviewer.ui.workers import JobTracker
from ecgviewer.wording import elapsed_text

log = logging.getLogger(__name__)


def screen_px_per_mm(widget: QWidget | None = None) -> float:
    """Logical pixels per millimetre from the screen's physical size (Qt6: device-independent
    pixels, so HiDPI scaling is already accounted for). Implausible values fall back to 96 dpi."""
    screen = (widget.screen() if widget is not None else None) or QGuiApplication.primaryScreen()
    dpi = screen.physicalDotsPerInch() if screen is not None else 96.0
    if not (50.0 <= dpi <= 600.0):
        dpi = 96.0
    return dpi / 25.4


class MainWindow(QMainWindow):
    record_loaded = Signal(object)  # Record
    scoring_finished = Signal(object)  # ScoreResult
    page_changed = Signal(float)  # start (s) of the page now shown
    signal_exported = Signal(object)  # File > Export signal finished: the writer's result

    def __init__(self, scoring_job: ScoringJobFactory | None = None) -> None:
        super().__init__()
        self.settings = settings()
        self.state = ViewState.load(self.settings)
        self.jobs = JobTracker()
        # Display filter, measurements and the model for the record on screen.
        self.scoring = ScoringController(self.jobs, self.state, scoring_job, self)
        self.record: Record | None = None
        self.result: Any | None = None
        self.heat_scale = 1.0
        # Set through attach_review (ui.review_hooks): the review features.
        self.review: Any = None
        # Set through attach_reading (ui.reading_hooks): the Interpretation dock's features.
        self.reading: Any = None
        self.measurements: Measurements | None = None
        self.findings: list[Finding] = []
        self.title_note = ""
        # Help > Keyboard shortcuts and Help > About, once opened (non-modal).
        self.shortcuts_dialog: QDialog | None = None
        self.about_dialog: QDialog | None = None
        self.actions: dict[str, Any] = {}
        self._filter_retries = 0
        self._page_shown = -1.0

        self.plot = LeadPlotWidget()
        self.plot.lead_double_clicked.connect(self.enlarge_lead)
        self.plot.page_requested.connect(self.step_page)
        self.plot.scale_changed.connect(self._update_scale_label)
        self.caliper = CaliperTool(self.plot)
        # The right-hand column owns its panels; the window wires them to its slots.
        self.side = SidePanel()
        self.patient_panel = self.side.patient
        self.patient_panel.patient_edited.connect(self.set_patient)
        self.measure_panel = self.side.measurements
        self.caliper.measured.connect(lambda r: self.measure_panel.caliper_label.setText(r.text()))
        self.analysis_panel = self.side.analysis
        self.analysis_panel.cancel_requested.connect(self.scoring.cancel_scoring)
        self.analysis_panel.rerun_requested.connect(self.scoring.start_scoring)
        self.analysis_panel.overlay_changed.connect(self._on_overlay_changed)
        self.findings_panel = self.side.findings
        self.findings_panel.finding_activated.connect(self.go_to_finding)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.plot)
        splitter.addWidget(self.side)
        splitter.setStretchFactor(0, 1)
        splitter.setSizes([1200, 360])
        self.setCentralWidget(splitter)

        self.files = FileActions(self)  # File > Open, demo, recent files
        self.median = MedianActions(self)  # View > Median beats, File > Compare with…
        self.menus = build_menu_bar(self)
        self.toolbar = ViewToolbar(self.actions, self)
        self.toolbar.speed_chosen.connect(self.set_speed)
        self.toolbar.gain_chosen.connect(self.set_gain)
        self.addToolBar(self.toolbar)
        self.scale_label = QLabel()
        self.filter_label = QLabel()
        self.statusBar().addPermanentWidget(self.filter_label)
        self.statusBar().addPermanentWidget(self.scale_label)
        self._connect_scoring()
        self.setAcceptDrops(True)
        self.resize(1500, 900)
        geometry = self.settings.value("window/geometry")
        self._geometry_restored = isinstance(geometry, QByteArray | bytes) and self.restoreGeometry(
            QByteArray(geometry)
        )
        self.plot.fit_to_window = self.state.fit_to_window
        self.plot.mode = "fit" if self.state.fit_to_window else "true"
        self.plot.set_px_per_mm(self._px_per_mm())
        self._sync_controls()
        self._apply_theme()
        self.files.rebuild_recent_menu()
        self._update_title()

    def show_initial(self) -> None:
        """First show: the user's saved size and place, else maximised (the paper gets the
        screen); the paper has the keyboard focus so N/P, arrows and PgUp/PgDn work at once."""
        if self._geometry_restored:
            self.show()
        else:
            self.showMaximized()
        self.plot.setFocus()

    def open_path(
        self, path: str | Path, *, title_note: str = "", remember: bool = True, **opts: Any
    ) -> bool:
        """Read the ECG file at ``path`` and show it (the public entry point for files); on any
        error a dialog, and the current ECG stays. ``opts``: reader options (e.g. ``fs``)."""
        return self.files.open_path(path, title_note=title_note, remember=remember, **opts)

    def dragEnterEvent(self, event) -> None:  # Qt's name
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # Qt's name
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            event.acceptProposedAction()
            self.open_path(urls[0])

    def open_record(self, record: Record, title_note: str = "") -> None:
        """Show ``record`` (the public entry point); starts measurements and scoring."""
        if not record.ecg_leads:
            raise ECGError(record.source, "no ECG leads to display")
        record = record.with_derived_limb_leads()
        self.jobs.replace_all()  # results for the previous record are dropped from now on
        self.record = record
        self.result = None
        self.heat_scale = 1.0
        self.findings = []
        self.measurements = None
        self.title_note = title_note
        self.state.page_start = 0.0
        self.state.enlarged_lead = None
        self.findings_panel.set_findings([])
        self.measure_panel.clear("measuring…")
        self.patient_panel.show_record(record)
        self.side.cart.show_record(record)
        self.redraw()
        self._update_title()
        if not self.plot.hasFocus() and self.isActiveWindow():
            self.plot.setFocus()  # keys act on the new ECG without a click first
        self.record_loaded.emit(record)
        # One after the other: display filter (first start only), measurements, scoring. The
        # first scoring run imports torch, and scipy fails if it runs while torch is
        # half-imported; the first paint must not wait for scipy.signal either.
        self.scoring.start(record)

    # ================================================================== background work
    @property
    def scoring_job(self) -> ScoringJobFactory:
        """The job that scores a record (the real model unless a test or benchmark swaps it)."""
        return self.scoring.scoring_job

    @scoring_job.setter
    def scoring_job(self, job: ScoringJobFactory) -> None:
        self.scoring.scoring_job = job

    def start_scoring(self) -> None:
        """Run the anomaly model on the record on screen again (Ctrl+R, a new age/sex)."""
        self.scoring.start_scoring()

    def cancel_scoring(self) -> None:
        self.scoring.cancel_scoring()

    def _connect_scoring(self) -> None:
        c, panel = self.scoring, self.analysis_panel
        c.filters_ready.connect(self.redraw)
        c.measuring.connect(lambda: self.measure_panel.clear("measuring…"))
        c.measured.connect(self._on_measured)
        c.measure_failed.connect(lambda exc: self.measure_panel.clear(f"unavailable: {exc}"))
        c.scoring_started.connect(self._on_scoring_started)
        c.score_progress.connect(panel.set_progress)
        c.elapsed.connect(panel.set_elapsed)
        c.scored.connect(self._on_scored)
        c.score_failed.connect(self._on_score_failed)
        c.scoring_cancelled.connect(lambda: panel.finish("cancelled", c.elapsed_s()))
        c.not_scored.connect(self._show_not_scored)
        c.left_to_overview.connect(panel.show_left_to_overview)

    def _on_measured(self, result: Measurements) -> None:
        self.measurements = result
        self.measure_panel.show_measurements(result)

    def _on_scoring_started(self) -> None:
        self.result = None
        self.analysis_panel.show_started()

    def _on_scored(self, result: Any) -> None:
        if self.record is None:
            return
        self.result = result
        self.heat_scale = heat_scale(result)
        self.findings = findings_from(result, self.record.ecg_leads)
        self.analysis_panel.show_scored(result, bool(self.findings), self.scoring.elapsed_s())
        self.findings_panel.set_findings(self.findings)
        self.redraw(overlay_only=True)
        self.scoring_finished.emit(result)

    def _show_not_scored(self, reason: str) -> None:
        """The panel says once why this record is not scored (no dialog, no stale result)."""
        self.result = None
        self.scoring.stop_clock()
        self.analysis_panel.show_not_scored(reason)
        self.findings_panel.set_findings([])

    def _on_score_failed(self, exc: BaseException) -> None:
        if isinstance(exc, MissingLeadsError | InvalidSignalError):
            self._show_not_scored(getattr(exc, "problem", str(exc)))  # the record, not a fault
            return
        if isinstance(exc, ImportError):
            exc = ModelError(
                None, f"the anomaly model is not available in this installation ({exc})"
            )
        self.analysis_panel.finish(f"failed: {exc}", self.scoring.elapsed_s())
        messages.show_error(self, exc, title="Anomaly model")

    # ================================================================== drawing
    def display_filter(self) -> Any | None:
        """The clinician's DisplayFilter, None when off or while it is still loading."""
        if not self.state.display_filter or not filters_loaded():
            return None
        from ecgviewer.signal.filters import DisplayFilter

        return DisplayFilter()

    def redraw(self, overlay_only: bool = False) -> None:
        """Rebuild the page from the record, view state and model result; ``overlay_only``
        when just the result changed (the traces, grid and labels stay)."""
        if self.record is None:
            self.plot.set_page_data(None)
            return
        flt = self.display_filter()
        data = build_page(
            self.record, self.state.page_start, PAGE_SECONDS, flt, self.result, self.heat_scale
        )
        self.plot.configure(
            layout=self.state.layout,
            speed=self.state.speed_mm_s,
            gain=self.state.gain_mm_mv,
            enlarged=self.state.enlarged_lead,
        )
        self.plot.set_overlay_options(
            show=self.state.show_overlay,
            ghost=self.state.show_ghost,
            threshold=self.state.threshold,
            opacity=self.state.opacity,
            apply=False,
        )
        if overlay_only and self.plot.data is not None:
            self.plot.set_overlay_data(data.anomaly, data.restored, data.heat_scale)
            return
        self.plot.set_page_data(data)
        if flt is None and self.state.display_filter:
            text = "Display filter: loading… (unfiltered trace shown)"
        elif flt is None:
            text = "Display filter: off (raw signal)"
        elif data.filter_failed:
            text = "Display filter: FAILED, raw signal shown (retrying)"
            if self._filter_retries < 20:
                self._filter_retries += 1
                QTimer.singleShot(250, self.redraw)
        else:
            text = "Display filter: " + flt.describe(self.record.fs)
            self._filter_retries = 0
        self.filter_label.setText(text)
        self.measure_panel.set_filter_text(text.split(": ", 1)[1])
        note = self.plot.page.note if self.plot.page else ""
        end = min(self.record.duration, self.state.page_start + PAGE_SECONDS)
        long = self.record.duration >= 60.0
        page = (
            f"{elapsed_text(self.state.page_start, long)} – {elapsed_text(end, long)} of "
            f"{elapsed_text(self.record.duration, long)} (time from start)"
        )
        self.statusBar().showMessage(f"{page}   {note}".strip())
        self._update_scale_label()
        if self.state.page_start != self._page_shown:
            self._page_shown = self.state.page_start
            self.scoring.measure_page_if_needed()
            self.page_changed.emit(self.state.page_start)

    def scale_text(self) -> str:
        """ "true scale", or what the paper is instead (fitted to the window, zoomed)."""
        zoom = self.plot.zoom_factor()
        if abs(zoom - 1.0) < 0.005:
            return "true scale"
        how = "fitted to window" if self.plot.mode == "fit" else "zoomed"
        return f"NOT true scale: {how} ×{zoom:.2f}"

    def _update_scale_label(self, *args: object) -> None:
        text = self.scale_text()
        self.scale_label.setText(
            f"{self.state.speed_mm_s:g} mm/s · {self.state.gain_mm_mv:g} mm/mV · {text}"
        )
        hidden = ""
        page = self.plot.page
        if text == "true scale" and page is not None:
            (x0, x1), (y0, y1) = self.plot.vb.viewRange()
            if page.bottom < y0 - 1.0 or page.width > x1 + 1.0:
                hidden = " (more below/right: arrow keys, or Ctrl+F to fit)"
        self.toolbar.show_scale(text, hidden)

    def _update_title(self) -> None:
        if self.record is None:
            self.setWindowTitle("ecgviewer")
            return
        name = Path(self.record.source).name if self.record.source else "ECG"
        note = f" — {self.title_note}" if self.title_note else ""
        # Whose ECG this is stays in sight (the patient panel is below the fold).
        who = self.record.patient.identity()
        patient = f" — {who}" if who != "-" else ""
        self.setWindowTitle(f"{name}{patient}{note} — ecgviewer")

    # ================================================================== view controls
    def set_layout(self, key: str) -> None:
        self.state.layout = key
        self.state.enlarged_lead = None
        self._sync_controls()
        self._restore_scale_mode()
        self.redraw()

    def _restore_scale_mode(self) -> None:
        """Back to the user's chosen scale (true scale, or fitted) after a free zoom."""
        self.plot.mode = "fit" if self.state.fit_to_window else "true"

    def set_fit_to_window(self, on: bool) -> None:
        """View > Fit to window: the page fills the window (labelled NOT true scale)."""
        self.state.fit_to_window = bool(on)
        self.plot.set_fit_to_window(on)
        self._sync_controls()
        self._update_scale_label()

    def show_true_scale(self) -> None:
        """View > True scale: 1 mm of paper on 1 mm of screen (also leaves fit to window)."""
        self.set_fit_to_window(False)

    def set_speed(self, value: float) -> None:
        self.state.speed_mm_s = float(value)
        self._sync_controls()
        self.redraw()

    def set_gain(self, value: float) -> None:
        self.state.gain_mm_mv = float(value)
        self._sync_controls()
        self.redraw()

    def enlarge_lead(self, lead: str | None) -> None:
        """Show one lead alone (double-click), or all leads again (None / same lead)."""
        if lead == self.state.enlarged_lead:
            lead = None
        self.state.enlarged_lead = lead
        if lead is None:
            self._restore_scale_mode()
        else:
            self.plot.mode = "fit"  # one lead, large: labelled NOT true scale
        self.redraw()

    def step_page(self, delta: int) -> None:
        if self.record is None:
            return
        last = max(0.0, self.record.duration - PAGE_SECONDS)
        start = min(last, max(0.0, self.state.page_start + delta * PAGE_SECONDS))
        if start != self.state.page_start:
            self.state.page_start = start
            self.redraw()

    def set_display_filter(self, on: bool) -> None:
        self.state.display_filter = bool(on)
        self.redraw()

    def set_dark(self, on: bool) -> None:
        self.state.dark = bool(on)
        self._apply_theme()

    def _apply_theme(self) -> None:
        self.plot.apply_theme(DARK if self.state.dark else LIGHT)

    def set_caliper(self, on: bool) -> None:
        self.caliper.set_active(bool(on))
        if not on:
            self.measure_panel.caliper_label.setText("-")

    def _px_per_mm(self) -> float:
        saved = self.settings.value("display/px_per_mm")
        try:
            if saved is not None and float(saved) > 0:
                return float(saved)
        except (TypeError, ValueError):
            pass
        return screen_px_per_mm(self)

    def calibrate_screen(self) -> None:
        dialog = CalibrationDialog(self.plot.px_per_mm, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            value = dialog.calibrated_px_per_mm()
            self.settings.setValue("display/px_per_mm", value)
            self.plot.set_px_per_mm(value)
            self.plot.reset_view()

    def _sync_controls(self) -> None:
        s = self.state
        for key, act in self.actions.items():
            if key.startswith("layout_"):
                act.setChecked(key == f"layout_{s.layout}")
            elif key.startswith("speed_"):
                act.setChecked(float(key[6:]) == s.speed_mm_s)
            elif key.startswith("gain_"):
                act.setChecked(float(key[5:]) == s.gain_mm_mv)
            elif key.startswith("device_"):
                act.setChecked(key == f"device_{s.device}")
        for key, value in (
            ("overlay", s.show_overlay),
            ("ghost", s.show_ghost),
            ("dark", s.dark),
            ("display_filter", s.display_filter),
            ("fit_window", s.fit_to_window),
        ):
            if key in self.actions:
                self.actions[key].setChecked(value)
        self.toolbar.show_values(s.speed_mm_s, s.gain_mm_mv)
        self.analysis_panel.set_overlay_values(s.show_overlay, s.show_ghost, s.threshold, s.opacity)

    # ================================================================== overlay
    def _on_overlay_changed(
        self, show: bool, ghost: bool, threshold: float, opacity: float
    ) -> None:
        self.state.show_overlay, self.state.show_ghost = show, ghost
        self.state.threshold, self.state.opacity = threshold, opacity
        self.plot.set_overlay_options(show=show, ghost=ghost, threshold=threshold, opacity=opacity)
        self._sync_controls()

    def toggle_overlay(self, on: bool | None = None) -> None:
        s = self.state
        self._on_overlay_changed(
            not s.show_overlay if on is None else bool(on), s.show_ghost, s.threshold, s.opacity
        )

    def toggle_ghost(self, on: bool | None = None) -> None:
        s = self.state
        self._on_overlay_changed(
            s.show_overlay, not s.show_ghost if on is None else bool(on), s.threshold, s.opacity
        )

    def step_finding(self, delta: int) -> None:
        self.findings_panel.step(delta)

    def go_to_finding(self, finding: Finding) -> None:
        """Show the finding in the current layout at the current scale and highlight it;
        when this layout does not show that lead at that time, switch to one that does (6x2,
        then 12x1) and say so. Changes page when needed."""
        if self.record is None:
            return
        if finding.lead is None:  # the whole ECG (e.g. its QRS-T angle): no lead to show
            self.plot.clear_highlight()
            rank = self.findings.index(finding) + 1 if finding in self.findings else 0
            self.statusBar().showMessage(f"Finding {rank}: {finding_text(finding)}")
            return
        if self.state.enlarged_lead is not None and self.state.enlarged_lead != finding.lead:
            self.state.enlarged_lead = None  # back to the layout before looking again
            self._restore_scale_mode()
            self.redraw()
        page_start = self.state.page_start
        if not (page_start <= finding.centre < page_start + PAGE_SECONDS):
            self.state.page_start = max(
                0.0,
                min(
                    max(0.0, self.record.duration - PAGE_SECONDS),
                    PAGE_SECONDS * int(finding.centre // PAGE_SECONDS),
                ),
            )
            self.redraw()
        page = self.plot.page
        t_page = finding.centre - self.state.page_start
        if page is not None:  # a long finding is shown where this layout shows its lead
            t_page = _time_shown(
                page,
                finding.lead,
                finding.start - self.state.page_start,
                finding.end - self.state.page_start,
                t_page,
            )
        cell = page.cell_showing(finding.lead, t_page) if page else None
        switched = ""
        if cell is None and page is not None:
            shown_as = page_layout_name(page, self.state.layout)
            for key in ("6x2", "12x1"):
                if key == self.state.layout:
                    continue
                trial = compute_page(
                    key,
                    self.plot.data.leads,
                    self.plot.data.page_seconds,
                    self.state.speed_mm_s,
                    self.state.gain_mm_mv,
                )
                if trial.cell_showing(finding.lead, t_page) is not None:
                    self.set_layout(key)
                    switched = (
                        f"   Layout switched to {LAYOUTS[key]}: {shown_as} does not "
                        f"show lead {finding.lead} at {finding.centre:.1f} s."
                    )
                    break
            page = self.plot.page
            cell = page.cell_showing(finding.lead, t_page) if page else None
            if cell is None:
                return
        self.plot.show_highlight(
            cell, finding.start - self.state.page_start, finding.end - self.state.page_start
        )
        self.plot.centre_on(cell, t_page)
        rank = self.findings.index(finding) + 1 if finding in self.findings else 0
        self.statusBar().showMessage(f"Finding {rank}: {finding_text(finding)}{switched}")

    # ================================================================== patient / device
    def set_patient(self, age: float | None, sex: str | None) -> None:
        """Store age/sex the user entered on the Record's patient and score again."""
        if self.record is None:
            return
        self.record.patient = replace(self.record.patient, age=age, sex=sex)
        self.patient_panel.show_record(self.record)
        self.start_scoring()

    def set_device(self, device: str) -> None:
        self.state.device = device
        self._sync_controls()

    # ================================================================== misc
    def show_shortcuts(self) -> None:
        """Help > Keyboard shortcuts (ui/shortcuts_dialog.py)."""
        from ecgviewer.ui.shortcuts_dialog import ShortcutsDialog

        self.shortcuts_dialog = ShortcutsDialog(self)
        self.shortcuts_dialog.open()

    def about(self) -> None:
        """Help > About: versions, weights sha256 and the model card (ui/about_dialog.py)."""
        from ecgviewer.ui.about_dialog import AboutDialog

        self.about_dialog = AboutDialog(self)
        self.about_dialog.open()  # window-modal without blocking (tests drive it too)

    def attach_review(self, features: Any, long_recording_s: float) -> None:
        """The public hook of ``ui.review_hooks``: the window shuts ``features`` down when it
        closes, tells it when it pages, and leaves recordings longer than
        ``long_recording_s`` to its overview dock (whole-record maps of a 24 h file would
        not fit in memory)."""
        self.review = features
        self.scoring.long_recording_s = long_recording_s
        self.page_changed.connect(features.page_shown)

    def attach_reading(self, features: Any) -> None:
        """The public hook of ``ui.reading_hooks``: the reader's Interpretation dock of this
        window (statements, sign-off, interval editor, audit trail)."""
        self.reading = features

    def closeEvent(self, event) -> None:  # Qt's name
        self.state.save(self.settings)
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.sync()
        review = self.review  # the review features, when installed
        if review is not None:
            try:
                review.shutdown()
            except Exception:
                log.exception("review features did not shut down cleanly")
        self.jobs.cancel_all()
        if not self.jobs.wait_all(timeout=3.0):
            log.warning("a background job did not stop within 3 s; quitting anyway")
        super().closeEvent(event)


def _time_shown(page: Any, lead: str, start: float, end: float, centre: float) -> float:
    """The time within ``start``-``end`` (page seconds) nearest ``centre`` at which ``page``
    shows ``lead``; ``centre`` when it shows none. Why: a 10 s finding in V5 has its centre
    in V5's 3x4 column only when that column is the middle one; the layout switched to 12x1
    although 3x4 showed 2.5 s of the finding."""
    times = sorted(
        (start + (end - start) * k / 40 for k in range(41)), key=lambda t: abs(t - centre)
    )
    return next((t for t in times if page.cell_showing(lead, t) is not None), centre)
