"""Archive scoring: rows, error rows, resuming, sharding and merging, Parquet, the CLI route."""

from __future__ import annotations

import csv
import io as stdio
import os
from pathlib import Path

import pytest

from ecgviewer.analysis.archive import error_row, score_archive
from ecgviewer.analysis.archive_command import wants_archive
from ecgviewer.analysis.results_file import COLUMNS, ResultsWriter, Shard, part_files, read_done
from tests.analysis.fake_detector import FakeDetector
from tests.analysis.wfdb_folder import write_folder


def rows_of(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    folder = tmp_path / "archive"
    write_folder(folder, [1.0, 3.0, 2.0, 0.5, 4.0])
    (folder / "broken.hea").write_text("this is not a WFDB header\n")
    return folder


def run(source: Path, out: Path, det: FakeDetector | None = None, **kw) -> FakeDetector:
    det = det or FakeDetector()
    score_archive(
        source, out, det, model_version="fake:0.0-test", chunk=2, progress=stdio.StringIO(), **kw
    )
    return det


def test_every_ecg_gets_a_row_and_a_bad_file_an_error_row(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    det = run(archive, out)
    rows = rows_of(out)
    assert tuple(rows[0].keys()) == COLUMNS
    by_name = {Path(r["file"]).stem: r for r in rows}
    assert set(by_name) == {"broken", "rec000", "rec001", "rec002", "rec003", "rec004"}
    assert by_name["broken"]["error"] and by_name["broken"]["verdict"] == "not scored"
    assert by_name["broken"]["score"] == ""
    # The fake scores the peak amplitude: the ranking is the one the files were written with.
    scored = sorted((r for r in rows if not r["error"]), key=lambda r: -float(r["score"]))
    assert [Path(r["file"]).stem for r in scored] == [
        "rec004",
        "rec001",
        "rec002",
        "rec000",
        "rec003",
    ]
    assert all(r["model_version"] == "fake:0.0-test" for r in rows)
    assert by_name["rec004"]["top_leads"].split()[0] == "II"  # the spike is in lead II
    assert det.records == 5


def test_a_rerun_resumes_where_the_run_stopped(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    run(archive, out)
    complete = rows_of(out)
    # Simulate a kill: keep the header and two rows, then half of the third row.
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    out.write_text("".join(lines[:3]) + lines[3][:10], encoding="utf-8")
    det = run(archive, out)
    again = rows_of(out)
    assert det.records == 4  # 6 entries, 2 rows kept, the broken file is not a record
    assert sorted(r["file"] for r in again) == sorted(r["file"] for r in complete)
    assert {r["file"]: r["score"] for r in again} == {r["file"]: r["score"] for r in complete}
    # A third run has nothing left to do.
    assert run(archive, out).records == 0
    assert len(rows_of(out)) == len(complete)


def test_an_unrelated_csv_is_never_appended_to(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine.csv"
    out.write_text("name,value\na,1\n", encoding="utf-8")
    from ecgviewer.errors import FileAccessError

    with pytest.raises(FileAccessError, match="not an ecgad results table"):
        run(archive, out)
    assert out.read_text(encoding="utf-8") == "name,value\na,1\n"


def test_sharded_runs_merge_to_the_single_run_result(archive: Path, tmp_path: Path) -> None:
    single = tmp_path / "single.csv"
    run(archive, single)
    out = tmp_path / "sharded.csv"
    dets = [run(archive, out, shard=Shard(rank, 2)) for rank in (1, 0)]  # rank 0 last: it merges
    assert sum(d.records for d in dets) == 5 and all(d.records for d in dets)
    assert part_files(out) == []  # merged and removed
    assert rows_of(out) == rows_of(single)  # same rows, same (scan) order


def test_ptbxl_database_csv(tmp_path: Path) -> None:
    write_folder(tmp_path / "records100" / "00000", [1.0, 2.0])
    db = tmp_path / "ptbxl_database.csv"
    db.write_text(
        "ecg_id,patient_id,age,sex,filename_lr,filename_hr\n"
        "1,11.0,50,0,records100/00000/rec000,\n"
        "2,12.0,60,1,records100/00000/rec001,\n"
        "3,13.0,70,1,records100/00000/missing,\n",
        encoding="utf-8",
    )
    out = tmp_path / "results.csv"
    run(db, out)
    rows = rows_of(out)
    assert [Path(r["file"]).name for r in rows] == ["rec000.hea", "rec001.hea"]
    assert float(rows[1]["score"]) == pytest.approx(2.0, abs=0.01)


def test_parquet_copy_matches_the_csv(archive: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "results.csv"
    run(archive, out)
    table = pq.read_table(tmp_path / "results.parquet").to_pylist()
    rows = rows_of(out)
    assert [t["file"] for t in table] == [r["file"] for r in rows]
    for t, r in zip(table, rows, strict=True):
        assert (t["score"] is None) == (r["score"] == "")
        if r["score"]:
            assert t["score"] == float(r["score"])


def test_read_done_drops_a_cut_row(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    w = ResultsWriter(path)
    w.write([error_row("a.hea", "", "bad"), error_row("b.h5", "7", "bad")])
    w.close()
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("c.hea,,0.5")  # no newline: cut by a kill
    assert read_done(path) == {("a.hea", ""), ("b.h5", "7")}
    assert path.read_bytes().endswith(b"bad\r\n")


def test_the_cli_routes_archives_to_the_archive_command(tmp_path: Path) -> None:
    db = tmp_path / "ptbxl_database.csv"
    db.write_text("ecg_id,patient_id,filename_lr,filename_hr\n", encoding="utf-8")
    array = tmp_path / "ecg.csv"  # an ECG stored as a CSV array: one file, not an archive
    array.write_text("I,II\n0.1,0.2\n", encoding="utf-8")
    assert wants_archive([str(tmp_path), "--out", "x.csv"])
    assert wants_archive([str(tmp_path)])
    assert wants_archive([str(db)])
    assert wants_archive(["exams.h5", "--out=x.csv"])
    assert not wants_archive(["a.hea", "b.edf", "--json"])
    assert not wants_archive([str(array), "--fs", "500"])
    assert not wants_archive(["a.hea", "--csv", str(db)])  # ui's --csv OUT names the output


def test_hdf5_collection_one_row_per_exam_and_a_bad_exam_is_an_error_row(tmp_path: Path) -> None:
    import h5py
    import numpy as np

    tracings = np.zeros((3, 4096, 12), np.float32)
    t = np.arange(4096) / 400.0
    for i in range(3):
        tracings[i] = (0.2 * (i + 1) * np.sin(2 * np.pi * 1.1 * t))[:, None]
    tracings[1, 100, 3] = np.nan  # exam 11: damaged
    h5 = tmp_path / "exams.h5"
    with h5py.File(h5, "w") as fh:
        fh["tracings"] = tracings
        fh["exam_id"] = np.array([10, 11, 12], np.int64)
    out = tmp_path / "results.csv"
    det = run(h5, out)
    rows = rows_of(out)
    assert [(Path(r["file"]).name, r["entry"]) for r in rows] == [
        ("exams.h5", "10"),
        ("exams.h5", "11"),
        ("exams.h5", "12"),
    ]
    assert "NaN" in rows[1]["error"] and not rows[0]["error"] and not rows[2]["error"]
    assert float(rows[2]["score"]) > float(rows[0]["score"])  # larger amplitude, fake score
    assert det.records == 2


def test_an_ecg_the_model_cannot_take_is_an_error_row_with_worker_processes(tmp_path: Path) -> None:
    """Preparation fails in a DataLoader worker (2 leads only): an error row, the rest scored."""
    from model.infer import Detector
    from tests.analysis.wfdb_folder import write_record
    from tests.model.test_infer import write_weights

    folder = tmp_path / "ecgs"
    write_record(folder, "a_twelve", 1.0)
    write_record(folder, "b_two", 1.0, leads=("I", "II"))
    (tmp_path / "w").mkdir()
    det = Detector.load(write_weights(tmp_path / "w"), device="cpu")
    out = tmp_path / "r.csv"
    score_archive(folder, out, det, workers=1, progress=stdio.StringIO(), parquet=False)
    rows = {Path(r["file"]).stem: r for r in rows_of(out)}
    # The 12-lead record is a result row (a 0.1 mV sine without beats: its quality check
    # finds every lead off, so it has no number), the 2-lead one an error row.
    assert not rows["a_twelve"]["error"] and "lead_off:" in rows["a_twelve"]["flags"]
    assert rows["a_twelve"]["verdict"] == "not scored: recording problem"
    assert "missing" in rows["b_two"]["error"] and rows["b_two"]["verdict"] == "not scored"


class InterruptedDetector(FakeDetector):
    """Scores one chunk, then the user presses Ctrl+C."""

    def score_many(self, records, batch=64, progress=None, cancel=None):
        if self.calls >= 1:
            raise KeyboardInterrupt
        return super().score_many(records, batch=batch)


def test_ctrl_c_keeps_what_was_scored_and_the_rerun_finishes(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    with pytest.raises(KeyboardInterrupt):
        run(archive, out, InterruptedDetector())
    first = rows_of(out)
    assert 1 <= len(first) < 6  # the first chunk (and the broken file's row if it came first)
    try:
        import pyarrow.parquet as pq
    except ImportError:  # the CSV is the result; Parquet only with pyarrow
        pq = None
    if pq is not None:
        assert pq.read_table(tmp_path / "results.parquet").num_rows == len(first)
    det = run(archive, out)
    final = rows_of(out)
    assert len(final) == 6 and final[: len(first)] == first
    assert det.records == 5 - sum(1 for r in first if not r["error"])


def test_progress_gives_rate_and_eta() -> None:
    from ecgviewer.analysis.archive import Progress

    sink = stdio.StringIO()
    bar = Progress(10, sink)
    bar.update(4, 1)
    bar.finish()
    line = sink.getvalue().strip().splitlines()[-1]
    assert line.startswith("4/10 ECGs (40 %)") and "ECG/s" in line and "ETA" in line
    assert "1 not scored" in line


def test_a_stopped_sharded_run_is_finished_by_one_process(archive: Path, tmp_path: Path) -> None:
    single = tmp_path / "single.csv"
    run(archive, single)
    out = tmp_path / "sharded.csv"
    first = run(archive, out, shard=Shard(1, 2))  # rank 1 finished; rank 0 never ran or merged
    assert part_files(out)
    det = run(archive, out)  # rerun without torchrun: the rest, then the parts merged in
    assert part_files(out) == [] and rows_of(out) == rows_of(single)
    assert first.records + det.records == 5


def test_reading_workers_send_blocks_and_the_rows_keep_the_scan_order(tmp_path: Path) -> None:
    """Two reading workers, each sending blocks of ENTRIES_PER_MESSAGE entries: every entry
    once, in scan order (a partial last block included)."""
    from ecgviewer.analysis.archive import ENTRIES_PER_MESSAGE

    n = 2 * ENTRIES_PER_MESSAGE + 3
    folder = tmp_path / "archive"
    write_folder(folder, [1.0 + 0.1 * i for i in range(n)])
    out = tmp_path / "results.csv"
    run(folder, out, workers=2, parquet=False)
    names = [Path(r["file"]).stem for r in rows_of(out)]
    assert names == [f"rec{i:03d}" for i in range(n)]


def test_a_file_name_that_is_not_utf8_or_holds_a_newline_never_stops_a_run(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    folder = tmp_path / "names"
    folder.mkdir()
    scp = (fixtures_dir / "other/ecgtoolkit_Example.scp").read_bytes()
    (folder / os.fsdecode(b"bad\xffname.scp")).write_bytes(scp)
    (folder / "new\nline.scp").write_bytes(scp)
    out = tmp_path / "results.csv"
    assert run(folder, out).records == 2
    names = sorted(Path(r["file"]).name for r in rows_of(out))
    assert names == ["bad\\xffname.scp", "new\\nline.scp"]  # escaped: the row names the file
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3  # one line a row
    assert run(folder, out).records == 0  # the rerun finds their rows
    pq = pytest.importorskip("pyarrow.parquet")
    table = pq.read_table(tmp_path / "results.parquet").to_pylist()
    assert sorted(Path(t["file"]).name for t in table) == names


def test_a_rerun_with_another_model_is_refused_and_the_table_kept(
    archive: Path, tmp_path: Path
) -> None:
    """Resuming with other weights would mix two models' scores in one table."""
    from ecgviewer.errors import FileAccessError

    out = tmp_path / "results.csv"
    run(archive, out)
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    out.write_text("".join(lines[:3]), encoding="utf-8")  # stopped after two rows
    before = out.read_bytes()
    with pytest.raises(FileAccessError, match="scored by model fake:0.0-test"):
        score_archive(archive, out, FakeDetector(), model_version="fake:1.0", chunk=2)
    assert out.read_bytes() == before
    run(archive, out)  # the same model resumes
    assert len(rows_of(out)) == 6


def test_an_unrelated_parquet_file_is_never_overwritten(archive: Path, tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from ecgviewer.errors import FileAccessError

    theirs = tmp_path / "data.parquet"
    pq.write_table(pa.table({"patient": [1, 2]}), theirs)
    before = theirs.read_bytes()
    for out in (theirs, tmp_path / "data.csv"):
        with pytest.raises(FileAccessError, match="not an ecgad results table"):
            run(archive, out)
    assert theirs.read_bytes() == before
    assert not (tmp_path / "data.csv").exists()
    run(archive, theirs, parquet=False)  # --no-parquet: the CSV only
    assert theirs.read_bytes() == before and len(rows_of(tmp_path / "data.csv")) == 6


def test_a_second_run_on_the_same_out_is_refused_while_the_first_runs(
    archive: Path, tmp_path: Path
) -> None:
    """Two runs appending to one table would score every ECG twice."""
    pytest.importorskip("fcntl")
    from ecgviewer.analysis.results_file import table_lock
    from ecgviewer.errors import FileAccessError

    out = tmp_path / "results.csv"
    part = Shard(1, 2).part_path(out)
    for running, shard in ((out, Shard()), (part, Shard()), (out, Shard(0, 2))):
        with table_lock(running), pytest.raises(FileAccessError, match="another ecgad score"):
            run(archive, out, shard=shard)
        running.unlink()
    run(archive, out)  # no other run now
    assert len(rows_of(out)) == 6


def test_a_full_disk_is_said_with_the_file_not_as_an_unexpected_error(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from ecgviewer.analysis import archive as archive_module
    from ecgviewer.errors import FileAccessError

    def full(self: ResultsWriter) -> None:
        self._fh.close()
        raise OSError(errno.ENOSPC, "No space left on device")

    out = tmp_path / "results.csv"
    monkeypatch.setattr(ResultsWriter, "close", full)
    with pytest.raises(FileAccessError, match="No space left on device") as err:
        run(archive, out, parquet=False)
    assert err.value.path == str(out)
    monkeypatch.undo()

    def full_parquet(csv_path: Path, parquet_path: Path) -> bool:
        parquet_path.with_name(parquet_path.name + ".tmp").write_bytes(b"PAR1")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(archive_module, "write_parquet", full_parquet)
    with pytest.raises(FileAccessError, match="Parquet copy: No space left") as err:
        run(archive, out)
    assert err.value.path == str(tmp_path / "results.parquet")
    assert not (tmp_path / "results.parquet.tmp").exists()
    assert len(rows_of(out)) == 6  # the CSV is complete


def test_a_rerun_with_the_source_spelled_otherwise_resumes(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``archive`` then ``/abs/archive`` (or a link to it): each ECG still once."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "results.csv"
    run(Path("archive"), out)
    assert run(tmp_path / "archive", out).records == 0
    (tmp_path / "link").symlink_to(archive)
    assert run(Path("link"), out).records == 0
    assert len(rows_of(out)) == 6


def test_out_naming_a_folder_is_a_clear_error(archive: Path, tmp_path: Path) -> None:
    from ecgviewer.errors import FileAccessError

    with pytest.raises(FileAccessError, match="is a folder"):
        run(archive, tmp_path)
