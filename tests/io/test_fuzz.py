"""Property-based robustness: corrupted, truncated and mutated bytes thrown at every reader.

Each seed is a valid file (written here with the format's own library, or a small real
fixture). Hypothesis mutates one of its files: truncation, byte flips and overwrites, inserted
garbage, a replaced header, and numbers in the header swapped for hostile values (0, -1, huge,
NaN, text), in place or at the field's width. The only outcomes allowed are a Record (or a list
of entries that load) or an ECGError subclass: never another exception, never a hang.

Examples are derandomised so CI runs the same cases every time; set ECGVIEWER_FUZZ_EXAMPLES
(examples per seed, default 100) to search longer locally. A soft address-space limit turns a
header that claims terabytes into a MemoryError instead of an out-of-memory kill. That cap also
refuses transient virtual allocations the real program survives (CPython's ``read(n)``
allocates n bytes up front, then shrinks to what the file holds), so a MemoryError here is not
counted as a failure. Hostile sizes (sparse HDF5 shapes, oversized XML/CSV, dense EDF+
annotations) and non-files (FIFOs, devices, link loops) run instead in a child process under a
hard memory limit (tests/limited.py), where running out of memory fails the test, however
politely the reader words it.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecgviewer.errors import ECGError
from ecgviewer.io import read
from ecgviewer.record import Annotation, Record

from ..conftest import FIXTURES

EXAMPLES = int(os.environ.get("ECGVIEWER_FUZZ_EXAMPLES", "100"))
HANG_SECONDS = 20  # an example running this long is a hang, whatever the machine load
MEMORY_HEADROOM = 3 << 30  # bytes of address space allowed above the current use


@dataclass
class Seed:
    """A valid file set: ``files`` name -> bytes, ``target`` is what read() is given."""

    files: dict[str, bytes]
    target: str
    opts: dict[str, Any] = field(default_factory=dict)
    named_only: bool = False  # a file we name but never read: its valid form is an ECGError


# ---------------------------------------------------------------------------- seeds
def _sig(n_leads: int, n: int, fs: float) -> np.ndarray:
    t = np.arange(n) / fs
    return np.stack([np.sin(2 * np.pi * (1 + k) * t) * (k + 1) * 0.5 for k in range(n_leads)])


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _wfdb(tmp: Path, fmt: str) -> Seed:
    import wfdb

    wfdb.wrsamp(
        "rec",
        fs=250,
        units=["mV", "mV"],
        sig_name=["MLII", "V5"],
        p_signal=_sig(2, 500, 250).T,
        fmt=[fmt, fmt],
        adc_gain=[200.0, 200.0],
        baseline=[0, 0],
        comments=["<age>: 63 <sex>: F"],
        write_dir=str(tmp),
    )
    wfdb.wrann("rec", "atr", np.array([100, 300]), np.array(["N", "V"]), write_dir=str(tmp))
    return Seed(_files(tmp), "rec.hea")


def _edf(tmp: Path, bdf: bool) -> Seed:
    from pyedflib import highlevel

    name = "rec.bdf" if bdf else "rec.edf"
    headers = highlevel.make_signal_headers(
        ["ECG I", "ECG II"], dimension="mV", sample_frequency=250, physical_min=-5, physical_max=5
    )
    header = highlevel.make_header(patientname="X", sex="Female", technician="t")
    header["annotations"] = [[0.5, 0.1, "beat"], [1.0, -1, "event"]]
    highlevel.write_edf(
        str(tmp / name), _sig(2, 500, 250), headers, header, file_type=3 if bdf else 1
    )
    return Seed(_files(tmp), name)


def _hdf5_own(tmp: Path) -> Seed:
    from ecgviewer.io.hdf5 import write_own_layout

    recs = [
        Record(
            signal=_sig(2, 300, 250).astype(np.float32),
            fs=250,
            leads=["I", "II"],
            annotations=[Annotation(0.2, 0.0, "N", "II")],
        ),
        Record(signal=_sig(3, 200, 500).astype(np.float32), fs=500, leads=["V1", "V2", "V3"]),
    ]
    write_own_layout(tmp / "own.h5", recs)
    return Seed(_files(tmp), "own.h5")


def _hdf5_code15(tmp: Path) -> Seed:
    import h5py

    tracings = np.zeros((2, 256, 12), np.float32)
    tracings[:, 28:228] = _sig(12, 200, 400).T
    with h5py.File(tmp / "code15.hdf5", "w") as fh:
        fh["tracings"] = tracings
        fh["exam_id"] = np.array([11, 22])
    return Seed(_files(tmp), "code15.hdf5")


def _aecg(tmp: Path) -> Seed:
    digits = {
        lead: " ".join(str(int(v)) for v in row * 400)
        for lead, row in zip(("I", "II", "V1"), _sig(3, 120, 500), strict=True)
    }
    seqs = "".join(
        f'<component><sequence><code code="MDC_ECG_LEAD_{k}"/><value xsi:type="SLIST_PQ">'
        f'<origin value="0" unit="uV"/><scale value="2.5" unit="uV"/><digits>{v}</digits>'
        "</value></sequence></component>"
        for k, v in digits.items()
    )
    ann = (
        '<subjectOf><annotationSet><component><annotation><code code="MDC_ECG_BEAT"/>'
        '<value xsi:type="CE" code="MDC_ECG_BEAT_NORMAL"/><component><annotation>'
        '<code code="MDC_ECG_WAVC"/><value xsi:type="CE" code="MDC_ECG_WAVC_QRSWAVE"/>'
        '<support><supportingROI classCode="ROIBND"><component><boundary>'
        '<code code="TIME_RELATIVE"/><value xsi:type="IVL_PQ"><low value="40" unit="ms"/>'
        '<high value="120" unit="ms"/></value></boundary></component><component><boundary>'
        '<code code="MDC_ECG_LEAD_II"/></boundary></component></supportingROI></support>'
        "</annotation></component></annotation></component></annotationSet></subjectOf>"
    )
    text = (
        '<?xml version="1.0" encoding="utf-8"?>\n<AnnotatedECG xmlns="urn:hl7-org:v3" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><effectiveTime>'
        '<low value="20240102030405"/></effectiveTime><componentOf><timepointEvent><componentOf>'
        '<subjectAssignment><subject><trialSubject><id extension="S-1"/><subjectDemographicPerson>'
        '<administrativeGenderCode code="F"/><birthTime value="19600101"/>'
        "</subjectDemographicPerson></trialSubject></subject></subjectAssignment></componentOf>"
        '</timepointEvent></componentOf><component><series><code code="RHYTHM"/><component>'
        '<sequenceSet><component><sequence><code code="TIME_ABSOLUTE"/><value xsi:type="GLIST_TS">'
        '<head value="20240102030405.000"/><increment value="0.002" unit="s"/></value>'
        f"</sequence></component>{seqs}</sequenceSet></component>{ann}</series></component>"
        "</AnnotatedECG>\n"
    )
    (tmp / "ecg.xml").write_text(text, encoding="utf-8")
    return Seed(_files(tmp), "ecg.xml")


def _ishne(tmp: Path) -> Seed:
    from tests.io._writers import write_ishne

    write_ishne(tmp / "rec.ecg", _sig(3, 600, 250), 250, beats=[(100, "N"), (350, "V")])
    return Seed(_files(tmp), "rec.ecg")


def _cpsc_mat(tmp: Path, compressed: bool = False) -> Seed:
    """An original CPSC 2018 .mat (struct ECG: sex, age, data): always named, never read."""
    import scipy.io

    scipy.io.savemat(
        tmp / "A0001.mat",
        {"ECG": {"sex": "Male", "age": np.array([[74]]), "data": _sig(12, 300, 500)}},
        do_compression=compressed,
    )
    return Seed(_files(tmp), "A0001.mat", named_only=True)


def _npy(tmp: Path) -> Seed:
    np.save(tmp / "rec.npy", _sig(3, 400, 250).astype(np.float32))
    return Seed(_files(tmp), "rec.npy", {"fs": 250})


def _csv(tmp: Path) -> Seed:
    np.savetxt(
        tmp / "rec.csv",
        _sig(3, 150, 250).T,
        delimiter=",",
        header="I,II,V1",
        comments="",
        fmt="%.4f",
    )
    return Seed(_files(tmp), "rec.csv", {"fs": 250})


def _mfer(tmp: Path) -> Seed:
    from tests.io._writers import build_mfer, mfer_scaled, mfer_tag

    sig = [np.round(row * 1000).astype(np.int16) for row in _sig(3, 600, 250)]
    mmhg = mfer_tag(0x0C, mfer_scaled(1, -3, 125, "<"))
    null = mfer_tag(0x12, (-32768).to_bytes(2, "little", signed=True))
    data = build_mfer(
        sig[:2] + [sig[2][::2]],
        [1, 2, 0xC00A],
        interval_us=[4000, 4000, 8000],
        sequences=3,
        header=null,
        attrs=[b"", b"", mmhg],
    )
    (tmp / "rec.mwf").write_bytes(data)
    return Seed(_files(tmp), "rec.mwf")


def _scp(tmp: Path) -> Seed:
    """A small encoder-made SCP-ECG that uses every decoding step: Huffman, second
    differences, reference-beat subtraction, bimodal decimation, sections 1, 7 and 8."""
    import struct

    from ._scp_writer import ScpSpec, build_scp, tag

    sig = np.round(_sig(2, 600, 500) * 200).astype(np.int64)
    beat = np.round(_sig(2, 100, 500) * 50).astype(np.int64)
    s1 = (
        tag(2, b"P1\x00")
        + tag(8, b"\x01")
        + tag(25, struct.pack("<HBB", 2020, 1, 2))
        + tag(255, b"")
    )
    s7 = struct.pack("<BBHH", 1, 0, 800, 29999) + struct.pack(
        "<HHHHHhhh", 100, 200, 260, 350, 650, 50, 30, 40
    )
    s8 = struct.pack("<BHBBBBBB", 0, 2024, 1, 2, 3, 4, 5, 1) + struct.pack("<BH", 1, 3) + b"SR\x00"
    spec = ScpSpec(
        leads={"I": sig[0], "II": sig[1]},
        huffman="default",
        reference=beat,
        ref_fiducial=30,
        qrs=[(0, 100, 130, 180), (0, 400, 430, 480)],
        protected=[(95, 185), (395, 485)],
        bimodal_rate=2,
        section1=s1,
        section7=s7,
        section8=s8,
    )
    (tmp / "rec.scp").write_bytes(build_scp(spec))
    return Seed(_files(tmp), "rec.scp")


def _cardiosoft(tmp: Path, exercise: bool = False) -> Seed:
    """A small GE CardioSoft XML: a 3-lead strip with beat times, median beats and the cart's
    measurements; or (exercise) a full disclosure, one second of each lead in turn."""
    names = ("I", "II", "V1")
    sig = np.round(_sig(3, 500, 250) * 200).astype(np.int64)

    def leads(rows: np.ndarray) -> str:
        return "".join(
            f'<WaveformData lead="{n}">{",".join(map(str, r))}</WaveformData>'
            for n, r in zip(names, rows, strict=True)
        )

    head = '<SampleRate units="Hz">250</SampleRate><Resolution units="uVperLsb">5</Resolution>'
    if exercise:
        blocks = [sig[c, s * 250 : (s + 1) * 250] for s in range(2) for c in range(3)]
        data = ",\n".join(",".join(map(str, b)) for b in blocks)
        body = (
            "<FullDisclosure><StartTime><Minute>0</Minute><Second>5</Second></StartTime>"
            f"<NumberOfChannels>3</NumberOfChannels>{head}<LeadOrder>I,2,3</LeadOrder>"
            f"<FullDisclosureData>{data},</FullDisclosureData><EventList><Event>Start</Event>"
            "<Time><Minute>0</Minute><Second>6</Second></Time></EventList></FullDisclosure>"
        )
    else:
        body = (
            '<RestingECGMeasurements><VentricularRate units="BPM">60</VentricularRate>'
            '<QRSDuration units="ms">90</QRSDuration><MedianSamples>'
            f"<ChannelSampleCountTotal>100</ChannelSampleCountTotal>{head}"
            f"{leads(sig[:, :100])}</MedianSamples></RestingECGMeasurements>"
            f"<StripData><NumberOfLeads>3</NumberOfLeads>{head}"
            f"<ChannelSampleCountTotal>500</ChannelSampleCountTotal>{leads(sig)}"
            '<ArrhythmiaResults><Time units="ms">400</Time><BeatClass>dominant</BeatClass>'
            "</ArrhythmiaResults></StripData>"
        )
    text = (
        '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<CardiologyXML><ObservationDateTime>'
        "<Hour>1</Hour><Minute>2</Minute><Second>3</Second><Day>4</Day><Month>5</Month>"
        "<Year>2020</Year></ObservationDateTime><PatientInfo><PID>P1</PID>"
        '<Age units="YEARS">60</Age><Gender>MALE</Gender></PatientInfo>'
        "<Interpretation><Diagnosis><DiagnosisText>Sinus rhythm</DiagnosisText></Diagnosis>"
        f"</Interpretation>{body}</CardiologyXML>\n"
    )
    (tmp / "ecg.xml").write_bytes(text.encode("iso-8859-1"))
    return Seed(_files(tmp), "ecg.xml")


def _fixture(rel: str, names: list[str], target: str) -> Callable[[Path], Seed]:
    def build(tmp: Path) -> Seed:
        folder = FIXTURES / rel
        if not folder.is_dir():
            pytest.skip(f"shared fixtures not found at {FIXTURES} (../shared is absent)")
        return Seed({n: (folder / n).read_bytes() for n in names}, target)

    return build


def _paged(build: Callable[[Path], Seed]) -> Callable[[Path], Seed]:
    """The same seed read through the reader's paged path (pages fetched after read())."""

    def paged(tmp: Path) -> Seed:
        seed = build(tmp)
        return Seed(seed.files, seed.target, {**seed.opts, "whole_load_values": 100})

    return paged


SEEDS: dict[str, tuple[str, Callable[[Path], Seed]]] = {
    # name: (reader module that must exist, builder)
    "wfdb_fmt16": ("wfdb_format", lambda t: _wfdb(t, "16")),
    "wfdb_fmt212": ("wfdb_format", lambda t: _wfdb(t, "212")),
    "wfdb_fixture_fmt80": (
        "wfdb_format",
        _fixture("wfdb", ["3000003_0003.hea", "3000003_0003.dat"], "3000003_0003.hea"),
    ),
    "edf_plus": ("edf", lambda t: _edf(t, bdf=False)),
    "bdf_plus": ("edf", lambda t: _edf(t, bdf=True)),
    "hdf5_own": ("hdf5", _hdf5_own),
    "hdf5_code15": ("hdf5", _hdf5_code15),
    "aecg_synthetic": ("hl7_aecg", _aecg),
    "aecg_fixture_minimum": (
        "hl7_aecg",
        _fixture("hl7aecg", ["fda_minimum_aecg.xml"], "fda_minimum_aecg.xml"),
    ),
    "npy": ("arrays", _npy),
    "ishne": ("ishne", _ishne),
    "mfer": ("mfer", _mfer),
    "cardiosoft_synthetic": ("cardiosoft_xml", _cardiosoft),
    "cardiosoft_exercise_synthetic": ("cardiosoft_xml", lambda t: _cardiosoft(t, exercise=True)),
    "matlab_cpsc": ("matlab_mat", _cpsc_mat),
    "matlab_cpsc_compressed": ("matlab_mat", lambda t: _cpsc_mat(t, compressed=True)),
    "muse_fixture": (
        "muse_xml",
        _fixture("cart/ge_muse", ["braveheart_example1.xml"], "braveheart_example1.xml"),
    ),
    "dicom_fixture": (
        "dicom",
        _fixture("cart/dicom", ["ecgtoolkit_Example.dcm"], "ecgtoolkit_Example.dcm"),
    ),
    "csv": ("arrays", _csv),
    "scp_encoded": ("scp_ecg", _scp),
    "scp_fixture_ecgtoolkit": (
        "scp_ecg",
        _fixture("other", ["ecgtoolkit_Example.scp"], "ecgtoolkit_Example.scp"),
    ),
    "sierra_fixture_103": (
        "sierra_xml",
        _fixture("other", ["philips_sierra_1-03_129DYPRG.xml"], "philips_sierra_1-03_129DYPRG.xml"),
    ),
    "wfdb_fmt212_paged": ("wfdb_format", _paged(lambda t: _wfdb(t, "212"))),
    "edf_plus_paged": ("edf", _paged(lambda t: _edf(t, bdf=False))),
    "hdf5_own_paged": ("hdf5", _paged(_hdf5_own)),
    "npy_paged": ("arrays", _paged(_npy)),
    "ishne_paged": ("ishne", _paged(_ishne)),
    "dicom_fixture_paged": (
        "dicom",
        _paged(_fixture("cart/dicom", ["ecgtoolkit_Example.dcm"], "ecgtoolkit_Example.dcm")),
    ),
}

_cache: dict[str, Seed] = {}


def _seed(name: str, tmp_factory: pytest.TempPathFactory) -> Seed:
    module, build = SEEDS[name]
    import importlib.util

    if importlib.util.find_spec(f"ecgviewer.io.{module}") is None:
        pytest.skip(f"reader ecgviewer.io.{module} not there yet")
    if name not in _cache:
        seed = build(tmp_factory.mktemp(f"seed_{name}"))
        # The seed itself must read cleanly, or the mutations test nothing.
        folder = tmp_factory.mktemp(f"check_{name}")
        if seed.named_only:
            with pytest.raises(ECGError):
                _exercise(_materialise(folder, seed.files), seed)
        else:
            _exercise(_materialise(folder, seed.files), seed)
        _cache[name] = seed
    return _cache[name]


# ---------------------------------------------------------------------------- mutations
HOSTILE = [
    b"0",
    b"-1",
    b"1",
    b"-0",
    b"99999999",
    b"2147483648",
    b"18446744073709551616",
    b"1e308",
    b"-1e308",
    b"nan",
    b"inf",
    b"",
    b"0.0000001",
    b"abc",
    b"  ",
    b"\x00",
    b"4096",
    b"65535",
]
NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


@st.composite
def mutated(draw: st.DrawFn, seed: Seed) -> dict[str, bytes]:
    """The seed's files with one of them mutated by one to three operations."""
    files = dict(seed.files)
    name = draw(st.sampled_from(sorted(files)))
    data = bytearray(files[name])
    for _ in range(draw(st.integers(1, 3))):
        op = draw(
            st.sampled_from(
                ["truncate", "flip", "overwrite", "insert", "header", "number", "number_fixed"]
            )
        )
        n = len(data)
        if op == "truncate":
            del data[draw(st.integers(0, max(0, n - 1))) :]
        elif op == "flip" and n:
            for _ in range(draw(st.integers(1, 8))):
                i = draw(st.integers(0, n - 1))
                data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "overwrite" and n:
            i = draw(st.integers(0, n - 1))
            chunk = draw(st.binary(min_size=1, max_size=16))
            data[i : i + len(chunk)] = chunk
        elif op == "insert":
            i = draw(st.integers(0, n))
            data[i:i] = draw(st.binary(min_size=1, max_size=64))
        elif op == "header":
            k = draw(st.integers(1, min(max(n, 1), 512)))
            data[:k] = draw(st.binary(min_size=k, max_size=k))
        elif op in ("number", "number_fixed"):
            spans = [m.span() for m in NUMBER.finditer(bytes(data[:8192]))]
            if spans:
                a, b = draw(st.sampled_from(spans))
                new = draw(st.sampled_from(HOSTILE))
                if op == "number_fixed":  # keep fixed-width header fields (EDF) aligned
                    new = new[: b - a].ljust(b - a)
                data[a:b] = new
    files[name] = bytes(data)
    return files


# ---------------------------------------------------------------------------- running
_counter = iter(range(10**9))


def _materialise(root: Path, files: dict[str, bytes]) -> Path:
    folder = root / f"case{next(_counter)}"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def _exercise(folder: Path, seed: Seed) -> None:
    """read() and use the result as the viewer would: load entries, fetch a page, summarise."""
    result = read(folder / seed.target, **seed.opts)
    records = [e.load() for e in result[:3]] if isinstance(result, list) else [result]
    for rec in records:
        np.asarray(rec.signal[:, : min(rec.n_samples, 1000)])
        middle = rec.n_samples // 2
        np.asarray(rec.signal[:, middle : middle + 100])
        rec.summary()


class Hang(BaseException):
    """Raised from the alarm handler; BaseException so no reader's ``except`` swallows it."""


@contextlib.contextmanager
def _guards() -> Iterator[bool]:
    """Alarm for hangs, and a soft address-space cap so absurd allocations fail fast."""
    use_alarm = threading.current_thread() is threading.main_thread()
    if use_alarm:

        def on_alarm(signum: int, frame: Any) -> None:
            raise Hang(f"reader still running after {HANG_SECONDS} s")

        old_handler = signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(HANG_SECONDS)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    capped = False
    try:
        with open("/proc/self/statm") as fh:
            in_use = int(fh.read().split()[0]) * resource.getpagesize()
        cap = in_use + MEMORY_HEADROOM
        if hard == resource.RLIM_INFINITY or cap < hard:
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
            capped = True
    except (OSError, ValueError):
        pass  # no /proc or not permitted: run without the cap
    try:
        yield capped
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        if use_alarm:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old_handler)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.parametrize("seed_name", sorted(SEEDS))
def test_mutated_files_give_a_record_or_an_ecg_error(
    seed_name: str, fuzz_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    seed = _seed(seed_name, tmp_path_factory)

    @settings(
        max_examples=EXAMPLES,
        deadline=4000,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(files=mutated(seed))
    def run(files: dict[str, bytes]) -> None:
        folder = _materialise(fuzz_dir, files)
        with _guards():
            try:
                _exercise(folder, seed)
            except ECGError as exc:
                assert str(exc).strip(), "an ECGError must say what is wrong"

    run()


# ---------------------------------------------------------------------------- read() itself
def _fake_reader(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    import ecgviewer.io.hl7_aecg as module

    def boom(path: Path, **opts: Any) -> Record:
        raise exc

    monkeypatch.setattr(module, "read", boom)


def test_memory_error_becomes_an_ecg_error(tmp_path, monkeypatch):
    _fake_reader(monkeypatch, MemoryError("Unable to allocate 74.5 GiB"))
    path = tmp_path / "x.xml"
    path.write_text("<AnnotatedECG/>")
    with pytest.raises(ECGError, match="not enough memory.*74.5 GiB"):
        read(path)


def test_recursion_error_becomes_corrupt_file(tmp_path, monkeypatch):
    from ecgviewer.errors import CorruptFileError

    _fake_reader(monkeypatch, RecursionError("maximum recursion depth exceeded"))
    path = tmp_path / "x.xml"
    path.write_text("<AnnotatedECG/>")
    with pytest.raises(CorruptFileError, match="RecursionError"):
        read(path)


def test_missing_reader_dependency_is_not_called_corruption(tmp_path, monkeypatch):
    from ecgviewer.errors import CorruptFileError
    from ecgviewer.io import READERS, ReaderSpec

    def broken_load(self: ReaderSpec) -> Any:
        raise ModuleNotFoundError("No module named 'defusedxml'", name="defusedxml")

    monkeypatch.setattr(ReaderSpec, "load", broken_load)
    path = tmp_path / "x.xml"
    path.write_text("<AnnotatedECG/>")
    with pytest.raises(ECGError, match="support is not installed") as info:
        read(path)
    assert not isinstance(info.value, CorruptFileError)
    assert READERS  # the table itself is untouched


def test_guard_turns_absurd_allocation_into_memory_error():
    with _guards() as capped:
        if not capped:
            pytest.skip("address-space limit not available here")
        with pytest.raises(MemoryError):
            np.empty(MEMORY_HEADROOM * 4, dtype=np.uint8)  # 12 GiB: over the cap


# ---------------------------------------------------------------------------- XML structure
XML_HOSTILE = [
    "",
    "0",
    "-1",
    "abc",
    "1e400",
    "nan",
    "99999999999999999999",
    "20021122",
    "MDC_ECG_LEAD_II",
    "RHYTHM",
    "TIME_RELATIVE",
    "TIME_ABSOLUTE",
    "GLIST_PQ",
    "ms",
    "mV",
    "V",
    "REPRESENTATIVE_BEAT",
]


@st.composite
def mutated_xml(draw: st.DrawFn, text: bytes) -> bytes:
    """A well-formed aECG whose elements were removed, duplicated or given hostile values:
    byte mutations mostly break the XML itself; these reach the reader's own logic."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(text)
    for _ in range(draw(st.integers(1, 4))):
        elements = [e for e in root.iter() if e is not root]
        if not elements:
            break
        parents = {child: parent for parent in root.iter() for child in parent}
        el = elements[draw(st.integers(0, len(elements) - 1))]
        op = draw(st.sampled_from(["remove", "attribute", "text", "duplicate"]))
        if op == "remove":
            parents[el].remove(el)
        elif op == "attribute" and el.attrib:
            el.set(draw(st.sampled_from(sorted(el.attrib))), draw(st.sampled_from(XML_HOSTILE)))
        elif op == "text":
            el.text = draw(st.sampled_from(XML_HOSTILE))
        elif op == "duplicate":
            parents[el].append(ET.fromstring(ET.tostring(el)))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


@pytest.mark.parametrize(
    "seed_name",
    [
        "aecg_synthetic",
        "aecg_fixture_minimum",
        "sierra_fixture_103",
        "muse_fixture",
        "cardiosoft_synthetic",
        "cardiosoft_exercise_synthetic",
    ],
)
def test_structurally_mutated_aecg_gives_a_record_or_an_ecg_error(
    seed_name: str, fuzz_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    seed = _seed(seed_name, tmp_path_factory)

    @settings(
        max_examples=EXAMPLES,
        deadline=4000,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=mutated_xml(seed.files[seed.target]))
    def run(data: bytes) -> None:
        folder = _materialise(fuzz_dir, {seed.target: data})
        with _guards():
            try:
                _exercise(folder, seed)
            except ECGError as exc:
                assert str(exc).strip()

    run()


# ---------------------------------------------------------------------------- HDF5 structure
H5_ATTRS = [
    "fs",
    "leads",
    "start",
    "patient_id",
    "age",
    "sex",
    "device",
    "derived_leads",
    "non_ecg",
]
H5_VALUES = [
    b"x",
    "abc",
    "",
    -1,
    0,
    1e300,
    float("nan"),
    float("inf"),
    [1, 2, 3],
    ["a", "b"],
    [[1.0]],
    2**62,
    True,
]
H5_ARRAYS = [
    np.zeros(2),
    np.zeros((2, 0), "f4"),
    np.zeros((0, 5)),
    np.full((2, 300), np.inf),
    np.zeros((2, 300), "i8"),
    np.zeros((2, 300), "c16"),
    np.zeros((2, 300), bool),
    np.array([(1.0,)], dtype=[("x", "f8")]),
    np.full((2, 300), 1e30),
]


@st.composite
def mutated_h5_ops(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    """Edits, made with h5py, that keep the file valid HDF5 but break the ecgviewer layout."""
    ops = []
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(["ecg_000", "ecg_001"]))
        op = draw(st.sampled_from(["set", "delete_attr", "replace", "delete", "version"]))
        if op in ("set", "delete_attr"):
            ops.append((op, key, draw(st.sampled_from(H5_ATTRS)), draw(st.sampled_from(H5_VALUES))))
        elif op in ("replace", "delete"):
            ops.append(
                (
                    op,
                    key,
                    draw(st.sampled_from(["signal", "annotations"])),
                    draw(st.integers(0, len(H5_ARRAYS) - 1)),
                )
            )
        else:
            ops.append((op, key, "", draw(st.sampled_from(H5_VALUES))))
    return ops


def _apply_h5_ops(path: Path, ops: list[tuple[Any, ...]]) -> None:
    import h5py

    with h5py.File(path, "a") as fh:
        for op, key, name, value in ops:
            group = fh["ecgs"].get(key)
            with contextlib.suppress(TypeError, ValueError, KeyError, OverflowError):
                if op == "version":
                    fh.attrs["ecgviewer_layout"] = value
                elif group is None:
                    continue
                elif op == "set":
                    group.attrs[name] = value
                elif op == "delete_attr" and name in group.attrs:
                    del group.attrs[name]
                elif op in ("replace", "delete") and name in group:
                    del group[name]
                    if op == "replace":
                        group[name] = H5_ARRAYS[value]


@pytest.mark.parametrize("seed_name", ["hdf5_own", "hdf5_own_paged"])
def test_h5_layout_edits_give_a_record_or_an_ecg_error(
    seed_name: str, fuzz_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    seed = _seed(seed_name, tmp_path_factory)

    @settings(
        max_examples=EXAMPLES,
        deadline=4000,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(ops=mutated_h5_ops())
    def run(ops: list[tuple[Any, ...]]) -> None:
        folder = _materialise(fuzz_dir, seed.files)
        _apply_h5_ops(folder / seed.target, ops)
        with _guards():
            try:
                _exercise(folder, seed)
            except ECGError as exc:
                assert str(exc).strip()

    run()


# ---------------------------------------------------------------------------- hostile sizes
# Files that are tiny on disk but declare gigabytes (sparse HDF5 datasets, sparse text files),
# and paths that are not files at all (FIFOs, devices, link loops). They run in a child process
# under a hard address-space limit (tests/limited.py): an out-of-memory there kills the child
# or surfaces as "not enough memory", and both fail the test instead of being reported
# politely; a FIFO that is opened hangs the child, which the timeout turns into a failure.
_CODE15_EXAMS = [1, 2, 1000, 100_000, 500_001, 10**9]
_CODE15_SAMPLES = [1, 4096, 600_001, 10**8]
_OWN_ROWS = [1, 12, 257, 100_000]
_OWN_SAMPLES = [10, 10**6, 10**9, 10**12]
_OWN_FS = [0.001, 500.0, 1e6]
_OWN_ANNOTATIONS = [0, 10, 10**7, 10**9]


def _sparse_code15(
    path: Path, n_exams: int, n_samples: int, ids: str, dtype: str, write_first: bool
) -> None:
    import h5py

    with h5py.File(path, "w") as fh:
        ds = fh.create_dataset(
            "tracings",
            shape=(n_exams, n_samples, 12),
            dtype=dtype,
            chunks=(1, min(n_samples, 4096), 12),
        )
        if write_first:
            ds[0, : min(n_samples, 4096)] = 0.5
        if ids == "int":
            fh.create_dataset("exam_id", shape=(n_exams,), dtype="i8", chunks=(min(n_exams, 4096),))
        elif ids == "bytes":
            fh.create_dataset(
                "exam_id", shape=(n_exams,), dtype="S100000", chunks=(min(n_exams, 4),)
            )


def _sparse_own(
    path: Path, rows: int, samples: int, fs: float, annotations: int, groups: int
) -> None:
    import h5py

    with h5py.File(path, "w") as fh:
        fh.attrs["ecgviewer_layout"] = 1
        ecgs = fh.create_group("ecgs")
        for g in range(groups):
            node = ecgs.create_group(f"ecg_{g}")
            node.create_dataset(
                "signal",
                shape=(rows, samples),
                dtype="f4",
                chunks=(min(rows, 2), min(samples, 4096)),
            )
            node.attrs["fs"] = fs
            node.attrs.create(
                "leads", [f"c{i}" for i in range(min(rows, 300))], dtype=h5py.string_dtype()
            )
            if annotations:
                node.create_dataset(
                    "annotations",
                    shape=(annotations,),
                    chunks=(min(annotations, 1024),),
                    dtype=[("onset", "f8"), ("duration", "f8")],
                )


def _sparse_text(path: Path, head: bytes, size: int) -> None:
    with open(path, "wb") as fh:
        fh.write(head)
        fh.truncate(size)


def _hostile_cases(root: Path) -> list[tuple[Path, dict[str, Any], str | None]]:
    """(path, read options, words the error must contain or None for any outcome)."""
    import random

    from ecgviewer.io._hl7 import MAX_XML_BYTES
    from ecgviewer.io.arrays import MAX_CSV_BYTES

    rng = random.Random(16)  # the number: the same cases every run
    cases: list[tuple[Path, dict[str, Any], str | None]] = []
    combos = [(e, s) for e in _CODE15_EXAMS for s in _CODE15_SAMPLES]
    for k, (n_exams, n_samples) in enumerate(combos):
        path = root / f"code15_{k}.h5"
        _sparse_code15(
            path,
            n_exams,
            n_samples,
            rng.choice(["none", "int", "bytes"]),
            rng.choice(["f4", "f8", "i2"]),
            rng.random() < 0.5,
        )
        cases.append((path, {}, None))
    for k in range(24):
        path = root / f"own_{k}.h5"
        _sparse_own(
            path,
            rng.choice(_OWN_ROWS),
            rng.choice(_OWN_SAMPLES),
            rng.choice(_OWN_FS),
            rng.choice(_OWN_ANNOTATIONS),
            rng.choice([1, 3]),
        )
        cases.append((path, {}, None))
    aecg_head = b'<?xml version="1.0"?><AnnotatedECG xmlns="urn:hl7-org:v3"><digits>1 2 3 '
    for k, size in enumerate([MAX_XML_BYTES + 1, 360 << 20, 10 << 30]):
        path = root / f"big_{k}.xml"
        _sparse_text(path, aecg_head, size)
        cases.append((path, {}, "limit for XML ECGs"))
    for k, size in enumerate([MAX_CSV_BYTES + 1, 2 << 30]):
        path = root / f"big_{k}.csv"
        _sparse_text(path, b"I,II\n0.1,0.2\n", size)
        cases.append((path, {"fs": 500}, "limit for text arrays"))
    for ext in (".edf", ".h5", ".xml", ".hea", ".csv", ".npy", ".bdf"):
        fifo = root / f"pipe{ext}"
        os.mkfifo(fifo)
        cases.append((fifo, {"fs": 500}, "FIFO (named pipe)"))
        a, b = root / f"loop_a{ext}", root / f"loop_b{ext}"
        os.symlink(b, a)
        os.symlink(a, b)
        cases.append((a, {"fs": 500}, "symbolic link loop"))
        to_fifo = root / f"to_pipe{ext}"
        os.symlink(fifo, to_fifo)
        cases.append((to_fifo, {"fs": 500}, "FIFO (named pipe)"))
    os.symlink("/dev/zero", root / "zero.edf")
    cases.append((root / "zero.edf", {}, "character device"))
    os.mkfifo(root / "piped.dat")
    (root / "piped.hea").write_text("piped 1 500 100\npiped.dat 16 200 16 0 0 0 0 II\n")
    cases.append((root / "piped.hea", {}, "FIFO (named pipe)"))
    for k, line in enumerate(
        ["r 1000000000 500 5000", "r -1 500 10", "r 1 500 -100", "r 2 500 99999999999999"]
    ):
        folder = root / f"wfdb_{k}"
        folder.mkdir()
        (folder / "r.hea").write_text(
            f"{line}\nr.dat 16 200 16 0 0 0 0 II\nr.dat 16 200 16 0 0 0 0 V1\n"
        )
        (folder / "r.dat").write_bytes(bytes(4000))
        cases.append((folder / "r.hea", {}, None))
    return cases


def test_hostile_sizes_and_paths_in_a_memory_capped_child(tmp_path: Path) -> None:
    from tests.limited import read_many_limited

    cases = _hostile_cases(tmp_path)
    assert (
        sum(
            p.stat().st_size
            for p, _, _ in cases
            if p.is_file() and not p.is_symlink() and p.suffix == ".h5"
        )
        < 50 << 20
    )  # sparse: huge shapes, small files
    results = read_many_limited([(p, o) for p, o, _ in cases])
    for (path, _, words), result in zip(cases, results, strict=True):
        assert result["outcome"] in ("record", "entries", "error"), result
        if result["outcome"] == "error":
            assert str(path.parent) in result["message"], (
                result
            )  # names the file (or its data file)
        if words is not None:
            assert result["outcome"] == "error" and words in result["message"], result
