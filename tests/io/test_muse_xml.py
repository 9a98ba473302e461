"""GE MUSE XML: the two real exports in ../shared/fixtures/cart/ge_muse, checked against
ecgdatakit's reader and against a plain base64 decode written here."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from ecgviewer.errors import CorruptFileError, ECGError, NoECGChannelsError
from ecgviewer.io import read, reader_for
from ecgviewer.record import STANDARD_LEADS

from ..conftest import FIXTURES

MUSE = FIXTURES / "cart" / "ge_muse"
FILES = ["intro_ecg_MUSE_20200923_example.xml", "braveheart_example1.xml"]


def _path(name: str) -> Path:
    path = MUSE / name
    if not path.is_file():
        pytest.skip(f"fixture {path} not found")
    return path


def _plain_decode(path: Path, kind: str = "Rhythm") -> dict[str, np.ndarray]:
    """Independent decode: base64 -> int16 -> x units-per-bit uV -> mV."""
    root = ET.parse(path).getroot()
    for wf in root.iter("Waveform"):
        if wf.findtext("WaveformType") == kind:
            return {
                ld.findtext("LeadID"): np.frombuffer(
                    base64.b64decode(ld.findtext("WaveFormData")), "<i2"
                )
                * float(ld.findtext("LeadAmplitudeUnitsPerBit"))
                / 1000
                for ld in wf.iter("LeadData")
            }
    raise AssertionError(kind)


@pytest.mark.parametrize("name", FILES)
def test_muse_matches_ecgdatakit_and_a_plain_decode(name):
    from ecgdatakit.parsing.parser import FileParser

    path = _path(name)
    assert reader_for(path).name == "muse_xml"
    rec = read(path)
    assert rec.format == "muse_xml" and rec.fs == 500 and rec.n_samples == 5000
    assert rec.leads == list(STANDARD_LEADS)
    assert rec.derived_leads == ("III", "aVR", "aVL", "aVF")
    ref = FileParser().parse(path)
    worst = 0.0
    for lead in ref.leads:
        assert lead.units == "mV"
        worst = max(
            worst, float(np.abs(rec.signal[rec.lead_index(lead.label)] - lead.samples).max())
        )
    assert worst < 0.01
    plain = _plain_decode(path)
    assert set(plain) == {"I", "II", "V1", "V2", "V3", "V4", "V5", "V6"}
    for lead, samples in plain.items():
        np.testing.assert_allclose(rec.signal[rec.lead_index(lead)], samples, atol=1e-4)
    i, ii = plain["I"], plain["II"]
    for lead, expected in {
        "III": ii - i,
        "aVR": -(i + ii) / 2,
        "aVL": i - ii / 2,
        "aVF": ii - i / 2,
    }.items():
        np.testing.assert_allclose(rec.signal[rec.lead_index(lead)], expected, atol=1e-4)


def test_muse_metadata_cart_and_median_beats():
    path = _path(FILES[0])
    rec = read(path)
    assert rec.patient.id == "201700237" and rec.patient.age == 40 and rec.patient.sex == "M"
    assert rec.start.isoformat() == "2020-09-22T09:03:32"
    assert "MAC55" in rec.device and "9.0.10.18530" in rec.device
    cart = rec.cart
    assert cart.measurements["heart_rate"] == 56 and cart.measurements["pr"] == 330
    assert cart.measurements["qrs"] == 94 and cart.measurements["qt"] == 434
    assert cart.measurements["qtc"] == 418 and cart.measurements["qrs_axis"] == -22
    assert cart.measurements["p_duration"] == pytest.approx((95 - 46) * 2.0)  # samples at 500 Hz
    assert cart.statements[0] == (
        "Sinus bradycardia with sinus arrhythmia with 1st degree A-V block"
    )
    assert cart.statements[1] == "Otherwise normal ECG"
    assert cart.median_beats.shape == (12, 600) and cart.median_fs == 500
    plain = _plain_decode(path, "Median")
    np.testing.assert_allclose(
        cart.median_beats[cart.median_leads.index("V2")], plain["V2"], atol=1e-4
    )
    # QRS times fall on the cart's beats: 9 beats, first at 806 ms.
    assert [a.text for a in rec.annotations] == ["QRS"] * 9
    assert rec.annotations[0].onset == pytest.approx(0.806)


def _edit(tmp_path: Path, old: bytes, new: bytes, count: int = 1) -> Path:
    data = _path(FILES[1]).read_bytes()
    assert old in data
    out = tmp_path / "muse.xml"
    out.write_bytes(data.replace(old, new, count))
    return out


def test_damaged_waveform_fails_its_crc(tmp_path):
    data = _path(FILES[1]).read_bytes()
    at = data.index(b"<WaveFormData>", data.index(b"Rhythm")) + 40
    flipped = data[:at] + (b"B" if data[at : at + 1] != b"B" else b"C") + data[at + 1 :]
    path = tmp_path / "muse.xml"
    path.write_bytes(flipped)
    with pytest.raises(CorruptFileError, match="CRC-32"):
        read(path)


def test_unknown_unit_and_missing_rhythm_are_clear(tmp_path):
    with pytest.raises(CorruptFileError, match="amplitude unit 'FURLONGS'"):
        read(_edit(tmp_path, b"MICROVOLTS", b"FURLONGS", -1))
    with pytest.raises(NoECGChannelsError, match="no rhythm waveform"):
        read(_edit(tmp_path, b"<WaveformType>Rhythm", b"<WaveformType>Other"))


def test_truncated_xml_is_an_ecg_error(tmp_path):
    data = _path(FILES[0]).read_bytes()
    path = tmp_path / "cut.xml"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ECGError, match="cut.xml"):
        read(path)


def _as_samples(tmp_path: Path, keep_rate: bool, zero_sample_base: bool) -> Path:
    """FILES[0] rewritten as an older MUSE writes it: QRS times and GlobalRR in samples of
    the 500 Hz rhythm (2 ms each) instead of milliseconds; optionally without the
    VentricularRate and with ECGSampleBase 0."""
    root = ET.parse(_path(FILES[0])).getroot()
    qrs_times = root.find("QRSTimesTypes")
    for el in [*qrs_times.iter("Time"), qrs_times.find("GlobalRR")]:
        el.text = str(round(float(el.text) / 2))
    meas = root.find("RestingECGMeasurements")
    if not keep_rate:
        meas.remove(meas.find("VentricularRate"))
    if zero_sample_base:
        meas.find("ECGSampleBase").text = "0"
    out = tmp_path / f"muse7_{keep_rate}_{zero_sample_base}.xml"
    ET.ElementTree(root).write(out)
    return out


@pytest.mark.parametrize("keep_rate", [True, False])
def test_qrs_times_counted_in_samples_are_read_as_such(tmp_path, keep_rate):
    """MUSE 7 exports (seen: a 250 Hz one, GlobalRR 216 beside 69/min) count beat times and
    GlobalRR in rhythm samples; MUSE 9 in ms. Told apart by GlobalRR against the rate, or
    without a rate by where the beats fall."""
    ms = read(_path(FILES[0]))
    samples = read(_as_samples(tmp_path, keep_rate, zero_sample_base=True))
    assert len(samples.annotations) == len(ms.annotations) == 9
    np.testing.assert_allclose(
        [a.onset for a in samples.annotations], [a.onset for a in ms.annotations], atol=0.002
    )
    assert samples.cart.measurements["rr"] == pytest.approx(ms.cart.measurements["rr"], abs=2)
    # P onset/offset with ECGSampleBase 0: samples of the median beat (500 Hz here).
    assert samples.cart.measurements["p_duration"] == ms.cart.measurements["p_duration"]


def test_damaged_median_beats_are_skipped_and_said_so(tmp_path):
    """The rhythm is read; the median beats whose data fail their CRC are left out, and the
    record's notes say why (the cart's reading is made before the notes are taken)."""
    data = _path(FILES[1]).read_bytes()
    at = data.index(b"<WaveFormData>", data.index(b"<WaveformType>Median")) + 40
    flipped = data[:at] + (b"B" if data[at : at + 1] != b"B" else b"C") + data[at + 1 :]
    path = tmp_path / "muse.xml"
    path.write_bytes(flipped)
    rec = read(path)
    assert rec.cart is not None and rec.cart.median_beats is None
    assert any(n.startswith("median beats not read:") and "CRC-32" in n for n in rec.notes)
