"""The import rules of DESIGN.md, checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize(
    "modules, forbidden",
    [
        (["ecgviewer.record", "ecgviewer.io", "ecgviewer.signal"], ["PySide6", "pyqtgraph", "torch"]),
        (["model"], ["PySide6", "pyqtgraph"]),
        (["ecgviewer.review", "ecgviewer.analysis"], ["PySide6", "pyqtgraph", "torch"]),
    ],
)
def test_core_imports_stay_free_of(modules: list[str], forbidden: list[str]) -> None:
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + f"bad = [m for m in {forbidden!r} if m in sys.modules]\n"
        + "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "", f"{modules} loaded {out.stdout.strip()}"
