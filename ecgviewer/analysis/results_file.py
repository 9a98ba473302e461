"""The results table of ``ecgad score`` on disk: its columns, what an interrupted run already
wrote (so that a rerun resumes), the part files of a sharded run and their merge.

Kept apart from :mod:`ecgviewer.analysis.archive` (the scoring pipeline) so that the parent of
``ecgad score --processes`` can count what is left to score and start its scoring processes
without importing the model's signal code and torch (~2 s it would spend before any process
starts; each scoring process imports them itself).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ecgviewer.analysis.worklist_sources import scan_source
from ecgviewer.errors import FileAccessError, printable
from ecgviewer.record import RecordEntry

#: Columns of the results table (CSV and Parquet), in this order.
COLUMNS = (
    "file",
    "entry",
    "score",
    "percentile",
    "verdict",
    "top_leads",
    "flags",
    "model_version",
    "error",
)


# ---------------------------------------------------------------------- output files
def results_csv(out: Path) -> Path:
    """The resumable CSV of ``--out`` (a .parquet name gets its CSV beside it)."""
    return out.with_suffix(".csv") if out.suffix.lower() == ".parquet" else out


def done_entries(csv_out: Path) -> set[tuple[str, str]]:
    """(file, entry) already in the results CSV or in any part file of a sharded run."""
    return table_contents(csv_out)[0]


def table_contents(csv_out: Path) -> tuple[set[tuple[str, str]], dict[str, Path]]:
    """What a resumed run needs of the results CSV and its part files, in one reading of
    each: the (file, entry) pairs already there, and each model version of their rows with
    the first file holding it."""
    done: set[tuple[str, str]] = set()
    models: dict[str, Path] = {}
    for path in [csv_out, *part_files(csv_out)]:
        more, versions = _read_rows(path)
        done |= more
        for version in versions:
            models.setdefault(version, path)
    return done, models


def read_done(path: Path) -> set[tuple[str, str]]:
    """(file, entry) of the rows already in a results CSV; a last row cut short is removed.

    Raises FileAccessError when the file is not a results table of this layout (so that a
    wrong ``--out`` never appends to, or truncates, someone's other CSV).
    """
    return _read_rows(path)[0]


def _read_rows(path: Path) -> tuple[set[tuple[str, str]], set[str]]:
    """:func:`read_done`, and the model versions of the rows (errors rows have none)."""
    versions: set[str] = set()
    if not path.exists() or path.stat().st_size == 0:
        return set(), versions
    _drop_partial_last_line(path)
    done: set[tuple[str, str]] = set()
    model = COLUMNS.index("model_version")
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            return done, versions
        if tuple(header) != COLUMNS:
            raise FileAccessError(
                path,
                "exists and is not an ecgad results table "
                f"(columns {', '.join(header[:4])}...): choose another --out",
            )
        for row in reader:
            if len(row) == len(COLUMNS):
                done.add((row[0], row[1]))
                if row[model]:
                    versions.add(row[model])
    return done, versions


def _drop_partial_last_line(path: Path) -> None:
    """A run killed mid-write leaves a row without its newline: cut it off (it is redone)."""
    with open(path, "rb+") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 1))
        if fh.read(1) == b"\n":
            return
        step = min(size, 1 << 16)
        fh.seek(size - step)
        tail = fh.read(step)
        cut = tail.rfind(b"\n")
        fh.truncate(size - step + cut + 1 if cut >= 0 else 0)


class ResultsWriter:
    """Appends rows to a results CSV (header written once), flushed and synced per chunk.

    Cells are written printable: a file name that is not valid UTF-8 would otherwise stop the
    whole run with UnicodeEncodeError, and one with a newline would split its row.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        new = not path.exists() or path.stat().st_size == 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh: TextIO = open(path, "a", newline="", encoding="utf-8")
        except OSError as exc:
            raise FileAccessError(path, f"cannot write the results: {exc.strerror or exc}") from exc
        self._csv = csv.writer(self._fh)
        if new:
            self._csv.writerow(COLUMNS)

    def write(self, rows: Iterable[dict[str, str]]) -> None:
        try:
            for row in rows:
                self._csv.writerow([printable(row[c]) for c in COLUMNS])
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as exc:
            raise FileAccessError(
                self.path, f"cannot write the results: {exc.strerror or exc}"
            ) from exc

    def close(self) -> None:
        self._fh.close()


def write_parquet(csv_path: Path, parquet_path: Path, rows_per_group: int = 50_000) -> bool:
    """Rewrite ``parquet_path`` from the results CSV, a row group at a time. False without
    pyarrow (the CSV is the complete result either way)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return False
    schema = pa.schema(
        [(c, pa.float64() if c in ("score", "percentile") else pa.string()) for c in COLUMNS]
    )
    tmp = parquet_path.with_name(parquet_path.name + ".tmp")
    with open(csv_path, newline="", encoding="utf-8") as fh, pq.ParquetWriter(tmp, schema) as out:
        reader = csv.reader(fh)
        next(reader, None)
        block: list[list[str]] = []

        def flush() -> None:
            cols = list(zip(*block, strict=True)) if block else [[] for _ in COLUMNS]
            arrays = [
                pa.array([float(v) if v else None for v in col], pa.float64())
                if name in ("score", "percentile")
                else pa.array(list(col), pa.string())
                for name, col in zip(COLUMNS, cols, strict=True)
            ]
            out.write_table(pa.Table.from_arrays(arrays, schema=schema))
            block.clear()

        for row in reader:
            if len(row) == len(COLUMNS):
                block.append(row)
            if len(block) >= rows_per_group:
                flush()
        if block:
            flush()
    os.replace(tmp, parquet_path)
    return True


# ---------------------------------------------------------------------- sharding
@dataclass(frozen=True)
class Shard:
    """This process's share of the entries: entry ``i`` of the scan when ``i % world == rank``."""

    rank: int = 0
    world: int = 1

    @classmethod
    def from_env(cls) -> Shard:
        """RANK / WORLD_SIZE as set by ``torchrun`` (one shard when absent)."""
        world = int(os.environ.get("WORLD_SIZE", "1") or 1)
        rank = int(os.environ.get("RANK", "0") or 0)
        return cls(rank, world) if world > 1 else cls()

    def mine(self, index: int) -> bool:
        return index % self.world == self.rank

    def part_path(self, out: Path) -> Path:
        return out.with_name(f"{out.stem}.part-{self.rank}-of-{self.world}{out.suffix}")


def part_files(out: Path) -> list[Path]:
    """Part files of earlier or current sharded runs for ``out`` (any world size)."""
    return sorted(out.parent.glob(f"{out.stem}.part-*-of-*{out.suffix}"))


def entry_id(entry: RecordEntry) -> tuple[str, str]:
    """(file, entry) as the results table writes them: a file name that is not valid UTF-8 or
    holds a newline is written escaped (:func:`~ecgviewer.errors.printable`), so a rerun
    finds its row."""
    return printable(entry.source), printable(entry.key)


def count_results(path: Path) -> tuple[int, int]:
    """(rows scored, rows with an error) of a results CSV (after a sharded run's merge: the
    whole run's, where each rank's ArchiveRun counts only its own)."""
    if not path.exists():
        return 0, 0
    scored = errors = 0
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        col = COLUMNS.index("error")
        for row in reader:
            if len(row) == len(COLUMNS):
                if row[col]:
                    errors += 1
                else:
                    scored += 1
    return scored, errors


def merge_parts(source: str | os.PathLike[str], out: Path) -> list[Path]:
    """Rank 0, after the barrier: the output's rows plus every part file's, in scan order,
    written to a temporary file and moved over ``out``; the parts are then removed."""
    parts = part_files(out)
    rows: dict[tuple[str, str], list[str]] = {}
    for path in [out, *parts]:
        if not path.exists() or path.stat().st_size == 0:
            continue
        read_done(path)  # checks the header, drops a cut-off last row
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            next(reader, None)
            for row in reader:
                if len(row) == len(COLUMNS):
                    rows.setdefault((row[0], row[1]), row)
    order = {entry_id(e): n for n, e in enumerate(scan_source(source))}
    ranked = sorted(rows.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
    tmp = out.with_name(out.name + ".merging")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        w.writerows(row for _, row in ranked)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, out)
    for path in parts:
        path.unlink(missing_ok=True)
    return parts


@contextmanager
def table_lock(path: Path, create: bool = True, shared: bool = False) -> Iterator[None]:
    """Hold an exclusive lock on the results file ``path`` (created when ``create``); with
    ``shared``, a lock that only fails while a run holds the exclusive one (a check).

    Why: a second ``ecgad score`` started on the same ``--out`` while the first still runs
    would score the same ECGs again (each appended twice) and cut the row being written
    as if a kill had left it. The second run stops instead, naming the file.
    """
    try:
        import fcntl
    except ImportError:  # no flock (Windows): unlocked
        yield
        return
    if not create and not path.is_file():
        yield
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(path, "a", encoding="utf-8")
    except OSError as exc:
        raise FileAccessError(path, f"cannot write the results: {exc.strerror or exc}") from exc
    try:
        try:
            fcntl.flock(fh.fileno(), (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FileAccessError(
                path,
                "is being written by another ecgad score run: wait for it to end "
                "(rerun then to resume), or choose another --out",
            ) from None
        except OSError:  # a file system without locks (some network mounts): unlocked
            pass
        yield
    finally:
        fh.close()


class ResumeSet:
    """The (file, entry) pairs already in the results table, matched by the file's folder
    resolved as well as by its spelling.

    Why: the file column holds the path as SOURCE was spelled. Rerunning the same archive as
    ``/abs/archive`` after ``archive`` (or through a symbolic link) matched no row, so every
    ECG was scored and appended a second time. Picklable (reading workers get it).
    """

    def __init__(self, done: set[tuple[str, str]]) -> None:
        self.done = done
        self._dirs: dict[str, str] = {}
        self.resolved = {(self._resolve(f), k) for f, k in done}

    def _resolve(self, file: str) -> str:
        folder, name = os.path.split(file)
        real = self._dirs.get(folder)
        if real is None:
            real = self._dirs[folder] = os.path.realpath(folder or ".")
        return os.path.join(real, name)

    def has(self, entry: object) -> bool:
        """Whether the RecordEntry ``entry`` already has its row."""
        file, key = entry_id(entry)  # type: ignore[arg-type]
        if (file, key) in self.done:
            return True
        return bool(self.done) and (self._resolve(file), key) in self.resolved

    def __len__(self) -> int:
        return len(self.done)


def refuse_if_being_written(paths: Iterable[Path]) -> None:
    """Raise FileAccessError when another ``ecgad score`` run still writes one of ``paths``
    (it holds :func:`table_lock`): reading or resuming then would cut the row it writes."""
    for path in paths:
        with table_lock(path, create=False, shared=True):
            pass
