"""ecgad score's share of the machine per process (the thread plan set before scoring)."""

from __future__ import annotations

from ecgviewer.analysis.archive_command import cores_per_process


def test_ranks_of_one_machine_share_its_cores() -> None:
    assert cores_per_process(2, 1, 0) == 2  # one process: both cores (network + side thread)
    assert cores_per_process(2, 2, 0) == 1  # torchrun, 2 ranks on 2 cores: one each, serial
    assert cores_per_process(16, 4, 3) == 1  # 4 ranks, 3 preprocessing workers each
    assert cores_per_process(16, 2, 0) == 8
    assert cores_per_process(1, 4, 2) == 1  # never below one
