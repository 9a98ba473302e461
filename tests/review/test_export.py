"""CSV export round-trips through the standard csv module."""

from __future__ import annotations

import csv

from ecgviewer.review.export import COLUMNS, export_csv, read_csv
from ecgviewer.review.worklist import Worklist, WorklistRow


def rows() -> list[WorklistRow]:
    return [
        WorklistRow(uid="/d/a.hea", path="/d/a.hea", label="a", content_hash="1" * 64,
                    patient_id="P-1", start="2024-01-02 03:04:05", duration=10.0, n_leads=12,
                    score=0.1 + 0.2, percentile=97.53, model_version="m:1:ab", status="scored",
                    review_state="abnormal", note='ST ↑ V2, "check", k+', reviewer="Dr Ünal",
                    review_time="2026-01-01T00:00:00+00:00", order=1),
        WorklistRow(uid="/d/b.h5#ecg_001", path="/d/b.h5", key="ecg_001", label="b, comma\nline",
                    status="error", error="missing leads", order=2),
    ]


def test_csv_round_trip(tmp_path):
    path = tmp_path / "out.csv"
    assert export_csv(rows(), path) == 2
    assert read_csv(path) == rows()
    with open(path, newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    assert tuple(table[0]) == COLUMNS
    assert table[1][COLUMNS.index("score")] == repr(0.1 + 0.2)  # full precision
    assert table[2][COLUMNS.index("score")] == ""  # None is empty


def test_worklist_sorts_scored_first_descending_then_scan_order():
    wl = Worklist()
    wl.merge([WorklistRow(uid=str(i), path=str(i), score=s) for i, s in enumerate([1.0, None, 3.0, 2.0, None])])
    assert [r.uid for r in wl.sorted()] == ["2", "3", "0", "1", "4"]
    added, updated = wl.merge([WorklistRow(uid="1", path="1", score=9.0)])
    assert not added and len(updated) == 1
    assert wl.sorted()[0].uid == "1"


def test_quality_from_flags_and_csv_round_trip(tmp_path):
    row = WorklistRow(uid="a", path="a", score=1.0, flags=("lead_off:V1,V2,V3,V4,V5,V6", "noisy:II"))
    assert row.quality == "off V1-V6; noisy II" and row.quality_severity > 60
    assert WorklistRow(uid="b", path="b").quality == "" and WorklistRow(uid="b", path="b").quality_severity == 0
    path = tmp_path / "w.csv"
    export_csv([row], path)
    assert read_csv(path)[0].flags == row.flags
