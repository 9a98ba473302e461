"""The real start-up path: ``python -m ecgviewer FILE`` opens a window and logs to the user dir."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.conftest import REPO


def test_python_m_ecgviewer_starts_and_opens_the_file(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", ECGVIEWER_DATA_DIR=str(tmp_path))
    demo = REPO / "resources" / "demo" / "demo_ecg.hea"
    args = [sys.executable, "-m", "ecgviewer"] + ([str(demo)] if demo.is_file() else [])
    proc = subprocess.Popen(
        args, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    log = tmp_path / "logs" / "ecgviewer.log"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if log.is_file() and "window shown" in log.read_text(encoding="utf-8"):
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.stderr.read()
        assert "window shown" in log.read_text(encoding="utf-8")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_parse_args():
    from ecgviewer.app import parse_args

    ns = parse_args(["x.npy", "--fs", "250"])
    assert ns.file == "x.npy" and ns.fs == 250.0
    assert parse_args([]).file is None


def test_review_features_install_into_the_main_window(qtbot):
    import importlib.util

    import pytest

    if importlib.util.find_spec("ecgviewer.ui.review_hooks") is None:
        pytest.skip("ecgviewer.ui.review_hooks not present")
    from ecgviewer.app import install_review_features
    from ecgviewer.ui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    install_review_features(window)
    assert hasattr(window, "review")
    texts = [a.text() for a in window.menus["file"].actions()]
    assert any("worklist" in t for t in texts)
    window.close()


def test_worklist_from_the_command_line(qtbot, window, tmp_path):
    from ecgviewer.app import open_worklist, parse_args
    from ecgviewer.ui import messages
    from ecgviewer.ui.review_hooks import install
    from tests.analysis.fake_detector import FakeDetector
    from tests.analysis.wfdb_folder import write_folder

    assert parse_args(["--worklist", "/data/ecgs"]).worklist == "/data/ecgs"
    features = install(window, detector=FakeDetector())
    try:
        assert not open_worklist(window, str(tmp_path / "nope"))
        assert "not found" in messages.shown[-1].text()
        write_folder(tmp_path / "f", [1.0, 2.0])
        assert open_worklist(window, str(tmp_path / "f"))
        wl = features.worklist
        qtbot.waitUntil(lambda: wl.worker is not None and wl.worker.is_done, timeout=20_000)
        qtbot.waitUntil(lambda: wl.model.rowCount() == 2, timeout=5_000)
        assert wl.isVisible()
        wl.close()
    finally:
        features.shutdown()
