"""Where bundled resources and per-user data live, from source and from the frozen bundle."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "ecgviewer"


def _root() -> Path:
    # PyInstaller unpacks data next to the executable and sets sys._MEIPASS.
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen)
    return Path(__file__).resolve().parent.parent


def resource(rel: str) -> Path:
    """Path of a file under ``resources/`` (weights, model card, demo ECG, icons)."""
    return _root() / "resources" / rel


def user_data_dir() -> Path:
    """Per-user data directory (review database, logs); created on first use.

    Mirrors Qt's ``QStandardPaths.AppDataLocation`` without importing Qt, so the review store
    stays Qt-free. ``ECGVIEWER_DATA_DIR`` overrides it (tests, portable installs).
    """
    override = os.environ.get("ECGVIEWER_DATA_DIR")
    if override:
        path = Path(override)
    elif sys.platform == "win32":
        path = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / APP_NAME
    elif sys.platform == "darwin":
        path = Path.home() / "Library" / "Application Support" / APP_NAME
    else:
        path = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / APP_NAME
    path.mkdir(parents=True, exist_ok=True)
    return path
