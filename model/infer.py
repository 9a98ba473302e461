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
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ecgviewer.errors import ECGError, ModelError, ScoringCancelled
from ecgviewer.paths import resource
from ecgviewer.record import Record
from model.config import ModelConfig
from model.masking import beat_patterns, global_patterns
from model.preprocess import Prepared, Window, prepare, to_input_rate

log = logging.getLogger(__name__)

DEFAULT_WEIGHTS = "model/weights.pt"
DEFAULT_CARD = "model/model_card.json"
#: The components a record score can be built from (chosen on the selection half, in the card).
SCORE_KINDS = ("combined", "global", "trend", "beat", "combined_p95", "combined_toplead")


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

    def summary(self) -> dict[str, Any]:
        """JSON-able summary (score cache, CSV export) without the per-sample arrays."""
        return {
            "score": self.score,
            "percentile": self.percentile,
            "lead_scores": self.lead_scores,
            "beats": [[a, b, s, ls] for a, b, s, ls in self.beats],
            "flags": sorted(self.flags),
            "model": self.model,
            "components": self.components,
        }


@dataclass
class WindowMaps:
    """Per-window restoration errors at the model rate (normalised units)."""

    global_err: np.ndarray  # (12, L)
    trend_err: np.ndarray  # (12, L)
    beat_err: np.ndarray  # (12, L) mean over covering beats, NaN where no beat covers
    restored: np.ndarray  # (12, L) normalised restoration of each sample from its masked pass


def sha256_of(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def pick_device(device: str = "auto") -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelError(None, "a GPU was requested but CUDA is not available; use CPU")
    return device


def forward_windows(net: Any, windows: Sequence[Window], cfg: ModelConfig, device: str) -> list[WindowMaps]:
    """Restore every window under every complementary mask pattern in one network call."""
    import torch

    from model.network import trend_view

    n_w, n_p, n_leads = len(windows), cfg.n_patterns, cfg.n_leads
    length, blen, pre = cfg.global_len, cfg.beat_len, cfg.beat_pre
    g_pat = global_patterns(cfg)  # (P, L)
    b_pat = beat_patterns(cfg)  # (P, Lb)
    k = max(1, max(len(w.beats) for w in windows))
    x = np.stack([w.signal for w in windows])  # (W, 12, L)
    beats = np.zeros((n_w, k, n_leads, blen), np.float32)
    valid = np.zeros((n_w, k), bool)
    for i, w in enumerate(windows):
        for j, r in enumerate(w.beats):
            beats[i, j] = w.signal[:, r - pre : r - pre + blen]
            valid[i, j] = True
    with torch.inference_mode():
        xt = torch.from_numpy(x).to(device)
        bt = torch.from_numpy(beats).to(device)
        gp = torch.from_numpy(g_pat).to(device)
        bp = torch.from_numpy(b_pat).to(device)
        x_in = (xt[:, None] * ~gp[None, :, None, :]).reshape(n_w * n_p, n_leads, length)
        b_in = (bt[:, None] * ~bp[None, :, None, None, :]).reshape(n_w * n_p, k, n_leads, blen)
        v_in = torch.from_numpy(valid).to(device).repeat_interleave(n_p, dim=0)
        out = net(x_in, b_in, v_in, trend_view(x_in, cfg))
        og = out.global_signal.reshape(n_w, n_p, n_leads, length)
        vg = out.global_logvar.clamp(-10, 10).reshape(n_w, n_p, 1, length)
        ot = out.trend_signal.reshape(n_w, n_p, n_leads, length)
        ob = out.beat_signal.reshape(n_w, n_p, k, n_leads, blen)
        vb = out.beat_logvar.clamp(-10, 10).reshape(n_w, n_p, k, 1, blen)
        sel = gp[None, :, None, :].to(og.dtype)
        global_err = ((og - xt[:, None]) ** 2 * torch.exp(-vg) * sel).sum(1)
        trend_err = ((ot - xt[:, None]) ** 2 * sel).sum(1)
        restored = (og * sel).sum(1)
        bsel = bp[None, :, None, None, :].to(ob.dtype)
        beat_err = ((ob - bt[:, None]) ** 2 * torch.exp(-vb) * bsel).sum(1)  # (W, K, 12, Lb)
        global_err, trend_err, restored, beat_err = (
            t.float().cpu().numpy() for t in (global_err, trend_err, restored, beat_err)
        )
    maps = []
    for i, w in enumerate(windows):
        acc = np.zeros((n_leads, length), np.float32)
        cnt = np.zeros(length, np.float32)
        for j, r in enumerate(w.beats):
            acc[:, r - pre : r - pre + blen] += beat_err[i, j]
            cnt[r - pre : r - pre + blen] += 1
        with np.errstate(invalid="ignore", divide="ignore"):
            local = np.where(cnt > 0, acc / cnt, np.nan).astype(np.float32)
        maps.append(WindowMaps(global_err[i], trend_err[i], local, restored[i]))
    return maps


def _stitch(prepared: Prepared, maps: list[WindowMaps], cfg: ModelConfig) -> dict[str, np.ndarray]:
    """Average overlapping windows onto the record's model-rate timeline."""
    n = prepared.filtered.shape[1]
    names = ("global_err", "trend_err", "beat_err", "restored_mv")
    sums = {name: np.zeros((cfg.n_leads, n), np.float64) for name in names}
    counts = {name: np.zeros(n, np.float64) for name in names}
    length = cfg.global_len
    for w, m in zip(prepared.windows, maps):
        sl = slice(w.start, w.start + length)
        restored_mv = m.restored * w.half[:, None] + w.centre[:, None]
        for name, value in (
            ("global_err", m.global_err), ("trend_err", m.trend_err),
            ("beat_err", m.beat_err), ("restored_mv", restored_mv),
        ):
            ok = np.isfinite(value[0])
            sums[name][:, sl] += np.where(np.isfinite(value), value, 0)
            counts[name][sl] += ok
    out = {}
    for name in names:
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = (sums[name] / counts[name]).astype(np.float32)
    # Samples outside every window (a few edge samples of a 10 s ECG) take the nearest value.
    for name in ("global_err", "trend_err", "restored_mv"):
        arr = out[name]
        covered = np.flatnonzero(counts[name] > 0)
        if len(covered) and len(covered) < n:
            idx = np.clip(np.searchsorted(covered, np.arange(n)), 0, len(covered) - 1)
            arr[:] = arr[:, covered[idx]]
    return out


class Detector:
    """The anomaly model, loaded once. See DESIGN.md "Detector API"."""

    def __init__(self, net: Any, cfg: ModelConfig, card: dict[str, Any], device: str = "cpu") -> None:
        self.net = net.eval().to(device)
        self.cfg = cfg
        self.card = card
        self.device = device
        cal = card.get("calibration", {})
        self._normal_quantiles = np.asarray(cal.get("normal_score_quantiles", []), np.float64)
        self.score_kind = card.get("score_kind", "combined")
        self.model_info = {
            "name": str(card.get("name", "ecg-cross-restoration")),
            "version": str(card.get("version", "untrained")),
            "sha256": str(card.get("weights_sha256", "")),
        }

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, weights: str | os.PathLike[str] | None = None, device: str = "auto",
             card: str | os.PathLike[str] | None = None) -> Detector:
        """Load weights (bundled by default), checking their sha256 against the model card."""
        import torch

        from model.network import CrossRestorationNet

        weights_path = Path(weights) if weights else resource(DEFAULT_WEIGHTS)
        card_path = Path(card) if card else weights_path.with_name("model_card.json")
        if not weights_path.is_file():
            raise ModelError(weights_path, "model weights not found")
        card_data: dict[str, Any] = {}
        if card_path.is_file():
            try:
                card_data = json.loads(card_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ModelError(card_path, f"model card unreadable: {exc}") from exc
            expected = card_data.get("weights_sha256")
            actual = sha256_of(weights_path)
            if expected and expected != actual:
                raise ModelError(
                    weights_path,
                    f"weights do not match the model card (sha256 {actual[:12]}..., card says "
                    f"{expected[:12]}...): the file was modified or replaced",
                )
        try:
            blob = torch.load(weights_path, map_location="cpu", weights_only=True)
            cfg = ModelConfig.from_dict(blob["config"])
            net = CrossRestorationNet(cfg)
            state = {k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()}
            net.load_state_dict(state)
        except Exception as exc:  # pickle/zip errors, shape mismatch
            raise ModelError(weights_path, f"weights could not be loaded: {exc}") from exc
        for key in ("calibration", "score_kind", "name", "version"):
            if key not in card_data and key in blob.get("meta", {}):
                card_data[key] = blob["meta"][key]
        card_data.setdefault("weights_sha256", sha256_of(weights_path))
        return cls(net, cfg, card_data, pick_device(device))

    # ------------------------------------------------------------------ scoring
    def percentile_of(self, score: float) -> float | None:
        q = self._normal_quantiles
        if len(q) == 0:
            return None
        return float(100.0 * np.searchsorted(q, score, side="right") / len(q))

    def score(self, record: Record, progress: Callable[[int, int], None] | None = None,
              cancel: Callable[[], bool] | None = None) -> ScoreResult:
        """Score one ECG. Raises ECGError for records the model cannot read."""
        result = self.score_many([record], progress=progress, cancel=cancel)[0]
        if isinstance(result, ECGError):
            raise result
        return result

    def score_many(self, records: Sequence[Record], batch: int = 64,
                   progress: Callable[[int, int], None] | None = None,
                   cancel: Callable[[], bool] | None = None) -> list[ScoreResult | ECGError]:
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

    def iter_score_many(self, records: Sequence[Record], batch: int = 64
                        ) -> Generator[tuple[int, int], None, list[ScoreResult | ECGError]]:
        """Generator form: yields ``(done, total)`` windows after each batch, returns results."""
        prepared: list[Prepared | ECGError] = []
        for record in records:
            try:
                prepared.append(prepare(record, self.cfg))
            except ECGError as exc:
                prepared.append(exc)
        jobs = [(i, j) for i, p in enumerate(prepared) if isinstance(p, Prepared)
                for j in range(len(p.windows))]
        maps: dict[tuple[int, int], WindowMaps] = {}
        total = len(jobs)
        yield 0, total
        for a in range(0, total, batch):
            chunk = jobs[a : a + batch]
            windows = [prepared[i].windows[j] for i, j in chunk]  # type: ignore[union-attr]
            for key, m in zip(chunk, forward_windows(self.net, windows, self.cfg, self.device)):
                maps[key] = m
            yield min(a + batch, total), total
        results: list[ScoreResult | ECGError] = []
        for i, (record, p) in enumerate(zip(records, prepared)):
            if isinstance(p, ECGError):
                results.append(p)
                continue
            window_maps = [maps[(i, j)] for j in range(len(p.windows))]
            results.append(self._finish(record, p, window_maps))
        return results

    def _finish(self, record: Record, p: Prepared, window_maps: list[WindowMaps]) -> ScoreResult:
        cfg = self.cfg
        st = _stitch(p, window_maps, cfg)
        beat_fill = np.where(np.isfinite(st["beat_err"]), st["beat_err"], st["global_err"])
        combined = st["global_err"] + st["trend_err"] + beat_fill
        sigma = cfg.map_sigma * cfg.fs
        combined = gaussian_filter1d(combined, sigma, axis=-1, mode="nearest")
        valid = slice(0, p.n_model)
        comb = combined[:, valid]
        lead_means = comb.mean(axis=1)
        with np.errstate(invalid="ignore"):
            beat_mean = np.nanmean(st["beat_err"][:, valid]) if np.isfinite(st["beat_err"]).any() else np.nan
        components = {
            "combined": float(comb.mean()),
            "global": float(st["global_err"][:, valid].mean()),
            "trend": float(st["trend_err"][:, valid].mean()),
            "beat": float(beat_mean) if np.isfinite(beat_mean) else float(st["global_err"][:, valid].mean()),
            "combined_p95": float(np.percentile(comb, 95)),
            "combined_toplead": float(np.sort(lead_means)[-3:].mean()),
        }
        score = components.get(self.score_kind, components["combined"])
        restored_mv = st["restored_mv"] + p.baseline
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
        beats = []
        post = cfg.beat_len - cfg.beat_pre
        for r in p.r_peaks:
            a, b = max(0, r - cfg.beat_pre), min(p.n_model, r + post)
            if b - a < cfg.beat_len // 2:
                continue
            seg = comb[:, a:b]
            beats.append((
                float(a / cfg.fs), float(b / cfg.fs), float(seg.mean()),
                {name: float(seg[row].mean()) for row, name in enumerate(cfg.leads)},
            ))
        return ScoreResult(
            score=float(score),
            percentile=self.percentile_of(score),
            lead_scores=lead_scores,
            beats=beats,
            anomaly_map=anomaly_map,
            restored=restored,
            flags=set(p.flags),
            model=dict(self.model_info),
            components=components,
        )


def main(argv: list[str] | None = None) -> int:
    """``ecgad score FILE...``: print one JSON line per file (score, percentile, flags)."""
    import argparse

    from ecgviewer import io

    parser = argparse.ArgumentParser(prog="ecgad score", description=main.__doc__)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--weights", default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--fs", type=float, default=None, help="rate for .npy/.csv arrays")
    args = parser.parse_args(argv)
    det = Detector.load(args.weights, device=args.device)
    status = 0
    for path in args.files:
        t0 = time.perf_counter()
        try:
            rec = io.read(path, **({"fs": args.fs} if args.fs else {}))
            records = [rec] if isinstance(rec, Record) else [e.load() for e in rec]
            for r in records:
                res = det.score(r)
                line = {"file": path, **res.summary(), "ms": round(1000 * (time.perf_counter() - t0), 1)}
                line.pop("beats")
                print(json.dumps(line))
        except ECGError as exc:
            print(json.dumps({"file": path, "error": str(exc)}))
            status = 1
    return status
