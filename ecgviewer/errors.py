"""The one exception family the user ever sees.

Every message names the file (or "<in memory>") and the problem in words a clinician can read,
so the GUI can show ``str(exc)`` as it is and the CLI can print it without a traceback.
"""

from __future__ import annotations

import os

#: Longest problem text kept whole: a damaged file can put megabytes of binary into a value
#: that a reader quotes, and a message is read in one dialog line or one CSV cell.
MAX_PROBLEM = 500
#: Longest quoted value (see :func:`brief`).
MAX_VALUE = 200


def printable(text: str) -> str:
    """``text`` with control and other unprintable characters escaped (``\\n``, ``\\x00``).

    A file name that is not valid UTF-8 arrives with surrogate escapes (``b"\\xff"`` as
    ``"\\udcff"``): these are written back as ``\\xff`` so the text still names the file,
    and can be encoded to UTF-8, printed or written to a CSV row without raising.
    """
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable():
            out.append(ch)
        elif 0xDC80 <= ord(ch) <= 0xDCFF:
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def brief(value: object, limit: int = MAX_VALUE) -> str:
    """``value`` as printable text of at most ``limit`` characters (cut with an ellipsis)."""
    text = printable(str(value))
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


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
        # Bounded and printable here, once, whatever a reader quoted from a damaged file.
        problem = printable(problem)
        if len(problem) > MAX_PROBLEM:  # keep the start and the end of the sentence
            problem = f"{problem[: MAX_PROBLEM - 101]}\u2026{problem[-100:]}"
        self.problem = problem
        super().__init__(f"{printable(self.path or '<in memory>')}: {problem}")


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
