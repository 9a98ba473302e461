"""DICOM ECG waveforms: the real files in ../shared/fixtures/cart/dicom, checked against
pydicom's own ``waveform_array`` and a plain numpy decode of the raw WaveformData."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pytest

from ecgviewer.errors import CorruptFileError, ECGError, InvalidSignalError, NoECGChannelsError
from ecgviewer.io import read, reader_for
from ecgviewer.io.dicom import lead_name_from_code
from ecgviewer.record import STANDARD_LEADS

from ..conftest import FIXTURES

DICOM = FIXTURES / "cart" / "dicom"
FILES = {"ecgtoolkit_Example.dcm": (500, 5000), "pydicom_waveform_ecg.dcm": (1000, 10000)}


def _path(name: str) -> Path:
    path = DICOM / name
    if not path.is_file():
        pytest.skip(f"fixture {path} not found")
    return path


def _dataset(path: Path):
    import pydicom

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(str(path))


@pytest.mark.parametrize("name", sorted(FILES))
def test_dicom_matches_pydicom(name):
    path = _path(name)
    assert reader_for(path).name == "dicom"
    rec = read(path)
    fs, n = FILES[name]
    assert rec.format == "dicom" and rec.fs == fs and rec.n_samples == n
    assert rec.leads == list(STANDARD_LEADS)
    ds = _dataset(path)
    group = ds.WaveformSequence[0]
    ref = ds.waveform_array(0).T / 1000.0  # uV -> mV (all channels are in uV here)
    assert {
        c.ChannelSensitivityUnitsSequence[0].CodeValue for c in group.ChannelDefinitionSequence
    } == {"uV"}
    assert float(np.abs(rec.signal - ref).max()) < 0.01
    # A plain decode of the interleaved int16 data, with the sensitivities.
    raw = np.frombuffer(group.WaveformData, "<i2").reshape(n, 12).T
    sens = np.array([float(c.ChannelSensitivity) for c in group.ChannelDefinitionSequence])
    np.testing.assert_allclose(rec.signal, raw * sens[:, None] / 1000.0, atol=1e-5)
    # The median-beat group becomes the cart's median beats.
    assert rec.cart.median_beats.shape[0] == 12
    np.testing.assert_allclose(rec.cart.median_beats, ds.waveform_array(1).T / 1000.0, atol=1e-5)


def test_dicom_metadata_and_cart():
    rec = read(_path("pydicom_waveform_ecg.dcm"))
    assert rec.patient.id == "642341" and rec.patient.sex == "F" and rec.patient.age == 42
    assert rec.start.isoformat() == "2013-01-25T10:59:19"
    assert rec.device.startswith("Mortara Instrument, Inc. el250")
    m = rec.cart.measurements
    assert (m["rr"], m["pr"], m["qrs"], m["qt"], m["qtc"]) == (982, 161, 75, 368, 370)
    assert (m["p_axis"], m["qrs_axis"], m["t_axis"]) == (74, 52, 57)
    assert rec.cart.statements == ("RITMO SINUSALE", "ECG NORMALE")


@pytest.mark.parametrize(
    "code,scheme,meaning,name",
    [
        ("5.6.3-9-1", "SCPECG", "Lead I (Einthoven)", "I"),
        ("5.6.3-9-62", "SCPECG", "Lead aVR", "aVR"),
        ("2:61", "MDC", "MDC_ECG_LEAD_III", "III"),
        ("2:10", "MDC", "", "V2R"),
        ("X-1", "99LOCAL", "Lead V4 (left)", "V4"),
    ],
)
def test_lead_names_from_source_codes(code, scheme, meaning, name):
    assert lead_name_from_code(code, scheme, meaning) == name


def test_truncated_waveform_data_is_named(tmp_path):
    ds = _dataset(_path("ecgtoolkit_Example.dcm"))
    ds.WaveformSequence[0].WaveformData = ds.WaveformSequence[0].WaveformData[:1000]
    out = tmp_path / "cut.dcm"
    ds.save_as(str(out))
    with pytest.raises(CorruptFileError, match="truncated or damaged"):
        read(out)


def test_a_channel_count_that_definitions_and_data_contradict_is_recounted(tmp_path):
    """A real export says 1 channel beside 12 channel definitions and 12 channels' bytes
    (pydicom's own decoder fails on it): read as 12, with a note; a count that the data does
    not back stays an error."""
    path = _path("ecgtoolkit_Example.dcm")
    ds = _dataset(path)
    ds.WaveformSequence[0].NumberOfWaveformChannels = 1
    out = tmp_path / "one.dcm"
    ds.save_as(str(out))
    rec, ref = read(out), read(path)
    assert rec.leads == ref.leads and np.array_equal(rec.signal, ref.signal)
    assert any("says 1 channel(s) but defines 12" in note for note in rec.notes)
    ds.WaveformSequence[0].WaveformData = ds.WaveformSequence[0].WaveformData[:-2000]
    ds.save_as(str(out))
    with pytest.raises(CorruptFileError, match="disagree"):
        read(out)


def test_dicom_without_waveform_and_non_dicom(tmp_path):
    ds = _dataset(_path("ecgtoolkit_Example.dcm"))
    del ds.WaveformSequence
    out = tmp_path / "empty.dcm"
    ds.save_as(str(out))
    with pytest.raises(NoECGChannelsError, match="holds no waveform"):
        read(out)
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"\x00" * 128 + b"DICM" + b"\x01\x02")
    with pytest.raises(ECGError, match="junk.dcm"):
        read(junk)


@pytest.mark.parametrize("name", sorted(FILES))
def test_long_waveform_is_paged_and_equal(name):
    from ecgviewer.io.dicom import DicomPagedSignal

    path = _path(name)
    whole = read(path)
    paged = read(path, whole_load_values=0)
    assert isinstance(paged.signal, DicomPagedSignal)
    np.testing.assert_array_equal(np.asarray(paged.signal), whole.signal)
    np.testing.assert_array_equal(paged.signal[2, 100:300], whole.signal[2, 100:300])
    assert paged.slice(1, 2).n_samples == int(whole.fs)


def test_a_damaged_uid_length_gives_a_short_printable_message_and_no_log_flood(tmp_path, caplog):
    """A SOPClassUID length of 32798 swallows the waveform into the UID: pydicom logs the
    value whole (kilobytes of binary) and the message quoted it whole (80,000 characters)."""
    data = bytearray(_path("ecgtoolkit_Example.dcm").read_bytes())
    at = data.find(b"\x08\x00\x16\x00\x1e\x00\x00\x00")  # implicit VR, length 30
    data[at + 5] = 0x80
    bad = tmp_path / "sop.dcm"
    bad.write_bytes(bytes(data))
    with caplog.at_level(logging.DEBUG), pytest.raises(ECGError) as info:
        read(bad)
    message = str(info.value)
    assert message.startswith(f"{bad}: ") and len(message) < 600 and message.isprintable()
    assert not [r for r in caplog.records if r.name.startswith("pydicom")]


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("ChannelSensitivityCorrectionFactor", "0"),
        ("ChannelSensitivity", "nan"),
        ("ChannelSensitivity", "inf"),
        ("ChannelSensitivity", "-1"),
    ],
)
def test_a_zero_negative_or_non_finite_scale_is_refused(tmp_path, keyword, value):
    """A correction factor of 0 flat-lined the lead; a NaN, infinite or negative sensitivity
    was silently taken as 1."""
    ds = _dataset(_path("ecgtoolkit_Example.dcm"))
    channel = ds.WaveformSequence[0].ChannelDefinitionSequence[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        setattr(channel, keyword, value)
    out = tmp_path / "scale.dcm"
    ds.save_as(str(out))
    with pytest.raises(InvalidSignalError, match=rf"channel I: .* {value} is not a positive"):
        read(out)


def test_a_sample_count_below_what_the_file_holds_is_noted(tmp_path):
    """NumberOfWaveformSamples 1 in a file holding 5000 gave a silent 1-sample record."""
    ds = _dataset(_path("ecgtoolkit_Example.dcm"))
    ds.WaveformSequence[0].NumberOfWaveformSamples = 1000
    out = tmp_path / "short.dcm"
    ds.save_as(str(out))
    rec = read(out)
    assert rec.n_samples == 1000
    assert any(
        "holds 5,000 samples per channel but its header declares 1,000" in n for n in rec.notes
    )
    assert not any("holds" in n for n in read(_path("ecgtoolkit_Example.dcm")).notes)


def test_cart_intervals_in_seconds_become_ms(tmp_path):
    from pydicom.dataset import Dataset

    from tests.io._writers import LEADS_12, synthetic_12lead, write_dicom_ecg

    path = write_dicom_ecg(
        tmp_path / "x.dcm",
        synthetic_12lead(500.0, 2.0),
        500.0,
        LEADS_12,
        events=[(0.5, 0.0, "event A")],
    )
    ds = _dataset(path)
    for meaning, value, unit in (("QT Interval", 0.412, "s"), ("QRS Axis", 30, "deg")):
        ann = Dataset()
        name = Dataset()
        name.CodeValue, name.CodingSchemeDesignator, name.CodeMeaning = "x", "SCPECG", meaning
        ann.ConceptNameCodeSequence = [name]
        ann.NumericValue = value
        units = Dataset()
        units.CodeValue, units.CodingSchemeDesignator = unit, "UCUM"
        ann.MeasurementUnitsCodeSequence = [units]
        ann.ReferencedWaveformChannels = [1, 0]
        ds.WaveformAnnotationSequence.append(ann)
    ds.save_as(str(path))
    rec = read(path)
    assert rec.cart.measurements == {"qt": pytest.approx(412.0), "qrs_axis": 30.0}
    assert [(a.onset, a.text) for a in rec.annotations] == [(0.5, "event A")]


def test_cart_measurements_are_named_by_their_code_before_their_label(tmp_path):
    """An ECG Toolkit conversion labels its T axis (SCPECG 5.10.3-15) "QRS Axis": read by the
    label, the T axis was dropped as a second QRS axis; a label in other words ("Frequenz")
    with a LOINC code is read too. Unknown codes still go by their label."""
    from pydicom.dataset import Dataset

    from tests.io._writers import LEADS_12, synthetic_12lead, write_dicom_ecg

    path = write_dicom_ecg(tmp_path / "x.dcm", synthetic_12lead(500.0, 2.0), 500.0, LEADS_12)
    ds = _dataset(path)
    for scheme, code, meaning, value in (
        ("SCPECG", "5.10.3-13", "QRS Axis", -61),
        ("SCPECG", "5.10.3-15", "QRS Axis", 86),
        ("LN", "8867-4", "Frequenz", 72),
        ("99LOCAL", "x1", "PR Interval", 148),
    ):
        ann, name = Dataset(), Dataset()
        name.CodeValue, name.CodingSchemeDesignator, name.CodeMeaning = code, scheme, meaning
        ann.ConceptNameCodeSequence = [name]
        ann.NumericValue = value
        ann.ReferencedWaveformChannels = [1, 0]
        ds.WaveformAnnotationSequence = [*(ds.get("WaveformAnnotationSequence") or []), ann]
    ds.Manufacturer, ds.ManufacturerModelName = "Unknown", "ELI250"
    ds.save_as(str(path))
    rec = read(path)
    assert rec.cart.measurements == {"qrs_axis": -61, "t_axis": 86, "heart_rate": 72, "pr": 148}
    assert rec.device == "ELI250"  # a converter's "Unknown" manufacturer is no name


def test_a_code_meaning_of_parentheses_is_read_in_linear_time() -> None:
    """Parenthesised remarks are dropped (the first ")" after each "(" on a line) without the
    quadratic backtracking a lazy pattern has on a long run of "(" (hostile file)."""
    import time

    assert lead_name_from_code("x", "99LOCAL", "Lead II (calculated) ") == "II"
    t0 = time.perf_counter()
    lead_name_from_code("x", "99LOCAL", "(" * 200_000 + "V1")
    assert time.perf_counter() - t0 < 0.5


def test_a_file_that_is_not_dicom_says_so_without_pydicoms_advice(tmp_path):
    path = tmp_path / "noise.dcm"
    path.write_bytes(bytes(range(256)) * 12)
    with pytest.raises(CorruptFileError) as info:
        read(path)
    assert "not a valid DICOM file" in str(info.value)
    assert "force" not in str(info.value)  # pydicom's "Use force=True" is for programmers


def test_odd_patient_names_and_annotation_items_do_not_reach_the_reader(tmp_path):
    """A hostile sweep: two names read "[Doe, Jane, Roe Rick]", a name stored as bytes
    "b'\\x00\\xff...'", and one annotation whose code sequence was written as bytes refused
    the whole file with "AttributeError: 'int' object has no attribute 'get'"."""
    from pydicom.dataset import Dataset

    from tests.io._writers import LEADS_12, synthetic_12lead, write_dicom_ecg

    path = write_dicom_ecg(tmp_path / "x.dcm", synthetic_12lead(500.0, 2.0), 500.0, LEADS_12)
    ds = _dataset(path)
    ds.PatientName = ["Doe^Jane", "Roe^Rick"]
    bad = Dataset()
    bad.add_new(0x0040A043, "OB", b"\x01\x02\x03")
    bad.NumericValue = 5
    ds.WaveformAnnotationSequence = [*(ds.get("WaveformAnnotationSequence") or []), bad]
    ds.save_as(str(path))
    rec = read(path)
    assert rec.patient.name == "Doe, Jane"
    ds = _dataset(path)
    ds.add_new(0x00100010, "OB", b"\x00\xff" * 10)
    ds.save_as(str(path))
    assert read(path).patient.name is None


def test_an_impossible_birth_date_gives_no_age(tmp_path):
    """PatientBirthDate 19900230 was refused as a date of birth but still gave an age."""
    from datetime import datetime

    from tests.io._writers import LEADS_12, synthetic_12lead, write_dicom_ecg

    start = datetime(2020, 6, 1, 10, 0, 0)
    path = write_dicom_ecg(
        tmp_path / "x.dcm", synthetic_12lead(500.0, 2.0), 500.0, LEADS_12, start=start
    )
    ds = _dataset(path)
    ds.PatientBirthDate = "19900230"
    ds.save_as(str(path))
    assert (read(path).patient.age, read(path).patient.birth_date) == (None, None)
    ds.PatientBirthDate = "19900228"
    ds.save_as(str(path))
    assert read(path).patient.age == 30.0
