"""What goes on screen for one page of a record: filtered samples, overlay slices, measures.

The trace is the recorded signal through the clinician's display filter (``DisplayFilter``,
stated on screen), never the model's internal band. The page is read with a little padding on
both sides before filtering so the filter's edge transients fall outside the page; a long or
paged record is never filtered whole.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ecgviewer.paper.page import PAD_S, PageData, build_page, page_bounds
from ecgviewer.record import CartReading, Record
from ecgviewer.wording import elapsed_text

log = logging.getLogger(__name__)

# The page model lives in ecgviewer.paper.page (shared with the report); re-exported here.
__all__ = [
    "PAD_S",
    "Measurements",
    "PageData",
    "build_page",
    "filters_loaded",
    "load_filters_job",
    "measure_job",
    "page_bounds",
]


def filters_loaded() -> bool:
    """Whether the display filter's module (and scipy.signal) is imported yet."""
    return "ecgviewer.signal.filters" in sys.modules


def load_filters_job() -> Generator[tuple[int, int, str], None, None]:
    """Import the display filter off the GUI thread, so the first page appears at once."""
    yield 0, 1, "loading the display filter"
    import ecgviewer.signal.filters  # noqa: F401


# ---------------------------------------------------------------------- measurements
INTERVAL_NAMES = ("P", "PR", "QRS", "QT", "QTc Bazett", "QTc Fridericia")
_FIELDS = {
    "P": ("p_duration_ms", "p_duration"),
    "PR": ("pr_ms", "pr"),
    "QRS": ("qrs_ms", "qrs"),
    "QT": ("qt_ms", "qt"),
    "QTc Bazett": ("qtc_bazett_ms", "qtc_bazett"),
    "QTc Fridericia": ("qtc_fridericia_ms", "qtc_fridericia"),
}


@dataclass
class Measurements:
    """Rate, rhythm and intervals for the panel; ``unavailable`` maps a name to the reason."""

    r_peaks: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    rhythm_lead: str = ""
    seconds: float = 0.0  # length of the strip measured
    start_s: float = 0.0  # where the strip starts, seconds from the recording's start
    hr_bpm: float | None = None
    hr_min_bpm: float | None = None
    hr_max_bpm: float | None = None
    rr_mean_ms: float | None = None
    rr_sd_ms: float | None = None
    intervals: dict[str, float | None] = field(default_factory=dict)  # ms
    method: str = ""
    unavailable: dict[str, str] = field(default_factory=dict)
    cart: CartReading | None = None  # the file's own (cart's) reading, shown beside ours
    full: Any = None  # the ecgviewer.signal.intervals.Measurements (median beats, axes, leads)


def measure_job(
    record: Record, max_seconds: float = 60.0, start_s: float = 0.0
) -> Generator[tuple[int, int, str], None, Measurements]:
    """R peaks, heart rate / RR statistics and intervals over ``max_seconds`` from
    ``start_s`` (the page on screen for a long recording, whose first minute may hold no
    signal), as a Worker job: the detectors take tens of ms to a second and must not run on
    the GUI thread.

    Intervals are measured on the unfiltered signal (the intervals module removes the
    baseline itself), so the display filter never changes a measured interval.
    """
    yield 0, 3, "finding R peaks"
    from ecgviewer.signal.calibration import ecg_end
    from ecgviewer.signal.intervals import heart_rate_stats, measure_signal
    from ecgviewer.signal.rpeaks import detect_r_peaks

    out = Measurements(cart=record.cart)
    a = min(max(0, int(round(start_s * record.fs))), max(0, record.n_samples - 1))
    b = min(record.n_samples, a + int(max_seconds * record.fs))
    end = ecg_end(record)  # not a cart's calibration pulse after the ECG (no beat)
    if end is not None and a < end < b:
        b = end
    out.start_s = a / record.fs
    out.seconds = (b - a) / record.fs
    leads = record.ecg_leads
    rows = [record.leads.index(name) for name in leads]
    data = np.asarray(record.signal[:, a:b], dtype=np.float32)[rows]
    ref = leads.index("II") if "II" in leads else None
    usable = np.isfinite(data).all(axis=1) & (np.ptp(np.nan_to_num(data), axis=1) > 0.05)
    if ref is not None and not usable[ref] and usable.any():
        ref = int(np.flatnonzero(usable)[0])  # lead II flat or missing here: the next lead
    out.r_peaks = detect_r_peaks(np.nan_to_num(data), record.fs, lead=ref)
    out.rhythm_lead = leads[ref] if ref is not None else ""
    yield 1, 3, "heart rate"
    stats = heart_rate_stats(out.r_peaks, record.fs)
    if stats.mean_bpm is None and not usable.any():
        where = f" from {elapsed_text(out.start_s, long=True)}" if out.start_s > 0 else ""
        out.unavailable["heart rate"] = (
            f"no ECG signal in these {out.seconds:.0f} s{where} (flat or missing)"
        )
    elif stats.mean_bpm is None:
        out.unavailable["heart rate"] = f"{stats.n_beats} R peak(s) found: at least 2 needed"
    else:
        out.hr_bpm, out.hr_min_bpm, out.hr_max_bpm = stats.mean_bpm, stats.min_bpm, stats.max_bpm
        out.rr_mean_ms, out.rr_sd_ms = stats.rr_mean_ms, stats.rr_sd_ms
    yield 2, 3, "intervals"
    iv = measure_signal(data, record.fs, leads, out.r_peaks)
    out.full = iv
    out.method = iv.method
    for name in INTERVAL_NAMES:
        attr, reason_key = _FIELDS[name]
        value = getattr(iv, attr)
        out.intervals[name] = None if value is None else float(value)
        if value is None:
            out.unavailable[name] = iv.reasons.get(reason_key, "could not be measured")
    return out
