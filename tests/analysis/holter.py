"""Write a long synthetic Holter EDF (pyedflib), block by block, with PVCs at known times."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyedflib

from ecgviewer.signal.synthetic import synthetic_ecg

BLOCK_S = 300  # seconds generated at once; a few distinct blocks are cycled


def write_holter_edf(
    path: Path, hours: float, fs: int = 250, pvc_every_s: float = 3600.0, n_distinct: int = 4
) -> list[float]:
    """A 12-lead EDF+ of ``hours``; returns the times (s) of the PVCs it contains.

    One PVC is placed ``pvc_every_s`` apart (in the first block of each period), so a test
    knows where the anomalies are without trusting the model.
    """
    total_s = int(round(hours * 3600))
    blocks = [
        synthetic_ecg(fs=fs, duration=BLOCK_S, hr=65 + 5 * k, seed=k) for k in range(n_distinct)
    ]
    leads = list(blocks[0].leads)
    pvc_in_block = 150.0
    with_pvc = synthetic_ecg(fs=fs, duration=BLOCK_S, hr=70, seed=99, pvc_at=pvc_in_block)
    pvc_true = [b.r for b in with_pvc.beats if b.kind == "V"][0]
    writer = pyedflib.EdfWriter(str(path), len(leads), file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        writer.setSignalHeaders(
            [
                {
                    "label": name,
                    "dimension": "mV",
                    "sample_frequency": fs,
                    "physical_max": 5.0,
                    "physical_min": -5.0,
                    "digital_max": 32767,
                    "digital_min": -32768,
                    "transducer": "",
                    "prefilter": "",
                }
                for name in leads
            ]
        )
        writer.setPatientCode("HOLTER-001")
        pvcs = []
        t = 0
        k = 0
        while t < total_s:
            n_s = min(BLOCK_S, total_s - t)
            if (
                pvc_every_s
                and int(t // pvc_every_s) != int((t - BLOCK_S) // pvc_every_s)
                and n_s == BLOCK_S
            ):
                block = with_pvc.signal
                pvcs.append(t + pvc_true)
            else:
                block = blocks[k % n_distinct].signal
                k += 1
            data = np.ascontiguousarray(block[:, : n_s * fs], dtype=np.float64)
            writer.writeSamples(list(data))
            t += n_s
    finally:
        writer.close()
    return pvcs
