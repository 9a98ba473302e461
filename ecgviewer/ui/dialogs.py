"""Small dialogs: screen calibration, sampling rate for bare arrays, picking one ECG of many."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ecgviewer.record import RecordEntry

CALIBRATION_MM = 50.0


class _RulerLine(QWidget):
    """A horizontal line meant to be CALIBRATION_MM long at the current pixels per mm."""

    def __init__(self, px_per_mm: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.px_per_mm = px_per_mm
        self.setMinimumHeight(40)

    def sizeHint(self) -> QSize:
        return QSize(int(CALIBRATION_MM * self.px_per_mm) + 40, 40)

    def paintEvent(self, event) -> None:  # Qt's name
        p = QPainter(self)
        p.setPen(QPen(QColor(0, 0, 0), 2))
        length = CALIBRATION_MM * self.px_per_mm
        x0, y = 20.0, self.height() / 2
        p.drawLine(int(x0), int(y), int(x0 + length), int(y))
        p.drawLine(int(x0), int(y - 10), int(x0), int(y + 10))
        p.drawLine(int(x0 + length), int(y - 10), int(x0 + length), int(y + 10))
        p.end()


class CalibrationDialog(QDialog):
    """The user measures the drawn line with a ruler; we rescale pixels per mm to match."""

    def __init__(self, px_per_mm: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Calibrate screen scale")
        self.px_per_mm = px_per_mm
        box = QVBoxLayout(self)
        box.addWidget(
            QLabel(
                f"Hold a ruler against the screen and measure the line below.\n"
                f"It should be {CALIBRATION_MM:g} mm long. Enter what you measure."
            )
        )
        box.addWidget(_RulerLine(px_per_mm))
        form = QFormLayout()
        self.measured = QDoubleSpinBox()
        self.measured.setRange(5.0, 500.0)
        self.measured.setDecimals(1)
        self.measured.setSuffix(" mm")
        self.measured.setValue(CALIBRATION_MM)
        form.addRow("Measured length", self.measured)
        box.addLayout(form)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        box.addWidget(buttons)

    def calibrated_px_per_mm(self) -> float:
        """If the line measured L mm, the screen has px_per_mm * 50 / L pixels per real mm."""
        return calibrated_px_per_mm(self.px_per_mm, self.measured.value())


def calibrated_px_per_mm(current: float, measured_mm: float) -> float:
    return current * CALIBRATION_MM / measured_mm


class SamplingRateDialog(QDialog):
    """Bare arrays (.npy/.csv) carry no rate: ask for it."""

    def __init__(self, path: str, default: float = 500.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sampling rate")
        box = QVBoxLayout(self)
        label = QLabel(f"{path}\nholds samples without a sampling rate. Enter it:")
        label.setWordWrap(True)
        box.addWidget(label)
        self.rate = QDoubleSpinBox()
        self.rate.setRange(25.0, 20000.0)
        self.rate.setDecimals(1)
        self.rate.setSuffix(" Hz")
        self.rate.setValue(default)
        box.addWidget(self.rate)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        box.addWidget(buttons)


class RecordPickerDialog(QDialog):
    """A file with many ECGs: choose one (the worklist offers more)."""

    def __init__(self, entries: list[RecordEntry], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{len(entries)} ECGs in this file")
        self.resize(520, 420)
        box = QVBoxLayout(self)
        self.list = QListWidget()
        for i, entry in enumerate(entries):
            bits = [entry.label or entry.key]
            if entry.patient.age is not None:
                bits.append(f"age {entry.patient.age:g}")
            if entry.patient.sex:
                bits.append(entry.patient.sex)
            if entry.start:
                bits.append(entry.start.strftime("%Y-%m-%d %H:%M"))
            item = QListWidgetItem("  ·  ".join(bits))
            item.setData(Qt.ItemDataRole.UserRole, i)
            self.list.addItem(item)
        if entries:
            self.list.setCurrentRow(0)
        self.list.itemDoubleClicked.connect(lambda *_: self.accept())
        box.addWidget(self.list)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        box.addWidget(buttons)

    def selected_index(self) -> int:
        return self.list.currentRow()
