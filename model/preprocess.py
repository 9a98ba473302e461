"""From any Record to the model's inputs: leads, rate, band, R peaks, windows, normalisation.

The model sees 12 standard leads at ``cfg.fs`` (100 Hz by default), band-limited 1-25 Hz,
cut into 9.6 s global windows, each lead robustly scaled to about [-1, 1]. Every step keeps
what is needed to map results back to the input's own samples and millivolts.

Robust scaling instead of the reference's min-max: the centre and half-range come from the
0.5th and 99.5th percentiles and the result is clipped at ``cfg.norm_clip``, so a single
electrode spike no longer squashes the whole lead to a flat line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from ecgviewer.errors import InvalidSignalError, MissingLeadsError
from ecgviewer.record import Record
from ecgviewer.signal.calibration import ecg_end
from ecgviewer.signal.filters import bandpass, highpass
from ecgviewer.signal.quantiles import percentile
from ecgviewer.signal.resample import resample
from ecgviewer.signal.rpeaks import detect_r_peaks
from model.beat_bank import window_median_beats
from model.config import ModelConfig
from model.local_events import event_features
from model.measure_novelty import array_features

#: Shortest record we score (s): two beats at 50 bpm.
MIN_SECONDS = 2.5
#: Lowest half-range (mV) used for scaling: a flat or disconnected lead is not amplified.
MIN_HALF_RANGE_MV = 0.05
#: Most beats per window sent to the network (evenly spaced subset at very high rates).
MAX_BEATS = 24


def select_leads(record: Record, cfg: ModelConfig) -> tuple[np.ndarray, set[str]]:
    """The model's leads in its order, in mV, deriving limb leads from I and II if needed.

    Raises
    ------
    MissingLeadsError
        When a needed lead is absent and cannot be derived (e.g. a 2-lead Holter).
    """
    flags: set[str] = set()
    missing = [name for name in cfg.leads if name not in record.leads]
    if missing:
        derived = record.with_derived_limb_leads()
        if derived is not record:
            record = derived
            flags.add("derived_limb_leads")
        missing = [name for name in cfg.leads if name not in record.leads]
    if missing:
        raise MissingLeadsError(
            record.source,
            "the anomaly model needs the 12 standard leads; missing "
            + ", ".join(missing)
            + f" (this record has {', '.join(record.leads)})",
        )
    data = record.data()
    rows = [record.leads.index(name) for name in cfg.leads]
    return np.ascontiguousarray(data[rows]), flags


def robust_scale(x: np.ndarray, mode: str = "lead") -> tuple[np.ndarray, np.ndarray]:
    """Per-row centre and half-range from the 0.5/99.5 percentiles (floored).

    ``mode="record"`` uses one half-range for all rows (the median of the per-row ones), so
    the relative amplitudes of the leads (hypertrophy, low R waves) survive normalisation.
    """
    lo, hi = percentile(x, [0.5, 99.5])
    centre = ((hi + lo) / 2).astype(np.float32)
    half = np.maximum((hi - lo) / 2, MIN_HALF_RANGE_MV).astype(np.float32)
    if mode == "record":
        half = np.full_like(half, np.median(half))
    return centre, half


def normalise(part: np.ndarray, cfg: ModelConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(normalised and clipped part, centre, half) for a (12, n) mV band-passed segment."""
    centre, half = robust_scale(part, cfg.norm_mode)
    norm = np.clip((part - centre[:, None]) / half[:, None], -cfg.norm_clip, cfg.norm_clip)
    return norm.astype(np.float32), centre, half


@dataclass
class Window:
    """One global window at the model rate (normalised) and what maps it back."""

    start: int  # first model-rate sample of the window in the prepared record
    signal: np.ndarray  # (12, L) normalised, clipped
    centre: np.ndarray  # (12,) mV
    half: np.ndarray  # (12,) mV
    beats: np.ndarray  # R peak positions inside the window whose beat view fits


@dataclass
class Prepared:
    """A record ready for the network plus the bookkeeping to map results back."""

    fs_in: float
    n_in: int  # input samples
    n_model: int  # samples at the model rate (before padding)
    padded: int  # zeros appended at the model rate to reach one window
    filtered: np.ndarray  # (12, n_model + padded) band-passed mV at the model rate
    #: (12, n_model + padded) mV removed by the high-pass (for restored); None until
    #: :func:`add_baseline` when prepared without it
    baseline: np.ndarray | None
    r_peaks: np.ndarray  # model-rate R peaks over the whole record
    windows: list[Window]
    flags: set[str] = field(default_factory=set)
    #: (n_windows, 12, bank_len) mV median beat of each window for the normal-beat bank
    median_beats: np.ndarray | None = None
    #: the record's signal quality (ecgviewer.signal.quality), when measured with the rest of
    #: the preprocessing (in a worker process); else the Detector measures it in a second
    #: thread while the network runs (model.infer.Detector.iter_score_many)
    quality: Any = None
    #: (12, n_model + padded) mV in the bank's band (0.5-25 Hz): beats compared with the
    #: expected normal beat; with median_beats only
    bank_band: np.ndarray | None = None
    #: (12, n_model + padded) mV below the bank's band: the wander the expected-normal trace
    #: rides on, so it lies on the unfiltered trace; with median_beats only
    slow: np.ndarray | None = None
    #: cart-style measurement features of the first 10 s (model/measure_novelty.py); with
    #: ``measurements`` only
    measure_features: np.ndarray | None = None
    #: local-event features (model/local_events.py: a noise burst, a few beats' ST-T change);
    #: with ``events`` only
    event_features: dict[str, float] | None = None
    #: (12, n_model) mV at the model rate before padding and filtering: what the
    #: signal-quality check would resample again (see model.infer.quality_of); dropped after it
    at_model_rate: np.ndarray | None = field(default=None, repr=False)
    #: input samples after the ECG that were left out: a cart's calibration pulse
    #: (ecgviewer.signal.calibration); results mapped back to the record cover them with
    #: their fill value
    n_tail: int = 0


def window_starts(n: int, cfg: ModelConfig) -> list[int]:
    """Window starts covering ``n`` samples: one centred window for up to 5% extra, else a
    half-overlapping tiling spread evenly from 0 to n - L."""
    length = cfg.global_len
    if n <= length * 1.05:
        return [max(0, (n - length) // 2)]
    stride = int(round(cfg.window_stride * cfg.fs))
    count = math.ceil((n - length) / stride) + 1
    return [int(round(s)) for s in np.linspace(0, n - length, count)]


def beats_in_window(r_peaks: np.ndarray, start: int, cfg: ModelConfig) -> np.ndarray:
    """R peaks (window coordinates) whose beat view fits entirely inside the window."""
    local = r_peaks - start
    post = cfg.beat_len - cfg.beat_pre
    keep = local[(local >= cfg.beat_pre) & (local + post <= cfg.global_len)]
    if len(keep) > MAX_BEATS:
        keep = keep[np.linspace(0, len(keep) - 1, MAX_BEATS).round().astype(int)]
    return keep.astype(np.int64)


def make_window(filtered: np.ndarray, start: int, beats: np.ndarray, cfg: ModelConfig) -> Window:
    norm, centre, half = normalise(filtered[:, start : start + cfg.global_len], cfg)
    return Window(start, norm, centre, half, beats)


def prepare_array(
    x_mv: np.ndarray,
    fs: float,
    cfg: ModelConfig,
    source: str | None = None,
    median_beats: bool = False,
    measurements: bool = False,
    baseline: bool = True,
    events: bool = False,
    slow: bool = True,
) -> Prepared:
    """Prepare a (12, n) mV array in the model's lead order (see :func:`prepare`)."""
    flags: set[str] = set()
    n_in = x_mv.shape[1]
    if n_in / fs < MIN_SECONDS:
        raise InvalidSignalError(
            source, f"too short to score: {n_in / fs:.2f} s (at least {MIN_SECONDS:g} s needed)"
        )
    if abs(fs - cfg.fs) > 1e-6:
        flags.add(f"resampled_from_{fs:g}Hz")
        x = resample(x_mv, fs, cfg.fs)
    else:
        x = np.asarray(x_mv, dtype=np.float32)
    n_model = x.shape[1]
    at_model_rate = x
    padded = max(0, cfg.global_len - n_model)
    if padded:
        # Edge padding before filtering avoids a step; the padded part is masked out later.
        x = np.pad(x, ((0, 0), (0, padded)), mode="edge")
        flags.add("short_record_padded")
    filtered = bandpass(x, cfg.fs, cfg.highpass_hz, cfg.lowpass_hz)
    r_peaks = detect_r_peaks(filtered, cfg.fs)
    if len(r_peaks) == 0:
        flags.add("no_r_peaks")
    starts = window_starts(filtered.shape[1], cfg)
    windows = [make_window(filtered, s, beats_in_window(r_peaks, s, cfg), cfg) for s in starts]
    prepared = Prepared(
        fs_in=float(fs),
        n_in=n_in,
        n_model=n_model,
        padded=padded,
        filtered=filtered,
        baseline=_baseline(x, cfg) if baseline else None,
        r_peaks=np.asarray(r_peaks, dtype=np.int64),
        windows=windows,
        flags=flags,
        at_model_rate=at_model_rate,
    )
    if median_beats:
        _add_median_beats(prepared, x, cfg, slow)
    if measurements:
        prepared.measure_features = measurement_features(prepared, cfg)
    if events:
        add_event_features(prepared, cfg)
    return prepared


def _baseline(x: np.ndarray, cfg: ModelConfig) -> np.ndarray:
    """What the model's high-pass removes from ``x``, the (padded) leads at the model rate."""
    return (x - highpass(x, cfg.fs, cfg.highpass_hz)).astype(np.float32)


def _leads_at_model_rate(p: Prepared) -> np.ndarray:
    """``p.at_model_rate``, which :func:`model.infer.quality_of` drops once it is done."""
    if p.at_model_rate is None:
        raise ValueError("the leads at the model rate were dropped before this was made")
    return p.at_model_rate


def _padded_at_model_rate(p: Prepared) -> np.ndarray:
    """``p.at_model_rate`` edge-padded as preprocessing padded it before filtering."""
    x = _leads_at_model_rate(p)
    return np.pad(x, ((0, 0), (0, p.padded)), mode="edge") if p.padded else x


def add_baseline(p: Prepared, cfg: ModelConfig) -> None:
    """Set ``p.baseline`` on a record prepared without it (``prepare(baseline=False)``: the
    Detector makes it beside the network, as it is not a network input), from
    ``p.at_model_rate``: the same as ``prepare(baseline=True)``."""
    p.baseline = _baseline(_padded_at_model_rate(p), cfg)


def add_median_beats(p: Prepared, cfg: ModelConfig, slow: bool = True) -> None:
    """Set what the normal-beat bank compares (``median_beats``, ``bank_band``, ``slow``) on a
    record prepared without them, from ``p.at_model_rate`` (so before
    :func:`model.infer.quality_of` drops it): the same as ``prepare(median_beats=True)``."""
    _add_median_beats(p, _padded_at_model_rate(p), cfg, slow)


def _add_median_beats(p: Prepared, x: np.ndarray, cfg: ModelConfig, slow: bool = True) -> None:
    """The bank's inputs from ``x``, the (padded) leads at the model rate before filtering;
    ``slow``: also the wander below the bank's band (only the expected-normal trace needs it)."""
    p.bank_band = bandpass(x, cfg.fs, cfg.bank_low_hz, cfg.bank_high_hz)
    p.median_beats = window_median_beats(p.bank_band, p.r_peaks, [w.start for w in p.windows], cfg)
    if slow:
        p.slow = (x - highpass(x, cfg.fs, cfg.bank_low_hz)).astype(np.float32)


def measurement_features(p: Prepared, cfg: ModelConfig) -> np.ndarray:
    """The measurement features of model/measure_novelty.py for a prepared record: measured
    on the unfiltered leads at the model rate (``p.at_model_rate``, so before
    :func:`model.infer.quality_of` drops it) with the R peaks preprocessing found."""
    return array_features(_leads_at_model_rate(p), cfg.fs, cfg.leads, p.r_peaks)


def add_event_features(p: Prepared, cfg: ModelConfig) -> None:
    """Set ``p.event_features`` (model/local_events.py) from the unfiltered leads at the model
    rate (``p.at_model_rate``, so before :func:`model.infer.quality_of` drops it) and the
    band-passed ones, with the R peaks preprocessing found."""
    p.event_features = event_features(
        _leads_at_model_rate(p), p.filtered[:, : p.n_model], cfg.fs, p.r_peaks
    )


def prepare(
    record: Record,
    cfg: ModelConfig,
    median_beats: bool = False,
    measurements: bool = False,
    baseline: bool = True,
    events: bool = False,
    slow: bool = True,
) -> Prepared:
    """Prepare a Record of any rate, length and lead order for scoring.

    Flags say what was done ("derived_limb_leads", "resampled_from_500Hz", "no_r_peaks",
    "short_record_padded", "calibration_pulse_left_out"); records without R peaks still get
    a global score. A cart's calibration pulse after the ECG is left out
    (``Prepared.n_tail``).
    ``median_beats``: also the per-window median beats the normal-beat bank compares
    (an extra band-pass, so only when a bank will use them). ``measurements``: also the
    measurement features of model/measure_novelty.py (~10 ms). ``baseline``: the wander the
    high-pass removes (else None until :func:`add_baseline`). ``events``: also the local-event
    features of model/local_events.py (~1 ms). ``slow``: with ``median_beats``, also the
    wander below the bank's band (``Prepared.slow``, for the expected-normal trace only).
    """
    x, flags = select_leads(record, cfg)
    end = ecg_end(record)
    if end is not None and end / record.fs >= MIN_SECONDS:  # the cart's pulse: not ECG
        x = x[:, :end]
        flags.add("calibration_pulse_left_out")
    prepared = prepare_array(
        x, record.fs, cfg, record.source, median_beats, measurements, baseline, events, slow
    )
    prepared.flags |= flags
    prepared.n_tail = record.n_samples - x.shape[1]
    return prepared


def to_input_rate(x_model: np.ndarray, prepared: Prepared, cfg: ModelConfig) -> np.ndarray:
    """Map a (..., n_model[+padded]) model-rate array back onto the input's samples.

    Linear interpolation at the input sample times: a map or restored trace lines up with the
    record's own samples whatever the input rate.
    """
    x_model = x_model[..., : prepared.n_model]
    if abs(prepared.fs_in - cfg.fs) < 1e-6 and x_model.shape[-1] == prepared.n_in:
        return x_model.astype(np.float32)
    flat = x_model.reshape(-1, prepared.n_model)
    if prepared.n_model < 2:
        return (
            np.repeat(flat, prepared.n_in, axis=1)
            .reshape(*x_model.shape[:-1], prepared.n_in)
            .astype(np.float32)
        )
    # np.interp for all rows at once: the input sample times are the same for every row.
    left, right, frac, rest = _interpolation(
        prepared.n_in, prepared.n_model, cfg.fs / prepared.fs_in
    )
    out = np.take(flat, left, axis=1) * rest + np.take(flat, right, axis=1) * frac
    return out.reshape(*x_model.shape[:-1], prepared.n_in).astype(np.float32)


@lru_cache(maxsize=16)
def _interpolation(
    n_in: int, n_model: int, step: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where :func:`to_input_rate` takes each input sample from: left and right model-rate
    samples and the weights of both (read-only; made once per length and rate: a record's
    map, restored trace and heat band all need the same)."""
    pos = np.clip(np.arange(n_in) * step, 0, n_model - 1)
    left = np.minimum(pos.astype(np.int64), n_model - 2)
    frac = (pos - left).astype(np.float32)
    out = (left, left + 1, frac, 1 - frac)
    for a in out:
        a.flags.writeable = False
    return out
