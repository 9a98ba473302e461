"""Headless end-to-end check of an installation: open the demo ECG, score it, export a PNG.

Run as ``ecgviewer --smoke-test OUT.png`` (the frozen bundle and the source tree alike) or
``python -m ecgviewer.smoke OUT.png``. It takes the same path as a clinician does, without a
window: the reader table opens the bundled demo ECG, the scoring job the viewer runs loads the
bundled weights (checking their sha256 against the model card) and scores it, and the report
renderer paints the paper-style page to a PNG. It then checks what a person would check: the
score is a finite number, the anomaly map is aligned to the signal, the PNG is a page-sized
image with ink on it, and the main window can be built and shown (offscreen). One JSON line
on stdout says what was found; the exit status is 0 when every check passed, 1 otherwise. It
never uses the network (``packaging/smoke_test.sh`` runs it inside a network namespace with no
interfaces to prove that).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: A page at the smoke test's resolution is ~1,200 x 800 px; a PNG of it with the grid and
#: 12 traces is well above this. A blank or failed render compresses to far less.
MIN_PNG_BYTES = 20_000
#: Share of pixels that must be non-white: grid lines and traces cover several percent.
MIN_INK_FRACTION = 0.01
DPI = 100.0


def _ink_fraction(path: Path) -> tuple[int, int, float]:
    """Width, height and share of non-white pixels of the PNG, read back from disk."""
    import numpy as np
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    if image.isNull():
        return 0, 0, 0.0
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    w, h = image.width(), image.height()
    buf = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    rgb = buf.reshape(h, image.bytesPerLine())[:, : w * 4].reshape(h, w, 4)[..., :3]
    ink = float(np.mean(np.any(rgb < 200, axis=-1)))
    return w, h, ink


def _window_opens() -> bool:
    """Build the main window offscreen, show it and close it, running no job.

    The PNG path above never imports pyqtgraph or the widgets; this does, so a frozen bundle
    that misses a module loaded by name (pyqtgraph imports QtOpenGL with importlib) fails here
    instead of on a clinician's screen. Its settings go to a throw-away data directory.
    """
    import tempfile

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory(prefix="ecgviewer-smoke-") as tmp:
        previous = os.environ.get("ECGVIEWER_DATA_DIR")
        os.environ["ECGVIEWER_DATA_DIR"] = tmp
        try:
            from ecgviewer.ui.main_window import MainWindow
            from ecgviewer.ui.review_hooks import install_or_log

            window = MainWindow()
            install_or_log(window)
            window.show()
            app.processEvents()
            shown = window.isVisible() and bool(window.menus.get("help"))
            window.close()
            window.deleteLater()
            app.processEvents()
        finally:
            if previous is None:
                os.environ.pop("ECGVIEWER_DATA_DIR", None)
            else:
                os.environ["ECGVIEWER_DATA_DIR"] = previous
    return shown


def run(
    out_png: str | os.PathLike[str],
    *,
    weights: str | None = None,
    device: str = "cpu",
    source: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Open, score and export; returns the findings (``ok`` is True when all checks passed).

    Parameters
    ----------
    out_png
        Where the report PNG is written.
    weights
        Model weights; None means the bundled ones (what an installation must have).
    device
        Torch device for scoring; CPU by default so the check means the same everywhere.
    source
        ECG file to open; None means the bundled demo ECG.

    Errors of any kind are caught and reported in the result (``error``), never raised: the
    caller wants one JSON line and an exit status.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    out = Path(out_png)
    found: dict[str, Any] = {
        "ok": False,
        "frozen": bool(getattr(sys, "frozen", False)),
        "png": str(out),
        "checks": {},
    }
    seconds: dict[str, float] = {}
    checks: dict[str, bool] = found["checks"]
    try:
        from ecgviewer import __version__
        from ecgviewer.io import read
        from ecgviewer.paths import resource

        found["app_version"] = __version__
        path = Path(source) if source else resource("demo/demo_ecg.hea")
        t = time.perf_counter()
        record = read(path)
        if isinstance(record, list):  # a collection: its first ECG
            record = record[0].load()
        record = record.with_derived_limb_leads()  # as the viewer shows and scores it
        seconds["open"] = time.perf_counter() - t
        found["record"] = {
            "source": path.name,
            "leads": len(record.leads),
            "fs": record.fs,
            "seconds": round(record.duration, 3),
        }

        from ecgviewer.analysis.batch_scoring import run_to_end
        from ecgviewer.analysis.scoring import score_record_job

        t = time.perf_counter()
        result = run_to_end(score_record_job(record, device=device, weights=weights))
        seconds["score"] = time.perf_counter() - t
        score = float(result.score)
        found["score"] = score
        found["percentile"] = result.percentile
        found["model"] = dict(result.model)
        found["flags"] = sorted(result.flags)
        torch = sys.modules.get("torch")
        if torch is not None:
            found["torch"] = {"version": torch.__version__, "cuda": torch.version.cuda}
        checks["score_finite"] = math.isfinite(score)
        amap = result.anomaly_map
        checks["map_aligned"] = tuple(amap.shape) == tuple(record.signal.shape)
        checks["model_named"] = bool(found["model"].get("version"))

        from ecgviewer.report.page import from_result
        from ecgviewer.report.render import export_png

        t = time.perf_counter()
        out.parent.mkdir(parents=True, exist_ok=True)
        export_png(from_result(record, result, title="ecgviewer smoke test"), out, dpi=DPI)
        seconds["export"] = time.perf_counter() - t
        size = out.stat().st_size if out.is_file() else 0
        w, h, ink = _ink_fraction(out)
        found.update(png_bytes=size, png_size=[w, h], ink_fraction=round(ink, 4))
        checks["png_written"] = size >= MIN_PNG_BYTES
        # Landscape A4 at DPI: 297 x 210 mm -> 1169 x 827 px.
        checks["png_page_sized"] = (
            abs(w - round(297 / 25.4 * DPI)) <= 2 and abs(h - round(210 / 25.4 * DPI)) <= 2
        )
        checks["png_has_ink"] = ink >= MIN_INK_FRACTION

        t = time.perf_counter()
        checks["window_opens"] = _window_opens()
        seconds["window"] = time.perf_counter() - t
        found["ok"] = all(checks.values())
    except Exception as exc:  # noqa: BLE001 - reported as a failed check, never a traceback
        log.exception("smoke test failed")
        found["error"] = f"{type(exc).__name__}: {exc}"
    found["seconds"] = {k: round(v, 3) for k, v in seconds.items()}
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ecgviewer.smoke OUT.png [--weights W] [--file ECG]``: one JSON line, 0/1."""
    parser = argparse.ArgumentParser(
        prog="ecgviewer --smoke-test", description="open, score and export the demo ECG headless"
    )
    parser.add_argument("out", help="PNG to write")
    parser.add_argument("--weights", default=None, help="model weights (default: bundled)")
    parser.add_argument("--file", default=None, help="ECG to open (default: bundled demo)")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    found = run(args.out, weights=args.weights, device=args.device, source=args.file)
    print(json.dumps(found, sort_keys=True), flush=True)  # CLI output: the one JSON line
    return 0 if found["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
