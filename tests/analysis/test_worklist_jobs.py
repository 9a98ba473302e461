"""Worklist job: fills from a folder, sorts by score, reuses cached scores, isolates bad files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from ecgviewer.analysis.worklist_jobs import worklist_job
from ecgviewer.analysis.worklist_sources import scan_ptbxl_csv
from ecgviewer.review.store import Review, ReviewStore
from ecgviewer.review.worklist import CACHED, ERROR, PENDING, SCORED, Worklist
from tests.analysis.fake_detector import FakeDetector
from tests.analysis.wfdb_folder import write_folder, write_record

PEAKS = [0.8, 2.5, 1.1, 4.0, 0.5, 3.2, 1.7, 2.0, 0.9, 3.7, 1.3, 2.9]


def run(job):
    """Step a job to the end like the UI Worker; returns (progress list, result)."""
    progress = []
    try:
        while True:
            progress.append(next(job))
    except StopIteration as stop:
        return progress, stop.value


@pytest.fixture
def folder(tmp_path: Path) -> tuple[Path, dict[str, float]]:
    root = tmp_path / "ecgs"
    peaks = write_folder(root, PEAKS[:9])
    peaks.update({f"sub/{k}": v for k, v in write_folder(root / "sub", PEAKS[9:]).items()})
    (root / "notes.txt").write_text("not an ECG")
    return root, peaks


def test_fills_then_sorts_by_score_descending(folder):
    root, peaks = folder
    det = FakeDetector()
    batches = []
    with ReviewStore() as store:
        progress, rows = run(worklist_job(root, store, det, emit=batches.append, chunk=5))
    # The first emit carries every row by name, before any score exists.
    assert len(batches[0]) == len(peaks) and {r.status for r in batches[0]} == {PENDING}
    assert all(r.score is None for r in batches[0])
    assert det.batches and max(det.batches) <= 5
    assert progress[-1][:2] == (len(peaks), len(peaks))
    wl = Worklist()
    for b in batches:
        wl.merge(b)
    expected = [Path(k).name for k, _ in sorted(peaks.items(), key=lambda kv: -kv[1])]
    assert [r.label for r in wl.sorted()] == expected
    assert {r.status for r in wl} == {SCORED}
    by_label = {r.label: r for r in wl}
    assert by_label["rec003"].score == pytest.approx(4.0, abs=1e-3)  # the written peak
    assert by_label["rec003"].n_leads == 12 and by_label["rec003"].duration == pytest.approx(10.0)
    assert len(rows) == len(peaks)


def test_reopening_unchanged_files_makes_no_model_call(folder):
    root, peaks = folder
    with ReviewStore() as store:
        first = FakeDetector()
        _, rows1 = run(worklist_job(root, store, first))
        assert first.records == len(peaks)
        again = FakeDetector()
        _, rows2 = run(worklist_job(root, store, again))
        assert again.calls == 0 and again.records == 0
        assert {r.status for r in rows2} == {CACHED}
        assert {r.uid: r.score for r in rows2} == {r.uid: r.score for r in rows1}
        # One changed file: exactly that one is scored again.
        write_record(root, "rec000", 9.0)
        third = FakeDetector()
        _, rows3 = run(worklist_job(root, store, third))
        assert third.records == 1
        assert max(rows3, key=lambda r: r.score).label == "rec000"


def test_moved_folder_keeps_reviews_and_scores(folder, tmp_path):
    root, _ = folder
    with ReviewStore() as store:
        _, rows = run(worklist_job(root, store, FakeDetector()))
        top = max(rows, key=lambda r: r.score)
        store.save_review(Review(top.content_hash, "abnormal", "spike", "dr k"))
        moved = tmp_path / "moved"
        shutil.move(root, moved)
        det = FakeDetector()
        _, rows2 = run(worklist_job(moved, store, det))
        assert det.calls == 0
        again = next(r for r in rows2 if r.content_hash == top.content_hash)
        assert (again.review_state, again.note, again.reviewer) == ("abnormal", "spike", "dr k")
        assert again.path.startswith(str(moved))
        assert store.get_ecg(top.content_hash).path == again.path


def test_reopened_worklist_shows_the_stored_reading(folder):
    from ecgviewer.review.reading import Readings

    root, _ = folder
    with ReviewStore() as store:
        _, rows = run(worklist_job(root, store, FakeDetector()))
        top = max(rows, key=lambda r: r.score)
        book = Readings(store)
        book.add_statement(top.content_hash, "dr k", code="PVC")
        book.confirm(top.content_hash, "dr k")
        _, rows2 = run(worklist_job(root, store, FakeDetector()))
        again = next(r for r in rows2 if r.content_hash == top.content_hash)
        assert (again.reading_state, again.signer, again.statements, again.readers) == (
            "confirmed",
            "dr k",
            "PVC",
            "dr k",
        )
        assert {r.reading_state for r in rows2 if r.uid != again.uid} == {"unconfirmed"}


def test_bad_file_is_an_error_row_and_the_rest_is_scored(folder):
    root, peaks = folder
    (root / "broken.hea").write_text("broken 12 500 x\nnot a signal line\n")
    det = FakeDetector()
    with ReviewStore() as store:
        _, rows = run(worklist_job(root, store, det))
    bad = [r for r in rows if r.label == "broken"]
    assert len(bad) == 1 and bad[0].status == ERROR and bad[0].error
    assert det.records == len(peaks)


@pytest.mark.parametrize(
    "name, content, words",
    [
        ("empty.h5", b"", "empty (0 bytes)"),
        ("garbage.h5", b"\x89HDF\r\n\x1a\n" + b"\x00garbage" * 50, "HDF5"),
        ("junk.hdf5", b"not hdf5 at all" * 20, "not a readable HDF5 file"),
    ],
)
def test_bad_collection_is_an_error_row_and_the_rest_is_scored(folder, name, content, words):
    """A 0-byte or garbage .h5 used to abort the whole folder before anything was scored."""
    root, peaks = folder
    (root / name).write_bytes(content)
    det = FakeDetector()
    with ReviewStore() as store:
        _, rows = run(worklist_job(root, store, det))
    bad = [r for r in rows if r.path.endswith(name)]
    assert len(bad) == 1 and bad[0].status == ERROR and words in bad[0].error, bad
    assert det.records == len(peaks)
    assert sum(r.status == SCORED for r in rows) == len(peaks)


def test_fifo_and_link_loop_are_error_rows_never_opened(folder):
    """A FIFO used to hang the worklist (hashing opened it); a link loop is named as one."""
    import os
    import threading

    root, peaks = folder
    os.mkfifo(root / "pipe.edf")
    os.symlink(root / "loop_b.hea", root / "loop_a.hea")
    os.symlink(root / "loop_a.hea", root / "loop_b.hea")
    det = FakeDetector()
    out: dict = {}

    def work():
        with ReviewStore() as store:
            out["rows"] = run(worklist_job(root, store, det))[1]

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(60)
    if thread.is_alive():  # unblock the reader so the test process can end
        with open(root / "pipe.edf", "wb"):
            pass
        pytest.fail("the worklist hung on a FIFO")
    rows = {Path(r.path).name: r for r in out["rows"]}
    assert rows["pipe.edf"].status == ERROR
    assert "FIFO (named pipe)" in rows["pipe.edf"].error
    assert "symbolic link loop" in rows["loop_a.hea"].error
    assert det.records == len(peaks)


def test_model_refusing_an_ecg_is_cached_as_an_error(tmp_path):
    root = tmp_path / "f"
    write_record(root, "two_leads", 1.0, leads=("I", "II"))
    write_record(root, "twelve", 2.0)
    with ReviewStore() as store:
        det = FakeDetector(fail_leads_below=12)
        _, rows = run(worklist_job(root, store, det))
        status = {r.label: r.status for r in rows}
        assert status == {"two_leads": ERROR, "twelve": SCORED}
        again = FakeDetector(fail_leads_below=12)
        run(worklist_job(root, store, again))
        assert again.calls == 0


def test_ptbxl_database_csv(tmp_path):
    base = tmp_path / "ptbxl"
    write_record(base / "records100" / "00000", "00001_lr", 1.0)
    write_record(base / "records100" / "00000", "00002_lr", 3.0)
    (base / "ptbxl_database.csv").write_text(
        "ecg_id,patient_id,age,sex,recording_date,filename_lr,filename_hr\n"
        "1,15709.0,56.0,1,1984-11-09 09:17:34,records100/00000/00001_lr,records500/00000/00001_hr\n"
        "2,13243.0,19.0,0,1984-11-14 12:55:37,records100/00000/00002_lr,records500/00000/00002_hr\n"
        "3,1.0,1.0,0,1984-11-14 12:55:37,records100/00000/00003_lr,records500/00000/00003_hr\n"
    )
    entries = list(scan_ptbxl_csv(base / "ptbxl_database.csv"))
    assert [(e.label, e.patient.id, e.patient.sex) for e in entries] == [
        ("ecg 1", "15709", "F"),
        ("ecg 2", "13243", "M"),
    ]  # record 3 has no file: skipped
    with ReviewStore() as store:
        _, rows = run(worklist_job(base / "ptbxl_database.csv", store, FakeDetector()))
    top = max(rows, key=lambda r: r.score)
    assert (top.label, top.patient_id, top.start) == ("ecg 2", "13243", "1984-11-14 12:55:37")


def test_hdf5_collection_entries_are_hashed_per_key(tmp_path):
    from ecgviewer.io.hdf5 import write_own_layout
    from ecgviewer.record import STANDARD_LEADS, Patient, Record

    rng = np.random.default_rng(0)
    records = {}
    for key, peak in (("a", 1.0), ("b", 5.0), ("c", 2.0)):
        sig = (rng.standard_normal((12, 1000)) * 0.05).astype(np.float32)
        sig[1, 500] = peak
        records[key] = Record(sig, 100.0, list(STANDARD_LEADS), patient=Patient(id=f"p-{key}"))
    path = write_own_layout(tmp_path / "many.h5", records)
    det = FakeDetector()
    with ReviewStore() as store:
        _, rows = run(worklist_job(path, store, det))
        assert len(rows) == 3 and len({r.content_hash for r in rows}) == 3
        assert det.records == 3
        assert max(rows, key=lambda r: r.score).patient_id == "p-b"
        again = FakeDetector()
        run(worklist_job(path, store, again))
        assert again.calls == 0


def test_reopening_does_not_read_unchanged_files_for_hashing(folder, monkeypatch):
    import ecgviewer.review.hashing as hashing

    root, peaks = folder
    calls = []
    real = hashing.hash_job
    monkeypatch.setattr(hashing, "hash_job", lambda files: calls.append(files) or real(files))
    with ReviewStore() as store:
        _, rows1 = run(worklist_job(root, store, FakeDetector()))
        assert len(calls) == len(peaks)
        calls.clear()
        _, rows2 = run(worklist_job(root, store, FakeDetector()))
        assert calls == []  # size and mtime unchanged: hashes from the store
        assert [r.content_hash for r in rows2] == [r.content_hash for r in rows1]
        write_record(root, "rec001", 7.0)  # rewritten: new size/mtime, hashed again
        run(worklist_job(root, store, FakeDetector()))
        assert len(calls) == 1


def test_bundled_model_is_not_loaded_when_every_score_is_cached(folder, monkeypatch):
    import ecgviewer.analysis.detector as dmod
    import ecgviewer.analysis.scoring as scoring
    from tests.analysis.fake_detector import MODEL

    root, peaks = folder
    card = {"name": MODEL["name"], "version": MODEL["version"], "sha256": MODEL["sha256"]}
    monkeypatch.setattr(dmod, "bundled_model_info", lambda: dict(card))
    loads = []
    monkeypatch.setattr(
        scoring, "get_detector", lambda w=None, d="auto": loads.append(d) or FakeDetector()
    )
    with ReviewStore() as store:
        run(worklist_job(root, store, None))  # the default: the bundled model, loaded lazily
        assert loads == ["auto"]
        run(worklist_job(root, store, None))
        assert loads == ["auto"]  # all cached under the card's version: never loaded
