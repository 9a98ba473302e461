"""Detector: load the weights once, score many ECGs of any rate, length and lead order.

All mask patterns and all beats of an ECG go through the network in ONE batched call (the
reference makes about 30 sequential calls at batch size 1), and many ECGs share a batch in
:meth:`Detector.score_many`. Results are mapped back to the record's own samples and units.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ecgviewer.errors import ECGError, ModelError, ScoringCancelled
from ecgviewer.paths import resource
from ecgviewer.record import Record
from ecgviewer.result import Finding
from ecgviewer.signal.quality import SignalQuality, assess_record, work_rate
from model import findings as findings_mod
from model.beat_bank import NO_BEAT_DISTANCE, BeatBank
from model.config import ModelConfig
from model.expected import expected_trace
from model.masking import beat_patterns, global_patterns
from model.measure_novelty import MeasurementNovelty
from model.preprocess import Prepared, Window, prepare, to_input_rate
from model.threads import one_blas_thread

log = logging.getLogger(__name__)

#: What a record gets instead of a score when the model's output is NaN or infinite.
NON_FINITE_SCORE = (
    "the model gave a non-finite score (NaN) for this ECG, so it is not scored; "
    "the model may be damaged"
)
DEFAULT_WEIGHTS = "model/weights.pt"
DEFAULT_CARD = "model/model_card.json"
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
) + ("trend", "trend_all", "combined_w_p95", "combined_w_toplead", "beat_knn", "measure_mahal")
#: Not a restoration error: the normal-beat bank's distance (model/beat_bank.py).
BANK_KIND = "beat_knn"
#: Not a restoration error: how far the ECG's measurements lie from normal ECGs'
#: (model/measure_novelty.py).
MEASURE_KIND = "measure_mahal"


@dataclass
class ScoreResult:
    """What the viewer and the worklist need about one scored ECG (DESIGN.md, Detector API)."""

    score: float
    percentile: float | None
    lead_scores: dict[str, float]
    beats: list[tuple[float, float, float, dict[str, float]]]
    anomaly_map: np.ndarray  # (n_leads, n_samples) aligned to record.signal
    restored: np.ndarray  # (n_leads, n_samples) mV, aligned to record.signal
    flags: set[str]
    model: dict[str, str]
    components: dict[str, float] = field(default_factory=dict)
    map_reference: float | None = None  # heat band full scale (twice the calibrated threshold)
    quality: SignalQuality | None = None  # per-lead signal quality, measured before scoring
    #: calibrated regions beyond what normal ECGs show, most unusual first (model/findings.py)
    findings: list[Finding] = field(default_factory=list)
    #: what the heat band draws: 1 = the calibrated finding threshold (None without calibration)
    finding_map: np.ndarray | None = None
    #: the raw per-lead/per-beat values findings come from (for calibration; not summarised)
    evidence: findings_mod.Evidence | None = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        """JSON-able summary (score cache, CSV export) without the per-sample arrays."""
        out = {
            "score": self.score,
            "percentile": self.percentile,
            "lead_scores": self.lead_scores,
            "beats": [[a, b, s, ls] for a, b, s, ls in self.beats],
            "flags": sorted(self.flags),
            "model": self.model,
            "components": self.components,
            "findings": [f.to_json() for f in self.findings],
        }
        if self.quality is not None and not self.quality.ok:
            out["quality"] = self.quality.compact()
        return out


@dataclass
class WindowMaps:
    """Per-window squared restoration errors at the model rate (normalised units).

    Each sample's error comes from the pass in which it was masked.
    """

    global_sq: np.ndarray  # (12, L)
    global_v: np.ndarray  # (1, L) predicted log-variance
    trend_sq: np.ndarray  # (12, L)
    beat_sq: np.ndarray  # (12, L) mean over covering beats, NaN where no beat covers
    beat_v: np.ndarray  # (1, L) likewise
    restored: np.ndarray  # (12, L) normalised restoration of each sample from its masked pass
    all_sq: dict[str, np.ndarray] = field(
        default_factory=dict
    )  # same, every sample, mean of passes
    pred_age: float = float("nan")  # the patient head's age estimate (years), mean of passes


def _ensemble_value(value: float, log: bool) -> float:
    return float(np.log(max(value, 1e-6))) if log else float(value)


def ensemble_score(components: dict[str, float], spec: dict[str, Any]) -> float:
    """Weighted sum of z-scores of several components, z against the selection normals.

    A component that is missing or not finite for this record (the beat bank when no R peak
    was found) is left out and the others are scaled up to the full weight, so the score stays
    on the same scale; NaN only when none is available.
    """
    weights = spec.get("weight") or [1.0] * len(spec["components"])
    total = used = 0.0
    for name, log, mean, std, w in zip(
        spec["components"], spec["log"], spec["mean"], spec["std"], weights
    ):
        value = components.get(name, float("nan"))
        if not np.isfinite(value):
            continue
        total += w * (_ensemble_value(value, log) - mean) / std
        used += w
    return total * sum(weights) / used if used else float("nan")


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
    parts = kind.split("_")
    if parts[0] in ("combined", "global", "beat") and len(parts) > 1 and parts[1] in VARIANTS:
        return "_".join(parts[1:3]) if len(parts) > 2 and parts[2] == "all" else parts[1]
    return "mse_all" if kind == "trend_all" else "mse"


def error_variant(sq: np.ndarray, v: np.ndarray, variant: str) -> np.ndarray:
    """Turn squared errors and log-variances into one of the :data:`VARIANTS`."""
    if variant == "mse":
        return sq
    weighted = sq * np.exp(-v)
    return weighted + v if variant == "nll" else weighted


def sha256_of(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _verified_card(weights_path: Path, card_path: Path) -> dict[str, Any]:
    """The model card, after checking that it names these exact weights (sha256).

    Weights without a card, or a card without a hash, cannot be verified and are refused: a
    tampered file must not score patients' ECGs because its card was deleted along with it.
    """
    if not card_path.is_file():
        raise ModelError(
            weights_path,
            f"no model card ({card_path.name}) beside the weights: their sha256 "
            "cannot be checked, so they are not loaded (export weights with `python -m model.card`)",
        )
    try:
        card_data = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(card_path, f"model card unreadable: {exc}") from exc
    if not isinstance(card_data, dict):
        raise ModelError(card_path, "model card unreadable: not a JSON object")
    expected = card_data.get("weights_sha256")
    if not isinstance(expected, str) or not expected.strip():
        raise ModelError(
            card_path,
            "the model card has no weights_sha256: the weights cannot be verified, "
            "so they are not loaded",
        )
    actual = sha256_of(weights_path)
    if expected.strip().lower() != actual:
        raise ModelError(
            weights_path,
            f"weights do not match the model card (sha256 {actual[:12]}..., card says "
            f"{expected[:12]}...): the file was modified or replaced",
        )
    try:
        quantiles = np.asarray(
            (card_data.get("calibration") or {}).get("normal_score_quantiles", []), dtype=np.float64
        )
    except (TypeError, ValueError, AttributeError):
        quantiles = np.array([np.nan])
    if not np.isfinite(quantiles).all():
        raise ModelError(card_path, "the model card's calibration holds NaN or infinite values")
    return card_data


def pick_device(device: str = "auto") -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelError(None, "a GPU was requested but CUDA is not available; use CPU")
    return device


def forward_windows(
    net: Any, windows: Sequence[Window], cfg: ModelConfig, device: str, autocast: str | None = None
) -> list[WindowMaps]:
    """Restore every window under every complementary mask pattern in one network call.

    On a GPU the inputs go through pinned memory with non-blocking copies; ``autocast``
    ("bf16"/"fp16", GPU only) runs the network in mixed precision (errors summed in fp32).
    """
    import contextlib
    import dataclasses

    import torch

    from model.network import trend_view

    n_w, n_p, n_leads = len(windows), cfg.n_patterns * max(1, cfg.score_repeats), cfg.n_leads
    length, blen, pre = cfg.global_len, cfg.beat_len, cfg.beat_pre
    repeats = max(1, cfg.score_repeats)
    g_pat = global_patterns(cfg, repeats)  # (R*P, L): every sample hidden once per repeat
    b_pat = beat_patterns(cfg, repeats)  # (R*P, Lb)
    k = max(1, max(len(w.beats) for w in windows))
    x = np.stack([w.signal for w in windows])  # (W, 12, L)
    beats = np.zeros((n_w, k, n_leads, blen), np.float32)
    valid = np.zeros((n_w, k), bool)
    for i, w in enumerate(windows):
        for j, r in enumerate(w.beats):
            beats[i, j] = w.signal[:, r - pre : r - pre + blen]
            valid[i, j] = True
    cuda = str(device).startswith("cuda")

    def upload(a: np.ndarray) -> Any:
        t = torch.from_numpy(a)
        return t.pin_memory().to(device, non_blocking=True) if cuda else t.to(device)

    mixed = (
        torch.autocast("cuda", dtype=torch.bfloat16 if autocast == "bf16" else torch.float16)
        if cuda and autocast
        else contextlib.nullcontext()
    )
    with torch.inference_mode():
        xt = upload(x)
        bt = upload(beats)
        gp = torch.from_numpy(g_pat).to(device)
        bp = torch.from_numpy(b_pat).to(device)
        x_in = (xt[:, None] * ~gp[None, :, None, :]).reshape(n_w * n_p, n_leads, length)
        b_in = (bt[:, None] * ~bp[None, :, None, None, :]).reshape(n_w * n_p, k, n_leads, blen)
        v_in = torch.from_numpy(valid).to(device).repeat_interleave(n_p, dim=0)
        with mixed:
            out = net(x_in, b_in, v_in, trend_view(x_in, cfg))
        if autocast:
            out = dataclasses.replace(
                out, **{f.name: getattr(out, f.name).float() for f in dataclasses.fields(out)}
            )
        og = out.global_signal.reshape(n_w, n_p, n_leads, length)
        vg = out.global_logvar.clamp(-10, 10).reshape(n_w, n_p, 1, length)
        ot = out.trend_signal.reshape(n_w, n_p, n_leads, length)
        ob = out.beat_signal.reshape(n_w, n_p, k, n_leads, blen)
        vb = out.beat_logvar.clamp(-10, 10).reshape(n_w, n_p, k, 1, blen)
        sel = gp[None, :, None, :].to(og.dtype) / repeats
        global_sq = ((og - xt[:, None]) ** 2 * sel).sum(1)
        global_v = (vg * sel[:, :, :1]).sum(1)
        trend_sq = ((ot - xt[:, None]) ** 2 * sel).sum(1)
        restored = (og * sel).sum(1)
        bsel = bp[None, :, None, None, :].to(ob.dtype) / repeats
        beat_sq = ((ob - bt[:, None]) ** 2 * bsel).sum(1)  # (W, K, 12, Lb)
        beat_v = (vb * bsel[..., :1, :]).sum(1)  # (W, K, 1, Lb)
        pred_age = (out.age.reshape(n_w, n_p).mean(1) * 100).float().cpu().numpy()
        g_all = ((og - xt[:, None]) ** 2).mean(1)
        gv_all = vg.mean(1)
        t_all = ((ot - xt[:, None]) ** 2).mean(1)
        b_all = ((ob - bt[:, None]) ** 2).mean(1)
        bv_all = vb.mean(1)
        global_sq, global_v, trend_sq, restored, beat_sq, beat_v = (
            t.float().cpu().numpy()
            for t in (global_sq, global_v, trend_sq, restored, beat_sq, beat_v)
        )
        g_all, gv_all, t_all, b_all, bv_all = (
            t.float().cpu().numpy() for t in (g_all, gv_all, t_all, b_all, bv_all)
        )
    maps = []
    for i, w in enumerate(windows):
        acc = np.zeros((2 * n_leads + 2, length), np.float32)
        cnt = np.zeros(length, np.float32)
        for j, r in enumerate(w.beats):
            sl = slice(r - pre, r - pre + blen)
            acc[:n_leads, sl] += beat_sq[i, j]
            acc[n_leads, sl] += beat_v[i, j, 0]
            acc[n_leads + 1 : 2 * n_leads + 1, sl] += b_all[i, j]
            acc[2 * n_leads + 1, sl] += bv_all[i, j, 0]
            cnt[sl] += 1
        with np.errstate(invalid="ignore", divide="ignore"):
            local = np.where(cnt > 0, acc / cnt, np.nan).astype(np.float32)
        maps.append(
            WindowMaps(
                global_sq[i],
                global_v[i],
                trend_sq[i],
                local[:n_leads],
                local[n_leads : n_leads + 1],
                restored[i],
                all_sq={
                    "global_sq": g_all[i],
                    "global_v": gv_all[i],
                    "trend_sq": t_all[i],
                    "beat_sq": local[n_leads + 1 : 2 * n_leads + 1],
                    "beat_v": local[2 * n_leads + 1 :],
                },
                pred_age=float(pred_age[i]),
            )
        )
    return maps


def _stitch(prepared: Prepared, maps: list[WindowMaps], cfg: ModelConfig) -> dict[str, np.ndarray]:
    """Average overlapping windows onto the record's model-rate timeline."""
    n = prepared.filtered.shape[1]
    base = ("global_sq", "global_v", "trend_sq", "beat_sq", "beat_v")
    names = base + ("restored_mv",) + tuple(f"all_{name}" for name in base)
    sums: dict[str, np.ndarray] = {}
    counts = {name: np.zeros(n, np.float64) for name in names}
    length = cfg.global_len
    for w, m in zip(prepared.windows, maps):
        sl = slice(w.start, w.start + length)
        values = {
            "global_sq": m.global_sq,
            "global_v": m.global_v,
            "trend_sq": m.trend_sq,
            "beat_sq": m.beat_sq,
            "beat_v": m.beat_v,
            "restored_mv": m.restored * w.half[:, None] + w.centre[:, None],
            **{f"all_{name}": value for name, value in m.all_sq.items()},
        }
        for name, value in values.items():
            if name not in sums:
                sums[name] = np.zeros((value.shape[0], n), np.float64)
            sums[name][:, sl] += np.where(np.isfinite(value), value, 0)
            counts[name][sl] += np.isfinite(value[0])
    out = {}
    for name in names:
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = (sums[name] / counts[name]).astype(np.float32)
    # Samples outside every window (a few edge samples of a 10 s ECG) take the nearest value.
    for name in (
        "global_sq",
        "global_v",
        "trend_sq",
        "restored_mv",
        "all_global_sq",
        "all_global_v",
        "all_trend_sq",
    ):
        arr = out[name]
        covered = np.flatnonzero(counts[name] > 0)
        if len(covered) and len(covered) < n:
            idx = np.clip(np.searchsorted(covered, np.arange(n)), 0, len(covered) - 1)
            arr[:] = arr[:, covered[idx]]
    return out


class Detector:
    """The anomaly model, loaded once. See DESIGN.md "Detector API"."""

    def __init__(
        self,
        net: Any,
        cfg: ModelConfig,
        card: dict[str, Any],
        device: str = "cpu",
        all_components: bool = False,
        bank: BeatBank | None = None,
        measure_model: MeasurementNovelty | None = None,
    ) -> None:
        self.net = net.eval().to(device)
        self.cfg = cfg
        self.card = card
        self.bank = bank
        self.measure_model = measure_model
        self.device = device
        #: mixed precision on a GPU ("bf16"/"fp16"; None: fp32); see forward_windows
        self.autocast: str | None = None
        #: check the records' signal quality in a second thread while the network runs (the
        #: check is numpy/scipy work that leaves the GIL; on one core there is nothing to gain)
        self.quality_beside_network = (os.cpu_count() or 1) > 1
        cal = card.get("calibration", {})
        self._normal_quantiles = np.asarray(cal.get("normal_score_quantiles", []), np.float64)
        self.score_kind = card.get("score_kind", "combined_w")
        if self.score_kind not in SCORE_KINDS and not (
            self.score_kind == "ensemble" and card.get("score_ensemble")
        ):
            raise ModelError(
                None, f"the model card names an unknown score kind {self.score_kind!r}"
            )
        self.map_reference = cal.get("map_reference")
        # Findings and the heat band's default threshold, calibrated on the selection half's
        # normals (python -m model.calibrate_findings): the band's full scale is twice the
        # calibrated map threshold, so the viewer's default 50 % threshold is that threshold.
        self.findings_cal = card.get("findings_calibration")
        if self.findings_cal and self.findings_cal.get("map_threshold"):
            self.map_reference = 2.0 * float(self.findings_cal["map_threshold"])
        self.ensemble = card.get("score_ensemble")
        # Only the map variants the score needs are built (each costs ~1 ms per ECG), unless
        # every component is wanted (model selection).
        self.all_components = all_components
        kinds = [self.score_kind] + list((self.ensemble or {}).get("components", []))
        self.needed_variants = {map_variant(kind) for kind in kinds}
        if BANK_KIND in kinds and bank is None:
            raise ModelError(
                None, "the model card's score needs the normal-beat bank, which the weights lack"
            )
        if MEASURE_KIND in kinds and measure_model is None:
            raise ModelError(
                None,
                "the model card's score needs the normal measurement ranges, which the weights lack",
            )
        self._kinds = kinds
        # The map shown is that of the score kind (of an ensemble: its first restoration part).
        self.map_kind = next(
            (k for k in kinds[1 if self.ensemble else 0 :] if k not in (BANK_KIND, MEASURE_KIND)),
            "combined_mse",
        )
        # Per-lead calibration: each lead's map divided by that lead's typical level in
        # normal ECGs (relative to the mean over leads), so one naturally noisier lead does not
        # head every findings list.
        lead_ref = cal.get("lead_reference") or {}
        ref = np.array([float(lead_ref.get(name, 1.0)) for name in cfg.leads])
        self.lead_factor = (ref.mean() / np.maximum(ref, 1e-9)).astype(np.float32)
        self.model_info = {
            "name": str(card.get("name", "ecg-cross-restoration")),
            "version": str(card.get("version", "untrained")),
            "sha256": str(card.get("weights_sha256", "")),
        }

    @property
    def wants_measurements(self) -> bool:
        """Measurement features are prepared only when a score uses them (~10 ms per ECG)."""
        return self.measure_model is not None and (
            self.all_components or MEASURE_KIND in self._kinds
        )

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(
        cls,
        weights: str | os.PathLike[str] | None = None,
        device: str = "auto",
        card: str | os.PathLike[str] | None = None,
    ) -> Detector:
        """Load weights (bundled by default), checking their sha256 against the model card."""
        import torch

        from model.network import CrossRestorationNet

        weights_path = Path(weights) if weights else resource(DEFAULT_WEIGHTS)
        card_path = Path(card) if card else weights_path.with_name("model_card.json")
        if not weights_path.is_file():
            raise ModelError(weights_path, "model weights not found")
        card_data = _verified_card(weights_path, card_path)
        try:
            blob = torch.load(weights_path, map_location="cpu", weights_only=True)
            cfg = ModelConfig.from_dict(blob["config"])
            net = CrossRestorationNet(cfg)
            state = {
                k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()
            }
            net.load_state_dict(state)
            bank = BeatBank.from_state(blob["beat_bank"]) if "beat_bank" in blob else None
            measure_model = (
                MeasurementNovelty.from_state(blob["measure_novelty"])
                if "measure_novelty" in blob
                else None
            )
        except Exception as exc:  # pickle/zip errors, shape mismatch
            raise ModelError(weights_path, f"weights could not be loaded: {exc}") from exc
        bad = next(
            (k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()),
            None,
        )
        if bad is not None:
            raise ModelError(
                weights_path,
                f"the weights hold NaN or infinite values (in {bad}): "
                "the model is damaged and cannot score",
            )
        for key in ("calibration", "score_kind", "name", "version"):
            if key not in card_data and key in blob.get("meta", {}):
                card_data[key] = blob["meta"][key]
        det = cls(net, cfg, card_data, pick_device(device), bank=bank, measure_model=measure_model)
        det.check_probe(weights_path)
        return det

    def check_probe(self, source: str | os.PathLike[str] | None = None) -> None:
        """Score a built-in synthetic ECG and refuse a model whose outputs are not finite.

        Weights can pass the sha256 check and still be unusable (exported from a diverged run);
        a model that cannot score a clean synthetic ECG must not score patients' ones.
        """
        from ecgviewer.record import STANDARD_LEADS
        from ecgviewer.signal.synthetic import synthetic_ecg

        syn = synthetic_ecg(fs=500.0, duration=10.0, seed=0)
        probe = Record(
            syn.signal.astype(np.float32),
            500.0,
            list(STANDARD_LEADS),
            source="<built-in probe ECG>",
        )
        result = self.score_many([probe])[0]
        if isinstance(result, ECGError):
            raise ModelError(
                source, f"the model cannot score its built-in probe ECG ({result.problem})"
            )
        if not (np.isfinite(result.score) and np.isfinite(result.anomaly_map).all()):
            raise ModelError(
                source,
                "the model gives a non-finite score for its built-in probe ECG: "
                "the weights are damaged; reinstall or re-export them",
            )

    # ------------------------------------------------------------------ scoring
    def percentile_of(self, score: float) -> float | None:
        q = self._normal_quantiles
        if len(q) == 0:
            return None
        return float(100.0 * np.searchsorted(q, score, side="right") / len(q))

    def score(
        self,
        record: Record,
        progress: Callable[[int, int], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> ScoreResult:
        """Score one ECG. Raises ECGError for records the model cannot read."""
        result = self.score_many([record], progress=progress, cancel=cancel)[0]
        if isinstance(result, ECGError):
            raise result
        return result

    def score_many(
        self,
        records: Sequence[Record],
        batch: int = 64,
        progress: Callable[[int, int], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> list[ScoreResult | ECGError]:
        """Score many ECGs, ``batch`` windows per network call.

        A record that cannot be scored comes back as its :class:`ECGError` (not raised), so
        one bad file does not stop a worklist.
        """
        gen = self.iter_score_many(records, batch=batch)
        try:
            while True:
                done, total = next(gen)
                if progress is not None:
                    progress(done, total)
                if cancel is not None and cancel():
                    gen.close()
                    raise ScoringCancelled("scoring cancelled")
        except StopIteration as stop:
            return stop.value

    def preparer(self) -> Callable[[Record], Prepared | ECGError]:
        """The CPU half of scoring as a picklable callable (for worker processes): with it,
        preprocessing and the signal-quality check run beside the network, not before it."""
        return ScoringPreparer(
            self.cfg, median_beats=self.bank is not None, measurements=self.wants_measurements
        )

    def iter_score_many(
        self,
        records: Sequence[Record],
        batch: int = 64,
        prepared: Sequence[Prepared | ECGError] | None = None,
    ) -> Generator[tuple[int, int], None, list[ScoreResult | ECGError]]:
        """Generator form: yields ``(done, total)`` windows after each batch, returns results.

        ``prepared``: what :meth:`preparer` made of each record (e.g. in worker processes);
        the records are prepared here when it is None.
        """
        qualities: Future[list[SignalQuality | ECGError | None]] | None = None
        if prepared is None:
            beside = self.quality_beside_network
            with one_blas_thread():
                prepared = [
                    prepare_for_scoring(
                        r,
                        self.cfg,
                        self.bank is not None,
                        quality=not beside,
                        measurements=self.wants_measurements,
                    )
                    for r in records
                ]
            if beside:
                qualities = _quality_thread().submit(_qualities, records, prepared, self.cfg)
        jobs = [
            (i, j)
            for i, p in enumerate(prepared)
            if isinstance(p, Prepared)
            for j in range(len(p.windows))
        ]
        maps: dict[tuple[int, int], WindowMaps] = {}
        total = len(jobs)
        yield 0, total
        for a in range(0, total, batch):
            chunk = jobs[a : a + batch]
            windows = [prepared[i].windows[j] for i, j in chunk]  # type: ignore[union-attr]
            for key, m in zip(
                chunk,
                forward_windows(self.net, windows, self.cfg, self.device, autocast=self.autocast),
            ):
                maps[key] = m
            yield min(a + batch, total), total
        results: list[ScoreResult | ECGError] = []
        measured = qualities.result() if qualities is not None else None
        with one_blas_thread():
            for i, (record, p) in enumerate(zip(records, prepared)):
                if measured is not None and isinstance(p, Prepared):
                    quality = measured[i]
                    if isinstance(quality, ECGError):
                        p = quality
                    else:
                        p.quality = quality
                if isinstance(p, ECGError):
                    results.append(p)
                    continue
                window_maps = [maps[(i, j)] for j in range(len(p.windows))]
                result = self._finish(record, p, window_maps)
                if not np.isfinite(result.score):  # never shown as a (normal-looking) number
                    results.append(ModelError(record.source, NON_FINITE_SCORE))
                    continue
                results.append(result)
        return results

    def _finish(self, record: Record, p: Prepared, window_maps: list[WindowMaps]) -> ScoreResult:
        cfg = self.cfg
        st = _stitch(p, window_maps, cfg)
        valid = slice(0, p.n_model)
        sigma = cfg.map_sigma * cfg.fs
        has_beats = bool(np.isfinite(st["beat_sq"]).any())
        components: dict[str, float] = {}
        combined_maps: dict[str, np.ndarray] = {}
        for scope, prefix in (("", ""), ("_all", "all_")):
            trend = st[f"{prefix}trend_sq"]
            components[f"trend{scope}"] = float(trend[:, valid].mean())
            for variant in VARIANTS:
                if not self.all_components and f"{variant}{scope}" not in self.needed_variants:
                    continue
                glob = error_variant(st[f"{prefix}global_sq"], st[f"{prefix}global_v"], variant)
                beat = error_variant(st[f"{prefix}beat_sq"], st[f"{prefix}beat_v"], variant)
                beat_fill = np.where(np.isfinite(beat), beat, glob)
                combined = gaussian_filter1d(
                    glob + trend + beat_fill, sigma, axis=-1, mode="nearest"
                )
                combined_maps[f"{variant}{scope}"] = combined
                g_mean = float(glob[:, valid].mean())
                components[f"global_{variant}{scope}"] = g_mean
                components[f"beat_{variant}{scope}"] = (
                    float(np.nanmean(beat[:, valid])) if has_beats else g_mean
                )
                components[f"combined_{variant}{scope}"] = float(combined[:, valid].mean())
                shown = (
                    np.maximum(combined[:, valid], 0) if variant == "nll" else combined[:, valid]
                )
                components[f"map_p99_{variant}{scope}"] = float(np.percentile(shown, 99))
        # "ECG age": how old the heart looks to the patient head; older than the patient's own
        # age is a known marker of disease (used only where the age is known).
        pred_age = float(np.mean([m.pred_age for m in window_maps]))
        components["pred_age"] = pred_age
        age = record.patient.age
        components["age_gap"] = pred_age - age if age is not None else 0.0
        if "w" in combined_maps:
            comb_w = combined_maps["w"][:, valid]
            components["combined_w_p95"] = float(np.percentile(comb_w, 95))
            components["combined_w_toplead"] = float(np.sort(comb_w.mean(axis=1))[-3:].mean())
        lead_distances = templates = None
        if self.bank is not None and p.median_beats is not None:
            distances, lead_distances, templates = self.bank.compare(p.median_beats)
            components[BANK_KIND] = float(
                np.where(np.isnan(distances), NO_BEAT_DISTANCE, distances).mean()
            )
        if self.measure_model is not None and p.measure_features is not None:
            components[MEASURE_KIND] = float(self.measure_model.score(p.measure_features))
        win_starts = [w.start for w in p.windows]
        evidence = findings_mod.evidence(
            st, p.r_peaks, p.n_model, cfg, lead_distances, p.bank_band, templates, win_starts
        )
        if self.ensemble:
            components["ensemble"] = ensemble_score(components, self.ensemble)
        score = components[self.score_kind]
        # The map shown and used for localisation is of the chosen kind's variant; NLL maps
        # are clipped at 0 (negative = more certain than usual, nothing to show).
        variant = map_variant(self.map_kind)
        combined = combined_maps[variant]
        if variant.startswith("nll"):
            combined = np.maximum(combined, 0)
        combined = combined * self.lead_factor[:, None]
        comb = combined[:, valid]
        lead_means = comb.mean(axis=1)
        if self.findings_cal:
            lead_means = findings_mod.lead_scores(evidence, self.findings_cal)
        # The expected-normal trace: the bank's normal beat at each beat when a bank is bundled
        # (model/expected.py), else the network's restoration of each masked sample.
        trace = None
        if templates is not None and p.slow is not None:
            trace = expected_trace(templates, p.r_peaks, win_starts, p.filtered.shape[1], cfg)
        restored_mv = trace + p.slow if trace is not None else st["restored_mv"] + p.baseline
        finding_map = None
        if self.findings_cal:
            # Where the beat departs from the expected normal beat, or is hard to restore.
            profile = combined[:, valid] / np.maximum(
                np.median(combined[:, valid], axis=1, keepdims=True), 1e-9
            )
            if trace is not None and p.bank_band is not None:
                dev = gaussian_filter1d(np.abs(p.bank_band - trace)[:, valid], sigma, axis=-1)
                profile = np.maximum(
                    profile, dev / np.maximum(np.median(dev, axis=1, keepdims=True), 1e-9)
                )
            band_model = np.zeros_like(combined)
            band_model[:, valid] = findings_mod.band(evidence, self.findings_cal, profile, cfg.fs)
            finding_map = np.zeros((record.n_leads, p.n_in), np.float32)
            band_in = to_input_rate(band_model, p, cfg)
        # Back to the record's own samples, rows in the record's lead order.
        map_in = to_input_rate(combined, p, cfg)
        restored_in = to_input_rate(restored_mv, p, cfg)
        anomaly_map = np.zeros((record.n_leads, p.n_in), np.float32)
        restored = np.full((record.n_leads, p.n_in), np.nan, np.float32)
        lead_scores: dict[str, float] = {}
        for row, name in enumerate(cfg.leads):
            lead_scores[name] = float(lead_means[row])
            if name in record.leads:
                idx = record.leads.index(name)
                anomaly_map[idx] = map_in[row]
                restored[idx] = restored_in[row]
                if finding_map is not None:
                    finding_map[idx] = band_in[row]
        beats = []
        post = cfg.beat_len - cfg.beat_pre
        starts = np.maximum(0, p.r_peaks - cfg.beat_pre)
        ends = np.minimum(p.n_model, p.r_peaks + post)
        keep = ends - starts >= cfg.beat_len // 2
        starts, ends = starts[keep], ends[keep]
        # Per-beat, per-lead means of the map from one cumulative sum (not a loop of means).
        csum = np.concatenate(
            [np.zeros((comb.shape[0], 1)), np.cumsum(comb, axis=1, dtype=np.float64)], axis=1
        )
        beat_lead_means = (csum[:, ends] - csum[:, starts]) / (ends - starts)  # (12, n_beats)
        for j, (a, b) in enumerate(zip(starts.tolist(), ends.tolist())):
            per_lead = beat_lead_means[:, j].tolist()
            beats.append(
                (
                    a / cfg.fs,
                    b / cfg.fs,
                    float(np.mean(per_lead)),
                    dict(zip(cfg.leads, per_lead)),
                )
            )
        result = ScoreResult(
            score=float(score),
            percentile=self.percentile_of(score),
            lead_scores=lead_scores,
            beats=beats,
            anomaly_map=anomaly_map,
            restored=restored,
            flags=set(p.flags),
            model=dict(self.model_info),
            components=components,
            map_reference=self.map_reference,
            findings=findings_mod.findings(evidence, self.findings_cal, cfg.leads)
            if self.findings_cal
            else [],
            finding_map=finding_map,
            evidence=evidence,
        )
        return with_quality(
            result, record, p.quality if p.quality is not None else quality_of(record, p, cfg)
        )


def prepare_for_scoring(
    record: Record,
    cfg: ModelConfig,
    median_beats: bool,
    quality: bool = True,
    measurements: bool = False,
) -> Prepared | ECGError:
    """:func:`prepare` plus (``quality``) the signal-quality check; an ECGError is returned."""
    try:
        p = prepare(record, cfg, median_beats=median_beats, measurements=measurements)
        if quality:
            p.quality = quality_of(record, p, cfg)
        return p
    except ECGError as exc:
        return exc


@lru_cache(maxsize=1)
def _quality_thread() -> ThreadPoolExecutor:
    """One thread for the signal-quality checks of :meth:`Detector.iter_score_many`."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="ecg-quality")


def _qualities(
    records: Sequence[Record], prepared: Sequence[Prepared | ECGError], cfg: ModelConfig
) -> list[SignalQuality | ECGError | None]:
    """The quality of every prepared record (None for the records that failed already)."""
    out: list[SignalQuality | ECGError | None] = []
    for record, p in zip(records, prepared):
        try:
            out.append(quality_of(record, p, cfg) if isinstance(p, Prepared) else None)
        except ECGError as exc:
            out.append(exc)
    return out


def quality_of(record: Record, p: Prepared, cfg: ModelConfig) -> SignalQuality:
    """The record's signal quality, reusing what preprocessing computed: the leads resampled
    to the model rate and the R peaks, when the quality check works at that same rate (the
    same flags and measures as :func:`assess_record` alone; tests/model/test_infer_quality.py).
    Drops ``p.at_model_rate`` afterwards (not needed past this point, not worth pickling)."""
    at_rate, peaks = None, None
    if abs(work_rate(record.fs) - cfg.fs) < 1e-6 and p.at_model_rate is not None:
        if "derived_limb_leads" not in p.flags:  # derived records hold float32 copies
            at_rate = dict(zip(cfg.leads, p.at_model_rate))
        if p.padded == 0:  # peaks of the edge-padded signal may differ near its end
            peaks = p.r_peaks
    p.at_model_rate = None
    return assess_record(record, at_work_rate=at_rate, peaks=peaks)


@dataclass
class ScoringPreparer:
    """Picklable :func:`prepare_for_scoring` for one model configuration."""

    cfg: ModelConfig
    median_beats: bool
    measurements: bool = False

    def __call__(self, record: Record) -> Prepared | ECGError:
        with one_blas_thread():
            return prepare_for_scoring(
                record, self.cfg, self.median_beats, measurements=self.measurements
            )


def with_quality(result: ScoreResult, record: Record, quality: SignalQuality) -> ScoreResult:
    """Attach the signal quality; leave leads that are off or clipped out of what is shown.

    The model always sees 12 leads, so its record score and percentile assume them all: with
    an unusable lead the percentile is withheld (kept in ``components`` for the card) and the
    heat band, lead scores and beat scores rest on the remaining leads only.
    """
    result.quality = quality
    result.flags |= quality.flags
    bad = set(quality.unusable)
    if "derived_limb_leads" in result.flags and bad & {"I", "II"}:
        bad |= {"III", "aVR", "aVL", "aVF"}
    if not bad:
        return result
    if result.percentile is not None:
        result.components["percentile_all_leads"] = result.percentile
    result.percentile = None
    for name in bad:
        result.lead_scores.pop(name, None)
        if name in record.leads:
            row = record.leads.index(name)
            result.anomaly_map[row] = 0.0
            result.restored[row] = np.nan
            if result.finding_map is not None:
                result.finding_map[row] = 0.0
    result.findings = [f for f in result.findings if f.lead not in bad]
    beats = []
    for t0, t1, score, per_lead in result.beats:
        kept = {k: v for k, v in per_lead.items() if k not in bad}
        beats.append((t0, t1, float(np.mean(list(kept.values()))) if kept else score, kept))
    result.beats = beats
    return result
