"""Long recordings: paged opening, window scoring that can be cancelled and resumed."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

from ecgviewer.analysis.long_recording import (
    RESCORED_ON_RESUME,
    LongRecordingScores,
    long_recording_job,
)
from ecgviewer.record import Record
from ecgviewer.review.store import ReviewStore
from tests.analysis.fake_detector import FakeDetector


def _recording(minutes: float = 10, fs: float = 100.0, spikes=(125.0, 431.0, 302.0)) -> Record:
    n = int(minutes * 60 * fs)
    t = np.arange(n) / fs
    sig = np.tile(0.2 * np.sin(2 * np.pi * 1.1 * t), (3, 1)).astype(np.float32)
    for k, at in enumerate(spikes):
        sig[1, int(at * fs)] = 3.0 + k  # the last one is the largest
    return Record(sig, fs, ["I", "II", "V1"])


def run(job):
    try:
        while True:
            next(job)
    except StopIteration as stop:
        return stop.value


def test_full_scoring_and_ranked_findings():
    rec = _recording()
    det = FakeDetector()
    state = run(long_recording_job(rec, detector=det, window_s=10.0, batch=8))
    assert state.n_windows == 60 and state.complete
    assert det.records == 60 and max(det.batches) <= 8
    top = state.ranked_findings(3)
    # Spikes written at 302 s (largest), 431 s, 125 s.
    assert [state.window_of(f) for f in top] == [30, 43, 12]
    assert top[0].start <= 302.0 <= top[0].end
    assert state.scores[30] == pytest.approx(5.0, abs=1e-3)


def test_cancel_keeps_finished_windows_and_stops_scoring():
    rec = _recording()
    det = FakeDetector()
    seen: list[int] = []
    state = LongRecordingScores.for_record(rec, 10.0)
    job = long_recording_job(rec, state, det, batch=8, emit=seen.extend)
    for _ in range(3):  # initial progress + two batches
        next(job)
    job.close()  # what the Worker's cancel amounts to: the generator is not stepped again
    assert det.records == 16 and sorted(seen) == list(range(16))
    assert state.n_done == 16 and np.isnan(state.scores[16:]).all()
    assert np.isfinite(state.scores[:16]).all()


def test_resume_in_place_and_from_the_store():
    rec = _recording()
    state = LongRecordingScores.for_record(rec, 10.0)
    det = FakeDetector()
    with ReviewStore() as store:
        job = long_recording_job(rec, state, det, batch=10, store=store, content_hash="h" * 64)
        for _ in range(3):
            next(job)
        job.close()
        assert state.n_done == 20
        det2 = FakeDetector()
        run(long_recording_job(rec, state, det2, batch=10))
        assert det2.records == 40 and state.complete  # same object: the rest only
        fresh = FakeDetector()
        again = run(
            long_recording_job(rec, None, fresh, batch=10, store=store, content_hash="h" * 64)
        )
        # The first 20 windows' scores came from the store; the most unusual of them are
        # scored again for their findings (RESCORED_ON_RESUME), here all 20.
        assert fresh.records == 40 + min(20, RESCORED_ON_RESUME)
        assert np.array_equal(again.scores[:20], state.scores[:20])


def test_holter_edf_opens_fast_without_loading(tmp_path):
    pytest.importorskip("ecgviewer.io.edf")
    from ecgviewer import io
    from tests.analysis.holter import write_holter_edf

    path = tmp_path / "holter.edf"
    pvcs = write_holter_edf(path, hours=0.5, fs=250, pvc_every_s=900)
    t0 = time.perf_counter()
    rec = io.read(path)
    opened = time.perf_counter() - t0
    assert opened < 1.0
    assert not isinstance(rec.signal, np.ndarray)  # paged, not loaded
    assert rec.duration == pytest.approx(1800.0) and rec.n_leads == 12
    page = rec.slice(pvcs[0] - 5, pvcs[0] + 5)
    assert page.n_samples == 2500


def test_file_is_hashed_once_for_the_store(tmp_path):
    from ecgviewer.review.hashing import content_hash

    rec = _recording(minutes=2, spikes=(30.0,))
    src = tmp_path / "rec.bin"
    src.write_bytes(b"pretend file bytes" * 1000)
    rec.source = str(src)
    with ReviewStore() as store:
        state = run(long_recording_job(rec, None, FakeDetector(), store=store))
        assert state.content_hash == content_hash(src)
        saved = store.get_window_scores(state.content_hash, state.model_version, 10.0)
        assert len(saved) == 12


def test_findings_rank_windows_by_their_score_not_by_one_beat():
    class Inverted(FakeDetector):
        def _one(self, record):
            res = super()._one(record)
            t0, t1, s, leads = res.beats[0]
            res.beats = [(t0, t1, 10.0 - s, leads)]  # beat scores in the opposite order
            res.findings = [replace(f, score=10.0 - f.score) for f in res.findings]
            return res

    state = run(long_recording_job(_recording(), detector=Inverted(), batch=16))
    top = state.ranked_findings(3)
    assert [state.window_of(f) for f in top] == [30, 43, 12]  # by window score: the spikes
    assert top[0].score == pytest.approx(state.scores[30])  # the window's score, not the beat's
    assert top[0].lead is not None and top[0].start <= 302.0 <= top[0].end


def test_a_resumed_recording_keeps_its_findings(tmp_path):
    """Scores come back from the store, findings did not ("No findings" on reopening a scored
    Holter): the most unusual saved windows are scored again for them, the rest are not."""
    rec = _recording(minutes=2, spikes=(30.0, 95.0))
    src = tmp_path / "rec.bin"
    src.write_bytes(b"pretend file bytes" * 1000)
    rec.source = str(src)
    with ReviewStore() as store:
        first = run(long_recording_job(rec, None, FakeDetector(), store=store))
        det = FakeDetector()
        again = run(long_recording_job(rec, None, det, store=store))
        assert det.records == min(len(first.scores), RESCORED_ON_RESUME)
        assert [first.window_of(f) for f in first.ranked_findings(2)] == [
            again.window_of(f) for f in again.ranked_findings(2)
        ]
        assert np.allclose(first.scores, again.scores)
