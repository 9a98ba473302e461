"""UI test set-up: test-mode dialogs, a window with a fake model job, records to open."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from ecgviewer.record import Record, normalize_lead_name
from tests.ui.fakes import fake_job


@pytest.fixture(autouse=True)
def _dialogs_in_test_mode():
    from ecgviewer.ui import messages

    messages.set_test_mode(True)
    messages.shown.clear()
    yield
    for box in messages.shown:
        box.close()
    messages.shown.clear()


@pytest.fixture
def window(qtbot):
    """A main window (isolated settings via the per-test data dir) with a fast fake model."""
    from ecgviewer.ui.main_window import MainWindow

    win = MainWindow(scoring_job=fake_job)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.jobs.cancel_all()
    win.jobs.wait_all(3.0)
    import gc

    gc.unfreeze()  # the scoring controller froze the heap: let tests' garbage go


def ptbxl_record(ptbxl_dir: Path, rel: str = "records100/00000/00001_lr") -> Record:
    """A PTB-XL record through our reader when it exists, else through wfdb directly."""
    path = ptbxl_dir / (rel + ".hea")
    if importlib.util.find_spec("ecgviewer.io.wfdb_format") is not None:
        from ecgviewer import io

        rec = io.read(path)
        assert isinstance(rec, Record)
        return rec
    import wfdb

    raw = wfdb.rdrecord(str(ptbxl_dir / rel))
    return Record(
        raw.p_signal.T.astype(np.float32),
        raw.fs,
        [normalize_lead_name(n) for n in raw.sig_name],
        source=str(path),
        format="wfdb",
    )


def synthetic_12lead(fs: float = 500.0, seconds: float = 10.0) -> Record:
    """Spiky 12-lead test ECG: a 1 mV R wave every second in every lead."""
    n = int(fs * seconds)
    t = np.arange(n) / fs
    beat = np.exp(-0.5 * ((t % 1.0 - 0.5) / 0.01) ** 2).astype(np.float32)
    leads = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    sig = np.stack([beat * (1 + 0.1 * i) for i in range(12)])
    return Record(sig, fs, leads, source="synthetic.hea", format="test")
