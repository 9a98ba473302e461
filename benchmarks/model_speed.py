"""Scoring speed of the anomaly model, end to end, printed as JSON.

    python benchmarks/model_speed.py                 # CPU, torch's default thread count
    python benchmarks/model_speed.py --threads 1
    python benchmarks/model_speed.py --contention    # + single ECG beside a busy process
    python benchmarks/model_speed.py --archive 512   # + ecgad score's archive pipeline
    python benchmarks/model_speed.py --device cuda   # GPU: + 10,000-ECG archive, autocast check

What is timed, per 10 s 12-lead ECG at ``--fs`` (500 Hz by default, a cart's rate; synthetic
ECGs from ecgviewer.signal.synthetic with different seeds and heart rates):

* ``single``: ``Detector.score(record)`` one ECG at a time: resampling, filtering, R peaks,
  signal quality, windows, ONE batched network call holding every mask pattern and beat,
  stitching, the full per-sample localization map and the restored signal mapped back to the
  input's samples.
* ``batched``: ``Detector.score_many(records, batch=64)``: the same, 64 ECGs per network call.
  ``cpu_ms_per_ecg`` is process CPU time (all threads), which a busy machine does not inflate;
  ``ecg_per_s_if_cores_idle`` = threads x 1000 / cpu_ms_per_ecg.
* ``contention``: ``single`` alone and beside one competing busy process (issue 17: at most
  twice as slow). OpenMP's wait policy is PASSIVE unless OMP_WAIT_POLICY is set.
* ``archive``: ``ecgad score``'s pipeline (ecgviewer.analysis.archive) on N ECGs written as
  WFDB files and as a CODE-15% HDF5 collection: reading, preprocessing (in ``--workers``
  processes), scoring, full maps, results CSV.
  ``torchrun`` (``--ranks``, 4 on CUDA): the real command with that many processes sharing the
  GPU, each with its own preprocessing workers (CPU work per ECG, not the GPU, limits one).
* ``autocast_check`` (CUDA): bf16/fp16 scores against fp32 (issue 17: equal to 1e-3).
* ``reference_loop``: the same preprocessing and network, but called the way the published
  code does: one call per (beat, mask pattern) at batch size 1 (about 30 calls per ECG), no
  stitching. Shows what batching buys on the same weights.
* ``network_only``: forward passes on already prepared windows (the ceiling for batching).

Bundled weights (resources/model/weights.pt) are used when present, otherwise a randomly
initialised network of the default configuration (the cost is the same; the JSON says which).
Targets (issue 17), on a 2-core machine: single median <= 25 ms, batched >= 100 ECG/s; on one
H100/H200-class GPU, >= 2,000 ECG/s from WFDB files and >= 5,000 from an HDF5 collection.
Wall-clock timings on a machine that is busy with something else are pessimistic; the load
average is printed at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Before torch loads OpenMP (as ecgviewer does on import): idle threads sleep, not spin.
# Run with OMP_WAIT_POLICY=ACTIVE in the environment to measure the other policy.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ecgviewer.record import STANDARD_LEADS, Record  # noqa: E402
from ecgviewer.signal.synthetic import synthetic_ecg  # noqa: E402
from model.config import ModelConfig  # noqa: E402
from model.infer import Detector, forward_windows  # noqa: E402
from model.masking import beat_patterns, global_patterns  # noqa: E402
from model.network import CrossRestorationNet, trend_view  # noqa: E402
from model.preprocess import prepare  # noqa: E402

WEIGHTS = Path(__file__).resolve().parent.parent / "resources" / "model" / "weights.pt"


def make_records(n: int, fs: float, seconds: float = 10.0) -> list[Record]:
    out = []
    for i in range(n):
        syn = synthetic_ecg(fs=fs, duration=seconds, hr=55.0 + (i * 7) % 50, seed=i)
        out.append(Record(syn.signal, fs, list(STANDARD_LEADS), source=f"synthetic-{i}"))
    return out


def load_detector(device: str) -> tuple[Detector, str]:
    if WEIGHTS.is_file():
        return Detector.load(WEIGHTS, device=device), f"bundled {WEIGHTS.name}"
    cfg = ModelConfig()
    torch.manual_seed(0)
    return Detector(
        CrossRestorationNet(cfg), cfg, {}, device
    ), "random initialisation (no bundled weights)"


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_single(det: Detector, records: list[Record], repeats: int) -> dict[str, Any]:
    for rec in records[:3]:
        det.score(rec)  # warm-up: allocator, kernels, filter design caches
    times, prep, cpu = [], [], []
    for i in range(repeats):
        rec = records[i % len(records)]
        t0 = time.perf_counter()
        prepare(rec, det.cfg, median_beats=det.bank is not None)  # what score() prepares
        prep.append(time.perf_counter() - t0)
        _sync(det.device)
        t0, c0 = time.perf_counter(), time.process_time()
        det.score(rec)
        _sync(det.device)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {
        "median_ms": round(1000 * statistics.median(times), 2),
        "cpu_ms_median": round(1000 * statistics.median(cpu), 2),  # all threads together
        "p90_ms": round(1000 * float(np.quantile(times, 0.9)), 2),
        "preprocessing_median_ms": round(1000 * statistics.median(prep), 2),
        "repeats": repeats,
    }


def time_batched(
    det: Detector, records: list[Record], batch: int, rounds: int = 3
) -> dict[str, Any]:
    det.score_many(records[:batch], batch=batch)  # warm-up
    rates, cpu = [], []
    for _ in range(rounds):
        _sync(det.device)
        t0, c0 = time.perf_counter(), time.process_time()
        det.score_many(records, batch=batch)
        _sync(det.device)
        rates.append(len(records) / (time.perf_counter() - t0))
        cpu.append(1000 * (time.process_time() - c0) / len(records))
    # CPU time per ECG does not depend on how busy the machine is (wall time does): what
    # the cores would deliver if this process had them to itself.
    cpu_ms = statistics.median(cpu)
    return {
        "ecg_per_s": round(statistics.median(rates), 1),
        "batch_windows": batch,
        "n_ecgs": len(records),
        "rounds": rounds,
        "cpu_ms_per_ecg": round(cpu_ms, 2),
        "ecg_per_s_if_cores_idle": round(torch.get_num_threads() * 1000 / cpu_ms, 1),
    }


def busy_process() -> subprocess.Popen[bytes]:
    """A competing process that keeps one core busy (a pure-Python loop)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def time_contention(det: Detector, records: list[Record], repeats: int) -> dict[str, Any]:
    """Single-ECG time alone and beside one busy process (issue 17: at most doubled)."""
    alone = time_single(det, records, repeats)
    proc = busy_process()
    try:
        time.sleep(0.5)
        busy = time_single(det, records, repeats)
    finally:
        proc.kill()
        proc.wait()
    return {
        "alone_median_ms": alone["median_ms"],
        "busy_median_ms": busy["median_ms"],
        "busy_p90_ms": busy["p90_ms"],
        "slowdown": round(busy["median_ms"] / alone["median_ms"], 2),
        "competing_processes": 1,
    }


def write_archive(folder: Path, n: int, fs: float) -> tuple[Path, Path]:
    """``n`` 10 s 12-lead ECGs as WFDB files (at ``fs``) and as a CODE-15% HDF5 collection."""
    import h5py
    import wfdb

    wfdb_dir = folder / "wfdb"
    wfdb_dir.mkdir(parents=True)
    base = make_records(min(n, 32), fs)
    for i in range(n):
        sig = np.asarray(base[i % len(base)].signal, np.float64).T
        wfdb.wrsamp(
            f"ecg{i:06d}",
            fs=int(fs),
            units=["mV"] * 12,
            sig_name=list(STANDARD_LEADS),
            p_signal=sig,
            fmt=["16"] * 12,
            adc_gain=[1000.0] * 12,
            baseline=[0] * 12,
            write_dir=str(wfdb_dir),
        )
    h5 = folder / "exams.h5"
    code15 = make_records(min(n, 32), 400.0, seconds=10.24)
    with h5py.File(h5, "w") as fh:
        tr = fh.create_dataset("tracings", (n, 4096, 12), np.float32, chunks=(1, 4096, 12))
        for i in range(n):
            tr[i] = np.asarray(code15[i % len(code15)].signal, np.float32)[:, :4096].T
        fh.create_dataset("exam_id", data=np.arange(n, dtype=np.int64))
    return wfdb_dir, h5


def time_archive(
    det: Detector, n: int, fs: float, workers: int, batch: int, chunk: int, ranks: int = 0
) -> dict[str, Any]:
    """``ecgad score`` end to end (read + preprocess + score + full maps + results file), as
    ECG/s, for WFDB files and for an HDF5 collection; with ``ranks``, also the real command
    under torchrun with that many processes sharing the device(s) (process start and model
    load included in its time)."""
    import io as stdio

    from ecgviewer.analysis.archive import score_archive

    out: dict[str, Any] = {"n_ecgs": n, "workers": workers, "batch_windows": batch, "chunk": chunk}
    with tempfile.TemporaryDirectory(prefix="ecgad-bench-") as tmp:
        wfdb_dir, h5 = write_archive(Path(tmp), n, fs)
        for name, source in (("wfdb_files", wfdb_dir), ("hdf5_collection", h5)):
            result = Path(tmp) / f"{name}.csv"
            _sync(det.device)
            t0 = time.perf_counter()
            run = score_archive(
                source,
                result,
                det,
                batch=batch,
                chunk=chunk,
                workers=workers,
                parquet=False,
                progress=stdio.StringIO(),
            )
            _sync(det.device)
            seconds = time.perf_counter() - t0
            out[name] = {
                "ecg_per_s": round(n / seconds, 1),
                "scored": run.scored,
                "errors": run.errors,
            }
            if ranks > 1:
                out[name]["torchrun"] = time_torchrun(
                    source, Path(tmp) / f"{name}-tr.csv", n, ranks, det.device
                )
    return out


def time_torchrun(source: Path, result: Path, n: int, ranks: int, device: str) -> dict[str, Any]:
    """``torchrun --nproc_per_node=ranks -m ecgviewer.cli score SOURCE --out RESULT``."""
    cores = os.cpu_count() or 2
    workers = max(0, cores // ranks - 1) if device.startswith("cuda") else 0
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={ranks}",
        "-m",
        "ecgviewer.cli",
        "score",
        str(source),
        "--out",
        str(result),
        "--device",
        "cuda" if device.startswith("cuda") else "cpu",
        "--workers",
        str(workers),
        "--threads",
        str(max(1, cores // ranks - workers)),
        "--no-parquet",
    ]
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=root)
    seconds = time.perf_counter() - t0
    rows = 0
    if result.exists():
        with open(result, encoding="utf-8") as fh:
            rows = max(0, sum(1 for _ in fh) - 1)
    return {
        "ranks": ranks,
        "workers_per_rank": workers,
        "ecg_per_s": round(n / seconds, 1),
        "rows": rows,
        "exit_status": proc.returncode,
        "stderr_tail": proc.stderr[-300:] if proc.returncode not in (0, 2) else "",
    }


def check_autocast(det: Detector, records: list[Record], batch: int) -> dict[str, Any]:
    """Scores in mixed precision against fp32 (issue 17: equal to 1e-3)."""
    ref = [r.score for r in det.score_many(records, batch=batch)]
    out: dict[str, Any] = {}
    for kind in ("bf16", "fp16"):
        det.autocast = kind
        try:
            got = [getattr(r, "score", float("nan")) for r in det.score_many(records, batch=batch)]
            diff = float(np.nanmax(np.abs(np.asarray(got) - np.asarray(ref))))
            t0 = time.perf_counter()
            det.score_many(records, batch=batch)
            _sync(det.device)
            rate = len(records) / (time.perf_counter() - t0)
            out[kind] = {
                "max_abs_score_diff": diff,
                "within_1e-3": diff <= 1e-3,
                "ecg_per_s": round(rate, 1),
            }
        finally:
            det.autocast = None
    return out


def time_network_only(det: Detector, records: list[Record], batch: int) -> dict[str, Any]:
    windows = [w for rec in records for w in prepare(rec, det.cfg).windows]
    forward_windows(det.net, windows[:batch], det.cfg, det.device)
    _sync(det.device)
    t0 = time.perf_counter()
    for a in range(0, len(windows), batch):
        forward_windows(det.net, windows[a : a + batch], det.cfg, det.device)
    _sync(det.device)
    return {
        "ecg_per_s": round(len(records) / (time.perf_counter() - t0), 1),
        "batch_windows": batch,
    }


def reference_loop(det: Detector, rec: Record) -> int:
    """Score like the published code: one network call per (beat, pattern), batch size 1."""
    cfg, device = det.cfg, det.device
    p = prepare(rec, cfg)
    # The same mask patterns as the Detector uses (score_repeats sets of n_patterns), so both
    # do the same work and differ only in how it is batched.
    repeats = int(getattr(cfg, "score_repeats", 1))
    gp = torch.from_numpy(
        global_patterns(cfg, repeats) if repeats > 1 else global_patterns(cfg)
    ).to(device)
    bp = torch.from_numpy(beat_patterns(cfg, repeats) if repeats > 1 else beat_patterns(cfg)).to(
        device
    )
    calls = 0
    errors = []
    with torch.inference_mode():
        for w in p.windows:
            x = torch.from_numpy(w.signal).to(device)[None]
            beats = w.beats if len(w.beats) else [None]
            for r in beats:
                if r is None:
                    b = torch.zeros(1, 1, cfg.n_leads, cfg.beat_len, device=device)
                    valid = torch.zeros(1, 1, dtype=torch.bool, device=device)
                else:
                    b = x[:, None, :, r - cfg.beat_pre : r - cfg.beat_pre + cfg.beat_len]
                    valid = torch.ones(1, 1, dtype=torch.bool, device=device)
                for k in range(len(gp)):
                    x_in = x * ~gp[k]
                    out = det.net(x_in, b * ~bp[k], valid, trend_view(x_in, cfg))
                    errors.append(float(((out.global_signal - x) ** 2 * gp[k]).mean()))
                    calls += 1
    return calls


def cfg_patterns(cfg: ModelConfig) -> int:
    return cfg.n_patterns * int(getattr(cfg, "score_repeats", 1))


def time_reference(det: Detector, records: list[Record], repeats: int) -> dict[str, Any]:
    reference_loop(det, records[0])
    times, calls = [], []
    for i in range(repeats):
        _sync(det.device)
        t0 = time.perf_counter()
        calls.append(reference_loop(det, records[i % len(records)]))
        _sync(det.device)
        times.append(time.perf_counter() - t0)
    return {
        "median_ms": round(1000 * statistics.median(times), 2),
        "network_calls_per_ecg": round(float(np.mean(calls)), 1),
        "repeats": repeats,
    }


def run_device(device: str, args: argparse.Namespace) -> dict[str, Any]:
    det, weights = load_detector(device)
    single_recs = make_records(16, args.fs)
    out: dict[str, Any] = {
        "weights": weights,
        "mask_patterns_per_window": cfg_patterns(det.cfg),
        "channels": list(det.cfg.channels),
        "latent": det.cfg.latent,
    }
    out["single"] = time_single(det, single_recs, args.repeats)
    if not args.skip_reference:
        out["reference_loop"] = time_reference(det, single_recs, max(5, args.repeats // 3))
        out["speedup_single_vs_reference_loop"] = round(
            out["reference_loop"]["median_ms"] / out["single"]["median_ms"], 1
        )
    many = make_records(args.n_batched, args.fs)
    out["batched"] = time_batched(det, many, 64)
    out["network_only"] = time_network_only(det, many, 64)
    # What batching cannot remove: preprocessing, stitching, maps back to the input (CPU).
    out["non_network_ms_per_ecg"] = round(
        1000 / out["batched"]["ecg_per_s"] - 1000 / out["network_only"]["ecg_per_s"], 2
    )
    if device.startswith("cuda"):
        out["batched_512"] = time_batched(det, many, 512)
        out["network_only_512"] = time_network_only(det, many, 512)
        out["autocast_check"] = check_autocast(det, many, 512)
    if args.contention:
        out["contention"] = time_contention(det, single_recs, args.repeats)
    if args.archive:
        gpu = device.startswith("cuda")
        workers = (
            args.workers if args.workers >= 0 else (max(1, (os.cpu_count() or 2) - 1) if gpu else 0)
        )
        ranks = args.ranks if args.ranks >= 0 else (4 if gpu else 0)
        out["archive"] = time_archive(
            det, args.archive, args.fs, workers, 512 if gpu else 64, 1024 if gpu else 64, ranks
        )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument(
        "--device",
        default="auto",
        choices=["auto", "cpu", "cuda"],
        help="auto: CPU, plus CUDA when available",
    )
    p.add_argument("--fs", type=float, default=500.0, help="input rate of the synthetic ECGs")
    p.add_argument("--repeats", type=int, default=30, help="timed single-ECG runs")
    p.add_argument("--n-batched", type=int, default=256, help="ECGs in the batched run")
    p.add_argument(
        "--contention",
        action="store_true",
        help="also time single ECGs beside a competing busy process",
    )
    p.add_argument(
        "--archive",
        type=int,
        default=0,
        metavar="N",
        help="also score N ECGs as WFDB files and as an HDF5 collection end to end "
        "(ecgad score's pipeline); default 10000 with --device cuda",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=-1,
        help="preprocessing processes for --archive (default: cores - 1 on a GPU, 0 on CPU)",
    )
    p.add_argument(
        "--ranks",
        type=int,
        default=-1,
        help="--archive also under torchrun with this many processes sharing the "
        "device (default: 4 with --device cuda, none on CPU)",
    )
    p.add_argument("--skip-reference", action="store_true", help="skip the slow reference loop")
    args = p.parse_args(argv)
    if args.device == "cuda" and not args.archive:
        args.archive = 10000
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = ModelConfig()
    result: dict[str, Any] = {
        "input": f"10 s, 12 leads, {args.fs:g} Hz synthetic ECGs (model rate {cfg.fs:g} Hz)",
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "machine": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }
    devices = []
    if args.device in ("auto", "cpu"):
        devices.append("cpu")
    if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()):
        devices.append("cuda")
    for device in devices:
        result[device] = run_device(device, args)
        if device == "cuda":
            result[device]["gpu"] = torch.cuda.get_device_name(0)
    result["targets"] = {
        "cpu_single_median_ms": 25,
        "cpu_batched_ecg_per_s": 100,
        "cpu_contention_slowdown_at_most": 2.0,
        "cuda_archive_wfdb_ecg_per_s": 2000,
        "cuda_archive_hdf5_ecg_per_s": 5000,
    }
    if hasattr(os, "getloadavg"):
        result["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
