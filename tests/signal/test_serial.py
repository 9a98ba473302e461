"""Serial comparison: changes beyond measurement noise, across rates, common leads only."""

from __future__ import annotations

import numpy as np

from ecgviewer.record import Record
from ecgviewer.signal.intervals import measure
from ecgviewer.signal.resample import resample
from ecgviewer.signal.serial import alike, compare
from ecgviewer.signal.synthetic import synthetic_ecg


def test_same_ecg_at_another_rate_shows_no_change() -> None:
    ecg = synthetic_ecg(fs=500.0, hr=70.0, seed=4)
    a = measure(Record(ecg.signal, 500.0, list(ecg.leads)))
    low = resample(np.asarray(ecg.signal), 500.0, 250.0)
    b = measure(Record(low, 250.0, list(ecg.leads)))
    comp = compare(a, b)
    assert comp.significant == [], [(c.name, c.before, c.after) for c in comp.significant]
    assert len(comp.common_leads) == 12


def test_a_500_hz_ecg_against_a_250_hz_one_is_measured_by_the_same_method() -> None:
    ecg = synthetic_ecg(fs=500.0, hr=70.0, seed=4)
    high = Record(ecg.signal, 500.0, list(ecg.leads))
    low = Record(resample(np.asarray(ecg.signal), 500.0, 250.0), 250.0, list(ecg.leads))
    a, b = measure(high), measure(low)
    assert a.learned and not b.learned  # the network needs 400 Hz or more
    a_alike = alike(high, a, b)
    assert not a_alike.learned
    assert a_alike.values() == measure(high, learned=False).values()
    assert alike(low, b, a) is b  # the rules-only side is kept as it is
    assert alike(high, a, a) is a  # both with the network: nothing to do


def test_faster_rate_and_longer_qrs_are_flagged_and_missing_leads_named() -> None:
    before = synthetic_ecg(fs=500.0, hr=60.0, qrs_ms=90.0, seed=5)
    after = synthetic_ecg(fs=500.0, hr=95.0, qrs_ms=140.0, seed=5)
    a = measure(Record(before.signal, 500.0, list(before.leads)))
    keep = [i for i, n in enumerate(after.leads) if n not in ("V5", "V6")]
    b = measure(Record(after.signal[keep], 500.0, [after.leads[i] for i in keep]))
    comp = compare(a, b, 40.0, 90.0)
    flagged = {c.name for c in comp.significant}
    assert {"Heart rate", "QRS", "Anomaly percentile"} <= flagged
    assert comp.missing_leads["after"] == ("V5", "V6") and comp.missing_leads["before"] == ()
    assert "V5" not in comp.common_leads
    hr = next(c for c in comp.changes if c.name == "Heart rate")
    assert hr.delta is not None and hr.delta > 25
    # "QRS" is the cart-style value, as on every other page (a reader applies cart criteria
    # to it); ours on LUDB's edges beside it.
    cs = next(c for c in comp.changes if c.name == "QRS")
    assert cs.before == a.cart_style["qrs"] and cs.after == b.cart_style["qrs"]
    assert cs.significant
    ludb = next(c for c in comp.changes if c.name == "QRS LUDB-style")
    assert (ludb.before, ludb.after) == (a.qrs_ms, b.qrs_ms)
    names = [c.name for c in comp.changes]
    assert names.index("QT") + 1 == names.index("QT LUDB-style")
    assert "PR LUDB-style" not in names  # PR has no cart-style value: one row
    # Each change flagged once: not again as LUDB-style, not as RR beside the heart rate, not
    # as QT beside the QTc.
    assert not any(c.significant for c in comp.changes if c.name.endswith("LUDB-style"))
    assert not any(c.significant for c in comp.changes if c.name in ("RR", "QT"))


def test_axis_change_wraps_around() -> None:
    from ecgviewer.signal.serial import _row

    c = _row("QRS axis", "°", "qrs_axis_deg", 170.0, -170.0)
    assert c.delta == 20.0 and not c.significant


def test_a_comparison_of_two_patients_or_backwards_in_time_is_flagged() -> None:
    from datetime import datetime

    from ecgviewer.record import Patient
    from ecgviewer.signal.serial import pairing_warnings

    s = synthetic_ecg(fs=500.0, seed=1)

    def rec(pid: str, day: int) -> Record:
        return Record(
            s.signal, s.fs, list(s.leads), start=datetime(2024, 1, day), patient=Patient(pid)
        )

    assert pairing_warnings(rec("A", 9), rec("A", 2)) == []
    warned = pairing_warnings(rec("A", 2), rec("B", 9))
    assert len(warned) == 2
    assert "different patient ids (A / B)" in warned[0]
    assert "recorded after this one" in warned[1]


def test_a_comparison_of_two_named_patients_is_flagged_by_name_and_birth_date() -> None:
    from datetime import date, datetime

    from ecgviewer.record import Patient
    from ecgviewer.signal.serial import pairing_warnings

    s = synthetic_ecg(fs=500.0, seed=1)

    def rec(name: str | None, born: date | None) -> Record:
        patient = Patient(name=name, birth_date=born)
        return Record(s.signal, s.fs, list(s.leads), patient=patient, start=datetime(2024, 1, 1))

    # The same person as two carts write the name: no warning.
    assert pairing_warnings(rec("DOE, JOHN", date(1950, 1, 2)), rec("Doe John", None)) == []
    warned = pairing_warnings(
        rec("DOE, JOHN", date(1950, 1, 2)), rec("DOE, JANE", date(1951, 1, 2))
    )
    assert warned == [
        "different patient names (DOE, JOHN / DOE, JANE)",
        "different dates of birth (1950-01-02 / 1951-01-02)",
    ]


def test_a_comparison_that_cannot_be_checked_says_so() -> None:
    """A PTB-XL file (no id, no name, no date) against another person's cart ECG raised no
    word at all: the reader was not told that neither identity nor order could be checked."""
    from datetime import datetime

    from ecgviewer.record import Patient
    from ecgviewer.signal.serial import pairing_warnings

    s = synthetic_ecg(fs=500.0, seed=1)
    bare = Record(s.signal, s.fs, list(s.leads))
    cart = Record(s.signal, s.fs, list(s.leads), patient=Patient("A"), start=datetime(2020, 1, 1))
    assert pairing_warnings(bare, cart) == [
        "no recording date on this ECG: which one is earlier is not known",
        "no patient id or name on this ECG: check that both are the same patient's",
    ]
    assert pairing_warnings(cart, cart) == []
