"""Peak memory of ``ecgad score`` on a 24 h Holter EDF and a 20,000-exam HDF5, printed as JSON.

Target (issue 16): under 1 GB for both, because ``ecgad score`` streams: a long recording is
read and scored as 10 s windows a batch at a time, a collection one ECG at a time.

The inputs are written in a temporary folder (deleted afterwards) from one synthetic 12-lead
ECG (``ecgviewer.signal.synthetic``), so every window and exam holds real beats:

* ``edf_24h``: EDF+C, 12 leads, 250 Hz, 24 h in 1 s data records (~520 MB).
* ``hdf5_20000``: CODE-15% layout, ``tracings`` (20000, 4096, 12) float32 in one chunk per exam,
  shuffle + gzip (quantised to 5 uV as a 16-bit cart would), 10 s exams centred as in CODE-15%.

Each file is scored by ``python -m ecgviewer.cli score FILE --device cpu --json`` in a fresh process;
``peak_mb`` is that process's own VmHWM (peak resident set, interpreter, torch and the model
included), read by the process itself just before it exits. ``lines`` counts the rows of the
JSON array it printed (1 for the EDF; one per exam for the HDF5), ``errors`` rows that are errors.

Usage: ``python benchmarks/score_memory.py [--hours 24] [--exams 20000] [--only edf|hdf5]
[--written-every N] [--keep DIR]`` (smaller values for a quick look; the targets are for the
defaults). On a shared 2-core machine scoring 20,000 exams takes hours; ``--written-every 20``
writes an ECG into every 20th exam only (the others are unwritten, all-zero exams, which are
listed, loaded and refused as errors one at a time like any other).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]

_CHILD = r"""
import sys
from ecgviewer.cli import main
status = main(sys.argv[1:])
with open("/proc/self/status") as fh:
    hwm = next(line for line in fh if line.startswith("VmHWM:"))
print("VMHWM_KB", hwm.split()[1], file=sys.stderr)
sys.exit(status)
"""


def _ten_seconds(fs: float) -> np.ndarray:
    from ecgviewer.signal.synthetic import synthetic_ecg

    return synthetic_ecg(fs=fs, duration=10.0, seed=3).signal.astype(np.float32)  # (12, n)


def write_holter_edf(path: Path, hours: float, fs: int = 250) -> Path:
    """A raw EDF+C writer (numpy, one 10 min block written repeatedly): fast for 520 MB."""
    n_records = int(hours * 3600)
    ns = len(LEADS) + 1
    tal_bytes = 60

    def field(value: object, width: int) -> bytes:
        return str(value).encode("ascii").ljust(width)[:width]

    header = (
        field("0", 8)
        + field("X X X X", 80)
        + field("Startdate X X X X", 80)
        + field("01.01.24", 8)
        + field("00.00.00", 8)
        + field(256 * (ns + 1), 8)
        + field("EDF+C", 44)
        + field(n_records, 8)
        + field(1, 8)
        + field(ns, 4)
    )
    labels = [f"ECG {lead}" for lead in LEADS] + ["EDF Annotations"]
    spr = [fs] * len(LEADS) + [tal_bytes // 2]
    per_signal = {
        "label": (16, labels),
        "transducer": (80, [""] * ns),
        "dim": (8, ["mV"] * len(LEADS) + [""]),
        "pmin": (8, [-10] * ns),
        "pmax": (8, [10] * ns),
        "dmin": (8, [-32768] * ns),
        "dmax": (8, [32767] * ns),
        "prefilter": (80, [""] * ns),
        "spr": (8, spr),
        "reserved": (32, [""] * ns),
    }
    for width, values in per_signal.values():
        header += b"".join(field(v, width) for v in values)
    ecg = _ten_seconds(fs)  # 10 s, tiled
    digital = np.clip(np.round(ecg / 20.0 * 65535 - 0.5), -32768, 32767).astype("<i2")
    block_s = 600
    with open(path, "wb") as fh:
        fh.write(header)
        for r0 in range(0, n_records, block_s):
            rows = []
            for r in range(r0, min(n_records, r0 + block_s)):
                sec = r % 10
                samples = digital[:, sec * fs : (sec + 1) * fs].tobytes()
                tal = f"+{r}\x14\x14\x00".encode().ljust(tal_bytes, b"\x00")
                rows.append(samples + tal)
            fh.write(b"".join(rows))
    return path


def write_code15(path: Path, n_exams: int, written_every: int = 1) -> Path:
    import h5py

    ecg = _ten_seconds(400.0)  # (12, 4000)
    exam = np.zeros((4096, 12), np.float32)
    exam[48:4048] = np.round(ecg.T / 0.005) * 0.005
    with h5py.File(path, "w") as fh:
        ds = fh.create_dataset(
            "tracings",
            shape=(n_exams, 4096, 12),
            dtype="f4",
            chunks=(1, 4096, 12),
            compression="gzip",
            compression_opts=1,
            shuffle=True,
        )
        if written_every == 1:
            block = 256
            for a in range(0, n_exams, block):
                b = min(n_exams, a + block)
                ds[a:b] = np.broadcast_to(exam, (b - a, 4096, 12))
        else:  # sparse: the other exams are never written (they read as zeros: error lines)
            for a in range(0, n_exams, written_every):
                ds[a] = exam
        fh["exam_id"] = np.arange(1_000_000, 1_000_000 + n_exams, dtype=np.int64)
    return path


def score_peak(path: Path) -> dict[str, object]:
    # One torch thread: on a shared 2-core machine a second thread only spins (measured 2-5x
    # slower); memory does not depend on it.
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, "score", str(path), "--device", "cpu", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(REPO),
    )
    seconds = time.perf_counter() - t0
    hwm = [ln for ln in proc.stderr.splitlines() if ln.startswith("VMHWM_KB")]
    try:
        lines = json.loads(proc.stdout) if proc.stdout.strip() else []
    except ValueError:
        lines = []
    out: dict[str, object] = {
        "file_mb": round(path.stat().st_size / 2**20, 1),
        "exit": proc.returncode,
        "peak_mb": round(int(hwm[-1].split()[1]) / 1024, 1) if hwm else None,
        "seconds": round(seconds, 1),
        "lines": len(lines),
        "errors": sum(bool(ln.get("error")) for ln in lines),
    }
    if len(lines) == 1 and "windows" in lines[0]:
        out.update(
            {k: lines[0].get(k) for k in ("windows", "windows_scored", "score", "percentile")}
        )
    if not hwm:
        out["stderr"] = proc.stderr[-2000:]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--exams", type=int, default=20_000)
    parser.add_argument(
        "--written-every",
        type=int,
        default=1,
        help="write only every Nth exam (the rest stay unwritten: all-zero exams "
        "that ecgad reports as errors); 1 = every exam holds an ECG",
    )
    parser.add_argument("--only", choices=["edf", "hdf5"], default=None)
    parser.add_argument("--keep", default=None, help="write the files here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="score_memory_") as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        result: dict[str, object] = {"target_mb": 1024}
        if args.only in (None, "edf"):
            t0 = time.perf_counter()
            edf = write_holter_edf(folder / "holter_24h.edf", args.hours)
            result["edf_written_s"] = round(time.perf_counter() - t0, 1)
            result[f"edf_{args.hours:g}h"] = score_peak(edf)
            print(
                json.dumps({f"edf_{args.hours:g}h": result[f"edf_{args.hours:g}h"]}),
                file=sys.stderr,
                flush=True,
            )  # a partial result survives an interrupted run
            if not args.keep:
                edf.unlink()
        if args.only in (None, "hdf5"):
            t0 = time.perf_counter()
            h5 = write_code15(folder / "code15_part.hdf5", args.exams, args.written_every)
            result["hdf5_written_s"] = round(time.perf_counter() - t0, 1)
            key = f"hdf5_{args.exams}" + (
                f"_every{args.written_every}" if args.written_every > 1 else ""
            )
            result[key] = score_peak(h5)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
