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
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
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
    """The review database cannot be opened or is from a newer program."""


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

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._migrate(self._conn())

    # ------------------------------------------------------------------ connection
    def _conn(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            try:
                # isolation_level=None: we issue BEGIN/COMMIT ourselves, one per user action.
                con = sqlite3.connect(
                    self.path, isolation_level=None, timeout=10.0, check_same_thread=False
                )
                con.execute("PRAGMA journal_mode=WAL")
                con.execute("PRAGMA synchronous=FULL")
                con.execute("PRAGMA foreign_keys=ON")
            except sqlite3.Error as exc:
                raise ReviewStoreError(self.path, f"review database cannot be opened: {exc}") from exc
            self._local.con = con
            with self._lock:
                self._all.append(con)
        return con

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; IMMEDIATE so two writers never deadlock on upgrade."""
        con = self._conn()
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        else:
            con.execute("COMMIT")

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

    def integrity_ok(self) -> bool:
        """SQLite's own full consistency check."""
        return self._conn().execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # ------------------------------------------------------------------ ecg
    def upsert_ecgs(self, infos: Iterable[EcgInfo]) -> None:
        """Remember where ECGs are and what they are (one transaction for the batch)."""
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

    def get_ecg(self, content_hash: str) -> EcgInfo | None:
        row = self._conn().execute(
            "SELECT content_hash, path, metadata FROM ecg WHERE content_hash=?", (content_hash,)
        ).fetchone()
        if row is None:
            return None
        meta = json.loads(row[2])
        meta["leads"] = tuple(meta.get("leads", ()))
        return EcgInfo(content_hash=row[0], path=row[1], **meta)

    # ------------------------------------------------------------------ scores
    def put_scores(self, summaries: Iterable[ScoreSummary]) -> None:
        """Cache scores (one transaction for the batch); a re-score replaces the old one."""
        rows = []
        for s in summaries:
            stamped = s if s.scored_at else replace(s, scored_at=_now().isoformat())
            rows.append(
                (s.content_hash, s.model_version, json.dumps(_summary_json(stamped)),
                 stamped.scored_at)
            )
        with self._tx() as con:
            con.executemany(
                "INSERT OR REPLACE INTO score(content_hash, model_version, summary, scored_at) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )

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
    def save_review(self, review: Review) -> Review:
        """Save one clinician action atomically: current state and a history entry.

        Returns the review as stored (time stamped now when not given).
        """
        if review.state not in REVIEW_STATES:
            raise ValueError(f"review state must be one of {REVIEW_STATES}, got {review.state!r}")
        stamped = review if review.time is not None else replace(review, time=_now())
        with self._tx() as con:
            before = con.execute(
                "SELECT state, note FROM review WHERE content_hash=?", (stamped.content_hash,)
            ).fetchone()
            self._write_current(con, stamped)
            self._append_history(con, stamped)
            append_event(con, stamped.content_hash, stamped.reviewer, REVIEW_SAVED,
                         "review and note saved", _state_note(before),
                         _state_note((stamped.state, stamped.note)), stamped.time)
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
    def known_hash(self, path: str, size: int, mtime_ns: int) -> str | None:
        """The content hash remembered for ``path`` if its size and mtime are unchanged.

        Re-hashing a folder of 24 h recordings on every opening would read gigabytes; like
        git's index, a file whose size and modification time are unchanged is trusted.
        """
        row = self._conn().execute(
            "SELECT content_hash FROM file_hash WHERE path=? AND size=? AND mtime_ns=?",
            (path, size, mtime_ns),
        ).fetchone()
        return None if row is None else str(row[0])

    def remember_hashes(self, entries: Iterable[tuple[str, int, int, str]]) -> None:
        """Store (path, size, mtime_ns, content_hash) rows (one transaction)."""
        with self._tx() as con:
            con.executemany("INSERT OR REPLACE INTO file_hash VALUES (?, ?, ?, ?)", list(entries))

    # ------------------------------------------------------------------ long recordings
    def put_window_scores(
        self, content_hash: str, model_version: str, window_s: float, scores: Mapping[int, float]
    ) -> None:
        """Per-window scores of a long recording, so scoring resumes after a restart."""
        with self._tx() as con:
            con.executemany(
                "INSERT OR REPLACE INTO window_score VALUES (?, ?, ?, ?, ?)",
                [(content_hash, model_version, window_s, int(i), float(s)) for i, s in scores.items()],
            )

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


def _iso(t: datetime | None) -> str:
    return (t or _now()).isoformat()


def _review(row: tuple[Any, ...]) -> Review:
    return Review(row[0], row[1], row[2], row[3], datetime.fromisoformat(row[4]))


def _info_meta(i: EcgInfo) -> dict[str, Any]:
    return {
        "label": i.label, "patient_id": i.patient_id, "age": i.age, "sex": i.sex,
        "start": i.start, "duration": i.duration, "fs": i.fs, "leads": list(i.leads),
        "format": i.format, "key": i.key,
    }


def _summary_json(s: ScoreSummary) -> dict[str, Any]:
    return {
        "score": s.score, "percentile": s.percentile, "lead_scores": dict(s.lead_scores),
        "flags": list(s.flags), "top_beats": [list(b) for b in s.top_beats],
        "findings": [f.to_json() for f in s.findings],
        "model": dict(s.model), "error": s.error, "scored_at": s.scored_at,
    }


def _summary_from_json(h: str, version: str, d: dict[str, Any]) -> ScoreSummary:
    return ScoreSummary(
        content_hash=h, model_version=version, score=d.get("score"),
        percentile=d.get("percentile"), lead_scores=d.get("lead_scores", {}),
        flags=tuple(d.get("flags", ())),
        top_beats=tuple(tuple(b) for b in d.get("top_beats", ())),  # type: ignore[misc]
        findings=tuple(Finding.from_json(f) for f in d.get("findings", ())),
        model=d.get("model", {}), error=d.get("error"), scored_at=d.get("scored_at", ""),
    )
