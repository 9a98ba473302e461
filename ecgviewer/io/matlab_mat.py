"""MATLAB ``.mat`` files without a WFDB header beside them: say what they are.

A ``.mat`` with a ``.hea`` is a WFDB record (``wfdb_format``). Without one, the common ECG case
is an original CPSC 2018 (China Physiological Signal Challenge) file: a struct ``ECG`` with
``sex``, ``age`` and ``data`` (12 x n). Its units and lead order are given only in the
challenge's documentation, not in the file, so it is not guessed at: the message names the
file for what it is and points to the WFDB version of the same database (PhysioNet/CinC
Challenge 2020), which this program reads.

Only the top-level variable headers are looked at (name, class, dimensions, struct field
names), by a small bounds-checked walk of the MAT 5 layout (MathWorks, "MAT-File Format"):
scipy's ``loadmat``/``whosmat`` crash the interpreter (segmentation fault) on some damaged
files, which a viewer must survive. Compressed variables are inflated only as far as their
header (a few KB at most).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecgviewer.errors import UnknownFormatError
from ecgviewer.record import Record

__all__ = ["read", "describe", "variables"]

_MI_INT8, _MI_INT32, _MI_UINT32, _MI_MATRIX, _MI_COMPRESSED = 1, 5, 6, 14, 15
_CLASSES = {
    1: "cell",
    2: "struct",
    3: "object",
    4: "char",
    5: "sparse",
    6: "double",
    7: "single",
    8: "int8",
    9: "uint8",
    10: "int16",
    11: "uint16",
    12: "int32",
    13: "uint32",
    14: "int64",
    15: "uint64",
}
#: Variables looked at, and bytes of a compressed variable inflated to read its header.
MAX_VARIABLES = 64
HEADER_BYTES = 8192


@dataclass
class MatVariable:
    name: str
    kind: str
    shape: tuple[int, ...]
    fields: tuple[str, ...] = ()


class _Damaged(Exception):
    pass


def _element(buf: bytes, at: int, endian: str) -> tuple[int, bytes, int]:
    """(type, data, offset of the next element) of the data element at ``at``."""
    if at + 8 > len(buf):
        raise _Damaged("element tag runs past the data")
    first, second = struct.unpack_from(endian + "II", buf, at)
    if first >> 16:  # small data element: type and size in one word, data in the next
        kind, size = first & 0xFFFF, first >> 16
        if size > 4:
            raise _Damaged("small data element larger than 4 bytes")
        return kind, buf[at + 4 : at + 4 + size], at + 8
    kind, size = first, second
    end = at + 8 + size
    if end > len(buf) and kind != _MI_MATRIX:
        raise _Damaged("element runs past the data")
    padded = end if kind == _MI_COMPRESSED else end + (-size % 8)
    return kind, buf[at + 8 : end], padded


def _matrix(data: bytes, endian: str) -> MatVariable:
    kind, flags, at = _element(data, 0, endian)
    if kind != _MI_UINT32 or len(flags) < 4:
        raise _Damaged("array flags missing")
    cls = _CLASSES.get(struct.unpack_from(endian + "I", flags)[0] & 0xFF, "unknown")
    kind, dims, at = _element(data, at, endian)
    if kind != _MI_INT32 or len(dims) % 4 or not dims:
        raise _Damaged("dimensions missing")
    shape = struct.unpack(endian + f"{len(dims) // 4}i", dims)
    kind, name, at = _element(data, at, endian)
    if kind != _MI_INT8:
        raise _Damaged("array name missing")
    fields: tuple[str, ...] = ()
    if cls == "struct":
        kind, length, at = _element(data, at, endian)
        kind2, names, at = _element(data, at, endian)
        width = struct.unpack_from(endian + "i", length)[0] if len(length) >= 4 else 0
        if kind == _MI_INT32 and kind2 == _MI_INT8 and 0 < width <= 64:
            fields = tuple(
                names[i : i + width].split(b"\0", 1)[0].decode("latin-1")
                for i in range(0, len(names) - width + 1, width)
            )
    return MatVariable(name.decode("latin-1"), cls, tuple(shape), fields)


def variables(path: Path) -> list[MatVariable]:
    """The top-level variables of a MAT 5 file; raises ``ValueError`` when it is damaged."""
    with open(path, "rb") as fh:
        head = fh.read(128)
        if len(head) < 128:
            raise ValueError("header truncated")
        endian = "<" if head[126:128] == b"IM" else ">" if head[126:128] == b"MI" else None
        if endian is None:
            raise ValueError("no endian indicator")
        out: list[MatVariable] = []
        while len(out) < MAX_VARIABLES:
            tag = fh.read(8)
            if len(tag) < 8:
                break
            first, size = struct.unpack(endian + "II", tag)
            kind = first & 0xFFFF if first >> 16 else first
            if first >> 16:  # a small element (4 bytes of data, already read): not a variable
                continue
            try:
                if kind == _MI_COMPRESSED:
                    raw = fh.read(min(size, 1 << 20))
                    data = zlib.decompressobj().decompress(raw, HEADER_BYTES)
                    fh.seek(size - len(raw), 1)
                    kind, body, _ = _element(data + b"\0" * 8, 0, endian)
                    if kind == _MI_MATRIX:
                        out.append(_matrix(body, endian))
                elif kind == _MI_MATRIX:
                    body = fh.read(min(size, HEADER_BYTES))
                    fh.seek(size - len(body) + (-size % 8), 1)
                    out.append(_matrix(body, endian))
                else:
                    fh.seek(size + (-size % 8), 1)
            except (_Damaged, zlib.error, struct.error) as exc:
                raise ValueError(str(exc)) from None
    return out


def describe(path: Path) -> str:
    """One sentence saying what the MATLAB file holds, as far as its header tells."""
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head.startswith(b"MATLAB 7.3"):
        return "a MATLAB 7.3 (HDF5-based) file without a WFDB header (.hea) beside it"
    try:
        found = variables(path)
    except (ValueError, OSError) as exc:
        return f"a damaged MATLAB file ({exc})"
    for var in found:
        if var.name == "ECG" and var.kind == "struct" and {"sex", "age", "data"} <= set(var.fields):
            return (
                "an original CPSC 2018 challenge file (MATLAB struct ECG with sex, age and "
                "data): it carries no sampling rate, units or lead names; open the WFDB "
                "version of this database (PhysioNet/CinC Challenge 2020, .hea + .mat) "
                "instead"
            )
    listed = ", ".join(f"{v.name} {'x'.join(map(str, v.shape))} {v.kind}" for v in found[:5])
    return (
        f"a MATLAB file without a WFDB header (.hea) beside it (variables: "
        f"{listed or 'none'}): not an ECG format this program reads"
    )


def read(path: Path, **_opts: Any) -> Record:
    """Always raises :class:`UnknownFormatError` with :func:`describe`'s sentence."""
    raise UnknownFormatError(path, describe(Path(path)))
