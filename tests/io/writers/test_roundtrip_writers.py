"""Every reader x every writer on the real fixtures: read a file, write it as WFDB, EDF+ and
HL7 aECG, read that back, and compare with the first reading: same lead names, rate, length,
samples within the output format's resolution, start, the patient fields the format holds,
and the annotation texts and times."""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer import io as ecg_io
from ecgviewer.errors import ECGError, FileAccessError
from ecgviewer.io import writers
from ecgviewer.io.writers import ascii_text, write

from ...conftest import FIXTURES

SOURCES = {
    "ge_muse": "cart/ge_muse/intro_ecg_MUSE_20200923_example.xml",
    "ge_muse_no_patient": "cart/ge_muse/braveheart_example1.xml",
    "dicom": "cart/dicom/pydicom_waveform_ecg.dcm",
    "dicom_toolkit": "cart/dicom/ecgtoolkit_Example.dcm",
    "ishne": "cart/ishne/ECG_P28.01.ecg",
    "wfdb": "wfdb/s0010_re.hea",
    "edf": "edf/contec_ecg90a_0000050.edf",
    "hl7aecg": "hl7aecg/hl7_example_mortara_eli250.xml",
    "scp_ecg": "other/ecgtoolkit_Example.scp",
    "sierra_xml": "cart/philips_sierra/pysierraecg_1-04-01_2020-5-18.xml",
}
OUTPUTS = {"wfdb": "out.hea", "edf": "out.edf", "hl7aecg": "out.xml"}


def _quantum(fmt: str, original: np.ndarray) -> np.ndarray:
    """Largest rounding error per lead (mV) of each output format."""
    if fmt == "edf":  # each lead's own range over 65535 steps, ranges rounded out to 1 uV
        span = (
            np.ceil(original.max(axis=1) * 1000) / 1000
            - np.floor(original.min(axis=1) * 1000) / 1000
        )
        return np.maximum(span, 0.002) / 65535 + 1e-6
    return np.full(original.shape[0], 0.0005 + 1e-6)  # 1 uV steps (WFDB gain 1000, aECG 1 uV)


@pytest.mark.parametrize("fmt", sorted(OUTPUTS))
@pytest.mark.parametrize("source", sorted(SOURCES))
def test_reader_x_writer_round_trip(source, fmt, tmp_path, monkeypatch):
    src = FIXTURES / SOURCES[source]
    if not src.is_file():
        pytest.skip(f"fixture {src} not found")
    monkeypatch.setattr(writers, "CHUNK_VALUES", 60_000)  # several chunks per file
    rec = ecg_io.read(src)
    result = write(rec, tmp_path / OUTPUTS[fmt], fmt)
    back = ecg_io.read(result.paths[0])
    kept = [lead for lead in rec.leads if not (fmt == "hl7aecg" and lead in rec.non_ecg)]
    assert back.leads == kept
    assert back.fs == rec.fs
    n = rec.n_samples
    # EDF+ pads the last data record (under 1 s for recordings this short) with its last value
    assert back.n_samples == n or (fmt == "edf" and 0 < back.n_samples - n < back.fs)
    original = np.asarray(rec.signal)[[rec.leads.index(lead) for lead in kept]]
    got = np.asarray(back.signal)[:, :n]
    error = np.abs(got - original).max(axis=1)
    assert (error <= _quantum(fmt, original)).all(), dict(zip(kept, error, strict=True))
    assert float(error.max()) < 0.01
    if rec.start is not None:
        assert abs((back.start - rec.start).total_seconds()) < 0.001
    else:  # no time invented
        assert back.start is None
    # EDF+ writes spaces as "_" and readers take "_" back as spaces
    assert back.patient.id == (
        rec.patient.id.replace("_", " ") if fmt == "edf" and rec.patient.id else rec.patient.id
    )
    if rec.device and fmt != "edf":  # EDF+'s equipment field is short (cut to 40)
        assert back.device == rec.device
    assert back.patient.sex == rec.patient.sex
    if fmt != "edf":
        assert back.patient.age == rec.patient.age
    # Name and date of birth travel too (EDF+ and WFDB headers in ASCII).
    ascii_only = fmt in ("edf", "wfdb") and rec.patient.name
    assert back.patient.name == (ascii_text(rec.patient.name) if ascii_only else rec.patient.name)
    assert back.patient.birth_date == rec.patient.birth_date
    texts = [a.text for a in rec.annotations if a.onset * rec.fs < n]
    back_texts = [a.text for a in back.annotations if "gap" not in a.text]
    if fmt == "edf":
        texts = [t.encode()[:40].decode("utf-8", "ignore") for t in texts]
    assert sorted(back_texts) == sorted(texts)
    onsets = sorted(a.onset for a in rec.annotations if a.onset * rec.fs < n)
    back_onsets = sorted(a.onset for a in back.annotations if "gap" not in a.text)
    np.testing.assert_allclose(back_onsets, onsets, atol=1.0 / rec.fs + 0.001)


def test_paged_input_is_written_chunk_by_chunk(tmp_path, monkeypatch):
    src = FIXTURES / SOURCES["ishne"]
    if not src.is_file():
        pytest.skip("ISHNE fixture not found")
    monkeypatch.setattr(writers, "CHUNK_VALUES", 100_000)
    rec = ecg_io.read(src, whole_load_values=0)
    assert not isinstance(rec.signal, np.ndarray)
    back = ecg_io.read(write(rec, tmp_path / "h.hea").paths[0])
    np.testing.assert_allclose(np.asarray(back.signal), np.asarray(rec.signal), atol=0.0005 + 1e-6)


def test_existing_files_and_the_source_are_never_overwritten(tmp_path):
    src = FIXTURES / SOURCES["dicom"]
    if not src.is_file():
        pytest.skip("DICOM fixture not found")
    rec = ecg_io.read(src)
    (tmp_path / "x.dat").write_bytes(b"keep me")
    with pytest.raises(FileAccessError, match="x.dat: already exists"):
        write(rec, tmp_path / "x.hea")
    assert (tmp_path / "x.dat").read_bytes() == b"keep me"
    assert not (tmp_path / "x.hea").exists()
    copy = tmp_path / "copy.edf"
    write(rec, copy)
    again = ecg_io.read(copy)
    with pytest.raises(FileAccessError, match="is the file being converted"):
        write(again, copy, overwrite=True)
    with pytest.raises(ECGError, match="give --format"):
        write(rec, tmp_path / "x.bin")


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    src = FIXTURES / SOURCES["dicom"]
    if not src.is_file():
        pytest.skip("DICOM fixture not found")
    rec = ecg_io.read(src)

    def broken(record, path):
        path.write_text("<AnnotatedECG")
        yield 0, 1, "writing"
        raise OSError(28, "No space left on device")

    from ecgviewer.io.writers import aecg_writer

    monkeypatch.setattr(aecg_writer, "iter_write", broken)
    with pytest.raises(FileAccessError, match="No space left"):
        write(rec, tmp_path / "x.xml")
    assert not (tmp_path / "x.xml").exists()


def test_outputs_read_by_other_readers(tmp_path):
    """Our files are standard, not only readable by us: wfdb reads the WFDB record, pyedflib
    the EDF+, ecgdatakit the aECG and the EDF+."""
    import pyedflib
    import wfdb
    from ecgdatakit.parsing.parser import FileParser

    src = FIXTURES / SOURCES["dicom"]
    if not src.is_file():
        pytest.skip("DICOM fixture not found")
    rec = ecg_io.read(src)
    sig = np.asarray(rec.signal)
    write(rec, tmp_path / "x.hea")
    w = wfdb.rdrecord(str(tmp_path / "x"))
    assert w.sig_name == rec.leads and w.fs == rec.fs
    assert np.abs(w.p_signal.T - sig).max() <= 0.0005 + 1e-6
    write(rec, tmp_path / "x.edf")
    with pyedflib.EdfReader(str(tmp_path / "x.edf")) as edf:
        assert edf.getSignalLabels() == rec.leads
        assert np.abs(edf.readSignal(4) - sig[4]).max() < 0.001
    write(rec, tmp_path / "x.xml")
    for path in (tmp_path / "x.xml", tmp_path / "x.edf"):
        other = FileParser().parse(path)
        assert [lead.label for lead in other.leads] == rec.leads
        for lead in other.leads:
            assert lead.units == "mV"
            assert (
                np.abs(
                    np.asarray(lead.samples)[: rec.n_samples] - sig[rec.lead_index(lead.label)]
                ).max()
                < 0.001
            )
        assert other.patient.patient_id == rec.patient.id


@pytest.mark.parametrize("ext", [".hea", ".edf"])
def test_holter_lead_names_with_spaces_survive(tmp_path, ext):
    from ecgviewer.record import Record

    rec = Record(np.zeros((2, 500), np.float32), 250.0, ["lead 1 (bipolar)", "V5"])
    assert ecg_io.read(write(rec, tmp_path / f"x{ext}").paths[0]).leads == rec.leads


def test_a_name_the_ascii_formats_cannot_hold_is_said(tmp_path):
    """EDF+ and WFDB headers are ASCII: "Müller" is written "Muller", a name in another
    script is left out, and the writer says so (it was silent)."""
    from dataclasses import replace

    src = FIXTURES / SOURCES["ge_muse"]
    if not src.is_file():
        pytest.skip(f"fixture {src} not found")
    rec = ecg_io.read(src)
    for name, said in (("Müller, Anna", "written as 'Muller, Anna'"), ("李, 明", "not written")):
        named = replace(rec, patient=replace(rec.patient, name=name))
        for fmt in ("edf", "wfdb"):
            result = write(named, tmp_path / f"{fmt}{len(name)}.{OUTPUTS[fmt].split('.')[1]}", fmt)
            assert any(said in n for n in result.notes), (fmt, result.notes)
