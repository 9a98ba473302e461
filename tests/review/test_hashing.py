"""Content hashes are sha256 of the bytes (hashlib is the reference), WFDB header + data."""

from __future__ import annotations

import hashlib

from ecgviewer.review.hashing import CHUNK, content_hash, files_of
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
