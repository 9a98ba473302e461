"""Worklist window: fills and sorts from a folder, keyboard triage saved in the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from ecgviewer import wording
from ecgviewer.review.export import read_csv
from ecgviewer.review.store import ReviewStore
from ecgviewer.ui.worklist_model import UID_ROLE
from ecgviewer.ui.worklist_window import WorklistWindow, format_eta
from tests.analysis.fake_detector import FakeDetector
from tests.analysis.wfdb_folder import write_folder

PEAKS = [0.8, 2.5, 1.1, 4.0, 0.5, 3.2, 1.7, 2.0]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_folder(tmp_path / "ecgs", PEAKS)
    return tmp_path / "ecgs"


def make_window(qtbot, store, det) -> WorklistWindow:
    win = WorklistWindow(store=store, detector=det, chunk=3)
    qtbot.addWidget(win)
    win.resize(1200, 700)
    win.show()
    return win


def shown_labels(win: WorklistWindow) -> list[str]:
    return [
        win.model.row(win.proxy.index(i, 0).data(UID_ROLE)).label
        for i in range(win.proxy.rowCount())
    ]


def run_to_end(qtbot, win: WorklistWindow, source: Path) -> None:
    worker = win.open_source(source)
    # Not waitSignal after the start: a fast job could emit before the wait connects.
    qtbot.waitUntil(lambda: worker.is_done, timeout=30_000)
    qtbot.waitUntil(lambda: not win.progress.isVisible())


def test_fills_and_sorts_by_score(qtbot, folder):
    det = FakeDetector()
    with ReviewStore() as store:
        win = make_window(qtbot, store, det)
        run_to_end(qtbot, win, folder)
        expected = [f"rec{i:03d}" for i in sorted(range(len(PEAKS)), key=lambda i: -PEAKS[i])]
        assert shown_labels(win) == expected
        top = win.model.rows()[PEAKS.index(max(PEAKS))]
        # Until the reader picks a row, the selection stays on the top of the re-sorted list.
        assert win.current_row() is not None and win.current_row().label == expected[0]
        assert win.proxy.index(0, 0).data() == wording.verdict_word(top.percentile)
        assert win.proxy.index(0, 1).data() == wording.percentile_text(top.percentile)
        header = win.table.horizontalHeader().model()
        assert header.headerData(0, Qt.Orientation.Horizontal).endswith("▼")  # largest first
        win.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        assert header.headerData(0, Qt.Orientation.Horizontal).endswith("▲")
        assert shown_labels(win) == expected[::-1]
        win.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        assert det.records == len(PEAKS) and max(det.batches) <= 3
        assert win.first_rows_s < 5.0
        assert "8 ECGs" in win.counts_label.text()
        win.close()


def test_keyboard_triage_is_saved_and_survives_reopening(qtbot, folder):
    with ReviewStore() as store:
        win = make_window(qtbot, store, FakeDetector())
        win.toolbar.reviewer_edit.setText("Dr K")
        run_to_end(qtbot, win, folder)
        win.table.setFocus()
        win._select(0)
        top = win.current_row()
        qtbot.keyClick(win.table, Qt.Key.Key_A)  # flag abnormal, advance
        second = win.current_row()
        assert second.uid != top.uid
        qtbot.keyClick(win.table, Qt.Key.Key_N)  # reviewed normal
        qtbot.keyClick(win.table, Qt.Key.Key_K)  # back to the second
        assert win.current_row().uid == second.uid
        qtbot.keyClick(win.table, Qt.Key.Key_E)  # edit the note
        assert win.details.note_edit.hasFocus()
        qtbot.keyClicks(win.details.note_edit, "baseline wander")
        qtbot.keyClick(
            win.details.note_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier
        )
        assert win.table.hasFocus()
        got = store.get_review(top.content_hash)
        assert (got.state, got.reviewer) == ("abnormal", "Dr K")
        got2 = store.get_review(second.content_hash)
        assert (got2.state, got2.note) == ("normal", "baseline wander")
        win.close()
    # A new window on the same database shows the saved states, with no model call.
    with ReviewStore() as store:
        det = FakeDetector()
        win2 = make_window(qtbot, store, det)
        run_to_end(qtbot, win2, folder)
        assert det.calls == 0
        rows = {r.uid: r for r in win2.model.rows()}
        assert rows[top.uid].review_state == "abnormal"
        assert rows[second.uid].note == "baseline wander"
        assert "1 flagged abnormal" in win2.counts_label.text()
        win2.close()


def test_export_writes_rows_in_shown_order(qtbot, folder, tmp_path):
    with ReviewStore() as store:
        win = make_window(qtbot, store, FakeDetector())
        run_to_end(qtbot, win, folder)
        assert win.export(tmp_path / "w.csv") == len(PEAKS)
        back = read_csv(tmp_path / "w.csv")
        assert [r.label for r in back] == shown_labels(win)
        assert back == [win.model.row(r.uid) for r in back]
        win.close()


def test_model_failure_shows_an_error_and_keeps_rows(qtbot, folder):
    from ecgviewer.errors import ModelError
    from ecgviewer.ui import messages

    def broken():
        raise ModelError("weights.pt", "model weights not found")

    with ReviewStore() as store:
        win = make_window(qtbot, store, broken)
        win.open_source(folder)
        qtbot.waitUntil(lambda: len(messages.shown) == 1, timeout=30_000)
        assert "weights not found" in messages.shown[-1].text()
        assert win.model.rowCount() == len(PEAKS)  # the names are still listed
        win.close()


def test_eta_text():
    assert format_eta(42) == "42 s"
    assert format_eta(130) == "2 min 10 s"
    assert format_eta(7300) == "2 h 01 min"


def test_reopening_another_folder_drops_the_old_jobs_rows(qtbot, folder, tmp_path):
    other = tmp_path / "other"
    write_folder(other, [9.0])
    with ReviewStore() as store:
        win = make_window(qtbot, store, FakeDetector())
        win.open_source(folder)
        run_to_end(qtbot, win, other)  # replaces the first job at once
        assert [r.label for r in win.model.rows()] == ["rec000"]
        assert win.model.rows()[0].path.startswith(str(other))
        win.close()


def test_quality_column_shows_and_sorts_recording_problems(qtbot):
    from ecgviewer.review.worklist import WorklistRow
    from ecgviewer.ui.worklist_model import COLUMNS, SORT_ROLE, WorklistProxy, WorklistTableModel

    model = WorklistTableModel()
    proxy = WorklistProxy()
    proxy.setSourceModel(model)
    model.merge(
        [
            WorklistRow(uid="fine", path="fine", score=9.0),
            WorklistRow(uid="noisy", path="noisy", score=1.0, flags=("noisy:II",)),
            WorklistRow(uid="off", path="off", score=5.0, flags=("lead_off:V1,V2,V3,V4,V5,V6",)),
        ]
    )
    col = [key for key, _ in COLUMNS].index("quality")
    assert COLUMNS[col][1] == "Quality"
    proxy.sort(col, Qt.SortOrder.DescendingOrder)
    shown = [proxy.index(r, col).data() for r in range(3)]
    assert shown == ["off V1-V6", "noisy II", ""]
    assert proxy.index(0, col).data(SORT_ROLE) > proxy.index(1, col).data(SORT_ROLE) > 0
    assert "chest leads V1-V6 disconnected" in proxy.index(0, col).data(Qt.ItemDataRole.ToolTipRole)


def test_the_date_column_shows_a_whole_date_and_time(qtbot, tmp_path):
    """Each column's width is set by its name: the date read "198…" when a new column
    shifted a tuple of widths by one."""
    from ecgviewer.ui.worklist_model import COLUMNS

    win = make_window(qtbot, ReviewStore(tmp_path / "r.sqlite"), FakeDetector())
    col = [key for key, _ in COLUMNS].index("start")
    fm = win.table.fontMetrics()
    assert win.table.columnWidth(col) >= fm.horizontalAdvance("1986-03-28 09:16:38") + 8
