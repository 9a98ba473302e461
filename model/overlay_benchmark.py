"""Is the overlay trustworthy on real ECGs? Findings, infarct-territory leads, expected trace.

    python -m model.overlay_benchmark --ptbxl ../shared/data/ptbxl [--half report] [--limit N]

On one half of PTB-XL fold 9 (the *report* half by default: nothing is chosen on it):

- findings: share of normal ECGs with any finding (target <= 0.10) and share of abnormal
  ECGs above the normals' 95th score percentile with at least one finding (target >= 0.80);
- infarct territory: for records with one infarct territory among the scp_codes statements
  of likelihood >= 50 (IMI/ILMI -> II, III, aVF; ASMI/AMI -> V1-V4; LMI/ALMI -> I, aVL, V5,
  V6), the AUROC of ``lead_scores`` ranking the territory's leads above the other leads of
  the same record, averaged per territory and over territories (target >= 0.75; 0.5 = chance);
- expected-normal trace: on normal ECGs, the RMS difference (mV) between ``restored`` and
  the 0.5-40 Hz filtered input, both as drawn with that display filter (``filtered``: the
  same filter applied to ``restored``) and unfiltered (``raw``), median over ECGs (target
  <= 0.08 mV); ``jitter``: RMS of the trace's second difference over that of the filtered
  input (below 1 = smoother than the ECG itself);
- rhythm: share of records with an AFIB statement that get a rhythm finding, and how many
  normal ECGs get one (model/rhythm.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from ecgviewer.record import Record
from ecgviewer.signal.filters import bandpass
from model.metrics import auroc

TERRITORIES = {
    "inferior": (("IMI", "ILMI"), ("II", "III", "aVF")),
    "anterior": (("ASMI", "AMI"), ("V1", "V2", "V3", "V4")),
    "lateral": (("LMI", "ALMI"), ("I", "aVL", "V5", "V6")),
}
#: Seconds left out at each end of the trace comparison (filter edges).
EDGE_S = 0.3


def territory_of(codes: dict[str, float]) -> str | None:
    """The one infarct territory of a record's statements (likelihood >= 50), else None."""
    hits = {
        name
        for name, (statements, _) in TERRITORIES.items()
        if any(codes.get(c, 0.0) >= 50 for c in statements)
    }
    return hits.pop() if len(hits) == 1 else None


def territory_auroc(lead_scores: dict[str, float], territory: str) -> float:
    """Within-record AUROC: the territory's leads against the record's other leads."""
    leads = TERRITORIES[territory][1]
    names = [k for k, v in lead_scores.items() if np.isfinite(v)]
    member = np.array([k in leads for k in names])
    if member.all() or not member.any():
        return float("nan")
    return auroc(member, np.array([lead_scores[k] for k in names], np.float64))


def trace_error(record: Record, restored: np.ndarray) -> dict[str, float]:
    """RMS (mV) of restored vs the 0.5-40 Hz filtered input, filtered and raw, + jitter."""
    rows = [i for i in range(record.n_leads) if np.isfinite(restored[i]).all()]
    if not rows:
        return {"filtered": float("nan"), "raw": float("nan"), "jitter": float("nan")}
    x = record.data()[rows].astype(np.float64)
    y = restored[rows].astype(np.float64)
    fx = bandpass(x, record.fs, 0.5, 40.0)
    fy = bandpass(y, record.fs, 0.5, 40.0)
    edge = int(EDGE_S * record.fs)
    inner = slice(edge, x.shape[1] - edge) if x.shape[1] > 4 * edge else slice(None)
    d2 = np.sqrt(np.mean(np.diff(y[:, inner], 2) ** 2)) / max(
        np.sqrt(np.mean(np.diff(fx[:, inner], 2) ** 2)), 1e-9
    )
    return {
        "filtered": float(np.sqrt(np.mean((fy - fx)[:, inner] ** 2))),
        "raw": float(np.sqrt(np.mean((y - fx)[:, inner] ** 2))),
        "jitter": float(d2),
    }


def run(det: Any, root: str, half: str = "report", limit: int = 0) -> dict[str, Any]:
    """All overlay figures on one fold-9 half (see the module docstring)."""
    from model.data import ptbxl_split, read_single
    from model.evaluate import iter_scored

    split = ptbxl_split(root, det.cfg)
    items = list(getattr(split, half))
    if limit:
        normals = [i for i in items if i.normal][:limit]
        others = [i for i in items if not i.normal][:limit]
        items = normals + others

    def load(item: Any) -> Record:
        rec = read_single(item.path, "a PTB-XL record")
        if rec.patient.age is None and item.age is not None:
            rec.patient.age = item.age
        if rec.patient.sex is None and item.sex is not None:
            rec.patient.sex = item.sex
        return rec

    normal_any: list[bool] = []
    high_any: list[bool] = []
    per_territory: dict[str, list[float]] = {name: [] for name in TERRITORIES}
    traces: dict[str, list[float]] = {"filtered": [], "raw": [], "jitter": []}
    n_findings: list[int] = []
    afib_rhythm: list[bool] = []
    normal_rhythm: list[bool] = []
    for item, rec, res in iter_scored(det, items, load, desc=f"overlay {half}"):
        if rec is None or isinstance(res, Exception):
            continue
        findings = list(getattr(res, "findings", []) or [])
        rhythm_found = any(f.part == "rhythm" for f in findings)
        if "AFIB" in (getattr(item, "codes", {}) or {}):
            afib_rhythm.append(rhythm_found)
        elif item.normal:
            normal_rhythm.append(rhythm_found)
        if item.normal:
            normal_any.append(bool(findings))
            n_findings.append(len(findings))
            for key, value in trace_error(rec, res.restored).items():
                traces[key].append(value)
        elif item.abnormal and res.percentile is not None and res.percentile > 95:
            high_any.append(bool(findings))
        territory = territory_of(getattr(item, "codes", {}) or {})
        if territory is not None:
            per_territory[territory].append(territory_auroc(res.lead_scores, territory))
    territory_out: dict[str, Any] = {
        name: {"auroc": round(float(np.nanmean(v)), 3) if v else None, "n": len(v)}
        for name, v in per_territory.items()
    }
    means = [t["auroc"] for t in territory_out.values() if t["auroc"] is not None]
    territory_out["mean_over_territories"] = round(float(np.mean(means)), 3) if means else None
    return {
        "half": half,
        "findings": {
            "normal_share_with_any": round(float(np.mean(normal_any)), 3) if normal_any else None,
            "normal_findings_per_ecg": round(float(np.mean(n_findings)), 2) if n_findings else None,
            "n_normal": len(normal_any),
            "abnormal_above_p95_share_with_any": round(float(np.mean(high_any)), 3)
            if high_any
            else None,
            "n_abnormal_above_p95": len(high_any),
            "targets": {
                "normal_share_with_any": "<= 0.10",
                "abnormal_above_p95_share_with_any": ">= 0.80",
            },
        },
        "territory_lead_auroc": {**territory_out, "target_mean": ">= 0.75"},
        "rhythm_finding": {
            "afib_share": round(float(np.mean(afib_rhythm)), 3) if afib_rhythm else None,
            "n_afib": len(afib_rhythm),
            "normal_count": int(np.sum(normal_rhythm)),
            "n_normal": len(normal_rhythm),
        },
        "expected_trace_rms_mv": {
            "filtered_median": round(float(np.nanmedian(traces["filtered"])), 4)
            if traces["filtered"]
            else None,
            "raw_median": round(float(np.nanmedian(traces["raw"])), 4) if traces["raw"] else None,
            "jitter_ratio_median": round(float(np.nanmedian(traces["jitter"])), 3)
            if traces["jitter"]
            else None,
            "n_normal": len(traces["filtered"]),
            "target": "<= 0.08 mV",
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Print the overlay figures of the bundled (or given) weights as JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m model.overlay_benchmark", description=main.__doc__
    )
    parser.add_argument("--ptbxl", required=True)
    parser.add_argument("--weights", default=None)
    parser.add_argument("--half", choices=("selection", "report"), default="report")
    parser.add_argument("--limit", type=int, default=0, help="at most N normal and N other records")
    args = parser.parse_args(argv)
    from model.infer import Detector

    det = Detector.load(args.weights, device="cpu")
    print(json.dumps(run(det, args.ptbxl, args.half, args.limit), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
