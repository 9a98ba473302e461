"""Signal-quality checks (ecgviewer/signal/quality.py) on PTB-XL normals, printed as JSON.

    python benchmarks/quality_accuracy.py --set report            # the published figures
    python benchmarks/quality_accuracy.py --set selection         # tuning (with --set train)
    python benchmarks/quality_accuracy.py --set train --limit 1500 --stats

For every normal ECG of the chosen set (PTB-XL normals: folds 1-8 ``train``; fold 9
``selection`` or ``report`` half, the model's patient-disjoint halves) it measures:

* false flags: each problem flagged on the untouched ECG (should be rare: the target for
  ``lead_off`` is <= 2 %); also among the ECGs that PTB-XL's technicians did not mark with
  baseline drift, static or burst noise or electrode problems (the marked ones are often
  rightly flagged noisy);
* detection: the same ECG with one synthetic fault, and whether the check names the faulted
  leads. Faults (seeded per record, so the run is repeatable):
  - ``flat_V1_V6``: V1-V6 replaced by a constant (target >= 95 % flagged lead_off:V1..V6);
  - ``off_V1_V6_noise``: V1-V6 replaced by amplifier noise (white, 0.012 mV RMS, quantised at
    1 uV: ~0.07 mV peak to peak, the level of a disconnected cart input);
  - ``flat_one``: one random lead constant;
  - ``clip_one``: one random lead clipped at 50 % of its largest deviation from its median;
  - ``emg_one`` / ``emg_one_moderate``: white noise of 0.10 / 0.05 mV RMS on one random lead;
  - ``wander_one``: a 0.3 Hz sine of 1.5 mV amplitude (3 mV peak to peak) on one random lead;
  - ``mains_one_500hz``: the ECG resampled to 500 Hz, 50 Hz sine of 0.1 mV amplitude on one
    random lead (PTB-XL here is 100 Hz, where 50 Hz is the Nyquist rate; the 500 Hz copy has
    nothing above 50 Hz, so ``false_flags_500hz`` is optimistic for real 500 Hz carts);
  - ``la_ra_swap``: arm electrodes swapped (I -> -I, II <-> III, aVR <-> aVL).

``--abnormal`` reports the flag rates on the set's abnormal ECGs (fold 9 halves only): a
pathology taken for a lead off would lose its percentile. ``--stats`` adds percentiles of each measure on the untouched ECGs (used to set thresholds on
the train and selection sets only). Times are per ECG on this machine (busy machines are slow).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ecgviewer import io  # noqa: E402
from ecgviewer.signal import quality as Q  # noqa: E402
from ecgviewer.signal.resample import resample  # noqa: E402

DEFAULT_ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "ptbxl"
CHEST = ["V1", "V2", "V3", "V4", "V5", "V6"]


def faults(
    x: np.ndarray, leads: list[str], rng: np.random.Generator
) -> dict[str, tuple[np.ndarray, float, str, list[str]]]:
    """name -> (signal, fs, problem expected, leads expected)."""
    fs = 100.0
    n = x.shape[1]
    out: dict[str, tuple[np.ndarray, float, str, list[str]]] = {}
    chest = [leads.index(c) for c in CHEST]
    y = x.copy()
    y[chest] = 0.0
    out["flat_V1_V6"] = (y, fs, Q.LEAD_OFF, CHEST)
    y = x.copy()
    y[chest] = np.round(rng.normal(0, 0.012, (6, n)), 3)
    out["off_V1_V6_noise"] = (y, fs, Q.LEAD_OFF, CHEST)
    k = int(rng.integers(12))
    y = x.copy()
    y[k] = float(np.median(x[k]))
    out["flat_one"] = (y, fs, Q.LEAD_OFF, [leads[k]])
    k = int(rng.integers(12))
    y = x.copy()
    med = float(np.median(x[k]))
    amp = float(np.abs(x[k] - med).max())
    y[k] = np.clip(x[k], med - 0.5 * amp, med + 0.5 * amp)
    out["clip_one"] = (y, fs, Q.CLIPPED, [leads[k]])
    for name, rms in (("emg_one", 0.10), ("emg_one_moderate", 0.05)):
        k = int(rng.integers(12))
        y = x.copy()
        y[k] = x[k] + rng.normal(0, rms, n)
        out[name] = (y, fs, Q.NOISY, [leads[k]])
    k = int(rng.integers(12))
    y = x.copy()
    t = np.arange(n) / fs
    y[k] = x[k] + 1.5 * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 2 * np.pi))
    out["wander_one"] = (y, fs, Q.NOISY, [leads[k]])
    k = int(rng.integers(12))
    y = resample(x, fs, 500.0).astype(np.float64)
    t = np.arange(y.shape[1]) / 500.0
    y[k] = y[k] + 0.1 * np.sin(2 * np.pi * 50.0 * t + rng.uniform(0, 2 * np.pi))
    out["mains_one_500hz"] = (y, 500.0, Q.NOISY, [leads[k]])
    idx = {name: leads.index(name) for name in ("I", "II", "III", "aVR", "aVL")}
    y = x.copy()
    y[idx["I"]] = -x[idx["I"]]
    y[idx["II"]], y[idx["III"]] = x[idx["III"]], x[idx["II"]]
    y[idx["aVR"]], y[idx["aVL"]] = x[idx["aVL"]], x[idx["aVR"]]
    out["la_ra_swap"] = (y, fs, Q.REVERSAL, ["I", "aVR"])
    return out


def _noise_annotated(root: Path) -> set[int]:
    """ECGs PTB-XL's technicians marked with baseline drift, noise or electrode problems."""
    import csv

    cols = ("baseline_drift", "static_noise", "burst_noise", "electrodes_problems")
    with open(root / "ptbxl_database.csv", newline="", encoding="utf-8") as fh:
        return {
            int(r["ecg_id"])
            for r in csv.DictReader(fh)
            if any((r.get(c) or "").strip() for c in cols)
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(DEFAULT_ROOT))
    parser.add_argument("--set", choices=("train", "selection", "report"), default="report")
    parser.add_argument("--limit", type=int, default=0, help="at most this many ECGs (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stats", action="store_true", help="percentiles of each measure")
    parser.add_argument(
        "--abnormal",
        action="store_true",
        help="the set's abnormal ECGs instead (MI, STTC, CD, HYP; fold 9 only): how often "
        "a real pathology is taken for a recording problem; no faults added",
    )
    args = parser.parse_args(argv)

    from model.config import ModelConfig
    from model.data import ptbxl_split

    split = ptbxl_split(args.root, ModelConfig())
    annotated = _noise_annotated(Path(args.root))
    items = [r for r in getattr(split, args.set) if (r.abnormal if args.abnormal else r.normal)]
    if args.limit and len(items) > args.limit:
        pick = np.random.default_rng(args.seed).choice(len(items), args.limit, replace=False)
        items = [items[i] for i in sorted(pick)]
    counts: dict[str, int] = {}
    false: dict[str, int] = {p: 0 for p in Q.PROBLEMS}
    false_500: dict[str, int] = {p: 0 for p in Q.PROBLEMS}
    false_clean: dict[str, int] = {p: 0 for p in Q.PROBLEMS}
    noise_kind: dict[str, int] = {}
    n_clean = 0
    hit: dict[str, int] = {}
    exact: dict[str, int] = {}
    times: list[float] = []
    times_500: list[float] = []
    measures: dict[str, list[float]] = {
        k: []
        for k in (
            "qrs_over_between",
            "qrs_mv",
            "emg_rel",
            "wander_rel",
            "emg_mv",
            "wander_mv",
            "clipped_runs",
        )
    }
    flagged_examples: dict[str, list[str]] = {p: [] for p in Q.PROBLEMS}
    for j, item in enumerate(items):
        rec = io.read(item.path)
        x = np.asarray(rec.signal, dtype=np.float64)
        leads = list(rec.leads)
        t0 = time.perf_counter()
        q = Q.assess(x, rec.fs, leads)
        times.append(time.perf_counter() - t0)
        found = Q.parse_flags(q.flags)
        clean = item.ecg_id not in annotated
        n_clean += clean
        for kind in {k for lq in q.leads for k in lq.noise_kinds}:
            noise_kind[kind] = noise_kind.get(kind, 0) + 1
        for p in found:
            false[p] += 1
            false_clean[p] += clean
            if len(flagged_examples[p]) < 10:
                flagged_examples[p].append(f"{item.ecg_id}:{','.join(found[p])}")
        x500 = resample(x, rec.fs, 500.0)
        t0 = time.perf_counter()
        q500 = Q.assess(x500, 500.0, leads)
        times_500.append(time.perf_counter() - t0)
        for p in Q.parse_flags(q500.flags):
            false_500[p] += 1
        if args.stats:
            for lq in q.leads:
                if lq.problems and Q.LEAD_OFF in lq.problems:
                    continue
                measures["qrs_mv"].append(lq.qrs_mv)
                measures["qrs_over_between"].append(lq.qrs_mv / max(lq.between_mv, 1e-6))
                measures["emg_mv"].append(lq.emg_mv)
                measures["wander_mv"].append(lq.wander_mv)
                measures["emg_rel"].append(lq.emg_rel)
                measures["wander_rel"].append(lq.wander_rel)
                measures["clipped_runs"].append(lq.clipped_runs)
        rng = np.random.default_rng([args.seed, item.ecg_id])
        for name, (y, fs, problem, want) in (
            {} if args.abnormal else faults(x, leads, rng)
        ).items():
            counts[name] = counts.get(name, 0) + 1
            got = Q.parse_flags(Q.assess(y, fs, leads).flags).get(problem, [])
            ok = set(want) <= set(got)
            hit[name] = hit.get(name, 0) + ok
            exact[name] = exact.get(name, 0) + (ok and set(got) == set(want))
        if (j + 1) % 200 == 0:
            print(f"{j + 1}/{len(items)}", file=sys.stderr)
    n = len(items)
    out: dict[str, Any] = {
        "command": "python benchmarks/quality_accuracy.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "data": f"PTB-XL 1.0.1 100 Hz {'abnormals' if args.abnormal else 'normals'}, {args.set} set"
        + (f" (random {n}, seed {args.seed})" if args.limit else ""),
        "n_ecgs": n,
        "false_flag_rate": {p: round(false[p] / n, 4) for p in Q.PROBLEMS},
        "false_flag_rate_by_noise_kind": {
            k: round(v / n, 4) for k, v in sorted(noise_kind.items())
        },
        "n_without_ptbxl_noise_annotation": n_clean,
        "false_flag_rate_without_ptbxl_noise_annotation": {
            p: round(false_clean[p] / max(1, n_clean), 4) for p in Q.PROBLEMS
        },
        "false_flag_rate_500hz_resampled": {p: round(false_500[p] / n, 4) for p in Q.PROBLEMS},
        "detection_rate": {k: round(hit[k] / counts[k], 4) for k in counts},
        "detection_rate_exact_leads": {k: round(exact[k] / counts[k], 4) for k in counts},
        "ms_per_ecg_100hz_median": round(1000 * float(np.median(times)), 2),
        "ms_per_ecg_500hz_median": round(1000 * float(np.median(times_500)), 2),
        # The fastest ECG: close to the cost on an idle machine when this one is busy.
        "ms_per_ecg_100hz_min": round(1000 * float(np.min(times)), 2),
        "ms_per_ecg_500hz_min": round(1000 * float(np.min(times_500)), 2),
        "false_flag_examples": {p: v for p, v in flagged_examples.items() if v},
        "thresholds": {
            k: getattr(Q, k)
            for k in (
                "FLAT_MV",
                "LEAD_OFF_QRS_MV",
                "LEAD_OFF_RATIO",
                "LEAD_OFF_NO_BEATS_MV",
                "CLIP_MIN_RUNS",
                "CLIP_RUN_S",
                "EMG_REL",
                "EMG_MIN_MV",
                "MAINS_REL",
                "MAINS_MIN_MV",
                "WANDER_REL",
                "WANDER_MIN_MV",
                "REVERSAL_P_MV",
            )
        },
    }
    if args.stats:
        out["stats"] = {
            k: {
                f"p{p}": round(float(np.nanpercentile(v, p)), 4)
                for p in (1, 5, 50, 95, 99, 99.5, 99.9)
            }
            for k, v in measures.items()
            if v
        }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
