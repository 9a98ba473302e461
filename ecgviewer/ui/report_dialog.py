"""File > Export report… and File > Print…: the paper report of the ECG on screen
(its page, then its median beats).

Measuring and painting take up to a second or two (R peaks and intervals for the header, a
600 dpi PDF), so the export runs as a job in the :class:`~ecgviewer.ui.workers.Worker`;
painting a QPdfWriter or a QImage off the GUI thread is supported by Qt. Printing uses
QtPrintSupport (part of PySide6-Essentials): the print dialog picks the printer and the paper
(A4 or US Letter), and the report is painted in landscape at the printer's resolution.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ecgviewer.record import Record
from ecgviewer.report.page import ReportContent, from_result
from ecgviewer.review.store import Review
from ecgviewer.ui.messages import show_error
from ecgviewer.ui.workers import JobTracker, Worker

log = logging.getLogger(__name__)


def report_job(
    record: Record,
    result: Any,
    review: Review | None,
    display_filter: Any,
    path: str,
    fmt: str,
    paper: str,
    dpi: int,
    t0: float = 0.0,
    overlay: dict[str, float] | None = None,
    reading: Any = None,
) -> Generator[tuple[int, int, str], None, Path]:
    """Measure, then paint the report to ``path`` (PDF or PNG); returns the path.

    ``overlay``: the viewer's heat-band ``threshold`` and ``opacity``, so paper matches screen.
    """
    from ecgviewer.report import render

    yield (0, 2, "Measuring")
    content = from_result(
        record,
        result,
        review=review,
        display_filter=display_filter,
        t0=t0,
        reading=reading,
        **(overlay or {}),
    )
    yield (1, 2, "Drawing the report")
    if fmt == "PNG":
        return render.export_png(content, path, paper, float(dpi))
    return render.export_pdf(content, path, paper)


class ReportDialog(QDialog):
    """Choose paper, format and file; export in the background.

    Parameters
    ----------
    record, result, review, display_filter
        What the report shows: the ECG, the Detector result (or None), the saved review (or
        None) and the display filter used on screen.
    t0
        First second printed (the page on screen).
    overlay
        The viewer's heat-band ``threshold`` and ``opacity``.
    """

    def __init__(
        self,
        record: Record,
        result: Any = None,
        review: Review | None = None,
        display_filter: Any = None,
        parent: QWidget | None = None,
        t0: float = 0.0,
        default_dir: str | None = None,
        overlay: dict[str, float] | None = None,
        reading: Any = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export report")
        self.reading = reading  # review.reading.Reading: sign-off state and statements
        self.record, self.result, self.review = record, result, review
        self.display_filter, self.t0, self.overlay = display_filter, t0, overlay
        self.jobs = JobTracker()
        self.worker: Worker | None = None
        self.written: Path | None = None

        self.paper = QComboBox()
        self.paper.addItems(["A4", "Letter"])
        self.format = QComboBox()
        self.format.addItems(["PDF", "PNG"])
        self.dpi = QSpinBox()
        self.dpi.setRange(72, 600)
        self.dpi.setValue(200)
        self.dpi.setSuffix(" dpi")
        self.path = QLineEdit(self._default_path(default_dir))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.format.currentTextChanged.connect(self._format_changed)
        self._format_changed(self.format.currentText())
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Paper", self.paper)
        form.addRow("Format", self.format)
        form.addRow("PNG resolution", self.dpi)
        form.addRow("File", path_row)
        self.status = QLabel(
            "Landscape pages: the ECG at 25 mm/s, 10 mm/mV (3x4 + II rhythm), then its median "
            "beats (a PNG per page: name.png, name-page2.png, ...)."
        )
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton(
            "Export", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.buttons.accepted.connect(self.export)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.status)
        lay.addWidget(self.buttons)

    def _default_path(self, folder: str | None) -> str:
        stem = Path(self.record.source).stem if self.record.source else "ecg"
        base = (
            Path(folder)
            if folder
            else (Path(self.record.source).parent if self.record.source else Path.home())
        )
        return str(base / f"{stem}_report.pdf")

    def _format_changed(self, fmt: str) -> None:
        self.dpi.setEnabled(fmt == "PNG")
        p = Path(self.path.text())
        self.path.setText(str(p.with_suffix(".png" if fmt == "PNG" else ".pdf")))

    def _browse(self) -> None:
        fmt = self.format.currentText()
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the report", self.path.text(), f"{fmt} (*.{fmt.lower()})"
        )
        if path:
            self.path.setText(path)

    def export(self) -> Worker:
        """Start the export; the dialog closes when the file is written."""
        path = self.path.text().strip()
        fmt, paper, dpi = self.format.currentText(), self.paper.currentText(), self.dpi.value()
        args = (
            self.record,
            self.result,
            self.review,
            self.display_filter,
            path,
            fmt,
            paper,
            dpi,
            self.t0,
            self.overlay,
            self.reading,
        )
        worker = Worker(lambda: report_job(*args), kind="report")
        worker.signals.progress.connect(lambda d, t, m: self.status.setText(m + "…"))
        worker.signals.finished.connect(self._written)
        worker.signals.failed.connect(self._failed)
        self.export_button.setEnabled(False)
        self.worker = self.jobs.start(worker)
        return worker

    def _written(self, path: Path) -> None:
        self.written = Path(path)
        log.info("report written to %s", path)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self.export_button.setEnabled(True)
        self.status.setText("The report could not be written.")
        show_error(self, exc)

    def done(self, result: int) -> None:  # Qt's name: also called by reject()
        self.jobs.cancel_all()
        self.jobs.wait_all(5.0)
        super().done(result)


def print_content(content: ReportContent, printer: Any) -> None:
    """Paint ``content`` on a configured QPrinter (used by :func:`print_dialog` and tests)."""
    from ecgviewer.report.render import print_report

    print_report(content, printer)


def print_dialog(
    parent: QWidget | None,
    record: Record,
    result: Any = None,
    review: Review | None = None,
    display_filter: Any = None,
    t0: float = 0.0,
    overlay: dict[str, float] | None = None,
    reading: Any = None,
) -> bool:
    """File > Print…: the system print dialog, then the report on the chosen printer.

    Returns True when something was printed. Printing runs on the GUI thread: QPrinter is
    a GUI-thread object.
    """
    from PySide6.QtGui import QPageLayout
    from PySide6.QtPrintSupport import QPrintDialog, QPrinter

    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setPageOrientation(QPageLayout.Orientation.Landscape)
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle("Print ECG report")
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return False
    try:
        content = from_result(
            record,
            result,
            review=review,
            display_filter=display_filter,
            t0=t0,
            reading=reading,
            **(overlay or {}),
        )
        print_content(content, printer)
    except Exception as exc:  # noqa: BLE001 - a printer problem must not close the viewer
        show_error(parent, exc)
        return False
    return True


__all__ = ["ReportDialog", "print_content", "print_dialog", "report_job"]
