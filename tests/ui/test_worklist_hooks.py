"""The review features inside the viewer's main window: menus, worklist -> viewer, overview dock,
report export."""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer.record import Record
from ecgviewer.ui.review_hooks import install
from tests.analysis.fake_detector import FakeDetector
from tests.analysis.wfdb_folder import write_folder

pypdf = pytest.importorskip("pypdf")


def long_record(minutes: float = 10, fs: float = 100.0) -> Record:
    n = int(minutes * 60 * fs)
    t = np.arange(n) / fs
    sig = np.tile(0.2 * np.sin(2 * np.pi * 1.1 * t), (3, 1)).astype(np.float32)
    sig[1, int(302 * fs)] = 5.0
    return Record(sig, fs, ["I", "II", "V1"], source="holter.edf", format="test")


@pytest.fixture
def features(window):
    f = install(window, detector=FakeDetector())
    yield f
    f.shutdown()


def test_file_menu_has_the_review_entries(features, window):
    texts = [a.text() for a in window.menus["file"].actions()]
    for text in ("Open &folder as worklist…", "Export &report (PDF/PNG)…", "&Print…"):
        assert text in texts
    assert texts.index("&Print…") < texts.index("&Quit")


def test_long_recording_gets_the_overview_dock_and_it_moves_the_page(qtbot, features, window):
    with qtbot.waitSignal(features.overview.scoring_finished, timeout=20_000):
        window.open_record(long_record())  # scoring starts on its own
        assert features.dock.isVisible()
    # The viewer leaves the whole-record model run to the dock.
    qtbot.waitUntil(lambda: "window by window" in window.analysis_panel.status_label.text())
    assert window.jobs.current("score") is None and window.result is None
    # The viewer's findings table holds the recording's top window findings.
    assert window.findings and window.findings[0].start <= 302.0 <= window.findings[0].end
    features.overview.step_finding(1)  # the spike at 302 s
    assert window.state.page_start <= 302.0 <= window.state.page_start + 10.0
    # ... and the page jumped to shows which finding it is (it showed nothing of it).
    assert window.findings_panel.current_index() == 0
    assert "Finding 1" in window.statusBar().currentMessage()
    features.overview.page(60.0)
    assert window.state.page_start == features.overview.t0


def test_worklist_row_opens_in_the_viewer(qtbot, features, window, tmp_path):
    write_folder(tmp_path / "f", [1.0, 3.0, 2.0])
    wl = features.open_worklist(tmp_path / "f")
    qtbot.waitUntil(lambda: wl.worker is not None and wl.worker.is_done, timeout=20_000)
    qtbot.waitUntil(lambda: not wl.progress.isVisible())
    wl._select(0)
    wl.open_current()
    qtbot.waitUntil(
        lambda: window.record is not None and window.record.source.endswith("rec001.hea")
    )
    assert not features.dock.isVisible()  # a 10 s ECG: no overview
    wl.close()


def test_export_report_of_the_ecg_on_screen_with_its_review(qtbot, features, window, tmp_path):
    write_folder(tmp_path / "f", [1.5])
    wl = features.open_worklist(tmp_path / "f")
    qtbot.waitUntil(lambda: wl.worker is not None and wl.worker.is_done, timeout=20_000)
    qtbot.waitUntil(lambda: not wl.progress.isVisible())  # the last rows (with hashes) merged
    wl.toolbar.reviewer_edit.setText("dr r")
    wl.details.note_edit.setPlainText("report me")
    wl.details.note_edit.document().setModified(True)  # typed
    wl.save_note()
    wl.open_current()
    qtbot.waitUntil(
        lambda: window.record is not None and window.record.source.endswith("rec000.hea")
    )
    dlg = features.export_report()
    dlg.path.setText(str(tmp_path / "out.pdf"))
    with qtbot.waitSignal(dlg.accepted, timeout=30_000):
        dlg.export()
    text = " ".join(pypdf.PdfReader(str(tmp_path / "out.pdf")).pages[0].extract_text().split())
    assert "report me" in text
    wl.close()


def test_database_csv_row_opens_with_its_demographics(qtbot, features, window, tmp_path):
    from tests.analysis.wfdb_folder import write_record

    base = tmp_path / "ptbxl"
    write_record(base / "records100" / "00000", "00001_lr", 1.0)
    (base / "ptbxl_database.csv").write_text(
        "ecg_id,patient_id,age,sex,recording_date,filename_lr,filename_hr\n"
        "1,15709.0,56.0,1,1984-11-09 09:17:34,records100/00000/00001_lr,records500/00000/00001_hr\n"
    )
    wl = features.open_worklist(base / "ptbxl_database.csv")
    qtbot.waitUntil(lambda: wl.worker is not None and wl.worker.is_done, timeout=20_000)
    qtbot.waitUntil(lambda: not wl.progress.isVisible())
    wl._select(0)
    wl.open_current()
    qtbot.waitUntil(
        lambda: window.record is not None and window.record.source.endswith("00001_lr.hea")
    )
    p = window.record.patient
    assert (p.id, p.age, p.sex) == ("15709", 56.0, "F")
    wl.close()


def test_a_record_the_model_cannot_score_says_so_once_without_a_dialog(qtbot, window):
    from ecgviewer.ui import messages
    from ecgviewer.ui.scoring_controller import default_scoring_job

    features = install(window)  # the bundled model's rules (no detector is loaded for this)
    window.scoring_job = default_scoring_job
    try:
        short = Record(np.zeros((2, 2500), np.float32), 250.0, ["II", "V5"], source="two.edf")
        window.open_record(short)
        qtbot.waitUntil(
            lambda: "Not scored" in window.analysis_panel.status_label.text(), timeout=10_000
        )
        text = window.analysis_panel.status_label.text()
        assert text == ("Not scored: the model needs the 12 standard leads; this record has II, V5")
        assert window.jobs.current("score") is None and not messages.shown
        long = long_record()  # I, II, V1 for 10 min: the overview says it, no window is tried
        long.leads = ["II", "V5", "V1"]
        window.open_record(long)
        qtbot.waitUntil(
            lambda: "Not scored" in window.analysis_panel.status_label.text(), timeout=10_000
        )
        ov = features.overview
        assert ov.finding_label.text().startswith("Not scored: the model needs the 12")
        assert not ov.score_button.isEnabled() and ov.progress.value() == 0
        assert ov.worker is None and not messages.shown
    finally:
        features.shutdown()


def test_paging_in_the_viewer_moves_the_overview_position_line(qtbot, features, window):
    window.open_record(long_record())
    window.state.page_start = 600.0 - 10.0
    window.redraw()
    assert features.overview.position_label.text().startswith("0:09:50 – 0:10:00 from start")


def test_unusable_data_folder_keeps_worklist_and_reports_and_says_so(
    qtbot, window, tmp_path, monkeypatch
):
    """The store used to fail to open and the worklist and report export silently vanished."""
    import ecgviewer.review.store as store_module
    from ecgviewer.ui import messages

    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    monkeypatch.setattr(store_module, "default_path", lambda: blocker / "reviews.sqlite3")
    before = len(messages.shown)
    features = install(window, detector=FakeDetector())
    try:
        assert features.store.mode == "session-only"
        qtbot.waitUntil(lambda: len(messages.shown) > before)
        text = messages.shown[-1].text()
        assert "Reviews cannot be saved" in text and "report export still work" in text
        write_folder(tmp_path / "f", [1.5, 2.5])
        wl = features.open_worklist(tmp_path / "f")
        qtbot.waitUntil(lambda: wl.worker is not None and wl.worker.is_done, timeout=20_000)
        qtbot.waitUntil(lambda: not wl.progress.isVisible())
        assert all(r.score is not None for r in wl.model.rows())  # scored all the same
        assert "cannot be saved" in wl.store_label.text()
        shown = len(messages.shown)
        wl._select(0)
        wl.toolbar.reviewer_edit.setText("dr s")
        wl.mark("abnormal")  # refused with a message, never silently dropped
        assert len(messages.shown) > shown and "not saved" in messages.shown[-1].text()
        wl.open_current()
        qtbot.waitUntil(lambda: window.record is not None)
        dlg = features.export_report()
        dlg.path.setText(str(tmp_path / "out.pdf"))
        with qtbot.waitSignal(dlg.accepted, timeout=30_000):
            dlg.export()
        assert (tmp_path / "out.pdf").stat().st_size > 1000
        wl.close()
    finally:
        features.shutdown()
