"""Intervals from global fiducial times, for values a reader placed by hand.

:mod:`ecgviewer.signal.intervals` finds the fiducials; when a reader drags one, the intervals
are recomputed from the times alone with the same definitions (PR from P onset to QRS onset,
QT from QRS onset to T end, QTc by Bazett and Fridericia from the RR), so a reader's value
and the machine's mean the same thing. Times are seconds relative to any common reference
(the median beat's R peak); only differences matter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

#: Global fiducials, in the order they must occur within a beat.
FIDUCIALS = ("p_onset", "p_offset", "qrs_onset", "qrs_offset", "t_end")
NAMES = {
    "p_onset": "P onset",
    "p_offset": "P offset",
    "qrs_onset": "QRS onset",
    "qrs_offset": "QRS offset",
    "t_end": "T end",
}
#: Intervals derived, in ms: name -> (from, to).
INTERVALS = {
    "p_duration": ("p_onset", "p_offset"),
    "pr": ("p_onset", "qrs_onset"),
    "qrs": ("qrs_onset", "qrs_offset"),
    "qt": ("qrs_onset", "t_end"),
}


class FiducialOrderError(ValueError):
    """Fiducials in an impossible order (QRS offset before onset, T end past the next beat)."""


def check_order(fiducials: Mapping[str, float], rr_ms: float | None = None) -> None:
    """Refuse fiducials that are out of order, unknown or not finite.

    Raises
    ------
    FiducialOrderError
        With a sentence naming the two points, e.g. "QRS offset (-52 ms) is before QRS onset
        (-40 ms)".
    """
    for name, t in fiducials.items():
        if name not in NAMES:
            raise FiducialOrderError(f"unknown fiducial {name!r}; known: {', '.join(FIDUCIALS)}")
        if not math.isfinite(float(t)):
            raise FiducialOrderError(f"{NAMES[name]} is not a finite time")
    present = [n for n in FIDUCIALS if n in fiducials]
    for a, b in zip(present, present[1:], strict=False):
        ta, tb = float(fiducials[a]), float(fiducials[b])
        # P offset may touch QRS onset (no PR segment); everything else strictly increases.
        if tb < ta or (tb == ta and (a, b) != ("p_offset", "qrs_onset")):
            raise FiducialOrderError(
                f"{NAMES[b]} ({1000 * tb:.0f} ms) cannot be before {NAMES[a]} ({1000 * ta:.0f} ms)"
            )
    if rr_ms and "qrs_onset" in fiducials and "t_end" in fiducials:
        qt = 1000 * (float(fiducials["t_end"]) - float(fiducials["qrs_onset"]))
        if qt >= rr_ms:
            raise FiducialOrderError(
                f"T end makes QT {qt:.0f} ms, not shorter than the RR interval ({rr_ms:.0f} ms)"
            )


def intervals_from_fiducials(
    fiducials: Mapping[str, float], rr_ms: float | None = None
) -> dict[str, float | None]:
    """PR, P duration, QRS, QT, QTc (Bazett, Fridericia) in ms, 0.1 ms; ``None`` when a
    needed fiducial (or the RR, for QTc) is missing. The order is checked first."""
    check_order(fiducials, rr_ms)
    out: dict[str, float | None] = {}
    for name, (a, b) in INTERVALS.items():
        if a in fiducials and b in fiducials:
            out[name] = round(1000 * (float(fiducials[b]) - float(fiducials[a])), 1)
        else:
            out[name] = None
    qt = out["qt"]
    rr_s = (rr_ms or 0.0) / 1000.0
    if qt is not None and rr_s > 0:
        out["qtc_bazett"] = round(qt / math.sqrt(rr_s), 1)
        out["qtc_fridericia"] = round(qt / rr_s ** (1 / 3), 1)
    else:
        out["qtc_bazett"] = out["qtc_fridericia"] = None
    out["rr"] = None if not rr_ms else round(float(rr_ms), 1)
    return out
