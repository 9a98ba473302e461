"""The ECG paper view: one pyqtgraph plot in paper millimetres holding every lead of a page.

One ``PlotDataItem`` per lead segment, created once (pooled) and updated with ``setData``; the
segment's place and scale on the paper are its item transform (x: samples -> mm at the paper
speed, y: mV -> mm at the gain), so no sample is copied to move a lead. The paper grid, the
calibration pulses, heat bands and ghost traces share the same millimetre coordinates. The
aspect ratio is locked (1 mm is square) and "true scale" maps 1 mm of paper to 1 mm of screen
using the calibrated pixels per millimetre.
"""

from __future__ import annotations

import logging

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QKeyEvent, QTransform
from PySide6.QtWidgets import QGraphicsRectItem

from ecgviewer.paper.heat import HEAT_BIN_MM, heat_bins
from ecgviewer.paper.layouts import Cell, PageGeometry, compute_page
from ecgviewer.paper.page import (
    PageData,
    cell_samples,
    clip_to_cell,
    clipped_runs,
    heat_band_rect,
)
from ecgviewer.ui.ecg_paper import (
    Z_GHOST,
    Z_HIGHLIGHT,
    Z_LABEL,
    Z_TRACE,
    HeatBand,
    PaperGridItem,
    PaperMarksItem,
)
from ecgviewer.ui.state import LIGHT, PAGE_SECONDS, Theme
from ecgviewer.wording import elapsed_text

log = logging.getLogger(__name__)

#: The expected-normal trace is drawn 2 px wide under the 1 px trace, so it stays visible
#: at true scale even where it matches the ECG.
GHOST_WIDTH_PX = 2

__all__ = ["HEAT_BIN_MM", "LeadPlotWidget", "PageData", "TimeAxisItem"]


class TimeAxisItem(pg.AxisItem):
    """Time axis (top) in seconds of the record, over paper millimetres."""

    def __init__(self) -> None:
        # On top: the page is anchored at the top-left of the view, so the axis sits right
        # against the first row whatever the window height (at the bottom it floated far
        # below a true-scale page).
        super().__init__("top")
        self.speed = 25.0
        self.page_start = 0.0
        self.page_width = PAGE_SECONDS * 25.0

    def configure(
        self, speed: float, page_start: float, page_width: float, long: bool = False
    ) -> None:
        self.speed = speed
        self.page_start = page_start
        self.page_width = page_width
        self.long = long  # a long recording: h:mm:ss like the overview strip
        self.setTickSpacing(major=speed * 1.0, minor=speed * 0.2)  # 1 s and 200 ms
        self.picture = None
        self.update()

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        out = []
        for v in values:
            if v < -1e-6 or v > self.page_width + 1e-6:
                out.append("")
            else:
                out.append(
                    elapsed_text(
                        self.page_start + v / self.speed, long=getattr(self, "long", False)
                    )
                )
        return out


class LeadPlotWidget(pg.PlotWidget):
    """All leads of one page on ECG paper, with zoom/pan, enlarge-on-double-click, overlay."""

    lead_double_clicked = Signal(str)
    scale_changed = Signal(float)  # zoom factor relative to true scale (1.0 = true scale)
    page_requested = Signal(int)  # +1 next page, -1 previous page

    def __init__(self, parent=None) -> None:
        self.mode = "true"  # "true" scale, "fit" to window, or "free" (the user zoomed/panned)
        self.fit_to_window = False  # the user's choice: fit the page instead of true scale
        self.time_axis = TimeAxisItem()
        super().__init__(parent, axisItems={"top": self.time_axis})
        self.theme: Theme = LIGHT
        self.px_per_mm = 96 / 25.4
        self.speed = 25.0
        self.gain = 10.0
        self.layout_name = "3x4"
        self.enlarged: str | None = None
        self.page: PageGeometry | None = None
        self.data: PageData | None = None
        self.show_overlay = True
        self.show_ghost = True
        self.threshold = 0.5
        self.opacity = 0.4
        self._curves: list[pg.PlotDataItem] = []
        self._ghosts: list[pg.PlotDataItem] = []
        self._labels: list[pg.TextItem] = []
        self._heat: list[HeatBand] = []
        self._label_font = QFont()
        self._label_font.setBold(True)
        self._label_font.setPointSizeF(10.0)
        self.visible_cells: list[Cell] = []  # cell of each used curve, in pool order

        item = self.getPlotItem()
        item.hideAxis("left")
        item.hideAxis("bottom")
        item.showAxis("top")
        self.time_axis.setLabel("time from start")
        item.setMenuEnabled(False)
        item.hideButtons()
        self.vb = item.getViewBox()
        self.vb.setAspectLocked(True, ratio=1.0)
        self.vb.disableAutoRange()
        self.vb.setDefaultPadding(0.0)
        self.grid = PaperGridItem()
        self.marks = PaperMarksItem()
        self.addItem(self.grid, ignoreBounds=True)
        self.addItem(self.marks, ignoreBounds=True)
        # Where a trace is cut at its cell's edge: a triangle there, pointing the way it goes.
        self.clip_marks = pg.ScatterPlotItem(pxMode=True, size=8, pen=None)
        self.clip_marks.setZValue(Z_HIGHLIGHT)
        self.addItem(self.clip_marks, ignoreBounds=True)
        self.highlight = QGraphicsRectItem()
        self.highlight.setZValue(Z_HIGHLIGHT)
        self.highlight.setVisible(False)
        self.addItem(self.highlight, ignoreBounds=True)
        self.vb.sigRangeChangedManually.connect(self._on_manual_range)
        self.vb.sigRangeChanged.connect(lambda *_: self.scale_changed.emit(self.zoom_factor()))
        self.scene().sigMouseClicked.connect(self._on_click)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.apply_theme(LIGHT)

    # ------------------------------------------------------------------ configuration
    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setBackground(QColor(*theme.background))
        self.time_axis.setPen(pg.mkPen(theme.label))
        self.time_axis.setTextPen(pg.mkPen(theme.label))
        brush = QColor(*theme.highlight)
        brush.setAlpha(50)
        self.highlight.setBrush(QBrush(brush))
        self.highlight.setPen(pg.mkPen(theme.highlight, width=2))
        if self.page is not None:
            self.rebuild()

    def configure(self, *, layout: str, speed: float, gain: float, enlarged: str | None) -> None:
        self.layout_name, self.speed, self.gain, self.enlarged = layout, speed, gain, enlarged

    def set_page_data(self, data: PageData | None) -> None:
        self.data = data
        self.rebuild()

    # ------------------------------------------------------------------ drawing
    def rebuild(self) -> None:
        """Lay out the page again (layout, scale, record or theme changed)."""
        self.highlight.setVisible(False)
        data = self.data
        if data is None:
            for pool in (self._curves, self._ghosts, self._labels):
                for it in pool:
                    it.setVisible(False)
            for band in self._heat:
                band.item.setVisible(False)
            self.clip_marks.setData([])
            self.page = None
            self.visible_cells = []
            return
        page = compute_page(
            self.layout_name, data.leads, data.page_seconds, self.speed, self.gain, self.enlarged
        )
        self.page = page
        self.visible_cells = list(page.cells)
        paper = QRectF(
            -page.margin_left,
            page.bottom,
            page.margin_left + page.width + 5.0,
            page.top - page.bottom,
        )
        self.grid.set_paper(paper, self.theme.grid_minor, self.theme.grid_major)
        self.marks.set_geometry(page, self.speed, self.gain, self.theme.marks)
        self.time_axis.configure(
            self.speed, data.page_start, page.width, long=data.record_seconds >= 60.0
        )
        self._ensure_pool(len(page.cells))
        spots: list[dict[str, object]] = []
        for i, cell in enumerate(page.cells):
            row = data.row_of[cell.lead]
            a, b = self._sample_range(cell, data)
            for k, sign in clipped_runs(data.signal[row, a:b], cell, self.gain):
                spots.append(
                    {
                        "pos": (
                            cell.x0 + k * self.speed / data.fs,
                            cell.baseline + sign * cell.height / 2,
                        ),
                        "symbol": "t1" if sign > 0 else "t",
                    }
                )
            curve = self._curves[i]
            curve.setData(self._clip_to_cell(data.signal[row, a:b], cell))
            curve.setTransform(self._transform(cell, data))
            curve.setPen(pg.mkPen(self.theme.trace, width=1))
            curve.setVisible(True)
            label = self._labels[i]
            text = cell.lead + (" (derived)" if cell.lead in data.derived else "")
            label.setText(text, color=self.theme.label)
            label.setPos(cell.x0 + 1.0, cell.y_top - 0.5)
            label.setVisible(True)
        self.clip_marks.setData(spots, brush=pg.mkBrush(self.theme.highlight))
        for pool in (self._curves, self._ghosts, self._labels):
            for it in pool[len(page.cells) :]:
                it.setVisible(False)
        for band in self._heat[len(page.cells) :]:
            band.item.setVisible(False)
        self._update_overlay_items()
        self.apply_scale_mode()

    def _clip_to_cell(self, mv: np.ndarray, cell: Cell) -> np.ndarray:
        """Samples limited to the cell's band (:func:`ecgviewer.paper.page.clip_to_cell`)."""
        return clip_to_cell(mv, cell, self.gain)

    def _transform(self, cell: Cell, data: PageData) -> QTransform:
        """Samples -> paper mm: x at the paper speed from the cell's left edge, y at the gain
        from its baseline."""
        return QTransform(self.speed / data.fs, 0.0, 0.0, self.gain, cell.x0, cell.baseline)

    def set_overlay_data(
        self, anomaly: np.ndarray | None, restored: np.ndarray | None, heat_scale: float
    ) -> None:
        """A model result arrived (or was cleared): update heat bands and ghosts only, not the
        traces, grid or labels (keeps the GUI thread short when scoring ends)."""
        if self.data is None:
            return
        self.data.anomaly, self.data.restored, self.data.heat_scale = anomaly, restored, heat_scale
        self._update_overlay_items()

    def _update_overlay_items(self) -> None:
        data, page = self.data, self.page
        if data is None or page is None:
            return
        for i, cell in enumerate(page.cells):
            row = data.row_of[cell.lead]
            a, b = self._sample_range(cell, data)
            ghost = self._ghosts[i]
            if data.restored is not None:
                ghost.setData(self._clip_to_cell(data.restored[row, a:b], cell))
                ghost.setTransform(self._transform(cell, data))
                ghost.setPen(pg.mkPen(self.theme.ghost, width=GHOST_WIDTH_PX))
            ghost.setVisible(data.restored is not None and self.show_ghost and self.show_overlay)
            band = self._heat[i]
            x, y, width, height = heat_band_rect(cell, self.speed, self.gain)
            if data.anomaly is not None:
                band.set_values(
                    heat_bins(data.anomaly[row, a:b], width), QRectF(x, y, width, height)
                )
            band.item.setVisible(data.anomaly is not None and self.show_overlay)
        self.render_heat()

    def _sample_range(self, cell: Cell, data: PageData) -> tuple[int, int]:
        return cell_samples(cell, data)

    def _ensure_pool(self, n: int) -> None:
        while len(self._curves) < n:
            curve = pg.PlotDataItem(antialias=False)
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            curve.setSkipFiniteCheck(True)
            curve.setZValue(Z_TRACE)
            self.addItem(curve, ignoreBounds=True)
            self._curves.append(curve)
            ghost = pg.PlotDataItem(antialias=False)
            ghost.setDownsampling(auto=True, method="peak")
            ghost.setClipToView(True)
            ghost.setSkipFiniteCheck(True)
            ghost.setZValue(Z_GHOST)
            self.addItem(ghost, ignoreBounds=True)
            self._ghosts.append(ghost)
            label = pg.TextItem(anchor=(0, 0))
            label.setFont(self._label_font)
            label.setZValue(Z_LABEL)
            self.addItem(label, ignoreBounds=True)
            self._labels.append(label)
            band = HeatBand()
            self.addItem(band.item, ignoreBounds=True)
            self._heat.append(band)

    def render_heat(self) -> None:
        """Recolour the heat bands (threshold, opacity, theme) without touching geometry."""
        data = self.data
        if data is None or data.anomaly is None or self.page is None:
            return
        for band in self._heat[: len(self.page.cells)]:
            band.render(self.theme.heat, data.heat_scale, self.threshold, self.opacity)
            band.item.setVisible(self.show_overlay)

    def set_overlay_options(
        self, *, show: bool, ghost: bool, threshold: float, opacity: float, apply: bool = True
    ) -> None:
        """Overlay switches and sliders; ``apply=False`` only stores them (a rebuild follows)."""
        self.show_overlay, self.show_ghost = show, ghost
        self.threshold, self.opacity = threshold, opacity
        if not apply or self.page is None or self.data is None:
            return
        n = len(self.page.cells)
        for band in self._heat[:n]:
            band.item.setVisible(show and self.data.anomaly is not None)
        for g in self._ghosts[:n]:
            g.setVisible(show and ghost and self.data.restored is not None)
        self.render_heat()

    # ------------------------------------------------------------------ accessors for tests
    def curves(self) -> list[pg.PlotDataItem]:
        n = len(self.page.cells) if self.page else 0
        return self._curves[:n]

    def ghosts(self) -> list[pg.PlotDataItem]:
        n = len(self.page.cells) if self.page else 0
        return [g for g in self._ghosts[:n] if g.isVisible()]

    def heat_bands(self) -> list[HeatBand]:
        n = len(self.page.cells) if self.page else 0
        return self._heat[:n]

    def labels(self) -> list[pg.TextItem]:
        n = len(self.page.cells) if self.page else 0
        return self._labels[:n]

    # ------------------------------------------------------------------ view / scale
    def set_px_per_mm(self, value: float) -> None:
        self.px_per_mm = float(value)
        self.apply_scale_mode()

    def set_fit_to_window(self, on: bool) -> None:
        """The user's choice between true scale (default) and the page fitted to the window."""
        self.fit_to_window = bool(on)
        if on:
            self.fit_page()
        else:
            self.reset_view()

    def apply_scale_mode(self) -> None:
        """After a relayout or resize: true scale / fitted page again; a free zoom stays."""
        if self.mode == "true":
            self.reset_view()
        elif self.mode == "fit":
            self.fit_page()

    def is_true_scale(self) -> bool:
        return abs(self.zoom_factor() - 1.0) < 0.02

    def zoom_factor(self) -> float:
        (x0, x1), _ = self.vb.viewRange()
        width_px = max(1.0, self.vb.width())
        return width_px / max(1e-9, (x1 - x0)) / self.px_per_mm

    def reset_view(self) -> None:
        """True scale: 1 mm of paper on 1 mm of screen, top-left of the page in view."""
        self.mode = "true"
        page = self.page
        left, top = (-12.0, 2.0) if page is None else (-page.margin_left - 1.0, page.top + 2.0)
        w_mm = max(1.0, self.vb.width()) / self.px_per_mm
        h_mm = max(1.0, self.vb.height()) / self.px_per_mm
        self.vb.setRange(xRange=(left, left + w_mm), yRange=(top - h_mm, top), padding=0.0)

    def fit_page(self) -> None:
        """Whole page in view (not true scale)."""
        self.mode = "fit"
        if self.page is None:
            return
        p = self.page
        left, top = -p.margin_left - 1.0, p.top + 2.0
        w_px, h_px = max(1.0, self.vb.width()), max(1.0, self.vb.height())
        # the largest scale showing the whole page, anchored top-left like true scale
        ppm = min(w_px / (p.width + p.margin_left + 3.0), h_px / (p.top - p.bottom + 4.0))
        self.vb.setRange(
            xRange=(left, left + w_px / ppm), yRange=(top - h_px / ppm, top), padding=0.0
        )

    def zoom(self, factor: float, center_x: float | None = None) -> None:
        self.mode = "free"
        (x0, x1), (y0, y1) = self.vb.viewRange()
        cx = (x0 + x1) / 2 if center_x is None else center_x
        cy = (y0 + y1) / 2
        self.vb.scaleBy((1 / factor, 1 / factor), center=pg.Point(cx, cy))

    def pan(self, dx_frac: float, dy_frac: float) -> None:
        (x0, x1), (y0, y1) = self.vb.viewRange()
        self.vb.translateBy(x=(x1 - x0) * dx_frac, y=(y1 - y0) * dy_frac)

    def centre_on(self, cell: Cell, t_page: float) -> None:
        """Keep the zoom; when (t, cell) is not fully in view, move the view so it is in the
        middle (a page that is all on screen does not jump)."""
        (x0, x1), (y0, y1) = self.vb.viewRange()
        cx = cell.x_of(t_page, self.speed)
        if x0 <= cx - 5.0 and cx + 5.0 <= x1 and y0 <= cell.y_bottom and cell.y_top <= y1:
            return
        self.vb.setRange(
            xRange=(cx - (x1 - x0) / 2, cx + (x1 - x0) / 2),
            yRange=(cell.baseline - (y1 - y0) / 2, cell.baseline + (y1 - y0) / 2),
            padding=0.0,
        )

    def clear_highlight(self) -> None:
        """No finding box (a whole-ECG finding has no lead and time to frame)."""
        self.highlight.setVisible(False)

    def show_highlight(self, cell: Cell, t0_page: float, t1_page: float) -> QRectF:
        x0 = cell.x_of(max(t0_page, cell.t0), self.speed)
        x1 = cell.x_of(min(t1_page, cell.t1), self.speed)
        rect = QRectF(x0, cell.y_bottom + 1.0, max(0.5, x1 - x0), cell.height - 2.0)
        self.highlight.setRect(rect)
        self.highlight.setVisible(True)
        return rect

    def _on_manual_range(self, *args: object) -> None:
        self.mode = "free"

    def resizeEvent(self, event) -> None:  # Qt's name
        super().resizeEvent(event)
        if getattr(self, "vb", None) is not None:
            self.apply_scale_mode()

    # ------------------------------------------------------------------ input
    def _on_click(self, event) -> None:
        if not event.double() or self.page is None:
            return
        pos = self.vb.mapSceneToView(event.scenePos())
        cell = self.page.cell_at(pos.x(), pos.y())
        if cell is not None:
            event.accept()
            self.lead_double_clicked.emit(cell.lead)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # Qt's name
        key = event.key()
        actions = {
            Qt.Key.Key_Left: lambda: self.pan(-0.1, 0),
            Qt.Key.Key_Right: lambda: self.pan(0.1, 0),
            Qt.Key.Key_Up: lambda: self.pan(0, 0.1),
            Qt.Key.Key_Down: lambda: self.pan(0, -0.1),
            Qt.Key.Key_Plus: lambda: self.zoom(1.25),
            Qt.Key.Key_Equal: lambda: self.zoom(1.25),
            Qt.Key.Key_Minus: lambda: self.zoom(0.8),
            Qt.Key.Key_0: self.reset_view,
            Qt.Key.Key_Home: self.reset_view,
            Qt.Key.Key_PageDown: lambda: self.page_requested.emit(1),
            Qt.Key.Key_PageUp: lambda: self.page_requested.emit(-1),
        }
        action = actions.get(Qt.Key(key))
        if action is None:
            super().keyPressEvent(event)
            return
        action()
        event.accept()
