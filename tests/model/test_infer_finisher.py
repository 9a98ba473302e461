"""The network's stage and the finishing as separate steps (Detector.network_maps and
Detector.finisher, for finishing in worker processes): the results of score_many."""

from __future__ import annotations

import pickle

import numpy as np

from model.infer import Detector
from tests.model.conftest import bundled_weights, synthetic_record


def _drain(gen):  # noqa: ANN001, ANN202
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        return stop.value


def test_network_maps_then_a_pickled_finisher_give_score_many_results() -> None:
    det = Detector.load(bundled_weights(), device="cpu")
    records = [synthetic_record(fs, 10.0, seed=s)[0] for fs, s in ((500.0, 1), (250.0, 2))]
    records.append(synthetic_record(500.0, 24.0, seed=3)[0])  # three windows
    expected = det.score_many(records)
    prepare = det.preparer()
    prepared = [prepare(r) for r in records]
    maps = _drain(det.network_maps(prepared))
    assert [len(m) for m in maps] == [len(p.windows) for p in prepared]
    finish = pickle.loads(pickle.dumps(det.finisher()))  # as a worker process gets it
    assert finish.detector.net is None and det.net is not None
    for record, p, m, want in zip(records, prepared, maps, expected, strict=True):
        got = finish(record, p, m)
        assert got.score == want.score and got.percentile == want.percentile
        assert got.flags == want.flags and got.lead_scores == want.lead_scores
        np.testing.assert_array_equal(got.anomaly_map, want.anomaly_map)
        np.testing.assert_array_equal(got.restored, want.restored)
        assert [f.leads for f in got.findings] == [f.leads for f in want.findings]


def test_what_is_sent_for_finishing_gives_the_same_result_with_and_without_maps() -> None:
    det = Detector.load(bundled_weights(), device="cpu")
    records = [synthetic_record(500.0, 24.0, seed=4)[0], synthetic_record(100.0, 10.0, seed=5)[0]]
    for maps_wanted in (True, False):
        det.make_maps = maps_wanted
        prepare = det.preparer()
        prepared = [prepare(r) for r in records]
        maps = _drain(det.network_maps(prepared))
        finish = det.finisher()
        for record, p, m in zip(records, prepared, maps, strict=True):
            light_p, light_m = det.for_finishing(p, m)
            sent = len(pickle.dumps((light_p, light_m)))
            saved = sum(w.signal.nbytes for w in p.windows)  # the network's inputs
            if not maps_wanted:  # and the restored windows
                saved += sum(x.restored.nbytes for x in m)
            assert sent <= len(pickle.dumps((p, m))) - saved
            assert p.filtered.shape[1] == 0  # the preparer does not send the filtered leads
            want, got = finish(record, p, m), finish(record, light_p, light_m)
            assert got.score == want.score and got.components == want.components
            assert [f.leads for f in got.findings] == [f.leads for f in want.findings]
            np.testing.assert_array_equal(got.anomaly_map, want.anomaly_map)
            np.testing.assert_array_equal(got.restored, want.restored)
