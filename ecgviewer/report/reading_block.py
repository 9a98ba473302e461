"""What the report says about the reader's work, Qt-free: sign-off state, signer, statements,
and the intervals with the reader's edits marked.

An unconfirmed report must not pass for a signed one, so :func:`banner` gives the sentence
printed in red across the top of the traces whenever the reading is not confirmed; the
measurement lines a reader changed read "QRS 120 ms (reader; machine 90 ms)".
"""

from __future__ import annotations

from collections.abc import Sequence

from ecgviewer.review.reading import Reading
from ecgviewer.review.signoff import CONFIRMED, EDITED, LABELS, UNCONFIRMED
from ecgviewer.review.store import Review

#: Report measurement label -> interval name of :mod:`ecgviewer.signal.fiducials`.
_LABEL_KEY = {"P": "p_duration", "PR": "pr", "QRS": "qrs", "QT": "qt"}


def banner(reading: Reading | None) -> str:
    """The warning printed over the traces, or "" for a confirmed reading."""
    state = UNCONFIRMED if reading is None else reading.state
    if state == CONFIRMED:
        return ""
    if state == EDITED:
        return "EDITED AFTER CONFIRMATION - NOT CONFIRMED: the signature below no longer applies"
    return "UNCONFIRMED REPORT - not signed by a physician"


def interpretation_lines(reading: Reading | None, review: Review | None) -> list[str]:
    """The header block: state, who signed when, statements (full text), then the triage."""
    r = reading or Reading("")
    lines = [f"Status: {LABELS[r.state].upper() if r.state != CONFIRMED else 'CONFIRMED'}"]
    if r.signer and r.signed_at:
        when = r.signed_at.strftime("%Y-%m-%d %H:%M UTC")
        verb = "Signed" if r.state == CONFIRMED else "Was signed"
        lines.append(f"{verb} by {r.signer}, {when}")
    if r.statements:
        lines.extend(s.text for s in r.statements)
    else:
        lines.append("No interpretation statements")
    if review is not None and review.state in ("normal", "abnormal"):
        lines.append(f"Triage: {review.state} ({review.reviewer or '-'})")
    if review is not None and review.note:
        lines.append(f"Note: {review.note}")
    if r.edited_intervals():
        lines.append("* measured by the reader")
    return lines


def with_reader_measurements(
    measurements: Sequence[tuple[str, str]], reading: Reading | None
) -> list[tuple[str, str]]:
    """The measurement lines with the reader's values in place of the machine's, marked."""
    out = list(measurements)
    if reading is None or not reading.edited_intervals():
        return out
    mine, machine, edited = (
        reading.intervals(),
        reading.machine_intervals(),
        reading.edited_intervals(),
    )

    def marked(key: str) -> str:
        was = machine.get(key)
        was_text = "none" if was is None else f"{was:.0f} ms"
        return f"{mine[key]:.0f} ms* (reader; machine {was_text})"

    seen = set()
    for i, (label, _value) in enumerate(out):
        key = _LABEL_KEY.get(label)
        if key in edited:
            out[i] = (label, marked(key))
            seen.add(key)
        elif label == "QTc" and ("qtc_bazett" in edited or "qtc_fridericia" in edited):
            out[i] = (
                label,
                f"{mine['qtc_bazett']:.0f} ms* (Bazett), {mine['qtc_fridericia']:.0f} ms* "
                f"(Fridericia) (reader)",
            )
            seen.add("qtc_bazett")
    for key, label in (("pr", "PR"), ("qrs", "QRS"), ("qt", "QT"), ("p_duration", "P")):
        if key in edited and key not in seen:
            out.append((label, marked(key)))
    return out
