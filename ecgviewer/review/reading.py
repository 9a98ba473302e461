"""A reader's work on one ECG: statements, sign-off and hand-placed fiducials, with an audit trail.

Each method is one user action and one transaction of the review store: the current reading
(table ``reading``) and its audit event(s) (``audit_event``) are written together, so a crash
keeps either both or neither, and ``reading.last_event`` names the event that produced the
row. The state follows :mod:`ecgviewer.review.signoff`; statement codes come from
:mod:`ecgviewer.review.statements`; intervals from fiducials from
:mod:`ecgviewer.signal.fiducials`. The machine's fiducials are kept beside the reader's, so
both appear on the report and in the worklist export.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ecgviewer.review import audit
from ecgviewer.review import store as store_module
from ecgviewer.review.audit import AuditEvent
from ecgviewer.review.signoff import (
    CONFIRM,
    CONFIRMED,
    EDIT,
    LABELS,
    REVIEW,
    UNCONFIRMED,
    next_state,
)
from ecgviewer.review.statements import ReadingError, lookup
from ecgviewer.review.store import ReviewStore, ReviewStoreError
from ecgviewer.signal.fiducials import (
    FIDUCIALS,
    NAMES,
    FiducialOrderError,
    check_order,
    intervals_from_fiducials,
)

#: Longest free-text statement kept (a statement, not a letter).
MAX_FREE_TEXT = 500

#: A terminal colour/cursor sequence (ESC [ ... letter), dropped whole with its ESC.
_CSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


def clean_text(text: str, *, multiline: bool = False) -> str:
    """``text`` as typed or pasted, without control characters.

    Control characters (NUL, BEL, ESC, ...) are invisible on screen, print as boxes on the
    signed report and break CSV readers, so they are dropped silently (a pasted terminal colour
    sequence whole, not only its ESC). Tabs and line breaks become spaces and runs of spaces
    collapse: a statement is one line. With ``multiline`` (a worklist note) line breaks are
    kept, as ``\\n``, and only tabs become spaces. The result is stripped; the caller decides
    whether empty is an error.
    """
    text = _CSI.sub("", text)
    # Whitespace controls (tab, CR, LF, VT, FF, FS..US, NEL) stay as separators; others go.
    kept = "".join(c for c in text if c.isspace() or unicodedata.category(c) != "Cc")
    if not multiline:
        return " ".join(kept.split())
    lines = (
        "".join(" " if unicodedata.category(c) == "Cc" else c for c in line)  # tab, US
        for line in kept.splitlines()
    )
    return "\n".join(line.rstrip() for line in lines).strip()


@dataclass(frozen=True)
class StatementEntry:
    """One line of the interpretation: a library code with its text, or free text (no code)."""

    code: str
    text: str

    def label(self) -> str:
        return f"{self.code}: {self.text}" if self.code else self.text


@dataclass(frozen=True)
class Reading:
    """The current reading of one ECG; ``signed_at`` is UTC."""

    content_hash: str
    state: str = UNCONFIRMED
    statements: tuple[StatementEntry, ...] = ()
    signer: str = ""
    signed_at: datetime | None = None
    reader_fiducials: Mapping[str, float] = field(default_factory=dict)
    machine_fiducials: Mapping[str, float] = field(default_factory=dict)
    rr_ms: float | None = None
    updated_at: datetime | None = None

    @property
    def state_label(self) -> str:
        return LABELS[self.state]

    @property
    def fiducials(self) -> dict[str, float]:
        """The fiducials in force: the reader's where placed, else the machine's."""
        return {**dict(self.machine_fiducials), **dict(self.reader_fiducials)}

    def machine_intervals(self) -> dict[str, float | None]:
        return _safe_intervals(self.machine_fiducials, self.rr_ms)

    def intervals(self) -> dict[str, float | None]:
        return _safe_intervals(self.fiducials, self.rr_ms)

    def edited_intervals(self) -> set[str]:
        """Names of the intervals whose value the reader changed."""
        mine, machine = self.intervals(), self.machine_intervals()
        return {k for k, v in mine.items() if v is not None and v != machine.get(k)}


def _safe_intervals(fid: Mapping[str, float], rr_ms: float | None) -> dict[str, float | None]:
    try:
        return intervals_from_fiducials(fid, rr_ms)
    except FiducialOrderError:  # a machine set we were given out of order: show nothing
        return intervals_from_fiducials({}, rr_ms)


def _guarded(doing: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """SQLite/OS errors become a ReviewStoreError saying what was not saved (the store's own
    wording when it has one), never a raw traceback; refusals (ReadingError) pass through."""

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def guarded(self: Readings, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except (sqlite3.Error, OSError) as exc:
                describe = getattr(store_module, "_describe", None)
                problem = describe(exc, doing) if describe else f"{doing} failed: {exc}"
                raise ReviewStoreError(self.store.path, problem) from exc

        return guarded

    return wrap


class Readings:
    """Reader actions over a :class:`~ecgviewer.review.store.ReviewStore` (same file, same
    connections, same one-transaction-per-action rule)."""

    def __init__(self, store: ReviewStore) -> None:
        self.store = store

    # ------------------------------------------------------------------ reading
    def get(self, content_hash: str) -> Reading:
        """The current reading; an unconfirmed, empty one when nothing was saved."""
        return self.get_many([content_hash]).get(content_hash, Reading(content_hash))

    @_guarded("reading the interpretations")
    def get_many(self, hashes: Iterable[str]) -> dict[str, Reading]:
        out: dict[str, Reading] = {}
        keys = list(hashes)
        con = self.store._conn()
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for row in con.execute(f"{_SELECT} WHERE content_hash IN ({marks})", chunk):
                out[row[0]] = _reading(row)
        return out

    @_guarded("reading the audit trail")
    def readers_of(self, hashes: Iterable[str]) -> dict[str, list[str]]:
        """Everyone who acted on each ECG (from the audit trail), for the worklist's filter."""
        out: dict[str, list[str]] = {}
        keys = list(hashes)
        con = self.store._conn()
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for h, reader in con.execute(
                f"SELECT DISTINCT content_hash, reader FROM audit_event "
                f"WHERE content_hash IN ({marks}) AND reader != ''",
                chunk,
            ):
                out.setdefault(h, []).append(reader)
        return out

    @_guarded("reading the audit trail")
    def events(self, content_hash: str | None = None) -> list[AuditEvent]:
        """The audit trail of one ECG (or of all), oldest first."""
        return audit.read_events(self.store._conn(), content_hash)

    def export_events(self, path: str | os.PathLike[str], content_hash: str | None = None) -> int:
        """The audit trail (one ECG's, or all) as CSV; returns the number of events written."""
        return audit.export_events_csv(self.events(content_hash), path)

    # ------------------------------------------------------------------ actions
    def add_statement(
        self, content_hash: str, reader: str, code: str = "", text: str = ""
    ) -> Reading:
        """Add a library statement by ``code`` or a free-text one (``text``, no code).

        Free text is cleaned by :func:`clean_text` first (one line, no control characters), so
        what is signed is what the screen, the report and the CSV export show.

        Raises
        ------
        ReadingError
            Unknown code (with close matches), empty or over-long text, duplicate, no reader.
        """
        if code:
            s = lookup(code)
            entry = StatementEntry(s.code, s.text)
        else:
            free = clean_text(text)
            if not free:
                raise ReadingError("type a statement code or some text")
            if len(free) > MAX_FREE_TEXT:
                raise ReadingError(
                    f"free text is limited to {MAX_FREE_TEXT} characters (this has {len(free)})"
                )
            entry = StatementEntry("", free)

        def change(r: Reading) -> tuple[dict[str, Any], str, str, str]:
            if entry in r.statements:
                raise ReadingError(f"{entry.label()!r} is already in the interpretation")
            return (
                {"statements": (*r.statements, entry)},
                audit.STATEMENT_ADDED,
                entry.label(),
                "",
            )

        return self._act(content_hash, reader, EDIT, change)

    def remove_statement(self, content_hash: str, reader: str, index: int) -> Reading:
        """Remove the statement at ``index`` of the interpretation."""

        def change(r: Reading) -> tuple[dict[str, Any], str, str, str]:
            if not 0 <= index < len(r.statements):
                raise ReadingError(f"there is no statement number {index + 1} to remove")
            gone = r.statements[index]
            kept = r.statements[:index] + r.statements[index + 1 :]
            return {"statements": kept}, audit.STATEMENT_REMOVED, gone.label(), gone.label()

        return self._act(content_hash, reader, EDIT, change)

    def mark_reviewed(self, content_hash: str, reader: str) -> Reading:
        return self._act(content_hash, reader, REVIEW, lambda r: ({}, "", "", ""))

    def confirm(self, content_hash: str, reader: str) -> Reading:
        """Sign the reading as ``reader`` (refused unless reviewed or edited)."""
        now = datetime.now(UTC)
        return self._act(
            content_hash,
            reader,
            CONFIRM,
            lambda r: ({"signer": reader.strip(), "signed_at": now}, "", "", ""),
            time=now,
        )

    def edit_fiducials(
        self,
        content_hash: str,
        reader: str,
        fiducials: Mapping[str, float],
        machine: Mapping[str, float] | None = None,
        rr_ms: float | None = None,
    ) -> Reading:
        """Store the reader's fiducial times (s, relative to the median beat's R peak).

        ``machine`` (the measurement's own fiducials) and ``rr_ms`` are remembered the first
        time they are given, so the machine's values stay beside the reader's. Only the
        fiducials that differ from the machine's are stored as the reader's.

        Raises
        ------
        ReadingError
            An impossible order (QRS offset before onset, T end past the next beat).
        """
        clean = {k: round(float(v), 4) for k, v in fiducials.items()}

        def change(r: Reading) -> tuple[dict[str, Any], str, str, str]:
            mach = dict(r.machine_fiducials) or {
                k: round(float(v), 4) for k, v in (machine or {}).items() if k in NAMES
            }
            rr = r.rr_ms if r.rr_ms is not None else rr_ms
            mine = {**dict(r.reader_fiducials), **clean}
            mine = {k: v for k, v in mine.items() if mach.get(k) != v}
            try:
                check_order({**mach, **mine}, rr)
            except FiducialOrderError as exc:
                raise ReadingError(f"measurement not changed: {exc}") from None
            if mine == dict(r.reader_fiducials):
                raise ReadingError("the measurements are unchanged")
            before_r = Reading(
                content_hash,
                reader_fiducials=dict(r.reader_fiducials),
                machine_fiducials=mach,
                rr_ms=rr,
            )
            before = _describe_intervals(before_r.intervals())
            after_r = Reading(content_hash, reader_fiducials=mine, machine_fiducials=mach, rr_ms=rr)
            what = ", ".join(
                NAMES[k] for k in FIDUCIALS if mine.get(k) != r.reader_fiducials.get(k)
            )
            return (
                {"reader_fiducials": mine, "machine_fiducials": mach, "rr_ms": rr},
                audit.MEASUREMENT_EDITED,
                what,
                before + "|" + _describe_intervals(after_r.intervals()),
            )

        return self._act(content_hash, reader, EDIT, change)

    def reset_fiducials(self, content_hash: str, reader: str) -> Reading:
        """Drop the reader's fiducials: the machine's values apply again."""

        def change(r: Reading) -> tuple[dict[str, Any], str, str, str]:
            if not r.reader_fiducials:
                raise ReadingError("the measurements are already the machine's")
            return (
                {"reader_fiducials": {}},
                audit.MEASUREMENT_EDITED,
                "reset to the machine's values",
                _describe_intervals(r.intervals())
                + "|"
                + _describe_intervals(r.machine_intervals()),
            )

        return self._act(content_hash, reader, EDIT, change)

    # ------------------------------------------------------------------ favourites
    @_guarded("reading favourites")
    def favourites(self, reader: str) -> list[str]:
        return [
            c
            for (c,) in self.store._conn().execute(
                "SELECT code FROM favourite WHERE reader=? ORDER BY code", (reader.strip(),)
            )
        ]

    @_guarded("saving the favourite")
    def set_favourite(self, reader: str, code: str, on: bool = True) -> None:
        """Add (or with ``on=False`` remove) a library code to the reader's favourites."""
        s = lookup(code)
        with self.store._tx() as con:
            if on:
                con.execute(
                    "INSERT OR IGNORE INTO favourite VALUES (?, ?)", (reader.strip(), s.code)
                )
            else:
                con.execute(
                    "DELETE FROM favourite WHERE reader=? AND code=?", (reader.strip(), s.code)
                )

    # ------------------------------------------------------------------ the transaction
    @_guarded("saving the reading")
    def _act(
        self, content_hash: str, reader: str, action: str, change: Any, time: datetime | None = None
    ) -> Reading:
        """Read, change, check the state transition and write reading + events, atomically."""
        reader = reader.strip()
        refuse = getattr(self.store, "_refuse_if_read_only", None)
        if refuse is not None:  # the store's read-only / session-only modes
            refuse("the reading")
        with self.store._tx() as con:
            row = con.execute(f"{_SELECT} WHERE content_hash=?", (content_hash,)).fetchone()
            current = _reading(row) if row else Reading(content_hash)
            new_state = next_state(current.state, action, reader)
            fields_, what_action, what, before_after = change(current)
            stamp = time or datetime.now(UTC)
            values = {
                "state": new_state,
                "statements": current.statements,
                "signer": current.signer,
                "signed_at": current.signed_at,
                "reader_fiducials": current.reader_fiducials,
                "machine_fiducials": current.machine_fiducials,
                "rr_ms": current.rr_ms,
                **fields_,
            }
            last = 0
            if what_action:
                before, _, after = before_after.partition("|")
                if what_action == audit.STATEMENT_REMOVED:
                    before, after = before_after, ""
                elif what_action == audit.STATEMENT_ADDED:
                    before, after = "", what
                last = audit.append_event(
                    con, content_hash, reader, what_action, what, before, after, stamp
                )
            if new_state != current.state or action == CONFIRM:
                what = f"signed by {reader}" if new_state == CONFIRMED else LABELS[new_state]
                last = audit.append_event(
                    con,
                    content_hash,
                    reader,
                    audit.STATE_CHANGED,
                    what,
                    current.state,
                    new_state,
                    stamp,
                )
            _write(con, content_hash, values, last, stamp)
        return self.get(content_hash)


_SELECT = (
    "SELECT content_hash, state, statements, signer, signed_at, reader_fiducials, "
    "machine_fiducials, rr_ms, updated_at FROM reading"
)


def _reading(row: tuple[Any, ...]) -> Reading:
    return Reading(
        content_hash=row[0],
        state=row[1],
        statements=tuple(StatementEntry(d["code"], d["text"]) for d in json.loads(row[2])),
        signer=row[3],
        signed_at=datetime.fromisoformat(row[4]) if row[4] else None,
        reader_fiducials=json.loads(row[5]),
        machine_fiducials=json.loads(row[6]),
        rr_ms=row[7],
        updated_at=datetime.fromisoformat(row[8]),
    )


def _write(con: sqlite3.Connection, h: str, v: dict[str, Any], last: int, stamp: datetime) -> None:
    con.execute(
        "INSERT OR REPLACE INTO reading(content_hash, state, statements, signer, signed_at, "
        "reader_fiducials, machine_fiducials, rr_ms, last_event, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            h,
            v["state"],
            json.dumps([{"code": s.code, "text": s.text} for s in v["statements"]]),
            v["signer"],
            v["signed_at"].isoformat() if v["signed_at"] else "",
            json.dumps(dict(v["reader_fiducials"])),
            json.dumps(dict(v["machine_fiducials"])),
            v["rr_ms"],
            last,
            stamp.isoformat(),
        ),
    )


def _describe_intervals(iv: Mapping[str, float | None]) -> str:
    names = {"pr": "PR", "qrs": "QRS", "qt": "QT", "qtc_bazett": "QTc"}
    parts = [f"{names[k]} {v:.0f} ms" for k, v in iv.items() if v is not None and k in names]
    return ", ".join(parts) or "none"
