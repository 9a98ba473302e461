"""The worklist with the bundled model (skipped without its weights or PTB-XL): the lazy
default path, the card's version as cache key, and no model load on re-open."""

from __future__ import annotations

import shutil

import pytest

from ecgviewer.analysis.detector import LazyDetector, bundled_model_info, detector_info, version_key
from ecgviewer.analysis.worklist_jobs import worklist_job
from ecgviewer.paths import resource
from ecgviewer.review.store import ReviewStore

pytestmark = pytest.mark.skipif(
    not resource("model/weights.pt").is_file(), reason="no bundled weights"
)


def run(job):
    try:
        while True:
            next(job)
    except StopIteration as stop:
        return stop.value


def test_bundled_model_scores_a_folder_once(tmp_path, ptbxl_dir, monkeypatch):
    folder = tmp_path / "f"
    folder.mkdir()
    for hea in sorted((ptbxl_dir / "records100" / "00000").glob("*.hea"))[:2]:
        for f in (hea, hea.with_suffix(".dat")):
            shutil.copy(f, folder)
    with ReviewStore() as store:
        rows = run(worklist_job(folder, store, None, device="cpu"))
        assert all(r.score is not None and r.percentile is not None for r in rows)
        key = version_key(bundled_model_info())
        assert {r.model_version for r in rows} == {key}
        # The loaded Detector names itself the same way: its own results hit the cache.
        import ecgviewer.analysis.scoring as scoring

        assert version_key(detector_info(scoring.get_detector(None, "cpu"))) == key
        loads = []
        monkeypatch.setattr(scoring, "get_detector", lambda *a, **k: loads.append(1))
        again = run(worklist_job(folder, store, None, device="cpu"))
        assert loads == [] and [r.score for r in again] == [r.score for r in rows]
        assert not LazyDetector(None).loaded


def test_chunks_prepared_in_the_loader_thread_score_as_the_detector_does(tmp_path, ptbxl_dir):
    """From the second chunk on, the loader thread runs Detector.preparer (the archive
    pipeline's CPU half): the scores are those of Detector.score_many on the same files."""
    from ecgviewer import io
    from ecgviewer.analysis.scoring import get_detector

    folder = tmp_path / "f"
    folder.mkdir()
    heads = sorted((ptbxl_dir / "records100" / "00000").glob("*.hea"))[:3]
    for hea in heads:
        for f in (hea, hea.with_suffix(".dat")):
            shutil.copy(f, folder)
    det = get_detector(None, "cpu")
    seen = []
    original = det.iter_score_many

    def spy(records, batch=64, prepared=None):
        seen.append(prepared is not None)
        return original(records, batch=batch, prepared=prepared)

    det.iter_score_many = spy
    try:
        with ReviewStore() as store:
            rows = run(worklist_job(folder, store, det, device="cpu", chunk=1))
    finally:
        del det.iter_score_many
    assert seen[1:] and all(seen[1:])  # chunks 2 and 3 came prepared
    expected = [r.score for r in det.score_many([io.read(folder / h.name) for h in heads])]
    assert [r.score for r in rows] == pytest.approx(expected, abs=1e-6)
