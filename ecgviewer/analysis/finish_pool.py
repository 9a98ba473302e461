"""The archive pipeline's third stage: finishing scored ECGs in worker processes.

``ecgad score`` on a GPU reads and prepares ECGs in worker processes (archive.py) and runs the
network in its main process. What follows the network for each ECG (stitching the windows,
the score's parts, findings and, where made, the maps: ~5 ms of one core per ECG at 500 Hz
with maps) would otherwise run in that one process too and bound the whole pipeline at ~200
ECG/s, however fast the GPU. Here it runs in a pool of processes, each holding the Detector
without its network (``Detector.finisher``), while the main process runs the network on the
next chunk. Each worker turns its result into the results table's row itself, so only that
small row comes back.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ecgviewer.errors import ECGError

#: This worker process's finisher and row maker (set by :func:`_start`).
_WORKER: dict[str, Callable[..., Any]] = {}


def _start(finish: Callable[..., Any], to_row: Callable[..., dict[str, str]]) -> None:
    # Ctrl+C reaches every process of the terminal's group: the scoring process stops the
    # pool itself (and keeps what was written), so a worker says nothing and finishes its task.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER["finish"], _WORKER["row"] = finish, to_row


def _ready() -> None:
    """A no-op: submitted once per worker so that the pool starts them all at once."""


def _finish_row(file: str, entry: str, record: Any, prepared: Any, maps: Any) -> dict[str, str]:
    """One ECG's table row, in a worker. An exception other than the ECGError the finisher
    returns (a bug) becomes the row's error, as a reader's does: one ECG never stops an
    archive."""
    try:
        result = _WORKER["finish"](record, prepared, maps)
    except Exception as exc:
        result = exc
    return _WORKER["row"](file, entry, result)


def _finish_rows(jobs: list[tuple[str, str, Any, Any, Any]]) -> list[dict[str, str]]:
    return [_finish_row(*job) for job in jobs]


#: ECGs sent to a worker in one task: each task costs the sending thread a pickling call, a
#: pipe message and a future, whatever its size.
JOBS_PER_TASK = 8


class Finishing:
    """The rows of one :meth:`FinishPool.submit`, in the jobs' order once done."""

    def __init__(self, futures: list[Future[list[dict[str, str]]]]) -> None:
        self._futures = futures

    def rows(self) -> list[dict[str, str]]:
        """The rows; a worker that died (killed, out of memory) stops the run with a
        one-line ECGError: the rows written so far stay, and a rerun resumes after them."""
        try:
            return [row for future in self._futures for row in future.result()]
        except BrokenProcessPool:
            raise ECGError(
                None,
                "a finishing process stopped unexpectedly (out of memory?); what was "
                "scored is kept: rerun the same command to resume",
            ) from None


class FinishPool:
    """``processes`` worker processes finishing ECGs with ``finish`` (``Detector.finisher()``)
    and making their rows with ``to_row(file, entry, result)``; both must pickle.

    Workers are spawned, not forked: the main process holds torch's threads and possibly a
    CUDA context, which a forked child must not inherit.
    """

    def __init__(
        self,
        finish: Callable[..., Any],
        to_row: Callable[..., dict[str, str]],
        processes: int,
    ) -> None:
        self._pool = ProcessPoolExecutor(
            max_workers=max(1, processes),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(finish, to_row),
        )
        # Start every worker now (each imports the model's code and receives the finisher,
        # ~2-3 s), while the first ECGs are read and prepared, not when their finishing is due.
        for _ in range(max(1, processes)):
            self._pool.submit(_ready)

    def submit(self, jobs: Sequence[tuple[str, str, Any, Any, Any]]) -> Finishing:
        """Start finishing ``(file, entry, record, prepared, window_maps)`` jobs, a few per
        task; their rows come back in the same order."""
        return Finishing(
            [
                self._pool.submit(_finish_rows, list(jobs[a : a + JOBS_PER_TASK]))
                for a in range(0, len(jobs), JOBS_PER_TASK)
            ]
        )

    def close(self) -> None:
        """Stop the workers; finishing not begun is cancelled (an interrupted run resumes
        from the results file)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> FinishPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
