"""Training and validation data: PTB-XL in its official layout, or any folder of ECG files.

PTB-XL rule (stated in the model card): a record's diagnostic superclasses are the
``diagnostic_class`` of every key of ``scp_codes`` whose row in ``scp_statements.csv`` has
``diagnostic == 1`` (any likelihood). Normal = superclasses exactly {NORM}; abnormal = at least
one of MI, STTC, CD, HYP. Folds 1-8 normals train; fold 9 is split by patient into a
*selection* half (checkpoint choice, score choice, threshold, percentile calibration) and a
*report* half on which the figures we publish are measured. Fold 10 is never read.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecgviewer import io
from ecgviewer.errors import ECGError
from ecgviewer.io.files import ecg_files
from ecgviewer.io.ptbxl_database import read_ptbxl_database
from ecgviewer.record import Record
from model.beat_bank import BeatBank
from model.config import ModelConfig
from model.measure_novelty import MeasurementNovelty, feature_names
from model.preprocess import normalise, prepare, prepare_array, select_leads, window_starts

log = logging.getLogger(__name__)

ABNORMAL_CLASSES = ("MI", "STTC", "CD", "HYP")
#: Extra samples kept around each training window for random-crop augmentation.
CROP_MARGIN_S = 0.4


@dataclass
class Labelled:
    """One ECG file with what PTB-XL says about it."""

    path: Path
    ecg_id: int
    patient_id: int
    fold: int
    age: float | None
    sex: str | None  # "M" / "F"
    classes: frozenset[str]
    #: every scp_codes statement with its likelihood (0-100), e.g. {"IMI": 50.0, "SR": 0.0}
    codes: dict[str, float] = field(default_factory=dict)

    @property
    def normal(self) -> bool:
        return self.classes == frozenset({"NORM"})

    @property
    def abnormal(self) -> bool:
        return bool(self.classes & set(ABNORMAL_CLASSES))


def _diagnostic_map(root: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    with open(root / "scp_statements.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            code = row.get("") or row.get("Unnamed: 0") or ""
            if row.get("diagnostic", "").strip() in ("1", "1.0") and row.get("diagnostic_class"):
                out[code] = row["diagnostic_class"]
    return out


def read_ptbxl(root: str | Path) -> list[Labelled]:
    """Every record of a PTB-XL layout whose file exists (``filename_hr``, else ``filename_lr``)."""
    root = Path(root)
    diag = _diagnostic_map(root)
    out: list[Labelled] = []
    for row in read_ptbxl_database(root / "ptbxl_database.csv"):  # the one set of PTB-XL rules
        codes = row.scp_codes
        classes = frozenset(diag[c] for c in codes if c in diag)
        out.append(
            Labelled(
                path=row.header,
                ecg_id=int(row.ecg_id),
                patient_id=int(float(row.patient.id or -1)),
                fold=int(row.fold if row.fold is not None else -1),
                age=row.patient.age,
                sex=row.patient.sex,
                classes=classes,
                codes={str(k): float(v) for k, v in codes.items()},
            )
        )
    return out


def _half(patient_id: int, seed: int) -> int:
    digest = hashlib.sha256(f"{seed}:{patient_id}".encode()).digest()
    return digest[0] & 1


@dataclass
class Split:
    train: list[Labelled]
    selection: list[Labelled]  # fold 9, patient half 0: used for every choice
    report: list[Labelled]  # fold 9, patient half 1: only measured, never used to choose


def ptbxl_split(
    root: str | Path,
    cfg: ModelConfig,
    train_folds: tuple[int, ...] = tuple(range(1, 9)),
    val_fold: int = 9,
) -> Split:
    records = read_ptbxl(root)
    train = [r for r in records if r.fold in train_folds and r.normal]
    val = [r for r in records if r.fold == val_fold and (r.normal or r.abnormal)]
    selection = [r for r in val if _half(r.patient_id, cfg.seed) == 0]
    report = [r for r in val if _half(r.patient_id, cfg.seed) == 1]
    return Split(train, selection, report)


def folder_records(folder: str | Path) -> list[Path]:
    """Every single-ECG file under ``folder``, by the one folder scan of ecgviewer.io.files
    (WFDB counted once, by its .hea; hidden names, FIFOs and collections left out)."""
    return [f.path for f in ecg_files(folder) if f.problem is None and not f.collection]


@dataclass
class TrainingSet:
    """Normalised model-rate windows (with crop margin) and their R peaks, ready to batch."""

    signals: np.ndarray  # (N, 12, L + margin) float32, normalised
    r_peaks: list[np.ndarray]  # per item, positions in item coordinates
    age: np.ndarray  # (N,) age/100, NaN unknown
    sex: np.ndarray  # (N,) 1 female, 0 male, NaN unknown
    sources: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.signals)


def read_single(path: str | Path, advice: str) -> Record:
    """Read a file that must hold one ECG; a collection is refused with ``advice``."""
    record = io.read(path)
    if not isinstance(record, Record):
        raise ECGError(path, f"holds several ECGs; {advice}")
    return record


def _items_from_record(record: Record, cfg: ModelConfig) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    x, _ = select_leads(record, cfg)
    prepared = prepare_array(x, record.fs, cfg, record.source)
    filtered = prepared.filtered
    margin = int(round(CROP_MARGIN_S * cfg.fs))
    width = cfg.global_len + margin
    n = filtered.shape[1]
    starts = [0] if n <= width else window_starts(n - margin, cfg)
    for start in starts:
        part = filtered[:, start : start + width]
        if part.shape[1] < width:
            part = np.pad(part, ((0, 0), (0, width - part.shape[1])), mode="edge")
        norm, _, _ = normalise(part, cfg)
        peaks = prepared.r_peaks[(prepared.r_peaks >= start) & (prepared.r_peaks < start + width)]
        yield norm, (peaks - start).astype(np.int64)


def build_training_set(
    paths: list[Path],
    cfg: ModelConfig,
    ages: list[float | None] | None = None,
    sexes: list[str | None] | None = None,
) -> TrainingSet:
    """Read and preprocess every file; unreadable ones are logged and skipped, never silently."""
    signals, peaks, age_out, sex_out, sources = [], [], [], [], []
    for i, path in enumerate(paths):
        try:
            record = read_single(path, "list them individually for training")
            items = list(_items_from_record(record, cfg))
        except ECGError as exc:
            log.warning("skipped for training: %s", exc)
            continue
        age = ages[i] if ages is not None else record.patient.age
        sex = sexes[i] if sexes is not None else record.patient.sex
        for sig, pk in items:
            signals.append(sig)
            peaks.append(pk)
            age_out.append(np.nan if age is None else age / 100.0)
            sex_out.append({"F": 1.0, "M": 0.0}.get(sex or "", np.nan))
            sources.append(str(path))
    if not signals:
        raise ECGError(None, "no usable training ECGs were found")
    return TrainingSet(
        np.stack(signals),
        peaks,
        np.asarray(age_out, np.float32),
        np.asarray(sex_out, np.float32),
        sources,
    )


def bank_from_files(paths: list[Path], cfg: ModelConfig) -> BeatBank:
    """The normal-beat bank of the training normals: one median beat per window of each file.

    Unreadable files are logged and skipped, as for training.
    """
    beats = []
    for path in paths:
        try:
            prepared = prepare(
                read_single(path, "list them individually for training"), cfg, median_beats=True
            )
        except ECGError as exc:
            log.warning("skipped for the beat bank: %s", exc)
            continue
        if prepared.median_beats is not None:
            beats.append(prepared.median_beats)
    if not beats:
        raise ECGError(None, "no usable ECGs for the normal-beat bank")
    return BeatBank.build(np.concatenate(beats), cfg)


def _file_measure_features(path: Path, cfg: ModelConfig) -> np.ndarray | None:
    try:
        prepared = prepare(
            read_single(path, "list them individually for training"), cfg, measurements=True
        )
    except ECGError as exc:
        log.warning("skipped for the measurement ranges: %s", exc)
        return None
    return prepared.measure_features


def measure_model_from_files(
    paths: list[Path], cfg: ModelConfig, workers: int = 2
) -> MeasurementNovelty:
    """The normal range of the measurement features of the training normals
    (model/measure_novelty.py), measured in ``workers`` processes (~15 ms per ECG)."""
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    job = partial(_file_measure_features, cfg=cfg)
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            rows = list(pool.map(job, paths, chunksize=64))
    else:
        rows = [job(p) for p in paths]
    kept = [r for r in rows if r is not None]
    if not kept:
        raise ECGError(None, "no usable ECGs for the measurement ranges")
    return MeasurementNovelty.fit(np.stack(kept), feature_names(cfg.leads))
