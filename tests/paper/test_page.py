"""The page model: padded display filtering, overlay slices, per-cell traces and heat bands."""

from __future__ import annotations

import numpy as np

from ecgviewer.paper.heat import HEAT_BIN_MM, heat_alpha, heat_runs
from ecgviewer.paper.layouts import compute_page
from ecgviewer.paper.page import PAD_S, build_page, draw_cells
from ecgviewer.record import STANDARD_LEADS, Record


class _Highpass:
    """A stand-in display filter whose output depends on what precedes the page."""

    def apply(self, x: np.ndarray, fs: float) -> np.ndarray:
        return x - np.cumsum(x, axis=1) / np.arange(1, x.shape[1] + 1)


def _record(seconds: float = 30.0, fs: float = 100.0) -> Record:
    n = int(seconds * fs)
    rng = np.random.default_rng(3)
    sig = rng.normal(0, 0.2, (13, n)).astype(np.float32)
    return Record(sig, fs, [*STANDARD_LEADS, "Resp"], non_ecg=("Resp",))


def test_page_is_filtered_with_one_second_padding() -> None:
    rec = _record()
    page = build_page(rec, 10.0, 10.0, _Highpass())
    pad = int(PAD_S * rec.fs)
    expected = _Highpass().apply(rec.data()[:12, 1000 - pad : 2000 + pad], rec.fs)[:, pad:-pad]
    np.testing.assert_allclose(page.signal, expected, rtol=1e-6)
    assert page.leads == list(STANDARD_LEADS)  # non-ECG channels are not drawn
    assert page.page_start == 10.0 and page.signal.shape == (12, 1000)
    first = build_page(rec, 0.0, 10.0, _Highpass())  # no padding before the record start
    np.testing.assert_allclose(
        first.signal, _Highpass().apply(rec.data()[:12, :1100], rec.fs)[:, :1000], rtol=1e-6
    )


def test_cells_clip_traces_and_shade_heat_by_one_rule() -> None:
    rec = _record(10.0)
    sig = rec.data().copy()
    sig[0, 100:110] = 9.0  # a huge spike in lead I: clipped to its band
    amap = np.zeros_like(sig)
    amap[7, 550:590] = 2.0  # V2 hot at 5.5-5.9 s (its 3x4 cell shows 5-7.5 s)
    result = type("R", (), {"anomaly_map": amap, "restored": None})()
    data = build_page(
        Record(sig, rec.fs, rec.leads, non_ecg=rec.non_ecg), 0.0, 10.0, None, result, heat_scale=2.0
    )
    geometry = compute_page("3x4", data.leads, 10.0, 25.0, 10.0)
    cells = draw_cells(data, geometry, 25.0, 10.0, threshold=0.5, opacity=0.4)
    lead_i = next(d for d in cells if d.cell.lead == "I")
    assert lead_i.trace.max() == lead_i.cell.height / 2 / 10.0
    assert lead_i.cut == [(100, 1)]  # where the paper marks the cut
    v2 = next(d for d in cells if d.cell.lead == "V2")
    assert v2.heat_bins is not None and v2.heat_alpha is not None
    assert v2.heat_bins.size == round(v2.heat_rect[2] / HEAT_BIN_MM)
    runs = heat_runs(v2.heat_alpha)
    assert len(runs) == 1 and runs[0][2] == round(255 * 0.4)  # full scale: full opacity
    start_mm = runs[0][0] * HEAT_BIN_MM + v2.cell.x0
    assert abs(start_mm - v2.cell.x_of(5.5, 25.0)) <= HEAT_BIN_MM
    assert not any(d.heat_alpha.any() for d in cells if d.cell.lead != "V2")


def test_heat_alpha_steps() -> None:
    alpha = heat_alpha(np.array([0.0, 0.5, 0.51, 0.75, 1.0, 3.0]), 1.0, 0.5, 1.0)
    assert alpha.tolist() == [0, 0, 16, 128, 255, 255]


def test_clipped_runs_say_where_a_trace_leaves_its_cell() -> None:
    """One mark per run cut at the cell's edge, above or below (a 2 mV R wave in a 20 mm
    row read as a flat-topped 1 mV one, unmarked)."""
    from ecgviewer.paper.page import clipped_runs

    geometry = compute_page("12x1", list(STANDARD_LEADS), 10.0, 25.0, 10.0)
    cell = geometry.cells[0]
    half = cell.height / 2 / 10.0
    mv = np.zeros(1000)
    mv[100:105] = half + 1.0  # a tall R
    mv[300] = -half - 0.5  # a deep S
    mv[500:502] = half + 0.2
    assert clipped_runs(mv, cell, 10.0) == [(100, 1), (300, -1), (500, 1)]
    assert clipped_runs(np.zeros(10), cell, 10.0) == []
