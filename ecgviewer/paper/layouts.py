"""Where each lead goes on the paper: the standard layouts as plain geometry (millimetres).

Qt-free on purpose: the view, the tests and the report all place leads the same way. x is in
paper millimetres from the page start (so x / speed is the time within the page in every
layout: the columns of 3x4 and 6x2 are consecutive time segments, as on a printed ECG); y is in
millimetres, upwards, with row 0 at the top (negative y going down the page).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GRID_3X4 = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6"))
GRID_6X2 = (("I", "V1"), ("II", "V2"), ("III", "V3"), ("aVR", "V4"), ("aVL", "V5"), ("aVF", "V6"))
STANDARD_ORDER = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
PAGE_SECONDS = 10.0  # one standard ECG page; longer records are paged


@dataclass(frozen=True)
class Cell:
    """One lead segment on the page."""

    lead: str
    row: int
    col: int
    t0: float  # seconds from the page start
    t1: float
    x0: float  # mm, left edge (x0 = t0 * speed)
    baseline: float  # mm, the 0 mV line
    height: float  # mm, the row's band (baseline is its middle)
    rhythm: bool = False  # the long strip under a 3x4 grid

    def x_of(self, t_page: float, speed: float) -> float:
        return self.x0 + (t_page - self.t0) * speed

    def contains_time(self, t_page: float) -> bool:
        return self.t0 <= t_page < self.t1

    @property
    def y_top(self) -> float:
        return self.baseline + self.height / 2

    @property
    def y_bottom(self) -> float:
        return self.baseline - self.height / 2


@dataclass(frozen=True)
class PageGeometry:
    """All cells of one page plus the paper extent (mm)."""

    cells: tuple[Cell, ...]
    width: float  # content width (page seconds * speed)
    top: float
    bottom: float
    margin_left: float  # room for the calibration pulses, left of x = 0
    speed: float = 25.0  # mm/s used to place the cells
    note: str = ""  # why a layout fell back (shown in the status bar)

    def cells_for(self, lead: str) -> list[Cell]:
        return [c for c in self.cells if c.lead == lead]

    def cell_at(self, x: float, y: float) -> Cell | None:
        """The cell under a point (mm), or None outside every row."""
        for cell in self.cells:
            x1 = cell.x0 + (cell.t1 - cell.t0) * self.speed
            if cell.y_bottom <= y <= cell.y_top and cell.x0 <= x < x1:
                return cell
        for cell in self.cells:  # in the left margin: the row's first cell
            if cell.y_bottom <= y <= cell.y_top and cell.col == 0:
                return cell
        return None

    def cell_showing(self, lead: str, t_page: float) -> Cell | None:
        """The cell that draws ``lead`` at ``t_page`` seconds (rhythm strip last)."""
        hits = [c for c in self.cells if c.lead == lead and c.contains_time(t_page)]
        hits.sort(key=lambda c: c.rhythm)
        return hits[0] if hits else None


def row_height_mm(layout: str, gain: float) -> float:
    """Band per row: enough for a normal QRS without the rows feeling sparse."""
    mv = {"3x4": 4.0, "6x2": 3.0, "12x1": 2.0, "single": 6.0}.get(layout, 2.0)
    # A multiple of 10 mm puts every baseline on a 5 mm (major) grid line.
    return max(20.0, math.ceil(mv * gain / 10.0) * 10.0)


def compute_page(
    layout: str,
    leads: list[str],
    page_seconds: float,
    speed: float,
    gain: float,
    enlarged: str | None = None,
) -> PageGeometry:
    """Cells for ``layout`` ("3x4", "6x2", "12x1") given the record's leads.

    The grid layouts need the 12 standard leads; a record without them (2-lead Holter, EEG
    with one ECG channel) falls back to all its leads stacked, and ``note`` says so. A lead
    can be shown alone (``enlarged``): one full-page row with a taller band.
    """
    width = page_seconds * speed
    margin = 0.2 * speed + 6.0  # 200 ms calibration pulse plus room on both sides
    have = set(leads)
    note = ""
    if enlarged is not None and enlarged in have:
        layout_key = "single"
        grid: tuple[tuple[str, ...], ...] = ((enlarged,),)
        rhythm = None
    elif layout in ("3x4", "6x2") and all(name in have for name in STANDARD_ORDER):
        layout_key = layout
        grid = GRID_3X4 if layout == "3x4" else GRID_6X2
        rhythm = ("II" if "II" in have else leads[0]) if layout == "3x4" else None
        extra = [n for n in leads if n not in STANDARD_ORDER]
        if extra:
            note = f"not in this layout: {', '.join(extra)} (see 12x1)"
    else:
        if layout in ("3x4", "6x2"):
            note = f"{LAYOUT_NAMES.get(layout, layout)} needs the 12 standard leads: leads stacked"
        layout_key = "12x1"
        ordered = [n for n in STANDARD_ORDER if n in have] + [
            n for n in leads if n not in STANDARD_ORDER
        ]
        grid = tuple((name,) for name in ordered)
        rhythm = None
    h = row_height_mm(layout_key, gain)
    cells: list[Cell] = []
    for r, row in enumerate(grid):
        n = len(row)
        seg = page_seconds / n
        base = -(r + 0.5) * h
        for c, name in enumerate(row):
            cells.append(Cell(name, r, c, c * seg, (c + 1) * seg, c * seg * speed, base, h))
    n_rows = len(grid)
    if rhythm is not None:
        base = -(n_rows + 0.5) * h
        cells.append(Cell(rhythm, n_rows, 0, 0.0, page_seconds, 0.0, base, h, rhythm=True))
        n_rows += 1
    return PageGeometry(tuple(cells), width, 0.0, -n_rows * h, margin, speed, note)


LAYOUT_NAMES = {"3x4": "3x4 + II rhythm", "6x2": "6x2", "12x1": "12x1"}


def page_layout_name(page: PageGeometry, requested: str) -> str:
    """What the page shows, in words: the requested layout unless it fell back."""
    if len({c.lead for c in page.cells}) == 1 and len(page.cells) == 1:
        return f"lead {page.cells[0].lead} alone"
    if page.note and "stacked" in page.note:
        return "leads stacked"
    return LAYOUT_NAMES.get(requested, requested)
