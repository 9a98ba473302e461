"""model/threads.py: scoring's numpy products run with one BLAS thread, restored afterwards;
network calls on a few windows run on one torch thread."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_info

from model.threads import ONE_THREAD_BELOW_WINDOWS, one_blas_thread, torch_threads_for


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_one_blas_thread_inside_and_restored_after() -> None:
    np.ones((4, 4)) @ np.ones((4, 4))  # numpy's BLAS is loaded
    before = _blas_threads()
    assert before
    with one_blas_thread():
        assert set(_blas_threads()) == {1}
    assert _blas_threads() == before


def test_a_network_call_on_few_windows_runs_on_one_torch_thread() -> None:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with torch_threads_for(1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with torch_threads_for(ONE_THREAD_BELOW_WINDOWS):
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
