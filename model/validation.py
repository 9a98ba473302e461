"""The validation set and every score kind on it: shared by training (checkpoint selection,
model/train.py) and export (model/card.py), which must not import each other."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from ecgviewer import io
from ecgviewer.errors import ECGError
from ecgviewer.record import Record
from model.config import ModelConfig
from model.data import Labelled

log = logging.getLogger(__name__)


@dataclass
class ValidationSet:
    records: list[Record]
    labels: np.ndarray  # True = abnormal
    meta: list[Labelled]


def load_validation(items: list[Labelled]) -> ValidationSet:
    records, labels, meta = [], [], []
    for item in items:
        try:
            rec = io.read(item.path)
        except ECGError as exc:
            log.warning("validation record skipped: %s", exc)
            continue
        assert isinstance(rec, Record)
        # The database knows the patient (WFDB headers of PTB-XL do not): the model uses it.
        if rec.patient.age is None and item.age is not None:
            rec.patient.age = item.age
        if rec.patient.sex is None and item.sex is not None:
            rec.patient.sex = item.sex
        records.append(rec)
        labels.append(item.abnormal)
        meta.append(item)
    return ValidationSet(records, np.asarray(labels, bool), meta)


def score_components(
    net: Any,
    cfg: ModelConfig,
    val: ValidationSet,
    device: str,
    bank: Any = None,
    measure_model: Any = None,
) -> dict[str, np.ndarray]:
    """Every score kind for every validation record (records that fail get NaN; without a
    beat bank or measurement ranges their column is left out)."""
    from model.infer import Detector
    from model.local_events import EVENT_KINDS
    from model.score_kinds import BANK_KINDS, MEASURE_KINDS, SCORE_KINDS

    was_training = net.training
    det = Detector(
        net, cfg, {}, device, all_components=True, bank=bank, measure_model=measure_model
    )
    results = det.score_many(val.records, batch=96)
    net.train(was_training)
    keys = [
        k
        for k in SCORE_KINDS
        if (bank is not None or k not in BANK_KINDS)
        and (measure_model is not None or k not in MEASURE_KINDS)
    ]
    keys += [f"map_p99_{v}{s}" for v in ("w", "mse", "nll") for s in ("", "_all")]
    keys += ["pred_age", "age_gap", *EVENT_KINDS]
    out = {kind: np.full(len(results), np.nan) for kind in keys}
    for i, res in enumerate(results):
        if isinstance(res, ECGError):
            continue
        for kind in keys:
            out[kind][i] = res.components.get(kind, np.nan)
    return out
