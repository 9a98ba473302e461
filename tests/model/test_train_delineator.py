"""The delineator's export: the numpy network of ecgviewer.signal.learned_edges gives the
trained torch network's outputs (batch norms folded), and a short training learns."""

from __future__ import annotations

import numpy as np
import torch

from ecgviewer.signal.learned_edges import QRS, WORK_FS, forward
from model.train_delineator import UNet, export, train


def test_exported_network_gives_the_torch_outputs() -> None:
    torch.manual_seed(0)
    net = UNet()
    net.train()
    with torch.no_grad():  # batch-norm statistics far from their initial 0/1
        for _ in range(5):
            net(torch.randn(8, 2, 300) * 3 + 1)
    net.eval()
    x = torch.randn(12, 2, 517)
    with torch.no_grad():
        want = net(x).numpy()
    got = forward(x.numpy(), export(net))
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)


def test_a_short_training_learns_where_the_qrs_is() -> None:
    """Square 'QRS' pulses every second on one lead: after 60 steps the labels follow them."""
    n = 2500
    rng = np.random.default_rng(0)
    data = {}
    for rec in range(4):
        x = np.zeros((12, 2, n), np.float32)
        labels = np.zeros((12, n), np.int64)
        for start in range(100 + 20 * rec, n - 50, 250):
            x[:, 0, start : start + 25] = 1.0
            x[:, 1, start : start + 25] = 1.0
            labels[:, start : start + 25] = QRS
        x[:, 0] += rng.normal(0, 0.02, (12, n))
        data[rec] = {"inputs": x, "labels": labels, "known": np.ones((12, n), bool)}
    torch.set_num_threads(1)
    net = train(data, list(data), steps=60, seed=0)
    scores = forward(data[0]["inputs"], export(net))
    agree = (scores.argmax(axis=1) == data[0]["labels"]).mean()
    assert agree > 0.95
    assert WORK_FS == 250.0
