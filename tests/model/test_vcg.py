"""model/vcg.py: the spatial QRS-T angle and T-wave complexity of a median beat."""

from __future__ import annotations

import numpy as np

from ecgviewer.record import STANDARD_LEADS
from ecgviewer.signal.synthetic import synthetic_ecg
from model.vcg import QRST_ANGLE, T_COMPLEXITY, vcg_features

FS = 100.0
PRE = 25  # R at 250 ms, as in the beat bank's median beats
LEADS = list(STANDARD_LEADS)


def _gauss(centre_s: float, width_s: float, n: int = 70) -> np.ndarray:
    t = np.arange(n) / FS - PRE / FS
    return np.exp(-0.5 * ((t - centre_s) / width_s) ** 2)


def _beat(t_gain: np.ndarray, t_shape: np.ndarray | None = None) -> np.ndarray:
    """12-lead beat: a QRS of one polarity pattern over the leads, T scaled per lead."""
    qrs_gain = np.linspace(0.4, 1.5, 12)
    qrs = _gauss(0.0, 0.015)
    t = _gauss(0.28, 0.05) if t_shape is None else t_shape
    return qrs_gain[:, None] * qrs[None, :] + np.asarray(t_gain)[:, None] * t[None, :] * 0.3


def test_concordant_t_waves_make_a_narrow_angle_and_inverted_ones_a_wide_one() -> None:
    gains = np.linspace(0.4, 1.5, 12)
    concordant = vcg_features(_beat(gains), FS, PRE, LEADS)
    inverted = vcg_features(_beat(-gains), FS, PRE, LEADS)
    assert concordant[QRST_ANGLE] < 10
    assert inverted[QRST_ANGLE] > 170


def test_t_waves_of_one_shape_are_simple_and_of_two_shapes_complex() -> None:
    gains = np.linspace(0.4, 1.5, 12)
    simple = vcg_features(_beat(gains), FS, PRE, LEADS)
    two = _beat(gains)
    late = _gauss(0.38, 0.04)
    two[6:9, PRE + 15 :] += 0.3 * late[PRE + 15 :]  # V1-V3 gain a second, later T component
    complex_ = vcg_features(two, FS, PRE, LEADS)
    assert simple[T_COMPLEXITY] < 0.01
    assert complex_[T_COMPLEXITY] > 5 * max(simple[T_COMPLEXITY], 0.01)


def test_a_real_normal_beat_has_a_normal_angle() -> None:
    """A synthetic normal ECG (upright T where R is tall): spatial QRS-T angle well below
    the ~100 degrees beyond which it is called abnormal."""
    syn = synthetic_ecg(fs=FS, duration=10.0, seed=0)
    r = np.round(syn.r_peaks).astype(int)
    r = r[(r >= PRE) & (r + 45 <= syn.signal.shape[1])]
    beat = np.median(np.stack([syn.signal[:, p - PRE : p + 45] for p in r]), axis=0)
    assert vcg_features(beat, FS, PRE, LEADS)[QRST_ANGLE] < 60


def test_missing_leads_or_samples_give_nan() -> None:
    beat = _beat(np.ones(12))
    without_v6 = vcg_features(beat[:11], FS, PRE, LEADS[:11])
    assert np.isnan(without_v6[QRST_ANGLE]) and np.isnan(without_v6[T_COMPLEXITY])
    beat[3, 10] = np.nan
    assert np.isnan(vcg_features(beat, FS, PRE, LEADS)[QRST_ANGLE])
