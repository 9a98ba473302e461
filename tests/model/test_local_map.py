"""The per-sample anomaly map: what stands out within its own lead, whatever the lead's level."""

from __future__ import annotations

import numpy as np

from model.local_map import relative_map


def test_the_region_that_departs_from_its_lead_stands_out_whatever_the_lead_level() -> None:
    rng = np.random.default_rng(0)
    err = np.abs(rng.normal(size=(12, 1000))) * np.linspace(1, 20, 12)[:, None]  # noisy leads
    err[3, 400:450] += 30.0  # one region of a quiet lead
    out = relative_map([err], fs=100.0)
    assert out.shape == err.shape and out.dtype == np.float32
    assert np.unravel_index(int(np.argmax(out)), out.shape)[0] == 3
    assert 400 <= int(np.argmax(out[3])) < 450
    # A naturally 20x noisier lead is not brighter as a whole (ratio to its own median ~1).
    assert abs(np.median(out[11]) - 1) < 0.05 and abs(np.median(out[0]) - 1) < 0.05


def test_sources_add_and_scale_out() -> None:
    rng = np.random.default_rng(1)
    a = np.abs(rng.normal(size=(12, 500)))
    b = np.abs(rng.normal(size=(12, 500)))
    assert np.allclose(
        relative_map([a, b], 100.0), relative_map([a], 100.0) + relative_map([b], 100.0), atol=1e-5
    )
    assert np.allclose(relative_map([7.0 * a], 100.0), relative_map([a], 100.0), atol=1e-4)


def test_a_lead_flat_almost_everywhere_is_not_divided_by_zero() -> None:
    err = np.ones((12, 500))
    err[5] = 0.0
    err[5, 100:110] = 1.0
    out = relative_map([err], 100.0)
    assert np.isfinite(out).all() and out[5].max() < 1e3
