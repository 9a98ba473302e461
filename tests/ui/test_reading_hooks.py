"""The reader's workflow inside the viewer: worklist ECG -> statements -> confirm and next,
the worklist shows and filters the reading, the report and the audit trail carry it."""

from __future__ import annotations

import pytest

from ecgviewer.review.export import read_csv
from ecgviewer.ui.review_hooks import install
from tests.analysis.fake_detector import FakeDetector
from tests.analysis.wfdb_folder import write_folder

pypdf = pytest.importorskip("pypdf")


@pytest.fixture
def features(window):
    f = install(window, detector=FakeDetector())
    yield f
    f.shutdown()


def test_sign_and_next_through_a_worklist(qtbot, features, window, tmp_path):
    write_folder(tmp_path / "f", [1.0, 3.0, 2.0])
    wl = features.open_worklist(tmp_path / "f")
    qtbot.waitUntil(lambda: wl.worker is not None and wl.worker.is_done, timeout=20_000)
    qtbot.waitUntil(lambda: not wl.progress.isVisible())
    wl._select(0)
    first = wl.current_row()
    wl.open_current()
    qtbot.waitUntil(lambda: window.record is not None and window.record.source == first.path)
    reading = window.reading
    panel = reading.panel
    assert panel.content_hash == first.content_hash
    assert not panel.confirm_and_next()  # not reviewed yet: refused, nothing moves
    assert "reader name" in panel.message.text()
    panel.set_reader("dr w")
    panel.entry.setText("pvc")
    assert panel.add_from_entry()  # Enter in the entry (typing is tested with the panel)
    assert panel.message.text() == "" and panel.reading.statements[0].code == "PVC", (
        panel.message.text()
    )
    row = wl.model.row(first.uid)
    assert (row.reading_state, row.statements, row.readers) == ("reviewed", "PVC", "dr w")
    assert "reading reviewed, not confirmed: PVC" in wl.details.lbl_review.text()
    keys = [sc.key().toString() for sc in panel._shortcuts]
    assert "Ctrl+Return" in keys  # window-wide: confirm and next with one key
    next(sc for sc in panel._shortcuts if sc.key().toString() == "Ctrl+Return").activated.emit()
    row = wl.model.row(first.uid)
    assert row.reading_state == "confirmed" and row.signer == "dr w"
    second = wl.current_row()
    assert second.uid != first.uid
    qtbot.waitUntil(lambda: window.record.source == second.path)
    assert panel.content_hash == second.content_hash and panel.state_label.text() == "unconfirmed"

    # The worklist filters by state and reader, and exports the reading.
    wl.toolbar.reading_state_box.setCurrentIndex(wl.toolbar.reading_state_box.findData("confirmed"))
    assert wl.proxy.rowCount() == 1
    wl.toolbar.reading_state_box.setCurrentIndex(0)
    wl.toolbar.reading_reader_edit.setText("nobody")
    assert wl.proxy.rowCount() == 0
    wl.toolbar.reading_reader_edit.setText("DR W")
    assert wl.proxy.rowCount() == 1
    wl.toolbar.reading_reader_edit.setText("")
    from ecgviewer.ui.worklist_reading_filter import export_audit

    assert export_audit(wl, str(tmp_path / "all.csv")) == 3  # PVC added, reviewed, confirmed
    wl.export(tmp_path / "wl.csv")
    exported = {r.uid: r for r in read_csv(tmp_path / "wl.csv")}
    assert exported[first.uid].signer == "dr w" and exported[first.uid].statements == "PVC"

    # The report of the first ECG says who signed; the second's says it is unconfirmed.
    window.open_path(first.path)
    qtbot.waitUntil(
        lambda: window.record.source == first.path and panel.content_hash == first.content_hash
    )
    args = features._report_args()
    assert args["reading"].signer == "dr w"
    from ecgviewer.report import render
    from ecgviewer.report.page import from_result

    content = from_result(args["record"], None, reading=args["reading"])
    text = " ".join(
        pypdf.PdfReader(str(render.export_pdf(content, tmp_path / "r.pdf")))
        .pages[0]
        .extract_text()
        .split()
    )
    assert "Signed by dr w" in text and "Premature ventricular complexes" in text
    editor = reading.edit_intervals()
    m = editor.editor.machine
    editor.editor.move("qrs_offset", m["qrs_offset"] + 0.01)
    row = wl.model.row(first.uid)
    assert row.reading_state == "edited" and row.reader_measurements.startswith("QRS ")
    assert panel.state_label.text() == "edited, needs confirmation"
    editor.close()
    dlg = reading.show_audit()
    assert [e.action for e in dlg.events] == [
        "statement added",
        "state changed",
        "state changed",
        "measurement edited",
        "state changed",
    ]
    assert dlg.export(tmp_path / "audit.csv") == 5
    dlg.close()
    wl.close()


def _open_worklist(qtbot, features, folder):
    wl = features.open_worklist(folder)
    qtbot.waitUntil(lambda: wl.worker is not None and wl.worker.is_done, timeout=20_000)
    qtbot.waitUntil(lambda: not wl.progress.isVisible())
    return wl


def _listed(wl):
    from ecgviewer.ui.worklist_model import UID_ROLE

    return [wl.proxy.index(i, 0).data(UID_ROLE) for i in range(wl.proxy.rowCount())]


def test_confirm_and_next_in_a_filtered_worklist_skips_nothing(qtbot, features, window, tmp_path):
    """Filtered by "unconfirmed", adding a statement took the row out of the list, the
    selection jumped to the next row and Confirm & next skipped every other ECG."""
    write_folder(tmp_path / "f", [4.0, 3.0, 2.0, 1.0])
    wl = _open_worklist(qtbot, features, tmp_path / "f")
    box = wl.toolbar.reading_state_box
    box.setCurrentIndex(box.findData("unconfirmed"))
    order = _listed(wl)
    assert len(order) == 4
    wl._select(0)
    panel = window.reading.panel
    panel.set_reader("dr f")
    opened = []
    wl.open_current()
    for _ in range(3):
        cur = wl.current_row()
        qtbot.waitUntil(
            lambda cur=cur: window.record is not None and window.record.source == cur.path
        )
        opened.append(cur.uid)
        panel.entry.setText("sr")
        assert panel.add_from_entry()
        assert wl.current_row().uid == cur.uid  # the row on screen stays selected
        assert panel.confirm_and_next()
        qtbot.wait(20)  # the row signed leaves the filtered list
    assert opened == order[:3]
    assert _listed(wl) == order[3:]
    wl.close()


def test_the_panel_shows_a_sign_off_made_in_another_window(qtbot, features, window, tmp_path):
    from ecgviewer.review.reading import Readings
    from ecgviewer.review.store import ReviewStore
    from ecgviewer.ui.worklist_reading_filter import shown_time

    write_folder(tmp_path / "f", [1.0])
    wl = _open_worklist(qtbot, features, tmp_path / "f")
    wl._select(0)
    row = wl.current_row()
    wl.open_current()
    panel = window.reading.panel
    qtbot.waitUntil(lambda: panel.content_hash == row.content_hash)
    assert panel.state_label.text() == "unconfirmed"
    with ReviewStore(features.store.path) as other:  # another ecgviewer on the same file
        book = Readings(other)
        book.add_statement(row.content_hash, "dr b", code="CRBBB")
        signed = book.confirm(row.content_hash, "dr b")
    assert window.reading.refresh()
    assert panel.state_label.text() == signed.state_label
    when = shown_time(signed.signed_at)
    assert when.endswith(signed.signed_at.astimezone().tzname())  # the zone is said
    assert panel.signer_label.text() == f"signed by dr b, {when}"
    assert "Changed by dr b in another window" in panel.message.text()
    assert f"signed by dr b {when}" in wl.details.lbl_review.text()  # the same time
    assert not window.reading.refresh()  # nothing new
    wl.close()
