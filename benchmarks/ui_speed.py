"""Viewer speed figures, printed as JSON.

    .venv/bin/python benchmarks/ui_speed.py [--repeats N]

- cold_start_s: a fresh ``python`` process to the first paint of the demo ECG (target < 2 s).
- open_and_draw_ms: open + lay out + paint a 10 s 12-lead PTB-XL record (median, < 150 ms).
- pan_frame_ms: one pan step + synchronous repaint of a 2x zoomed 12x1 page (median, < 16 ms).
- scoring_stall_ms: longest gap beyond the 10 ms timer period while the model runs (< 50 ms).

Runs headless (QT_QPA_PLATFORM=offscreen unless set). The scoring figure uses the real model
job when it is installed (ecgviewer.analysis.scoring + bundled weights), otherwise a CPU-bound
stand-in, and says which in ``scoring_job``.
"""

from __future__ import annotations

import argparse
import ast
import csv
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
PTBXL = REPO.parent / "shared" / "data" / "ptbxl"

CHILD = r"""
import sys, time
t_import = time.perf_counter()
from PySide6.QtCore import QEvent, QObject
from ecgviewer.app import create_app
app = create_app()
from ecgviewer.ui.main_window import MainWindow
from ecgviewer.paths import resource
win = MainWindow()
class First(QObject):
    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Type.Paint and win.record is not None:
            print("drawn", flush=True)
            app.quit()
        return False
f = First()
win.plot.viewport().installEventFilter(f)
win.show()
path = sys.argv[1]
if path == "demo":
    win.open_demo()
else:
    win.open_path(path)
app.exec()
win.jobs.cancel_all()
win.jobs.wait_all(5.0)
"""


def cold_start(target: str, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, target], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == "drawn":
            elapsed = time.perf_counter() - t0
            break
    else:
        raise RuntimeError("the child never drew the ECG")
    proc.wait(timeout=60)
    return elapsed


def ptbxl_paths(n: int) -> list[Path]:
    out = []
    with (PTBXL / "ptbxl_database.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["strat_fold"] == "9" and ast.literal_eval(row["scp_codes"]):
                out.append(PTBXL / (row["filename_lr"] + ".hea"))
            if len(out) >= n:
                break
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--weights", default=None, help="a Detector checkpoint (default: bundled)")
    args = parser.parse_args()
    from PySide6.QtCore import QElapsedTimer, QTimer

    from ecgviewer.app import create_app
    from ecgviewer.paths import resource

    app = create_app()
    from ecgviewer.ui import messages
    from ecgviewer.ui.main_window import MainWindow, default_scoring_job
    from tests.ui.fakes import fake_result

    messages.set_test_mode(True)
    out: dict[str, object] = {"platform": platform.platform(), "cpus": os.cpu_count(),
                              "qpa": os.environ.get("QT_QPA_PLATFORM")}

    # 1. cold start (separate processes, own data dir so no saved state interferes)
    demo = resource("demo/demo_ecg.hea")
    target = "demo" if demo.is_file() else str(ptbxl_paths(1)[0])
    out["cold_start_target"] = "demo ECG" if target == "demo" else f"{target} (demo missing)"
    env = dict(os.environ)
    env["ECGVIEWER_DATA_DIR"] = str(Path("/tmp") / f"ecg_bench_{os.getpid()}")
    starts = [cold_start(target, env) for _ in range(3)]
    out["cold_start_s"] = round(statistics.median(starts), 3)
    out["cold_start_runs_s"] = [round(s, 3) for s in starts]

    def idle_job(record, device):
        return fake_result(record)
        yield  # unreachable: makes this function a generator

    def pump(seconds: float = 0.0) -> None:
        end = time.monotonic() + seconds
        app.processEvents()
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.005)

    win = MainWindow(scoring_job=idle_job)
    win.resize(1600, 1000)
    win.show()
    pump(0.3)

    # 2. open and draw 10 s 12-lead PTB-XL records
    paths = ptbxl_paths(args.repeats + 2)
    win.open_path(paths[0])
    pump(0.2)
    times = []
    for path in paths[1:]:
        win.jobs.wait_all(2.0)
        pump(0.02)
        t = time.perf_counter()
        ok = win.open_path(path)
        win.plot.viewport().repaint()
        times.append((time.perf_counter() - t) * 1000)
        assert ok, path
    out["open_and_draw_ms"] = round(statistics.median(times), 1)
    out["open_and_draw_max_ms"] = round(max(times), 1)

    # 3. pan frames on a zoomed 12x1 page
    win.set_layout("12x1")
    win.plot.reset_view()
    win.plot.zoom(2.0)
    pump(0.1)
    frames = []
    for i in range(120):
        t = time.perf_counter()
        win.plot.pan(0.02 if (i // 30) % 2 == 0 else -0.02, 0.0)
        win.plot.viewport().repaint()
        frames.append((time.perf_counter() - t) * 1000)
    out["pan_frame_ms"] = round(statistics.median(frames), 2)
    out["pan_frame_p95_ms"] = round(sorted(frames)[int(0.95 * len(frames))], 2)

    # 4. event-loop stall while scoring
    real = (importlib.util.find_spec("ecgviewer.analysis.scoring") is not None
            and (args.weights or resource("model/weights.pt").is_file()))
    if real:
        if args.weights:
            from ecgviewer.analysis.scoring import score_record_job

            win.scoring_job = lambda r, d: score_record_job(r, device=d, weights=args.weights)
        else:
            win.scoring_job = default_scoring_job
        out["scoring_job"] = f"real model job, weights {args.weights or 'bundled'}"
        win.set_layout("3x4")
        win.start_scoring()  # warm-up: imports torch, loads the weights
        w = win.jobs.current("score")
        while not w.is_done:
            pump(0.05)
    else:
        from tests.ui.test_main_window import _busy_job

        win.scoring_job = _busy_job
        out["scoring_job"] = "CPU-bound stand-in (model job not installed)"
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    t = time.perf_counter()
    win.start_scoring()
    w = win.jobs.current("score")
    while not w.is_done:
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    pump(0.1)  # deliver the queued finished signal
    out["scoring_s"] = round(time.perf_counter() - t, 2)
    out["scoring_max_timer_gap_ms"] = max(gaps) if gaps else None
    out["scoring_stall_ms"] = max(0, max(gaps) - 10) if gaps else None
    out["scoring_result"] = "ok" if win.result is not None else "no result"
    out["targets"] = {"cold_start_s": 2.0, "open_and_draw_ms": 150, "pan_frame_ms": 16,
                      "scoring_stall_ms": 50}
    win.close()
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
