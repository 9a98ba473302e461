"""benchmarks/gpu_speed.sh: what it says when it cannot run (the GPU run itself needs a lent
GPU machine, and `prepare` needs PyPI)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_speed.sh"


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_without_a_verb_it_prints_its_usage_and_exits_2() -> None:
    done = _run()
    assert done.returncode == 2
    assert "usage: bash benchmarks/gpu_speed.sh prepare | run" in done.stderr


def test_run_without_carried_wheels_says_what_to_do_in_one_line(tmp_path: Path) -> None:
    done = _run("run", env={"DEVICE_WHEELS": str(tmp_path / "none")})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "run 'prepare' first and carry it" in lines[0]
