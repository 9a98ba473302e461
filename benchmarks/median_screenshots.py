"""Screenshots of View > Median beats and File > Compare with… for a human to look at.

    QT_QPA_PLATFORM=offscreen PYTHONPATH=$PWD python benchmarks/median_screenshots.py [OUT_DIR]

Writes (default /tmp/ecg_screens): 10_median_beats.png (the Mortara ELI 250 HL7 aECG
fixture, window fitted), 11_median_beats_true_scale.png, 12_compare.png (PTB-XL patient
11031: ECG 00200 of 1986 against 00012 of 1984, same patient, fold 8) and
13_compare_formats.png (the HL7 ECG against a 1000 Hz HL7 ECG of another producer) and
14_compare_rates.png (the HL7 ECG against itself brought to 100 Hz: both measured alike).
Prints the paths and the comparison's significant changes as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared"


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "/tmp/ecg_screens")
    out.mkdir(parents=True, exist_ok=True)
    from ecgviewer.app import create_app
    from ecgviewer.io import read
    from ecgviewer.ui import messages
    from ecgviewer.ui.main_window import MainWindow
    from tests.ui.fakes import fake_job

    app = create_app()
    messages.set_test_mode(True)

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    def wait(cond, timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while not cond() and time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)
        pump(0.2)

    win = MainWindow(scoring_job=fake_job)
    win.resize(1600, 1000)
    win.show()
    report: dict[str, object] = {}
    win.open_record(read(SHARED / "fixtures/hl7aecg/hl7_example_mortara_eli250.xml"))
    wait(lambda: win.measurements is not None)
    win.median.show_median_beats()
    wait(lambda: win.median.median_window is not None)
    mw = win.median.median_window
    mw.resize(1500, 1000)
    pump(0.2)
    mw.fit()
    pump(0.2)
    for name, widget in (("10_median_beats.png", mw), ("11_median_beats_true_scale.png", None)):
        if widget is None:
            mw.page.set_scale(mw.true_px_per_mm)
            pump(0.2)
            widget = mw
        widget.grab().save(str(out / name))
        print(out / name)
    mw.close()

    def compared(previous: object, name: str) -> object:
        """File > Compare with ``previous``: the window fitted and saved as ``name``."""
        win.median.compare_with(previous)
        wait(lambda: win.median.compare_window is not None)
        cw = win.median.compare_window
        cw.resize(1500, 1000)
        pump(0.2)
        cw.fit()
        pump(0.2)
        cw.grab().save(str(out / name))
        print(out / name)
        cw.close()
        win.median.compare_window = None
        return cw

    ptb = SHARED / "data/ptbxl/records100/00000"
    if (ptb / "00200_lr.hea").is_file() and (ptb / "00012_lr.hea").is_file():
        win.open_record(read(ptb / "00200_lr.hea"))
        wait(lambda: win.measurements is not None)
        cw = compared(str(ptb / "00012_lr.hea"), "12_compare.png")
        report["ptbxl_11031_changes"] = [c.name for c in cw.comparison.significant]
    win.open_record(read(SHARED / "fixtures/hl7aecg/hl7_example_mortara_eli250.xml"))
    wait(lambda: win.measurements is not None)
    cw = compared(
        str(SHARED / "fixtures/hl7aecg/cvrg_calecg2_example2.xml"), "13_compare_formats.png"
    )
    report["formats_changes"] = [c.name for c in cw.comparison.significant]
    # The same 500 Hz ECG against itself brought to 100 Hz: measured alike (rules alone).
    import numpy as np

    from ecgviewer.record import Record
    from ecgviewer.signal.resample import resample

    rec = win.record
    low = Record(
        resample(np.asarray(rec.signal, dtype=np.float64), rec.fs, 100.0),
        100.0,
        list(rec.leads),
        patient=rec.patient,
    )
    cw = compared(low, "14_compare_rates.png")
    report["rates_changes"] = [c.name for c in cw.comparison.significant]
    report["rates_note"] = cw.note.text()
    print(json.dumps(report))
    win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
