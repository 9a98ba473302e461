"""The one scoring loop: reading ahead of the model, isolating a bad ECG, in every batch job."""

from __future__ import annotations

import io as stdio
import threading
import time
from contextlib import closing
from pathlib import Path

import numpy as np

from ecgviewer.analysis.archive import score_archive
from ecgviewer.analysis.batch_scoring import read_ahead, score_many_isolated
from ecgviewer.analysis.long_recording import scored_windows
from ecgviewer.errors import ECGError, MissingLeadsError
from ecgviewer.record import STANDARD_LEADS, Record
from tests.analysis.fake_detector import FakeDetector
from tests.analysis.wfdb_folder import write_folder, write_record


def test_read_ahead_keeps_order_and_reads_the_next_chunk_while_this_one_is_used():
    started: list[int] = []
    next_read = threading.Event()

    def load(n: int) -> int:
        started.append(n)
        if n == 1:
            next_read.set()
        return n * 10

    seen = []
    for value in read_ahead([0, 1, 2], load, "test-read"):
        if value == 0:  # chunk 1 is read while the caller still holds chunk 0
            assert next_read.wait(10)
        seen.append(value)
    assert seen == [0, 10, 20] and started == [0, 1, 2]


def test_closing_read_ahead_stops_reading():
    started: list[int] = []

    def load(n: int) -> int:
        started.append(n)
        time.sleep(0.05)
        return n

    with closing(read_ahead(list(range(10)), load, "test-read")) as loaded:
        assert next(loaded) == 0
    assert started in ([0], [0, 1])  # at most the read in flight; nothing after it
    assert list(read_ahead([], load, "test-read")) == []


def _record(n_leads: int, peak: float) -> Record:
    sig = np.zeros((n_leads, 1000), np.float32)
    sig[0, 500] = peak
    return Record(sig, 100.0, list(STANDARD_LEADS[:n_leads]))


def test_a_bad_ecg_is_isolated_and_the_rest_scored():
    det = FakeDetector(fail_leads_below=12)
    out = score_many_isolated(det, [_record(12, 1.0), _record(2, 2.0), _record(12, 3.0)], 8)
    assert isinstance(out[1], MissingLeadsError)
    assert [o.score for o in (out[0], out[2])] == [1.0, 3.0]


def test_archive_run_isolates_a_bad_ecg_in_its_chunk(tmp_path: Path) -> None:
    """A detector that raises for a whole batch used to stop the archive run."""
    folder = tmp_path / "archive"
    write_folder(folder, [1.0, 3.0])
    write_record(folder, "rec0002", 2.0, leads=("I", "II"))
    out = tmp_path / "results.csv"
    score_archive(
        folder, out, FakeDetector(fail_leads_below=12), chunk=8, progress=stdio.StringIO()
    )
    rows = {Path(r.split(",")[0]).stem: r for r in out.read_text().splitlines()[1:]}
    assert set(rows) == {"rec000", "rec001", "rec0002"}
    assert "needs more leads" in rows["rec0002"]
    assert "needs more leads" not in rows["rec000"] + rows["rec001"]


class _NaNPages(Record):
    """A recording whose 20-30 s window cannot be read (as a page with NaN samples)."""

    def slice(self, t0: float, t1: float) -> Record:
        if 20.0 <= t0 < 30.0:
            raise ECGError(self.source, "page has NaN samples")
        return super().slice(t0, t1)


def test_scored_windows_say_why_each_window_was_not_scored():
    fs = 100.0
    sig = np.tile(0.3 * np.sin(np.arange(int(41 * fs)) / 10.0), (12, 1)).astype(np.float32)
    rec = _NaNPages(sig, fs, list(STANDARD_LEADS))
    det = FakeDetector()
    out = [
        o
        for part in scored_windows(rec, range(5), 10.0, lambda: det, chunk=2, batch=8)
        for o in part
    ]
    assert [i for i, _ in out] == [0, 1, 2, 3, 4]
    assert isinstance(out[2][1], ECGError) and "NaN" in out[2][1].problem
    assert out[4][1] is None  # the 1 s tail: too short for beats
    assert det.batches == [2, 1]  # windows 0-1, then 3 (2 unreadable, 4 too short)
