"""The review workflow's entries in the viewer's main window, added from outside it.

``install(window)`` adds to File: Open folder as worklist…, Open collection / database as
worklist…, Export report…, Print…; and a bottom dock with the long-recording overview that
appears for recordings longer than :data:`LONG_RECORDING_S`. It uses only the window's public
surface (``menus``, ``actions``, ``record``, ``result``, ``state.page_start``, ``redraw``,
``display_filter``, ``record_loaded``, ``open_path``, ``open_record``), so the main window keeps
one job and this module owns the review features.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow

from ecgviewer.io.files import files_of
from ecgviewer.record import Record
from ecgviewer.result import Finding
from ecgviewer.review.hashing import cached_hash
from ecgviewer.review.store import Review, ReviewStore
from ecgviewer.review.worklist import WorklistRow
from ecgviewer.ui.messages import show_error, show_info
from ecgviewer.ui.overview_strip import TOP_FINDINGS, LongRecordingPanel

log = logging.getLogger(__name__)

#: Recordings longer than this get the overview dock (window-by-window scoring).
LONG_RECORDING_S = 60.0
#: Files larger than this are not hashed on the GUI thread just to find their review.
_HASH_ON_GUI_MAX_BYTES = 50 * 2**20


class ReviewFeatures(QObject):
    """Owns the worklist window, the overview dock and the review store for one main window."""

    def __init__(
        self, window: QMainWindow, detector: Any = None, store: ReviewStore | None = None
    ) -> None:
        super().__init__(window)
        self.window: Any = window
        self.detector = detector
        # fallback: a read-only or unusable data folder gives a store that says so (read-only
        # or session-only mode) instead of no worklist and no reports.
        self.store = store or ReviewStore(fallback=True)
        if self.store.problem:
            QTimer.singleShot(
                0,
                lambda: show_info(
                    window, self.store.problem or "", title="ecgviewer — review database"
                ),
            )
        self.worklist: Any = None
        # The Interpretation dock (ui.reading_hooks), through attach_reading: its reading of
        # the ECG on screen goes into the report.
        self.reading: Any = None
        self.overview = LongRecordingPanel(detector=detector, store=self.store)
        self.overview.position_changed.connect(self._show_page)
        self.overview.scoring_finished.connect(self._show_window_findings)
        self.overview.finding_chosen.connect(self._go_to_window_finding)
        self.dock = QDockWidget("Long-recording overview", window)
        self.dock.setObjectName("overview_dock")
        self.dock.setWidget(self.overview)
        self.dock.setAllowedAreas(
            Qt.DockWidgetArea.BottomDockWidgetArea | Qt.DockWidgetArea.TopDockWidgetArea
        )
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        self.dock.hide()
        self._add_actions()
        window.record_loaded.connect(self._record_loaded)

    # -------------------------------------------------------------- menus
    def _add_actions(self) -> None:
        w = self.window
        file_menu = w.menus["file"]
        quit_action = w.actions.get("quit")
        items = [
            ("open_folder", "Open &folder as worklist…", self.open_folder_dialog, "Ctrl+Shift+O"),
            (
                "open_collection",
                "Open collection / &database as worklist…",
                self.open_collection_dialog,
                None,
            ),
            (None, None, None, None),
            ("export_report", "Export &report (PDF/PNG)…", self.export_report, "Ctrl+E"),
            ("print", "&Print…", self.print_report, "Ctrl+P"),
            (None, None, None, None),
        ]
        for name, text, slot, key in items:
            if name is None:
                act = QAction(w)
                act.setSeparator(True)
            else:
                act = QAction(text, w)
                if key:
                    act.setShortcut(QKeySequence(key))
                act.triggered.connect(slot)
                w.actions[name] = act
            if quit_action is not None:
                file_menu.insertAction(quit_action, act)
            else:
                file_menu.addAction(act)
        w.actions["overview_dock"] = self.dock.toggleViewAction()
        view = w.menus.get("view")
        if view is not None:
            view.addAction(self.dock.toggleViewAction())

    def attach_reading(self, features: Any) -> None:
        """The public hook of ``ui.reading_hooks``: reports include the dock's reading."""
        self.reading = features

    # -------------------------------------------------------------- worklist
    def worklist_window(self) -> Any:
        if self.worklist is None:
            from ecgviewer.ui.worklist_window import WorklistWindow

            self.worklist = WorklistWindow(store=self.store, detector=self.detector)
            self.worklist.resize(1400, 800)
            self.worklist.open_requested.connect(self.open_row)
            self.worklist.compare_requested.connect(self.compare_rows)
        return self.worklist

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self.window, "Open a folder of ECGs as a worklist"
        )
        if folder:
            self.open_worklist(folder)

    def open_collection_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window,
            "Open an ECG collection as a worklist",
            "",
            "ECG collections (*.h5 *.hdf5 *.hdf *.csv);;All files (*)",
        )
        if path:
            self.open_worklist(path)

    def open_worklist(self, source: str | os.PathLike[str]) -> Any:
        win = self.worklist_window()
        win.show()
        win.raise_()
        win.open_source(source)
        return win

    def open_row(self, row: WorklistRow) -> None:
        """Show a worklist ECG in the viewer (a file, or an entry of a collection)."""
        w = self.window
        try:
            patient = self.worklist.patient_of(row) if self.worklist is not None else None
            if row.key or (patient is not None and (patient.age is not None or patient.id)):
                # An entry of a collection, or demographics from a database CSV that the
                # file itself lacks (PTB-XL): the model uses age and sex.
                from ecgviewer.analysis.worklist_sources import load_row

                w.open_record(load_row(row.path, row.key, patient, row.start))
            else:
                w.open_path(row.path)
        except Exception as exc:  # noqa: BLE001 - the viewer stays as it was
            show_error(w, exc)
            return
        w.show()
        w.raise_()
        w.activateWindow()

    def compare_rows(self, row: WorklistRow, previous: WorklistRow) -> None:
        """Worklist C: open ``row`` and compare it with the same patient's ``previous`` ECG
        (its anomaly percentile comes from the worklist's score)."""
        self.open_row(row)
        w = self.window
        try:
            from ecgviewer.analysis.worklist_sources import load_row

            patient = self.worklist.patient_of(previous) if self.worklist is not None else None
            prev = load_row(previous.path, previous.key, patient, previous.start)
        except Exception as exc:  # noqa: BLE001 - the viewer stays usable
            show_error(w, exc)
            return
        w.median.compare_with(
            prev, previous_percentile=previous.percentile, this_percentile=row.percentile
        )

    # -------------------------------------------------------------- reports
    def review_of(self, record: Record) -> Review | None:
        """The saved review of the ECG on screen, when its file is known to the store."""
        h = self.hash_of(record)
        if h is None:
            return None
        review = self.store.get_review(h)
        return review if (review.time is not None or review.note) else None

    def hash_of(self, record: Record) -> str | None:
        """The content hash of the ECG on screen (remembered, or computed for a small file)."""
        if not record.source or not os.path.isfile(record.source):
            return None
        try:
            h = cached_hash(files_of(record.source), self.store, max_bytes=_HASH_ON_GUI_MAX_BYTES)
        except Exception as exc:  # noqa: BLE001 - no review is better than no report
            log.info("no review lookup for %s: %s", record.source, exc)
            return None
        return h

    def _report_args(self) -> dict[str, Any] | None:
        w = self.window
        if w.record is None:
            show_error(w, ValueError("Open an ECG first: there is nothing to report."))
            return None
        reading = self.reading.reading_of(w.record) if self.reading is not None else None
        return {
            "record": w.record,
            "result": self._page_result(),
            "review": self.review_of(w.record),
            "reading": reading,
            "display_filter": w.display_filter(),
            "t0": float(w.state.page_start),
            "overlay": {"threshold": float(w.state.threshold), "opacity": float(w.state.opacity)},
        }

    def _page_result(self) -> Any:
        # A whole-record result only: its map is aligned to record.signal.
        result = self.window.result
        amap = getattr(result, "anomaly_map", None)
        if amap is not None and amap.shape[-1] != self.window.record.n_samples:
            return None
        return result

    def export_report(self) -> Any:
        args = self._report_args()
        if args is None:
            return None
        from ecgviewer.ui.report_dialog import ReportDialog

        dlg = ReportDialog(
            args["record"],
            args["result"],
            args["review"],
            args["display_filter"],
            parent=self.window,
            t0=args["t0"],
            overlay=args["overlay"],
            reading=args["reading"],
        )
        dlg.show()
        return dlg

    def print_report(self) -> bool:
        args = self._report_args()
        if args is None:
            return False
        from ecgviewer.ui.report_dialog import print_dialog

        return print_dialog(self.window, **args)

    # -------------------------------------------------------------- long recordings
    def _record_loaded(self, record: Record) -> None:
        if record.duration > LONG_RECORDING_S:
            self.overview.set_record(record)
            self.dock.show()
            # Window by window, in the background; resumes from the store when it was
            # scored (or partly scored) before.
            self.overview.start_scoring()
        else:
            self.overview.cancel_scoring()
            self.dock.hide()

    def _show_page(self, t0: float) -> None:
        w = self.window
        if w.record is None or abs(w.state.page_start - t0) < 1e-9:
            return
        w.state.page_start = t0
        w.redraw()

    def _show_window_findings(self, state: Any) -> list[Finding]:
        """The recording's top window findings in the viewer's findings table, so that the
        viewer's own N/P, its highlight and its lead-showing layout switch work on a Holter
        (the page jumped to showed nothing of what was found)."""
        w = self.window
        if w.record is None or w.record is not self.overview.record:
            return []
        found = state.ranked_findings(TOP_FINDINGS)
        if found != w.findings:
            w.findings = list(found)
            w.findings_panel.set_findings(w.findings)
        return found

    def _go_to_window_finding(self, finding: Finding) -> None:
        """The overview stepped to ``finding``: highlight it in the viewer, in a layout that
        shows its lead at that time."""
        if self.overview.state is None:
            return
        found = self._show_window_findings(self.overview.state)
        if finding in found:
            self.window.findings_panel.select(found.index(finding))
            self.window.go_to_finding(finding)

    def page_shown(self, t0: float) -> None:
        """The viewer paged on its own (PgDown…): keep the overview's marker in step."""
        if self.overview.record is not None:
            self.overview.show_position(t0)

    def shutdown(self) -> None:
        self.overview.shutdown()
        if self.worklist is not None:
            self.worklist.close()


def install(
    window: QMainWindow, detector: Any = None, store: ReviewStore | None = None
) -> ReviewFeatures:
    """Add the review workflow to ``window``; returns the object that owns it."""
    features = ReviewFeatures(window, detector, store)
    # The window's public hook: it pages -> the overview follows; it closes -> the features
    # shut down; recordings this long are scored by the overview dock, window by window.
    window.attach_review(features, LONG_RECORDING_S)  # type: ignore[attr-defined]
    from ecgviewer.ui import reading_hooks  # statements, sign-off, interval editor, audit

    reading_hooks.install(window, features)
    return features


def install_or_log(window: QMainWindow) -> ReviewFeatures | None:
    """Install the review features for the app and the smoke test alike; the viewer works
    without them, so a failure here is logged, not fatal."""
    try:
        return install(window)
    except Exception as exc:
        log.exception("review features (worklist, overview, reports) are unavailable")
        show_info(
            window,
            f"The worklist, long-recording overview and report export are "
            f"unavailable ({type(exc).__name__}: {exc}). The viewer still works.",
        )
        return None
