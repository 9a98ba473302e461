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


def test_text_with_a_spaced_dash_is_free_text_only_a_completion_is_a_code(qtbot, panel):
    """'Sinus rhythm — rate 72' was refused as "unknown statement code 'Sinus rhythm'"."""
    panel.set_reader("dr q")
    panel.entry.setText("Sinus rhythm — rate 72, normal axis")
    assert panel.add_from_entry(), panel.message.text()
    panel.entry.setText("SR — Sinus rhythm")  # a picked completion
    assert panel.add_from_entry(), panel.message.text()
    panel.entry.setText("SR — sinus rhythm, rate 60")  # a code, then the reader's own words
    assert panel.add_from_entry(), panel.message.text()
    assert [(s.code, s.text) for s in panel.reading.statements] == [
        ("", "Sinus rhythm — rate 72, normal axis"),
        ("SR", "Sinus rhythm"),
        ("", "SR — sinus rhythm, rate 60"),
    ]


@pytest.mark.parametrize(
    "text", ["Befund — Zustand nach Hinterwandinfarkt " * 13, "x" * 501, '"' + "y" * 501]
)
def test_over_long_free_text_is_refused_with_the_length_limit(qtbot, panel, text):
    """A 501-character text was refused as an unknown statement code."""
    panel.set_reader("dr q")
    panel.entry.setText(text)
    assert not panel.add_from_entry()
    assert "limited to 500 characters" in panel.message.text()
    assert "unknown statement code" not in panel.message.text()
    assert panel.entry.text() == text  # kept, to be shortened
