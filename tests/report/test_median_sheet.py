"""The median-beat and comparison pages: painted true scale, in the PDF after the ECG."""

from __future__ import annotations

import numpy as np
import pypdf
import pytest

from ecgviewer.record import Patient, Record
from ecgviewer.report import render
from ecgviewer.report.page import from_result
from ecgviewer.signal.synthetic import synthetic_ecg


def _rec(hr: float, seed: int, pid: str = "P-1") -> Record:
    ecg = synthetic_ecg(fs=500.0, hr=hr, seed=seed)
    return Record(ecg.signal, 500.0, list(ecg.leads), patient=Patient(id=pid))


def test_pdf_has_median_and_comparison_pages(tmp_path, qapp) -> None:
    content = from_result(_rec(70.0, 1), previous=_rec(55.0, 2))
    path = render.export_pdf(content, tmp_path / "r.pdf")
    reader = pypdf.PdfReader(str(path))
    assert len(reader.pages) == 3
    median = " ".join(reader.pages[1].extract_text().split())
    compare = " ".join(reader.pages[2].extract_text().split())
    assert "Median beats" in median and "P axis" in median and "ST J" in median
    assert "Serial comparison" in compare and "Heart rate" in compare
    assert "previous" in compare


def test_median_page_shows_the_carts_values_beside_ours(tmp_path, qapp) -> None:
    from ecgviewer.record import CartReading

    rec = _rec(70.0, 1)
    rec.cart = CartReading(measurements={"qrs": 97.0, "pr": 151.0}, source="Test cart")
    path = render.export_pdf(from_result(rec), tmp_path / "r.pdf")
    page = " ".join(pypdf.PdfReader(str(path)).pages[1].extract_text().split())
    assert "cart" in page and "97" in page and "151" in page


def test_median_beat_drawn_true_scale(qapp) -> None:
    """A 1 mV R wave is 10 mm tall on the page (10 mm/mV)."""
    from PySide6.QtGui import QColor, QImage, QPainter

    from ecgviewer.report import median_sheet as sheet
    from ecgviewer.signal.intervals import measure

    rec = _rec(60.0, 3)
    m = measure(rec)
    k = 10.0  # px per mm
    img = QImage(int(sheet.PAGE_W * k), int(sheet.PAGE_H * k), QImage.Format.Format_RGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    p.scale(k, k)
    sheet.paint_median_beats(p, k, sheet.QRectF(10, 16, 180, 160), m)
    p.end()
    # Lead II cell: column 0, row 1 (3 rows: cells 53.3 mm high); below its name, the only
    # near-black pixels are the trace.
    top = 16 + 160 / 3 + sheet.LABEL_ROOM_MM
    cell = img.copy(int(10 * k), int(top * k), int(45 * k), int((160 / 3 - 4.5) * k))
    rows = [
        y
        for y in range(cell.height())
        if any(max(cell.pixelColor(x, y).getRgb()[:3]) < 90 for x in range(0, cell.width(), 2))
    ]
    i = list(m.beats.leads).index("II")
    beat = m.beats.beats[i].astype(float)
    on = m.fiducials["qrs_onset"]
    iso = float(beat[int(on) - 6 : int(on) - 1].mean())
    t = (np.arange(beat.size) - on) / m.beats.fs
    shown = beat[(t >= -sheet.BEFORE_QRS_S) & (t <= sheet.AFTER_QRS_S)] - iso
    expected_mm = (shown.max() - shown.min()) * 10.0
    assert abs((max(rows) - min(rows)) / k - expected_mm) < 1.0


@pytest.mark.needs_shared
@pytest.mark.parametrize(
    "name", ["hl7_example_mortara_eli250.xml", "philips_ad4d3d80_converted.xml"]
)
def test_our_median_beats_match_the_carts_own(fixtures_dir, name: str) -> None:
    """The carts' representative beats stored in their HL7 files (overlaid on the median
    page): ours, aligned on QRS onset, have the same shape over -100..+400 ms."""
    from ecgviewer.io import read
    from ecgviewer.report.median_sheet import cart_beats
    from ecgviewer.signal.intervals import measure

    rec = read(fixtures_dir / "hl7aecg" / name)
    m = measure(rec)
    cart = cart_beats(rec)
    assert cart is not None and cart.beats.fs == m.beats.fs
    lo, hi = int(0.1 * m.beats.fs), int(0.4 * m.beats.fs)
    ours_on, cart_on = int(m.fiducials["qrs_onset"]), int(cart.fiducials["qrs_onset"])
    corr = []
    for lead in m.beats.leads:
        a = m.beats.beats[m.beats.leads.index(lead), ours_on - lo : ours_on + hi]
        b = cart.beats.beats[cart.beats.leads.index(lead), cart_on - lo : cart_on + hi]
        corr.append(np.corrcoef(a, b)[0, 1])
    assert np.median(corr) > 0.95 and min(corr) > 0.8, np.round(corr, 3)
    # and their QRS onsets, found the same way on both, agree (alignment is meaningful)
    assert (
        abs((m.fiducials["qrs_offset"] - ours_on) - (cart.fiducials["qrs_offset"] - cart_on)) <= 10
    )


def test_a_change_that_rounds_to_nothing_prints_as_zero() -> None:
    from ecgviewer.report.median_sheet import _signed

    assert _signed("{:.0f}", -0.3) == "0"  # not "-0"
    assert _signed("{:.0f}", 0.4) == "0"  # not "+0"
    assert _signed("{:.0f}", 4.0) == "+4"
    assert _signed("{:.0f}", -12.0) == "-12"
    assert _signed("{:.2f}", -0.004) == "0.00"
    assert _signed("{:.2f}", 0.05) == "+0.05"


@pytest.mark.parametrize("up_mm, down_mm", [(5.0, 30.0), (25.0, 3.0), (0.0, 0.0), (12.0, 12.0)])
def test_a_beat_that_fits_its_cell_is_placed_inside_it(qapp, up_mm: float, down_mm: float) -> None:
    """The baseline goes where the whole beat fits below the lead's name (a QS of -3 mV in V2
    was cut at -1.6 mV when every baseline sat 0.6 of the way down)."""
    from ecgviewer.report import median_sheet as sheet

    cell = sheet.QRectF(10, 16, 44, 53.3)
    heights = np.array([-up_mm, 0.0, down_mm])  # paper y grows downwards
    base = sheet._baseline_in(cell, [heights])
    assert base - up_mm >= cell.top() + sheet.LABEL_ROOM_MM - 1e-9
    assert base + down_mm <= cell.bottom() + 1e-9


def test_a_beat_taller_than_its_cell_is_cut_and_marked(qapp) -> None:
    """What cannot fit is cut at the cell's edge with a mark there, not silently."""
    from PySide6.QtGui import QColor, QImage, QPainter

    from ecgviewer.report import median_sheet as sheet

    k = 10.0
    cell = sheet.QRectF(5, 5, 40, 30)
    xs = np.linspace(10, 30, 50)
    ys = np.full(50, 20.0)
    ys[25] = 50.0  # 15 mm below the cell
    img = QImage(int(50 * k), int(60 * k), QImage.Format.Format_RGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    p.scale(k, k)
    sheet._mark_cut(p, xs, ys, cell, QColor("black"))
    p.end()
    x_px, y_px = int(xs[25] * k), int((cell.bottom() - 0.5) * k)
    assert max(img.pixelColor(x_px, y_px).getRgb()[:3]) < 90  # the mark, on the bottom edge
    assert max(img.pixelColor(x_px, int(10 * k)).getRgb()[:3]) > 200  # nothing elsewhere


def test_a_long_reason_wraps_in_the_table_instead_of_being_cut(qapp):
    """'— (irregular rhythm without a consistent P wave (atrial fibrillation?))' was cut at
    '(…' in the measurement table: the cell now wraps, its row taller."""
    from PySide6.QtGui import QImage, QPainter

    from ecgviewer.report.median_sheet import _cell_lines, paint_table

    reason = "— (irregular rhythm without a consistent P wave (atrial fibrillation?))"
    lines = _cell_lines(reason, 50)
    assert len(lines) == 2 and " ".join(x.strip() for x in lines) == reason
    assert _cell_lines("128 ms", 50) == ["128 ms"]
    image = QImage(200, 200, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    try:
        short = paint_table(painter, 1.0, 0, 0, [["P", "128 ms"]], (22, 62))
        long = paint_table(painter, 1.0, 0, 0, [["P", reason]], (22, 62))
    finally:
        painter.end()
    assert long == pytest.approx(2 * short)
