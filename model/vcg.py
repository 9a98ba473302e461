"""Vectorcardiographic parts of the record score: the spatial QRS-T angle and the T wave's
complexity, from the record's median beat.

Both are established markers of abnormal repolarisation that the other parts see only
indirectly: the beat bank compares whole beat shapes by cosine similarity, the measurement
ranges treat the frontal QRS and T axes as separate numbers. A wide angle between the QRS and
T vectors in space goes with hypertrophy, infarction, conduction disease and ischaemia; a T
wave that needs a second principal component to describe it over the leads goes with
heterogeneous repolarisation.

- ``qrst_angle``: the angle (degrees) between the QRS and T integral vectors of the median beat
  (mV.s over R-50..R+70 ms and R+150..R+450 ms), in X, Y, Z from the eight independent leads
  by the Kors regression transform (Kors et al., Eur Heart J 1990).
- ``t_complexity``: over R+150..R+450 ms, the second singular value of the eight independent
  leads (each less its mean) over the first.

The windows are fixed around R (no delineation): the median beat is the normal-beat bank's,
0.5-25 Hz, -250..+450 ms around R (model/beat_bank.py). Chosen on the fold-9 selection half
by cross-validation (README "The anomaly model").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ecgviewer.record import INDEPENDENT_LEADS

QRST_ANGLE, T_COMPLEXITY = "qrst_angle", "t_complexity"
VCG_KINDS = (QRST_ANGLE, T_COMPLEXITY)

#: Kors regression matrix: rows X, Y, Z; columns the leads of INDEPENDENT_LEADS, in order.
KORS = np.array(
    [
        [0.38, -0.07, -0.13, 0.05, -0.01, 0.14, 0.06, 0.54],
        [-0.07, 0.93, 0.06, -0.02, -0.05, 0.06, -0.17, 0.13],
        [0.11, -0.23, -0.43, -0.06, -0.14, -0.20, -0.11, 0.31],
    ]
)
#: QRS and T windows, seconds from R (the T window runs to the median beat's end).
QRS_WINDOW_S = (-0.05, 0.07)
T_START_S = 0.15


def vcg_features(
    median_beat: np.ndarray | None, fs: float, r_index: int, leads: Sequence[str]
) -> dict[str, float]:
    """Both features of a (n_leads, n) median beat in mV whose R peak is at ``r_index`` (the
    record's, model.qrs_pattern.record_median_beat); NaN without a beat, when it is not finite
    or when it lacks one of the independent leads."""
    nan = {QRST_ANGLE: float("nan"), T_COMPLEXITY: float("nan")}
    if (
        median_beat is None
        or not set(INDEPENDENT_LEADS) <= set(leads)
        or not np.isfinite(median_beat).all()
    ):
        return nan
    x = np.asarray(median_beat, np.float64)[[list(leads).index(n) for n in INDEPENDENT_LEADS]]
    q0 = r_index + int(round(QRS_WINDOW_S[0] * fs))
    q1 = r_index + int(round(QRS_WINDOW_S[1] * fs))
    t0 = r_index + int(round(T_START_S * fs))
    if q0 < 0 or x.shape[1] - t0 < 3:
        return nan
    xyz = KORS @ x
    qrs = xyz[:, q0:q1].sum(axis=1) / fs
    t = xyz[:, t0:].sum(axis=1) / fs
    norm = np.linalg.norm(qrs) * np.linalg.norm(t)
    angle = np.degrees(np.arccos(np.clip(qrs @ t / norm, -1.0, 1.0))) if norm > 0 else np.nan
    t_wave = x[:, t0:] - x[:, t0:].mean(axis=1, keepdims=True)
    s = np.linalg.svd(t_wave, compute_uv=False)
    return {
        QRST_ANGLE: float(angle),
        T_COMPLEXITY: float(s[1] / s[0]) if s[0] > 0 else float("nan"),
    }
