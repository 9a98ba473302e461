"""The per-sample anomaly map (``ScoreResult.anomaly_map``): where in each lead the ECG departs
most from the rest of that lead.

The calibrated heat band (``finding_map``, model/findings.py) says *whether* a lead or beat is
beyond normal ECGs; this map says *where* within the strip, from two sources: the network's
restoration error and, when a normal-beat bank is bundled, the distance from the expected
normal beat (model/expected.py). Each is smoothed over about one QRS-T segment and divided by
its own lead's median over the record, so a naturally noisy lead or record does not light up
as a whole and what stands out is the region that differs from the rest of its lead; the two
ratios are added.

Measured on the synthetic insertions into the PTB-XL fold-9 *selection*-half normals
(model/localization_benchmark.py, point AUROC pooled over the four kinds): the restoration map
as it was (30 ms smoothing, per-lead normal-level factors) 0.828; divided by its lead's median
0.844; smoothed 60 / 100 / 150 / 250 ms and divided 0.894 / 0.916 / 0.932 / 0.952; with the
bank deviation added at 100 ms 0.920 (ST shifts 0.964, T inversions 0.960, premature wide
beats 0.910, EMG bursts 0.826). 100 ms is kept although wider smoothing scores higher on this
benchmark (its labels cover whole event spans): it still tells a QRS from its T wave.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

#: Gaussian smoothing of each source (seconds).
SIGMA_S = 0.1


def relative_map(sources: list[np.ndarray], fs: float, sigma_s: float = SIGMA_S) -> np.ndarray:
    """Sum over ``sources`` ((12, n) non-negative maps) of each smoothed map over its own
    lead's median (1 = as usual for this lead, 2 = twice that)."""
    out = np.zeros(sources[0].shape, np.float64)
    for source in sources:
        smooth = gaussian_filter1d(
            np.asarray(source, np.float64), sigma_s * fs, axis=-1, mode="nearest"
        )
        median = np.median(smooth, axis=-1, keepdims=True)
        # A lead that is flat almost everywhere (disconnected) is not divided by ~0.
        floor = 1e-9 + 0.01 * float(np.median(median)) if median.size else 1e-9
        out += smooth / np.maximum(median, floor)
    return out.astype(np.float32)
