"""What one scored ECG is (:class:`ScoreResult`, DESIGN.md "Detector API"), and how its
signal quality is attached to it (:func:`with_quality`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ecgviewer.record import STANDARD_LEADS, Record
from ecgviewer.result import Finding
from ecgviewer.signal.quality import SignalQuality
from model import findings as findings_mod


@dataclass
class ScoreResult:
    """What the viewer and the worklist need about one scored ECG (DESIGN.md, Detector API)."""

    score: float
    percentile: float | None
    lead_scores: dict[str, float]
    beats: list[tuple[float, float, float, dict[str, float]]]
    anomaly_map: np.ndarray  # (n_leads, n_samples) aligned to record.signal
    restored: np.ndarray  # (n_leads, n_samples) mV, aligned to record.signal
    flags: set[str]
    model: dict[str, str]
    #: the parts the card's score is made of (and what else came free); every score kind
    #: only when the Detector was asked for all components (model selection)
    components: dict[str, float] = field(default_factory=dict)
    map_reference: float | None = None  # heat band full scale (twice the calibrated threshold)
    quality: SignalQuality | None = None  # per-lead signal quality, measured before scoring
    #: calibrated regions beyond what normal ECGs show, most unusual first (model/findings.py)
    findings: list[Finding] = field(default_factory=list)
    #: each part of the score in weighted SD above the selection normals
    #: (score_kinds.ensemble_parts): what makes the ECG unusual as a whole
    parts: dict[str, float] = field(default_factory=dict)
    #: the global measurements (``measure_novelty`` feature names: pr_ms, qtc_fridericia_ms,
    #: ...) at least MEASURE_Z_SHOWN robust SD from normal ECGs, signed, largest first
    measure_z: dict[str, float] = field(default_factory=dict)
    #: what the heat band draws: 1 = the calibrated finding threshold (None without calibration)
    finding_map: np.ndarray | None = None
    #: the raw per-lead/per-beat values findings come from (for calibration; not summarised);
    #: without maps (``Detector.make_maps`` False) only the per-lead parts the lead scores use
    evidence: findings_mod.Evidence | None = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        """JSON-able summary (score cache, CSV export) without the per-sample arrays."""
        out = {
            "score": self.score,
            "percentile": self.percentile,
            "lead_scores": self.lead_scores,
            "beats": [[a, b, s, ls] for a, b, s, ls in self.beats],
            "flags": sorted(self.flags),
            "model": self.model,
            "components": self.components,
            "findings": [f.to_json() for f in self.findings],
        }
        if self.measure_z:
            out["measure_z"] = self.measure_z
        if self.quality is not None and not self.quality.ok:
            out["quality"] = self.quality.compact()
        return out


def with_quality(result: ScoreResult, record: Record, quality: SignalQuality) -> ScoreResult:
    """Attach the signal quality; leave leads that are off or clipped out of what is shown.

    The model always sees 12 leads, so its record score and percentile assume them all: with
    an unusable lead the percentile is withheld (kept in ``components`` for the card) and the
    heat band, lead scores and beat scores rest on the remaining leads only.
    """
    result.quality = quality
    result.flags |= quality.flags
    bad = set(quality.unusable)
    if "derived_limb_leads" in result.flags and bad & {"I", "II"}:
        bad |= {"III", "aVR", "aVL", "aVF"}
    if not bad:
        return result
    if bad & set(STANDARD_LEADS):  # extra leads (V3R, V7, ...) are not the model's
        if result.percentile is not None:
            result.components["percentile_all_leads"] = result.percentile
        result.percentile = None
    for name in bad:
        result.lead_scores.pop(name, None)
        if name in record.leads:
            row = record.leads.index(name)
            result.anomaly_map[row] = 0.0
            result.restored[row] = np.nan
            if result.finding_map is not None:
                result.finding_map[row] = 0.0
    result.findings = [f for f in result.findings if f.lead not in bad]
    beats = []
    for t0, t1, score, per_lead in result.beats:
        kept = {k: v for k, v in per_lead.items() if k not in bad}
        beats.append((t0, t1, float(np.mean(list(kept.values()))) if kept else score, kept))
    result.beats = beats
    return result
