"""Content hashes that key the score cache and the reviews: sha256 of the file bytes.

A renamed or moved file keeps its reviews and cached scores; an edited file gets new ones. For
WFDB the header alone says nothing about the samples, so the hash covers the ``.hea`` and
every data file (and segment header) it names. Files are read in 1 MiB chunks so a 1 GB
Holter file never sits in memory.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Protocol

from ecgviewer.errors import ECGError, FileAccessError
from ecgviewer.filekind import open_regular, stat_regular
from ecgviewer.io.files import files_of

log = logging.getLogger(__name__)

CHUNK = 1 << 20


def sha256_files(paths: Iterable[str | os.PathLike[str]]) -> str:
    """sha256 over the bytes of ``paths``, concatenated in the order given.

    Raises
    ------
    FileAccessError
        A file is missing or unreadable (message names it).
    """
    job = hash_job(list(paths))
    while True:
        try:
            next(job)
        except StopIteration as stop:
            return str(stop.value)


def hash_job(
    paths: list[str | os.PathLike[str]], step: int = 64 * CHUNK
) -> Generator[tuple[int, int, str], None, str]:
    """:func:`sha256_files` as a job: yields ``(bytes done, bytes total, message)`` every
    ``step`` bytes, so hashing a 1 GB Holter file can be cancelled and shows progress."""
    total = sum(stat_regular(p).st_size for p in paths)  # a FIFO is refused, never opened
    digest = hashlib.sha256()
    done = since = 0
    for path in paths:
        try:
            with open_regular(path) as fh:
                while chunk := fh.read(CHUNK):
                    digest.update(chunk)
                    done += len(chunk)
                    since += len(chunk)
                    if since >= step:
                        since = 0
                        yield (done, total, "Hashing")
        except OSError as exc:
            raise FileAccessError(
                path, f"cannot be read for hashing: {exc.strerror or exc}"
            ) from None
    return digest.hexdigest()


class HashCache(Protocol):
    """Where known hashes are kept by path, size and mtime (the review store)."""

    def known_hash(self, path: str, size: int, mtime_ns: int) -> str | None: ...

    def remember_hashes(self, entries: Iterable[tuple[str, int, int, str]]) -> None: ...


def cached_hash_job(
    files: list[Path],
    cache: HashCache,
    *,
    max_bytes: int | None = None,
    fresh: list[tuple[str, int, int, str]] | None = None,
) -> Generator[tuple[int, int, str], None, str | None]:
    """The content hash of ``files``: from ``cache`` while their size and mtime are unchanged,
    else read (with :func:`hash_job` progress) and remembered.

    The one cached lookup used by the worklist, long recordings and the report's review.

    Parameters
    ----------
    max_bytes
        Files larger than this in all are not read: None is returned (e.g. on the GUI thread).
    fresh
        When given, new hashes are appended here for the caller to remember in one batch;
        else each is remembered at once.
    """
    size, mtime = stat_key(files)
    key = str(Path(files[0]).resolve())
    known = cache.known_hash(key, size, mtime)
    if known is not None:
        return known
    if max_bytes is not None and size > max_bytes:
        return None
    digest = yield from hash_job(list(files))
    entry = (key, size, mtime, digest)
    if fresh is not None:
        fresh.append(entry)
    else:
        try:
            cache.remember_hashes([entry])
        except ECGError as exc:  # a full disk or busy store: the hash is still right, only not kept
            log.warning("content hash not remembered: %s", exc)
    return digest


def cached_hash(
    files: list[Path],
    cache: HashCache,
    *,
    max_bytes: int | None = None,
    fresh: list[tuple[str, int, int, str]] | None = None,
) -> str | None:
    """:func:`cached_hash_job` run to the end (no progress)."""
    job = cached_hash_job(files, cache, max_bytes=max_bytes, fresh=fresh)
    while True:
        try:
            next(job)
        except StopIteration as stop:
            return stop.value


def content_hash(path: str | os.PathLike[str]) -> str:
    """sha256 of the ECG's bytes (all its files), the key of its reviews and scores."""
    return sha256_files(files_of(path))


def entry_hash(file_hash: str, key: str) -> str:
    """Hash of one ECG inside a collection file (HDF5): the file's hash and the entry key.

    Hashing each entry's bytes would mean reading an HDF5 collection once per entry; the file
    hash changes whenever any entry changes, which at worst re-scores a collection.
    """
    return hashlib.sha256(f"{file_hash}\0{key}".encode()).hexdigest()


def stat_key(paths: Iterable[str | os.PathLike[str]]) -> tuple[int, int]:
    """(total size, newest mtime in ns) of the files: changes whenever one of them does."""
    size = mtime = 0
    for p in paths:
        st = stat_regular(p)
        size += st.st_size
        mtime = max(mtime, st.st_mtime_ns)
    return size, mtime
