"""Screenshots of the review workflow for a human to look at (not committed).

    xvfb-run -s "-screen 0 1920x1080x24" .venv/bin/python benchmarks/worklist_screenshots.py [OUT]

Writes to OUT (default /tmp/ecg_worklist_screens):
- ``worklist.png``: 60 PTB-XL records (fold 9, normals and abnormals) from a PTB-XL style
  database CSV, scored, a few reviewed, one selected with its note;
- ``overview.png``: a generated 6 h 12-lead Holter EDF (one PVC an hour) in the viewer with
  the long-recording overview dock, scored window by window, at its top finding;
- ``report_a4.png`` / ``report_letter.png``: the PDF reports rendered to PNG by pdftoppm.
Scores come from the bundled model when its weights exist, else from a stand-in (peak
amplitude) and the window titles say so.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
PTBXL = REPO.parent / "shared" / "data" / "ptbxl"


def wait(app, cond, timeout: float = 120.0) -> None:
    t = time.perf_counter()
    while not cond() and time.perf_counter() - t < timeout:
        app.processEvents()
        time.sleep(0.01)


def pick_detector():
    from ecgviewer.paths import resource

    if resource("model/weights.pt").is_file():
        return None, ""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from worklist_speed import StandIn

    return StandIn(), " [stand-in scores: no bundled weights]"


def ptbxl_subset(tmp: Path, n: int = 60) -> Path:
    """A database CSV of ``n`` fold-9 records beside a link to the shared records."""
    rows = []
    with (PTBXL / "ptbxl_database.csv").open(newline="") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames
        for row in reader:
            if row["strat_fold"] == "9":
                rows.append(row)
            if len(rows) >= n:
                break
    base = tmp / "ptbxl"
    base.mkdir()
    (base / "records100").symlink_to(PTBXL / "records100")
    with (base / "ptbxl_database.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    return base / "ptbxl_database.csv"


def shot_worklist(app, out: Path, tmp: Path, det, note: str) -> None:
    from ecgviewer.review.store import ReviewStore
    from ecgviewer.ui.worklist_window import WorklistWindow

    store = ReviewStore(tmp / "shots.sqlite3")
    win = WorklistWindow(store=store, detector=det)
    win.resize(1500, 850)
    win.show()
    win.toolbar.reviewer_edit.setText("Dr A. Example")
    worker = win.open_source(ptbxl_subset(tmp))
    wait(app, lambda: worker.is_done)
    app.processEvents()
    win.setWindowTitle(win.windowTitle() + note)
    win._select(0)
    win.mark("abnormal")
    win.mark("normal")
    win.mark("abnormal")
    win._select(2)
    win.edit_note()
    win.details.note_edit.setPlainText("Q waves II, III, aVF: old inferior MI? Compare with prior.")
    win.save_note()
    win._select(3)
    app.processEvents()
    time.sleep(0.2)
    app.processEvents()
    win.grab().save(str(out / "worklist.png"))
    win.close()
    store.close()


def write_ptbxl_holter(path: Path, hours: float, every_s: float = 2700.0) -> list[float]:
    """Real ECGs end to end: PTB-XL normals (folds 1-8) with a fold-9 myocardial infarction
    ECG every ``every_s`` seconds, as one 100 Hz 12-lead EDF+. Returns the abnormal onsets."""
    import ast

    import numpy as np
    import pyedflib
    import wfdb

    normals, abnormals = [], []
    with (PTBXL / "ptbxl_database.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            scp = ast.literal_eval(row["scp_codes"])
            if row["strat_fold"] != "9" and set(scp) <= {"NORM", "SR"} and scp.get("NORM") == 100:
                normals.append(row["filename_lr"])
            elif row["strat_fold"] == "9" and any(
                scp.get(c, 0) >= 100 for c in ("IMI", "AMI", "ASMI")
            ):
                abnormals.append(row["filename_lr"])
    n = int(hours * 360)
    onsets, names = [], []
    for k in range(n):
        if k and (k * 10) % int(every_s) == 0:
            names.append(abnormals[len(onsets) % len(abnormals)])
            onsets.append(k * 10.0)
        else:
            names.append(normals[k % len(normals)])
    leads = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    writer = pyedflib.EdfWriter(str(path), 12, file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        writer.setSignalHeaders(
            [
                {
                    "label": name,
                    "dimension": "mV",
                    "sample_frequency": 100,
                    "physical_max": 10.0,
                    "physical_min": -10.0,
                    "digital_max": 32767,
                    "digital_min": -32768,
                    "transducer": "",
                    "prefilter": "",
                }
                for name in leads
            ]
        )
        writer.setPatientCode("PTBXL-JOINED")
        for a in range(0, n, 30):
            block = [wfdb.rdrecord(str(PTBXL / name)).p_signal for name in names[a : a + 30]]
            data = np.clip(np.nan_to_num(np.concatenate(block, axis=0)), -9.9, 9.9).T
            writer.writeSamples([np.ascontiguousarray(x, dtype=np.float64) for x in data])
    finally:
        writer.close()
    return onsets


def shot_overview(app, out: Path, tmp: Path, det, note: str, hours: float = 6.0) -> None:
    """A long recording in the viewer with the overview dock, scored, at its top finding.

    With PTB-XL at hand: real ECGs joined (a fold-9 MI every 45 min); else a synthetic Holter.
    """
    from ecgviewer.app import install_review_features
    from ecgviewer.ui.main_window import MainWindow
    from tests.analysis.holter import write_holter_edf

    path = tmp / f"holter_{hours:g}h.edf"
    if (PTBXL / "ptbxl_database.csv").is_file():
        onsets = write_ptbxl_holter(path, hours)
        print("abnormal ECGs at (s):", onsets)
    else:
        write_holter_edf(path, hours=hours, fs=250, pvc_every_s=3600)
    main = MainWindow()
    install_review_features(main)
    panel = main.review.overview
    panel.detector = det
    main.resize(1600, 1000)
    main.show()
    main.open_path(path)
    wait(app, lambda: panel.state is not None and panel.state.complete, timeout=900)
    wait(app, lambda: panel.worker is None or panel.worker.is_done)
    panel.step_finding(1)
    for _ in range(30):
        app.processEvents()
        time.sleep(0.05)
    main.setWindowTitle(main.windowTitle() + note)
    main.grab().save(str(out / "overview.png"))
    main.close()


def shot_reports(out: Path, tmp: Path, real_model: bool) -> None:
    """A PTB-XL abnormal record scored by the bundled model (or a synthetic one, fake map)."""
    from datetime import UTC, datetime

    import numpy as np

    from ecgviewer.record import Patient, Record
    from ecgviewer.report.page import from_result
    from ecgviewer.report.render import export_pdf
    from ecgviewer.review.store import Review
    from ecgviewer.signal.filters import DisplayFilter

    review = Review(
        "x",
        "abnormal",
        "Q waves and T inversion in II, III, aVF: inferior MI? Compare with the previous ECG.",
        "Dr A. Example",
        datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
    )
    sys.path.insert(0, str(REPO / "benchmarks"))
    from screenshots import pick_ptbxl_abnormal

    path = pick_ptbxl_abnormal() if real_model else None
    if path is not None:
        from ecgviewer import io
        from ecgviewer.analysis.scoring import get_detector

        rec = io.read(path)
        res = get_detector(None, "cpu").score(rec)
    else:
        from ecgviewer.signal.synthetic import synthetic_ecg
        from tests.ui.fakes import fake_result

        s = synthetic_ecg(fs=500, duration=10, pvc_at=6.0, seed=3)
        rec = Record(
            s.signal,
            s.fs,
            list(s.leads),
            start=datetime(2024, 5, 1, 10, 22, 3),
            patient=Patient("PAT-00042", 63, "F"),
            source="/data/demo_ecg.hea",
            format="wfdb",
            device="synthetic cart",
        )
        pvc = next(b for b in s.beats if b.kind == "V")
        res = fake_result(rec, ("V2", pvc.qrs_onset - 0.05, pvc.t_end + 0.05))
        a, b = int((pvc.qrs_onset - 0.05) * s.fs), int((pvc.t_end + 0.05) * s.fs)
        res.anomaly_map[:] = 0.0
        res.anomaly_map[:, a:b] = np.hanning(b - a)[None, :]
    content = from_result(rec, res, review=review, display_filter=DisplayFilter())
    for paper in ("A4", "Letter"):
        pdf = export_pdf(content, tmp / f"report_{paper}.pdf", paper)
        shutil.copy(pdf, out / f"report_{paper.lower()}.pdf")
        if shutil.which("pdftoppm"):
            subprocess.run(
                [
                    "pdftoppm",
                    "-r",
                    "110",
                    "-png",
                    "-singlefile",
                    str(pdf),
                    str(out / f"report_{paper.lower()}"),
                ],
                check=True,
            )


def main() -> int:
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default="/tmp/ecg_worklist_screens")
    ap.add_argument("--only", default="report,worklist,overview", help="comma-separated shots")
    ap.add_argument("--hours", type=float, default=6.0, help="length of the generated Holter")
    args = ap.parse_args()
    only = set(args.only.split(","))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="ecg_shots_"))
    os.environ["ECGVIEWER_DATA_DIR"] = str(tmp)
    from PySide6.QtWidgets import QApplication

    from ecgviewer.ui import messages

    app = QApplication.instance() or QApplication(sys.argv[:1])
    messages.set_test_mode(True, auto_close_ms=2000)
    det, note = pick_detector()
    if "report" in only:
        shot_reports(out, tmp, det is None)
    if "worklist" in only:
        shot_worklist(app, out, tmp, det, note)
    if "overview" in only:
        shot_overview(app, out, tmp, det, note, args.hours)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"screenshots in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
