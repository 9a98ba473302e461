"""Read any supported ECG file: ``read(path)`` sniffs by content, then by extension.

Each format family is one module here with ``read(path, **opts) -> Record | list[RecordEntry]``.
Modules are imported only when a file of theirs is opened, so start-up stays fast (wfdb pulls
in pandas, h5py its C library). Adding a format = one module + one line in ``READERS``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecgviewer.errors import ECGError, UnknownFormatError
from ecgviewer.io._common import check_readable, head_bytes
from ecgviewer.record import Record, RecordEntry

__all__ = ["READERS", "ReaderSpec", "read", "reader_for", "supported_extensions"]


@dataclass(frozen=True)
class ReaderSpec:
    """One format family: its module, extensions and a content sniffer on the first bytes."""

    name: str
    module: str
    extensions: tuple[str, ...]
    sniff: Callable[[bytes, Path], bool]
    description: str

    def load(self) -> Any:
        return importlib.import_module(f"ecgviewer.io.{self.module}")


def _sniff_edf(head: bytes, path: Path) -> bool:
    return head[:8] == b"0       " or head[:8] == b"\xffBIOSEMI"


def _sniff_hdf5(head: bytes, path: Path) -> bool:
    return head[:8] == b"\x89HDF\r\n\x1a\n"


def _sniff_aecg(head: bytes, path: Path) -> bool:
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with a byte-order mark
        head = head[: len(head) // 2 * 2].decode("utf-16", "replace").encode("utf-8", "replace")
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text[:1] == b"<" and b"AnnotatedECG" in head


def _sniff_sierra(head: bytes, path: Path) -> bool:
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with a byte-order mark
        head = head[: len(head) // 2 * 2].decode("utf-16", "replace").encode("utf-8", "replace")
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text[:1] == b"<" and b"<restingecgdata" in head


def _sniff_scp(head: bytes, path: Path) -> bool:
    """Section 0 (pointers) first, tagged "SCPECG" (v2+) or with the file's own size."""
    if len(head) < 22 or head[8:10] != b"\x00\x00":
        return False
    if head[16:22] == b"SCPECG":
        return True
    try:
        return int.from_bytes(head[2:6], "little") == path.stat().st_size
    except OSError:
        return False


def _xml_root_is(head: bytes, name: bytes) -> bool:
    """True when an XML head's first element is ``<name>`` (after prolog, DOCTYPE, comments)."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        head = head[: len(head) // 2 * 2].decode("utf-16", "replace").encode("utf-8", "replace")
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] != b"<":
        return False
    pos = 0
    while True:
        at = text.find(b"<", pos)
        if at < 0 or at + 1 >= len(text):
            return False
        if text[at + 1 : at + 2] in (b"?", b"!"):
            pos = at + 1
            continue
        tag = text[at + 1 :].split(None, 1)[0].split(b">", 1)[0].split(b"/", 1)[0]
        return tag.rsplit(b":", 1)[-1] == name


def _sniff_muse(head: bytes, path: Path) -> bool:
    return _xml_root_is(head, b"RestingECG")


def _sniff_cardiosoft(head: bytes, path: Path) -> bool:
    return _xml_root_is(head, b"CardiologyXML")


def _sniff_dicom(head: bytes, path: Path) -> bool:
    return len(head) >= 132 and head[128:132] == b"DICM"


def _sniff_ishne(head: bytes, path: Path) -> bool:
    return head[:8] in (b"ISHNE1.0", b"ANN  1.0")


def _sniff_mfer(head: bytes, path: Path) -> bool:
    """The "@ MFR " preamble (tag 0x40, 32 bytes); without it (GE writes none), a ``.mwf``
    whose first few tags parse: known tag numbers with lengths that fit."""
    if head[:2] == b"@ " and (b"MFR" in head[2:34] or b"MFER" in head[2:34]):
        return True
    if path.suffix.lower() != ".mwf" or len(head) < 8:
        return False
    known = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x17, 0x82, 0x85}
    pos = 0
    for _ in range(4):  # the first tags: definite short lengths, inside the head
        if pos + 2 > len(head) or head[pos] not in known or head[pos + 1] >= 0x80:
            return False
        pos += 2 + head[pos + 1]
    return pos <= len(head)


def _sniff_wfdb(head: bytes, path: Path) -> bool:
    if path.suffix.lower() == ".hea":
        return True
    # Data file (.dat/.mat) or bare record name: a header must sit beside it.
    return path.with_suffix(".hea").is_file() or Path(str(path) + ".hea").is_file()


def _sniff_matlab(head: bytes, path: Path) -> bool:
    return head[:10] in (b"MATLAB 5.0", b"MATLAB 7.3")


def _sniff_npy(head: bytes, path: Path) -> bool:
    return head[:6] == b"\x93NUMPY"


def _sniff_never(head: bytes, path: Path) -> bool:
    return False


READERS: list[ReaderSpec] = [
    ReaderSpec("edf", "edf", (".edf", ".bdf", ".rec"), _sniff_edf, "EDF / EDF+ / BDF"),
    ReaderSpec("hdf5", "hdf5", (".h5", ".hdf5", ".hdf"), _sniff_hdf5, "HDF5 (CODE-15%, ecgviewer)"),
    ReaderSpec("hl7_aecg", "hl7_aecg", (".xml",), _sniff_aecg, "HL7 aECG XML"),
    ReaderSpec("sierra_xml", "sierra_xml", (".xml",), _sniff_sierra, "Philips Sierra ECG XML"),
    ReaderSpec("scp_ecg", "scp_ecg", (".scp",), _sniff_scp, "SCP-ECG"),
    ReaderSpec("muse_xml", "muse_xml", (".xml",), _sniff_muse, "GE MUSE XML"),
    ReaderSpec(
        "cardiosoft_xml", "cardiosoft_xml", (".xml",), _sniff_cardiosoft, "GE CardioSoft XML"
    ),
    ReaderSpec("dicom", "dicom", (".dcm", ".dicom"), _sniff_dicom, "DICOM ECG waveform"),
    ReaderSpec("ishne", "ishne", (".ecg", ".ann"), _sniff_ishne, "ISHNE Holter"),
    ReaderSpec("mfer", "mfer", (".mwf", ".mfer"), _sniff_mfer, "MFER (.mwf)"),
    ReaderSpec("wfdb", "wfdb_format", (".hea", ".dat", ".mat"), _sniff_wfdb, "WFDB (PhysioNet)"),
    # After WFDB: a .mat with a .hea beside it is a WFDB record; alone, it is named for what it is.
    ReaderSpec("matlab", "matlab_mat", (), _sniff_matlab, "MATLAB .mat (named, not read)"),
    ReaderSpec("npy", "arrays", (".npy",), _sniff_npy, "NumPy array (rate given by user)"),
    # CSV has no magic bytes: extension only.
    ReaderSpec("csv", "arrays", (".csv", ".txt"), _sniff_never, "CSV array (rate given by user)"),
]


def supported_extensions() -> list[str]:
    """Every extension a reader claims, for file dialogs."""
    return sorted({ext for spec in READERS for ext in spec.extensions})


def reader_for(path: str | os.PathLike[str]) -> ReaderSpec:
    """The reader for ``path``: first by content, then by extension."""
    p = Path(path)
    check_readable(p)
    head = head_bytes(p)
    for spec in READERS:
        if spec.sniff(head, p):
            return spec
    suffix = p.suffix.lower()
    for spec in READERS:
        if suffix in spec.extensions:
            return spec
    raise UnknownFormatError(
        p,
        "not a recognised ECG format (supported: "
        + ", ".join(spec.description for spec in READERS)
        + ")",
    )


def read(path: str | os.PathLike[str], **opts: Any) -> Record | list[RecordEntry]:
    """Read an ECG file.

    Parameters
    ----------
    path
        The file. For WFDB, the ``.hea`` or the data file.
    **opts
        Reader options, e.g. ``fs=500`` for ``.npy``/``.csv`` arrays.

    Returns
    -------
    Record, or a list of :class:`RecordEntry` for files holding many ECGs.

    Raises
    ------
    ECGError
        Always a subclass of it, with a message naming the file and the problem.
    """
    spec = reader_for(path)
    try:
        module = spec.load()
    except ImportError as exc:  # an incomplete installation, not a bad file
        raise ECGError(
            path, f"{spec.description} files cannot be opened: support is not installed ({exc})"
        ) from exc
    try:
        return module.read(Path(path), **opts)
    except ECGError:
        raise
    except MemoryError as exc:
        # Almost always a damaged header that claims far more samples than the file holds
        # (readers check sizes, libraries do not always); a real giant file should be paged.
        raise ECGError(
            path,
            "not enough memory to open it: the file is damaged (its header claims more data "
            f"than it holds) or too large to load whole ({exc or 'allocation failed'})",
        ) from None
    except Exception as exc:  # a library's own error (RecursionError included): never a bare
        # traceback for the user
        from ecgviewer.errors import CorruptFileError

        raise CorruptFileError(
            path, f"could not be read as {spec.description}: {type(exc).__name__}: {exc}"
        ) from exc
