"""Work that either of two threads runs, whichever gets to it first.

Scoring makes the CPU work that needs no network in a second thread while the calling thread
runs the network (model/infer.py). When the calling thread needs a result whose work that
thread has not begun (it is busy with an earlier record, or the machine gave it no core yet),
waiting for it would leave the calling thread idle: :meth:`SharedTask.result` runs the work
there instead. A plain ``concurrent.futures.Future`` cannot be taken back from its executor
once its thread has it queued, and a cancelled one is never run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import CancelledError
from typing import Generic, TypeVar

T = TypeVar("T")


class SharedTask(Generic[T]):
    """``fn()``, run once by the first thread that calls :meth:`run` or :meth:`result`."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self._fn: Callable[[], T] | None = fn
        self._claim = threading.Lock()
        self._done = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        """Run the work here unless another thread has it (or had it) already."""
        if not self._claim.acquire(blocking=False):
            return
        fn, self._fn = self._fn, None
        try:
            if fn is not None:
                self._value = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the thread asking for the result
            self._error = exc
        finally:
            self._done.set()

    @property
    def failed(self) -> bool:
        """The work ran and raised (or was cancelled)."""
        return self._done.is_set() and self._error is not None

    def result(self) -> T:
        """The work's value (or its exception), run in this thread when no thread began it."""
        self.run()
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def cancel(self) -> None:
        """Never run the work if no thread began it (its result raises CancelledError then)."""
        if self._claim.acquire(blocking=False):
            self._fn = None
            self._error = CancelledError()
            self._done.set()
