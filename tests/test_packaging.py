"""Packaging files that a bundle build relies on, checked without building (seconds).

The bundle itself is built and smoke-tested by packaging/build.sh --smoke (minutes; see
packaging/README.md); these catch the cheap mistakes before anyone waits for a build.
"""

from __future__ import annotations

import configparser
import os
import re

from ecgviewer.paths import resource
from tests.conftest import REPO

PACKAGING = REPO / "packaging"


def test_scripts_are_executable():
    for rel in ("build.sh", "smoke_test.sh", "linux/install.sh"):
        assert os.access(PACKAGING / rel, os.X_OK), rel


def test_desktop_entry_has_the_keys_menus_need():
    # Desktop Entry Specification: Type, Name and (for applications) Exec are required.
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(PACKAGING / "linux" / "ecgviewer.desktop", encoding="utf-8")
    d = entry["Desktop Entry"]
    assert d["Type"] == "Application" and d["Name"]
    assert d["Exec"].split()[0] == "ecgviewer"  # install.sh rewrites it to the install path
    assert d["Icon"] == "ecgviewer" and d["Terminal"] == "false"
    assert d["Categories"].endswith(";")


def test_icons_exist_at_their_sizes(qapp):
    from PySide6.QtGui import QImage

    svg = resource("icons/ecgviewer.svg")
    assert svg.is_file() and "<svg" in svg.read_text(encoding="utf-8")
    for size in (16, 32, 48, 64, 128, 256, 512):
        image = QImage(str(resource(f"icons/ecgviewer-{size}.png")))
        assert (image.width(), image.height()) == (size, size), size


def test_spec_bundles_what_the_program_reads():
    spec = (PACKAGING / "ecgviewer.spec").read_text(encoding="utf-8")
    # resources/<sub> globs in the spec; each must match a file the program opens.
    for sub, pattern in re.findall(r'\("(\w+)", "([^"]+)"\)', spec):
        assert list((REPO / "resources" / sub).glob(pattern)), (sub, pattern)
    assert resource("demo/demo_ecg.hea").is_file()
    assert "PySide6.QtOpenGL" in spec  # pyqtgraph imports it by name at start-up
    assert '"torch/bin/torch_shm_manager"' in spec  # import torch needs it


def test_build_installs_the_package_extra_and_the_pinned_torch():
    build = (PACKAGING / "build.sh").read_text(encoding="utf-8")
    assert '".[package]"' in build and "torch==" in build
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    extra = re.search(r"^package = \[(.*?)^\]", pyproject, re.S | re.M)
    assert extra and "pyinstaller" in extra.group(1)
