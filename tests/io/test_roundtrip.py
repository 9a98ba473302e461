"""The one cross-format test (DESIGN "Readers"): the same synthetic 12-lead ECG, with its
start time, patient (id, age, sex, name, date of birth) and two annotations, written by each format's own library (wfdb, pyedflib,
h5py) and read back through ``ecgviewer.io.read``. Every reader must give the same Record:
leads, rate, samples within the format's quantisation, start, the patient fields the format
carries, and annotations. The expected values are the ones written, not another reader's."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from ecgviewer import io as ecg_io
from ecgviewer.record import Patient
from tests.io._writers import (
    LEADS_12,
    synthetic_12lead,
    write_dicom_ecg,
    write_edf,
    write_ishne,
    write_muse,
    write_wfdb,
)

FS = 500.0
START = datetime(2023, 6, 7, 8, 9, 10)
BIRTH = date(1961, 2, 3)
NAME = "Zürcher, Anna"  # as Patient.name shows a family and a given name
ASCII_NAME = "Zurcher, Anna"  # EDF and WFDB headers are ASCII
AGE = 62.0  # at START
EVENTS = [(1.25, 0.0, "event A"), (6.5, 0.0, "event B")]


@dataclass
class Written:
    path: Path
    quantum: float  # largest rounding error of the format, in mV
    patient: Patient  # what the format can carry (None = not stored)
    opts: dict
    annotations: bool = True  # False: the format has no place for them (SCP-ECG, Sierra)


def _wfdb(folder: Path, sig: np.ndarray) -> Written:
    import wfdb

    hea = write_wfdb(
        folder,
        "x",
        sig,
        FS,
        LEADS_12,
        gain=1000.0,
        fmt="16",
        comments=[
            f"age: {AGE:g}",
            "sex: male",
            f"patient name: {ASCII_NAME}",
            f"birth date: {BIRTH.isoformat()}",
        ],
        base_date=START.date(),
        base_time=START.time(),
    )
    wfdb.wrann(
        "x",
        "atr",
        np.array([round(o * FS) for o, _, _ in EVENTS]),
        symbol=['"'] * len(EVENTS),
        aux_note=[t for _, _, t in EVENTS],
        fs=FS,
        write_dir=str(folder),
    )
    return Written(hea, 0.5 / 1000, Patient(None, AGE, "M", ASCII_NAME, BIRTH), {})


def _edf(folder: Path, sig: np.ndarray, paged: bool = False) -> Written:
    path = write_edf(
        folder / "x.edf",
        list(sig),
        LEADS_12,
        [FS] * 12,
        phys=10.0,
        patient_code="PID-7",
        patient_name=ASCII_NAME.replace(" ", "_"),
        sex=1,
        birthdate=BIRTH,
        start=START,
        annotations=EVENTS,
    )
    return Written(
        path,
        20.0 / 65535,
        Patient("PID-7", AGE, "M", ASCII_NAME, BIRTH),
        {"whole_load_values": 0} if paged else {},
    )


def _hdf5(folder: Path, sig: np.ndarray) -> Written:
    """Written with h5py by hand, following the own layout documented in hdf5.py."""
    import h5py

    path = folder / "x.h5"
    with h5py.File(path, "w") as fh:
        fh.attrs["ecgviewer_layout"] = 1
        grp = fh.create_group("ecgs").create_group("one")
        grp.create_dataset("signal", data=sig.astype(np.float32))
        grp.attrs["fs"] = FS
        grp.attrs["leads"] = LEADS_12
        grp.attrs["start"] = START.isoformat()
        grp.attrs["patient_id"] = "PID-7"
        grp.attrs["age"] = AGE
        grp.attrs["sex"] = "M"
        grp.attrs["patient_name"] = NAME
        grp.attrs["birth_date"] = BIRTH.isoformat()
        dt = np.dtype(
            [
                ("onset", "f8"),
                ("duration", "f8"),
                ("text", h5py.string_dtype()),
                ("lead", h5py.string_dtype()),
            ]
        )
        grp.create_dataset(
            "annotations", data=np.array([(o, d, t, "") for o, d, t in EVENTS], dtype=dt)
        )
    return Written(path, 1e-6, Patient("PID-7", AGE, "M", NAME, BIRTH), {})


_HAS_HDF5 = importlib.util.find_spec("ecgviewer.io.hdf5") is not None


def _scp(folder: Path, sig: np.ndarray) -> Written:
    """Written by the test SCP encoder (default Huffman, second differences, AVM 1 uV)."""
    import struct

    from tests.io._scp_writer import ScpSpec, build_scp, tag

    units = np.round(sig * 1000).astype(np.int64)
    s1 = (
        tag(0, "Zürcher\x00".encode("latin-1"))
        + tag(1, b"Anna\x00")
        + tag(2, b"PID-7\x00")
        + tag(5, struct.pack("<HBB", BIRTH.year, BIRTH.month, BIRTH.day))
        + tag(4, struct.pack("<HB", int(AGE), 1))
        + tag(8, b"\x01")
        + tag(25, struct.pack("<HBB", START.year, START.month, START.day))
        + tag(26, bytes([START.hour, START.minute, START.second]))
        + tag(255, b"")
    )
    spec = ScpSpec(
        leads=dict(zip(LEADS_12, units, strict=True)),
        avm=1000,
        interval_us=int(1e6 / FS),
        huffman="default",
        difference=2,
        section1=s1,
    )
    path = folder / "x.scp"
    path.write_bytes(build_scp(spec))
    return Written(path, 0.5 / 1000, Patient("PID-7", AGE, "M", NAME, BIRTH), {}, annotations=False)


def _sierra(folder: Path, sig: np.ndarray) -> Written:
    """A Sierra XML 1.04 with uncompressed Base64 waveforms, written here by hand."""
    import base64

    units = np.round(sig * 1000 / 5).astype("<i2")  # 5 uV per unit
    b64 = base64.b64encode(units.tobytes()).decode()
    text = f"""<?xml version="1.0" encoding="utf-8"?>
<restingecgdata xmlns="http://www3.medical.philips.com">
<documentinfo><documenttype>PhilipsECG</documenttype><documentversion>1.04</documentversion>
</documentinfo>
<dataacquisition date="{START:%Y-%m-%d}" time="{START:%H:%M:%S}">
<machine>PageWriter</machine>
<signalcharacteristics><samplingrate>{FS:g}</samplingrate><resolution>5</resolution>
</signalcharacteristics></dataacquisition>
<patient><generalpatientdata><patientid>PID-7</patientid>
<name><lastname>Zürcher</lastname><firstname>Anna</firstname></name>
<age><years>{AGE:g}</years><dateofbirth>{BIRTH.isoformat()}</dateofbirth></age>
<sex>Male</sex></generalpatientdata></patient>
<waveforms><parsedwaveforms dataencoding="Base64" compression="Uncompressed"
 numberofleads="12" leadlabels="{" ".join(LEADS_12)}"
 durationperchannel="{sig.shape[1] * 1000 / FS:g}">{b64}</parsedwaveforms></waveforms>
</restingecgdata>
"""
    path = folder / "x.xml"
    path.write_text(text, "utf-8")
    return Written(path, 2.5 / 1000, Patient("PID-7", AGE, "M", NAME, BIRTH), {}, annotations=False)


def _dicom(folder: Path, sig: np.ndarray) -> Written:
    """Written with pydicom: 12-lead ECG waveform storage, 1 uV per bit."""
    path = write_dicom_ecg(
        folder / "x.dcm",
        sig,
        FS,
        LEADS_12,
        patient_id="PID-7",
        sex="M",
        age=f"{AGE:03.0f}Y",
        start=START,
        events=EVENTS,
        patient_name="Zürcher^Anna",
        birth=BIRTH,
    )
    return Written(path, 0.0005, Patient("PID-7", AGE, "M", NAME, BIRTH), {})


def _ishne(folder: Path, sig: np.ndarray, paged: bool = False) -> Written:
    """ISHNE 1.0 written by the test helper (published layout), 1000 nV per bit."""
    path = write_ishne(
        folder / "x.ecg",
        sig,
        int(FS),
        resolution_nv=1000,
        patient_id="PID-7",
        sex=1,
        start=START,
        birth=BIRTH,
    )
    return Written(
        path,
        0.0005,
        Patient("PID-7", AGE, "M", "Last, First", BIRTH),  # the helper's name
        {"whole_load_values": 0} if paged else {},
        annotations=False,
    )


def _muse(folder: Path, sig: np.ndarray) -> Written:
    """GE MUSE XML written by the test helper, 1 uV per bit, all 12 leads stored."""
    path = write_muse(
        folder / "x.xml",
        sig,
        int(FS),
        LEADS_12,
        patient_id="PID-7",
        age=int(AGE),
        sex="M",
        start=START,
        family_given=("Zürcher", "Anna"),
        birth=BIRTH,
    )
    return Written(path, 0.0005, Patient("PID-7", AGE, "M", NAME, BIRTH), {}, annotations=False)


FORMATS: list = [
    pytest.param(_wfdb, id="wfdb"),
    pytest.param(_edf, id="edf+"),
    pytest.param(lambda f, s: _edf(f, s, paged=True), id="edf+ paged"),
    pytest.param(
        _hdf5,
        id="hdf5",
        marks=pytest.mark.skipif(not _HAS_HDF5, reason="ecgviewer/io/hdf5.py is not written yet"),
    ),
    pytest.param(_scp, id="scp-ecg"),
    pytest.param(_sierra, id="sierra-xml"),
    pytest.param(_dicom, id="dicom"),
    pytest.param(_ishne, id="ishne"),
    pytest.param(lambda f, s: _ishne(f, s, paged=True), id="ishne paged"),
    pytest.param(_muse, id="muse_xml"),
]


@pytest.mark.parametrize("write", FORMATS)
def test_same_ecg_same_record(tmp_path: Path, write: Callable[[Path, np.ndarray], Written]) -> None:
    sig = synthetic_12lead(FS, 10.0, seed=3)
    written = write(tmp_path, sig)
    rec = ecg_io.read(written.path, **written.opts)
    assert rec.leads == LEADS_12
    assert rec.fs == FS
    assert rec.n_samples == sig.shape[1]
    assert rec.non_ecg == ()
    np.testing.assert_allclose(np.asarray(rec.signal), sig, rtol=0, atol=written.quantum + 1e-6)
    assert rec.start == START
    for field in ("id", "age", "sex", "name", "birth_date"):
        expected = getattr(written.patient, field)
        if expected is not None:
            assert getattr(rec.patient, field) == expected, field
    if written.annotations:
        assert [a.text for a in rec.annotations] == [t for _, _, t in EVENTS]
        np.testing.assert_allclose(
            [a.onset for a in rec.annotations], [o for o, _, _ in EVENTS], atol=1 / FS
        )
    page = rec.slice(4.0, 6.0)  # paged or not, a slice is the same samples
    np.testing.assert_allclose(page.signal, sig[:, 2000:3000], atol=written.quantum + 1e-6)
