"""Interval editor: dragging recomputes at once, a drag saves the reader's value, an impossible
order is refused and the line returns."""

from __future__ import annotations

import pytest

from ecgviewer.analysis.reader_beat import machine_beat
from ecgviewer.record import Record
from ecgviewer.review.reading import Readings
from ecgviewer.review.store import ReviewStore
from ecgviewer.signal.synthetic import synthetic_ecg
from ecgviewer.ui.interval_editor import IntervalEditorDialog

H = "d" * 64


@pytest.fixture
def dialog(qtbot, tmp_path):
    s = synthetic_ecg(fs=500, duration=10, seed=2)
    beat = machine_beat(Record(s.signal, s.fs, list(s.leads)))
    store = ReviewStore(tmp_path / "r.db")
    book = Readings(store)
    book.add_statement(H, "dr a", code="SR")
    book.confirm(H, "dr a")
    dlg = IntervalEditorDialog(beat, book, H, lambda: "dr b")
    qtbot.addWidget(dlg)
    dlg.show()
    yield dlg
    store.close()


def _cell(dlg, row: int, col: int) -> str:
    return dlg.editor.table.item(row, col).text()


def test_drag_recomputes_live_and_saves_on_release(dialog):
    ed = dialog.editor
    m = dict(ed.machine)
    machine_qrs = _cell(dialog, 2, 1)
    ed.move("qrs_offset", m["qrs_offset"] + 0.020, finish=False)  # mid-drag
    qrs_now = float(_cell(dialog, 2, 2).rstrip("ms* "))
    assert qrs_now == pytest.approx(float(machine_qrs.rstrip(" ms")) + 20, abs=1.0)
    assert dialog.readings.get(H).reader_fiducials == {}  # nothing saved while dragging
    ed._finished("qrs_offset")
    r = dialog.readings.get(H)
    assert r.reader_fiducials == {"qrs_offset": round(m["qrs_offset"] + 0.020, 4)}
    assert r.state == "edited"  # a confirmed ECG edited: needs confirmation again
    assert r.edited_intervals() == {"qrs"}
    assert dialog.readings.events(H)[-2].action == "measurement edited"


def test_impossible_order_is_refused_and_the_line_goes_back(dialog):
    ed = dialog.editor
    m = dict(ed.machine)
    ed.move("qrs_offset", m["qrs_onset"] - 0.010, finish=False)
    assert "cannot be before QRS onset" in ed.message.text()
    ed._finished("qrs_offset")
    assert "Refused" in ed.message.text()
    assert ed.positions()["qrs_offset"] == pytest.approx(m["qrs_offset"], abs=1e-4)
    assert (
        dialog.readings.get(H).reader_fiducials == {}
        and dialog.readings.get(H).state == "confirmed"
    )
