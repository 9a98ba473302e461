"""``ecgad``: info on a file of every supported format, collections, errors without
tracebacks, and the hooks that hand the model subcommands over to the model package."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import types

import numpy as np
import pytest

from ecgviewer import cli
from ecgviewer.record import Record

FS = 500
N = 2500  # 5 s
LEADS = ["I", "II", "V1"]


def _signal() -> np.ndarray:
    t = np.arange(N) / FS
    return np.stack([np.sin(2 * np.pi * f * t) for f in (1.0, 1.5, 2.0)]).astype(np.float32)


def _needs_reader(module: str) -> None:
    if importlib.util.find_spec(f"ecgviewer.io.{module}") is None:
        pytest.skip(f"reader ecgviewer.io.{module} not there yet")


def _write_wfdb(tmp_path):
    _needs_reader("wfdb_format")
    import wfdb

    wfdb.wrsamp(
        "rec",
        fs=FS,
        units=["mV"] * 3,
        sig_name=LEADS,
        p_signal=_signal().T.astype(float),
        fmt=["16"] * 3,
        adc_gain=[1000.0] * 3,
        baseline=[0] * 3,
        write_dir=str(tmp_path),
    )
    return [str(tmp_path / "rec.hea")], "wfdb"


def _write_edf(tmp_path):
    _needs_reader("edf")
    from pyedflib import highlevel

    path = tmp_path / "rec.edf"
    headers = highlevel.make_signal_headers(
        LEADS, dimension="mV", sample_frequency=FS, physical_min=-5, physical_max=5
    )
    highlevel.write_edf(str(path), _signal().astype(float), headers)
    return [str(path)], "edf"


def _write_hdf5(tmp_path):
    from ecgviewer.io.hdf5 import write_own_layout

    rec = Record(signal=_signal(), fs=FS, leads=LEADS)
    return [str(write_own_layout(tmp_path / "rec.h5", rec))], "hdf5"


def _write_aecg(tmp_path):
    digits = "".join(
        f'<component><sequence><code code="MDC_ECG_LEAD_{name}"/><value xsi:type="SLIST_PQ">'
        '<origin value="0" unit="uV"/><scale value="1" unit="uV"/><digits>'
        + " ".join(str(int(v)) for v in row * 1000)
        + "</digits></value></sequence></component>"
        for name, row in zip(LEADS, _signal(), strict=True)
    )
    path = tmp_path / "rec.xml"
    path.write_text(
        '<AnnotatedECG xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<component><series><code code="RHYTHM"/><component><sequenceSet><component><sequence>'
        '<code code="TIME_RELATIVE"/><value xsi:type="GLIST_PQ"><head value="0" unit="s"/>'
        '<increment value="2" unit="ms"/></value></sequence></component>'
        f"{digits}</sequenceSet></component></series></component></AnnotatedECG>"
    )
    return [str(path)], "hl7_aecg"


def _write_npy(tmp_path):
    _needs_reader("arrays")
    path = tmp_path / "rec.npy"
    np.save(path, _signal())
    return [str(path), "--fs", str(FS)], "npy"


def _write_csv(tmp_path):
    _needs_reader("arrays")
    path = tmp_path / "rec.csv"
    np.savetxt(path, _signal().T, delimiter=",", header=",".join(LEADS), comments="")
    return [str(path), "--fs", str(FS)], "csv"


WRITERS = [_write_wfdb, _write_edf, _write_hdf5, _write_aecg, _write_npy, _write_csv]


@pytest.mark.parametrize("writer", WRITERS, ids=lambda w: w.__name__.removeprefix("_write_"))
def test_info_prints_summary_for_every_format(tmp_path, capsys, writer):
    args, fmt = writer(tmp_path)
    assert cli.main(["info", *args]) == 0
    out, err = capsys.readouterr()
    assert f"rate      {FS} Hz" in out
    assert "duration  5.00 s (2500 samples)" in out
    assert out.split("leads", 1)[1].splitlines()[0].strip().startswith("3: ")
    assert fmt in out.split("format", 1)[1].splitlines()[0].lower()
    assert err == ""


def test_info_on_real_fixtures(fixtures_dir, capsys):
    files = [
        fixtures_dir / "hl7aecg" / "hl7_example_mortara_eli250.xml",
        fixtures_dir / "wfdb" / "100.hea",
        fixtures_dir / "edf" / "ptb_s0010_re_12lead_10s_converted.bdf",
        fixtures_dir / "edf" / "contec_ecg90a_0000050.edf",
        fixtures_dir / "edf" / "mitdb100_first300s_converted.edf",
    ]
    for path in files:
        status = cli.main(["info", str(path)])
        out, err = capsys.readouterr()
        if status == 2 and "No module named" in err:
            continue  # that reader has not landed yet
        assert status == 0, err
        assert out.startswith(f"file      {path}")


def test_info_collection_table_and_entry(tmp_path, capsys):
    import h5py

    path = tmp_path / "exams.hdf5"
    tracings = np.zeros((3, 4096, 12), np.float32)
    tracings[:, 48:4048] = 0.5
    with h5py.File(path, "w") as fh:
        fh["tracings"] = tracings
        fh["exam_id"] = np.array([7001, 7002, 7003])
    assert cli.main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "ECGs      3" in out
    assert [line.split()[0] for line in out.splitlines()[-3:]] == ["7001", "7002", "7003"]

    assert cli.main(["info", str(path), "--entry", "7002"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("entry     7002")
    assert "rate      400 Hz" in out and "duration  10.00 s (4000 samples)" in out

    assert cli.main(["info", str(path), "--entry", "nope"]) == 2
    assert "no ECG with key 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("missing.edf", None, "file not found"),
        ("", None, "is a folder"),
        ("empty.xml", b"", "empty"),
        ("x.xyz", b"hello", "not a recognised"),
        ("bad.xml", b"<AnnotatedECG><", "malformed"),
    ],
)
def test_errors_are_one_line_exit_2(tmp_path, capsys, name, content, words):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    assert cli.main(["info", str(path)]) == 2
    out, err = capsys.readouterr()
    assert err.startswith(f"ecgad: {path}") and words in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_bad_rate_flag_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["info", "x.npy", "--fs", "0"])
    assert info.value.code == 2
    assert "positive" in capsys.readouterr().err


def test_console_entry_point_has_no_traceback(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x01" * 100)
    proc = subprocess.run(
        [sys.executable, "-m", "ecgviewer.cli", "info", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("ecgad: ") and "Traceback" not in proc.stderr


# ---------------------------------------------------------------------------- model hooks
def test_model_hook_calls_module_main_with_the_rest(monkeypatch):
    seen = {}
    fake = types.ModuleType("fake_model_train")
    fake.main = lambda argv: seen.setdefault("argv", argv) and 0
    monkeypatch.setitem(sys.modules, "fake_model_train", fake)
    monkeypatch.setitem(cli.MODEL_COMMANDS, "train", ("fake_model_train", "train"))
    assert cli.main(["train", "--out", "r", "--debug", "--epochs", "3"]) == 0
    assert seen["argv"] == ["--out", "r", "--epochs", "3"]  # --debug taken anywhere


def test_model_hook_missing_module_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setitem(cli.MODEL_COMMANDS, "train", ("model.no_such_module", "train"))
    assert cli.main(["train", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ecgad: 'train' is not available") and "model.no_such_module" in err


def test_model_hook_ecg_error_is_reported(monkeypatch, capsys):
    from ecgviewer.errors import ModelError

    def main(argv):
        raise ModelError("/w/weights.pt", "weights sha256 mismatch")

    fake = types.ModuleType("fake_model_eval")
    fake.main = main
    monkeypatch.setitem(sys.modules, "fake_model_eval", fake)
    monkeypatch.setitem(cli.MODEL_COMMANDS, "evaluate", ("fake_model_eval", "evaluate"))
    assert cli.main(["evaluate"]) == 2
    assert capsys.readouterr().err == "ecgad: /w/weights.pt: weights sha256 mismatch\n"


def test_describe_lists_most_common_annotations_after_the_count():
    from ecgviewer.record import Annotation

    rec = Record(
        signal=_signal(),
        fs=FS,
        leads=LEADS,
        annotations=[Annotation(0.1 * i, 0.0, "N") for i in range(5)]
        + [Annotation(1.0, 0.0, "V"), Annotation(2.0, 0.0, "")],
    )
    lines = cli.describe(rec).splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("annotations"))
    assert lines[at + 1] == "  most common: 5x N, 1x V, 1x (no text)"


def test_fs_flag_on_a_file_with_its_own_rate_is_ignored_with_a_warning(tmp_path, capsys):
    args, _ = _write_hdf5(tmp_path)
    assert cli.main(["info", *args, "--fs", "250"]) == 0
    out, err = capsys.readouterr()
    assert f"rate      {FS} Hz" in out
    assert "--fs ignored" in err


CART_FILES = {
    "other/ecgtoolkit_Example.scp": ("scp_ecg", "PR 148 ms", None),
    "other/ecgsoft_demo.scp": ("scp_ecg", None, None),
    "other/contec_ecg90a_0000050.scp": ("scp_ecg", None, None),
    "other/philips_sierra_1-03_129DYPRG.xml": ("sierra_xml", "QRS 135 ms", "- ABNORMAL ECG -"),
    "other/philips_sierra_1-04_ad4d3d80_orig.xml": (
        "sierra_xml",
        "QT 564 ms",
        "SINUS BRADYCARDIA (V-rate<60)",
    ),
    "cart/philips_sierra/pysierraecg_1-03_repbeats_example.xml": ("sierra_xml", "HR 41 bpm", None),
    "cart/philips_sierra/pysierraecg_1-04-01_2020-5-18.xml": (
        "sierra_xml",
        "PR 164 ms",
        "Sinus rhythm",
    ),
    "hl7aecg/philips_ad4d3d80_converted.xml": ("hl7_aecg", "QTc 466 ms", "SINUS BRADYCARDIA"),
    "cart/ge_muse/intro_ecg_MUSE_20200923_example.xml": (
        "muse_xml",
        "PR 330 ms",
        "Otherwise normal ECG",
    ),
    "cart/dicom/pydicom_waveform_ecg.dcm": ("dicom", "QTc 370 ms", "ECG NORMALE"),
    "cart/dicom/ecgtoolkit_Example.dcm": ("dicom", "QRS axis -61 deg", None),
}


@pytest.mark.parametrize("rel", sorted(CART_FILES))
def test_info_shows_the_carts_reading(fixtures_dir, capsys, rel):
    fmt, measurement, statement = CART_FILES[rel]
    assert cli.main(["info", str(fixtures_dir / rel)]) == 0
    out = capsys.readouterr().out
    assert f"format    {fmt}" in out
    if measurement:
        cart_line = next(line for line in out.splitlines() if line.startswith("cart "))
        assert measurement in cart_line
    if statement:
        assert any(line.startswith("  says") and statement in line for line in out.splitlines())


def test_info_names_disconnected_leads(fixtures_dir, capsys):
    assert cli.main(["info", str(fixtures_dir / "edf" / "contec_ecg90a_0000050.edf")]) == 0
    out = capsys.readouterr().out
    assert "quality   chest leads V1-V6 disconnected (no ECG signal)" in out
    assert "  V1-V6: flat (0.000 mV range): electrode disconnected" in out and "  I:" not in out


def test_info_says_when_quality_is_fine():
    rec = Record(_signal(), 500.0, ["I", "II", "V1"])
    lines = cli.quality_lines(rec)
    assert lines and lines[0].startswith("quality   ")


def test_info_reads_the_cart_fixtures(fixtures_dir, capsys):
    cases = {
        "cart/ge_muse/intro_ecg_MUSE_20200923_example.xml": "muse_xml",
        "cart/ge_muse/braveheart_example1.xml": "muse_xml",
        "cart/dicom/ecgtoolkit_Example.dcm": "dicom",
        "cart/dicom/pydicom_waveform_ecg.dcm": "dicom",
        "cart/ishne/ECG_P28.01.ecg": "ishne",
    }
    for rel, fmt in cases.items():
        status = cli.main(["info", str(fixtures_dir / rel)])
        out, err = capsys.readouterr()
        assert status == 0, err
        assert f"format    {fmt}" in out and "leads     12:" in out


def test_convert_writes_and_refuses_to_overwrite(fixtures_dir, tmp_path, capsys):
    src = fixtures_dir / "cart" / "dicom" / "pydicom_waveform_ecg.dcm"
    out = tmp_path / "x.edf"
    assert cli.main(["convert", str(src), str(out)]) == 0
    assert f"wrote     {out}" in capsys.readouterr().out
    assert cli.main(["convert", str(src), str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert cli.main(["convert", str(src), str(tmp_path / "rec"), "--format", "wfdb"]) == 0
    assert (tmp_path / "rec.hea").is_file() and (tmp_path / "rec.dat").is_file()
    assert cli.main(["convert", str(src), str(tmp_path / "x.bin")]) == 2
    assert "give --format" in capsys.readouterr().err


@pytest.mark.needs_shared
def test_measure_prints_json_with_reasons(fixtures_dir, capsys):
    import json

    assert (
        cli.main(["measure", str(fixtures_dir / "hl7aecg" / "hl7_example_mortara_eli250.xml")]) == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert 60 < out["heart_rate_bpm"] < 80 and out["qrs_ms"] > 60 and out["beats_used"] >= 8
    assert set(out["leads"]) >= {"I", "II", "V1", "V6"} and out["reasons"] == {}
    # One lead of 26 ms: no median beat, every value says why.
    assert cli.main(["measure", str(fixtures_dir / "hl7aecg" / "fda_minimum_aecg.xml")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["qrs_ms"] is None and "beat" in out["reasons"]["qrs"]
