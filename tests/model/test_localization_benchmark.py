"""The synthetic localization benchmark's insertions: deterministic, physical, honestly labelled."""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer.record import STANDARD_LEADS
from model.localization_benchmark import INSERTIONS, LABEL_MV, as_record, insert, standard_array
from tests.model.conftest import synthetic_record

ROW = {name: i for i, name in enumerate(STANDARD_LEADS)}


@pytest.fixture(scope="module")
def record():  # noqa: ANN201
    return synthetic_record(100.0, 10.0, seed=5, hr=70.0)[0]


@pytest.mark.parametrize("kind", list(INSERTIONS))
def test_insertions_are_deterministic_local_and_labelled(record, kind: str) -> None:  # noqa: ANN001
    a = insert(record, kind, seed=1, key=42)
    b = insert(record, kind, seed=1, key=42)
    c = insert(record, kind, seed=2, key=42)
    np.testing.assert_array_equal(a.signal, b.signal)
    assert not np.array_equal(a.signal, c.signal) or a.spans != c.spans or kind == "t_inversion"
    x = standard_array(record)
    delta = a.signal - x
    inside = np.zeros(x.shape[1], bool)
    for s, e in a.spans:
        inside[s:e] = True
    assert np.abs(delta[:, ~inside]).max() < 1e-5  # nothing changes outside the event spans
    assert a.labels[:, ~inside].sum() == 0
    assert a.labels.any()
    # A labelled lead changed by >= LABEL_MV within each labelled span; unlabelled ones less.
    for s, e in a.spans:
        changed = np.abs(delta[:, s:e]).max(axis=1)
        np.testing.assert_array_equal(a.labels[:, s:e].any(axis=1), changed >= LABEL_MV - 1e-6)
    # Limb leads keep Einthoven's and Goldberger's laws (as the recorded ECG does).
    d = delta
    np.testing.assert_allclose(d[ROW["III"]], d[ROW["II"]] - d[ROW["I"]], atol=1e-5)
    np.testing.assert_allclose(d[ROW["aVF"]], d[ROW["II"]] - d[ROW["I"]] / 2, atol=1e-5)
    rec = as_record(record, a)
    assert rec.leads == list(STANDARD_LEADS) and rec.fs == record.fs


def test_premature_beat_is_early_wide_and_everywhere(record) -> None:  # noqa: ANN001
    ins = insert(record, "premature_wide_beat", seed=3, key=1)
    ((s, e),) = ins.spans
    assert ins.labels[:, s:e].all()  # a ventricular beat changes every lead
    assert 0.75 <= (e - s) / record.fs <= 1.2  # 160 ms before the new R to >= 640 ms after
    r_new = ins.detail["r_new_s"]
    assert s / record.fs == pytest.approx(r_new - 0.16, abs=0.011)


def test_st_shift_is_a_plateau_of_the_stated_size(record) -> None:  # noqa: ANN001
    for key in range(6):
        ins = insert(record, "st_shift", seed=0, key=key)
        delta = ins.signal - standard_array(record)
        mag = abs(ins.detail["shift_mv"])
        assert 0.15 <= mag <= 0.30 and len(ins.spans) == 3
        # Precordial territories shift by the full size; limb ones by 0.87 of it (a frontal
        # vector projected on the lead axes), reciprocal leads included.
        weight = 1.0 if ins.detail["territory"] in ("anterior", "lateral_precordial") else 0.866
        assert np.abs(delta).max() == pytest.approx(weight * mag, rel=0.01)


def test_emg_burst_has_the_stated_rms(record) -> None:  # noqa: ANN001
    ins = insert(record, "emg_burst", seed=0, key=3)
    ((s, e),) = ins.spans
    delta = ins.signal - standard_array(record)
    assert (e - s) == round(0.8 * record.fs)
    peak_lead = int(np.argmax(np.abs(delta).max(axis=1)))
    core = delta[peak_lead, s + (e - s) // 4 : e - (e - s) // 4]
    assert 0.06 <= core.std() <= 0.2  # 0.10 mV RMS (x1 at the electrode's own leads, up to x1.5)
