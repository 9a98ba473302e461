"""Menu bar (built from the main window's public slots) and the view toolbar widget.

Kept apart from the window so other parts (the worklist) can add their menus and actions:
``window.menus["file"]`` etc. are plain ``QMenu``s, ``window.actions[name]`` plain ``QAction``s.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QMenu, QToolBar, QWidget

from ecgviewer.ui.export_signal import export_signal
from ecgviewer.ui.state import DEVICES, GAINS_MM_MV, LAYOUTS, SPEEDS_MM_S

#: The main window (ui/main_window.py imports this module, so not the other way round: the
#: functions use only its public slots, ``actions`` and ``menus``).
MainWindow = Any


def _action(
    window: MainWindow,
    name: str,
    text: str,
    slot,
    shortcut: str | None = None,
    checkable: bool = False,
    tip: str | None = None,
) -> QAction:
    act = QAction(text, window)
    if shortcut:
        act.setShortcut(QKeySequence(shortcut))
    act.setCheckable(checkable)
    if tip:
        act.setStatusTip(tip)
        act.setToolTip(tip)
    act.triggered.connect(slot)
    window.actions[name] = act
    return act


def build_menu_bar(window: MainWindow) -> dict[str, QMenu]:
    """Create File, View, Measure, Analysis, Help menus; returns them by key."""
    bar = window.menuBar()
    menus: dict[str, QMenu] = {}
    w = window

    m = menus["file"] = bar.addMenu("&File")
    m.addAction(_action(w, "open", "&Open…", w.files.open_dialog, "Ctrl+O"))
    menus["recent"] = m.addMenu("Open &recent")
    m.addAction(_action(w, "open_demo", "Open &demo ECG (synthetic)", w.files.open_demo))
    m.addAction(
        _action(
            w,
            "export_signal",
            "&Export signal…",
            lambda: export_signal(w),
            tip="Write the ECG as EDF+, WFDB or HL7 aECG",
        )
    )
    m.addAction(
        _action(
            w,
            "compare_with",
            "&Compare with…",
            w.median.compare_with_dialog,
            tip="Overlay a previous ECG of the patient: median beats, rhythm, changes",
        )
    )
    m.addSeparator()
    m.addAction(_action(w, "quit", "&Quit", w.close, "Ctrl+Q"))

    m = menus["view"] = bar.addMenu("&View")
    group = QActionGroup(w)
    for i, (key, text) in enumerate(LAYOUTS.items()):
        act = _action(
            w,
            f"layout_{key}",
            f"Layout {text}",
            lambda checked=False, k=key: w.set_layout(k),
            f"Ctrl+{i + 1}",
            True,
        )
        group.addAction(act)
        m.addAction(act)
    m.addSeparator()
    sub = m.addMenu("Paper &speed")
    group = QActionGroup(w)
    for s in SPEEDS_MM_S:
        act = _action(
            w,
            f"speed_{s:g}",
            f"{s:g} mm/s",
            lambda checked=False, v=s: w.set_speed(v),
            checkable=True,
        )
        group.addAction(act)
        sub.addAction(act)
    sub = m.addMenu("&Gain")
    group = QActionGroup(w)
    for g in GAINS_MM_MV:
        act = _action(
            w,
            f"gain_{g:g}",
            f"{g:g} mm/mV",
            lambda checked=False, v=g: w.set_gain(v),
            checkable=True,
        )
        group.addAction(act)
        sub.addAction(act)
    m.addSeparator()
    m.addAction(
        _action(
            w,
            "true_scale",
            "&True scale",
            w.show_true_scale,
            "Ctrl+0",
            tip="1 mm of paper = 1 mm on screen",
        )
    )
    m.addAction(
        _action(
            w,
            "fit_window",
            "&Fit to window (not true scale)",
            w.set_fit_to_window,
            "Ctrl+F",
            True,
            tip="Scale the page to fill the window; the toolbar then says NOT true scale",
        )
    )
    m.addAction(
        _action(
            w,
            "median_beats",
            "&Median beats",
            w.median.show_median_beats,
            "Ctrl+M",
            tip="Each lead's median beat with fiducials and measurements",
        )
    )
    m.addAction(_action(w, "next_page", "Next page (10 s)", lambda: w.step_page(1), "PgDown"))
    m.addAction(_action(w, "prev_page", "Previous page", lambda: w.step_page(-1), "PgUp"))
    m.addAction(_action(w, "unenlarge", "Show all leads", lambda: w.enlarge_lead(None), "Esc"))
    m.addSeparator()
    m.addAction(
        _action(
            w,
            "display_filter",
            "Display &filter",
            w.set_display_filter,
            checkable=True,
            tip="0.5-40 Hz display filter on the traces",
        )
    )
    m.addAction(_action(w, "dark", "&Dark theme", w.set_dark, checkable=True))
    m.addAction(_action(w, "calibrate", "&Calibrate screen scale…", w.calibrate_screen))

    m = menus["measure"] = bar.addMenu("&Measure")
    m.addAction(
        _action(
            w,
            "caliper",
            "&Caliper",
            w.set_caliper,
            "C",
            True,
            tip="Two vertical lines: ms, bpm and mV between them",
        )
    )

    m = menus["analysis"] = bar.addMenu("&Analysis")
    m.addAction(_action(w, "rescore", "&Run anomaly model again", w.start_scoring, "Ctrl+R"))
    m.addAction(_action(w, "cancel_scoring", "&Cancel scoring", w.cancel_scoring))
    m.addSeparator()
    m.addAction(_action(w, "next_finding", "&Next finding", lambda: w.step_finding(1), "N"))
    m.addAction(_action(w, "prev_finding", "&Previous finding", lambda: w.step_finding(-1), "P"))
    m.addAction(_action(w, "overlay", "Heat band &overlay", w.toggle_overlay, "O", True))
    m.addAction(_action(w, "ghost", "Expected-normal &ghost trace", w.toggle_ghost, "G", True))
    sub = m.addMenu("Model &device")
    group = QActionGroup(w)
    for dev in DEVICES:
        text = {"auto": "Automatic (GPU when present)", "cpu": "CPU", "cuda": "GPU (CUDA)"}[dev]
        act = _action(
            w, f"device_{dev}", text, lambda checked=False, d=dev: w.set_device(d), checkable=True
        )
        group.addAction(act)
        sub.addAction(act)

    m = menus["help"] = bar.addMenu("&Help")
    m.addAction(_action(w, "shortcuts", "&Keyboard shortcuts", w.show_shortcuts, "F1"))
    m.addAction(_action(w, "about", "&About", w.about))
    return menus


class ViewToolbar(QToolBar):
    """Layouts one click away, speed and gain, the true-scale badge, caliper and overlay toggles.

    Owns its speed and gain boxes and the scale badge: what the user picks comes out as
    ``speed_chosen`` / ``gain_chosen``; what the window shows goes in through
    :meth:`show_values` and :meth:`show_scale`.
    """

    speed_chosen = Signal(float)  # mm/s
    gain_chosen = Signal(float)  # mm/mV

    def __init__(self, actions: dict[str, QAction], parent: QWidget | None = None) -> None:
        super().__init__("View", parent)
        self.setObjectName("view_toolbar")
        for key in LAYOUTS:
            self.addAction(actions[f"layout_{key}"])
        self.addSeparator()
        self.addWidget(QLabel(" Speed "))
        self.speed_combo = QComboBox()
        self.speed_combo.addItems([f"{s:g} mm/s" for s in SPEEDS_MM_S])
        self.speed_combo.activated.connect(lambda i: self.speed_chosen.emit(SPEEDS_MM_S[i]))
        self.addWidget(self.speed_combo)
        self.addWidget(QLabel(" Gain "))
        self.gain_combo = QComboBox()
        self.gain_combo.addItems([f"{g:g} mm/mV" for g in GAINS_MM_MV])
        self.gain_combo.activated.connect(lambda i: self.gain_chosen.emit(GAINS_MM_MV[i]))
        self.addWidget(self.gain_combo)
        self.addSeparator()
        self.addAction(actions["true_scale"])
        actions["fit_window"].setIconText("Fit to window")
        self.addAction(actions["fit_window"])
        self.scale_badge = QLabel(" ✓ true scale: 1 mm = 1 mm ")
        self.scale_badge.setToolTip("Whether 1 mm of paper is 1 mm on screen (View > Calibrate)")
        self.addWidget(self.scale_badge)
        for key in ("caliper", "overlay", "ghost", "prev_finding", "next_finding"):
            self.addAction(actions[key])

    def show_values(self, speed_mm_s: float, gain_mm_mv: float) -> None:
        self.speed_combo.setCurrentIndex(SPEEDS_MM_S.index(speed_mm_s))
        self.gain_combo.setCurrentIndex(GAINS_MM_MV.index(gain_mm_mv))

    def show_scale(self, text: str, hidden: str = "") -> None:
        """The badge: green tick at true scale (``hidden``: what lies off screen), else an
        orange warning with ``text`` (e.g. "NOT true scale: fitted to window ×0.80")."""
        true = text == "true scale"
        self.scale_badge.setText(
            " ✓ true scale: 1 mm = 1 mm" + hidden + " " if true else f" {text} "
        )
        self.scale_badge.setStyleSheet(
            "" if true else "QLabel { background: #ffb347; color: black; font-weight: bold; }"
        )
