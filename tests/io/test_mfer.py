"""MFER (.mwf): files built here by a small writer that follows the standard
(tests/io/_writers.py::build_mfer), so every expected value comes from what was written."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from ecgviewer.errors import CorruptFileError, ECGError, UnknownFormatError
from ecgviewer.io import read, reader_for
from ecgviewer.record import STANDARD_LEADS

from ._writers import build_mfer, mfer_attr, mfer_scaled, mfer_tag, synthetic_12lead

EIGHT = [1, 2, 3, 4, 5, 6, 7, 8]  # MFER (= SCP-ECG) lead codes of I, II, V1-V6
EIGHT_NAMES = ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"]


def _eight_uv(seconds: float = 2.0) -> list[np.ndarray]:
    sig = synthetic_12lead(500, seconds)  # mV, standard order
    rows = [STANDARD_LEADS.index(name) for name in EIGHT_NAMES]
    return [np.round(sig[r] * 1000).astype(np.int16) for r in rows]


@pytest.mark.parametrize("order", ["<", ">"])
def test_8_leads_both_byte_orders_with_derived_limb_leads(tmp_path: Path, order: str) -> None:
    uv = _eight_uv()
    path = tmp_path / "rest.mwf"
    path.write_bytes(build_mfer(uv, EIGHT, order=order, resolution_nv=1250))
    assert reader_for(path).name == "mfer"
    rec = read(path)
    assert rec.format == "mfer" and rec.fs == 500 and rec.n_samples == 1000
    assert rec.leads == EIGHT_NAMES + ["III", "aVR", "aVL", "aVF"]
    assert rec.derived_leads == ("III", "aVR", "aVL", "aVF") and rec.non_ecg == ()
    for k, name in enumerate(EIGHT_NAMES):  # 1.25 uV per unit, in mV
        np.testing.assert_allclose(rec.signal[rec.lead_index(name)], uv[k] * 1.25e-3, atol=1e-6)
    lead_i, lead_ii = (rec.signal[rec.lead_index(n)] for n in ("I", "II"))
    np.testing.assert_allclose(rec.signal[rec.lead_index("III")], lead_ii - lead_i, atol=1e-6)


def test_sniffed_without_preamble_only_as_mwf(tmp_path: Path) -> None:
    data = build_mfer(_eight_uv(1.0), EIGHT, order=">", preamble=False)
    bare = tmp_path / "ge.mwf"
    bare.write_bytes(data)
    assert reader_for(bare).name == "mfer" and read(bare).n_samples == 500
    with_preamble = tmp_path / "export.bin"
    with_preamble.write_bytes(build_mfer(_eight_uv(1.0), EIGHT))
    assert reader_for(with_preamble).name == "mfer"


def test_channel_attributes_override_defaults(tmp_path: Path) -> None:
    """Default 1 uV; channel 2 says 5 uV and an offset; lead codes 61 (III) and 0xC00A (ART,
    mmHg, 2-byte code)."""
    x = np.arange(-50, 50, dtype=np.int16)
    own = mfer_tag(0x0C, mfer_scaled(0, -6, 5, "<")) + mfer_tag(0x0D, (10).to_bytes(2, "little"))
    art = mfer_tag(0x0C, mfer_scaled(1, -1, 1, "<"))  # 0.1 mmHg
    data = build_mfer(
        [x, x, x + 1000], [2, 61, 0xC00A], attrs=[b"", own, art], interval_us=[4000] * 3
    )
    path = tmp_path / "attrs.mwf"
    path.write_bytes(data)
    rec = read(path)
    assert rec.fs == 250 and rec.leads == ["II", "III", "ART"] and rec.non_ecg == ("ART",)
    np.testing.assert_allclose(rec.signal[0], x * 1e-3, atol=1e-7)
    np.testing.assert_allclose(rec.signal[1], (x + 10) * 5e-3, atol=1e-6)
    np.testing.assert_allclose(rec.signal[2], (x + 1000) * 0.1, atol=1e-4)  # kept in mmHg
    assert any("ART: in mmHg" in note for note in rec.notes)


def test_indefinite_channel_attribute(tmp_path: Path) -> None:
    x = np.arange(300, dtype=np.int16)
    head = (
        mfer_tag(0x01, b"\x01")
        + mfer_tag(0x05, b"\x01")
        + mfer_tag(0x04, (300).to_bytes(2, "little"))
    )
    head += mfer_tag(0x0B, mfer_scaled(0, 0, 500, "<"))  # 500 Hz, given as a frequency
    head += mfer_attr(0, mfer_tag(0x09, b"\x02"), indefinite=True)
    path = tmp_path / "indef.mwf"
    path.write_bytes(head + mfer_tag(0x1E, x.astype("<i2").tobytes()) + b"\x80")
    rec = read(path)
    assert rec.leads == ["II"] and rec.fs == 500
    np.testing.assert_allclose(rec.signal[0], x * 1e-3, atol=1e-7)  # default 1 uV, noted
    assert any("default 1 uV" in note for note in rec.notes)


def test_null_values_become_gaps_drawn_as_zero(tmp_path: Path) -> None:
    uv = _eight_uv(1.0)
    uv[1][100:150] = -32768
    null = mfer_tag(0x12, (-32768).to_bytes(2, "little", signed=True))
    path = tmp_path / "nulls.mwf"
    path.write_bytes(build_mfer(uv, EIGHT, header=null))
    rec = read(path)
    ii = rec.signal[rec.lead_index("II")]
    assert np.all(ii[100:150] == 0) and np.isfinite(rec.signal).all()
    gaps = [a for a in rec.annotations if a.lead == "II"]
    assert len(gaps) == 1 and gaps[0].onset == pytest.approx(0.2) and gaps[0].duration == 0.1
    assert any("II 50" in note for note in rec.notes)


def test_multi_rate_monitor_resampled_to_ecg_rate(tmp_path: Path) -> None:
    """Lead II at 250 Hz beside ART at 125 Hz, 3 sequences of 2 s: ART resampled to 250 Hz
    and marked non-ECG, as the EDF reader does."""
    t250 = np.arange(1500) / 250
    t125 = np.arange(750) / 125
    ii = np.round(500 * np.sin(2 * np.pi * 1.0 * t250)).astype(np.int16)
    art = np.round(800 + 100 * np.sin(2 * np.pi * 0.5 * t125)).astype(np.int16)
    mmhg = mfer_tag(0x0C, mfer_scaled(1, -3, 125, "<"))
    data = build_mfer(
        [ii, art], [2, 0xC00A], interval_us=[4000, 8000], sequences=3, attrs=[b"", mmhg]
    )
    path = tmp_path / "monitor.mwf"
    path.write_bytes(data)
    rec = read(path)
    assert rec.fs == 250 and rec.n_samples == 1500 and rec.duration == pytest.approx(6.0)
    assert rec.leads == ["II", "ART"] and rec.non_ecg == ("ART",)
    np.testing.assert_allclose(rec.signal[0], ii * 1e-3, atol=1e-6)
    inner = slice(50, -50)  # away from the resampler's edges
    expected = (800 + 100 * np.sin(2 * np.pi * 0.5 * t250)) * 0.125
    np.testing.assert_allclose(rec.signal[1][inner], expected[inner], atol=0.2)
    assert any(n.startswith("resampled to 250 Hz: ART (125 Hz)") for n in rec.notes)


def test_patient_and_start(tmp_path: Path) -> None:
    tim = (2019).to_bytes(2, "little") + bytes([6, 19, 13, 20, 5]) + (250).to_bytes(2, "little")
    age = bytes([0xFF, 0xFF, 0xFF]) + (1950).to_bytes(2, "little") + bytes([7, 1])
    head = (
        mfer_tag(0x85, tim)
        + mfer_tag(0x81, b"SATO^HANAKO\x00")
        + mfer_tag(0x82, b"ID-42\x00\x00")
        + mfer_tag(0x83, age)
        + mfer_tag(0x84, b"\x02")
        + mfer_tag(0x17, b"MAKER^MODEL^1.0")
    )
    path = tmp_path / "pt.mwf"
    path.write_bytes(build_mfer(_eight_uv(1.0), EIGHT, header=head))
    rec = read(path)
    assert rec.start.isoformat() == "2019-06-19T13:20:05.250000"
    assert (rec.patient.id, rec.patient.age, rec.patient.sex) == ("ID-42", 68.0, "F")
    assert rec.patient.name == "SATO, HANAKO"  # family^given, as DICOM writes names
    assert rec.patient.birth_date == date(1950, 7, 1)
    assert rec.device == "MAKER MODEL 1.0"


def test_truncated_file_keeps_whole_sequences_or_refuses(tmp_path: Path) -> None:
    uv = [np.arange(1000, dtype=np.int16)] * 2
    data = build_mfer(uv, [1, 2], sequences=4)  # blocks of 250 samples
    cut = tmp_path / "cut.mwf"
    cut.write_bytes(data[: len(data) - 900])  # 3 of 4 sequences (1000 bytes each) survive
    rec = read(cut)
    assert rec.n_samples == 750 and any("3 of the 4 sequences" in n for n in rec.notes)
    header_only = tmp_path / "short.mwf"
    header_only.write_bytes(data[: len(data) - 4000])
    with pytest.raises(CorruptFileError, match="truncated"):
        read(header_only)


def test_garbage_mwf_is_named(tmp_path: Path) -> None:
    path = tmp_path / "junk.mwf"
    path.write_bytes(bytes(range(0xF0, 0x100)) * 40)
    with pytest.raises(ECGError, match=r"junk\.mwf: not an MFER file"):
        read(path)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (mfer_tag(0x0E, b"\x00\x01"), "compressed"),
        (mfer_tag(0x0A, b"\x09"), "AHA 8-bit compression"),
        (mfer_tag(0x0A, b"\x33"), "unknown data type 51"),
    ],
)
def test_undecodable_features_refused(tmp_path: Path, extra: bytes, message: str) -> None:
    path = tmp_path / "odd.mwf"
    path.write_bytes(build_mfer(_eight_uv(1.0), EIGHT, header=extra))
    with pytest.raises(UnknownFormatError, match=message):
        read(path)


def test_hostile_lengths_refused_before_allocating(tmp_path: Path) -> None:
    path = tmp_path / "huge.mwf"
    head = mfer_tag(0x01, b"\x01") + mfer_tag(0x05, b"\x08")
    path.write_bytes(head + b"\x04\x88" + b"\xff" * 8 + b"\x00" * 64)
    with pytest.raises(CorruptFileError, match="claims"):
        read(path)
    nested = tmp_path / "nested.mwf"
    nested.write_bytes(head + b"\x3f\x00\x05\x3f\x00\x02\x09\x01" + b"\x80")
    with pytest.raises(CorruptFileError):
        read(nested)


@pytest.mark.parametrize("order", ["<", ">"])
def test_matches_ecgdatakit(tmp_path: Path, order: str) -> None:
    """ecgdatakit's MFER parser, an independent reading of the standard, as the reference."""
    pytest.importorskip("ecgdatakit")
    from ecgdatakit.parsing.parser import FileParser

    uv = _eight_uv(1.0)
    path = tmp_path / "ref.mwf"
    path.write_bytes(build_mfer(uv, EIGHT, order=order, resolution_nv=4880))
    rec = read(path)
    ref = FileParser().parse(path)
    assert [lead.label for lead in ref.leads] == EIGHT_NAMES
    for lead in ref.leads:
        np.testing.assert_allclose(rec.signal[rec.lead_index(lead.label)], lead.samples, atol=1e-6)
