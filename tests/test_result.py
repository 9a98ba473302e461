"""The one Finding type: JSON round trip (the score cache), reading cached dicts back."""

from __future__ import annotations

from types import SimpleNamespace

from ecgviewer.result import PART_TEXT, Finding, findings_of


def test_finding_round_trips_and_explains_itself() -> None:
    f = Finding("aVF", 0.25, 9.5, 3.14159, 99.87, "shape")
    again = Finding.from_json(f.to_json())
    assert again.lead == "aVF" and again.part == "shape"
    assert again.score == round(f.score, 4) and again.percentile == 99.87
    assert f.centre == (0.25 + 9.5) / 2 and f.reason == PART_TEXT["shape"]
    assert Finding(None, 0, 1, 2.0).reason == PART_TEXT["restoration"]


def test_findings_of_reads_objects_dicts_and_nothing() -> None:
    f = Finding("V2", 1.0, 1.9, 5.0, None, "beat")
    assert findings_of(SimpleNamespace(findings=[f, f.to_json()])) == [f, f]
    assert findings_of(SimpleNamespace()) == []
