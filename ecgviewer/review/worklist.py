"""The worklist's data, Qt-free: one :class:`WorklistRow` per ECG, sorted most anomalous first.

The scoring job creates rows as soon as it finds files (only the name is known then) and sends
updated copies as hashes, metadata, scores and reviews arrive; :class:`Worklist` merges them by
``uid`` so the table can fill while the user works. The Qt table model in ``ui`` wraps it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields, replace

from ecgviewer.result import Finding
from ecgviewer.review.reading import Reading, StatementEntry
from ecgviewer.review.store import Review, ScoreSummary
from ecgviewer.signal.quality import severity, short_text

#: Row status as the scoring job advances.
PENDING, SCORED, CACHED, ERROR, LONG = "pending", "scored", "cached", "error", "long"


@dataclass(frozen=True)
class WorklistRow:
    """One ECG in the worklist.

    ``uid`` identifies the row before its content hash is known: the file path, plus ``#key``
    for an ECG inside a collection (HDF5, database CSV).
    """

    uid: str
    path: str
    key: str = ""
    label: str = ""
    content_hash: str = ""
    patient_id: str = ""
    start: str = ""
    duration: float | None = None
    n_leads: int | None = None
    score: float | None = None
    percentile: float | None = None
    model_version: str = ""
    status: str = PENDING
    error: str = ""
    review_state: str = "unreviewed"
    note: str = ""
    reviewer: str = ""
    review_time: str = ""
    order: int = 0  # scan order: the tie-break, so unscored rows keep a stable place
    findings: str = ""  # leads with calibrated findings, most unusual first ("III, aVF +1")
    flags: tuple[str, ...] = ()  # the result's flags (signal quality: lead_off:V1,... etc.)
    # The reader's workflow (review.reading): sign-off state, who signed when, statements
    # (see statements_text: codes bare, free text in double quotes, "; " between), the
    # intervals a reader changed (each marked "[reader; machine N ms]") and every reader who
    # acted on it (from the audit trail).
    reading_state: str = "unconfirmed"
    signer: str = ""
    signed_at: str = ""
    statements: str = ""
    reader_measurements: str = ""
    readers: str = ""

    @property
    def quality(self) -> str:
        """Short signal-quality text for the worklist ("off V1-V6"; "" when fine)."""
        return short_text(self.flags)

    @property
    def quality_severity(self) -> float:
        return severity(self.flags)

    def with_score(self, s: ScoreSummary, cached: bool) -> WorklistRow:
        return replace(
            self,
            score=s.score,
            percentile=s.percentile,
            findings=findings_text(s.findings),
            model_version=s.model_version,
            error=s.error or "",
            flags=tuple(s.flags),
            status=ERROR if s.error else (CACHED if cached else SCORED),
        )

    def with_review(self, r: Review) -> WorklistRow:
        return replace(
            self,
            review_state=r.state,
            note=r.note,
            reviewer=r.reviewer,
            review_time=r.time.isoformat() if r.time else "",
        )

    def with_reading(self, r: Reading, readers: Iterable[str] = ()) -> WorklistRow:
        return replace(
            self,
            reading_state=r.state,
            signer=r.signer,
            signed_at=r.signed_at.isoformat() if r.signed_at else "",
            statements=statements_text(r.statements),
            reader_measurements=reader_measurements_text(r),
            readers=", ".join(sorted({x for x in readers if x})),
        )


def statements_text(statements: Iterable[StatementEntry]) -> str:
    """The statements as one line that reads back unambiguously (:func:`parse_statements`).

    Library codes are written bare (letters, digits, ``_``); free text is written in double
    quotes with its own quotes doubled, as in CSV, because free text may itself hold "; " or
    look like a code: ``IMI; "old MI; compare with prior"; QWAVE`` is three statements.
    """
    return "; ".join(
        s.code if s.code else '"' + s.text.replace('"', '""') + '"' for s in statements
    )


_STATEMENT = re.compile(r'\s*(?:"((?:[^"]|"")*)"|([^";]*?))\s*(?:;|$)')


def parse_statements(text: str) -> list[StatementEntry]:
    """The statements of a :func:`statements_text` line: (code, "") or ("", free text).

    A code's library text is not in the line, so a code comes back with empty ``text``.
    """
    out: list[StatementEntry] = []
    pos = 0
    while pos < len(text):
        m = _STATEMENT.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"not a statements line at character {pos + 1}: {text!r}")
        quoted, bare = m.groups()
        if quoted is not None:
            out.append(StatementEntry("", quoted.replace('""', '"')))
        elif bare:
            out.append(StatementEntry(bare, ""))
        pos = m.end()
    return out


def reader_measurements_text(r: Reading) -> str:
    """The intervals the reader changed, each marked with the machine's value beside it."""
    return "; ".join(
        f"{name} {mine:.0f} ms [reader; machine {was}]"
        for name, mine, was in reader_measurements(r)
    )


def reader_measurements(r: Reading) -> list[tuple[str, float, str]]:
    """(interval name, reader's ms, machine's value as text) for each interval the reader changed."""
    names = {
        "pr": "PR",
        "p_duration": "P",
        "qrs": "QRS",
        "qt": "QT",
        "qtc_bazett": "QTc Bazett",
        "qtc_fridericia": "QTc Fridericia",
    }
    mine, machine = r.intervals(), r.machine_intervals()
    parts = []
    for key in sorted(r.edited_intervals(), key=list(names).index):
        was = machine.get(key)
        parts.append(
            (names[key], float(mine[key] or 0.0), "none" if was is None else f"{was:.0f} ms")
        )
    return parts


def filter_rows(
    rows: Iterable[WorklistRow], state: str = "", reader: str = ""
) -> list[WorklistRow]:
    """Rows in reading ``state`` (any when empty) that ``reader`` acted on (any when empty)."""
    who = reader.strip().lower()
    return [
        r
        for r in rows
        if (not state or r.reading_state == state)
        and (
            not who
            or who in [x.strip().lower() for x in r.readers.split(",")]
            or who == r.signer.lower()
            or who == r.reviewer.lower()
        )
    ]


def findings_text(findings: Iterable[Finding], most: int = 3) -> str:
    """The leads of an ECG's findings, most unusual first and each once: where to look."""
    leads: list[str] = []
    for f in findings:
        name = f.lead or "all"
        if name not in leads:
            leads.append(name)
    if not leads:
        return ""
    return ", ".join(leads[:most]) + (f" +{len(leads) - most}" if len(leads) > most else "")


def row_uid(path: str, key: str = "") -> str:
    return f"{path}#{key}" if key else path


def sort_key(row: WorklistRow) -> tuple[int, float, int]:
    """Most anomalous first; unscored rows after scored ones, in scan order."""
    if row.score is None:
        return (1, 0.0, row.order)
    return (0, -row.score, row.order)


class Worklist:
    """Rows by uid with merge-updates and the default score-descending order."""

    def __init__(self, rows: Iterable[WorklistRow] = ()) -> None:
        self._rows: dict[str, WorklistRow] = {}
        self.merge(rows)

    def merge(self, rows: Iterable[WorklistRow]) -> tuple[list[WorklistRow], list[WorklistRow]]:
        """Insert new rows and replace known ones; returns (added, updated)."""
        added: list[WorklistRow] = []
        updated: list[WorklistRow] = []
        for row in rows:
            if row.uid in self._rows:
                updated.append(row)
            else:
                if not row.order:
                    row = replace(row, order=len(self._rows) + 1)
                added.append(row)
            self._rows[row.uid] = row
        return added, updated

    def get(self, uid: str) -> WorklistRow:
        return self._rows[uid]

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[WorklistRow]:
        return iter(self._rows.values())

    def sorted(self) -> list[WorklistRow]:
        return sorted(self._rows.values(), key=sort_key)

    def counts(self) -> dict[str, int]:
        """How many rows per review state and per status (for the status bar)."""
        out: dict[str, int] = {}
        for row in self._rows.values():
            out[row.review_state] = out.get(row.review_state, 0) + 1
            out[row.status] = out.get(row.status, 0) + 1
        return out


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(WorklistRow))
