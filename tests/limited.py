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

_CHILD = r"""
import json, resource, sys, warnings
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import numpy as np
from ecgviewer.errors import ECGError
from ecgviewer.io import read
warnings.simplefilter("error", RuntimeWarning)  # a leaked numpy warning is a failure too
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


def read_limited(path: str | os.PathLike[str], timeout: float = 60.0,
                 limit: int = LIMIT_BYTES, **opts: Any) -> dict[str, Any]:
    """``io.read(path, **opts)`` (and a first page of each ECG) in a memory-capped child.

    Returns ``{"outcome": "record"|"entries"|"error", "message": ..., "peak_mb": ...}``;
    raises AssertionError when the child ran out of memory, hung, or died.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(limit), os.fspath(path), json.dumps(opts)],
            capture_output=True, text=True, timeout=timeout, env=env, cwd=str(REPO),
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"reading {path} did not finish within {timeout:.0f} s") from None
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, (
        f"reading {path} died (exit {proc.returncode}) under a {limit >> 20} MB limit:\n"
        f"{proc.stderr[-2000:]}"
    )
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT "):])
    assert "not enough memory" not in result.get("message", ""), (
        f"reading {path} ran out of memory under a {limit >> 20} MB limit: {result['message']}"
    )
    return result
