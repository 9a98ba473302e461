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
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

#: This worker process's finisher and row maker (set by :func:`_start`).
_WORKER: dict[str, Callable[..., Any]] = {}


def _start(finish: Callable[..., Any], to_row: Callable[..., dict[str, str]]) -> None:
    _WORKER["finish"], _WORKER["row"] = finish, to_row


def _finish_row(file: str, entry: str, record: Any, prepared: Any, maps: Any) -> dict[str, str]:
    """One ECG's table row, in a worker. An exception other than the ECGError the finisher
    returns (a bug) becomes the row's error, as a reader's does: one ECG never stops an
    archive."""
    try:
        result = _WORKER["finish"](record, prepared, maps)
    except Exception as exc:
        result = exc
    return _WORKER["row"](file, entry, result)


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

    def submit(
        self, jobs: Sequence[tuple[str, str, Any, Any, Any]]
    ) -> list[Future[dict[str, str]]]:
        """Start finishing ``(file, entry, record, prepared, window_maps)`` jobs; the futures'
        rows come back in the same order."""
        return [self._pool.submit(_finish_row, *job) for job in jobs]

    def close(self) -> None:
        """Stop the workers; finishing not begun is cancelled (an interrupted run resumes
        from the results file)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> FinishPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
