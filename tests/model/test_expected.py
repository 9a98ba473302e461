"""The expected-normal trace: templates land on their R peaks, fade out between beats, and
with the bundled bank a normal ECG's trace lies on the ECG (as the viewer draws both)."""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer import io
from ecgviewer.record import Record
from ecgviewer.signal.filters import bandpass
from model.config import ModelConfig
from model.data import ptbxl_split
from model.expected import TAPER, expected_trace
from model.infer import Detector
from model.preprocess import prepare
from tests.model.conftest import bundled_weights, synthetic_record
from tests.model.test_beat_bank import _bank_of_synthetic_normals


def test_templates_are_placed_at_their_peaks_and_fade_between_beats() -> None:
    cfg = ModelConfig()
    rng = np.random.default_rng(0)
    n = 2 * cfg.global_len
    templates = rng.normal(size=(2, 12, cfg.bank_len)).astype(np.float32)
    peaks = np.array([100, 400, cfg.global_len + 300])  # two in window 0, one in window 1
    trace = expected_trace(templates, peaks, [0, cfg.global_len], n, cfg)
    assert trace is not None and trace.shape == (12, n)
    core = slice(TAPER, cfg.bank_len - TAPER)  # inside the taper the template is exact
    np.testing.assert_allclose(
        trace[:, 400 - cfg.bank_pre :][:, core], templates[0][:, core], atol=1e-6
    )
    start = cfg.global_len + 300 - cfg.bank_pre
    np.testing.assert_allclose(
        trace[:, start : start + cfg.bank_len][:, core], templates[1][:, core], atol=1e-6
    )
    assert np.all(trace[:, 250] == 0)  # no beat covers it: the baseline
    assert expected_trace(templates, np.array([], np.int64), [0], n, cfg) is None
    assert (
        expected_trace(np.full_like(templates, np.nan), peaks, [0, cfg.global_len], n, cfg) is None
    )


def test_expected_beat_keeps_gain_and_lead_distances_sum_to_the_distance() -> None:
    cfg = ModelConfig(bank_components=32, bank_k=1)
    bank = _bank_of_synthetic_normals(cfg)
    rec, _ = synthetic_record(fs=100.0, seed=3, hr=float(np.linspace(55, 95, 12)[3]))
    member = prepare(rec, cfg, median_beats=True).median_beats
    expected = bank.expected(2.0 * member)  # a member of the bank, twice as large
    np.testing.assert_allclose(expected, 2.0 * member, atol=0.02 * float(np.abs(member).max()))
    flipped = member.copy()
    flipped[:, 0] *= -1  # lead I inverted
    per_lead = bank.lead_distances(flipped)
    assert per_lead.shape == (1, 12)
    assert per_lead[0].sum() == pytest.approx(float(bank.distance(flipped)[0]), rel=0.05)
    assert int(np.argmax(per_lead[0])) in (0, 3, 4)  # I, or aVR/aVL it is derived with
    assert np.isnan(bank.expected(np.full_like(member, np.nan))).all()


@pytest.mark.slow
@pytest.mark.needs_shared
def test_bundled_expected_trace_lies_on_a_normal_ecg(ptbxl_dir) -> None:
    det = Detector.load(bundled_weights(), device="cpu")
    if det.bank is None:
        pytest.skip("the bundled model has no normal-beat bank")
    normals = [i for i in ptbxl_split(ptbxl_dir, det.cfg).report if i.normal][:5]
    errors, jitter = [], []
    for item in normals:
        rec = io.read(item.path)
        assert isinstance(rec, Record)
        res = det.score(rec)
        x, y = bandpass(rec.data(), rec.fs, 0.5, 40.0), bandpass(res.restored, rec.fs, 0.5, 40.0)
        edge = int(0.3 * rec.fs)
        errors.append(np.sqrt(np.mean((x - y)[:, edge:-edge] ** 2)))
        jitter.append(
            np.sqrt(np.mean(np.diff(res.restored, 2) ** 2)) / np.sqrt(np.mean(np.diff(x, 2) ** 2))
        )
    assert np.median(errors) < 0.1  # mV; the benchmark's target on the whole half is 0.08
    assert np.median(jitter) < 1.0  # smoother than the filtered ECG itself
