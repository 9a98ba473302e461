"""The machine's median beat and global fiducials, in the form the interval editor needs.

The reader drags fiducials on the median beat the measurement was made on, so the lines start
where the machine put them and the intervals the reader sees recompute with the same
definitions (:mod:`ecgviewer.signal.fiducials`). This adapter is the one place that knows the
measurement module's result fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ecgviewer.record import Record


@dataclass(frozen=True)
class MachineBeat:
    """Median beat (leads, n) in mV at ``fs`` with its R peak at sample ``r_index``;
    ``fiducials`` in seconds relative to that R peak; ``reason`` says why it is missing."""

    beat: np.ndarray | None
    fs: float
    r_index: int
    leads: tuple[str, ...]
    fiducials: dict[str, float] = field(default_factory=dict)
    rr_ms: float | None = None
    reason: str = ""

    def times_ms(self) -> np.ndarray:
        n = 0 if self.beat is None else self.beat.shape[1]
        return (np.arange(n) - self.r_index) * 1000.0 / self.fs


def machine_beat(record: Record, max_seconds: float = 60.0) -> MachineBeat:
    """Measure ``record`` (its first ``max_seconds``, as the viewer's panel does)."""
    from ecgviewer.signal import intervals as iv_mod
    from ecgviewer.signal.rpeaks import detect_r_peaks

    if hasattr(iv_mod, "measure"):  # the measurement API with MedianBeats (P offset too)
        return _from_measurements(iv_mod.measure(record, max_seconds))
    n = min(record.n_samples, int(max_seconds * record.fs))
    leads = record.ecg_leads
    rows = [record.leads.index(name) for name in leads]
    data = np.asarray(record.signal[:, :n], dtype=np.float32)[rows]
    peaks = detect_r_peaks(data, record.fs, lead=leads.index("II") if "II" in leads else None)
    iv = iv_mod.measure_intervals(data, record.fs, leads, peaks)
    beat = getattr(iv, "median_beat", None)
    if beat is None:
        reasons = getattr(iv, "reasons", {}) or {}
        why = reasons.get("qrs") or next(iter(reasons.values()), "no median beat")
        return MachineBeat(None, record.fs, 0, (), reason=str(why))
    # measure_intervals delineates at DELINEATION_FS at least (interpolating slower records).
    fs = max(float(record.fs), float(getattr(iv_mod, "DELINEATION_FS", record.fs)))
    fid = {k: float(v) for k, v in (getattr(iv, "fiducials", {}) or {}).items()}
    return MachineBeat(
        np.asarray(beat, dtype=np.float32),
        fs,
        int(iv.median_beat_r),
        tuple(iv.median_beat_leads),
        fid,
        getattr(iv, "rr_ms", None),
    )


def _from_measurements(m: object) -> MachineBeat:
    """From :func:`ecgviewer.signal.intervals.measure`'s result (beats at their own rate)."""
    beats = getattr(m, "beats", None)
    array = getattr(beats, "beats", None)
    if beats is None or array is None:
        reasons = getattr(m, "reasons", {}) or {}
        why = getattr(beats, "reason", "") or reasons.get("qrs") or "no median beat"
        return MachineBeat(None, 0.0, 0, (), reason=str(why))
    rr_s = getattr(beats, "rr_s", None)
    rr_ms = 1000.0 * float(rr_s) if rr_s else getattr(m, "rr_ms", None)
    fid = {k: float(v) for k, v in m.fiducial_seconds().items()}  # type: ignore[attr-defined]
    return MachineBeat(
        np.asarray(array, dtype=np.float32),
        float(beats.fs),
        int(beats.r_index),
        tuple(beats.leads),
        fid,
        rr_ms,
    )
