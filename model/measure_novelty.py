"""How far an ECG's cart-style measurements lie from those of normal ECGs.

The restoration network and the normal-beat bank compare waveforms; a cardiologist also reads
numbers: rate and its regularity, PR, QRS, QTc, the frontal axes, Q/R/S/T amplitudes and ST
levels per lead. This module turns :func:`ecgviewer.signal.intervals.measure_signal` into a
feature vector, learns the normal range of those features from the training normals only
(robust z-scores, then a shrunk covariance) and scores a record by its Mahalanobis distance:
a one-class model, trained like the rest on normal ECGs, that the card may weigh into the
record score when the selection half says it helps.

A second distance from the same fitted state, :meth:`MeasurementNovelty.amplitude_deviation`,
is the mean squared z-score of the per-lead Q, R, S and T amplitudes, feature by feature. The
Mahalanobis distance discounts deviations along the directions in which normal ECGs vary
together (all leads' voltages rising at once, as in hypertrophy), and the diagonal distance
keeps them. On the fold-9 selection half (5 x repeated 2-fold cross-validation, the ensemble
chosen on one fold and measured on the other), offering it to the ensemble raised the AUROC
from 0.903 +- 0.009 to 0.911 +- 0.010 (paired gain +0.008 +- 0.004; benchmarks/ensemble_cv.py);
the report half, measured once afterwards, did not confirm it (0.891 before, 0.890 with it).

Features are always measured the same way: the 12 leads at the model rate, the first
:data:`SECONDS` s, with the R peaks preprocessing found, so a 500 Hz cart ECG and a 100 Hz
training ECG are measured alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ecgviewer.signal.intervals import Measurements, measure_signal

#: Seconds measured (a cart measures its 10 s).
SECONDS = 10.0
#: Robust z-scores are clipped here before the covariance: one wild value (a mis-detected T
#: end) may raise the score, but not without bound.
Z_CLIP = 6.0
#: Shrinkage of the covariance towards its diagonal (features are strongly correlated: the
#: limb-lead amplitudes follow from two leads).
SHRINKAGE = 0.1

_LEAD_VALUES = ("q_mv", "r_mv", "s_mv", "t_mv", "st_j_mv", "st_j60_mv")
#: The per-lead values :meth:`MeasurementNovelty.amplitude_deviation` averages over.
AMPLITUDE_VALUES = ("q_mv", "r_mv", "s_mv", "t_mv")
_AMPLITUDE_SUFFIXES = tuple(f"_{value}" for value in AMPLITUDE_VALUES)
_GLOBAL = (
    "heart_rate_bpm",
    "pr_ms",
    "qrs_ms",
    "qtc_fridericia_ms",
    "p_duration_ms",
    "p_axis_deg",
    "qrs_axis_deg",
    "t_axis_deg",
)


#: A global measurement at least this many robust SD from the training normals' median is
#: named beside the score (:meth:`MeasurementNovelty.global_z`, ``ScoreResult.measure_z``).
#: Chosen on 600 training normals of folds 1-8: 3.7 % of them show one (3.5 SD: 5.7 %,
#: 3 SD: 8.3 %); a first-degree AV block's PR (318 ms) reads 6 SD, the clip.
MEASURE_Z_SHOWN = 4.0


#: Global measurements that rest on a P wave (left out of :meth:`global_z` without one).
_P_BASED = ("pr_ms", "p_duration_ms", "p_axis_deg")


def feature_names(leads: Sequence[str]) -> list[str]:
    """Names of :func:`features` columns, in order."""
    return (
        list(_GLOBAL)
        + ["rr_cv", "irregular", "n_premature", "n_other_morphology", "paced", "no_p"]
        + [f"{lead}_{value}" for lead in leads for value in _LEAD_VALUES]
    )


def features(m: Measurements, r_peaks: np.ndarray, leads: Sequence[str]) -> np.ndarray:
    """The feature vector of one measured ECG (NaN where a value could not be measured; an
    absent Q or S wave is 0 mV, not unknown)."""

    def num(v: Any) -> float:
        return float("nan") if v is None else float(v)

    rr = np.diff(np.sort(np.asarray(r_peaks, np.float64)))
    rr_cv = float(rr.std() / rr.mean()) if rr.size >= 2 and rr.mean() > 0 else float("nan")
    beats = m.beats
    out = [num(getattr(m, name)) for name in _GLOBAL]
    out += [
        rr_cv,
        float(bool(getattr(beats, "irregular", False))),
        float(getattr(beats, "n_premature", 0) or 0),
        float(getattr(beats, "n_other_morphology", 0) or 0),
        float(bool(m.paced)),
        float(m.p_duration_ms is None),
    ]
    for lead in leads:
        lm = (m.leads or {}).get(lead)
        for name in _LEAD_VALUES:
            v = getattr(lm, name, None) if lm is not None else None
            out.append(0.0 if v is None and name in ("q_mv", "s_mv") else num(v))
    return np.asarray(out, np.float64)


def array_features(
    x_mv: np.ndarray, fs: float, leads: Sequence[str], r_peaks: np.ndarray
) -> np.ndarray:
    """Features of a (12, n) mV array at ``fs`` with its R peaks: the first :data:`SECONDS` s."""
    n = min(x_mv.shape[1], int(round(SECONDS * fs)))
    x = np.asarray(x_mv[:, :n], np.float64)
    x = np.where(np.isfinite(x), x, 0.0)
    peaks = np.asarray(r_peaks, np.int64)
    peaks = peaks[(peaks >= 0) & (peaks < n)]
    # As the training normals' ranges in the model card were built (see measure_signal).
    m = measure_signal(x, fs, list(leads), peaks, as_model_ranges=True)
    return features(m, peaks, leads)


@dataclass
class MeasurementNovelty:
    """Normal range of the measurement features (fitted on normal ECGs only)."""

    names: list[str]
    median: np.ndarray  # (F,)
    scale: np.ndarray  # (F,) robust spread (MAD * 1.4826, else SD, else 1)
    keep: np.ndarray  # (F,) bool: features that vary among normals
    mean: np.ndarray  # (K,) of the clipped z-scores of kept features
    precision: np.ndarray  # (K, K) inverse shrunk covariance

    @classmethod
    def fit(cls, x: np.ndarray, names: Sequence[str]) -> MeasurementNovelty:
        """Fit on ``x`` (N normal ECGs, F features; NaN = not measured)."""
        x = np.asarray(x, np.float64)
        median = np.nanmedian(x, axis=0)
        mad = np.nanmedian(np.abs(x - median), axis=0) * 1.4826
        sd = np.nanstd(x, axis=0)
        scale = np.where(mad > 1e-6, mad, np.where(sd > 1e-6, sd, 1.0))
        z = _z(x, median, scale)
        keep = z.std(axis=0) > 1e-6
        zk = z[:, keep]
        cov = np.cov(zk.T)
        cov = (1 - SHRINKAGE) * cov + SHRINKAGE * np.diag(np.diag(cov))
        return cls(
            list(names),
            median,
            scale,
            keep,
            zk.mean(axis=0),
            np.linalg.inv(cov),
        )

    def score(self, x: np.ndarray) -> np.ndarray:
        """Mahalanobis distance² of each row of ``x`` (N, F) or of one vector (F,); NaN when
        nothing was measured."""
        x = np.asarray(x, np.float64)
        one = x.ndim == 1
        rows = np.atleast_2d(x)
        d = _z(rows, self.median, self.scale)[:, self.keep] - self.mean
        out = np.einsum("ij,jk,ik->i", d, self.precision, d)
        out[~np.isfinite(rows).any(axis=1)] = np.nan
        return out[0] if one else out

    def global_z(self, x: np.ndarray, at_least: float = MEASURE_Z_SHOWN) -> dict[str, float]:
        """The global measurements (rate, PR, QRS, QTc, P duration, axes) of one feature
        vector ``x`` at least ``at_least`` robust SD from the normals' median, signed, clipped
        at :data:`Z_CLIP`, largest first. Why: the Mahalanobis part says that the numbers are
        unusual, not which; a first-degree AV block (PR 318 ms) showed no finding at all."""
        row_all = np.asarray(x, np.float64)
        names = [n for n in _GLOBAL if n in self.names]
        if "irregular" in self.names and row_all[self.names.index("irregular")] > 0:
            # An irregular rhythm (atrial fibrillation): a P-based value is not a P wave's, and
            # "PR longer" beside "PR unavailable" read as an AV block. (Not the "no_p" feature:
            # it says the P duration was not measured, and a first-degree AV block with a
            # measured PR of 318 ms lost its PR.)
            names = [n for n in names if n not in _P_BASED]
        idx = [self.names.index(n) for n in names]
        row = row_all[idx]
        z = (row - self.median[idx]) / self.scale[idx]
        out = {
            n: float(np.clip(v, -Z_CLIP, Z_CLIP))
            for n, v in zip(names, z, strict=True)
            if np.isfinite(v) and abs(v) >= at_least
        }
        return dict(sorted(out.items(), key=lambda kv: -abs(kv[1])))

    def amplitude_deviation(self, x: np.ndarray) -> np.ndarray:
        """Mean squared clipped z-score of the per-lead wave amplitudes
        (:data:`AMPLITUDE_VALUES`) of each row of ``x`` (N, F) or of one vector (F,), each
        against the normals' median and spread; NaN when nothing was measured."""
        x = np.asarray(x, np.float64)
        one = x.ndim == 1
        rows = np.atleast_2d(x)
        columns = [i for i, name in enumerate(self.names) if name.endswith(_AMPLITUDE_SUFFIXES)]
        z = _z(rows[:, columns], self.median[columns], self.scale[columns])
        out = (z**2).mean(axis=1) if columns else np.full(len(rows), np.nan)
        out[~np.isfinite(rows).any(axis=1)] = np.nan
        return out[0] if one else out

    def state(self) -> dict[str, Any]:
        """Tensors and a name list for the weights file (loads with weights_only=True)."""
        import torch

        return {
            "names": list(self.names),
            "median": torch.tensor(self.median, dtype=torch.float64),
            "scale": torch.tensor(self.scale, dtype=torch.float64),
            "keep": torch.tensor(self.keep, dtype=torch.bool),
            "mean": torch.tensor(self.mean, dtype=torch.float64),
            "precision": torch.tensor(self.precision, dtype=torch.float64),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> MeasurementNovelty:
        def arr(v: Any) -> np.ndarray:
            return v.numpy() if hasattr(v, "numpy") else np.asarray(v)

        return cls(
            list(state["names"]),
            arr(state["median"]).astype(np.float64),
            arr(state["scale"]).astype(np.float64),
            arr(state["keep"]).astype(bool),
            arr(state["mean"]).astype(np.float64),
            arr(state["precision"]).astype(np.float64),
        )


def _z(x: np.ndarray, median: np.ndarray, scale: np.ndarray) -> np.ndarray:
    z = (x - median) / scale
    return np.clip(np.where(np.isfinite(z), z, 0.0), -Z_CLIP, Z_CLIP)
