"""Geometry and content of the one-page paper report, Qt-free.

The traces are placed by the same :func:`ecgviewer.paper.layouts.compute_page` the viewer uses
(a Qt-free module), so the printed 3x4 + rhythm layout is the one on screen. Everything here is
in millimetres on a landscape page, y downwards from the top edge, at true scale: 25 mm/s and
10 mm/mV by default. A4 (297 x 210 mm) and US Letter (279.4 x 215.9 mm) both hold the 10 s,
4-row grid (261 x 160 mm) with a header and footer; a gain whose rows do not fit is halved
until they do and the footer says so (never a silently wrong scale).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ecgviewer.paper.heat import band_map, heat_scale
from ecgviewer.paper.layouts import PAGE_SECONDS, PageGeometry, compute_page
from ecgviewer.paper.page import CellDrawing, PageData, build_page, draw_cells
from ecgviewer.record import Record
from ecgviewer.result import Finding, findings_of
from ecgviewer.review.store import Review

log = logging.getLogger(__name__)

#: Landscape paper sizes in mm (ISO 216 A4; ANSI US Letter 8.5 x 11 in).
PAPER_SIZES: dict[str, tuple[float, float]] = {"A4": (297.0, 210.0), "Letter": (279.4, 215.9)}
MARGIN = 5.0
HEADER_H = 30.0
FOOTER_H = 8.0


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


@dataclass(frozen=True)
class ReportPage:
    """Where everything goes on the page (mm, y down)."""

    paper: str
    width: float
    height: float
    header: Rect
    grid: Rect  # the paper grid, whole 5 mm squares
    footer: Rect
    geometry: PageGeometry  # lead cells, in the viewer's coordinates (mm, y up, x from 0)
    speed: float
    gain: float
    note: str = ""

    def x_of(self, x_cell_mm: float) -> float:
        """Page x of a layout x (layout x = 0 is the start of the traces)."""
        return self.grid.x + self.geometry.margin_left + x_cell_mm

    def y_of(self, y_layout_mm: float) -> float:
        """Page y (down) of a layout y (up, 0 at the top row's top edge)."""
        return self.grid.y - y_layout_mm


def report_page(
    leads: list[str],
    paper: str = "A4",
    speed: float = 25.0,
    gain: float = 10.0,
    layout: str = "3x4",
    page_seconds: float = PAGE_SECONDS,
) -> ReportPage:
    """Lay out a one-page report for a record with ``leads``.

    Raises
    ------
    ValueError
        Unknown paper name.
    """
    if paper not in PAPER_SIZES:
        raise ValueError(f"paper must be one of {sorted(PAPER_SIZES)}, got {paper!r}")
    width, height = PAPER_SIZES[paper]
    avail_h = height - 2 * MARGIN - HEADER_H - FOOTER_H
    avail_w = width - 2 * MARGIN
    note = ""
    geometry = compute_page(layout, leads, page_seconds, speed, gain)
    while geometry.top - geometry.bottom > avail_h and gain > 2.5:
        gain /= 2
        geometry = compute_page(layout, leads, page_seconds, speed, gain)
        note = f"gain reduced to {gain:g} mm/mV to fit the page"
    grid_w = _ceil5(geometry.margin_left + geometry.width)
    if grid_w > avail_w:
        raise ValueError(f"{page_seconds:g} s at {speed:g} mm/s does not fit on {paper}")
    grid_h = geometry.top - geometry.bottom
    grid = Rect(MARGIN + (avail_w - grid_w) / 2, MARGIN + HEADER_H, grid_w, grid_h)
    header = Rect(MARGIN, MARGIN, avail_w, HEADER_H - 2.0)
    footer = Rect(MARGIN, grid.bottom + 1.5, avail_w, FOOTER_H - 1.5)
    if geometry.note:
        note = "; ".join(n for n in (geometry.note, note) if n)
    return ReportPage(paper, width, height, header, grid, footer, geometry, speed, gain, note)


def report_cells(content: ReportContent, page: ReportPage) -> tuple[PageData, list[CellDrawing]]:
    """The printed page's model: the same :func:`ecgviewer.paper.page.build_page` (display
    filter with the viewer's padding, overlay slices) and per-cell drawing (clipping, heat
    bins and shading) as the screen, at the report's threshold and opacity."""
    data = build_page(
        content.record,
        content.t0,
        page.geometry.width / page.speed,
        content.display_filter,
        content,
        content.heat_scale,
    )
    return data, draw_cells(
        data, page.geometry, page.speed, page.gain, content.threshold, content.opacity
    )


def _ceil5(x: float) -> float:
    return float(np.ceil(x / 5.0 - 1e-9) * 5.0)


@dataclass
class ReportContent:
    """What one report shows, gathered on the GUI side and painted by ``report.render``.

    ``anomaly_map`` rows follow ``record.leads`` (as the Detector returns it); ``t0`` is the
    first second printed (the report shows ``page_seconds`` from there).
    """

    record: Record
    score: float | None = None
    percentile: float | None = None
    anomaly_map: np.ndarray | None = None
    model: dict[str, Any] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    findings: list[Finding] = field(default_factory=list)  # the model's, most unusual first
    parts: dict[str, float] = field(default_factory=dict)  # the score's parts (ScoreResult.parts)
    #: measurements far from normal ECGs (ScoreResult.measure_z)
    measure_z: dict[str, float] = field(default_factory=dict)
    review: Review | None = None
    reading: Any = None  # ecgviewer.review.reading.Reading: sign-off, statements, reader's values
    measurements: list[tuple[str, str]] = field(default_factory=list)
    display_filter: Any = None  # ecgviewer.signal.filters.DisplayFilter, applied when printed
    t0: float = 0.0
    title: str = "12-lead ECG"
    # The heat band as on screen (ViewState threshold/opacity, overlay.heat_scale).
    heat_scale: float = 1.0
    threshold: float = 0.5
    opacity: float = 0.4
    # Page 2: median beats (ecgviewer.signal.intervals.Measurements of the printed strip);
    # page 3 when a previous ECG of the patient is given: the serial comparison.
    median: Any = None
    previous: Record | None = None
    previous_median: Any = None

    def filter_caption(self) -> str:
        f = self.display_filter
        return "unfiltered" if f is None else str(f.describe(self.record.fs))

    @property
    def verdict(self) -> str:
        """Plain words for the percentile, the viewer's own wording."""
        from ecgviewer.wording import verdict

        return verdict(self.percentile, self.flags) if self.score is not None else "not scored"


def from_result(record: Record, result: Any = None, **kw: Any) -> ReportContent:
    """Build the content from a Record and a Detector result (any object with its fields)."""
    content = ReportContent(record, **kw)
    if result is not None:
        content.score = _opt(getattr(result, "score", None))
        content.percentile = _opt(getattr(result, "percentile", None))
        amap = band_map(result)
        content.anomaly_map = None if amap is None else np.asarray(amap, dtype=np.float32)
        content.model = dict(getattr(result, "model", None) or {})
        content.flags = tuple(sorted(getattr(result, "flags", None) or ()))
        content.findings = findings_of(result)
        content.parts = dict(getattr(result, "parts", None) or {})
        content.measure_z = dict(getattr(result, "measure_z", None) or {})
        content.heat_scale = heat_scale(result)
    if content.median is None:
        content.median = _median(record, content.t0)
    if not content.measurements:  # the same strip's measurements: made once, not twice
        content.measurements = measure(record, content.t0, measured=content.median)
    if content.previous is not None and content.previous_median is None:
        content.previous_median = _median(content.previous, 0.0)
    if content.reading is not None:
        from ecgviewer.report.reading_block import with_reader_measurements

        content.measurements = with_reader_measurements(content.measurements, content.reading)
    return content


def _median(record: Record, t0: float) -> Any:
    """Median beats and measurements of the printed strip, or None when it cannot be cut."""
    from ecgviewer.signal.intervals import measure as measure_record

    try:
        return measure_record(record.slice(t0, t0 + PAGE_SECONDS))
    except Exception:  # noqa: BLE001 - the ECG page still prints without the median page
        return None


def _opt(v: Any) -> float | None:
    return None if v is None else float(v)


def measure(
    record: Record, t0: float = 0.0, seconds: float = PAGE_SECONDS, measured: Any = None
) -> list[tuple[str, str]]:
    """Heart rate, RR and intervals for the printed page, or why they are unavailable.

    Intervals come from ``ecgviewer.signal.intervals`` when that module is present (or from
    ``measured``, its Measurements of the same strip when already made); heart rate and RR
    from the R-peak detector.
    """
    from ecgviewer.signal.calibration import ecg_end

    out: list[tuple[str, str]] = []
    end = ecg_end(record)  # not a cart's calibration pulse after the ECG (no beat)
    if end is not None and t0 < end / record.fs < t0 + seconds:
        seconds = end / record.fs - t0
    try:
        page = record.slice(t0, t0 + seconds)
    except Exception as exc:  # noqa: BLE001 - a report must still print without numbers
        return [("Measurements", f"unavailable ({exc})")]
    data = page.data()
    ecg_rows = [i for i, name in enumerate(page.leads) if name not in page.non_ecg]
    lead = page.leads.index("II") if "II" in page.leads else None
    from ecgviewer.signal.rpeaks import detect_r_peaks

    peaks = detect_r_peaks(
        data[ecg_rows], page.fs, lead=ecg_rows.index(lead) if lead in ecg_rows else None
    )
    from ecgviewer.signal.intervals import heart_rate_stats  # the viewer's formula

    stats = heart_rate_stats(peaks, page.fs)
    if stats.mean_bpm is not None and stats.rr_mean_ms is not None:
        # The rate and RR of the measurements the median-beat page prints, when given: its
        # beats were found on the whole strip, and page 1 read 85 bpm where page 2 read 84.
        bpm = getattr(measured, "heart_rate_bpm", None) or stats.mean_bpm
        rr = getattr(measured, "rr_ms", None) or stats.rr_mean_ms
        out.append(
            (
                "HR",
                f"{bpm:.0f} bpm, RR {rr:.0f} ± "
                f"{stats.rr_sd_ms or 0.0:.0f} ms ({stats.n_beats} beats)",
            )
        )
    else:
        out.append(("Heart rate", "unavailable (fewer than 2 R peaks)"))
    out.extend(_intervals(page, peaks, measured))
    return out


def _intervals(page: Record, peaks: np.ndarray, res: Any = None) -> list[tuple[str, str]]:
    """PR, QRS, QT, QTc from ``ecgviewer.signal.intervals`` (the viewer's numbers), each with
    the reason when unavailable, and how they were measured (``res``: already measured)."""
    if res is None:
        try:
            from ecgviewer.signal.intervals import measure_signal
        except ImportError:
            return [("PR / QRS / QT", "unavailable (interval measurement not installed)")]
        try:
            ecg = [i for i, name in enumerate(page.leads) if name not in page.non_ecg]
            res = measure_signal(page.data()[ecg], page.fs, [page.leads[i] for i in ecg], peaks)
        except Exception as exc:  # noqa: BLE001 - the page still prints, saying why
            return [("PR / QRS / QT", f"unavailable ({exc})")]
    reasons = getattr(res, "reasons", {}) or {}

    from ecgviewer.signal.intervals import with_cart_style

    cart_style = getattr(res, "cart_style", None) or {}
    # The acquiring cart's own values beside ours on the page that is filed (they were on
    # the median-beat page only, and a cart-style 100 ms stood unexplained by the cart's 135).
    carts = getattr(getattr(page, "cart", None), "measurements", None) or {}

    def cart_of(key: str) -> str:
        theirs = carts.get(key)
        return "" if theirs is None else f" · cart {float(theirs):.0f}"

    def value(name: str) -> str:
        v = getattr(res, f"{name}_ms", None)
        cart = cart_of(name)
        if v is None or not np.isfinite(float(v)):
            why = reasons.get(name) or reasons.get(f"{name}_ms")
            return (f"unavailable ({why})" if why else "unavailable") + cart
        narrow = cart_style.get(name)
        shown = with_cart_style(f"{float(v):.0f}", None if narrow is None else f"{narrow:.0f}")
        return shown + cart

    out = [("P", value("p_duration")), ("PR", value("pr")), ("QRS", value("qrs"))]
    out.append(("QT", value("qt")))
    qtc = [getattr(res, f"qtc_{k}_ms", None) for k in ("bazett", "fridericia")]
    if all(v is None or not np.isfinite(float(v)) for v in qtc):
        out.append(("QTc", "unavailable"))
    else:
        shown = "/".join("-" if v is None else f"{float(v):.0f}" for v in qtc)
        narrow = [cart_style.get(f"qtc_{k}") for k in ("bazett", "fridericia")]
        cart_like = (
            "/".join("-" if v is None else f"{v:.0f}" for v in narrow)
            if any(v is not None for v in narrow)
            else None
        )
        out.append(("QTc B/F", with_cart_style(shown, cart_like) + cart_of("qtc")))
    axes = [getattr(res, f"{k}_axis_deg", None) for k in ("p", "qrs", "t")]
    out.append(("Axes", " / ".join("-" if a is None else f"{a:.0f}°" for a in axes) + " (P/QRS/T)"))
    # The method is printed in full on the median-beat page (the header holds 7 lines).
    return out
