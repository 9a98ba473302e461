"""The start-up check for Qt's X11 libraries, with fake ldd/apt-get runs (and one real ldd)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ecgviewer import qt_deps

# ldd on PySide6 6.11's libqxcb.so on a fresh Debian 12 (abridged): two libraries missing.
FRESH_DEBIAN_LDD = """\
\tlinux-vdso.so.1 (0x00007ffd6b5e9000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f2b1c000000)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f2b1bff0000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxkbcommon-x11.so.0 => /lib/x86_64-linux-gnu/libxkbcommon-x11.so.0 (0x00007f2b1bfe0000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f2b1ba00000)
"""
COMPLETE_LDD = "\n".join(line for line in FRESH_DEBIAN_LDD.splitlines() if "not found" not in line)


def test_parse_ldd_lists_each_missing_library_once_in_order():
    assert qt_deps.parse_ldd(FRESH_DEBIAN_LDD) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert qt_deps.parse_ldd(COMPLETE_LDD) == []


@pytest.mark.parametrize(
    "soname, package",
    [
        ("libxcb-icccm.so.4", "libxcb-icccm4"),
        ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
        ("libxcb-cursor.so.0", "libxcb-cursor0"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libxcb-render-util.so.0", "libxcb-render-util0"),
        ("libX11-xcb.so.1", "libx11-xcb1"),
        ("libEGL.so.1", "libegl1"),
        # not in the table: Debian's naming policy
        ("libxcb-dri3.so.0", "libxcb-dri3-0"),
        ("libfoo2.so.3", "libfoo2-3"),
    ],
)
def test_debian_package_names(soname, package):
    assert qt_deps.debian_package(soname) == package


def test_packages_for_deduplicates():
    assert qt_deps.packages_for(["libglib-2.0.so.0", "libgthread-2.0.so.0"]) == ["libglib2.0-0"]


@pytest.mark.parametrize(
    "env, platform, expected",
    [
        ({"DISPLAY": ":0"}, "linux", True),
        ({"QT_QPA_PLATFORM": "offscreen"}, "linux", False),
        ({"QT_QPA_PLATFORM": "xcb"}, "linux", True),
        ({"QT_QPA_PLATFORM": "xcb:foo=1"}, "linux", True),
        ({"QT_QPA_PLATFORM": "wayland;xcb"}, "linux", False),
        ({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, "linux", False),
        ({"DISPLAY": ":0"}, "win32", False),
        ({"DISPLAY": ":0"}, "darwin", False),
    ],
)
def test_uses_xcb(env, platform, expected):
    assert qt_deps.uses_xcb(env, platform) is expected


class FakeSystem:
    """Records the commands; ldd reports the libraries until apt-get install ran."""

    def __init__(self, apt_ok: bool = True):
        self.calls: list[list[str]] = []
        self.installed = False
        self.apt_ok = apt_ok

    def __call__(self, cmd, **kwargs):
        self.calls.append(list(cmd))
        if cmd[0] == "ldd":
            out = COMPLETE_LDD if self.installed else FRESH_DEBIAN_LDD
            return subprocess.CompletedProcess(cmd, 0, out, "")
        if cmd[:2] == ["apt-get", "install"]:
            self.installed = self.apt_ok
        return subprocess.CompletedProcess(cmd, 0 if self.apt_ok else 100, "", "")


@pytest.fixture
def plugin(monkeypatch, tmp_path) -> Path:
    fake = tmp_path / "libqxcb.so"
    fake.write_bytes(b"\x7fELF")
    monkeypatch.setattr(qt_deps, "xcb_plugin", lambda: fake)
    monkeypatch.setattr(qt_deps.sys, "platform", "linux")
    return fake


XCB_ENV = {"DISPLAY": ":0"}


def test_root_with_apt_updates_once_then_installs_exactly_the_missing_packages(plugin, capsys):
    system = FakeSystem()
    rc = qt_deps.main(["--install"], env=XCB_ENV, run=system, is_root=True, have_apt=True)
    assert rc == 0
    apt = [c for c in system.calls if c[0] == "apt-get"]
    assert apt[0][:2] == ["apt-get", "update"]
    assert apt[1][:2] == ["apt-get", "install"]
    assert apt[1][-2:] == ["libxcb-icccm4", "libxcb-keysyms1"]
    assert len(apt) == 2
    assert system.calls[-1][0] == "ldd"  # checked again afterwards


def test_without_root_prints_the_one_line_command_and_installs_nothing(plugin, capsys):
    system = FakeSystem()
    rc = qt_deps.main(["--install"], env=XCB_ENV, run=system, is_root=False, have_apt=True)
    assert rc == 1
    assert not [c for c in system.calls if c[0] == "apt-get"]
    err = capsys.readouterr().err
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in err
    commands = [line.strip() for line in err.splitlines() if "apt-get" in line]
    assert commands == [
        "sudo apt-get install -y --no-install-recommends libxcb-icccm4 libxcb-keysyms1"
    ]


def test_failed_install_says_so_and_fails(plugin, capsys):
    system = FakeSystem(apt_ok=False)
    rc = qt_deps.main(["--install"], env=XCB_ENV, run=system, is_root=True, have_apt=True)
    assert rc == 1
    assert "apt-get install -y --no-install-recommends libxcb-icccm4" in capsys.readouterr().err


def test_check_only_never_installs(plugin, capsys):
    system = FakeSystem()
    assert qt_deps.main([], env=XCB_ENV, run=system, is_root=True, have_apt=True) == 1
    assert not [c for c in system.calls if c[0] == "apt-get"]


def test_skipped_when_qt_runs_offscreen(plugin):
    system = FakeSystem()
    assert (
        qt_deps.main(
            ["--install"],
            env={"QT_QPA_PLATFORM": "offscreen"},
            run=system,
            is_root=True,
            have_apt=True,
        )
        == 0
    )
    assert system.calls == []
    assert qt_deps.problem({"QT_QPA_PLATFORM": "offscreen"}, run=system) is None


def test_problem_names_libraries_then_a_missing_display(plugin):
    system = FakeSystem()
    assert "libxcb-keysyms1" in qt_deps.problem(XCB_ENV, run=system)
    system.installed = True
    assert qt_deps.problem(XCB_ENV, run=system) is None
    assert "DISPLAY" in qt_deps.problem({}, run=system)


def test_app_main_stops_with_the_message_before_creating_qt(plugin, monkeypatch, capsys):
    from ecgviewer import app

    monkeypatch.setattr(qt_deps, "problem", lambda: "ecgviewer: needs libxcb-icccm4")
    monkeypatch.setattr(app, "create_app", lambda: pytest.fail("Qt must not start"))
    assert app.main([]) == 1
    assert "libxcb-icccm4" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("ldd") is None, reason="no ldd on this system")
def test_real_plugin_is_found_and_ldd_parses():
    plugin = qt_deps.xcb_plugin()
    if plugin is None:
        pytest.skip("this PySide6 has no xcb plugin")
    assert plugin.name == "libqxcb.so"
    missing = qt_deps.missing_libraries(plugin)
    assert all(".so" in name for name in missing)


def test_as_root_the_command_has_no_sudo(plugin, capsys):
    system = FakeSystem()
    assert qt_deps.main([], env=XCB_ENV, run=system, is_root=True, have_apt=True) == 1
    err = capsys.readouterr().err
    assert "    apt-get install -y --no-install-recommends libxcb-icccm4 libxcb-keysyms1" in err
    assert "sudo" not in err
