"""Worklist C: the same patient's previous ECG is found by patient id and date."""

from __future__ import annotations

from ecgviewer.review.store import ReviewStore
from ecgviewer.review.worklist import WorklistRow
from ecgviewer.ui.worklist_window import WorklistWindow
from tests.analysis.fake_detector import FakeDetector


def test_previous_of_same_patient_and_compare_signal(qtbot) -> None:
    with ReviewStore() as store:
        win = WorklistWindow(store=store, detector=FakeDetector(), chunk=3)
        qtbot.addWidget(win)
        rows = [
            WorklistRow("a", "/x/a.hea", patient_id="P1", start="2020-01-01 10:00", order=0),
            WorklistRow("b", "/x/b.hea", patient_id="P1", start="2021-05-01 10:00", order=1),
            WorklistRow("c", "/x/c.hea", patient_id="P1", start="2022-03-01 10:00", order=2),
            WorklistRow("d", "/x/d.hea", patient_id="P2", start="2022-03-01 10:00", order=3),
            WorklistRow("e", "/x/e.hea", order=4),
        ]
        win.model.merge(rows)
        by = {r.uid: r for r in win.model.rows()}
        assert win.previous_of(by["c"]).uid == "b"  # the latest before it
        # No earlier one: none (a later ECG taken as "previous" read every change backwards)
        assert win.previous_of(by["a"]) is None
        assert win.previous_of(by["d"]) is None and win.previous_of(by["e"]) is None
        got: list[tuple[str, str]] = []
        win.compare_requested.connect(lambda r, p: got.append((r.uid, p.uid)))
        win.current_row = lambda: by["c"]  # type: ignore[method-assign]
        win.compare_current()
        assert got == [("c", "b")]
        win.current_row = lambda: by["e"]  # type: ignore[method-assign]
        win.compare_current()
        assert got == [("c", "b")] and "patient id" in win.statusBar().currentMessage()
        win.current_row = lambda: by["a"]  # type: ignore[method-assign]
        win.compare_current()
        assert got == [("c", "b")] and "No earlier ECG" in win.statusBar().currentMessage()
        # Without dates another of theirs is taken, and the comparison says the order is unknown
        undated = WorklistRow("f", "/x/f.hea", patient_id="P3", order=5)
        win.model.merge([undated, WorklistRow("g", "/x/g.hea", patient_id="P3", order=6)])
        assert win.previous_of(undated).uid == "g"
