"""One Worker that steps any Qt-free analysis generator on the thread pool.

Long jobs (score a record, measure intervals, read a large file) are generators that yield
``(done, total, message)`` between batches and ``return`` their result. The Worker runs one on
``QThreadPool``, turns the yields into ``progress`` signals and checks a cancel flag between
them, so cancellation takes effect at the next batch boundary (the jobs promise < ~200 ms per
batch). Workers never touch widgets: results travel by queued signals to the GUI thread.

Each Worker carries a ``job_id``; :class:`JobTracker` remembers the current id per job kind so
the window can drop results of jobs it has replaced (the user opened another file meanwhile).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from ecgviewer.errors import ScoringCancelled

log = logging.getLogger(__name__)

Job = Generator[tuple[int, int, str], None, Any]
_ids = itertools.count(1)


class WorkerSignals(QObject):
    """Signals of a :class:`Worker` (a QRunnable is not a QObject, so they live here)."""

    progress = Signal(int, int, str)  # done, total, message
    finished = Signal(object)  # the generator's return value
    failed = Signal(object)  # the exception
    cancelled = Signal()


class Worker(QRunnable):
    """Run one generator job off the GUI thread.

    Parameters
    ----------
    job
        A generator, or a callable returning one (called on the worker thread, so any slow
        set-up such as importing torch happens there too).
    kind
        Free label ("score", "measure") used by :class:`JobTracker` and in logs.
    """

    def __init__(self, job: Job | Callable[[], Job], kind: str = "job") -> None:
        super().__init__()
        self.setAutoDelete(False)  # Python keeps the reference; Qt must not delete it
        self.job = job
        self.kind = kind
        self.job_id = next(_ids)
        self.signals = WorkerSignals()
        self._cancel = threading.Event()
        self._done = threading.Event()
        self.started_at: float | None = None

    # -------------------------------------------------------------- control (GUI thread)
    def cancel(self) -> None:
        """Ask the job to stop at its next yield; ``cancelled`` is emitted then."""
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def is_done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ended (any way); False on timeout. For shutdown and tests."""
        return self._done.wait(timeout)

    def start(self, pool: QThreadPool | None = None) -> Worker:
        (pool or QThreadPool.globalInstance()).start(self)
        return self

    # -------------------------------------------------------------- worker thread
    def run(self) -> None:  # Qt's name
        self.started_at = time.perf_counter()
        gen: Job | None = None
        try:
            if self._cancel.is_set():
                self.signals.cancelled.emit()
                return
            gen = self.job() if callable(self.job) and not hasattr(self.job, "send") else self.job
            while True:
                if self._cancel.is_set():
                    gen.close()  # runs the job's finally blocks
                    self.signals.cancelled.emit()
                    return
                try:
                    step = next(gen)
                except StopIteration as stop:
                    self.signals.finished.emit(stop.value)
                    return
                done, total, message = _as_progress(step)
                self.signals.progress.emit(done, total, message)
        except ScoringCancelled:
            self.signals.cancelled.emit()
        except BaseException as exc:  # noqa: BLE001 - any failure goes to the GUI as a signal
            if not isinstance(exc, Exception):
                log.error("job %s#%d aborted by %r", self.kind, self.job_id, exc)
            else:
                log.info("job %s#%d failed: %s", self.kind, self.job_id, exc, exc_info=exc)
            self.signals.failed.emit(exc)
        finally:
            self._done.set()


def _as_progress(step: Any) -> tuple[int, int, str]:
    """Accept ``(done, total)`` or ``(done, total, message)`` yields."""
    if isinstance(step, tuple):
        if len(step) >= 3:
            return int(step[0]), int(step[1]), str(step[2])
        if len(step) == 2:
            return int(step[0]), int(step[1]), ""
    return 0, 0, str(step) if step is not None else ""


class JobTracker:
    """The current Worker per kind; starting a new one cancels and supersedes the old.

    Slots given to :meth:`start` hear only from the current job of their kind: a result of a
    job the user has left (another file opened meanwhile) is dropped here, once, instead of
    in every handler. ``is_current(worker)`` remains for slots connected by hand.
    """

    def __init__(self, pool: QThreadPool | None = None) -> None:
        self.pool = pool or QThreadPool.globalInstance()
        self._current: dict[str, Worker] = {}
        self._all: list[Worker] = []

    def start(
        self,
        worker: Worker,
        *,
        progress: Callable[..., Any] | None = None,
        finished: Callable[..., Any] | None = None,
        failed: Callable[..., Any] | None = None,
        cancelled: Callable[..., Any] | None = None,
    ) -> Worker:
        """Start ``worker`` as the current job of its kind; the given slots receive its
        signals only while it is still current (each slot gets the signal's arguments)."""
        for signal, slot in (
            (worker.signals.progress, progress),
            (worker.signals.finished, finished),
            (worker.signals.failed, failed),
            (worker.signals.cancelled, cancelled),
        ):
            if slot is not None:
                signal.connect(self._if_current(worker, slot))
        old = self._current.get(worker.kind)
        if old is not None and not old.is_done:
            log.info("job %s#%d replaced by #%d", old.kind, old.job_id, worker.job_id)
            old.cancel()
        self._current[worker.kind] = worker
        self._all = [w for w in self._all if not w.is_done] + [worker]
        worker.start(self.pool)
        return worker

    def _if_current(self, worker: Worker, slot: Callable[..., Any]) -> Callable[..., None]:
        def deliver(*args: Any) -> None:
            if self.is_current(worker):
                slot(*args)
            else:
                log.debug("dropped a late signal of replaced job %s#%d", worker.kind, worker.job_id)

        return deliver

    def current(self, kind: str) -> Worker | None:
        return self._current.get(kind)

    def is_current(self, worker: Worker) -> bool:
        return self._current.get(worker.kind) is worker

    def cancel(self, kind: str) -> None:
        worker = self._current.get(kind)
        if worker is not None:
            worker.cancel()

    def cancel_all(self) -> None:
        for worker in self._all:
            worker.cancel()

    def replace_all(self) -> None:
        """Cancel every job and forget them: none is current, so late results are dropped."""
        self.cancel_all()
        self._current.clear()

    def wait_all(self, timeout: float = 3.0) -> bool:
        """Wait for every running job to end; False when one is still running at the end."""
        deadline = time.monotonic() + timeout
        ok = True
        for worker in self._all:
            ok = worker.wait(max(0.0, deadline - time.monotonic())) and ok
        return ok
