"""The reader's workflow in the viewer: an "Interpretation" dock, interval editor, audit trail.

Installed by :func:`ecgviewer.ui.review_hooks.install` next to the worklist and reports, using
only their public surface: the ECG on screen is identified by the worklist row it was opened
from (its content hash) or by hashing its file; every action goes through
:class:`~ecgviewer.review.reading.Readings` on the same review store; Ctrl+Return signs and
opens the next worklist ECG; the report of the ECG on screen gets its reading. The reader's
name is asked once per session (no passwords: an offline workstation) and shared with the
worklist's reviewer field.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow

from ecgviewer.record import Record
from ecgviewer.review.reading import Reading, Readings
from ecgviewer.review.worklist import WorklistRow
from ecgviewer.ui.messages import show_error
from ecgviewer.ui.statements_panel import StatementsPanel

log = logging.getLogger(__name__)

#: How often the panel re-reads the reading on screen (another reader may have signed it).
REFRESH_MS = 3000


class ReadingFeatures(QObject):
    """Owns the Interpretation dock of one main window."""

    def __init__(self, window: QMainWindow, review: Any) -> None:
        super().__init__(window)
        self.window: Any = window
        self.review = review  # ui.review_hooks.ReviewFeatures
        self.readings = Readings(review.store)
        self.record: Record | None = None
        self.panel = StatementsPanel(self.readings)
        self.panel.install_shortcuts(window)
        self.panel.changed.connect(self._changed)
        self.panel.confirm_next_requested.connect(self.next_ecg)
        self.panel.audit_requested.connect(self.show_audit)
        self.panel.intervals_requested.connect(self.edit_intervals)
        self.panel.reader_edit.editingFinished.connect(self._share_reader)
        self.dock = QDockWidget("Interpretation", window)
        self.dock.setObjectName("interpretation_dock")
        self.panel.setTitle("")  # the dock's title says it
        self.panel.setMinimumWidth(340)
        self.panel.completer.popup().setMinimumWidth(460)
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        window.record_loaded.connect(self._record_loaded)
        # Another window or ecgviewer on the same store may sign or edit the reading on
        # screen: the panel re-reads it when the window is activated and every few seconds
        # (one indexed query), so nobody acts on a sign-off state that is no longer true.
        self._poll = QTimer(self)
        self._poll.setInterval(REFRESH_MS)
        self._poll.timeout.connect(self.refresh)
        self._poll.start()
        window.installEventFilter(self)
        act = QAction("&Interpretation and sign-off", window)
        act.setShortcut(QKeySequence("Ctrl+L"))
        act.triggered.connect(self.focus)
        window.actions["interpretation"] = act
        window.addAction(act)
        view = window.menus.get("view")
        if view is not None:
            view.addAction(act)
            view.addAction(self.dock.toggleViewAction())

    # -------------------------------------------------------------- the ECG on screen
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt's name
        if watched is self.window and event.type() == QEvent.Type.WindowActivate:
            self.refresh()
        return False

    def refresh(self) -> bool:
        """Show the stored reading when it is no longer the one on screen (changed in another
        window or ecgviewer), and say so; True when it had changed."""
        h, shown = self.panel.content_hash, self.panel.reading
        if h is None or shown is None or not self.window.isVisible():
            return False
        try:
            stored = self.readings.get(h)
            if stored == shown:
                return False
            events = self.readings.events(h)
        except Exception as exc:  # noqa: BLE001 - the panel keeps what it shows
            log.debug("could not re-read the reading of %s: %s", h, exc)
            return False
        who = events[-1].reader if events and events[-1].reader else "someone"
        self.panel.set_ecg(h)
        self.panel.message.setText(
            f"Changed by {who} in another window: the reading is shown as it is now."
        )
        self._changed(stored)
        return True

    def _record_loaded(self, record: Record) -> None:
        self.record = record
        worklist = self.review.worklist
        edit = worklist.toolbar.reviewer_edit if worklist is not None else None
        if not self.panel.reader() and edit is not None and edit.text().strip():
            self.panel.set_reader(edit.text().strip())  # the name given in the worklist
        self.panel.set_ecg(self._hash(record))

    def _hash(self, record: Record) -> str | None:
        worklist = self.review.worklist
        row: WorklistRow | None = worklist.current_row() if worklist is not None else None
        if row is not None and row.content_hash and record.source and row.path == record.source:
            return row.content_hash
        return self.review.hash_of(record)

    def reading_of(self, record: Record) -> Reading | None:
        """The reading of ``record`` for its report (None when the store does not know it)."""
        if record is not self.record or self.panel.content_hash is None:
            h = self._hash(record)
        else:
            h = self.panel.content_hash
        return None if h is None else self.readings.get(h)

    def focus(self) -> None:
        self.dock.show()
        self.dock.raise_()
        if not self.panel.reader():
            self.panel.reader_edit.setFocus()
        else:
            self.panel.focus_entry()

    # -------------------------------------------------------------- actions
    def _share_reader(self) -> None:
        worklist = self.review.worklist
        edit = worklist.toolbar.reviewer_edit if worklist is not None else None
        if edit is not None and not edit.text().strip():
            edit.setText(self.panel.reader())

    def _changed(self, reading: Reading) -> None:
        """Keep the worklist rows of this ECG in step with the saved reading."""
        worklist = self.review.worklist
        if worklist is None:
            return
        readers = self.readings.readers_of([reading.content_hash]).get(reading.content_hash, [])
        rows = [
            r.with_reading(reading, readers)
            for r in worklist.model.rows()
            if r.content_hash == reading.content_hash
        ]
        if rows:
            worklist.model.merge(rows)
            current = worklist.current_row()
            if current is not None and current.content_hash == reading.content_hash:
                worklist.details.show_row(current)

    def next_ecg(self) -> None:
        """Confirm-and-next: the worklist's next row, opened in the viewer."""
        worklist = self.review.worklist
        if worklist is None:
            self.window.statusBar().showMessage(
                "Confirmed. Open a worklist to move to the next ECG.", 5000
            )
            return
        # From the ECG on screen, wherever the worklist's selection went meanwhile: signing
        # could take the row out of a filtered list and move the selection on by itself.
        on_screen = self.panel.content_hash
        current = worklist.current_row()
        if on_screen is not None and (current is None or current.content_hash != on_screen):
            source = self.record.source if self.record is not None else None
            worklist.select_ecg(on_screen, source)
        before = worklist.current_row()
        worklist.next_row()
        after = worklist.current_row()
        if after is None or (before is not None and after.uid == before.uid):
            self.window.statusBar().showMessage(
                "Confirmed. That was the last ECG of the worklist.", 5000
            )
            return
        worklist.open_current()

    def show_audit(self) -> Any:
        if self.panel.content_hash is None:
            return None
        from ecgviewer.ui.audit_dialog import AuditDialog

        title = self.record.source if self.record is not None and self.record.source else ""
        dlg = AuditDialog(self.readings, self.panel.content_hash, title, parent=self.window)
        dlg.show()
        return dlg

    def edit_intervals(self) -> Any:
        if self.panel.content_hash is None or self.record is None:
            return None
        from ecgviewer.analysis.reader_beat import machine_beat
        from ecgviewer.ui.interval_editor import IntervalEditorDialog

        try:
            beat = machine_beat(self.record)
        except Exception as exc:  # noqa: BLE001 - shown, the viewer stays
            show_error(self.window, exc)
            return None
        if beat.beat is None:
            show_error(self.window, ValueError(f"No median beat to edit: {beat.reason}."))
            return None
        dlg = IntervalEditorDialog(
            beat, self.readings, self.panel.content_hash, self.panel.reader, parent=self.window
        )
        dlg.editor.edited.connect(self._edited)
        dlg.show()
        return dlg

    def _edited(self, reading: Reading) -> None:
        self.panel.set_ecg(reading.content_hash)
        self._changed(reading)


def install(window: QMainWindow, review: Any) -> ReadingFeatures | None:
    """Add the Interpretation dock; the viewer and worklist work without it, so a failure
    is logged, not fatal."""
    try:
        features = ReadingFeatures(window, review)
    except Exception:
        log.exception("the interpretation / sign-off features are unavailable")
        return None
    # The public hooks: the window and the review features (its reports) know the dock.
    window.attach_reading(features)  # type: ignore[attr-defined]
    review.attach_reading(features)
    return features
