"""View > Median beats and File > Compare with…: paper pages shown in a window.

Both windows show exactly what the report prints (ecgviewer.report.median_sheet paints
both), at the screen's calibrated true scale, scrollable; a zoom-to-fit button helps on
small screens. Measuring a second ECG runs on the Worker thread pool like every long job.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QObject, QSize, QThreadPool, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ecgviewer.record import Record
from ecgviewer.report import median_sheet as sheet
from ecgviewer.signal.intervals import Measurements

Painter = Callable[[QPainter, float], None]


class PaperPage(QWidget):
    """A millimetre page painted by ``paint(painter, px_per_mm)`` at ``px_per_mm``."""

    def __init__(self, paint: Painter, px_per_mm: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._paint = paint
        self.px_per_mm = px_per_mm
        self.setMinimumSize(self.sizeHint())

    def set_scale(self, px_per_mm: float) -> None:
        self.px_per_mm = px_per_mm
        self.setMinimumSize(self.sizeHint())
        self.resize(self.sizeHint())
        self.update()

    def sizeHint(self) -> QSize:  # Qt's name
        return QSize(int(sheet.PAGE_W * self.px_per_mm), int(sheet.PAGE_H * self.px_per_mm))

    def paintEvent(self, event: Any) -> None:  # Qt's name
        p = QPainter(self)
        try:
            p.fillRect(self.rect(), QColor("white"))
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            p.scale(self.px_per_mm, self.px_per_mm)
            self._paint(p, self.px_per_mm)
        finally:
            p.end()


class PageWindow(QDialog):
    """A non-modal window around one :class:`PaperPage` with true-scale / fit buttons."""

    def __init__(
        self,
        title: str,
        paint: Painter,
        px_per_mm: float,
        note: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.true_px_per_mm = px_per_mm
        self.comparison: Any = None  # the serial comparison a comparison window shows
        self.page = PaperPage(paint, px_per_mm)
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.page)
        self.scroll.setWidgetResizable(False)
        self.scroll.setBackgroundRole(self.page.backgroundRole())
        true_btn = QPushButton("True scale")
        fit_btn = QPushButton("Fit window")
        true_btn.clicked.connect(lambda: self.page.set_scale(self.true_px_per_mm))
        fit_btn.clicked.connect(self.fit)
        bar = QHBoxLayout()
        self.note = QLabel(note)
        self.note.setWordWrap(True)
        bar.addWidget(self.note, 1)
        self.bar = bar
        bar.addWidget(true_btn)
        bar.addWidget(fit_btn)
        box = QVBoxLayout(self)
        box.addLayout(bar)
        box.addWidget(self.scroll, 1)
        self.resize(1100, 800)

    def fit(self) -> None:
        vp = self.scroll.viewport().size()
        k = min(vp.width() / sheet.PAGE_W, vp.height() / sheet.PAGE_H)
        self.page.set_scale(max(1.0, k))


def median_window(
    record: Record, m: Measurements, px_per_mm: float, parent: QWidget | None = None
) -> PageWindow:
    """View > Median beats for ``record`` measured as ``m``."""
    mb = m.beats
    if mb.beats is None:
        note = f"No median beat: {mb.reason}"
    else:
        note = f"Median of {mb.n_used} beats"
        if mb.n_other_morphology or mb.n_premature:
            note += (
                f"; left out {mb.n_other_morphology} of other morphology (e.g. PVCs) and "
                f"{mb.n_premature} premature or after a pause"
            )
    return PageWindow(
        "Median beats",
        lambda p, k: sheet.paint_median_page(p, k, record, m),
        px_per_mm,
        note,
        parent,
    )


def compare_window(
    record: Record,
    m: Measurements,
    previous: Record,
    pm: Measurements,
    px_per_mm: float,
    percentiles: tuple[float | None, float | None] = (None, None),
    parent: QWidget | None = None,
    remeasured: bool = False,
) -> PageWindow:
    """File > Compare with…: this ECG against ``previous`` (any format and rate);
    ``remeasured``: one of them was re-measured by the rules alone (``serial.alike``)."""
    from ecgviewer.signal.serial import RULES_ALIKE_NOTE, compare, pairing_warnings

    comparison = compare(pm, m, percentiles[1], percentiles[0])
    missing = comparison.missing_leads
    parts = [f"{len(comparison.significant)} change(s) beyond measurement noise (yellow)"]
    if remeasured:
        parts.append(RULES_ALIKE_NOTE)
    parts[:0] = [f"NOTE: {w}" for w in pairing_warnings(record, previous)]
    if missing["before"]:
        parts.append("previous ECG lacks " + ", ".join(missing["before"]))
    if missing["after"]:
        parts.append("this ECG lacks " + ", ".join(missing["after"]))
    shown = PageWindow(
        "Serial comparison",
        lambda p, k: sheet.paint_comparison_page(
            p, k, record, m, previous, pm, comparison, remeasured
        ),
        px_per_mm,
        "; ".join(parts),
        parent,
    )
    shown.comparison = comparison
    return shown


def measure_two_job(previous: Record) -> Generator[tuple[int, int, str], None, Measurements]:
    """Worker job: measure the previous ECG (R peaks and median beats take ~0.1-1 s)."""
    yield 0, 1, "measuring the previous ECG"
    from ecgviewer.signal.intervals import measure

    return measure(previous)


def start_job(
    job: Generator[Any, None, Any],
    done: Callable[[Any], None],
    failed: Callable[[BaseException], None],
) -> Any:
    """Run ``job`` on the shared thread pool with the viewer's Worker."""
    from ecgviewer.ui.workers import Worker

    worker = Worker(job)
    worker.signals.finished.connect(done)
    worker.signals.failed.connect(failed)
    QThreadPool.globalInstance().start(worker)
    return worker


def comparison_report_job(
    record: Record, result: Any, previous: Record, m: Measurements, pm: Measurements, path: str
) -> Generator[tuple[int, int, str], None, Any]:
    """Worker job: the PDF report with the median-beat and serial-comparison pages."""
    from ecgviewer.report import render
    from ecgviewer.report.page import from_result

    yield 0, 2, "Measuring"
    content = from_result(record, result, previous=previous, previous_median=pm)
    yield 1, 2, "Drawing the report"
    return render.export_pdf(content, path)


class MedianActions(QObject):
    """View > Median beats and File > Compare with… of one main window.

    Owns the jobs these start and the windows they open (``median_window``,
    ``compare_window``); says when each is shown, and when a comparison report is saved.
    """

    median_shown = Signal(object)  # PageWindow
    comparison_shown = Signal(object)  # PageWindow
    report_saved = Signal(object)  # the PDF's path

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window  # the main window: its record, measurements, result and scale
        self.median_window: PageWindow | None = None
        self.compare_window: PageWindow | None = None
        self.comparison_report_path: Any = None
        self._workers: dict[str, Any] = {}  # running jobs, kept alive until they report

    def _failed(self, exc: BaseException) -> None:
        from ecgviewer.ui import messages

        messages.show_error(self.window, exc)

    def show_median_beats(self) -> None:
        w = self.window
        if w.record is None:
            return
        full = getattr(w.measurements, "full", None)
        if full is None:
            self._workers["median"] = start_job(
                measure_two_job(w.record), self._open_median, self._failed
            )
            return
        self._open_median(full)

    def _open_median(self, m: Measurements) -> None:
        w = self.window
        self.median_window = median_window(w.record, m, w.plot.px_per_mm, w)
        self.median_window.show()
        self.median_shown.emit(self.median_window)

    def save_comparison_report(
        self, previous: Record, m: Measurements, pm: Measurements, path: str | None = None
    ) -> None:
        """Write the report PDF whose third page is this comparison."""
        from PySide6.QtWidgets import QFileDialog

        w = self.window
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                w, "Save the report", "comparison_report.pdf", "PDF (*.pdf)"
            )
        if not path:
            return

        def done(out: Any) -> None:
            self.comparison_report_path = out
            self.report_saved.emit(out)

        self._workers["comparison_report"] = start_job(
            comparison_report_job(w.record, w.result, previous, m, pm, path), done, self._failed
        )

    def compare_with_dialog(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        from ecgviewer import io as ecg_io

        w = self.window
        if w.record is None:
            return
        exts = " ".join(f"*{e}" for e in ecg_io.supported_extensions())
        start = str(w.settings.value("files/last_dir", ""))
        path, _ = QFileDialog.getOpenFileName(
            w, "Compare with a previous ECG", start, f"ECG files ({exts});;All files (*)"
        )
        if path:
            self.compare_with(path)

    def compare_with(
        self,
        previous: Record | str,
        previous_percentile: float | None = None,
        this_percentile: float | None = None,
    ) -> None:
        """Compare the open ECG with ``previous`` (a Record or a file path); its anomaly
        percentile, when known (the worklist scored it), joins the table of changes, and so
        does ``this_percentile`` where the open ECG's own scoring has not finished yet (the
        worklist knows it: its row read "—" for good)."""
        from ecgviewer import io as ecg_io
        from ecgviewer.errors import ECGError

        w = self.window
        if w.record is None:
            return
        try:
            if not isinstance(previous, Record):
                got = ecg_io.read(previous)
                if isinstance(got, list):
                    if not got:
                        raise ECGError(previous, "the file holds no ECG")
                    got = got[0].load() if hasattr(got[0], "load") else got[0]
                previous = got
        except Exception as exc:  # noqa: BLE001 - any reader failure is shown, never raised
            self._failed(exc)
            return
        prev: Record = previous

        def both(pm: Measurements) -> Generator[tuple[int, int, str], None, tuple]:
            from ecgviewer.signal.serial import alike

            full = getattr(w.measurements, "full", None)
            if full is None:
                full = yield from measure_two_job(w.record)
            yield 0, 1, "measuring both ECGs alike"
            m, pm2 = alike(w.record, full, pm), alike(prev, pm, full)
            return m, pm2, m is not full or pm2 is not pm

        def done(both_measured: tuple) -> None:
            m, pm, remeasured = both_measured
            pct = getattr(w.result, "percentile", None)
            if pct is None:
                pct = this_percentile
            shown = compare_window(
                w.record, m, prev, pm, w.plot.px_per_mm, (pct, previous_percentile), w, remeasured
            )
            save = QPushButton("Save report…")
            save.setToolTip("PDF: the ECG, its median beats and this comparison")
            save.clicked.connect(lambda: self.save_comparison_report(prev, m, pm))
            shown.bar.insertWidget(1, save)
            self.compare_window = shown
            shown.show()
            self.comparison_shown.emit(shown)

        def chain() -> Generator[tuple[int, int, str], None, tuple]:
            pm = yield from measure_two_job(prev)
            return (yield from both(pm))

        self._workers["compare"] = start_job(chain(), done, self._failed)


__all__ = [
    "MedianActions",
    "PaperPage",
    "PageWindow",
    "compare_window",
    "median_window",
    "measure_two_job",
]
