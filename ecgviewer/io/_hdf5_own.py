"""The ecgviewer HDF5 layout (version 1): reading its ECG groups, writing it, and paged
access to large signals. The layout itself is documented in :mod:`ecgviewer.io.hdf5`, which
dispatches here; this module exists to keep each file to one job.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ecgviewer.errors import CorruptFileError, ECGError, EmptyFileError, InvalidSignalError
from ecgviewer.io._common import birth_date, parse_date, person_name
from ecgviewer.io._paged import PagedSignalBase
from ecgviewer.record import Annotation, Patient, Record, RecordEntry, normalize_lead_name

LAYOUT_VERSION = 1
#: Larger sample magnitudes (1 kV) are damage, not an ECG (float32 would also overflow).
MAX_ABS_MV = 1e6
#: Above this many values (leads x samples, 32 MB of float32) a signal is paged, not loaded.
PAGED_SAMPLES = 8_000_000
#: Limits that bound what a damaged or hostile file can make us allocate (each documented in
#: the README): ECG groups per file, signal rows, recording length and annotations per ECG.
MAX_ECGS = 500_000
MAX_SIGNAL_ROWS = 256
MAX_DURATION_S = 14 * 24 * 3600.0  # two weeks: the longest Holter/event recorders
MAX_ANNOTATIONS = 2_000_000


def h5py_module() -> Any:
    import h5py  # imported lazily: its C library costs start-up time

    return h5py


def open_read_only(path: str | os.PathLike[str]) -> Any:
    """``h5py.File(path, "r")``; retried without HDF5 file locking where the file system
    refuses locks (read-only mounts, some network shares), which a viewer must still open."""
    h5py = h5py_module()
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        if "lock" not in str(exc).lower():
            raise
        return h5py.File(path, "r", locking=False)


def _show(value: Any) -> str:
    """An attribute value for a message: short, without numpy's repr clutter."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def short(exc: BaseException) -> str:
    """The first line of a library error, bounded, for our one-line messages."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def float_or_none(text: Any) -> float | None:
    """A finite float, or None for missing, unparsable, NaN or infinite values."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


# ---------------------------------------------------------------------------- own layout
def own_entries(path: Path, fh: Any, paged_above: int) -> list[RecordEntry]:
    """One entry per ``/ecgs/<key>`` group: metadata from attributes, samples on ``load()``."""
    version = fh.attrs["ecgviewer_layout"]
    try:
        version_int = int(np.asarray(version).reshape(-1)[0])
    except (TypeError, ValueError, IndexError, OverflowError):
        raise CorruptFileError(
            path, f"ecgviewer_layout attribute {_show(version)} is not a version number"
        ) from None
    if version_int < 1:
        raise CorruptFileError(path, f"ecgviewer_layout version {version_int} does not exist")
    if version_int > LAYOUT_VERSION:
        raise CorruptFileError(
            path,
            f"written in ecgviewer layout version {version_int}; this program reads up to "
            f"version {LAYOUT_VERSION} (update ecgviewer)",
        )
    group = fh.get("ecgs")
    if group is None or not hasattr(group, "keys"):
        raise CorruptFileError(path, "ecgviewer layout without an 'ecgs' group")
    n_groups = len(group)
    if n_groups > MAX_ECGS:
        raise CorruptFileError(
            path,
            f"the 'ecgs' group has {n_groups:,} members; at most {MAX_ECGS:,} ECGs are "
            "listed from one file",
        )
    keys = sorted(group.keys())
    if not keys:
        raise EmptyFileError(path, "the 'ecgs' group holds no ECG")
    entries = []
    for key in keys:
        node = group[key]
        if not hasattr(node, "attrs") or "signal" not in node:
            raise CorruptFileError(path, f"ECG group '{key}' has no 'signal' dataset")
        attrs = node.attrs
        start = _parse_iso(path, key, _attr_str(attrs, "start"))
        patient = _patient(attrs, start)
        entries.append(
            RecordEntry(
                source=str(path),
                key=key,
                label=key,
                load=_OwnLoader(path, key, paged_above),
                patient=patient,
                start=start,
                extra={"layout": f"ecgviewer {version_int}"},
            )
        )
    return entries


def _attr_str(attrs: Any, name: str) -> str | None:
    value = attrs.get(name)
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0] if value.size else ""
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
    text = str(value).strip()
    return text or None


def _attr_strs(attrs: Any, name: str) -> list[str]:
    value = attrs.get(name)
    if value is None:
        return []
    items = np.asarray(value).reshape(-1)
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in items]


def _parse_iso(path: Path, key: str, text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise CorruptFileError(
            path, f"ECG '{key}': start {text!r} is not an ISO 8601 date and time"
        ) from None


class _OwnLoader:
    """Reads one ECG group of the own layout (paged when large)."""

    def __init__(self, path: Path, key: str, paged_above: int = PAGED_SAMPLES) -> None:
        self.path, self.key, self.paged_above = path, key, paged_above

    def __call__(self) -> Record:
        try:
            with open_read_only(self.path) as fh:
                return self._load(fh["ecgs"][self.key])
        except ECGError:
            raise
        except Exception as exc:
            raise CorruptFileError(
                self.path, f"ECG '{self.key}' could not be read ({short(exc)})"
            ) from None

    def _load(self, node: Any) -> Record:
        path, key = self.path, self.key
        attrs = node.attrs
        ds = node["signal"]
        shape = getattr(ds, "shape", None)
        if shape is None or len(shape) != 2:
            raise CorruptFileError(path, f"ECG '{key}': signal must be 2-D, got shape {shape}")
        if ds.dtype.kind not in "fiu":
            raise CorruptFileError(path, f"ECG '{key}': signal holds {ds.dtype}, not numbers")
        leads = [normalize_lead_name(name) for name in _attr_strs(attrs, "leads")]
        if len(leads) != shape[0]:
            raise CorruptFileError(
                path, f"ECG '{key}': {shape[0]} signal rows but {len(leads)} lead names"
            )
        if "fs" not in attrs:
            raise CorruptFileError(path, f"ECG '{key}': the 'fs' attribute is missing")
        fs = float_or_none(np.asarray(attrs["fs"]).reshape(-1)[0])
        if fs is None:
            raise InvalidSignalError(
                path, f"ECG '{key}': sampling rate {_show(attrs['fs'])} is not a number"
            )
        if not 0 < int(shape[0]) <= MAX_SIGNAL_ROWS:
            raise CorruptFileError(
                path,
                f"ECG '{key}': {int(shape[0]):,} signal rows (1 to {MAX_SIGNAL_ROWS} expected)",
            )
        if fs > 0 and int(shape[1]) / fs > MAX_DURATION_S:
            raise CorruptFileError(
                path,
                f"ECG '{key}': {int(shape[1]):,} samples at {fs:g} Hz would last "
                f"{int(shape[1]) / fs / 86400:,.0f} days; recordings up to "
                f"{MAX_DURATION_S / 86400:.0f} days are read (damaged shape?)",
            )
        if int(shape[0]) * int(shape[1]) > self.paged_above:
            signal: Any = H5PagedSignal(path, f"ecgs/{key}/signal", (int(shape[0]), int(shape[1])))
        else:
            data = np.asarray(ds[()])
            if data.size and data.dtype.kind == "f" and np.isfinite(data).all():
                peak = float(np.abs(data).max())
                if peak > MAX_ABS_MV:
                    raise InvalidSignalError(
                        path, f"ECG '{key}': sample values up to {peak:.3g} mV are not an ECG"
                    )
            with np.errstate(invalid="ignore", over="ignore"):  # Record rejects the inf
                signal = data.astype(np.float32)
        start = _parse_iso(path, key, _attr_str(attrs, "start"))
        return Record(
            signal=signal,
            fs=fs,
            leads=leads,
            start=start,
            patient=_patient(attrs, start),
            annotations=_read_annotations(path, key, node),
            source=str(path),
            format="hdf5",
            derived_leads=tuple(_attr_strs(attrs, "derived_leads")),
            non_ecg=tuple(_attr_strs(attrs, "non_ecg")),
            device=_attr_str(attrs, "device"),
        )


def _read_annotations(path: Path, key: str, node: Any) -> list[Annotation]:
    if "annotations" not in node:
        return []
    ds = node["annotations"]
    count = int(np.prod(getattr(ds, "shape", None) or (1,)))
    if count > MAX_ANNOTATIONS:
        raise CorruptFileError(
            path, f"ECG '{key}': {count:,} annotations; at most {MAX_ANNOTATIONS:,} are read"
        )
    table = ds[()]
    names = getattr(table.dtype, "names", None) or ()
    if "onset" not in names:
        raise CorruptFileError(path, f"ECG '{key}': annotations table has no 'onset' field")
    out = []
    for row in np.atleast_1d(table):
        onset = float(row["onset"])
        duration = float(row["duration"]) if "duration" in names else 0.0
        if not (math.isfinite(onset) and math.isfinite(duration)):
            raise CorruptFileError(path, f"ECG '{key}': an annotation time is NaN or infinite")
        text = _cell(row["text"]) if "text" in names else ""
        lead = _cell(row["lead"]) if "lead" in names else ""
        out.append(Annotation(onset, duration, text, normalize_lead_name(lead) if lead else None))
    return out


def _cell(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class H5PagedSignal(PagedSignalBase):
    """A (leads, samples) float32 mV signal read page by page from an HDF5 dataset.

    Opens the file for each read (about a millisecond) instead of holding a handle, so a
    Record can outlive the reader, be pickled, or be read from a worker thread. Indexing and
    the per-page NaN/range checks come from :class:`~ecgviewer.io._paged.PagedSignalBase`.
    """

    _check_finite = True
    _max_abs_mv = MAX_ABS_MV

    def __init__(self, path: str | os.PathLike[str], dataset: str, shape: tuple[int, int]):
        self.path = self._path = Path(path)
        self.dataset = dataset
        self.shape = shape

    def _read_page(self, rows: list[int], a: int, b: int) -> np.ndarray:
        try:
            with open_read_only(self.path) as fh:
                page = np.asarray(fh[self.dataset][:, a:b], dtype=np.float32)
        except Exception as exc:
            raise CorruptFileError(self.path, f"could not read samples ({short(exc)})") from None
        return page[rows]


# ---------------------------------------------------------------------------- writing
def write_own_layout(
    path: str | os.PathLike[str],
    records: Record | Sequence[Record] | dict[str, Record],
) -> Path:
    """Write Records to a new HDF5 file in the ecgviewer layout (see the module docstring).

    Parameters
    ----------
    path
        The file to create (overwritten if it exists).
    records
        One Record, a sequence (keys ``ecg_000``, ``ecg_001``, ...) or a mapping key -> Record.

    Returns
    -------
    The path written.
    """
    h5py = h5py_module()
    if isinstance(records, Record):
        items = [("ecg_000", records)]
    elif isinstance(records, dict):
        items = list(records.items())
    else:
        items = [(f"ecg_{i:03d}", rec) for i, rec in enumerate(records)]
    text = h5py.string_dtype("utf-8")
    ann_dtype = np.dtype([("onset", "f8"), ("duration", "f8"), ("text", text), ("lead", text)])
    out = Path(path)
    with h5py.File(out, "w") as fh:
        fh.attrs["ecgviewer_layout"] = LAYOUT_VERSION
        group = fh.create_group("ecgs")
        for key, rec in items:
            node = group.create_group(key)
            _write_signal(node, rec)
            node.attrs["fs"] = float(rec.fs)
            node.attrs.create("leads", list(rec.leads), dtype=text)
            node.attrs["start"] = rec.start.isoformat() if rec.start else ""
            node.attrs["patient_id"] = rec.patient.id or ""
            node.attrs["age"] = float("nan") if rec.patient.age is None else float(rec.patient.age)
            node.attrs["sex"] = rec.patient.sex or ""
            node.attrs["patient_name"] = rec.patient.name or ""
            born = rec.patient.birth_date
            node.attrs["birth_date"] = born.isoformat() if born else ""
            node.attrs["device"] = rec.device or ""
            node.attrs.create("derived_leads", list(rec.derived_leads), dtype=text)
            node.attrs.create("non_ecg", list(rec.non_ecg), dtype=text)
            if rec.annotations:
                table = np.array(
                    [(a.onset, a.duration, a.text, a.lead or "") for a in rec.annotations],
                    dtype=ann_dtype,
                )
                node.create_dataset("annotations", data=table)
    return out


def _write_signal(node: Any, rec: Record) -> None:
    """The signal dataset; a paged source (24 h EDF) is copied page by page, never loaded."""
    if isinstance(rec.signal, np.ndarray):
        node.create_dataset("signal", data=rec.data(), dtype="f4", chunks=_chunks(rec))
        return
    ds = node.create_dataset(
        "signal", shape=(rec.n_leads, rec.n_samples), dtype="f4", chunks=_chunks(rec)
    )
    step = max(1, PAGED_SAMPLES // max(1, rec.n_leads))
    for a in range(0, rec.n_samples, step):
        b = min(rec.n_samples, a + step)
        ds[:, a:b] = np.asarray(rec.signal[:, a:b], dtype=np.float32)


def _chunks(rec: Record) -> tuple[int, int] | None:
    """Chunk so that one page (all leads, ~10 s) is a few chunk reads, for paged viewing."""
    n_leads, n_samples = rec.n_leads, rec.n_samples
    if n_leads * n_samples <= PAGED_SAMPLES:
        return None
    return (n_leads, min(n_samples, max(1, int(rec.fs * 10))))


def _patient(attrs: Any, start: datetime | None = None) -> Patient:
    """The patient an ECG group's attributes describe (files written before names were kept
    have no ``patient_name`` or ``birth_date``; a birth date after ``start`` is none)."""
    return Patient(
        id=_attr_str(attrs, "patient_id"),
        age=float_or_none(attrs.get("age")),
        sex=_attr_str(attrs, "sex"),
        name=person_name(_attr_str(attrs, "patient_name")),
        birth_date=birth_date(parse_date(_attr_str(attrs, "birth_date"), "%Y-%m-%d"), start),
    )
