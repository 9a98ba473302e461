"""Content hashes are sha256 of the bytes (hashlib is the reference), WFDB header + data."""

from __future__ import annotations

import hashlib

from ecgviewer.io.files import files_of
from ecgviewer.review.hashing import CHUNK, content_hash
from tests.analysis.wfdb_folder import write_record


def test_single_file_hash_is_sha256_of_bytes_across_chunks(tmp_path):
    data = bytes(range(256)) * (CHUNK // 256 * 2 + 7)  # > 2 chunks
    path = tmp_path / "x.edf"
    path.write_bytes(data)
    assert content_hash(path) == hashlib.sha256(data).hexdigest()


def test_wfdb_hash_covers_header_and_data(tmp_path):
    hea = write_record(tmp_path, "r1", 1.0)
    dat = tmp_path / "r1.dat"
    assert files_of(hea) == [hea, dat]
    assert content_hash(hea) == hashlib.sha256(hea.read_bytes() + dat.read_bytes()).hexdigest()
    assert content_hash(dat) == content_hash(hea)  # opened by its data file: same ECG
    before = content_hash(hea)
    raw = bytearray(dat.read_bytes())
    raw[100] ^= 0xFF
    dat.write_bytes(bytes(raw))
    assert content_hash(hea) != before  # samples changed, header did not


class _Cache:
    def __init__(self) -> None:
        self.known: dict[tuple[str, int, int], str] = {}
        self.writes = 0

    def known_hash(self, path, size, mtime_ns):
        return self.known.get((path, size, mtime_ns))

    def remember_hashes(self, entries):
        self.writes += 1
        self.known.update({(p, s, m): h for p, s, m, h in entries})


def test_cached_hash_reads_once_until_the_file_changes(tmp_path, monkeypatch):
    import ecgviewer.review.hashing as hashing

    path = tmp_path / "x.edf"
    path.write_bytes(b"abc" * 1000)
    reads = []
    real = hashing.hash_job
    monkeypatch.setattr(hashing, "hash_job", lambda files: reads.append(files) or real(files))
    cache = _Cache()
    first = hashing.cached_hash([path], cache)
    assert first == hashlib.sha256(path.read_bytes()).hexdigest()
    assert hashing.cached_hash([path], cache) == first and len(reads) == 1
    path.write_bytes(b"abcd" * 1000)  # new size: read again
    assert hashing.cached_hash([path], cache) != first and len(reads) == 2
    assert cache.writes == 2


def test_cached_hash_size_limit_and_batched_remembering(tmp_path):
    from ecgviewer.review.hashing import cached_hash

    path = tmp_path / "x.edf"
    path.write_bytes(b"x" * 5000)
    cache = _Cache()
    assert cached_hash([path], cache, max_bytes=4000) is None  # too big for the GUI thread
    fresh: list = []
    h = cached_hash([path], cache, fresh=fresh)
    assert cache.writes == 0 and fresh == [(str(path.resolve()), 5000, fresh[0][2], h)]
    cache.remember_hashes(fresh)
    assert cached_hash([path], cache, max_bytes=4000) == h  # known: no read needed


def test_cached_hash_job_survives_a_cache_that_cannot_be_written(tmp_path) -> None:
    # A full disk under the review store must not stop a long-recording job: the hash is
    # returned (it is right), it is just not remembered.
    from ecgviewer.errors import ECGError
    from ecgviewer.review.hashing import cached_hash_job, sha256_files

    path = tmp_path / "a.dat"
    path.write_bytes(b"0123456789" * 100)

    class FullCache:
        def known_hash(self, key, size, mtime):
            return None

        def remember_hashes(self, entries):
            raise ECGError(str(tmp_path), "the disk holding the review database is full")

    job = cached_hash_job([path], FullCache())
    try:
        while True:
            next(job)
    except StopIteration as stop:
        digest = stop.value
    assert digest == sha256_files([path])
