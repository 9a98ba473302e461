"""Run a reader on a hostile file in a child process under a hard memory limit.

In-process, an address-space cap turns a huge allocation into a MemoryError that ``io.read``
reports politely, which hides the bug: the real program, without the cap, would be killed. Here
the child's outcome is reported as JSON; an out-of-memory (the kill, or the polite "not enough
memory" message that stands for it) and a hang both fail the calling test, and the child's own
peak resident memory comes back for the report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

#: Address space the child may use: Python + numpy + h5py + pyedflib + a reader's work.
LIMIT_BYTES = 1536 << 20

_CHILD_MANY = r"""
import json, resource, sys, warnings
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import numpy as np
from ecgviewer.errors import ECGError
from ecgviewer.io import read
warnings.simplefilter("error", RuntimeWarning)
def _oom(exc):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, MemoryError) or "Unable to allocate" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
for case in json.loads(sys.stdin.read()):
    path, opts = case["path"], case.get("opts", {})
    print("START " + json.dumps(path), flush=True)
    try:
        result = read(path, **opts)
        records = [e.load() for e in result[:3]] if isinstance(result, list) else [result]
        for rec in records:
            np.asarray(rec.signal[:, : min(rec.n_samples, 1000)])
            middle = rec.n_samples // 2
            np.asarray(rec.signal[:, middle : middle + 100])
            rec.summary()
        out = {"outcome": "entries" if isinstance(result, list) else "record"}
    except ECGError as exc:
        out = {"outcome": "error", "type": type(exc).__name__, "message": str(exc),
               "oom": _oom(exc)}
    print("RESULT " + json.dumps({"path": path, **out}), flush=True)
"""

_CHILD = r"""
import json, resource, sys, warnings
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import numpy as np
from ecgviewer.errors import ECGError
from ecgviewer.io import read
warnings.simplefilter("error", RuntimeWarning)  # a leaked numpy warning is a failure too
def _oom(exc):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, MemoryError) or "Unable to allocate" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
path, opts = sys.argv[2], json.loads(sys.argv[3])
out = {}
try:
    result = read(path, **opts)
    records = [e.load() for e in result[:3]] if isinstance(result, list) else [result]
    for rec in records:
        np.asarray(rec.signal[:, : min(rec.n_samples, 1000)])
        rec.summary()
    out = {"outcome": "entries" if isinstance(result, list) else "record",
           "n": len(result) if isinstance(result, list) else rec.n_samples}
except ECGError as exc:
    out = {"outcome": "error", "type": type(exc).__name__, "message": str(exc)}
# VmHWM is this process's own peak (ru_maxrss would include the parent's at the exec).
with open("/proc/self/status") as fh:
    hwm = next(line for line in fh if line.startswith("VmHWM:"))
out["peak_mb"] = int(hwm.split()[1]) / 1024
print("RESULT " + json.dumps(out))
"""


def read_limited(
    path: str | os.PathLike[str], timeout: float = 60.0, limit: int = LIMIT_BYTES, **opts: Any
) -> dict[str, Any]:
    """``io.read(path, **opts)`` (and a first page of each ECG) in a memory-capped child.

    Returns ``{"outcome": "record"|"entries"|"error", "message": ..., "peak_mb": ...}``;
    raises AssertionError when the child ran out of memory, hung, or died.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(limit), os.fspath(path), json.dumps(opts)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=str(REPO),
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"reading {path} did not finish within {timeout:.0f} s") from None
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, (
        f"reading {path} died (exit {proc.returncode}) under a {limit >> 20} MB limit:\n"
        f"{proc.stderr[-2000:]}"
    )
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    assert not _out_of_memory(result), (
        f"reading {path} ran out of memory under a {limit >> 20} MB limit: {result['message']}"
    )
    return result


def _out_of_memory(result: dict[str, Any]) -> bool:
    """An error that stands for an out-of-memory kill, however politely it was worded."""
    return bool(result.get("oom")) or "not enough memory" in result.get("message", "")


def read_many_limited(
    cases: list[tuple[str | os.PathLike[str], dict[str, Any]]],
    timeout: float = 300.0,
    limit: int = LIMIT_BYTES,
) -> list[dict[str, Any]]:
    """:func:`read_limited` for many files in one child (imports paid once).

    Every case must end in a record, entries or an ECGError that is not an out-of-memory one;
    a child killed (for memory or otherwise) or hung names the file it was reading.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    payload = json.dumps([{"path": os.fspath(p), "opts": o} for p, o in cases])
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD_MANY, str(limit)],
            input=payload,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=str(REPO),
        )
        stdout, code = proc.stdout, proc.returncode
    except subprocess.TimeoutExpired as exc:
        stdout, code = (
            (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or ""),
            None,
        )
    started = [json.loads(ln[6:]) for ln in stdout.splitlines() if ln.startswith("START ")]
    results = [json.loads(ln[7:]) for ln in stdout.splitlines() if ln.startswith("RESULT ")]
    if code != 0 or len(results) != len(cases):
        culprit = started[-1] if started else "?"
        what = "hung" if code is None else f"died (exit {code})"
        raise AssertionError(f"reading {culprit} {what} under a {limit >> 20} MB limit")
    for result in results:
        assert not _out_of_memory(result), (
            f"reading {result['path']} ran out of memory under a {limit >> 20} MB limit: "
            f"{result['message']}"
        )
    return results
