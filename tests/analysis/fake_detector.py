"""A stand-in for ``model.infer.Detector`` with the DESIGN.md API, counting its calls.

Its score is the record's peak absolute amplitude in mV, so a test knows the expected ranking
from the signals it wrote, without trusting our own output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ecgviewer.errors import MissingLeadsError, ScoringCancelled
from ecgviewer.record import Record
from ecgviewer.result import Finding

MODEL = {"name": "fake", "version": "0.0-test", "sha256": "f" * 64}


@dataclass
class FakeResult:
    score: float
    percentile: float
    lead_scores: dict[str, float]
    beats: list[tuple[float, float, float, dict[str, float]]]
    anomaly_map: np.ndarray
    restored: np.ndarray
    flags: set[str] = field(default_factory=set)
    model: dict[str, str] = field(default_factory=lambda: dict(MODEL))
    findings: list[Finding] = field(default_factory=list)
    map_reference: float | None = None
    finding_map: np.ndarray | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "percentile": self.percentile,
            "findings": [f.to_json() for f in self.findings],
        }


class FakeDetector:
    model = MODEL

    def __init__(self, fail_leads_below: int = 0) -> None:
        self.calls = 0  # score_many / score invocations
        self.records = 0  # ECGs scored
        self.batches: list[int] = []
        self.fail_leads_below = fail_leads_below

    def _one(self, record: Record) -> FakeResult:
        if record.n_leads < self.fail_leads_below:
            raise MissingLeadsError(record.source, "needs more leads")
        data = record.data()
        peak = float(np.max(np.abs(data)))
        per_lead = np.max(np.abs(data), axis=1)
        where = int(np.argmax(np.abs(data).max(axis=0)))
        t = where / record.fs
        lead = record.leads[int(np.argmax(np.abs(data[:, where])))]
        amap = np.zeros_like(data)
        amap[:, max(0, where - 10) : where + 10] = peak
        return FakeResult(
            score=peak,
            percentile=float(min(100.0, peak * 10)),
            lead_scores={lead: float(v) for lead, v in zip(record.leads, per_lead, strict=True)},
            beats=[(max(0.0, t - 0.2), t + 0.2, peak, {})],
            anomaly_map=amap,
            restored=data * 0.9,
            findings=[Finding(lead, max(0.0, t - 0.2), t + 0.2, peak, 99.0, "beat")],
        )

    def score(self, record: Record, progress: Any = None, cancel: Any = None) -> FakeResult:
        if cancel is not None and cancel():
            raise ScoringCancelled()
        self.calls += 1
        self.records += 1
        return self._one(record)

    def score_many(self, records: list[Record], batch: int = 32) -> list[FakeResult]:
        self.calls += 1
        self.records += len(records)
        self.batches.append(len(records))
        return [self._one(r) for r in records]
