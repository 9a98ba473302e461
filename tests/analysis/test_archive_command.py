"""ecgad score's share of the machine per process (the thread plan set before scoring) and how
the parent starts its scoring processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ecgviewer.analysis.archive_command import cores_per_process, helper_processes

ROOT = Path(__file__).resolve().parents[2]


def test_ranks_of_one_machine_share_its_cores() -> None:
    assert cores_per_process(2, 1, 0) == 2  # one process: both cores (network + side thread)
    assert cores_per_process(2, 2, 0) == 1  # torchrun, 2 ranks on 2 cores: one each, serial
    assert cores_per_process(16, 4, 3) == 1  # 4 ranks, 3 preprocessing workers each
    assert cores_per_process(16, 2, 0) == 8
    assert cores_per_process(1, 4, 2) == 1  # never below one


def test_helper_processes_share_a_gpu_machines_cores_and_none_start_on_a_cpu() -> None:
    assert helper_processes(16, True, -1, -1) == (13, 2)  # 15 helpers: a sixth finish
    assert helper_processes(16, True, 8, -1) == (8, 2)
    assert helper_processes(16, True, -1, 0) == (15, 0)  # finishing in the scoring process
    assert helper_processes(2, True, -1, -1) == (1, 0)  # one helper: it prepares
    assert helper_processes(16, False, -1, -1) == (0, 0)
    assert helper_processes(2, False, 1, 1) == (1, 1)  # asked for on a CPU
    assert helper_processes(16, True, 0, 3) == (0, 0)  # finishers need workers
    assert helper_processes(16, True, -1, -1, maps=True) == (9, 6)  # maps: finishing costs more


def test_processes_auto_starts_one_per_core_only_for_enough_ecgs() -> None:
    from ecgviewer.analysis.archive_command import MIN_ECGS_PER_EXTRA_PROCESS, processes_wanted

    many = 10 * MIN_ECGS_PER_EXTRA_PROCESS
    assert processes_wanted("auto", 2, lambda: many) == 2
    assert processes_wanted("auto", 16, lambda: 3 * MIN_ECGS_PER_EXTRA_PROCESS) == 3
    assert processes_wanted("auto", 2, lambda: MIN_ECGS_PER_EXTRA_PROCESS - 1) == 1
    assert processes_wanted("auto", 1, lambda: many) == 1
    assert processes_wanted("3", 2, lambda: 0) == 3  # asked for: not second-guessed
    for bad in ("0", "two"):
        with pytest.raises(SystemExit):
            processes_wanted(bad, 2, lambda: many)


def test_the_device_choice_needs_no_torch_import_with_a_cpu_build() -> None:
    from importlib.metadata import version

    from ecgviewer.analysis.archive_command import _gpu_possible

    assert _gpu_possible("cpu") is False
    assert _gpu_possible("cuda") is True  # asked for: pick_device says if it is there
    if version("torch").endswith("+cpu"):
        assert _gpu_possible("auto") is False


def test_the_parent_of_the_scoring_processes_starts_them_without_torch(tmp_path: Path) -> None:
    """`ecgad score --processes 2`: the parent counts the ECGs and starts the processes
    before importing torch or the model's signal code (each process imports them itself;
    the parent's ~2 s import only delayed them)."""
    from tests.analysis.wfdb_folder import write_record

    for i in range(3):
        write_record(tmp_path / "ecgs", f"r{i}", 1.0)
    probe = (
        "import sys\n"
        "from ecgviewer.analysis import archive_command as a\n"
        "a.run_processes = lambda argv, n: print('started', n, 'torch' in sys.modules, "
        "'scipy.signal' in sys.modules, 'model.infer' in sys.modules) or 0\n"
        f"sys.exit(a.main([{str(tmp_path / 'ecgs')!r}, '--out', "
        f"{str(tmp_path / 'r.csv')!r}, '--processes', '2', '--device', 'cpu']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["started", "2", "False", "False", "False"]


def test_out_naming_a_folder_is_refused_before_any_process_starts(tmp_path: Path) -> None:
    from ecgviewer.analysis.archive_command import main
    from ecgviewer.errors import FileAccessError

    (tmp_path / "archive").mkdir()
    with pytest.raises(FileAccessError, match="is a folder"):
        main([str(tmp_path / "archive"), "--out", str(tmp_path), "--processes", "2"])


def test_left_to_score_counts_the_ecgs_without_a_row(tmp_path: Path) -> None:
    """How many ECGs a rerun still has to score (it decides how many processes start)."""
    import csv

    from ecgviewer.analysis.archive_command import _left_to_score
    from ecgviewer.analysis.results_file import COLUMNS, entry_id
    from ecgviewer.analysis.worklist_sources import scan_source

    src = tmp_path / "archive"
    src.mkdir()
    from tests.io._writers import LEADS_12, synthetic_12lead, write_wfdb

    for k in range(3):
        write_wfdb(src, f"ecg{k}", synthetic_12lead(100.0, 2.0, seed=k), 100.0, LEADS_12)
    out = tmp_path / "r.csv"
    assert _left_to_score(src, out) == 3
    first = next(iter(scan_source(src)))
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        row = dict.fromkeys(COLUMNS, "")
        row["file"], row["entry"] = entry_id(first)
        writer.writerow([row[c] for c in COLUMNS])
    assert _left_to_score(src, out) == 2
