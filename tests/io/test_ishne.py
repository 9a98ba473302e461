"""ISHNE Holter: the real recording in ../shared/fixtures/cart/ishne (with its .ann), checked
against ecgdatakit's reader and a plain numpy decode; the paged path equals the whole read."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from ecgviewer.errors import CorruptFileError, FileAccessError, UnknownFormatError
from ecgviewer.io import read, reader_for
from ecgviewer.io.ishne import IshnePagedSignal
from ecgviewer.record import STANDARD_LEADS

from ..conftest import FIXTURES

ISHNE = FIXTURES / "cart" / "ishne"


@pytest.fixture
def ecg_path() -> Path:
    path = ISHNE / "ECG_P28.01.ecg"
    if not path.is_file():
        pytest.skip(f"fixture {path} not found")
    return path


def test_ishne_matches_ecgdatakit_and_plain_decode(ecg_path):
    from ecgdatakit.parsing.parser import FileParser

    assert reader_for(ecg_path).name == "ishne"
    rec = read(ecg_path)
    assert rec.format == "ishne" and rec.fs == 1000 and rec.n_samples == 95573
    assert rec.leads == list(STANDARD_LEADS)
    assert rec.start.isoformat() == "2000-01-01T07:00:00"
    assert rec.patient.id == "ECG_P28.01"
    ref = FileParser().parse(ecg_path)
    worst = max(
        float(np.abs(rec.signal[rec.lead_index(lead.label)] - lead.samples).max())
        for lead in ref.leads
    )
    assert worst < 0.01
    raw = np.fromfile(ecg_path, "<i2", offset=522).reshape(-1, 12).T
    np.testing.assert_allclose(rec.signal, raw * 5000e-6, atol=1e-6)  # 5000 nV per bit


def test_ishne_beat_annotations(ecg_path):
    rec = read(ecg_path)
    assert len(rec.annotations) == 97
    assert rec.annotations[0].onset == pytest.approx(0.804) and rec.annotations[0].text == "N"
    assert sum(a.text == "artefact" for a in rec.annotations) == 10
    # The annotation file opens the recording beside it.
    assert read(ecg_path.with_suffix(".ann")).n_samples == rec.n_samples


def test_ishne_paged_equals_whole(ecg_path):
    whole = read(ecg_path)
    paged = read(ecg_path, whole_load_values=0)
    assert isinstance(paged.signal, IshnePagedSignal)
    np.testing.assert_array_equal(paged.signal[:, 40000:41000], whole.signal[:, 40000:41000])
    np.testing.assert_array_equal(paged.signal[3, 5:9], whole.signal[3, 5:9])
    np.testing.assert_array_equal(np.asarray(paged.signal), whole.signal)
    assert paged.slice(10, 12).n_samples == 2000


def _copy(ecg_path: Path, tmp_path: Path, edit=None, cut: int | None = None) -> Path:
    data = bytearray(ecg_path.read_bytes())
    if edit:
        edit(data)
    out = tmp_path / "rec.ecg"
    out.write_bytes(bytes(data[:cut] if cut else data))
    return out


def test_header_crc_and_truncation_are_checked(ecg_path, tmp_path):
    def bad_rate(data):  # sampling rate field, without fixing the CRC
        data[10 + 262 : 10 + 264] = struct.pack("<h", 500)

    rec = read(_copy(ecg_path, tmp_path, bad_rate))  # opens, but says the header is unverified
    assert rec.fs == 500 and any("CRC 0xe212 does not match" in n for n in rec.notes)

    def no_crc(data):
        data[8:10] = b"\x00\x00"

    assert any("no CRC" in n for n in read(_copy(ecg_path, tmp_path, no_crc)).notes)
    assert not any("CRC" in n for n in read(ecg_path).notes)

    def bad_resolution(data):  # a damaged field still fails its plausibility check
        data[10 + 196 : 10 + 198] = struct.pack("<h", -5)

    with pytest.raises(CorruptFileError, match="resolution -5 nV"):
        read(_copy(ecg_path, tmp_path, bad_resolution))
    # Cut short (a copy interrupted): what is there is read, with a note saying so ...
    short = read(_copy(ecg_path, tmp_path, cut=100_000))
    have = (100_000 - 522) // (2 * 12)
    assert short.signal.shape == (12, have)
    np.testing.assert_array_equal(short.signal, read(ecg_path).signal[:, :have])
    assert any(f"holds {have} of the 95573 samples" in n for n in short.notes)
    # ... but under a second of it is refused.
    with pytest.raises(CorruptFileError, match="truncated"):
        read(_copy(ecg_path, tmp_path, cut=522 + 24 * 500))


def test_damaged_annotation_file_is_a_note(ecg_path, tmp_path):
    out = _copy(ecg_path, tmp_path)
    (tmp_path / "rec.ann").write_bytes(b"ANN  1.0" + b"\x01" * 100)
    rec = read(out)
    assert rec.annotations == [] and any("beat annotations not read" in n for n in rec.notes)
    (tmp_path / "rec.ecg").unlink()
    with pytest.raises(FileAccessError, match="not beside it"):
        read(tmp_path / "rec.ann")


def test_open_dialog_offers_the_cart_extensions():
    from ecgviewer.io import supported_extensions

    exts = supported_extensions()
    assert {".ecg", ".ann", ".dcm", ".xml"} <= set(exts)


def test_a_contec_raw_ecg_file_is_named(tmp_path):
    """Contec ECG90A carts write raw ``.ECG`` files (not ISHNE) that start like a public one:
    the message says what it is and how to get a file that is read."""
    path = tmp_path / "0000037.ECG"
    path.write_bytes(b"0000037\x00\x00\x002020-11-15 12:59:50\x00\x00\x00Niccolo\x00" + bytes(600))
    with pytest.raises(UnknownFormatError, match="Contec ECG90A raw file.*EDF or SCP-ECG"):
        read(path)
