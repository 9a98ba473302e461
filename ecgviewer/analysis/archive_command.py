"""``ecgad score SOURCE --out RESULTS.csv``: the archive form of ``ecgad score``.

Chosen by ``ecgad score`` when it is given a folder, a PTB-XL style database CSV, or
``--out`` (see :func:`wants_archive`). Sets the CPU thread policy before torch is imported,
joins a ``torchrun`` process group when there is one (or, on a CPU without torchrun, starts
one scoring process per core itself: :func:`run_processes`), and runs
:func:`ecgviewer.analysis.archive.score_archive`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from ecgviewer.errors import ECGError, FileAccessError

EXIT_OK = 0
EXIT_ERROR = 2
#: Set in the scoring processes :func:`run_processes` starts (they must not start more).
OWN_PROCESS_ENV = "ECGAD_SCORE_PROCESS"
#: Fewest ECGs per process for which ``--processes auto`` starts more than one: each process
#: imports torch and loads the model (~3 s, side by side), which a small folder does not repay.
#: Measured on the 2-core machine (500 Hz WFDB files, whole command, two turns each): 32 ECGs
#: 3.4-3.7 s in one process, 3.7-4.1 s in two; 64: 3.9 / 4.1-4.2 s; 128: 5.0 / 4.7-4.8 s.
MIN_ECGS_PER_EXTRA_PROCESS = 50


#: ``ecgad score`` options (of either form) followed by a value, e.g. ``--csv OUT``.
_VALUED = {
    "--out",
    "--csv",
    "--weights",
    "--device",
    "--fs",
    "--workers",
    "--finishers",
    "--threads",
    "--batch",
    "--chunk",
    "--amp",
    "--processes",
}


def wants_archive(argv: list[str]) -> bool:
    """True when ``ecgad score`` arguments name an archive: ``--out``, a folder or a PTB-XL
    style database CSV (an ECG stored as a .csv array is a single file, not an archive)."""
    positional: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
        elif a == "--out" or a.startswith("--out="):
            return True
        elif a in _VALUED:
            skip = True
        elif not a.startswith("-"):
            positional.append(a)
    return any(os.path.isdir(a) or is_database_csv(a) for a in positional)


def is_database_csv(path: str) -> bool:
    """A CSV whose header names ``filename_lr`` (PTB-XL's database layout)."""
    if not path.lower().endswith(".csv"):
        return False
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return "filename_lr" in fh.readline()
    except OSError:
        return False


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ecgad score",
        description="Score a whole archive: a folder of ECG files, an HDF5 collection or a "
        "PTB-XL style database CSV. One row per ECG (file, entry, score, percentile, "
        "verdict, top leads, flags, model version, error) is appended to --out as "
        "it is scored, so a stopped run resumes where it stopped; a Parquet copy is "
        "written beside it when pyarrow is installed. Under torchrun the ECGs are "
        "shared among the processes and rank 0 merges the results.",
    )
    p.add_argument("source", metavar="SOURCE", help="folder, .h5/.hdf5 collection or database CSV")
    p.add_argument(
        "--out",
        required=True,
        metavar="RESULTS.csv",
        help="results table (CSV; .parquet beside it when pyarrow is installed)",
    )
    p.add_argument("--weights", metavar="PATH", help="model weights (default: the bundled ones)")
    p.add_argument(
        "--device",
        default="auto",
        choices=["auto", "cpu", "cuda"],
        help="where the model runs (default: the GPU when there is one)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=-1,
        metavar="N",
        help="processes that read and prepare ECGs (default: none on CPU; on a GPU, "
        "the cores but one, less the finishers)",
    )
    p.add_argument(
        "--finishers",
        type=int,
        default=-1,
        metavar="N",
        help="processes that finish ECGs after the network, beside it (with --workers only; "
        "default: none on CPU; on a GPU, a sixth of the cores but one)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        metavar="N",
        help="torch CPU threads (default: all cores not used by workers)",
    )
    p.add_argument(
        "--batch",
        type=int,
        default=0,
        metavar="N",
        help="network windows per call (default 64 on CPU, 512 on a GPU)",
    )
    p.add_argument(
        "--chunk",
        type=int,
        default=0,
        metavar="N",
        help="ECGs scored and written together (default 64 on CPU, 1024 on a GPU)",
    )
    p.add_argument(
        "--amp",
        choices=["bf16", "fp16"],
        default=None,
        help="mixed precision on a GPU (benchmarks/model_speed.py checks the scores)",
    )
    p.add_argument(
        "--processes",
        default="auto",
        metavar="N",
        help="scoring processes on a CPU without torchrun, sharing the ECGs as torchrun's "
        "ranks do (default auto: one per core when there are at least "
        f"{MIN_ECGS_PER_EXTRA_PROCESS} ECGs per process to score and no --workers, else one)",
    )
    p.add_argument("--no-parquet", action="store_true", help="write the CSV only")
    return p


def processes_wanted(value: str, cores: int, to_score: Callable[[], int]) -> int:
    """How many scoring processes ``--processes VALUE`` asks for on this CPU. ``auto``: one
    per core, as long as each gets at least MIN_ECGS_PER_EXTRA_PROCESS of the ECGs
    ``to_score()`` counts (called only then)."""
    if value != "auto":
        try:
            wanted = int(value)
        except ValueError:
            raise SystemExit(
                f"ecgad score: --processes must be a number or auto, not {value!r}"
            ) from None
        if wanted < 1:
            raise SystemExit("ecgad score: --processes must be at least 1")
        return wanted
    if cores < 2:
        return 1
    return max(1, min(cores, to_score() // MIN_ECGS_PER_EXTRA_PROCESS))


def _gpu_possible(device: str) -> bool:
    """Whether ``--device`` may put the model on a GPU, told without importing torch where
    the installed torch is a CPU-only build (its version ends in ``+cpu``, as the one this
    project pins): otherwise torch is asked."""
    if device == "cpu":
        return False
    if device == "auto":
        from importlib.metadata import PackageNotFoundError, version

        try:
            if version("torch").endswith("+cpu"):
                return False
        except PackageNotFoundError:
            return False
        import torch

        return bool(torch.cuda.is_available())
    return True


def _left_to_score(source: Path, out: Path) -> int:
    """ECGs of ``source`` not yet in ``out`` or its part files (a first, reading-free pass)."""
    from ecgviewer.analysis.results_file import (
        ResumeSet,
        done_entries,
        part_files,
        refuse_if_being_written,
        results_csv,
    )
    from ecgviewer.analysis.worklist_sources import scan_source

    csv_out = results_csv(out)
    refuse_if_being_written([csv_out, *part_files(csv_out)])
    done = ResumeSet(done_entries(csv_out))
    return sum(1 for entry in scan_source(source) if not done.has(entry))


def run_processes(argv: list[str], n: int) -> int:
    """``ecgad score`` in ``n`` processes, each scoring every n-th ECG as a torchrun rank
    would, with a barrier between them before rank 0 merges the results.

    Why: one process uses a second core only partly (its Python work holds the GIL). On the
    2-core machine two single-threaded processes scored 1.5-1.75x as fast as one process with
    two threads (benchmarks/model_speed.py, batched_processes and archive_wfdb).
    A process that fails breaks the barrier, so the others stop instead of waiting forever;
    a process stopped by bad input (weights, output file) sends its one-line message here,
    and each different message is printed once.
    """
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    barrier, messages = ctx.Barrier(n), ctx.Queue()
    procs = [
        ctx.Process(
            target=_process_main, args=(argv, rank, n, barrier, messages), name=f"ecgad-{rank}"
        )
        for rank in range(n)
    ]
    for proc in procs:
        proc.start()
    codes: dict[int, int] = {}
    try:
        while len(codes) < n:
            for rank, proc in enumerate(procs):
                if rank in codes:
                    continue
                proc.join(timeout=0.2)
                if proc.exitcode is not None:
                    codes[rank] = proc.exitcode
                    if proc.exitcode not in (EXIT_OK, EXIT_ERROR):
                        barrier.abort()
    except KeyboardInterrupt:
        for proc in procs:
            proc.join(timeout=10)
        raise
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
    said: list[str] = []
    while not messages.empty():
        text = messages.get()
        if text not in said:
            said.append(text)
            print(f"ecgad: {text}", file=sys.stderr)
    crashed = [c for c in codes.values() if c not in (EXIT_OK, EXIT_ERROR, _EXIT_STOPPED)]
    if crashed:
        print(
            "ecgad score: a scoring process failed (exit status "
            f"{crashed[0]}); rerun the same command to resume",
            file=sys.stderr,
        )
    if crashed or _EXIT_STOPPED in codes.values():
        return EXIT_ERROR
    return max(codes.values())


#: Exit status of one of :func:`run_processes`' processes stopped by bad input (its message
#: sent to the parent) or by another process's failure (the barrier broken).
_EXIT_STOPPED = 3


def _process_main(
    argv: list[str], rank: int, world: int, barrier: object, messages: object
) -> None:
    """One of :func:`run_processes`' processes: a rank of ``world`` on this machine."""
    import threading

    os.environ.update(
        {
            "RANK": str(rank),
            "WORLD_SIZE": str(world),
            "LOCAL_WORLD_SIZE": str(world),
            OWN_PROCESS_ENV: "1",
        }
    )

    def wait() -> None:
        barrier.wait()  # type: ignore[attr-defined]

    try:
        code = main(argv, barrier=wait)
    except ECGError as exc:
        messages.put(str(exc))  # type: ignore[attr-defined]
        code = _EXIT_STOPPED
    except threading.BrokenBarrierError:  # another process failed: it says why
        code = _EXIT_STOPPED
    except KeyboardInterrupt:  # the parent says so
        code = 130
    sys.exit(code)


def helper_processes(
    cores: int, gpu: bool, workers: int, finishers: int, maps: bool = False
) -> tuple[int, int]:
    """The ``(workers, finishers)`` processes beside a scoring process; -1 asks for the
    default. On a GPU the cores but one (the network's feeder) are shared between preparing
    and finishing as their costs are (benchmarks/model_speed.py, one 500 Hz ECG on one core:
    ~7.5 ms to read and prepare; to finish ~1.4 ms without the per-sample maps, as this
    command runs, ~4.9 ms with them): a sixth finishing, or two fifths with ``maps``. On a
    CPU neither by default: there the cores score in their own processes
    (:func:`run_processes`), faster. Finishers need workers: without them this process
    prepares and finishes itself."""
    helpers = max(1, cores - 1)
    if finishers < 0:
        share = helpers * 2 // 5 if maps else helpers // 6
        finishers = max(1, share) if gpu and workers != 0 and helpers > 1 else 0
    if workers < 0:
        workers = max(1, helpers - finishers) if gpu else 0
    return workers, (finishers if workers > 0 else 0)


def cores_per_process(cores: int, local_ranks: int, workers: int) -> int:
    """The cores one scoring process may use: the machine's, shared by the ranks torchrun
    started on it, less its preprocessing workers; at least one."""
    return max(1, cores // max(1, local_ranks) - workers)


def main(argv: list[str], barrier: Callable[[], None] | None = None) -> int:
    """Run the command. ``barrier``: given in the processes :func:`run_processes` starts
    (their ranks come from the environment, as torchrun's do)."""
    args = build_parser().parse_args(argv)
    # Idle OpenMP threads must sleep, not spin, when other processes share the cores (the
    # policy is read when torch loads OpenMP, so it is set before the first torch import).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from ecgviewer.analysis.results_file import Shard, count_results

    source = Path(args.source)
    if not source.exists():
        raise ECGError(source, "does not exist")
    if Path(args.out).is_dir():  # else an "unexpected error: IsADirectoryError"
        raise FileAccessError(args.out, "is a folder: --out names the results file (results.csv)")
    shard = Shard.from_env()
    cores = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )
    own_processes_possible = (
        shard.world == 1
        and not _gpu_possible(args.device)
        and OWN_PROCESS_ENV not in os.environ
        # --workers asks for the reading pipeline instead: auto leaves that to one process
        and not (args.workers > 0 and args.processes == "auto")
    )
    if own_processes_possible:
        # Decided before torch and the model's code are imported here: each scoring process
        # imports them itself, so this process would only make them all wait (~2 s).
        n = processes_wanted(args.processes, cores, lambda: _left_to_score(source, Path(args.out)))
        if n > 1:
            return run_processes(argv, n)
    import torch

    from ecgviewer.analysis.archive import score_archive
    from ecgviewer.analysis.detector import detector_info, version_key
    from model.infer import Detector, pick_device
    from model.process_tuning import settle_scoring_process

    device = pick_device(args.device)
    if device == "cuda" and shard.world > 1:
        # Ranks beyond the GPU count share GPUs: several ranks per GPU multiply the CPU work
        # (reading, preprocessing, finishing) that keeps one GPU fed.
        device = (
            f"cuda:{int(os.environ.get('LOCAL_RANK', '0')) % max(1, torch.cuda.device_count())}"
        )
    gpu = device.startswith("cuda")
    # Ranks of one machine share its cores (torchrun sets LOCAL_WORLD_SIZE).
    local_ranks = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1))
    workers, finishers = helper_processes(
        max(1, cores // local_ranks), gpu, args.workers, args.finishers
    )
    own_cores = cores_per_process(cores, local_ranks, 0 if gpu else workers)
    torch.set_num_threads(args.threads or own_cores)
    # torchrun's ranks meet in a gloo group; run_processes' pass their own barrier.
    in_gloo_group = shard.world > 1 and barrier is None
    if in_gloo_group:
        import torch.distributed as dist

        if not dist.is_initialized():
            # gloo: only a barrier is needed, and it works between machines and without GPUs.
            dist.init_process_group("gloo", timeout=timedelta(hours=48))
        barrier = dist.barrier
    det = Detector.load(args.weights, device=device)
    # This process only scores from here: what is loaded stays out of the garbage
    # collector's sight, and freed memory is kept for the next ECG (model/process_tuning.py).
    settle_scoring_process()
    det.autocast = args.amp if gpu else None
    # The table keeps the score, percentile, top leads and flags: the per-sample maps, the
    # restored trace and the findings are not made (about 15 % of an ECG's CPU time).
    det.make_maps = False
    if not gpu and own_cores < 2:
        # One core for this process: the second thread that works beside the network would
        # only take turns with it. Measured on the 2-core machine, 2 processes x 128 ECGs at
        # 100 Hz: 30-34 ECG/s each in one thread, together 64 (one process, two threads: 40).
        det.quality_beside_network = False
    info = detector_info(det) or {}
    try:
        run = score_archive(
            source,
            args.out,
            det,
            model_version=version_key(info) if info else "unknown",
            batch=args.batch or (512 if gpu else 64),
            chunk=args.chunk or (1024 if gpu else 64),
            workers=workers,
            finishers=finishers,
            shard=shard,
            barrier=barrier,
            parquet=not args.no_parquet,
        )
    finally:
        if in_gloo_group:
            import torch.distributed as dist

            dist.destroy_process_group()
    if shard.rank == 0:
        extra = f"; Parquet copy {run.parquet}" if run.parquet else ""
        if shard.world > 1:  # this rank's counts are a share: the merged table has them all
            rows, errors = count_results(run.out)
            print(
                f"{run.scanned} ECGs in {source}: {shard.world} processes merged into "
                f"{run.out}: {rows} scored, {errors} not scored (see the error column){extra}",
                file=sys.stderr,
            )
        else:
            print(
                f"{run.scanned} ECGs in {source}: {run.skipped} already in {run.out}, "
                f"{run.scored} scored, {run.errors} not scored (see the error column){extra}",
                file=sys.stderr,
            )
        # A resumed run answers for the whole table: error rows of an earlier run stay
        # (they are not retried) and a script reading the exit status must still see them.
        earlier = count_results(run.out)[1] - run.errors if shard.world == 1 else 0
        if earlier > 0:
            print(
                f"{run.out}: {earlier} error rows from an earlier run are kept, not retried "
                "(remove those rows to score them again)",
                file=sys.stderr,
            )
            return EXIT_ERROR
    return EXIT_OK if run.errors == 0 else EXIT_ERROR
