"""Review store: persistence, migrations, crash safety (a killed writer loses nothing saved)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime

import pytest

from ecgviewer.review.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    EcgInfo,
    Review,
    ReviewStore,
    ReviewStoreError,
    ScoreSummary,
    default_path,
)
from tests.conftest import REPO


def test_default_path_is_in_the_user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ECGVIEWER_DATA_DIR", str(tmp_path))
    with ReviewStore() as store:
        assert store.path == tmp_path / "reviews.sqlite3" == default_path()
        assert store.path.is_file()


def test_pragmas_are_wal_and_full_sync(tmp_path):
    with ReviewStore(tmp_path / "r.db") as store:
        con = store._conn()
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA synchronous").fetchone()[0] == 2  # 2 = FULL (SQLite docs)
        assert store.schema_version == SCHEMA_VERSION


def test_reviews_survive_closing_and_reopening(tmp_path):
    path = tmp_path / "r.db"
    t = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with ReviewStore(path) as store:
        store.save_review(Review("a" * 64, "abnormal", "ST elevation V2-V4", "dr k", t))
        store.save_review(Review("b" * 64, "normal", "", "dr k"))
        store.upsert_ecgs(
            [EcgInfo("a" * 64, "/x/a.hea", label="a", leads=("I", "II"), duration=10.0)]
        )
        store.put_scores([ScoreSummary("a" * 64, "m:1:abc", 3.5, 99.1, {"II": 4.0}, ("x",))])
    with ReviewStore(path) as store:
        got = store.get_review("a" * 64)
        assert (got.state, got.note, got.reviewer, got.time) == (
            "abnormal",
            "ST elevation V2-V4",
            "dr k",
            t,
        )
        assert store.get_review("b" * 64).state == "normal"
        assert store.get_review("c" * 64).state == "unreviewed"  # never saved
        assert store.get_ecg("a" * 64).leads == ("I", "II")
        s = store.get_scores(["a" * 64, "b" * 64], "m:1:abc")
        assert list(s) == ["a" * 64] and s["a" * 64].score == 3.5
        assert s["a" * 64].lead_scores == {"II": 4.0} and s["a" * 64].flags == ("x",)
        assert store.get_scores(["a" * 64], "m:2:def") == {}  # other model version: no reuse


def test_history_keeps_every_change_and_current_is_last(tmp_path):
    with ReviewStore(tmp_path / "r.db") as store:
        for state in ("abnormal", "normal", "abnormal"):
            store.save_review(Review("h" * 64, state, note=state, reviewer="r"))
        assert [r.state for r in store.history("h" * 64)] == ["abnormal", "normal", "abnormal"]
        assert store.get_review("h" * 64).state == "abnormal"


def test_invalid_state_is_refused_and_nothing_written(tmp_path):
    with ReviewStore(tmp_path / "r.db") as store:
        with pytest.raises(ValueError):
            store.save_review(Review("h" * 64, "maybe"))
        assert store.history("h" * 64) == []


def test_migration_from_v1_keeps_reviews(tmp_path):
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.executescript(MIGRATIONS[0])
    con.execute(
        "INSERT INTO review VALUES (?, 'abnormal', 'old note', 'dr a', '2024-05-01T10:00:00+00:00')",
        ("o" * 64,),
    )
    con.execute("PRAGMA user_version=1")
    con.commit()
    con.close()
    with ReviewStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION > 1
        assert store.get_review("o" * 64).note == "old note"
        assert [r.note for r in store.history("o" * 64)] == ["old note"]  # history seeded
        store.remember_hashes([("/x/a.edf", 10, 123, "o" * 64)])
        assert store.known_hash("/x/a.edf", 10, 123) == "o" * 64
        assert store.known_hash("/x/a.edf", 10, 124) is None  # touched: hash again
        store.put_window_scores("o" * 64, "m", 10.0, {0: 1.5, 3: 2.5})
        assert store.get_window_scores("o" * 64, "m", 10.0) == {0: 1.5, 3: 2.5}
        assert store.integrity_ok()


def test_database_from_a_newer_program_is_refused(tmp_path):
    path = tmp_path / "new.db"
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(ReviewStoreError, match="newer"):
        ReviewStore(path)


_WRITER = textwrap.dedent(
    """
    import os, sys
    from ecgviewer.review.store import Review, ReviewStore

    class Dying(ReviewStore):
        def _append_history(self, con, r):
            os._exit(3)  # killed between the two statements of save_review's transaction

    path, mode = sys.argv[1], sys.argv[2]
    if mode == "die":
        store = Dying(path)
        store.save_review(Review("a" * 64, "normal", "changed", "intruder"))
    else:
        store = ReviewStore(path)
        i = 0
        while True:
            store.save_review(Review(f"{i % 50:064d}", ("normal", "abnormal")[i % 2], f"n{i}", "w"))
            print(i, flush=True)
            i += 1
    """
)


def _consistent(store: ReviewStore) -> None:
    assert store.integrity_ok()
    con = store._conn()
    # Every current review equals the last history entry for that ECG: no half-written action.
    rows = con.execute(
        "SELECT r.content_hash, r.state, r.note, h.state, h.note FROM review r JOIN review_history h "
        "ON h.id = (SELECT max(id) FROM review_history WHERE content_hash = r.content_hash)"
    ).fetchall()
    assert len(rows) == con.execute("SELECT count(*) FROM review").fetchone()[0]
    for _, state, note, h_state, h_note in rows:
        assert (state, note) == (h_state, h_note)


def test_exit_inside_a_transaction_keeps_previous_review(tmp_path):
    path = tmp_path / "r.db"
    with ReviewStore(path) as store:
        store.save_review(Review("a" * 64, "abnormal", "flagged before", "dr k"))
    proc = subprocess.run([sys.executable, "-c", _WRITER, str(path), "die"], cwd=REPO, timeout=60)
    assert proc.returncode == 3
    with ReviewStore(path) as store:
        got = store.get_review("a" * 64)
        assert (got.state, got.note, got.reviewer) == ("abnormal", "flagged before", "dr k")
        assert len(store.history("a" * 64)) == 1
        _consistent(store)


def test_sigkill_during_writes_loses_no_committed_review(tmp_path):
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
        # Every action reported as saved is there (later ones may be too, never half of one).
        n_history = store._conn().execute("SELECT count(*) FROM review_history").fetchone()[0]
        assert n_history >= committed + 1
        last = store.get_review(f"{committed % 50:064d}")
        assert last.time is not None and last.reviewer == "w"


# ---------------------------------------------------------------------------- faults (issue 16)
def _review(i: int) -> Review:
    return Review(f"{i:064x}", "abnormal", f"note {i}", "dr k")


def test_locked_database_is_a_clear_error_and_works_after(tmp_path, monkeypatch):
    import ecgviewer.review.store as store_module

    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_S", 0.2)
    path = tmp_path / "r.db"
    with ReviewStore(path) as store:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")  # another program writing
        with pytest.raises(
            ReviewStoreError, match="busy .*saving the review did not happen"
        ) as info:
            store.save_review(_review(1))
        assert str(path) in str(info.value)
        other.execute("ROLLBACK")
        other.close()
        store.save_review(_review(1))
        assert store.get_review(_review(1).content_hash).note == "note 1"


@pytest.fixture
def small_filesystem(tmp_path):
    """A 1 MB tmpfs when this machine lets us mount one (root), else None."""
    import os

    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0:
        yield None
        return
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True
    )
    if done.returncode != 0:
        yield None
        return
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@pytest.mark.parametrize("how", ["filesystem", "page_limit"])
def test_disk_full_fails_cleanly_keeps_saved_reviews_and_recovers(tmp_path, request, how):
    """On a real full file system (a 1 MB tmpfs) when one can be mounted, and with SQLite's own
    page limit (a genuine SQLITE_FULL from the engine, not a mock) everywhere."""
    small_filesystem = request.getfixturevalue("small_filesystem") if how == "filesystem" else None
    if how == "filesystem" and small_filesystem is None:
        pytest.skip("cannot mount a small file system here")
    folder = small_filesystem or tmp_path
    path = folder / "r.db"
    filler = folder / "filler.bin"
    with ReviewStore(path) as store:
        saved = [store.save_review(_review(i)) for i in range(5)]
        if small_filesystem is not None:
            with open(filler, "wb") as fh:  # fill the disk
                try:
                    while True:
                        fh.write(b"\0" * 65536)
                        fh.flush()
                except OSError:
                    pass
        else:
            pages = store._conn().execute("PRAGMA page_count").fetchone()[0]
            store._conn().execute(f"PRAGMA max_page_count={pages}")
        with pytest.raises(ReviewStoreError, match="disk .* is full: saving the review failed"):
            for i in range(5, 400):  # a few may still fit in free pages
                store.save_review(Review(f"{i:064x}", "normal", "x" * 2000, "dr k"))
        if small_filesystem is not None:
            filler.unlink()  # free space
        else:
            store._conn().execute("PRAGMA max_page_count=1073741823")
        store.save_review(_review(999))  # writing works again
    with ReviewStore(path) as store:
        for r in saved + [_review(999)]:
            assert store.get_review(r.content_hash).note == r.note
        assert store.integrity_ok()


def _fill(path, n=300):
    with ReviewStore(path) as store:
        for i in range(n):
            store.save_review(Review(f"{i:064x}", "normal", "n" * 200, "dr k"))


@pytest.mark.parametrize("damage", ["pages", "garbage"])
def test_damaged_database_is_kept_aside_and_a_new_one_started(tmp_path, damage):
    path = tmp_path / "reviews.sqlite3"
    if damage == "pages":
        _fill(path)
        data = bytearray(path.read_bytes())
        data[8192:16384] = bytes(range(256)) * 32  # overwrite pages 3-4 (of the b-trees)
        path.write_bytes(bytes(data))
    else:
        path.write_bytes(b"this is not a database" * 100)
    original = path.read_bytes()
    with ReviewStore(path) as store:
        assert store.recovered_from is not None and store.recovered_from.read_bytes() == original
        assert store.recovered_from.name.startswith("reviews.sqlite3.damaged-")
        assert "damaged" in store.problem and store.recovered_from.name in store.problem
        store.save_review(_review(1))  # the new database works
        assert store.integrity_ok()


def test_damage_is_found_by_the_check_at_open(tmp_path, monkeypatch):
    path = tmp_path / "r.db"
    _fill(path, 3)
    calls = []
    monkeypatch.setattr(
        ReviewStore, "integrity_ok", lambda self, quick=False: calls.append(quick) or len(calls) > 1
    )
    with ReviewStore(path) as store:
        assert calls[0] is True and store.recovered_from is not None


def _read_only_folder(tmp_path):
    """A folder this process cannot write: chmod, or (as root, who ignores modes) a read-only
    bind mount; None when neither is possible."""
    import os

    folder = tmp_path / "data"
    folder.mkdir()
    _fill(folder / "reviews.sqlite3", 2)
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return folder, lambda: folder.chmod(0o755)
    ro = tmp_path / "ro"
    ro.mkdir()
    done = subprocess.run(
        ["mount", "--bind", "-o", "ro", str(folder), str(ro)], capture_output=True
    )
    if done.returncode != 0:
        return None, None
    subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], capture_output=True)
    return ro, lambda: subprocess.run(["umount", "-l", str(ro)], capture_output=True)


def test_read_only_folder_gives_read_only_mode(tmp_path):
    folder, undo = _read_only_folder(tmp_path)
    if folder is None:
        pytest.skip("no way to make a read-only folder here")
    try:
        (folder / "probe").touch()
        pytest.skip("the folder is still writable here")
    except OSError:
        pass
    try:
        with pytest.raises(ReviewStoreError, match="is read-only: reviews cannot be saved"):
            ReviewStore(folder / "reviews.sqlite3")
        with ReviewStore(folder / "reviews.sqlite3", fallback=True) as store:
            assert store.mode == "read-only" and not store.writable
            assert "Read-only mode" in store.problem and "still work" in store.problem
            assert store.get_review(f"{1:064x}").state == "normal"  # saved reviews are shown
            store.put_scores([ScoreSummary("a" * 64, "m", 1.0, 50.0)])  # cache: skipped
            with pytest.raises(
                ReviewStoreError,
                match="the review was not saved: the data folder .* "
                r"is read-only \(read-only mode\)",
            ):
                store.save_review(_review(7))
    finally:
        undo()


def test_uncreatable_folder_gives_a_session_only_store(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the data folder should be")
    path = blocker / "sub" / "reviews.sqlite3"
    with pytest.raises(ReviewStoreError, match="cannot be created"):
        ReviewStore(path)
    with ReviewStore(path, fallback=True) as store:
        assert store.mode == "session-only"
        assert "Reviews cannot be saved" in store.problem and "worklist" in store.problem
        store.put_scores([ScoreSummary("a" * 64, "m", 1.0, 50.0)])
        assert store.get_scores(["a" * 64], "m")["a" * 64].score == 1.0  # cache works
        with pytest.raises(ReviewStoreError, match="not saved"):
            store.save_review(_review(1))


def test_session_only_store_serves_several_threads(tmp_path):
    """The worklist job writes the cache from its thread while the window reads."""
    from concurrent.futures import ThreadPoolExecutor

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with ReviewStore(blocker / "reviews.sqlite3", fallback=True) as store:

        def work(k: int) -> int:
            for i in range(30):
                h = f"{k:032x}{i:032x}"
                store.put_scores([ScoreSummary(h, "m", float(i), 50.0)])
                assert store.get_scores([h], "m")[h].score == float(i)
            return k

        with ThreadPoolExecutor(4) as pool:
            assert sorted(pool.map(work, range(4))) == [0, 1, 2, 3]


def test_a_stale_review_is_not_overwritten(tmp_path):
    """Two readers on one file (two processes: two stores): the one that read the review
    before the other changed it gets a conflict, not a silent overwrite."""
    from ecgviewer.review.store import ReviewConflict

    path = tmp_path / "r.db"
    h = f"{3:064x}"
    with ReviewStore(path) as a, ReviewStore(path) as b:
        seen = a.get_review(h)  # nothing saved yet: the placeholder
        b.save_review(Review(h, "abnormal", "posterior MI? urgent", "Dr B"))
        with pytest.raises(ReviewConflict, match="Dr B changed this review") as caught:
            a.save_review(Review(h, "normal", "", "Dr A"), expected=seen)
        assert caught.value.current.note == "posterior MI? urgent"
        assert (a.get_review(h).state, len(a.history(h))) == ("abnormal", 1)
        now = a.get_review(h)  # read again: the save goes through
        a.save_review(Review(h, "normal", now.note, "Dr A"), expected=now)
        assert b.get_review(h).state == "normal"


def test_an_emptied_database_file_is_kept_aside_and_said(tmp_path):
    """A store truncated to 0 bytes was taken for a new database: every review gone unsaid."""
    import os

    path = tmp_path / "reviews.sqlite3"
    _fill(path, 3)
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"reviews.sqlite3{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"")
    os.utime(path, (1_600_000_000, 1_600_000_000))  # emptied long ago, not being created
    with ReviewStore(path) as store:
        assert store.recovered_from is not None and store.recovered_from.stat().st_size == 0
        assert "empty (0 bytes)" in store.problem and store.recovered_from.name in store.problem
        store.save_review(_review(1))  # the new database works
    with ReviewStore(tmp_path / "new.sqlite3") as fresh:  # a new file is not "emptied"
        assert fresh.recovered_from is None and fresh.problem is None


def test_a_read_only_database_file_opens_in_read_only_mode(tmp_path, monkeypatch):
    """The file (not the folder) read-only: it opened read-write and every save failed."""
    import os

    import ecgviewer.review.store as store_module

    path = tmp_path / "reviews.sqlite3"
    _fill(path, 2)
    if os.geteuid() != 0:
        path.chmod(0o444)
    else:  # root writes whatever the mode: the permission check is what is tested
        real = os.access
        monkeypatch.setattr(
            store_module.os,
            "access",
            lambda p, mode: False if (mode == os.W_OK and str(p) == str(path)) else real(p, mode),
        )
    with pytest.raises(ReviewStoreError, match="file is read-only"):
        ReviewStore(path)
    with ReviewStore(path, fallback=True) as store:
        assert store.mode == "read-only" and "Read-only mode" in store.problem
        assert store.get_review(f"{1:064x}").state == "normal"
        with pytest.raises(ReviewStoreError, match="the review was not saved: the review data"):
            store.save_review(_review(7))


def test_the_read_only_message_is_a_sentence():
    from ecgviewer.review.store import _describe

    exc = sqlite3.OperationalError("attempt to write a readonly database")
    text = _describe(exc, "saving the review")
    assert "saving the review failed" in text and "was not saved" not in text
