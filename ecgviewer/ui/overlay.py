"""From a model result to what the clinician reads: verdict, findings, heat-band scale.

Qt-free helpers so they are easy to test. The result is read as
:class:`ecgviewer.result.ScoredECG` (the DESIGN.md Detector API); findings are the model's
calibrated :class:`ecgviewer.result.Finding` regions.
"""

from __future__ import annotations

from typing import Any

from ecgviewer import wording
from ecgviewer.paper.heat import band_map, heat_scale  # noqa: F401 - re-exported
from ecgviewer.result import Finding, findings_of
from ecgviewer.signal.quality import PROBLEMS
from ecgviewer.wording import verdict  # noqa: F401 - the viewer's verdict (quality first)


def findings_from(result: Any, leads: list[str], limit: int = 50) -> list[Finding]:
    """The result's calibrated findings (most unusual first) in leads this record shows.

    Only regions beyond what normal ECGs show are findings (model/findings.py); a normal ECG
    usually has none, and the list says so instead of ranking every beat.
    """
    return [f for f in findings_of(result) if f.lead is None or f.lead in leads][:limit]


def finding_text(finding: Finding) -> str:
    """One line for the status bar: lead, time, how unusual and why."""
    lead = f"lead {finding.lead}" if finding.lead else "all leads"
    said = "" if finding.percentile is None else wording.comparison(finding.percentile)
    pct = f", {said[:1].lower()}{said[1:]}" if said else ""  # "ECGs" keeps its capitals
    return (
        f"{lead}, {finding.start:.2f}-{finding.end:.2f} s: {wording.sd_text(finding.score)} SD above "
        f"normal{pct} ({finding.reason})"
    )


def flag_texts(result: Any) -> list[str]:
    """Lines for the model's flags in plain words (ecgviewer.wording); signal-quality flags are
    told by :func:`quality_lines`."""
    return [
        wording.flag_text(f)
        for f in sorted(getattr(result, "flags", ()) or ())
        if f.partition(":")[0] not in PROBLEMS
    ]


def quality_lines(result: Any, limit: int = 6) -> list[str]:
    """ "signal quality: ..." and one line per problem lead (what was measured), for the panel."""
    quality = getattr(result, "quality", None)
    if quality is None or quality.ok:
        return (
            ["signal quality: no lead off, clipped or heavily noisy"] if quality is not None else []
        )
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
