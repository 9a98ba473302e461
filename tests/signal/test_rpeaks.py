"""R-peak detector against PhysioNet reference annotations, PTB-XL records and synthetic ECGs.

Scoring uses ``wfdb.processing.compare_annotations`` (PhysioNet's own beat-by-beat matcher),
so the expected figures come from the reference annotations, not from our detector.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb
from hypothesis import given, settings
from hypothesis import strategies as st
from wfdb import processing

from ecgviewer.signal.resample import resample, resample_index
from ecgviewer.signal.rpeaks import detect_r_peaks
from ecgviewer.signal.synthetic import synthetic_ecg

#: MIT-BIH beat annotation symbols (rhythm and signal-quality marks excluded).
BEAT_SYMBOLS = set("NLRBAaJSVrFejnE/fQ?")


@pytest.fixture(scope="module")
def mitdb100(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray]:
    root = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "wfdb"
    if not (root / "100.atr").is_file():
        pytest.skip("../shared/fixtures/wfdb/100 is absent")
    rec = wfdb.rdrecord(str(root / "100"))
    ann = wfdb.rdann(str(root / "100"), "atr")
    ref = np.array(
        [s for s, sym in zip(ann.sample, ann.symbol, strict=True) if sym in BEAT_SYMBOLS]
    )
    return rec.p_signal.T.astype(np.float32), ref


def _score(ref: np.ndarray, test: np.ndarray, window: int) -> tuple[float, float]:
    cmp = processing.compare_annotations(ref, test, window)
    return cmp.sensitivity, cmp.positive_predictivity


@pytest.mark.needs_shared
def test_mitdb100_whole_record_360hz(mitdb100: tuple[np.ndarray, np.ndarray]) -> None:
    sig, ref = mitdb100
    assert ref.size == 2273
    for x in (sig[0], sig):  # MLII alone, and MLII + V5 combined
        peaks = detect_r_peaks(x, 360.0, lead=0)
        se, ppv = _score(ref, peaks, int(0.05 * 360))
        assert se >= 0.99 and ppv >= 0.99, (se, ppv)
    # The returned sample is the R peak itself: median offset to the annotation < 10 ms.
    peaks = detect_r_peaks(sig[0], 360.0)
    nearest = ref[np.clip(np.searchsorted(ref, peaks), 0, ref.size - 1)]
    prev = ref[np.clip(np.searchsorted(ref, peaks) - 1, 0, ref.size - 1)]
    err = np.minimum(np.abs(peaks - nearest), np.abs(peaks - prev))
    assert np.median(err) / 360.0 < 0.010


@pytest.mark.needs_shared
def test_mitdb100_whole_record_resampled_to_100hz(mitdb100: tuple[np.ndarray, np.ndarray]) -> None:
    sig, ref = mitdb100
    low = resample(sig, 360.0, 100.0)
    peaks = detect_r_peaks(low, 100.0, lead=0)
    se, ppv = _score(resample_index(ref, 360.0, 100.0), peaks, 5)  # 50 ms
    assert se >= 0.99 and ppv >= 0.99, (se, ppv)


def _ptbxl_sinus_normals(ptbxl_dir: Path, count: int) -> list[tuple[str, str]]:
    import csv

    out = []
    with open(ptbxl_dir / "ptbxl_database.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            codes = row["scp_codes"]
            if "'NORM'" in codes and "'SR'" in codes and row["filename_lr"]:
                if (ptbxl_dir / (row["filename_lr"] + ".hea")).is_file():
                    out.append((row["ecg_id"], row["filename_lr"]))
            if len(out) >= count:
                break
    return out


@pytest.mark.needs_shared
def test_ptbxl_sinus_rhythm_records(ptbxl_dir: Path) -> None:
    """Normal sinus-rhythm ECGs at 100 Hz: plausible rate, regular RR, beat count that matches
    the rate, and the same beats at 500 Hz as at 100 Hz."""
    records = _ptbxl_sinus_normals(ptbxl_dir, 25)
    assert len(records) >= 10
    irregular = []
    for ecg_id, rel in records:
        x = wfdb.rdrecord(str(ptbxl_dir / rel)).p_signal.T.astype(np.float32)
        peaks = detect_r_peaks(x, 100.0, lead=1)
        rr = np.diff(peaks) / 100.0
        hr = 60.0 / np.median(rr)
        assert 40 <= hr <= 150, (ecg_id, hr)
        # Beats in 10 s agree with the rate (+-1 for where the strip cuts the cycle).
        assert abs(len(peaks) - 10.0 * hr / 60.0) <= 1.5, (ecg_id, len(peaks), hr)
        if rr.max() / rr.min() > 1.5:  # a missed or an extra beat (or a real ectopic)
            irregular.append(ecg_id)
        up = detect_r_peaks(resample(x, 100.0, 500.0), 500.0, lead=1)
        se, ppv = _score(peaks * 5, up, 25)
        assert se >= 0.9 and ppv >= 0.9, (ecg_id, se, ppv)
    assert len(irregular) <= 1, irregular


@pytest.mark.parametrize("fs", [100.0, 250.0, 360.0, 500.0, 1000.0])
@pytest.mark.parametrize("hr", [45.0, 75.0, 140.0])
def test_synthetic_known_beats(fs: float, hr: float) -> None:
    qt = 400.0 * np.sqrt(75.0 / hr)  # QT shortens with rate (Bazett): 300 ms at 140 bpm
    ecg = synthetic_ecg(fs=fs, hr=hr, qt_ms=qt, seed=int(hr), pvc_at=6.0 if hr < 100 else None)
    truth = ecg.r_peaks
    # Beats within the first/last 60 ms are cut by the strip: they may or may not be found.
    inner = truth[(truth > 0.06 * fs) & (truth < ecg.signal.shape[1] - 0.06 * fs)]
    peaks = detect_r_peaks(ecg.signal, fs)
    se, ppv = _score(
        inner,
        peaks[(peaks > 0.06 * fs) & (peaks < ecg.signal.shape[1] - 0.06 * fs)],
        int(0.05 * fs),
    )
    assert se == 1.0 and ppv == 1.0
    # Placed on the R peak (or the PVC's largest deflection) within 15 ms.
    err = np.abs(peaks[:, None] - truth[None, :]).min(axis=1) / fs
    assert err.max() <= 0.015
    # Lead II alone finds the same beats.
    assert len(detect_r_peaks(ecg.signal[1], fs)) == len(peaks)


def test_flat_short_and_nan_inputs() -> None:
    fs = 500.0
    empty = np.empty(0, dtype=np.int64)
    for x in (
        np.zeros((12, 5000)),
        np.full(5000, 3.2),
        np.zeros(100),
        np.zeros((12, 0)),
        np.full((12, 5000), np.nan),
    ):
        out = detect_r_peaks(x, fs)
        assert out.dtype == np.int64
        np.testing.assert_array_equal(out, empty)
    # Small white noise alone is not a heart beating regularly: few or no beats.
    noise = np.random.default_rng(0).normal(0, 0.0001, (12, 5000))
    assert len(detect_r_peaks(noise, fs)) <= 40  # never more than the refractory allows
    # One NaN lead and one flat lead among good ones do not change the result.
    ecg = synthetic_ecg(fs=fs, seed=3)
    base = detect_r_peaks(ecg.signal, fs)
    x = ecg.signal.copy()
    x[4] = np.nan
    x[7] = 0.0
    np.testing.assert_array_equal(detect_r_peaks(x, fs), base)
    with pytest.raises(ValueError):
        detect_r_peaks(np.zeros((2, 3, 100)), fs)


def test_amplifier_noise_is_not_beats_but_low_voltage_qrs_is() -> None:
    fs = 500.0
    rng = np.random.default_rng(1)
    # A disconnected cart: 10 uV of noise and hum on every lead.
    t = np.arange(5000) / fs
    flat = rng.normal(0, 0.01, (12, 5000)) + 0.005 * np.sin(2 * np.pi * 50 * t)
    assert len(detect_r_peaks(flat, fs)) == 0
    # A low-voltage ECG (QRS a quarter of the usual size, ~0.3 mV) keeps all its beats.
    ecg = synthetic_ecg(fs=fs, seed=5, hr=70.0)
    small = detect_r_peaks(0.25 * ecg.signal, fs)
    se, ppv = _score(ecg.r_peaks, small, 25)
    assert se == 1.0 and ppv == 1.0


def test_artefact_in_one_lead_does_not_make_beats() -> None:
    fs = 500.0
    ecg = synthetic_ecg(fs=fs, seed=4, hr=60.0)
    x = ecg.signal.copy()
    # Electrode pops: 3 mV steps in V1 between beats.
    truth = ecg.r_peaks
    for a, b in zip(truth[:-1:2], truth[1::2], strict=False):
        x[6, (a + b) // 2 :] += 3.0 if (a // 7) % 2 else -3.0
    peaks = detect_r_peaks(x, fs)
    se, ppv = _score(truth, peaks, 25)
    assert se == 1.0 and ppv == 1.0


@settings(max_examples=40, deadline=None)
@given(
    fs=st.sampled_from([25.0, 50.0, 100.0, 128.0, 257.3, 360.0, 500.0, 1000.0]),
    n=st.integers(0, 3000),
    leads=st.integers(1, 3),
    scale=st.sampled_from([1e-6, 1e-3, 1.0, 1e3]),
    seed=st.integers(0, 2**16),
)
def test_never_raises_on_odd_input(fs: float, n: int, leads: int, scale: float, seed: int) -> None:
    x = np.random.default_rng(seed).normal(size=(leads, n)) * scale
    if n:
        x[0, n // 3] = 1e4 * scale  # a spike
    peaks = detect_r_peaks(x, fs)
    assert peaks.dtype == np.int64
    assert np.all(np.diff(peaks) >= int(round(0.25 * fs)))
    assert peaks.size == 0 or (peaks.min() >= 0 and peaks.max() < n)


class _Pages:
    """A minimal PagedSignal: counts how much is read at once."""

    def __init__(self, data: np.ndarray) -> None:
        self._data = data
        self.shape = data.shape
        self.dtype = data.dtype
        self.largest_read = 0

    def __getitem__(self, key: tuple) -> np.ndarray:
        out = self._data[key]
        self.largest_read = max(self.largest_read, out.shape[-1])
        return out

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        raise AssertionError("the whole signal must not be loaded")


@pytest.mark.needs_shared
def test_paged_detection_equals_whole_record(mitdb100: tuple[np.ndarray, np.ndarray]) -> None:
    from ecgviewer.signal.rpeaks import detect_r_peaks_paged

    sig, ref = mitdb100
    pages = _Pages(sig)
    peaks = detect_r_peaks_paged(pages, 360.0, lead=0, page_s=60.0)
    assert pages.largest_read <= (60 + 2 * 2) * 360
    se, ppv = _score(ref, peaks, 18)
    assert se >= 0.99 and ppv >= 0.99
    assert np.all(np.diff(peaks) >= 90)
    whole = detect_r_peaks(sig, 360.0, lead=0)
    assert abs(len(peaks) - len(whole)) <= 3
