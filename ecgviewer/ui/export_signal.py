"""File > Export signal: write the open ECG as EDF+, WFDB or HL7 aECG.

The dialog picks the file and format; the writing runs on the window's Worker (a long Holter
takes seconds), the status bar shows progress, and what the format could not hold is shown
when it is done. Errors are a dialog; the open ECG stays as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog

from ecgviewer.ui import messages
from ecgviewer.ui.workers import Worker

#: The main window (typed loosely: main_window imports the menus that import this module).
MainWindow = Any

#: Dialog filter -> (writer format, extension).
FILTERS: dict[str, tuple[str, str]] = {
    "EDF+ with annotations (*.edf)": ("edf", ".edf"),
    "WFDB, PhysioNet (*.hea)": ("wfdb", ".hea"),
    "HL7 aECG XML (*.xml)": ("hl7aecg", ".xml"),
}


def choose_target(window: MainWindow) -> tuple[Path, str] | None:
    """Ask where to write; returns (path, format) or None when cancelled."""
    record = window.record
    stem = Path(record.source).stem if record and record.source else "ecg"
    start = Path(str(window.settings.value("files/last_dir", str(Path.home())))) / f"{stem}.edf"
    path, chosen = QFileDialog.getSaveFileName(
        window, "Export signal", str(start), ";;".join(FILTERS)
    )
    if not path:
        return None
    fmt, ext = FILTERS.get(chosen, ("edf", ".edf"))
    target = Path(path)
    if target.suffix.lower() != ext:
        target = (
            target.with_name(target.name + ext) if not target.suffix else target.with_suffix(ext)
        )
    return target, fmt


def export_signal(window: MainWindow, target: tuple[Path, str] | None = None) -> Worker | None:
    """Export the window's ECG (``target`` skips the dialog: tests, scripts)."""
    from ecgviewer.io.writers import iter_write

    record = window.record
    if record is None:
        messages.show_info(window, "Open an ECG first: there is nothing to export.")
        return None
    target = target or choose_target(window)
    if target is None:
        return None
    path, fmt = target
    # The save dialog asked before replacing the file itself.
    worker = Worker(lambda: iter_write(record, path, fmt, overwrite=True), kind="export_signal")
    bar = window.statusBar()
    worker.signals.progress.connect(
        lambda done, total, msg: bar.showMessage(
            f"Exporting {path.name}: {100 * done // max(total, 1)}% ({msg})"
        )
    )
    worker.signals.finished.connect(lambda result: _written(window, result))
    worker.signals.failed.connect(lambda exc: messages.show_error(window, exc))
    return window.jobs.start(worker)


def _written(window: MainWindow, result) -> None:
    names = ", ".join(p.name for p in result.paths)
    text = f"Exported {names}"
    if result.notes:
        text += " (" + "; ".join(result.notes) + ")"
    window.statusBar().showMessage(text, 15000)
    window.signal_exported.emit(result)
