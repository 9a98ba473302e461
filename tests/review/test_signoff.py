"""The sign-off state machine: allowed transitions, refused ones, a reader name required."""

from __future__ import annotations

import pytest

from ecgviewer.review.signoff import (
    CONFIRM,
    CONFIRMED,
    EDIT,
    EDITED,
    REVIEW,
    REVIEWED,
    STATES,
    UNCONFIRMED,
    next_state,
)
from ecgviewer.review.statements import ReadingError


def test_the_normal_path_and_edit_after_confirmation():
    s = next_state(UNCONFIRMED, EDIT, "dr a")
    assert s == REVIEWED
    s = next_state(s, CONFIRM, "dr a")
    assert s == CONFIRMED
    s = next_state(s, EDIT, "dr b")
    assert s == EDITED
    assert next_state(s, EDIT, "dr b") == EDITED
    assert next_state(s, CONFIRM, "dr b") == CONFIRMED
    assert next_state(UNCONFIRMED, REVIEW, "dr a") == REVIEWED


@pytest.mark.parametrize(
    "state, action, words",
    [
        (UNCONFIRMED, CONFIRM, "not been reviewed"),
        (CONFIRMED, CONFIRM, "already confirmed"),
        (REVIEWED, REVIEW, "already reviewed"),
        (CONFIRMED, REVIEW, "already confirmed"),
        (EDITED, REVIEW, "needs confirming"),
        (REVIEWED, "delete", "not an action"),
    ],
)
def test_invalid_transitions_are_refused(state, action, words):
    with pytest.raises(ReadingError, match=words):
        next_state(state, action, "dr a")


def test_every_state_needs_a_reader_name():
    for state in STATES:
        with pytest.raises(ReadingError, match="reader name"):
            next_state(state, EDIT, "  ")
