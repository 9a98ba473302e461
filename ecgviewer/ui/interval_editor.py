"""The interval editor: drag the global fiducials on the median beat, intervals recompute live.

As in the ECG management systems' interval editors, the reader sees the machine's median beat
(one lead, or all leads overlaid) with a vertical line at each global fiducial (P on/off, QRS
on/off, T end). Dragging a line recomputes PR, QRS, QT and QTc at once
(:func:`ecgviewer.signal.fiducials.intervals_from_fiducials`); releasing it saves the reader's
value (one audited action) with the machine's kept beside it. A line dragged into an
impossible order is refused: the message says why and the line goes back.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ecgviewer.analysis.reader_beat import MachineBeat
from ecgviewer.errors import ECGError
from ecgviewer.review.reading import Reading, Readings
from ecgviewer.signal.fiducials import (
    FIDUCIALS,
    NAMES,
    FiducialOrderError,
    intervals_from_fiducials,
)

_COLOURS = {
    "p_onset": "#1f77b4",
    "p_offset": "#1f77b4",
    "qrs_onset": "#d62728",
    "qrs_offset": "#d62728",
    "t_end": "#2ca02c",
}
_ROWS = (
    ("P", "p_duration"),
    ("PR", "pr"),
    ("QRS", "qrs"),
    ("QT", "qt"),
    ("QTc Bazett", "qtc_bazett"),
    ("QTc Fridericia", "qtc_fridericia"),
    ("RR", "rr"),
)
ALL_LEADS = "all leads"


class IntervalEditor(QWidget):
    """Median beat with draggable fiducial lines and a live machine/reader interval table.

    ``save`` (fiducials in s) -> Reading is called when a drag ends; it raises ECGError to
    refuse, and the line then returns to its last saved place.
    """

    edited = Signal(object)  # Reading, after a saved drag

    def __init__(
        self,
        beat: MachineBeat,
        reading: Reading | None,
        save: Any = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.beat = beat
        self.save = save
        # The machine values kept with the reading win: they are what the reader edited.
        stored = dict(reading.machine_fiducials) if reading is not None else {}
        self.machine = stored or dict(beat.fiducials)
        self.saved = {**self.machine, **(dict(reading.reader_fiducials) if reading else {})}
        self.rr_ms = (reading.rr_ms if reading and reading.rr_ms else None) or beat.rr_ms

        self.lead_box = QComboBox()
        self.lead_box.addItems([ALL_LEADS, *beat.leads])
        if "II" in beat.leads:
            self.lead_box.setCurrentText("II")
        self.lead_box.currentTextChanged.connect(self._plot_beat)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setLabel("bottom", "time from R peak", units="ms")
        self.plot.setLabel("left", "mV")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setMinimumSize(620, 360)
        self.lines: dict[str, pg.InfiniteLine] = {}
        for name in FIDUCIALS:
            if name not in self.saved:
                continue  # the machine did not find it: nothing to drag
            line = pg.InfiniteLine(
                pos=1000 * self.saved[name],
                angle=90,
                movable=True,
                pen=pg.mkPen(_COLOURS[name], width=2),
                hoverPen=pg.mkPen("#ff7f0e", width=3),
                label=NAMES[name],
                labelOpts={
                    "position": 0.95 if "offset" not in name else 0.85,
                    "color": _COLOURS[name],
                    "fill": (255, 255, 255, 200),
                },
            )
            line.sigPositionChanged.connect(self._live)
            line.sigPositionChangeFinished.connect(lambda _l, name=name: self._finished(name))
            self.plot.addItem(line)
            self.lines[name] = line

        self.table = QTableWidget(len(_ROWS), 3)
        self.table.setHorizontalHeaderLabels(["", "machine", "reader"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setColumnWidth(0, 105)
        self.table.setColumnWidth(1, 85)
        self.table.setColumnWidth(2, 85)
        self.table.setMinimumWidth(300)
        self.table.setMinimumHeight(26 * (len(_ROWS) + 1) + 6)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c00000")
        self.reset_button = QPushButton("Reset to machine values")
        self.reset_button.clicked.connect(self.reset)

        side = QVBoxLayout()
        top = QHBoxLayout()
        top.addWidget(QLabel("Lead:"))
        top.addWidget(self.lead_box, 1)
        side.addLayout(top)
        side.addWidget(self.table)
        side.addWidget(self.message)
        side.addWidget(self.reset_button)
        side.addStretch(1)
        box = QHBoxLayout(self)
        box.addWidget(self.plot, 1)
        box.addLayout(side)
        self._plot_beat()
        self._live()

    # -------------------------------------------------------------- public
    def positions(self) -> dict[str, float]:
        """The lines' current times in seconds from the R peak."""
        return {name: round(line.value() / 1000.0, 4) for name, line in self.lines.items()}

    def move(self, name: str, t_s: float, finish: bool = True) -> None:
        """Move a line as a drag would (tests and keyboard use)."""
        self.lines[name].setValue(1000.0 * t_s)
        if finish:
            self._finished(name)

    def reset(self) -> None:
        for name, line in self.lines.items():
            line.blockSignals(True)
            line.setValue(1000.0 * self.machine[name])
            line.blockSignals(False)
        self._commit(None)

    # -------------------------------------------------------------- internals
    def _plot_beat(self, *_args: object) -> None:
        for item in list(self.plot.listDataItems()):
            self.plot.removeItem(item)
        if self.beat.beat is None:
            return
        t = self.beat.times_ms()
        which = self.lead_box.currentText()
        rows = range(len(self.beat.leads)) if which == ALL_LEADS else [self.beat.leads.index(which)]
        for i in rows:
            pen = pg.mkPen((0, 0, 0) if which != ALL_LEADS else (90, 90, 90, 120), width=1.5)
            self.plot.plot(t, np.asarray(self.beat.beat[i], dtype=float), pen=pen)

    def _live(self, *_args: object) -> None:
        """Recompute while dragging; an impossible order is shown, never saved."""
        try:
            mine = intervals_from_fiducials(self.positions(), self.rr_ms)
            self.message.clear()
        except FiducialOrderError as exc:
            self.message.setText(f"{exc}: this position will not be kept")
            mine = None
        machine = intervals_from_fiducials(self.machine, self.rr_ms)
        for row, (label, key) in enumerate(_ROWS):
            m = machine.get(key)
            r = None if mine is None else mine.get(key)
            self.table.setItem(row, 0, QTableWidgetItem(label))
            self.table.setItem(row, 1, QTableWidgetItem("–" if m is None else f"{m:.0f} ms"))
            cell = QTableWidgetItem("–" if r is None else f"{r:.0f} ms" + ("*" if r != m else ""))
            if r is not None and r != m:
                font = cell.font()
                font.setBold(True)
                cell.setFont(font)
                cell.setForeground(Qt.GlobalColor.darkRed)
            self.table.setItem(row, 2, cell)

    def _finished(self, name: str) -> None:
        self._commit(name)

    def _commit(self, name: str | None) -> None:
        positions = self.positions()
        try:
            intervals_from_fiducials(positions, self.rr_ms)
            reading = self.save(positions) if self.save is not None else None
        except (FiducialOrderError, ECGError) as exc:
            text = exc.problem if isinstance(exc, ECGError) else str(exc)
            if "unchanged" not in text:
                self._snap_back()
                self.message.setText(f"Refused: {text}")
            return
        self.saved = positions
        self._live()
        if reading is not None:
            self.edited.emit(reading)

    def _snap_back(self) -> None:
        for name, line in self.lines.items():
            line.blockSignals(True)
            line.setValue(1000.0 * self.saved[name])
            line.blockSignals(False)
        self._live()


class IntervalEditorDialog(QDialog):
    """The editor bound to the review store: each finished drag is one audited action."""

    def __init__(
        self,
        beat: MachineBeat,
        readings: Readings,
        content_hash: str,
        reader: Any,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Interval editor — drag P, QRS and T boundaries")
        self.readings, self.content_hash, self.reader = readings, content_hash, reader
        reading = readings.get(content_hash)
        self.editor = IntervalEditor(beat, reading, save=self._save, parent=self)
        hint = QLabel(
            "Drag a line; the intervals recompute as you drag and are saved as yours "
            "when you let go (the machine's stay beside them). Esc closes."
        )
        hint.setWordWrap(True)
        box = QVBoxLayout(self)
        box.addWidget(hint)
        box.addWidget(self.editor, 1)
        self.resize(1000, 520)

    def _save(self, fiducials: dict[str, float]) -> Reading:
        reader = self.reader() if callable(self.reader) else str(self.reader)
        return self.readings.edit_fiducials(
            self.content_hash,
            reader,
            fiducials,
            machine=self.editor.machine,
            rr_ms=self.editor.rr_ms,
        )
