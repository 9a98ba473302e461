"""Screenshots of the viewer for a human to look at (not committed).

    xvfb-run -s "-screen 0 1920x1080x24" .venv/bin/python benchmarks/screenshots.py [OUT_DIR]
        [--weights PATH]   (a Detector checkpoint other than the bundled one, e.g. a preview)

Writes PNGs to OUT_DIR (default /tmp/ecg_screens): the demo ECG in 3x4 + rhythm with the
anomaly overlay, a PTB-XL abnormal record (fold 9, inferior/anterior MI) with overlay and a
finding selected, the 12x1 layout, the 6x2 layout in the dark theme with the caliper, an
error dialog, and the overlay on one fold-9 record each of a normal ECG, inferior MI, anteroseptal
MI, LBBB, RBBB, LVH, atrial fibrillation and PVCs (3x4 + rhythm, then the first finding selected:
``10_<kind>_*.png``) for a reader to judge where the heat band, the findings and the
expected-normal (ghost) trace land. The real model job is used when it is installed (ecgviewer.analysis.scoring and
bundled weights); otherwise a labelled fake overlay is drawn and the script says so.
"""

from __future__ import annotations

import ast
import csv
import importlib.util
import logging
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
PTBXL = REPO.parent / "shared" / "data" / "ptbxl"

log = logging.getLogger("screenshots")


def pick_ptbxl_abnormal(codes: tuple[str, ...] = ("IMI", "AMI", "ASMI")) -> Path | None:
    """First fold-9 record whose SCP codes include one of ``codes`` with likelihood 100."""
    table = PTBXL / "ptbxl_database.csv"
    if not table.is_file():
        return None
    with table.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["strat_fold"] != "9":
                continue
            scp = ast.literal_eval(row["scp_codes"])
            if any(scp.get(c, 0) >= 100 for c in codes):
                return PTBXL / (row["filename_lr"] + ".hea")
    return None


#: Pathologies shown by the overlay screenshots: name -> (statements, least likelihood).
#: Rhythm and form statements (AFIB, PVC) carry likelihood 0 in PTB-XL, so any mention counts.
PATHOLOGIES = {
    "normal": (("NORM",), 100.0),
    "imi": (("IMI",), 100.0),
    "asmi": (("ASMI",), 100.0),
    "lbbb": (("CLBBB",), 100.0),
    "rbbb": (("CRBBB",), 100.0),
    "lvh": (("LVH",), 100.0),
    "afib": (("AFIB",), 0.0),
    "pvc": (("PVC",), 0.0),
}


def pick_ptbxl(codes: tuple[str, ...], least: float, only: bool = False) -> Path | None:
    """First fold-9 record with one of ``codes`` at ``least`` likelihood (``only``: and no
    other diagnostic statement above 0, for the normal example)."""
    table = PTBXL / "ptbxl_database.csv"
    if not table.is_file():
        return None
    with table.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["strat_fold"] != "9":
                continue
            scp = ast.literal_eval(row["scp_codes"])
            if not any(c in scp and scp[c] >= least for c in codes):
                continue
            if only and any(v > 0 for k, v in scp.items() if k not in codes and k not in ("SR",)):
                continue
            path = PTBXL / (row["filename_lr"] + ".hea")
            if path.is_file():
                return path
    return None


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("out", nargs="?", default="/tmp/ecg_screens")
    parser.add_argument("--weights", default=None)
    args = parser.parse_args(argv[1:])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO)
    from ecgviewer.app import create_app, install_excepthooks

    app = create_app()
    install_excepthooks()
    from ecgviewer.paths import resource
    from ecgviewer.ui import messages
    from ecgviewer.ui.main_window import MainWindow
    from ecgviewer.ui.scoring_controller import default_scoring_job

    messages.set_test_mode(True)
    real = importlib.util.find_spec("ecgviewer.analysis.scoring") is not None and (
        args.weights or resource("model/weights.pt").is_file()
    )
    if real and args.weights:
        from ecgviewer.analysis.scoring import score_record_job

        def job(record, device):
            return (yield from score_record_job(record, device=device, weights=args.weights))

        print(f"NOTE: overlay from {args.weights}, not the bundled weights", file=sys.stderr)
    elif real:
        job = default_scoring_job
    else:
        from tests.ui.fakes import fake_job as job

        print("NOTE: model job or weights missing: the overlay is a FAKE test map", file=sys.stderr)

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    def wait_scored(win: MainWindow, timeout: float = 300.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            app.processEvents()
            worker = win.jobs.current("score")
            if win.result is not None or (worker is not None and worker.is_done):
                break
            time.sleep(0.02)
        pump(0.3)

    def shot(win: MainWindow, name: str) -> None:
        pump(0.3)
        screen = app.primaryScreen()
        image = screen.grabWindow(0)  # whole screen: dialogs included
        # Qt's offscreen screen is 800 x 800 unless configured (QT_QPA_PLATFORM=
        # "offscreen:configfile=..."): a screen smaller than the window would cut it.
        if image.isNull() or image.width() < win.width() or image.height() < win.height():
            image = win.grab()
        path = out / name
        image.save(str(path))
        print(path)

    win = MainWindow(scoring_job=job)
    win.state.layout = "3x4"
    win.state.dark = False
    win._apply_theme()
    win.setGeometry(0, 0, 1920, 1050)
    win.show()
    pump(0.5)

    # 1. demo ECG, 3x4 + rhythm, overlay
    if resource("demo/demo_ecg.hea").is_file():
        win.files.open_demo()
    else:
        from ecgviewer.record import Record
        from ecgviewer.signal.synthetic import synthetic_ecg

        syn = synthetic_ecg(pvc_at=4.2, seed=3)
        win.open_record(
            Record(syn.signal, syn.fs, list(syn.leads), source="synthetic (demo missing)"),
            title_note="SYNTHETIC demo ECG (generated: bundled demo missing)",
        )
    win.set_layout("3x4")
    wait_scored(win)
    shot(win, "01_demo_3x4_overlay.png")

    # 2. PTB-XL abnormal record with overlay, first finding selected
    ptb = pick_ptbxl_abnormal()
    if ptb is not None:
        win.open_path(ptb)
        wait_scored(win)
        shot(win, "02_ptbxl_abnormal_3x4_overlay.png")
        win.step_finding(1)
        pump(0.2)
        shot(win, "03_ptbxl_abnormal_finding_selected.png")
        win.set_layout("6x2")
        shot(win, "03b_ptbxl_abnormal_6x2.png")
        # 3. 12x1, true scale then fitted to the window
        win.set_layout("12x1")
        shot(win, "04_ptbxl_abnormal_12x1.png")
        win.set_fit_to_window(True)
        shot(win, "05_ptbxl_abnormal_12x1_fit.png")
        win.set_fit_to_window(False)
        lbbb = pick_ptbxl_abnormal(("CLBBB",))
        if lbbb is not None:  # large QRS in V1-V3: clipped to their rows
            win.open_path(lbbb)
            wait_scored(win)
            shot(win, "05b_ptbxl_lbbb_12x1.png")
            win.open_path(ptb)
            wait_scored(win)
        # 4. 6x2, dark theme, caliper
        win.set_layout("6x2")
        win.set_dark(True)
        win.actions["caliper"].setChecked(True)
        win.set_caliper(True)
        shot(win, "06_ptbxl_6x2_dark_caliper.png")
        win.set_caliper(False)
        win.actions["caliper"].setChecked(False)
        win.set_dark(False)
    else:
        print("PTB-XL not found: skipped the PTB-XL screenshots", file=sys.stderr)

    # 5. the overlay on real pathology: where a cardiologist would look
    for name, (codes, least) in PATHOLOGIES.items():
        path = pick_ptbxl(codes, least, only=name == "normal")
        if path is None:
            print(f"no fold-9 record for {name}: skipped", file=sys.stderr)
            continue
        win.set_layout("3x4")  # stepping to a finding may have switched it
        win.open_path(path)
        wait_scored(win)
        shot(win, f"10_{name}_{path.stem}_3x4.png")
        if win.findings:
            win.step_finding(1)
            pump(0.2)
            shot(win, f"10_{name}_{path.stem}_finding1.png")
            win.enlarge_lead(None)

    # 6. error dialog over the ECG (the previous ECG stays on screen)
    bad = out / "broken_recording.edf"
    bad.write_bytes(b"0       " + bytes(range(256)) * 4)
    win.set_layout("3x4")
    win.open_path(bad)
    box = messages.shown[-1] if messages.shown else None
    if box is not None:
        box.move(700, 400)
    shot(win, "07_error_dialog.png")
    if box is not None:
        box.close()
    bad.unlink()
    # 6. an error in a fresh window: no placeholder patient values
    fresh = MainWindow(scoring_job=job)
    fresh.setGeometry(0, 0, 1920, 1050)
    fresh.show()
    pump(0.3)
    bad.write_bytes(b"0       " + bytes(range(256)) * 4)
    fresh.open_path(bad)
    for b in list(messages.shown):
        b.close()
    shot(fresh, "08_error_in_an_empty_window.png")
    fresh.close()
    bad.unlink()
    win.close()
    pump(0.2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
