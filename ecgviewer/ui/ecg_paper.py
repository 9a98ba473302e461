"""Custom graphics items of the paper: the grid, calibration pulses, the anomaly heat band.

All live in paper millimetres (the view's coordinates), so the grid and the traces share one
scale by construction. Items are pre-rendered into a ``QPicture`` once per geometry change and
painted with one call; ``boundingRect`` is exact so pyqtgraph's culling and auto-range work.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPicture

from ecgviewer.paper.heat import HEAT_LEVELS, bin_max, heat_alpha, heat_runs
from ecgviewer.paper.layouts import PageGeometry

__all__ = ["HeatBand", "HeatBandItem", "PaperGridItem", "PaperMarksItem", "bin_max"]

# Z order, back to front (named, never magic numbers scattered in the code).
Z_GRID = -100
Z_HEAT = -50
Z_HIGHLIGHT = -40
Z_MARKS = -10
Z_GHOST = 5
Z_TRACE = 10
Z_LABEL = 20
Z_CALIPER = 30


def _pen(rgba: tuple[int, ...], width: float = 0.0) -> QPen:
    pen = QPen(QColor(*rgba))
    pen.setCosmetic(True)  # width in pixels whatever the zoom: 1 px lines stay crisp
    pen.setWidthF(width)
    return pen


class _PictureItem(pg.GraphicsObject):
    """A GraphicsObject that paints a pre-rendered QPicture inside a known rectangle."""

    def __init__(self) -> None:
        super().__init__()
        self._picture = QPicture()
        self._rect = QRectF()

    def _set_picture(self, picture: QPicture, rect: QRectF) -> None:
        self.prepareGeometryChange()
        self._picture = picture
        self._rect = rect
        self.update()

    def boundingRect(self) -> QRectF:  # Qt's name
        return QRectF(self._rect)

    def paint(self, painter: QPainter, *args: object) -> None:  # Qt's name
        painter.drawPicture(0, 0, self._picture)


class PaperGridItem(_PictureItem):
    """ECG paper: 1 mm minor and 5 mm major lines over a rectangle in millimetres.

    The rectangle is snapped outwards to whole 5 mm squares so the lines fall on exact
    multiples of 1 mm and 5 mm, the same coordinates the traces use (baseline on a major line).
    """

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(Z_GRID)
        self.minor_visible = True

    def set_paper(
        self, rect: QRectF, minor: tuple[int, ...], major: tuple[int, ...], show_minor: bool = True
    ) -> None:
        key = (rect.getRect(), tuple(minor), tuple(major), show_minor)
        if key == getattr(self, "_key", None):
            return  # same paper: keep the picture (a result or a page change redraws often)
        self._key = key
        x0 = np.floor(rect.left() / 5.0) * 5.0
        x1 = np.ceil(rect.right() / 5.0) * 5.0
        y0 = np.floor(rect.top() / 5.0) * 5.0
        y1 = np.ceil(rect.bottom() / 5.0) * 5.0
        picture = QPicture()
        painter = QPainter(picture)
        for step_is_major, pen in ((False, _pen(minor)), (True, _pen(major))):
            if not step_is_major and not show_minor:
                continue
            painter.setPen(pen)
            lines = []
            for x in np.arange(x0, x1 + 0.5, 1.0):
                if (round(x) % 5 == 0) == step_is_major:
                    lines.append(QLineF(x, y0, x, y1))
            for y in np.arange(y0, y1 + 0.5, 1.0):
                if (round(y) % 5 == 0) == step_is_major:
                    lines.append(QLineF(x0, y, x1, y))
            painter.drawLines(lines)
        painter.end()
        self.minor_visible = show_minor
        self._set_picture(picture, QRectF(x0, y0, x1 - x0, y1 - y0))


class PaperMarksItem(_PictureItem):
    """Calibration pulses (1 mV high, 200 ms wide at the current scale) at the start of each
    row, and the short vertical ticks printed between the columns of a 3x4 / 6x2 page."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(Z_MARKS)
        self.pulses: list[QRectF] = []  # for tests: each pulse's rectangle (mm)

    def set_geometry(
        self, page: PageGeometry, speed: float, gain: float, rgba: tuple[int, ...]
    ) -> None:
        picture = QPicture()
        painter = QPainter(picture)
        painter.setPen(_pen(rgba, 1.5))
        width = 0.2 * speed  # 200 ms
        height = 1.0 * gain  # 1 mV
        self.pulses = []
        rows = sorted({c.baseline for c in page.cells}, reverse=True)
        left = -page.margin_left + 2.0
        for base in rows:
            path = QPainterPath(QPointF(left, base))
            path.lineTo(left + 1.0, base)
            path.lineTo(left + 1.0, base + height)
            path.lineTo(left + 1.0 + width, base + height)
            path.lineTo(left + 1.0 + width, base)
            path.lineTo(left + 2.0 + width, base)
            painter.drawPath(path)
            self.pulses.append(QRectF(left + 1.0, base, width, height))
        for cell in page.cells:
            if cell.col > 0:
                painter.drawLine(QLineF(cell.x0, cell.baseline - 3.0, cell.x0, cell.baseline + 3.0))
        painter.end()
        rect = QRectF(
            -page.margin_left, page.bottom, page.margin_left + page.width, page.top - page.bottom
        )
        self._set_picture(picture, rect)


class HeatBandItem(_PictureItem):
    """The painted part of a :class:`HeatBand`: one filled rectangle per run of bins with the
    same (quantised) opacity; transparent bins cost nothing to paint, unlike an image whose
    every pixel is blended."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(Z_HEAT)


class HeatBand:
    """Translucent per-sample anomaly colour under one trace segment.

    The map is binned to about 0.5 mm of paper (maximum per bin, so a one-sample peak is never
    averaged away); each bin's opacity rises from 0 at the threshold to the chosen opacity at
    full scale. Threshold and opacity only repaint, the geometry stays.
    """

    LEVELS = HEAT_LEVELS  # opacity steps: runs of equal steps merge into one rectangle

    def __init__(self) -> None:
        self.item = HeatBandItem()
        self.values = np.zeros(1, dtype=np.float32)  # map values per bin (already binned)
        self.rect = QRectF()
        self.alpha = np.zeros(1, dtype=np.uint8)  # per-bin opacity 0-255 after render()

    def set_values(self, values: np.ndarray, rect: QRectF) -> None:
        self.values = np.asarray(values, dtype=np.float32)
        self.rect = QRectF(rect)

    def render(
        self, colour: tuple[int, int, int], scale: float, threshold: float, opacity: float
    ) -> None:
        """Alpha rises from 0 at ``threshold * scale`` to ``opacity`` at ``scale``."""
        self.alpha = heat_alpha(self.values, scale, threshold, opacity)
        picture = QPicture()
        painter = QPainter(picture)
        painter.setPen(Qt.PenStyle.NoPen)
        bin_w = self.rect.width() / max(1, self.alpha.size)
        for a, b, alpha in heat_runs(self.alpha):
            painter.fillRect(
                QRectF(
                    self.rect.left() + a * bin_w,
                    self.rect.top(),
                    (b - a) * bin_w,
                    self.rect.height(),
                ),
                QColor(colour[0], colour[1], colour[2], alpha),
            )
        painter.end()
        self.item._set_picture(picture, QRectF(self.rect))

    def visible_span(self) -> tuple[float, float]:
        """x extent (mm) of the bins with non-zero alpha, for tests; (nan, nan) if none."""
        idx = np.flatnonzero(self.alpha)
        if idx.size == 0:
            return float("nan"), float("nan")
        bin_w = self.rect.width() / self.alpha.size
        return self.rect.left() + idx[0] * bin_w, self.rect.left() + (idx[-1] + 1) * bin_w
