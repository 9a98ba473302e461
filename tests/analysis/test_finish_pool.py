"""Finishing in worker processes (ecgviewer/analysis/finish_pool.py): the same rows as
finishing in the scoring process, and a finishing bug is one ECG's error row."""

from __future__ import annotations

import csv
import io as stdio
import shutil
from functools import partial
from pathlib import Path

import pytest

from ecgviewer.analysis.archive import record_head, result_row, score_archive
from ecgviewer.analysis.finish_pool import FinishPool
from ecgviewer.errors import ECGError
from ecgviewer.io import read
from tests.analysis.wfdb_folder import write_record


def rows_of(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_finishing_in_worker_processes_writes_the_rows_of_one_process(
    tmp_path: Path, ptbxl_dir: Path
) -> None:
    """Real PTB-XL ECGs through the bundled model, chunks of 2 so that finishing runs
    beside the next chunk's network; a file that is not an ECG and a 2-lead record are
    error rows either way."""
    from ecgviewer.analysis.scoring import get_detector

    folder = tmp_path / "ecgs"
    folder.mkdir()
    for hea in sorted((ptbxl_dir / "records100" / "00000").glob("*.hea"))[:5]:
        for f in (hea, hea.with_suffix(".dat")):
            shutil.copy(f, folder)
    (folder / "broken.hea").write_text("this is not a WFDB header\n")
    write_record(folder, "two_leads", 1.0, leads=("I", "II"))
    det = get_detector(None, "cpu")
    tables = {}
    for finishers in (0, 1):
        out = tmp_path / f"r{finishers}.csv"
        score_archive(
            folder,
            out,
            det,
            model_version="v",
            chunk=2,
            workers=1,
            finishers=finishers,
            parquet=False,
            progress=stdio.StringIO(),
        )
        tables[finishers] = rows_of(out)
    assert tables[1] == tables[0]
    by_name = {Path(r["file"]).name: r for r in tables[1]}
    assert len(by_name) == 7
    assert by_name["broken.hea"]["error"] and "missing" in by_name["two_leads.hea"]["error"]
    scored = [r for r in tables[1] if not r["error"]]
    assert len(scored) == 5 and all(r["score"] and r["verdict"] for r in scored)


def failing_finisher(record, prepared, maps):
    """A finisher with a bug for one ECG (module level: it must pickle into the workers)."""
    if record.source.endswith("b.hea"):
        raise RuntimeError("finishing bug")
    return RuntimeError("not a result")  # any other outcome is row-made as an error too


def test_a_finishing_bug_is_that_ecgs_error_row_and_the_others_come_back(tmp_path: Path) -> None:
    paths = [write_record(tmp_path, name, 1.0) for name in ("a", "b", "c")]
    heads = [record_head(read(p)) for p in paths]
    assert all(h.signal.shape == (12, 1) for h in heads)  # only the head travels
    to_row = partial(result_row, model_version="v")
    with FinishPool(failing_finisher, to_row, 2) as pool:
        rows = pool.submit([(str(p), "", h, None, None) for p, h in zip(paths, heads)]).rows()
    assert [Path(r["file"]).name for r in rows] == ["a.hea", "b.hea", "c.hea"]
    assert rows[1]["error"] == "RuntimeError: finishing bug"
    assert rows[0]["error"] == "RuntimeError: not a result"


def dying_finisher(record, prepared, maps):
    """A finisher whose process dies (as the out-of-memory killer would end it)."""
    import os

    os._exit(1)


def test_a_finishing_process_that_dies_stops_the_run_with_one_line(tmp_path: Path) -> None:
    head = record_head(read(write_record(tmp_path, "a", 1.0)))
    with FinishPool(dying_finisher, partial(result_row, model_version="v"), 1) as pool:
        finishing = pool.submit([("a.hea", "", head, None, None)])
        with pytest.raises(ECGError, match="finishing process stopped.*rerun"):
            finishing.rows()


def sigint_finisher(record, prepared, maps):
    """Reports how the worker process treats SIGINT (as its row's error)."""
    import signal

    return RuntimeError(str(signal.getsignal(signal.SIGINT)))


def test_ctrl_c_in_the_terminal_leaves_the_workers_to_the_scoring_process(tmp_path: Path) -> None:
    """Ctrl+C reaches every process of the terminal's group: a worker ignores it (no
    traceback, no broken pool), and the scoring process stops the pool itself."""
    import signal

    head = record_head(read(write_record(tmp_path, "a", 1.0)))
    # As in a terminal (a test runner in the background may start with SIGINT ignored,
    # which spawned workers would inherit whatever the pool does).
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with FinishPool(sigint_finisher, partial(result_row, model_version="v"), 1) as pool:
            rows = pool.submit([("a.hea", "", head, None, None)]).rows()
    finally:
        signal.signal(signal.SIGINT, before)
    assert rows[0]["error"] == f"RuntimeError: {signal.SIG_IGN}"
