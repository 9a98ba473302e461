"""Reader actions: statements, sign-off, fiducial edits, audit trail, migration, crash safety."""

from __future__ import annotations

import csv
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from ecgviewer.review.reading import Readings
from ecgviewer.review.statements import ReadingError
from ecgviewer.review.store import MIGRATIONS, SCHEMA_VERSION, Review, ReviewStore
from tests.conftest import REPO

H = "a" * 64
MACHINE = {"p_onset": -0.20, "qrs_onset": -0.04, "qrs_offset": 0.05, "t_end": 0.36}


@pytest.fixture
def book(tmp_path):
    with ReviewStore(tmp_path / "r.db") as store:
        yield Readings(store)


def test_statements_and_sign_off_with_every_step_audited(book):
    assert book.get(H).state == "unconfirmed"
    r = book.add_statement(H, "dr a", code="sr")
    r = book.add_statement(H, "dr a", text="  compare with   last week ")
    assert r.state == "reviewed"
    assert [s.label() for s in r.statements] == ["SR: Sinus rhythm", "compare with last week"]
    r = book.confirm(H, "dr a")
    assert (r.state, r.signer) == ("confirmed", "dr a") and r.signed_at is not None
    r = book.remove_statement(H, "dr b", 1)
    assert r.state == "edited" and r.signer == "dr a"  # the old signature is kept, not valid
    r = book.confirm(H, "dr b")
    assert (r.state, r.signer) == ("confirmed", "dr b")
    events = [(e.reader, e.action, e.what, e.before, e.after) for e in book.events(H)]
    assert events == [
        ("dr a", "statement added", "SR: Sinus rhythm", "", "SR: Sinus rhythm"),
        ("dr a", "state changed", "reviewed, not confirmed", "unconfirmed", "reviewed"),
        ("dr a", "statement added", "compare with last week", "", "compare with last week"),
        ("dr a", "state changed", "signed by dr a", "reviewed", "confirmed"),
        ("dr b", "statement removed", "compare with last week", "compare with last week", ""),
        ("dr b", "state changed", "edited, needs confirmation", "confirmed", "edited"),
        ("dr b", "state changed", "signed by dr b", "edited", "confirmed"),
    ]


def test_refused_actions_change_nothing(book):
    with pytest.raises(ReadingError, match="close matches: .*AFIB \\(Atrial fibrillation\\)"):
        book.add_statement(H, "dr a", code="AFB")
    with pytest.raises(ReadingError, match="not been reviewed"):
        book.confirm(H, "dr a")
    with pytest.raises(ReadingError, match="reader name"):
        book.add_statement(H, " ", code="SR")
    book.add_statement(H, "dr a", code="SR")
    with pytest.raises(ReadingError, match="already in"):
        book.add_statement(H, "dr a", code="SR")
    with pytest.raises(ReadingError, match="no statement number 5"):
        book.remove_statement(H, "dr a", 4)
    assert len(book.events(H)) == 2 and book.get(H).state == "reviewed"


def test_fiducial_edit_keeps_machine_values_and_recomputes(book):
    r = book.edit_fiducials(H, "dr a", {"qrs_offset": 0.07}, machine=MACHINE, rr_ms=800.0)
    assert r.machine_intervals()["qrs"] == 90.0 and r.intervals()["qrs"] == 110.0
    assert r.machine_intervals()["qt"] == r.intervals()["qt"] == 400.0
    assert r.edited_intervals() == {"qrs"}
    assert r.reader_fiducials == {"qrs_offset": 0.07} and r.machine_fiducials == MACHINE
    e = book.events(H)[0]
    assert (e.action, e.what) == ("measurement edited", "QRS offset")
    assert "QRS 90 ms" in e.before and "QRS 110 ms" in e.after
    # Placing it back on the machine's value drops the reader's value.
    with pytest.raises(ReadingError, match="QRS offset \\(-60 ms\\) cannot be before QRS onset"):
        book.edit_fiducials(H, "dr a", {"qrs_offset": -0.06})
    assert book.get(H).intervals()["qrs"] == 110.0  # the refused drag changed nothing
    r = book.reset_fiducials(H, "dr a")
    assert r.reader_fiducials == {} and r.edited_intervals() == set()


def test_audit_trail_cannot_be_rewritten_and_exports_csv(book, tmp_path):
    book.add_statement(H, "dr a", code="LVH")
    con = book.store._conn()
    for sql in ("UPDATE audit_event SET reader='x'", "DELETE FROM audit_event"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute(sql)
    assert book.export_events(tmp_path / "a.csv", H) == 2
    rows = list(csv.DictReader(open(tmp_path / "a.csv", encoding="utf-8")))
    assert rows[0]["what"] == "LVH: Left ventricular hypertrophy" and rows[0]["reader"] == "dr a"


def test_review_and_note_saves_are_audited_with_before_and_after(book):
    book.store.save_review(Review(H, "abnormal", "ST up", "dr a"))
    book.store.save_review(Review(H, "normal", "", "dr b"))
    assert [(e.reader, e.before, e.after) for e in book.events(H)] == [
        ("dr a", "", "abnormal: ST up"),
        ("dr b", "abnormal: ST up", "normal"),
    ]


def test_favourites_per_reader(book):
    book.set_favourite("dr a", "afib")
    book.set_favourite("dr a", "SR")
    assert book.favourites("dr a") == ["AFIB", "SR"] and book.favourites("dr b") == []
    book.set_favourite("dr a", "SR", on=False)
    assert book.favourites("dr a") == ["AFIB"]
    with pytest.raises(ReadingError):
        book.set_favourite("dr a", "XYZQ")


def test_migration_from_schema_3_keeps_everything_and_seeds_the_trail(tmp_path):
    path = tmp_path / "v3.db"
    con = sqlite3.connect(path)
    for script in MIGRATIONS[:3]:
        con.executescript(script)
    con.execute(
        "INSERT INTO review VALUES (?, 'abnormal', 'old note', 'dr o', '2024-05-01T10:00:00+00:00')",
        (H,),
    )
    con.execute(
        "INSERT INTO review_history(content_hash, state, note, reviewer, time) VALUES "
        "(?, 'normal', '', 'dr o', '2024-04-01T10:00:00+00:00')",
        (H,),
    )
    con.execute(
        "INSERT INTO review_history(content_hash, state, note, reviewer, time) VALUES "
        "(?, 'abnormal', 'old note', 'dr o', '2024-05-01T10:00:00+00:00')",
        (H,),
    )
    con.execute("INSERT INTO file_hash VALUES ('/x/a.edf', 10, 5, ?)", (H,))
    con.execute("PRAGMA user_version=3")
    con.commit()
    con.close()
    with ReviewStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION == 4
        assert store.get_review(H).note == "old note"
        assert [r.state for r in store.history(H)] == ["normal", "abnormal"]
        assert store.known_hash("/x/a.edf", 10, 5) == H
        book = Readings(store)
        assert [(e.reader, e.after) for e in book.events(H)] == [
            ("dr o", "normal"),
            ("dr o", "abnormal: old note"),
        ]
        assert book.get(H).state == "unconfirmed"
        book.add_statement(H, "dr n", code="SR")
        assert store.integrity_ok()


_WRITER = textwrap.dedent(
    """
    import os, sys
    from ecgviewer.review import reading
    from ecgviewer.review.reading import Readings
    from ecgviewer.review.store import ReviewStore

    path, mode = sys.argv[1], sys.argv[2]
    book = Readings(ReviewStore(path))
    if mode == "die":
        def dying(*a, **k):
            os._exit(3)  # killed after the audit event, before the reading row is written
        reading._write = dying
        book.add_statement("b" * 64, "dr x", code="AFIB")
    else:
        i = 0
        codes = ["SR", "AFIB", "LVH", "IMI", "LAD"]
        while True:
            h = f"{i % 20:064d}"
            r = book.get(h)
            if r.state == "reviewed" and i % 3 == 0:
                book.confirm(h, "w")
            elif len(r.statements) >= 4:
                book.remove_statement(h, "w", 0)
            else:
                code = next(c for c in codes if c not in [s.code for s in r.statements])
                book.add_statement(h, "w", code=code)
            print(i, flush=True)
            i += 1
    """
)


def _consistent(store: ReviewStore) -> None:
    """Every reading row was written with the event that names it: no half-done action."""
    assert store.integrity_ok()
    con = store._conn()
    for h, state, last in con.execute("SELECT content_hash, state, last_event FROM reading"):
        events = con.execute(
            "SELECT id, action, after FROM audit_event WHERE content_hash=? "
            "AND action != 'review' ORDER BY id",
            (h,),
        ).fetchall()
        assert events and events[-1][0] == last
        states = [after for _, action, after in events if action == "state changed"]
        assert states and states[-1] == state


def test_exit_inside_a_reader_action_keeps_the_previous_reading(tmp_path):
    path = tmp_path / "r.db"
    with ReviewStore(path) as store:
        Readings(store).add_statement("b" * 64, "dr a", code="SR")
    proc = subprocess.run([sys.executable, "-c", _WRITER, str(path), "die"], cwd=REPO, timeout=60)
    assert proc.returncode == 3
    with ReviewStore(path) as store:
        book = Readings(store)
        assert [s.code for s in book.get("b" * 64).statements] == ["SR"]
        assert len(book.events("b" * 64)) == 2
        _consistent(store)


def test_sigkill_during_reader_actions_loses_nothing_acknowledged(tmp_path):
    path = tmp_path / "r.db"
    ReviewStore(path).close()
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), "loop"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    committed = -1
    assert proc.stdout is not None
    while committed < 60:
        line = proc.stdout.readline()
        assert line, "writer died early"
        committed = int(line)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    with ReviewStore(path) as store:
        _consistent(store)
        con = store._conn()
        n_actions = con.execute(
            "SELECT count(*) FROM audit_event WHERE action != 'state changed'"
        ).fetchone()[0]
        n_confirms = con.execute(
            "SELECT count(*) FROM audit_event WHERE after = 'confirmed'"
        ).fetchone()[0]
        assert n_actions + n_confirms >= committed + 1  # every acknowledged action is there


def test_a_database_error_is_a_review_store_error_and_nothing_is_half_saved(book, monkeypatch):
    from ecgviewer.review import reading
    from ecgviewer.review.store import ReviewStoreError

    book.add_statement(H, "dr a", code="SR")

    def full(*_a, **_k):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(reading, "_write", full)
    with pytest.raises(ReviewStoreError, match="full"):
        book.add_statement(H, "dr a", code="LVH")
    monkeypatch.undo()
    assert [s.code for s in book.get(H).statements] == ["SR"] and len(book.events(H)) == 2


def test_control_characters_are_dropped_from_free_text_and_notes(book):
    """A pasted BEL/ESC/NUL was signed as is (boxes on the report, a NUL in the CSV)."""
    from ecgviewer.review.reading import MAX_FREE_TEXT, clean_text

    r = book.add_statement(H, "dr a", text="tab\there, bell\x07 esc\x1b[31mRED\x1b[0m nul\x00end")
    assert r.statements[-1].text == "tab here, bell escRED nulend"
    r = book.add_statement(H, "dr a", text="Befund:\r\nzeile zwei\x0c")
    assert r.statements[-1].text == "Befund: zeile zwei"  # one line
    assert "\x00" not in book.events(H)[-2].what  # the audit trail holds the clean text too
    with pytest.raises(ReadingError, match="type a statement code or some text"):
        book.add_statement(H, "dr a", text="\x00\x07\x1b[0m")
    with pytest.raises(ReadingError, match=f"limited to {MAX_FREE_TEXT} characters"):
        book.add_statement(H, "dr a", text="x" * MAX_FREE_TEXT + "\x07y")
    # A note is several lines: line breaks kept (as \n), tabs to spaces, the rest dropped.
    assert clean_text(" call\tward 7\x07\r\n\nSTEMI?\x00 ", multiline=True) == (
        "call ward 7\n\nSTEMI?"
    )
