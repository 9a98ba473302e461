"""The worklist: every ECG of a folder / collection, most anomalous first, triaged by keyboard.

Scoring runs in a :class:`~ecgviewer.ui.workers.Worker` (``analysis.worklist_jobs``); rows reach
the table through a queued signal as the job finds files and scores batches, so the first rows
show at once and the user can review while the rest is scored. Every review action is one
transaction in the review store.

Keys (when the table has the focus): J / Down next, K / Up previous, N reviewed normal,
A flag abnormal, U back to unreviewed, E edit the note (Ctrl+Enter saves, Esc returns),
Enter open in the viewer.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QSettings,
    Qt,
    Signal,
)
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHeaderView,
    QLabel,
    QMainWindow,
    QProgressBar,
    QSplitter,
    QTableView,
    QWidget,
)

from ecgviewer.paths import user_data_dir
from ecgviewer.record import Patient
from ecgviewer.review.export import export_csv
from ecgviewer.review.reading import clean_text
from ecgviewer.review.store import Review, ReviewConflict, ReviewStore
from ecgviewer.review.worklist import WorklistRow
from ecgviewer.ui.messages import ask, show_error, show_info
from ecgviewer.ui.workers import JobTracker, Worker
from ecgviewer.ui.worklist_model import (
    COLUMNS,
    SCORE_COL,
    UID_ROLE,
    WorklistProxy,
    WorklistTableModel,
)
from ecgviewer.ui.worklist_panel import WorklistDetails, WorklistToolbar
from ecgviewer.ui.worklist_reading_filter import choose_audit_export

log = logging.getLogger(__name__)


class _RowsBridge(QObject):
    """Lives in the GUI thread; the job calls ``emit`` from its thread (queued delivery)."""

    rows_arrived = Signal(object)


def format_eta(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min {seconds % 60:02.0f} s"
    return f"{seconds // 3600:.0f} h {seconds % 3600 // 60:02.0f} min"


class WorklistWindow(QMainWindow):
    """Table of ECGs with scores and review states.

    Parameters
    ----------
    store
        Review store (default: the user's database).
    detector
        Detector object or factory for the scoring job; None = the bundled model.
    """

    open_requested = Signal(object)  # WorklistRow to show in the viewer
    compare_requested = Signal(object, object)  # this row, the same patient's previous row
    review_saved = Signal(object)  # Review as stored

    def __init__(
        self,
        store: ReviewStore | None = None,
        detector: Any = None,
        parent: QWidget | None = None,
        chunk: int = 16,
        device: str = "auto",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("ecgviewer — worklist")
        self.store = store or ReviewStore(fallback=True)
        self._own_store = store is None
        self.detector = detector
        self.chunk = chunk
        self.device = device
        self.jobs = JobTracker()
        self.worker: Worker | None = None
        self.source: str | None = None
        self._settings = QSettings(
            str(user_data_dir() / "worklist.ini"), QSettings.Format.IniFormat
        )
        self._progress_t0: tuple[float, int] | None = None
        self._t_open = time.perf_counter()
        self._following_top = self._selecting_top = False
        self.first_rows_s: float | None = None  # open_source -> first rows shown (benchmark)
        self._token: object = None
        self._bridge = _RowsBridge(self)
        self._bridge.rows_arrived.connect(self._merge_rows)

        self.model = WorklistTableModel(self)
        self.proxy = WorklistProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicatorShown(False)  # the title says it (▼/▲)
        self.table.sortByColumn(SCORE_COL, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        # Widths by column name (a column added to COLUMNS must not shift the others: the
        # date once got 45 px and read "198…"); the widest text each must show unelided.
        fm = self.table.fontMetrics()
        widths = {
            "score": fm.horizontalAdvance("within normal range") + 24,
            "percentile": fm.horizontalAdvance("> 99.9 %") + 24,
            "findings": 130,
            "quality": fm.horizontalAdvance("LA/RA reversed?") + 20,
            "review_state": fm.horizontalAdvance("⚑ abnormal") + 24,
            "patient_id": fm.horizontalAdvance("201700237") + 20,
            "start": fm.horizontalAdvance("2026-12-03 10:22:03") + 16,
            "duration": fm.horizontalAdvance("24:00:00 h") + 16,
            "n_leads": fm.horizontalAdvance("Leads") + 20,
            "label": 200,
        }
        for col, (key, _title) in enumerate(COLUMNS):
            if key in widths:
                self.table.setColumnWidth(col, widths[key])
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.doubleClicked.connect(lambda _i: self.open_current())

        self.details = WorklistDetails(self._settings)
        self.details.mark_requested.connect(self.mark)
        self.details.save_note_requested.connect(self.save_note)
        self.details.open_requested.connect(self.open_current)
        split = QSplitter()
        split.addWidget(self.table)
        split.addWidget(self.details)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([1000, 380])
        self.setCentralWidget(split)
        self.toolbar = WorklistToolbar(self._settings, self)
        self.toolbar.open_folder_requested.connect(self._choose_folder)
        self.toolbar.open_collection_requested.connect(self._choose_collection)
        self.toolbar.export_requested.connect(self._choose_export)
        self.toolbar.cancel_requested.connect(self.cancel_scoring)
        self.toolbar.export_audit_requested.connect(lambda: choose_audit_export(self))
        self.toolbar.filter_changed.connect(self.proxy.set_text_filter)
        self.toolbar.reading_filter_changed.connect(self.proxy.set_reading_filter)
        for changed in (self.toolbar.filter_changed, self.toolbar.reading_filter_changed):
            changed.connect(self._pin_current)  # after the new filter: the row kept, if listed
        self.addToolBar(self.toolbar)
        # The status bar: counts, scoring progress and ETA, the store's mode.
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setVisible(False)
        self.eta_label = QLabel()
        self.counts_label = QLabel()
        self.statusBar().addWidget(self.counts_label, 1)
        self.statusBar().addPermanentWidget(self.eta_label)
        self.statusBar().addPermanentWidget(self.progress)
        self.store_label: QLabel | None = None  # says why reviews are not saved, when not
        if not getattr(self.store, "writable", True):  # read-only / session-only store
            self.store_label = QLabel(
                "Read-only mode: reviews are not saved"
                if self.store.mode == "read-only"
                else "Reviews cannot be saved (data folder unusable)"
            )
            self.store_label.setToolTip(self.store.problem or "")
            self.statusBar().addPermanentWidget(self.store_label)
        self._shortcuts = self._make_shortcuts()
        self._show_details(None)

    # -------------------------------------------------------------- construction
    def _make_shortcuts(self) -> list[QShortcut]:
        """The table's review keys and the note editor's save / back keys."""
        keys = {
            "J": self.next_row,
            "K": self.previous_row,
            "N": lambda: self.mark("normal"),
            "A": lambda: self.mark("abnormal"),
            "U": lambda: self.mark("unreviewed"),
            "E": self.edit_note,
            "Return": self.open_current,
            "Enter": self.open_current,
            "C": self.compare_current,
        }
        shortcuts: list[QShortcut] = []
        for key, slot in keys.items():
            sc = QShortcut(QKeySequence(key), self.table)
            sc.setContext(Qt.ShortcutContext.WidgetShortcut)  # never while typing a note
            sc.activated.connect(slot)
            shortcuts.append(sc)
        for key in ("Ctrl+Return", "Ctrl+Enter"):
            sc = QShortcut(QKeySequence(key), self.details.note_edit)
            sc.setContext(Qt.ShortcutContext.WidgetShortcut)
            sc.activated.connect(self._save_note_and_return)
            shortcuts.append(sc)
        esc = QShortcut(QKeySequence("Escape"), self.details.note_edit)
        esc.setContext(Qt.ShortcutContext.WidgetShortcut)
        esc.activated.connect(self.table.setFocus)
        shortcuts.append(esc)
        return shortcuts

    # -------------------------------------------------------------- opening and scoring
    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of ECGs")
        if folder:
            self.open_source(folder)

    def _choose_collection(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open an ECG collection",
            "",
            "ECG collections (*.h5 *.hdf5 *.hdf *.csv);;PTB-XL database (ptbxl_database.csv);;All files (*)",
        )
        if path:
            self.open_source(path)

    def open_source(self, source: str | os.PathLike[str]) -> Worker:
        """Fill the table from a folder, HDF5 collection or PTB-XL CSV and start scoring."""
        from ecgviewer.analysis.worklist_jobs import worklist_job

        self.cancel_scoring()
        self.model.clear()
        self.source = os.fspath(source)
        self.setWindowTitle(f"ecgviewer — worklist — {Path(self.source).name}")
        store, detector, bridge = self.store, self.detector, self._bridge
        token = self._token = object()  # rows of a replaced job (still queued) are dropped

        def job() -> Any:  # built on the worker thread: nothing slow on the GUI thread
            return worklist_job(
                self.source or "",
                store,
                detector,
                emit=lambda rows: bridge.rows_arrived.emit((token, rows)),
                chunk=self.chunk,
                device=self.device,
            )

        worker = Worker(job, kind="worklist")
        self.worker = worker
        self._progress_t0 = None
        self._t_open = time.perf_counter()
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.toolbar.act_cancel.setEnabled(True)
        self.eta_label.setText("Looking for ECGs…")
        # The tracker delivers only while this job is current: no stale check per handler.
        self.jobs.start(
            worker,
            progress=self._on_progress,
            finished=self._on_finished,
            failed=self._on_failed,
            cancelled=self._on_cancelled,
        )
        return worker

    def cancel_scoring(self) -> None:
        self.jobs.cancel("worklist")

    def _merge_rows(self, message: tuple[object, list[WorklistRow]]) -> None:
        token, rows = message
        if token is not self._token:
            return
        had = self.model.rowCount()
        self.model.merge(rows)
        if had == 0 and self.model.rowCount():
            self.first_rows_s = time.perf_counter() - self._t_open
            self._following_top = True
            self._select_top()
            self.table.setFocus()
        else:
            if self._following_top:
                # Until the reader picks a row, the selection stays on the top of the list as
                # rows arrive and re-sort (it stayed on the first file scored, which ended last).
                self._select_top()
            self._show_if_current(rows)
        self._update_counts()

    def _show_if_current(self, rows: list[WorklistRow]) -> None:
        """Re-show the details when the current row is among ``rows`` (it got its hash and
        score: the review buttons, disabled until then, stayed so on the top row)."""
        current = self.current_row()
        if current is not None and any(r.uid == current.uid for r in rows):
            self._show_details(current)

    def _on_progress(self, done: int, total: int, message: str) -> None:
        if total <= 0:
            self.progress.setRange(0, 0)
            self.eta_label.setText(message)
            return
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        now = time.perf_counter()
        if self._progress_t0 is None:
            self._progress_t0 = (now, done)
        t0, d0 = self._progress_t0
        eta = ""
        if done > d0 and done < total:
            rate = (done - d0) / max(now - t0, 1e-6)
            eta = f" · about {format_eta((total - done) / rate)} left ({rate:.1f} ECG/s)"
        self.eta_label.setText(f"{message}{eta}")

    def _end(self, text: str) -> None:
        self.progress.setVisible(False)
        self.toolbar.act_cancel.setEnabled(False)
        self.eta_label.setText(text)

    def _on_finished(self, rows: list[WorklistRow]) -> None:
        self._end(f"{len(rows)} ECGs scored")
        self.model.merge(rows)
        self._show_if_current(rows)
        self._update_counts()

    def _on_failed(self, exc: BaseException) -> None:
        self._end("Scoring stopped by an error")
        show_error(self, exc)

    def _on_cancelled(self) -> None:
        self._end("Scoring stopped: open the folder again to go on (scores kept)")

    def _update_counts(self) -> None:
        rows = self.model.rows()
        n = len(rows)
        flagged = sum(r.review_state == "abnormal" for r in rows)
        normal = sum(r.review_state == "normal" for r in rows)
        errors = sum(r.status == "error" for r in rows)
        self.counts_label.setText(
            f"{n} ECGs · {flagged} flagged abnormal · {normal} reviewed normal · "
            f"{n - flagged - normal} to review" + (f" · {errors} unreadable" if errors else "")
        )

    # -------------------------------------------------------------- navigation
    def current_row(self) -> WorklistRow | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.row(index.data(UID_ROLE))

    def _select(self, proxy_row: int) -> None:
        if 0 <= proxy_row < self.proxy.rowCount():
            index = self.proxy.index(proxy_row, 0)
            self.table.selectionModel().setCurrentIndex(
                index,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
            self.table.scrollTo(index)

    def next_row(self) -> None:
        self._select(
            self.table.currentIndex().row() + 1 if self.table.currentIndex().isValid() else 0
        )

    def select_ecg(self, content_hash: str, path: str | None = None) -> bool:
        """Select the listed row of the ECG ``content_hash`` (the one at ``path`` first, as
        identical files share a hash); False when it is not listed."""
        found = [
            i
            for i in range(self.proxy.rowCount())
            if self.model.row(self.proxy.index(i, 0).data(UID_ROLE)).content_hash == content_hash
        ]
        if not found:
            return False
        at_path = [
            i for i in found if self.model.row(self.proxy.index(i, 0).data(UID_ROLE)).path == path
        ]
        self._select((at_path or found)[0])
        return True

    def previous_row(self) -> None:
        self._select(max(0, self.table.currentIndex().row() - 1))

    def _select_top(self) -> None:
        self._selecting_top = True
        try:
            self._select(0)
        finally:
            self._selecting_top = False

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not self._selecting_top:
            self._following_top = False  # the reader chose a row: it is not moved again
        row = self.current_row() if current.isValid() else None
        self.proxy.pin(None if row is None else row.uid)
        notice = ""
        if row is not None:
            row, notice = self.refresh_row(row)
        self._show_details(row)
        if notice:
            self.details.message.setText(notice)

    def _pin_current(self, *_args: object) -> None:
        row = self.current_row() if self.table.currentIndex().isValid() else None
        self.proxy.pin(None if row is None else row.uid)

    def refresh_row(self, row: WorklistRow) -> tuple[WorklistRow, str]:
        """``row`` with its review and reading as stored now (another window or ecgviewer on
        the same store may have changed them since the list was read), and a line saying so
        when its review did ("" when not)."""
        if not row.content_hash:
            return row, ""
        try:
            review = self.store.get_review(row.content_hash)
            reading = self._readings().get(row.content_hash)
            readers = self._readings().readers_of([row.content_hash]).get(row.content_hash, [])
        except Exception as exc:  # noqa: BLE001 - the list as read is still shown
            log.info("could not re-read the review of %s: %s", row.path, exc)
            return row, ""
        fresh = row.with_review(review).with_reading(reading, readers)
        if fresh == row:
            return row, ""
        self.model.merge(
            [
                r.with_review(review).with_reading(reading, readers)
                for r in self.model.rows()
                if r.content_hash == row.content_hash
            ]
        )
        self._update_counts()
        changed = (fresh.review_state, fresh.note, fresh.review_time) != (
            row.review_state,
            row.note,
            row.review_time,
        )
        notice = (
            f"{review.reviewer or 'Someone'} changed this review in another window since the "
            "list was read: it is shown as it is now."
        )
        return fresh, notice if changed else ""

    def _readings(self) -> Any:
        from ecgviewer.review.reading import Readings

        return Readings(self.store)

    def _show_details(self, row: WorklistRow | None) -> None:
        self.details.show_row(row)

    # -------------------------------------------------------------- reviewing
    def _save(self, row: WorklistRow, state: str, note: str) -> WorklistRow | None:
        """Save ``state`` and ``note`` for ``row``, unless another reader changed its review
        since this window read it (then the row is refreshed and the reader told: nothing of
        theirs is overwritten unseen). Refused without a reviewer name, as sign-off is."""
        if not row.content_hash:
            return None
        who = self.toolbar.reviewer()
        if not who:
            self.details.message.setText(
                "Enter your name in the Reviewer field first: every review and note is kept "
                "with who made it. Nothing was saved."
            )
            self.toolbar.reviewer_edit.setFocus()
            return None
        expected = Review(
            row.content_hash,
            row.review_state,
            row.note,
            row.reviewer,
            datetime.fromisoformat(row.review_time) if row.review_time else None,
        )
        note = clean_text(note, multiline=True)  # no control characters on the report or CSV
        try:
            saved = self.store.save_review(Review(row.content_hash, state, note, who), expected)
        except ReviewConflict as exc:
            self._merge_review(row.with_review(exc.current))
            self._show_details(self.current_row())
            self.details.message.setText(exc.problem)
            return None
        except Exception as exc:  # noqa: BLE001 - the database said no: tell, stay usable
            show_error(self, exc)
            return None
        new = row.with_review(saved)
        self._merge_review(new)
        self.details.saved(row.uid)
        self.review_saved.emit(saved)
        return new

    def _merge_review(self, new: WorklistRow) -> None:
        """Identical ECGs (same content) share a review: update every row showing it."""
        self.model.merge(
            [
                replace(
                    r,
                    review_state=new.review_state,
                    note=new.note,
                    reviewer=new.reviewer,
                    review_time=new.review_time,
                )
                for r in self.model.rows()
                if r.content_hash == new.content_hash
            ]
        )
        self._update_counts()

    def mark(self, state: str) -> None:
        """Save ``state`` for the current ECG with the note typed for it (or its saved one),
        then maybe advance."""
        row = self.current_row()
        if row is None:
            return
        saved = self._save(row, state, self.details.note(row))
        if saved is not None:
            self._show_details(saved)
            if self.details.advance.isChecked():
                self.next_row()

    def edit_note(self) -> None:
        if self.details.note_edit.isEnabled():
            self.details.note_edit.setFocus()
            self.details.note_edit.moveCursor(self.details.note_edit.textCursor().MoveOperation.End)

    def save_note(self) -> None:
        row = self.current_row()
        if row is None:
            return
        saved = self._save(row, row.review_state, self.details.note(row))
        if saved is not None:
            self._show_details(saved)

    def save_drafts(self) -> int:
        """Save every note typed and not saved (each with its own row's review state);
        returns how many were saved (a refused one stays a draft, with the reason shown)."""
        done = 0
        for uid, text in self.details.unsaved().items():
            try:
                row = self.model.row(uid)
            except KeyError:
                continue  # a row of another folder: its draft stays
            done += self._save(row, row.review_state, text.strip()) is not None
        return done

    def _save_note_and_return(self) -> None:
        self.save_note()
        self.table.setFocus()

    def open_current(self) -> None:
        row = self.current_row()
        if row is not None:
            self.open_requested.emit(row)

    def previous_of(self, row: WorklistRow) -> WorklistRow | None:
        """The same patient's ECG recorded last before ``row`` (or, where their dates are not
        known, another of theirs, which the comparison then says); None when the patient id
        is unknown or no other ECG of theirs here is earlier. A later ECG is never returned
        as the previous one: every change would read backwards."""
        if not row.patient_id:
            return None
        same = [r for r in self.model.rows() if r.patient_id == row.patient_id and r.uid != row.uid]
        earlier = [r for r in same if r.start and row.start and r.start < row.start]
        if earlier:
            return max(earlier, key=lambda r: r.start)
        undated = [r for r in same if not (r.start and row.start)]
        return undated[0] if undated else None

    def compare_current(self) -> None:
        """C: show the selected ECG against the same patient's previous one."""
        row = self.current_row()
        previous = self.previous_of(row) if row is not None else None
        if row is not None and previous is None:
            others = row.patient_id and any(
                r.patient_id == row.patient_id and r.uid != row.uid for r in self.model.rows()
            )
            self.statusBar().showMessage(
                "No earlier ECG of this patient in the worklist (the others are later)"
                if others
                else "No other ECG of this patient in the worklist"
                if row.patient_id
                else "This ECG has no patient id to find a previous ECG by",
                5000,
            )
            return
        if row is not None:
            self.compare_requested.emit(row, previous)

    def patient_of(self, row: WorklistRow) -> Patient | None:
        """What the worklist knows about the patient (e.g. from a PTB-XL CSV)."""
        info = self.store.get_ecg(row.content_hash) if row.content_hash else None
        if info is None:
            return None
        return Patient(info.patient_id, info.age, info.sex)

    # -------------------------------------------------------------- export and closing
    def _choose_export(self) -> None:
        default = (
            str(Path(self.source or ".").with_suffix("")) + "_worklist.csv"
            if self.source
            else "worklist.csv"
        )
        path, _ = QFileDialog.getSaveFileName(self, "Export the worklist", default, "CSV (*.csv)")
        if path:
            self.export(path)

    def export(self, path: str | os.PathLike[str]) -> int:
        """Write the rows as shown (sorted) to CSV; returns the number written."""
        rows = [
            self.model.row(self.proxy.index(i, 0).data(UID_ROLE))
            for i in range(self.proxy.rowCount())
        ]
        try:
            n = export_csv(rows, path)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
            return 0
        self.statusBar().showMessage(f"{n} rows written to {path}", 5000)
        return n

    def closeEvent(self, event: QCloseEvent) -> None:  # Qt's name
        drafts = self.details.unsaved()
        if drafts and ask(
            self,
            f"You typed notes for {len(drafts)} ECG(s) and did not save them. Save them now, "
            "each with its own ECG? (No leaves them unsaved.)",
            "Unsaved notes",
        ):
            self.save_drafts()
        self.jobs.cancel_all()
        if not self.jobs.wait_all(3.0):
            log.warning("worklist job still running at close")
        if self._own_store:
            self.store.close()
        super().closeEvent(event)


def main(argv: list[str] | None = None) -> int:
    """``python -m ecgviewer.ui.worklist_window FOLDER``: the worklist on its own."""
    import sys

    from PySide6.QtWidgets import QApplication

    args = sys.argv[1:] if argv is None else argv
    app = QApplication.instance() or QApplication(sys.argv[:1])
    win = WorklistWindow()
    win.resize(1300, 800)
    win.show()
    win.open_requested.connect(lambda row: show_info(win, f"Open {row.path} in the viewer"))
    if args:
        win.open_source(args[0])
    return int(app.exec())


if __name__ == "__main__":
    raise SystemExit(main())
