"""The worklist with the bundled model (skipped without its weights or PTB-XL): the lazy
default path, the card's version as cache key, and no model load on re-open."""

from __future__ import annotations

import shutil

import pytest

from ecgviewer.analysis.detector import LazyDetector, bundled_model_info, detector_info, version_key
from ecgviewer.analysis.worklist_jobs import worklist_job
from ecgviewer.paths import resource
from ecgviewer.review.store import ReviewStore

pytestmark = pytest.mark.skipif(not resource("model/weights.pt").is_file(),
                                reason="no bundled weights")


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
