"""The one scoring loop of the batch jobs (worklist, long recordings, ``ecgad score``).

Two pieces, used together: :func:`read_ahead` reads the next chunk of ECGs (or windows) in a
worker thread while the model scores the current one (torch releases the GIL, so a batch job
runs at about the Detector's own batched throughput), and :func:`score_many_isolated` scores a
chunk in one batched call, isolating a bad ECG so it never fails the others. Score-cache writes
that may fail without stopping the job go through :func:`cache_write`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from ecgviewer.errors import ECGError
from ecgviewer.record import Record
from ecgviewer.review.store import ReviewStoreError

log = logging.getLogger(__name__)

Chunk = TypeVar("Chunk")
Loaded = TypeVar("Loaded")
Result = TypeVar("Result")


def run_to_end(gen: Generator[Any, None, Result]) -> Result:
    """Step a progress generator (a scoring job, ``Detector.network_maps``) to its end and
    return its result, for callers that show no progress."""
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        return stop.value


def read_ahead(
    chunks: Sequence[Chunk], load: Callable[[Chunk], Loaded], thread_name: str
) -> Iterator[Loaded]:
    """``load(chunk)`` of each chunk in order; chunk ``n + 1`` is read in a worker thread while
    the caller works on chunk ``n``.

    Close the iterator (``contextlib.closing``) when the job may stop early: the reader thread
    is then finished and a read not yet started is cancelled.
    """
    if not chunks:
        return
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)
    try:
        future: Future[Loaded] = pool.submit(load, chunks[0])
        for n in range(len(chunks)):
            loaded = future.result()
            if n + 1 < len(chunks):
                future = pool.submit(load, chunks[n + 1])
            yield loaded
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def score_many_isolated(
    det: Any, records: list[Record], batch: int, prepared: Sequence[Any] | None = None
) -> list[Any]:
    """One batched call; when it fails on a bad ECG, score one by one to isolate it.

    A per-ECG :class:`ECGError` (e.g. missing leads) becomes that ECG's result, so one bad
    file never fails the batch; anything else (model missing/broken) stops the job.
    ``prepared``: the records already preprocessed by the Detector's ``preparer``.
    """
    try:
        if prepared is not None:
            return list(run_to_end(det.iter_score_many(records, batch=batch, prepared=prepared)))
        return list(det.score_many(records, batch=batch))
    except ECGError:
        out: list[Any] = []
        for record in records:
            try:
                out.append(det.score(record))
            except ECGError as exc:
                out.append(exc)
        return out


def cache_write(write: Callable[..., None], *args: Any) -> None:
    """A score-cache write that may fail (disk full, database busy) without stopping the job:
    the cache is not the user's work, and the rows on screen are complete without it."""
    try:
        write(*args)
    except ReviewStoreError as exc:
        log.warning("score cache not updated: %s", exc)
