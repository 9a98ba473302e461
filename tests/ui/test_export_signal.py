"""File > Export signal: the open ECG written through the Worker and read back."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog, QWidget

from ecgviewer import io as ecg_io
from ecgviewer.ui import export_signal as export_module
from ecgviewer.ui import messages
from ecgviewer.ui.export_signal import FILTERS, choose_target, export_signal, target_path
from tests.ui.conftest import synthetic_12lead


@pytest.mark.parametrize("fmt,ext", sorted(FILTERS.values()))
def test_export_signal_writes_a_readable_file(window, qtbot, tmp_path, fmt, ext):
    rec = synthetic_12lead()
    window.open_record(rec)
    assert "export_signal" in window.actions
    with qtbot.waitSignal(window.signal_exported, timeout=15_000) as exported:
        worker = export_signal(window, (tmp_path / f"out{ext}", fmt))
    qtbot.waitUntil(lambda: worker.is_done, timeout=5_000)
    back = ecg_io.read(exported.args[0].paths[0])
    assert back.leads == rec.leads
    np.testing.assert_allclose(np.asarray(back.signal)[:, : rec.n_samples], rec.signal, atol=0.001)
    assert "Exported out" in window.statusBar().currentMessage()
    assert not messages.shown
    qtbot.waitUntil(lambda: window.result is not None, timeout=20_000)  # let scoring end


def test_export_failure_is_a_dialog(window, qtbot, tmp_path):
    window.open_record(synthetic_12lead())
    worker = export_signal(window, (tmp_path / "missing" / "x.edf", "edf"))
    qtbot.waitUntil(lambda: worker.is_done and bool(messages.shown), timeout=15_000)
    assert "does not exist" in messages.shown[-1].text()
    qtbot.waitUntil(lambda: window.result is not None, timeout=20_000)


class _Settings(dict):
    def value(self, key, default=None):
        return self.get(key, default)


class _Window(QWidget):
    """What choose_target reads of the main window: the record and the settings."""

    def __init__(self, folder):
        super().__init__()
        self.record = None
        self.settings = _Settings({"files/last_dir": str(folder)})


def _dialog(monkeypatch, typed, fmt):
    chosen = next(f for f, (name, _) in FILTERS.items() if name == fmt)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(typed), chosen))


@pytest.fixture
def small_window(qtbot, tmp_path):
    win = _Window(tmp_path)
    qtbot.addWidget(win)
    return win


@pytest.mark.parametrize(
    "typed,fmt,expected",
    [
        ("patient.2021", "edf", "patient.2021.edf"),
        ("patient.2021.edf", "edf", "patient.2021.edf"),
        ("X.EDF", "edf", "X.EDF"),
        ("x", "hl7aecg", "x.xml"),
        ("x.edf", "hl7aecg", "x.xml"),
        ("ECG_P28.01", "wfdb", "ECG_P28_01.hea"),
        ("ECG_P28.01.edf", "wfdb", "ECG_P28_01.hea"),
        ("rec.dat", "wfdb", "rec.hea"),
        ("my ecg.hea", "wfdb", "my_ecg.hea"),
        ("ékg", "wfdb", "_kg.hea"),
    ],
)
def test_the_typed_name_is_kept_but_for_the_formats_extension(typed, fmt, expected, tmp_path):
    ext = next(e for name, e in FILTERS.values() if name == fmt)
    assert target_path(tmp_path / typed, fmt, ext) == tmp_path / expected


def test_an_existing_file_the_dialog_did_not_confirm_is_asked_about(
    small_window, monkeypatch, tmp_path
):
    (tmp_path / "patient.2021.edf").write_bytes(b"keep me")
    _dialog(monkeypatch, tmp_path / "patient.2021", "edf")  # the dialog saw no such file
    assert choose_target(small_window) is None  # test mode answers No
    assert "patient.2021.edf already exists" in messages.shown[-1].text()
    assert (tmp_path / "patient.2021.edf").read_bytes() == b"keep me"
    monkeypatch.setattr(export_module, "ask_replace", lambda *a: True)
    assert choose_target(small_window) == (tmp_path / "patient.2021.edf", "edf")


def test_a_wfdb_record_with_files_beside_the_typed_header_is_asked_about(
    small_window, monkeypatch, tmp_path
):
    (tmp_path / "x.atr").write_bytes(b"old beats")
    _dialog(monkeypatch, tmp_path / "x.hea", "wfdb")
    assert choose_target(small_window) is None
    assert "x.atr already exists" in messages.shown[-1].text()


def test_a_file_the_dialog_confirmed_is_not_asked_about_again(small_window, monkeypatch, tmp_path):
    (tmp_path / "x.edf").write_bytes(b"old")
    _dialog(monkeypatch, tmp_path / "x.edf", "edf")
    assert choose_target(small_window) == (tmp_path / "x.edf", "edf")
    assert not messages.shown
    _dialog(monkeypatch, tmp_path / "new", "wfdb")
    assert choose_target(small_window) == (tmp_path / "new.hea", "wfdb")
    assert not messages.shown
