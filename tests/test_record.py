from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from ecgviewer.errors import ECGError, InvalidSignalError
from ecgviewer.record import Annotation, Record, normalize_lead_name


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("AVR", "aVR"),
        ("avr", "aVR"),
        ("aVF", "aVF"),
        ("MLII", "II"),
        ("V1-", "V1"),
        ("ECG II", "II"),
        ("Lead V5", "V5"),
        ("v6", "V6"),
        ("i", "I"),
        ("III", "III"),
        ("ABP", "ABP"),
        ("PLETH", "PLETH"),
        ("vx", "vx"),
        ("V", "V"),
    ],
)
def test_normalize_lead_name(raw: str, expected: str) -> None:
    assert normalize_lead_name(raw) == expected


def _record(**kw: object) -> Record:
    sig = np.zeros((2, 500), dtype=np.float32)
    args = dict(signal=sig, fs=250.0, leads=["I", "II"], source="x.dat")
    args.update(kw)
    return Record(**args)  # type: ignore[arg-type]


def test_validation_rejects_nan_and_absurd_rates() -> None:
    sig = np.zeros((2, 500), dtype=np.float32)
    sig[1, 7] = np.nan
    with pytest.raises(InvalidSignalError, match="lead II"):
        _record(signal=sig)
    for fs in (0, -5, float("nan"), 1e7):
        with pytest.raises(InvalidSignalError, match="x.dat"):
            _record(fs=fs)
    with pytest.raises(ECGError, match="3 signal rows but 2 lead names"):
        _record(signal=np.zeros((3, 10), np.float32))


def test_slice_shifts_annotations_and_start() -> None:
    sig = np.arange(1000, dtype=np.float32)[None].repeat(2, 0)
    rec = _record(
        signal=sig,
        start=datetime(2020, 1, 1, 12, 0, 0),
        annotations=[Annotation(1.0, 0.0, "N"), Annotation(3.5, 0.0, "V")],
    )
    part = rec.slice(3.0, 3.9)
    assert part.n_samples == 225
    assert part.signal[0, 0] == 750
    assert [a.text for a in part.annotations] == ["V"]
    assert part.annotations[0].onset == pytest.approx(0.5)
    assert part.start == datetime(2020, 1, 1, 12, 0, 3)


def test_derived_limb_leads_follow_einthoven() -> None:
    rng = np.random.default_rng(0)
    sig = rng.normal(size=(2, 100)).astype(np.float32)
    rec = _record(signal=sig).with_derived_limb_leads()
    assert rec.leads == ["I", "II", "III", "aVR", "aVL", "aVF"]
    assert rec.derived_leads == ("III", "aVR", "aVL", "aVF")
    i, ii, iii, avr, avl, avf = rec.signal
    np.testing.assert_allclose(iii, ii - i, atol=1e-6)
    np.testing.assert_allclose(avr + avl + avf, 0, atol=1e-5)  # Goldberger leads sum to zero
    np.testing.assert_allclose(avl, i - ii / 2, atol=1e-6)


def test_lead_names_are_normalised_in_linear_time() -> None:
    """A hostile label (a long run of spaces inside) costs microseconds, not seconds, and the
    suffix rule still removes "-ref", " -" and the like."""
    import time

    assert normalize_lead_name("II-Ref") == "II" and normalize_lead_name("V1 -") == "V1"
    assert normalize_lead_name("ECG aVR ref") == "aVR"
    label = "V1" + " " * 200_000 + "x"
    t0 = time.perf_counter()
    assert normalize_lead_name(label) == label
    assert time.perf_counter() - t0 < 0.5


def test_signal_is_stored_lead_by_lead_whatever_the_reader_handed_over() -> None:
    """A reader of interleaved samples (WFDB, EDF) hands over a transposed view; the record
    keeps each lead's samples side by side, the same values, in float32."""
    interleaved = np.arange(24, dtype=np.float64).reshape(6, 4)  # (samples, leads)
    rec = Record(signal=interleaved.T, fs=100.0, leads=["I", "II", "V1", "V2"])
    assert rec.signal.flags.c_contiguous and rec.signal.dtype == np.float32
    np.testing.assert_array_equal(rec.signal, interleaved.T.astype(np.float32))
    with pytest.raises(InvalidSignalError, match=r"got shape \(\)"):
        Record(signal=np.float32(1.0), fs=100.0, leads=["I"])
