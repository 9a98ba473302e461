"""Thread settings for scoring on a CPU shared with other work.

numpy's BLAS (OpenBLAS) starts one busy-waiting thread per core for a matrix product as small
as the beat bank's lookup (one 128-vector against 7,000 normals). Beside torch's threads or
another busy process those threads spin against each other: measured on a 2-core machine
under load, one lookup took 16 ms with the default two BLAS threads and 0.14 ms with one.
Scoring's numpy products are all that small, so the CPU parts of scoring run with one BLAS
thread (threadpoolctl, the maintained way to set it at run time; restored afterwards).
Torch's own threads likewise: a network call on a few windows runs on one of them
(:func:`torch_threads_for`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from typing import Any

#: Fewer windows than this per network call run on one torch thread. Measured on the 2-core
#: machine (idle, OMP_WAIT_POLICY=PASSIVE, benchmarks/model_speed.py's ECGs), ms per window
#: with 1 / 2 threads: 1 window 16.8 / 33.6, 2: 14.3 / 23.4, 4: 14.5 / 11.3, 32: 14.1 / 8.8.
#: A single ECG's three mask passes are too little work to share: waking the sleeping
#: thread at each of the network's ~400 operations costs more than the second core gives.
ONE_THREAD_BELOW_WINDOWS = 4


@lru_cache(maxsize=1)
def _controller() -> Any:
    """Inspecting the loaded libraries takes ~2.5 ms: done once (numpy and scipy are loaded
    by the time anything is scored)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def one_blas_thread() -> AbstractContextManager[Any]:
    """Context in which numpy/scipy matrix products use one thread (~15 us to enter)."""
    return _controller().limit(limits=1, user_api="blas")


@contextmanager
def torch_threads_for(windows: int) -> Iterator[None]:
    """Context for one network call on ``windows`` windows on a CPU: one torch thread when
    they are fewer than :data:`ONE_THREAD_BELOW_WINDOWS`, else torch's setting as it is
    (restored afterwards; a no-op when torch already uses one thread)."""
    import torch

    before = torch.get_num_threads()
    if windows >= ONE_THREAD_BELOW_WINDOWS or before <= 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
