"""The one exception family the user ever sees.

Every message names the file (or "<in memory>") and the problem in words a clinician can read,
so the GUI can show ``str(exc)`` as it is and the CLI can print it without a traceback.
"""

from __future__ import annotations

import os


class ECGError(Exception):
    """Base class: a problem with one ECG file or record.

    Parameters
    ----------
    path
        The file concerned, or None for data made in memory.
    problem
        What is wrong, as a short sentence without the path.
    """

    def __init__(self, path: str | os.PathLike[str] | None, problem: str) -> None:
        self.path = None if path is None else os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path or '<in memory>'}: {problem}")


class UnknownFormatError(ECGError):
    """The file is not in any format we read."""


class FileAccessError(ECGError):
    """Missing file, permission denied, a folder where a file was expected."""


class EmptyFileError(ECGError):
    """The file has no bytes, or no samples."""


class CorruptFileError(ECGError):
    """Truncated data, a header that disagrees with its data, unparsable content."""


class FileTooLargeError(ECGError):
    """Larger than a documented limit for its format: refused before memory runs out."""


class InvalidSignalError(ECGError):
    """Samples or metadata that would give a silently wrong picture: NaN/inf, absurd rates."""


class NoECGChannelsError(ECGError):
    """The file holds signals, but none of them is an ECG lead."""


class MissingLeadsError(ECGError):
    """The model (or a layout) needs leads this record lacks and cannot derive."""


class ModelError(ECGError):
    """Weights missing, tampered with (sha256 mismatch) or incompatible."""


class ScoringCancelled(Exception):
    """Raised by a long job when its ``cancel()`` callback returned True."""
