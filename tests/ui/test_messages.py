"""Errors reach the user through show_error, readable and without a crash."""

from __future__ import annotations

import logging
import threading

from ecgviewer.errors import CorruptFileError
from ecgviewer.ui import messages


def test_ecg_error_is_shown_as_its_message(qapp):
    box = messages.show_error(None, CorruptFileError("/x/a.edf", "truncated data record 3"))
    assert box is not None and box.text() == "/x/a.edf: truncated data record 3"
    assert not box.detailedText()
    assert not box.isModal()


def test_unexpected_error_is_short_logged_and_has_details(qapp, caplog):
    try:
        raise KeyError("lead")
    except KeyError as exc:
        with caplog.at_level(logging.ERROR):
            box = messages.show_error(None, exc)
    assert box.text().startswith("Unexpected error: KeyError")
    assert "Traceback" in box.detailedText()
    assert any(r.exc_info for r in caplog.records)


def test_excepthooks_show_errors_from_slots_and_threads(qtbot, monkeypatch):
    import sys

    from ecgviewer.app import install_excepthooks

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    install_excepthooks()
    try:
        raise RuntimeError("in a slot")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    assert "in a slot" in messages.shown[-1].text()
    t = threading.Thread(target=lambda: (_ for _ in ()).throw(ValueError("in a thread")))
    t.start()
    t.join()
    qtbot.waitUntil(lambda: "in a thread" in messages.shown[-1].text(), timeout=2000)
    assert messages.shown[-1].thread() is qtbot_thread()


def qtbot_thread():
    from PySide6.QtWidgets import QApplication

    return QApplication.instance().thread()
