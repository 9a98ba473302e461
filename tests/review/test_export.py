"""CSV export round-trips through the standard csv module."""

from __future__ import annotations

import csv
from dataclasses import replace

from ecgviewer.review.export import COLUMNS, export_csv, read_csv
from ecgviewer.review.worklist import Worklist, WorklistRow


def rows() -> list[WorklistRow]:
    return [
        WorklistRow(
            uid="/d/a.hea",
            path="/d/a.hea",
            label="a",
            content_hash="1" * 64,
            patient_id="P-1",
            start="2024-01-02 03:04:05",
            duration=10.0,
            n_leads=12,
            score=0.1 + 0.2,
            percentile=97.53,
            model_version="m:1:ab",
            status="scored",
            review_state="abnormal",
            note='ST ↑ V2, "check", k+',
            reviewer="Dr Ünal",
            review_time="2026-01-01T00:00:00+00:00",
            order=1,
        ),
        WorklistRow(
            uid="/d/b.h5#ecg_001",
            path="/d/b.h5",
            key="ecg_001",
            label="b, comma\nline",
            status="error",
            error="missing leads",
            order=2,
        ),
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
    wl.merge(
        [
            WorklistRow(uid=str(i), path=str(i), score=s)
            for i, s in enumerate([1.0, None, 3.0, 2.0, None])
        ]
    )
    assert [r.uid for r in wl.sorted()] == ["2", "3", "0", "1", "4"]
    added, updated = wl.merge([WorklistRow(uid="1", path="1", score=9.0)])
    assert not added and len(updated) == 1
    assert wl.sorted()[0].uid == "1"


def test_quality_from_flags_and_csv_round_trip(tmp_path):
    row = WorklistRow(
        uid="a", path="a", score=1.0, flags=("lead_off:V1,V2,V3,V4,V5,V6", "noisy:II")
    )
    assert row.quality == "off V1-V6; noisy II" and row.quality_severity > 60
    assert (
        WorklistRow(uid="b", path="b").quality == ""
        and WorklistRow(uid="b", path="b").quality_severity == 0
    )
    path = tmp_path / "w.csv"
    export_csv([row], path)
    assert read_csv(path)[0].flags == row.flags


def test_export_carries_the_reading_and_the_filter_selects_by_state_and_reader(tmp_path):
    from ecgviewer.review.reading import Readings
    from ecgviewer.review.store import ReviewStore
    from ecgviewer.review.worklist import filter_rows

    machine = {"p_onset": -0.2, "qrs_onset": -0.04, "qrs_offset": 0.05, "t_end": 0.36}
    with ReviewStore(tmp_path / "r.db") as store:
        book = Readings(store)
        h1, h2 = "1" * 64, "2" * 64
        book.add_statement(h1, "Dr Ünal", code="AFIB")
        book.add_statement(h1, "Dr Ünal", text="rate control?")
        book.edit_fiducials(h1, "Dr Ünal", {"qrs_offset": 0.08}, machine=machine, rr_ms=1000.0)
        book.confirm(h1, "Dr Ünal")
        book.add_statement(h2, "dr b", code="SR")
        readings, readers = book.get_many([h1, h2]), book.readers_of([h1, h2])
    a, b = rows()
    a = a.with_reading(readings[h1], readers[h1])
    b = replace(b, content_hash=h2).with_reading(readings[h2], readers[h2])
    assert a.statements == 'AFIB; "rate control?"' and a.reading_state == "confirmed"
    assert a.reader_measurements == "QRS 120 ms [reader; machine 90 ms]"
    assert a.signer == "Dr Ünal" and a.signed_at
    path = tmp_path / "out.csv"
    export_csv([a, b], path)
    back = read_csv(path)
    assert back == [a, b]
    assert filter_rows([a, b], state="confirmed") == [a]
    assert filter_rows([a, b], reader="DR B") == [b]
    assert filter_rows([a, b], state="reviewed", reader="dr ünal") == []
    assert filter_rows([a, b]) == [a, b]


def test_statements_column_reads_back_unambiguously():
    """'; '-joined codes and free text could not be split back: 5 or 6 statements?"""
    from ecgviewer.review.reading import Reading, StatementEntry
    from ecgviewer.review.worklist import parse_statements

    said = (
        StatementEntry("IMI", "Inferior myocardial infarction"),
        StatementEntry("", "old inferior and anteroseptal MI; compare with prior"),
        StatementEntry("", 'query "LAFB"'),
        StatementEntry("", "SR"),  # free text that looks like a code stays free text
        StatementEntry("QWAVE", "Pathological Q waves"),
    )
    row = rows()[0].with_reading(Reading("1" * 64, statements=said))
    assert row.statements == (
        'IMI; "old inferior and anteroseptal MI; compare with prior"; "query ""LAFB"""; "SR"; QWAVE'
    )
    assert parse_statements(row.statements) == [
        StatementEntry(s.code, "" if s.code else s.text) for s in said
    ]
    assert parse_statements("") == []


def test_formula_looking_text_is_neutralised_numbers_are_not(tmp_path):
    """A note '=HYPERLINK(...)' ran as a formula when the CSV was opened in a spreadsheet."""
    texts = [
        '=HYPERLINK("http://x","click") old IMI',
        "+1 call",
        "-NORM",
        "@SUM(A1)",
        "\tTAB",
        "'=already quoted",
        "'plain",
        "-0.5",
        "+3e2",
        "- OTHERWISE NORMAL ECG -",
    ]
    out = [replace(rows()[0], uid=str(i), note=t) for i, t in enumerate(texts)]
    out.append(replace(rows()[0], uid="neg", score=-0.5, percentile=-1e-3))
    path = tmp_path / "out.csv"
    export_csv(out, path)
    with open(path, newline="", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert [t["note"] for t in table[: len(texts)]] == [
        '\'=HYPERLINK("http://x","click") old IMI',
        "'+1 call",
        "'-NORM",
        "'@SUM(A1)",
        "'\tTAB",
        "''=already quoted",
        "'plain",
        "-0.5",  # a number is no formula: left as it is
        "+3e2",
        "'- OTHERWISE NORMAL ECG -",
    ]
    assert (table[-1]["score"], table[-1]["percentile"]) == ("-0.5", "-0.001")  # still numbers
    assert read_csv(path) == out  # the quote comes off again


def test_control_characters_do_not_reach_the_csv(tmp_path):
    """A NUL byte stored before cleaning existed was written into the export."""
    row = replace(rows()[1], note="nul\x00 bell\x07 esc\x1b end\nline two\ttab")
    path = tmp_path / "out.csv"
    export_csv([row], path)
    raw = path.read_bytes()
    assert b"\x00" not in raw and b"\x07" not in raw and b"\x1b" not in raw
    assert read_csv(path)[0].note == "nul bell esc end\nline two\ttab"
