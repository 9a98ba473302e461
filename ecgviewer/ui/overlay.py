"""From a model result to what the clinician reads: verdict, findings, heat-band scale.

Qt-free helpers so they are easy to test. The result object is duck-typed on the DESIGN.md
Detector API (``score``, ``percentile``, ``lead_scores``, ``beats``, ``anomaly_map``,
``restored``, ``flags``, ``model``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecgviewer import wording
from ecgviewer.paper.heat import heat_scale  # noqa: F401 - re-exported
from ecgviewer.signal.quality import PROBLEMS
from ecgviewer.wording import verdict  # noqa: F401 - the viewer's verdict (quality first)


@dataclass(frozen=True)
class Finding:
    """One flagged beat: where to look and how unusual it is."""

    rank: int
    lead: str
    beat: int  # 1-based beat number in the record
    t_start: float  # seconds from the record start
    t_end: float
    score: float

    @property
    def t_centre(self) -> float:
        return 0.5 * (self.t_start + self.t_end)


def findings_from(result: Any, leads: list[str], limit: int = 50) -> list[Finding]:
    """Beats ranked by score, each with its most unusual lead.

    ``beats`` rows are ``(t_start, t_end, score, lead_scores)``; a beat without lead scores
    is attributed to lead II (the rhythm lead), or the first lead.
    """
    beats = list(getattr(result, "beats", None) or [])
    rows: list[tuple[float, int, float, float, str]] = []
    for i, beat in enumerate(beats):
        t0, t1, score = float(beat[0]), float(beat[1]), float(beat[2])
        lead_scores = beat[3] if len(beat) > 3 else None
        lead = None
        if lead_scores:
            candidates = {k: v for k, v in dict(lead_scores).items() if k in leads}
            if candidates:
                lead = max(candidates, key=lambda k: candidates[k])
        if lead is None:
            lead = "II" if "II" in leads else leads[0]
        rows.append((score, i + 1, t0, t1, lead))
    rows.sort(key=lambda r: -r[0])
    return [Finding(k + 1, lead, beat, t0, t1, score)
            for k, (score, beat, t0, t1, lead) in enumerate(rows[:limit])]


def flag_texts(result: Any) -> list[str]:
    """Lines for the model's flags in plain words (ecgviewer.wording); signal-quality flags are
    told by :func:`quality_lines`."""
    return [wording.flag_text(f) for f in sorted(getattr(result, "flags", ()) or ())
            if f.partition(":")[0] not in PROBLEMS]


def quality_lines(result: Any, limit: int = 6) -> list[str]:
    """"signal quality: ..." and one line per problem lead (what was measured), for the panel."""
    quality = getattr(result, "quality", None)
    if quality is None or quality.ok:
        return ["signal quality: no lead off, clipped or heavily noisy"] if quality is not None else []
    lines = [f"signal quality: {quality.headline()}"]
    details = [f"  {line}" for line in quality.detail_lines()]
    if len(details) > limit:
        details = details[: limit - 1] + [f"  ... and {len(details) - limit + 1} more"]
    return lines + details


def model_text(result: Any) -> str:
    model = getattr(result, "model", None) or {}
    if not isinstance(model, dict):
        return str(model)
    name = model.get("name", "model")
    version = model.get("version", "?")
    sha = str(model.get("sha256", ""))[:12]
    return f"{name} {version}" + (f" ({sha})" if sha else "")
