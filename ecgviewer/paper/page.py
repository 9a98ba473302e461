"""The page model, Qt-free: what one page of ECG paper shows, for the screen and for print.

:func:`build_page` cuts one page out of a record the one way both outputs use: the ECG leads
read with :data:`PAD_S` of padding each side, through the clinician's display filter (edge
transients fall outside the page; a paged record is never filtered whole), with the model's
map and restored signal sliced alongside. :func:`draw_cells` then gives, per layout cell, the
trace in millimetres (clipped to its band, as paper clips) and the heat band's opacity bins.
The viewer (``ui/lead_plot.py``) and the report (``report/render.py``) paint exactly these.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ecgviewer.paper.heat import band_map, heat_alpha, heat_bins
from ecgviewer.paper.layouts import Cell, PageGeometry
from ecgviewer.record import Record

if TYPE_CHECKING:  # scipy.signal takes ~1 s to import: not before the first paint
    from ecgviewer.signal.filters import DisplayFilter

log = logging.getLogger(__name__)

__all__ = [
    "PAD_S",
    "CellDrawing",
    "PageData",
    "build_page",
    "cell_samples",
    "clip_to_cell",
    "clipped_runs",
    "draw_cells",
    "heat_band_rect",
    "page_bounds",
]

PAD_S = 1.0  # filter padding each side of a page


@dataclass
class PageData:
    """What one page shows: display-filtered samples plus the optional overlay, all sliced to
    the page and aligned sample for sample with ``signal``."""

    leads: list[str]
    signal: np.ndarray  # float32 mV (n_leads, n_page)
    fs: float
    page_start: float  # seconds from the record start
    derived: tuple[str, ...] = ()
    anomaly: np.ndarray | None = None  # (n_leads, n_page) model map
    restored: np.ndarray | None = None  # (n_leads, n_page) mV expected-normal signal
    heat_scale: float = 1.0  # map value drawn at full opacity
    filter_failed: bool = False  # display filter could not run: the raw signal is shown
    record_seconds: float = 0.0  # the whole recording's length (the ruler's format)
    row_of: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.row_of = {name: i for i, name in enumerate(self.leads)}

    @property
    def page_seconds(self) -> float:
        return self.signal.shape[1] / self.fs


def page_bounds(record: Record, page_start: float, page_seconds: float) -> tuple[int, int]:
    """Sample range ``a:b`` of the page (at least one sample)."""
    a = max(0, int(round(page_start * record.fs)))
    b = min(record.n_samples, a + int(round(page_seconds * record.fs)))
    return a, max(a + 1, b)


def build_page(
    record: Record,
    page_start: float,
    page_seconds: float,
    display_filter: DisplayFilter | None,
    result: Any | None = None,
    heat_scale: float = 1.0,
) -> PageData:
    """Samples of the ECG leads for one page, filtered for display, plus overlay slices.

    ``display_filter`` is a :class:`ecgviewer.signal.filters.DisplayFilter` (or None);
    ``result`` anything with ``anomaly_map`` / ``restored`` aligned to ``record.signal``
    (a Detector result, a report's content).
    """
    leads = record.ecg_leads
    rows = [record.leads.index(name) for name in leads]
    a, b = page_bounds(record, page_start, page_seconds)
    pad = int(round(PAD_S * record.fs)) if display_filter is not None else 0
    pa, pb = max(0, a - pad), min(record.n_samples, b + pad)
    raw = np.asarray(record.signal[:, pa:pb], dtype=np.float32)[rows]
    filter_failed = False
    if display_filter is not None:
        try:
            raw = display_filter.apply(raw, record.fs)
        except Exception:  # a filter problem must not hide the ECG: show it unfiltered
            # (seen: scipy >= 1.17 checks isinstance(x, torch.Tensor) and fails while
            # another thread is still importing torch; the window retries shortly)
            log.exception("display filter failed; showing the unfiltered signal")
            filter_failed = True
    signal = np.ascontiguousarray(raw[:, a - pa : a - pa + (b - a)])
    anomaly = restored = None
    if result is not None:
        amap = band_map(result)  # the calibrated finding map when the model has one
        rest = getattr(result, "restored", None)
        if amap is not None and np.shape(amap)[1] == record.n_samples:
            anomaly = np.asarray(amap[:, a:b], dtype=np.float32)[rows]
        if rest is not None and np.shape(rest)[1] == record.n_samples:
            restored = np.asarray(rest[:, a:b], dtype=np.float32)[rows]
            if display_filter is not None:
                # Filter the ghost the same way as the trace so the two are comparable.
                try:
                    full = np.nan_to_num(np.asarray(rest[:, pa:pb], dtype=np.float32)[rows])
                    restored = display_filter.apply(full, record.fs)[:, a - pa : a - pa + (b - a)]
                except Exception:
                    log.exception("display filter failed on the restored signal")
    return PageData(
        list(leads),
        signal,
        record.fs,
        a / record.fs,
        derived=tuple(record.derived_leads),
        anomaly=anomaly,
        restored=restored,
        heat_scale=heat_scale,
        filter_failed=filter_failed,
        record_seconds=record.duration,
    )


def cell_samples(cell: Cell, data: PageData) -> tuple[int, int]:
    """Sample range of ``data`` drawn in ``cell``."""
    n = data.signal.shape[1]
    a = min(n, max(0, int(round(cell.t0 * data.fs))))
    b = min(n, max(a, int(round(cell.t1 * data.fs))))
    return a, b


def clip_to_cell(mv: np.ndarray, cell: Cell, gain: float) -> np.ndarray:
    """Samples limited to the cell's band, as a printed ECG clips at the paper's edge: a
    large QRS never runs into the next row or off the paper."""
    half = cell.height / 2.0 / gain  # mV from the baseline to the band's edge
    return np.clip(mv, -half, half)


def clipped_runs(mv: np.ndarray, cell: Cell, gain: float) -> list[tuple[int, int]]:
    """``(first sample, +1 above / -1 below)`` of each run of samples that
    :func:`clip_to_cell` cuts, so that a cut wave can be marked at the cell's edge: a 2 mV R
    wave in a 20 mm row otherwise reads as a flat-topped 1 mV one."""
    half = cell.height / 2.0 / gain
    out: list[tuple[int, int]] = []
    for sign, beyond in ((1, mv > half), (-1, mv < -half)):
        starts = np.flatnonzero(beyond & ~np.concatenate([[False], beyond[:-1]]))
        out += [(int(k), sign) for k in starts]
    return sorted(out)


def heat_band_rect(cell: Cell, speed: float, gain: float) -> tuple[float, float, float, float]:
    """``(x, y_bottom, width, height)`` in layout mm (y up) of a cell's heat band: around the
    baseline, at most +-1.5 mV high (it marks where, not how much)."""
    width = (cell.t1 - cell.t0) * speed
    half = min(cell.height * 0.45, 1.5 * gain)
    return cell.x0, cell.baseline - half, width, 2 * half


@dataclass(frozen=True)
class CellDrawing:
    """One cell as painted: the trace in mV after clipping (x step ``speed / fs`` mm from
    ``cell.x0``), the heat band's rectangle and per-bin opacity (None without a map), and
    where the trace was cut at the cell's edge (:func:`clipped_runs`)."""

    cell: Cell
    trace: np.ndarray
    heat_rect: tuple[float, float, float, float]
    heat_bins: np.ndarray | None
    heat_alpha: np.ndarray | None
    cut: list[tuple[int, int]] = field(default_factory=list)


def draw_cells(
    data: PageData, page: PageGeometry, speed: float, gain: float, threshold: float, opacity: float
) -> list[CellDrawing]:
    """Every cell of ``page`` as the screen and the paper paint it."""
    out = []
    for cell in page.cells:
        row = data.row_of[cell.lead]
        a, b = cell_samples(cell, data)
        rect = heat_band_rect(cell, speed, gain)
        bins = alpha = None
        if data.anomaly is not None:
            bins = heat_bins(data.anomaly[row, a:b], rect[2])
            alpha = heat_alpha(bins, data.heat_scale, threshold, opacity)
        out.append(
            CellDrawing(
                cell,
                clip_to_cell(data.signal[row, a:b], cell, gain),
                rect,
                bins,
                alpha,
                clipped_runs(data.signal[row, a:b], cell, gain),
            )
        )
    return out
