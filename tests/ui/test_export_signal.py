"""File > Export signal: the open ECG written through the Worker and read back."""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer import io as ecg_io
from ecgviewer.ui import messages
from ecgviewer.ui.export_signal import FILTERS, export_signal
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
