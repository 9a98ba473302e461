"""The append-only audit trail of the review store: who changed what, when, before and after.

Every reader action (statement added or removed, measurement edited, state changed, review and
note saved) appends one ``audit_event`` row in the same transaction as the change itself, so
the trail and the current state can never disagree. Triggers make SQLite itself refuse an
UPDATE or DELETE of an event: the trail is never rewritten, not even by a bug of ours. The
schema step lives here (a leaf module) so the store's migration list can include it.
"""

from __future__ import annotations

import csv
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from ecgviewer.errors import FileAccessError

#: Schema step 4: readings (statements, sign-off, reader fiducials), the audit trail, favourites.
#: Existing review history is copied into the trail, so an old store's audit starts complete.
SCHEMA_V4 = """
CREATE TABLE reading(
    content_hash TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('unconfirmed', 'reviewed', 'confirmed', 'edited')),
    statements TEXT NOT NULL DEFAULT '[]',
    signer TEXT NOT NULL DEFAULT '',
    signed_at TEXT NOT NULL DEFAULT '',
    reader_fiducials TEXT NOT NULL DEFAULT '{}',
    machine_fiducials TEXT NOT NULL DEFAULT '{}',
    rr_ms REAL,
    last_event INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
CREATE TABLE audit_event(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    content_hash TEXT NOT NULL,
    reader TEXT NOT NULL,
    time TEXT NOT NULL,
    action TEXT NOT NULL,
    what TEXT NOT NULL,
    before TEXT NOT NULL DEFAULT '',
    after TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_event_hash ON audit_event(content_hash);
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: events are never changed'); END;
CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: events are never deleted'); END;
CREATE TABLE favourite(
    reader TEXT NOT NULL,
    code TEXT NOT NULL,
    PRIMARY KEY (reader, code)
);
INSERT INTO audit_event(content_hash, reader, time, action, what, before, after)
    SELECT content_hash, reviewer, time, 'review', 'review saved (before the audit trail)', '',
           state || CASE WHEN note = '' THEN '' ELSE ': ' || note END
    FROM review_history ORDER BY id;
"""

#: Event actions.
REVIEW_SAVED, STATEMENT_ADDED, STATEMENT_REMOVED = "review", "statement added", "statement removed"
MEASUREMENT_EDITED, STATE_CHANGED = "measurement edited", "state changed"

CSV_COLUMNS = ("id", "content_hash", "time", "reader", "action", "what", "before", "after")


@dataclass(frozen=True)
class AuditEvent:
    id: int
    content_hash: str
    reader: str
    time: datetime
    action: str
    what: str
    before: str = ""
    after: str = ""


def append_event(
    con: sqlite3.Connection,
    content_hash: str,
    reader: str,
    action: str,
    what: str,
    before: str = "",
    after: str = "",
    time: datetime | None = None,
) -> int:
    """Append one event inside the caller's transaction; returns its id."""
    stamp = (time or datetime.now(UTC)).isoformat()
    cur = con.execute(
        "INSERT INTO audit_event(content_hash, reader, time, action, what, before, after) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (content_hash, reader, stamp, action, what, before, after),
    )
    return int(cur.lastrowid or 0)


def read_events(con: sqlite3.Connection, content_hash: str | None = None) -> list[AuditEvent]:
    """Events of one ECG (or all), oldest first."""
    sql = "SELECT id, content_hash, reader, time, action, what, before, after FROM audit_event"
    args: tuple[str, ...] = ()
    if content_hash is not None:
        sql += " WHERE content_hash=?"
        args = (content_hash,)
    return [
        AuditEvent(r[0], r[1], r[2], datetime.fromisoformat(r[3]), r[4], r[5], r[6], r[7])
        for r in con.execute(sql + " ORDER BY id", args)
    ]


def export_events_csv(events: Iterable[AuditEvent], path: str | os.PathLike[str]) -> int:
    """Write events to a UTF-8 CSV with a header row; returns how many were written."""
    n = 0
    try:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(CSV_COLUMNS)
            for e in events:
                writer.writerow(
                    [
                        e.id,
                        e.content_hash,
                        e.time.isoformat(),
                        e.reader,
                        e.action,
                        e.what,
                        e.before,
                        e.after,
                    ]
                )
                n += 1
    except OSError as exc:
        raise FileAccessError(
            path, f"cannot write the audit trail: {exc.strerror or exc}"
        ) from None
    return n
