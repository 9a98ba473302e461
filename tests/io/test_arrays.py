"""Plain .npy/.csv arrays: the rate must be given, both orientations, names, units, paging,
bad input. Expected values are the arrays the tests wrote with numpy."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from ecgviewer import io as ecg_io
from ecgviewer.errors import (
    CorruptFileError,
    ECGError,
    EmptyFileError,
    FileAccessError,
    InvalidSignalError,
    UnknownFormatError,
)
from ecgviewer.io import arrays
from tests.io._writers import LEADS_12, synthetic_12lead


@pytest.fixture
def sig() -> np.ndarray:
    return synthetic_12lead(500.0, 10.0).astype(np.float32)


@pytest.mark.parametrize("transpose", [False, True])
def test_npy_either_orientation(tmp_path: Path, sig: np.ndarray, transpose: bool) -> None:
    path = tmp_path / "x.npy"
    np.save(path, sig.T if transpose else sig)
    rec = ecg_io.read(path, fs=500, leads=LEADS_12)
    assert rec.format == "npy" and rec.fs == 500
    assert rec.leads == LEADS_12
    np.testing.assert_array_equal(rec.signal, sig)


def test_npy_without_rate_is_refused(tmp_path: Path, sig: np.ndarray) -> None:
    path = tmp_path / "x.npy"
    np.save(path, sig)
    with pytest.raises(InvalidSignalError, match="--fs"):
        ecg_io.read(path)


@pytest.mark.parametrize("fs", [0, -5, float("nan"), 1e9, "fast"])
def test_implausible_rate(tmp_path: Path, sig: np.ndarray, fs: object) -> None:
    path = tmp_path / "x.npy"
    np.save(path, sig)
    with pytest.raises(InvalidSignalError, match="x.npy"):
        ecg_io.read(path, fs=fs)


def test_unnamed_leads_get_placeholders_and_a_note(tmp_path: Path, sig: np.ndarray) -> None:
    path = tmp_path / "x.npy"
    np.save(path, sig[:3])
    rec = ecg_io.read(path, fs=500)
    assert rec.leads == ["ch1", "ch2", "ch3"]
    assert any("lead names" in note for note in rec.notes)


def test_units_and_integer_arrays(tmp_path: Path, sig: np.ndarray) -> None:
    path = tmp_path / "uv.npy"
    counts = np.round(sig * 1000).astype(np.int16)  # microvolts as integers
    np.save(path, counts)
    rec = ecg_io.read(path, fs=500, units="uV", leads=LEADS_12)
    np.testing.assert_allclose(rec.signal, counts / 1000.0, rtol=1e-6)
    with pytest.raises(InvalidSignalError, match="mmHg"):
        ecg_io.read(path, fs=500, units="mmHg")


def test_csv_with_header_and_time_column(tmp_path: Path, sig: np.ndarray) -> None:
    path = tmp_path / "x.csv"
    t = np.arange(sig.shape[1]) / 500
    table = np.column_stack([t, sig[:2].T])
    np.savetxt(path, table, delimiter=",", header="time,AVR,V1-", comments="", fmt="%.6f")
    rec = ecg_io.read(path, fs=500)
    assert rec.format == "csv"
    assert rec.leads == ["aVR", "V1"]  # normalised, time column dropped
    np.testing.assert_allclose(rec.signal, sig[:2], atol=1e-6)


def test_csv_semicolons_no_header_samples_in_rows(tmp_path: Path, sig: np.ndarray) -> None:
    path = tmp_path / "rows.txt"
    np.savetxt(path, sig[:3].T, delimiter=";", fmt="%.6f")
    rec = arrays.read(path, fs=250, leads=["I", "II", "V2"])
    assert rec.leads == ["I", "II", "V2"] and rec.n_samples == sig.shape[1]
    np.testing.assert_allclose(rec.signal, sig[:3], atol=1e-6)


@pytest.mark.parametrize("header", [False, True])
def test_csv_with_empty_columns_for_unrecorded_leads(
    tmp_path: Path, sig: np.ndarray, header: bool
) -> None:
    """A Contec export writes the chest leads it did not record as empty cells (",,,,,,"):
    refused as "values are not all numbers"; now those columns are left out, with a note."""
    path = tmp_path / "contec.csv"
    rows = [",".join(f"{v:.4f}" for v in col) + ",,," for col in sig[:3].T]
    path.write_text(("I,II,III,V1,V2,V3\n" if header else "") + "\n".join(rows) + "\n")
    rec = arrays.read(path, fs=500)
    assert rec.n_leads == 3 and rec.n_samples == sig.shape[1]
    np.testing.assert_allclose(rec.signal, sig[:3], atol=1e-4)
    assert "3 empty columns (no value in the first rows) left out" in rec.notes
    if header:
        assert rec.leads == ["I", "II", "III"]


def test_csv_leads_in_rows(tmp_path: Path, sig: np.ndarray) -> None:
    path = tmp_path / "wide.csv"
    np.savetxt(path, sig[:2, :400], delimiter=",", fmt="%.6f")
    rec = arrays.read(path, fs=500)
    assert rec.n_leads == 2 and rec.n_samples == 400


def test_large_npy_is_paged(tmp_path: Path) -> None:
    data = np.random.default_rng(1).normal(size=(3, 200_000)).astype(np.float32)
    path = tmp_path / "big.npy"
    np.save(path, data)
    rec = arrays.read(path, fs=500, whole_load_values=1000)
    assert isinstance(rec.signal, arrays.ArrayPagedSignal)
    np.testing.assert_array_equal(rec.signal[:, 1000:6000], data[:, 1000:6000])
    np.testing.assert_array_equal(rec.signal[2, 5:9], data[2, 5:9])
    np.testing.assert_array_equal(np.asarray(rec.signal), data)
    bad = data.copy()
    bad[1, 150_000] = np.nan
    np.save(path, bad)
    rec = arrays.read(path, fs=500, whole_load_values=1000)
    np.testing.assert_array_equal(rec.signal[:, :100], data[:, :100])  # clean page reads
    with pytest.raises(InvalidSignalError, match="NaN"):
        rec.signal[:, 149_000:151_000]


def test_nan_samples_rejected(tmp_path: Path, sig: np.ndarray) -> None:
    sig[4, 100] = np.inf
    path = tmp_path / "x.npy"
    np.save(path, sig)
    with pytest.raises(InvalidSignalError, match="aVL"):
        ecg_io.read(path, fs=500, leads=LEADS_12)


def test_pickled_object_array_refused(tmp_path: Path) -> None:
    path = tmp_path / "obj.npy"
    np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(CorruptFileError, match="obj.npy"):
        ecg_io.read(path, fs=500)


@pytest.mark.parametrize("shape", [(2, 3, 500), (40, 50)])
def test_unusable_shapes(tmp_path: Path, shape: tuple[int, ...]) -> None:
    path = tmp_path / "s.npy"
    np.save(path, np.zeros(shape, dtype=np.float32))
    with pytest.raises(InvalidSignalError, match="s.npy"):
        ecg_io.read(path, fs=500)


def test_wrong_number_of_names(tmp_path: Path, sig: np.ndarray) -> None:
    path = tmp_path / "x.npy"
    np.save(path, sig)
    with pytest.raises(InvalidSignalError, match="3 lead names"):
        ecg_io.read(path, fs=500, leads=["I", "II", "III"])


def test_truncated_npy(tmp_path: Path, sig: np.ndarray) -> None:
    path = tmp_path / "cut.npy"
    np.save(path, sig)
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(CorruptFileError, match="cut.npy"):
        ecg_io.read(path, fs=500)


def test_csv_bad_values_and_empty(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("I,II\n1,2\n3,oops\n")
    with pytest.raises(CorruptFileError, match="bad.csv"):
        ecg_io.read(bad, fs=500)
    header_only = tmp_path / "h.csv"
    header_only.write_text("I,II\n")
    with pytest.raises(EmptyFileError):
        ecg_io.read(header_only, fs=500)
    empty = tmp_path / "e.csv"
    empty.touch()
    with pytest.raises(EmptyFileError):
        ecg_io.read(empty, fs=500)
    ragged = tmp_path / "r.csv"
    ragged.write_text("I,II,III\n1,2\n")
    with pytest.raises(ECGError, match="r.csv"):
        ecg_io.read(ragged, fs=500)


def test_messages_name_a_txt_table_by_its_kind(tmp_path: Path) -> None:
    """A .txt table is read as a text array; its messages do not call it a CSV file."""
    header_only = tmp_path / "h.txt"
    header_only.write_text("I II\n")
    with pytest.raises(EmptyFileError, match="text table has a header row"):
        ecg_io.read(header_only, fs=500)
    with pytest.raises(InvalidSignalError, match=r"\.txt files do not store one"):
        ecg_io.read(header_only)
    csv_header_only = tmp_path / "h.csv"
    csv_header_only.write_text("I,II\n")
    with pytest.raises(EmptyFileError, match="CSV file has a header row"):
        ecg_io.read(csv_header_only, fs=500)


def test_binary_garbage_as_csv(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(CorruptFileError):
        ecg_io.read(path, fs=500)


def test_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "thing.xyz"
    path.write_bytes(b"\x00\x01 hello")
    with pytest.raises(UnknownFormatError, match="thing.xyz"):
        ecg_io.read(path)


def test_permission_denied(
    tmp_path: Path, sig: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "x.npy"
    np.save(path, sig)
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if Path(p) == path else real(p, m))
    with pytest.raises(FileAccessError, match="permission denied"):
        ecg_io.read(path, fs=500)


def test_never_writes(tmp_path: Path, sig: np.ndarray) -> None:
    path = tmp_path / "x.npy"
    np.save(path, sig)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    rec = arrays.read(path, fs=500, whole_load_values=10)
    np.asarray(rec.signal)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


# ---------------------------------------------------------------------------- hostile CSV
def test_oversized_csv_refused_before_reading(tmp_path: Path) -> None:
    from ecgviewer.errors import FileTooLargeError
    from tests.limited import read_limited

    path = tmp_path / "huge.csv"
    with open(path, "wb") as fh:
        fh.write(b"I,II\n0.1,0.2\n")
        fh.truncate(arrays.MAX_CSV_BYTES + 1)  # sparse: no disk, no time
    out = read_limited(path, fs=500)
    assert out["type"] == FileTooLargeError.__name__, out
    assert "256 MB limit" in out["message"] and ".npy" in out["message"]


def test_csv_parsed_from_the_file_not_a_copy_of_its_text(tmp_path: Path) -> None:
    """Peak memory stays near the array's own size (the old reader held ~13x the file)."""
    from tests.limited import read_limited

    path = tmp_path / "long.csv"
    rng = np.random.default_rng(0)
    block = (
        "\n".join(",".join(f"{v:.3f}" for v in row) for row in rng.standard_normal((2000, 12)))
        + "\n"
    )
    with open(path, "w") as fh:
        fh.write(",".join(LEADS_12) + "\n# a comment line\n\n")
        for _ in range(150):  # ~30 MB, 300,000 rows
            fh.write(block)
    out = read_limited(path, fs=500)
    assert out["outcome"] == "record" and out["n"] == 300_000, out
    size_mb = path.stat().st_size / 2**20
    assert out["peak_mb"] < 80 + 3 * size_mb, (out, size_mb)


@pytest.mark.parametrize("value, words", [("1e308", "overflow"), ("1e39", "not an ECG")])
def test_huge_csv_values_refused_without_a_numpy_warning(tmp_path: Path, value, words) -> None:
    import warnings

    path = tmp_path / "big.csv"
    path.write_text(f"I,II\n{value},1\n2,3\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning leaking to stderr fails
        with pytest.raises(InvalidSignalError, match=words):
            ecg_io.read(path, fs=250, units="V")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("I,II\n1,,3\n2,,4\n", "header row has 2 names but rows have 3 values"),
        # filled after the 64 kB the columns are judged on
        ("1,,3\n" * 20_000 + "1,2,3\n", "column 2 is empty in the first rows but holds values"),
    ],
)
def test_left_out_columns_never_hide_data_or_shift_names(tmp_path: Path, text, problem) -> None:
    """A header shorter than the rows gave its second name to the third column; a lead filled
    only after the first rows was dropped with a note: both are refused now."""
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(CorruptFileError, match=problem):
        arrays.read(path, fs=500)
