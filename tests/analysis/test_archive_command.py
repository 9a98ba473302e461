"""ecgad score's share of the machine per process (the thread plan set before scoring)."""

from __future__ import annotations

import pytest

from ecgviewer.analysis.archive_command import cores_per_process


def test_ranks_of_one_machine_share_its_cores() -> None:
    assert cores_per_process(2, 1, 0) == 2  # one process: both cores (network + side thread)
    assert cores_per_process(2, 2, 0) == 1  # torchrun, 2 ranks on 2 cores: one each, serial
    assert cores_per_process(16, 4, 3) == 1  # 4 ranks, 3 preprocessing workers each
    assert cores_per_process(16, 2, 0) == 8
    assert cores_per_process(1, 4, 2) == 1  # never below one


def test_processes_auto_starts_one_per_core_only_for_enough_ecgs() -> None:
    from ecgviewer.analysis.archive_command import MIN_ECGS_PER_EXTRA_PROCESS, processes_wanted

    many = 10 * MIN_ECGS_PER_EXTRA_PROCESS
    assert processes_wanted("auto", 2, lambda: many) == 2
    assert processes_wanted("auto", 16, lambda: 3 * MIN_ECGS_PER_EXTRA_PROCESS) == 3
    assert processes_wanted("auto", 2, lambda: MIN_ECGS_PER_EXTRA_PROCESS - 1) == 1
    assert processes_wanted("auto", 1, lambda: many) == 1
    assert processes_wanted("3", 2, lambda: 0) == 3  # asked for: not second-guessed
    for bad in ("0", "two"):
        with pytest.raises(SystemExit):
            processes_wanted(bad, 2, lambda: many)
