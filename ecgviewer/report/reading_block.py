"""What the report says about the reader's work, Qt-free: sign-off state, signer, statements,
the worklist's triage, and the intervals with the reader's edits marked.

What was signed is printed whole: :func:`fit_header` gives the ECG page's header whole
statements only and a "Continued on page 2: ..." line for the rest, which the interpretation
sheet prints in full. The worklist's triage and note (:class:`Triage`) are not covered by
the signature and may be written after it, so they are always printed apart, under their
author and time, saying so when they were saved after the signature.

An unconfirmed report must not pass for a signed one, so :func:`banner` gives the sentence
printed in red across the top of the traces whenever the reading is not confirmed; the
measurement lines a reader changed read "QRS 120 ms (reader; machine 90 ms)".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

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
    # "in ecgviewer": a cart's own statements may end "Confirmed by Dr X" (MUSE), which is
    # the cart's reading, not this one.
    return "UNCONFIRMED REPORT - not signed in ecgviewer by a physician"


def _utc(t: datetime) -> str:
    """A stored time as printed: UTC, to the minute (a naive time is taken as UTC)."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _after(later: datetime | None, earlier: datetime | None) -> bool:
    if later is None or earlier is None:
        return False
    aware = [t if t.tzinfo is not None else t.replace(tzinfo=UTC) for t in (later, earlier)]
    return aware[0] > aware[1]


@dataclass(frozen=True)
class Triage:
    """The worklist's verdict and note on the ECG. The worklist writes them (its reviewer,
    its time), the signature never covers them, and they may be changed after it: so they are
    printed apart from the signed reading, as unsigned, under their author's name."""

    state: str  # "normal", "abnormal" or "" (a note only)
    note: str  # lines joined by "\n"
    reviewer: str
    time: datetime | None
    after_signature: bool  # the worklist entry was saved after the reading was signed

    def title(self) -> str:
        what = f"Worklist triage: {self.state}" if self.state else "Worklist note"
        return f"{what}, not signed"

    def byline(self) -> str:
        """Who saved it, when, and whether after the signature ("saved 2026-01-05 09:00 UTC,
        after the signature")."""
        parts = [self.reviewer or "author not recorded"]
        if self.time is not None:
            parts.append(f"saved {_utc(self.time)}")
        if self.after_signature:
            parts.append("after the signature")
        return ", ".join(parts)

    def header_text(self) -> str:
        """One paragraph for the ECG page's header, where every character counts."""
        who = ", ".join(
            s
            for s in (
                self.reviewer or "author not recorded",
                "" if self.time is None else _utc(self.time),
                "after signing" if self.after_signature else "",
            )
            if s
        )
        what = f"Worklist triage: {self.state}" if self.state else "Worklist note"
        text = f"{what} (not signed; {who})"
        note = " / ".join(self.note.splitlines())
        return f"{text}: \u201c{note}\u201d" if note else text


def triage_of(review: Review | None, reading: Reading | None) -> Triage | None:
    """The worklist's part, or None when the worklist said nothing (unreviewed, no note)."""
    if review is None:
        return None
    state = review.state if review.state in ("normal", "abnormal") else ""
    # A note may hold line breaks (the worklist keeps them): kept, each line tidied.
    note = "\n".join(" ".join(ln.split()) for ln in (review.note or "").splitlines() if ln.strip())
    if not state and not note:
        return None
    signed_at = reading.signed_at if reading is not None and reading.signer else None
    return Triage(state, note, review.reviewer, review.time, _after(review.time, signed_at))


@dataclass(frozen=True)
class Item:
    """One entry of the header's interpretation block, printed whole or not at all: ``kind``
    is "head" (status, signer), "statement", "legend" (the reader's-value mark, also told in
    the measurements), "cart" (the cart's statements) or "triage" (the worklist's)."""

    kind: str
    text: str


@dataclass(frozen=True)
class Interpretation:
    """Everything the report says about the reading, in print order: the signed part, the
    cart's statements, then the worklist's unsigned part."""

    status: str
    signature: str  # "Signed by ..., time" or ""
    statements: tuple[str, ...]
    legend: str  # "* measured by the reader" or ""
    cart: str  # "Cart's statements: ..." or ""
    triage: Triage | None
    confirmed: bool

    def items(self) -> list[Item]:
        out = [Item("head", self.status)]
        if self.signature:
            out.append(Item("head", self.signature))
        if self.statements:
            out.extend(Item("statement", s) for s in self.statements)
        else:
            out.append(Item("head", "No interpretation statements"))
        if self.legend:
            out.append(Item("legend", self.legend))
        if self.cart:
            out.append(Item("cart", self.cart))
        if self.triage is not None:
            out.append(Item("triage", self.triage.header_text()))
        return out


def interpretation(
    reading: Reading | None, review: Review | None, cart: str = ""
) -> Interpretation:
    """State, who signed when, statements (full text), the cart's, then the worklist triage."""
    r = reading or Reading("")
    signature = ""
    if r.signer and r.signed_at:
        verb = "Signed" if r.state == CONFIRMED else "Was signed"
        signature = f"{verb} by {r.signer}, {_utc(r.signed_at)}"
    return Interpretation(
        status=f"Status: {LABELS[r.state].upper() if r.state != CONFIRMED else 'CONFIRMED'}",
        signature=signature,
        statements=tuple(s.text for s in r.statements),
        legend="* measured by the reader" if r.edited_intervals() else "",
        cart=cart,
        triage=triage_of(review, reading),
        confirmed=r.state == CONFIRMED,
    )


def continuation(rest: Sequence[Item], where: str) -> str:
    """The header's last line when the block goes on elsewhere: how much, and where."""
    parts = []
    n = sum(i.kind == "statement" for i in rest)
    if n:
        parts.append(f"{n} more statement{'s' if n != 1 else ''}")
    if any(i.kind == "head" for i in rest):
        parts.append("the sign-off")
    if any(i.kind == "cart" for i in rest):
        parts.append("the cart's statements")
    if any(i.kind == "triage" for i in rest):
        parts.append("the worklist note")
    listed = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    return f"Continued on {where}: {listed}"


def fit_header(
    items: Sequence[Item], budget: int, wrap: Callable[[str], list[str]], where: str
) -> tuple[list[Item], str]:
    """The items the header prints (whole, in order) and, when not all fit in ``budget``
    lines, the line saying what goes on ``where`` ("" when nothing does).

    A statement is never cut: a cut one can read as another ("no acute ..."), and a
    reader must not take the first lines for the whole reading. Only the legend may be left
    out quietly, the measurement lines saying "(reader; machine 90 ms)" themselves."""

    def height(its: Sequence[Item]) -> int:
        return sum(len(wrap(i.text)) for i in its)

    if height(items) <= budget:
        return list(items), ""
    essential = [i for i in items if i.kind != "legend"]
    if height(essential) <= budget:
        return essential, ""
    for n in range(len(essential) - 1, -1, -1):
        more = continuation(essential[n:], where)
        if height(essential[:n]) + len(wrap(more)) <= budget:
            return essential[:n], more
    return [], continuation(essential, where)  # pragma: no cover - budget of 1-2 lines


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
