"""Speed and accuracy of the DSP package (ecgviewer/signal), printed as JSON.

* ``rpeaks_ms``: median time of :func:`detect_r_peaks` on a 10 s 12-lead ECG at 100 Hz (the
  model's rate; target < 3 ms) and 500 Hz (target < 15 ms); ``xqrs_ms`` the same strip's
  lead II through ``wfdb.processing.xqrs_detect`` (single lead) for comparison.
* ``mitdb100``: sensitivity / positive predictivity (50 ms, ``wfdb.processing.compare_annotations``)
  over the whole 30 min of MIT-BIH record 100 at 360 Hz and resampled to 100 Hz, and the
  time the detector took on the whole record.
* ``intervals``: median time of :func:`measure_intervals`, and the largest absolute error (ms)
  of PR, QRS and QT on synthetic ECGs with known intervals (4 rhythms x 3 rates).
* ``filters_ms``: display filter (0.5-40 Hz + 50 Hz notch), median-filter baseline removal and
  500 -> 100 Hz resampling of a 10 s 12-lead strip.

Usage: ``python benchmarks/signal_speed.py [--fixtures ../shared/fixtures] [--repeats 50]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ecgviewer.signal.filters import DisplayFilter, remove_baseline  # noqa: E402
from ecgviewer.signal.intervals import measure_intervals  # noqa: E402
from ecgviewer.signal.resample import resample, resample_index  # noqa: E402
from ecgviewer.signal.rpeaks import detect_r_peaks  # noqa: E402
from ecgviewer.signal.synthetic import synthetic_ecg  # noqa: E402

BEATS = set("NLRBAaJSVrFejnE/fQ?")


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm caches (filter designs)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(1000 * statistics.median(times), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=REPO.parent / "shared" / "fixtures")
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    import wfdb
    from wfdb import processing

    out: dict[str, object] = {}
    strips = {fs: synthetic_ecg(fs=fs, seed=1, pvc_at=6.0) for fs in (100.0, 500.0)}
    out["rpeaks_ms"] = {
        f"{int(fs)}Hz_12lead_10s": _median_ms(
            lambda e=e: detect_r_peaks(e.signal, e.fs), args.repeats
        )
        for fs, e in strips.items()
    }
    e500 = strips[500.0]
    out["xqrs_ms"] = {
        "500Hz_leadII_10s": _median_ms(
            lambda: processing.xqrs_detect(e500.signal[1].astype(float), 500.0, verbose=False), 5
        )
    }

    rec = args.fixtures / "wfdb" / "100"
    if rec.with_suffix(".atr").is_file():
        sig = wfdb.rdrecord(str(rec)).p_signal.T.astype(np.float32)
        ann = wfdb.rdann(str(rec), "atr")
        ref = np.array([s for s, y in zip(ann.sample, ann.symbol, strict=True) if y in BEATS])
        res = {}
        for fs in (360.0, 100.0):
            x = sig if fs == 360.0 else resample(sig, 360.0, 100.0)
            r = ref if fs == 360.0 else resample_index(ref, 360.0, 100.0)
            t0 = time.perf_counter()
            peaks = detect_r_peaks(x, fs, lead=0)
            dt = time.perf_counter() - t0
            cmp = processing.compare_annotations(r, peaks, int(round(0.05 * fs)))
            res[f"{int(fs)}Hz"] = {
                "reference_beats": int(r.size),
                "detected": int(peaks.size),
                "sensitivity": round(cmp.sensitivity, 5),
                "ppv": round(cmp.positive_predictivity, 5),
                "seconds_30min_2lead": round(dt, 3),
            }
        out["mitdb100"] = res

    errors = {"pr": 0.0, "qrs": 0.0, "qt": 0.0}
    cases = [(70, 160, 90, 400), (55, 220, 120, 450), (90, 130, 80, 360), (110, 140, 100, 320)]
    for fs in (100.0, 250.0, 500.0):
        for hr, pr, qrs, qt in cases:
            e = synthetic_ecg(fs=fs, hr=hr, pr_ms=pr, qrs_ms=qrs, qt_ms=qt, seed=7)
            iv = measure_intervals(e.signal, fs, e.leads, detect_r_peaks(e.signal, fs))
            for key, truth in (("pr", pr), ("qrs", qrs), ("qt", qt)):
                val = getattr(iv, f"{key}_ms")
                errors[key] = max(
                    errors[key], abs(val - truth) if val is not None else float("inf")
                )
    p100 = detect_r_peaks(strips[100.0].signal, 100.0)
    p500 = detect_r_peaks(e500.signal, 500.0)
    out["intervals"] = {
        "max_abs_error_ms": {k: round(v, 1) for k, v in errors.items()},
        "ms_100Hz": _median_ms(
            lambda: measure_intervals(strips[100.0].signal, 100.0, strips[100.0].leads, p100), 20
        ),
        "ms_500Hz": _median_ms(lambda: measure_intervals(e500.signal, 500.0, e500.leads, p500), 20),
    }
    disp = DisplayFilter(0.5, 40.0, 50.0)
    out["filters_ms"] = {
        "display_0.5-40_notch50_500Hz": _median_ms(
            lambda: disp.apply(e500.signal, 500.0), args.repeats
        ),
        "remove_baseline_500Hz": _median_ms(
            lambda: remove_baseline(e500.signal, 500.0), args.repeats
        ),
        "resample_500_to_100": _median_ms(
            lambda: resample(e500.signal, 500.0, 100.0), args.repeats
        ),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
