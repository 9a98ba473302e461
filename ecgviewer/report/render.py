"""Painting the report with Qt: PDF (QPdfWriter), PNG (QImage) and the printer (QPrinter).

One function, :func:`paint_report`, draws on any QPainter given the device resolution, so the
PDF, the PNG and the printout are the same picture. Lines and traces are drawn in millimetres
(the painter scaled by dpi/25.4), text in device pixels with point-size fonts, which every
paint device sizes from its own resolution: 1 mm on paper is 1 mm of ECG paper.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QMarginsF, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPainterPath,
    QPdfWriter,
    QPen,
)

from ecgviewer import __version__ as APP_VERSION  # noqa: N812
from ecgviewer.errors import FileAccessError
from ecgviewer.paper.heat import heat_runs
from ecgviewer.paper.page import CellDrawing
from ecgviewer.paper.theme import LIGHT
from ecgviewer.record import Record
from ecgviewer.report.page import (
    PAGE_SECONDS,
    ReportContent,
    ReportPage,
    report_cells,
    report_page,
)
from ecgviewer.report.reading_block import (
    Interpretation,
    Item,
    banner,
    fit_header,
    interpretation,
)
from ecgviewer.signal.quality import PROBLEMS as QUALITY_PROBLEMS
from ecgviewer.wording import (
    flag_texts,
    measurement_note,
    percentile_text,
    sd_text,
    verdict_word,
    whole_ecg_reason,
)

log = logging.getLogger(__name__)

MINOR = QColor(245, 185, 185)
MAJOR = QColor(225, 110, 110)
TRACE = QColor(0, 0, 0)
INK = QColor(20, 20, 20)
GREY = QColor(90, 90, 90)
ALERT = QColor(200, 0, 0)
FONT = "DejaVu Sans"
_QT_PAPER = {"A4": QPageSize.PageSizeId.A4, "Letter": QPageSize.PageSizeId.Letter}


def _ensure_app() -> None:
    # Fonts need a QGuiApplication; the viewer has one, a CLI export may not.
    if QGuiApplication.instance() is None:
        # A full QApplication, not a QGuiApplication: widgets created later in the same
        # process (a viewer opened after a CLI export) would otherwise abort.
        from PySide6.QtWidgets import QApplication

        QApplication([])  # pragma: no cover - the tests always have a QApplication


# ---------------------------------------------------------------------- outputs
def export_pdf(content: ReportContent, path: str | os.PathLike[str], paper: str = "A4") -> Path:
    """Write a landscape PDF: the ECG page, the interpretation in full when the ECG page's
    header cannot hold it, the median-beat page (and the serial comparison when
    ``content.previous`` is set); returns its path.

    Raises
    ------
    FileAccessError
        The file cannot be written.
    """
    _ensure_app()
    page = report_page(content.record.ecg_leads, paper)
    out = Path(path)
    writer = QPdfWriter(str(out))
    writer.setResolution(600)
    writer.setTitle(f"ECG report {content.record.patient.id or ''}".strip())
    writer.setCreator(f"ecgviewer {APP_VERSION}")
    writer.setPageLayout(
        QPageLayout(QPageSize(_QT_PAPER[paper]), QPageLayout.Orientation.Landscape, QMarginsF())
    )
    painter = QPainter()
    if not painter.begin(writer):
        raise FileAccessError(out, "cannot write the PDF report here")
    try:
        paint_report(painter, content, page, float(writer.resolution()))
        sheets = extra_pages(content, page)
        for i, paint in enumerate(sheets, start=2):
            writer.newPage()
            line = sheet_banner(content, i, len(sheets) + 1)
            paint_sheet(painter, paint, page, float(writer.resolution()), line)
    finally:
        painter.end()
    return out


def extra_pages(content: ReportContent, page: ReportPage | None = None) -> list[Any]:
    """Painters of the pages after the ECG: the interpretation in full when the ECG page's
    header cannot hold it (so it is page 2, as that header says), the median beats, then the
    serial comparison. ``page``: the ECG page's layout (A4 when not given), whose header
    width decides what fits there."""
    from ecgviewer.report import interpretation_sheet as isheet
    from ecgviewer.report import median_sheet as sheet

    if page is None:
        page = report_page(content.record.ecg_leads, "A4")
    pages: list[Any] = []
    interp, _kept, _more, sheets = interpretation_layout(content, page)
    warning = banner(content.reading)
    for i, rows in enumerate(sheets):
        pages.append(
            lambda p, k, rows=rows, n=i + 2: isheet.paint_interpretation_page(
                p, k, content.record, interp, rows, n, warning
            )
        )
    m = content.median
    if m is not None:
        pages.append(lambda p, k: sheet.paint_median_page(p, k, content.record, m))
        pm = content.previous_median
        if content.previous is not None and pm is not None:
            from ecgviewer.paper.layouts import PAGE_SECONDS
            from ecgviewer.signal.serial import alike, compare

            # Like with like: the median page keeps the best measurement, the comparison
            # re-measures by the rules alone where only one ECG could use the network.
            strip = content.record.slice(content.t0, content.t0 + PAGE_SECONDS)
            mc, pmc = alike(strip, m, pm), alike(content.previous.slice(0.0, PAGE_SECONDS), pm, m)
            comparison = compare(pmc, mc, None, content.percentile)
            remeasured = mc is not m or pmc is not pm
            pages.append(
                lambda p, k: sheet.paint_comparison_page(
                    p, k, content.record, mc, content.previous, pmc, comparison, remeasured
                )
            )
    return pages


def sheet_scale(page: ReportPage) -> float:
    """Paper millimetres per sheet millimetre: 1 (true scale) unless the paper is smaller."""
    from ecgviewer.report import median_sheet as sheet

    return min(1.0, page.width / sheet.PAGE_W, page.height / sheet.PAGE_H)


def sheet_banner(content: ReportContent, number: int, total: int) -> str:
    """The line atop every page after the first: what the first page's footer says, so that
    a sheet filed or read apart from it still says what it is (pages 2 and 3 had no "NOT A
    DIAGNOSTIC DEVICE", no page number, no print date and no word of an unsigned reading)."""
    parts = [f"ecgviewer {APP_VERSION}", "NOT A DIAGNOSTIC DEVICE", f"page {number} of {total}"]
    if banner(content.reading):
        parts.append("interpretation NOT CONFIRMED")
    parts.append(f"printed {datetime.now():%Y-%m-%d %H:%M}")
    return "  ·  ".join(parts)


def paint_sheet(
    painter: QPainter, paint: Any, page: ReportPage, dpi: float, top_line: str = ""
) -> None:
    """One millimetre sheet (median beats, comparison) centred on the paper: at true scale on
    A4 and Letter, whose common area it fits (``median_sheet.PAGE_W``), scaled down only on
    smaller paper. ``top_line`` (:func:`sheet_banner`) is printed above the sheet's title."""
    from ecgviewer.report import median_sheet as sheet

    fit = sheet_scale(page)
    k = dpi / 25.4 * fit
    px = dpi / 25.4
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.translate(
        (page.width - sheet.PAGE_W * fit) / 2 * px, (page.height - sheet.PAGE_H * fit) / 2 * px
    )
    painter.scale(k, k)
    paint(painter, k)
    if top_line:
        sheet.text(painter, k, 120, 5.6, top_line, 5.8, bold=True, colour=GREY)
    painter.restore()


def render_image(content: ReportContent, paper: str = "A4", dpi: float = 200.0) -> QImage:
    """The report's first page (the ECG) as an RGB image at ``dpi`` (its DPI is stored, so
    viewers print it true size); :func:`render_images` gives every page."""
    return render_images(content, paper, dpi, first_only=True)[0]


def render_images(
    content: ReportContent, paper: str = "A4", dpi: float = 200.0, first_only: bool = False
) -> list[QImage]:
    """Every page of the report as an RGB image at ``dpi``: the ECG, then what
    :func:`extra_pages` adds (the interpretation in full when it does not fit, the median
    beats, the comparison), each at true scale as on paper."""
    _ensure_app()
    page = report_page(content.record.ecg_leads, paper)
    w = int(round(page.width / 25.4 * dpi))
    h = int(round(page.height / 25.4 * dpi))
    dpm = int(round(dpi / 0.0254))
    painters: list[Any] = [None] + ([] if first_only else extra_pages(content, page))
    images = []
    for number, paint in enumerate(painters, start=1):
        image = QImage(w, h, QImage.Format.Format_RGB32)
        image.setDotsPerMeterX(dpm)
        image.setDotsPerMeterY(dpm)
        image.fill(QColor("white"))
        painter = QPainter(image)
        try:
            if paint is None:
                paint_report(painter, content, page, dpi)
            else:
                line = sheet_banner(content, number, len(painters))
                paint_sheet(painter, paint, page, dpi, line)
        finally:
            painter.end()
        images.append(image)
    return images


def png_pages(path: str | os.PathLike[str], n: int) -> list[Path]:
    """Where :func:`export_png` writes ``n`` pages: ``path`` for the first, then
    ``<stem>-page2.png`` ... beside it."""
    out = Path(path)
    return [out] + [out.with_name(f"{out.stem}-page{i}{out.suffix}") for i in range(2, n + 1)]


def export_png(
    content: ReportContent, path: str | os.PathLike[str], paper: str = "A4", dpi: float = 200.0
) -> Path:
    """Write the report as PNGs, one per page (:func:`png_pages`); returns the first's path.

    Why every page: the first page's header may say "Continued on page 2" (a long signed
    reading), and a PNG of page 1 alone left that page nowhere."""
    images = render_images(content, paper, dpi)
    paths = png_pages(path, len(images))
    for image, out in zip(images, paths, strict=True):
        if not image.save(str(out), "PNG"):
            raise FileAccessError(out, "cannot write the PNG report here")
    return paths[0]


def print_report(content: ReportContent, printer: Any) -> None:
    """Paint on a ``QPrinter`` already set up by a print dialog (A4 or Letter, landscape)."""
    size = printer.pageLayout().pageSize().id()
    paper = "Letter" if size == QPageSize.PageSizeId.Letter else "A4"
    printer.setFullPage(True)
    printer.setPageOrientation(QPageLayout.Orientation.Landscape)
    page = report_page(content.record.ecg_leads, paper)
    painter = QPainter()
    if not painter.begin(printer):
        raise FileAccessError(None, "the printer could not be started")
    try:
        paint_report(painter, content, page, float(printer.resolution()))
        sheets = extra_pages(content, page)
        for i, paint in enumerate(sheets, start=2):
            printer.newPage()
            line = sheet_banner(content, i, len(sheets) + 1)
            paint_sheet(painter, paint, page, float(printer.resolution()), line)
    finally:
        painter.end()


# ---------------------------------------------------------------------- painting
def paint_report(painter: QPainter, content: ReportContent, page: ReportPage, dpi: float) -> None:
    """Draw the whole page; the painter's origin is the paper's top-left corner."""
    k = dpi / 25.4
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    painter.save()
    painter.scale(k, k)  # millimetres from here on
    _grid(painter, page)
    _traces(painter, content, page)
    painter.restore()
    _labels(painter, content, page, k)
    _header(painter, content, page, k)
    _footer(painter, content, page, k)
    _unconfirmed_mark(painter, content, page, k)


def _pen(colour: QColor, width_mm: float) -> QPen:
    pen = QPen(colour)
    pen.setWidthF(width_mm)
    pen.setCapStyle(Qt.PenCapStyle.FlatCap)
    return pen


def _grid(p: QPainter, page: ReportPage) -> None:
    g = page.grid
    for step, pen in ((1.0, _pen(MINOR, 0.07)), (5.0, _pen(MAJOR, 0.16))):
        p.setPen(pen)
        for x in np.arange(g.x, g.right + 1e-6, step):
            p.drawLine(QPointF(x, g.y), QPointF(x, g.bottom))
        for y in np.arange(g.y, g.bottom + 1e-6, step):
            p.drawLine(QPointF(g.x, y), QPointF(g.right, y))


def _traces(p: QPainter, content: ReportContent, page: ReportPage) -> None:
    """Traces and heat bands from the page model the viewer draws too (``report_cells``)."""
    data, cells = report_cells(content, page)
    step = page.speed / data.fs
    g = page.grid
    p.setClipRect(QRectF(g.x, g.y, g.w, g.h))
    rows_done: set[int] = set()
    for drawing in cells:
        cell = drawing.cell
        if drawing.heat_alpha is not None:
            _heat_band(p, page, drawing)
        if cell.row not in rows_done:
            rows_done.add(cell.row)
            _cal_pulse(p, page, page.y_of(cell.baseline))
        if cell.col > 0:  # lead change mark, as carts print it
            x = page.x_of(cell.x0)
            p.setPen(_pen(TRACE, 0.25))
            p.drawLine(
                QPointF(x, page.y_of(cell.baseline) - 2.5),
                QPointF(x, page.y_of(cell.baseline) + 2.5),
            )
        if drawing.trace.size < 2:
            continue
        xs = page.x_of(cell.x0) + np.arange(drawing.trace.size) * step
        ys = page.y_of(cell.baseline) - drawing.trace * page.gain
        path = QPainterPath(QPointF(float(xs[0]), float(ys[0])))
        for x, y in zip(xs[1:].tolist(), ys[1:].tolist(), strict=True):
            path.lineTo(x, y)
        p.setPen(_pen(TRACE, 0.22))
        p.setBrush(Qt.BrushStyle.NoBrush)  # the heat band left a brush: a path would be filled
        p.drawPath(path)
        for k, sign in drawing.cut:  # cut at the cell's edge: a mark there, as on screen
            edge = page.y_of(cell.baseline + sign * cell.height / 2)
            x = float(xs[min(k, xs.size - 1)])
            mark = QPainterPath(QPointF(x, edge))
            mark.lineTo(x - 0.9, edge + sign * 1.4)
            mark.lineTo(x + 0.9, edge + sign * 1.4)
            mark.closeSubpath()
            p.fillPath(mark, ALERT)
    p.setClipping(False)


def _heat_band(p: QPainter, page: ReportPage, drawing: CellDrawing) -> None:
    """The viewer's heat band: the same bins and opacity runs (``paper.heat``), in the
    screen's heat colour."""
    assert drawing.heat_alpha is not None
    x, y_bottom, width, height = drawing.heat_rect
    bin_w = width / max(1, drawing.heat_alpha.size)
    top = page.y_of(y_bottom + height)
    p.setPen(Qt.PenStyle.NoPen)
    for a, b, alpha in heat_runs(drawing.heat_alpha):
        p.setBrush(QColor(*LIGHT.heat, alpha))
        p.drawRect(QRectF(page.x_of(x) + a * bin_w, top, (b - a) * bin_w, height))


def _cal_pulse(p: QPainter, page: ReportPage, base: float) -> None:
    """1 mV for 200 ms at the row start, in the left margin: proves the scale on paper."""
    x = page.grid.x + 2.0
    h = 1.0 * page.gain
    w = 0.2 * page.speed
    path = QPainterPath(QPointF(x, base))
    for px, py in (
        (x + 1.5, base),
        (x + 1.5, base - h),
        (x + 1.5 + w, base - h),
        (x + 1.5 + w, base),
        (x + 3.0 + w, base),
    ):
        path.lineTo(px, py)
    p.setPen(_pen(TRACE, 0.25))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawPath(path)


def _font(pt: float, bold: bool = False, italic: bool = False) -> QFont:
    f = QFont(FONT)
    f.setPointSizeF(pt)
    f.setBold(bold)
    f.setItalic(italic)
    return f


def _text(
    p: QPainter,
    k: float,
    x: float,
    y: float,
    text: str,
    pt: float = 7.0,
    bold: bool = False,
    colour: QColor = INK,
    w: float = 0.0,
    align: Any = None,
    italic: bool = False,
) -> None:
    """Text with its baseline at (x, y) mm; with ``w`` it is right-aligned in a box."""
    p.setFont(_font(pt, bold, italic))
    p.setPen(colour)
    if w and align is not None:
        p.drawText(QRectF(x * k, (y - pt * 0.3528) * k, w * k, pt * 0.5 * k), int(align), text)
    else:
        p.drawText(QPointF(x * k, y * k), text)


def _labels(p: QPainter, content: ReportContent, page: ReportPage, k: float) -> None:
    for cell in page.geometry.cells:
        x = page.x_of(cell.x0) + 1.0
        y = page.y_of(cell.y_top) + 4.0
        _text(p, k, x, y, cell.lead, 8.0, bold=True)


def _header(p: QPainter, content: ReportContent, page: ReportPage, k: float) -> None:
    rec = content.record
    h = page.header
    col = h.w / 4
    line = 3.3
    pat = rec.patient
    age = "-" if pat.age is None else f"{pat.age:g} y"
    sex = {"M": "male", "F": "female"}.get(pat.sex or "", "-")
    start = rec.start.strftime("%Y-%m-%d %H:%M:%S") if rec.start else "unknown"
    src = Path(rec.source).name if rec.source else "<in memory>"
    blocks: list[tuple[str, list[str]]] = [
        (
            content.title,
            [
                f"Name: {pat.name or '-'}",
                f"Patient ID: {pat.id or '-'}"
                + (f"   Born: {pat.birth_date.isoformat()}" if pat.birth_date else ""),
                f"Age: {age}   Sex: {sex}",
                f"Recorded: {start}",
                f"Device: {rec.device or '-'}",
                f"File: {src}",
                f"{rec.n_leads} leads, {rec.fs:g} Hz, {rec.duration:.1f} s",
            ],
        ),
        ("Measurements", [f"{name}: {value}" for name, value in content.measurements] or ["-"]),
        ("Anomaly (model)", _anomaly_lines(content)),
    ]
    for i, (title, lines) in enumerate(blocks):
        x = h.x + i * col
        _text(p, k, x, h.y + 3.5, title, 8.5, bold=True)
        # One line each: the measurements' reasons are in full on page 2, and the patient's
        # seven lines (name, id, ...) must all stay, a long device name cut rather than them.
        if i == 0 or title == "Measurements":
            wrapped = [_clip(text, col, 6.6) for text in lines]
        else:
            wrapped = [w for text in lines for w in _wrap(text, col - 2.0, 6.6)]
        if len(wrapped) > HEADER_LINES:  # say that something is cut (the reading never is)
            wrapped = wrapped[: HEADER_LINES - 1] + [
                _clip(wrapped[HEADER_LINES - 1].rstrip("…") + " …", col, 6.6)
            ]
        for j, text in enumerate(wrapped):
            _text(p, k, x, h.y + 3.5 + (j + 1) * line, _clip(text, col, 6.6), 6.6)
    _interpretation_block(p, content, page, k, h.x + 3 * col, col, line)


def _header_wrap(col: float) -> Any:
    return lambda text: _wrap(text, col - 2.0, 6.6)


def interpretation_layout(
    content: ReportContent, page: ReportPage
) -> tuple[Interpretation, list[Item], str, list[Any]]:
    """The interpretation, what of it the ECG page's header prints, the header's "Continued
    on page 2: ..." line ("" when all fits) and the rows of the full sheets (none then).
    One function for the header and :func:`extra_pages`, so that the page the header names
    is the one printed."""
    from ecgviewer.report import interpretation_sheet as isheet

    rec = content.record
    interp = interpretation(content.reading, content.review, " ".join(cart_lines(rec)))
    sheets = isheet.paginate(isheet.rows(interp))
    where = "page 2" if len(sheets) == 1 else f"pages 2-{len(sheets) + 1}"
    kept, more = fit_header(interp.items(), HEADER_LINES, _header_wrap(page.header.w / 4), where)
    return interp, kept, more, sheets if more else []


def _interpretation_block(
    p: QPainter,
    content: ReportContent,
    page: ReportPage,
    k: float,
    x: float,
    col: float,
    line: float,
) -> None:
    """The header's interpretation block: whole statements only; the worklist's triage and
    note after a thin rule, in italics, under their author (never as part of the signed
    text); and, when the reading does not fit, a bold line saying where it goes on."""
    h = page.header
    unsigned = bool(banner(content.reading))
    _text(
        p,
        k,
        x,
        h.y + 3.5,
        "Interpretation" + (" - NOT CONFIRMED" if unsigned else ""),
        8.5,
        bold=True,
        colour=ALERT if unsigned else INK,
    )
    _interp, kept, more, _sheets = interpretation_layout(content, page)
    wrap = _header_wrap(col)
    row = 0
    for item in kept:
        worklist = item.kind == "triage"
        if worklist and row:
            y_rule = h.y + 3.5 + row * line + 1.0
            p.setPen(_pen(GREY, 0.15 * k))
            p.drawLine(QPointF(x * k, y_rule * k), QPointF((x + col - 4.0) * k, y_rule * k))
        for text in wrap(item.text):
            row += 1
            _text(p, k, x, h.y + 3.5 + row * line, _clip(text, col, 6.6), 6.6, italic=worklist)
    for text in wrap(more) if more else []:
        row += 1
        _text(p, k, x, h.y + 3.5 + row * line, _clip(text, col, 6.6), 6.6, bold=True)


#: Lines under each header block's title.
HEADER_LINES = 7


def cart_lines(record: Record) -> list[str]:
    """The cart's own interpretation, when the file carries one, marked as the cart's (a
    Philips cart's ">>> Acute MI <<<" must reach the paper, not only the screen)."""
    statements = getattr(getattr(record, "cart", None), "statements", ()) or ()
    if not statements:
        return []
    return ["Cart's statements: " + "; ".join(str(s).strip() for s in statements if str(s).strip())]


def _unconfirmed_mark(p: QPainter, content: ReportContent, page: ReportPage, k: float) -> None:
    """A translucent red line of text across the traces of a report nobody has signed, so a
    printout cannot pass for a confirmed one (the traces stay readable through it)."""
    warning = banner(content.reading)
    if not warning:
        return
    g = page.grid
    p.setFont(_font(15.0, bold=True))
    p.setPen(QColor(ALERT.red(), ALERT.green(), ALERT.blue(), 150))
    box = QRectF(g.x * k, (g.y + g.h * 0.47) * k, g.w * k, 9.0 * k)
    p.drawText(box, int(Qt.AlignmentFlag.AlignCenter), warning)


def _anomaly_lines(content: ReportContent) -> list[str]:
    if content.score is None:
        lines = ["Not scored"]
    elif "% of normal ECGs" in content.verdict:
        # "... more unusual than 82.4 % (over 99.9 %) of normal ECGs": the percentile once
        lines = [content.verdict]
    else:
        lines = [
            f"Percentile: {percentile_text(content.percentile)} (vs normal ECGs)",
            content.verdict,
        ]
    other = [
        f for f in content.flags if f.partition(":")[0] not in QUALITY_PROBLEMS
    ]  # told in the verdict
    if other:
        lines.append("Notes: " + "; ".join(flag_texts(other)))
    if content.score is not None:
        if content.findings:
            top = content.findings[:3]
            more = f" (+{len(content.findings) - 3} more)" if len(content.findings) > 3 else ""
            lines.append(
                "Findings: "
                + "; ".join(
                    f"{f.lead or 'all'} {f.start:.1f}-{f.end:.1f} s, {sd_text(f.score)} SD"
                    + (" (possible artefact)" if getattr(f, "noisy", False) else "")
                    for f in top
                )
                + more
            )
        else:
            why = whole_ecg_reason(content.parts)
            unusual = verdict_word(content.percentile) != "within normal range"
            lines.append(
                f"Findings: none in one place; {why}"
                if why and unusual
                else "Findings: none beyond normal ECGs"
            )
    if content.score is not None and content.measure_z:
        lines.append(measurement_note(content.measure_z, "Far from normal ECGs: "))
    lines.append("Blue band: where the model finds the ECG unusual")
    return lines


def _chars_per(width_mm: float, pt: float) -> int:
    # DejaVu Sans averages about 0.55 em per character.
    return max(8, int(width_mm / (pt * 0.3528 * 0.55)))


def _clip(text: str, width_mm: float, pt: float) -> str:
    n = _chars_per(width_mm - 2.0, pt)
    return text if len(text) <= n else text[: n - 1] + "…"


def _wrap(text: str, width_mm: float, pt: float) -> list[str]:
    """Lines of whole words; a word longer than a line (a URL) is split, never cut off."""
    n = _chars_per(width_mm, pt)
    words = [w[i : i + n] for w in text.split() for i in range(0, len(w), n)]
    lines, cur = [], ""
    for word in words:
        if cur and len(cur) + 1 + len(word) > n:
            lines.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}".strip()
    if cur:
        lines.append(cur)
    return lines


def _footer(p: QPainter, content: ReportContent, page: ReportPage, k: float) -> None:
    f = page.footer
    rec = content.record
    t1 = min(rec.duration, content.t0 + PAGE_SECONDS)
    left = (
        f"{page.speed:g} mm/s   {page.gain:g} mm/mV   filter: {content.filter_caption()}   "
        f"shown: {content.t0:.1f}-{t1:.1f} s of {rec.duration:.1f} s   paper: {page.paper}"
    )
    if page.note:
        left += f"   ({page.note})"
    _text(p, k, f.x, f.y + 2.8, left, 6.5, colour=GREY)
    _text(
        p,
        k,
        f.x,
        f.y + 6.0,
        "NOT A DIAGNOSTIC DEVICE: anomaly scores support review by a qualified clinician "
        "and do not replace it.",
        6.8,
        bold=True,
    )
    stamp = f"ecgviewer {APP_VERSION}"
    m = content.model
    if m:  # which model scored it, to the weights' hash (the anomaly block has no room)
        stamp += f" · model {m.get('name', '?')} {m.get('version', '')}".rstrip()
        sha = str(m.get("sha256", ""))
        if sha:
            stamp += f" (sha256 {sha[:12]})"
    stamp += f" · printed {datetime.now():%Y-%m-%d %H:%M}"
    _text(  # on the first line, right: on Letter it overprinted the bold line below
        p,
        k,
        f.x,
        f.y + 2.8,
        stamp,
        6.5,
        colour=GREY,
        w=f.w,
        align=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom,
    )


__all__ = ["export_pdf", "export_png", "paint_report", "print_report", "render_image"]
