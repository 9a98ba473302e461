"""benchmarks/model_speed.py: one JSON line per part as it is measured, ``--parts``, and the
CUDA plan (run here on the CPU with tiny sizes: no GPU in the test environment)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.benchmarks._scripts import load_benchmark

WEIGHTS = Path(__file__).resolve().parents[2] / "resources" / "model" / "weights.pt"


def _load():  # noqa: ANN202
    return load_benchmark("model_speed")


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_cuda_plan_runs_the_archive_and_network_parts_first_within_five_minutes() -> None:
    ms = _load()
    args = ms.argparse.Namespace(
        parts="", skip_reference=False, contention=False, archive=0, workers=-1, ranks=-1,
        processes=0, n_batched=0, max_seconds=None,
    )  # fmt: skip
    cuda = ms.plan("cuda", args)
    assert cuda["parts"][:4] == ["network_only", "archive_hdf5", "archive_wfdb", "cpu_stages"]
    assert "reference_loop" not in cuda["parts"] and cuda["max_seconds"] == 300.0
    assert cuda["archive"] == 4096 and cuda["batch"] == 512 and cuda["workers"] >= 1
    cpu = ms.plan("cpu", args)
    assert cpu["parts"] == [
        "single", "reference_loop", "batched", "batched_processes", "batched_processes_maps",
        "network_only",
    ]  # fmt: skip
    assert cpu["max_seconds"] == 0.0 and cpu["workers"] == 0 and cpu["finishers"] == 0
    assert cuda["ranks"] == ms.CUDA_RANKS and cpu["ranks"] == 0
    assert cpu["processes"] == (ms.os.cpu_count() or 1) and cuda["processes"] == 0
    args.parts = "single,warp_drive"
    with pytest.raises(SystemExit, match="warp_drive"):
        ms.plan("cpu", args)


@pytest.mark.slow
@pytest.mark.skipif(not WEIGHTS.is_file(), reason="bundled weights absent")
def test_cuda_parts_on_the_cpu_print_one_json_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    """The code of every CUDA part runs (here on the CPU, tiny sizes), each line carrying wall
    and CPU time and the load average."""
    ms = _load()
    parts = ",".join(ms.CUDA_PARTS)
    argv = ["--device", "cpu", "--threads", "1", "--parts", parts, "--n-batched", "3",
            "--archive", "3", "--repeats", "1"]  # fmt: skip
    assert ms.main(argv) == 0
    lines = _lines(capsys.readouterr().out)
    assert [x["part"] for x in lines[:2]] == ["header", "setup"]
    measured = {x["part"]: x for x in lines if x.get("device") == "cpu" and x["part"] in ms.PARTS}
    assert list(measured) == list(ms.CUDA_PARTS)
    for name, line in measured.items():
        assert "failed" not in line, line
        assert line["part_wall_s"] >= 0 and line["part_cpu_s"] >= 0, name
        assert "load_average_1min_before" in line and "load_average_1min_after" in line
    for name in ("archive_wfdb", "archive_hdf5"):
        assert measured[name]["scored"] == 3 and measured[name]["errors"] == 0
        assert measured[name]["ecg_per_s"] > 0 and "cpu_s" in measured[name]
        own = measured[name]["own_processes"]  # `ecgad score --processes 2` on the CPU
        assert own["rows"] == 3 and own["exit_status"] == 0, own
    assert measured["network_only"]["cpu_ms_per_ecg"] > 0
    stages = measured["cpu_stages"]
    assert stages["finish_ms_maps"] > stages["finish_ms_table_only"] > 0  # maps cost more
    assert stages["ecg_per_s_cpu_bound_with_maps"] == pytest.approx(
        stages["cores"] * 1000 / (stages["prepare_ms_maps"] + stages["finish_ms_maps"]), rel=0.01
    )
    assert measured["autocast_check"]["bf16"]["within_1e-3"]  # on a CPU: fp32 both times
    assert lines[-1]["part"] == "summary"


@pytest.mark.slow
@pytest.mark.skipif(not WEIGHTS.is_file(), reason="bundled weights absent")
def test_batched_processes_share_the_ecgs_among_the_processes() -> None:
    """Run as the script itself: its processes are spawned and import it by its path."""
    root = Path(__file__).resolve().parents[2]
    argv = [sys.executable, str(root / "benchmarks" / "model_speed.py"), "--device", "cpu",
            "--parts", "batched_processes,batched_processes_maps", "--processes", "2",
            "--n-batched", "5", "--fs", "100"]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=root)
    assert done.returncode == 0, done.stderr[-2000:]
    for part, maps in (("batched_processes", False), ("batched_processes_maps", True)):
        line = next(x for x in _lines(done.stdout) if x["part"] == part)
        assert "failed" not in line, line
        assert line["processes"] == 2 and line["n_ecgs"] == 5
        assert line["per_sample_maps"] is maps  # as ecgad score makes them: not
        assert len(line["per_process_ecg_per_s"]) == 2 and line["ecg_per_s"] > 0
        assert line["ecg_per_s_first_pass"] > 0


@pytest.mark.skipif(not WEIGHTS.is_file(), reason="bundled weights absent")
def test_parts_not_started_in_time_are_listed_as_skipped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ms = _load()
    assert ms.main(["--device", "cpu", "--parts", "single,batched", "--max-seconds", "1e-9"]) == 0
    lines = _lines(capsys.readouterr().out)
    skipped = [x["part"] for x in lines if "skipped" in x]
    assert skipped == ["single", "batched"]


def test_cuda_asked_for_without_a_gpu_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _load().main(["--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no CUDA GPU" in err[0]


@pytest.mark.slow
@pytest.mark.skipif(not WEIGHTS.is_file(), reason="bundled weights absent")
def test_contention_alternates_turns_and_leaves_no_competitor_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Alone and busy turns alternate (the competitor paused, then running), each ECG timed
    once per turn; the competitor is gone afterwards even though it was paused."""
    ms = _load()
    started: list[subprocess.Popen[bytes]] = []
    real = ms.busy_process

    def tracked() -> subprocess.Popen[bytes]:
        started.append(real())
        return started[-1]

    monkeypatch.setattr(ms, "busy_process", tracked)
    scored: list[str] = []
    det, _ = ms.load_detector("cpu")
    real_score = det.score

    def score(rec):  # noqa: ANN001, ANN202
        scored.append(rec.source)
        return real_score(rec)

    monkeypatch.setattr(det, "score", score)
    records = ms.make_records(3, 100.0)
    for i, rec in enumerate(records):
        rec.source = f"ecg{i}"
    out = ms.time_contention(det, records, repeats=2 * ms.CONTENTION_TURN)
    assert out["measured"] == f"in 2 alternating turns of {ms.CONTENTION_TURN} ECGs"
    assert out["alone_median_ms"] > 0 and out["busy_median_ms"] > 0 and out["slowdown"] > 0
    turn = [f"ecg{i % 3}" for i in range(ms.CONTENTION_TURN)]
    after_warm_up = scored[3:]
    assert after_warm_up[: 2 * ms.CONTENTION_TURN] == turn + turn  # alone, then busy
    assert len(after_warm_up) == 4 * ms.CONTENTION_TURN
    assert len(started) == 1 and started[0].poll() is not None


def test_cpu_description_names_the_model_clock_and_vector_extensions() -> None:
    cpuinfo = (
        "processor\t: 0\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 1996.249\n"
        "flags\t\t: fpu sse2 avx avx2 fma\n\n"
        "processor\t: 1\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 2100.000\nflags\t\t: fpu\n"
    )
    model_speed = _load()
    d = model_speed.cpu_description(cpuinfo)
    assert d == {"cpu_model": "AMD EPYC", "cpu_mhz": 1996, "cpu_vector_flags": ["avx2"]}
    intel = "model name : Xeon\nflags : avx2 avx512f avx512_bf16 amx_tile\n"
    assert model_speed.cpu_description(intel)["cpu_vector_flags"] == list(model_speed.VECTOR_FLAGS)
    assert model_speed.cpu_description("")["cpu_model"] is None


def test_a_stalled_command_is_stopped_with_what_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A timed command (torchrun, ecgad's processes) that stalls is stopped after
    COMMAND_TIMEOUT_S together with the processes it started (torchrun's ranks outlive a
    killed launcher), and the part says so instead of waiting for ever."""
    import os
    import time

    ms = _load()
    monkeypatch.setattr(ms, "COMMAND_TIMEOUT_S", 2)
    child_pid = tmp_path / "child.pid"
    launcher = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(child_pid)!r}, 'w').write(str(child.pid))\n"
        "print('[rank 0/1] 1/4 ECGs (25 %), 3.0 ECG/s', file=sys.stderr, flush=True)\n"
        "time.sleep(60)\n"
    )
    head = [sys.executable, "-c", launcher]
    t0 = time.perf_counter()
    out = ms._time_command(head, tmp_path / "in", tmp_path / "out.csv", 4, [])
    assert time.perf_counter() - t0 < 30
    assert out["timed_out_s"] == 2 and "ECG/s" in out["stderr_tail"]
    pid = int(child_pid.read_text())
    for _ in range(50):  # the kill is delivered at once; reaping may take a moment
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        if (
            Path(f"/proc/{pid}/status").is_file()
            and "zombie" in Path(f"/proc/{pid}/status").read_text()
        ):
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"process {pid} started by the command is still running")
