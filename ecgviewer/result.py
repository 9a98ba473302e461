"""What a scored ECG hands to the viewer, the report and the worklist (Qt-free, torch-free).

The Detector (model/infer.py) builds a ``ScoreResult``; the ui, the report, the worklist and
the test fakes read it through :class:`ScoredECG`, so they never import torch or the model.
:class:`Finding` is the one region type all of them show and navigate (issue 19: one type,
not one per caller).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

#: What raised a finding, in words a reader understands (``Finding.part`` -> text).
PART_TEXT = {
    "shape": "beat shape unlike normal ECGs' beats in this lead (normal-beat bank)",
    "restoration": "hard to restore from normal ECGs (restoration error)",
    "beat": "this beat differs from the expected normal beat (normal-beat bank)",
    "beat_restoration": "this beat is hard to restore from normal ECGs (restoration error)",
    "window": "most unusual beat of an unusual 10 s window",
    "r_loss": "R wave smaller than normal ECGs' in this lead",
    "q_wave": "Q wave deeper than normal ECGs' in this lead",
    "rhythm": "irregular rhythm without consistent P waves (as in atrial fibrillation)",
    "qrst_angle": "wide spatial QRS-T angle: the T wave points away from the QRS (median beat)",
}


@dataclass(frozen=True)
class Finding:
    """One region of one lead that is beyond what normal ECGs show.

    ``score`` is in standard deviations above normal ECGs for that lead (calibrated on the
    selection half of PTB-XL fold 9), ``percentile`` where the region's local score falls
    among normal ECGs' local scores of that lead (0-100), ``part`` which score part raised it
    (a key of :data:`PART_TEXT`). Times are seconds from the record start.
    """

    lead: str | None
    start: float
    end: float
    score: float
    percentile: float | None = None
    part: str = "restoration"
    #: heavy noise in this lead over the region (signal.quality.noisy_spans): possibly an
    #: artefact rather than the heart
    noisy: bool = False

    @property
    def centre(self) -> float:
        return 0.5 * (self.start + self.end)

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def reason(self) -> str:
        text = PART_TEXT.get(self.part, self.part.replace("_", " "))
        if self.noisy:
            text += "; heavy noise in this lead here: possibly an artefact"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "lead": self.lead,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "score": round(self.score, 4),
            "percentile": None if self.percentile is None else round(self.percentile, 2),
            "part": self.part,
            **({"noisy": True} if self.noisy else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Finding:
        pct = data.get("percentile")
        return cls(
            data.get("lead"),
            float(data["start"]),
            float(data["end"]),
            float(data["score"]),
            None if pct is None else float(pct),
            str(data.get("part", "restoration")),
            bool(data.get("noisy", False)),
        )


@runtime_checkable
class ScoredECG(Protocol):
    """The part of a scoring result that ui/, report/ and the worklist read (DESIGN.md,
    Detector API). Arrays are aligned to ``record.signal`` (rows in the record's lead order)."""

    score: float
    percentile: float | None
    lead_scores: dict[str, float]
    beats: list[tuple[float, float, float, dict[str, float]]]
    findings: list[Finding]
    anomaly_map: np.ndarray
    finding_map: np.ndarray | None  # what the heat band draws; 1 = a calibrated finding
    restored: np.ndarray
    flags: set[str]
    model: dict[str, str]
    map_reference: float | None

    def summary(self) -> dict[str, Any]: ...


def findings_of(result: Any) -> list[Finding]:
    """``result.findings`` (a cached summary may hold them as dicts); [] when absent."""
    out = []
    for f in getattr(result, "findings", None) or []:
        out.append(f if isinstance(f, Finding) else Finding.from_json(f))
    return out
