"""The one folder scan: which files are ECGs, in which order, and what is never opened."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from ecgviewer.errors import FileAccessError
from ecgviewer.io.files import ecg_files, files_of, listed_extensions
from tests.analysis.wfdb_folder import write_record

AECG = b'<?xml version="1.0"?>\n<AnnotatedECG xmlns="urn:hl7-org:v3"></AnnotatedECG>\n'
MUSE = b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<!DOCTYPE RestingECG>\n<RestingECG>'
SIERRA = b'<?xml version="1.0"?>\n<restingecgdata version="1.04"></restingecgdata>'


def names(folder: Path) -> list[str]:
    return [f.path.relative_to(folder).as_posix() for f in ecg_files(folder)]


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_each_record_once_and_only_ecg_files(tmp_path):
    touch(tmp_path / "a.hea")
    touch(tmp_path / "a.dat")  # WFDB data: the record is its header
    touch(tmp_path / "multi.hea")  # a multi-segment record: its segment headers are not records
    touch(tmp_path / "multi_0001.hea")
    touch(tmp_path / "multi_layout.hea")
    touch(tmp_path / "lonely_0002.hea")  # no "lonely.hea": a record of its own
    touch(tmp_path / "holter.ecg")
    touch(tmp_path / "holter.ann")  # ISHNE annotations: opened with the .ecg
    touch(tmp_path / "x.edf")
    touch(tmp_path / "x.scp")
    touch(tmp_path / "x.dcm")
    touch(tmp_path / "aecg.xml", AECG)
    touch(tmp_path / "muse.xml", MUSE)
    touch(tmp_path / "sierra.xml", SIERRA)
    touch(tmp_path / "pom.xml", b"<project></project>")  # XML that is no ECG
    for array in ("x.npy", "x.csv", "notes.txt", "x.mat"):
        touch(tmp_path / array)  # no sampling rate / data files
    touch(tmp_path / "many.h5")
    assert names(tmp_path) == [
        "a.hea",
        "aecg.xml",
        "holter.ecg",
        "lonely_0002.hea",
        "many.h5",
        "multi.hea",
        "muse.xml",
        "sierra.xml",
        "x.dcm",
        "x.edf",
        "x.scp",
    ]
    by_name = {f.path.name: f for f in ecg_files(tmp_path)}
    assert by_name["many.h5"].collection and not by_name["x.edf"].collection
    assert all(f.problem is None for f in by_name.values())


def test_listed_extensions_are_the_readers_minus_data_files_and_arrays():
    listed = listed_extensions()
    assert {".hea", ".edf", ".xml", ".h5", ".scp", ".dcm", ".ecg"} <= listed
    assert not listed & {".dat", ".mat", ".ann", ".npy", ".csv", ".txt"}


def test_order_is_files_by_name_then_subfolders_by_name(tmp_path):
    for rel in ("b.edf", "a.edf", "Z.edf", "sub2/c.edf", "sub1/z.edf", "sub1/deeper/a.edf"):
        touch(tmp_path / rel)
    assert names(tmp_path) == [
        "Z.edf",
        "a.edf",
        "b.edf",
        "sub1/z.edf",
        "sub1/deeper/a.edf",
        "sub2/c.edf",
    ]


def test_hidden_files_and_folders_are_skipped(tmp_path):
    touch(tmp_path / "seen.edf")
    touch(tmp_path / "._seen.edf")  # a macOS resource-fork copy
    touch(tmp_path / ".git" / "x.edf")
    touch(tmp_path / "sub" / ".hidden.hea")
    assert names(tmp_path) == ["seen.edf"]


def test_links_to_files_followed_links_to_folders_not(tmp_path):
    real = tmp_path / "real"
    touch(real / "r.edf")
    root = tmp_path / "root"
    root.mkdir()
    (root / "link.edf").symlink_to(real / "r.edf")
    (root / "folder_link").symlink_to(real, target_is_directory=True)
    (root / "loop").symlink_to(root, target_is_directory=True)  # would never end if followed
    assert names(root) == ["link.edf"]


def test_fifo_dangling_link_and_loop_are_problems_never_opened(tmp_path):
    os.mkfifo(tmp_path / "pipe.edf")
    os.mkfifo(tmp_path / "pipe.xml")  # the XML sniff must not open it either
    (tmp_path / "gone.hea").symlink_to(tmp_path / "missing.hea")
    (tmp_path / "loop_a.hea").symlink_to(tmp_path / "loop_b.hea")
    (tmp_path / "loop_b.hea").symlink_to(tmp_path / "loop_a.hea")
    out: dict = {}
    thread = threading.Thread(target=lambda: out.update(found=list(ecg_files(tmp_path))))
    thread.daemon = True
    thread.start()
    thread.join(30)
    if thread.is_alive():  # unblock the reader so the test process can end
        for pipe in ("pipe.edf", "pipe.xml"):
            with open(tmp_path / pipe, "wb"):
                pass
        pytest.fail("the folder scan opened a FIFO")
    problems = {f.path.name: f.problem for f in out["found"]}
    assert set(problems) == {"gone.hea", "loop_a.hea", "loop_b.hea", "pipe.edf", "pipe.xml"}
    assert all(isinstance(p, FileAccessError) for p in problems.values())
    assert "FIFO (named pipe)" in str(problems["pipe.edf"])
    assert "symbolic link loop" in str(problems["loop_a.hea"])


def test_missing_folder_is_one_problem(tmp_path):
    found = list(ecg_files(tmp_path / "nowhere"))
    assert len(found) == 1 and "cannot be listed" in str(found[0].problem)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads folders without permission")
def test_unreadable_subfolder_is_one_problem_and_the_rest_is_listed(tmp_path):
    touch(tmp_path / "a.edf")
    locked = tmp_path / "locked"
    touch(locked / "b.edf")
    locked.chmod(0)
    try:
        found = list(ecg_files(tmp_path))
    finally:
        locked.chmod(0o755)
    assert [f.path.name for f in found] == ["a.edf", "locked"]
    assert found[1].problem is not None


def test_files_of_a_wfdb_record_are_header_and_data(tmp_path):
    hea = write_record(tmp_path, "r1", 1.0)
    assert files_of(hea) == [hea, tmp_path / "r1.dat"]
    assert files_of(tmp_path / "r1.dat") == [hea, tmp_path / "r1.dat"]
    assert files_of(tmp_path / "x.edf") == [tmp_path / "x.edf"]
