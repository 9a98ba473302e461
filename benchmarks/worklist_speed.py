"""Worklist and long-recording speed; prints one JSON object.

    .venv/bin/python benchmarks/worklist_speed.py [--records 1000] [--hours 24] [--scored 256]

Figures (issue 5):
- ``worklist_ecg_per_s`` vs ``detector_ecg_per_s``: ECGs scored per second by the worklist job
  (hashing, reading, cache writes included; the model loaded beforehand) against the Detector's
  own ``score_many`` on the same records already in memory, on CPU. Needs the bundled weights;
  null with a reason otherwise.
- ``first_row_s``: a folder of ``--records`` generated WFDB records opened in the worklist
  window: time from ``open_source`` until the table shows its first rows (offscreen Qt).
- ``edf_24h``: a generated 12-lead 250 Hz EDF+ of ``--hours``: open time, time to the first
  10 s page, full-recording scoring time (window by window, batches of 32; with the real model
  when its weights exist, else a stand-in that only measures our pipeline, as stated), and
  the peak resident memory of that process (run apart, so nothing else counts).

``--weights PATH`` uses another Detector checkpoint (e.g. a training run's) instead.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


WEIGHTS: str | None = None  # --weights: a checkpoint other than the bundled one


def _weights() -> Path | None:
    from ecgviewer.paths import resource as res

    w = Path(WEIGHTS) if WEIGHTS else res("model/weights.pt")
    return w if w.is_file() else None


class StandIn:
    """Scores by peak amplitude: measures the pipeline around the model, not the model."""

    model_info = {"name": "stand-in", "version": "0", "sha256": "0" * 64}

    def score_many(self, records, batch=32):
        import numpy as np

        out = []
        for r in records:
            d = r.data()
            out.append(
                type(
                    "R",
                    (),
                    {
                        "score": float(np.abs(d).max()),
                        "percentile": None,
                        "lead_scores": {},
                        "beats": [(0.0, 1.0, float(np.abs(d).max()), {})],
                        "flags": set(),
                        "model": self.model_info,
                    },
                )()
            )
        return out


def write_folder(root: Path, n: int, fs: int = 100) -> None:
    import numpy as np
    import wfdb

    from ecgviewer.record import STANDARD_LEADS

    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    t = np.arange(10 * fs) / fs
    base = 0.1 * np.sin(2 * np.pi * 1.2 * t)[:, None] * np.ones((1, 12))
    for i in range(n):
        sig = base + rng.normal(0, 0.02, base.shape)
        wfdb.wrsamp(
            f"r{i:05d}",
            fs=fs,
            units=["mV"] * 12,
            sig_name=list(STANDARD_LEADS),
            p_signal=sig,
            fmt=["16"] * 12,
            adc_gain=[1000.0] * 12,
            baseline=[0] * 12,
            write_dir=str(root),
        )


def first_row(folder: Path, data_dir: Path) -> dict:
    os.environ["ECGVIEWER_DATA_DIR"] = str(data_dir)
    from PySide6.QtWidgets import QApplication

    from ecgviewer.review.store import ReviewStore
    from ecgviewer.ui.worklist_window import WorklistWindow

    app = QApplication.instance() or QApplication([])
    store = ReviewStore(data_dir / "bench.sqlite3")
    win = WorklistWindow(store=store, detector=StandIn())
    win.show()
    t0 = time.perf_counter()
    win.open_source(folder)
    while win.model.rowCount() == 0 and time.perf_counter() - t0 < 60:
        app.processEvents()
    first = time.perf_counter() - t0
    n_first = win.model.rowCount()
    while win.worker is not None and not win.worker.is_done:
        app.processEvents()
        time.sleep(0.005)
    total = time.perf_counter() - t0
    win.close()
    store.close()
    return {
        "first_row_s": round(first, 3),
        "rows_in_first_update": n_first,
        "all_rows_listed_and_stand_in_scored_s": round(total, 2),
    }


def throughput(n: int, tmp: Path) -> dict:
    weights = _weights()
    if weights is None:
        return {
            "worklist_ecg_per_s": None,
            "detector_ecg_per_s": None,
            "throughput_note": "no bundled weights (resources/model/weights.pt): not measured",
        }
    from ecgviewer import io
    from ecgviewer.analysis.scoring import get_detector
    from ecgviewer.analysis.worklist_jobs import worklist_job
    from ecgviewer.analysis.worklist_sources import scan_folder
    from ecgviewer.io.files import ecg_files
    from ecgviewer.review.store import ReviewStore

    shared = REPO.parent / "shared" / "data" / "ptbxl" / "records100"
    if shared.is_dir():
        heads = [f.path for f in islice(ecg_files(shared), n) if f.problem is None]
        folder = tmp / "ptbxl_copy"
        folder.mkdir()
        for h in heads:  # symlinks: the worklist reads the real files
            for f in (h, h.with_suffix(".dat")):
                (folder / f.name).symlink_to(f)
        source = "PTB-XL 100 Hz records"
    else:
        folder = tmp / "tp"
        write_folder(folder, n)
        source = "generated 100 Hz records"
    det = get_detector(WEIGHTS, "cpu")
    records = [io.read(e.source) for e in scan_folder(folder)]
    det.score_many(records[:8], batch=64)  # warm-up
    # Interleaved, best of 2 each: this machine's other load varies from minute to minute.
    det_rate = wl_rate = 0.0
    for rep in range(2):
        t = time.perf_counter()
        det.score_many(records, batch=64)
        det_rate = max(det_rate, len(records) / (time.perf_counter() - t))
        store = ReviewStore(tmp / f"tp{rep}.sqlite3")  # empty cache: every ECG is scored
        t = time.perf_counter()
        for _ in worklist_job(folder, store, det, batch=64, chunk=16):
            pass
        wl_rate = max(wl_rate, len(records) / (time.perf_counter() - t))
        store.close()
    return {
        "worklist_ecg_per_s": round(wl_rate, 1),
        "detector_ecg_per_s": round(det_rate, 1),
        "worklist_vs_detector": round(wl_rate / det_rate, 3),
        "throughput_records": len(records),
        "throughput_source": source,
        "throughput_device": "cpu",
    }


def _vm(key: str) -> float:
    """VmHWM (peak) or VmRSS of this process in MB. Not getrusage: its ru_maxrss survives
    execve, so a child would report the parent's peak."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def edf_part(path: Path, data_dir: Path) -> dict:
    """Runs in its own process (peak memory of this part alone)."""
    os.environ["ECGVIEWER_DATA_DIR"] = str(data_dir)
    from ecgviewer import io
    from ecgviewer.analysis.long_recording import long_recording_job

    rss0 = _vm("VmHWM")
    t = time.perf_counter()
    rec = io.read(path)
    t_open = time.perf_counter() - t
    page = rec.slice(0.0, 10.0)
    t_page = time.perf_counter() - t
    paged = type(rec.signal).__name__
    weights = _weights()
    if weights is not None:
        from ecgviewer.analysis.scoring import get_detector

        det = get_detector(WEIGHTS, "cpu")
        kind = f"model {weights.name} on CPU"
    else:
        det = StandIn()
        kind = "stand-in detector (no bundled weights): reading + windowing + job overhead only"
    t = time.perf_counter()
    state = None
    job = long_recording_job(rec, None, det, window_s=10.0, batch=32)
    try:
        while True:
            next(job)
    except StopIteration as stop:
        state = stop.value
    t_score = time.perf_counter() - t
    peak_mb = _vm("VmHWM")
    return {
        "file_mb": round(path.stat().st_size / 2**20, 1),
        "duration_h": round(rec.duration / 3600, 2),
        "leads": rec.n_leads,
        "fs": rec.fs,
        "signal_type": paged,
        "open_s": round(t_open, 3),
        "first_page_s": round(t_page, 3),
        "first_page_shape": list(page.signal.shape),
        "scoring_s": round(t_score, 1),
        "windows": state.n_windows if state else None,
        "scored_with": kind,
        "peak_rss_mb": round(peak_mb, 1),
        "peak_rss_before_open_mb": round(rss0, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1000)
    ap.add_argument("--scored", type=int, default=256, help="records for the throughput figure")
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--weights", help="a Detector checkpoint instead of the bundled weights")
    ap.add_argument("--edf-part", help=argparse.SUPPRESS)
    ap.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    global WEIGHTS
    WEIGHTS = args.weights
    if args.edf_part:
        print(json.dumps(edf_part(Path(args.edf_part), Path(args.data_dir))))
        return 0
    out: dict = {"cpu_count": os.cpu_count()}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        folder = tmp / "folder"
        t = time.perf_counter()
        write_folder(folder, args.records)
        out["records"] = args.records
        out["records_written_s"] = round(time.perf_counter() - t, 1)
        out.update(first_row(folder, tmp))
        out.update(throughput(args.scored, tmp))
        sys.path.insert(0, str(REPO))
        from tests.analysis.holter import write_holter_edf

        edf = tmp / "holter.edf"
        t = time.perf_counter()
        write_holter_edf(edf, hours=args.hours, fs=250)
        gen_s = time.perf_counter() - t
        res = subprocess.run(
            [sys.executable, __file__, "--edf-part", str(edf), "--data-dir", str(tmp)]
            + (["--weights", WEIGHTS] if WEIGHTS else []),
            capture_output=True,
            text=True,
            check=True,
        )
        part = json.loads(res.stdout.strip().splitlines()[-1])
        part["generated_s"] = round(gen_s, 1)
        out["edf_24h"] = part
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
