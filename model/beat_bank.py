"""Normal-beat bank: how far an ECG's median beat is from the most similar training normals.

The restoration network scales every lead on its own (so one noisy lead cannot dominate),
which throws away the relative size and polarity of the 12 leads: exactly what hypertrophy,
old infarcts and bundle-branch blocks change. The bank keeps it. Each training normal
contributes its 12-lead median beat in millivolts (0.5-25 Hz, 250 ms before to 450 ms after
R), projected on the leading principal directions of those beats; an ECG's distance is one
minus the mean cosine similarity to its ``k`` most similar normals. Cosine ignores overall
gain (electrode contact, body size) but not the leads' proportions.

Measured on fold 9 of the shared PTB-XL subset (3,500 training normals): this distance alone
ranks abnormal above normal ECGs with AUROC 0.864 on the selection half; the record score
adds it to the restoration scores with weights chosen on the selection half
(:func:`model.card.export_bundle`). It scores the whole ECG, not samples: localisation still
comes from the restoration maps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgviewer.signal.few_median import median_of_few
from model.config import ModelConfig

#: Distance given to a window without a complete beat (no R peak found: asystole, a
#: disconnected or flat recording): like no normal ECG at all, the largest a cosine distance
#: to mostly-positive correlations gets. Without it a flat line, trivially easy to restore,
#: would rank as the most normal ECG of a worklist.
NO_BEAT_DISTANCE = 1.0


def window_median_beats(
    x_band: np.ndarray, r_peaks: np.ndarray, starts: list[int], cfg: ModelConfig
) -> np.ndarray:
    """(n_windows, 12, bank_len) median beats of the beats whose R lies in each window.

    ``x_band`` is the (12, n) model-rate signal in mV, band-limited to the bank's band. A
    window without a complete beat gets a row of NaN.
    """
    pre, length = cfg.bank_pre, cfg.bank_len
    n = x_band.shape[1]
    out = np.full((len(starts), x_band.shape[0], length), np.nan, np.float32)
    r = np.asarray(r_peaks, np.int64)
    r = r[(r >= pre) & (r - pre + length <= n)]
    offsets = np.arange(-pre, length - pre)
    for i, start in enumerate(starts):
        inside = r[(r >= start) & (r < start + cfg.global_len)]
        if len(inside):
            beats = x_band[:, inside[:, None] + offsets]  # (12, n_beats, length)
            out[i] = median_of_few(beats, axis=1)
    return out


@dataclass
class BeatBank:
    """Projected median beats of the training normals, each divided by its full length.

    The bank's beats lie (99.9 % of their energy) in the span of the basis, so the dot
    product of a projected query divided by ITS full length with a bank vector is their cosine
    similarity. The query is divided by its full length, not the projection's: what a beat
    has outside everything normal beats contain (a reversed lead, a new wave) lowers the
    similarity instead of being projected away.
    """

    basis: np.ndarray  # (C, 12 * bank_len) orthonormal rows
    vectors: np.ndarray  # (N, C)
    k: int

    @classmethod
    def build(cls, median_beats: np.ndarray, cfg: ModelConfig) -> BeatBank:
        """Bank from (N, 12, bank_len) median beats (rows with NaN are skipped)."""
        flat = median_beats.reshape(len(median_beats), -1).astype(np.float64)
        flat = flat[np.isfinite(flat).all(axis=1)]
        if len(flat) < cfg.bank_k:
            raise ValueError(
                f"a beat bank needs at least {cfg.bank_k} ECGs with beats, got {len(flat)}"
            )
        # Uncentred principal directions: the projection keeps each beat's own direction.
        _u, _s, vt = np.linalg.svd(flat, full_matrices=False)
        basis = vt[: cfg.bank_components].astype(np.float32)
        return cls(basis, _project(flat.astype(np.float32), basis), cfg.bank_k)

    def compare(self, median_beats: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`distance`, :meth:`lead_distances` and :meth:`expected` at once, from one
        search of the bank (the Detector needs all three; each alone searches it again)."""
        flat = median_beats.reshape(len(median_beats), -1).astype(np.float32)
        ok = np.isfinite(flat).all(axis=1)
        sim = self._similarities(flat[ok]) if ok.any() else None
        return (
            self.distance(median_beats, ok, sim),
            self.lead_distances(median_beats, ok, sim),
            self.expected(median_beats, ok, sim),
        )

    def distance(
        self, median_beats: np.ndarray, ok: np.ndarray | None = None, sim: np.ndarray | None = None
    ) -> np.ndarray:
        """(M,) 1 - mean cosine similarity to the k most similar normals; NaN for NaN rows
        (windows without a beat: the Detector scores those as :data:`NO_BEAT_DISTANCE`).
        ``ok``/``sim``: the finite rows and their similarities, when already computed."""
        flat = median_beats.reshape(len(median_beats), -1)
        ok = np.isfinite(flat).all(axis=1) if ok is None else ok
        out = np.full(len(flat), np.nan)
        if ok.any():
            sim = self._similarities(flat[ok]) if sim is None else sim
            k = min(self.k, sim.shape[1])
            top = -np.partition(-sim, k - 1, axis=1)[:, :k]
            out[ok] = 1.0 - top.mean(axis=1)
        return out

    def _similarities(self, flat: np.ndarray) -> np.ndarray:
        """(m, N) cosine similarities of finite rows to every bank beat."""
        return _project(flat, self.basis) @ self.vectors.T

    def _neighbours(self, flat: np.ndarray, sim: np.ndarray | None = None) -> np.ndarray:
        """(m, k) indices of the k most similar bank beats of each (finite) row."""
        sim = self._similarities(flat) if sim is None else sim
        k = min(self.k, sim.shape[1])
        return np.argpartition(-sim, k - 1, axis=1)[:, :k]

    def expected(
        self, median_beats: np.ndarray, ok: np.ndarray | None = None, sim: np.ndarray | None = None
    ) -> np.ndarray:
        """(M, 12, bank_len) mV: the normal beat this ECG would have, for each median beat.

        The mean of the k most similar training normals' beats (as the distance uses them),
        scaled by one gain for all 12 leads fitted to the query: each lead keeps the size and
        polarity a normal ECG like this one has in that lead. NaN rows stay NaN.
        """
        shape = median_beats.shape
        flat = median_beats.reshape(len(median_beats), -1).astype(np.float32)
        out = np.full(flat.shape, np.nan, np.float32)
        ok = np.isfinite(flat).all(axis=1) if ok is None else ok
        if ok.any():
            idx = self._neighbours(flat[ok], sim)
            mean_beat = self.vectors[idx].mean(axis=1) @ self.basis  # (m, 12 * bank_len)
            gain = (flat[ok] * mean_beat).sum(1) / np.maximum((mean_beat**2).sum(1), 1e-12)
            out[ok] = mean_beat * gain[:, None]
        return out.reshape(shape)

    def lead_distances(
        self, median_beats: np.ndarray, ok: np.ndarray | None = None, sim: np.ndarray | None = None
    ) -> np.ndarray:
        """(M, 12) each lead's part of :meth:`distance`: the mean over the k most similar
        normals of half the squared difference of the unit-length beats in that lead
        (summed over leads it is 1 - cosine). NaN for NaN rows."""
        m, n_leads = median_beats.shape[0], median_beats.shape[1]
        flat = median_beats.reshape(m, -1).astype(np.float32)
        out = np.full((m, n_leads), np.nan)
        ok = np.isfinite(flat).all(axis=1) if ok is None else ok
        if ok.any():
            unit = flat[ok] / np.maximum(np.linalg.norm(flat[ok], axis=1, keepdims=True), 1e-9)
            idx = self._neighbours(flat[ok], sim)
            near = self.vectors[idx] @ self.basis  # (m, k, 12 * bank_len)
            diff = (near - unit[:, None]).reshape(len(unit), idx.shape[1], n_leads, -1)
            out[ok] = 0.5 * (diff**2).sum(-1).mean(1)
        return out

    # ------------------------------------------------------------------ storage
    def state(self) -> dict[str, object]:
        """Tensors for the weights file (fp16: ~1 MB for 3,500 ECGs)."""
        import torch

        return {
            "basis": torch.from_numpy(self.basis).half(),
            "vectors": torch.from_numpy(self.vectors).half(),
            "k": int(self.k),
        }

    @classmethod
    def from_state(cls, state: dict[str, object]) -> BeatBank:
        basis = state["basis"].float().numpy()  # type: ignore[attr-defined]
        vectors = state["vectors"].float().numpy()  # type: ignore[attr-defined]
        return cls(basis, vectors, int(state["k"]))  # type: ignore[call-overload]


def _project(flat: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Rows projected on the basis, divided by their full (unprojected) length."""
    norm = np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-9)
    return ((flat @ basis.T) / norm).astype(np.float32)
