"""Our global intervals beside the acquiring cart's own, on real cart exports, printed as JSON.

Every readable file under the given folders (default: the shared fixtures) whose
``Record.cart`` carries the cart's measurements is measured with
``ecgviewer.signal.intervals.measure`` (shipped: the rules averaged with the learned edge
network), with the rules alone (``learned=False``) and the cart-style QRS and QT shown beside
them (``Measurements.cart_style``); the line per file gives ours minus the
cart's, in ms for P duration, PR, QRS and QT and in degrees (the shorter way round) for the
frontal P, QRS and T axes. The same ECG exported twice (a Sierra file and
Philips' HL7 conversion of it, a Mortara aECG and its DICOM copy) counts once: files are told
apart by the cart's own intervals and the recording's length, which conversions keep.

This is not LUDB's accuracy (``benchmarks/measure_accuracy.py``): the carts' algorithms place
the global edges their own way. It shows how far apart ours and a cart's stand where a reader
sees both side by side.

    PYTHONPATH=$PWD python benchmarks/measure_vs_cart.py [FOLDER ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

#: our Measurements field for each of the cart's keys
FIELDS = {
    "p_duration": "p_duration_ms",
    "pr": "pr_ms",
    "qrs": "qrs_ms",
    "qt": "qt_ms",
    "p_axis": "p_axis_deg",
    "qrs_axis": "qrs_axis_deg",
    "t_axis": "t_axis_deg",
}
DEFAULT_FOLDERS = [Path(__file__).resolve().parents[2] / "shared" / "fixtures"]


def differences(path: Path) -> dict[str, Any] | None:
    """Ours minus the cart's for one file, or None when it holds no cart measurements."""
    from ecgviewer.errors import ECGError
    from ecgviewer.io import read
    from ecgviewer.signal.intervals import measure

    try:
        record = read(path)
    except (ECGError, OSError, ValueError):
        return None
    cart = record.cart.measurements if record.cart is not None else {}
    if not any(key in cart for key in FIELDS):
        return None
    # Conversions re-round the samples and reorder the leads; the cart's numbers stay.
    values = [cart.get(k) for k in ("pr", "qrs", "qt")]
    key = hashlib.sha1(repr((values, round(record.n_samples / record.fs))).encode()).hexdigest()
    out: dict[str, Any] = {"file": str(path), "cart": record.cart.source, "fs": record.fs}
    for learned, name in ((True, "shipped"), (False, "rules")):
        m = measure(record, learned=learned)
        out[name] = {
            k: None
            if getattr(m, f) is None or k not in cart
            else round(_difference(k, float(getattr(m, f)), float(cart[k])), 1)
            for k, f in FIELDS.items()
        }
        if learned:  # the narrower edges shown beside ours (Measurements.cart_style)
            out["cart_style"] = {
                k: None
                if k not in m.cart_style or k not in cart
                else round(m.cart_style[k] - float(cart[k]), 1)
                for k in FIELDS
            }
    out["same_ecg_key"] = key
    return out


def _difference(key: str, ours: float, cart: float) -> float:
    """Ours minus the cart's; for an axis the shorter way round the circle (-180..180)."""
    if key.endswith("axis"):
        return (ours - cart + 180.0) % 360.0 - 180.0
    return ours - cart


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Count, mean, SD and median absolute value of ours minus the cart's (ms or degrees)."""
    out: dict[str, Any] = {}
    for name in ("shipped", "rules", "cart_style"):
        out[name] = {}
        for k in FIELDS:
            d = np.array([r[name][k] for r in rows if r[name][k] is not None], np.float64)
            out[name][k] = {
                "n": int(d.size),
                "mean": round(float(d.mean()), 1) if d.size else None,
                "sd": round(float(d.std(ddof=1)), 1) if d.size > 1 else None,
                "median_abs": round(float(np.median(np.abs(d))), 1) if d.size else None,
            }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, default=DEFAULT_FOLDERS)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for folder in args.folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            row = differences(path)
            if row is None or row["same_ecg_key"] in seen:
                continue
            seen.add(row.pop("same_ecg_key"))
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(json.dumps({"part": "summary", "distinct_ecgs": len(rows), **summary(rows)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
