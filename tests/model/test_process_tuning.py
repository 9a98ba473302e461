"""model/process_tuning.py, in a process of its own (its settings are process-wide)."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import gc, sys
from model.process_tuning import settle_scoring_process
import numpy as np
applied = settle_scoring_process()
assert gc.get_freeze_count() > 1000, gc.get_freeze_count()
# Memory freed and taken again still works, values intact.
for _ in range(20):
    a = np.arange(2_000_000, dtype=np.float64)
    assert a[-1] == 1_999_999.0
    del a
print("glibc" if applied else "other")
"""


def test_settling_freezes_the_loaded_objects_and_keeps_memory_usable() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120, check=True
    )
    word = out.stdout.strip()
    if sys.platform.startswith("linux"):
        import platform

        assert word == ("glibc" if platform.libc_ver()[0] == "glibc" else "other")
    else:
        assert word == "other"
