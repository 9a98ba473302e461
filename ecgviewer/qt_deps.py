"""Are the system libraries Qt's X11 window plugin needs installed? Install or name them.

PySide6's wheel brings Qt but not the X11 helper libraries its ``xcb`` platform plugin links
against; a fresh Debian/Ubuntu machine lacks some (libxcb-icccm4, libxcb-keysyms1, ...), and
Qt then aborts (exit 134) naming the wrong one (xcb-cursor). ``ldd`` on the plugin names
exactly what is missing; each shared-library name maps to one Debian package.

``python -m ecgviewer.qt_deps [--install]`` (run by ``./dev run``) installs them with apt when
it runs as root, else prints the one-line command; ``app.main`` calls :func:`problem` before
creating the QApplication so a missing library is one clear line, never a core dump.
Standard library only: this runs before (and without) Qt being importable.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

# Shared-library name -> Debian/Ubuntu package, for everything libqxcb.so pulls in that the
# PySide6 wheel does not bundle. Names not listed follow Debian's naming policy (see
# debian_package).
SONAME_PACKAGES: dict[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libGLX.so.0": "libglx0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$")

Runner = Callable[..., subprocess.CompletedProcess]


def parse_ldd(text: str) -> list[str]:
    """The shared-library names ``ldd`` reports as "not found", in order, each once."""
    missing: list[str] = []
    for line in text.splitlines():
        m = _NOT_FOUND.match(line)
        if m and m.group(1) not in missing:
            missing.append(m.group(1))
    return missing


def debian_package(soname: str) -> str:
    """The Debian/Ubuntu package that ships ``soname`` (table first, then Debian's policy:
    ``libfoo.so.N`` -> ``libfooN``, ``libfoo2.so.N`` -> ``libfoo2-N``)."""
    if soname in SONAME_PACKAGES:
        return SONAME_PACKAGES[soname]
    m = re.match(r"^(lib[^/]+?)\.so\.(\d+)", soname)
    if not m:
        return soname
    name, version = m.group(1).lower(), m.group(2)
    return f"{name}-{version}" if name[-1].isdigit() else f"{name}{version}"


def packages_for(sonames: Sequence[str]) -> list[str]:
    """Packages for the missing libraries, each once, in the order first needed."""
    out: list[str] = []
    for soname in sonames:
        package = debian_package(soname)
        if package not in out:
            out.append(package)
    return out


def uses_xcb(env: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Will Qt load its xcb (X11) plugin? Not off Linux, not when QT_QPA_PLATFORM names
    another platform (offscreen in tests), not in a Wayland session that does not ask for X11."""
    if not platform.startswith("linux"):
        return False
    chosen = env.get("QT_QPA_PLATFORM", "").strip().lower()
    if chosen:
        return chosen.split(";")[0].split(":")[0] == "xcb"
    return not env.get("WAYLAND_DISPLAY")


def xcb_plugin() -> Path | None:
    """Where PySide6's ``libqxcb.so`` is (installed wheel or frozen bundle), None if absent."""
    roots: list[Path] = []
    if getattr(sys, "frozen", False):
        roots.append(Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / "PySide6")
    spec = importlib.util.find_spec("PySide6")  # locates the package without importing Qt
    if spec is not None and spec.submodule_search_locations:
        roots.extend(Path(p) for p in spec.submodule_search_locations)
    for root in roots:
        for candidate in (
            root / "Qt" / "plugins" / "platforms" / "libqxcb.so",
            root / "plugins" / "platforms" / "libqxcb.so",
        ):
            if candidate.is_file():
                return candidate
    return None


def missing_libraries(plugin: Path, run: Runner = subprocess.run) -> list[str]:
    """Libraries ``plugin`` (and what it links) cannot find; empty when ldd is unavailable."""
    if shutil.which("ldd") is None and run is subprocess.run:
        return []
    try:
        done = run(["ldd", str(plugin)], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_ldd(done.stdout)


def install_command(packages: Sequence[str], as_root: bool = False) -> str:
    """The one line a user runs to install ``packages``."""
    prefix = "" if as_root else "sudo "
    return f"{prefix}apt-get install -y --no-install-recommends {' '.join(packages)}"


def message(
    missing: Sequence[str], packages: Sequence[str], have_apt: bool, as_root: bool = False
) -> str:
    """What to tell the user: which libraries, and the exact command that adds them."""
    head = (
        "ecgviewer: the viewer window needs system libraries this machine lacks: "
        + ", ".join(missing)
        + "."
    )
    command = install_command(packages, as_root)
    if have_apt:
        return f"{head}\nInstall them with:\n    {command}"
    return f"{head}\nInstall them with your package manager (on Debian/Ubuntu: {command})."


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def problem(env: Mapping[str, str] | None = None, run: Runner = subprocess.run) -> str | None:
    """None when Qt's X11 window can start (libraries present, a display set), else the one
    message that says what to do. Cheap (one ``ldd``, tens of ms); skipped when Qt will not
    use xcb (QT_QPA_PLATFORM=offscreen, a Wayland session)."""
    env = os.environ if env is None else env
    if not uses_xcb(env):
        return None
    plugin = xcb_plugin()
    if plugin is None:
        return None
    missing = missing_libraries(plugin, run)
    if missing:
        return message(
            missing, packages_for(missing), shutil.which("apt-get") is not None, _is_root()
        )
    if not env.get("DISPLAY"):
        return (
            "ecgviewer: no X11 display (DISPLAY is not set): start it from a desktop "
            "session, or set QT_QPA_PLATFORM=offscreen to run without a window."
        )
    return None


def install(packages: Sequence[str], run: Runner = subprocess.run) -> bool:
    """``apt-get update`` once, then install ``packages``; True when apt-get succeeded."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    print(
        f"ecgviewer: installing {' '.join(packages)} (Qt's X11 window plugin needs them)",
        file=sys.stderr,
    )
    update = run(["apt-get", "update", "-q"], env=env)
    if update.returncode != 0:
        return False
    done = run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages], env=env)
    return done.returncode == 0


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    run: Runner = subprocess.run,
    is_root: bool | None = None,
    have_apt: bool | None = None,
) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ecgviewer.qt_deps",
        description="Check that the system libraries Qt's X11 plugin needs are installed.",
    )
    parser.add_argument(
        "--install",
        action="store_true",
        help="install missing ones with apt-get when running as root (otherwise print the command)",
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    env = os.environ if env is None else env
    if not uses_xcb(env):
        return 0
    plugin = xcb_plugin()
    if plugin is None:
        return 0
    missing = missing_libraries(plugin, run)
    if not missing:
        return 0
    packages = packages_for(missing)
    is_root = _is_root() if is_root is None else is_root
    have_apt = (shutil.which("apt-get") is not None) if have_apt is None else have_apt
    if args.install and is_root and have_apt:
        if install(packages, run):
            still = missing_libraries(plugin, run)
            if not still:
                return 0
            missing, packages = still, packages_for(still)
        print(message(missing, packages, have_apt, as_root=True), file=sys.stderr)
        return 1
    print(message(missing, packages, have_apt, is_root), file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
