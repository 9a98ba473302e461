"""The reader's panel: who is reading, the interpretation statements, sign-off, keyboard first.

Typing in the entry searches the statement library as you type (code prefix, then words of
the text; the reader's favourites first) and Enter adds the top match, so "afib⏎" or "1avb⏎"
is the whole gesture. Text with a space, or starting with a quote, is added as free text; a
single unknown word is refused with the close matches (a typo is never stored as a
statement). Ctrl+Return confirms (signs) and moves to the next ECG of the worklist. Every
action is one transaction of :class:`~ecgviewer.review.reading.Readings`; refusals appear in
red under the entry, never as a modal box that breaks the typing.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCompleter,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ecgviewer.errors import ECGError
from ecgviewer.review.reading import MAX_FREE_TEXT, Reading, Readings
from ecgviewer.review.signoff import CONFIRMED, EDITED, UNCONFIRMED
from ecgviewer.review.statements import lookup, search
from ecgviewer.review.worklist import reader_measurements
from ecgviewer.ui.worklist_reading_filter import shown_time

_SEP = " — "
_STATE_STYLE = {
    UNCONFIRMED: "color: #a05000; font-weight: bold",
    EDITED: "color: #c00000; font-weight: bold",
    CONFIRMED: "color: #007000; font-weight: bold",
}
#: Favourites get Alt+1 … Alt+9.
MAX_FAVOURITE_KEYS = 9


def _completed_code(text: str) -> str:
    """The code of ``text`` when it is exactly a completion ("CODE — its library text"), else
    "" (free text may hold " — " too)."""
    code, sep, _ = text.partition(_SEP)
    if not sep:
        return ""
    try:
        s = lookup(code)
    except ECGError:
        return ""
    return s.code if text == f"{s.code}{_SEP}{s.text}" else ""


class StatementsPanel(QGroupBox):
    """Statements, state and sign-off of the ECG on screen."""

    changed = Signal(object)  # Reading, after every saved action
    confirm_next_requested = Signal()
    audit_requested = Signal()
    intervals_requested = Signal()

    def __init__(self, readings: Readings | None, parent: QWidget | None = None) -> None:
        super().__init__("Interpretation", parent)
        self.readings = readings
        self.content_hash: str | None = None
        self.reading: Reading | None = None

        self.reader_edit = QLineEdit()
        self.reader_edit.setPlaceholderText("your name (kept on every change)")
        self.reader_edit.editingFinished.connect(self._reader_changed)
        self.state_label = QLabel()
        self.signer_label = QLabel()
        self.signer_label.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Reader:", self.reader_edit)
        form.addRow("State:", self.state_label)
        form.addRow("", self.signer_label)

        self.list = QListWidget()
        self.list.setMinimumHeight(90)
        self.list.setWordWrap(True)
        delete = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.list)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self.remove_selected)

        self.entry = QLineEdit()
        self.entry.setPlaceholderText(
            'type a code or words (afib, 1avb, infarct…); "… for free text'
        )
        self._matches = QStringListModel(self)
        self.completer = QCompleter(self._matches, self)
        self.completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setMaxVisibleItems(12)
        self.entry.setCompleter(self.completer)
        self.entry.textEdited.connect(self._update_matches)
        self.entry.returnPressed.connect(self.add_from_entry)
        self.completer.activated.connect(self._completion_chosen)
        self.fav_star = QToolButton()
        self.fav_star.setText("☆")
        self.fav_star.setToolTip(
            "Add the code in the entry (or the selected statement) to your favourites"
        )
        self.fav_star.clicked.connect(self.toggle_favourite)
        entry_row = QHBoxLayout()
        entry_row.addWidget(self.entry, 1)
        entry_row.addWidget(self.fav_star)

        self.fav_row = QHBoxLayout()
        self.fav_row.setSpacing(3)
        self._fav_buttons: list[QToolButton] = []

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c00000")

        self.btn_reviewed = QPushButton("Mark &reviewed")
        self.btn_confirm = QPushButton("&Confirm (sign)")
        self.btn_next = QPushButton("Confirm && next  [Ctrl+Return]")
        self.btn_audit = QPushButton("&Audit trail…")
        self.btn_intervals = QPushButton("Edit &intervals…")
        self.btn_reviewed.clicked.connect(self.mark_reviewed)
        self.btn_confirm.clicked.connect(self.confirm)
        self.btn_next.clicked.connect(self.confirm_and_next)
        self.btn_audit.clicked.connect(self.audit_requested)
        self.btn_intervals.clicked.connect(self.intervals_requested)
        buttons = QHBoxLayout()
        for b in (self.btn_reviewed, self.btn_confirm):
            buttons.addWidget(b)
        buttons2 = QHBoxLayout()
        for b in (self.btn_audit, self.btn_intervals):
            buttons2.addWidget(b)

        box = QVBoxLayout(self)
        box.addLayout(form)
        box.addWidget(self.list)
        box.addLayout(entry_row)
        box.addLayout(self.fav_row)
        box.addWidget(self.message)
        box.addLayout(buttons)
        box.addWidget(self.btn_next)
        box.addLayout(buttons2)
        self._shortcuts: list[QShortcut] = []
        self.set_ecg(None)

    # -------------------------------------------------------------- public
    def install_shortcuts(self, window: QWidget) -> None:
        """Window-wide keys: Ctrl+Return confirm and next, Alt+n adds favourite n."""
        keys: dict[str, Any] = {
            "Ctrl+Return": self.confirm_and_next,
            "Ctrl+Enter": self.confirm_and_next,
        }
        for i in range(MAX_FAVOURITE_KEYS):
            keys[f"Alt+{i + 1}"] = lambda i=i: self._add_favourite(i)
        for key, slot in keys.items():
            sc = QShortcut(QKeySequence(key), window)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(slot)
            self._shortcuts.append(sc)

    def reader(self) -> str:
        return self.reader_edit.text().strip()

    def set_reader(self, name: str) -> None:
        self.reader_edit.setText(name)
        self._reader_changed()

    def set_ecg(self, content_hash: str | None) -> None:
        """Show the reading of the ECG with ``content_hash`` (None: no ECG, or no store)."""
        self.content_hash = content_hash
        self.message.clear()
        if content_hash is None or self.readings is None:
            self.reading = None
        else:
            try:
                self.reading = self.readings.get(content_hash)
            except ECGError as exc:
                self.reading = None
                self.message.setText(str(exc.problem))
        self._show()

    def focus_entry(self) -> None:
        self.entry.setFocus()
        self.entry.selectAll()

    # -------------------------------------------------------------- actions
    def add_from_entry(self) -> bool:
        """Add what the entry holds: a picked completion's code, free text, or a typed code.

        Only an exact completion ("CODE — its library text") is read as a code; other text
        with " — " in it is free text ("Sinus rhythm — rate 72"), and so is one word too long
        to be a code, so its refusal names the length limit rather than an unknown code.
        """
        text = self.entry.text().strip()
        if not text:
            return False
        picked = _completed_code(text)
        if picked:
            ok = self._do(lambda h, who: self.readings.add_statement(h, who, code=picked))
        elif text.startswith(('"', "'")) or " " in text or len(text) > MAX_FREE_TEXT:
            ok = self._do(
                lambda h, who: self.readings.add_statement(h, who, text=text.strip("\"'"))
            )
        else:
            ok = self._do(lambda h, who: self.readings.add_statement(h, who, code=text))
        if ok:
            self.entry.clear()
            self._matches.setStringList([])
        return ok

    def remove_selected(self) -> bool:
        row = self.list.currentRow()
        if row < 0 or self.reading is None or row >= len(self.reading.statements):
            return False  # nothing, or a measurement line (those change in the interval editor)
        return self._do(lambda h, who: self.readings.remove_statement(h, who, row))

    def mark_reviewed(self) -> bool:
        return self._do(lambda h, who: self.readings.mark_reviewed(h, who))

    def confirm(self) -> bool:
        return self._do(lambda h, who: self.readings.confirm(h, who))

    def confirm_and_next(self) -> bool:
        """Sign, then ask for the next ECG (the worklist moves on); nothing moves if refused."""
        if self.confirm():
            self.confirm_next_requested.emit()
            return True
        return False

    def toggle_favourite(self) -> None:
        text = self.entry.text().strip().split(_SEP)[0]
        if not text and self.list.currentRow() >= 0 and self.reading is not None:
            text = self.reading.statements[self.list.currentRow()].code
        if not text or self.readings is None:
            self.message.setText("type or select a library code to make it a favourite")
            return
        if not self.reader():
            self.message.setText("enter your reader name first: favourites are per reader")
            return
        try:
            code = lookup(text).code
            self.readings.set_favourite(
                self.reader(), code, code not in self.readings.favourites(self.reader())
            )
        except ECGError as exc:
            self.message.setText(exc.problem)
            return
        self.message.clear()
        self._show_favourites()

    # -------------------------------------------------------------- internals
    def _do(self, action: Any) -> bool:
        if self.readings is None or self.content_hash is None:
            self.message.setText("open an ECG whose file is in the review store first")
            return False
        try:
            self.reading = action(self.content_hash, self.reader())
        except ECGError as exc:
            self.message.setText(exc.problem)
            if "reader name" in exc.problem:
                self.reader_edit.setFocus()
            return False
        self.message.clear()
        self._show()
        self.changed.emit(self.reading)
        return True

    def _reader_changed(self) -> None:
        self._show_favourites()
        self._update_matches(self.entry.text())

    def _favourites(self) -> list[str]:
        if self.readings is None or not self.reader():
            return []
        try:
            return self.readings.favourites(self.reader())
        except ECGError:
            return []

    def _update_matches(self, text: str) -> None:
        found = search(text, self._favourites()) if text.strip() else []
        self._matches.setStringList([f"{s.code}{_SEP}{s.text}" for s in found])

    def _completion_chosen(self, text: str) -> None:
        self.entry.setText(text)
        self.add_from_entry()

    def _add_favourite(self, i: int) -> None:
        favs = self._favourites()
        if i < len(favs):
            self._do(lambda h, who: self.readings.add_statement(h, who, code=favs[i]))

    def _show_favourites(self) -> None:
        for b in self._fav_buttons:
            self.fav_row.removeWidget(b)
            b.deleteLater()
        self._fav_buttons = []
        for i, code in enumerate(self._favourites()):
            b = QToolButton()
            b.setText(code)
            tip = lookup(code).text + (f"  [Alt+{i + 1}]" if i < MAX_FAVOURITE_KEYS else "")
            b.setToolTip(tip)
            b.clicked.connect(
                lambda _c=False, code=code: self._do(
                    lambda h, who: self.readings.add_statement(h, who, code=code)
                )
            )
            self.fav_row.addWidget(b)
            self._fav_buttons.append(b)

    def _show(self) -> None:
        r = self.reading
        enabled = r is not None
        for w in (
            self.entry,
            self.list,
            self.btn_reviewed,
            self.btn_confirm,
            self.btn_next,
            self.btn_audit,
            self.btn_intervals,
            self.fav_star,
        ):
            w.setEnabled(enabled)
        self.list.clear()
        if r is None:
            self.state_label.setText("–")
            self.state_label.setStyleSheet("")
            self.signer_label.setText("no ECG with a known file on screen")
            return
        self.state_label.setText(r.state_label)
        self.state_label.setStyleSheet(_STATE_STYLE.get(r.state, ""))
        if r.signer and r.signed_at:
            when = shown_time(r.signed_at)  # local time with its zone, as in the worklist
            prefix = "signed" if r.state == CONFIRMED else "was signed (no longer valid)"
            self.signer_label.setText(f"{prefix} by {r.signer}, {when}")
        else:
            self.signer_label.setText("not signed")
        for s in r.statements:
            self.list.addItem(s.label())
        edited = reader_measurements(r)
        if edited:
            first = self.list.count()
            self.list.addItem("")  # spacer
            self.list.addItem("Measured by the reader (machine):")
            for name, mine, was in edited:
                self.list.addItem(f"  {name} {mine:.0f} ms*  ({was})")
            for i in range(first, self.list.count()):  # shown, not selectable or removable
                self.list.item(i).setFlags(Qt.ItemFlag.ItemIsEnabled)
