"""HDF5 ECG files: the CODE-15% layout and the project's own documented layout.

Both open as ``list[RecordEntry]`` when the file holds several ECGs and as a plain
:class:`~ecgviewer.record.Record` when it holds exactly one (the same rule for both layouts,
and the same result type a single-ECG WFDB or EDF file gives). An entry's ``load()`` opens the
file again and reads only its own ECG, so a 20,000-exam CODE-15% part opens in milliseconds.

CODE-15% layout (Ribeiro et al. 2021, Zenodo record 4916206)
-----------------------------------------------------------
- ``tracings``: float, shape (N, 4096, 12): exam x sample x lead, 400 Hz, leads in the order
  I, II, III, aVR, aVL, aVF, V1-V6 (the dataset documentation writes DI, DII, DIII, AVR, AVL,
  AVF, V1...V6). Values are millivolts: the PhysioNet Challenge 2025 conversion script
  (``prepare_code15_data.py``) writes them to WFDB unchanged with ``units = "mV"``.
- ``exam_id``: integers, shape (N,), the exam id of each row (the key into ``exams.csv``).
  Optional here: CODE-test's ``ecg_tracings.hdf5`` has ``tracings`` alone; rows are then keyed
  by their index.
- 10 s (4000 samples) and 7 s (2800 samples) exams are centred in 4096 samples with zeros on
  both sides. The reader trims rows that are zero in every lead from both ends and says how
  many samples it removed in ``Record.notes``. An exam that is all zeros is an error.
- When an ``exams.csv`` with an ``exam_id`` column sits beside the file (as in the CODE-15%
  download), ``age``, ``is_male`` and ``patient_id`` are attached to each entry's patient.

Own layout ("ecgviewer" layout, version 1), written by :func:`write_own_layout`
------------------------------------------------------------------------------
::

    /                      attribute ecgviewer_layout = 1 (int; the version of this layout)
    /ecgs/<key>/           one group per ECG; <key> is any HDF5 name, listed in sorted order
        signal             dataset float32 (n_leads, n_samples), millivolts
        annotations        optional compound dataset: onset f8 (s), duration f8 (s),
                           text (UTF-8 str), lead (UTF-8 str, "" = all leads)
        attributes:
          fs               float, Hz                               (required)
          leads            array of str, one per signal row        (required)
          start            ISO 8601 str, e.g. "2024-05-01T10:22:03" ("" = unknown)
          patient_id       str ("" = unknown)
          age              float years (NaN = unknown)
          sex              "M", "F" or ""
          device           str ("" = unknown)
          derived_leads    array of str (may be empty)
          non_ecg          array of str (may be empty)

Signals larger than :data:`PAGED_SAMPLES` values are not loaded: the Record gets a
:class:`H5PagedSignal` that reads each requested page from the file.

Files in neither layout raise :class:`~ecgviewer.errors.CorruptFileError` naming the datasets
found.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ecgviewer.errors import (
    CorruptFileError,
    ECGError,
    EmptyFileError,
    InvalidSignalError,
)
from ecgviewer.record import Annotation, Patient, Record, RecordEntry, normalize_lead_name

log = logging.getLogger(__name__)

__all__ = [
    "CODE15_FS",
    "CODE15_LEADS",
    "LAYOUT_VERSION",
    "PAGED_SAMPLES",
    "H5PagedSignal",
    "read",
    "write_own_layout",
]

CODE15_FS = 400.0
CODE15_LEADS: tuple[str, ...] = (
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
)
LAYOUT_VERSION = 1
#: Larger sample magnitudes (1 kV) are damage, not an ECG (float32 would also overflow).
MAX_ABS_MV = 1e6
#: Above this many values (leads x samples, 32 MB of float32) a signal is paged, not loaded.
PAGED_SAMPLES = 8_000_000
#: exams.csv files larger than this are not scanned for demographics (seconds of parsing).
_MAX_EXAMS_CSV_BYTES = 200_000_000



def _h5py() -> Any:
    import h5py  # imported lazily: its C library costs start-up time

    return h5py


# ---------------------------------------------------------------------------- reading
def read(path: Path, **opts: Any) -> Record | list[RecordEntry]:
    """Read an HDF5 ECG file in the CODE-15% or the ecgviewer layout.

    Parameters
    ----------
    path
        The ``.h5``/``.hdf5`` file.
    **opts
        ``whole_load_values`` overrides :data:`PAGED_SAMPLES` (tests, benchmarks); other
        options are ignored (so that ``io.read(path, fs=...)`` works for any file).

    Returns
    -------
    Record when the file holds one ECG, else one :class:`RecordEntry` per ECG.
    """
    h5py = _h5py()
    path = Path(path)
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise CorruptFileError(path, f"not a readable HDF5 file ({_short(exc)})") from None
    paged_above = int(opts.get("whole_load_values", PAGED_SAMPLES))
    with fh:
        try:
            if "ecgviewer_layout" in fh.attrs:
                entries = _own_entries(path, fh, paged_above)
            elif "tracings" in fh:
                entries = _code15_entries(path, fh)
            else:
                found = _describe_contents(fh)
                raise CorruptFileError(
                    path,
                    "HDF5 file in no known ECG layout: expected a 'tracings' dataset (CODE-15%) "
                    f"or the 'ecgviewer_layout' attribute; found {found}",
                )
        except ECGError:
            raise
        except Exception as exc:  # h5py's KeyError/RuntimeError/OSError on a damaged tree
            raise CorruptFileError(
                path, f"damaged HDF5 structure ({type(exc).__name__}: {_short(exc)})"
            ) from None
    if len(entries) == 1:
        return entries[0].load()
    return entries


def _describe_contents(fh: Any) -> str:
    names: list[str] = []

    def visit(name: str, obj: Any) -> None:
        if len(names) < 12:
            shape = getattr(obj, "shape", None)
            names.append(f"'{name}' {tuple(shape)}" if shape is not None else f"'{name}/'")

    try:
        fh.visititems(visit)
    except Exception:  # a damaged tree: say what we managed to list
        pass
    return ", ".join(names) if names else "no datasets"


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


# ---------------------------------------------------------------------------- CODE-15%
def _code15_entries(path: Path, fh: Any) -> list[RecordEntry]:
    tracings = fh["tracings"]
    shape = getattr(tracings, "shape", None)
    if shape is None or len(shape) != 3 or shape[2] != len(CODE15_LEADS):
        raise CorruptFileError(
            path,
            f"'tracings' must have shape (exams, samples, 12) as in CODE-15%, got {shape}",
        )
    n_exams, n_samples, _ = (int(v) for v in shape)
    if n_exams == 0 or n_samples == 0:
        raise EmptyFileError(path, f"'tracings' holds no ECG (shape {tuple(shape)})")
    if tracings.dtype.kind not in "fiu":
        raise CorruptFileError(path, f"'tracings' holds {tracings.dtype}, not numbers")
    if "exam_id" in fh:
        ids_ds = fh["exam_id"]
        if getattr(ids_ds, "shape", None) is None or len(ids_ds.shape) != 1:
            raise CorruptFileError(path, "'exam_id' must be a 1-D dataset of exam ids")
        if ids_ds.shape[0] != n_exams:
            raise CorruptFileError(
                path, f"'exam_id' has {ids_ds.shape[0]} ids but 'tracings' has {n_exams} exams"
            )
        exam_ids = [_id_text(v) for v in ids_ds[()]]
    else:
        exam_ids = [str(i) for i in range(n_exams)]
    unique = len(set(exam_ids)) == len(exam_ids)
    demographics = _exams_csv(path, set(exam_ids)) if "exam_id" in fh else {}

    entries = []
    for index, exam_id in enumerate(exam_ids):
        patient = demographics.get(exam_id, Patient())
        entries.append(
            RecordEntry(
                source=str(path),
                key=exam_id if unique else str(index),
                label=f"exam {exam_id}" if "exam_id" in fh else f"tracing {index}",
                load=_Code15Loader(path, index, exam_id, patient),
                patient=patient,
                extra={"index": index, "exam_id": exam_id, "layout": "CODE-15%"},
            )
        )
    return entries


def _id_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        value = value.item()
    return str(value)


class _Code15Loader:
    """Reads one exam: a picklable callable so entries can cross process boundaries."""

    def __init__(self, path: Path, index: int, exam_id: str, patient: Patient) -> None:
        self.path, self.index, self.exam_id, self.patient = path, index, exam_id, patient

    def __call__(self) -> Record:
        try:
            with _h5py().File(self.path, "r") as fh, np.errstate(invalid="ignore", over="ignore"):
                # odd stored float types can overflow the cast; the checks below catch it
                rows = np.asarray(fh["tracings"][self.index], dtype=np.float64)
        except ECGError:
            raise
        except Exception as exc:  # damaged chunk, file replaced since listing, ...
            raise CorruptFileError(
                self.path, f"exam {self.exam_id} could not be read ({_short(exc)})"
            ) from None
        signal = rows.T  # (12, samples)
        if not np.isfinite(signal).all():
            bad = int((~np.isfinite(signal)).sum())
            raise InvalidSignalError(
                self.path, f"exam {self.exam_id}: {bad} samples are NaN or infinite"
            )
        peak = float(np.abs(signal).max())
        if peak > MAX_ABS_MV:
            raise InvalidSignalError(
                self.path, f"exam {self.exam_id}: sample values up to {peak:.3g} mV are not an ECG"
            )
        nonzero = np.flatnonzero(np.any(signal != 0, axis=0))
        if nonzero.size == 0:
            raise EmptyFileError(self.path, f"exam {self.exam_id} holds only zeros (no ECG)")
        a, b = int(nonzero[0]), int(nonzero[-1]) + 1
        notes = ["CODE-15% layout, 400 Hz"]
        if a or b < signal.shape[1]:
            notes.append(
                f"zero padding trimmed: {a} samples at the start, {signal.shape[1] - b} at the end"
            )
        return Record(
            signal=np.ascontiguousarray(signal[:, a:b], dtype=np.float32),
            fs=CODE15_FS,
            leads=list(CODE15_LEADS),
            patient=self.patient,
            source=str(self.path),
            format="hdf5",
            notes=tuple(notes) + (f"exam_id {self.exam_id}",),
        )


def _exams_csv(path: Path, wanted: set[str]) -> dict[str, Patient]:
    """Demographics from the ``exams.csv`` beside a CODE-15% part, when there is one."""
    table = path.with_name("exams.csv")
    try:
        if not table.is_file() or table.stat().st_size > _MAX_EXAMS_CSV_BYTES:
            return {}
        found: dict[str, Patient] = {}
        with open(table, newline="", encoding="utf-8", errors="replace") as fh:
            for row in csv.DictReader(fh):
                exam = (row.get("exam_id") or "").strip()
                if exam not in wanted:
                    continue
                found[exam] = Patient(
                    id=(row.get("patient_id") or "").strip() or None,
                    age=_float_or_none(row.get("age")),
                    sex={"true": "M", "false": "F"}.get((row.get("is_male") or "").lower()),
                )
        return found
    except (OSError, csv.Error, UnicodeError) as exc:
        log.warning("ignoring %s: %s", table, exc)
        return {}


def _float_or_none(text: Any) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


# ---------------------------------------------------------------------------- own layout
def _own_entries(path: Path, fh: Any, paged_above: int) -> list[RecordEntry]:
    version = fh.attrs["ecgviewer_layout"]
    try:
        version_int = int(np.asarray(version).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        raise CorruptFileError(
            path, f"ecgviewer_layout attribute {version!r} is not a number"
        ) from None
    if version_int > LAYOUT_VERSION:
        raise CorruptFileError(
            path,
            f"written in ecgviewer layout version {version_int}; this program reads up to "
            f"version {LAYOUT_VERSION} (update ecgviewer)",
        )
    group = fh.get("ecgs")
    if group is None or not hasattr(group, "keys"):
        raise CorruptFileError(path, "ecgviewer layout without an 'ecgs' group")
    keys = sorted(group.keys())
    if not keys:
        raise EmptyFileError(path, "the 'ecgs' group holds no ECG")
    entries = []
    for key in keys:
        node = group[key]
        if not hasattr(node, "attrs") or "signal" not in node:
            raise CorruptFileError(path, f"ECG group '{key}' has no 'signal' dataset")
        attrs = node.attrs
        patient = Patient(
            id=_attr_str(attrs, "patient_id"),
            age=_float_or_none(attrs.get("age")),
            sex=_attr_str(attrs, "sex"),
        )
        start = _parse_iso(path, key, _attr_str(attrs, "start"))
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
            with _h5py().File(self.path, "r") as fh:
                return self._load(fh["ecgs"][self.key])
        except ECGError:
            raise
        except Exception as exc:
            raise CorruptFileError(
                self.path, f"ECG '{self.key}' could not be read ({_short(exc)})"
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
        fs = _float_or_none(np.asarray(attrs["fs"]).reshape(-1)[0])
        if fs is None:
            raise InvalidSignalError(path, f"ECG '{key}': sampling rate {attrs['fs']!r} is not a number")
        if int(shape[0]) * int(shape[1]) > self.paged_above:
            signal: Any = H5PagedSignal(path, f"ecgs/{key}/signal", (int(shape[0]), int(shape[1])))
        else:
            data = np.asarray(ds[()])
            if data.dtype.kind == "f" and np.isfinite(data).all():
                peak = float(np.abs(data).max())
                if peak > MAX_ABS_MV:
                    raise InvalidSignalError(
                        path, f"ECG '{key}': sample values up to {peak:.3g} mV are not an ECG"
                    )
            with np.errstate(invalid="ignore", over="ignore"):  # Record rejects the inf
                signal = data.astype(np.float32)
        return Record(
            signal=signal,
            fs=fs,
            leads=leads,
            start=_parse_iso(path, key, _attr_str(attrs, "start")),
            patient=Patient(
                id=_attr_str(attrs, "patient_id"),
                age=_float_or_none(attrs.get("age")),
                sex=_attr_str(attrs, "sex"),
            ),
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
    table = node["annotations"][()]
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


class H5PagedSignal:
    """A (leads, samples) float32 mV signal read page by page from an HDF5 dataset.

    Opens the file for each read (about a millisecond) instead of holding a handle, so a
    Record can outlive the reader, be pickled, or be read from a worker thread.
    """

    dtype = np.dtype(np.float32)

    def __init__(self, path: str | os.PathLike[str], dataset: str, shape: tuple[int, int]):
        self.path = Path(path)
        self.dataset = dataset
        self.shape = shape

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def ndim(self) -> int:
        return 2

    def __getitem__(self, key: Any) -> np.ndarray:
        rows, cols = key if isinstance(key, tuple) else (key, slice(None))
        if isinstance(cols, slice):
            start, stop, step = cols.indices(self.shape[1])
            if step != 1:
                page = self._read(slice(start, stop))[:, ::step]
            else:
                page = self._read(slice(start, max(start, stop)))
        else:
            page = self._read(slice(None))[:, cols]
        page = page[rows]
        if not np.isfinite(page).all():
            raise InvalidSignalError(self.path, "NaN or infinite samples in this part of the ECG")
        return page

    def _read(self, cols: slice) -> np.ndarray:
        try:
            with _h5py().File(self.path, "r") as fh:
                return np.asarray(fh[self.dataset][:, cols], dtype=np.float32)
        except Exception as exc:
            raise CorruptFileError(self.path, f"could not read samples ({_short(exc)})") from None

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        data = self[:, :]
        return data if dtype is None else data.astype(dtype)


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
    h5py = _h5py()
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
            node.create_dataset(
                "signal", data=rec.data(), dtype="f4", chunks=_chunks(rec), compression=None
            )
            node.attrs["fs"] = float(rec.fs)
            node.attrs.create("leads", list(rec.leads), dtype=text)
            node.attrs["start"] = rec.start.isoformat() if rec.start else ""
            node.attrs["patient_id"] = rec.patient.id or ""
            node.attrs["age"] = float("nan") if rec.patient.age is None else float(rec.patient.age)
            node.attrs["sex"] = rec.patient.sex or ""
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


def _chunks(rec: Record) -> tuple[int, int] | None:
    """Chunk so that one page (all leads, ~10 s) is a few chunk reads, for paged viewing."""
    n_leads, n_samples = rec.n_leads, rec.n_samples
    if n_leads * n_samples <= PAGED_SAMPLES:
        return None
    return (n_leads, min(n_samples, max(1, int(rec.fs * 10))))
