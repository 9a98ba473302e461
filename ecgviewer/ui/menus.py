"""Menu bar and toolbar of the main window, built from its public slots.

Kept apart from the window so other parts (the worklist) can add their menus and actions:
``window.menus["file"]`` etc. are plain ``QMenu``s, ``window.actions[name]`` plain ``QAction``s.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QMenu, QToolBar

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
    m.addAction(_action(w, "open", "&Open…", w.open_dialog, "Ctrl+O"))
    menus["recent"] = m.addMenu("Open &recent")
    m.addAction(_action(w, "open_demo", "Open &demo ECG (synthetic)", w.open_demo))
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
            w.compare_with_dialog,
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
            w.show_median_beats,
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


def build_toolbar(window: MainWindow) -> QToolBar:
    """Layouts one click away, speed and gain, caliper and overlay toggles."""
    tb = QToolBar("View", window)
    tb.setObjectName("view_toolbar")
    for key in LAYOUTS:
        tb.addAction(window.actions[f"layout_{key}"])
    tb.addSeparator()
    tb.addWidget(QLabel(" Speed "))
    window.speed_combo = QComboBox()
    window.speed_combo.addItems([f"{s:g} mm/s" for s in SPEEDS_MM_S])
    window.speed_combo.activated.connect(lambda i: window.set_speed(SPEEDS_MM_S[i]))
    tb.addWidget(window.speed_combo)
    tb.addWidget(QLabel(" Gain "))
    window.gain_combo = QComboBox()
    window.gain_combo.addItems([f"{g:g} mm/mV" for g in GAINS_MM_MV])
    window.gain_combo.activated.connect(lambda i: window.set_gain(GAINS_MM_MV[i]))
    tb.addWidget(window.gain_combo)
    tb.addSeparator()
    tb.addAction(window.actions["true_scale"])
    window.actions["fit_window"].setIconText("Fit to window")
    tb.addAction(window.actions["fit_window"])
    window.scale_badge = QLabel(" ✓ true scale: 1 mm = 1 mm ")
    window.scale_badge.setToolTip("Whether 1 mm of paper is 1 mm on screen (View > Calibrate)")
    tb.addWidget(window.scale_badge)
    tb.addAction(window.actions["caliper"])
    tb.addAction(window.actions["overlay"])
    tb.addAction(window.actions["ghost"])
    tb.addAction(window.actions["prev_finding"])
    tb.addAction(window.actions["next_finding"])
    window.addToolBar(tb)
    return tb
