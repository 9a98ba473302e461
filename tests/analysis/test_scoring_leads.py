"""The viewer's torch-free "can the model score this" check agrees with the model's config."""

from __future__ import annotations

import numpy as np

from ecgviewer.analysis.scoring import MODEL_LEADS, unscorable_reason
from ecgviewer.record import Record


def test_model_leads_are_the_model_configs():
    from model.config import ModelConfig

    assert tuple(ModelConfig().leads) == MODEL_LEADS


def test_unscorable_reason():
    two = Record(np.zeros((2, 1000), np.float32), 100.0, ["II", "V5"], source="x")
    assert unscorable_reason(two) == "the model needs the 12 standard leads; this record has II, V5"
    eight = Record(
        np.zeros((8, 1000), np.float32),
        100.0,
        ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"],
        source="y",
    )
    assert unscorable_reason(eight) is None  # limb leads derived from I and II
