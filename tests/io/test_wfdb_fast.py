"""The WFDB fast path (ecgviewer.io._wfdb_fast) against wfdb: every record read with it gives
the same Record as with it turned off (wfdb parsing and decoding), for the shared fixtures,
PTB-XL and LUDB records, synthetic records in every format it decodes, and records it must
leave to wfdb. Also the cached folder listing used to find annotation files."""

from __future__ import annotations

import os
import time as clock
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pytest
import wfdb

from ecgviewer import io as ecg_io
from ecgviewer.errors import CorruptFileError, ECGError
from ecgviewer.io import _wfdb_fast, wfdb_format
from ecgviewer.io._channels import GAP_TEXT
from ecgviewer.record import Record
from tests.conftest import SHARED
from tests.io._writers import LEADS_12

LUDB = SHARED / "data" / "ludb" / "data"


def read_both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Record, Record, bool]:
    """The record read with the fast path, without it, and whether the fast path decoded it."""
    used: list[bool] = []
    real = _wfdb_fast.read_signal

    def spy(folder: Path, r: _wfdb_fast.SimpleRecord) -> np.ndarray | None:
        out = real(folder, r)
        used.append(out is not None)
        return out

    with monkeypatch.context() as m:
        m.setattr(_wfdb_fast, "read_signal", spy)
        fast = ecg_io.read(path)
    with monkeypatch.context() as m:
        m.setattr(wfdb_format, "FAST_PATH", False)
        m.setattr(_wfdb_fast, "read_signal", None)  # never reached with the fast path off
        slow = ecg_io.read(path)
    assert isinstance(fast, Record) and isinstance(slow, Record)
    return fast, slow, any(used)


def assert_same(a: Record, b: Record) -> None:
    np.testing.assert_array_equal(np.asarray(a.signal), np.asarray(b.signal))
    assert np.asarray(a.signal).dtype == np.asarray(b.signal).dtype
    assert a.fs == b.fs
    assert a.leads == b.leads
    assert a.annotations == b.annotations
    assert a.patient == b.patient
    assert a.start == b.start
    assert a.notes == b.notes
    assert a.non_ecg == b.non_ecg
    assert a.device == b.device
    assert (a.format, a.source) == (b.format, b.source)


def check(path: Path, monkeypatch: pytest.MonkeyPatch, *, fast: bool | None = True) -> Record:
    """Same Record both ways; ``fast`` says whether the fast path must (or must not) decode."""
    a, b, used = read_both(path, monkeypatch)
    assert_same(a, b)
    if fast is not None:
        assert used == fast, f"{path}: fast path {'not ' if fast else ''}used"
    return a


def wfdb_signal(hea: Path) -> np.ndarray:
    """wfdb's own physical signal, (n_sig, sig_len), for a single-rate record."""
    return np.stack(wfdb.rdrecord(str(hea.with_suffix("")), smooth_frames=False).e_p_signal)


# ---------------------------------------------------------------------------- real records
def test_every_fixture_record(fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    heads = sorted(fixtures_dir.rglob("*.hea"))
    assert len(heads) >= 10
    n_fast = 0
    for hea in heads:
        try:
            a, b, used = read_both(hea, monkeypatch)
        except Exception as exc:  # a record that does not open must fail the same way
            with pytest.raises(type(exc)) as err:
                with monkeypatch.context() as m:
                    m.setattr(wfdb_format, "FAST_PATH", False)
                    ecg_io.read(hea)
            assert str(err.value) == str(exc)
            continue
        assert_same(a, b)
        n_fast += used
    # 100 (212, baseline from ADC zero, annotations), 3000003_0003 (80, time without date),
    # a103l (.mat with a byte offset) and the single-file segment headers.
    assert n_fast >= 4


def test_ptbxl_sample(ptbxl_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    heads = sorted((ptbxl_dir / "records100").rglob("*_lr.hea"))
    assert heads
    for hea in heads[:: max(1, len(heads) // 40)]:
        rec = check(hea, monkeypatch)
        assert rec.leads == LEADS_12 and rec.fs == 100 and rec.n_samples == 1000
        np.testing.assert_allclose(rec.signal, wfdb_signal(hea), atol=1e-6)


def test_ludb_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    if not LUDB.is_dir():
        pytest.skip(f"LUDB not found at {LUDB} (../shared is absent)")
    heads = sorted(LUDB.glob("*.hea"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0)
    assert heads
    for hea in heads[:: max(1, len(heads) // 15)]:
        rec = check(hea, monkeypatch)
        assert len(rec.leads) == 12 and rec.fs == 500
        # Each lead's delineation file (1.i, 1.ii, ...) is attached, and no other record's.
        ann = wfdb.rdann(str(hea.with_suffix("")), "i")
        assert sum(a.text.endswith(" [i]") for a in rec.annotations) == len(ann.sample)


# ---------------------------------------------------------------------------- synthetic
FAST_FORMATS = {  # digital range, invalid code
    "16": (-(2**15), 2**15 - 1),
    "61": (-(2**15), 2**15 - 1),
    "80": (-(2**7), 2**7 - 1),
    "212": (-(2**11), 2**11 - 1),
    "24": (-(2**23), 2**23 - 1),
    "32": (-(2**31), 2**31 - 1),
}


def write_digital(
    folder: Path,
    name: str,
    fmt: str,
    *,
    n_sig: int = 3,
    sig_len: int = 501,
    seed: int = 0,
    units: list[str] | None = None,
    names: list[str] | None = None,
) -> tuple[Path, np.ndarray]:
    """A record in ``fmt`` with random digital samples over the whole range (negative values,
    the invalid code, the extremes), non-zero baselines, odd gains, uV units, base time and
    date and comments; returns the header and the digital samples (sig_len, n_sig)."""
    lo, hi = FAST_FORMATS[fmt]
    rng = np.random.default_rng(seed)
    d = rng.integers(lo + 1, hi, size=(sig_len, n_sig), endpoint=True, dtype=np.int64)
    d[::7, 0] = lo  # invalid samples: NaN in wfdb
    d[1::11, -1] = lo
    d[2, :] = hi
    d[3, :] = lo + 1
    d[4, :] = -1
    wfdb.wrsamp(
        name,
        fs=250,
        units=units or ["uV", "mV", "uV"][:n_sig] + ["mV"] * (n_sig - 3),
        sig_name=names or ["I", "V2", "II"][:n_sig] + [f"V{i}" for i in range(3, n_sig)],
        d_signal=d.astype(np.int32 if fmt in ("24", "32") else np.int16),
        fmt=["16" if fmt == "61" else fmt] * n_sig,
        adc_gain=[200.0, 1000.5, 37.25][:n_sig] + [200.0] * (n_sig - 3),
        baseline=[-7, 0, 13][:n_sig] + [0] * (n_sig - 3),
        comments=["<age>: 71 <sex>: M", "device: Test 9", "patient id: P-1"],
        base_time=time(23, 59, 58, 250000),
        base_date=date(1999, 12, 31),
        write_dir=str(folder),
    )
    hea = folder / f"{name}.hea"
    if fmt == "61":  # wfdb writes 16 (little-endian) only: turn it big-endian
        dat = folder / f"{name}.dat"
        dat.write_bytes(np.frombuffer(dat.read_bytes(), dtype="<i2").astype(">i2").tobytes())
        hea.write_text(hea.read_text().replace(".dat 16 ", ".dat 61 "))
    return hea, d


@pytest.mark.parametrize("fmt", sorted(FAST_FORMATS))
@pytest.mark.parametrize("sig_len", [501, 1000])  # 3 x 501: an odd sample count (212)
def test_synthetic_formats(
    fmt: str, sig_len: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hea, d = write_digital(tmp_path, "syn", fmt, sig_len=sig_len)
    assert f"syn.dat {fmt} " in hea.read_text()
    rec = check(hea, monkeypatch)
    assert rec.start == datetime(1999, 12, 31, 23, 59, 58, 250000)
    assert (rec.patient.id, rec.patient.age, rec.patient.sex) == ("P-1", 71.0, "M")
    assert rec.device == "Test 9"
    # The decoder against the digital samples written (not only against wfdb).
    r = _wfdb_fast.parse_header(hea.read_bytes())
    assert r is not None
    assert r.baseline == [-7, 0, 13] and r.units == ["uV", "mV", "uV"]
    p = _wfdb_fast.read_signal(tmp_path, r)
    assert p is not None and p.dtype == np.float64 and p.shape == d.shape
    expect = (d - np.array([-7, 0, 13])) / np.array([200.0, 1000.5, 37.25])
    expect[d == FAST_FORMATS[fmt][0]] = np.nan
    np.testing.assert_array_equal(p, expect)
    np.testing.assert_array_equal(p.T, wfdb_signal(hea))
    gaps = [a for a in rec.annotations if a.text == GAP_TEXT]
    assert {a.lead for a in gaps} == {"I", "II"}


def test_header_fields_match_wfdb(tmp_path: Path) -> None:
    """Every field the reader uses, as wfdb.rdheader gives it, over header variants."""
    hea, _ = write_digital(tmp_path, "h", "16", n_sig=2)
    lines = hea.read_text().splitlines()
    sig = [ln for ln in lines[1:] if not ln.startswith("#")]
    variants = {
        "as written": lines,
        "no baseline: ADC zero": [lines[0]]
        + [ln.replace("(-7)", "").replace("(0)", "") for ln in sig],
        "no units": [lines[0]] + [ln.replace("/uV", "").replace("/mV", "") for ln in sig],
        "explicit frame fields": [lines[0]] + [ln.replace(" 16 ", " 16x1:0+0 ", 1) for ln in sig],
        "time only": ["h 2 250.0 501 7:05:09", *sig],
        "minutes and seconds": ["h 2 250 501 05:09.5", *sig],
        "fractional rate": ["h 2 0.5 501", *sig],
        "comments anywhere": ["  # first  ", "h\t2 250 501", "#", *sig, "##  last # one "],
        "CRLF, blank lines, tabs": ["h 2\t250 501", "", *[ln + " " for ln in sig], "\t"],
        "description with spaces": [lines[0], sig[0], sig[1] + " lead  (x)"],
        "exponent gain": [lines[0], sig[0].replace(" 200.0", " 2e+02"), sig[1]],
        "non-ASCII bytes": [lines[0] + " ", "# caf\xe9", *sig],
    }
    for what, text in variants.items():
        sep = "\r\n" if "CRLF" in what else "\n"
        hea.write_bytes((sep.join(text) + sep).encode("latin-1"))
        r = _wfdb_fast.parse_header(hea.read_bytes())
        assert r is not None, what
        w = wfdb.rdheader(str(tmp_path / "h"))
        for field in (
            "record_name n_sig fs sig_len base_time base_date comments file_name fmt "
            "adc_gain baseline units sig_name"
        ).split():
            mine, theirs = getattr(r, field), getattr(w, field)
            assert mine == theirs and type(mine) is type(theirs), (what, field, mine, theirs)


# ---------------------------------------------------------------------------- fallbacks
@pytest.mark.parametrize(
    "change",
    [
        "gain 0",
        "no gain",
        "no description",
        "counter frequency",
        "no length",
        "frames",
        "skew",
        "two files",
        "two formats",
        "bad time",
        "multi-segment",
    ],
)
def test_unsupported_headers_fall_back(
    change: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hea, _ = write_digital(tmp_path, "f", "16", n_sig=2, sig_len=400)
    rec_line, s0, s1 = [ln for ln in hea.read_text().splitlines() if not ln.startswith("#")]
    parts = s0.split()
    if change == "gain 0":
        s0 = s0.replace(" 200.0(-7)/uV ", " 0(-7)/uV ")
    elif change == "no gain":  # wfdb: 200/mV; the description needs every field before it
        s0, s1 = "f.dat 16", "f.dat 16"
    elif change == "no description":
        s0 = " ".join(parts[:-1])
    elif change == "counter frequency":
        rec_line = rec_line.replace(" 250 ", " 250/1000(0) ")
    elif change == "no length":  # wfdb infers it from the file size
        rec_line = "f 2 250"
    elif change == "frames":
        s0, s1 = s0.replace(" 16 ", " 16x2 ", 1), s1.replace(" 16 ", " 16x2 ", 1)
        rec_line = rec_line.replace(" 400 ", " 200 ")
    elif change == "skew":
        s1 = s1.replace(" 16 ", " 16:1 ", 1)
    elif change == "two files":
        (tmp_path / "g.dat").write_bytes((tmp_path / "f.dat").read_bytes())
        s1 = s1.replace("f.dat", "g.dat")
    elif change == "two formats":
        s1 = s1.replace(" 16 ", " 61 ", 1)
    elif change == "bad time":  # wfdb's own error either way
        rec_line = rec_line.replace("23:59:58.25", "24:59:58")
    elif change == "multi-segment":
        (tmp_path / "seg.hea").write_text(f"seg 2 250 400\n{s0}\n{s1}\n")
        rec_line, s0, s1 = "f/1 2 250 400", "seg 400", ""
    hea.write_text("\n".join([rec_line, s0, s1]) + "\n")
    assert _wfdb_fast.parse_header(hea.read_bytes()) is None
    if change == "bad time":
        with pytest.raises(ECGError):
            ecg_io.read(hea)
        return
    rec = check(hea, monkeypatch, fast=False)
    assert rec.n_samples > 0


@pytest.mark.parametrize("index", range(10))
def test_each_binformat_alone(index: int, fixtures_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """One-signal records on the fixture's files: 16, 61, 80, 212, 24 and 32 fast; 8, 160,
    310 and 311 through wfdb; the same values both ways and as wfdb's."""
    src = fixtures_dir / "wfdb" / "binformats.hea"
    line = src.read_text().splitlines()[1 + index]
    fmt = line.split()[1]
    dat = f"binformats.d{index}"
    (tmp_path / dat).write_bytes((fixtures_dir / "wfdb" / dat).read_bytes())
    hea = tmp_path / "one.hea"
    hea.write_text(f"one 1 200 499\n{line}\n")
    rec = check(hea, monkeypatch, fast=fmt in FAST_FORMATS)
    np.testing.assert_allclose(rec.signal, np.nan_to_num(wfdb_signal(hea)), atol=1e-5)


def test_short_file_refused_before_reading(tmp_path: Path, monkeypatch) -> None:
    hea, _ = write_digital(tmp_path, "t", "212", n_sig=3, sig_len=501)
    dat = tmp_path / "t.dat"
    dat.write_bytes(dat.read_bytes()[:-40])
    monkeypatch.setattr(_wfdb_fast, "read_signal", None)  # _check_sizes refuses first
    with pytest.raises(CorruptFileError, match="truncated"):
        ecg_io.read(hea)


def test_byte_offset(tmp_path: Path, monkeypatch) -> None:
    hea, d = write_digital(tmp_path, "o", "24", n_sig=2, sig_len=300)
    dat = tmp_path / "o.dat"
    dat.write_bytes(b"\x07" * 24 + dat.read_bytes())
    hea.write_text(hea.read_text().replace("o.dat 24 ", "o.dat 24+24 "))
    rec = check(hea, monkeypatch)
    expect = np.nan_to_num(wfdb_signal(hea)) * [[1e-3], [1]]
    np.testing.assert_allclose(rec.signal, expect, rtol=1e-6, atol=1e-6)


def test_long_record_still_paged_by_wfdb(fixtures_dir: Path) -> None:
    hea = fixtures_dir / "wfdb" / "100.hea"
    rec = wfdb_format.read(hea, whole_load_values=0, annotations=False)
    assert isinstance(rec.signal, wfdb_format.WfdbPagedSignal)


# ---------------------------------------------------------------------------- folder listing
def _glob_names(folder: Path, stem: str) -> list[str]:
    """What the reader used to consider: ``stem.*`` by glob, less names whose extension is
    empty or has a dot (skipped before and after)."""
    names = [p.name for p in sorted(folder.glob(f"{stem}.*"))]
    return [n for n in names if n[len(stem) + 1 :] and "." not in n[len(stem) + 1 :]]


def _listed(folder: Path, stem: str) -> list[str]:
    return [
        n
        for n in wfdb_format._files_of(folder, stem)
        if n[len(stem) + 1 :] and "." not in n[len(stem) + 1 :]
    ]


def test_listing_matches_glob(tmp_path: Path) -> None:
    names = [
        "1.hea", "1.dat", "1.atr", "10.hea", "10.atr", "1.a.b", "1.", "1", ".1.atr", "1.Atr",
        "1..x", "a-b.hea", "a-b.qrs", "a.b.hea", "a.b.atr", "x y.hea", "x y.atr",
    ]  # fmt: skip
    for n in names:
        (tmp_path / n).write_bytes(b"")
    (tmp_path / "1.dir").mkdir()
    stems = {"1", "10", "a", "a-b", "a.b", "x y", "missing"}
    for stem in stems:
        assert _listed(tmp_path, stem) == _glob_names(tmp_path, stem), stem
    old = 1_000_000_000  # settled: the listing is cached, and still right
    os.utime(tmp_path, (old, old))
    for stem in stems:
        assert _listed(tmp_path, stem) == _glob_names(tmp_path, stem), stem


def test_listing_matches_glob_on_shared_folders(fixtures_dir: Path) -> None:
    folders = [fixtures_dir / "wfdb", fixtures_dir / "wfdb" / "multiseg_041s", LUDB]
    for folder in folders:
        if not folder.is_dir():
            continue
        for hea in sorted(folder.glob("*.hea"))[:50]:
            assert _listed(folder, hea.stem) == _glob_names(folder, hea.stem)


def test_folder_listed_once_and_again_after_a_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = SHARED / "fixtures" / "wfdb"
    if not src.is_dir():
        pytest.skip("shared fixtures absent")
    for stem in ("a", "b"):
        (tmp_path / f"{stem}.hea").write_text(
            (src / "3000003_0003.hea").read_text().replace("3000003_0003", stem)
        )
        (tmp_path / f"{stem}.dat").write_bytes((src / "3000003_0003.dat").read_bytes())
    old = 1_000_000_000
    os.utime(tmp_path, (old, old))
    scans: list[str] = []
    real = os.scandir

    def counting(path):  # type: ignore[no-untyped-def]
        scans.append(str(path))
        return real(path)

    monkeypatch.setattr(wfdb_format.os, "scandir", counting)
    assert ecg_io.read(tmp_path / "a.hea").annotations == []
    assert ecg_io.read(tmp_path / "b.hea").annotations == []
    assert scans.count(str(tmp_path)) == 1  # one listing for the folder, not one per record
    # A new annotation file changes the folder: it is listed again and the file is read.
    wfdb.wrann("b", "atr", np.array([10, 500]), ["N", "V"], write_dir=str(tmp_path))
    rec = ecg_io.read(tmp_path / "b.hea")
    assert [a.text for a in rec.annotations] == ["N", "V"]
    assert scans.count(str(tmp_path)) == 2


@pytest.mark.parametrize(
    "line",
    [
        "a" * 64_000,  # no field at all
        "x.dat 16 " + "1" * 64_000 + "z",  # a gain that never ends
        "x.dat 16 200(0)/mV 16 0 0 0 0 " + "I" * 64_000,  # a description too long
    ],
)
def test_a_header_line_too_long_is_refused_at_once(
    tmp_path: Path, line: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """wfdb's line patterns backtrack polynomially on a long line that does not match (29 s
    for 64,000 characters): such a header is refused before any pattern sees it."""
    (tmp_path / "x.dat").write_bytes(bytes(2 * 5000))
    hea = tmp_path / "h.hea"
    hea.write_text(f"h 1 500 5000\n{line}\n")
    for fast in (True, False):
        monkeypatch.setattr(wfdb_format, "FAST_PATH", fast)
        t0 = clock.perf_counter()
        with pytest.raises(CorruptFileError, match="line 2 of the header is .* characters long"):
            ecg_io.read(hea)
        assert clock.perf_counter() - t0 < 1.0


def test_the_fast_parser_is_linear_in_a_hostile_line() -> None:
    """Its patterns are unambiguous: a non-matching 1-million-character line fails at once
    (a pattern with two quantifiers over the same run of digits took 13 s for 16,000)."""
    for tail in (b"1" * 1_000_000 + b"z", b"a" * 1_000_000):
        t0 = clock.perf_counter()
        assert _wfdb_fast.parse_header(b"rec 1 500 5000\nx.dat 16 " + tail + b"\n") is None
        assert clock.perf_counter() - t0 < 2.0


def test_physionet_challenge_2020_record_line(tmp_path: Path) -> None:
    """The CinC 2020/2021 12-lead headers: a record name ending in ".mat" (Georgia, which
    wfdb refuses) and the date before the time as DD-Mon-YYYY (every record; wfdb reads
    "05-May-2020" as no date and "14:50:55" as 00:00:14)."""
    hea, _ = write_digital(tmp_path, "E00001", "16", n_sig=3, sig_len=600)
    reference = ecg_io.read(hea)
    lines = hea.read_text().splitlines()
    fields = lines[0].split()
    for first in (
        f"E00001.mat {fields[1]} {fields[2]} {fields[3]} 05-May-2020 14:50:55",
        f"E00001 {fields[1]} {fields[2]} {fields[3]} 05-May-2020 14:50:55",
    ):
        hea.write_text("\n".join([first, *lines[1:]]) + "\n")
        rec = ecg_io.read(hea)
        np.testing.assert_array_equal(rec.signal, reference.signal)
        assert rec.start == datetime(2020, 5, 5, 14, 50, 55)
        assert not any("start time" in note for note in rec.notes)
    hea.write_text("\n".join([first.replace("May", "Mai"), *lines[1:]]) + "\n")
    assert ecg_io.read(hea).start is None  # not a month: left to wfdb, no date taken


def test_physionet_challenge_2017_record_line(tmp_path: Path) -> None:
    """The CinC 2017 single-lead headers give the date first as YYYY-MM-DD (and end the line
    with a space): wfdb refuses them ("unconverted data remains"); read, with their start."""
    hea, _ = write_digital(tmp_path, "A00001", "16", n_sig=1, sig_len=600)
    reference = ecg_io.read(hea)
    lines = hea.read_text().splitlines()
    fields = lines[0].split()
    first = f"A00001 {fields[1]} {fields[2]} {fields[3]} 2014-05-08 05:05:15 "
    hea.write_text("\r\n".join([first, *lines[1:]]) + "\r\n")
    rec = ecg_io.read(hea)
    np.testing.assert_array_equal(rec.signal, reference.signal)
    assert rec.start == datetime(2014, 5, 8, 5, 5, 15)
    hea.write_text("\n".join([first.replace("05-08", "13-08"), *lines[1:]]) + "\n")
    with pytest.raises(ECGError, match="A00001"):  # no 13th month: wfdb's error, one line
        ecg_io.read(hea)
