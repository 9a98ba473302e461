"""A fake scoring job with the real job's shape (DESIGN.md ScoreResult), for UI tests."""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

import numpy as np

from ecgviewer.record import Record
from ecgviewer.result import Finding
from tests.analysis.fake_detector import FakeResult

#: Where the fake map is hot: (lead, t_start s, t_end s).
HOT = ("V2", 3.0, 3.6)


#: The same stand-in result the worklist tests use (DESIGN.md ScoreResult fields).
FakeScoreResult = FakeResult


def fake_result(record: Record, hot: tuple[str, float, float] = HOT) -> FakeScoreResult:
    lead, t0, t1 = hot
    amap = np.zeros((record.n_leads, record.n_samples), dtype=np.float32)
    row = record.leads.index(lead)
    a, b = int(round(t0 * record.fs)), int(round(t1 * record.fs))
    amap[row, a:b] = 1.0
    restored = record.data() * 0.9
    beats = [(t0, t1, 5.0, {lead: 5.0}), (1.0, 1.6, 1.0, {"II": 1.0}), (6.0, 6.6, 2.0, {"V5": 2.0})]
    findings = [
        Finding(lead, t0, t1, 5.0, 99.9, "beat"),
        Finding("V5", 6.0, 6.6, 2.0, 99.0, "shape"),
        Finding("II", 1.0, 1.6, 1.0, 98.0, "restoration"),
    ]
    return FakeScoreResult(
        3.2, 98.4, {name: 0.1 for name in record.leads}, beats, amap, restored, findings=findings
    )


def fake_job(
    record: Record, device: str = "auto", steps: int = 10, step_s: float = 0.01
) -> Generator[tuple[int, int, str], None, FakeScoreResult]:
    for i in range(steps):
        time.sleep(step_s)  # stands in for one batch of the model
        yield i + 1, steps, f"batch {i + 1}/{steps}"
    return fake_result(record)


def slow_job(
    record: Record, device: str = "auto"
) -> Generator[tuple[int, int, str], None, FakeScoreResult]:
    """Effectively endless unless cancelled."""
    return (yield from fake_job(record, device, steps=10_000, step_s=0.01))


def failing_job(record: Record, device: str = "auto") -> Generator[tuple[int, int, str], None, Any]:
    yield 0, 1, "loading"
    raise RuntimeError("model exploded")
