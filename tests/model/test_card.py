"""Choosing the record score on the selection half (model/card.py)."""

from __future__ import annotations

import argparse

import numpy as np

from model.card import _choose_score, training_command
from model.config import ModelConfig
from model.metrics import auroc


def test_forward_selection_weighs_the_stronger_part_double_and_improves_on_it() -> None:
    rng = np.random.default_rng(0)
    labels = np.r_[np.zeros(400, bool), np.ones(400, bool)]
    y = labels.astype(float)
    comps = {  # two independent noisy views of the label, one twice as informative
        "strong": np.exp(1.2 * y + rng.normal(size=800)),
        "weak": 0.6 * y + rng.normal(size=800),
        "noise": rng.normal(size=800),
    }
    kind, spec, auc = _choose_score(comps, labels, ["strong", "weak", "noise"])
    assert kind == "ensemble" and spec is not None
    weights = dict(zip(spec["components"], spec["weight"]))
    assert "noise" not in weights
    assert weights["strong"] >= weights["weak"]
    assert spec["log"][spec["components"].index("strong")]  # positive: z of the log
    assert auc > auroc(labels, comps["strong"]) + 0.01


def test_a_single_best_part_is_kept_alone() -> None:
    rng = np.random.default_rng(1)
    labels = np.r_[np.zeros(300, bool), np.ones(300, bool)]
    comps = {"good": labels + rng.normal(scale=0.5, size=600), "noise": rng.normal(size=600)}
    kind, spec, _auc = _choose_score(comps, labels, ["good", "noise"])
    assert kind == "good" and spec is None


def test_training_command_reproduces_the_configuration() -> None:
    cfg = ModelConfig(epochs=10, mask_ratio=0.6, seed=7, channels=(8, 16, 32, 64))
    args = argparse.Namespace(ptbxl="../shared/data/ptbxl", folder=None, val_ptbxl=None,
                              out="runs/x", max_train=0)
    cmd = training_command(cfg, args)
    from model.train import build_parser

    parsed = build_parser().parse_args(cmd.split()[3:])
    assert (parsed.epochs, parsed.mask_ratio, parsed.seed, parsed.channels) == (10, 0.6, 7, "8,16,32,64")
    assert parsed.ptbxl == "../shared/data/ptbxl" and parsed.out == "runs/x"
