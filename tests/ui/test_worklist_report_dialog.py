"""Report dialog: exports PDF/PNG in the background; printing paints one page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ecgviewer.record import Patient, Record
from ecgviewer.report.page import from_result
from ecgviewer.review.store import Review
from ecgviewer.signal.synthetic import synthetic_ecg
from ecgviewer.ui.report_dialog import ReportDialog, print_content
from tests.analysis.fake_detector import FakeDetector

pypdf = pytest.importorskip("pypdf")


@pytest.fixture
def record() -> Record:
    s = synthetic_ecg(fs=250, duration=10, seed=2)
    return Record(s.signal, s.fs, list(s.leads), patient=Patient("ID-3141"), source="/x/r.hea")


def test_export_pdf_and_png(qtbot, tmp_path, record):
    res = FakeDetector()._one(record)
    review = Review("h", "normal", "fine", "Dr K", datetime(2026, 1, 1, tzinfo=UTC))
    dlg = ReportDialog(record, res, review, default_dir=str(tmp_path))
    qtbot.addWidget(dlg)
    assert dlg.path.text() == str(tmp_path / "r_report.pdf")
    dlg.paper.setCurrentText("Letter")
    with qtbot.waitSignal(dlg.accepted, timeout=30_000):
        dlg.export()
    reader = pypdf.PdfReader(str(dlg.written))
    assert len(reader.pages) == 2  # the ECG, then its median beats
    text = " ".join(reader.pages[0].extract_text().split())
    assert "ID-3141" in text and "of normal ECGs" in text and "paper: Letter" in text

    dlg2 = ReportDialog(record, res, review, default_dir=str(tmp_path))
    qtbot.addWidget(dlg2)
    dlg2.format.setCurrentText("PNG")
    assert dlg2.path.text().endswith("r_report.png")
    dlg2.dpi.setValue(100)
    with qtbot.waitSignal(dlg2.accepted, timeout=30_000):
        dlg2.export()
    assert dlg2.written.read_bytes()[:4] == b"\x89PNG"


def test_unwritable_path_shows_an_error(qtbot, tmp_path, record):
    from ecgviewer.ui import messages

    dlg = ReportDialog(record)
    qtbot.addWidget(dlg)
    dlg.path.setText(str(tmp_path / "missing" / "dir" / "r.png"))
    dlg.format.setCurrentText("PNG")
    dlg.path.setText(str(tmp_path / "missing" / "dir" / "r.png"))
    dlg.export()
    qtbot.waitUntil(lambda: len(messages.shown) == 1, timeout=30_000)
    assert "cannot write" in messages.shown[-1].text()
    assert dlg.export_button.isEnabled()


def test_print_paints_landscape_pages(qtbot, tmp_path, record):
    from PySide6.QtGui import QPageSize
    from PySide6.QtPrintSupport import QPrinter

    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    printer.setPageSize(QPageSize(QPageSize.PageSizeId.Letter))
    print_content(from_result(record), printer)
    reader = pypdf.PdfReader(str(tmp_path / "printed.pdf"))
    assert len(reader.pages) == 2  # the ECG, then its median beats
    assert (
        float(reader.pages[1].mediabox.width),
        float(reader.pages[1].mediabox.height),
    ) == pytest.approx((792, 612), abs=1)
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx((792, 612), abs=1)
    assert "ID-3141" in reader.pages[0].extract_text()
