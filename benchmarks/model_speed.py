"""Scoring speed of the anomaly model, end to end, printed as JSON.

    python benchmarks/model_speed.py                 # CPU, torch's default thread count
    python benchmarks/model_speed.py --threads 1
    python benchmarks/model_speed.py --contention    # + single ECG beside a busy process
    python benchmarks/model_speed.py --archive 512   # + ecgad score's archive pipeline
    python benchmarks/model_speed.py --parts single,batched   # only these parts
    python benchmarks/model_speed.py --device cuda   # GPU, sized to finish in ~5 minutes
    bash benchmarks/gpu_speed.sh run                 # the same on a lent GPU machine (see there)

Output is JSON Lines: a header line, then one line per part as soon as it is measured
(flushed, so an interrupted run keeps what it measured), then a summary line. Every part
line gives wall time and process CPU time (``time.process_time``: what this process used,
which a machine busy with other work does not inflate) and the 1-minute load average before
and after it.

With ``--device cuda`` the default parts, in this order, are ``network_only`` (the ceiling),
``archive_hdf5`` and ``archive_wfdb`` (``ecgad score`` end to end on 4,096 ECGs),
``cpu_stages``, ``batched``, ``single`` and ``autocast_check``, sized so that all of them finish in about five minutes on
one H100/H200 (writing the 4,096 WFDB files is most of it); parts not yet started when
``--max-seconds`` (default 300 on CUDA) has passed are skipped and listed as such.

What is timed, per 10 s 12-lead ECG at ``--fs`` (500 Hz by default, a cart's rate; synthetic
ECGs from ecgviewer.signal.synthetic with different seeds and heart rates):

* ``single``: ``Detector.score(record)`` one ECG at a time: resampling, filtering, R peaks,
  signal quality, windows, ONE batched network call holding every mask pattern and beat,
  stitching, the full per-sample localization map and the restored signal mapped back to the
  input's samples. With two or more cores the CPU work that needs no network (median beats
  against the bank, measurement features, signal quality) runs in a second thread beside the
  network; ``calling_thread_cpu_ms_median`` is the calling thread's own CPU time, about the
  wall time on idle cores (what a busy machine's wall time cannot show).
* ``batched``: ``Detector.score_many(records, batch=64)``: the same, 64 ECGs per network call.
  ``cpu_ms_per_ecg`` is process CPU time (all threads), which a busy machine does not inflate;
  ``ecg_per_s_if_cores_idle`` = usable cores x 1000 / cpu_ms_per_ecg (usable: torch's threads
  plus the thread that works beside the network, at most the machine's cores).
* ``batched_processes`` (CPU): the same ECGs shared among one process per core (``--processes``),
  each scoring its share in one thread without a second thread, as ``ecgad score`` scores a
  large archive on a CPU: all ECGs over the slowest process's time, process start and model
  load not included. As ``ecgad score``, without the per-sample results its table does not
  keep (``Detector.make_maps = False``: maps, restored trace, findings). Each process scores
  its share twice and ``ecg_per_s`` is the second pass, the steady state of a large archive:
  the first (``ecg_per_s_first_pass``) also pays ~15 ms once per process for each new call
  shape (windows x beats: oneDNN builds its convolution kernels), ~1 ms per ECG over 128 ECGs
  and nothing over an archive, where every shape recurs.
* ``batched_processes_maps`` (CPU): the same with every per-sample result made (what the
  viewer and the worklist show).
* ``contention``: ``single`` alone and beside one competing busy process (issue 17: at most
  twice as slow), in alternating turns of a few ECGs with the competitor paused and running,
  so that the machine's own drift falls on both. OpenMP's wait policy is PASSIVE unless
  OMP_WAIT_POLICY is set.
* ``cpu_stages``: one core's CPU per ECG for preparing (``Detector.preparer``, what a reading
  worker runs) and finishing (``Detector.finisher``), without and with the per-sample maps,
  on 64 ECGs; ``ecg_per_s_cpu_bound_with_maps`` = cores x 1000 / (prepare + finish with
  maps), the most a GPU host's CPUs can prepare and finish whatever its GPU does.
* ``archive_wfdb``, ``archive_hdf5``: ``ecgad score``'s pipeline (ecgviewer.analysis.archive) on N ECGs written as
  WFDB files and as a CODE-15% HDF5 collection: reading, preprocessing (in ``--workers``
  processes), scoring, finishing (in ``--finishers`` processes beside the network), full
  maps, results CSV. ``main_cpu_ms_per_ecg_outside_network``: the CPU the feeding process
  spends per ECG outside network calls (receiving prepared ECGs, building the network's
  inputs, handing the results on), which bounds one such process at 1000 / that ECG/s.
  ``torchrun`` (``--ranks N``, 4 by default on a GPU, none on a CPU): the real command with that many processes sharing the
  GPU, each with its own preprocessing workers (CPU work per ECG, not the GPU, limits one).
  On a CPU also ``own_processes``: the real ``ecgad score --processes N`` (N: one per core
  unless ``--processes`` says otherwise), which is how ``ecgad score`` scores a large archive
  on a CPU by default.
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
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Before torch loads OpenMP (as ecgviewer does on import): idle threads sleep, not spin.
# Run with OMP_WAIT_POLICY=ACTIVE in the environment to measure the other policy.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ecgviewer.analysis.archive_command import helper_processes  # noqa: E402
from ecgviewer.analysis.batch_scoring import run_to_end  # noqa: E402
from ecgviewer.record import STANDARD_LEADS, Record  # noqa: E402
from ecgviewer.signal.synthetic import synthetic_ecg  # noqa: E402
from model.config import ModelConfig  # noqa: E402
from model.infer import Detector  # noqa: E402
from model.masking import beat_patterns, global_patterns  # noqa: E402
from model.network import CrossRestorationNet, trend_view  # noqa: E402
from model.preprocess import prepare  # noqa: E402
from model.process_tuning import settle_scoring_process  # noqa: E402
from model.restore import forward_windows  # noqa: E402

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


def _time_score(det: Detector, rec: Record) -> tuple[float, float, float]:
    """Wall, process CPU and calling-thread CPU seconds of one ``Detector.score``."""
    _sync(det.device)
    t0, c0, o0 = time.perf_counter(), time.process_time(), time.thread_time()
    det.score(rec)
    _sync(det.device)
    return time.perf_counter() - t0, time.process_time() - c0, time.thread_time() - o0


def _warm_up(det: Detector, records: list[Record]) -> None:
    """A few ``Detector.score`` calls before timing: allocator, kernels, filter design caches."""
    for rec in records[:3]:
        det.score(rec)


def _ms(seconds: list[float], q: float = 0.5) -> float:
    """The ``q`` quantile of ``seconds`` in ms, rounded for the JSON (0.5: the median)."""
    return round(1000 * float(np.quantile(seconds, q)), 2)


def time_single(det: Detector, records: list[Record], repeats: int) -> dict[str, Any]:
    _warm_up(det, records)
    times, prep, cpu, own = [], [], [], []
    for i in range(repeats):
        rec = records[i % len(records)]
        t0 = time.perf_counter()
        prepare(rec, det.cfg, median_beats=det.bank is not None)  # what score() prepares
        prep.append(time.perf_counter() - t0)
        wall, used, mine = _time_score(det, rec)
        times.append(wall)
        cpu.append(used)
        own.append(mine)
    return {
        "median_ms": _ms(times),
        "cpu_ms_median": _ms(cpu),  # all threads together
        # The calling thread alone (the rest of the CPU time is torch's other threads and the
        # second thread beside the network): about the wall time on idle cores when that
        # second thread keeps pace. A busy machine does not inflate it as it does wall time.
        "calling_thread_cpu_ms_median": _ms(own),
        "p90_ms": _ms(times, 0.9),
        "preprocessing_median_ms": _ms(prep),
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
    # The cores this process can keep busy: torch's threads plus the thread beside the network.
    usable = min(os.cpu_count() or 1, torch.get_num_threads() + int(det.quality_beside_network))
    return {
        "ecg_per_s": round(statistics.median(rates), 1),
        "batch_windows": batch,
        "n_ecgs": len(records),
        "rounds": rounds,
        "cpu_ms_per_ecg": round(cpu_ms, 2),
        "ecg_per_s_if_cores_idle": round(usable * 1000 / cpu_ms, 1),
    }


def time_cpu_stages(det: Detector, records: list[Record]) -> dict[str, Any]:
    """One core's CPU per ECG for each stage off the network, as the pipeline's helpers run
    them (``Detector.preparer`` in a reading worker, ``Detector.finisher`` in a finishing
    worker, with and without the per-sample maps): on a GPU host, cores x 1000 / the sum
    bounds the ECGs per second its CPUs can prepare and finish, whatever the GPU does."""
    out: dict[str, Any] = {"n_ecgs": len(records)}
    make_maps = det.make_maps
    try:
        for maps in (False, True):
            det.make_maps = maps
            prepare_one, finish_one = det.preparer(), det.finisher()
            for r in records:  # warm-up: imports, caches, each length's filter states
                prepare_one(r)
            c0 = time.process_time()
            prepared = [prepare_one(r) for r in records]
            prepare_s = time.process_time() - c0
            window_maps = run_to_end(det.network_maps(prepared))
            c0 = time.process_time()
            for r, p, m in zip(records, prepared, window_maps, strict=True):
                if m is not None:
                    finish_one(r, p, m)
            finish_s = time.process_time() - c0
            key = "maps" if maps else "table_only"
            out[f"prepare_ms_{key}"] = round(1000 * prepare_s / len(records), 2)
            out[f"finish_ms_{key}"] = round(1000 * finish_s / len(records), 2)
    finally:
        det.make_maps = make_maps
    # At most this many ECGs a second with every map, every core preparing or finishing
    # (the feeding process's own ~2 ms per ECG and reading the files not counted).
    cores = os.cpu_count() or 1
    both = out["prepare_ms_maps"] + out["finish_ms_maps"]
    out["ecg_per_s_cpu_bound_with_maps"] = round(cores * 1000 / both, 1) if both else None
    out["cores"] = cores
    return out


def _process_share(
    rank: int, world: int, n: int, fs: float, maps: bool, barrier: Any, out: Any
) -> None:
    """One of :func:`time_batched_processes`' processes: its share of the ECGs, scored as
    ``ecgad score --processes`` scores (one torch thread, no second thread; ``maps``: with the
    per-sample results, which ``ecgad score`` does not make)."""
    torch.set_num_threads(1)
    det, _ = load_detector("cpu")
    settle_scoring_process()  # as ecgad score does after loading
    det.quality_beside_network = False
    det.make_maps = maps
    records = [r for i, r in enumerate(make_records(n, fs)) if i % world == rank]
    det.score_many(records[:8])  # warm-up
    timed = []
    for _ in range(2):  # the first pass meets each call shape for the first time; the second not
        barrier.wait()
        t0, c0 = time.perf_counter(), time.process_time()
        det.score_many(records)
        timed.append((time.perf_counter() - t0, time.process_time() - c0))
    out.put((len(records), *timed[1], timed[0][0]))


def time_batched_processes(n: int, fs: float, processes: int, maps: bool) -> dict[str, Any]:
    """``batched`` in ``processes`` processes (one per core), each scoring every
    ``processes``-th ECG in one thread, started together: how ``ecgad score`` uses a CPU
    for an archive (minus reading files; ``maps``: also the per-sample results, which it does
    not make). Rate: all ECGs over the slowest process's time."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(processes), ctx.Queue()
    procs = [
        ctx.Process(target=_process_share, args=(r, processes, n, fs, maps, barrier, out))
        for r in range(processes)
    ]
    for proc in procs:
        proc.start()
    shares = [out.get(timeout=1800) for _ in procs]
    for proc in procs:
        proc.join()
    total = sum(k for k, _, _, _ in shares)
    slowest = max(sec for _, sec, _, _ in shares)
    return {
        "ecg_per_s": round(total / slowest, 1),
        "processes": processes,
        "per_sample_maps": maps,
        "n_ecgs": total,
        "per_process_ecg_per_s": [round(k / sec, 1) for k, sec, _, _ in shares],
        "cpu_ms_per_ecg": round(1000 * sum(c for _, _, c, _ in shares) / total, 2),
        # The same ECGs' first pass, which also builds the convolution kernels of each call
        # shape (windows x beats) once per process: ~15 ms each, a one-off in a large archive.
        "ecg_per_s_first_pass": round(total / max(first for _, _, _, first in shares), 1),
    }


def busy_process() -> subprocess.Popen[bytes]:
    """A competing process that keeps one core busy (a pure-Python loop)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


#: ECGs scored in each turn of :func:`time_contention` before the competitor is switched.
CONTENTION_TURN = 5


def time_contention(det: Detector, records: list[Record], repeats: int) -> dict[str, Any]:
    """Single-ECG time alone and beside one busy process (issue 17: at most doubled).

    Measured in alternating turns of :data:`CONTENTION_TURN` ECGs, the competing process
    paused (SIGSTOP) for the "alone" turns and running for the "busy" ones, so that a drift in
    the machine's own speed falls on both alike: on the 2-core machine one ECG's median moved
    from 20 to 29 ms within minutes, and alone-then-busy in two blocks read slowdowns of 1.1
    to 2.2 for the same code. Where processes cannot be paused (Windows) the two blocks are
    measured one after the other.
    """
    _warm_up(det, records)
    turns = max(1, -(-repeats // CONTENTION_TURN))
    chunks = [
        [records[(t * CONTENTION_TURN + i) % len(records)] for i in range(CONTENTION_TURN)]
        for t in range(turns)
    ]
    alone: tuple[list[float], list[float]] = ([], [])
    busy: tuple[list[float], list[float]] = ([], [])

    def timed(into: tuple[list[float], list[float]], chunk: list[Record]) -> None:
        for rec in chunk:
            wall, used, _ = _time_score(det, rec)
            into[0].append(wall)
            into[1].append(used)

    pausable = hasattr(signal, "SIGSTOP") and hasattr(signal, "SIGCONT")
    if not pausable:
        timed(alone, [rec for chunk in chunks for rec in chunk])
    proc = busy_process()
    try:
        time.sleep(0.5)  # the competitor is running before the first busy turn
        for chunk in chunks:
            if pausable:
                proc.send_signal(signal.SIGSTOP)
                time.sleep(0.05)
                timed(alone, chunk)
                proc.send_signal(signal.SIGCONT)
                time.sleep(0.05)
            timed(busy, chunk)
    finally:
        proc.kill()  # SIGKILL ends a paused process too
        proc.wait()
    return {
        "alone_median_ms": _ms(alone[0]),
        "alone_cpu_ms_median": _ms(alone[1]),
        "busy_median_ms": _ms(busy[0]),
        "busy_cpu_ms_median": _ms(busy[1]),
        "busy_p90_ms": _ms(busy[0], 0.9),
        "slowdown": round(_ms(busy[0]) / _ms(alone[0]), 2),
        "competing_processes": 1,
        "measured": f"in {turns} alternating turns of {CONTENTION_TURN} ECGs"
        if pausable
        else "alone, then beside the competitor",
    }


def write_wfdb_folder(folder: Path, n: int, fs: float) -> Path:
    """``n`` 10 s 12-lead ECGs at ``fs`` as WFDB files (format 16) in ``folder / "wfdb"``."""
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
    return wfdb_dir


def write_hdf5_collection(folder: Path, n: int) -> Path:
    """``n`` ECGs as a CODE-15% HDF5 collection (``tracings`` n x 4096 x 12 at 400 Hz)."""
    import h5py

    h5 = folder / "exams.h5"
    code15 = make_records(min(n, 32), 400.0, seconds=10.24)
    with h5py.File(h5, "w") as fh:
        tr = fh.create_dataset("tracings", (n, 4096, 12), np.float32, chunks=(1, 4096, 12))
        for i in range(n):
            tr[i] = np.asarray(code15[i % len(code15)].signal, np.float32)[:, :4096].T
        fh.create_dataset("exam_id", data=np.arange(n, dtype=np.int64))
    return h5


def time_archive(
    det: Detector,
    kind: str,
    n: int,
    fs: float,
    workers: int,
    batch: int,
    chunk: int,
    ranks: int = 0,
    processes: int = 0,
    finishers: int = 0,
) -> dict[str, Any]:
    """``ecgad score`` end to end (read + preprocess + score + full maps + results file) on
    ``n`` ECGs written as WFDB files (``kind="wfdb"``, at ``fs``) or as an HDF5 collection
    (``kind="hdf5"``); writing them is not timed. With ``ranks``, also the real command under
    torchrun with that many processes sharing the device(s), and on a CPU with ``processes``
    the real command with ``--processes`` (process start and model load included in their
    ``ecg_per_s``; ``ecg_per_s_ranks_summed`` adds up the processes' own scoring rates). The
    real command makes only what its table keeps (``Detector.make_maps = False``); the
    pipeline timed in this process makes every per-sample result too.
    CPU time includes the worker processes (reaped children)."""
    import io as stdio
    import resource

    from ecgviewer.analysis.archive import score_archive

    out: dict[str, Any] = {
        "n_ecgs": n,
        "workers": workers,
        "finishers": finishers,
        "batch_windows": batch,
        "chunk": chunk,
    }
    with tempfile.TemporaryDirectory(prefix="ecgad-bench-") as tmp:
        t0 = time.perf_counter()
        if kind == "wfdb":
            source = write_wfdb_folder(Path(tmp), n, fs)
        else:
            source = write_hdf5_collection(Path(tmp), n)
        out["writing_s"] = round(time.perf_counter() - t0, 1)
        result = Path(tmp) / f"{kind}.csv"
        _sync(det.device)
        children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0, c0 = time.perf_counter(), time.process_time()
        with network_cpu_time() as network_cpu:
            run = score_archive(
                source,
                result,
                det,
                batch=batch,
                chunk=chunk,
                workers=workers,
                finishers=finishers,
                parquet=False,
                progress=stdio.StringIO(),
            )
            _sync(det.device)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_children = (children1.ru_utime + children1.ru_stime) - (
            children0.ru_utime + children0.ru_stime
        )
        out.update(
            {
                "ecg_per_s": round(n / seconds, 1),
                "wall_s": round(seconds, 2),
                "cpu_s": round(cpu, 2),
                "cpu_s_worker_processes": round(cpu_children, 2),
                # What bounds one feeding process whatever the device: 1000 / this ECG/s.
                "main_cpu_ms_per_ecg_outside_network": round(
                    1e3 * (cpu - network_cpu[0]) / max(1, n), 2
                ),
                "scored": run.scored,
                "errors": run.errors,
            }
        )
        if ranks > 1:
            out["torchrun"] = time_torchrun(
                source, Path(tmp) / f"{kind}-tr.csv", n, ranks, det.device
            )
        if processes > 1 and not str(det.device).startswith("cuda"):
            out["own_processes"] = time_processes(
                source, Path(tmp) / f"{kind}-pr.csv", n, processes
            )
    return out


@contextmanager
def network_cpu_time() -> Iterator[list[float]]:
    """This process's CPU seconds inside network calls while the block runs (``[0]``): on a
    CPU the network itself, on a GPU the launching of its kernels."""
    from model.network import WithoutGil

    spent = [0.0]
    call = WithoutGil.__call__

    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        c0 = time.process_time()
        try:
            out = call(self, *args, **kwargs)
            # A GPU runs the call after it returns; the driver's wait for it (a spin that
            # process CPU time counts) belongs to the network, not to the feeding process.
            _sync(str(args[0].device) if args and hasattr(args[0], "device") else "cpu")
            return out
        finally:
            spent[0] += time.process_time() - c0

    WithoutGil.__call__ = timed  # type: ignore[method-assign]
    try:
        yield spent
    finally:
        WithoutGil.__call__ = call  # type: ignore[method-assign]


def time_torchrun(source: Path, result: Path, n: int, ranks: int, device: str) -> dict[str, Any]:
    """``torchrun --nproc_per_node=ranks -m ecgviewer.cli score SOURCE --out RESULT``."""
    cores = os.cpu_count() or 2
    workers, finishers = helper_processes(max(1, cores // ranks), device.startswith("cuda"), -1, -1)
    head = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={ranks}",
        "-m",
        "ecgviewer.cli",
    ]
    tail = [
        "--device",
        "cuda" if device.startswith("cuda") else "cpu",
        # Several chunks per rank, so that reading, the network and finishing overlap (a
        # rank's share is n / ranks ECGs; the GPU default chunk of 1,024 would be all of it).
        "--chunk",
        str(max(32, min(256, n // (4 * ranks)))),
        "--workers",
        str(workers),
        "--finishers",
        str(finishers),
        "--threads",
        str(max(1, cores // ranks - workers - finishers)),
    ]
    return {
        "ranks": ranks,
        "workers_per_rank": workers,
        "finishers_per_rank": finishers,
        **_time_command(head, source, result, n, tail),
    }


def time_processes(source: Path, result: Path, n: int, processes: int) -> dict[str, Any]:
    """``ecgad score SOURCE --out RESULT --device cpu --processes N``: ecgad's own scoring
    processes on a CPU (one per core by default for a large archive)."""
    head = [sys.executable, "-m", "ecgviewer.cli"]
    tail = ["--device", "cpu", "--processes", str(processes)]
    return {"processes": processes, **_time_command(head, source, result, n, tail)}


def _time_command(
    head: list[str], source: Path, result: Path, n: int, tail: list[str]
) -> dict[str, Any]:
    """Run ``head score SOURCE --out RESULT tail --no-parquet``: the rate with process start
    and model load included, and the sum of the ranks' own final rates (scoring only)."""
    import re

    cmd = [*head, "score", str(source), "--out", str(result), *tail, "--no-parquet"]
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t0 = time.perf_counter()
    # Its own process group: a stalled run is stopped with every rank and worker it started
    # (torchrun's ranks outlive a killed launcher), and the later parts keep the GPU.
    with subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=root,
        start_new_session=True,
    ) as proc:
        try:
            _, stderr = proc.communicate(timeout=COMMAND_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _, stderr = proc.communicate()
            return {"timed_out_s": COMMAND_TIMEOUT_S, "stderr_tail": stderr[-300:]}
    seconds = time.perf_counter() - t0
    rows = 0
    if result.exists():
        with open(result, encoding="utf-8") as fh:
            rows = max(0, sum(1 for _ in fh) - 1)
    # Each rank's last progress line: "[rank 1/2] 400/400 ECGs (100 %), 31.7 ECG/s, ...".
    final: dict[str, float] = {}
    for m in re.finditer(r"\[rank (\d+)/\d+\] [^\n\r]*?([0-9.]+) ECG/s", stderr):
        final[m.group(1)] = float(m.group(2))
    return {
        "ecg_per_s": round(n / seconds, 1),
        "ecg_per_s_ranks_summed": round(sum(final.values()), 1) if final else None,
        "rows": rows,
        "exit_status": proc.returncode,
        "stderr_tail": stderr[-300:] if proc.returncode not in (0, 2) else "",
    }


def check_autocast(det: Detector, records: list[Record], batch: int) -> dict[str, Any]:
    """Scores in mixed precision against fp32 (issue 17: equal to 1e-3)."""
    ref = [r.score for r in det.score_many(records, batch=batch)]
    out: dict[str, Any] = {}
    for kind in ("bf16", "fp16"):
        det.autocast = kind
        try:
            got = np.asarray(
                [getattr(r, "score", float("nan")) for r in det.score_many(records, batch=batch)]
            )
            # An ECG that fails (a non-finite score is an error) counts against the check.
            failed = int((~np.isfinite(got) & np.isfinite(np.asarray(ref))).sum())
            both = np.isfinite(got) & np.isfinite(np.asarray(ref))
            diff = float(np.abs(got - np.asarray(ref))[both].max()) if both.any() else None
            t0 = time.perf_counter()
            det.score_many(records, batch=batch)
            _sync(det.device)
            rate = len(records) / (time.perf_counter() - t0)
            out[kind] = {
                "max_abs_score_diff": diff,
                "failed_ecgs": failed,
                "within_1e-3": diff is not None and diff <= 1e-3 and failed == 0,
                "ecg_per_s": round(rate, 1),
            }
        finally:
            det.autocast = None
    return out


def time_network_only(det: Detector, records: list[Record], batch: int) -> dict[str, Any]:
    """Forward passes on already prepared windows (the ceiling for batching)."""
    windows = [w for rec in records for w in prepare(rec, det.cfg).windows]
    forward_windows(det.net, windows[:batch], det.cfg, det.device)
    _sync(det.device)
    t0, c0 = time.perf_counter(), time.process_time()
    for a in range(0, len(windows), batch):
        forward_windows(det.net, windows[a : a + batch], det.cfg, det.device)
    _sync(det.device)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "ecg_per_s": round(len(records) / seconds, 1),
        "cpu_ms_per_ecg": round(1000 * cpu / len(records), 2),
        "batch_windows": batch,
        "n_ecgs": len(records),
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
        "median_ms": _ms(times),
        "network_calls_per_ecg": round(float(np.mean(calls)), 1),
        "repeats": repeats,
    }


#: Every part, in the order a CPU run measures them.
PARTS = (
    "single",
    "reference_loop",
    "batched",
    "batched_processes",
    "batched_processes_maps",
    "network_only",
    "contention",
    "archive_wfdb",
    "archive_hdf5",
    "autocast_check",
    "cpu_stages",
)
#: The parts of a CUDA run, fastest and most wanted first (see the module doc).
CUDA_PARTS = (
    "network_only",
    "archive_hdf5",
    "archive_wfdb",
    "cpu_stages",
    "batched",
    "single",
    "autocast_check",
)


#: Longest a timed command (torchrun, ecgad's own processes) may run before it is stopped.
COMMAND_TIMEOUT_S = 180

#: torchrun ranks sharing the GPU in the CUDA plan's archive parts: one feeding process spends
#: ~2.2 ms of CPU per ECG outside the network (2-core measurement, twenty-first session), so
#: several are needed to feed one GPU at thousands of ECGs a second.
CUDA_RANKS = 4


def plan(device: str, args: argparse.Namespace) -> dict[str, Any]:
    """Which parts run, in which order, with which sizes, on ``device``.

    CUDA defaults are sized for a ~10-minute device session: every part together finishes in
    about five minutes on one H100/H200 (4,096 archive ECGs, 2,048 batched; the published
    code's one-call-per-beat loop is left out).
    """
    gpu = device.startswith("cuda")
    if args.parts:
        parts = [name for name in args.parts.split(",") if name]
        unknown = sorted(set(parts) - set(PARTS))
        if unknown:
            raise SystemExit(f"unknown part(s) {', '.join(unknown)}; known: {', '.join(PARTS)}")
    elif gpu:
        parts = list(CUDA_PARTS)
    else:
        parts = ["single"] + ([] if args.skip_reference else ["reference_loop"])
        parts += ["batched", "batched_processes", "batched_processes_maps", "network_only"]
        parts += ["contention"] if args.contention else []
        parts += ["archive_wfdb", "archive_hdf5"] if args.archive else []
    archive = args.archive or (4096 if gpu else 256)
    # The archive parts timed in this process make every per-sample map (time_archive).
    workers, finishers = helper_processes(
        os.cpu_count() or 2, gpu, args.workers, getattr(args, "finishers", -1), maps=True
    )
    return {
        "parts": parts,
        "n_batched": args.n_batched or (2048 if gpu else 256),
        "batch": 512 if gpu else 64,
        "archive": archive,
        "workers": workers,
        "finishers": finishers,
        "ranks": args.ranks if args.ranks >= 0 else (CUDA_RANKS if gpu else 0),
        "processes": 0 if gpu else (getattr(args, "processes", 0) or (os.cpu_count() or 1)),
        "chunk": 1024 if gpu else 64,
        "max_seconds": args.max_seconds
        if args.max_seconds is not None
        else (300.0 if gpu else 0.0),
    }


def load_average() -> float | None:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


#: CPU features that change the network's speed by a large factor (oneDNN and MKL kernels).
VECTOR_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_tile")


def cpu_description(cpuinfo: str | None = None) -> dict[str, Any]:
    """The CPU's model name, clock and vector extensions (Linux's /proc/cpuinfo), so that
    readings from different hosts are not taken for one host's drift: the same code ran at
    ~19 ms an ECG on an AVX-512 host and ~39 ms on a 2 GHz AVX2-only one. Empty elsewhere."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return {}
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    flags = set(fields.get("flags", "").split())
    mhz = fields.get("cpu MHz")
    try:
        clock = round(float(mhz)) if mhz else None
    except ValueError:
        clock = None
    return {
        "cpu_model": fields.get("model name"),
        "cpu_mhz": clock,
        "cpu_vector_flags": [f for f in VECTOR_FLAGS if f in flags],
    }


def emit(line: dict[str, Any]) -> None:
    """One JSON line, flushed at once: what was measured survives an interrupted run."""
    print(json.dumps(line), flush=True)


def measure_part(
    name: str, det: Detector, args: argparse.Namespace, sizes: dict[str, Any], cache: dict
) -> dict[str, Any]:
    """Run one part; ``cache`` keeps the synthetic ECGs between parts."""
    fs = args.fs
    if "single" not in cache:
        cache["single"] = make_records(16, fs)
    if name in ("batched", "network_only", "autocast_check", "cpu_stages") and "many" not in cache:
        cache["many"] = make_records(sizes["n_batched"], fs)
    batch = sizes["batch"]
    if name == "single":
        return time_single(det, cache["single"], args.repeats)
    if name == "reference_loop":
        return time_reference(det, cache["single"], max(5, args.repeats // 3))
    if name == "batched":
        return time_batched(det, cache["many"], batch)
    if name in ("batched_processes", "batched_processes_maps"):
        maps = name.endswith("_maps")
        return time_batched_processes(sizes["n_batched"], fs, sizes["processes"] or 1, maps)
    if name == "network_only":
        return time_network_only(det, cache["many"], batch)
    if name == "contention":
        return time_contention(det, cache["single"], args.repeats)
    if name in ("archive_wfdb", "archive_hdf5"):
        return time_archive(
            det,
            name.split("_")[1],
            sizes["archive"],
            fs,
            sizes["workers"],
            batch,
            sizes["chunk"],
            sizes["ranks"],
            sizes["processes"],
            sizes.get("finishers", 0),
        )
    if name == "cpu_stages":
        return time_cpu_stages(det, cache["many"][:64])
    if name == "autocast_check":
        # Five passes of full scoring: a quarter of the batched ECGs keeps it inside the plan.
        return check_autocast(det, cache["many"][: max(64, len(cache["many"]) // 4)], batch)
    raise ValueError(name)


def run_device(device: str, args: argparse.Namespace) -> dict[str, Any]:
    """Measure the planned parts on ``device``, one JSON line each; returns them by name."""
    started = time.perf_counter()
    sizes = plan(device, args)
    det, weights = load_detector(device)
    emit(
        {
            "device": device,
            "part": "setup",
            "weights": weights,
            "gpu": torch.cuda.get_device_name(0) if device.startswith("cuda") else None,
            "torch_threads": torch.get_num_threads(),
            "mask_patterns_per_window": cfg_patterns(det.cfg),
            "channels": list(det.cfg.channels),
            "latent": det.cfg.latent,
            **{k: v for k, v in sizes.items()},
        }
    )
    results: dict[str, Any] = {}
    cache: dict[str, Any] = {}
    for name in sizes["parts"]:
        elapsed = time.perf_counter() - started
        if sizes["max_seconds"] and elapsed > sizes["max_seconds"]:
            emit(
                {
                    "device": device,
                    "part": name,
                    "skipped": f"--max-seconds passed ({elapsed:.0f} s)",
                }
            )
            continue
        load0, t0, c0 = load_average(), time.perf_counter(), time.process_time()
        try:
            result = measure_part(name, det, args, sizes, cache)
        except Exception as exc:  # one failing part must not lose the others' figures
            result = {"failed": f"{type(exc).__name__}: {exc}"}
        results[name] = result
        emit(
            {
                "device": device,
                "part": name,
                **result,
                "part_wall_s": round(time.perf_counter() - t0, 2),
                "part_cpu_s": round(time.process_time() - c0, 2),
                "load_average_1min_before": load0,
                "load_average_1min_after": load_average(),
            }
        )
    if "batched" in results and "network_only" in results:
        try:
            # What batching cannot remove: preprocessing, stitching, maps back to the input.
            non_network = (
                1000 / results["batched"]["ecg_per_s"] - 1000 / results["network_only"]["ecg_per_s"]
            )
            emit({"device": device, "part": "non_network_ms_per_ecg", "ms": round(non_network, 2)})
        except (KeyError, ZeroDivisionError):
            pass
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument(
        "--device",
        default="auto",
        choices=["auto", "cpu", "cuda"],
        help="auto: CPU, plus CUDA when available",
    )
    p.add_argument(
        "--parts",
        default="",
        help=f"comma-separated parts to run, in this order (known: {', '.join(PARTS)})",
    )
    p.add_argument("--fs", type=float, default=500.0, help="input rate of the synthetic ECGs")
    p.add_argument("--repeats", type=int, default=30, help="timed single-ECG runs")
    p.add_argument(
        "--n-batched",
        type=int,
        default=0,
        help="ECGs in the batched and network-only runs (default 256; 2048 on CUDA)",
    )
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
        "(ecgad score's pipeline); on CUDA these parts run by default, with 4096",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=-1,
        help="preprocessing processes for the archive parts (default as ecgad score's: on a "
        "GPU the cores but one, less the finishers; 0 on CPU)",
    )
    p.add_argument(
        "--finishers",
        type=int,
        default=-1,
        help="processes finishing ECGs after the network in the archive parts (default: two "
        "fifths of the cores but one on a GPU, as these parts make every map; 0 on CPU)",
    )
    p.add_argument(
        "--ranks",
        type=int,
        default=-1,
        help="the archive parts also under torchrun with this many processes sharing the device "
        f"(default: {CUDA_RANKS} on a GPU, where one process's CPU work bounds what it feeds; "
        "none on a CPU)",
    )
    p.add_argument(
        "--processes",
        type=int,
        default=0,
        help="on a CPU, the archive parts also as `ecgad score --processes N` (default: one "
        "per core; 1: not run)",
    )
    p.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        help="start no new part after this many seconds (default: 300 on CUDA, no limit on CPU)",
    )
    p.add_argument("--skip-reference", action="store_true", help="skip the slow reference loop")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = ModelConfig()
    emit(
        {
            "part": "header",
            "input": f"10 s, 12 leads, {args.fs:g} Hz synthetic ECGs (model rate {cfg.fs:g} Hz)",
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(),
            "machine": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            **cpu_description(),
            "load_average_1min": load_average(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
            "command": " ".join(
                ["python benchmarks/model_speed.py", *(argv if argv is not None else sys.argv[1:])]
            ),
        }
    )
    if args.device == "cuda" and not torch.cuda.is_available():
        print(
            "model_speed: --device cuda asked for, but this torch sees no CUDA GPU", file=sys.stderr
        )
        return 2
    devices = []
    if args.device in ("auto", "cpu"):
        devices.append("cpu")
    if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()):
        devices.append("cuda")
    for device in devices:
        run_device(device, args)
    emit(
        {
            "part": "summary",
            "targets": {
                "cpu_single_median_ms": 25,
                "cpu_batched_ecg_per_s": 100,
                "cpu_contention_slowdown_at_most": 2.0,
                "cuda_archive_wfdb_ecg_per_s": 2000,
                "cuda_archive_hdf5_ecg_per_s": 5000,
            },
            "load_average_1min_at_end": load_average(),
        }
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
