"""HDF5 reader: CODE-15% layout (files written here with h5py as the dataset documents them)
and the project's own layout (round trip through write_own_layout)."""

from __future__ import annotations

import hashlib
from datetime import datetime

import h5py
import numpy as np
import pytest

from ecgviewer.errors import CorruptFileError, ECGError, EmptyFileError, InvalidSignalError
from ecgviewer.io import hdf5 as h5reader
from ecgviewer.io import read, reader_for
from ecgviewer.record import Annotation, Patient, Record, RecordEntry

# CODE-15% documentation: 4096 samples at 400 Hz; 10 s exams (4000 samples) and 7 s exams
# (2800 samples) are centred with zeros, e.g. 648 zeros at each end of a 7 s exam.
CODE15_ORDER = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]


def _ecg(n_samples: int, seed: int) -> np.ndarray:
    """(samples, 12) non-zero test signal in mV: a sine per lead plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) / 400.0
    leads = [np.sin(2 * np.pi * (1 + k / 10) * t) * (0.5 + k / 12) for k in range(12)]
    return (np.stack(leads, axis=1) + 0.01 * rng.standard_normal((n_samples, 12)) + 0.05).astype(
        np.float32
    )


@pytest.fixture
def code15_file(tmp_path):
    """Three exams: 10 s, 7 s and 10 s, padded as CODE-15% pads them."""
    exams = {101: _ecg(4000, 1), 202: _ecg(2800, 2), 303: _ecg(4000, 3)}
    tracings = np.zeros((3, 4096, 12), dtype=np.float32)
    for row, sig in enumerate(exams.values()):
        pad = (4096 - len(sig)) // 2
        tracings[row, pad : pad + len(sig)] = sig
    path = tmp_path / "exams_part0.hdf5"
    with h5py.File(path, "w") as fh:
        fh.create_dataset("tracings", data=tracings, chunks=(1, 4096, 12))
        fh.create_dataset("exam_id", data=np.array(list(exams), dtype=np.int64))
    return path, exams


def test_code15_opens_as_list_of_entries(code15_file):
    path, exams = code15_file
    assert reader_for(path).name == "hdf5"
    entries = read(path)
    assert isinstance(entries, list) and len(entries) == 3
    assert all(isinstance(e, RecordEntry) for e in entries)
    assert [e.key for e in entries] == ["101", "202", "303"]
    assert entries[1].label == "exam 202"


def test_code15_exam_trimmed_to_its_own_length_in_mv(code15_file):
    path, exams = code15_file
    entries = {e.key: e for e in read(path)}
    rec = entries["202"].load()
    assert rec.fs == 400.0
    assert rec.leads == CODE15_ORDER
    assert rec.n_samples == 2800  # 7 s exam: 648 zeros removed at each end
    np.testing.assert_array_equal(rec.signal, exams[202].T)
    assert any("648 samples at the start, 648 at the end" in n for n in rec.notes)
    assert entries["101"].load().n_samples == 4000


def test_code15_entry_reads_one_exam_not_the_file(code15_file, monkeypatch):
    path, _ = code15_file
    reads: list[tuple[str, object]] = []
    original = h5py.Dataset.__getitem__

    def spy(self, key):
        reads.append((self.name, key))
        return original(self, key)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    entries = read(path)
    assert not [r for r in reads if r[0] == "/tracings"], "listing must not read tracings"
    reads.clear()
    entries[2].load()
    assert reads == [("/tracings", 2)]


def _twelve_lead(n: int) -> dict[str, np.ndarray]:
    """Leads that obey Einthoven/Goldberger, as a cart derives them from I and II."""
    t = np.arange(n) / 400.0
    lead_i = 0.6 * np.sin(2 * np.pi * 1.2 * t)
    lead_ii = 1.1 * np.sin(2 * np.pi * 1.2 * t + 0.4)
    leads = {
        "I": lead_i,
        "II": lead_ii,
        "III": lead_ii - lead_i,
        "aVR": -(lead_i + lead_ii) / 2,
        "aVL": lead_i - lead_ii / 2,
        "aVF": lead_ii - lead_i / 2,
    }
    leads.update({f"V{k}": 0.2 * k * np.cos(2 * np.pi * 1.2 * t + k) for k in range(1, 7)})
    return leads


@pytest.mark.parametrize(
    ("stored", "noted"),
    [(["aVR", "aVL", "aVF"], False), (["aVL", "aVF", "aVR"], True)],  # CODE-15% / CODE-test README
)
def test_code15_augmented_lead_order_checked_against_i_and_ii(tmp_path, stored, noted):
    leads = _twelve_lead(4000)
    order = ["I", "II", "III", *stored, "V1", "V2", "V3", "V4", "V5", "V6"]
    tracings = np.zeros((2, 4096, 12), np.float32)
    tracings[:, 48:4048] = np.stack([leads[name] for name in order], axis=1)
    path = tmp_path / "ecg_tracings.hdf5"
    with h5py.File(path, "w") as fh:
        fh["tracings"] = tracings
    rec = read(path)[0].load()
    assert rec.leads == order
    for name in ("aVR", "aVL", "aVF"):
        np.testing.assert_allclose(rec.signal[rec.lead_index(name)], leads[name], atol=1e-6)
    assert any("Goldberger" in note for note in rec.notes) == noted


def test_code15_without_exam_id_is_keyed_by_row(tmp_path):
    path = tmp_path / "ecg_tracings.hdf5"  # CODE-test layout: tracings only
    data = np.zeros((2, 4096, 12), np.float32)
    data[:, 48:4048] = _ecg(4000, 5)
    with h5py.File(path, "w") as fh:
        fh["tracings"] = data
    entries = read(path)
    assert [e.key for e in entries] == ["0", "1"]
    assert entries[1].load().n_samples == 4000


def test_code15_single_exam_returns_record(tmp_path):
    path = tmp_path / "one.h5"
    data = np.zeros((1, 4096, 12), np.float32)
    data[0, 48:4048] = _ecg(4000, 7)
    with h5py.File(path, "w") as fh:
        fh["tracings"] = data
        fh["exam_id"] = np.array([42])
    rec = read(path)
    assert isinstance(rec, Record)
    assert rec.n_samples == 4000 and "exam_id 42" in rec.notes


def test_code15_demographics_from_exams_csv(code15_file):
    path, _ = code15_file
    (path.parent / "exams.csv").write_text(
        "exam_id,age,is_male,nn_predicted_age,1dAVb,patient_id\n"
        "101,57,True,60.1,False,9001\n"
        "202,33,False,30.0,False,9002\n"
    )
    entries = {e.key: e for e in read(path)}
    assert entries["101"].patient == Patient(id="9001", age=57.0, sex="M")
    assert entries["202"].load().patient == Patient(id="9002", age=33.0, sex="F")
    assert entries["303"].patient == Patient()


@pytest.mark.parametrize(
    ("mutate", "error", "words"),
    [
        (lambda t: t.__setitem__((1, slice(None)), 0.0), EmptyFileError, "only zeros"),
        (lambda t: t.__setitem__((1, 2000, 3), np.nan), InvalidSignalError, "NaN"),
    ],
)
def test_code15_bad_exam_fails_on_load_only(tmp_path, mutate, error, words):
    tracings = np.zeros((2, 4096, 12), np.float32)
    tracings[:, 48:4048] = _ecg(4000, 9)
    mutate(tracings)
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as fh:
        fh["tracings"] = tracings
        fh["exam_id"] = np.array([1, 2])
    entries = read(path)
    entries[0].load()  # the good exam still opens
    with pytest.raises(error, match=words) as info:
        entries[1].load()
    assert str(path) in str(info.value)


def test_code15_mismatched_exam_ids(tmp_path):
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as fh:
        fh["tracings"] = np.ones((3, 4096, 12), np.float32)
        fh["exam_id"] = np.array([1, 2])
    with pytest.raises(CorruptFileError, match="2 ids but 'tracings' has 3"):
        read(path)


def test_code15_wrong_shape(tmp_path):
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as fh:
        fh["tracings"] = np.ones((3, 12, 4096), np.float32)
    with pytest.raises(CorruptFileError, match=r"\(3, 12, 4096\)"):
        read(path)


def test_unknown_layout_names_what_it_found(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as fh:
        fh["eeg/data"] = np.ones((4, 100))
        fh["labels"] = np.arange(3)
    with pytest.raises(CorruptFileError) as info:
        read(path)
    message = str(info.value)
    assert "'eeg/data' (4, 100)" in message and "'labels' (3,)" in message


def test_hdf5_magic_with_garbage_is_corrupt(tmp_path):
    path = tmp_path / "broken.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00garbage" * 50)
    with pytest.raises(CorruptFileError, match="HDF5"):
        read(path)


# ---------------------------------------------------------------------------- own layout
def _record(n_samples: int = 5000, fs: float = 500.0, seed: int = 0) -> Record:
    rng = np.random.default_rng(seed)
    return Record(
        signal=rng.standard_normal((3, n_samples)).astype(np.float32),
        fs=fs,
        leads=["I", "II", "RESP"],
        start=datetime(2024, 5, 1, 10, 22, 3, 250000),
        patient=Patient(id="P-7", age=61.5, sex="F"),
        annotations=[
            Annotation(1.25, 0.0, "N", "II"),
            Annotation(2.0, 0.5, "noise – artefact", None),
        ],
        source=None,
        format="test",
        derived_leads=(),
        non_ecg=("RESP",),
        device="Acme 3000",
    )


def test_own_layout_round_trip(tmp_path):
    original = _record()
    path = h5reader.write_own_layout(tmp_path / "own.h5", original)
    with h5py.File(path, "r") as fh:  # the documented layout, checked with h5py itself
        assert fh.attrs["ecgviewer_layout"] == 1
        assert fh["ecgs/ecg_000/signal"].dtype == np.float32
        assert fh["ecgs/ecg_000/signal"].shape == (3, 5000)
        assert fh["ecgs/ecg_000"].attrs["fs"] == 500.0
    rec = read(path)
    assert isinstance(rec, Record)
    np.testing.assert_array_equal(rec.signal, original.signal)
    assert rec.fs == 500.0 and rec.leads == ["I", "II", "RESP"]
    assert rec.start == original.start
    assert rec.patient == original.patient
    assert rec.annotations == original.annotations
    assert rec.non_ecg == ("RESP",) and rec.device == "Acme 3000"
    assert rec.format == "hdf5" and rec.source == str(path)


def test_own_layout_many_records_is_a_list(tmp_path):
    recs = {"b_second": _record(seed=2), "a_first": _record(seed=1, fs=250.0)}
    path = h5reader.write_own_layout(tmp_path / "many.h5", recs)
    entries = read(path)
    assert [e.key for e in entries] == ["a_first", "b_second"]
    assert entries[0].patient.id == "P-7" and entries[0].start == datetime(
        2024, 5, 1, 10, 22, 3, 250000
    )
    loaded = entries[0].load()
    assert loaded.fs == 250.0
    np.testing.assert_array_equal(loaded.signal, recs["a_first"].signal)


def test_own_layout_large_signal_is_paged(tmp_path, monkeypatch):
    monkeypatch.setattr(h5reader, "PAGED_SAMPLES", 1000)
    original = _record(n_samples=20_000, fs=100.0)
    path = h5reader.write_own_layout(tmp_path / "long.h5", original)
    rec = read(path)
    assert isinstance(rec.signal, h5reader.H5PagedSignal)
    page = rec.slice(50.0, 60.0)
    np.testing.assert_array_equal(page.signal, original.signal[:, 5000:6000])
    np.testing.assert_array_equal(rec.signal[1, 10:20], original.signal[1, 10:20])
    np.testing.assert_array_equal(np.asarray(rec.signal), original.signal)


def test_writing_a_paged_record_copies_page_by_page(tmp_path, monkeypatch):
    monkeypatch.setattr(h5reader, "PAGED_SAMPLES", 1000)
    original = _record(n_samples=20_000, fs=100.0)
    paged = read(h5reader.write_own_layout(tmp_path / "a.h5", original))
    assert isinstance(paged.signal, h5reader.H5PagedSignal)
    import ecgviewer.io._hdf5_own as own

    monkeypatch.setattr(own, "PAGED_SAMPLES", 3000)  # 1000-sample pages for 3 leads
    pages: list[tuple[int, int]] = []
    original_getitem = h5reader.H5PagedSignal.__getitem__

    def spy(self, key):
        pages.append((key[1].start, key[1].stop))
        return original_getitem(self, key)

    monkeypatch.setattr(h5reader.H5PagedSignal, "__getitem__", spy)
    copy = read(h5reader.write_own_layout(tmp_path / "b.h5", paged))
    assert len(pages) == 20 and max(b - a for a, b in pages) == 1000
    np.testing.assert_array_equal(np.asarray(copy.signal), original.signal)


def test_own_layout_newer_version_refused(tmp_path):
    path = h5reader.write_own_layout(tmp_path / "v9.h5", _record())
    with h5py.File(path, "a") as fh:
        fh.attrs["ecgviewer_layout"] = 9
    with pytest.raises(CorruptFileError, match="version 9"):
        read(path)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda g: g.attrs.__delitem__("fs"), "'fs' attribute is missing"),
        (lambda g: g.attrs.__setitem__("leads", ["I"]), "3 signal rows but 1 lead names"),
        (lambda g: g.attrs.__setitem__("start", "yesterday"), "ISO 8601"),
        (lambda g: g.attrs.__setitem__("fs", 0.0), "sampling rate"),
    ],
)
def test_own_layout_bad_metadata(tmp_path, edit, words):
    path = h5reader.write_own_layout(tmp_path / "bad.h5", _record())
    with h5py.File(path, "a") as fh:
        edit(fh["ecgs/ecg_000"])
    with pytest.raises(ECGError, match=words):
        read(path)


def test_reading_never_modifies_the_file(code15_file, tmp_path):
    path, _ = code15_file
    own = h5reader.write_own_layout(tmp_path / "own.h5", [_record(seed=1), _record(seed=2)])
    for p in (path, own):
        before = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for entry in read(p):
            entry.load()
        assert (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) == before


def test_file_systems_without_locks_still_open(tmp_path, monkeypatch):
    path = h5reader.write_own_layout(tmp_path / "share.h5", _record())
    real_file = h5py.File
    calls = []

    def no_locks(name, mode="r", **kwargs):
        calls.append(kwargs.get("locking"))
        if kwargs.get("locking") is not False:
            raise OSError("Unable to synchronously open file (unable to lock file, errno = 37)")
        return real_file(name, mode, **kwargs)

    monkeypatch.setattr(h5py, "File", no_locks)
    rec = read(path)
    assert rec.n_samples == 5000 and calls[:2] == [None, False]


# ---------------------------------------------------------------------------- hostile shapes
# Built sparse (chunked, never written): a few KB on disk that declare gigabytes.
def _sparse_code15(path, n_exams, n_samples, ids=True):
    with h5py.File(path, "w") as fh:
        fh.create_dataset(
            "tracings",
            shape=(n_exams, n_samples, 12),
            dtype="f4",
            chunks=(1, min(n_samples, 4096), 12),
        )
        if ids:
            fh.create_dataset("exam_id", shape=(n_exams,), dtype="i8", chunks=(min(n_exams, 1024),))
    return path


@pytest.mark.parametrize(
    "n_exams, n_samples, words",
    [
        (10**9, 4096, "1,000,000,000 exams; at most 500,000"),
        (1, 4 * 10**8, "400,000,000 samples"),
        (100_000, 4096, "stores only"),  # within the count limit, but no samples stored
    ],
)
def test_code15_absurd_shapes_refused_within_memory(tmp_path, n_exams, n_samples, words):
    from tests.limited import read_limited

    path = _sparse_code15(tmp_path / "bomb.h5", n_exams, n_samples)
    assert path.stat().st_size < 100_000
    out = read_limited(path)
    assert out["outcome"] == "error" and out["type"] == "CorruptFileError", out
    assert words in out["message"] and str(path) in out["message"]


def _sparse_own(path, signal_shape=(2, 1000), annotations=None, groups=1):
    with h5py.File(path, "w") as fh:
        fh.attrs["ecgviewer_layout"] = 1
        ecgs = fh.create_group("ecgs")
        for g in range(groups):
            node = ecgs.create_group(f"e{g}")
            node.create_dataset(
                "signal",
                shape=signal_shape,
                dtype="f4",
                chunks=(min(signal_shape[0], 2), min(signal_shape[1], 4096)),
            )
            node.attrs["fs"] = 500.0
            node.attrs.create(
                "leads",
                [f"c{i}" for i in range(min(signal_shape[0], 300))],
                dtype=h5py.string_dtype(),
            )
            if annotations:
                node.create_dataset(
                    "annotations",
                    shape=(annotations,),
                    chunks=(1024,),
                    dtype=[("onset", "f8"), ("duration", "f8")],
                )
    return path


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"signal_shape": (2, 10**12)}, "recordings up to 14 days"),
        ({"signal_shape": (300, 1000)}, "300 signal rows"),
        ({"annotations": 10**9}, "1,000,000,000 annotations"),
    ],
)
def test_own_layout_absurd_shapes_refused_within_memory(tmp_path, kwargs, words):
    from tests.limited import read_limited

    path = _sparse_own(tmp_path / "own.h5", **kwargs)
    out = read_limited(path)
    assert out["outcome"] == "error" and words in out["message"], out


def test_code15_ids_read_in_blocks_not_whole(tmp_path, monkeypatch):
    """exam_id is never read with [()] (a whole-dataset read of a hostile length)."""
    tracings = np.zeros((3, 64, 12), np.float32) + 0.1
    with h5py.File(tmp_path / "c.h5", "w") as fh:
        fh["tracings"] = tracings
        fh["exam_id"] = np.array([7, 8, 9])
    monkeypatch.setattr(h5reader, "_ID_BLOCK", 2)
    entries = read(tmp_path / "c.h5")
    assert [e.key for e in entries] == ["7", "8", "9"]
