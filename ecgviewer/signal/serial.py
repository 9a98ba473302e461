"""Serial comparison: what changed between a patient's previous ECG and this one.

Each measurement has a change that counts as real only beyond the noise of measuring it
twice: repeat ECGs of the same person minutes apart differ by this much without any change
in the heart. The limits are about twice the SD of repeated measurement of automated global
intervals (heart rate varies most; axes move with breathing and electrode placement) and
half the ST deviation that defines ischaemia (0.1 mV); the anomaly percentile must move by
more than a quarter of its range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ecgviewer.record import Record
from ecgviewer.signal.intervals import Measurements, measure

#: What the comparison says when :func:`alike` re-measured one of the two ECGs.
RULES_ALIKE_NOTE = (
    "both ECGs measured by the rules alone, so that a change is not a change of method "
    "(the learned second opinion needs the 12 leads at 400 Hz or more in both)"
)

#: Smallest change (absolute, in the value's unit) that exceeds measurement noise.
NOISE = {
    "heart_rate_bpm": 10.0,
    "rr_ms": 150.0,
    "p_duration_ms": 20.0,
    "pr_ms": 20.0,
    "qrs_ms": 20.0,
    "qt_ms": 30.0,
    "qtc_bazett_ms": 30.0,
    "qtc_fridericia_ms": 30.0,
    "p_axis_deg": 30.0,
    "qrs_axis_deg": 30.0,
    "t_axis_deg": 45.0,
    "st_j_mv": 0.05,
    "st_j60_mv": 0.05,
    "percentile": 25.0,
}
#: Rows shown but never highlighted: what another row already says. RR is the heart rate
#: (a 10 bpm change was flagged and its 127 ms RR was not); the QT follows the rate, and a
#: change of repolarisation is the QTc's (a QT 72 ms shorter was flagged with both QTc equal).
NOT_FLAGGED = ("rr_ms", "qt_ms")

LABELS = {
    "heart_rate_bpm": ("Heart rate", "bpm"),
    "rr_ms": ("RR", "ms"),
    "p_duration_ms": ("P duration", "ms"),
    "pr_ms": ("PR", "ms"),
    "qrs_ms": ("QRS", "ms"),
    "qt_ms": ("QT", "ms"),
    "qtc_bazett_ms": ("QTc Bazett", "ms"),
    "qtc_fridericia_ms": ("QTc Fridericia", "ms"),
    "p_axis_deg": ("P axis", "°"),
    "qrs_axis_deg": ("QRS axis", "°"),
    "t_axis_deg": ("T axis", "°"),
}


@dataclass(frozen=True)
class Change:
    """One row of the comparison table: ``before`` is the previous ECG's value."""

    name: str
    unit: str
    before: float | None
    after: float | None
    significant: bool

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        d = self.after - self.before
        if self.unit == "°":  # axes wrap around
            d = (d + 180.0) % 360.0 - 180.0
        return d


@dataclass(frozen=True)
class Comparison:
    """Changes from ``before`` to ``after``, the leads both have, and those only one has."""

    changes: list[Change]
    common_leads: tuple[str, ...]
    missing_leads: dict[str, tuple[str, ...]]  # "before"/"after" -> leads it lacks

    @property
    def significant(self) -> list[Change]:
        return [c for c in self.changes if c.significant]


def _row(name: str, unit: str, key: str, before: float | None, after: float | None) -> Change:
    sig = False
    if before is not None and after is not None:
        d = after - before
        if unit == "°":
            d = (d + 180.0) % 360.0 - 180.0
        sig = abs(d) >= NOISE[key]
    return Change(name, unit, before, after, sig)


def alike(record: Record, m: Measurements, other: Measurements) -> Measurements:
    """``m`` as a comparison with ``other`` should use it: re-measured by the rules alone
    (``learned=False``) when ``m`` averaged in the learned network and ``other`` could not
    (e.g. a 500 Hz ECG against a 100 Hz one). The two methods agree on average but not record
    by record, so mixing them would show method differences as changes. ``record``: what ``m``
    was measured from, with :func:`~ecgviewer.signal.intervals.measure`'s defaults."""
    if m.learned and not other.learned:
        return measure(record, learned=False)
    return m


def pairing_warnings(record: Record, previous: Record) -> list[str]:
    """What makes a comparison of ``record`` with ``previous`` suspect, said on screen and on
    paper alike: two different patient ids, names or dates of birth, or a "previous" ECG
    recorded after this one (every change would then read backwards). Names are compared
    without case, spacing or punctuation (carts write "DOE, JOHN" and "Doe John")."""
    out = []
    ids = (record.patient.id, previous.patient.id)
    if ids[0] and ids[1] and ids[0] != ids[1]:
        out.append(f"different patient ids ({ids[0]} / {ids[1]})")
    names = (record.patient.name, previous.patient.name)
    if names[0] and names[1] and _name_key(names[0]) != _name_key(names[1]):
        out.append(f"different patient names ({names[0]} / {names[1]})")
    births = (record.patient.birth_date, previous.patient.birth_date)
    if births[0] and births[1] and births[0] != births[1]:
        out.append(f"different dates of birth ({births[0]} / {births[1]})")
    if record.start is not None and previous.start is not None:
        try:
            later = previous.start > record.start
        except TypeError:  # one with a time zone, one without: not comparable
            later = False
        if later:
            out.append(
                f"the previous ECG ({previous.start:%Y-%m-%d}) was recorded after this one "
                f"({record.start:%Y-%m-%d})"
            )
    else:
        undated = [w for w, r in (("this", record), ("the previous", previous)) if r.start is None]
        out.append(
            f"no recording date on {' and '.join(undated)} ECG: which one is earlier is not known"
        )
    unnamed = [
        w
        for w, r in (("this", record), ("the previous", previous))
        if not (r.patient.id or r.patient.name)
    ]
    if unnamed:
        out.append(
            f"no patient id or name on {' and '.join(unnamed)} ECG: check that both are the "
            "same patient's"
        )
    return out


def _name_key(name: str) -> str:
    """A name as compared: letters and digits only, lower case, in sorted word order."""
    words = re.findall(r"\w+", name.casefold())
    return " ".join(sorted(words))


def compare(
    before: Measurements,
    after: Measurements,
    percentile_before: float | None = None,
    percentile_after: float | None = None,
) -> Comparison:
    """Compare two ECGs' measurements (any formats and rates: both are in ms, mV, degrees)."""
    changes: list[Change] = []
    for k, (name, unit) in LABELS.items():
        key = k.removesuffix("_ms")
        ours = _row(name, unit, k, getattr(before, k), getattr(after, k))
        narrow = (before.cart_style.get(key), after.cart_style.get(key))
        if k.endswith("_ms") and any(v is not None for v in narrow):
            # As every other page shows them: the cart-style value under the plain name
            # (the edges cart criteria were set on), ours on LUDB's edges beside it. A plain
            # "QRS" row of 136 ms on this page and "QRS 114 ms" on page 1 read as two QRS.
            narrow_row = _row(name, unit, k, *narrow)
            changes.append(
                replace(narrow_row, significant=narrow_row.significant and k not in NOT_FLAGGED)
            )
            # Shown, not flagged again: one change was counted and highlighted twice.
            ours = replace(ours, name=f"{name} LUDB-style", significant=False)
        if k in NOT_FLAGGED:
            ours = replace(ours, significant=False)
        changes.append(ours)
    lb, la = before.beats.leads, after.beats.leads
    common = tuple(name for name in la if name in lb)
    for lead in common:
        for key, label in (("st_j_mv", "ST at J"), ("st_j60_mv", "ST at J+60 ms")):
            b = getattr(before.leads.get(lead), key, None) if before.leads else None
            a = getattr(after.leads.get(lead), key, None) if after.leads else None
            changes.append(_row(f"{label} {lead}", "mV", key, b, a))
    changes.append(
        _row("Anomaly percentile", "", "percentile", percentile_before, percentile_after)
    )
    missing = {
        "before": tuple(n for n in la if n not in lb),
        "after": tuple(n for n in lb if n not in la),
    }
    return Comparison(changes, common, missing)
