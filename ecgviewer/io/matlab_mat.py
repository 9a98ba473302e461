"""MATLAB ``.mat`` files without a WFDB header beside them: say what they are.

A ``.mat`` with a ``.hea`` is a WFDB record (``wfdb_format``). Without one, the common ECG case
is an original CPSC 2018 (China Physiological Signal Challenge) file: a struct ``ECG`` with
``sex``, ``age`` and ``data`` (12 x n). Its units and lead order are given only in the
challenge's documentation, not in the file, so it is not guessed at: the message names the
file for what it is and points to the WFDB version of the same database (PhysioNet/CinC
Challenge 2020), which this program reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ecgviewer.errors import UnknownFormatError
from ecgviewer.record import Record

__all__ = ["read", "describe"]

#: Fields are only inspected (which loads the variable) in files up to this size.
INSPECT_BYTES = 64 * 2**20


def describe(path: Path) -> str:
    """One sentence saying what the MATLAB file holds, as far as its header tells."""
    head = path.open("rb").read(128)
    if head.startswith(b"MATLAB 7.3"):
        return "a MATLAB 7.3 (HDF5-based) file without a WFDB header (.hea) beside it"
    try:
        import scipy.io

        variables = scipy.io.whosmat(str(path))
    except Exception as exc:  # scipy raises many kinds on damaged files
        return f"a damaged MATLAB file ({type(exc).__name__}: {exc})"
    names = {name: (shape, kind) for name, shape, kind in variables}
    if "ECG" in names and names["ECG"][1] == "struct":
        fields: set[str] = set()
        if path.stat().st_size <= INSPECT_BYTES:
            try:
                import scipy.io

                ecg = scipy.io.loadmat(str(path), variable_names=["ECG"])["ECG"]
                fields = set(ecg.dtype.names or ())
            except Exception:  # noqa: BLE001 - a description only
                fields = set()
        if {"sex", "age", "data"} <= fields or not fields:
            return ("an original CPSC 2018 challenge file (MATLAB struct ECG with sex, age and "
                    "data): it carries no sampling rate, units or lead names; open the WFDB "
                    "version of this database (PhysioNet/CinC Challenge 2020, .hea + .mat) "
                    "instead")
    listed = ", ".join(f"{n} {'x'.join(map(str, s))} {k}" for n, (s, k) in list(names.items())[:5])
    return (f"a MATLAB file without a WFDB header (.hea) beside it (variables: "
            f"{listed or 'none'}): not an ECG format this program reads")


def read(path: Path, **_opts: Any) -> Record:
    """Always raises :class:`UnknownFormatError` with :func:`describe`'s sentence."""
    raise UnknownFormatError(path, describe(Path(path)))
