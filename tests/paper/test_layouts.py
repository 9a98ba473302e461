"""Page geometry of the standard layouts (Qt-free)."""

from __future__ import annotations

import pytest

from ecgviewer.paper.layouts import GRID_3X4, STANDARD_ORDER, compute_page


def test_3x4_has_twelve_cells_plus_a_lead_ii_rhythm_strip():
    page = compute_page("3x4", list(STANDARD_ORDER), 10.0, 25.0, 10.0)
    assert len(page.cells) == 13
    rhythm = [c for c in page.cells if c.rhythm]
    assert len(rhythm) == 1 and rhythm[0].lead == "II"
    assert (rhythm[0].t0, rhythm[0].t1) == (0.0, 10.0)
    # Columns are consecutive 2.5 s segments, as printed: x / speed is the time in the page.
    for row, names in enumerate(GRID_3X4):
        for col, name in enumerate(names):
            cell = next(c for c in page.cells if c.lead == name and not c.rhythm)
            assert (cell.row, cell.col) == (row, col)
            assert cell.t0 == pytest.approx(2.5 * col)
            assert cell.x0 == pytest.approx(cell.t0 * 25.0)
    assert page.width == pytest.approx(250.0)


@pytest.mark.parametrize("gain", [5.0, 10.0, 20.0])
@pytest.mark.parametrize("layout", ["3x4", "6x2", "12x1"])
def test_baselines_sit_on_major_grid_lines(layout, gain):
    page = compute_page(layout, list(STANDARD_ORDER), 10.0, 25.0, gain)
    for cell in page.cells:
        assert cell.baseline % 5.0 == pytest.approx(0.0)
        # a normal 1.5 mV QRS fits in the band at this gain
        assert cell.height >= min(1.5 * gain, 20.0)


def test_6x2_and_12x1_cell_counts():
    assert len(compute_page("6x2", list(STANDARD_ORDER), 10.0, 25.0, 10.0).cells) == 12
    page = compute_page("12x1", list(STANDARD_ORDER), 10.0, 50.0, 10.0)
    assert len(page.cells) == 12 and page.width == pytest.approx(500.0)
    assert all(c.t1 == 10.0 for c in page.cells)


def test_records_without_12_leads_fall_back_to_stacked_and_say_so():
    page = compute_page("3x4", ["II", "V5"], 10.0, 25.0, 10.0)
    assert [c.lead for c in page.cells] == ["II", "V5"]
    assert "needs the 12 standard leads" in page.note


def test_enlarged_lead_is_alone_and_cell_lookup():
    page = compute_page("3x4", list(STANDARD_ORDER), 10.0, 25.0, 10.0, enlarged="V2")
    assert [c.lead for c in page.cells] == ["V2"]
    page = compute_page("3x4", list(STANDARD_ORDER), 10.0, 25.0, 10.0)
    v2 = page.cell_showing("V2", 6.0)
    assert v2 is not None and v2.lead == "V2"
    assert page.cell_showing("V2", 1.0) is None
    assert page.cell_at(v2.x0 + 1.0, v2.baseline) == v2
