"""Caliper: two draggable vertical lines with time (ms), rate (bpm) and amplitude (mV) readout.

Works in paper millimetres like everything else on the page: the time between the lines is
their x distance over the paper speed; the amplitude is read from the displayed (filtered)
samples of the lead in the caliper's row at each line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal

from ecgviewer.ui.ecg_paper import Z_CALIPER
from ecgviewer.ui.lead_plot import LeadPlotWidget


@dataclass(frozen=True)
class CaliperReading:
    dt_ms: float
    bpm: float | None
    lead: str | None
    mv_1: float | None
    mv_2: float | None

    def text(self) -> str:
        parts = [f"{self.dt_ms:.0f} ms"]
        if self.bpm is not None:
            parts.append(f"{self.bpm:.0f} bpm")
        if self.lead is not None and self.mv_1 is not None and self.mv_2 is not None:
            parts.append(
                f"{self.lead}: {self.mv_1:+.2f} / {self.mv_2:+.2f} mV "
                f"(Δ {self.mv_2 - self.mv_1:+.2f} mV)"
            )
        return ", ".join(parts)


class CaliperTool(QObject):
    """Two vertical lines on a :class:`LeadPlotWidget`; ``measured`` carries the reading."""

    measured = Signal(object)  # CaliperReading

    def __init__(self, plot: LeadPlotWidget) -> None:
        super().__init__(plot)
        self.plot = plot
        self.row_y = 0.0  # mm: which row the amplitudes are read from
        pen = pg.mkPen(plot.theme.caliper, width=2)
        self.lines = [pg.InfiniteLine(angle=90, movable=True, pen=pen) for _ in range(2)]
        self.label = pg.TextItem(anchor=(0, 1), color=plot.theme.caliper, fill=(255, 255, 255, 200))
        for item in (*self.lines, self.label):
            item.setZValue(Z_CALIPER)
            item.setVisible(False)
            plot.addItem(item, ignoreBounds=True)
        for line in self.lines:
            line.sigPositionChanged.connect(self._update)

    @property
    def active(self) -> bool:
        return self.lines[0].isVisible()

    def set_active(self, on: bool) -> None:
        if on and not self.active:
            (x0, x1), (y0, y1) = self.plot.vb.viewRange()
            cx = (x0 + x1) / 2
            half = 0.4 * self.plot.speed  # 800 ms apart: about one RR interval
            self.row_y = (y0 + y1) / 2
            self.lines[0].setValue(cx - half)
            self.lines[1].setValue(cx + half)
        for item in (*self.lines, self.label):
            item.setVisible(on)
        if on:
            self._update()

    def place(self, x1_mm: float, x2_mm: float, row_y: float) -> None:
        self.row_y = row_y
        self.lines[0].setValue(x1_mm)
        self.lines[1].setValue(x2_mm)
        self._update()

    def reading(self) -> CaliperReading:
        plot = self.plot
        xa, xb = sorted(float(line.value()) for line in self.lines)
        dt_ms = (xb - xa) / plot.speed * 1000.0
        bpm = 60000.0 / dt_ms if dt_ms > 1.0 else None
        lead = None
        values: list[float | None] = []
        for x in (xa, xb):
            v = None
            if plot.page is not None and plot.data is not None:
                cell = plot.page.cell_at(x, self.row_y)
                if cell is not None:
                    lead = cell.lead
                    t = cell.t0 + (x - cell.x0) / plot.speed
                    i = int(round(t * plot.data.fs))
                    row = plot.data.row_of[cell.lead]
                    if 0 <= i < plot.data.signal.shape[1]:
                        v = float(np.asarray(plot.data.signal[row, i]))
            values.append(v)
        return CaliperReading(dt_ms, bpm, lead, values[0], values[1])

    def _update(self, *args: object) -> None:
        reading = self.reading()
        (_, _), (y0, y1) = self.plot.vb.viewRange()
        self.label.setText(reading.text())
        self.label.setPos(
            max(float(line.value()) for line in self.lines) + 1.0, y1 - 0.05 * (y1 - y0)
        )
        self.measured.emit(reading)
