"""Preprocessing and the mapping back to the input: any rate, length and lead order.

Expected values come from the synthetic generator's known R peaks and from the input itself
(an oracle network restores exactly, so ``restored`` must be the input, band-limited), never
from the model's own output.
"""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer.errors import InvalidSignalError, MissingLeadsError
from ecgviewer.record import STANDARD_LEADS, Record
from ecgviewer.signal.filters import lowpass
from model.infer import Detector
from model.preprocess import add_baseline, add_median_beats, prepare, to_input_rate
from tests.model.conftest import OracleNet, ZeroNet, synthetic_record, tiny_config

RATES = (100.0, 250.0, 360.0, 500.0, 1000.0)  # lengths: 3 s, 10 s, 30 s, 2 min
#: Every rate at 10 s, every length at two rates (the full product costs 3x the time).
CASES = [(fs, 10.0) for fs in RATES] + [
    (100.0, 3.0),
    (360.0, 3.0),
    (250.0, 30.0),
    (1000.0, 30.0),
    (500.0, 120.0),
    (360.0, 120.0),
]


def _detector(net_cls: type) -> Detector:
    cfg = tiny_config()
    return Detector(net_cls(cfg), cfg, {}, "cpu")


@pytest.mark.parametrize("fs, seconds", CASES)
def test_map_and_restored_are_aligned_to_the_input(fs: float, seconds: float) -> None:
    rec, r_true = synthetic_record(fs, seconds, seed=int(fs + seconds), hr=72.0)
    zero = _detector(ZeroNet).score(rec)
    n = rec.n_samples
    assert zero.anomaly_map.shape == (12, n) and zero.anomaly_map.dtype == np.float32
    assert zero.restored.shape == (12, n) and zero.restored.dtype == np.float32
    assert np.isfinite(zero.anomaly_map).all() and np.isfinite(zero.restored).all()
    assert ("short_record_padded" in zero.flags) == (seconds < 9.6)
    assert (f"resampled_from_{fs:g}Hz" in zero.flags) == (fs != 100.0)

    # Zero restoration: each sample's error is its own squared normalised value, so a sharp
    # artefact (Gaussian, sigma 10 ms, 3 mV, midway between two beats) is where the map of
    # every lead peaks. Tolerance 20 ms: two samples of the 100 Hz model.
    mid = int(np.searchsorted(r_true, n // 2))
    t0 = (int(r_true[mid - 1]) + int(r_true[mid])) // 2
    spike = 3.0 * np.exp(-0.5 * ((np.arange(n) - t0) / (0.010 * fs)) ** 2)
    spiked = Record(rec.signal + spike[None, :].astype(np.float32), fs, rec.leads, source="spiked")
    spike_map = _detector(ZeroNet).score(spiked).anomaly_map
    assert abs(int(np.argmax(spike_map.sum(axis=0))) - t0) <= 0.02 * fs
    for row in (0, 1, 7, 11):
        assert abs(int(np.argmax(spike_map[row])) - t0) <= 0.02 * fs

    # Exact restoration: restored == the input, band-limited at the model's 25 Hz, no lag.
    oracle = _detector(OracleNet).score(rec)
    edge = int(0.5 * fs)
    x = lowpass(rec.data(), fs, 25.0)[STANDARD_LEADS.index("II"), edge:-edge]
    y = oracle.restored[STANDARD_LEADS.index("II"), edge:-edge]
    assert np.corrcoef(x, y)[0, 1] > 0.95
    max_lag = int(0.02 * fs)
    lags = range(-max_lag, max_lag + 1)
    xc = [np.dot(x[max_lag:-max_lag], np.roll(y, lag)[max_lag:-max_lag]) for lag in lags]
    assert abs(list(lags)[int(np.argmax(xc))]) <= max(1, 0.005 * fs)
    assert np.median(np.abs(x - y)) < 0.05  # mV: same units and offset as the input


def test_to_input_rate_maps_sample_times_back() -> None:
    cfg = tiny_config()
    rec, _ = synthetic_record(360.0, 10.0)
    p = prepare(rec, cfg)
    t_model = np.arange(p.filtered.shape[1]) / cfg.fs
    back = to_input_rate(np.stack([t_model, 2 * t_model]), p, cfg)
    t_in = np.arange(rec.n_samples) / rec.fs
    inside = t_in <= (p.n_model - 1) / cfg.fs
    np.testing.assert_allclose(back[0, inside], t_in[inside], atol=1e-5)
    np.testing.assert_allclose(back[1, inside], 2 * t_in[inside], atol=1e-5)


def test_rows_follow_the_record_lead_order() -> None:
    rec, _ = synthetic_record(500.0, 10.0, seed=3)
    order = np.random.default_rng(0).permutation(12)
    shuffled = Record(rec.signal[order], rec.fs, [rec.leads[i] for i in order], source="shuffled")
    det = _detector(ZeroNet)
    plain, mixed = det.score(rec), det.score(shuffled)
    for row, name in enumerate(shuffled.leads):
        np.testing.assert_allclose(
            mixed.anomaly_map[row], plain.anomaly_map[rec.leads.index(name)], rtol=1e-5
        )
        np.testing.assert_allclose(
            mixed.restored[row], plain.restored[rec.leads.index(name)], rtol=1e-5, atol=1e-6
        )
        assert mixed.lead_scores[name] == pytest.approx(plain.lead_scores[name], rel=1e-5)
    assert mixed.score == pytest.approx(plain.score, rel=1e-6)


def test_limb_leads_are_derived_and_flagged() -> None:
    rec, _ = synthetic_record(500.0, 10.0, seed=4)
    keep = [rec.leads.index(n) for n in ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")]
    eight = Record(rec.signal[keep], rec.fs, [rec.leads[i] for i in keep], source="eight_leads")
    res = _detector(ZeroNet).score(eight)
    assert "derived_limb_leads" in res.flags
    assert res.anomaly_map.shape == (8, rec.n_samples)
    assert set(res.lead_scores) == set(STANDARD_LEADS)  # the derived leads were scored too
    full = _detector(ZeroNet).score(rec)
    # The synthetic limb leads are themselves derived from I and II: same inputs, same map.
    np.testing.assert_allclose(res.anomaly_map[0], full.anomaly_map[0], rtol=1e-4, atol=1e-6)


def test_missing_precordial_leads_are_refused_clearly() -> None:
    rec, _ = synthetic_record(500.0, 10.0)
    keep = [i for i, n in enumerate(rec.leads) if n not in ("V3", "V5")]
    partial = Record(rec.signal[keep], rec.fs, [rec.leads[i] for i in keep], source="holter.edf")
    with pytest.raises(MissingLeadsError) as info:
        _detector(ZeroNet).score(partial)
    message = str(info.value)
    assert "holter.edf" in message and "V3" in message and "V5" in message
    assert "12 standard leads" in message


def test_too_short_record_is_refused() -> None:
    rec, _ = synthetic_record(500.0, 2.0)
    with pytest.raises(InvalidSignalError, match="too short"):
        _detector(ZeroNet).score(rec)


@pytest.mark.parametrize("kind", ["flat", "disconnected"])
def test_record_without_r_peaks_still_gets_a_score(kind: str) -> None:
    n = 5000
    if kind == "flat":
        signal = np.zeros((12, n), np.float32)
    else:  # leads off: amplifier noise of 0.1 uV RMS, nothing QRS-like
        signal = np.random.default_rng(1).normal(0, 1e-4, (12, n)).astype(np.float32)
    rec = Record(signal, 500.0, list(STANDARD_LEADS), source=kind)
    cfg = tiny_config()
    res = Detector(ZeroNet(cfg), cfg, {}, "cpu").score(rec)
    assert "no_r_peaks" in res.flags
    assert np.isfinite(res.score)
    assert res.beats == []
    assert res.anomaly_map.shape == (12, n) and np.isfinite(res.anomaly_map).all()


@pytest.mark.parametrize("fs,seconds", [(500.0, 10.0), (100.0, 6.0)])  # 6 s: padded
def test_baseline_and_median_beats_made_later_equal_those_made_at_once(
    fs: float, seconds: float
) -> None:
    """What the Detector makes beside the network from ``at_model_rate`` is what
    preparing with everything gives."""
    cfg = tiny_config()
    record = synthetic_record(fs, seconds, seed=4)[0]
    whole = prepare(record, cfg, median_beats=True)
    later = prepare(record, cfg, baseline=False)
    assert later.baseline is None and whole.baseline is not None
    add_baseline(later, cfg)
    add_median_beats(later, cfg)
    assert later.baseline is not None
    np.testing.assert_array_equal(later.baseline, whole.baseline)
    for name in ("median_beats", "bank_band", "slow"):
        np.testing.assert_array_equal(getattr(later, name), getattr(whole, name))
