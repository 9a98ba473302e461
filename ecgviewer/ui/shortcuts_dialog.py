"""Help > Keyboard shortcuts: every key of the viewer, the long-recording bar and the worklist.

Menu actions are read from ``window.actions`` (so a new action with a shortcut is listed by
itself); keys handled by widgets directly (the paper, the overview bar, the worklist table) are
listed in :data:`WIDGET_KEYS`, which README's shortcut table mirrors.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTableWidget, QTableWidgetItem, QVBoxLayout

# (where, key, what) for keys that are not menu actions.
WIDGET_KEYS: tuple[tuple[str, str, str], ...] = (
    ("Paper", "Arrow keys", "pan the paper"),
    ("Paper", "+ / -", "zoom in / out (then NOT true scale)"),
    ("Paper", "0 or Home", "back to true scale"),
    ("Paper", "Double-click a lead", "show that lead alone (Esc: all leads)"),
    ("Long recording", "F / Shift+F", "next / previous finding in the whole recording"),
    ("Long recording", "Alt+Left / Alt+Right", "10 s back / forward"),
    ("Long recording", "Alt+Shift+Left / Alt+Shift+Right", "1 min back / forward"),
    ("Worklist", "J / K (or Down / Up)", "next / previous ECG"),
    ("Worklist", "N / A / U", "mark reviewed normal / abnormal / unreviewed"),
    ("Worklist", "E", "edit the note (Ctrl+Enter saves, Esc returns)"),
    ("Worklist", "Enter", "open the ECG in the viewer"),
)


def _plain(text: str) -> str:
    return text.replace("&", "").replace("…", "").strip()


def shortcut_rows(window: Any) -> list[tuple[str, str, str]]:
    """(where, key, what) for every shortcut: menu actions first, then widget keys."""
    rows: list[tuple[str, str, str]] = []
    for action in window.actions.values():
        seq = action.shortcut()
        if seq.isEmpty():
            continue
        key = seq.toString(QKeySequence.SequenceFormat.NativeText)
        rows.append(("Viewer", key, _plain(action.text())))
    rows.sort(key=lambda r: (len(r[1]) > 1, r[1]))
    return rows + list(WIDGET_KEYS)


class ShortcutsDialog(QDialog):
    """A read-only table of :func:`shortcut_rows`."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        self.rows = shortcut_rows(window)
        table = QTableWidget(len(self.rows), 3, self)
        table.setHorizontalHeaderLabels(["Where", "Key", "Does"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, row in enumerate(self.rows):
            for c, text in enumerate(row):
                table.setItem(r, c, QTableWidgetItem(text))
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, parent=self)
        buttons.rejected.connect(self.reject)
        box = QVBoxLayout(self)
        box.addWidget(table)
        box.addWidget(buttons)
        self.table = table
        self.resize(640, 560)
