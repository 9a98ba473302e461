"""Thread settings for scoring on a CPU shared with other work.

numpy's BLAS (OpenBLAS) starts one busy-waiting thread per core for a matrix product as small
as the beat bank's lookup (one 128-vector against 7,000 normals). Beside torch's threads or
another busy process those threads spin against each other: measured on a 2-core machine
under load, one lookup took 16 ms with the default two BLAS threads and 0.14 ms with one.
Scoring's numpy products are all that small, so the CPU parts of scoring run with one BLAS
thread (threadpoolctl, the maintained way to set it at run time; restored afterwards).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _controller() -> Any:
    """Inspecting the loaded libraries takes ~2.5 ms: done once (numpy and scipy are loaded
    by the time anything is scored)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def one_blas_thread() -> AbstractContextManager[Any]:
    """Context in which numpy/scipy matrix products use one thread (~15 us to enter)."""
    return _controller().limit(limits=1, user_api="blas")
