"""Worklist notes and triage: the note editor belongs to one ECG, a review changed in another
window is not overwritten unseen, every save carries the reviewer's name."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from ecgviewer.review.store import Review, ReviewStore
from tests.analysis.fake_detector import FakeDetector
from tests.analysis.wfdb_folder import write_folder
from tests.ui.test_worklist_window import make_window, run_to_end


@pytest.fixture
def win(qtbot, tmp_path: Path):
    write_folder(tmp_path / "ecgs", [4.0, 3.0, 2.0, 1.0])
    store = ReviewStore(tmp_path / "r.sqlite3")
    w = make_window(qtbot, store, FakeDetector())
    run_to_end(qtbot, w, tmp_path / "ecgs")
    w.toolbar.reviewer_edit.setText("Dr A")
    w._select(0)
    yield w
    w.close()
    store.close()


def rows(win):
    from tests.ui.test_worklist_window import shown_labels

    return [next(r for r in win.model.rows() if r.label == lbl) for lbl in shown_labels(win)]


def test_a_note_typed_then_abnormal_is_saved_with_its_own_ecg(qtbot, win):
    """The note stayed in the editor after A moved to the next ECG; Save note then stored it
    on the other patient's ECG."""
    win.next_row()
    first, second = rows(win)[1:3]
    win.details.note_edit.setFocus()
    qtbot.keyClicks(win.details.note_edit, "RBBB, compare old ECG")
    assert win.details.advance.isChecked()
    win.details.btn_abnormal.click()
    assert win.current_row().uid == second.uid
    assert win.details.note_edit.toPlainText() == ""  # the second ECG's (empty) note
    win.details.btn_note.click()
    store = win.store
    assert (
        store.get_review(first.content_hash).state,
        store.get_review(first.content_hash).note,
    ) == (
        "abnormal",
        "RBBB, compare old ECG",
    )
    assert store.get_review(second.content_hash).note == ""


def test_the_top_row_can_be_reviewed_with_the_buttons_once_scored(win):
    """The top row stayed selected while rows arrived, its details were shown before it had
    a content hash, and its review buttons stayed disabled."""
    assert win.current_row().uid == rows(win)[0].uid
    assert win.details.btn_abnormal.isEnabled() and win.details.note_edit.isEnabled()


def test_an_unsaved_note_stays_with_its_ecg_and_is_asked_about(qtbot, win):
    from ecgviewer.ui import messages

    first, second = rows(win)[:2]
    win.details.note_edit.setFocus()
    qtbot.keyClicks(win.details.note_edit, "unsaved thought")
    win.table.setFocus()
    win.next_row()
    assert win.details.note_edit.toPlainText() == ""
    win.details.note_edit.setFocus()
    qtbot.keyClick(win.details.note_edit, Qt.Key.Key_N)  # the key types, it does not mark
    win.previous_row()
    assert win.details.note_edit.toPlainText() == "unsaved thought"
    assert "Unsaved note" in win.details.message.text()
    assert win.details.unsaved() == {first.uid: "unsaved thought", second.uid: "n"}
    win.mark("normal")  # with the note typed for it
    assert win.store.get_review(first.content_hash).note == "unsaved thought"
    before = len(messages.shown)
    win.close()  # the other draft is asked about, not dropped
    assert len(messages.shown) == before + 1 and "1 ECG" in messages.shown[-1].text()
    assert win.details.unsaved() == {second.uid: "n"}
    assert win.save_drafts() == 1 and win.store.get_review(second.content_hash).note == "n"


def test_a_review_changed_in_another_window_is_not_overwritten(qtbot, win, tmp_path):
    row = win.current_row()
    with ReviewStore(tmp_path / "r.sqlite3") as other:  # another ecgviewer on the same file
        other.save_review(Review(row.content_hash, "abnormal", "posterior MI? urgent", "Dr B"))
    win.mark("normal")
    stored = win.store.get_review(row.content_hash)
    assert (stored.state, stored.note, stored.reviewer) == (
        "abnormal",
        "posterior MI? urgent",
        "Dr B",
    )
    assert win.current_row().uid == row.uid  # not moved on
    assert win.current_row().note == "posterior MI? urgent"  # refreshed
    assert "Dr B changed this review" in win.details.message.text()
    assert win.details.note_edit.toPlainText() == "posterior MI? urgent"
    win.mark("normal")  # now seen: the reader's decision is saved, the note kept
    stored = win.store.get_review(row.content_hash)
    assert (stored.state, stored.note, stored.reviewer) == (
        "normal",
        "posterior MI? urgent",
        "Dr A",
    )


def test_selecting_a_row_shows_its_review_as_stored_now(qtbot, win, tmp_path):
    second = rows(win)[1]
    with ReviewStore(tmp_path / "r.sqlite3") as other:
        other.save_review(Review(second.content_hash, "abnormal", "from B", "Dr B"))
    win.next_row()
    assert win.current_row().review_state == "abnormal"
    assert win.details.note_edit.toPlainText() == "from B"
    assert "Dr B changed this review in another window" in win.details.message.text()


def test_triage_and_notes_need_the_reviewer_name(qtbot, win):
    row = win.current_row()
    win.toolbar.reviewer_edit.setText("")
    win.details.note_edit.setPlainText("typed")
    win.details.note_edit.document().setModified(True)
    win.mark("abnormal")
    win.save_note()
    assert win.store.get_review(row.content_hash).time is None  # nothing saved
    assert "Enter your name" in win.details.message.text()
    assert win.current_row().uid == row.uid and win.details.note_edit.toPlainText() == "typed"
    win.toolbar.reviewer_edit.setText("Dr A")
    win.mark("abnormal")
    got = win.store.get_review(row.content_hash)
    assert (got.state, got.note, got.reviewer) == ("abnormal", "typed", "Dr A")


def test_times_on_screen_are_local_with_their_zone(monkeypatch):
    import time

    from ecgviewer.ui.worklist_reading_filter import shown_time

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        assert shown_time("2026-01-05T10:00:00+00:00") == "2026-01-05 11:00 CET"
        assert shown_time("2026-01-05T10:00:00") == "2026-01-05 11:00 CET"  # stored UTC
        assert shown_time("") == ""
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_note_is_saved_without_control_characters(win):
    """A pasted BEL or terminal colour code printed as boxes on the signed report and broke
    the CSV export; line breaks stay (a note may have several lines)."""
    row = win.current_row()
    win.details.note_edit.setPlainText("call ward 7\x07\nrepeat \x1b[31mECG\x1b[0m in 30 min")
    win.details.note_edit.document().setModified(True)
    win.save_note()
    assert win.store.get_review(row.content_hash).note == "call ward 7\nrepeat ECG in 30 min"
