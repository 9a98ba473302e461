"""model/map_back.py: model-rate arrays onto the record's samples and lead order; beat means."""

from __future__ import annotations

import numpy as np

from model.config import ModelConfig
from model.map_back import beat_scores, record_rows, stitch
from model.preprocess import prepare_array
from model.restore import WindowMaps


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


def _window_maps(rng: np.random.Generator, length: int) -> WindowMaps:
    def part(rows: int) -> np.ndarray:
        return rng.random((rows, length)).astype(np.float32)

    beat_sq, beat_v = part(12), part(1)
    beat_sq[:, :40] = np.nan  # no beat covers the start
    beat_v[:, :40] = np.nan
    beat_sq[3, 50:60] = np.inf  # an overflowing sample in one lead
    return WindowMaps(
        part(12), part(1), part(12), beat_sq, beat_v, part(12), {"trend_sq": part(12)}
    )


def test_stitch_averages_windows_and_one_window_is_its_own_values() -> None:
    """The one-window shortcut (float32 throughout) gives what the float64 average gives:
    the window's values where finite, the nearest covered value outside it for the whole-
    window maps, NaN (or inf) where the beat maps have none."""
    cfg = ModelConfig()
    length = cfg.global_len
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 1000)).astype(np.float32) * 0.1
    p = prepare_array(x, cfg.fs, cfg)
    assert len(p.windows) == 1 and p.filtered.shape[1] > length
    m = _window_maps(rng, length)
    st = stitch(p, [m], cfg)
    start = p.windows[0].start
    inside = slice(start, start + length)
    for name, value in (("global_sq", m.global_sq), ("all_trend_sq", m.all_sq["trend_sq"])):
        np.testing.assert_array_equal(st[name][:, inside], value)
        covered = np.arange(start, start + length)
        nearest = covered[
            np.clip(np.searchsorted(covered, np.arange(st[name].shape[1])), 0, length - 1)
        ]
        np.testing.assert_array_equal(st[name], st[name][:, nearest])
    beat = st["beat_sq"][:, inside]
    np.testing.assert_array_equal(
        beat[:, 40:], np.where(np.isfinite(m.beat_sq), m.beat_sq, 0)[:, 40:]
    )
    assert np.isnan(beat[:, :40]).all() and np.isnan(st["beat_sq"][:, :start]).all()
    # Two copies of the window average to the same values (the float64 path).
    twice = stitch(p.__class__(**{**p.__dict__, "windows": p.windows * 2}), [m, m], cfg)
    for name in st:
        np.testing.assert_array_equal(twice[name], st[name])
    assert "restored_mv" in st and "restored_mv" not in stitch(p, [m], cfg, restored=False)
