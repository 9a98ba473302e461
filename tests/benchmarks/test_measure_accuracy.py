"""benchmarks/measure_accuracy.py: the LUDB-style reference (earliest onset / latest offset over
the 12 leads, median over beats) and its even/odd-beat halves, on annotation files written here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.benchmarks._scripts import load_benchmark


def _load():  # noqa: ANN202
    return load_benchmark("measure_accuracy")


def _write_annotations(folder: Path, widths: list[int], early_lead: str = "v2") -> Path:
    """Four beats annotated on every lead, QRS ``widths[k]`` samples wide in beat k; one lead
    starts 4 samples earlier (so the global onset is that lead's)."""
    import wfdb

    ma = _load()
    for lead in ma.LEADS:
        samples, symbols = [], []
        for k, width in enumerate(widths):
            centre = 500 + 400 * k
            start = centre - 20 - (4 if lead == early_lead else 0)
            samples += [start, centre, centre - 20 + width]
            symbols += ["(", "N", ")"]
        # wfdb writes only lettered extensions; LUDB's are the lead names (t.v1, ...)
        wfdb.wrann("t", "ann", np.asarray(samples), symbols, write_dir=str(folder))
        (folder / "t.ann").rename(folder / f"t.{lead}")
    return folder / "t"


def test_reference_takes_the_widest_lead_edges_and_halves_take_every_other_beat(
    tmp_path: Path,
) -> None:
    ma = _load()
    path = _write_annotations(tmp_path, [40, 50, 44, 56])
    # widths in ms at 500 Hz, with the early lead's 4 samples: 88, 108, 96, 120
    full = ma.reference(path)
    even, odd = ma.reference(path, parity=0), ma.reference(path, parity=1)
    assert full["qrs"] == pytest.approx(np.median([88, 108, 96, 120]))
    assert even["qrs"] == pytest.approx(np.median([88, 96]))
    assert odd["qrs"] == pytest.approx(np.median([108, 120]))
    assert full["p_duration"] is None and full["qt"] is None  # no P or T annotated
    # leaving out the most extreme lead at each edge drops the early lead's 4 samples
    assert ma.reference(path, drop=1)["qrs"] == pytest.approx(np.median([80, 100, 88, 112]))
