"""The sign-off state machine of one ECG's reading.

``unconfirmed`` (machine only) -> ``reviewed`` (a reader has added statements or edited values,
or marked it reviewed) -> ``confirmed`` (signed by a named reader). Any change to a confirmed
reading sends it to ``edited`` ("edited, needs confirmation") until someone signs again, as
the ECG management systems' "unconfirmed until a physician signs" rule. Transitions not in
:data:`TRANSITIONS` are refused with a sentence saying what to do instead.
"""

from __future__ import annotations

from ecgviewer.review.statements import ReadingError

UNCONFIRMED, REVIEWED, CONFIRMED, EDITED = "unconfirmed", "reviewed", "confirmed", "edited"
STATES = (UNCONFIRMED, REVIEWED, CONFIRMED, EDITED)
#: How the states read on screen and on the report.
LABELS = {
    UNCONFIRMED: "unconfirmed",
    REVIEWED: "reviewed, not confirmed",
    CONFIRMED: "confirmed",
    EDITED: "edited, needs confirmation",
}

#: Actions a reader can take.
EDIT, REVIEW, CONFIRM = "edit", "review", "confirm"

#: (state, action) -> next state.
TRANSITIONS: dict[tuple[str, str], str] = {
    (UNCONFIRMED, EDIT): REVIEWED,
    (REVIEWED, EDIT): REVIEWED,
    (CONFIRMED, EDIT): EDITED,
    (EDITED, EDIT): EDITED,
    (UNCONFIRMED, REVIEW): REVIEWED,
    (REVIEWED, CONFIRM): CONFIRMED,
    (EDITED, CONFIRM): CONFIRMED,
}

_REFUSALS = {
    (UNCONFIRMED, CONFIRM): "it has not been reviewed: add a statement or mark it reviewed first",
    (REVIEWED, REVIEW): "it is already reviewed",
    (CONFIRMED, REVIEW): "it is already confirmed; any change sends it back for confirmation",
    (EDITED, REVIEW): "it was edited after confirmation and needs confirming, not reviewing",
    (CONFIRMED, CONFIRM): "it is already confirmed",
}


def next_state(state: str, action: str, reader: str) -> str:
    """The state after ``reader`` does ``action`` on a reading in ``state``.

    Raises
    ------
    ReadingError
        No reader name, an unknown state or action, or a transition the workflow forbids.
    """
    if not reader.strip():
        raise ReadingError("enter your reader name first: every change is kept with who made it")
    if state not in STATES:
        raise ReadingError(f"unknown reading state {state!r}")
    key = (state, action)
    if key in TRANSITIONS:
        return TRANSITIONS[key]
    why = _REFUSALS.get(key, f"{action!r} is not an action on a reading")
    verb = {CONFIRM: "confirm", REVIEW: "mark reviewed"}.get(action, action)
    raise ReadingError(f"cannot {verb} this ECG: {why}")
