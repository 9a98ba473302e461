"""Render ecgviewer.svg to the PNG sizes the desktop and the freezer want.

Run from the repository root: ``python resources/icons/make_icons.py``. The PNGs are committed
(they are small), so a build needs no SVG renderer; rerun this after editing the SVG.
Windows/macOS builds turn the 256 px PNG into .ico/.icns (PyInstaller does that with Pillow).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = (16, 32, 48, 64, 128, 256, 512)


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841
    renderer = QSvgRenderer(str(HERE / "ecgviewer.svg"))
    if not renderer.isValid():
        print("ecgviewer.svg is not a valid SVG", file=sys.stderr)
        return 1
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        out = HERE / f"ecgviewer-{size}.png"
        if not image.save(str(out), "PNG"):
            print(f"cannot write {out}", file=sys.stderr)
            return 1
        print(out.relative_to(HERE.parent.parent))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
