"""model/map_back.py: model-rate arrays onto the record's samples and lead order; beat means."""

from __future__ import annotations

import numpy as np

from model.config import ModelConfig
from model.map_back import beat_scores, record_rows
from model.preprocess import prepare_array


def test_record_rows_puts_each_model_lead_on_its_record_row_at_the_input_rate() -> None:
    cfg = ModelConfig()
    x = np.zeros((12, 5000), np.float32)  # 10 s at 500 Hz
    p = prepare_array(x, 500.0, cfg)
    model_rows = np.arange(12, dtype=np.float32)[:, None] * np.ones((1, p.filtered.shape[1]))
    leads = ["V1", "X", "I", "aVR"]  # the record's order, with a lead the model does not use
    out = record_rows(model_rows, p, cfg, leads, np.nan)
    assert out.shape == (4, 5000)
    np.testing.assert_allclose(out[0], cfg.leads.index("V1"))
    assert np.isnan(out[1]).all()
    np.testing.assert_allclose(out[2], 0.0)
    np.testing.assert_allclose(out[3], cfg.leads.index("aVR"))


def test_beat_scores_are_per_lead_means_over_each_beat_view() -> None:
    cfg = ModelConfig()
    n = 1000
    comb = np.zeros((12, n))
    comb[3, 300:400] = 2.0  # only lead aVR, only around the second beat
    r_peaks = np.array([100, 350, 900, 990])  # the last one: less than half its view inside
    beats = beat_scores(comb, r_peaks, n, cfg)
    assert len(beats) == 3
    (a0, b0, s0, _), (_, _, s1, per1) = beats[0], beats[1]
    assert (a0, b0) == ((100 - cfg.beat_pre) / cfg.fs, (100 - cfg.beat_pre + cfg.beat_len) / cfg.fs)
    assert s0 == 0.0
    # The second beat's view starts beat_pre before R=350; the map is 2 up to sample 400.
    assert per1["aVR"] == 2.0 * (400 - (350 - cfg.beat_pre)) / cfg.beat_len
    assert s1 == per1["aVR"] / 12 and set(per1) == set(cfg.leads)
