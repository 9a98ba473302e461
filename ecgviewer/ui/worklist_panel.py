"""Toolbar and details panel of the worklist window, as widgets that own their controls.

Kept apart from :mod:`ecgviewer.ui.worklist_window` to keep each module small. Each widget says
what the user asked for through signals; the window decides what happens and tells the
details panel which row to show.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
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

from ecgviewer.review.signoff import LABELS, STATES
from ecgviewer.review.worklist import WorklistRow
from ecgviewer.ui.worklist_reading_filter import reading_summary, shown_time


class WorklistToolbar(QToolBar):
    """Open, export, stop; the reviewer's name (remembered); a text filter and a filter by
    reading state and reader; the audit-trail export."""

    open_folder_requested = Signal()
    open_collection_requested = Signal()
    export_requested = Signal()
    cancel_requested = Signal()
    export_audit_requested = Signal()
    filter_changed = Signal(str)  # free text
    reading_filter_changed = Signal(str, str)  # sign-off state ("" any), reader

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__("Worklist", parent)
        self.setObjectName("worklist_toolbar")
        self.act_open = QAction("Open folder…", self, shortcut=QKeySequence("Ctrl+Shift+O"))
        self.act_open.triggered.connect(self.open_folder_requested)
        self.act_open_file = QAction("Open collection / database…", self)
        self.act_open_file.triggered.connect(self.open_collection_requested)
        self.act_export = QAction("Export CSV…", self, shortcut=QKeySequence("Ctrl+Shift+E"))
        self.act_export.triggered.connect(self.export_requested)
        self.act_cancel = QAction("Stop scoring", self)
        self.act_cancel.triggered.connect(self.cancel_requested)
        self.act_cancel.setEnabled(False)
        for act in (self.act_open, self.act_open_file, self.act_export, self.act_cancel):
            self.addAction(act)
        self.addSeparator()
        self.addWidget(QLabel(" Reviewer: "))
        self.reviewer_edit = QLineEdit(str(settings.value("reviewer", "") or ""))
        self.reviewer_edit.setPlaceholderText("your name")
        self.reviewer_edit.setMaximumWidth(180)
        self.reviewer_edit.editingFinished.connect(
            lambda: settings.setValue("reviewer", self.reviewer_edit.text().strip())
        )
        self.addWidget(self.reviewer_edit)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("filter (patient, file, note…)")
        self.filter_edit.setMaximumWidth(220)
        self.filter_edit.textChanged.connect(self.filter_changed)
        self.addSeparator()
        self.addWidget(self.filter_edit)
        self.reading_state_box = QComboBox()
        self.reading_state_box.addItem("any state", "")
        for state in STATES:
            self.reading_state_box.addItem(LABELS[state], state)
        self.reading_reader_edit = QLineEdit()
        self.reading_reader_edit.setPlaceholderText("reader")
        self.reading_reader_edit.setMaximumWidth(140)
        self.reading_state_box.currentIndexChanged.connect(self._reading_filter)
        self.reading_reader_edit.textChanged.connect(self._reading_filter)
        self.addSeparator()
        self.addWidget(QLabel(" Reading: "))
        self.addWidget(self.reading_state_box)
        self.addWidget(self.reading_reader_edit)
        self.act_export_audit = QAction("Export audit trail…", self)
        self.act_export_audit.setToolTip("Every change to every ECG in the review store, as CSV")
        self.act_export_audit.triggered.connect(self.export_audit_requested)
        self.addAction(self.act_export_audit)

    def _reading_filter(self, *_args: object) -> None:
        self.reading_filter_changed.emit(
            self.reading_state_box.currentData() or "", self.reading_reader_edit.text()
        )

    def reviewer(self) -> str:
        return self.reviewer_edit.text().strip()


class WorklistDetails(QWidget):
    """Details of the current ECG, the three review buttons and the note editor."""

    mark_requested = Signal(str)  # "normal", "abnormal" or "unreviewed"
    save_note_requested = Signal()
    open_requested = Signal()

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.lbl_ecg = QLabel()
        self.lbl_patient = QLabel()
        self.lbl_score = QLabel()
        self.lbl_score.setWordWrap(True)
        self.lbl_review = QLabel()
        self.lbl_review.setWordWrap(True)
        for name, widget in (
            ("ECG", self.lbl_ecg),
            ("Patient", self.lbl_patient),
            ("Anomaly", self.lbl_score),
            ("Review", self.lbl_review),
        ):
            widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(name, widget)
        lay.addLayout(form)
        buttons = QHBoxLayout()
        self.btn_normal = QPushButton("Normal (N)")
        self.btn_abnormal = QPushButton("Abnormal (A)")
        self.btn_clear = QPushButton("Unreviewed (U)")
        self.btn_normal.clicked.connect(lambda: self.mark_requested.emit("normal"))
        self.btn_abnormal.clicked.connect(lambda: self.mark_requested.emit("abnormal"))
        self.btn_clear.clicked.connect(lambda: self.mark_requested.emit("unreviewed"))
        for b in (self.btn_normal, self.btn_abnormal, self.btn_clear):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the table
            buttons.addWidget(b)
        lay.addLayout(buttons)
        self.advance = QCheckBox("Go to the next ECG after marking")
        self.advance.setChecked(str(settings.value("advance", "true")).lower() == "true")
        self.advance.toggled.connect(lambda on: settings.setValue("advance", on))
        self.advance.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        lay.addWidget(self.advance)
        lay.addWidget(QLabel("Note (E to edit, Ctrl+Enter saves, Esc back to the list):"))
        self.note_edit = QPlainTextEdit()
        self.note_edit.setPlaceholderText("free-text note for this ECG")
        lay.addWidget(self.note_edit, 1)
        self.message = QLabel()  # why the last save did not happen, or what changed meanwhile
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c00000")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.message)
        self.btn_note = QPushButton("Save note")
        self.btn_note.clicked.connect(self.save_note_requested)
        lay.addWidget(self.btn_note)
        self.btn_view = QPushButton("Open in viewer (Enter)")
        self.btn_view.clicked.connect(self.open_requested)
        lay.addWidget(self.btn_view)
        # The note editor always belongs to one row (its uid). Text typed and not saved stays
        # with that row when another is selected (a draft, shown again on coming back): it was
        # once left in the editor, and Save note / A / N stored it on the next patient's ECG.
        self.uid: str | None = None
        self._saved_note = ""  # the note stored for that row, as last shown
        self.drafts: dict[str, str] = {}

    def show_row(self, row: WorklistRow | None) -> None:
        """Show ``row`` (None: nothing selected). The same row shown again (a refresh) keeps the
        note being typed; another row gets its own note, or its unsaved draft."""
        enabled = row is not None and bool(row.content_hash)
        for w in (
            self.btn_normal,
            self.btn_abnormal,
            self.btn_clear,
            self.btn_note,
            self.note_edit,
        ):
            w.setEnabled(enabled)
        self.btn_view.setEnabled(row is not None)
        uid = None if row is None else row.uid
        if uid != self.uid:
            self._keep_draft()
            self.uid = uid
            self._saved_note = "" if row is None else row.note
            self.message.clear()
            draft = self.drafts.get(uid or "")
            self.note_edit.setPlainText(self._saved_note if draft is None else draft)
            self.note_edit.document().setModified(draft is not None)
            if draft is not None:
                self.message.setText(
                    "Unsaved note of this ECG, kept from before: save it or go on."
                )
        elif row is not None:
            self._saved_note = row.note
            if not self.note_edit.document().isModified():
                self.note_edit.setPlainText(row.note)  # saved, or changed in another window
                self.note_edit.document().setModified(False)
        if row is None:
            for lbl in (self.lbl_ecg, self.lbl_patient, self.lbl_score, self.lbl_review):
                lbl.setText("–")
            return
        self.lbl_ecg.setText(f"{row.label}\n{row.path}" + (f" [{row.key}]" if row.key else ""))
        self.lbl_patient.setText(f"{row.patient_id or '–'}   {row.start or ''}")
        if row.score is not None:
            from ecgviewer.ui.overlay import verdict  # quality-aware, wording.verdict inside

            name, _, rest = row.model_version.partition(":")
            version = rest.split(":")[0]
            self.lbl_score.setText(f"{verdict(row.percentile, row.flags)}\nmodel {name} {version}")
        else:
            self.lbl_score.setText(row.error or "not scored yet")
        who = f" by {row.reviewer}" if row.reviewer else ""
        when = f" at {shown_time(row.review_time)}" if row.review_time else ""
        self.lbl_review.setText(f"{row.review_state}{who}{when}\n{reading_summary(row)}")

    def _keep_draft(self) -> None:
        text = self.note_edit.toPlainText()
        if self.uid is None or not self.note_edit.document().isModified():
            return
        if text.strip() == self._saved_note.strip():
            self.drafts.pop(self.uid, None)  # typed back to what is saved: nothing to keep
        else:
            self.drafts[self.uid] = text

    def note(self, row: WorklistRow) -> str:
        """The note to save with ``row``'s mark: what was typed for that row (in the editor or
        kept as its draft), else its saved note; never text typed for another row."""
        if row.uid == self.uid and self.note_edit.document().isModified():
            return self.note_edit.toPlainText().strip()
        return self.drafts.get(row.uid, row.note).strip()

    def saved(self, uid: str) -> None:
        """``uid``'s note is stored: no draft left, the editor (if it is that row's) clean."""
        self.drafts.pop(uid, None)
        if uid == self.uid:
            self.note_edit.document().setModified(False)
            self.message.clear()

    def unsaved(self) -> dict[str, str]:
        """Every note typed and not saved, by row uid (the editor's included)."""
        self._keep_draft()
        return dict(self.drafts)
