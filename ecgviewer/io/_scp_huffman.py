"""SCP-ECG Huffman decoding (EN 1064 section 2): the default table and custom tables.

A table is a list of code structures: prefix length, total length, mode (1: a value, 0: switch
to table number ``value``), base value and the prefix bits. The prefix is stored bit-reversed
(first transmitted bit in the least significant position); here it is kept as transmitted,
most significant bit first. A total length longer than the prefix means the value follows the
prefix as ``total - prefix`` bits, two's complement, most significant bit first.

Decoding reads a 32-bit window at each bit position (precomputed with numpy), so a symbol
costs a few dictionary look-ups. Every symbol consumes at least one bit: a hostile stream ends
when its bits do, and never produces more than the ``count`` values asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["DEFAULT_TABLES", "HuffmanError", "Code", "decode", "parse_tables"]

DEFAULT_TABLE_MARKER = 19999
MAX_BITS = 32
#: At most this many tables and codes: more is damage (real files have one or a few).
MAX_TABLES = 256
MAX_CODES = 4096


class HuffmanError(ValueError):
    """Damaged Huffman data or tables (the reader adds the file and section)."""


@dataclass(frozen=True)
class Code:
    prefix_bits: int
    total_bits: int
    mode: int
    value: int
    prefix: int  # as transmitted, most significant bit first


Table = dict[tuple[int, int], Code]


def _default_table() -> Table:
    codes = [Code(1, 1, 1, 0, 0b0)]
    for magnitude in range(1, 9):
        ones = (1 << magnitude) - 1  # "1" * magnitude, then "0", then the sign bit
        for sign, value in ((0, magnitude), (1, -magnitude)):
            length = magnitude + 2
            codes.append(Code(length, length, 1, value, (ones << 2) | sign))
    codes.append(Code(10, 18, 1, 0, 0b1111111110))  # escape: an 8-bit value follows
    codes.append(Code(10, 26, 1, 0, 0b1111111111))  # escape: a 16-bit value follows
    return {(c.prefix_bits, c.prefix): c for c in codes}


DEFAULT_TABLES: list[Table] = [_default_table()]


def _reverse(bits: int, width: int) -> int:
    return int(f"{bits & ((1 << width) - 1):0{width}b}"[::-1], 2) if width else 0


def parse_tables(body: bytes) -> list[Table]:
    """Section 2's body -> tables (the default table for the 19999 marker)."""
    if len(body) < 2:
        raise HuffmanError("section 2 is too short")
    n_tables = int.from_bytes(body[:2], "little")
    if n_tables == DEFAULT_TABLE_MARKER:
        return DEFAULT_TABLES
    if not 0 < n_tables <= MAX_TABLES:
        raise HuffmanError(f"section 2 declares {n_tables} Huffman tables")
    pos = 2
    tables: list[Table] = []
    for t in range(n_tables):
        if pos + 2 > len(body):
            raise HuffmanError(f"section 2 ends inside Huffman table {t + 1}")
        n_codes = int.from_bytes(body[pos : pos + 2], "little")
        pos += 2
        if not 0 < n_codes <= MAX_CODES or pos + 9 * n_codes > len(body):
            raise HuffmanError(f"Huffman table {t + 1}: {n_codes} codes do not fit section 2")
        table: Table = {}
        for _ in range(n_codes):
            prefix_bits, total_bits, mode = body[pos], body[pos + 1], body[pos + 2]
            value = int.from_bytes(body[pos + 3 : pos + 5], "little", signed=True)
            stored = int.from_bytes(body[pos + 5 : pos + 9], "little")
            pos += 9
            # A table's only code may have no prefix: every value is then its raw bits (a
            # Creative/Lepu PC-80B writes one code of 0/16 bits for plain 16-bit samples).
            raw_only = prefix_bits == 0 and n_codes == 1 and mode == 1 and total_bits > 0
            if not (raw_only or 1 <= prefix_bits <= MAX_BITS) or not (
                0 <= total_bits - prefix_bits <= MAX_BITS
            ):
                raise HuffmanError(
                    f"Huffman table {t + 1}: code of {prefix_bits}/{total_bits} bits"
                )
            if mode == 0 and not 1 <= value <= n_tables:
                raise HuffmanError(f"Huffman table {t + 1}: switch to missing table {value}")
            code = Code(prefix_bits, total_bits, mode, value, _reverse(stored, prefix_bits))
            table[(prefix_bits, code.prefix)] = code
        tables.append(table)
    return tables


def plain_16_bit(tables: list[Table]) -> bool:
    """Whether section 2 holds one table of one code with no prefix and 16 bits of value:
    samples not Huffman-coded at all. A Creative/Lepu PC-80B writes it so and stores plain
    little-endian 16-bit samples (read that way, its ECG has regular beats; as a bit stream,
    52 mV of noise)."""
    if len(tables) != 1 or len(tables[0]) != 1:
        return False
    code = next(iter(tables[0].values()))
    return code.prefix_bits == 0 and code.total_bits == 16 and code.mode == 1 and code.value == 0


def _windows(data: bytes) -> tuple[np.ndarray, int]:
    """The 32 bits starting at every bit position (zeros past the end), and the bit count."""
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8)).astype(np.int64)
    n = bits.size
    padded = np.concatenate([bits, np.zeros(MAX_BITS, dtype=np.int64)])
    windows = np.zeros(n + 1, dtype=np.int64)
    for k in range(MAX_BITS):
        windows += padded[k : k + n + 1] << (MAX_BITS - 1 - k)
    return windows, n


#: Tables whose prefixes are at most this long decode through a direct look-up list.
LOOKUP_BITS = 12  # 4096 entries: even 256 switched-to tables stay a few MB


def _lookup(table: Table) -> Callable[[int], Code | None]:
    """window (32 bits) -> the code its leading bits start with, or None."""
    longest = max(length for length, _ in table)
    if longest <= LOOKUP_BITS:
        direct: list[Code | None] = [None] * (1 << longest)
        # Longest first, so a shorter code (a true prefix code has none inside another) wins
        # if a damaged table overlaps.
        for (length, prefix), code in sorted(table.items(), reverse=True):
            first = prefix << (longest - length)
            direct[first : first + (1 << (longest - length))] = [code] * (1 << (longest - length))
        shift = MAX_BITS - longest
        return lambda window: direct[window >> shift]
    lengths = sorted({length for length, _ in table})

    def search(window: int) -> Code | None:
        for length in lengths:
            code = table.get((length, window >> (MAX_BITS - length)))
            if code is not None:
                return code
        return None

    return search


def decode(data: bytes, count: int, tables: list[Table]) -> np.ndarray:
    """Decode up to ``count`` values; fewer when the bits run out (the caller decides).

    Raises :class:`HuffmanError` at a bit pattern no code of the current table starts with.
    """
    windows_arr, n_bits = _windows(data)
    windows = windows_arr.tolist()
    count = min(count, n_bits)  # every value takes at least one bit: memory follows the data
    lookups: dict[int, Callable[[int], Code | None]] = {0: _lookup(tables[0])}
    current = 0
    out = np.empty(count, dtype=np.int64)
    n = 0
    pos = 0
    while n < count and pos < n_bits:
        if current not in lookups:
            lookups[current] = _lookup(tables[current])
        code = lookups[current](windows[pos])
        if code is None:
            raise HuffmanError(f"no Huffman code matches the bits at position {pos}")
        pos += code.prefix_bits
        if code.mode == 0:
            current = code.value - 1
            continue
        extra = code.total_bits - code.prefix_bits
        value = code.value
        if extra:
            if pos + extra > n_bits:
                break
            raw = windows[pos] >> (MAX_BITS - extra)
            if raw >= 1 << (extra - 1):
                raw -= 1 << extra
            value += raw
            pos += extra
        out[n] = value
        n += 1
    return out[:n].copy() if n < count else out
