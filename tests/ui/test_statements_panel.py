"""The statements panel: typing codes, free text, refusals shown, favourites, sign-off keys."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from ecgviewer.review.reading import Readings
from ecgviewer.review.store import ReviewStore
from ecgviewer.ui.statements_panel import StatementsPanel

H = "c" * 64


@pytest.fixture
def panel(qtbot, tmp_path):
    store = ReviewStore(tmp_path / "r.db")
    p = StatementsPanel(Readings(store))
    qtbot.addWidget(p)
    p.show()
    p.set_ecg(H)
    yield p
    store.close()


def test_typing_codes_and_free_text_then_confirm(qtbot, panel):
    panel.entry.setFocus()
    qtbot.keyClicks(panel.entry, "afib")
    assert panel._matches.stringList()[0] == "AFIB — Atrial fibrillation"  # search as you type
    qtbot.keyClick(panel.entry, Qt.Key.Key_Return)
    assert "reader name" in panel.message.text()  # nobody is reading yet: refused, kept typed
    assert panel.entry.text() == "afib"
    panel.set_reader("Dr Ünal")
    qtbot.keyClick(panel.entry, Qt.Key.Key_Return)
    assert panel.entry.text() == "" and panel.list.item(0).text() == "AFIB: Atrial fibrillation"
    qtbot.keyClicks(panel.entry, "rate control advised")
    qtbot.keyClick(panel.entry, Qt.Key.Key_Return)
    qtbot.keyClicks(panel.entry, "afb")
    qtbot.keyClick(panel.entry, Qt.Key.Key_Return)
    assert "unknown statement code 'afb'" in panel.message.text() and "AFIB" in panel.message.text()
    assert panel.list.count() == 2 and panel.state_label.text() == "reviewed, not confirmed"
    with qtbot.waitSignal(panel.confirm_next_requested):
        assert panel.confirm_and_next()
    assert (
        panel.state_label.text() == "confirmed" and "signed by Dr Ünal" in panel.signer_label.text()
    )
    panel.list.setCurrentRow(1)
    panel.list.setFocus()
    qtbot.keyClick(panel.list, Qt.Key.Key_Delete)
    assert panel.list.count() == 1 and panel.state_label.text() == "edited, needs confirmation"
    assert not panel.mark_reviewed() and "needs confirming" in panel.message.text()


def test_favourites_come_first_and_add_with_one_click(qtbot, panel):
    panel.set_reader("dr f")
    panel.entry.setText("IMI")
    panel.toggle_favourite()
    assert [b.text() for b in panel._fav_buttons] == ["IMI"]
    panel.entry.clear()
    panel._update_matches("infarct")
    assert panel._matches.stringList()[0].startswith("IMI")
    panel._fav_buttons[0].click()
    assert panel.reading.statements[0].code == "IMI"


def test_reader_measured_intervals_are_listed_with_the_machine_value(qtbot, panel):
    machine = {"p_onset": -0.2, "qrs_onset": -0.04, "qrs_offset": 0.05, "t_end": 0.36}
    panel.readings.edit_fiducials(H, "dr m", {"qrs_offset": 0.07}, machine=machine, rr_ms=1000.0)
    panel.set_ecg(H)
    texts = [panel.list.item(i).text() for i in range(panel.list.count())]
    assert "  QRS 110 ms*  (90 ms)" in texts
    panel.list.setCurrentRow(panel.list.count() - 1)
    assert not panel.remove_selected()  # a measurement line is not a statement
