"""The worklist's reader's-workflow parts: filter by sign-off state and reader, and the
reading's summary in the details panel."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QFileDialog, QLabel, QLineEdit, QToolBar

from ecgviewer.review.signoff import LABELS, STATES
from ecgviewer.review.worklist import WorklistRow


def reading_summary(row: WorklistRow) -> str:
    """'confirmed by dr k 2026-01-05 10:00: SR; LVH' (marked when the reader edited intervals)."""
    text = LABELS.get(row.reading_state, row.reading_state)
    if row.signer and row.signed_at:
        text += f" (signed by {row.signer} {row.signed_at[:16].replace('T', ' ')})"
    if row.statements:
        text += f": {row.statements}"
    if row.reader_measurements:
        text += "; reader-edited intervals"
    return "reading " + text


def add_reading_filter(win: Any, bar: QToolBar) -> None:
    """A state box and a reader field on the worklist toolbar, driving ``win.proxy``."""
    win.reading_state_box = QComboBox()
    win.reading_state_box.addItem("any state", "")
    for state in STATES:
        win.reading_state_box.addItem(LABELS[state], state)
    win.reading_reader_edit = QLineEdit()
    win.reading_reader_edit.setPlaceholderText("reader")
    win.reading_reader_edit.setMaximumWidth(140)

    def apply(*_args: object) -> None:
        win.proxy.set_reading_filter(
            win.reading_state_box.currentData() or "", win.reading_reader_edit.text()
        )

    win.reading_state_box.currentIndexChanged.connect(apply)
    win.reading_reader_edit.textChanged.connect(apply)
    bar.addSeparator()
    bar.addWidget(QLabel(" Reading: "))
    bar.addWidget(win.reading_state_box)
    bar.addWidget(win.reading_reader_edit)
    win.act_export_audit = QAction("Export audit trail…", win)
    win.act_export_audit.setToolTip("Every change to every ECG in the review store, as CSV")
    win.act_export_audit.triggered.connect(lambda: _choose_audit_export(win))
    bar.addAction(win.act_export_audit)


def export_audit(win: Any, path: str) -> int:
    """The whole audit trail of the window's review store as CSV; returns the event count."""
    from ecgviewer.review.reading import Readings
    from ecgviewer.ui.messages import show_error, show_info

    try:
        n = Readings(win.store).export_events(path)
    except Exception as exc:  # noqa: BLE001 - shown, the worklist stays
        show_error(win, exc)
        return 0
    show_info(win, f"{n} audit events written to {path}.", "Audit trail exported")
    return n


def _choose_audit_export(win: Any) -> None:
    path, _ = QFileDialog.getSaveFileName(
        win, "Export the audit trail", "audit_trail.csv", "CSV (*.csv)"
    )
    if path:
        export_audit(win, path)
