"""P-wave consistency: repeating sinus P waves against fibrillation-like atrial activity."""

from __future__ import annotations

import numpy as np

from ecgviewer.signal.filters import bandpass
from ecgviewer.signal.p_waves import p_consistency
from ecgviewer.signal.rpeaks import detect_r_peaks
from ecgviewer.signal.synthetic import synthetic_ecg


def _lead_ii(ecg) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    x = np.asarray(ecg.signal, dtype=np.float64)
    ii = x[list(ecg.leads).index("II")]
    return ii, detect_r_peaks(x, ecg.fs)


def test_sinus_p_waves_repeat() -> None:
    ecg = synthetic_ecg(fs=500.0, seed=3)
    ii, peaks = _lead_ii(ecg)
    assert p_consistency(bandpass(ii, 500.0, 0.5, 25.0), 500.0, peaks) > 0.9


def test_fibrillation_waves_do_not() -> None:
    """No P waves; 6 Hz atrial waves of drifting rate and phase instead (0.1 mV)."""
    ecg = synthetic_ecg(fs=500.0, seed=3, p_scale=0.0)
    ii, peaks = _lead_ii(ecg)
    t = np.arange(ii.size) / 500.0
    rate = 6.0 + 0.8 * np.sin(2 * np.pi * 0.13 * t)
    f_waves = 0.1 * np.sin(2 * np.pi * np.cumsum(rate) / 500.0)
    assert p_consistency(bandpass(ii + f_waves, 500.0, 0.5, 25.0), 500.0, peaks) < 0.5


def test_too_few_beats_give_nan() -> None:
    assert np.isnan(p_consistency(np.zeros(1000), 500.0, np.array([300, 700])))
