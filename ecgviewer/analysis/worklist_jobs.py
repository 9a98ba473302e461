"""The worklist pipeline: score the ECGs of a source (:mod:`.worklist_sources`: a folder, an
HDF5 collection, a PTB-XL database CSV) in batches, reusing cached scores.

Order of work, chosen so the first rows appear at once: (1) list the files by name only (no
file is opened) and send those rows; (2) chunk by chunk, hash the bytes, look up the cache,
load only the ECGs that need it, score them with one ``score_many`` call and send the updated
rows. Loading the next chunk overlaps the model call on the current one (torch releases the
GIL), so the worklist runs at about the Detector's own batched throughput.

Rows go to the caller through ``emit(rows)``, a plain callable the UI turns into a Qt signal;
the generator yields ``(done, total, message)`` between chunks like every analysis job.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ecgviewer.analysis.batch_scoring import cache_write, read_ahead, score_many_isolated
from ecgviewer.analysis.detector import DetectorSource, LazyDetector, result_model
from ecgviewer.analysis.worklist_sources import scan_source
from ecgviewer.errors import ECGError
from ecgviewer.io.files import files_of
from ecgviewer.record import Record, RecordEntry
from ecgviewer.result import findings_of
from ecgviewer.review.hashing import cached_hash, entry_hash
from ecgviewer.review.reading import Reading, Readings
from ecgviewer.review.store import EcgInfo, ReviewStore, ScoreSummary
from ecgviewer.review.worklist import ERROR, LONG, WorklistRow, row_uid

log = logging.getLogger(__name__)

Progress = tuple[int, int, str]
Emit = Callable[[list[WorklistRow]], None]

#: Longer ECGs are not scored in the worklist: they are Holter recordings, scored window by
#: window when opened (``long_recording.py``).
MAX_WORKLIST_DURATION_S = 60.0
_ROWS_PER_EMIT = 200
#: Findings kept per ECG in the score cache (the worklist shows where, the viewer rescores).
MAX_STORED_FINDINGS = 12


@dataclass
class _Item:
    """A worklist entry plus how to hash it."""

    entry: RecordEntry
    row: WorklistRow
    collection: Path | None = None  # the HDF5 file, for an ECG inside a collection


# ---------------------------------------------------------------------- the job
def worklist_job(
    source: str | os.PathLike[str] | Iterable[RecordEntry],
    store: ReviewStore,
    detector: DetectorSource = None,
    *,
    emit: Emit | None = None,
    batch: int = 32,
    chunk: int = 16,
    device: str = "auto",
    max_duration_s: float = MAX_WORKLIST_DURATION_S,
) -> Generator[Progress, None, list[WorklistRow]]:
    """Fill and score a worklist.

    Parameters
    ----------
    source
        Folder, HDF5 collection, PTB-XL database CSV, or entries already made.
    store
        Review store: the score cache and the reviews shown in the rows.
    detector
        Detector object, factory, or None for the bundled model (loaded on first need).
    emit
        Receives lists of new or updated rows (called from the job's thread).
    batch
        The Detector's batch (network windows per call).
    chunk
        ECGs per ``score_many`` call and per yield. Small chunks start scoring sooner and let
        reading the next chunk overlap the model on this one; the model's batch stays full
        enough on CPU at 16 (measured in benchmarks/worklist_speed.py).

    Returns
    -------
    The final rows, in scan order.
    """
    send: Emit = emit or (lambda rows: None)
    lazy = LazyDetector(detector, device=device)
    entries = scan_source(source) if isinstance(source, str | os.PathLike) else iter(source)

    # Phase 1: names only, so the table shows something within milliseconds.
    items: list[_Item] = []
    pending: list[WorklistRow] = []
    last = time.monotonic()
    for entry in entries:
        item = _make_item(entry, len(items) + 1)
        items.append(item)
        pending.append(item.row)
        if len(pending) >= _ROWS_PER_EMIT or time.monotonic() - last > 0.1:
            send(pending)
            pending = []
            last = time.monotonic()
            yield (0, 0, f"Found {len(items)} ECGs…")
    if pending:
        send(pending)
    total = len(items)
    yield (0, total, f"Found {total} ECGs")
    if not total:
        return []

    model_version = lazy.version_key()
    done = 0
    chunks = [items[i : i + chunk] for i in range(0, total, chunk)]

    def load(part: list[_Item]) -> _Prepared:
        return _load_and_prepare(part, store, model_version, lazy, max_duration_s)

    # Reading the next chunk overlaps the model scoring this one.
    with closing(read_ahead(chunks, load, "worklist-load")) as loaded:
        for prepared in loaded:
            _score(prepared, lazy, model_version, batch, max_duration_s, store)
            send([item.row for item in prepared.items])
            done += len(prepared.items)
            yield (done, total, f"Scored {done} of {total}")
    return [item.row for item in items]


def _make_item(entry: RecordEntry, order: int) -> _Item:
    row = WorklistRow(
        uid=row_uid(entry.source, entry.key),
        path=entry.source,
        key=entry.key,
        label=entry.label,
        patient_id=entry.patient.id or "",
        start=(
            entry.start.isoformat(sep=" ") if entry.start else str(entry.extra.get("start", ""))
        ),
        order=order,
    )
    return _Item(entry, row, collection=Path(entry.source) if entry.key else None)


@dataclass
class _Prepared:
    items: list[_Item]
    records: dict[int, Record]  # index in items -> loaded record (those needing a score)
    cached: dict[int, ScoreSummary]
    #: index in items -> the Detector's preprocessing of the record (done in the loader thread)
    model_inputs: dict[int, Any] = field(default_factory=dict)


def _load_and_prepare(
    chunk: Sequence[_Item],
    store: ReviewStore,
    model_version: str,
    lazy: LazyDetector,
    max_duration_s: float,
) -> _Prepared:
    """:func:`_prepare`, then the Detector's CPU half of scoring (``Detector.preparer``, the
    archive pipeline's too) in this loader thread, so it overlaps the network on the chunk
    before. Not for the first chunk (the model is not loaded yet) or a detector without one."""
    prepared = _prepare(chunk, store, model_version)
    make = getattr(lazy.get(), "preparer", None) if lazy.loaded else None
    if callable(make):
        preparer = make()
        prepared.model_inputs = {
            n: preparer(r) for n, r in prepared.records.items() if r.duration <= max_duration_s
        }
    return prepared


def _prepare(chunk: Sequence[_Item], store: ReviewStore, model_version: str) -> _Prepared:
    """Hash, look up the cache and reviews, load what must be scored (worker thread)."""
    file_hashes: dict[Path, str] = {}
    fresh: list[tuple[str, int, int, str]] = []
    for item in chunk:
        if "error" in item.entry.extra:  # could not even be listed (see failed_entry)
            item.row = replace(item.row, status=ERROR, error=str(item.entry.extra["error"]))
            continue
        try:
            if item.collection is not None:
                if item.collection not in file_hashes:
                    file_hashes[item.collection] = _file_hash([item.collection], store, fresh)
                h = entry_hash(file_hashes[item.collection], item.entry.key)
            else:
                h = _file_hash(files_of(item.entry.source), store, fresh)
            item.row = replace(item.row, content_hash=h)
        except (ECGError, OSError) as exc:
            problem = exc.problem if isinstance(exc, ECGError) else str(exc)
            item.row = replace(item.row, status=ERROR, error=problem)
    if fresh:
        cache_write(store.remember_hashes, fresh)
    hashes = [i.row.content_hash for i in chunk if i.row.content_hash]
    cached = store.get_scores(hashes, model_version)
    reviews = store.get_reviews(hashes)
    book = Readings(store)
    readings, readers = book.get_many(hashes), book.readers_of(hashes)
    known = {h: store.get_ecg(h) for h in hashes}
    infos: list[EcgInfo] = []
    records: dict[int, Record] = {}
    hits: dict[int, ScoreSummary] = {}
    for n, item in enumerate(chunk):
        h = item.row.content_hash
        if not h:
            continue
        if h in reviews:
            item.row = item.row.with_review(reviews[h])
        if h in readings or h in readers:
            item.row = item.row.with_reading(readings.get(h) or Reading(h), readers.get(h, ()))
        info = known.get(h)
        if h in cached and info is not None:
            item.row = _with_info(item.row, info)
            hits[n] = cached[h]
            if info.path != item.entry.source:  # moved or renamed: remember where it is now
                infos.append(replace(info, path=item.entry.source))
            continue
        try:
            record = item.entry.load()
        except ECGError as exc:
            item.row = replace(item.row, status=ERROR, error=exc.problem)
            continue
        except Exception as exc:  # a reader bug must not stop a folder of 1000 ECGs
            log.exception("reading %s failed", item.entry.source)
            item.row = replace(item.row, status=ERROR, error=f"{type(exc).__name__}: {exc}")
            continue
        info = _info(h, item, record)
        infos.append(info)
        item.row = _with_info(item.row, info)
        if h in cached:
            hits[n] = cached[h]
        else:
            records[n] = record
    if infos:
        cache_write(store.upsert_ecgs, infos)
    return _Prepared(list(chunk), records, hits)


def _file_hash(
    files: list[Path], store: ReviewStore, fresh: list[tuple[str, int, int, str]]
) -> str:
    """Content hash of ``files`` via the one cached lookup (:func:`review.hashing.cached_hash`)."""
    return str(cached_hash(files, store, fresh=fresh))


def _score(
    prepared: _Prepared,
    lazy: LazyDetector,
    model_version: str,
    batch: int,
    max_duration_s: float,
    store: ReviewStore,
) -> None:
    for n, summary in prepared.cached.items():
        item = prepared.items[n]
        item.row = item.row.with_score(summary, cached=True)
    todo = {n: r for n, r in prepared.records.items() if r.duration <= max_duration_s}
    for n in prepared.records.keys() - todo.keys():
        item = prepared.items[n]
        hours = prepared.records[n].duration / 3600
        item.row = replace(
            item.row,
            status=LONG,
            error=f"long recording ({hours:.1f} h): open it to score window by window",
        )
    if not todo:
        return
    order = list(todo)
    inputs = [prepared.model_inputs.get(n) for n in order]
    results = score_many_isolated(
        lazy.get(),
        [todo[n] for n in order],
        batch,
        inputs if all(i is not None for i in inputs) else None,
    )
    summaries = []
    for n, res in zip(order, results, strict=True):
        item = prepared.items[n]
        summary = summarize(item.row.content_hash, model_version, res)
        summaries.append(summary)
        item.row = item.row.with_score(summary, cached=False)
    cache_write(store.put_scores, summaries)


def summarize(h: str, model_version: str, res: Any) -> ScoreSummary:
    """The cacheable part of a Detector result (or of the ECGError it raised)."""
    if isinstance(res, ECGError):
        return ScoreSummary(h, model_version, None, None, error=res.problem)
    score = _opt_float(getattr(res, "score", None))
    if score is not None and not math.isfinite(score):  # never sorted or shown as a number
        return ScoreSummary(
            h,
            model_version,
            None,
            None,
            error="the model gave a non-finite score (NaN): not scored",
        )
    beats = sorted(getattr(res, "beats", None) or [], key=lambda b: -float(b[2]))[:5]
    return ScoreSummary(
        content_hash=h,
        model_version=model_version,
        score=_opt_float(getattr(res, "score", None)),
        percentile=_opt_float(getattr(res, "percentile", None)),
        lead_scores={
            str(k): float(v) for k, v in (getattr(res, "lead_scores", None) or {}).items()
        },
        flags=tuple(sorted(getattr(res, "flags", None) or ())),
        top_beats=tuple((float(b[0]), float(b[1]), float(b[2])) for b in beats),
        findings=tuple(findings_of(res)[:MAX_STORED_FINDINGS]),
        model={k: str(v) for k, v in result_model(res).items()},
    )


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _info(h: str, item: _Item, record: Record) -> EcgInfo:
    patient = record.patient
    entry = item.entry
    start = record.start.isoformat(sep=" ") if record.start else item.row.start
    return EcgInfo(
        content_hash=h,
        path=entry.source,
        label=entry.label,
        patient_id=patient.id or entry.patient.id,
        age=patient.age or entry.patient.age,
        sex=patient.sex or entry.patient.sex,
        start=start or None,
        duration=record.duration,
        fs=record.fs,
        leads=tuple(record.ecg_leads),
        format=record.format,
        key=entry.key,
    )


def _with_info(row: WorklistRow, info: EcgInfo) -> WorklistRow:
    return replace(
        row,
        patient_id=info.patient_id or row.patient_id,
        start=info.start or row.start,
        duration=info.duration,
        n_leads=len(info.leads) or None,
    )
