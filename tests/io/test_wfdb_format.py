"""WFDB reader: round trips through wfdb.wrsamp, every fixture record against wfdb.rdrecord /
wfdb.rdann, PTB-XL records, paging and bad input. Expected values come from the wfdb library
(or scipy for resampling), never from our own output."""

from __future__ import annotations

import os
import re
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pytest
import wfdb
from scipy.signal import resample_poly

from ecgviewer import io as ecg_io
from ecgviewer.errors import (
    CorruptFileError,
    ECGError,
    EmptyFileError,
    FileAccessError,
    FileTooLargeError,
    InvalidSignalError,
    NoECGChannelsError,
)
from ecgviewer.io import wfdb_format
from ecgviewer.io._channels import GAP_TEXT
from tests.io._writers import LEADS_12, synthetic_12lead, write_wfdb


# ---------------------------------------------------------------------------- round trips
def test_round_trip_12_lead(tmp_path: Path) -> None:
    sig = synthetic_12lead(500.0, 10.0)
    names = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    hea = write_wfdb(
        tmp_path,
        "rt",
        sig,
        500.0,
        names,
        comments=["<age>: 56 <sex>: female"],
        base_date=date(2021, 3, 4),
        base_time=time(9, 8, 7),
    )
    rec = ecg_io.read(hea)
    ref = wfdb.rdrecord(str(tmp_path / "rt"))
    assert rec.format == "wfdb"
    assert rec.leads == LEADS_12  # AVR -> aVR etc.
    assert rec.fs == 500.0 and rec.n_samples == 5000
    np.testing.assert_allclose(rec.signal, ref.p_signal.T, atol=1e-6)
    np.testing.assert_allclose(rec.signal, sig, atol=0.5 / 1000 + 1e-6)  # gain 1000/mV
    assert rec.patient.age == 56 and rec.patient.sex == "F"
    assert rec.start == datetime(2021, 3, 4, 9, 8, 7)
    assert rec.non_ecg == () and rec.annotations == []
    # The data file and the bare record name open the same record.
    for alias in (tmp_path / "rt.dat", tmp_path / "rt"):
        np.testing.assert_array_equal(wfdb_format.read(alias).signal, rec.signal)


def test_units_converted_to_mv_and_pressure_kept(tmp_path: Path) -> None:
    sig = synthetic_12lead(250.0, 4.0)[:3]
    data = np.stack([sig[0] * 1000, sig[1] / 1000, 80 + 10 * sig[2]])  # uV, V, mmHg
    hea = write_wfdb(
        tmp_path,
        "u",
        data,
        250.0,
        ["II", "V1", "ABP"],
        units=["uV", "V", "mmHg"],
        gain=1.0,
        fmt="32",
    )
    ref = wfdb.rdrecord(str(tmp_path / "u"))
    rec = ecg_io.read(hea)
    assert ref.units == ["uV", "V", "mmHg"]
    np.testing.assert_allclose(rec.signal[0], ref.p_signal[:, 0] / 1000, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(rec.signal[1], ref.p_signal[:, 1] * 1000, rtol=1e-6, atol=1e-3)
    np.testing.assert_allclose(rec.signal[2], ref.p_signal[:, 2], rtol=1e-6)
    assert rec.non_ecg == ("ABP",)


def test_reader_never_writes(tmp_path: Path) -> None:
    hea = write_wfdb(tmp_path, "ro", synthetic_12lead(500.0, 2.0), 500.0, LEADS_12)
    before = {f.name: (f.read_bytes(), f.stat().st_mtime_ns) for f in tmp_path.iterdir()}
    ecg_io.read(hea)
    after = {f.name: (f.read_bytes(), f.stat().st_mtime_ns) for f in tmp_path.iterdir()}
    assert before == after


# ---------------------------------------------------------------------------- fixtures
def test_mitdb_100_signal_and_annotations(fixtures_dir: Path) -> None:
    base = fixtures_dir / "wfdb" / "100"
    rec = ecg_io.read(base.with_suffix(".hea"))
    ref = wfdb.rdrecord(str(base))
    assert rec.leads == ["II", "V5"]  # MLII -> II
    assert rec.fs == 360 and rec.n_samples == 650000
    np.testing.assert_allclose(rec.signal, ref.p_signal.T, atol=1e-6)
    assert rec.patient.age == 69 and rec.patient.sex == "M"  # "# 69 M 1085 1629 x1"
    atr = wfdb.rdann(str(base), "atr")
    qrs = wfdb.rdann(str(base), "qrs")
    ours_atr = [a for a in rec.annotations if not a.text.endswith("[qrs]")]
    ours_qrs = [a for a in rec.annotations if a.text.endswith("[qrs]")]
    assert len(ours_atr) == len(atr.sample) == 2274
    assert len(ours_qrs) == len(qrs.sample) == 2273
    np.testing.assert_allclose([a.onset for a in ours_atr], atr.sample / atr.fs)
    assert ours_atr[0].text == "+ (N"  # aux "(N\x00": NUL stripped
    assert all("\x00" not in a.text for a in rec.annotations)
    assert [a.text for a in ours_atr[1:6]] == atr.symbol[1:6]


def test_ptb_s0010_two_signal_files_and_comments(fixtures_dir: Path) -> None:
    base = fixtures_dir / "wfdb" / "s0010_re"
    rec = ecg_io.read(base.with_suffix(".hea"))
    ref = wfdb.rdrecord(str(base))
    assert rec.leads == LEADS_12 + ["vx", "vy", "vz"]  # .dat holds 12, .xyz holds 3
    np.testing.assert_allclose(rec.signal, ref.p_signal.T, atol=1e-6)
    assert rec.patient.age == 81 and rec.patient.sex == "F"


def test_binformats_every_fmt_decoded(fixtures_dir: Path) -> None:
    base = fixtures_dir / "wfdb" / "binformats"
    rec = ecg_io.read(base.with_suffix(".hea"))
    ref = wfdb.rdrecord(str(base))
    assert ref.fmt == ["8", "16", "61", "80", "160", "212", "310", "311", "24", "32"]
    assert rec.leads == ref.sig_name
    np.testing.assert_allclose(rec.signal, np.nan_to_num(ref.p_signal.T), atol=1e-5)


def test_fmt80_and_time_without_date(fixtures_dir: Path) -> None:
    base = fixtures_dir / "wfdb" / "3000003_0003"
    rec = ecg_io.read(base.with_suffix(".hea"))
    ref = wfdb.rdrecord(str(base))
    np.testing.assert_allclose(rec.signal, ref.p_signal.T, atol=1e-6)
    assert rec.start is None
    assert any("19:46:25.757" in note for note in rec.notes)


def test_mat_format_with_non_ecg_unit(fixtures_dir: Path) -> None:
    path = fixtures_dir / "wfdb" / "a103l.mat"  # opened through its data file
    rec = ecg_io.read(path)
    ref = wfdb.rdrecord(str(path.with_suffix("")))
    np.testing.assert_allclose(rec.signal, ref.p_signal.T, rtol=1e-6, atol=1e-6)
    assert rec.non_ecg == ("PLETH",)  # unit "NU"
    assert rec.fs == 250


def test_multi_frequency_record_resampled(fixtures_dir: Path) -> None:
    base = fixtures_dir / "wfdb" / "03700181"
    rec = ecg_io.read(base.with_suffix(".hea"))
    ref = wfdb.rdrecord(str(base), smooth_frames=False)
    assert ref.samps_per_frame == [4, 1, 1]
    assert rec.fs == 500 and rec.n_samples == 300000
    assert rec.leads == ["MCL1", "ABP", "RESP"] and rec.non_ecg == ("ABP", "RESP")
    np.testing.assert_allclose(rec.signal[0], ref.e_p_signal[0], atol=1e-5)
    abp = resample_poly(ref.e_p_signal[1], 4, 1)
    np.testing.assert_allclose(rec.signal[1], abp, rtol=1e-5, atol=1e-3)
    assert rec.start == datetime(1994, 8, 15, 17, 27, 45)
    assert any("resampled to 500 Hz" in note for note in rec.notes)
    # RESP has invalid samples (NaN in wfdb): 0 and marked as a gap on that lead
    bad = np.flatnonzero(np.isnan(ref.e_p_signal[2]))
    assert bad.size
    gaps = [a for a in rec.annotations if a.text == GAP_TEXT]
    assert gaps and {a.lead for a in gaps} == {"RESP"}
    assert gaps[0].onset == pytest.approx(bad[0] / 125, abs=1 / 500)
    # Each annotation file uses its own rate: gqrsh 500 Hz, sqrs 250 Hz, gqrsl 125 Hz.
    for ext in ("gqrsh", "sqrs", "gqrsl"):
        ann = wfdb.rdann(str(base), ext)
        ours = [a.onset for a in rec.annotations if a.text.endswith(f"[{ext}]")]
        np.testing.assert_allclose(ours, ann.sample / ann.fs)


def test_multi_segment_fixed_layout(fixtures_dir: Path) -> None:
    base = fixtures_dir / "wfdb" / "multiseg_041s" / "041s"
    rec = ecg_io.read(base.with_suffix(".hea"))
    ref = wfdb.rdrecord(str(base), smooth_frames=False)
    assert rec.fs == 500 and rec.n_samples == 8000
    assert rec.leads[:3] == ["III", "I", "V"]
    assert set(rec.non_ecg) == {"ABP", "PAP", "PLETH", "RESP"}
    np.testing.assert_allclose(rec.signal[0], ref.e_p_signal[0], atol=1e-5)
    nan_i = np.flatnonzero(np.isnan(ref.e_p_signal[1]))
    assert rec.signal[1, nan_i].tolist() == [0.0] * len(nan_i)
    assert [a.lead for a in rec.annotations if a.text == GAP_TEXT] == ["I"] * len(nan_i)
    assert rec.start == datetime(1994, 10, 26, 8, 26, 4)


def test_multi_segment_variable_layout_gaps(fixtures_dir: Path) -> None:
    folder = fixtures_dir / "wfdb" / "multiseg_s25047"
    base = folder / "s25047-2704-05-04-10-44"
    rec = ecg_io.read(base.with_suffix(".hea"))
    ref = wfdb.rdrecord(str(base))
    assert rec.n_samples == ref.sig_len == 543240 and rec.fs == 125
    np.testing.assert_allclose(rec.signal, np.nan_to_num(ref.p_signal.T), atol=1e-6)
    assert rec.start == datetime(2704, 5, 4, 10, 44, 18, 529000)
    first = rec.annotations[0]  # the "~ 25740" gap segment: every channel missing
    assert first.text == GAP_TEXT and first.lead is None
    assert (first.onset, first.duration) == (0.0, 25740 / 125)
    assert rec.patient.age is None and rec.patient.sex is None  # "<age>: ?? <sex>: ?"
    with pytest.raises(ECGError):  # the numerics record: 1/60 Hz, no ECG
        ecg_io.read(folder / "s25047-2704-05-04-10-44n.hea")


def test_ptbxl_records(ptbxl_dir: Path) -> None:
    heads = sorted((ptbxl_dir / "records100").rglob("*_lr.hea"))[:5]
    assert heads
    for hea in heads:
        rec = ecg_io.read(hea)
        ref = wfdb.rdrecord(str(hea.with_suffix("")))
        assert rec.leads == LEADS_12
        assert rec.fs == 100 and rec.n_samples == 1000
        np.testing.assert_allclose(rec.signal, ref.p_signal.T, atol=1e-6)


# ---------------------------------------------------------------------------- comments
@pytest.mark.parametrize(
    "comments, expected",
    [
        (["<age>: 56 <sex>: female"], (56.0, "F")),
        (["age: 81", "sex: male"], (81.0, "M")),
        (["Age: 45  Sex: M"], (45.0, "M")),
        (["69 M 1085 1629 x1", "Aldomet"], (69.0, "M")),
        (["<age>: ?? <sex>: ?"], (None, None)),
        (["Reason for admission: Myocardial infarction"], (None, None)),
        ([], (None, None)),
    ],
)
def test_age_sex_from_comments(comments: list[str], expected: tuple) -> None:
    assert wfdb_format.parse_age_sex(comments) == expected


# ---------------------------------------------------------------------------- paging
def test_long_record_paged(fixtures_dir: Path) -> None:
    base = fixtures_dir / "wfdb" / "100"
    rec = wfdb_format.read(base.with_suffix(".hea"), whole_load_values=0, annotations=False)
    assert isinstance(rec.signal, wfdb_format.WfdbPagedSignal)
    assert rec.signal.shape == (2, 650000)
    ref = wfdb.rdrecord(str(base), sampfrom=300000, sampto=303600)
    np.testing.assert_allclose(rec.signal[:, 300000:303600], ref.p_signal.T, atol=1e-6)
    np.testing.assert_allclose(rec.signal[1, 300000:303600], ref.p_signal[:, 1], atol=1e-6)
    assert rec.slice(10, 12).n_samples == 720


# ---------------------------------------------------------------------------- bad input
@pytest.fixture
def small(tmp_path: Path) -> Path:
    return write_wfdb(tmp_path, "s", synthetic_12lead(500.0, 4.0)[:2], 500.0, ["I", "II"])


def test_truncated_dat(small: Path) -> None:
    dat = small.with_suffix(".dat")
    dat.write_bytes(dat.read_bytes()[:3000])
    with pytest.raises(CorruptFileError, match="truncated") as err:
        ecg_io.read(small)
    assert "s.dat" in str(err.value)


def test_dat_holding_a_text_table_is_named(small: Path) -> None:
    """A table of numbers saved as the record's .dat (a public "PTB" copy): wfdb reads it as
    flat garbage; we say what the file is."""
    sig = synthetic_12lead(500.0, 4.0)[:2]
    rows = "\n".join("\t".join(f"{v:8.3f}" for v in col) for col in sig.T)
    small.with_suffix(".dat").write_text(rows + "\n")
    with pytest.raises(CorruptFileError, match="numbers as text") as err:
        ecg_io.read(small)
    assert "s.dat" in str(err.value)


def test_header_promises_more_signals_than_data(small: Path) -> None:
    text = small.read_text().splitlines()
    text[0] = text[0].replace(" 2000", " 9000")  # sig_len larger than the file holds
    small.write_text("\n".join(text) + "\n")
    with pytest.raises(CorruptFileError, match="truncated"):
        ecg_io.read(small)


def test_missing_data_file(small: Path) -> None:
    small.with_suffix(".dat").unlink()
    with pytest.raises(FileAccessError, match="s.dat"):
        ecg_io.read(small)


def test_zero_sampling_rate(small: Path) -> None:
    text = small.read_text().splitlines()
    parts = text[0].split()
    parts[2] = "0"
    text[0] = " ".join(parts)
    small.write_text("\n".join(text) + "\n")
    with pytest.raises(InvalidSignalError, match="sampling rate"):
        ecg_io.read(small)


def test_absurd_sampling_rate(small: Path) -> None:
    text = small.read_text().splitlines()
    parts = text[0].split()
    parts[2] = "5000000"
    text[0] = " ".join(parts)
    small.write_text("\n".join(text) + "\n")
    with pytest.raises(InvalidSignalError):
        ecg_io.read(small)


def test_garbage_header(tmp_path: Path) -> None:
    hea = tmp_path / "junk.hea"
    hea.write_text("this is not a header\nat all\n")
    with pytest.raises(CorruptFileError, match="junk.hea"):
        ecg_io.read(hea)


def test_empty_header(tmp_path: Path) -> None:
    hea = tmp_path / "empty.hea"
    hea.touch()
    with pytest.raises(EmptyFileError):
        ecg_io.read(hea)


def test_only_non_ecg_channels(tmp_path: Path) -> None:
    data = np.stack([80 + np.sin(np.linspace(0, 9, 1000)), np.linspace(90, 99, 1000)])
    hea = write_wfdb(tmp_path, "bp", data, 125.0, ["ABP", "SpO2"], units=["mmHg", "%"], gain=100)
    with pytest.raises(NoECGChannelsError, match="ABP"):
        ecg_io.read(hea)


def test_damaged_annotation_file_is_reported(fixtures_dir: Path, tmp_path: Path) -> None:
    src = fixtures_dir / "wfdb"
    for name in ("3000003_0003.hea", "3000003_0003.dat"):
        (tmp_path / name).write_bytes((src / name).read_bytes())
    (tmp_path / "3000003_0003.atr").write_bytes(b"\xff" * 7)  # not a valid annotation file
    (tmp_path / "3000003_0003.notes").write_text("free text")  # not an annotation file
    rec = ecg_io.read(tmp_path / "3000003_0003.hea")
    assert rec.annotations == []
    assert [n for n in rec.notes if "annotation" in n] == [
        "annotation file 3000003_0003.atr could not be read (damaged, or a variant not known here)"
    ]


def test_permission_denied(small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dat = small.with_suffix(".dat")
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if Path(p) == dat else real(p, m))
    with pytest.raises(FileAccessError, match="permission denied"):
        ecg_io.read(small)


# ---------------------------------------------------------------------------- hostile headers
@pytest.mark.parametrize(
    "record_line, words",
    [
        ("rec 1000000000 500 5000", "1,000,000,000 signals"),
        ("rec -3 500 5000", "-3 signals"),
        ("rec 1 500 -5", "negative length (-5 samples)"),
    ],
)
def test_absurd_header_counts_refused(tmp_path, record_line, words):
    from tests.limited import read_limited

    (tmp_path / "rec.hea").write_text(f"{record_line}\nrec.dat 16 200 16 0 0 0 0 II\n")
    (tmp_path / "rec.dat").write_bytes(bytes(10_000))
    out = read_limited(tmp_path / "rec.hea")
    assert out["outcome"] == "error" and out["type"] == "CorruptFileError", out
    assert words in out["message"]


def test_fifo_named_as_signal_file_is_refused(tmp_path):
    os.mkfifo(tmp_path / "rec.dat")
    (tmp_path / "rec.hea").write_text("rec 1 500 100\nrec.dat 16 200 16 0 0 0 0 II\n")
    with pytest.raises(FileAccessError, match="FIFO"):
        ecg_io.read(tmp_path / "rec.hea")


def test_patient_id_and_device_comments_are_read_in_linear_time() -> None:
    import time as clock

    assert wfdb_format._comment(["patient id:  P-17  "], wfdb_format._PATIENT_ID) == "P-17"
    assert wfdb_format._comment(["device:   ", "device: Cart X"], wfdb_format._DEVICE) == "Cart X"
    line = "patient id: x" + " " * 200_000 + "y"
    t0 = clock.perf_counter()
    assert wfdb_format._comment([line], wfdb_format._PATIENT_ID) == line[len("patient id: ") :]
    assert clock.perf_counter() - t0 < 0.5


def test_layout_segment_header_names_what_to_open(tmp_path):
    """MIMIC's multi-segment records come with a "*_layout.hea": the signals' names and
    gains, every signal file "~", no samples. It holds no ECG: say which header to open
    (wfdb's own error was "sampto must be greater than sampfrom")."""
    hea = tmp_path / "3269321_layout.hea"
    hea.write_text(
        "3269321_layout 4 125 0 16:57:09\n"
        "~ 0 255(-128)/NU 8 0 -128 0 0 PLETH\n"
        "~ 0 127(-64)/mV 8 0 -128 0 0 II\n"
        "~ 0 127(-64)/mV 8 0 -128 0 0 V\n"
        "~ 0 1.28(-109)/mmHg 8 0 -128 0 0 ABP\n"
    )
    with pytest.raises(NoECGChannelsError, match="layout header of a multi-segment record"):
        ecg_io.read(hea)


@pytest.mark.parametrize("gain, noted", [(2_000_000.0, True), (2000.0, False)])
def test_a_gain_a_thousand_times_too_large_is_noted(tmp_path, gain, noted):
    """The PhysioNet/CinC 2020 copies of PTB say 2000000/mV where PTB says 2000: every lead
    then spans about a microvolt. Shown as written, with a note saying why it looks flat."""
    rng = np.random.default_rng(4)
    d = (np.cumsum(rng.normal(0, 40, size=(3000, 3)), axis=0)).clip(-1500, 1500)
    wfdb.wrsamp(
        "ptb",
        fs=1000,
        units=["mV"] * 3,
        sig_name=["I", "II", "V1"],
        d_signal=d.astype(np.int16),
        fmt=["16"] * 3,
        adc_gain=[gain] * 3,
        baseline=[0] * 3,
        write_dir=str(tmp_path),
    )
    rec = ecg_io.read(tmp_path / "ptb.hea")
    np.testing.assert_allclose(rec.signal, d.T.astype(np.int16) / gain, rtol=1e-5, atol=1e-9)
    assert any("probably a thousand times too large" in n for n in rec.notes) == noted


def test_a_multi_segment_record_too_long_to_merge_is_refused(fixtures_dir, tmp_path):
    """Multi-segment records are merged in memory by wfdb (not paged): one of days (MIMIC:
    52 million frames x 4 signals, ~1.7 GB as float64) is refused at once, naming the way
    out, before any segment is read."""
    import shutil

    folder = tmp_path / "multi"
    shutil.copytree(fixtures_dir / "wfdb" / "multiseg_041s", folder)
    assert ecg_io.read(folder / "041s.hea").n_samples > 0  # the real one, short, reads
    with pytest.raises(FileTooLargeError, match="open one of its segments"):
        ecg_io.read(folder / "041s.hea", max_multi_segment_values=100)
    hea = folder / "041s.hea"
    lines = hea.read_text().splitlines()
    lines[0] = lines[0].replace(" 2000 ", " 60000000 ")  # 5.5 days at 125 Hz
    hea.write_text("\n".join(lines) + "\n")
    with pytest.raises(FileTooLargeError, match="133.3 h"):
        ecg_io.read(hea)


def test_uterine_contraction_channel_is_not_an_ecg_lead(tmp_path: Path) -> None:
    """A CTG record (PhysioNet's fetal ECG sets): the fetal ECG is a lead, the uterine
    contraction channel beside it (no unit, so millivolts by WFDB's default) is not."""
    t = np.linspace(0, 8, 2000)
    data = np.stack([0.1 * np.sin(2 * np.pi * 2.3 * t), 20 + 5 * np.sin(2 * np.pi * 0.02 * t)])
    hea = write_wfdb(tmp_path, "ctg", data, 250.0, ["FECG", "UC"])
    rec = ecg_io.read(hea)
    assert rec.ecg_leads == ["FECG"]


def _s0010_with(fixtures_dir: Path, tmp_path: Path, line: int, field: int, value: str) -> Path:
    """The PTB record s0010_re with one field of one header line replaced."""
    src = fixtures_dir / "wfdb"
    for ext in (".dat", ".xyz"):
        (tmp_path / f"s0010_re{ext}").write_bytes((src / f"s0010_re{ext}").read_bytes())
    lines = (src / "s0010_re.hea").read_text().splitlines()
    fields = lines[line].split()
    fields[field] = value
    lines[line] = " ".join(fields)
    hea = tmp_path / "s0010_re.hea"
    hea.write_text("\n".join(lines) + "\n")
    return hea


@pytest.mark.parametrize(
    "line, field, value, words",
    [
        (0, 2, "abc", "header line 1: sampling frequency 'abc' is not a number"),
        (0, 3, "1e9", "header line 1: sample count '1e9' is not a whole number"),
        (1, 1, "16x-1", "header line 2: signal i: format '16x-1' is not a WFDB format"),
        (1, 1, "16+-100", "header line 2: signal i: format '16+-100' is not a WFDB format"),
        (1, 2, "2000(nan)/mV", "header line 2: signal i: gain '2000(nan)/mV' is not gain["),
    ],
)
def test_a_header_token_that_does_not_parse_is_refused(
    fixtures_dir, tmp_path, line, field, value, words
):
    """wfdb's patterns read such a token as a default or shift the fields after it (250 Hz,
    1 sample, a lead named "-8337 0 i")."""
    hea = _s0010_with(fixtures_dir, tmp_path, line, field, value)
    with pytest.raises(CorruptFileError) as err:
        ecg_io.read(hea)
    assert str(err.value).startswith(f"{hea}: ") and words in str(err.value)


@pytest.mark.parametrize(
    "gain, words",
    [
        ("nan", "signal i has an unusable gain nan"),
        ("inf/mV", "signal i has an unusable gain inf"),
        ("1e308", "signal i has an unusable gain 1e+308"),
    ],
)
def test_an_unusable_gain_is_refused(fixtures_dir, tmp_path, gain, words):
    """wfdb reads a gain of NaN or inf as 200 and 1e308 as 1: a lead scaled wrong, without a
    word. (A gain of 0, WFDB's "uncalibrated", is read at 200 as before: real records carry
    it on auxiliary channels.)"""
    hea = _s0010_with(fixtures_dir, tmp_path, 1, 2, gain)
    with pytest.raises(InvalidSignalError, match=re.escape(words)):
        ecg_io.read(hea)


@pytest.mark.parametrize(
    "files, words",
    [
        ({"m.hea": "m/2 1 360 100\nm 100\n"}, "segment m refers to itself"),
        (
            {"m.hea": "m/2 1 360 100\nn 100\n", "n.hea": "n/2 1 360 100\nm 100\n"},
            "segment n is itself a multi-segment record",
        ),
    ],
)
def test_a_multi_segment_record_that_loops_is_refused(tmp_path, files, words):
    """wfdb followed the loop until Python's recursion limit (RecursionError in the message)."""
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(CorruptFileError, match=words) as err:
        ecg_io.read(tmp_path / "m.hea")
    assert "Recursion" not in str(err.value)
