"""Masks for the global and beat views: random during training, complementary when scoring.

Scoring uses ``cfg.n_patterns`` deterministic patterns whose masked parts are disjoint and
together cover every sample, so each sample's restoration error is measured exactly once,
from a pass in which that sample was hidden.
"""

from __future__ import annotations

import numpy as np
import torch

from model.config import ModelConfig


def global_patterns(cfg: ModelConfig, repeats: int = 1) -> np.ndarray:
    """(repeats * n_patterns, L) bool: pattern k hides every patch whose index % n_patterns == k.

    Each repeat groups the patches differently (repeat r adds r * (index // n_patterns) to the
    index before the modulo), so with ``repeats`` > 1 every sample is hidden once per repeat
    with other neighbours hidden. Patch boundaries stay on the training grid: the network
    never saw masks that start inside a patch, and shifted grids score far worse.
    """
    length, plen, n = cfg.global_len, cfg.patch_len, cfg.n_patterns
    patch = np.minimum(np.arange(length) // plen, cfg.n_patches - 1)
    out = []
    for r in range(repeats):
        group = (patch + r * (patch // n)) % n
        out.extend(group == k for k in range(n))
    return np.stack(out)


def beat_patterns(cfg: ModelConfig, repeats: int = 1) -> np.ndarray:
    """(repeats * n_patterns, Lb) bool: pattern k hides the k-th of n contiguous spans of the
    beat; each repeat rotates the spans by a fraction of a span."""
    base = np.zeros((cfg.n_patterns, cfg.beat_len), dtype=bool)
    for k, idx in enumerate(np.array_split(np.arange(cfg.beat_len), cfg.n_patterns)):
        base[k, idx] = True
    span = cfg.beat_len // cfg.n_patterns
    return np.concatenate([np.roll(base, (r * span) // repeats, axis=1) for r in range(repeats)])


def random_global_masks(batch: int, cfg: ModelConfig, gen: torch.Generator) -> torch.Tensor:
    """(B, L) bool: ``mask_ratio`` of the patches hidden at random, per ECG."""
    n_mask = int(round(cfg.mask_ratio * cfg.n_patches))
    scores = torch.rand(batch, cfg.n_patches, generator=gen)
    chosen = scores.argsort(dim=1)[:, :n_mask]
    patch_mask = torch.zeros(batch, cfg.n_patches, dtype=torch.bool)
    patch_mask.scatter_(1, chosen, True)
    per_sample = patch_mask.repeat_interleave(cfg.patch_len, dim=1)
    if per_sample.shape[1] < cfg.global_len:  # tail shorter than a patch follows the last one
        tail = per_sample[:, -1:].expand(batch, cfg.global_len - per_sample.shape[1])
        per_sample = torch.cat([per_sample, tail], dim=1)
    return per_sample[:, : cfg.global_len]


def random_beat_masks(
    batch: int, beats: int, cfg: ModelConfig, gen: torch.Generator
) -> torch.Tensor:
    """(B, K, Lb) bool: one contiguous span of ``mask_ratio`` of the beat, random position."""
    span = int(round(cfg.mask_ratio * cfg.beat_len))
    starts = torch.randint(0, cfg.beat_len - span + 1, (batch, beats), generator=gen)
    pos = torch.arange(cfg.beat_len)
    return (pos >= starts[..., None]) & (pos < starts[..., None] + span)
