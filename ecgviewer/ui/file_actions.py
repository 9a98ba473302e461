"""Opening files: File > Open, the demo ECG, recent files, drag and drop, collections.

:class:`FileActions` is owned by :class:`~ecgviewer.ui.main_window.MainWindow` (``window.files``);
the window keeps ``open_path`` as its public entry point and the drag-and-drop event handlers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog

from ecgviewer import io as ecg_io
from ecgviewer.errors import ECGError
from ecgviewer.paths import resource
from ecgviewer.record import Record, RecordEntry
from ecgviewer.ui import messages
from ecgviewer.ui.dialogs import RecordPickerDialog, SamplingRateDialog

MAX_RECENT = 10
DEMO_PATH = "demo/demo_ecg.hea"


def dialog_patterns() -> str:
    """File-dialog patterns for every reader, upper case too: carts and Windows tools write
    ``129DYPRG.XML`` or ``ECG.SCP``, and Qt's filter is case-sensitive on Linux."""
    return _patterns(ecg_io.supported_extensions())


def _patterns(extensions: tuple[str, ...] | list[str]) -> str:
    return " ".join([*(f"*{e}" for e in extensions), *(f"*{e.upper()}" for e in extensions)])


def open_filters() -> str:
    """File-dialog filters: every ECG file first (either case), then one per format, then all
    files."""
    per_format = [
        f"{spec.description} ({_patterns(spec.extensions)})"
        for spec in ecg_io.READERS
        if spec.extensions
    ]
    return ";;".join([f"ECG files ({dialog_patterns()})", *per_format, "All files (*)"])


class FileActions(QObject):
    """Opening files for one main window; every failure is a dialog, the current ECG stays.

    Owns the recent-files list (in the window's settings) and its menu; a read ECG goes to the
    window's public ``open_record``, and ``opened`` says which file it came from.
    """

    opened = Signal(str)  # the path of a file just opened and shown

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window  # the main window: open_record, settings, menus["recent"]

    def open_dialog(self) -> None:
        w = self.window
        start = str(w.settings.value("files/last_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(w, "Open ECG", start, open_filters())
        if path:
            self.open_path(path)

    def open_demo(self) -> bool:
        path = resource(DEMO_PATH)
        if not path.is_file():
            messages.show_error(
                self.window,
                ECGError(path, "the bundled demo ECG is missing from this installation"),
            )
            return False
        return self.open_path(path, title_note="SYNTHETIC demo ECG", remember=False)

    def open_path(
        self, path: str | Path, *, title_note: str = "", remember: bool = True, **opts: Any
    ) -> bool:
        """Read ``path`` and show it; on any error show a dialog and keep the current ECG."""
        path = Path(path)
        try:
            if path.suffix.lower() in (".npy", ".csv", ".txt") and "fs" not in opts:
                dialog = SamplingRateDialog(str(path), parent=self.window)
                if dialog.exec() != QDialog.DialogCode.Accepted:
                    return False
                opts["fs"] = dialog.rate.value()
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                loaded = ecg_io.read(path, **opts)
            finally:
                QApplication.restoreOverrideCursor()
            if isinstance(loaded, list):
                loaded = self._pick_entry(loaded)
                if loaded is None:
                    return False
            self.window.open_record(loaded, title_note=title_note)
        except Exception as exc:  # every failure becomes a dialog; the previous ECG stays
            messages.show_error(self.window, exc)
            return False
        if remember:
            self._remember(path)
        self.opened.emit(str(path))
        return True

    def _pick_entry(self, entries: list[RecordEntry]) -> Record | None:
        if not entries:
            raise ECGError(None, "the file holds no ECG")
        if len(entries) == 1:
            return entries[0].load()
        dialog = RecordPickerDialog(entries, self.window)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.selected_index() < 0:
            return None
        return entries[dialog.selected_index()].load()

    def _remember(self, path: Path) -> None:
        settings = self.window.settings
        recent = [p for p in self.recent_files() if p != str(path.resolve())]
        recent.insert(0, str(path.resolve()))
        settings.setValue("files/recent", recent[:MAX_RECENT])
        settings.setValue("files/last_dir", str(path.resolve().parent))
        self.rebuild_recent_menu()

    def recent_files(self) -> list[str]:
        value = self.window.settings.value("files/recent") or []
        return [value] if isinstance(value, str) else [str(v) for v in value]

    def rebuild_recent_menu(self) -> None:
        menu = self.window.menus["recent"]
        menu.clear()
        for p in self.recent_files():
            menu.addAction(p, lambda p=p: self.open_path(p))
        menu.setEnabled(bool(self.recent_files()))
