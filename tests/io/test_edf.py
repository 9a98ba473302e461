"""EDF / EDF+ / BDF reader: round trips through pyedflib, the real fixtures, paging, bad input.

Expected values come from pyedflib (what the library reads from the file), wfdb (for the two
fixtures converted from WFDB records) and scipy (resampling), never from our own output.
"""

from __future__ import annotations

import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyedflib
import pytest
from scipy.signal import resample_poly

from ecgviewer import io as ecg_io
from ecgviewer.errors import (
    CorruptFileError,
    ECGError,
    EmptyFileError,
    FileAccessError,
    InvalidSignalError,
    NoECGChannelsError,
)
from ecgviewer.io import edf
from ecgviewer.io._channels import GAP_TEXT
from ecgviewer.record import PagedSignal
from tests.io._writers import LEADS_12, synthetic_12lead, write_edf

FS = 500.0


def _library_signal(path: Path, ch: int) -> np.ndarray:
    with pyedflib.EdfReader(str(path)) as rd:
        return rd.readSignal(ch)


@pytest.fixture
def ecg12(tmp_path: Path) -> tuple[Path, np.ndarray]:
    sig = synthetic_12lead(FS, 10.0)
    path = write_edf(
        tmp_path / "twelve.edf",
        list(sig),
        [f"ECG {n}" for n in LEADS_12],
        [FS] * 12,
        patient_code="P-0042",
        sex=0,
        birthdate=date(1970, 5, 20),
        start=datetime(2020, 1, 10, 8, 30, 15),
        equipment="CartXYZ",
        annotations=[(1.5, 0.5, "artefact"), (4.25, -1, "Übergang 中文")],
    )
    return path, sig


# ---------------------------------------------------------------------------- round trips
def test_round_trip_12_lead_edf_plus(ecg12: tuple[Path, np.ndarray]) -> None:
    path, sig = ecg12
    rec = ecg_io.read(path)
    assert rec.format == "edf+"
    assert rec.leads == LEADS_12  # "ECG aVR" -> "aVR" etc.
    assert rec.fs == FS and rec.n_samples == sig.shape[1]
    assert isinstance(rec.signal, np.ndarray) and rec.signal.dtype == np.float32
    for ch in range(12):
        np.testing.assert_allclose(rec.signal[ch], _library_signal(path, ch), atol=1e-5)
    # EDF quantisation: 20 mV over 65535 steps.
    np.testing.assert_allclose(rec.signal, sig, atol=20 / 65535)
    assert rec.start == datetime(2020, 1, 10, 8, 30, 15)
    assert rec.patient.id == "P-0042"
    assert rec.patient.sex == "F"
    assert rec.patient.age == 49  # 20 May 1970 -> 10 Jan 2020
    assert rec.device == "CartXYZ"
    assert rec.non_ecg == ()
    with pyedflib.EdfReader(str(path)) as rd:
        onsets, durations, texts = rd.readAnnotations()
    assert [a.text for a in rec.annotations] == list(texts) == ["artefact", "Übergang 中文"]
    assert [a.onset for a in rec.annotations] == pytest.approx(list(onsets))
    assert rec.annotations[0].duration == pytest.approx(0.5)
    assert rec.annotations[1].duration == 0.0  # -1 = "no duration" in EDF+


def test_bdf_round_trip_microvolts(tmp_path: Path) -> None:
    sig = synthetic_12lead(FS, 4.0)[:3]
    path = write_edf(
        tmp_path / "uv.bdf",
        list(sig * 1000),
        ["I", "II", "V2"],
        [FS] * 3,
        dims=["uV"] * 3,
        phys=10_000.0,
        bdf=True,
    )
    rec = ecg_io.read(path)
    assert rec.format == "bdf"
    for ch in range(3):  # uV in the file, mV in the Record
        np.testing.assert_allclose(rec.signal[ch], _library_signal(path, ch) / 1000, atol=1e-6)
    np.testing.assert_allclose(rec.signal, sig, atol=1e-4)


def test_non_ecg_channels_kept_and_marked(tmp_path: Path) -> None:
    sig = synthetic_12lead(FS, 4.0)
    pressure = 80 + 20 * np.sin(np.linspace(0, 20, sig.shape[1]))
    path = write_edf(
        tmp_path / "mixed.edf",
        [sig[0], sig[1], pressure],
        ["II", "V5", "ABP"],
        [FS] * 3,
        dims=["mV", "mV", "mmHg"],
        phys=300.0,
    )
    rec = ecg_io.read(path)
    assert rec.leads == ["II", "V5", "ABP"]
    assert rec.non_ecg == ("ABP",)
    assert rec.ecg_leads == ["II", "V5"]
    np.testing.assert_allclose(rec.signal[2], _library_signal(path, 2), atol=1e-4)  # unchanged


def test_mixed_rates_resampled_to_highest_ecg_rate(tmp_path: Path) -> None:
    sig = synthetic_12lead(FS, 6.0)
    resp = np.sin(np.linspace(0, 8 * np.pi, int(6 * 25)))
    path = write_edf(
        tmp_path / "rates.edf",
        [sig[0], sig[1], resp],
        ["I", "II", "Resp"],
        [FS, FS, 25.0],
        dims=["mV", "mV", "mV"],
        phys=5.0,
    )
    rec = ecg_io.read(path)
    assert rec.fs == FS and rec.n_samples == sig.shape[1]
    assert rec.non_ecg == ("Resp",)
    assert any("resampled to 500 Hz" in note and "Resp" in note for note in rec.notes)
    expected = resample_poly(_library_signal(path, 2), 20, 1)
    np.testing.assert_allclose(rec.signal[2], expected, atol=1e-5)


def test_plain_edf_placeholder_patient(fixtures_dir: Path) -> None:
    path = fixtures_dir / "edf" / "contec_ecg90a_0000050.edf"
    rec = ecg_io.read(path)
    assert rec.format == "edf"
    assert rec.leads == LEADS_12 and rec.fs == 800
    assert rec.patient.id is None  # "dd-MMM-yyyy" is a placeholder, not an id
    assert any("placeholder" in note for note in rec.notes)
    with pyedflib.EdfReader(str(path)) as rd:
        assert rec.n_samples == rd.getNSamples()[0]
        assert rec.start == rd.getStartdatetime()
        for ch in (0, 5, 11):
            np.testing.assert_allclose(rec.signal[ch], rd.readSignal(ch), atol=1e-5)


@pytest.mark.parametrize(
    "field, patient",
    [
        # A hospital EEG archive's plain EDF, its field laid out the EDF+ way.
        ("00009578 M 01-JAN-1987 00009578 Age:26", ("00009578", "M", 33)),
        ("X F X X", (None, "F", None)),
        ("ptbdb-s0010 re", ("ptbdb-s0010 re", None, None)),  # free text: the id
        ("Smith M 1950", ("Smith M 1950", None, None)),  # no EDF date: free text
    ],
)
def test_plain_edf_patient_field(fixtures_dir: Path, tmp_path: Path, field, patient) -> None:
    data = bytearray((fixtures_dir / "edf" / "contec_ecg90a_0000050.edf").read_bytes())
    data[8:88] = field.encode("ascii").ljust(80)
    path = tmp_path / "plain.edf"
    path.write_bytes(bytes(data))
    rec = ecg_io.read(path)  # recorded 16 Nov 2020
    assert rec.format == "edf"
    assert (rec.patient.id, rec.patient.sex, rec.patient.age) == patient


# ---------------------------------------------------------------------------- fixtures
def test_mitdb100_edf_equals_wfdb_samples(fixtures_dir: Path) -> None:
    import wfdb

    rec = ecg_io.read(fixtures_dir / "edf" / "mitdb100_first300s_converted.edf")
    ref = wfdb.rdrecord(str(fixtures_dir / "wfdb" / "100"), sampto=108000)
    assert rec.leads == ["II", "V5"]  # "ECG MLII" -> II
    assert rec.fs == ref.fs and rec.n_samples == 108000
    np.testing.assert_allclose(rec.signal, ref.p_signal.T, atol=1e-6)
    assert len(rec.annotations) == 372
    assert rec.annotations[0].text == "+ (N"
    ann = wfdb.rdann(str(fixtures_dir / "wfdb" / "100"), "atr", sampto=108000)
    assert len(ann.sample) == 372
    np.testing.assert_allclose([a.onset for a in rec.annotations], ann.sample / ann.fs, atol=1e-3)


def test_ptb_bdf_equals_wfdb_samples(fixtures_dir: Path) -> None:
    import wfdb

    rec = ecg_io.read(fixtures_dir / "edf" / "ptb_s0010_re_12lead_10s_converted.bdf")
    ref = wfdb.rdrecord(
        str(fixtures_dir / "wfdb" / "s0010_re"), sampto=10000, channels=list(range(12))
    )
    assert rec.leads == LEADS_12 and rec.fs == 1000
    np.testing.assert_allclose(rec.signal, ref.p_signal.T, atol=1e-6)
    assert rec.patient.id == "ptbdb-s0010 re"
    # A BDF's version field starts with byte 0xFF by definition: not a non-ASCII header
    # (which would skip edflib's compliance check and say so).
    assert not any("non-ASCII" in note for note in rec.notes)


@pytest.mark.parametrize(
    "name, found",
    [
        ("mne_test_bdf_stim_channel.bdf", ["C3", "Cz", "Status"]),
        ("pyedflib_test_utf8_edfplus.edf", ["Fp1"]),
        ("mne_biosemi_test_edfplus.edf", ["A1", "139 signals"]),
        ("wfdb_test_edfann_annotations_only.edf", ["annotations only"]),
    ],
)
def test_files_without_ecg_raise_naming_channels(
    fixtures_dir: Path, name: str, found: list[str]
) -> None:
    with pytest.raises(NoECGChannelsError) as err:
        ecg_io.read(fixtures_dir / "edf" / name)
    for word in found:
        assert word in str(err.value)
    assert name in str(err.value)


@pytest.mark.parametrize("name", ["mne_biosemi_test_edfplus.edf", "pyedflib_test_utf8_edfplus.edf"])
def test_annotations_match_pyedflib(fixtures_dir: Path, name: str) -> None:
    path = fixtures_dir / "edf" / name
    rec = edf.read(path, require_ecg=False)
    assert rec.ecg_leads == []
    with pyedflib.EdfReader(str(path)) as rd:
        onsets, durations, texts = rd.readAnnotations()
        assert rec.leads == rd.getSignalLabels()
    assert [a.text for a in rec.annotations] == list(texts)
    np.testing.assert_allclose([a.onset for a in rec.annotations], onsets)
    np.testing.assert_allclose([a.duration for a in rec.annotations], np.maximum(durations, 0))
    if "utf8" in name:
        # header start 04.05.56 plus the first record's time stamp +0.3945312 s
        assert rec.start == datetime(2020, 1, 24, 4, 5, 56, 394531)
        assert "中文测试八个字" in [a.text for a in rec.annotations]
        assert rec.patient.sex == "F" and rec.patient.age == 22  # born 20 Jan 1998, rec. 2020


def test_bdf_24_bit_negative_values_match_pyedflib(fixtures_dir: Path) -> None:
    path = fixtures_dir / "edf" / "mne_test_bdf_stim_channel.bdf"  # EEG, large DC offset
    rec = edf.read(path, require_ecg=False)
    assert rec.non_ecg == ("C3", "C4", "Cz", "Status")
    with pyedflib.EdfReader(str(path)) as rd:
        for ch in range(4):
            lib = rd.readSignal(ch)
            np.testing.assert_allclose(rec.signal[ch], lib / 1000, rtol=1e-6, atol=1e-6)  # uV


# ---------------------------------------------------------------------------- paging
def test_paged_pages_equal_whole_read(tmp_path: Path) -> None:
    sig = synthetic_12lead(FS, 20.0)
    resp = np.sin(np.linspace(0, 30, 20 * 50))
    path = write_edf(
        tmp_path / "p.edf",
        [*sig[:3], resp],
        ["I", "II", "V1", "Resp"],
        [FS, FS, FS, 50.0],
        phys=5.0,
    )
    whole = edf.read(path)
    paged = edf.read(path, whole_load_values=0)
    assert isinstance(paged.signal, edf.EdfPagedSignal)
    assert isinstance(paged.signal, PagedSignal)  # the Record protocol
    assert paged.signal.shape == whole.signal.shape and paged.leads == whole.leads
    for a, b in [(0, 700), (1234, 4321), (9990, 10000), (5000, 5001)]:
        page = paged.signal[:, a:b]
        assert page.dtype == np.float32
        np.testing.assert_allclose(page, whole.signal[:, a:b], atol=1e-5)
    np.testing.assert_allclose(paged.signal[3, 777:2000], whole.signal[3, 777:2000], atol=1e-5)
    np.testing.assert_allclose(np.asarray(paged.signal), whole.signal, atol=1e-5)
    assert paged.signal[:, 9990:20000].shape == (4, 10)  # slices clip like numpy
    sl = paged.slice(3.0, 5.0)
    np.testing.assert_allclose(sl.signal, whole.signal[:, 1500:2500], atol=1e-5)
    with pytest.raises(InvalidSignalError):
        paged.signal.read([0], 9000, 10001)


def test_paged_reads_from_threads(tmp_path: Path) -> None:
    sig = synthetic_12lead(FS, 30.0)
    path = write_edf(tmp_path / "t.edf", list(sig), LEADS_12, [FS] * 12)
    rec = edf.read(path, whole_load_values=0)
    starts = list(range(0, 14000, 500))
    expected = [np.asarray(rec.signal[:, a : a + 1000]) for a in starts]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda a: rec.signal[:, a : a + 1000], starts))
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_array_equal(e, g)
    assert threading.active_count() >= 1


def test_paged_detects_file_changed(tmp_path: Path) -> None:
    sig = synthetic_12lead(FS, 4.0)
    path = write_edf(tmp_path / "c.edf", list(sig[:2]), ["I", "II"], [FS] * 2)
    rec = edf.read(path, whole_load_values=0)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    with pytest.raises(CorruptFileError, match="changed on disk"):
        rec.signal[:, 0:100]


def _make_discontinuous(path: Path, gap_after: int, shift_s: int) -> None:
    """Turn a pyedflib EDF+C (1 s records) into EDF+D: records from ``gap_after`` on start
    ``shift_s`` seconds later. Rewrites the reserved field and each record's time-keeping TAL."""
    raw = bytearray(path.read_bytes())
    ns = int(raw[252:256].decode())
    hdr = int(raw[184:192].decode())
    nrec = int(raw[236:244].decode())
    labels = [raw[256 + 16 * i : 256 + 16 * i + 16].decode().strip() for i in range(ns)]
    spr_at = 256 + 216 * ns
    spr = [int(raw[spr_at + 8 * i : spr_at + 8 * i + 8].decode()) for i in range(ns)]
    ann = labels.index("EDF Annotations")
    raw[192:197] = b"EDF+D"
    rec_bytes = sum(spr) * 2
    ann_off = sum(spr[:ann]) * 2
    ann_len = spr[ann] * 2
    for r in range(nrec):
        onset = r + (shift_s if r >= gap_after else 0)
        pos = hdr + r * rec_bytes + ann_off
        old = bytes(raw[pos : pos + ann_len])
        rest = old.split(b"\x14\x14\x00", 1)[1]  # keep any annotation TALs after it
        tal = f"+{onset}".encode() + b"\x14\x14\x00" + rest
        raw[pos : pos + ann_len] = tal[:ann_len].ljust(ann_len, b"\x00")
    path.write_bytes(bytes(raw))


def test_edf_plus_d_gaps_filled_and_annotated(tmp_path: Path) -> None:
    sig = synthetic_12lead(FS, 6.0)[:2]
    original = write_edf(
        tmp_path / "c.edf",
        list(sig),
        ["I", "II"],
        [FS] * 2,
        annotations=[(1.0, 0.0, "before"), (5.5, 0.25, "after")],
    )
    with pyedflib.EdfReader(str(original)) as rd:
        lib = rd.readSignal(0)
        lib_onsets, _, lib_texts = rd.readAnnotations()
    path = tmp_path / "d.edf"
    shutil.copy(original, path)
    _make_discontinuous(path, gap_after=3, shift_s=4)  # 0-3 s, gap 3-7 s, 7-10 s
    with pytest.raises(OSError, match="discontinuous"):
        pyedflib.EdfReader(str(path))  # why _edf_raw exists: edflib refuses EDF+D
    for paged in (False, True):
        rec = edf.read(path, whole_load_values=0 if paged else 10**9)
        assert rec.n_samples == int(10 * FS)
        data = np.asarray(rec.signal)
        np.testing.assert_allclose(data[0, :1500], lib[:1500], atol=1e-6)
        assert not data[:, 1500:3500].any()
        np.testing.assert_allclose(data[0, 3500:], lib[1500:], atol=1e-6)
        gaps = [a for a in rec.annotations if a.text == GAP_TEXT]
        assert [(g.onset, g.duration) for g in gaps] == [(3.0, 4.0)]
        assert any("EDF+D" in note for note in rec.notes)
        kept = [a for a in rec.annotations if a.text != GAP_TEXT]
        assert [a.text for a in kept] == list(lib_texts)
        np.testing.assert_allclose([a.onset for a in kept], lib_onsets)
        assert kept[1].duration == pytest.approx(0.25)


@pytest.mark.parametrize("shift, match", [(10**9, "span"), (-2, "before the previous")])
def test_edf_plus_d_damaged_time_stamps(tmp_path: Path, shift: int, match: str) -> None:
    sig = synthetic_12lead(FS, 6.0)[:2]
    path = write_edf(tmp_path / "d.edf", list(sig), ["I", "II"], [FS] * 2)
    _make_discontinuous(path, gap_after=3, shift_s=shift)
    with pytest.raises(CorruptFileError, match=match):
        ecg_io.read(path)


@pytest.mark.parametrize(
    "name",
    [
        "mitdb100_first300s_converted.edf",
        "pyedflib_test_utf8_edfplus.edf",
        "mne_biosemi_test_edfplus.edf",
        "wfdb_test_edfann_annotations_only.edf",
    ],
)
def test_own_tal_parser_agrees_with_pyedflib(fixtures_dir: Path, name: str) -> None:
    from ecgviewer.io import _edf_raw

    path = fixtures_dir / "edf" / name
    hdr = _edf_raw.read_header(path, path.stat().st_size)
    rec_onsets, notes = _edf_raw.read_tals(hdr)
    with pyedflib.EdfReader(str(path)) as rd:
        onsets, durations, texts = rd.readAnnotations()
    assert [t for _, _, t in notes] == list(texts)
    # edflib counts annotation onsets from the first data record's time stamp
    np.testing.assert_allclose([o - rec_onsets[0] for o, _, _ in notes], onsets, atol=1e-6)
    np.testing.assert_allclose([d for _, d, _ in notes], np.maximum(durations, 0), atol=1e-6)


# ---------------------------------------------------------------------------- bad input
def test_truncated_data_is_corrupt(ecg12: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, _ = ecg12
    cut = tmp_path / "cut.edf"
    data = path.read_bytes()
    cut.write_bytes(data[: len(data) - 5000])
    with pytest.raises(CorruptFileError, match="cut.edf"):
        ecg_io.read(cut)


def test_garbage_header_is_corrupt(ecg12: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, _ = ecg12
    bad = tmp_path / "bad.edf"
    raw = bytearray(path.read_bytes())
    raw[236:244] = b"abc     "  # number of data records
    bad.write_bytes(bytes(raw))
    with pytest.raises(CorruptFileError, match="bad.edf"):
        ecg_io.read(bad)


def test_header_data_mismatch(ecg12: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, _ = ecg12
    bad = tmp_path / "more.edf"
    raw = bytearray(path.read_bytes())
    raw[236:244] = b"20      "  # header claims 20 records, the data holds 10
    bad.write_bytes(bytes(raw))
    with pytest.raises(CorruptFileError, match="more.edf"):
        ecg_io.read(bad)


def test_zero_duration_records(ecg12: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, _ = ecg12
    bad = tmp_path / "zero.edf"
    raw = bytearray(path.read_bytes())
    raw[244:252] = b"0       "  # data record duration 0 -> infinite sampling rate
    bad.write_bytes(bytes(raw))
    with pytest.raises(ECGError, match="zero.edf"):
        ecg_io.read(bad)


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.edf"
    empty.touch()
    with pytest.raises(EmptyFileError, match="empty"):
        ecg_io.read(empty)


def test_permission_denied(ecg12: tuple[Path, np.ndarray], monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = ecg12
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode: False if Path(p) == path else real_access(p, mode)
    )
    with pytest.raises(FileAccessError, match="permission denied"):
        ecg_io.read(path)


def test_permission_denied_for_real(ecg12: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    path, _ = ecg12
    locked = tmp_path / "locked.edf"
    shutil.copy(path, locked)
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as root: file permissions are not enforced")
        with pytest.raises(FileAccessError, match="permission denied"):
            ecg_io.read(locked)
    finally:
        locked.chmod(0o644)


def test_reader_never_writes(ecg12: tuple[Path, np.ndarray]) -> None:
    path, _ = ecg12
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    rec = edf.read(path, whole_load_values=0)
    np.asarray(rec.signal)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


# ---------------------------------------------------------------------------- Latin-1 units
def _patch_dims(path: Path, dims: dict[int, bytes]) -> None:
    data = bytearray(path.read_bytes())
    ns = int(data[252:256])
    at = 256 + ns * (16 + 80)  # label, transducer, then the physical dimension
    for sig, raw in dims.items():
        data[at + 8 * sig : at + 8 * sig + 8] = raw.ljust(8)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("micro", [b"\xb5V", b"\xc2\xb5V"], ids=["latin-1", "utf-8"])
def test_latin1_units_read_and_unknown_units_are_named(tmp_path, micro):
    t = np.arange(2500) / 250
    path = write_edf(
        tmp_path / "latin.edf",
        [np.sin(2 * np.pi * t) * 500, np.sin(t) * 30],
        ["ECG II", "Temp"],
        [250, 250],
        dims=["uV", "degC"],
        phys=1000.0,
    )
    _patch_dims(path, {0: micro, 1: b"\xb0C"})  # "µV" and "°C" (Latin-1), as carts write them
    rec = ecg_io.read(path)
    assert rec.leads == ["II", "Temp"] and rec.non_ecg == ("Temp",)
    np.testing.assert_allclose(rec.signal[0], np.sin(2 * np.pi * t) * 0.5, atol=0.02)
    assert any("non-ASCII" in note for note in rec.notes)
    assert any("Temp (°C)" in note for note in rec.notes)


def test_right_aligned_header_numbers_read_with_a_note(tmp_path: Path) -> None:
    """MNE's BioSemi test.bdf writes its record count as "  1": edflib refuses the file,
    though every number is plain."""
    t = np.arange(2048) / 2048
    path = write_edf(
        tmp_path / "biosemi.bdf",
        [np.sin(2 * np.pi * t) * 800],
        ["ECG"],
        [2048],
        dims=["uV"],
        phys=2000.0,
        file_type=pyedflib.FILETYPE_BDF,
        bdf=True,
    )
    data = bytearray(path.read_bytes())
    data[236:244] = str(int(data[236:244])).rjust(3).ljust(8).encode()
    path.write_bytes(bytes(data))
    rec = ecg_io.read(path)
    assert rec.leads == ["ECG"] and rec.fs == 2048
    np.testing.assert_allclose(rec.signal[0], np.sin(2 * np.pi * t) * 0.8, atol=1e-3)
    assert any("leading spaces" in note for note in rec.notes)


def test_plain_edf_with_an_annotation_signal(tmp_path: Path) -> None:
    """A plain EDF (not EDF+) holding an "EDF Annotations" signal, as pyedflib's
    test_legacy.edf: edflib counts it as data, we drop it; not "readers disagree"."""
    t = np.arange(2500) / 250
    path = write_edf(
        tmp_path / "legacy.edf",
        [np.sin(2 * np.pi * t) * 500, np.zeros_like(t)],
        ["ECG II", "spare"],
        [250, 250],
        dims=["uV", "uV"],
        phys=1000.0,
        file_type=pyedflib.FILETYPE_EDF,
    )
    data = bytearray(path.read_bytes())
    data[256 + 16 : 256 + 32] = b"EDF Annotations ".ljust(16)
    path.write_bytes(bytes(data))
    rec = ecg_io.read(path)
    assert rec.leads == ["II"]
    np.testing.assert_allclose(rec.signal[0], np.sin(2 * np.pi * t) * 0.5, atol=0.02)


def test_dense_annotations_refused_over_the_limit_within_memory(tmp_path):
    """EDF+ TALs cost ~25x their bytes as Python objects: a 13 MB file packed with tiny
    annotations is refused by count, read a window of records at a time, under the cap."""
    from tests.io._writers import write_dense_tal_edf
    from tests.limited import read_limited

    path = write_dense_tal_edf(tmp_path / "dense.edf", 3000, 4000)
    out = read_limited(path)
    assert out["outcome"] == "error" and out["type"] == "FileTooLargeError", out
    assert "more than 1,000,000 EDF+ annotations" in out["message"]
    assert out["peak_mb"] < 600


def test_annotations_just_under_the_limit_are_read(tmp_path, monkeypatch):
    from ecgviewer.io import _edf_raw
    from tests.io._writers import write_dense_tal_edf

    path = write_dense_tal_edf(tmp_path / "dense.edf", 3, 400)
    monkeypatch.setattr(_edf_raw, "GATHER_WINDOW_BYTES", 1000)  # one record per window
    rec = ecg_io.read(path)
    assert len(rec.annotations) > 100 and {a.text for a in rec.annotations} == {"a"}
    monkeypatch.setattr(_edf_raw, "MAX_ANNOTATIONS", 50)
    with pytest.raises(ECGError, match="more than 50 EDF"):
        ecg_io.read(path)
