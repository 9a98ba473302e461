"""``ecgad score``: readable table by default, valid JSON (no NaN), CSV, one exit status."""

from __future__ import annotations

import csv
import io as textio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ecgviewer import cli
from ecgviewer.analysis import score_table
from ecgviewer.errors import MissingLeadsError
from tests.analysis.fake_detector import FakeDetector
from tests.analysis.wfdb_folder import write_folder

REPO = Path(__file__).resolve().parents[2]


class NanDetector(FakeDetector):
    """Scores like the fake, but with a NaN lead score and no percentile (an uncalibrated model),
    and refuses records named 'refuse'."""

    def score(self, record):
        if "refuse" in str(record.source):
            raise MissingLeadsError(record.source, "the model needs the 12 standard leads")
        res = super().score(record)
        res.lead_scores = {**res.lead_scores, "V6": float("nan")}
        res.percentile = float("nan") if "rec001" in str(record.source) else 100.0
        res.flags = {"resampled_from_500Hz"}
        return res


@pytest.fixture
def files(tmp_path):
    write_folder(tmp_path / "f", [1.0, 3.0])
    paths = sorted(str(p) for p in (tmp_path / "f").glob("*.hea"))
    missing = str(tmp_path / "missing.edf")
    return paths, missing


def test_table_json_and_csv(files, tmp_path):
    paths, missing = files
    out = textio.StringIO()
    status = score_table.score_files([*paths, missing], detector=NanDetector(), stdout=out)
    assert status == 2  # one file could not be read: said in its row, the others scored
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["file", "percentile", "verdict", "top", "leads", "notes"]
    assert "> 99.9 %" in lines[1] and "unusual" in lines[1] and "resampled from 500 Hz" in lines[1]
    assert "100.0" not in out.getvalue() and "_" not in lines[1].split("  ", 1)[1]
    assert "not scored" in lines[3] and "file not found" in lines[3]

    out = textio.StringIO()
    csv_path = tmp_path / "scores.csv"
    score_table.score_files(
        [*paths, missing], detector=NanDetector(), json_out=True, csv_out=str(csv_path), stdout=out
    )
    rows = json.loads(out.getvalue())  # valid JSON: json.loads rejects nothing, but ...
    assert "NaN" not in out.getvalue()  # ... the text has no bare NaN either
    assert rows[0]["percentile"] == 100.0 and rows[0]["percentile_text"] == "> 99.9 %"
    assert rows[1]["percentile"] is None and rows[0]["lead_scores"]["V6"] is None
    assert rows[2]["error"] and rows[2]["verdict"] == "not scored"
    table = list(csv.DictReader(csv_path.open()))
    assert [r["verdict"] for r in table] == ["unusual", "no percentile", "not scored"]
    assert table[0]["notes"] == "resampled from 500 Hz"


def test_cli_score_end_to_end_with_a_fake_detector(files, monkeypatch, capsys):
    paths, missing = files
    import model.infer

    monkeypatch.setattr(
        model.infer.Detector, "load", classmethod(lambda cls, *a, **k: NanDetector())
    )
    assert cli.main(["score", *paths]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("file")
    assert cli.main(["score", "--json", paths[0], "--debug"]) == 0  # --debug after the subcommand
    assert json.loads(capsys.readouterr().out)[0]["verdict"] == "unusual"
    assert cli.main(["score", missing]) == 2
    assert cli.main(["info", missing]) == 2  # the same problem, the same status


def test_missing_model_is_exit_2_like_every_input_problem(files, capsys, tmp_path):
    paths, _ = files
    assert cli.main(["score", "--weights", str(tmp_path / "none.pt"), paths[0]]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ecgad: ") and "weights not found" in err and "Traceback" not in err


def test_every_option_has_help_and_no_rst_markup():
    from model.evaluate import build_parser as evaluate_parser
    from model.train import build_parser as train_parser

    parser = cli.build_parser()
    subs = next(a for a in parser._actions if a.choices and "info" in a.choices).choices
    parsers = [parser, subs["info"], subs["score"], train_parser(), evaluate_parser()]
    for p in parsers:
        for action in p._actions:
            if action.dest in ("help", "command"):
                continue
            assert action.help, f"{p.prog} {action.option_strings or action.dest}: no help"
        text = p.format_help()
        for markup in ("``", ":class:", ":func:", ":data:"):
            assert markup not in text, (p.prog, markup)


def test_help_is_fast_and_imports_no_torch():
    code = (
        "import sys, contextlib, io\n"
        "from ecgviewer import cli\n"
        "for argv in (['--help'], ['score', '--help']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        try: cli.main(argv)\n"
        "        except SystemExit: pass\n"
        "print('torch' in sys.modules)\n"
    )
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
    assert elapsed < 10  # generous on a loaded CI machine; measured ~0.3 s (README)


def test_top_leads_ignore_nan():
    assert score_table.top_leads({"I": 1.0, "II": np.nan, "V1": 3.0, "V2": 2.0}) == [
        "V1",
        "V2",
        "I",
    ]


# ---------------------------------------------------------------------------- long recordings
class WindowDetector(FakeDetector):
    """Refuses whole-record scoring: a long recording must come in 10 s windows."""

    def score(self, record, progress=None, cancel=None):
        assert record.duration <= 10.0 + 1e-6, "a long recording was scored whole"
        return super().score(record, progress, cancel)


def test_long_recording_is_scored_window_by_window(tmp_path):
    """A 24 h file was scored whole (killed for memory); now 10 s windows, a batch at a time."""
    from ecgviewer.record import Record

    fs, seconds = 100.0, 3 * 60 + 5  # 19 windows, the last 5 s
    t = np.arange(int(fs * seconds)) / fs
    sig = np.tile(0.3 * np.sin(2 * np.pi * 1.2 * t), (12, 1)).astype(np.float32)
    sig[:, int(125.5 * fs)] += 4.0  # a spike in window 12 (120-130 s)
    leads = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    rec = Record(sig, fs, leads, source=str(tmp_path / "holter.edf"))
    det = WindowDetector()
    row = score_table.long_record_row("holter.edf", "", rec, det)
    assert row["error"] is None and row["windows"] == 19 and row["windows_scored"] == 19
    assert max(det.batches) <= score_table.WINDOW_BATCH and sum(det.batches) == 19
    assert row["top_windows"][0][:2] == [120.0, 130.0]
    assert row["score"] == row["top_windows"][0][2]
    assert row["notes"][0] == "most unusual of 19 10 s windows: 120-130 s"
    json.dumps(row, allow_nan=False)


def test_long_recording_with_the_real_model(tmp_path, monkeypatch):
    """The real Detector path (score_many returns ECGErrors in place)."""
    from model.infer import Detector
    from tests.io._writers import write_edf
    from tests.model.conftest import synthetic_record
    from tests.model.test_infer import write_weights

    det = Detector.load(write_weights(tmp_path), device="cpu")
    rec = synthetic_record(250, 125, seed=2)[0]
    path = write_edf(tmp_path / "long.edf", list(rec.data()), list(rec.leads), [250.0] * 12)
    monkeypatch.setattr(score_table, "WINDOW_BATCH", 4)
    rows = list(score_table.score_rows([str(path)], det))
    assert len(rows) == 1 and rows[0]["error"] is None, rows
    assert rows[0]["windows"] == 13 and rows[0]["windows_scored"] == 13
    assert np.isfinite(rows[0]["score"]) and len(rows[0]["top_windows"]) == 5


def test_a_damaged_exam_does_not_end_its_collection(tmp_path):
    """One all-zero exam used to stop every later exam of the HDF5 file from being scored."""
    import h5py

    tracings = np.zeros((3, 4096, 12), np.float32)
    t = np.arange(4000) / 400.0
    for k in (0, 2):
        tracings[k, 48:4048] = 0.5 * np.sin(2 * np.pi * 1.2 * t)[:, None]
    with h5py.File(tmp_path / "c.hdf5", "w") as fh:
        fh["tracings"] = tracings
        fh["exam_id"] = np.array([10, 11, 12])
    rows = list(score_table.score_rows([str(tmp_path / "c.hdf5")], FakeDetector()))
    assert [r["entry"] for r in rows] == ["10", "11", "12"]
    assert rows[1]["error"] and "only zeros" in rows[1]["error"]
    assert rows[0]["error"] is None and rows[2]["error"] is None


def test_csv_and_table_of_a_file_name_that_is_not_utf8_or_holds_a_newline(tmp_path):
    folder = tmp_path / "f"
    write_folder(folder, [1.0])
    odd = [os.fsdecode(b"bad\xffname"), "new\nline"]
    missing = [str(tmp_path / f"{name}.scp") for name in odd]
    out = textio.StringIO()
    csv_path = tmp_path / "scores.csv"
    status = score_table.score_files(
        [*missing, str(next(folder.glob("*.hea")))],
        detector=NanDetector(),
        csv_out=str(csv_path),
        stdout=out,
    )
    assert status == 2
    lines = out.getvalue().splitlines()
    assert len(lines) == 4 and "bad\\xffname.scp" in lines[1] and "new\\nline.scp" in lines[2]
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    assert [Path(r["file"]).name for r in rows[:2]] == ["bad\\xffname.scp", "new\\nline.scp"]
    assert all(r["error"] for r in rows[:2]) and not rows[2]["error"]
