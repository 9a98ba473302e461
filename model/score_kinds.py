"""Score kinds: which restoration errors make a record score, and z-scored ensembles of them.

The network gives per-sample squared errors and log-variances (global, beat and trend views);
a *score kind* names how they become one number per record (an error variant, a scope and a
view), chosen on the fold-9 selection half and written in the model card. An *ensemble* is a
weighted sum of z-scored kinds (and the normal-beat bank's distance and the measurement
distances). Used by the Detector (model/infer.py) and by model selection (model/fold9.py,
model/card.py, model/validation.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter1d

from model.config import ModelConfig
from model.vcg import VCG_KINDS

#: The components a record score can be built from (chosen on the selection half, in the card).
#: Error variants: "w" uncertainty-weighted exp(-v)*err^2, "mse" plain err^2, "nll" the
#: Gaussian negative log-likelihood exp(-v)*err^2 + v.
VARIANTS = ("w", "mse", "nll")
#: Scopes: "" errors where the sample was masked (restoration), "_all" errors of every sample
#: averaged over the patterns (restoration + reconstruction, as the reference scores).
SCORE_KINDS = tuple(
    f"{part}_{variant}{scope}"
    for scope in ("", "_all")
    for variant in VARIANTS
    for part in ("combined", "global", "beat")
) + (
    "trend",
    "trend_all",
    "combined_w_p95",
    "combined_w_toplead",
    "beat_knn",
    "measure_mahal",
    "measure_amp",
    *VCG_KINDS,
    "qrs_global_nll",
    "qrs_global_nll_all",
)
#: Summaries of the combined "w" map (its 95th percentile, its three highest lead means),
#: made with the maps' 99th percentiles only when asked (:func:`score_components`).
MAP_SUMMARY_KINDS = ("combined_w_p95", "combined_w_toplead")
#: The global restoration NLL over each beat's QRS only (:func:`qrs_window_components`),
#: masked passes and all-pass. Offered to the restoration network's own score, not to the
#: shipped one (:data:`SHIPPED_CANDIDATES`): cross-validated inside the fold-9 selection half
#: (10 x random 2-fold, chosen on one fold, measured on the other), they lift the network-only
#: ensemble 0.860 -> 0.881 (paired +0.021 +- 0.006) and give the shipped one nothing (-0.002
#: +- 0.008: the beat bank and the measurement ranges already carry the QRS).
QRS_KINDS = ("qrs_global_nll", "qrs_global_nll_all")
#: Each beat's QRS window for :data:`QRS_KINDS`: 60 ms either side of its R peak (s).
QRS_WINDOW_S = (-0.06, 0.06)
#: Not a restoration error: the normal-beat bank's distance (model/beat_bank.py).
BANK_KIND = "beat_knn"
#: Not a restoration error: how far the ECG's measurements lie from normal ECGs'
#: (model/measure_novelty.py).
MEASURE_KIND = "measure_mahal"
#: Not a restoration error: how far the ECG's per-lead wave amplitudes lie from normal ECGs',
#: feature by feature (the same fitted measurement ranges, model/measure_novelty.py).
AMPLITUDE_KIND = "measure_amp"
#: The kinds computed from the measurement ranges (bundled when the card's score uses one).
MEASURE_KINDS = (MEASURE_KIND, AMPLITUDE_KIND)
#: The kinds that are not restoration errors: everything but the network's own (VCG_KINDS:
#: the median beat's spatial QRS-T angle and T-wave complexity, model/vcg.py).
NOT_NETWORK_KINDS = (BANK_KIND, *MEASURE_KINDS, *VCG_KINDS)
#: The kinds that need the normal-beat bank: its distance, and VCG_KINDS, made from the median
#: beats computed for it (so only when a bank is bundled).
BANK_KINDS = (BANK_KIND, *VCG_KINDS)
#: The kinds the shipped score is chosen among (model/fold9.py): all but :data:`QRS_KINDS`.
SHIPPED_CANDIDATES = tuple(k for k in SCORE_KINDS if k not in QRS_KINDS)


def _ensemble_value(value: float, log: bool) -> float:
    return float(np.log(max(value, 1e-6))) if log else float(value)


def ensemble_score(components: dict[str, float], spec: dict[str, Any]) -> float:
    """Weighted sum of z-scores of several components, z against the selection normals.

    A component that is missing or not finite for this record (the beat bank when no R peak
    was found) is left out and the others are scaled up to the full weight, so the score stays
    on the same scale; NaN only when none is available.
    """
    weights = spec.get("weight") or [1.0] * len(spec["components"])
    parts = ensemble_parts(components, spec)
    used = sum(w for name, w in zip(spec["components"], weights) if name in parts)
    if not used:
        return float("nan")
    return sum(parts.values()) * sum(weights) / used + hinge_sum(components, spec.get("hinge"))


def ensemble_parts(components: dict[str, float], spec: dict[str, Any]) -> dict[str, float]:
    """Each component's weighted z-score in :func:`ensemble_score` (before the rescaling for
    missing components): what makes an ECG unusual as a whole when no local finding says
    where (a complete AV block with a QT of 660 ms read "Unusual 99.6 %", no findings)."""
    weights = spec.get("weight") or [1.0] * len(spec["components"])
    out: dict[str, float] = {}
    for name, log, mean, std, w in zip(
        spec["components"], spec["log"], spec["mean"], spec["std"], weights
    ):
        value = components.get(name, float("nan"))
        if np.isfinite(value):
            out[name] = float(w * (_ensemble_value(value, log) - mean) / std)
    return out


def hinge_sum(components: dict[str, float], hinge: dict[str, Any] | None) -> float:
    """The score's hinge parts (model/local_events.py): each component's log beyond its
    threshold (a percentile of the selection normals), in SDs of their log, times its weight;
    0 for a component that is missing or not finite."""
    if not hinge:
        return 0.0
    total = 0.0
    for name, threshold, scale, w in zip(
        hinge["components"], hinge["threshold"], hinge["scale"], hinge["weight"]
    ):
        value = components.get(name, float("nan"))
        if np.isfinite(value):
            total += w * max(0.0, (_ensemble_value(value, True) - threshold) / scale)
    return total


def fit_hinges(
    columns: dict[str, np.ndarray], normal: np.ndarray, weight: float, percentile: float
) -> dict[str, Any]:
    """Hinge parameters of ``columns`` (positive features) against the rows marked ``normal``:
    threshold at their ``percentile`` of log values, scale their SD of log values."""
    hinge: dict[str, Any] = {"components": [], "threshold": [], "scale": [], "weight": []}
    for name, values in columns.items():
        v = np.log(np.maximum(values, 1e-6))
        ref = v[normal & np.isfinite(v)]
        hinge["components"].append(name)
        hinge["threshold"].append(float(np.percentile(ref, percentile)))
        hinge["scale"].append(float(ref.std() or 1.0))
        hinge["weight"].append(float(weight))
    hinge["percentile"] = float(percentile)
    return hinge


def fit_ensemble(
    columns: dict[str, np.ndarray], normal: np.ndarray, weights: dict[str, float] | None = None
) -> dict[str, Any]:
    """z-score parameters of ``columns`` against the rows marked ``normal`` (+ their weights)."""
    spec: dict[str, Any] = {"components": [], "log": [], "mean": [], "std": [], "weight": []}
    for name, values in columns.items():
        spec["weight"].append(float((weights or {}).get(name, 1.0)))
        log = bool(np.nanmin(values) > 0)
        v = np.log(np.maximum(values, 1e-6)) if log else values
        ref = v[normal & np.isfinite(v)]
        spec["components"].append(name)
        spec["log"].append(log)
        spec["mean"].append(float(ref.mean()))
        spec["std"].append(float(ref.std() or 1.0))
    return spec


def map_variant(kind: str) -> str:
    """The map variant ("w", "mse_all", ...) that goes with a score kind."""
    if is_map_kind(kind):
        parts = kind.split("_")
        return "_".join(parts[1:3]) if len(parts) > 2 and parts[2] == "all" else parts[1]
    return "mse_all" if kind == "trend_all" else "mse"


def is_map_kind(kind: str) -> bool:
    """Whether a score kind is made from a combined map variant (:func:`score_components`'s
    ``global_``/``beat_``/``combined_`` kinds); the others (the bank's, the measurements',
    the trend, the QRS windows) need none, whatever :func:`map_variant` pairs them with."""
    parts = kind.split("_")
    return parts[0] in ("combined", "global", "beat") and len(parts) > 1 and parts[1] in VARIANTS


def error_variant(sq: np.ndarray, v: np.ndarray, variant: str) -> np.ndarray:
    """Turn squared errors and log-variances into one of the :data:`VARIANTS`."""
    if variant == "mse":
        return sq
    weighted = sq * np.exp(-v)
    return weighted + v if variant == "nll" else weighted


def qrs_window_components(
    st: dict[str, np.ndarray], n_model: int, cfg: ModelConfig, r_peaks: np.ndarray
) -> dict[str, float]:
    """:data:`QRS_KINDS`: the global restoration NLL (masked passes; all-pass) averaged over
    :data:`QRS_WINDOW_S` around each R peak, beat by beat, then over beats and leads. Why:
    the whole-strip mean dilutes a QRS that the network cannot restore with the long stretches
    it restores well (PR, ST, TP segments). A record without a complete window takes the
    whole-strip mean."""
    a, b = (int(round(t * cfg.fs)) for t in QRS_WINDOW_S)
    r = np.asarray(r_peaks, np.int64)
    r = r[(r + a >= 0) & (r + b <= n_model)]
    out = {}
    for kind, prefix in zip(QRS_KINDS, ("", "all_")):
        if f"{prefix}global_sq" not in st:
            continue
        nll = error_variant(st[f"{prefix}global_sq"], st[f"{prefix}global_v"], "nll")
        nll = nll[:, :n_model].astype(np.float64)
        if r.size == 0:
            out[kind] = float(nll.mean())
            continue
        windows = nll[:, r[:, None] + np.arange(a, b)]  # (leads, beats, samples)
        out[kind] = float(windows.mean(axis=2).mean())
    return out


def score_components(
    st: dict[str, np.ndarray],
    n_model: int,
    cfg: ModelConfig,
    wanted: set[str] | None = None,
    summaries: bool = True,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Record-level components of every score kind, and the combined maps they come from.

    ``st``: stitched maps (model.map_back.stitch); ``n_model``: samples before padding;
    ``wanted``: the map variants to build ("w", "mse_all", ...; each costs ~0.5 ms per ECG),
    None for all (model selection); ``summaries``: also each map's 99th percentile
    (``map_p99_*``) and :data:`MAP_SUMMARY_KINDS` (~0.3 ms per ECG). Returns
    ``(components, combined maps by variant)``.
    """
    valid = slice(0, n_model)
    sigma = cfg.map_sigma * cfg.fs
    has_beats = bool(np.isfinite(st["beat_sq"]).any())
    components: dict[str, float] = {}
    combined_maps: dict[str, np.ndarray] = {}
    for scope, prefix in (("", ""), ("_all", "all_")):
        trend = st[f"{prefix}trend_sq"]
        components[f"trend{scope}"] = float(trend[:, valid].mean())
        for variant in VARIANTS:
            if wanted is not None and f"{variant}{scope}" not in wanted:
                continue
            glob = error_variant(st[f"{prefix}global_sq"], st[f"{prefix}global_v"], variant)
            beat = error_variant(st[f"{prefix}beat_sq"], st[f"{prefix}beat_v"], variant)
            beat_fill = np.where(np.isfinite(beat), beat, glob)
            combined = gaussian_filter1d(glob + trend + beat_fill, sigma, axis=-1, mode="nearest")
            combined_maps[f"{variant}{scope}"] = combined
            g_mean = float(glob[:, valid].mean())
            components[f"global_{variant}{scope}"] = g_mean
            components[f"beat_{variant}{scope}"] = (
                float(np.nanmean(beat[:, valid])) if has_beats else g_mean
            )
            components[f"combined_{variant}{scope}"] = float(combined[:, valid].mean())
            if summaries:
                shown = (
                    np.maximum(combined[:, valid], 0) if variant == "nll" else combined[:, valid]
                )
                components[f"map_p99_{variant}{scope}"] = float(np.percentile(shown, 99))
    if summaries and "w" in combined_maps:
        comb_w = combined_maps["w"][:, valid]
        components["combined_w_p95"] = float(np.percentile(comb_w, 95))
        components["combined_w_toplead"] = float(np.sort(comb_w.mean(axis=1))[-3:].mean())
    return components, combined_maps
