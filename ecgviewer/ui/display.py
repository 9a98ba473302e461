"""What goes on screen for one page of a record: filtered samples, overlay slices, measures.

The trace is the recorded signal through the clinician's display filter (``DisplayFilter``,
stated on screen), never the model's internal band. The page is read with a little padding on
both sides before filtering so the filter's edge transients fall outside the page; a long or
paged record is never filtered whole.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ecgviewer.record import Record
from ecgviewer.signal.filters import DisplayFilter
from ecgviewer.ui.lead_plot import PageData

log = logging.getLogger(__name__)

PAD_S = 1.0  # filter padding each side of a page


def page_bounds(record: Record, page_start: float, page_seconds: float) -> tuple[int, int]:
    a = max(0, int(round(page_start * record.fs)))
    b = min(record.n_samples, a + int(round(page_seconds * record.fs)))
    return a, max(a + 1, b)


def build_page(record: Record, page_start: float, page_seconds: float,
               display_filter: DisplayFilter | None, result: Any | None = None,
               heat_scale: float = 1.0) -> PageData:
    """Samples of the ECG leads for one page, filtered for display, plus overlay slices."""
    leads = record.ecg_leads
    rows = [record.leads.index(name) for name in leads]
    a, b = page_bounds(record, page_start, page_seconds)
    pad = int(round(PAD_S * record.fs)) if display_filter is not None else 0
    pa, pb = max(0, a - pad), min(record.n_samples, b + pad)
    raw = np.asarray(record.signal[:, pa:pb], dtype=np.float32)[rows]
    if display_filter is not None:
        try:
            raw = display_filter.apply(raw, record.fs)
        except Exception:  # a filter problem must not hide the ECG: show it unfiltered
            log.exception("display filter failed; showing the unfiltered signal")
    signal = np.ascontiguousarray(raw[:, a - pa: a - pa + (b - a)])
    anomaly = restored = None
    if result is not None:
        amap = getattr(result, "anomaly_map", None)
        rest = getattr(result, "restored", None)
        if amap is not None and np.shape(amap)[1] == record.n_samples:
            anomaly = np.asarray(amap[:, a:b], dtype=np.float32)[rows]
        if rest is not None and np.shape(rest)[1] == record.n_samples:
            restored = np.asarray(rest[:, a:b], dtype=np.float32)[rows]
            if display_filter is not None:
                # Filter the ghost the same way as the trace so the two are comparable.
                try:
                    full = np.nan_to_num(np.asarray(rest[:, pa:pb], dtype=np.float32)[rows])
                    restored = display_filter.apply(full, record.fs)[:, a - pa: a - pa + (b - a)]
                except Exception:
                    log.exception("display filter failed on the restored signal")
    return PageData(list(leads), signal, record.fs, a / record.fs,
                    derived=tuple(record.derived_leads), anomaly=anomaly, restored=restored,
                    heat_scale=heat_scale)


# ---------------------------------------------------------------------- measurements
@dataclass
class Measurements:
    """Rate, rhythm and intervals for the panel; ``unavailable`` maps a name to the reason."""

    r_peaks: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    rhythm_lead: str = ""
    hr_bpm: float | None = None
    rr_mean_ms: float | None = None
    rr_sd_ms: float | None = None
    rr_min_ms: float | None = None
    rr_max_ms: float | None = None
    intervals: dict[str, float | None] = field(default_factory=dict)  # ms
    method: str = ""
    unavailable: dict[str, str] = field(default_factory=dict)


def _rr_stats(peaks: np.ndarray, fs: float, out: Measurements) -> None:
    if peaks.size < 2:
        out.unavailable["heart rate"] = "fewer than 2 R peaks found"
        return
    rr = np.diff(peaks) / fs * 1000.0
    out.rr_mean_ms = float(np.mean(rr))
    out.rr_sd_ms = float(np.std(rr, ddof=1)) if rr.size > 1 else 0.0
    out.rr_min_ms = float(np.min(rr))
    out.rr_max_ms = float(np.max(rr))
    out.hr_bpm = 60000.0 / out.rr_mean_ms


def measure_job(record: Record, max_seconds: float = 60.0) -> Generator[tuple[int, int, str], None, Measurements]:
    """R peaks, RR statistics and intervals, as a Worker job (first ``max_seconds``)."""
    yield 0, 3, "finding R peaks"
    from ecgviewer.signal.rpeaks import detect_r_peaks

    out = Measurements()
    n = min(record.n_samples, int(max_seconds * record.fs))
    leads = record.ecg_leads
    rows = [record.leads.index(name) for name in leads]
    data = np.asarray(record.signal[:, :n], dtype=np.float32)[rows]
    ref = leads.index("II") if "II" in leads else None
    out.rhythm_lead = leads[ref] if ref is not None else ""
    out.r_peaks = detect_r_peaks(data, record.fs, lead=ref)
    yield 1, 3, "heart rate"
    try:
        from ecgviewer.signal import intervals as iv  # lands separately; optional until then
    except ImportError:
        iv = None
    stats = None
    if iv is not None and hasattr(iv, "heart_rate_stats"):
        try:
            stats = iv.heart_rate_stats(out.r_peaks, record.fs)
        except Exception:
            log.exception("heart_rate_stats failed; computing RR statistics locally")
    _rr_stats(out.r_peaks, record.fs, out)
    if stats is not None:
        for name, attr in (("hr_bpm", "hr_bpm"), ("rr_mean_ms", "rr_mean_ms"),
                           ("rr_sd_ms", "rr_sd_ms")):
            value = stats.get(attr) if isinstance(stats, dict) else getattr(stats, attr, None)
            if value is not None:
                setattr(out, name, float(value))
    yield 2, 3, "intervals"
    names = ("PR", "QRS", "QT", "QTc Bazett", "QTc Fridericia")
    if iv is None or not hasattr(iv, "measure_intervals"):
        for name in names:
            out.unavailable[name] = "no interval measurement in this build"
    else:
        try:
            res = iv.measure_intervals(data, record.fs, out.r_peaks, leads=leads)
            _copy_intervals(res, out, names)
        except TypeError:
            try:
                res = iv.measure_intervals(record)
                _copy_intervals(res, out, names)
            except Exception as exc:
                for name in names:
                    out.unavailable[name] = f"measurement failed ({exc})"
        except Exception as exc:
            log.exception("measure_intervals failed")
            for name in names:
                out.unavailable[name] = f"measurement failed ({exc})"
    return out


def _copy_intervals(res: Any, out: Measurements, names: tuple[str, ...]) -> None:
    """Accept a dict or an object with pr/qrs/qt/qtc_bazett/qtc_fridericia (ms), method and
    per-interval reasons; duck-typed until the intervals module's API is final."""
    keys = {"PR": "pr", "QRS": "qrs", "QT": "qt", "QTc Bazett": "qtc_bazett",
            "QTc Fridericia": "qtc_fridericia"}

    def get(obj: Any, key: str) -> Any:
        return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)

    reasons = get(res, "reasons") or get(res, "unavailable") or {}
    for name in names:
        value = get(res, keys[name])
        if value is None or (isinstance(value, float) and not np.isfinite(value)):
            out.unavailable[name] = str(dict(reasons).get(keys[name], "could not be measured"))
            out.intervals[name] = None
        else:
            out.intervals[name] = float(value)
    out.method = str(get(res, "method") or "")
