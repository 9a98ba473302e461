"""Only regular files are ever opened: a FIFO, socket or device blocks or streams forever, and a
symbolic-link loop must be named as such, not reported as a missing file.

Used by the readers' first check, by content hashing and by the worklist's folder scan, so a
named pipe dropped into an ECG folder becomes one error row instead of a hung worklist.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from ecgviewer.errors import FileAccessError

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a folder"
    return next((words for test, words in _KINDS if test(mode)), "not a regular file")


def stat_regular(path: str | os.PathLike[str]) -> os.stat_result:
    """``os.stat(path)`` of a regular file; anything else is a :class:`FileAccessError` that
    says what the path is (missing, link loop, dangling link, folder, FIFO, device, ...)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise FileAccessError(path, _stat_problem(Path(path), exc)) from None
    if stat.S_ISDIR(st.st_mode):
        raise FileAccessError(path, "is a folder, not an ECG file")
    if not stat.S_ISREG(st.st_mode):
        raise FileAccessError(path, f"is {kind_of(st.st_mode)}, not a regular file: not opened")
    return st


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a regular file for reading without ever blocking on a FIFO.

    ``O_NONBLOCK`` makes opening a FIFO return at once; the type is then checked on the open
    descriptor (no race with a file swapped after a stat) and the flag cleared for normal reads.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise FileAccessError(path, _stat_problem(Path(path), exc)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileAccessError(path, f"is {kind_of(st.st_mode)}, not a regular file: not opened")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _stat_problem(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "is a symbolic link loop (links that point at each other), not a file"
    if exc.errno == errno.ENOENT:
        if path.is_symlink():
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            return f"is a symbolic link to {target}, which does not exist"
        return "file not found"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied: the file cannot be read"
    if exc.errno == errno.EISDIR:
        return "is a folder, not an ECG file"
    return f"cannot be opened: {exc.strerror or exc}"
