"""Toolbar and side panel of the worklist window, built from its public slots.

Kept apart from :mod:`ecgviewer.ui.worklist_window` (as ``menus.py`` is from the main window)
to keep each module small; the widgets become attributes of the window.
"""

from __future__ import annotations

from typing import Any

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

#: The worklist window (ui/worklist_window.py imports this module, so not the other way round).
WorklistWindow = Any


def build_toolbar(win: WorklistWindow) -> None:
    """Open, export, stop; the reviewer's name (remembered) and a filter."""
    bar = QToolBar("Worklist")
    bar.setObjectName("worklist_toolbar")
    win.addToolBar(bar)
    win.act_open = QAction("Open folder…", win, shortcut=QKeySequence("Ctrl+Shift+O"))
    win.act_open.triggered.connect(win._choose_folder)
    win.act_open_file = QAction("Open collection / database…", win)
    win.act_open_file.triggered.connect(win._choose_collection)
    win.act_export = QAction("Export CSV…", win, shortcut=QKeySequence("Ctrl+Shift+E"))
    win.act_export.triggered.connect(win._choose_export)
    win.act_cancel = QAction("Stop scoring", win)
    win.act_cancel.triggered.connect(win.cancel_scoring)
    win.act_cancel.setEnabled(False)
    for act in (win.act_open, win.act_open_file, win.act_export, win.act_cancel):
        bar.addAction(act)
    bar.addSeparator()
    bar.addWidget(QLabel(" Reviewer: "))
    win.reviewer_edit = QLineEdit(str(win._settings.value("reviewer", "") or ""))
    win.reviewer_edit.setPlaceholderText("your name")
    win.reviewer_edit.setMaximumWidth(180)
    win.reviewer_edit.editingFinished.connect(
        lambda: win._settings.setValue("reviewer", win.reviewer_edit.text().strip())
    )
    bar.addWidget(win.reviewer_edit)
    win.filter_edit = QLineEdit()
    win.filter_edit.setPlaceholderText("filter (patient, file, note…)")
    win.filter_edit.setMaximumWidth(220)
    win.filter_edit.textChanged.connect(win.proxy.setFilterFixedString)
    bar.addSeparator()
    bar.addWidget(win.filter_edit)
    from ecgviewer.ui.worklist_reading_filter import add_reading_filter

    add_reading_filter(win, bar)


def build_side_panel(win: WorklistWindow) -> None:
    """Details of the current ECG, the three review buttons and the note editor."""
    win.side = QWidget()
    lay = QVBoxLayout(win.side)
    form = QFormLayout()
    win.lbl_ecg = QLabel()
    win.lbl_patient = QLabel()
    win.lbl_score = QLabel()
    win.lbl_score.setWordWrap(True)
    win.lbl_review = QLabel()
    win.lbl_review.setWordWrap(True)
    for name, widget in (
        ("ECG", win.lbl_ecg),
        ("Patient", win.lbl_patient),
        ("Anomaly", win.lbl_score),
        ("Review", win.lbl_review),
    ):
        widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(name, widget)
    lay.addLayout(form)
    buttons = QHBoxLayout()
    win.btn_normal = QPushButton("Normal (N)")
    win.btn_abnormal = QPushButton("Abnormal (A)")
    win.btn_clear = QPushButton("Unreviewed (U)")
    win.btn_normal.clicked.connect(lambda: win.mark("normal"))
    win.btn_abnormal.clicked.connect(lambda: win.mark("abnormal"))
    win.btn_clear.clicked.connect(lambda: win.mark("unreviewed"))
    for b in (win.btn_normal, win.btn_abnormal, win.btn_clear):
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the table
        buttons.addWidget(b)
    lay.addLayout(buttons)
    win.advance = QCheckBox("Go to the next ECG after marking")
    win.advance.setChecked(str(win._settings.value("advance", "true")).lower() == "true")
    win.advance.toggled.connect(lambda on: win._settings.setValue("advance", on))
    win.advance.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    lay.addWidget(win.advance)
    lay.addWidget(QLabel("Note (E to edit, Ctrl+Enter saves, Esc back to the list):"))
    win.note_edit = QPlainTextEdit()
    win.note_edit.setPlaceholderText("free-text note for this ECG")
    lay.addWidget(win.note_edit, 1)
    win.btn_note = QPushButton("Save note")
    win.btn_note.clicked.connect(win.save_note)
    lay.addWidget(win.btn_note)
    win.btn_view = QPushButton("Open in viewer (Enter)")
    win.btn_view.clicked.connect(win.open_current)
    lay.addWidget(win.btn_view)
