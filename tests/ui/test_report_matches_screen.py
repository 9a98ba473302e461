"""The printed page is the screen page: one ECG drawn by the viewer and by the report, their
page models compared field by field (traces, filter, heat bands, scale, verdict)."""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer import wording
from ecgviewer.record import Record
from ecgviewer.report.page import from_result, report_cells, report_page
from tests.ui.conftest import synthetic_12lead
from tests.ui.fakes import fake_result


def _wander(seconds: float = 25.0) -> Record:
    """Spiky 12-lead ECG on a slow baseline wander, so the display filter and its padding
    change what is drawn (an unpadded filter would bend the page edges)."""
    rec = synthetic_12lead(seconds=seconds)
    t = np.arange(rec.n_samples) / rec.fs
    sig = rec.data() + (0.6 * np.sin(2 * np.pi * 0.3 * t) + 0.3).astype(np.float32)
    return Record(sig, rec.fs, list(rec.leads), source=rec.source, format=rec.format)


def _job(record: Record, device: str = "auto"):
    """The fake model, hot in V2 where a 3x4 page shows it (5.5-6.1 s of each page)."""
    yield 1, 1, "scoring"
    result = fake_result(record, ("V2", 5.5, 6.1))
    a, b = int(15.5 * record.fs), int(16.1 * record.fs)
    result.anomaly_map[record.leads.index("V2"), a:b] = 0.8
    return result


@pytest.mark.parametrize("page_start", [0.0, 10.0])
def test_report_page_model_equals_the_screen(qtbot, page_start):
    from ecgviewer.ui.main_window import MainWindow
    from ecgviewer.ui.review_hooks import install

    window = MainWindow(scoring_job=_job)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    features = install(window)
    window.open_record(_wander())
    qtbot.waitUntil(lambda: window.result is not None, timeout=10_000)
    window.state.page_start = page_start
    window.redraw()
    window._on_overlay_changed(True, True, 0.3, 0.6)  # non-default sliders travel too
    args = features._report_args()
    assert args is not None and args["display_filter"] is not None
    content = from_result(
        args["record"],
        args["result"],
        review=args["review"],
        display_filter=args["display_filter"],
        t0=args["t0"],
        **args["overlay"],
    )
    page = report_page(content.record.ecg_leads, "A4")
    printed, cells = report_cells(content, page)
    screen = window.plot.data
    plot = window.plot

    # The page's samples: same leads, same filter with the same padding, same overlay.
    assert printed.leads == screen.leads and printed.fs == screen.fs
    assert printed.page_start == screen.page_start == page_start
    np.testing.assert_array_equal(printed.signal, screen.signal)
    np.testing.assert_array_equal(printed.anomaly, screen.anomaly)
    assert printed.heat_scale == screen.heat_scale
    assert content.filter_caption() == window.display_filter().describe(content.record.fs)
    # The layout and scale.
    assert (page.speed, page.gain) == (plot.speed, plot.gain)
    assert [d.cell for d in cells] == list(plot.page.cells)
    # Each cell: the clipped trace, the heat band's bins and shading.
    hot = 0
    for drawing, curve, band in zip(cells, plot.curves(), plot.heat_bands(), strict=True):
        _, y = curve.getData()
        np.testing.assert_array_equal(drawing.trace, y)
        np.testing.assert_array_equal(drawing.heat_bins, band.values)
        np.testing.assert_array_equal(drawing.heat_alpha, band.alpha)
        hot += int(drawing.heat_alpha.any())
    assert hot == 1  # V2's cell
    # The verdict, in the same words.
    res = window.result
    assert content.verdict == wording.verdict(res.percentile, res.flags)
