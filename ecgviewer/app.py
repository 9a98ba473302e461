"""The one start-up path of the desktop viewer: logging, exception hooks, QApplication, window.

``python -m ecgviewer [FILE]`` (or the ``ecgviewer`` launcher) opens FILE, or the bundled
synthetic demo ECG when no file is given. Nothing here imports torch: the model is imported by
its background job the first time it runs, so the window appears first.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import sys
import threading
from collections.abc import Sequence

from ecgviewer.paths import resource, user_data_dir

log = logging.getLogger("ecgviewer")
_relay = None  # the QObject forwarding thread errors to the GUI thread (kept alive here)


def setup_logging(level: int = logging.INFO) -> None:
    """Rotating log file in the user data directory, plus warnings on stderr."""
    logs = user_data_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    if any(getattr(h, "_ecgviewer", False) for h in root.handlers):
        return
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    file_handler = logging.handlers.RotatingFileHandler(
        logs / "ecgviewer.log", maxBytes=2_000_000, backupCount=3, encoding="utf-8"
    )
    file_handler.setFormatter(fmt)
    file_handler._ecgviewer = True  # type: ignore[attr-defined]
    console = logging.StreamHandler()
    console.setLevel(logging.WARNING)
    console.setFormatter(fmt)
    console._ecgviewer = True  # type: ignore[attr-defined]
    root.addHandler(file_handler)
    root.addHandler(console)
    root.setLevel(level)


def install_excepthooks() -> None:
    """Uncaught errors, on any thread, are logged and shown; the app keeps running.

    Qt calls Python slots from its event loop: an exception there reaches ``sys.excepthook``.
    Errors on worker threads reach ``threading.excepthook``; they are forwarded to the GUI
    thread through a queued call, never shown from the worker.
    """
    from PySide6.QtCore import QObject, Signal, Slot

    from ecgviewer.ui import messages

    class _ErrorRelay(QObject):
        """Lives on the GUI thread; a signal emitted from a worker thread arrives queued."""

        raised = Signal(object)

        @Slot(object)
        def show(self, exc: BaseException) -> None:
            messages.show_error(None, exc)

    global _relay
    _relay = _ErrorRelay()
    # A bound slot of a GUI-thread QObject: Qt queues the call to the GUI thread.
    _relay.raised.connect(_relay.show)

    def gui_hook(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.error("uncaught exception", exc_info=(exc_type, exc, tb))
        try:
            from PySide6.QtWidgets import QApplication

            parent = QApplication.activeWindow()
            messages.show_error(parent, exc)
        except Exception:  # the hook itself must never raise
            log.exception("could not show the error dialog")

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None:
            return
        log.error(
            "uncaught exception in thread %s",
            getattr(args.thread, "name", "?"),
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )
        _relay.raised.emit(args.exc_value)

    sys.excepthook = gui_hook
    threading.excepthook = thread_hook


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ecgviewer", description="Offline ECG viewer")
    parser.add_argument("file", nargs="?", help="ECG file to open (default: the demo ECG)")
    parser.add_argument(
        "--fs", type=float, default=None, help="sampling rate for bare arrays (.npy/.csv)"
    )
    parser.add_argument(
        "--worklist",
        metavar="SOURCE",
        default=None,
        help="open a worklist: a folder of ECGs, a database CSV (PTB-XL) or an HDF5 collection",
    )
    parser.add_argument(
        "--smoke-test",
        metavar="OUT.png",
        default=None,
        help="no window: open the demo ECG, score it, export OUT.png, check "
        "the result; prints one JSON line, exit status 0/1 (smoke.py)",
    )
    return parser.parse_args(list(argv))


def create_app(argv: Sequence[str] | None = None):
    """QApplication with our names (settings, log paths) and the pyqtgraph defaults we use."""
    import pyqtgraph as pg
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(list(argv or sys.argv[:1]))
    app.setApplicationName("ecgviewer")
    app.setOrganizationName("ecgviewer")
    app.setWindowIcon(QIcon(str(resource("icons/ecgviewer-256.png"))))
    # Antialiasing and OpenGL cost frames; ECG traces at 1 px are crisp without them.
    pg.setConfigOptions(antialias=False, useOpenGL=False)
    return app


def install_review_features(window) -> None:
    """Worklist, long-recording overview, reports (``ui.review_hooks.install_or_log``)."""
    from ecgviewer.ui.review_hooks import install_or_log

    install_or_log(window)


def open_worklist(window, source: str) -> bool:
    """``ecgviewer --worklist SOURCE``: the worklist window over the viewer; a source that
    does not exist is one clear message, the viewer stays."""
    from pathlib import Path

    from ecgviewer.errors import FileAccessError
    from ecgviewer.ui import messages

    review = getattr(window, "review", None)
    if not Path(source).exists():
        messages.show_error(window, FileAccessError(source, "not found (--worklist)"))
        return False
    if review is None:
        messages.show_error(
            window, RuntimeError("the worklist is not available in this installation")
        )
        return False
    review.open_worklist(source)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.smoke_test:  # the installation check of packaging/smoke_test.sh: no window
        from ecgviewer.smoke import main as smoke_main

        return smoke_main([args.smoke_test] + (["--file", args.file] if args.file else []))
    from ecgviewer import qt_deps

    blocker = qt_deps.problem()  # a missing X11 library: one clear line, not Qt's abort
    if blocker:
        print(blocker, file=sys.stderr)
        return 1
    setup_logging()
    app = create_app()
    install_excepthooks()
    from ecgviewer.ui.main_window import MainWindow

    window = MainWindow()
    install_review_features(window)
    window.show_initial()
    if args.file:
        opts = {"fs": args.fs} if args.fs else {}
        window.open_path(args.file, **opts)
    elif not args.worklist:
        window.files.open_demo()
    if args.worklist:
        open_worklist(window, args.worklist)
    log.info("window shown")
    return int(app.exec())


if __name__ == "__main__":
    raise SystemExit(main())
