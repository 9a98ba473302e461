"""Scoring a long (Holter, 24 h) recording window by window, cancellable and resumable.

The model is trained on 10 s ECGs, so a 24 h recording is scored as 8,640 windows of 10 s,
read page by page from a paged signal (the file is never loaded whole) and sent to the
Detector in batches. Results live in a :class:`LongRecordingScores` that the job fills in
place: cancelling keeps what was scored, and passing the same object back resumes at the
first unscored window. With a review store and the file's content hash the per-window scores
are also saved, so scoring resumes after the program is closed.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ecgviewer.analysis.batch_scoring import cache_write, read_ahead, score_many_isolated
from ecgviewer.analysis.detector import DetectorSource, LazyDetector
from ecgviewer.errors import ECGError
from ecgviewer.io.files import files_of
from ecgviewer.record import Record
from ecgviewer.result import Finding, findings_of
from ecgviewer.review.hashing import cached_hash_job
from ecgviewer.review.store import ReviewStore

log = logging.getLogger(__name__)

Progress = tuple[int, int, str]
#: Windows shorter than this (the tail of a recording) are not scored: too short for beats.
MIN_WINDOW_S = 2.0


@dataclass
class LongRecordingScores:
    """Per-window scores of one recording; NaN where not (yet) scored.

    ``done`` marks windows that are finished, including those that could not be scored
    (too short, refused by the model), so a resume skips them.
    """

    duration: float
    window_s: float
    scores: np.ndarray
    percentiles: np.ndarray
    done: np.ndarray
    findings: dict[int, Finding] = field(default_factory=dict)
    model_version: str = ""
    content_hash: str = ""  # of the file, once computed (a resume does not hash again)
    problems: dict[str, int] = field(default_factory=dict)  # why windows were not scored: count

    @classmethod
    def for_record(cls, record: Record, window_s: float = 10.0) -> LongRecordingScores:
        n = max(1, math.ceil(record.duration / window_s))
        nan = np.full(n, np.nan)
        return cls(record.duration, window_s, nan.copy(), nan.copy(), np.zeros(n, bool))

    @property
    def n_windows(self) -> int:
        return int(self.scores.size)

    @property
    def n_done(self) -> int:
        return int(self.done.sum())

    @property
    def complete(self) -> bool:
        return bool(self.done.all())

    def window_bounds(self, i: int) -> tuple[float, float]:
        return window_bounds(i, self.window_s, self.duration)

    def window_of(self, finding: Finding) -> int:
        """The window a finding lies in (its start is inside that window)."""
        return int(min(self.n_windows - 1, max(0, finding.start // self.window_s)))

    def centres(self) -> np.ndarray:
        """Window centre times in seconds (x of the overview strip)."""
        starts = np.arange(self.n_windows) * self.window_s
        return (starts + np.minimum(starts + self.window_s, self.duration)) / 2

    def ranked_findings(self, n: int | None = None) -> list[Finding]:
        """Windows most unusual first (by window score), each at its worst beat: the order
        "next finding" walks. Beat scores alone rank badly: a single noisy beat in a normal
        window outranks a whole infarct pattern (seen on PTB-XL ECGs joined into a Holter)."""
        ranked = sorted(self.findings.values(), key=lambda f: (-f.score, f.start))
        return ranked if n is None else ranked[:n]


#: Saved windows scored again on resuming, the most unusual first, for their findings.
RESCORED_ON_RESUME = 20


def long_recording_job(
    record: Record,
    state: LongRecordingScores | None = None,
    detector: DetectorSource = None,
    *,
    window_s: float = 10.0,
    batch: int = 16,
    store: ReviewStore | None = None,
    content_hash: str | None = None,
    emit: Callable[[list[int]], None] | None = None,
    device: str = "auto",
) -> Generator[Progress, None, LongRecordingScores]:
    """Score every unscored window of ``record``; yields after each batch.

    Parameters
    ----------
    record
        The recording; its signal may be a paged source (only one batch is in memory).
    state
        Scores of an earlier, cancelled run of the same recording: resumed, filled in place.
    detector
        Detector object, factory, or None for the bundled model (loaded on first need).
    store, content_hash
        With a store, finished windows are saved and earlier ones reloaded, keyed by the
        file's content hash (computed here, with progress, when not given and the record
        has a source file).
    emit
        Receives the indices of windows just finished (from the job's thread).

    Returns
    -------
    The filled :class:`LongRecordingScores`.
    """
    if state is None:
        state = LongRecordingScores.for_record(record, window_s)
    lazy = LazyDetector(detector, device=device)
    state.model_version = lazy.version_key()
    content_hash = content_hash or state.content_hash
    if store is not None and not content_hash and record.source and os.path.isfile(record.source):
        # First opening reads the whole file once, with progress; later ones hit the cache.
        job = cached_hash_job(files_of(record.source), store)
        try:
            while True:
                done, total, _ = next(job)
                yield (0, state.n_windows, f"Checking the file ({100 * done // max(total, 1)}%)")
        except StopIteration as stop:
            content_hash = stop.value
    state.content_hash = content_hash or ""
    if store is not None and content_hash:
        saved = store.get_window_scores(content_hash, state.model_version, state.window_s)
        for i, s in saved.items():
            if 0 <= i < state.n_windows and not state.done[i]:
                state.scores[i] = s
                state.done[i] = True
        # Findings are not saved with the scores: the most unusual saved windows are scored
        # again (a fraction of a second), or a resumed recording would say "No findings".
        resumed = [i for i in saved if 0 <= i < state.n_windows and i not in state.findings]
        for i in sorted(resumed, key=lambda i: -state.scores[i])[:RESCORED_ON_RESUME]:
            state.done[i] = False
    todo = [i for i in range(state.n_windows) if not state.done[i]]
    total = state.n_windows
    yield (state.n_done, total, f"{state.n_done} of {total} windows scored")
    if not todo:
        return state

    windows = scored_windows(record, todo, state.window_s, lazy.get, chunk=batch, batch=batch)
    with closing(windows):  # a cancelled job stops the window reader too
        for outcomes in windows:
            finished: dict[int, float] = {}
            for i, outcome in outcomes:
                if outcome is None:
                    continue
                _store_result(state, i, outcome)
                if math.isfinite(state.scores[i]):
                    finished[i] = float(state.scores[i])
            for i, _ in outcomes:
                state.done[i] = True
            if store is not None and content_hash and finished:
                cache_write(
                    store.put_window_scores,
                    content_hash,
                    state.model_version,
                    state.window_s,
                    finished,
                )
            if emit is not None:
                emit([i for i, _ in outcomes])
            yield (state.n_done, total, f"{state.n_done} of {total} windows scored")
    return state


def window_bounds(i: int, window_s: float, duration: float) -> tuple[float, float]:
    """Start and end (s) of window ``i``; the last one ends with the recording."""
    return i * window_s, min((i + 1) * window_s, duration)


def scored_windows(
    record: Record,
    windows: Sequence[int],
    window_s: float,
    detector: Callable[[], Any],
    *,
    chunk: int,
    batch: int,
) -> Iterator[list[tuple[int, Any]]]:
    """Windows of ``record`` scored ``chunk`` at a time: the one window loop of long recordings
    (the viewer's overview and ``ecgad score``).

    The next chunk is sliced in a thread while the model scores this one (only one chunk of
    windows is in memory; a paged signal reads only their pages). Yields, per chunk,
    ``(window, outcome)``: the Detector's result, the :class:`ECGError` that kept the window
    from being read or scored, or None for a tail shorter than :data:`MIN_WINDOW_S`.
    ``detector`` is called when the first chunk is ready (the model loads while it is read).
    """
    base = replace(record, annotations=[])  # the model reads no annotations; slicing is faster
    chunks = [list(windows[k : k + chunk]) for k in range(0, len(windows), chunk)]

    def read(part: list[int]) -> list[tuple[int, Record | ECGError | None]]:
        return [(i, _read_window(base, *window_bounds(i, window_s, record.duration))) for i in part]

    with closing(read_ahead(chunks, read, "long-recording-read")) as loaded:
        for part in loaded:
            scorable = [(i, w) for i, w in part if isinstance(w, Record)]
            results = (
                score_many_isolated(detector(), [w for _, w in scorable], batch) if scorable else []
            )
            outcome: dict[int, Any] = {i: w for i, w in part}
            outcome.update((i, res) for (i, _), res in zip(scorable, results, strict=True))
            yield [(i, outcome[i]) for i, _ in part]


def _read_window(record: Record, t0: float, t1: float) -> Record | ECGError | None:
    if t1 - t0 < MIN_WINDOW_S:
        return None
    try:
        return record.slice(t0, t1)
    except ECGError as exc:  # e.g. a page with NaN samples: not scored, and why is counted
        return exc


def _store_result(state: LongRecordingScores, i: int, res: Any) -> None:
    if isinstance(res, ECGError):
        log.info("window %d not scored: %s", i, res.problem)
        state.problems[res.problem] = state.problems.get(res.problem, 0) + 1
        return
    state.scores[i] = float(res.score)
    pct = getattr(res, "percentile", None)
    state.percentiles[i] = np.nan if pct is None else float(pct)
    t0, _ = state.window_bounds(i)
    # The window's place to look: its most unusual calibrated finding, else its most unusual
    # beat; ranked by the window's score (the calibrated, ECG-level measure the strip shows).
    found = findings_of(res)
    beats = list(getattr(res, "beats", None) or [])
    if found:
        top = found[0]
        state.findings[i] = Finding(
            top.lead,
            t0 + top.start,
            t0 + top.end,
            float(res.score),
            state.percentiles[i] if np.isfinite(state.percentiles[i]) else None,
            "window",
        )
    elif beats:
        best = max(beats, key=lambda b: float(b[2]))
        leads = best[3] if len(best) > 3 and isinstance(best[3], dict) else {}
        lead = max(leads, key=leads.get) if leads else None
        state.findings[i] = Finding(
            lead, t0 + float(best[0]), t0 + float(best[1]), float(res.score), None, "window"
        )
    else:
        t0, t1 = state.window_bounds(i)
        state.findings[i] = Finding(None, t0, t1, float(res.score), None, "window")
