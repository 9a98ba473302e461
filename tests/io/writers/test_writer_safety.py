"""Writers on the edges the round trips do not reach: replacing a record (all or nothing, no
stale annotation file), EDF physical fields that need all 8 characters, the last data record's
padding, WFDB record names, control characters in texts, and an aECG too large to read back."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

import numpy as np
import pytest

from ecgviewer import io as ecg_io
from ecgviewer.errors import ECGError, FileAccessError, FileTooLargeError
from ecgviewer.io import writers
from ecgviewer.io._hl7 import MAX_XML_BYTES
from ecgviewer.io.writers import aecg_writer, edf_writer, write
from ecgviewer.record import Annotation, Patient, Record


def _record(n_leads: int = 2, n: int = 5000, fs: float = 500.0, **kw) -> Record:
    rng = np.random.default_rng(1)
    t = np.arange(n) / fs
    sig = np.sin(2 * np.pi * 1.2 * t)[None, :] * rng.uniform(0.3, 1.5, (n_leads, 1))
    sig = sig + rng.normal(0, 0.05, (n_leads, n))
    return Record(sig.astype(np.float32), fs, ["I", "II", "V1", "V2"][:n_leads], **kw)


def _annotated() -> Record:
    return _record(annotations=[Annotation(0.5 + k, 0.0, "N") for k in range(8)])


# 1. Replacing a record ------------------------------------------------------------------------


def test_replacing_a_wfdb_record_removes_its_old_annotations(tmp_path):
    write(_annotated(), tmp_path / "x.hea")
    (tmp_path / "x.qrs").write_bytes((tmp_path / "x.atr").read_bytes())  # another annotator
    assert len(ecg_io.read(tmp_path / "x.hea").annotations) == 16
    result = write(_record(), tmp_path / "x.hea", overwrite=True)
    assert not (tmp_path / "x.atr").exists() and not (tmp_path / "x.qrs").exists()
    assert ecg_io.read(tmp_path / "x.hea").annotations == []
    assert any("x.atr of the replaced record removed" in n for n in result.notes)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.dat", "x.hea"]


def test_an_annotation_file_of_another_annotator_is_not_overwritten_silently(tmp_path):
    (tmp_path / "x.qrs").write_bytes(b"foreign")
    with pytest.raises(FileAccessError, match=r"x\.qrs: already exists"):
        write(_record(), tmp_path / "x.hea")
    assert (tmp_path / "x.qrs").read_bytes() == b"foreign"


@pytest.mark.parametrize("ext", [".hea", ".edf", ".xml"])
def test_a_failed_overwrite_leaves_the_old_files_as_they_were(tmp_path, monkeypatch, ext):
    write(_annotated(), tmp_path / f"x{ext}")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    # Fails after part of the samples were written (edflib, wfdb and the aECG stream have
    # all opened their files by then; the lead ranges are measured before, unpatched).
    monkeypatch.setattr(writers, "CHUNK_VALUES", 2000)
    real_chunks = writers.chunks

    def failing_chunks(record, multiple=1):
        for k, item in enumerate(real_chunks(record, multiple)):
            if k == 2:
                raise OSError(28, "No space left on device")
            yield item

    from ecgviewer.io.writers import wfdb_writer

    for module in (wfdb_writer, edf_writer, aecg_writer):
        monkeypatch.setattr(module, "chunks", failing_chunks)
    with pytest.raises(FileAccessError, match="No space left"):
        write(_record(n=6000), tmp_path / f"x{ext}", overwrite=True)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no temporaries


def test_a_cancelled_write_leaves_nothing(tmp_path):
    gen = writers.iter_write(_record(), tmp_path / "x.edf")
    next(gen)
    next(gen)
    gen.close()  # the Worker's cancel
    assert list(tmp_path.iterdir()) == []


def test_an_error_from_the_format_names_the_target_not_the_temporary(tmp_path, monkeypatch):
    monkeypatch.setattr(aecg_writer, "MAX_XML_BYTES", 1000)  # refused from the estimate
    with pytest.raises(FileTooLargeError) as info:
        write(_record(), tmp_path / "x.xml")
    assert info.value.path == str(tmp_path / "x.xml")


# 3. EDF physical fields -----------------------------------------------------------------------


@pytest.mark.parametrize("offset", [123456.7, 142407.3, -99999.0, 1234.5678])
def test_edf_samples_use_the_physical_range_written_in_the_header(tmp_path, offset):
    import pyedflib

    rec = _record()
    rec = Record(np.asarray(rec.signal) * 100 + np.float32(offset), rec.fs, ["ABP", "II"])
    write(rec, tmp_path / "x.edf")
    with pyedflib.EdfReader(str(tmp_path / "x.edf")) as edf:
        for k in range(2):
            head = edf.getSignalHeader(k)
            step = (head["physical_max"] - head["physical_min"]) / 65535
            error = np.abs(edf.readSignal(k) - np.asarray(rec.signal[k], np.float64)).max()
            assert error <= 0.5 * step * 1.001, (k, error / step)
    raw = (tmp_path / "x.edf").read_bytes()
    ns = int(raw[252:256])
    at = 256 + (16 + 80 + 8) * ns
    for k in range(2):  # every lead inside its declared range
        low = float(raw[at + 8 * k : at + 8 * k + 8])
        high = float(raw[at + 8 * ns + 8 * k : at + 8 * ns + 8 * k + 8])
        assert low <= float(np.min(rec.signal[k])) and float(np.max(rec.signal[k])) <= high


def test_edf_field_text_is_rounded_outward_to_eight_characters():
    assert edf_writer._field(142407.25, True) == "142407.3"
    assert edf_writer._field(142407.25, False) == "142407.2"
    assert edf_writer._field(-99999.01, False) == "-99999.1"
    assert edf_writer._field(1.2344, True) == "1.235"
    assert edf_writer._field(-0.0004, True) == "0.000"
    with pytest.raises(ECGError, match="does not fit"):
        edf_writer._field(-123456789.0, False)


# 7. EDF padding -------------------------------------------------------------------------------


def test_edf_pads_the_last_data_record_with_the_last_value(tmp_path):
    sig = np.full((1, 1250), 5.5, np.float32)  # 2.5 s at 500 Hz: 1 s records, 0.5 s padded
    sig[0, :10] = 6.0  # a range of 5-6 mV: 0 mV is outside it
    sig[0, 10:20] = 5.0
    result = write(Record(sig, 500.0, ["II"]), tmp_path / "x.edf")
    back = ecg_io.read(tmp_path / "x.edf")
    assert back.n_samples == 1500
    np.testing.assert_allclose(np.asarray(back.signal)[0, 1250:], 5.5, atol=1e-3)
    assert any("padded with 250 samples" in n for n in result.notes)


# 4. WFDB record names -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pt.2021.hea", "my ecg.hea", "ékg.hea", "ECG_P28.01.hea"])
def test_an_invalid_wfdb_record_name_is_refused(tmp_path, name):
    with pytest.raises(ECGError, match="not a valid WFDB record name: use only the letters"):
        write(_record(), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_valid_wfdb_record_names_are_written(tmp_path):
    for name in ("ECG_P28-01", "100"):
        result = write(_record(), tmp_path / f"{name}.hea")
        assert ecg_io.read(result.paths[0]).leads == ["I", "II"]


def test_the_cli_refuses_an_invalid_wfdb_name_without_a_traceback(tmp_path):
    src = tmp_path / "in.edf"
    write(_record(), src)
    run = subprocess.run(
        [sys.executable, "-m", "ecgviewer.cli", "convert", str(src), str(tmp_path / "a.b.hea")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr
    assert "not a valid WFDB record name" in run.stderr
    assert "Traceback" not in run.stderr and "ValueError" not in run.stderr


# 5. Control characters ------------------------------------------------------------------------

DIRTY = ["(N\x0c\x05 aux", "tab\there", "line1\nline2", "cr\r\nlf"]


@pytest.mark.parametrize("ext", [".hea", ".xml"])
def test_control_characters_in_texts_are_cleaned(tmp_path, ext):
    rec = _record(
        annotations=[Annotation(1.0 + k, 0.0, t) for k, t in enumerate(DIRTY)],
        patient=Patient("id\x07 7\n"),
        device="cart\x0b 1",
        start=datetime(2021, 3, 4, 5, 6, 7),
    )
    result = write(rec, tmp_path / f"x{ext}")
    back = ecg_io.read(result.paths[0])
    assert sorted(a.text for a in back.annotations) == sorted(
        ["(N aux", "tab here", "line1 line2", "cr lf"]
    )
    assert back.patient.id == "id 7"
    assert back.device == "cart 1"
    assert any("control characters" in n for n in result.notes)


def test_control_characters_in_aecg_lead_names_are_cleaned(tmp_path):
    rec = _record()
    rec = Record(np.asarray(rec.signal), rec.fs, ["ECG\x011", "ECG\t2"])
    back = ecg_io.read(write(rec, tmp_path / "x.xml").paths[0])
    assert back.n_leads == 2 and all(lead.isprintable() for lead in back.leads)


def test_ordinary_texts_give_no_note(tmp_path):
    rec = _record(annotations=[Annotation(1.0, 0.0, "Ünïcödé é")], patient=Patient("AB 12"))
    for ext in (".hea", ".xml"):
        result = write(rec, tmp_path / f"x{ext}")
        assert not any("control" in n for n in result.notes)
        assert [a.text for a in ecg_io.read(result.paths[0]).annotations] == ["Ünïcödé é"]


# 6. Long aECG ---------------------------------------------------------------------------------


class _ConstantPages:
    """A PagedSignal of constant values: a Holter's size without its memory."""

    dtype = np.dtype(np.float32)

    def __init__(self, n_leads: int, n: int) -> None:
        self.shape = (n_leads, n)

    def __getitem__(self, key):
        rows, cols = key
        n = len(range(*cols.indices(self.shape[1])))
        return np.full((self.shape[0], n), 1.234, np.float32)[rows]

    def __array__(self, dtype=None, copy=None):
        raise AssertionError("the whole signal was loaded")


def test_an_aecg_over_the_readers_limit_is_refused_before_writing(tmp_path, monkeypatch):
    """24 h x 3 leads at 200 Hz (a Holter, 249 MB as aECG): refused from the estimate."""
    rec = Record(_ConstantPages(3, 200 * 86400), 200.0, ["I", "II", "V1"])

    def no_pages(record, multiple=1):
        raise AssertionError("the samples were written")

    monkeypatch.setattr(aecg_writer, "chunks", no_pages)
    with pytest.raises(FileTooLargeError, match=r"over the 64 MB limit.*EDF\+ or WFDB"):
        write(rec, tmp_path / "h.xml")
    assert list(tmp_path.iterdir()) == []


def test_an_aecg_passing_the_limit_while_written_stops(tmp_path, monkeypatch):
    monkeypatch.setattr(aecg_writer, "MAX_XML_BYTES", 40_000)
    monkeypatch.setattr(aecg_writer, "_estimated_bytes", lambda record, leads: 0.0)
    monkeypatch.setattr(writers, "CHUNK_VALUES", 4000)
    with pytest.raises(FileTooLargeError, match=r"over the 0 MB limit.*EDF\+ or WFDB"):
        write(_record(n=20_000), tmp_path / "x.xml")
    assert list(tmp_path.iterdir()) == []


def test_the_aecg_estimate_is_close_and_uses_the_readers_limit():
    rec = _record(n=20_000)
    digits = np.round(np.asarray(rec.signal, np.float64) * 1000).astype(np.int64)
    exact = sum(len(str(v)) + 1 for v in digits.ravel().tolist())
    assert abs(aecg_writer._estimated_bytes(rec, [0, 1]) - exact) < 0.05 * exact
    assert aecg_writer.MAX_XML_BYTES == MAX_XML_BYTES
