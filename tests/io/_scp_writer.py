"""A small SCP-ECG *encoder* for tests: builds files that exercise what the fixtures do not
(custom Huffman tables with table switches, first differences, reference-beat subtraction,
bimodal decimation, section 7/8 content). Written from the standard's description, the encoder
side only, so it checks the reader from the other direction."""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass, field

import numpy as np

LEAD_CODES = {
    "I": 1,
    "II": 2,
    "V1": 3,
    "V2": 4,
    "V3": 5,
    "V4": 6,
    "V5": 7,
    "V6": 8,
    "III": 61,
    "aVR": 62,
    "aVL": 63,
    "aVF": 64,
}


@dataclass(frozen=True)
class HCode:
    prefix_bits: int
    total_bits: int
    mode: int
    value: int
    prefix: str  # as transmitted, e.g. "110"


DEFAULT = (
    [HCode(1, 1, 1, 0, "0")]
    + [
        HCode(m + 2, m + 2, 1, sign * m, "1" * m + "0" + ("0" if sign > 0 else "1"))
        for m in range(1, 9)
        for sign in (1, -1)
    ]
    + [HCode(10, 18, 1, 0, "1111111110"), HCode(10, 26, 1, 0, "1111111111")]
)


def huffman_bits(values, table: list[HCode]) -> str:
    out = []
    for v in values:
        v = int(v)
        code = next(
            (c for c in table if c.mode == 1 and c.total_bits == c.prefix_bits and c.value == v),
            None,
        )
        if code is not None:
            out.append(code.prefix)
            continue
        for c in sorted(
            (c for c in table if c.mode == 1 and c.total_bits > c.prefix_bits),
            key=lambda c: c.total_bits,
        ):
            extra = c.total_bits - c.prefix_bits
            raw = v - c.value
            if -(1 << (extra - 1)) <= raw < 1 << (extra - 1):
                out.append(c.prefix + format(raw & ((1 << extra) - 1), f"0{extra}b"))
                break
        else:
            raise ValueError(f"value {v} not encodable")
    return "".join(out)


def bits_to_bytes(bits: str) -> bytes:
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""


def section2(tables: list[list[HCode]]) -> bytes:
    out = struct.pack("<H", len(tables))
    for table in tables:
        out += struct.pack("<H", len(table))
        for c in table:
            stored = int(c.prefix[::-1] or "0", 2)  # first transmitted bit in the LSB
            out += struct.pack("<BBBhI", c.prefix_bits, c.total_bits, c.mode, c.value, stored)
    return out


def differences(x: np.ndarray, kind: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.int64)
    if kind == 0:
        return x
    if kind == 1:
        return np.concatenate(([x[0]], np.diff(x)))
    d = x.copy()
    d[2:] = x[2:] - 2 * x[1:-1] + x[:-2]
    return d


@dataclass
class ScpSpec:
    leads: dict[str, np.ndarray]  # integer units of ``avm`` nV, full rate
    interval_us: int = 2000
    avm: int = 5000
    difference: int = 2
    huffman: str = "none"  # none | default | custom
    reference: np.ndarray | None = None  # leads x samples, integer units, full rate
    ref_fiducial: int = 0  # 1-based sample of the fiducial point in the reference beat
    qrs: list[tuple[int, int, int, int]] = field(default_factory=list)  # type, SB, fc, SE
    protected: list[tuple[int, int]] = field(default_factory=list)
    bimodal_rate: int = 1
    section1: bytes = b""
    section7: bytes = b""
    section8: bytes = b""
    custom_tables: list[list[HCode]] | None = None
    switch_at: int | None = None  # custom: switch from table 1 to table 2 after this value


def _encode_lead(values: np.ndarray, spec: ScpSpec) -> bytes:
    d = differences(values, spec.difference)
    if spec.huffman == "none":
        return d.astype("<i2").tobytes()
    if spec.huffman == "default":
        return bits_to_bytes(huffman_bits(d, DEFAULT))
    tables = spec.custom_tables
    assert tables is not None
    cut = len(d) if spec.switch_at is None else spec.switch_at
    bits = huffman_bits(d[:cut], tables[0])
    if cut < len(d):
        switch = next(c for c in tables[0] if c.mode == 0 and c.value == 2)
        bits += switch.prefix + huffman_bits(d[cut:], tables[1])
    return bits_to_bytes(bits)


def _data_section(
    avm: int, interval: int, difference: int, flag: int, encoded: list[bytes]
) -> bytes:
    out = struct.pack("<HHBB", avm, interval, difference, flag)
    out += b"".join(struct.pack("<H", len(e)) for e in encoded)
    return out + b"".join(encoded)


def _decimate(x: np.ndarray, protected: list[tuple[int, int]], rate: int) -> np.ndarray:
    """Bimodal compression: protected samples kept, each group of ``rate`` elsewhere averaged."""
    n = len(x)
    out: list[int] = []
    t = 1
    zones = sorted(protected)
    while t <= n:
        zone = next(((a, b) for a, b in zones if a <= t <= b), None)
        if zone is not None:
            out.extend(int(v) for v in x[t - 1 : min(zone[1], n)])
            t = zone[1] + 1
            continue
        nxt = min([a for a, _ in zones if a > t] + [n + 1])
        end = min(t + rate, nxt)
        out.append(int(round(float(np.mean(x[t - 1 : end - 1])))))
        t = end
    return np.array(out, dtype=np.int64)


def build_scp(spec: ScpSpec) -> bytes:
    names = list(spec.leads)
    n = len(next(iter(spec.leads.values())))
    s: dict[int, bytes] = {}
    if spec.section1:
        s[1] = spec.section1
    if spec.huffman == "default":
        s[2] = struct.pack("<H", 19999)
    elif spec.huffman == "custom":
        s[2] = section2(spec.custom_tables or [])
    flags = (0x01 if spec.reference is not None else 0) | 0x04 | (len(names) << 3)
    s[3] = struct.pack("<BB", len(names), flags) + b"".join(
        struct.pack("<IIB", 1, n, LEAD_CODES[name]) for name in names
    )
    if spec.reference is not None:
        ref_len_ms = spec.reference.shape[1] * spec.interval_us // 1000
        s[4] = struct.pack("<HHH", ref_len_ms, spec.ref_fiducial, len(spec.qrs))
        s[4] += b"".join(struct.pack("<HIII", *q) for q in spec.qrs)
        zones = spec.protected or [(q[1], q[3]) for q in spec.qrs]
        s[4] += b"".join(struct.pack("<II", a, b) for a, b in zones)
        s[5] = _data_section(
            spec.avm,
            spec.interval_us,
            spec.difference,
            0,
            [_encode_lead(row, spec) for row in spec.reference],
        )
    rhythm = []
    for i, name in enumerate(names):
        x = np.asarray(spec.leads[name], dtype=np.int64).copy()
        if spec.reference is not None:
            beat = spec.reference[i]
            for kind, sb, fc, se in spec.qrs:
                if kind != 0:
                    continue
                for t in range(sb, se + 1):
                    x[t - 1] -= beat[t - fc + spec.ref_fiducial - 1]
        if spec.bimodal_rate > 1:
            x = _decimate(x, spec.protected, spec.bimodal_rate)
        rhythm.append(_encode_lead(x, spec))
    s[6] = _data_section(
        spec.avm,
        spec.interval_us * spec.bimodal_rate,
        spec.difference,
        1 if spec.bimodal_rate > 1 else 0,
        rhythm,
    )
    if spec.section7:
        s[7] = spec.section7
    if spec.section8:
        s[8] = spec.section8
    return assemble(s)


def assemble(s: dict[int, bytes], version: int = 20) -> bytes:
    """Sections (bodies) -> a whole file with pointers, headers and CRCs."""
    sids = sorted(s)
    pointer_len = 16 + 10 * 12
    index = 6 + 1 + pointer_len
    pointers = struct.pack("<HII", 0, pointer_len, 7)
    blobs = []
    for sid in range(1, 12):
        body = s.get(sid, b"")
        if sid in sids:
            if len(body) % 2:
                body += b"\x00"
            length = 16 + len(body)
            pointers += struct.pack("<HII", sid, length, index)
            blobs.append(_section(sid, body, version))
            index += length
        else:
            pointers += struct.pack("<HII", sid, 0, 0)
    content = _section(0, pointers, version) + b"".join(blobs)
    size = 6 + len(content)
    whole = struct.pack("<I", size) + content
    return struct.pack("<H", binascii.crc_hqx(whole, 0xFFFF)) + whole


def _section(sid: int, body: bytes, version: int) -> bytes:
    head = struct.pack("<HIBB", sid, 16 + len(body), version, version) + b"SCPECG"
    crc = binascii.crc_hqx(head + body, 0xFFFF)
    return struct.pack("<H", crc) + head + body


def tag(number: int, value: bytes) -> bytes:
    return struct.pack("<BH", number, len(value)) + value
