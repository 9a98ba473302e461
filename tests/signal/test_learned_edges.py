"""The learned wave edges: the standard's earliest/latest rule over leads, the numpy network,
what it refuses, and what the bundled network reads on synthetic ECGs."""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer.paths import resource
from ecgviewer.signal.learned_edges import (
    P_WAVE,
    QRS,
    T_WAVE,
    WEIGHTS,
    _conv,
    forward,
    global_intervals,
    lead_waves,
    learned_intervals,
)
from ecgviewer.signal.rpeaks import detect_r_peaks
from ecgviewer.signal.synthetic import synthetic_ecg

FS = 250.0


def _beat_waves(r: int, shift: int) -> dict[int, list[tuple[int, int, int]]]:
    """One lead's P, QRS and T around an R peak at ``r``, edges moved by ``shift`` samples."""
    return {
        P_WAVE: [(r - 50 + shift, r - 40, r - 30 - shift)],
        QRS: [(r - 10 + shift, r, r + 12 - shift)],
        T_WAVE: [(r + 40, r + 60, r + 90 - shift)],
    }


def _merge(leads: list[list[dict[int, list[tuple[int, int, int]]]]]) -> list[dict]:
    return [
        {c: [w for beat in lead for w in beat[c]] for c in (P_WAVE, QRS, T_WAVE)} for lead in leads
    ]


def test_global_intervals_take_the_earliest_onset_and_latest_offset_over_leads() -> None:
    peaks = [300, 500, 700]
    # Lead k's edges lie k samples inside the widest lead's (k = 0 is the widest).
    waves = _merge([[_beat_waves(r, k) for r in peaks] for k in range(12)])
    got = global_intervals(waves, FS)
    ms = 1000 / FS
    assert got["qrs"] == pytest.approx(22 * ms)
    assert got["p_duration"] == pytest.approx(20 * ms)
    assert got["pr"] == pytest.approx(40 * ms)
    assert got["qt"] == pytest.approx(100 * ms)


def test_only_beats_near_the_given_r_peaks_count() -> None:
    """Wide beats (PVCs) left out of the median beat are left out here too."""
    normal = [_beat_waves(r, 0) for r in (300, 500)]
    wide = [{P_WAVE: [], QRS: [(r - 20, r, r + 40)], T_WAVE: []} for r in (700, 900)]
    waves = _merge([[*normal, *wide] for _ in range(12)])
    ms = 1000 / FS
    assert global_intervals(waves, FS)["qrs"] == pytest.approx((22 + 60) / 2 * ms)
    kept = global_intervals(waves, FS, beats=np.array([301.0, 498.0]))
    assert kept["qrs"] == pytest.approx(22 * ms)


def test_lead_waves_drops_runs_too_short_to_be_a_wave() -> None:
    labels = np.zeros((1, 100), np.int64)
    labels[0, 10:14] = QRS  # 16 ms: too short
    labels[0, 30:40] = QRS
    labels[0, 50:58] = T_WAVE  # 32 ms: too short for a T wave
    waves = lead_waves(labels)[0]
    assert waves[QRS] == [(30, 34, 39)]
    assert waves[T_WAVE] == []


def test_the_matrix_convolution_is_a_same_padded_convolution() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 40)).astype(np.float32)
    w = rng.normal(size=(4, 3, 5)).astype(np.float32)
    b = rng.normal(size=4).astype(np.float32)
    out = _conv(x, w, b)
    for n in range(2):
        for o in range(4):
            want = b[o] + sum(np.convolve(x[n, c], w[o, c, ::-1], mode="same") for c in range(3))
            np.testing.assert_allclose(out[n, o], want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("fs", [100.0, 250.0])
def test_not_measured_without_twelve_leads_or_below_400_hz(fs: float) -> None:
    ecg = synthetic_ecg(fs=500.0, seed=4)
    peaks = detect_r_peaks(ecg.signal, 500.0)
    assert learned_intervals(ecg.signal[:3], 500.0, ecg.leads[:3], peaks) is None
    slow = synthetic_ecg(fs=fs, seed=4)
    assert learned_intervals(slow.signal, fs, slow.leads, None) is None


def test_a_network_far_from_the_rules_is_not_averaged_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """A QT 300 ms longer than the rules' (a T wave run into the next beat) is a failure: the
    rules' QT stands; a QRS 10 ms wider is averaged in."""
    import ecgviewer.signal.intervals as iv

    ecg = synthetic_ecg(fs=500.0, seed=6)
    peaks = detect_r_peaks(ecg.signal, 500.0)
    rules = iv.measure_signal(ecg.signal, 500.0, ecg.leads, peaks, learned=False)
    assert rules.qt_ms is not None and rules.qrs_ms is not None
    fake = {"p_duration": None, "pr": None, "qrs": rules.qrs_ms + 10, "qt": rules.qt_ms + 300}
    monkeypatch.setattr(iv, "learned_intervals", lambda *a, **k: fake)
    both = iv.measure_signal(ecg.signal, 500.0, ecg.leads, peaks)
    assert both.qt_ms == pytest.approx(rules.qt_ms, abs=0.11)
    assert both.qrs_ms == pytest.approx(rules.qrs_ms + 5, abs=0.11)
    assert both.pr_ms == pytest.approx(rules.pr_ms, abs=0.11)


@pytest.mark.skipif(not resource(WEIGHTS).is_file(), reason="no bundled delineator weights")
@pytest.mark.parametrize(("qrs_ms", "qt_ms"), [(90.0, 400.0), (130.0, 440.0)])
def test_bundled_network_reads_synthetic_intervals(qrs_ms: float, qt_ms: float) -> None:
    """Synthetic waves are smoother than real ones, so only roughly: a wider QRS reads wider."""
    ecg = synthetic_ecg(fs=500.0, seed=5, qrs_ms=qrs_ms, qt_ms=qt_ms)
    got = learned_intervals(ecg.signal, 500.0, ecg.leads, detect_r_peaks(ecg.signal, 500.0))
    assert got is not None
    assert got["qrs"] == pytest.approx(qrs_ms, abs=40.0)
    assert got["qt"] == pytest.approx(qt_ms, abs=60.0)


def test_forward_gives_four_class_scores_per_sample() -> None:
    rng = np.random.default_rng(1)
    net = {}
    widths, c = (4, 8), 2
    for i, w in enumerate(widths):
        net[f"enc{i}_0_w"], net[f"enc{i}_0_b"] = rng.normal(size=(w, c, 3)), np.zeros(w)
        net[f"enc{i}_1_w"], net[f"enc{i}_1_b"] = rng.normal(size=(w, w, 3)), np.zeros(w)
        c = w
    net["dec0_0_w"], net["dec0_0_b"] = rng.normal(size=(4, 12, 3)), np.zeros(4)
    net["dec0_1_w"], net["dec0_1_b"] = rng.normal(size=(4, 4, 3)), np.zeros(4)
    net["head_w"], net["head_b"] = rng.normal(size=(4, 4, 1)), np.zeros(4)
    out = forward(rng.normal(size=(12, 2, 101)).astype(np.float32), net)
    assert out.shape == (12, 4, 101)
    assert np.isfinite(out).all()


@pytest.mark.skipif(not resource(WEIGHTS).is_file(), reason="no bundled delineator weights")
def test_measure_averages_the_rules_and_the_network_keeping_the_qrs_onset() -> None:
    from ecgviewer.signal.intervals import measure_signal

    ecg = synthetic_ecg(fs=500.0, seed=6)
    peaks = detect_r_peaks(ecg.signal, 500.0)
    rules = measure_signal(ecg.signal, 500.0, ecg.leads, peaks, learned=False)
    both = measure_signal(ecg.signal, 500.0, ecg.leads, peaks)
    net = learned_intervals(ecg.signal, 500.0, ecg.leads, rules.beats.used)
    assert net is not None
    for key in ("p_duration", "pr", "qrs", "qt"):
        want = (getattr(rules, f"{key}_ms") + net[key]) / 2
        assert getattr(both, f"{key}_ms") == pytest.approx(want, abs=0.11), key  # 0.1 ms rounding
    assert both.fiducials["qrs_onset"] == rules.fiducials["qrs_onset"]
    assert "averaged with that of a network" in both.method
    # The model's measurement features keep the rules alone (their normal ranges were built so).
    legacy = measure_signal(ecg.signal, 500.0, ecg.leads, peaks, as_model_ranges=True)
    assert "averaged" not in legacy.method


@pytest.mark.skipif(not resource(WEIGHTS).is_file(), reason="no bundled delineator weights")
@pytest.mark.parametrize(("noise_mv", "mains_hz"), [(0.03, None), (0.02, 60.0)])
def test_bundled_network_reads_a_noisy_ecg_as_its_clean_twin(
    noise_mv: float, mains_hz: float | None
) -> None:
    """Broadband noise and mains move no interval by more than 25 ms (trained on noisy leads
    with the velocity channel made from them; before that, P and PR moved by up to 76 ms and
    a QT by 332 ms)."""
    clean = synthetic_ecg(fs=500.0, hr=70.0, seed=12, noise_mv=0.0, wander_mv=0.0)
    noisy = synthetic_ecg(fs=500.0, hr=70.0, seed=12, noise_mv=noise_mv, mains_hz=mains_hz)
    peaks = detect_r_peaks(clean.signal, 500.0)
    want = learned_intervals(clean.signal, 500.0, clean.leads, peaks)
    got = learned_intervals(noisy.signal, 500.0, noisy.leads, peaks)
    assert want is not None and got is not None
    for key, value in want.items():
        assert value is not None and got[key] is not None, key
        assert got[key] == pytest.approx(value, abs=25.0), key
