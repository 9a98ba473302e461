"""A synthetic 12-lead ECG with known fiducial points, for the demo file and for tests.

Each beat is a sum of Gaussian waves (P, Q, R, S, T; T is asymmetric) with lead-specific
amplitudes for the eight independent leads I, II, V1-V6 (normal axis about +50 degrees, R-wave
progression V1 -> V6 with the transition at V3). III, aVR, aVL and aVF are derived exactly
from I and II (Einthoven and Goldberger), as a real cart does. On top: heart-rate variability
(respiratory sinus arrhythmia plus jitter), respiratory amplitude modulation, baseline wander,
white noise and optionally mains hum and one premature ventricular contraction (wide, bizarre
QRS without P wave, discordant T wave, full compensatory pause).

Because every wave is generated from its parameters, the true intervals are known. Wave
boundaries are where a Gaussian falls to exp(-2.5**2 / 2) = 4.4% of its peak (2.5 sigma), except
the end of T, which is defined like the clinical tangent method: where the tangent at the
steepest point of the T downslope meets the baseline (2 sigma after the T peak).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ecgviewer.record import INDEPENDENT_LEADS, STANDARD_LEADS

# Peak amplitudes (mV) per wave for I, II, V1..V6 of a normal adult ECG (QRS axis about +50).
_NORMAL_AMPS = {
    "P": (0.08, 0.14, 0.06, 0.07, 0.08, 0.08, 0.08, 0.07),
    "Q": (-0.06, -0.08, 0.0, 0.0, 0.0, -0.03, -0.08, -0.07),
    "R": (0.75, 1.05, 0.25, 0.55, 0.95, 1.40, 1.30, 1.00),
    "S": (-0.12, -0.20, -0.95, -1.30, -0.90, -0.50, -0.25, -0.12),
    "T": (0.22, 0.30, 0.05, 0.45, 0.50, 0.45, 0.35, 0.25),
}
# A right-ventricular-outflow PVC: left-bundle-branch-block pattern with an inferior axis.
_PVC_MAIN = (0.50, 1.60, -1.00, -1.40, -0.60, 0.80, 1.40, 1.30)
_PVC_NOTCH = -0.3  # second, opposite component relative to the main one: notched, bizarre
_PVC_T = -0.35  # discordant T wave relative to the main QRS deflection


@dataclass(frozen=True)
class BeatTruth:
    """True fiducial times of one beat in seconds from the record start."""

    r: float
    kind: str  # "N" normal sinus beat, "V" premature ventricular contraction
    p_onset: float | None
    qrs_onset: float
    qrs_offset: float
    t_end: float


@dataclass
class SyntheticECG:
    """Generated signal plus everything that is known about it."""

    signal: np.ndarray  # float32 (12, n) mV, rows in STANDARD_LEADS order
    fs: float
    leads: tuple[str, ...]
    beats: list[BeatTruth]
    pr_ms: float  # true intervals of the normal beats
    qrs_ms: float
    qt_ms: float
    abnormal_spans: list[tuple[float, float, str]] = field(default_factory=list)

    @property
    def r_peaks(self) -> np.ndarray:
        """True R-peak sample indices (int64)."""
        return np.rint(np.array([b.r for b in self.beats]) * self.fs).astype(np.int64)


def derive_limb_leads(lead_i: np.ndarray, lead_ii: np.ndarray) -> dict[str, np.ndarray]:
    """III, aVR, aVL, aVF from I and II (Einthoven's law and Goldberger's augmented leads)."""
    return {
        "III": lead_ii - lead_i,
        "aVR": -(lead_i + lead_ii) / 2,
        "aVL": lead_i - lead_ii / 2,
        "aVF": lead_ii - lead_i / 2,
    }


def _wave(t: np.ndarray, centre: float, s_before: float, s_after: float) -> np.ndarray:
    d = t - centre
    s = np.where(d < 0, s_before, s_after)
    return np.exp(-0.5 * (d / s) ** 2)


def synthetic_ecg(
    fs: float = 500.0,
    duration: float = 10.0,
    hr: float = 70.0,
    *,
    seed: int = 0,
    pr_ms: float = 160.0,
    qrs_ms: float = 90.0,
    qt_ms: float = 400.0,
    hrv: float = 0.04,
    noise_mv: float = 0.006,
    wander_mv: float = 0.05,
    mains_hz: float | None = None,
    pvc_at: float | None = None,
    p_scale: float = 1.0,
) -> SyntheticECG:
    """Generate a 12-lead ECG.

    Parameters
    ----------
    fs, duration, hr : float
        Sampling rate (Hz), length (s) and mean heart rate (bpm).
    seed : int
        Seed of every random part: same arguments, same samples.
    pr_ms, qrs_ms, qt_ms : float
        True PR (P onset to QRS onset), QRS (onset to offset) and QT (QRS onset to T end).
    hrv : float
        Relative amplitude of respiratory sinus arrhythmia (RR jitter is a quarter of it).
    noise_mv, wander_mv : float
        White noise SD and baseline wander amplitude (mV), independent per lead.
    mains_hz : float, optional
        Add 10 uV of mains hum at this frequency (50 or 60).
    pvc_at : float, optional
        Put a premature ventricular contraction as near this time (s) as the rhythm allows
        (it replaces a sinus beat, coming at 62% of the RR).
    p_scale : float
        P-wave amplitude factor; 0 gives beats without P waves (as in atrial fibrillation).
    """
    rng = np.random.default_rng(seed)
    n = int(round(duration * fs))
    t = np.arange(n) / fs
    qrs, pr, qt = qrs_ms / 1000, pr_ms / 1000, qt_ms / 1000

    # Wave geometry relative to the R peak (s): onset at -45% of QRS, offset at +55%.
    qrs_on, qrs_off = -0.45 * qrs, 0.55 * qrs
    s_q, s_r, s_s = 0.075 * qrs, 0.11 * qrs, 0.09 * qrs
    s_p = 0.020
    s_t_up, s_t_down = 0.060, 0.040
    p_on = qrs_on - pr
    t_end = qrs_on + qt
    normal_waves = [
        ("P", p_on + 2.5 * s_p, s_p, s_p),
        ("Q", qrs_on + 2.5 * s_q, s_q, s_q),
        ("R", 0.0, s_r, s_r),
        ("S", qrs_off - 2.5 * s_s, s_s, s_s),
        ("T", t_end - 2.0 * s_t_down, s_t_up, s_t_down),
    ]

    # Beat times: RSA at 0.25 Hz plus jitter; first R late enough for its P wave.
    rr_mean = 60.0 / hr
    resp_hz = 0.25
    resp_phase = rng.uniform(0, 2 * np.pi)
    r_times: list[float] = []
    tr = max(0.35, -p_on + 0.05)
    while tr < duration + 0.5:
        r_times.append(tr)
        rr = rr_mean * (1 + hrv * np.sin(2 * np.pi * resp_hz * tr + resp_phase))
        rr *= 1 + rng.normal(0, hrv / 4)
        tr += rr
    kinds = ["N"] * len(r_times)
    if pvc_at is not None and len(r_times) > 2:
        # The sinus beat whose premature replacement lands nearest the requested time.
        when = [
            r_times[j - 1] + 0.62 * (r_times[j] - r_times[j - 1])
            for j in range(1, len(r_times) - 1)
        ]
        k = int(np.argmin([abs(x - pvc_at) for x in when])) + 1
        prev = r_times[k - 1]
        rr_local = r_times[k] - prev
        shift = (prev + 0.62 * rr_local) - r_times[k]
        r_times[k] += shift
        kinds[k] = "V"
        # Full compensatory pause: the next sinus beat comes two sinus cycles after the last.
        pause = (prev + 2 * rr_local) - r_times[k + 1]
        for j in range(k + 1, len(r_times)):
            r_times[j] += pause

    amps = {w: np.array(a) for w, a in _NORMAL_AMPS.items()}
    amps["P"] = amps["P"] * p_scale
    indep = np.zeros((len(INDEPENDENT_LEADS), n))
    beats: list[BeatTruth] = []
    spans: list[tuple[float, float, str]] = []
    for r, kind in zip(r_times, kinds, strict=True):
        # Breathing moves the heart: +-5% amplitude, in phase with RSA.
        mod = 1 + 0.05 * np.sin(2 * np.pi * resp_hz * r + resp_phase)
        lo, hi = np.searchsorted(t, [r - 0.6, r + 0.8])
        tt = t[lo:hi]
        if kind == "N":
            for name, c, sb, sa in normal_waves:
                indep[:, lo:hi] += mod * amps[name][:, None] * _wave(tt, r + c, sb, sa)[None, :]
            p_truth = r + p_on if p_scale > 0 else None
            beats.append(BeatTruth(r, "N", p_truth, r + qrs_on, r + qrs_off, r + t_end))
        else:
            main = np.array(_PVC_MAIN)
            s_main, s_notch = 0.032, 0.022
            indep[:, lo:hi] += main[:, None] * _wave(tt, r, s_main, s_main)[None, :]
            indep[:, lo:hi] += (_PVC_NOTCH * main)[:, None] * _wave(
                tt, r + 0.055, s_notch, s_notch
            )[None, :]
            t_c = r + 0.30
            indep[:, lo:hi] += (_PVC_T * main)[:, None] * _wave(tt, t_c, 0.075, 0.055)[None, :]
            onset, offset = r - 2.5 * s_main, r + 0.055 + 2.5 * s_notch
            beats.append(BeatTruth(r, "V", None, onset, offset, t_c + 2 * 0.055))
            spans.append(
                (
                    round(onset - 0.02, 3),
                    round(t_c + 2 * 0.055 + 0.02, 3),
                    "premature ventricular contraction",
                )
            )

    # Baseline wander (respiration + slow drift), white noise, optional mains hum.
    for i in range(len(INDEPENDENT_LEADS)):
        indep[i] += wander_mv * np.sin(2 * np.pi * resp_hz * t + rng.uniform(0, 2 * np.pi))
        indep[i] += 0.6 * wander_mv * np.sin(2 * np.pi * 0.07 * t + rng.uniform(0, 2 * np.pi))
        indep[i] += rng.normal(0, noise_mv, n)
        if mains_hz:
            indep[i] += 0.01 * np.sin(2 * np.pi * mains_hz * t + rng.uniform(0, 2 * np.pi))

    by_name = dict(zip(INDEPENDENT_LEADS, indep, strict=True))
    by_name.update(derive_limb_leads(by_name["I"], by_name["II"]))
    sig = np.stack([by_name[name] for name in STANDARD_LEADS]).astype(np.float32)
    inside = [b for b in beats if 0 <= b.r * fs < n]
    return SyntheticECG(
        signal=sig,
        fs=float(fs),
        leads=STANDARD_LEADS,
        beats=inside,
        pr_ms=pr_ms,
        qrs_ms=qrs_ms,
        qt_ms=qt_ms,
        abnormal_spans=spans,
    )
