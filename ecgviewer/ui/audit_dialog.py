"""The audit trail of one ECG: every change with who, when, what, before and after; CSV export.

Read-only by design: the store refuses to change an event, and this view offers no way to.
"""

from __future__ import annotations

import os

from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ecgviewer.review.audit import AuditEvent
from ecgviewer.review.reading import Readings
from ecgviewer.ui.messages import show_error

_COLUMNS = ("When (local)", "Reader", "Action", "What", "Before", "After")


class AuditDialog(QDialog):
    def __init__(
        self, readings: Readings, content_hash: str, title: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.readings, self.content_hash = readings, content_hash
        self.setWindowTitle(f"Audit trail — {title or content_hash[:12]}")
        self.events: list[AuditEvent] = readings.events(content_hash)
        self.table = QTableWidget(len(self.events), len(_COLUMNS))
        self.table.setHorizontalHeaderLabels(_COLUMNS)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        for i, e in enumerate(self.events):
            values = (
                e.time.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                e.reader,
                e.action,
                e.what,
                e.before,
                e.after,
            )
            for j, v in enumerate(values):
                self.table.setItem(i, j, QTableWidgetItem(v))
        self.table.resizeColumnsToContents()
        for col, most in ((3, 240), (4, 280), (5, 280)):  # long texts wrap in the tooltip width
            self.table.setColumnWidth(col, min(most, self.table.columnWidth(col)))
        self.table.horizontalHeader().setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        for i in range(len(self.events)):
            for j in (3, 4, 5):
                self.table.item(i, j).setToolTip(self.table.item(i, j).text())
        export = QPushButton("Export CSV…")
        export.clicked.connect(self._choose_export)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(QLabel(f"{len(self.events)} events, oldest first; never rewritten"))
        buttons.addStretch(1)
        buttons.addWidget(export)
        buttons.addWidget(close)
        box = QVBoxLayout(self)
        box.addWidget(self.table, 1)
        box.addLayout(buttons)
        self.resize(1000, 420)

    def _choose_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the audit trail", "audit.csv", "CSV (*.csv)"
        )
        if path:
            self.export(path)

    def export(self, path: str | os.PathLike[str]) -> int:
        try:
            return self.readings.export_events(path, self.content_hash)
        except Exception as exc:  # noqa: BLE001 - shown, the dialog stays
            show_error(self, exc)
            return 0
