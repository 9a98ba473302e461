"""Detector: load the weights once, score many ECGs of any rate, length and lead order.

The scoring pipeline, one job per module: preprocessing (model/preprocess.py), the signal-
quality check (ecgviewer/signal/quality.py, reusing preprocessing's work), one batched network
call per set of windows (model/restore.py), stitching and mapping back to the record's own
samples and leads (model/map_back.py), score kinds and ensembles (model/score_kinds.py), the
result (model/score_result.py). This module loads and verifies the weights and runs them in
order for many ECGs at once (:meth:`Detector.iter_score_many`). The names that moved out of it
are re-exported here, so ``from model.infer import ...`` keeps working.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ecgviewer.errors import ECGError, ModelError, ScoringCancelled
from ecgviewer.paths import resource
from ecgviewer.record import Record, normalize_lead_name
from ecgviewer.result import Finding
from ecgviewer.signal.quality import (
    NOISY,
    SignalQuality,
    assess_record,
    noisy_spans,
    work_rate,
)
from model import findings as findings_mod
from model.beat_bank import NO_BEAT_DISTANCE, BeatBank
from model.config import ModelConfig
from model.expected import expected_trace
from model.local_map import relative_map
from model.map_back import beat_scores, record_rows, stitch
from model.measure_novelty import MeasurementNovelty
from model.preprocess import (
    Prepared,
    add_baseline,
    add_event_features,
    add_median_beats,
    measurement_features,
    prepare,
)
from model.qrs_pattern import record_median_beat
from model.restore import WindowMaps, forward_windows
from model.score_kinds import (
    AMPLITUDE_KIND,
    BANK_KIND,
    BANK_KINDS,
    MAP_SUMMARY_KINDS,
    MEASURE_KIND,
    MEASURE_KINDS,
    NOT_NETWORK_KINDS,
    QRS_KINDS,
    SCORE_KINDS,
    VARIANTS,
    ensemble_parts,
    ensemble_score,
    error_variant,
    fit_ensemble,
    is_map_kind,
    map_variant,
    qrs_window_components,
    score_components,
)
from model.score_result import ScoreResult, with_quality
from model.shared_work import SharedTask
from model.threads import one_blas_thread
from model.vcg import QRST_ANGLE, vcg_features

__all__ = [
    "AMPLITUDE_KIND",
    "BANK_KIND",
    "MEASURE_KIND",
    "MEASURE_KINDS",
    "DEFAULT_CARD",
    "DEFAULT_WEIGHTS",
    "NON_FINITE_SCORE",
    "SCORE_KINDS",
    "VARIANTS",
    "Detector",
    "ScoreResult",
    "ScoringFinisher",
    "ScoringPreparer",
    "WindowMaps",
    "ensemble_score",
    "error_variant",
    "fit_ensemble",
    "forward_windows",
    "map_variant",
    "pick_device",
    "prepare_for_scoring",
    "quality_of",
    "sha256_of",
    "with_quality",
]

log = logging.getLogger(__name__)

#: What a record gets instead of a score when the model's output is NaN or infinite.
NON_FINITE_SCORE = (
    "the model gave a non-finite score (NaN) for this ECG, so it is not scored; "
    "the model may be damaged"
)
DEFAULT_WEIGHTS = "model/weights.pt"
DEFAULT_CARD = "model/model_card.json"
#: Most windows per network call on a CPU, whatever ``batch`` asks: with the windows sorted by
#: their number of beats (each call pads to its most beats), 8-16 windows per call took ~7.4
#: ms of one core per window on PTB-XL fold 9, 64 took ~9, 128 ~10.5 (the fusion's tensors
#: outgrow the caches); a GPU keeps the callers' larger batches.
CPU_WINDOWS_PER_CALL = 16
#: What :meth:`Detector._network_part` makes of a record: its stitched maps, the network's
#: score components and the combined maps.
NetworkPart = tuple[dict[str, np.ndarray], dict[str, float], dict[str, np.ndarray]]


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
        self._without_gil: Any = None  # see _network
        self.cfg = cfg
        self.card = card
        self.bank = bank
        self.measure_model = measure_model
        self.device = device
        if str(device).startswith("cuda"):
            import torch

            # cuDNN would run the fp32 convolutions in TF32 by default: the scores must be
            # the CPU's (the percentiles were calibrated there); --amp is the faster choice.
            torch.backends.cudnn.allow_tf32 = False
        #: mixed precision on a GPU ("bf16"/"fp16"; None: fp32); see forward_windows
        self.autocast: str | None = None
        #: make what needs no network (median beats against the bank, measurement features,
        #: signal quality) in a second thread while the network runs; on one core nothing is
        #: gained
        self.quality_beside_network = (os.cpu_count() or 1) > 1
        #: make the per-sample results (``anomaly_map``, ``restored``, ``finding_map``,
        #: ``beats``, ``findings``); False for callers that keep only the score, percentile,
        #: lead scores, flags and quality (``ecgad score``'s table): those results are then
        #: empty ((n_leads, 0) maps, no findings), and what only they need is not made
        #: (the restored trace's wander, the expected-normal trace, the maps at the input rate)
        self.make_maps = True
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
        kinds = [self.score_kind] + list((self.ensemble or {}).get("components", []))
        #: every score component (model selection, benchmarks), not just the score's
        self.all_components = all_components
        if any(k in BANK_KINDS for k in kinds) and bank is None:
            raise ModelError(
                None, "the model card's score needs the normal-beat bank, which the weights lack"
            )
        if any(k in MEASURE_KINDS for k in kinds) and measure_model is None:
            raise ModelError(
                None,
                "the model card's score needs the normal measurement ranges, which the weights lack",
            )
        self._kinds = kinds
        # The map shown is that of the score kind (of an ensemble: its first restoration part).
        self.map_kind = next(
            (k for k in kinds[1 if self.ensemble else 0 :] if k not in NOT_NETWORK_KINDS),
            "combined_mse",
        )
        # Only the map variants the score and the shown map need are built (each costs ~0.5
        # ms per ECG), unless every component is wanted (model selection).
        self.needed_variants = {
            map_variant(kind) for kind in [*kinds, self.map_kind] if is_map_kind(kind)
        }
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
    def all_passes(self) -> tuple[str, ...] | None:
        """The all-pass maps to make (None: every one). Only the trend's mean (a component)
        unless every component or an "_all" variant is wanted: placing the others on the
        windows costs time for nothing. Derived on each call, so setting ``all_components``
        on a loaded Detector (benchmarks/model_accuracy.py) takes effect."""
        if self.all_components or any(v.endswith("_all") for v in self.needed_variants):
            return None
        return ("trend_sq",)

    @property
    def wants_events(self) -> bool:
        """Local-event features (model/local_events.py) are prepared only when the score has
        hinge parts (or every component is wanted)."""
        return self.all_components or bool((self.ensemble or {}).get("hinge"))

    @property
    def wants_measurements(self) -> bool:
        """Measurement features are prepared only when a score uses them (~10 ms per ECG)."""
        return self.measure_model is not None and (
            self.all_components or any(k in MEASURE_KINDS for k in self._kinds)
        )

    @property
    def wants_map_summaries(self) -> bool:
        """The maps' percentiles and :data:`MAP_SUMMARY_KINDS` are made only when a score
        uses them."""
        return self.all_components or any(k in MAP_SUMMARY_KINDS for k in self._kinds)

    @property
    def wants_qrs_windows(self) -> bool:
        """The QRS-window kinds (model/score_kinds.py) are made only when a score uses them."""
        return self.all_components or any(k in QRS_KINDS for k in self._kinds)

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

        from model.network import CrossRestorationNet, fold_batchnorm

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
        # This network is ours alone and only ever scores: fold its BatchNorm layers (~1 ms
        # per ECG on a CPU, same scores up to float rounding).
        fold_batchnorm(net)
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
            self.cfg,
            median_beats=self.bank is not None,
            measurements=self.wants_measurements,
            events=self.wants_events,
            maps=self.make_maps,
        )

    def iter_score_many(
        self,
        records: Sequence[Record],
        batch: int = 64,
        prepared: Sequence[Prepared | ECGError] | None = None,
    ) -> Generator[tuple[int, int], None, list[ScoreResult | ECGError]]:
        """Generator form: yields ``(done, total)`` windows after each batch, returns results.

        ``prepared``: what :meth:`preparer` made of each record (e.g. in worker processes);
        the records are prepared here when it is None, and their measurement features and
        signal quality are made in a second thread while the network runs
        (:attr:`quality_beside_network`).
        """
        # numpy/scipy matrix products in one thread for the whole of scoring (model/threads.py),
        # the CPU work beside the network included: it all runs inside this one limit.
        with one_blas_thread():
            results = yield from self._score_prepared(records, batch, prepared)
        return results

    def _score_prepared(
        self,
        records: Sequence[Record],
        batch: int,
        prepared: Sequence[Prepared | ECGError] | None,
    ) -> Generator[tuple[int, int], None, list[ScoreResult | ECGError]]:
        """:meth:`iter_score_many` inside its BLAS thread limit."""
        side: list[_BesideParts | None] | None = None
        start_beside: Callable[[], object] | None = None
        if prepared is None:
            # With a second core, what needs no network (median beats against the bank,
            # measurement features, signal quality: :meth:`_beside_network`) runs in a second
            # thread, each record as soon as it is prepared, while the main thread prepares
            # the next ones and runs the network, without the GIL where it can (:meth:`_network`).
            # One ECG at 500 Hz: 40 ms in one thread, 31 ms in two (idle 2-core machine).
            beside = self.quality_beside_network
            pool = _beside_thread() if beside else None
            side = [] if beside else None
            prepared = []
            for n, r in enumerate(records):
                p = prepare_for_scoring(
                    r,
                    self.cfg,
                    self.bank is not None and not beside,
                    quality=not beside,
                    measurements=self.wants_measurements and not beside,
                    baseline=not beside and self.make_maps,
                    events=self.wants_events and not beside,
                    slow=self.make_maps,
                )
                prepared.append(p)
                if pool is not None and side is not None:
                    parts = self._beside_network(r, p)
                    side.append(parts)
                    if parts is not None and n < len(records) - 1:  # beside the next ones
                        pool.submit(parts.run_in_order)
            # The last record's parts (a single ECG's only ones) start once the first network
            # call has its inputs: building them takes the GIL for many small steps, each of
            # which would wait up to Python's switch interval (5 ms) for a second thread busy
            # in Python; the network itself runs without the GIL. Measured with
            # benchmarks/model_speed.py (single, 2 cores, 6 alternating runs of each, the host's
            # speed drifting by 20 %): median 33.8 ms started at once, 31.9 ms started here.
            last = side[-1] if side else None
            if pool is not None and last is not None:
                start_beside = partial(pool.submit, last.run_in_order)
        try:
            maps = yield from self._network_maps(prepared, batch, start_beside)
            results: list[ScoreResult | ECGError] = []
            for i, (record, p) in enumerate(zip(records, prepared)):
                bank: _BankPart | None = None
                if isinstance(p, Prepared):
                    window_maps = [maps[(i, j)] for j in range(len(p.windows))]
                    # What needs only the network, before waiting for the second thread.
                    network = self._network_part(p, window_maps)
                parts = side[i] if side is not None else None
                if parts is not None and isinstance(p, Prepared):
                    # Record by record: the first ones are finished here while the second
                    # thread still works on the later ones; parts it has not begun are
                    # made here rather than waited for.
                    done = parts.result(p)
                    if isinstance(done, ECGError):
                        p = done
                    elif done is not None:
                        p.quality, bank = done.quality, done.bank
                if isinstance(p, ECGError):
                    results.append(p)
                    continue
                result = self._finish(record, p, window_maps, bank, network)
                results.append(finite_or_error(result, record.source))
            return results
        finally:
            for parts in side or []:  # cancelled or failed: no work left behind
                if parts is not None:
                    parts.cancel()

    def network_maps(
        self, prepared: Sequence[Prepared | ECGError], batch: int = 64
    ) -> Generator[tuple[int, int], None, list[list[WindowMaps] | None]]:
        """The network's stage alone, for a pipeline that finishes the records elsewhere
        (:meth:`finisher`, e.g. in worker processes): each prepared record's window maps
        (None for an ECGError), yielding ``(done, total)`` windows after each network call."""
        with one_blas_thread():
            maps = yield from self._network_maps(prepared, batch, None)
        return [
            [maps[(i, j)] for j in range(len(p.windows))] if isinstance(p, Prepared) else None
            for i, p in enumerate(prepared)
        ]

    def finisher(self) -> Callable[[Record, Prepared, list[WindowMaps]], ScoreResult | ECGError]:
        """What follows the network for one record (stitching, score parts, maps, findings) as
        a picklable callable without the network: ``ecgad score`` runs it in worker processes,
        because in the process that feeds a GPU it would bound the rate (~5 ms per ECG)."""
        return ScoringFinisher(self.without_network())

    def for_finishing(
        self, p: Prepared, window_maps: list[WindowMaps]
    ) -> tuple[Prepared, list[WindowMaps]]:
        """Copies of a prepared record and its window maps holding only what the finisher
        reads: without the windows' samples (the network's input), the filtered leads (done
        with once prepared) and, without per-sample results, the restored windows: a fifth
        (with them) to a third (without) less to send to a worker process, the same result."""
        light = replace(
            p,
            filtered=p.filtered[:, :0],
            windows=[replace(w, signal=w.signal[:, :0]) for w in p.windows],
        )
        if not self.make_maps:
            window_maps = [replace(m, restored=m.restored[:, :0]) for m in window_maps]
        return light, window_maps

    def without_network(self) -> Detector:
        """A copy sharing everything but the network (None in the copy): what finishing a
        record needs, small enough to send to worker processes."""
        clone = copy.copy(self)
        clone.net = None
        clone._without_gil = None
        return clone

    def _network_maps(
        self,
        prepared: Sequence[Prepared | ECGError],
        batch: int,
        start_beside: Callable[[], object] | None,
    ) -> Generator[tuple[int, int], None, dict[tuple[int, int], WindowMaps]]:
        """Every prepared window through the network; ``start_beside`` is called once the
        first call has its inputs (:meth:`_score_prepared`)."""
        jobs = [
            (i, j)
            for i, p in enumerate(prepared)
            if isinstance(p, Prepared)
            for j in range(len(p.windows))
        ]
        # Windows with as many beats side by side: a network call pads every window to
        # its most beats, and the fusion's work grows with them (padding included).
        jobs.sort(key=lambda ij: len(prepared[ij[0]].windows[ij[1]].beats))  # type: ignore[union-attr]
        maps: dict[tuple[int, int], WindowMaps] = {}
        total = len(jobs)
        cuda = str(self.device).startswith("cuda")
        per_call = batch if cuda else min(batch, CPU_WINDOWS_PER_CALL)
        yield 0, total
        for a in range(0, total, per_call):
            chunk = jobs[a : a + per_call]
            windows = [prepared[i].windows[j] for i, j in chunk]  # type: ignore[union-attr]
            for key, m in zip(
                chunk,
                forward_windows(
                    self._network(),
                    windows,
                    self.cfg,
                    self.device,
                    autocast=self.autocast,
                    all_passes=self.all_passes,
                    inputs_ready=start_beside,
                ),
            ):
                maps[key] = m
            start_beside = None
            yield min(a + per_call, total), total
        if start_beside is not None:  # no network call (no windows)
            start_beside()
        return maps

    def _network(self) -> Any:
        """:attr:`net` as scoring calls it: through its TorchScript trace where that is exact
        (model.network.WithoutGil: no GIL waits beside the second thread)."""
        from model.network import WithoutGil

        if self._without_gil is None or self._without_gil.net is not self.net:
            self._without_gil = WithoutGil(self.net)
        return self._without_gil

    def _beside_network(self, record: Record, p: Prepared | ECGError) -> _BesideParts | None:
        """What a prepared record needs besides the network, in parts the second thread makes
        in order and the calling thread makes itself where that thread has not begun them
        (model/shared_work.py): the wander the high-pass removed (for the restored trace), its
        median beats and their comparison with the bank, its measurement features, its signal
        quality, its local-event features. None for a record that failed already."""
        if not isinstance(p, Prepared):
            return None
        cfg = self.cfg

        def bank() -> _BankPart | None:
            add_median_beats(p, cfg, slow=self.make_maps)
            return self._bank_part(p)

        return _BesideParts(
            SharedTask(lambda: add_baseline(p, cfg)) if self.make_maps else None,
            SharedTask(bank) if self.bank is not None else None,
            SharedTask(lambda: measurement_features(p, cfg)) if self.wants_measurements else None,
            SharedTask(lambda: quality_of(record, p, cfg, drop=False)),
            SharedTask(lambda: add_event_features(p, cfg)) if self.wants_events else None,
        )

    def _bank_part(self, p: Prepared) -> _BankPart | None:
        """The record's median beats against the normal-beat bank (no network needed)."""
        if self.bank is None or p.median_beats is None:
            return None
        cfg = self.cfg
        lead_distances = templates = None
        if self.make_maps:
            distances, lead_distances, templates = self.bank.compare(p.median_beats)
        else:  # the others serve the findings and the expected-normal trace only
            distances = self.bank.distance(p.median_beats)
        # The expected-normal trace: the bank's normal beat at each beat (model/expected.py).
        trace = None
        if p.slow is not None:
            starts = [w.start for w in p.windows]
            trace = expected_trace(templates, p.r_peaks, starts, p.n_model + p.padded, cfg)
        dev = None
        if trace is not None and p.bank_band is not None:
            dev = gaussian_filter1d(
                np.abs(p.bank_band - trace)[:, : p.n_model], cfg.map_sigma * cfg.fs, axis=-1
            )
        return _BankPart(
            float(np.where(np.isnan(distances), NO_BEAT_DISTANCE, distances).mean()),
            lead_distances,
            templates,
            trace,
            dev,
            vcg_features(record_median_beat(p.median_beats), cfg.fs, cfg.bank_pre, cfg.leads),
        )

    def _network_part(self, p: Prepared, window_maps: list[WindowMaps]) -> NetworkPart:
        """The stitched maps, the network's score components and the combined maps."""
        st = stitch(p, window_maps, self.cfg, restored=self.make_maps)
        components, combined_maps = score_components(
            st,
            p.n_model,
            self.cfg,
            None if self.all_components else self.needed_variants,
            summaries=self.wants_map_summaries,
        )
        if self.wants_qrs_windows:
            components.update(qrs_window_components(st, p.n_model, self.cfg, p.r_peaks))
        return st, components, combined_maps

    def _maps(
        self,
        record: Record,
        p: Prepared,
        st: dict[str, np.ndarray],
        evidence: findings_mod.Evidence,
        combined: np.ndarray,
        dev: np.ndarray | None,
        trace: np.ndarray | None,
    ) -> _Maps:
        """The per-sample results of one record (:attr:`make_maps`), back at the record's own
        samples, rows in its lead order; ``combined`` is the shown map variant at the model
        rate, ``dev`` and ``trace`` the bank part's (:meth:`_bank_part`)."""
        cfg = self.cfg
        valid = slice(0, p.n_model)
        comb = combined[:, valid]
        # The expected-normal trace: the bank's normal beat at each beat when a bank is bundled
        # (:meth:`_bank_part`), else the network's restoration of each masked sample.
        restored_mv = trace + p.slow if trace is not None else st["restored_mv"] + p.baseline
        finding_map = None
        # The per-sample map: where each lead departs most from the rest of itself.
        point_map = np.zeros_like(combined)
        point_map[:, valid] = relative_map([comb] if dev is None else [comb, dev], cfg.fs)
        if self.findings_cal:
            # Where the beat departs from the expected normal beat, or is hard to restore.
            profile = combined[:, valid] / np.maximum(
                np.median(combined[:, valid], axis=1, keepdims=True), 1e-9
            )
            if dev is not None:
                profile = np.maximum(
                    profile, dev / np.maximum(np.median(dev, axis=1, keepdims=True), 1e-9)
                )
            band_model = np.zeros_like(combined)
            band_model[:, valid] = findings_mod.band(evidence, self.findings_cal, profile, cfg.fs)
            finding_map = record_rows(band_model, p, cfg, record.leads, 0.0)
        return _Maps(
            record_rows(point_map, p, cfg, record.leads, 0.0),
            record_rows(restored_mv, p, cfg, record.leads, np.nan),
            finding_map,
            beat_scores(comb, p.r_peaks, p.n_model, cfg),
            findings_mod.findings(evidence, self.findings_cal, cfg.leads)
            if self.findings_cal
            else [],
        )

    def _finish(
        self,
        record: Record,
        p: Prepared,
        window_maps: list[WindowMaps],
        bank: _BankPart | None = None,
        network: NetworkPart | None = None,
    ) -> ScoreResult:
        """Score components, findings and maps of one record from its windows' errors
        (``bank``: :meth:`_bank_part`, ``network``: :meth:`_network_part`, when made already)."""
        cfg = self.cfg
        if bank is None:
            bank = self._bank_part(p)
        st, components, combined_maps = (
            network if network is not None else self._network_part(p, window_maps)
        )
        valid = slice(0, p.n_model)
        # "ECG age": how old the heart looks to the patient head; older than the patient's own
        # age is a known marker of disease (used only where the age is known).
        pred_age = float(np.mean([m.pred_age for m in window_maps]))
        components["pred_age"] = pred_age
        age = record.patient.age
        components["age_gap"] = pred_age - age if age is not None else 0.0
        lead_distances = templates = trace = dev = None
        if bank is not None:
            components[BANK_KIND] = bank.distance
            components.update(bank.vcg)
            lead_distances, templates, trace, dev = (
                bank.lead_distances,
                bank.templates,
                bank.trace,
                bank.dev,
            )
        measure_z: dict[str, float] = {}
        if self.measure_model is not None and p.measure_features is not None:
            components[MEASURE_KIND] = float(self.measure_model.score(p.measure_features))
            measure_z = self.measure_model.global_z(p.measure_features)
            components[AMPLITUDE_KIND] = float(
                self.measure_model.amplitude_deviation(p.measure_features)
            )
        if p.event_features is not None:
            components.update(p.event_features)
        win_starts = [w.start for w in p.windows]
        evidence = findings_mod.evidence(
            st,
            p.r_peaks,
            p.n_model,
            cfg,
            lead_distances,
            p.bank_band,
            templates,
            win_starts,
            p.median_beats,
            lead_only=not self.make_maps,
        )
        evidence.qrst_angle = components.get(QRST_ANGLE, float("nan"))
        parts: dict[str, float] = {}
        if self.ensemble:
            components["ensemble"] = ensemble_score(components, self.ensemble)
            parts = ensemble_parts(components, self.ensemble)
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
        if self.make_maps:
            maps = self._maps(record, p, st, evidence, combined, dev, trace)
        else:
            empty = np.zeros((len(record.leads), 0), np.float32)
            maps = _Maps(empty, empty.copy(), None, [], [])
        quality = p.quality if p.quality is not None else quality_of(record, p, cfg)
        findings = _noise_marked(maps.findings, record, p, quality, cfg)
        result = ScoreResult(
            score=float(score),
            percentile=self.percentile_of(score),
            lead_scores={name: float(lead_means[row]) for row, name in enumerate(cfg.leads)},
            beats=maps.beats,
            anomaly_map=maps.anomaly,
            restored=maps.restored,
            flags=set(p.flags),
            model=dict(self.model_info),
            components=components,
            map_reference=self.map_reference,
            findings=findings,
            parts=parts,
            measure_z=measure_z,
            finding_map=maps.finding,
            evidence=evidence,
        )
        return with_quality(result, record, quality)


#: Annotation texts that say the recorder marked artefact or noise there.
ARTEFACT_WORDS = re.compile(r"artefact|artifact|noise", re.IGNORECASE)
#: Seconds around such a mark counted as its span (a beat mark has no duration).
ARTEFACT_MARGIN_S = 0.5


def _noise_marked(
    findings: list[Finding], record: Record, p: Prepared, quality: SignalQuality, cfg: ModelConfig
) -> list[Finding]:
    """``findings`` with those lying partly in a stretch of heavy noise of their lead marked
    (``Finding.noisy``) and put after the others: the top finding of a Holter strip sat on
    a few seconds of muscle noise in the limb leads, which the record-level quality check,
    judging the whole strip, did not flag; and a lead that check calls noisy was not marked
    either."""
    if not findings:
        return findings
    # Only the leads that carry a finding: the noise of the others changes nothing here.
    wanted = {f.lead for f in findings}
    names = [name for name in record.ecg_leads if normalize_lead_name(name) in wanted]
    rows = [record.leads.index(name) for name in names]
    peaks = np.rint(np.asarray(p.r_peaks, np.float64) * record.fs / cfg.fs).astype(np.int64)
    spans = (
        noisy_spans(record.data()[rows, : p.n_in or None], record.fs, names, quality, peaks)
        if rows
        else {}
    )
    by_lead = {normalize_lead_name(name): s for name, s in spans.items()}
    # A lead the record-level check calls noisy (EMG, mains or baseline wander over the
    # whole strip) is noisy under every finding of it.
    for q in quality.leads:
        if NOISY in q.problems:
            by_lead[normalize_lead_name(q.lead)] = [(0.0, float("inf"))]
    # What the recorder itself marked as artefact or noise (an ISHNE Holter's "X" beats, a
    # WFDB noise annotation): three of a Holter strip's top ten findings sat on its own
    # artefact marks, which a motion artefact's slow shape does not show in the EMG band.
    for ann in getattr(record, "annotations", None) or ():
        if not ARTEFACT_WORDS.search(ann.text or ""):
            continue
        span = (ann.onset - ARTEFACT_MARGIN_S, ann.onset + ann.duration + ARTEFACT_MARGIN_S)
        for lead in [normalize_lead_name(ann.lead)] if ann.lead else wanted:
            by_lead.setdefault(str(lead), []).append(span)
    if not by_lead:
        return findings
    out = []
    for f in findings:
        inside = sum(
            max(0.0, min(f.end, z) - max(f.start, a)) for a, z in by_lead.get(f.lead or "", [])
        )
        # A third of the region (or a second of it): a long region over a burst of 2 s is
        # as suspect as a short one inside it.
        noisy = f.lead is not None and inside >= min(1.0, (f.end - f.start) / 3)
        out.append(replace(f, noisy=True) if noisy else f)
    return sorted(out, key=lambda f: f.noisy)  # stable: each group keeps its order


@dataclass
class _Maps:
    """A record's per-sample results (:meth:`Detector._maps`)."""

    anomaly: np.ndarray
    restored: np.ndarray
    finding: np.ndarray | None
    beats: list[tuple[float, float, float, dict[str, float]]]
    findings: list[Finding]


@dataclass
class _BankPart:
    """A record's median beats against the normal-beat bank (:meth:`Detector._bank_part`)."""

    distance: float  # the bank score component
    lead_distances: np.ndarray | None  # (windows, 12); None without maps (make_maps False)
    templates: np.ndarray | None  # the expected normal beats (windows, 12, L); likewise
    trace: np.ndarray | None  # expected-normal trace at the model rate (mV)
    dev: np.ndarray | None  # smoothed departure of the beats from it (model rate, n_model)
    vcg: dict[str, float]  # spatial QRS-T angle and T-wave complexity (model/vcg.py)


@dataclass
class _Beside:
    """What :meth:`Detector._beside_network` made of one record in the second thread."""

    quality: SignalQuality
    bank: _BankPart | None


@dataclass
class _BesideParts:
    """The parts of :meth:`Detector._beside_network` for one record. Each reads
    ``p.at_model_rate``, which :meth:`result` drops once all are made; each sets or returns
    something of its own (``p.baseline``; ``p.median_beats``, ``p.bank_band``, ``p.slow``)."""

    baseline: SharedTask[None] | None
    bank: SharedTask[_BankPart | None] | None
    measure: SharedTask[np.ndarray] | None
    quality: SharedTask[SignalQuality]
    events: SharedTask[None] | None = None

    def _in_order(self) -> list[SharedTask[Any]]:
        parts = (self.baseline, self.bank, self.measure, self.events, self.quality)
        return [t for t in parts if t is not None]

    def run_in_order(self) -> None:
        """The second thread's job: every part not begun yet, until one fails."""
        for task in self._in_order():
            task.run()
            if task.failed:
                return

    def result(self, p: Prepared) -> _Beside | ECGError:
        """The parts' results (measurement features set on ``p``), or the first one's
        ECGError; parts no thread has begun are made in this one."""
        try:
            if self.baseline is not None:
                self.baseline.result()
            bank = self.bank.result() if self.bank is not None else None
            if self.measure is not None:
                p.measure_features = self.measure.result()
            if self.events is not None:
                self.events.result()
            quality = self.quality.result()
        except ECGError as exc:
            self.cancel()
            return exc
        p.at_model_rate = None  # not needed past this point, not worth pickling
        return _Beside(quality, bank)

    def cancel(self) -> None:
        for task in self._in_order():
            task.cancel()


def prepare_for_scoring(
    record: Record,
    cfg: ModelConfig,
    median_beats: bool,
    quality: bool = True,
    measurements: bool = False,
    baseline: bool = True,
    events: bool = False,
    slow: bool = True,
) -> Prepared | ECGError:
    """:func:`prepare` plus (``quality``) the signal-quality check; an ECGError is returned."""
    try:
        p = prepare(
            record,
            cfg,
            median_beats=median_beats,
            measurements=measurements,
            baseline=baseline,
            events=events,
            slow=slow,
        )
        if quality:
            p.quality = quality_of(record, p, cfg)
        return p
    except ECGError as exc:
        return exc


def finite_or_error(result: ScoreResult, source: str | None) -> ScoreResult | ECGError:
    """``result``, or the ModelError of its record (``source``) when the score is not finite:
    a NaN is never shown as a (normal-looking) number."""
    if not np.isfinite(result.score):
        return ModelError(source, NON_FINITE_SCORE)
    return result


@lru_cache(maxsize=1)
def _beside_thread() -> ThreadPoolExecutor:
    """One thread for the CPU work beside the network in :meth:`Detector.iter_score_many`."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="ecg-beside")


def _beside_network(
    record: Record, p: Prepared | ECGError, cfg: ModelConfig, measurements: bool
) -> SignalQuality | ECGError | None:
    """A prepared record's measurement features (``measurements``; set on ``p``) and signal
    quality, in the second thread; None for a record that failed already."""
    if not isinstance(p, Prepared):
        return None
    try:
        if measurements:
            p.measure_features = measurement_features(p, cfg)
        return quality_of(record, p, cfg)
    except ECGError as exc:
        return exc


def quality_of(record: Record, p: Prepared, cfg: ModelConfig, drop: bool = True) -> SignalQuality:
    """The record's signal quality, reusing what preprocessing computed: the leads resampled
    to the model rate and the R peaks, when the quality check works at that same rate (the
    same flags and measures as :func:`assess_record` alone; tests/model/test_infer_quality.py).
    Drops ``p.at_model_rate`` afterwards (not needed past this point, not worth pickling)
    unless ``drop`` is False (other work reads it still)."""
    at_rate, peaks = None, None
    if abs(work_rate(record.fs) - cfg.fs) < 1e-6 and p.at_model_rate is not None:
        if "derived_limb_leads" not in p.flags:  # derived records hold float32 copies
            at_rate = dict(zip(cfg.leads, p.at_model_rate))
        if p.padded == 0:  # peaks of the edge-padded signal may differ near its end
            peaks = p.r_peaks
    if drop:
        p.at_model_rate = None
    # The ECG only (p.n_in), not a cart's calibration pulse after it (p.n_tail).
    return assess_record(record, at_work_rate=at_rate, peaks=peaks, end=p.n_in)


@dataclass
class ScoringPreparer:
    """Picklable :func:`prepare_for_scoring` for one model configuration."""

    cfg: ModelConfig
    median_beats: bool
    measurements: bool = False
    events: bool = False
    #: what only the per-sample results need (Detector.make_maps)
    maps: bool = True

    def __call__(self, record: Record) -> Prepared | ECGError:
        with one_blas_thread():
            p = prepare_for_scoring(
                record,
                self.cfg,
                self.median_beats,
                measurements=self.measurements,
                events=self.events,
                baseline=self.maps,
                slow=self.maps,
            )
        if isinstance(p, Prepared):
            # Read only while preparing (the windows, median beats and features come from
            # it): not sent on from a worker process.
            p.filtered = p.filtered[:, :0]
        return p


@dataclass
class ScoringFinisher:
    """Picklable :meth:`Detector.finisher`: one record's result from its prepared form and
    its windows' network maps, in whatever process holds it."""

    detector: Detector

    def __call__(
        self, record: Record, p: Prepared, window_maps: list[WindowMaps]
    ) -> ScoreResult | ECGError:
        with one_blas_thread():
            try:
                result = self.detector._finish(record, p, window_maps)
                return finite_or_error(result, record.source)
            except ECGError as exc:
                return exc
