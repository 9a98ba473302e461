"""Toolbar and side panel of the worklist window, built from its public slots.

Kept apart from :mod:`ecgviewer.ui.worklist_window` (as ``menus.py`` is from the main window)
to keep each module small; the widgets become attributes of the window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from ecgviewer.ui.worklist_window import WorklistWindow


def build_toolbar(self: WorklistWindow) -> None:
    """Open, export, stop; the reviewer's name (remembered) and a filter."""
    bar = QToolBar("Worklist")
    bar.setObjectName("worklist_toolbar")
    self.addToolBar(bar)
    self.act_open = QAction("Open folder…", self, shortcut=QKeySequence("Ctrl+Shift+O"))
    self.act_open.triggered.connect(self._choose_folder)
    self.act_open_file = QAction("Open collection / database…", self)
    self.act_open_file.triggered.connect(self._choose_collection)
    self.act_export = QAction("Export CSV…", self, shortcut=QKeySequence("Ctrl+Shift+E"))
    self.act_export.triggered.connect(self._choose_export)
    self.act_cancel = QAction("Stop scoring", self)
    self.act_cancel.triggered.connect(self.cancel_scoring)
    self.act_cancel.setEnabled(False)
    for act in (self.act_open, self.act_open_file, self.act_export, self.act_cancel):
        bar.addAction(act)
    bar.addSeparator()
    bar.addWidget(QLabel(" Reviewer: "))
    self.reviewer_edit = QLineEdit(str(self._settings.value("reviewer", "") or ""))
    self.reviewer_edit.setPlaceholderText("your name")
    self.reviewer_edit.setMaximumWidth(180)
    self.reviewer_edit.editingFinished.connect(
        lambda: self._settings.setValue("reviewer", self.reviewer_edit.text().strip()))
    bar.addWidget(self.reviewer_edit)
    self.filter_edit = QLineEdit()
    self.filter_edit.setPlaceholderText("filter (patient, file, note…)")
    self.filter_edit.setMaximumWidth(220)
    self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
    bar.addSeparator()
    bar.addWidget(self.filter_edit)

def build_side_panel(self: WorklistWindow) -> None:
    """Details of the current ECG, the three review buttons and the note editor."""
    self.side = QWidget()
    lay = QVBoxLayout(self.side)
    form = QFormLayout()
    self.lbl_ecg = QLabel()
    self.lbl_patient = QLabel()
    self.lbl_score = QLabel()
    self.lbl_score.setWordWrap(True)
    self.lbl_review = QLabel()
    self.lbl_review.setWordWrap(True)
    for name, widget in (("ECG", self.lbl_ecg), ("Patient", self.lbl_patient),
                         ("Anomaly", self.lbl_score), ("Review", self.lbl_review)):
        widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(name, widget)
    lay.addLayout(form)
    buttons = QHBoxLayout()
    self.btn_normal = QPushButton("Normal (N)")
    self.btn_abnormal = QPushButton("Abnormal (A)")
    self.btn_clear = QPushButton("Unreviewed (U)")
    self.btn_normal.clicked.connect(lambda: self.mark("normal"))
    self.btn_abnormal.clicked.connect(lambda: self.mark("abnormal"))
    self.btn_clear.clicked.connect(lambda: self.mark("unreviewed"))
    for b in (self.btn_normal, self.btn_abnormal, self.btn_clear):
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the table
        buttons.addWidget(b)
    lay.addLayout(buttons)
    self.advance = QCheckBox("Go to the next ECG after marking")
    self.advance.setChecked(str(self._settings.value("advance", "true")).lower() == "true")
    self.advance.toggled.connect(lambda on: self._settings.setValue("advance", on))
    self.advance.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    lay.addWidget(self.advance)
    lay.addWidget(QLabel("Note (E to edit, Ctrl+Enter saves, Esc back to the list):"))
    self.note_edit = QPlainTextEdit()
    self.note_edit.setPlaceholderText("free-text note for this ECG")
    lay.addWidget(self.note_edit, 1)
    self.btn_note = QPushButton("Save note")
    self.btn_note.clicked.connect(self.save_note)
    lay.addWidget(self.btn_note)
    self.btn_view = QPushButton("Open in viewer (Enter)")
    self.btn_view.clicked.connect(self.open_current)
    lay.addWidget(self.btn_view)
