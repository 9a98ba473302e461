"""File > Export signal: write the open ECG as EDF+, WFDB or HL7 aECG.

The dialog picks the file and format; the writing runs on the window's Worker (a long Holter
takes seconds), the status bar shows progress, and what the format could not hold is shown
when it is done. Errors are a dialog; the open ECG stays as it is.

The file name is the one typed, with the format's extension added when it has another one
(``patient.2021`` + EDF+ is ``patient.2021.edf``; only another export format's extension is
replaced). A WFDB record name keeps letters, digits, ``_`` and ``-`` (others become ``_``:
``ECG_P28.01`` is record ``ECG_P28_01``). When that changes what the dialog confirmed and a
file of the target exists, the user is asked before it is replaced.
"""

from __future__ import annotations

import re
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
    from ecgviewer.io.writers import existing_paths

    record = window.record
    stem = Path(record.source).stem if record and record.source else "ecg"
    start = Path(str(window.settings.value("files/last_dir", str(Path.home())))) / f"{stem}.edf"
    path, chosen = QFileDialog.getSaveFileName(
        window, "Export signal", str(start), ";;".join(FILTERS)
    )
    if not path:
        return None
    fmt, ext = FILTERS.get(chosen, ("edf", ".edf"))
    typed = Path(path)
    target = target_path(typed, fmt, ext)
    # The dialog asked before replacing the typed file (one of the target's files, or the
    # target itself): any other existing file of the target is asked about here.
    existing = existing_paths(target, fmt)
    if existing and typed not in existing and not ask_replace(window, target, existing):
        return None
    return target, fmt


def target_path(typed: Path, fmt: str, ext: str) -> Path:
    """The file to write for the name typed in the dialog and the chosen filter."""
    from ecgviewer.io.writers import EXTENSIONS

    name, suffix = typed.name, typed.suffix
    # Only an export format's extension is one (the filter decides which): ".01" or ".2021"
    # is part of the name.
    if suffix.lower() == ext:
        name, ext = name[: -len(suffix)], suffix
    elif suffix.lower() in EXTENSIONS:
        name = name[: -len(suffix)]
    if fmt == "wfdb":
        name = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    return typed.with_name(name + ext)


def ask_replace(window: MainWindow, target: Path, existing: list[Path]) -> bool:
    """Yes when the user agrees to replace ``existing`` (the files of ``target``); No is the
    default (:func:`~ecgviewer.ui.messages.ask`)."""
    names = ", ".join(p.name for p in existing)
    return messages.ask(
        window,
        f"The export is written as {target.name}, and {names} already exist"
        f"{'s' if len(existing) == 1 else ''} in {target.parent}. Replace "
        f"{'it' if len(existing) == 1 else 'them'}?",
        "Export signal",
    )


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
    # The save dialog asked before replacing the file typed, choose_target about the others.
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
