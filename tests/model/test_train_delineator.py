"""The delineator's export: the numpy network of ecgviewer.signal.learned_edges gives the
trained torch network's outputs (batch norms folded), a short training learns, and the
cross-validation keeps each fold's network."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ecgviewer.signal.learned_edges import (
    INTERVALS,
    P_WAVE,
    QRS,
    T_WAVE,
    WORK_FS,
    forward,
    global_intervals,
    load_weights,
)
from model.train_delineator import UNet, cross_validate, export, load_ludb, train


@pytest.mark.parametrize("widths", [(16, 32, 64), (8, 16, 32, 64)])
def test_exported_network_gives_the_torch_outputs(widths: tuple[int, ...]) -> None:
    """Any depth (``--widths``): the numpy forward pass reads the depth off the weights."""
    torch.manual_seed(0)
    net = UNet(widths)
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


@pytest.mark.parametrize("stretch", [0.0, 1.0])
def test_a_short_training_learns_where_the_qrs_is(stretch: float) -> None:
    """Square 'QRS' pulses every second on one lead: after 60 steps the labels follow them,
    also when every crop is stretched or squeezed in time (labels stretched with it)."""
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
    net = train(data, list(data), steps=60, seed=0, stretch=stretch)
    scores = forward(data[0]["inputs"], export(net))
    agree = (scores.argmax(axis=1) == data[0]["labels"]).mean()
    assert agree > 0.95
    assert WORK_FS == 250.0


@pytest.mark.needs_shared
def test_cross_validation_keeps_each_folds_network_for_out_of_fold_measuring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--fold-weights: every record is mapped to the network of the fold that left it out,
    whose biases come from the other folds' records only. The network's reading is stubbed
    (the reference + a known error per record), so the biases are known exactly."""
    import model.train_delineator as td

    ludb = Path(__file__).resolve().parents[3] / "shared" / "data" / "ludb"
    if not (ludb / "data" / "1.hea").is_file():
        pytest.skip("LUDB not available")
    records = [1, 2, 3, 4]
    data = load_ludb(ludb, records)
    error = {1: 2.0, 2: 4.0, 3: 10.0, 4: 20.0}  # ms, the same for every interval
    for r in records:
        data[r]["id"] = r
        data[r]["ref"] = global_intervals(data[r]["waves"], data[r]["fs"])

    def reading(weights: dict, d: dict) -> dict:
        return {q: None if v is None else v + error[d["id"]] for q, v in d["ref"].items()}

    monkeypatch.setattr(td, "predict", reading)
    monkeypatch.setattr(td, "train", lambda *a, **k: UNet().eval())
    biases, table = cross_validate(ludb, data, records, 2, 1, 0, tmp_path)
    which = json.loads((tmp_path / "folds.json").read_text())
    assert which == {"1": "fold0.npz", "2": "fold0.npz", "3": "fold1.npz", "4": "fold1.npz"}
    for f in (0, 1):
        assert {f"bias_{q}" for q in INTERVALS} <= set(load_weights(tmp_path / f"fold{f}.npz"))
    assert float(load_weights(tmp_path / "fold0.npz")["bias_qrs"]) == pytest.approx(15.0)
    assert float(load_weights(tmp_path / "fold1.npz")["bias_qrs"]) == pytest.approx(3.0)
    assert biases["qrs"] == pytest.approx(9.0)
    # Out of fold, after the other folds' bias: records 1, 2 read -13, -11; 3, 4 read 7, 17.
    assert table["qrs"]["network"]["mean_ms"] == pytest.approx(0.0)


def test_wide_complexes_are_drawn_more_often_when_asked() -> None:
    """``--wide-weight``: the leads of a record whose cardiologists' global QRS is at least
    WIDE_QRS_MS wide are drawn that many times as often; 1 leaves every lead alike."""
    from model.train_delineator import WIDE_QRS_MS, _draw_probabilities

    def record(width_ms: float) -> dict[str, object]:
        fs = 500.0
        on = 1000
        off = on + int(width_ms * fs / 1000)
        waves = [{QRS: [(on, (on + off) // 2, off)], P_WAVE: [], T_WAVE: []} for _ in range(12)]
        return {"waves": waves, "fs": fs}

    data = {1: record(100.0), 2: record(WIDE_QRS_MS + 20.0)}
    items = [(r, lead) for r in data for lead in range(12)]
    assert _draw_probabilities(data, items, 1.0) is None
    p = _draw_probabilities(data, items, 3.0)
    assert p is not None
    assert p.sum() == pytest.approx(1.0)
    assert p[12:].sum() == pytest.approx(3 * p[:12].sum())
