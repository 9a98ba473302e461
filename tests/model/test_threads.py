"""model/threads.py: scoring's numpy products run with one BLAS thread, restored afterwards."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_info

from model.threads import one_blas_thread


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_one_blas_thread_inside_and_restored_after() -> None:
    np.ones((4, 4)) @ np.ones((4, 4))  # numpy's BLAS is loaded
    before = _blas_threads()
    assert before
    with one_blas_thread():
        assert set(_blas_threads()) == {1}
    assert _blas_threads() == before
