"""Only regular files are opened; what a path is gets said in words (items 3 and 8, issue 16)."""

from __future__ import annotations

import os
import threading

import pytest

from ecgviewer.errors import FileAccessError
from ecgviewer.filekind import open_regular, stat_regular
from ecgviewer.io import read
from ecgviewer.review.hashing import sha256_files


def _loop(tmp_path):
    os.symlink(tmp_path / "b.edf", tmp_path / "a.edf")
    os.symlink(tmp_path / "a.edf", tmp_path / "b.edf")
    return tmp_path / "a.edf"


def test_symlink_loop_is_named_not_called_missing(tmp_path):
    with pytest.raises(FileAccessError, match="symbolic link loop") as info:
        read(_loop(tmp_path))
    assert "not found" not in str(info.value)


def test_dangling_link_says_where_it_points(tmp_path):
    os.symlink(tmp_path / "gone.edf", tmp_path / "link.edf")
    with pytest.raises(FileAccessError, match="symbolic link to .*gone.edf, which does not exist"):
        read(tmp_path / "link.edf")


def test_missing_file(tmp_path):
    with pytest.raises(FileAccessError, match="file not found"):
        read(tmp_path / "nothing.edf")


@pytest.mark.parametrize("use", [read, lambda p: sha256_files([p]), open_regular])
def test_fifo_is_refused_without_blocking(tmp_path, use):
    fifo = tmp_path / "pipe.edf"
    os.mkfifo(fifo)
    out: list[BaseException] = []

    def attempt() -> None:
        try:
            use(fifo)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            out.append(exc)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(10)
    if thread.is_alive():
        with open(fifo, "wb"):  # release the blocked reader
            pass
        pytest.fail("opening a FIFO blocked")
    assert out and isinstance(out[0], FileAccessError)
    assert "FIFO (named pipe)" in str(out[0]) and str(fifo) in str(out[0])


def test_character_device_is_refused():
    with pytest.raises(FileAccessError, match="character device"):
        stat_regular("/dev/zero")


def test_regular_file_opens(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"abc")
    with open_regular(path) as fh:
        assert fh.read() == b"abc"
