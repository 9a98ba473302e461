"""Rhythm evidence: an irregular rhythm without consistent P waves (atrial fibrillation).

Every other score part looks at the shape of beats, so an ECG whose beats are each normal but
come at random intervals with no P wave before them (atrial fibrillation) had no local
finding. Two whole-strip values, calibrated on normal ECGs (model/findings.py):

- ``irregularity``: the median absolute difference of successive RR intervals over the median
  RR interval (a median, so one premature beat with its pause does not count, while an
  irregularly irregular rhythm does);
- ``p_consistency``: in the rhythm lead (II), the mean correlation of each beat's P-wave window
  (250 to 70 ms before R, 0.5-25 Hz) with the median of those windows: a sinus P wave repeats
  (normal ECGs of the selection half: median 0.97), fibrillatory waves do not (0.30 for
  atrial fibrillation).

A rhythm finding needs both beyond what 95 % of normal ECGs show. On the PTB-XL fold-9
selection half this finds 72 of 79 AFIB records (91 %), 6 of 456 normal ECGs (1.3 %) and
19 of 568 other abnormal ones (mostly frequent PVCs, bigeminy, second-degree AV block:
irregular too); each feature alone separates AFIB from normals with AUROC 0.97 (irregularity)
and 0.99 (P consistency). Quantile levels 0.9 / 0.975 gave 96 % / 77 % of AFIB with 7 / 6
normals.
"""

from __future__ import annotations

import numpy as np

from ecgviewer.signal.p_waves import p_consistency
from model.config import ModelConfig

#: The rhythm lead whose P waves are compared.
RHYTHM_LEAD = "II"
#: Fewest RR intervals (beats - 1) needed to judge a rhythm.
MIN_INTERVALS = 4
#: Share of normal ECGs each value may be beyond (both must be, for a finding).
NORMAL_QUANTILE = 0.95


def rhythm_values(
    r_peaks: np.ndarray, band: np.ndarray | None, n_model: int, cfg: ModelConfig
) -> dict[str, float]:
    """``irregularity`` and ``p_consistency`` of one ECG (NaN when there are too few beats)."""
    out = {"irregularity": float("nan"), "p_consistency": float("nan")}
    r = np.asarray(r_peaks, np.int64)
    r = r[r < n_model]
    if len(r) < MIN_INTERVALS + 1:
        return out
    rr = np.diff(r) / cfg.fs
    out["irregularity"] = float(np.median(np.abs(np.diff(rr))) / max(np.median(rr), 1e-6))
    if band is None or RHYTHM_LEAD not in cfg.leads:
        return out
    out["p_consistency"] = p_consistency(band[cfg.leads.index(RHYTHM_LEAD)], cfg.fs, r)
    return out


def fit(values: list[dict[str, float]]) -> dict[str, float]:
    """Thresholds from normal ECGs' values: irregularity above and P consistency below what
    :data:`NORMAL_QUANTILE` of them show."""
    irr = np.array([v.get("irregularity", np.nan) for v in values], np.float64)
    pc = np.array([v.get("p_consistency", np.nan) for v in values], np.float64)
    irr, pc = irr[np.isfinite(irr)], pc[np.isfinite(pc)]
    if not len(irr) or not len(pc):
        return {}
    return {
        "irregularity": float(np.quantile(irr, NORMAL_QUANTILE)),
        "p_consistency": float(np.quantile(pc, 1 - NORMAL_QUANTILE)),
        "irregularity_median": float(np.median(irr)),
        "p_consistency_median": float(np.median(pc)),
        "quantile": NORMAL_QUANTILE,
    }


def is_irregular(values: dict[str, float], cal: dict[str, float]) -> bool:
    """Both values beyond the normal ECGs' thresholds (False without a calibration)."""
    if not cal:
        return False
    irr, pc = values.get("irregularity", np.nan), values.get("p_consistency", np.nan)
    return bool(
        np.isfinite(irr)
        and np.isfinite(pc)
        and irr > cal["irregularity"]
        and pc < cal["p_consistency"]
    )


def strength(values: dict[str, float], cal: dict[str, float]) -> float:
    """How far beyond the thresholds, as the smaller of the two ratios (> 1 = a finding)."""
    irr_span = max(cal["irregularity"] - cal["irregularity_median"], 1e-6)
    pc_span = max(cal["p_consistency_median"] - cal["p_consistency"], 1e-6)
    irr = (values["irregularity"] - cal["irregularity_median"]) / irr_span
    pc = (cal["p_consistency_median"] - values["p_consistency"]) / pc_span
    return float(min(irr, pc))
