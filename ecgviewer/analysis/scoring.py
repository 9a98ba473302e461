"""Scoring jobs for the GUI and the worklist: Qt-free generators around ``model.infer``.

torch is imported inside the job the first time it runs, so the window opens before torch
loads. Torch gets all cores but one, so the GUI thread keeps a core on a 2-core workstation.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Generator, Sequence
from typing import Any

from ecgviewer.record import Record

Progress = tuple[int, int, str]

#: The bundled model's input leads (model/config.py ``STANDARD_LEADS``; a test keeps them
#: equal). III, aVR, aVL and aVF are derived from I and II when a record lacks them.
MODEL_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


def unscorable_reason(record: Record) -> str | None:
    """Why the model cannot score ``record`` at all (said once, before any window is tried),
    or None. Checked without torch, so the window can say it at once."""
    have = set(record.with_derived_limb_leads().leads)
    missing = [name for name in MODEL_LEADS if name not in have]
    if not missing:
        return None
    has = ", ".join(record.ecg_leads or record.leads) or "none"
    return f"the model needs the 12 standard leads; this record has {has}"


_detectors: dict[tuple[str | None, str], Any] = {}
_lock = threading.Lock()


def limit_torch_threads() -> None:
    """Leave one core to the GUI thread (torch defaults to all cores)."""
    import torch

    threads = max(1, (os.cpu_count() or 2) - 1)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def get_detector(weights: str | None = None, device: str = "auto") -> Any:
    """The shared :class:`model.infer.Detector` for these weights and device (loaded once)."""
    from model.infer import Detector

    key = (weights, device)
    with _lock:
        if key not in _detectors:
            limit_torch_threads()
            _detectors[key] = Detector.load(weights, device=device)
        return _detectors[key]


def score_record_job(
    record: Record, *, device: str = "auto", weights: str | None = None
) -> Generator[Progress, None, Any]:
    """Score one record; yields ``(done, total, message)``, returns a ``ScoreResult``.

    Raises ECGError (e.g. MissingLeadsError) for records the model cannot score.
    """
    results = yield from score_many_job([record], device=device, weights=weights, batch=16)
    result = results[0]
    if isinstance(result, Exception):
        raise result
    return result


def score_many_job(
    records: Sequence[Record], *, device: str = "auto", weights: str | None = None, batch: int = 64
) -> Generator[Progress, None, list[Any]]:
    """Score several records in shared batches; failed ones come back as their ECGError."""
    yield 0, 1, "loading the anomaly model"
    detector = get_detector(weights, device)
    gen = detector.iter_score_many(records, batch=batch)
    try:
        while True:
            done, total = next(gen)
            yield (
                done,
                max(total, 1),
                f"scoring {len(records)} ECG{'s' if len(records) != 1 else ''}",
            )
    except StopIteration as stop:
        return list(stop.value)
