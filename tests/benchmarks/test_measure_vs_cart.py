"""benchmarks/measure_vs_cart.py: ours minus the cart's own intervals, one line per distinct
ECG, on the shared fixtures (a Sierra file and Philips' aECG conversion of it count once)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.benchmarks._scripts import load_benchmark


def test_the_same_ecg_in_two_formats_counts_once(
    fixtures_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sierra = fixtures_dir / "other" / "philips_sierra_1-04_ad4d3d80_orig.xml"
    aecg = fixtures_dir / "hl7aecg" / "philips_ad4d3d80_converted.xml"
    muse = fixtures_dir / "cart" / "ge_muse" / "braveheart_example1.xml"
    for path in (sierra, aecg, muse):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "notes.txt").write_text("not an ECG")
    mvc = load_benchmark("measure_vs_cart")
    assert mvc.main([str(tmp_path)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    rows, summary = lines[:-1], lines[-1]
    assert summary["part"] == "summary" and summary["distinct_ecgs"] == len(rows) == 2
    muse_row = next(r for r in rows if r["file"].endswith(muse.name))
    # The cart's QRS (96 ms) against ours, as measure() gives it for this file.
    from ecgviewer.io import read
    from ecgviewer.signal.intervals import measure

    ours = measure(read(muse)).qrs_ms
    assert muse_row["shipped"]["qrs"] == pytest.approx(ours - 96, abs=0.05)
    assert summary["shipped"]["qrs"]["n"] == 2
