"""Test helpers that write ECG files with the formats' own libraries (wfdb, pyedflib, h5py),
so reader tests compare our Record with what the library wrote and reads back."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np

LEADS_12 = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]


def synthetic_12lead(fs: float = 500.0, seconds: float = 10.0, seed: int = 0) -> np.ndarray:
    """A smooth, ECG-like (12, n) float64 signal in mV, within +-3 mV."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(fs * seconds))) / fs
    beat = np.zeros_like(t)
    for r in np.arange(0.4, seconds, 0.85):  # ~70 bpm: QRS spike plus a T wave
        beat += 1.2 * np.exp(-0.5 * ((t - r) / 0.012) ** 2)
        beat += 0.3 * np.exp(-0.5 * ((t - r - 0.25) / 0.04) ** 2)
    gains = rng.uniform(-1.5, 1.5, size=12)
    wander = 0.1 * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 6, size=(12, 1)))
    return gains[:, None] * beat[None, :] + wander


def write_edf(path: Path, signals: list[np.ndarray], labels: list[str], rates: list[float],
              *, dims: list[str] | None = None, file_type: int | None = None,
              phys: float = 10.0, patient_code: str = "", sex: int | None = None,
              birthdate: date | None = None, start: datetime | None = None,
              equipment: str = "", annotations: list[tuple[float, float, str]] = (),
              bdf: bool = False) -> Path:
    """Write signals (physical units) with pyedflib's EdfWriter."""
    import pyedflib

    if file_type is None:
        file_type = pyedflib.FILETYPE_BDFPLUS if bdf else pyedflib.FILETYPE_EDFPLUS
    dmax = 8388607 if bdf else 32767
    writer = pyedflib.EdfWriter(str(path), len(signals), file_type=file_type)
    try:
        writer.setSignalHeaders([
            dict(label=lab, dimension=(dims[i] if dims else "mV"), sample_frequency=rates[i],
                 physical_min=-phys, physical_max=phys, digital_min=-dmax - 1,
                 digital_max=dmax, transducer="", prefilter="")
            for i, lab in enumerate(labels)
        ])
        if patient_code:
            writer.setPatientCode(patient_code)
        if sex is not None:
            writer.setSex(sex)
        if birthdate is not None:
            writer.setBirthdate(birthdate)
        if start is not None:
            writer.setStartdatetime(start)
        if equipment:
            writer.setEquipment(equipment)
        writer.writeSamples([np.ascontiguousarray(s, dtype=np.float64) for s in signals])
        for onset, duration, text in annotations:
            writer.writeAnnotation(onset, duration, text)
    finally:
        writer.close()
    return path


def write_wfdb(folder: Path, name: str, signal: np.ndarray, fs: float, leads: list[str], *,
               units: list[str] | None = None, fmt: str = "16", gain: float = 1000.0,
               comments: list[str] | None = None, base_date: date | None = None,
               base_time=None) -> Path:
    """Write a single-segment WFDB record with ``wfdb.wrsamp``; returns the .hea path."""
    import wfdb

    n = signal.shape[0]
    wfdb.wrsamp(
        name, fs=fs, units=units or ["mV"] * n, sig_name=list(leads),
        p_signal=np.ascontiguousarray(signal.T), fmt=[fmt] * n, adc_gain=[gain] * n,
        baseline=[0] * n, comments=comments or [], base_date=base_date, base_time=base_time,
        write_dir=str(folder),
    )
    return folder / f"{name}.hea"


def write_ishne(path: Path, signal_mv: np.ndarray, fs: int, *, lead_specs: list[int] | None = None,
                resolution_nv: int = 2500, patient_id: str = "P-1", sex: int = 2,
                start: datetime = datetime(2024, 5, 6, 7, 8, 9),
                beats: list[tuple[int, str]] = ()) -> Path:
    """Write an ISHNE 1.0 ``.ecg`` (and ``.ann`` when ``beats`` are given), following the
    published layout, with a correct header CRC-CCITT."""
    import binascii
    import struct

    n_leads, n = signal_mv.shape
    specs = (lead_specs or list(range(5, 5 + n_leads))) + [-9] * (12 - n_leads)

    def header(magic: bytes) -> bytes:
        fixed = struct.pack(
            "<iiiih40s40s20shh3h3h3h3hh12h12h12hh40sh80s80s88s",
            0, n, 522, 522, 1, b"First", b"Last", patient_id.encode(), sex, 0,
            1, 2, 1960, start.day, start.month, start.year, 1, 1, 2025,
            start.hour, start.minute, start.second, n_leads, *specs, *([1] * 12),
            *([resolution_nv] * n_leads + [0] * (12 - n_leads)), 0, b"test recorder", fs,
            b"", b"", b"")
        return magic + struct.pack("<H", binascii.crc_hqx(fixed, 0xFFFF)) + fixed

    digital = np.round(signal_mv / (resolution_nv * 1e-6)).astype("<i2")
    path.write_bytes(header(b"ISHNE1.0") + digital.T.tobytes())
    if beats:
        body = struct.pack("<I", 0)
        last = 0
        for sample, label in beats:
            body += struct.pack("<ccH", label.encode(), b"#", sample - last)
            last = sample
        path.with_suffix(".ann").write_bytes(header(b"ANN  1.0") + body)
    return path
