"""Score a whole archive (a folder, an HDF5 collection, a PTB-XL style database CSV) into a
results table that survives interruption, on one machine or many.

One pipeline, shared with the worklist: entries come from ``worklist_sources.scan_source`` and
are scored by ``batch_scoring.score_many_isolated`` (``Detector.iter_score_many``; a bad ECG is
isolated, never failing its chunk). What is added here is what a long unattended run needs:

* Incremental, resumable output: rows are appended to a CSV and flushed every chunk; a rerun
  skips every entry already in it (a row cut short by a kill is dropped first). The Parquet
  copy (when ``pyarrow`` is installed) is rewritten from the CSV when the run ends or stops.
  The table's file handling is :mod:`ecgviewer.analysis.results_file`.
* Bounded memory: entries are streamed (a first pass only counts them, for the ETA); only the
  ECGs of the chunk being scored and the workers' prefetch are in memory.
* One bad file is one error row; the run goes on.
* Preprocessing in worker processes (``workers``): a torch DataLoader over the entries runs the
  CPU half of scoring (reading, filters, R peaks, signal quality) beside the network; with
  ``finishers``, what follows the network (stitching, score parts, maps, findings) runs in
  another pool of processes (:mod:`ecgviewer.analysis.finish_pool`) while the network scores
  the next chunk, so the main process does little but feed the network.
* Many processes or machines: under ``torchrun`` (RANK / WORLD_SIZE in the environment) entry
  ``i`` of the scan goes to rank ``i % WORLD_SIZE``; each rank writes its own part file and,
  after a barrier, rank 0 merges the parts into the output in scan order.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ecgviewer.analysis.batch_scoring import run_to_end, score_many_isolated
from ecgviewer.analysis.finish_pool import Finishing, FinishPool

# COLUMNS, count_results and read_done are re-exported for scripts that import them from here.
from ecgviewer.analysis.results_file import COLUMNS as COLUMNS
from ecgviewer.analysis.results_file import (
    ResultsWriter,
    ResumeSet,
    Shard,
    merge_parts,
    part_files,
    refuse_if_being_written,
    results_csv,
    table_contents,
    table_lock,
    write_parquet,
)
from ecgviewer.analysis.results_file import count_results as count_results
from ecgviewer.analysis.results_file import read_done as read_done
from ecgviewer.analysis.score_table import top_leads
from ecgviewer.analysis.worklist_sources import scan_source
from ecgviewer.errors import ECGError, FileAccessError
from ecgviewer.record import Record, RecordEntry
from ecgviewer.signal.quality import too_few_usable_leads
from ecgviewer.wording import table_verdict

#: How often (s) a progress line is written when stderr is not a terminal.
LOG_EVERY_S = 10.0


# ---------------------------------------------------------------------- rows
def result_row(file: str, entry: str, result: Any, model_version: str) -> dict[str, str]:
    """The table row of one Detector result (a ScoreResult or the ECGError it gave)."""
    if isinstance(result, BaseException):
        problem = (
            result.problem if isinstance(result, ECGError) else f"{type(result).__name__}: {result}"
        )
        return error_row(file, entry, problem, model_version)
    flags = sorted(getattr(result, "flags", None) or ())
    unscored = too_few_usable_leads(flags)  # no number for a record the quality check refuses
    pct = None if unscored else _finite(getattr(result, "percentile", None))
    top = [] if unscored else top_leads(getattr(result, "lead_scores", None))
    score = None if unscored else _finite(getattr(result, "score", None))
    return {
        "file": file,
        "entry": entry,
        "score": "" if score is None else repr(score),
        "percentile": "" if pct is None else f"{pct:.1f}",
        "verdict": table_verdict(pct, flags),
        "top_leads": " ".join(top),
        "flags": " ".join(flags),
        "model_version": model_version,
        "error": "",
    }


def error_row(file: str, entry: str, problem: str, model_version: str = "") -> dict[str, str]:
    return {
        "file": file,
        "entry": entry,
        "score": "",
        "percentile": "",
        "verdict": "not scored",
        "top_leads": "",
        "flags": "",
        "model_version": model_version,
        "error": problem,
    }


def _finite(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


# ---------------------------------------------------------------------- streaming input
@dataclass
class Loaded:
    """One entry read and prepared (in a worker or here); ``error`` when either failed."""

    file: str
    entry: str
    record: Record | None = None
    prepared: Any = None
    error: str = ""


#: Entries a reading worker sends back in one message: each message costs the receiving
#: process a fixed ~0.3 ms (the DataLoader's bookkeeping and profiler hooks), whatever its size.
ENTRIES_PER_MESSAGE = 8


class EntryStream:
    """The entries this process scores, read and prepared; iterable in scan order.

    Picklable and re-iterable (scan_source is lazy), so a torch DataLoader can run it in
    worker processes: worker ``w`` of ``n`` takes every ``n``-th block of this shard's entries
    (:meth:`blocks`), and the DataLoader hands the blocks back round-robin, i.e. in scan order.
    """

    def __init__(
        self,
        source: str,
        shard: Shard,
        done: ResumeSet,
        prepare: Callable[[Record], Any] | None,
        samples: bool = True,
    ) -> None:
        self.source, self.shard, self.done, self.prepare = source, shard, done, prepare
        #: keep the record's samples once prepared (False: only its head travels on, for
        #: finishing, which needs its leads, source and patient, not its samples)
        self.samples = samples

    def entries(self) -> Iterator[RecordEntry]:
        for index, entry in enumerate(scan_source(self.source)):
            if self.shard.mine(index) and not self.done.has(entry):
                yield entry

    def __iter__(self) -> Iterator[Loaded]:
        for block in self.blocks():
            yield from block

    def blocks(self) -> Iterator[list[Loaded]]:
        """This worker's share in blocks of :data:`ENTRIES_PER_MESSAGE` consecutive entries:
        worker ``w`` of ``n`` takes every ``n``-th block, so blocks handed back round-robin
        are in scan order."""
        worker, workers = _worker()
        block: list[Loaded] = []
        for n, entry in enumerate(self.entries()):
            if (n // ENTRIES_PER_MESSAGE) % workers == worker:
                block.append(self.load(entry))
                if len(block) == ENTRIES_PER_MESSAGE:
                    yield block
                    block = []
        if block:
            yield block

    def load(self, entry: RecordEntry) -> Loaded:
        item = Loaded(entry.source, entry.key)
        if "error" in entry.extra:  # could not even be listed
            item.error = str(entry.extra["error"])
            return item
        try:
            record = entry.load()
            if not isinstance(record, Record):
                raise ECGError(entry.source, "holds several ECGs: score it as a collection")
            item.record = record
            if self.prepare is not None:
                prepared = self.prepare(record)
                if isinstance(prepared, ECGError):  # raised here: ECGErrors do not pickle
                    raise prepared
                item.prepared = prepared
                if not self.samples:
                    item.record = record_head(record)
        except ECGError as exc:
            item.error = exc.problem
            item.record = None
        except MemoryError:
            item.error = "not enough memory to read this ECG"
        except Exception as exc:  # a reader bug must not stop an archive of 100,000 ECGs
            item.error = f"{type(exc).__name__}: {exc}"
        return item


def record_head(record: Record) -> Record:
    """``record`` with its first sample only: its leads, rate, source and patient for the
    steps after preprocessing, without sending ~240 KB of samples between processes twice."""
    return replace(record, signal=np.asarray(record.signal[:, :1]))


def _worker() -> tuple[int, int]:
    try:
        from torch.utils.data import get_worker_info
    except ImportError:
        return 0, 1
    info = get_worker_info()
    return (info.id, info.num_workers) if info is not None else (0, 1)


def _as_dataset(stream: EntryStream) -> Any:
    from torch.utils.data import IterableDataset

    class _Dataset(IterableDataset):  # type: ignore[misc, type-arg]
        def __iter__(self) -> Iterator[list[Loaded]]:
            return stream.blocks()

    return _Dataset()


def loaded_items(stream: EntryStream, workers: int) -> Iterator[Loaded]:
    """``stream`` here (workers=0) or through a DataLoader with ``workers`` processes."""
    if workers <= 0:
        yield from stream
        return
    from torch.utils.data import DataLoader

    loader = DataLoader(
        _as_dataset(stream),
        batch_size=None,
        num_workers=workers,
        prefetch_factor=2,  # blocks of ENTRIES_PER_MESSAGE per worker
        persistent_workers=False,
        collate_fn=lambda item: item,
    )
    for block in loader:
        yield from block


# ---------------------------------------------------------------------- progress
class Progress:
    """Done / total with rate and ETA on stderr: one rewritten line on a terminal, else a
    line every :data:`LOG_EVERY_S` seconds (log files stay short)."""

    def __init__(self, total: int, stream: TextIO | None = None, label: str = "") -> None:
        self.total, self.done, self.errors = total, 0, 0
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.label = label
        self.t0 = self._last = time.monotonic()

    def line(self) -> str:
        elapsed = time.monotonic() - self.t0
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = self.total - self.done
        eta = _clock(left / rate) if rate > 0 else "?"
        pct = 100.0 * self.done / self.total if self.total else 100.0
        errors = f", {self.errors} not scored" if self.errors else ""
        return (
            f"{self.label}{self.done}/{self.total} ECGs ({pct:.0f} %), {rate:.1f} ECG/s, "
            f"elapsed {_clock(elapsed)}, ETA {eta}{errors}"
        )

    def update(self, done: int, errors: int) -> None:
        self.done += done
        self.errors += errors
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r" + self.line() + "\x1b[K")
            self.stream.flush()
        elif now - self._last >= LOG_EVERY_S:
            self.stream.write(self.line() + "\n")
            self.stream.flush()
            self._last = now

    def finish(self) -> None:
        if self.total == 0:  # nothing left to score (a finished run rerun): the summary says so
            return
        self.stream.write(
            ("\r" if self.tty else "") + self.line() + ("\x1b[K\n" if self.tty else "\n")
        )
        self.stream.flush()


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


# ---------------------------------------------------------------------- the run
@dataclass
class ArchiveRun:
    """What a run did (the caller prints or tests it)."""

    out: Path
    scanned: int = 0
    skipped: int = 0
    scored: int = 0
    errors: int = 0
    parquet: Path | None = None
    parts_merged: list[Path] = field(default_factory=list)


def score_archive(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    detector: Any,
    *,
    model_version: str = "",
    batch: int = 64,
    chunk: int = 64,
    workers: int = 0,
    finishers: int = 0,
    shard: Shard | None = None,
    barrier: Callable[[], None] | None = None,
    parquet: bool = True,
    progress: TextIO | None = None,
) -> ArchiveRun:
    """Score every ECG of ``source`` into the results CSV ``out`` (resuming it).

    Parameters
    ----------
    detector
        A loaded ``model.infer.Detector`` (``iter_score_many`` and ``preparer`` are used).
    batch
        Network windows per call. ``chunk``: ECGs finished and written together.
    workers
        Processes that read and prepare ECGs (0: in this process, between network calls).
    finishers
        Processes that finish ECGs after the network (0: in this process); used with
        ``workers`` only, and with a detector that has ``network_maps`` and ``finisher``.
    shard, barrier
        This process's share of a sharded run and a callable waiting for every rank (e.g.
        ``torch.distributed.barrier``); rank 0 merges the part files after it.
    """
    shard = shard or Shard()
    out = Path(out)
    csv_out = results_csv(out)
    if csv_out.is_dir():
        raise FileAccessError(csv_out, "is a folder: --out names the results file (results.csv)")
    if parquet and shard.rank == 0:
        check_parquet_is_ours(csv_out.with_suffix(".parquet"))
    target = shard.part_path(csv_out) if shard.world > 1 else csv_out
    # A run of another shape (one process / sharded) still writing the same --out:
    refuse_if_being_written([csv_out] if shard.world > 1 else part_files(csv_out))
    with table_lock(target):
        return _score_archive(
            source,
            csv_out,
            target,
            detector,
            model_version,
            batch,
            chunk,
            workers,
            finishers,
            shard,
            barrier,
            parquet,
            progress,
        )


def _score_archive(
    source: str | os.PathLike[str],
    csv_out: Path,
    target: Path,
    detector: Any,
    model_version: str,
    batch: int,
    chunk: int,
    workers: int,
    finishers: int,
    shard: Shard,
    barrier: Callable[[], None] | None,
    parquet: bool,
    progress: TextIO | None,
) -> ArchiveRun:
    """:func:`score_archive` with this process's results file locked."""
    parquet_out = csv_out.with_suffix(".parquet")
    entries, models = table_contents(csv_out)
    check_same_model(models, model_version)
    done = ResumeSet(entries)
    run = ArchiveRun(csv_out)
    # Worker processes prepare (and check the quality of) each record; without them the
    # detector does it itself, its CPU work in a second thread beside the network.
    prepare = detector.preparer() if workers > 0 and hasattr(detector, "preparer") else None
    pipelined = finishers > 0 and prepare is not None and hasattr(detector, "finisher")
    stream = EntryStream(str(source), shard, done, prepare, samples=not pipelined)
    # First pass: count only (nothing is loaded), for the ETA.
    mine = 0
    for index, entry in enumerate(scan_source(source)):
        run.scanned += 1
        if shard.mine(index):
            if done.has(entry):
                run.skipped += 1
            else:
                mine += 1
    label = f"[rank {shard.rank}/{shard.world}] " if shard.world > 1 else ""
    bar = Progress(mine, progress, label)
    writer = ResultsWriter(target)
    finish_pool = (
        FinishPool(detector.finisher(), partial(result_row, model_version=model_version), finishers)
        if pipelined
        else None
    )
    output = _Output(writer, run, bar, model_version)
    try:
        if finish_pool is None:
            pending: list[Loaded] = []
            for item in loaded_items(stream, workers):
                pending.append(item)
                if len(pending) >= chunk:
                    _score_chunk(pending, detector, batch, output)
                    pending = []
            if pending:
                _score_chunk(pending, detector, batch, output)
        else:
            _score_pipelined(
                loaded_items(stream, workers), chunk, detector, finish_pool, batch, output
            )
    except KeyboardInterrupt:
        close_results(writer)
        if parquet and shard.world == 1:  # what is done so far, as Parquet too
            try:
                parquet_copy(csv_out, parquet_out)
            except FileAccessError as exc:  # the interrupt is what the user is told about
                print(f"ecgad: {exc}", file=sys.stderr)
        raise
    finally:
        if finish_pool is not None:
            finish_pool.close()
        close_results(writer)
        bar.finish()
    if shard.world > 1:
        if barrier is not None:
            barrier()
        if shard.rank == 0:
            run.parts_merged = merge_parts(source, csv_out)
    elif part_files(csv_out):  # a sharded run stopped before merging, finished by one process
        run.parts_merged = merge_parts(source, csv_out)
    if parquet and shard.rank == 0 and parquet_copy(csv_out, parquet_out):
        run.parquet = parquet_out
    return run


def check_same_model(models: dict[str, Path], model_version: str) -> None:
    """Refuse to resume a table (or its part files) scored by another model (``models``: the
    rows' model versions, each with a file holding it, :func:`table_contents`).

    Why: rows were skipped by file alone, so a rerun with other ``--weights`` silently
    mixed two models' scores and percentiles in one table.
    """
    if not model_version:
        return
    for version, path in models.items():
        if version != model_version:
            raise FileAccessError(
                path,
                f"holds rows scored by model {version}, not by this run's "
                f"{model_version}: resuming would mix two models in one table "
                "(rerun with the same --weights, or choose another --out)",
            )


def check_parquet_is_ours(path: Path) -> None:
    """Refuse to overwrite a Parquet file that is not an ecgad results table.

    Why: the CSV's columns were checked, its Parquet copy's name was not, so
    ``--out data.parquet`` (or ``--out data.csv`` beside it) replaced someone's data.parquet.
    """
    if not path.exists():
        return
    try:
        import pyarrow.parquet as pq
    except ImportError:  # no Parquet copy is written without pyarrow
        return
    try:
        names = pq.read_schema(path).names
    except Exception:  # not Parquet at all
        names = None
    if names != list(COLUMNS):
        raise FileAccessError(
            path,
            "exists and is not an ecgad results table: the Parquet copy would replace it "
            "(choose another --out, or --no-parquet)",
        )


def close_results(writer: ResultsWriter) -> None:
    """Close the results CSV; a failing last flush (disk full) is said as the file's problem.

    Why: the close in ``finally`` raised a bare OSError over the writer's own clear
    message, so a full disk was reported as "unexpected error: OSError" without the file.
    """
    try:
        writer.close()
    except OSError as exc:
        raise FileAccessError(
            writer.path, f"cannot write the results: {exc.strerror or exc}"
        ) from exc


def parquet_copy(csv_out: Path, parquet_out: Path) -> bool:
    """write_parquet, its failure (disk full, no permission) named and its temporary file
    removed. Why: it raised a bare OSError ("unexpected error") and left ``.parquet.tmp``."""
    try:
        return write_parquet(csv_out, parquet_out)
    except OSError as exc:
        parquet_out.with_name(parquet_out.name + ".tmp").unlink(missing_ok=True)
        raise FileAccessError(
            parquet_out,
            f"cannot write the Parquet copy: {exc.strerror or exc} (the CSV {csv_out} is complete)",
        ) from exc


@dataclass
class _Output:
    """Where a chunk's rows go: the results file, the run's counts and the progress bar."""

    writer: ResultsWriter
    run: ArchiveRun
    bar: Progress
    model_version: str

    def write(self, items: list[Loaded], rows: dict[int, dict[str, str]]) -> None:
        """The chunk's rows in order: each item's from ``rows`` (by ``id``), an error row for
        an item that was not scored."""
        table = [
            rows[id(item)]
            if id(item) in rows
            else error_row(item.file, item.entry, item.error or "not read", self.model_version)
            for item in items
        ]
        self.writer.write(table)
        errors = sum(1 for r in table if r["error"])
        self.run.scored += len(table) - errors
        self.run.errors += errors
        self.bar.update(len(table), errors)


def _score_pipelined(
    items: Iterator[Loaded],
    chunk: int,
    detector: Any,
    pool: FinishPool,
    batch: int,
    out: _Output,
) -> None:
    """Chunk by chunk: the network here, the finishing in ``pool``; a chunk's rows are written
    (in order) once the network has run on the next one, so the pool works beside it."""
    in_flight: tuple[list[Loaded], list[int], Finishing | None] | None = None
    pending: list[Loaded] = []

    def write_in_flight() -> None:
        if in_flight is not None:
            chunk_items, sent, finishing = in_flight
            out.write(chunk_items, dict(zip(sent, finishing.rows())) if finishing else {})

    def network(chunk_items: list[Loaded]) -> None:
        nonlocal in_flight
        ok = [i for i in chunk_items if not i.error and i.prepared is not None]
        finishing = None
        if ok:
            maps = run_to_end(detector.network_maps([i.prepared for i in ok], batch=batch))
            jobs = [
                (i.file, i.entry, i.record, *detector.for_finishing(i.prepared, m))
                for i, m in zip(ok, maps)
            ]
            finishing = pool.submit(jobs)
            for i in ok:  # in the pool's hands now: not kept here
                i.record = i.prepared = None
        write_in_flight()
        in_flight = (chunk_items, [id(i) for i in ok], finishing)

    for item in items:
        pending.append(item)
        if len(pending) >= chunk:
            network(pending)
            pending = []
    if pending:
        network(pending)
    write_in_flight()


def _score_chunk(items: list[Loaded], detector: Any, batch: int, out: _Output) -> None:
    ok = [i for i in items if not i.error and i.record is not None]
    rows: dict[int, dict[str, str]] = {}
    if ok:
        records = [i.record for i in ok if i.record is not None]
        # A detector without a preparer prepares the records itself.
        prepared = None if ok[0].prepared is None else [i.prepared for i in ok]
        scored = score_many_isolated(detector, records, batch, prepared)
        rows = {
            id(i): result_row(i.file, i.entry, r, out.model_version)
            for i, r in zip(ok, scored, strict=True)
        }
    out.write(items, rows)
