"""The expected-normal trace: the normal beat this ECG would have, laid at each of its beats.

The restoration network's own output differs from a normal input by about 0.14 mV RMS (it
restores each sample from a 60 %-masked view), too far to overlay a normal ECG faithfully.
The normal-beat bank gives, per window, the beat of the most similar training normals in
millivolts with this ECG's gain (:meth:`model.beat_bank.BeatBank.expected`): placing it at
every R peak gives a smooth trace that lies on a normal ECG (about 0.07 mV RMS on the
selection half's normals) and shows, on an abnormal beat, a normal beat of that lead's size
and polarity. Between beats (beyond 450 ms after R) it falls back to the baseline.
"""

from __future__ import annotations

import numpy as np

from model.config import ModelConfig

#: Samples at the model rate over which a template fades in and out (no step at its edges).
TAPER = 6


def _taper(length: int) -> np.ndarray:
    w = np.ones(length, np.float32)
    ramp = (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, TAPER + 2)[1:-1])).astype(np.float32)
    w[:TAPER], w[-TAPER:] = ramp, ramp[::-1]
    return w


def expected_trace(
    templates: np.ndarray, r_peaks: np.ndarray, window_starts: list[int], n: int, cfg: ModelConfig
) -> np.ndarray | None:
    """(12, n) mV at the model rate: each R peak gets its window's template (the window whose
    centre is nearest for peaks outside all windows); overlapping beats are averaged with
    tapered weights. None when no template is usable (no beats)."""
    pre, length = cfg.bank_pre, cfg.bank_len
    ok = np.isfinite(templates.reshape(len(templates), -1)).all(axis=1)
    if not ok.any() or len(r_peaks) == 0:
        return None
    centres = np.asarray(window_starts, np.float64) + cfg.global_len / 2
    centres[~ok] = np.inf  # windows without a template are never chosen
    weight = _taper(length)
    acc = np.zeros((templates.shape[1], n), np.float32)
    total = np.zeros(n, np.float32)
    for r in np.asarray(r_peaks, np.int64):
        tpl = templates[int(np.argmin(np.abs(centres - r)))]
        a = int(r) - pre
        lo, hi = max(a, 0), min(a + length, n)
        if hi <= lo:
            continue
        acc[:, lo:hi] += tpl[:, lo - a : hi - a] * weight[lo - a : hi - a]
        total[lo:hi] += weight[lo - a : hi - a]
    # Where beats overlap, their weighted mean; where they fade out, towards the baseline (0).
    return acc / np.maximum(total, 1.0)
