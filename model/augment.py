"""Training-time augmentation that mimics what differs between carts and sites.

Applied to the normalised training window *before* masking, so the input and the restoration
target are the same augmented ECG: the network learns that a few per cent of lead gain, a
residual baseline drift and a little broadband (EMG-like) noise are still normal, without
being asked to remove them. Shapes stay intact: no inversion, no lead mixing, no time warp,
so pathology (polarity, relative timing) is never hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Augmentation:
    gain: float = 0.05  # per-lead gain drawn log-uniform in [1/(1+g), 1+g]
    wander: float = 0.05  # peak of a slow (0.05-0.5 Hz) residual drift, in normalised units
    noise: float = 0.03  # std of white noise (at most), in normalised units
    prob: float = 0.5  # each of drift and noise is applied to this share of the ECGs

    def apply(self, x: np.ndarray, fs: float, rng: np.random.Generator) -> np.ndarray:
        """x: (N, leads, L) float32 normalised windows; returns a new augmented array."""
        n, leads, length = x.shape
        out = x * np.exp(rng.uniform(-np.log1p(self.gain), np.log1p(self.gain), (n, leads, 1)))
        t = np.arange(length) / fs
        if self.wander > 0:
            freq = rng.uniform(0.05, 0.5, (n, 1, 1))
            phase = rng.uniform(0, 2 * np.pi, (n, leads, 1))
            amp = rng.uniform(0, self.wander, (n, leads, 1)) * (rng.random((n, 1, 1)) < self.prob)
            out = out + amp * np.sin(2 * np.pi * freq * t + phase)
        if self.noise > 0:
            std = rng.uniform(0, self.noise, (n, 1, 1)) * (rng.random((n, 1, 1)) < self.prob)
            out = out + std * rng.standard_normal(out.shape)
        return out.astype(np.float32)
