"""Report page geometry: both paper sizes hold the 10 s 3x4 + rhythm grid at true scale."""

from __future__ import annotations

import re

import pytest

from ecgviewer.record import STANDARD_LEADS
from ecgviewer.report.page import PAPER_SIZES, report_page


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_grid_fits_the_paper_at_25mm_s_10mm_mv(paper):
    page = report_page(list(STANDARD_LEADS), paper)
    w, h = PAPER_SIZES[paper]
    assert (page.width, page.height) == (w, h)
    assert page.speed == 25.0 and page.gain == 10.0 and page.note == ""
    g = page.grid
    assert g.x >= 4.0 and g.right <= w - 4.0  # printers need a few mm of margin
    assert page.header.y >= 4.0 and page.footer.bottom <= h - 4.0
    assert g.w % 5 == 0 and g.h % 5 == 0  # whole 5 mm squares
    # 3 rows of 4 leads + a rhythm strip: 13 cells; each 2.5 s cell is 62.5 mm at 25 mm/s.
    cells = page.geometry.cells
    assert len(cells) == 13 and sum(c.rhythm for c in cells) == 1
    short = [c for c in cells if not c.rhythm]
    assert all((c.t1 - c.t0) * page.speed == pytest.approx(62.5) for c in short)
    rhythm = next(c for c in cells if c.rhythm)
    assert rhythm.lead == "II" and page.x_of(rhythm.x0 + 250.0) <= g.right
    assert page.y_of(rhythm.y_bottom) <= g.bottom + 1e-9


def test_ISO_and_ANSI_sizes():
    assert PAPER_SIZES["A4"] == (297.0, 210.0)
    assert PAPER_SIZES["Letter"] == pytest.approx((11 * 25.4, 8.5 * 25.4))


def test_unknown_paper_is_refused():
    with pytest.raises(ValueError):
        report_page(list(STANDARD_LEADS), "A3")


def test_two_lead_record_falls_back_to_stacked_rows():
    page = report_page(["I", "II"], "A4")
    assert [c.lead for c in page.geometry.cells] == ["I", "II"]
    assert "standard leads" in page.note


def test_the_header_measurements_fit_its_seven_lines_with_p_apart_from_pr():
    """Seven lines: rate, P, PR, QRS, QT, QTc, axes (the method is on the median-beat page);
    "PR 157 ms (P 109 ms, cart-style 81)" read as a cart-style PR of 81 ms."""
    from ecgviewer.record import Record
    from ecgviewer.report.page import from_result
    from ecgviewer.signal.synthetic import synthetic_ecg

    s = synthetic_ecg(fs=500, duration=10, seed=1)
    content = from_result(Record(s.signal, s.fs, list(s.leads)))
    names = [name for name, _ in content.measurements]
    assert names[1:] == ["P", "PR", "QRS", "QT", "QTc B/F", "Axes"] and len(names) == 7
    text = dict(content.measurements)
    assert "(LUDB-style" in text["P"] and "LUDB-style" not in text["PR"]
    assert re.fullmatch(r"\d+/\d+ ms \(LUDB-style \d+/\d+\)", text["QTc B/F"])
