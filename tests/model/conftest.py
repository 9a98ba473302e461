"""Shared helpers for the model tests: a tiny config, stand-in networks, synthetic records.

Two stand-in networks make alignment testable without trained weights:

* :class:`ZeroNet` restores everything as 0 with log-variance 0, so each sample's error is its
  own squared normalised value: the anomaly map peaks at the R peaks of the input.
* :class:`OracleNet` knows the unmasked ECG: the scoring masks are complementary, so the sum of
  the P masked copies of a window is (P - 1) times the window. Its restoration is exact, so
  ``restored`` must reproduce the input (band-limited) at the input's own samples.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from ecgviewer.record import STANDARD_LEADS, Record
from ecgviewer.signal.synthetic import synthetic_ecg
from model.config import ModelConfig
from model.network import Restoration

REPO = Path(__file__).resolve().parents[2]
BUNDLED_WEIGHTS = REPO / "resources" / "model" / "weights.pt"


def tiny_config(**kw: object) -> ModelConfig:
    """A network small enough for a test to run in a fraction of a second per batch."""
    return ModelConfig(channels=(8, 16, 32, 64), latent=16, **kw)  # type: ignore[arg-type]


class ZeroNet(torch.nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x_global, x_beats, valid, x_trend) -> Restoration:  # noqa: ANN001
        b, k = x_beats.shape[:2]
        z = torch.zeros_like
        return Restoration(
            global_signal=z(x_global),
            global_logvar=z(x_global[:, :1]),
            beat_signal=z(x_beats),
            beat_logvar=z(x_beats[:, :, :1]),
            trend_signal=z(x_global),
            age=torch.zeros(b),
            sex_logit=torch.zeros(b),
        )


class OracleNet(ZeroNet):
    def forward(self, x_global, x_beats, valid, x_trend) -> Restoration:  # noqa: ANN001
        p = self.cfg.n_patterns
        b, k = x_beats.shape[:2]
        g = x_global.reshape(b // p, p, *x_global.shape[1:]).sum(1, keepdim=True) / (p - 1)
        g = g.expand(b // p, p, *x_global.shape[1:]).reshape(x_global.shape)
        bt = x_beats.reshape(b // p, p, *x_beats.shape[1:]).sum(1, keepdim=True) / (p - 1)
        bt = bt.expand(b // p, p, *x_beats.shape[1:]).reshape(x_beats.shape)
        out = super().forward(x_global, x_beats, valid, x_trend)
        out.global_signal, out.beat_signal, out.trend_signal = g, bt, g
        return out


def synthetic_record(
    fs: float = 500.0, seconds: float = 10.0, seed: int = 0, **kw: object
) -> tuple[Record, np.ndarray]:
    """A 12-lead synthetic ECG Record and its true R-peak sample indices."""
    syn = synthetic_ecg(fs=fs, duration=seconds, seed=seed, **kw)  # type: ignore[arg-type]
    rec = Record(syn.signal, fs, list(STANDARD_LEADS), source=f"synthetic_{fs:g}Hz_{seconds:g}s")
    return rec, syn.r_peaks


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Tiny networks gain nothing from threads, and on a busy 2-core machine a second thread
    makes each step 10-20x slower (threads spin waiting for a core); restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny_cfg() -> ModelConfig:
    return tiny_config()


def bundled_weights() -> Path:
    if not BUNDLED_WEIGHTS.is_file():
        pytest.skip(f"bundled weights absent ({BUNDLED_WEIGHTS}): train and export them first")
    return BUNDLED_WEIGHTS
