"""The installation smoke test (ecgviewer/smoke.py) from source: the path the bundle runs.

packaging/smoke_test.sh runs the same code inside the frozen bundle, in a network namespace
with no interfaces; here it runs from the source tree, fast, so a change that breaks it fails CI
before anyone builds a bundle.
"""

from __future__ import annotations

import json

import pytest

from ecgviewer import smoke
from ecgviewer.paths import resource


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> str | None:
    """The bundled weights when present (None: the default path), else a small randomly
    initialised network of the real architecture: the scores are meaningless, the path is not."""
    if resource("model/weights.pt").is_file():
        return None
    torch = pytest.importorskip("torch")
    from model.config import ModelConfig
    from model.network import CrossRestorationNet

    cfg = ModelConfig(channels=(8, 16, 32, 64), latent=16)
    path = tmp_path_factory.mktemp("weights") / "random.pt"
    torch.save({"config": cfg.to_dict(), "state_dict": CrossRestorationNet(cfg).state_dict()}, path)
    return str(path)


# Every test that paints requests pytest-qt's ``qapp``: a QApplication must exist before the
# report renderer would make a bare QGuiApplication, or later widget tests in this process abort.
def test_demo_opens_scores_and_exports(qapp, tmp_path, weights):
    out = tmp_path / "report.png"
    found = smoke.run(out, weights=weights)
    assert found.get("error") is None
    assert found["checks"] == {
        "score_finite": True,
        "map_aligned": True,
        "model_named": True,
        "png_written": True,
        "png_page_sized": True,
        "png_has_ink": True,
        "window_opens": True,
    }
    assert found["ok"] is True
    assert found["record"]["leads"] == 12 and found["record"]["source"] == "demo_ecg.hea"
    # Landscape A4 at 100 dpi (ISO 216: 297 x 210 mm).
    assert found["png_size"] == [round(297 / 25.4 * 100), round(210 / 25.4 * 100)]
    assert out.stat().st_size == found["png_bytes"] >= smoke.MIN_PNG_BYTES
    assert found["torch"]["version"]


def test_cli_prints_one_json_line_and_exit_status(qapp, tmp_path, weights, capsys):
    argv = [str(tmp_path / "r.png")] + (["--weights", weights] if weights else [])
    assert smoke.main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["ok"] is True


def test_missing_weights_fail_with_the_file_named(qapp, tmp_path, capsys):
    missing = tmp_path / "nowhere" / "weights.pt"
    assert smoke.main([str(tmp_path / "r.png"), "--weights", str(missing)]) == 1
    found = json.loads(capsys.readouterr().out)
    assert found["ok"] is False
    assert "ModelError" in found["error"] and str(missing) in found["error"]
    assert not (tmp_path / "r.png").exists()


def test_not_an_ecg_fails(qapp, tmp_path, capsys):
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not an ECG\n")
    assert smoke.main([str(tmp_path / "r.png"), "--file", str(bogus)]) == 1
    found = json.loads(capsys.readouterr().out)
    assert found["ok"] is False and "notes.txt" in found["error"]


def test_blank_image_has_no_ink(tmp_path, qapp):
    # qapp (pytest-qt) is a QApplication: a bare QGuiApplication here would make every later
    # widget test in the session abort ("Cannot create a QWidget without QApplication").
    from PySide6.QtGui import QColor, QImage

    path = tmp_path / "blank.png"
    image = QImage(300, 200, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    assert image.save(str(path), "PNG")
    assert smoke._ink_fraction(path) == (300, 200, 0.0)
    image.fill(QColor("black"))
    assert image.save(str(path), "PNG")
    assert smoke._ink_fraction(path) == (300, 200, 1.0)


def test_app_flag_runs_the_smoke_test_without_a_window(monkeypatch, tmp_path):
    from ecgviewer import app

    seen = []
    monkeypatch.setattr(smoke, "main", lambda argv: seen.append(argv) or 7)
    out = str(tmp_path / "o.png")
    assert app.main(["--smoke-test", out]) == 7
    assert app.main(["--smoke-test", out, "some.hea"]) == 7
    assert seen == [[out], [out, "--file", "some.hea"]]
