"""The worklist's reader's-workflow parts: the reading's summary in the details panel and the
audit-trail export (the filter by sign-off state and reader is on the worklist toolbar)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from PySide6.QtWidgets import QFileDialog

from ecgviewer.review.signoff import LABELS
from ecgviewer.review.worklist import WorklistRow


def shown_time(when: datetime | str | None) -> str:
    """A stored time (UTC, ISO 8601 or datetime) as this computer's local time with its zone,
    '2026-01-05 11:00 CET': one signature showed three different unlabelled times (worklist
    UTC, viewer local, report UTC), so every panel on screen uses this."""
    if not when:
        return ""
    try:
        t = datetime.fromisoformat(when) if isinstance(when, str) else when
    except ValueError:
        return str(when)
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)  # the store stamps UTC
    local = t.astimezone()
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or local.strftime('UTC%z')}"


def reading_summary(row: WorklistRow) -> str:
    """'confirmed by dr k 2026-01-05 10:00 UTC: SR; LVH' (marked when the reader edited
    intervals)."""
    text = LABELS.get(row.reading_state, row.reading_state)
    if row.signer and row.signed_at:
        text += f" (signed by {row.signer} {shown_time(row.signed_at)})"
    if row.statements:
        text += f": {row.statements}"
    if row.reader_measurements:
        text += "; reader-edited intervals"
    return "reading " + text


def export_audit(win: Any, path: str) -> int:
    """The whole audit trail of the window's review store as CSV; returns the event count."""
    from ecgviewer.review.reading import Readings
    from ecgviewer.ui.messages import show_error, show_info

    try:
        n = Readings(win.store).export_events(path)
    except Exception as exc:  # noqa: BLE001 - shown, the worklist stays
        show_error(win, exc)
        return 0
    show_info(win, f"{n} audit events written to {path}.", "Audit trail exported")
    return n


def choose_audit_export(win: Any) -> None:
    """Ask where, then :func:`export_audit` (the worklist toolbar's "Export audit trail…")."""
    path, _ = QFileDialog.getSaveFileName(
        win, "Export the audit trail", "audit_trail.csv", "CSV (*.csv)"
    )
    if path:
        export_audit(win, path)
