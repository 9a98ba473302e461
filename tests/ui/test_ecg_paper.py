"""Paper items: grid on exact millimetres, heat band binning and extents."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRectF

from ecgviewer.ui.ecg_paper import HeatBand, PaperGridItem, bin_max


def test_grid_snaps_to_whole_5mm_squares(qapp):
    grid = PaperGridItem()
    grid.set_paper(QRectF(-11.0, -163.0, 263.0, 165.5), (1, 1, 1, 255), (2, 2, 2, 255))
    rect = grid.boundingRect()
    for v in (rect.left(), rect.right(), rect.top(), rect.bottom()):
        assert v % 5.0 == pytest.approx(0.0)
    assert rect.contains(QRectF(-11.0, -163.0, 263.0, 165.5))


def test_bin_max_keeps_narrow_peaks():
    x = np.zeros(5000, dtype=np.float32)
    x[1234] = 7.0
    out = bin_max(x, 500)
    assert out.shape == (500,)
    assert out.max() == 7.0 and int(np.argmax(out)) == 1234 // 10


def test_heat_band_alpha_follows_threshold_and_opacity(qapp):
    band = HeatBand()
    values = np.linspace(0.0, 1.0, 11, dtype=np.float32)
    band.set_values(values, QRectF(0.0, -5.0, 110.0, 10.0))
    band.render((0, 0, 255), scale=1.0, threshold=0.5, opacity=0.5)
    alpha = band.alpha
    assert (alpha[:6] == 0).all()  # at or below the threshold: transparent
    assert alpha[-1] == round(255 * 0.5)  # full scale: the chosen opacity
    assert np.all(np.diff(alpha.astype(int)) >= 0)
    x0, x1 = band.visible_span()
    assert x0 == pytest.approx(60.0) and x1 == pytest.approx(110.0)
