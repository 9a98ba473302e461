"""Signal quality: a real cart recording with disconnected chest leads, and synthetic faults
(flat, amplifier noise, clipping, EMG, mains, wander, swapped arm electrodes) on a clean ECG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ecgviewer import io
from ecgviewer.signal import quality as Q
from ecgviewer.signal.synthetic import synthetic_ecg

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CONTEC = SHARED / "fixtures" / "edf" / "contec_ecg90a_0000050.edf"
PTBXL_NORMAL = SHARED / "data" / "ptbxl" / "records100" / "00000" / "00001_lr.hea"
LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
CHEST = LEADS[6:]


@pytest.fixture(scope="module")
def clean() -> tuple[np.ndarray, float]:
    ecg = synthetic_ecg(fs=500.0, duration=10.0, hr=72.0, seed=3)
    assert list(ecg.leads) == LEADS
    return ecg.signal.astype(np.float64), ecg.fs


def found(x: np.ndarray, fs: float) -> dict[str, list[str]]:
    return Q.parse_flags(Q.assess(x, fs, LEADS).flags)


@pytest.mark.skipif(not CONTEC.is_file(), reason="shared fixtures not present")
def test_contec_recording_with_disconnected_chest_leads() -> None:
    quality = Q.assess_record(io.read(CONTEC))
    assert quality.flags == {"lead_off:V1,V2,V3,V4,V5,V6"}
    assert quality.usable == LEADS[:6] and quality.unusable == CHEST
    assert quality.headline() == "chest leads V1-V6 disconnected (no ECG signal)"
    assert "remaining leads I-aVF" in Q.scoring_note(quality.flags)


@pytest.mark.skipif(not PTBXL_NORMAL.is_file(), reason="PTB-XL data not present")
def test_a_real_normal_ecg_has_no_quality_flag() -> None:
    quality = Q.assess_record(io.read(PTBXL_NORMAL))
    assert quality.ok and quality.flags == set()
    assert quality.n_beats >= 8


def test_clean_synthetic_ecg_has_no_flag(clean) -> None:
    x, fs = clean
    assert found(x, fs) == {}


@pytest.mark.parametrize("noise_mv", [0.0, 0.012])
def test_chest_leads_flat_or_amplifier_noise_are_off(clean, noise_mv) -> None:
    x, fs = clean
    y = x.copy()
    y[6:] = (
        np.round(np.random.default_rng(1).normal(0, noise_mv, y[6:].shape), 3) if noise_mv else 0.0
    )
    assert found(y, fs) == {Q.LEAD_OFF: CHEST}


def test_every_lead_off_cannot_be_scored(clean) -> None:
    x, fs = clean
    y = np.random.default_rng(2).normal(0, 0.01, x.shape)
    flags = Q.assess(y, fs, LEADS).flags
    assert Q.parse_flags(flags) == {Q.LEAD_OFF: LEADS}
    assert Q.quality_headline(flags).startswith("all leads disconnected")
    assert Q.scoring_note(flags).startswith("not scored")


def test_clipped_lead(clean) -> None:
    x, fs = clean
    y = x.copy()
    y[1] = np.clip(x[1], -0.3, 0.6)  # lead II's R waves cut flat
    assert found(y, fs) == {Q.CLIPPED: ["II"]}


@pytest.mark.parametrize("kind", ["EMG", "mains", "baseline wander"])
def test_heavy_noise_names_the_lead_and_kind(clean, kind) -> None:
    x, fs = clean
    y = x.copy()
    t = np.arange(x.shape[1]) / fs
    rng = np.random.default_rng(4)
    if kind == "EMG":
        y[8] += rng.normal(0, 0.1, x.shape[1])
    elif kind == "mains":
        y[8] += 0.1 * np.sin(2 * np.pi * 50.0 * t)
    else:
        y[8] += 1.5 * np.sin(2 * np.pi * 0.3 * t)
    quality = Q.assess(y, fs, LEADS)
    assert Q.parse_flags(quality.flags) == {Q.NOISY: ["V3"]}
    assert kind in quality.leads[8].noise_kinds


def test_mains_is_not_judged_where_the_rate_cannot_resolve_it(clean) -> None:
    x, _ = clean
    quality = Q.assess(x[:, ::5], 100.0, LEADS)
    assert all(np.isnan(q.mains_mv) for q in quality.leads)


def test_swapped_arm_electrodes(clean) -> None:
    x, fs = clean
    y = x.copy()
    y[0] = -x[0]
    y[1], y[2] = x[2], x[1]
    y[3], y[4] = x[4], x[3]
    quality = Q.assess(y, fs, LEADS)
    assert Q.parse_flags(quality.flags) == {Q.REVERSAL: ["I", "aVR"]}
    assert quality.reversal == "LA/RA" and "swapped" in quality.reversal_detail


def test_wording_helpers() -> None:
    assert Q.lead_list(["V3", "V1", "V2", "aVR", "I"]) == "I, aVR, V1-V3"
    assert Q.lead_list(["aVL", "aVF", "V1"]) == "aVL, aVF, V1"  # no range across limb/chest
    flags = {"lead_off:V1,V2,V3,V4,V5,V6", "noisy:II", "resampled_from_800Hz"}
    assert Q.parse_flags(flags) == {"lead_off": CHEST, "noisy": ["II"]}
    assert Q.short_text(flags) == "off V1-V6; noisy II"
    assert Q.severity(flags) > Q.severity({"noisy:II,III"}) > Q.severity(set()) == 0
    assert Q.quality_headline({"clipped:II"}) == "lead II clipped (amplifier saturated)"
    assert Q.scoring_note({"noisy:II"}).startswith("the score may reflect")
    assert Q.scoring_note(set()) == ""


def test_short_or_odd_input_does_not_raise() -> None:
    assert Q.assess(np.zeros((12, 50)), 500.0, LEADS).ok  # under a second: nothing said
    x = np.full((2, 5000), np.nan)
    assert Q.parse_flags(Q.assess(x, 500.0, ["I", "II"]).flags) == {Q.LEAD_OFF: ["I", "II"]}


def test_shared_work_is_ignored_for_signals_with_nan() -> None:
    """Resampled leads and R peaks from elsewhere were computed with the NaN in them; the
    check zeroes NaN and measures everything itself, as without them."""
    from ecgviewer.signal.quality import assess
    from ecgviewer.signal.resample import resample
    from ecgviewer.signal.synthetic import synthetic_ecg

    x = synthetic_ecg(fs=500.0, duration=10.0, seed=3).signal.astype(np.float64)
    x[6:, 1000:1400] = np.nan
    leads = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    alone = assess(x, 500.0, leads)
    bogus = assess(x, 500.0, leads, at_work_rate=resample(x, 500.0, 100.0), peaks=np.array([5]))
    assert bogus == alone


def test_shared_peaks_and_resampled_leads_are_used() -> None:
    """Given the same leads at the working rate and the R peaks, the check gives what it
    finds itself; given other peaks, it uses them (they are not recomputed)."""
    from ecgviewer.signal.quality import assess
    from ecgviewer.signal.resample import resample
    from ecgviewer.signal.rpeaks import detect_r_peaks

    x = synthetic_ecg(fs=500.0, duration=10.0, seed=4).signal.astype(np.float64)
    leads = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    work = resample(x, 500.0, 100.0)
    alone = assess(x, 500.0, leads)
    shared = assess(x, 500.0, leads, at_work_rate=work, peaks=detect_r_peaks(work, 100.0))
    assert shared == alone and alone.n_beats >= 8
    assert assess(x, 500.0, leads, at_work_rate=work, peaks=np.array([300, 600])).n_beats == 2


@pytest.mark.parametrize("fs", [250.0, 500.0, 1000.0])
def test_mains_of_a_10_s_strip_as_the_fft_gives_it(fs: float) -> None:
    """A 10 s strip's two mains bands come from a matrix product, not the whole FFT: the
    same amplitudes (to ~1e-5 of their size: float32) as the FFT path, with and without a line."""
    rng = np.random.default_rng(int(fs))
    n = int(Q.MAINS_SECONDS * fs)
    t = np.arange(n) / fs
    x = rng.normal(0, 0.05, (12, n)) + 0.3
    x[3] += 0.08 * np.sin(2 * np.pi * 50.2 * t)
    x[7] += 0.02 * np.sin(2 * np.pi * 59.6 * t + 1.0)
    direct = Q._mains(x, fs)
    window, freqs, gain = Q._mains_window(n, fs)
    spec = np.fft.rfft((x - x.mean(axis=1, keepdims=True)) * window, axis=1)
    fft = (
        np.max(
            [np.abs(spec[:, (freqs >= f - 1) & (freqs <= f + 1)]).max(axis=1) for f in (50, 60)],
            axis=0,
        )
        / gain
    )
    np.testing.assert_allclose(direct, fft, rtol=1e-5, atol=1e-7)
    assert direct[3] == pytest.approx(0.08, rel=0.1) and direct[7] == pytest.approx(0.02, rel=0.2)
    shorter = Q._mains(x[:, : n - 7], fs)  # not 10 s: the FFT path
    assert shorter[3] == pytest.approx(direct[3], rel=0.2)  # other bins: scalloping


def _emg_burst(n: int, fs: float, a: float, z: float, rms_mv: float, seed: int = 0) -> np.ndarray:
    """Muscle-like noise (white, 20-150 Hz) of ``rms_mv`` between ``a`` and ``z`` seconds."""
    from scipy import signal as sps

    rng = np.random.default_rng(seed)
    sos = sps.butter(4, (20.0, 150.0), btype="bandpass", fs=fs, output="sos")
    burst = sps.sosfilt(sos, rng.standard_normal(n))
    burst *= rms_mv / burst.std()
    t = np.arange(n) / fs
    return np.where((t >= a) & (t < z), burst, 0.0)


def test_noisy_spans_find_a_few_seconds_of_muscle_noise_in_one_lead() -> None:
    """A 3 s burst of EMG in lead II, which the whole-record check does not call noisy,
    is found there and only there (a Holter's limb-lead artefact became its top finding)."""
    from ecgviewer.signal.rpeaks import detect_r_peaks

    fs = 500.0
    syn = synthetic_ecg(fs=fs, duration=10.0, seed=2)
    x = syn.signal.astype(np.float64).copy()
    clean_q = Q.assess(x, fs, syn.leads)
    assert Q.noisy_spans(x, fs, syn.leads, clean_q, detect_r_peaks(x, fs)) == {}
    x[1] += _emg_burst(x.shape[1], fs, 3.0, 6.0, 0.06)
    q = Q.assess(x, fs, syn.leads)
    assert "noisy" not in q.leads[1].problems  # 3 s of 10: the record as a whole passes
    spans = Q.noisy_spans(x, fs, syn.leads, q, detect_r_peaks(x, fs))
    assert list(spans) == ["II"]
    (a, z), *rest = spans["II"]
    assert not rest and 2.0 <= a <= 3.5 and 5.5 <= z <= 7.0
