"""Shared test set-up: headless Qt, a private data dir per test, paths to ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
SHARED = (REPO.parent / "shared").resolve()
FIXTURES = SHARED / "fixtures"
PTBXL = SHARED / "data" / "ptbxl"


@pytest.fixture(autouse=True)
def _private_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test gets its own review DB / settings location: no test sees another's state."""
    monkeypatch.setenv("ECGVIEWER_DATA_DIR", str(tmp_path_factory.mktemp("userdata")))


@pytest.fixture
def fixtures_dir() -> Path:
    if not FIXTURES.is_dir():
        pytest.skip(f"shared fixtures not found at {FIXTURES} (../shared is absent)")
    return FIXTURES


@pytest.fixture
def ptbxl_dir() -> Path:
    if not (PTBXL / "ptbxl_database.csv").is_file():
        pytest.skip(f"PTB-XL subset not found at {PTBXL} (../shared is absent)")
    return PTBXL
