"""The one place that builds message boxes: :func:`show_error` (and its friends).

``ECGError`` messages are written for clinicians and shown as they are; anything else is a bug,
logged with its traceback and shown as a short sentence pointing at the log. In test mode the
dialogs are non-modal and close themselves, so a test never hangs on a dialog.
"""

from __future__ import annotations

import logging
import traceback

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from ecgviewer.errors import ECGError

log = logging.getLogger(__name__)

_test_mode = False
_auto_close_ms = 0
#: Every box shown, newest last (tests and the screenshot script inspect them).
shown: list[QMessageBox] = []


def set_test_mode(enabled: bool = True, auto_close_ms: int = 0) -> None:
    """Non-modal dialogs (``show()`` instead of ``exec()``), optionally closed after a delay."""
    global _test_mode, _auto_close_ms
    _test_mode = enabled
    _auto_close_ms = auto_close_ms


def error_text(exc: BaseException) -> tuple[str, str | None]:
    """(message for the user, details or None) for an exception."""
    if isinstance(exc, ECGError):
        return str(exc), None
    if isinstance(exc, MemoryError):
        return (
            "Not enough memory for this operation. Close other programs or open a shorter file.",
            None,
        )
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return (
        f"Unexpected error: {type(exc).__name__}: {exc}\n\n"
        "The program is still usable. Details were written to the log file.",
        details,
    )


def show_error(
    parent: QWidget | None, exc: BaseException, title: str = "ecgviewer"
) -> QMessageBox | None:
    """Tell the user about ``exc``; never raises. Unexpected errors are logged with traceback."""
    text, details = error_text(exc)
    if details is None:
        log.warning("%s", text)
    else:
        log.error(
            "unexpected error shown to the user", exc_info=(type(exc), exc, exc.__traceback__)
        )
    return _box(
        parent,
        QMessageBox.Icon.Warning if details is None else QMessageBox.Icon.Critical,
        title,
        text,
        details,
    )


def show_info(parent: QWidget | None, text: str, title: str = "ecgviewer") -> QMessageBox | None:
    return _box(parent, QMessageBox.Icon.Information, title, text, None)


def ask(parent: QWidget | None, text: str, title: str = "ecgviewer") -> bool:
    """A Yes/No question, No the default (nothing is replaced or lost by pressing Enter); in
    test mode the box is shown non-modal and the answer is No."""
    if QApplication.instance() is None:
        return False
    box = QMessageBox(
        QMessageBox.Icon.Question,
        title,
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        parent,
    )
    box.setDefaultButton(QMessageBox.StandardButton.No)
    shown.append(box)
    del shown[:-20]
    if _test_mode:
        box.setModal(False)
        box.show()
        return False
    return box.exec() == QMessageBox.StandardButton.Yes


def _box(
    parent: QWidget | None, icon: QMessageBox.Icon, title: str, text: str, details: str | None
) -> QMessageBox | None:
    if QApplication.instance() is None:  # excepthook before/after the app: the log is all
        return None
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    if details:
        box.setDetailedText(details)
    shown.append(box)
    del shown[:-20]
    if _test_mode:
        box.setModal(False)
        box.show()
        if _auto_close_ms:
            QTimer.singleShot(_auto_close_ms, box.close)
    else:
        box.exec()
    return box
