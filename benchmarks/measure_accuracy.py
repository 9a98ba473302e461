"""Global interval accuracy against cardiologists' delineation (LUDB), as IEC 60601-2-25 asks.

Reference per record: LUDB's per-lead annotations (P, QRS, T onsets and offsets, set on each
of the 12 leads independently). Per beat, the global onset is the earliest onset and the global
offset the latest offset over the leads; the record's reference is the median over its beats
(P duration, PR, QRS, QT). Ours: ``ecgviewer.signal.intervals.measure(record)``. The table gives
mean and SD of (ours - reference) in ms for all records, for the rules' tuning half (records
1-50, used to choose their thresholds and calibration) and the rules' held-out half (51-100),
and per rhythm group, with the IEC limits (mean within +-10 ms for P, PR, QRS and +-25 ms for
QT; SD at most 15, 10, 10, 30).

``measure`` also averages each interval with the learned edge network's
(ecgviewer/signal/learned_edges.py), which was trained on all of records 1-100, so by default
every row is in-sample for the network. ``--fold-weights DIR`` (the folder ``python -m
model.train_delineator --fold-weights DIR`` writes) measures every record with the
cross-validation network that never saw it instead: the honest figure for the shipped method.

    PYTHONPATH=$PWD python benchmarks/measure_accuracy.py [--ludb ../shared/data/ludb] [--per-record]
        [--markdown] [--fold-weights DIR]

``--markdown`` prints the README's table (mean ± SD (n) per group, IEC limits) instead of JSON.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import sys
from pathlib import Path

import numpy as np

LEADS = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6")
QUANTITIES = ("p_duration", "pr", "qrs", "qt")
#: IEC 60601-2-25 (biological ECGs): (largest |mean difference|, largest SD) in ms.
IEC_LIMITS = {
    "p_duration": (10.0, 15.0),
    "pr": (10.0, 10.0),
    "qrs": (10.0, 10.0),
    "qt": (25.0, 30.0),
}
TUNING = range(1, 51)


@functools.lru_cache(maxsize=24)
def _waves(path: Path, lead: str) -> dict[str, list[tuple[int, int, int]]]:
    """(onset, peak, offset) samples of the p, N and t waves annotated on one lead (read
    once per record: the reference variants below share them)."""
    import wfdb

    ann = wfdb.rdann(str(path), lead)
    out: dict[str, list[tuple[int, int, int]]] = {"p": [], "N": [], "t": []}
    sym, smp = ann.symbol, ann.sample
    for i, s in enumerate(sym):
        if s in out and 0 < i < len(sym) - 1 and sym[i - 1] == "(" and sym[i + 1] == ")":
            out[s].append((int(smp[i - 1]), int(smp[i]), int(smp[i + 1])))
    return out


def reference(
    path: Path, fs: float = 500.0, drop: int = 0, parity: int | None = None
) -> dict[str, float | None]:
    """Median over beats of the global P duration, PR, QRS and QT (ms) from all 12 leads.

    ``drop`` > 0 leaves out that many most extreme leads at each edge (the earliest onsets
    and latest offsets), so one lead's stray annotation cannot set the global edge; the
    standard's reference is ``drop=0``. ``parity`` 0 or 1 keeps only the even- or
    odd-numbered beats (to see how much the reference moves with the beats it is taken over).
    """
    per_lead = [_waves(path, lead) for lead in LEADS]
    # Beats: QRS complexes clustered across leads by their peaks (within 80 ms).
    peaks = sorted(p for w in per_lead for (_, p, _) in w["N"])
    clusters: list[list[int]] = []
    for p in peaks:
        if clusters and p - clusters[-1][-1] <= 0.08 * fs:
            clusters[-1].append(p)
        else:
            clusters.append([p])
    centres = [int(np.median(c)) for c in clusters if len(c) >= 6]
    values: dict[str, list[float]] = {q: [] for q in QUANTITIES}
    ms = 1000.0 / fs
    for k, c in enumerate(centres):
        if parity is not None and k % 2 != parity:
            continue
        prev_c = centres[k - 1] if k else -(10**9)
        next_c = centres[k + 1] if k + 1 < len(centres) else 10**9
        qrs = [(a, b) for w in per_lead for (a, p, b) in w["N"] if abs(p - c) <= 0.08 * fs]
        on, off = _edge([a for a, _ in qrs], drop, -1), _edge([b for _, b in qrs], drop, +1)
        pw = [
            (a, b) for w in per_lead for (a, p, b) in w["p"] if max(prev_c, c - 0.5 * fs) < p < on
        ]
        tw = [
            (a, b) for w in per_lead for (a, p, b) in w["t"] if off < p < min(next_c, c + 0.8 * fs)
        ]
        values["qrs"].append((off - on) * ms)
        if len(pw) >= 3:
            p_on, p_off = _edge([a for a, _ in pw], drop, -1), _edge([b for _, b in pw], drop, +1)
            values["p_duration"].append((p_off - p_on) * ms)
            values["pr"].append((on - p_on) * ms)
        if len(tw) >= 3:
            values["qt"].append((_edge([b for _, b in tw], drop, +1) - on) * ms)
    return {q: (float(np.median(v)) if v else None) for q, v in values.items()}


def _edge(samples: list[int], drop: int, side: int) -> int:
    """Earliest (side -1) or latest (+1) sample after leaving out ``drop`` most extreme."""
    ordered = sorted(samples, reverse=side > 0)
    return ordered[min(drop, len(ordered) - 1)]


def _rhythms(ludb: Path) -> dict[int, str]:
    with open(ludb / "ludb.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out = {}
    for r in rows:
        rhythm = r["Rhythms"].strip()
        paced = bool(r["Cardiac pacing"].strip())
        group = (
            "paced"
            if paced
            else (
                "atrial fibrillation/flutter"
                if ("fibrillation" in rhythm or "flutter" in rhythm)
                else "sinus"
            )
        )
        out[int(r["ID"])] = group
    return out


def _stats(diffs: list[float], quantity: str) -> dict[str, object]:
    if not diffs:
        return {"n": 0}
    d = np.asarray(diffs)
    mean, sd = float(d.mean()), float(d.std(ddof=1)) if d.size > 1 else 0.0
    lim_mean, lim_sd = IEC_LIMITS[quantity]
    return {
        "n": int(d.size),
        "mean_ms": round(mean, 1),
        "sd_ms": round(sd, 1),
        "within_iec": bool(abs(mean) <= lim_mean and sd <= lim_sd),
    }


def markdown_table(result: dict) -> str:
    """The README's accuracy table: one row per record group, with the IEC limits."""
    held = result["held_out_by_rhythm"]
    groups = [
        ("51-100 (rules held out), all", result["held_out_51_100"]),
        ("51-100 (rules held out), sinus", held.get("sinus")),
        ("51-100 (rules held out), AF/flutter", held.get("atrial fibrillation/flutter")),
        ("51-100 (rules held out), paced", held.get("paced")),
        ("1-50 (rules tuned), all", result["tuning_1_50"]),
        ("1-50 (rules tuned), sinus", result["tuning_by_rhythm"].get("sinus")),
        ("1-100, all", result["all"]),
    ]
    lines = [
        f"Learned edge network: {result['learned_network']}.",
        "",
        "| records | P duration | PR | QRS | QT |",
        "|---|---|---|---|---|",
    ]
    for name, table in groups:
        cells = []
        for q in QUANTITIES:
            st = (table or {}).get(q, {"n": 0})
            cells.append(
                f"{st['mean_ms']:+.1f} ± {st['sd_ms']:.1f} ({st['n']})" if st["n"] > 1 else "—"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    limits = [f"±{m:g}, SD ≤ {s:g}" for m, s in IEC_LIMITS.values()]
    lines.append("| IEC 60601-2-25 limit | " + " | ".join(limits) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--ludb", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/ludb"
    )
    ap.add_argument("--per-record", action="store_true", help="also list every record's values")
    ap.add_argument("--markdown", action="store_true", help="print the README table, not JSON")
    ap.add_argument(
        "--fold-weights",
        type=Path,
        help="measure each record with the learned edge network of the cross-validation fold "
        "that left it out (the folder `python -m model.train_delineator --fold-weights` writes)",
    )
    args = ap.parse_args(argv)
    from ecgviewer.io import read
    from ecgviewer.signal import learned_edges
    from ecgviewer.signal.intervals import measure

    folds = (
        {int(k): v for k, v in json.loads((args.fold_weights / "folds.json").read_text()).items()}
        if args.fold_weights
        else {}
    )
    shipped = learned_edges.WEIGHTS

    data = args.ludb / "data"
    groups = _rhythms(args.ludb)
    rows = []
    for rec_id in sorted(groups):
        path = data / str(rec_id)
        if not path.with_suffix(".hea").exists():
            continue
        ref = reference(path)
        robust = reference(path, drop=1)
        halves = (reference(path, parity=0), reference(path, parity=1))
        if args.fold_weights:  # this record's out-of-fold network in place of the shipped one
            learned_edges.WEIGHTS = (
                str(args.fold_weights.resolve() / folds[rec_id]) if rec_id in folds else shipped
            )
            learned_edges.load_weights.cache_clear()
        m = measure(read(str(path.with_suffix(".hea"))))
        ours = {"p_duration": m.p_duration_ms, "pr": m.pr_ms, "qrs": m.qrs_ms, "qt": m.qt_ms}
        rows.append(
            {
                "id": rec_id,
                "group": groups[rec_id],
                "ref": ref,
                "ref_robust": robust,
                "ref_halves": halves,
                "ours": ours,
                "paced": m.paced,
                "reasons": {k: v for k, v in m.reasons.items() if k in ours},
            }
        )

    def table(selected: list[dict], ref: str = "ref") -> dict[str, object]:
        out: dict[str, object] = {}
        for q in QUANTITIES:
            diffs = [
                r["ours"][q] - r[ref][q]
                for r in selected
                if r["ours"][q] is not None and r[ref][q] is not None
            ]
            st = _stats(diffs, q)
            st["not_measured"] = sum(
                1 for r in selected if r["ref"][q] is not None and r["ours"][q] is None
            )
            st["no_reference"] = sum(1 for r in selected if r["ref"][q] is None)
            st["reported_without_reference"] = sum(
                1 for r in selected if r["ref"][q] is None and r["ours"][q] is not None
            )
            out[q] = st
        out["flagged_paced"] = sum(1 for r in selected if r["paced"])
        out["records"] = len(selected)
        return out

    def reference_noise(selected: list[dict]) -> dict[str, object]:
        """SD over records of (even-beat reference - odd-beat reference) / 2: the SD that the
        reference's own beat-to-beat annotation scatter adds to the difference of even a
        perfect measurement of the median beat (the full reference averages both halves)."""
        out: dict[str, object] = {}
        for q in QUANTITIES:
            d = [
                (a[q] - b[q]) / 2.0
                for a, b in (r["ref_halves"] for r in selected)
                if a[q] is not None and b[q] is not None
            ]
            out[q] = {
                "n": len(d),
                "sd_ms": round(float(np.std(d, ddof=1)), 1) if len(d) > 1 else None,
            }
        return out

    result: dict[str, object] = {
        "reference": "LUDB per-lead annotations; global = earliest onset / latest offset over 12 leads; median over beats",
        "learned_network": "each record measured by the cross-validation fold's network that "
        "never saw it (out of fold)"
        if args.fold_weights
        else "the shipped one, trained on LUDB 1-100 (in-sample on every row)",
        "iec_60601_2_25_limits_ms": {q: {"mean": m, "sd": s} for q, (m, s) in IEC_LIMITS.items()},
        "all": table(rows),
        "tuning_1_50": table([r for r in rows if r["id"] in TUNING]),
        "held_out_51_100": table([r for r in rows if r["id"] not in TUNING]),
        "by_rhythm": {
            g: table([r for r in rows if r["group"] == g]) for g in sorted(set(groups.values()))
        },
        "tuning_by_rhythm": {
            g: table([r for r in rows if r["group"] == g and r["id"] in TUNING])
            for g in sorted(set(groups.values()))
        },
        "held_out_by_rhythm": {
            g: table([r for r in rows if r["group"] == g and r["id"] not in TUNING])
            for g in sorted(set(groups.values()))
        },
        "robust_reference_note": "not the standard's reference: the one most extreme lead left "
        "out at each edge (shows how much spread one lead's stray "
        "annotation adds); calibration was not re-chosen for it",
        "reference_noise_note": "not our error: how much the standard's reference itself moves "
        "with the beats it is taken over (SD of half the difference between its values from the "
        "even- and the odd-numbered beats); this much of each SD is there for any method that "
        "measures one median beat",
        "reference_noise_tuning_1_50": reference_noise([r for r in rows if r["id"] in TUNING]),
        "reference_noise_held_out_51_100": reference_noise(
            [r for r in rows if r["id"] not in TUNING]
        ),
        "reference_noise_all": reference_noise(rows),
        "robust_reference_all": table(rows, "ref_robust"),
        "robust_reference_held_out_51_100": table(
            [r for r in rows if r["id"] not in TUNING], "ref_robust"
        ),
    }
    if args.per_record:
        result["records"] = rows
    if args.markdown:
        print(markdown_table(result))
        return 0
    json.dump(result, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
