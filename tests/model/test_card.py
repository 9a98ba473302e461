"""The model card's reproducible training command (model/card.py)."""

from __future__ import annotations

import argparse

from model.card import limits, training_command
from model.config import ModelConfig


def test_training_command_reproduces_the_configuration() -> None:
    cfg = ModelConfig(
        epochs=10,
        mask_ratio=0.6,
        seed=7,
        channels=(8, 16, 32, 64),
        aug_noise=0.03,
        extra={"init": {"path": "resources/model/weights.pt", "sha256": "ab"}},
    )
    args = argparse.Namespace(
        ptbxl="../shared/data/ptbxl", folder=None, val_ptbxl=None, out="runs/x", max_train=0
    )
    cmd = training_command(cfg, args, keep_evaluated=True)
    from model.train import build_parser

    parsed = build_parser().parse_args(cmd.split()[3:])
    assert (parsed.epochs, parsed.mask_ratio, parsed.seed, parsed.channels) == (
        10,
        0.6,
        7,
        "8,16,32,64",
    )
    assert parsed.ptbxl == "../shared/data/ptbxl" and parsed.out == "runs/x"
    assert parsed.augment and parsed.keep_evaluated and parsed.init == "resources/model/weights.pt"
    assert not build_parser().parse_args(training_command(ModelConfig(), args).split()[3:]).augment


def test_limits_name_the_number_of_training_normals() -> None:
    assert "7,254 normal" in limits(7254)[0]
