"""View > Median beats and File > Compare with…: the windows open, say what they show, and
paint true-scale pages (grabbed offscreen and checked for ink)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ecgviewer.io import read

pytestmark = pytest.mark.needs_shared


def _ink(widget) -> float:
    img = widget.grab().toImage()
    w, h = img.width(), img.height()
    dark = 0
    for y in range(0, h, 7):
        for x in range(0, w, 7):
            c = img.pixelColor(x, y)
            dark += c.red() < 80 and c.green() < 80 and c.blue() < 80
    return dark / ((w // 7) * (h // 7))


def test_median_beats_window(window, qtbot, fixtures_dir: Path, tmp_path: Path) -> None:
    rec = read(fixtures_dir / "hl7aecg" / "hl7_example_mortara_eli250.xml")
    window.open_record(rec)
    qtbot.waitUntil(lambda: window.measurements is not None, timeout=20_000)
    window.actions["median_beats"].trigger()
    qtbot.waitUntil(lambda: window.median.median_window is not None, timeout=20_000)
    win = window.median.median_window
    assert "Median of" in win.note.text()
    win.fit()
    assert _ink(win.page) > 0.002  # traces and text were painted
    win.page.grab().save(str(tmp_path / "median.png"))
    win.close()


def test_compare_with_other_format_and_rate(
    window, qtbot, fixtures_dir: Path, tmp_path: Path
) -> None:
    rec = read(fixtures_dir / "hl7aecg" / "hl7_example_mortara_eli250.xml")
    window.open_record(rec)
    qtbot.waitUntil(lambda: window.measurements is not None, timeout=20_000)
    # A 1000 Hz ECG from another producer, missing no leads; then one with 2 leads only.
    window.median.compare_with(str(fixtures_dir / "hl7aecg" / "cvrg_calecg2_example2.xml"))
    qtbot.waitUntil(lambda: window.median.compare_window is not None, timeout=30_000)
    win = window.median.compare_window
    comp = win.comparison
    assert len(comp.common_leads) == 12 and not any(comp.missing_leads.values())
    names = [c.name for c in comp.changes]
    assert "Heart rate" in names and "QRS" in names and "Anomaly percentile" in names
    hr = next(c for c in comp.changes if c.name == "Heart rate")
    assert hr.significant == (abs(hr.delta) >= 10)  # 72 vs 52 bpm: beyond noise
    assert hr.significant
    assert "different patient ids" in win.note.text()  # SBJ-123 / 106_ABC
    assert "rules alone" not in win.note.text()  # both 12 leads at >= 400 Hz: both learned
    # Save report…: the PDF's third page is the comparison.
    import pypdf

    prev = read(fixtures_dir / "hl7aecg" / "cvrg_calecg2_example2.xml")
    from ecgviewer.signal.intervals import measure

    window.median.save_comparison_report(
        prev, window.measurements.full, measure(prev), str(tmp_path / "cmp.pdf")
    )
    qtbot.waitUntil(lambda: window.median.comparison_report_path is not None, timeout=30_000)
    pages = pypdf.PdfReader(str(tmp_path / "cmp.pdf")).pages
    assert len(pages) == 3 and "Serial comparison" in " ".join(pages[2].extract_text().split())
    win.fit()
    assert _ink(win.page) > 0.002
    win.close()
    window.median.compare_window = None
    window.median.compare_with(str(fixtures_dir / "wfdb" / "100.hea"))
    qtbot.waitUntil(lambda: window.median.compare_window is not None, timeout=60_000)
    comp = window.median.compare_window.comparison
    assert set(comp.common_leads) == {"II", "V5"}
    assert "I" in comp.missing_leads["before"]
    assert "lacks" in window.median.compare_window.note.text()
    # 360 Hz with 2 leads: no learned second opinion there, so this one is measured alike.
    assert "rules alone" in window.median.compare_window.note.text()
    window.median.compare_window.close()


def test_too_short_record_says_so(window, qtbot) -> None:
    from ecgviewer.record import Record
    from ecgviewer.signal.synthetic import synthetic_ecg

    ecg = synthetic_ecg(fs=500.0, seed=3)
    rec = Record(np.asarray(ecg.signal)[:, :600], 500.0, list(ecg.leads))
    window.open_record(rec)
    qtbot.waitUntil(lambda: window.measurements is not None, timeout=20_000)
    window.median.show_median_beats()
    qtbot.waitUntil(lambda: window.median.median_window is not None, timeout=20_000)
    assert "No median beat" in window.median.median_window.note.text()
    window.median.median_window.close()
