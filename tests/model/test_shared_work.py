"""SharedTask: run once, by whichever thread gets to it first."""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError

import pytest

from model.shared_work import SharedTask


def test_result_runs_work_no_thread_began_here_and_only_once() -> None:
    calls: list[str] = []
    task = SharedTask(lambda: calls.append(threading.current_thread().name) or 7)
    assert task.result() == 7 and task.result() == 7
    task.run()  # done already: not again
    assert calls == [threading.current_thread().name]


def test_result_waits_for_the_thread_that_began_the_work() -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def work() -> int:
        started.set()
        release.wait(5)
        calls.append(1)
        return 3

    task = SharedTask(work)
    other = threading.Thread(target=task.run)
    other.start()
    assert started.wait(5)
    threading.Timer(0.05, release.set).start()
    assert task.result() == 3  # waited; did not run it a second time
    other.join(5)
    assert calls == [1]


def test_errors_reach_the_caller_and_cancel_stops_unbegun_work() -> None:
    def fail() -> None:
        raise ValueError("bad beat")

    failing = SharedTask(fail)
    failing.run()
    assert failing.failed
    with pytest.raises(ValueError, match="bad beat"):
        failing.result()
    calls: list[int] = []
    cancelled = SharedTask(lambda: calls.append(1))
    cancelled.cancel()
    cancelled.run()
    assert calls == [] and cancelled.failed
    with pytest.raises(CancelledError):
        cancelled.result()
