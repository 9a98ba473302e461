"""Write folders of small synthetic WFDB records (with ``wfdb.wrsamp``) for worklist tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import wfdb

from ecgviewer.record import STANDARD_LEADS


def write_record(
    folder: Path,
    name: str,
    peak_mv: float,
    fs: int = 100,
    seconds: float = 10.0,
    leads: tuple[str, ...] = STANDARD_LEADS,
) -> Path:
    """A record whose largest absolute sample is ``peak_mv`` (a spike in lead II at 5 s)."""
    n = int(fs * seconds)
    t = np.arange(n) / fs
    sig = 0.1 * np.sin(2 * np.pi * 1.2 * t)[:, None] * np.ones((1, len(leads)))
    sig[n // 2, min(1, len(leads) - 1)] = peak_mv
    folder.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(
        name,
        fs=fs,
        units=["mV"] * len(leads),
        sig_name=list(leads),
        p_signal=sig,
        fmt=["16"] * len(leads),
        adc_gain=[1000.0] * len(leads),
        baseline=[0] * len(leads),
        write_dir=str(folder),
    )
    return folder / f"{name}.hea"


def write_folder(folder: Path, peaks: list[float]) -> dict[str, float]:
    """``rec000``, ``rec001``, ... with the given peaks; returns {name: peak}."""
    out = {}
    for i, peak in enumerate(peaks):
        name = f"rec{i:03d}"
        write_record(folder, name, peak)
        out[name] = peak
    return out
