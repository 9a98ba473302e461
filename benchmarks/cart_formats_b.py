"""Philips Sierra XML and SCP-ECG readers on the shared fixtures: read time and the largest
difference to an independent reference, printed as JSON.

References: sierraecg 0.4.0 (Sierra XML rhythm), ecgdatakit 2.0.3 (SCP-ECG, where it reads
the file), the plain int16 x AVM decode of uncompressed SCP files, and the same ECG in another
format (the Philips HL7 aECG export; the Mortara HL7 sample of the SCP example).
``read_ms`` is the median of ``--repeats`` warm reads through ``ecgviewer.io.read``.

Usage: ``python benchmarks/cart_formats_b.py [--fixtures ../shared/fixtures] [--repeats 20]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import struct
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ecgviewer.io import read  # noqa: E402

SIERRA = [
    "cart/philips_sierra/pysierraecg_1-03_repbeats_example.xml",
    "cart/philips_sierra/pysierraecg_1-04-01_2020-5-18.xml",
    "other/philips_sierra_1-03_129DYPRG.xml",
    "other/philips_sierra_1-04_ad4d3d80_orig.xml",
]
SCP = ["other/ecgtoolkit_Example.scp", "other/ecgsoft_demo.scp", "other/contec_ecg90a_0000050.scp"]
SAME_ECG = {
    "other/philips_sierra_1-04_ad4d3d80_orig.xml": "hl7aecg/philips_ad4d3d80_converted.xml",
    "other/ecgtoolkit_Example.scp": "hl7aecg/hl7_example_mortara_eli250.xml",
}


def _time(path: Path, repeats: int) -> float:
    read(path)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        read(path)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def _by_lead(rec, other) -> float:
    return max(
        float(
            np.abs(
                rec.signal[rec.leads.index(n)][: other.n_samples]
                - other.signal[other.leads.index(n)][: rec.n_samples]
            ).max()
        )
        for n in rec.leads
        if n in other.leads
    )


def _plain_scp(path: Path) -> np.ndarray:
    data = path.read_bytes()
    pointers = {}
    for pos in range(22, 142, 10):
        sid, length, index = struct.unpack_from("<HII", data, pos)
        if length:
            pointers[sid] = index - 1
    n_leads = data[pointers[3] + 16]
    s6 = pointers[6] + 16
    avm = struct.unpack_from("<H", data, s6)[0]
    sizes = struct.unpack_from(f"<{n_leads}H", data, s6 + 6)
    pos, rows = s6 + 6 + 2 * n_leads, []
    for size in sizes:
        rows.append(np.frombuffer(data[pos : pos + size], "<i2").astype(np.float64) * avm / 1e6)
        pos += size
    return np.stack(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=REPO.parent / "shared" / "fixtures")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    out: dict[str, dict] = {}
    import sierraecg

    for rel in SIERRA:
        path = args.fixtures / rel
        rec = read(path)
        ref = sierraecg.read_file(str(path))
        diff = max(
            float(np.abs(rec.signal[i] - lead.samples * 0.005).max())
            for i, lead in enumerate(ref.leads)
        )
        entry = {
            "leads": rec.n_leads,
            "samples": rec.n_samples,
            "fs": rec.fs,
            "max_diff_mv_vs_sierraecg": diff,
            "read_ms": _time(path, args.repeats),
        }
        if rel in SAME_ECG:
            entry["max_diff_mv_vs_same_ecg_hl7"] = _by_lead(
                rec, read(args.fixtures / SAME_ECG[rel])
            )
        out[rel] = entry
    from ecgdatakit import FileParser

    for rel in SCP:
        path = args.fixtures / rel
        rec = read(path)
        entry = {
            "leads": rec.n_leads,
            "samples": rec.n_samples,
            "fs": rec.fs,
            "derived": list(rec.derived_leads),
            "read_ms": _time(path, args.repeats),
        }
        try:
            ref = FileParser.parse(str(path))
            entry["max_diff_mv_vs_ecgdatakit"] = max(
                float(np.abs(rec.signal[rec.leads.index(lead.label)] - lead.samples).max())
                for lead in ref.leads
            )
        except Exception as exc:  # ecgdatakit refuses two of the files
            entry["ecgdatakit"] = f"refused: {exc}"
            plain = _plain_scp(path)
            stored = rec.n_leads - len(rec.derived_leads)
            entry["max_diff_mv_vs_plain_decode"] = float(
                np.abs(rec.signal[:stored] - plain[:stored, : rec.n_samples]).max()
            )
        if rel in SAME_ECG:
            entry["max_diff_mv_vs_same_ecg_hl7"] = _by_lead(
                rec, read(args.fixtures / SAME_ECG[rel])
            )
        out[rel] = entry
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
