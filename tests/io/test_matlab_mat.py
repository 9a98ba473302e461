"""MATLAB files without a WFDB header are named for what they are (CPSC 2018 originals)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from ecgviewer.errors import UnknownFormatError
from ecgviewer.io import read


@pytest.mark.parametrize("compressed", [False, True])
def test_cpsc2018_original_is_named(tmp_path, compressed):
    path = tmp_path / "A0001.mat"
    scipy.io.savemat(
        path,
        {"ECG": {"sex": "Male", "age": np.array([[74]]), "data": np.zeros((12, 5000))}},
        do_compression=compressed,
    )
    with pytest.raises(UnknownFormatError, match="A0001.mat: an original CPSC 2018"):
        read(path)


def test_other_matlab_file_lists_its_variables(tmp_path):
    path = tmp_path / "x.mat"
    scipy.io.savemat(path, {"val": np.zeros((2, 10))})
    with pytest.raises(UnknownFormatError, match=r"without a WFDB header.*val 2x10 double"):
        read(path)


def test_damaged_matlab_file_is_named_not_crashed(tmp_path):
    path = tmp_path / "A0001.mat"
    scipy.io.savemat(
        path, {"ECG": {"sex": "Male", "age": np.array([[74]]), "data": np.zeros((12, 50))}}
    )
    data = bytearray(path.read_bytes())
    data[132:136] = (2**31 - 1).to_bytes(4, "little")  # the variable claims 2 GB
    path.write_bytes(bytes(data))
    with pytest.raises(UnknownFormatError, match="A0001.mat: "):
        read(path)
