"""Side panels: patient, measurements, anomaly analysis (progress, verdict, overlay controls),
the findings list, and the scrollable column that holds them. Panels only display and emit; the window decides what happens."""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSlider,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ecgviewer import wording
from ecgviewer.record import CART_MEASUREMENT_UNITS, CartReading, Record
from ecgviewer.result import Finding
from ecgviewer.signal.intervals import with_cart_style
from ecgviewer.ui.display import Measurements
from ecgviewer.ui.overlay import flag_texts, model_text, quality_lines, verdict

#: Longest run without a space that a side-panel label shows unbroken.
_UNBROKEN = 16


def _breakable(text: str) -> str:
    """``text`` with a zero-width space every :data:`_UNBROKEN` characters inside longer runs
    without spaces: word wrap breaks only at spaces, and one cart statement line of 66 "="
    (or a long file path) otherwise widened the whole side panel past the window, cutting
    off the verdict."""
    return re.sub(
        rf"\S{{{_UNBROKEN + 1},}}",
        lambda m: "\u200b".join(
            m.group(0)[i : i + _UNBROKEN] for i in range(0, len(m.group(0)), _UNBROKEN)
        ),
        text,
    )


class _ValueLabel(QLabel):
    """A word-wrapped value that asks its form for a new layout when it is given a width
    at which its text needs another height: the QFormLayout in the side column kept the
    height a row had at an earlier width, so a value that came to wrap lost its second line
    (the RR row's "· cart 1440 ms")."""

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        parent = self.parentWidget()
        layout = parent.layout() if parent is not None else None
        if layout is not None and self.heightForWidth(self.width()) > self.height():
            layout.invalidate()


def _value_label() -> QLabel:
    label = _ValueLabel("-")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class PatientPanel(QGroupBox):
    """Name, date of birth, id, age, sex, recording time, device; age and sex editable when
    the file lacks them."""

    patient_edited = Signal(object, object)  # age (float|None), sex ("M"/"F"/None)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Patient", parent)
        form = QFormLayout(self)
        self.name_label = _value_label()
        self.birth_label = _value_label()
        self.id_label = _value_label()
        self.time_label = _value_label()
        self.device_label = _value_label()
        self.source_label = _value_label()
        self.age_edit = QDoubleSpinBox()
        self.age_edit.setRange(-1, 120)
        self.age_edit.setDecimals(0)
        self.age_edit.setSpecialValueText("unknown")
        self.sex_edit = QComboBox()
        self.sex_edit.addItems(["unknown", "F", "M"])
        self.apply_button = QPushButton("Apply and re-score")
        self.apply_button.setToolTip("The model uses age and sex; re-run it with these values")
        self.apply_button.clicked.connect(self._emit)
        form.addRow("Name", self.name_label)
        form.addRow("Born", self.birth_label)
        form.addRow("ID", self.id_label)
        form.addRow("Age", self.age_edit)
        form.addRow("Sex", self.sex_edit)
        form.addRow("Recorded", self.time_label)
        form.addRow("Device", self.device_label)
        form.addRow("File", self.source_label)
        self.cart_label = _value_label()
        self.cart_label.setToolTip(
            "The interpretation the acquiring cart stored in the file (not ours, not reviewed)"
        )
        form.addRow("Cart says", self.cart_label)
        form.addRow(self.apply_button)
        self.show_record(None)  # no ECG yet: "unknown"/"-", never a placeholder "Age 0"

    def show_record(self, record: Record | None) -> None:
        p = record.patient if record else None
        self.name_label.setText(_breakable(p.name) if p and p.name else "-")
        self.birth_label.setText(p.birth_date.isoformat() if p and p.birth_date else "-")
        self.id_label.setText(p.id if p and p.id else "-")
        self.age_edit.setValue(p.age if p and p.age is not None else -1)
        self.sex_edit.setCurrentText(p.sex if p and p.sex in ("F", "M") else "unknown")
        start = (
            record.start.strftime("%Y-%m-%d %H:%M:%S")
            if record and record.start
            else ("unknown" if record else "-")
        )
        self.time_label.setText(start)
        self.device_label.setText(_breakable(record.device or "unknown") if record else "-")
        fmt = f" ({record.format})" if record and record.format else ""
        source = (str(record.source or "in memory") + fmt) if record else "-"
        self.source_label.setText(_breakable(source))
        self.source_label.setToolTip(source)  # the path as it is, to copy
        cart = record.cart if record else None
        self.cart_label.setText(
            _breakable("\n".join(cart.statements)) if cart and cart.statements else "-"
        )
        missing = bool(record) and (p is None or p.age is None or p.sex is None)
        self.apply_button.setText("Apply and re-score" + (" (age/sex missing)" if missing else ""))
        for widget in (self.age_edit, self.sex_edit, self.apply_button):
            widget.setEnabled(record is not None)

    def _emit(self) -> None:
        age = self.age_edit.value()
        sex = self.sex_edit.currentText()
        self.patient_edited.emit(None if age < 0 else float(age), None if sex == "unknown" else sex)


def _from(m: Measurements) -> str:
    """ " from 0:20:30" (time from start, the ruler's convention) when the measured strip does
    not start at the recording's start."""
    return f" from {wording.elapsed_text(m.start_s, long=True)}" if m.start_s > 0 else ""


class MeasurementsPanel(QGroupBox):
    """Heart rate, RR statistics, intervals with their method or why they are unavailable."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Measurements", parent)
        form = QFormLayout(self)
        self.rows: dict[str, QLabel] = {}
        for name in (
            "Heart rate",
            "RR",
            "P",
            "PR",
            "QRS",
            "QT",
            "QTc Bazett",
            "QTc Fridericia",
            "Axes",
            "Method",
            "Cart",
            "Display filter",
        ):
            self.rows[name] = _value_label()
            form.addRow(name, self.rows[name])
        self.rows["Cart"].setToolTip(
            "Values the acquiring cart measured itself, stored in the "
            "file; shown as 'cart' beside ours"
        )
        self.caliper_label = _value_label()
        form.addRow("Caliper", self.caliper_label)

    def clear(self, text: str = "-") -> None:
        for name, label in self.rows.items():
            if name != "Display filter":
                label.setText(text)

    def show_measurements(self, m: Measurements) -> None:
        if m.hr_bpm is not None:
            lead = f", lead {m.rhythm_lead}" if m.rhythm_lead else ""
            self.rows["Heart rate"].setText(
                f"{m.hr_bpm:.0f} bpm (range {m.hr_min_bpm:.0f}-{m.hr_max_bpm:.0f}; "
                f"{m.r_peaks.size} R peaks in {m.seconds:.0f} s{_from(m)}{lead})"
            )
            self.rows["RR"].setText(f"mean {m.rr_mean_ms:.0f} ms, SD {m.rr_sd_ms:.0f} ms")
        else:
            reason = m.unavailable.get("heart rate", "not measured")
            self.rows["Heart rate"].setText(f"unavailable: {reason}")
            self.rows["RR"].setText("unavailable")
        full = getattr(m, "full", None)
        if full is not None:
            axes = [
                f"{'-' if v is None else f'{v:.0f}°'}"
                for v in (full.p_axis_deg, full.qrs_axis_deg, full.t_axis_deg)
            ]
            self.rows["Axes"].setText(f"P {axes[0]}, QRS {axes[1]}, T {axes[2]} (frontal)")
        cart_style = getattr(full, "cart_style", None) or {}
        for name in ("P", "PR", "QRS", "QT", "QTc Bazett", "QTc Fridericia"):
            value = m.intervals.get(name)
            if value is None:
                self.rows[name].setText(f"unavailable: {m.unavailable.get(name, 'not measured')}")
                continue
            # Beside ours, what cart criteria (QRS >= 120 ms, QTc limits) were set on.
            narrow = cart_style.get(_CART_STYLE_KEYS.get(name, ""))
            self.rows[name].setText(
                with_cart_style(f"{value:.0f}", None if narrow is None else f"{narrow:.0f}")
            )
        self.rows["Method"].setText(m.method or "-")
        self._show_cart(m.cart)

    def _show_cart(self, cart: CartReading | None) -> None:
        """Append the cart's value to each of our rows it has, and summarise the rest."""
        if cart is None or not cart.measurements:
            self.rows["Cart"].setText("none in this file")
            return
        for name, key in _CART_ROWS.items():
            value = cart.measurements.get(key)
            if value is not None:
                label = self.rows[name]
                what = "cart QTc" if key == "qtc" else "cart"
                label.setText(f"{label.text()}  ·  {what} {_cart_value(key, value)}")
        axes = [
            f"{axis} {cart.measurements[key]:g}"
            for axis, key in (("P", "p_axis"), ("QRS", "qrs_axis"), ("T", "t_axis"))
            if key in cart.measurements
        ]
        extra = (
            [f"P duration {_cart_value('p_duration', cart.measurements['p_duration'])}"]
            if "p_duration" in cart.measurements
            else []
        )
        if axes:
            extra.append("axes " + " / ".join(axes) + " deg")
        self.rows["Cart"].setText(
            (cart.source or "the file") + (": " + ", ".join(extra) if extra else "")
        )

    def set_filter_text(self, text: str) -> None:
        self.rows["Display filter"].setText(text)


#: Our measurement rows -> keys of ``Measurements.cart_style`` (the edges carts print).
_CART_STYLE_KEYS = {
    "P": "p_duration",
    "QRS": "qrs",
    "QT": "qt",
    "QTc Bazett": "qtc_bazett",
    "QTc Fridericia": "qtc_fridericia",
}

#: Our measurement rows -> the cart's keys (its QTc is whatever correction the cart used).
_CART_ROWS = {
    "Heart rate": "heart_rate",
    "RR": "rr",
    "P": "p_duration",
    "PR": "pr",
    "QRS": "qrs",
    "QT": "qt",
    "QTc Bazett": "qtc",
    "QTc Fridericia": "qtcf",
}


def _cart_value(key: str, value: float) -> str:
    unit = CART_MEASUREMENT_UNITS.get(key, "")
    return f"{value:.0f} {unit}".strip()


class AnalysisPanel(QGroupBox):
    """Scoring progress with cancel and elapsed time, the verdict, and overlay controls."""

    cancel_requested = Signal()
    rerun_requested = Signal()
    overlay_changed = Signal(bool, bool, float, float)  # overlay, ghost, threshold, opacity

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Anomaly analysis", parent)
        box = QVBoxLayout(self)
        self.status_label = QLabel("not run")
        self.status_label.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.elapsed_label = QLabel("")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.rerun_button = QPushButton("Re-run")
        self.rerun_button.clicked.connect(self.rerun_requested)
        self.rerun_button.setEnabled(False)  # nothing to re-run before an ECG is open
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        row.addWidget(self.rerun_button)
        self.score_label = QLabel("")
        font = self.score_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.score_label.setFont(font)
        self.score_label.setWordWrap(True)
        self.verdict_label = QLabel("")  # the comparison behind the headline, in words
        self.verdict_label.setWordWrap(True)
        self.details_label = QLabel("")
        self.details_label.setWordWrap(True)
        self.details_label.setStyleSheet("color: gray")
        self.overlay_check = QCheckBox("Heat band (O)")
        self.ghost_check = QCheckBox("Expected-normal ghost trace (G)")
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal)
        self.threshold_slider.setRange(0, 95)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(5, 100)
        form = QFormLayout()
        form.addRow("Threshold", self.threshold_slider)
        form.addRow("Opacity", self.opacity_slider)
        for w in (self.status_label,):
            box.addWidget(w)
        box.addLayout(row)
        box.addWidget(self.elapsed_label)
        box.addWidget(self.score_label)
        box.addWidget(self.verdict_label)
        box.addWidget(self.overlay_check)
        box.addWidget(self.ghost_check)
        box.addLayout(form)
        box.addWidget(self.details_label)
        for sig in (
            self.overlay_check.toggled,
            self.ghost_check.toggled,
            self.threshold_slider.valueChanged,
            self.opacity_slider.valueChanged,
        ):
            sig.connect(self._emit_overlay)
        self.set_running(False)

    def set_overlay_values(self, show: bool, ghost: bool, threshold: float, opacity: float) -> None:
        widgets = (self.overlay_check, self.ghost_check, self.threshold_slider, self.opacity_slider)
        for w in widgets:
            w.blockSignals(True)
        self.overlay_check.setChecked(show)
        self.ghost_check.setChecked(ghost)
        self.threshold_slider.setValue(int(round(threshold * 100)))
        self.opacity_slider.setValue(int(round(opacity * 100)))
        for w in widgets:
            w.blockSignals(False)
        self._update_tips()

    def _update_tips(self) -> None:
        self.threshold_slider.setToolTip(
            f"Colour map values above {self.threshold_slider.value()}% of the band's full scale"
        )
        self.opacity_slider.setToolTip(f"Maximum opacity {self.opacity_slider.value()}%")

    def _emit_overlay(self, *args: object) -> None:
        self._update_tips()
        self.overlay_changed.emit(
            self.overlay_check.isChecked(),
            self.ghost_check.isChecked(),
            self.threshold_slider.value() / 100.0,
            self.opacity_slider.value() / 100.0,
        )

    def set_running(self, running: bool) -> None:
        self.cancel_button.setEnabled(running)
        self.rerun_button.setEnabled(not running)
        self.progress.setVisible(True)
        if running:
            self.progress.setRange(0, 0)
            self.score_label.setText("")
            self.verdict_label.setText("")
            self.details_label.setText("")

    def set_progress(self, done: int, total: int, message: str, elapsed: float) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        self.status_label.setText(message or "scoring")
        self.elapsed_label.setText(_elapsed(elapsed))

    def set_elapsed(self, elapsed: float) -> None:
        self.elapsed_label.setText(_elapsed(elapsed))

    def show_result(
        self,
        score: float,
        percentile: float | None,
        verdict: str,
        details: str,
        headline: str | None = None,
    ) -> None:
        """The percentile and a plain verdict (ecgviewer.wording), or ``headline`` (a recording
        problem); the raw score only in the tooltip, for bug reports."""
        self.score_label.setText(headline or wording.headline(percentile))
        self.score_label.setToolTip(f"raw model score {score:.4g} (higher = more unusual)")
        self.verdict_label.setText(verdict)
        self.details_label.setText(details)

    def show_started(self) -> None:
        self.set_running(True)
        self.status_label.setText("starting the anomaly model…")

    def finish(self, status: str, elapsed: float) -> None:
        """Scoring ended: ``status`` is "done", "cancelled" or "failed: why"."""
        self.set_running(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if status.startswith("done") else 0)
        self.status_label.setText(status)
        self.set_elapsed(elapsed)

    def show_scored(self, result: Any, has_findings: bool, elapsed: float) -> None:
        """A Detector result: percentile and verdict in words, what the heat band shows, the
        model, signal quality and flags."""
        self.finish("done", elapsed)
        pct = getattr(result, "percentile", None)
        band = (
            "heat band: calibrated findings (the default threshold marks what is beyond "
            "normal ECGs)"
            if getattr(result, "finding_map", None) is not None
            else "heat band: per-sample restoration error"
        )
        details = [f"model: {model_text(result)}", band]
        numbers = wording.measurement_note(
            getattr(result, "measure_z", None), "Measurements beyond normal ECGs: "
        )
        if not has_findings:
            why = wording.whole_ecg_reason(getattr(result, "parts", None))
            if why and wording.verdict_word(pct) != "within normal range":
                details.append(f"findings: none in one place; {why}")
            else:
                details.append("findings: none beyond what normal ECGs show")
        details += quality_lines(result) + flag_texts(result)
        words = verdict(pct, getattr(result, "flags", ()))
        if words != wording.percentile_verdict(pct):  # a recording problem comes first
            self.show_result(
                float(result.score), pct, words, "\n".join(details), headline=words.split(":")[0]
            )
        else:
            n_findings = len(getattr(result, "findings", None) or ()) if has_findings else 0
            words = wording.comparison(pct)
            if n_findings and wording.verdict_word(pct) != "unusual":
                words += " as a whole; the findings below stand out locally."
            if numbers:  # which numbers, beside how unusual the whole is
                words += f"\n{numbers}."
            self.show_result(
                float(result.score),
                pct,
                words,
                "\n".join(details),
                headline=wording.headline(pct, n_findings),
            )

    def show_not_scored(self, reason: str) -> None:
        """No result for this record, and why: nothing stale stays."""
        self.set_running(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status_label.setText(f"Not scored: {reason}")
        for label in (self.score_label, self.verdict_label, self.details_label, self.elapsed_label):
            label.setText("")
        self.score_label.setToolTip("")
        self.rerun_button.setEnabled(False)

    def show_left_to_overview(self) -> None:
        self.status_label.setText("long recording: scored window by window in the overview below")


class FindingsPanel(QGroupBox):
    """The model's calibrated findings, most unusual first; clicking one asks the window to
    centre and highlight it. Empty (and saying so) when nothing is beyond normal ECGs."""

    finding_activated = Signal(object)  # Finding

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Findings (N next, P previous)", parent)
        box = QVBoxLayout(self)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["#", "Lead", "Time", "SD", "Pct"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumHeight(120)
        self.table.setMaximumHeight(220)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.cellClicked.connect(lambda *_: self._on_selection())  # re-click re-centres
        box.addWidget(self.table)
        self.findings: list[Finding] = []

    def set_findings(self, findings: list[Finding]) -> None:
        self.findings = list(findings)
        # One time format for the whole list: "32.9-33.9 s" beside "0:01:00-0:01:09" in one
        # Holter's list read as two clocks.
        long = any(f.end >= 60.0 for f in findings)
        self.table.blockSignals(True)
        self.table.setRowCount(len(findings))
        for r, f in enumerate(findings):
            pct = "-" if f.percentile is None else wording.percentile_text(f.percentile)
            size = wording.sd_text(f.score)
            tip = f"{size} SD above normal ECGs in this lead: {f.reason}"
            # "(?)" greyed, the reason in the tooltip: "(noise?)" and h:mm:ss times pushed the
            # Pct column out of a Holter's table.
            lead = (f.lead or "all") + (" (?)" if f.noisy else "")
            when = (
                f"{_minutes(f.start)}-{_minutes(f.end)}" if long else f"{f.start:.1f}-{f.end:.1f} s"
            )
            for c, text in enumerate((str(r + 1), lead, when, size, pct)):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                if f.noisy:  # possibly an artefact: greyed, after the clean findings
                    item.setForeground(QColor(120, 120, 120))
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.table.clearSelection()
        self.table.blockSignals(False)

    def select(self, index: int) -> None:
        if 0 <= index < len(self.findings):
            self.table.selectRow(index)

    def current_index(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def step(self, delta: int) -> None:
        """Next (+1) / previous (-1) finding, wrapping around."""
        if not self.findings:
            return
        idx = self.current_index()
        idx = (
            (0 if delta > 0 else len(self.findings) - 1)
            if idx < 0
            else (idx + delta) % len(self.findings)
        )
        self.select(idx)

    def _on_selection(self) -> None:
        idx = self.current_index()
        if 0 <= idx < len(self.findings):
            self.finding_activated.emit(self.findings[idx])


def _minutes(t: float) -> str:
    """A finding's time in a long recording: "0:44.5", "1:02:03.4" (a tenth of a second: a
    1 s finding read "0:00:01-0:00:01" in whole seconds)."""
    h, rem = divmod(max(0.0, t), 3600.0)
    m, s = divmod(rem, 60.0)
    return f"{int(h)}:{int(m):02d}:{s:04.1f}" if h >= 1 else f"{int(m)}:{s:04.1f}"


class CartStatementsPanel(QGroupBox):
    """The cart's own interpretation, at the top of the column when the file carries one: a
    Philips cart's ">>> Acute MI <<<" sat in the patient panel, below the fold."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("The cart's interpretation (not ours, not reviewed)", parent)
        box = QVBoxLayout(self)
        self.label = _value_label()
        box.addWidget(self.label)
        self.show_record(None)

    def show_record(self, record: Record | None) -> None:
        statements = record.cart.statements if record and record.cart else ()
        self.label.setText(_breakable("\n".join(statements)))
        self.setVisible(bool(statements))


class SidePanel(QScrollArea):
    """The viewer's right-hand column, scrollable: the cart's interpretation (when the file
    has one), anomaly analysis, findings, measurements and patient, in that order. Owns the
    panels; the window connects their signals."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cart = CartStatementsPanel()
        self.analysis = AnalysisPanel()
        self.findings = FindingsPanel()
        self.measurements = MeasurementsPanel()
        self.patient = PatientPanel()
        column = QWidget()
        box = QVBoxLayout(column)
        for panel in (self.cart, self.analysis, self.findings, self.measurements, self.patient):
            box.addWidget(panel)
        self.setWidget(column)
        self.setWidgetResizable(True)
        self.setMinimumWidth(330)


def _elapsed(seconds: float) -> str:
    """Scoring time as read at a glance: one ECG takes tens of milliseconds ("0.0 s" said
    nothing), a long Holter seconds."""
    return f"elapsed {seconds * 1000:.0f} ms" if seconds < 1 else f"elapsed {seconds:.1f} s"
