"""Per-lead QRS pattern of the median beat in millivolts: how small the R wave is and how deep
the Q wave is relative to it.

The restoration network scales each lead on its own and the normal-beat bank compares all 12
leads at once, so neither says *which* leads lost their R wave or grew a Q wave: the marks of
an old infarct that a cardiologist reads lead by lead (a QS complex in V1-V3 after an
anteroseptal infarct, Q waves in II, III and aVF after an inferior one). These two values,
each later turned into standard deviations from the normal ECGs *of that lead*
(model/findings.py), say it directly:

- ``r_loss``: minus the R amplitude (the QRS maximum within 40 ms of the detected R peak,
  above the PR-segment baseline), so a lead whose R wave is smaller than normal scores high;
- ``q_wave``: the depth of the deepest negative deflection from the QRS onset up to that
  maximum, over the R amplitude (+0.05 mV, so a QS complex stays finite).

Measured on the PTB-XL fold-9 selection half (151 records with one infarct territory), the
within-record AUROC of territory leads against the others: ``r_loss`` alone 0.76,
``q_wave`` alone 0.72, their mean 0.81, their mean with the restoration part 0.80 (the
restoration part alone 0.63, ST level 0.59, T amplitude 0.55, deviations of the whole beat
from the normals' mean or from the bank's expected beat 0.45-0.55).
"""

from __future__ import annotations

import numpy as np

from model.config import ModelConfig

#: The parts this module adds to each lead's evidence.
PARTS = ("r_loss", "q_wave")
#: Seconds relative to the R peak: PR-segment baseline, QRS onset, the R search half-width.
BASELINE_S = (-0.09, -0.05)
ONSET_S = -0.06
R_SEARCH_S = 0.04
#: Added to the R amplitude (mV) before dividing by it.
R_FLOOR_MV = 0.05


def record_median_beat(median_beats: np.ndarray | None) -> np.ndarray | None:
    """(12, bank_len) mean of the windows' median beats that are complete; None without one."""
    if median_beats is None or not len(median_beats):
        return None
    ok = np.isfinite(median_beats.reshape(len(median_beats), -1)).all(axis=1)
    return median_beats[ok].mean(axis=0) if ok.any() else None


def qrs_pattern(beat: np.ndarray | None, cfg: ModelConfig) -> dict[str, np.ndarray]:
    """``r_loss`` and ``q_wave`` per lead of a (12, bank_len) median beat in mV (R at
    ``cfg.bank_pre``); NaN rows without a beat."""
    n_leads = cfg.n_leads
    if beat is None:
        return {part: np.full(n_leads, np.nan) for part in PARTS}
    fs, r = cfg.fs, cfg.bank_pre

    def at(seconds: float) -> int:
        return int(np.clip(r + round(seconds * fs), 0, beat.shape[1] - 1))

    b0, b1 = at(BASELINE_S[0]), max(at(BASELINE_S[1]), at(BASELINE_S[0]) + 1)
    x = beat.astype(np.float64) - beat[:, b0:b1].mean(axis=1, keepdims=True)
    lo, hi = at(-R_SEARCH_S), at(R_SEARCH_S) + 1
    peak = np.argmax(x[:, lo:hi], axis=1) + lo  # each lead's R (its QRS maximum)
    r_amp = x[np.arange(len(x)), peak]
    onset = at(ONSET_S)
    cols = np.arange(x.shape[1])
    before = np.where((cols[None, :] >= onset) & (cols[None, :] <= peak[:, None]), x, np.inf)
    q_depth = np.maximum(-before.min(axis=1), 0.0)
    return {"r_loss": -r_amp, "q_wave": q_depth / (np.abs(r_amp) + R_FLOOR_MV)}
