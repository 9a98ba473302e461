"""Screenshots of the reader's workflow for a human to look at (not committed).

    xvfb-run -s "-screen 0 1920x1080x24" .venv/bin/python benchmarks/workflow_screenshots.py [OUT_DIR]

On a PTB-XL record (records100/00000/00001_lr, a normal ECG) with a fresh review store in a
temporary data folder: the Interpretation dock while typing "inf" (completion list open,
statements entered), the interval editor after dragging the QRS offset, the audit trail,
and the signed report as PNG. Writes to OUT_DIR (default /tmp/ecg_workflow_screens).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
RECORD = REPO.parent / "shared" / "data" / "ptbxl" / "records100" / "00000" / "00001_lr.hea"


def main(out: Path) -> None:
    os.environ["ECGVIEWER_DATA_DIR"] = tempfile.mkdtemp(prefix="ecg_workflow_")
    out.mkdir(parents=True, exist_ok=True)
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from ecgviewer.app import create_app
    from ecgviewer.report import render
    from ecgviewer.report.page import from_result
    from ecgviewer.ui import messages, review_hooks
    from ecgviewer.ui.main_window import MainWindow

    app = create_app([])
    messages.set_test_mode(True)
    win = MainWindow()
    features = review_hooks.install(win)
    win.resize(1800, 1000)
    win.show()
    win.open_path(str(RECORD))

    def settle(ms: int = 300, until=None, limit_ms: int = 60_000) -> None:
        waited = 0
        while waited < limit_ms:
            app.processEvents()
            QTest.qWait(50)
            waited += 50
            if until is None and waited >= ms:
                return
            if until is not None and until():
                QTest.qWait(ms)
                return

    settle(until=lambda: win.record is not None)
    settle(
        until=lambda: win.jobs.current("score") is None and win.measurements is not None,
        limit_ms=120_000,
    )
    reading = win.reading
    panel = reading.panel
    reading.focus()
    panel.set_reader("Dr A. Reader")
    for code in ("sr", "naxis"):
        QTest.keyClicks(panel.entry, code)
        QTest.keyClick(panel.entry, Qt.Key.Key_Return)
    QTest.keyClicks(panel.entry, "no acute changes")
    QTest.keyClick(panel.entry, Qt.Key.Key_Return)
    panel.entry.setFocus()
    QTest.keyClicks(panel.entry, "inf")
    panel.completer.complete()
    settle(500)
    screen = QGuiApplication.primaryScreen()
    screen.grabWindow(0).save(str(out / "1_statement_entry.png"))
    panel.completer.popup().hide()
    panel.entry.clear()

    dlg = reading.edit_intervals()
    settle(500)
    m = dict(dlg.editor.machine)
    dlg.editor.move("qrs_offset", m["qrs_offset"] + 0.016)
    dlg.editor.move("t_end", m["t_end"] + 0.020, finish=False)  # mid-drag: live values
    settle(500)
    dlg.grab().save(str(out / "2_interval_editor.png"))
    dlg.editor._finished("t_end")
    dlg.close()

    panel.confirm()
    audit = reading.show_audit()
    settle(400)
    audit.grab().save(str(out / "3_audit_trail.png"))
    audit.close()
    win.grab().save(str(out / "4_viewer_confirmed.png"))

    content = from_result(
        win.record,
        win.result,
        review=features.review_of(win.record),
        reading=reading.reading_of(win.record),
    )
    render.export_png(content, out / "5_signed_report.png", dpi=120)
    print("\n".join(str(p) for p in sorted(out.glob("*.png"))))
    features.shutdown()
    win.close()
    QApplication.processEvents()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/ecg_workflow_screens"))
