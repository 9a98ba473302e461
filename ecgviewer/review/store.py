"""The review store: ECGs seen, cached scores and clinicians' reviews, in one SQLite file.

Why SQLite and these settings: a saved review must survive a crash or a power cut, so every
user action is one transaction, the journal is WAL (readers never block the writer thread) and
``synchronous=FULL`` (a committed transaction is on disk before ``save_review`` returns; WAL's
default NORMAL could lose the last commits on power loss). ``PRAGMA user_version`` is the schema
version; :data:`MIGRATIONS` upgrade an older file forward in place, one transaction each.

Reviews keep their history: ``review`` holds the current state per ECG (what the worklist
shows) and ``review_history`` every saved change (who, when, what), written in the same
transaction, so an audit can tell who flagged an ECG even after it was re-marked. Schema 4
adds the reader's workflow (:mod:`ecgviewer.review.audit`, :mod:`ecgviewer.review.reading`):
readings (statements, sign-off, reader's fiducials) and the append-only ``audit_event`` table
that every save here and every reader action also writes, in the same transaction.

One connection per thread (sqlite3 objects must not be shared across threads); the class takes
and returns dataclasses, never rows.

Faults never reach the user raw: every ``sqlite3``/``OSError`` becomes a
:class:`ReviewStoreError` saying what happened and what was (not) saved ("database is locked",
"disk is full", a damaged page, a read-only or uncreatable folder). At open, SQLite's quick
integrity check runs; a damaged database is renamed aside (never deleted, ``recovered_from``
names the kept file) and a new one started; so is a file emptied to 0 bytes, which SQLite would
silently take for a new database. A database file the user may not write opens in read-only
mode (it used to open read-write and refuse every save). ``save_review(…, expected=…)`` refuses
to overwrite a review another reader changed since it was read (:class:`ReviewConflict`).
``ReviewStore(fallback=True)`` (the GUI's) never
fails to open: a read-only folder gives *read-only mode* (reviews shown, new ones refused with
a message, the score cache not written), and a folder that cannot be used at all gives a
session-only store (worklist and reports work; reviews are refused, never silently dropped).
``problem`` holds the sentence the GUI shows about the mode.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import logging
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ecgviewer.errors import ECGError
from ecgviewer.paths import user_data_dir
from ecgviewer.result import Finding
from ecgviewer.review.audit import REVIEW_SAVED, SCHEMA_V4, append_event

log = logging.getLogger(__name__)

DB_NAME = "reviews.sqlite3"
#: How long a write waits for another writer (another ecgviewer) before "busy" is reported.
BUSY_TIMEOUT_S = 10.0
REVIEW_STATES = ("unreviewed", "normal", "abnormal")

_V1 = """
CREATE TABLE ecg(
    content_hash TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    metadata TEXT NOT NULL,
    seen_at TEXT NOT NULL
);
CREATE TABLE score(
    content_hash TEXT NOT NULL,
    model_version TEXT NOT NULL,
    summary TEXT NOT NULL,
    scored_at TEXT NOT NULL,
    PRIMARY KEY (content_hash, model_version)
);
CREATE TABLE review(
    content_hash TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('unreviewed', 'normal', 'abnormal')),
    note TEXT NOT NULL DEFAULT '',
    reviewer TEXT NOT NULL DEFAULT '',
    time TEXT NOT NULL
);
"""

_V2 = """
CREATE TABLE review_history(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    content_hash TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('unreviewed', 'normal', 'abnormal')),
    note TEXT NOT NULL DEFAULT '',
    reviewer TEXT NOT NULL DEFAULT '',
    time TEXT NOT NULL
);
INSERT INTO review_history(content_hash, state, note, reviewer, time)
    SELECT content_hash, state, note, reviewer, time FROM review;
CREATE INDEX review_history_hash ON review_history(content_hash);
CREATE INDEX ecg_path ON ecg(path);
CREATE TABLE window_score(
    content_hash TEXT NOT NULL,
    model_version TEXT NOT NULL,
    window_s REAL NOT NULL,
    idx INTEGER NOT NULL,
    score REAL,
    PRIMARY KEY (content_hash, model_version, window_s, idx)
);
"""

_V3 = """
CREATE TABLE file_hash(
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    content_hash TEXT NOT NULL
);
"""

#: MIGRATIONS[i] takes a database from user_version i to i + 1. Append, never edit.
MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, SCHEMA_V4)
SCHEMA_VERSION = len(MIGRATIONS)


class ReviewStoreError(ECGError):
    """The review database cannot be opened or written (busy, full, damaged, read-only,
    from a newer program); the message says what was not saved."""


class ReviewConflict(ReviewStoreError):
    """Someone else (another window or ecgviewer on the same file) changed the review since
    the caller read it; nothing was saved. ``current`` is the review as stored now."""

    def __init__(self, path: Any, current: Review) -> None:
        who = current.reviewer or "someone without a name"
        when = current.time.astimezone().strftime("%H:%M %Z") if current.time else ""
        super().__init__(
            path,
            f"{who} changed this review{f' at {when}' if when else ''} in another window "
            f"(now {current.state}{': ' + _clip(current.note) if current.note else ''}); "
            "yours was not saved: check it and save again",
        )
        self.current = current


#: Store modes: normal; existing reviews shown but nothing written; nothing kept on disk.
READ_WRITE, READ_ONLY, SESSION_ONLY = "read-write", "read-only", "session-only"

_BUSY = {"SQLITE_BUSY", "SQLITE_LOCKED"}
_DAMAGED = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}


def _describe(exc: BaseException, doing: str) -> str:
    """A sentence for the user: what went wrong, and that ``doing`` did not happen."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc) or type(exc).__name__
    if name in _BUSY or "locked" in text or "busy" in text:
        return (
            f"the review database is busy (another ecgviewer is writing to it): {doing} "
            "did not happen; try again in a moment"
        )
    if (
        name == "SQLITE_FULL"
        or "disk is full" in text
        or getattr(exc, "errno", None) == errno.ENOSPC
    ):
        return (
            f"the disk holding the review database is full: {doing} failed "
            "(everything saved before is kept); free some disk space and try again"
        )
    if name in _DAMAGED or "malformed" in text or "not a database" in text:
        return (
            f"the review database is damaged ({text}): {doing} failed; restart ecgviewer "
            "to keep the damaged file aside and start a new database"
        )
    if name == "SQLITE_READONLY" or "readonly" in text or "read-only" in text:
        return (
            f"the review database is read-only: {doing} failed (nothing was changed; "
            "everything saved before is kept)"
        )
    if name.startswith("SQLITE_IOERR") or "disk I/O" in text:
        return f"disk error on the review database ({text}): {doing} failed"
    if name == "SQLITE_CANTOPEN" or "unable to open" in text:
        return f"the review database cannot be opened ({text})"
    if isinstance(exc, PermissionError):
        return f"no permission to use the review database's folder: {doing} failed"
    return f"review database error while {doing}: {text}"


def _guard(doing: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Turn any ``sqlite3``/``OSError`` in the wrapped method into a :class:`ReviewStoreError`."""

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def guarded(self: ReviewStore, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except (sqlite3.Error, OSError) as exc:
                raise ReviewStoreError(self.path, _describe(exc, doing)) from exc

        return guarded

    return wrap


@dataclass(frozen=True)
class EcgInfo:
    """What the worklist shows about one ECG before (and without) loading its samples."""

    content_hash: str
    path: str
    label: str = ""
    patient_id: str | None = None
    age: float | None = None
    sex: str | None = None
    start: str | None = None  # ISO 8601, as the file gives it
    duration: float | None = None  # seconds
    fs: float | None = None
    leads: tuple[str, ...] = ()
    format: str = ""
    key: str = ""  # entry key inside a collection file (HDF5 / database CSV)


@dataclass(frozen=True)
class ScoreSummary:
    """The part of a Detector result worth caching (no per-sample arrays)."""

    content_hash: str
    model_version: str
    score: float | None
    percentile: float | None
    lead_scores: Mapping[str, float] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    top_beats: tuple[tuple[float, float, float], ...] = ()  # (t_start, t_end, score)
    findings: tuple[Finding, ...] = ()  # the model's calibrated findings, most unusual first
    model: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None  # why it could not be scored (shown in the worklist)
    scored_at: str = ""


@dataclass(frozen=True)
class Review:
    """A clinician's verdict on one ECG; ``time`` is UTC, stamped when saved."""

    content_hash: str
    state: str = "unreviewed"
    note: str = ""
    reviewer: str = ""
    time: datetime | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def default_path() -> Path:
    """The database file in the per-user data directory."""
    return user_data_dir() / DB_NAME


class ReviewStore:
    """Repository over the review database.

    Parameters
    ----------
    path
        Database file; default :func:`default_path` (``ECGVIEWER_DATA_DIR`` in tests).
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, fallback: bool = False
    ) -> None:
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.mode = READ_WRITE
        self.problem: str | None = None  # what the GUI tells the user about the mode
        self.recovered_from: Path | None = None  # a damaged database kept aside at open
        self._uri: str | None = None
        self._reason = ""  # why the store is not read-write (for refusals)
        self._tx_lock: Any = contextlib.nullcontext()
        try:
            self.path = Path(path) if path is not None else default_path()
        except OSError as exc:  # the user data folder itself cannot be created
            self.path = Path(os.environ.get("ECGVIEWER_DATA_DIR") or "<user data folder>") / DB_NAME
            error = ReviewStoreError(
                self.path.parent,
                f"the data folder cannot be created ({exc.strerror or exc}): "
                "reviews cannot be saved",
            )
            if not fallback:
                raise error from exc
            self._open_fallback(error)
            return
        try:
            self._open()
        except ReviewStoreError as exc:
            if not fallback:
                raise
            self._open_fallback(exc)

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ReviewStoreError(
                self.path,
                f"the data folder {self.path.parent} cannot be created "
                f"({exc.strerror or exc}): reviews cannot be saved",
            ) from exc
        if self.path.is_file() and not os.access(self.path, os.W_OK):
            # SQLite opens a file it cannot write without a word, and then every save fails:
            # say so at open (read-only mode with fallback) instead.
            raise ReviewStoreError(
                self.path,
                f"the data folder {self.path.parent} is read-only: reviews cannot be saved"
                if not _folder_writable(self.path.parent)
                else "the review database file is read-only (no permission to write it): "
                "reviews cannot be saved",
            )
        if _emptied(self.path):
            self._set_aside(None, emptied=True)
        try:
            con = self._conn()
            if not self.integrity_ok(quick=True):
                raise sqlite3.DatabaseError("integrity check failed")
            self._migrate(con)
        except (sqlite3.Error, ReviewStoreError) as exc:
            cause = exc.__cause__ if isinstance(exc, ReviewStoreError) else exc
            if _is_damage(cause):
                self._set_aside(cause)
                self._migrate(self._conn())
            elif not _folder_writable(self.path.parent):
                raise ReviewStoreError(
                    self.path,
                    f"the data folder {self.path.parent} is read-only: reviews cannot be saved",
                ) from exc
            elif isinstance(exc, ReviewStoreError):
                raise
            else:
                raise ReviewStoreError(self.path, _describe(exc, "opening it")) from exc

    def _set_aside(self, cause: BaseException | None, emptied: bool = False) -> None:
        """Rename a damaged database (and its WAL files) aside, never delete it, and start anew.

        ``emptied``: the file is 0 bytes (truncated, or overwritten by a failed copy). SQLite
        would take it for a new database and every earlier review would vanish without a word;
        it is kept aside (its date says when it happened) and the user is told."""
        self.close()
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        kept = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        try:
            for suffix in ("", "-wal", "-shm"):
                part = Path(str(self.path) + suffix)
                if part.exists():
                    part.rename(Path(str(kept) + suffix))
        except OSError as exc:
            raise ReviewStoreError(
                self.path,
                f"the review database is damaged ({cause}) and could not be kept aside "
                f"({exc.strerror or exc}); nothing was deleted",
            ) from exc
        what = "empty (0 bytes)" if emptied else f"damaged ({cause})"
        log.error("review database %s %s: kept as %s, new database started", self.path, what, kept)
        self.recovered_from = kept
        if emptied:
            self.problem = (
                f"The review database {self.path} was empty (0 bytes): the reviews saved in it "
                f"before are not in it any more. The empty file was kept as {kept.name} and a new "
                "database started; restore the database from a backup to get the reviews back."
            )
        else:
            self.problem = (
                f"The review database was damaged ({cause}). It was kept as {kept.name} (nothing "
                "deleted; reviews in it can be recovered with a database tool) and a new one "
                "started."
            )

    def _open_fallback(self, error: ReviewStoreError) -> None:
        """Read-only mode when the database can be read; else a store for this session only."""
        self.close()
        self._reason = error.problem.removesuffix(": reviews cannot be saved")
        if self.path.is_file() and os.access(self.path, os.R_OK):
            for query in ("mode=ro", "mode=ro&immutable=1"):
                self._uri = f"{self.path.resolve().as_uri()}?{query}"
                try:
                    con = self._conn()
                    version = int(con.execute("PRAGMA user_version").fetchone()[0])
                    if 0 < version <= SCHEMA_VERSION:
                        self.mode = READ_ONLY
                        self.problem = (
                            f"Read-only mode: {self._reason}. Saved reviews are shown, but new "
                            "reviews cannot be saved; the viewer, worklist and reports still work."
                        )
                        return
                except (sqlite3.Error, ReviewStoreError):
                    pass
                self.close()
        # Shared in-memory database: every thread's connection sees the same tables.
        self._uri = f"file:ecgviewer-session-{id(self)}?mode=memory&cache=shared"
        self.mode = SESSION_ONLY
        self._tx_lock = threading.RLock()
        self._migrate(self._conn())
        self.problem = (
            f"Reviews cannot be saved: {self._reason}. The viewer, the worklist and report "
            "export still work; scores are kept only until ecgviewer closes."
        )

    @property
    def writable(self) -> bool:
        """Whether reviews can be saved (not in read-only or session-only mode)."""
        return self.mode == READ_WRITE

    # ------------------------------------------------------------------ connection
    def _conn(self) -> sqlite3.Connection:
        if self.mode == SESSION_ONLY and self._all:
            # One connection for every thread: shared-cache connections to one in-memory
            # database lock each other's tables without waiting ("table is locked").
            return self._all[0]
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            try:
                # isolation_level=None: we issue BEGIN/COMMIT ourselves, one per user action.
                if self._uri is not None:
                    con = sqlite3.connect(
                        self._uri,
                        uri=True,
                        isolation_level=None,
                        timeout=BUSY_TIMEOUT_S,
                        check_same_thread=False,
                    )
                else:
                    con = sqlite3.connect(
                        self.path,
                        isolation_level=None,
                        timeout=BUSY_TIMEOUT_S,
                        check_same_thread=False,
                    )
                if self.mode == READ_WRITE and self._uri is None:
                    con.execute("PRAGMA journal_mode=WAL")
                    con.execute("PRAGMA synchronous=FULL")
                con.execute("PRAGMA foreign_keys=ON")
            except sqlite3.Error as exc:
                if con is not None:
                    con.close()
                raise ReviewStoreError(self.path, _describe(exc, "opening it")) from exc
            self._local.con = con
            with self._lock:
                self._all.append(con)
        return con

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; IMMEDIATE so two writers never deadlock on upgrade."""
        with self._tx_lock:  # only held in session-only mode (one shared connection)
            con = self._conn()
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                try:
                    con.execute("ROLLBACK")
                except sqlite3.Error:  # SQLite already rolled back (e.g. after "disk is full")
                    pass
                raise
            else:
                con.execute("COMMIT")

    def _cache_writable(self) -> bool:
        """Cache writes (scores, hashes, ECG metadata) are skipped in read-only mode: they are
        not the user's work, and the worklist must still run."""
        return self.mode != READ_ONLY

    def _refuse_if_read_only(self, doing: str) -> None:
        if self.mode != READ_WRITE:
            raise ReviewStoreError(
                self.path, f"{doing} was not saved: {self._reason} ({self.mode} mode)"
            )

    def close(self) -> None:
        """Close every connection this store opened (call once, from the owning thread)."""
        with self._lock:
            for con in self._all:
                try:
                    con.close()
                except sqlite3.Error:  # pragma: no cover - closing twice is harmless
                    pass
            self._all.clear()
        self._local = threading.local()

    def __enter__(self) -> ReviewStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ schema
    @property
    @_guard("reading the schema version")
    def schema_version(self) -> int:
        return int(self._conn().execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self, con: sqlite3.Connection) -> None:
        version = int(con.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise ReviewStoreError(
                self.path,
                f"review database has schema version {version}, newer than this program's "
                f"{SCHEMA_VERSION}: open it with a newer ecgviewer",
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            log.info("migrating review database %s to schema %d", self.path, target)
            with self._tx() as tx:
                for statement in _statements(MIGRATIONS[target - 1]):
                    tx.execute(statement)
                tx.execute(f"PRAGMA user_version={target}")

    def integrity_ok(self, quick: bool = False) -> bool:
        """SQLite's own consistency check (``quick``: the O(n) variant, run at every open)."""
        pragma = "quick_check" if quick else "integrity_check"
        try:
            return self._conn().execute(f"PRAGMA {pragma}").fetchone()[0] == "ok"
        except sqlite3.DatabaseError as exc:
            if _is_damage(exc):
                return False
            raise

    # ------------------------------------------------------------------ ecg
    @_guard("remembering the ECGs' details")
    def upsert_ecgs(self, infos: Iterable[EcgInfo]) -> None:
        """Remember where ECGs are and what they are (one transaction for the batch)."""
        if not self._cache_writable():
            return
        rows = [
            (i.content_hash, i.path, json.dumps(_info_meta(i)), _now().isoformat()) for i in infos
        ]
        with self._tx() as con:
            con.executemany(
                "INSERT INTO ecg(content_hash, path, metadata, seen_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(content_hash) DO UPDATE SET path=excluded.path, "
                "metadata=excluded.metadata, seen_at=excluded.seen_at",
                rows,
            )

    @_guard("reading an ECG's details")
    def get_ecg(self, content_hash: str) -> EcgInfo | None:
        row = (
            self._conn()
            .execute(
                "SELECT content_hash, path, metadata FROM ecg WHERE content_hash=?", (content_hash,)
            )
            .fetchone()
        )
        if row is None:
            return None
        meta = json.loads(row[2])
        meta["leads"] = tuple(meta.get("leads", ()))
        return EcgInfo(content_hash=row[0], path=row[1], **meta)

    # ------------------------------------------------------------------ scores
    @_guard("caching scores")
    def put_scores(self, summaries: Iterable[ScoreSummary]) -> None:
        """Cache scores (one transaction for the batch); a re-score replaces the old one."""
        if not self._cache_writable():
            return
        rows = []
        for s in summaries:
            stamped = s if s.scored_at else replace(s, scored_at=_now().isoformat())
            rows.append(
                (
                    s.content_hash,
                    s.model_version,
                    json.dumps(_summary_json(stamped)),
                    stamped.scored_at,
                )
            )
        with self._tx() as con:
            con.executemany(
                "INSERT OR REPLACE INTO score(content_hash, model_version, summary, scored_at) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )

    @_guard("reading cached scores")
    def get_scores(self, hashes: Iterable[str], model_version: str) -> dict[str, ScoreSummary]:
        """Cached scores for ``hashes`` under ``model_version`` (missing ones absent)."""
        out: dict[str, ScoreSummary] = {}
        keys = list(hashes)
        con = self._conn()
        for i in range(0, len(keys), 500):  # SQLite caps bound parameters per statement
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for h, summary in con.execute(
                f"SELECT content_hash, summary FROM score WHERE model_version=? "
                f"AND content_hash IN ({marks})",
                [model_version, *chunk],
            ):
                out[h] = _summary_from_json(h, model_version, json.loads(summary))
        return out

    # ------------------------------------------------------------------ reviews
    @_guard("saving the review")
    def save_review(self, review: Review, expected: Review | None = None) -> Review:
        """Save one clinician action atomically: current state and a history entry.

        ``expected``: the review as the caller last read it (``get_review``'s placeholder when
        there was none). When the stored one differs, another reader changed it meanwhile and
        :class:`ReviewConflict` is raised instead of overwriting their work unseen; the check
        and the write are one transaction. None: save whatever is stored (scripts, imports).

        Returns the review as stored (time stamped now when not given).
        """
        if review.state not in REVIEW_STATES:
            raise ValueError(f"review state must be one of {REVIEW_STATES}, got {review.state!r}")
        self._refuse_if_read_only("the review")
        stamped = review if review.time is not None else replace(review, time=_now())
        with self._tx() as con:
            row = con.execute(
                "SELECT content_hash, state, note, reviewer, time FROM review WHERE content_hash=?",
                (stamped.content_hash,),
            ).fetchone()
            current = _review(row) if row else Review(stamped.content_hash)
            if expected is not None and _differs(current, expected):
                raise ReviewConflict(self.path, current)
            before = None if row is None else (current.state, current.note)
            self._write_current(con, stamped)
            self._append_history(con, stamped)
            append_event(
                con,
                stamped.content_hash,
                stamped.reviewer,
                REVIEW_SAVED,
                "review and note saved",
                _state_note(before),
                _state_note((stamped.state, stamped.note)),
                stamped.time,
            )
        return stamped

    def _write_current(self, con: sqlite3.Connection, r: Review) -> None:
        con.execute(
            "INSERT INTO review(content_hash, state, note, reviewer, time) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(content_hash) DO UPDATE SET state=excluded.state, note=excluded.note, "
            "reviewer=excluded.reviewer, time=excluded.time",
            (r.content_hash, r.state, r.note, r.reviewer, _iso(r.time)),
        )

    def _append_history(self, con: sqlite3.Connection, r: Review) -> None:
        con.execute(
            "INSERT INTO review_history(content_hash, state, note, reviewer, time) "
            "VALUES (?, ?, ?, ?, ?)",
            (r.content_hash, r.state, r.note, r.reviewer, _iso(r.time)),
        )

    def get_review(self, content_hash: str) -> Review:
        """The current review; an unreviewed placeholder when there is none."""
        return self.get_reviews([content_hash]).get(content_hash, Review(content_hash))

    @_guard("reading reviews")
    def get_reviews(self, hashes: Iterable[str]) -> dict[str, Review]:
        out: dict[str, Review] = {}
        keys = list(hashes)
        con = self._conn()
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for row in con.execute(
                f"SELECT content_hash, state, note, reviewer, time FROM review "
                f"WHERE content_hash IN ({marks})",
                chunk,
            ):
                out[row[0]] = _review(row)
        return out

    @_guard("reading the review history")
    def history(self, content_hash: str) -> list[Review]:
        """Every saved review of one ECG, oldest first."""
        return [
            _review(row)
            for row in self._conn().execute(
                "SELECT content_hash, state, note, reviewer, time FROM review_history "
                "WHERE content_hash=? ORDER BY id",
                (content_hash,),
            )
        ]

    # ------------------------------------------------------------------ file hashes
    @_guard("reading a file's hash")
    def known_hash(self, path: str, size: int, mtime_ns: int) -> str | None:
        """The content hash remembered for ``path`` if its size and mtime are unchanged.

        Re-hashing a folder of 24 h recordings on every opening would read gigabytes; like
        git's index, a file whose size and modification time are unchanged is trusted.
        """
        row = (
            self._conn()
            .execute(
                "SELECT content_hash FROM file_hash WHERE path=? AND size=? AND mtime_ns=?",
                (path, size, mtime_ns),
            )
            .fetchone()
        )
        return None if row is None else str(row[0])

    @_guard("remembering file hashes")
    def remember_hashes(self, entries: Iterable[tuple[str, int, int, str]]) -> None:
        """Store (path, size, mtime_ns, content_hash) rows (one transaction)."""
        if not self._cache_writable():
            return
        with self._tx() as con:
            con.executemany("INSERT OR REPLACE INTO file_hash VALUES (?, ?, ?, ?)", list(entries))

    # ------------------------------------------------------------------ long recordings
    @_guard("caching window scores")
    def put_window_scores(
        self, content_hash: str, model_version: str, window_s: float, scores: Mapping[int, float]
    ) -> None:
        """Per-window scores of a long recording, so scoring resumes after a restart."""
        if not self._cache_writable():
            return
        with self._tx() as con:
            con.executemany(
                "INSERT OR REPLACE INTO window_score VALUES (?, ?, ?, ?, ?)",
                [
                    (content_hash, model_version, window_s, int(i), float(s))
                    for i, s in scores.items()
                ],
            )

    @_guard("reading window scores")
    def get_window_scores(
        self, content_hash: str, model_version: str, window_s: float
    ) -> dict[int, float]:
        return {
            int(i): float(s)
            for i, s in self._conn().execute(
                "SELECT idx, score FROM window_score WHERE content_hash=? AND model_version=? "
                "AND window_s=?",
                (content_hash, model_version, window_s),
            )
        }


# ---------------------------------------------------------------------- helpers
def _folder_writable(folder: Path) -> bool:
    """Whether a file can be created in ``folder`` (permission bits say nothing to root, nor
    about a read-only mount)."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


#: A store file younger than this may be 0 bytes because another ecgviewer is creating it
#: right now (SQLite writes the header a moment after creating the file): not "emptied".
_CREATING_S = 5.0


def _emptied(path: Path) -> bool:
    """A store file of 0 bytes with no WAL holding its data: its earlier reviews are gone."""
    try:
        st = path.stat()
    except OSError:
        return False  # no file: a new database
    wal = Path(str(path) + "-wal")
    return (
        st.st_size == 0
        and time.time() - st.st_mtime > _CREATING_S
        and not (wal.is_file() and wal.stat().st_size > 0)
    )


def _is_damage(exc: BaseException | None) -> bool:
    """A damaged database file (not a busy, full or read-only one)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    return (
        name in _DAMAGED
        or "malformed" in text
        or "not a database" in text
        or text == "integrity check failed"
    )


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT our transaction; split on ';', joining pieces until SQLite
    # calls the statement complete (a trigger body holds ';' of its own).
    out: list[str] = []
    buf = ""
    for piece in script.split(";"):
        buf += piece + ";"
        if sqlite3.complete_statement(buf):
            if buf.strip(" \n;"):
                out.append(buf.strip())
            buf = ""
    return out


def _state_note(row: tuple[str, str] | None) -> str:
    if row is None:
        return ""
    return row[0] + (f": {row[1]}" if row[1] else "")


def _differs(a: Review, b: Review) -> bool:
    return (a.state, a.note, a.reviewer, a.time) != (b.state, b.note, b.reviewer, b.time)


def _clip(text: str, most: int = 60) -> str:
    line = " ".join(text.split())
    return f"“{line if len(line) <= most else line[: most - 1] + '…'}”"


def _iso(t: datetime | None) -> str:
    return (t or _now()).isoformat()


def _review(row: tuple[Any, ...]) -> Review:
    return Review(row[0], row[1], row[2], row[3], datetime.fromisoformat(row[4]))


def _info_meta(i: EcgInfo) -> dict[str, Any]:
    return {
        "label": i.label,
        "patient_id": i.patient_id,
        "age": i.age,
        "sex": i.sex,
        "start": i.start,
        "duration": i.duration,
        "fs": i.fs,
        "leads": list(i.leads),
        "format": i.format,
        "key": i.key,
    }


def _summary_json(s: ScoreSummary) -> dict[str, Any]:
    return {
        "score": s.score,
        "percentile": s.percentile,
        "lead_scores": dict(s.lead_scores),
        "flags": list(s.flags),
        "top_beats": [list(b) for b in s.top_beats],
        "findings": [f.to_json() for f in s.findings],
        "model": dict(s.model),
        "error": s.error,
        "scored_at": s.scored_at,
    }


def _summary_from_json(h: str, version: str, d: dict[str, Any]) -> ScoreSummary:
    return ScoreSummary(
        content_hash=h,
        model_version=version,
        score=d.get("score"),
        percentile=d.get("percentile"),
        lead_scores=d.get("lead_scores", {}),
        flags=tuple(d.get("flags", ())),
        top_beats=tuple(tuple(b) for b in d.get("top_beats", ())),  # type: ignore[misc]
        findings=tuple(Finding.from_json(f) for f in d.get("findings", ())),
        model=d.get("model", {}),
        error=d.get("error"),
        scored_at=d.get("scored_at", ""),
    )
