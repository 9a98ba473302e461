"""Philips XLI waveform compression (Sierra ECG XML ``parsedwaveforms``), decoding only.

Written from the format's public description (sierra-ecg-tools documentation). An XLI stream is
a run of chunks, one per lead, each:

- an 8-byte header: compressed size (int32 LE), a code (int16, unused) and the first second
  difference (int16 LE);
- ``size`` bytes of LZW data: 10-bit codes, most significant bit first, a 256-byte initial
  dictionary and no reset; code 1023 (or running out of bits) ends the chunk;
- the LZW output is 16-bit values split in two halves: the first half holds the high bytes,
  the second half the low bytes;
- the values are second differences offset by 64 and shifted by one position: samples 0 and 1
  are stored as they are, sample ``i`` is ``2 x[i-1] - x[i-2] - r``, where ``r`` is the header's
  difference for ``i = 2`` and ``value[i-1] - 64`` after that.

Memory and time are bounded by the caller's expected sample count: a chunk whose LZW output
grows past it is damage, not a longer lead, and decoding stops there.
"""

from __future__ import annotations

import numpy as np

__all__ = ["XliError", "decode_xli"]

CODE_BITS = 10
#: Highest code that names a dictionary string; 1023 marks the end of a chunk.
MAX_CODE = (1 << CODE_BITS) - 2
HEADER_BYTES = 8
DELTA_OFFSET = 64


class XliError(ValueError):
    """The XLI data is damaged; the message says where (the reader adds the file name)."""


def decode_xli(data: bytes, n_leads: int, n_samples: int) -> list[np.ndarray]:
    """Decode ``n_leads`` chunks of ``n_samples`` values each (int64, raw units).

    Raises :class:`XliError` for a truncated chunk, an impossible LZW code, or a chunk holding
    fewer samples than ``n_samples``; further chunks beyond ``n_leads`` are ignored.
    """
    out: list[np.ndarray] = []
    offset = 0
    max_bytes = 2 * n_samples + 4  # LZW output needed for one lead, with slack for padding
    while len(out) < n_leads:
        if offset + HEADER_BYTES > len(data):
            raise XliError(f"waveform data ends after {len(out)} of {n_leads} leads")
        size = int.from_bytes(data[offset : offset + 4], "little", signed=True)
        first = int.from_bytes(data[offset + 6 : offset + 8], "little", signed=True)
        offset += HEADER_BYTES
        if size < 0 or offset + size > len(data):
            raise XliError(f"lead {len(out) + 1}: compressed size {size} runs past the data")
        raw = _lzw_decode(data[offset : offset + size], max_bytes, len(out) + 1)
        offset += size
        values = _unpack(raw)
        if values.size < n_samples:
            raise XliError(
                f"lead {len(out) + 1} holds {values.size} samples, the header says {n_samples}"
            )
        out.append(_undo_differences(values, first)[:n_samples])
    return out


def _codes(chunk: bytes) -> np.ndarray:
    """The chunk's 10-bit codes, most significant bit first (trailing bits dropped)."""
    bits = np.unpackbits(np.frombuffer(chunk, dtype=np.uint8))
    n = bits.size // CODE_BITS
    weights = 1 << np.arange(CODE_BITS - 1, -1, -1)
    return bits[: n * CODE_BITS].reshape(n, CODE_BITS) @ weights


def _lzw_decode(chunk: bytes, max_bytes: int, lead: int) -> bytes:
    table: list[bytes] = [bytes([i]) for i in range(256)]
    out = bytearray()
    previous = b""
    for code in _codes(chunk).tolist():
        if code > MAX_CODE:
            break
        if code < len(table):
            entry = table[code]
        elif code == len(table) and previous:
            entry = previous + previous[:1]  # the string being defined by this very code
        else:
            raise XliError(f"lead {lead}: LZW code {code} names no string (damaged data)")
        if previous and len(table) <= MAX_CODE:
            table.append(previous + entry[:1])
        out += entry
        if len(out) > max_bytes:
            raise XliError(f"lead {lead}: compressed data expands past the lead's length")
        previous = entry
    return bytes(out)


def _unpack(raw: bytes) -> np.ndarray:
    if len(raw) % 2:
        raw += b"\x00"
    half = len(raw) // 2
    b = np.frombuffer(raw, dtype=np.uint8).astype(np.int64)
    word = (b[:half] << 8) | b[half:]
    return np.where(word >= 1 << 15, word - (1 << 16), word)


def _undo_differences(values: np.ndarray, first: int) -> np.ndarray:
    """Samples from the stored values; exact integer arithmetic, vectorised.

    With ``e[i] = x[i] - x[i-1]`` the recursion ``x[i] = 2 x[i-1] - x[i-2] - r[i]`` is
    ``e[i] = e[i-1] - r[i]``: two cumulative sums.
    """
    n = values.size
    if n <= 2:
        return values.copy()
    residual = np.empty(n - 2, dtype=np.int64)
    residual[0] = first
    residual[1:] = values[2 : n - 1] - DELTA_OFFSET
    slopes = (values[1] - values[0]) - np.cumsum(residual)
    x = np.empty(n, dtype=np.int64)
    x[:2] = values[:2]
    x[2:] = values[1] + np.cumsum(slopes)
    return x
