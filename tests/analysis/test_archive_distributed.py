"""``ecgad score`` under torchrun (gloo, 2 CPU processes) gives the one-process result.

The real command lines and the bundled model on a few synthetic ECGs: the one-process run
also reads and prepares through a DataLoader worker process (``--workers 1``), so both ways
of feeding the model are compared.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import wfdb

from ecgviewer.record import STANDARD_LEADS
from ecgviewer.signal.synthetic import synthetic_ecg

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("torch.distributed")


def write_synthetic(folder: Path, n: int) -> None:
    folder.mkdir(parents=True)
    for i in range(n):
        syn = synthetic_ecg(fs=500.0, duration=10.0, hr=50.0 + 17 * i, seed=i)
        wfdb.wrsamp(
            f"ecg{i}",
            fs=500,
            units=["mV"] * 12,
            sig_name=list(STANDARD_LEADS),
            p_signal=np.asarray(syn.signal, np.float64).T,
            fmt=["16"] * 12,
            adc_gain=[1000.0] * 12,
            baseline=[0] * 12,
            write_dir=str(folder),
        )
    (folder / "zz_broken.hea").write_text("not a header\n")


def ecgad(args: list[str], torchrun: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    head = (
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "ecgviewer.cli",
        ]
        if torchrun
        else [sys.executable, "-m", "ecgviewer.cli"]
    )
    return subprocess.run(
        head + ["score", *args], capture_output=True, text=True, env=env, timeout=900, cwd=ROOT
    )


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_torchrun_two_ranks_equal_one_process(tmp_path: Path) -> None:
    folder = tmp_path / "ecgs"
    write_synthetic(folder, 4)
    one = ecgad(
        [
            str(folder),
            "--out",
            str(tmp_path / "one.csv"),
            "--device",
            "cpu",
            "--workers",
            "1",
            "--no-parquet",
        ]
    )
    assert one.returncode == 2, one.stderr  # the broken file: exit status 2, the rest scored
    two = ecgad(
        [str(folder), "--out", str(tmp_path / "two.csv"), "--device", "cpu", "--no-parquet"],
        torchrun=True,
    )
    assert two.returncode != 0 and "[rank 1/2]" in two.stderr, two.stderr
    a, b = rows(tmp_path / "one.csv"), rows(tmp_path / "two.csv")
    assert [r["file"] for r in a] == [r["file"] for r in b] and len(a) == 5
    assert not list(tmp_path.glob("two.part-*"))
    for x, y in zip(a, b, strict=True):
        assert x["error"] == y["error"] and x["verdict"] == y["verdict"]
        assert x["top_leads"] == y["top_leads"] and x["flags"] == y["flags"]
        if x["score"]:
            assert float(x["score"]) == pytest.approx(float(y["score"]), abs=1e-5)
    assert sum(1 for r in a if r["error"]) == 1 and a[-1]["file"].endswith("zz_broken.hea")


def test_own_processes_equal_one_process_and_the_summary_counts_them_all(
    tmp_path: Path,
) -> None:
    """``--processes 2`` (no torchrun: ecgad starts its own scoring processes, a barrier
    between them) writes what one process writes, merged in scan order."""
    folder = tmp_path / "ecgs"
    write_synthetic(folder, 4)
    common = ["--device", "cpu", "--no-parquet"]
    one = ecgad([str(folder), "--out", str(tmp_path / "one.csv"), "--processes", "1", *common])
    two = ecgad([str(folder), "--out", str(tmp_path / "two.csv"), "--processes", "2", *common])
    assert one.returncode == two.returncode == 2, two.stderr  # the broken file in both
    again = ecgad([str(folder), "--out", str(tmp_path / "one.csv"), "--processes", "1", *common])
    # Nothing left to score, but the table still holds the broken file's error row.
    assert again.returncode == 2 and "1 error rows from an earlier run" in again.stderr
    assert "[rank 1/2]" in two.stderr and "2 processes merged" in two.stderr
    assert "4 scored, 1 not scored" in two.stderr.splitlines()[-1]
    a, b = rows(tmp_path / "one.csv"), rows(tmp_path / "two.csv")
    assert [r["file"] for r in a] == [r["file"] for r in b] and len(a) == 5
    assert not list(tmp_path.glob("two.part-*"))
    for x, y in zip(a, b, strict=True):
        assert x["error"] == y["error"] and x["verdict"] == y["verdict"]
        if x["score"]:
            assert float(x["score"]) == pytest.approx(float(y["score"]), abs=1e-5)


def test_own_processes_stopped_by_bad_input_say_so_in_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "ecgs"
    write_synthetic(folder, 2)
    out = tmp_path / "r.csv"
    done = ecgad(
        [str(folder), "--out", str(out), "--processes", "2", "--device", "cpu", "--no-parquet",
         "--weights", str(tmp_path / "missing.pt")]
    )  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [f"ecgad: {tmp_path / 'missing.pt'}: model weights not found"], lines
