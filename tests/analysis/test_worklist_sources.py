"""Worklist sources: the entries of a folder, each once, nothing read until ``load()``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ecgviewer.analysis.worklist_sources import load_row, scan_folder, scan_source
from ecgviewer.errors import FileAccessError
from ecgviewer.record import Record
from tests.analysis.wfdb_folder import write_folder

MUSE = Path(__file__).resolve().parents[2].parent / "shared/fixtures/cart/ge_muse"


def test_scan_lists_each_record_once_without_opening_it(tmp_path, monkeypatch):
    root = tmp_path / "ecgs"
    peaks = write_folder(root, [0.8, 2.5, 1.1])
    peaks.update({f"sub/{k}": v for k, v in write_folder(root / "sub", [4.0, 0.5]).items()})
    (root / "notes.txt").write_text("not an ECG")
    opened = []
    import ecgviewer.io as io

    monkeypatch.setattr(io, "read", lambda *a, **k: opened.append(a))
    entries = list(scan_folder(root))
    assert [e.label for e in entries] == [Path(k).name for k in peaks]  # name order, sub last
    assert all(e.source.endswith(".hea") for e in entries)
    assert opened == []


def test_a_fifo_is_an_entry_whose_load_names_the_problem(tmp_path):
    write_folder(tmp_path, [1.0])
    os.mkfifo(tmp_path / "pipe.edf")
    entries = {Path(e.source).name: e for e in scan_source(tmp_path)}
    assert set(entries) == {"rec000.hea", "pipe.edf"}
    with pytest.raises(FileAccessError, match="FIFO"):
        entries["pipe.edf"].load()
    assert isinstance(entries["rec000.hea"].load(), Record)


@pytest.mark.skipif(not MUSE.is_dir(), reason="shared cart fixtures not present")
def test_muse_xml_is_listed_and_loads_and_hidden_copies_are_not(tmp_path):
    src = sorted(MUSE.glob("*.xml"))[0]
    shutil.copy(src, tmp_path / "muse.xml")
    shutil.copy(src, tmp_path / "._muse.xml")  # a macOS resource-fork name: skipped
    (tmp_path / "pom.xml").write_text("<project></project>")  # XML that is no ECG
    entries = list(scan_source(tmp_path))
    assert [Path(e.source).name for e in entries] == ["muse.xml"]
    record = entries[0].load()
    assert record.format and len(record.ecg_leads) >= 8
    assert load_row(entries[0].source).n_samples == record.n_samples


def test_a_rows_recording_date_fills_in_a_file_without_one(tmp_path):
    """A PTB-XL header has no date (the CSV has it): a comparison could not see that its
    'previous' ECG was recorded two years later."""
    from datetime import datetime

    write_folder(tmp_path, [1.0])
    path = str(tmp_path / "rec000.hea")
    assert load_row(path).start is None
    assert load_row(path, start="1990-05-01 10:20:30").start == datetime(1990, 5, 1, 10, 20, 30)
    assert load_row(path, start="not a date").start is None
