"""``ecgad evaluate``: Dice threshold choice, the three input kinds, the JSON it prints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ecgviewer.record import STANDARD_LEADS
from ecgviewer.signal.synthetic import synthetic_ecg
from model.evaluate import LocalizationPool, best_dice_threshold, dice_at, main, read_labels
from tests.io._writers import write_wfdb
from tests.model.test_infer import write_weights


@pytest.mark.parametrize("seed", range(4))
def test_best_dice_threshold_is_the_brute_force_optimum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.random(400) < 0.2
    scores = np.round(rng.normal(labels * 1.5, 1.0), 1)  # ties included
    t, d = best_dice_threshold(labels, scores)
    brute = max((dice_at(labels, scores, c), c) for c in np.unique(scores))
    assert d == pytest.approx(brute[0])
    assert dice_at(labels, scores, t) == pytest.approx(brute[0])


def test_dice_is_measured_on_records_that_did_not_choose_the_threshold() -> None:
    pool = LocalizationPool()
    # Calibration: the anomaly is where the map exceeds 1. Evaluation: the map is shifted by
    # +1.5 everywhere, so a threshold chosen on the evaluation data itself would do better.
    truth = np.zeros((2, 100), bool)
    truth[:, 40:60] = True
    base = np.where(truth, 2.0, 0.0) + np.linspace(0, 0.9, 100)
    pool.add(base, truth, calibration=True)
    pool.add(base + 1.5, truth, calibration=False)
    rep = pool.report()
    assert rep["dice_threshold"] == pytest.approx(base[truth].min())
    expected = dice_at(truth, base + 1.5, rep["dice_threshold"])
    assert rep["dice"] == pytest.approx(expected, abs=1e-4) and rep["dice"] < 1.0
    assert rep["dice_calibration"] == pytest.approx(1.0)
    assert rep["auroc"] == pytest.approx(0.8, abs=0.2)


def test_read_labels(tmp_path: Path) -> None:
    csv_path = tmp_path / "labels.csv"
    csv_path.write_text("file,label,classes\na.hea,0,\nb.hea,abnormal,MI;STTC\nc.hea,1,CD\n")
    rows = read_labels(csv_path)
    assert rows == [
        ("a.hea", False, frozenset()),
        ("b.hea", True, frozenset({"MI", "STTC"})),
        ("c.hea", True, frozenset({"CD"})),
    ]
    csv_path.write_text("file,label\na.hea,maybe\n")
    with pytest.raises(Exception, match="line 2"):
        read_labels(csv_path)


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_benchmark_arrays(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A tiny benchmark in the published layout: N x 5000 x 12 at 500 Hz, point labels."""
    n = 4
    data = np.zeros((n, 5000, 12), np.float32)
    labels = np.zeros((n, 5000, 12), np.uint8)
    for i in range(n):
        data[i] = synthetic_ecg(fs=500.0, duration=10.0, seed=i).signal.T
        if i % 2:  # odd records: a burst on leads V1-V3 from 4 s to 5 s
            data[i, 2000:2500, 6:9] += 0.3 * np.sin(np.arange(500) / 2.0)[:, None]
            labels[i, 2000:2500, 6:9] = 1
    bench = tmp_path / "bench"
    bench.mkdir()
    np.save(bench / "benchmark_data.npy", data)
    np.save(bench / "benchmark_label.npy", labels)
    weights = write_weights(tmp_path)
    out = _run(capsys, ["--weights", str(weights), "--benchmark", str(bench), "--threads", "1"])
    det, loc = out["benchmark"]["detection"], out["benchmark"]["localization"]
    assert det["n_normal"] == 2 and det["n_abnormal"] == 2 and det["n_unscorable"] == 0
    assert loc["n_records"] == 4 and loc["evaluated_every_n_samples"] == 5
    assert loc["positive_fraction"] == pytest.approx(labels.mean(), rel=0.01)
    assert loc["n_calibration_records"] == 2 and loc["n_evaluation_records"] == 2
    assert 0.0 <= loc["auroc"] <= 1.0 and loc["dice_threshold"] is not None
    assert out["model"]["sha256"] and "score_kind" in out


def test_folder_with_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "ecgs"
    folder.mkdir()
    rows = ["file,label,classes"]
    for i in range(4):
        syn = synthetic_ecg(fs=250.0, duration=10.0, seed=i, pvc_at=5.0 if i >= 2 else None)
        write_wfdb(folder, f"r{i}", syn.signal.astype(np.float64), 250, list(STANDARD_LEADS))
        rows.append(f"r{i}.hea,{int(i >= 2)},{'CD' if i >= 2 else ''}")
    rows.append("missing.hea,1,MI")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    weights = write_weights(tmp_path)
    out = _run(
        capsys,
        [
            "--weights",
            str(weights),
            "--folder",
            str(folder),
            "--labels",
            str(tmp_path / "labels.csv"),
            "--threads",
            "1",
        ],
    )["folder"]
    assert out["n_normal"] == 2 and out["n_abnormal"] == 2 and out["n_unscorable"] == 1
    assert any("missing.hea" in e for e in out["errors"])
    assert out["threshold"] == 1.0 and "sensitivity" in out and "specificity" in out
    assert out["per_superclass_auroc"]["MI"] is None  # its only record could not be read
    assert out["per_superclass_auroc"]["CD"] == out["auroc"]


@pytest.mark.needs_shared
def test_ptbxl_fold9_halves_and_synthetic_localization(
    ptbxl_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weights = write_weights(tmp_path)  # a card: weights without one are refused
    out = _run(
        capsys,
        [
            "--weights",
            str(weights),
            "--ptbxl",
            str(ptbxl_dir),
            "--folds",
            "9",
            "--limit",
            "6",
            "--synthetic-localization",
            "--threads",
            "1",
        ],
    )
    ptb = out["ptbxl"]
    assert set(ptb) >= {"fold9_selection", "fold9_report", "threshold", "threshold_source"}
    for half in ("fold9_selection", "fold9_report"):
        assert ptb[half]["n_normal"] + ptb[half]["n_abnormal"] + ptb[half]["n_unscorable"] == 6
        assert set(ptb[half]["per_superclass_auroc"]) == {"MI", "STTC", "CD", "HYP"}
    assert "optimistic" in ptb["fold9_selection"]["note"]
    syn = out["synthetic_localization"]
    assert set(syn["per_kind"]) == {"premature_wide_beat", "st_shift", "t_inversion", "emg_burst"}
    assert (
        syn["all_kinds"]["n_calibration_records"] > 0
        and syn["all_kinds"]["n_evaluation_records"] > 0
    )
    for rep in syn["per_kind"].values():
        assert rep["dice_threshold"] == syn["all_kinds"]["dice_threshold"]  # one threshold for all
