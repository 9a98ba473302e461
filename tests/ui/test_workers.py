"""The one Worker: progress, result, failure, cancellation, replaced jobs."""

from __future__ import annotations

import time

import pytest

from ecgviewer.errors import ScoringCancelled
from ecgviewer.ui.workers import JobTracker, Worker


def counting_job(n: int, step_s: float = 0.0):
    for i in range(n):
        if step_s:
            time.sleep(step_s)
        yield i + 1, n, f"step {i + 1}"
    return "done"


def test_worker_reports_progress_and_result(qtbot):
    worker = Worker(counting_job(5))
    seen = []
    worker.signals.progress.connect(lambda d, t, m: seen.append((d, t, m)))
    with qtbot.waitSignal(worker.signals.finished, timeout=5000) as blocker:
        worker.start()
    assert blocker.args == ["done"]
    qtbot.waitUntil(lambda: len(seen) == 5, timeout=2000)
    assert seen[0] == (1, 5, "step 1") and seen[-1] == (5, 5, "step 5")


def test_worker_accepts_a_factory_called_on_the_worker_thread(qtbot):
    import threading

    threads = []

    def factory():
        threads.append(threading.current_thread())
        return counting_job(2)

    worker = Worker(factory)
    with qtbot.waitSignal(worker.signals.finished, timeout=5000):
        worker.start()
    assert threads and threads[0] is not threading.main_thread()


def test_cancel_stops_at_the_next_yield(qtbot):
    closed = []

    def endless():
        try:
            while True:
                time.sleep(0.005)
                yield 0, 0, "working"
        finally:
            closed.append(True)

    worker = Worker(endless())
    worker.start()
    time.sleep(0.05)
    with qtbot.waitSignal(worker.signals.cancelled, timeout=3000):
        worker.cancel()
    assert worker.wait(2.0)
    assert closed == [True]  # the generator's finally ran


def test_job_raising_scoring_cancelled_counts_as_cancelled(qtbot):
    def job():
        yield 0, 1, ""
        raise ScoringCancelled()

    worker = Worker(job())
    with qtbot.waitSignal(worker.signals.cancelled, timeout=3000):
        worker.start()


def test_failure_is_emitted_not_raised(qtbot):
    def job():
        yield 0, 1, ""
        raise ValueError("bad batch")

    worker = Worker(job())
    with qtbot.waitSignal(worker.signals.failed, timeout=3000) as blocker:
        worker.start()
    assert isinstance(blocker.args[0], ValueError)


def test_tracker_cancels_and_supersedes_the_previous_job_of_a_kind(qtbot):
    tracker = JobTracker()
    first = tracker.start(Worker(counting_job(10_000, 0.002), kind="score"))
    second = Worker(counting_job(1), kind="score")
    with qtbot.waitSignal(second.signals.finished, timeout=5000):
        tracker.start(second)
    assert first.wait(3.0)
    assert first.is_cancelled
    assert not tracker.is_current(first) and tracker.is_current(second)
    assert tracker.wait_all(1.0)


@pytest.mark.parametrize("step", [(1, 2), (1, 2, "x"), "message"])
def test_progress_tuple_forms(qtbot, step):
    def job():
        yield step
        return 1

    worker = Worker(job())
    got = []
    worker.signals.progress.connect(lambda *a: got.append(a))
    with qtbot.waitSignal(worker.signals.finished, timeout=3000):
        worker.start()
    qtbot.waitUntil(lambda: bool(got), timeout=1000)
    assert len(got[0]) == 3


def test_tracker_slots_hear_only_the_current_job(qtbot):
    tracker = JobTracker()
    heard: list[tuple[str, object]] = []
    first = Worker(counting_job(10_000, 0.002), kind="score")
    tracker.start(
        first,
        finished=lambda r: heard.append(("first", r)),
        cancelled=lambda: heard.append(("first", "cancelled")),
    )
    second = Worker(counting_job(2), kind="score")
    with qtbot.waitSignal(second.signals.finished, timeout=5000):
        tracker.start(
            second,
            progress=lambda d, t, m: heard.append(("progress", d)),
            finished=lambda r: heard.append(("second", r)),
        )
    assert first.wait(3.0)
    qtbot.wait(50)  # let queued signals arrive
    first.signals.finished.emit("late")  # a replaced job's result: dropped
    assert ("second", "done") in heard and ("progress", 2) in heard
    assert not any(who == "first" for who, _ in heard)
