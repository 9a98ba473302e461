"""Cart and Holter formats: read time and agreement with a reference reader, printed as JSON.

For every file under ``../shared/fixtures/cart/{ge_muse,dicom,ishne}``:

* ``first_read_ms``: the first ``ecgviewer.io.read`` in this process (reader imports included);
  ``read_ms``: the median of ``--repeats`` further reads;
* ``max_abs_diff_mv``: the largest sample difference to the reference reading over the leads
  both have (MUSE and ISHNE: ecgdatakit's parser; DICOM: pydicom's ``waveform_array``,
  uV -> mV), and the number of leads compared;

plus ``ishne_24h``: a 24 h, 3-lead, 200 Hz ISHNE file written here (the published layout):
time to open it, to fetch a 10 s page from its middle, and the peak traced memory of both
(the recording is paged, never loaded whole), and the time and peak traced memory of
converting it to EDF+ and WFDB (written chunk by chunk); and ``convert_ms`` per output format
for the ISHNE fixture.

Usage: ``python benchmarks/cart_formats.py [--repeats 5]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
FIXTURES = REPO.parent / "shared" / "fixtures" / "cart"


def _reference(path: Path) -> dict[str, np.ndarray]:
    if path.suffix.lower() == ".dcm":
        import pydicom

        from ecgviewer.io.dicom import lead_name_from_code

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(str(path))
            arr = ds.waveform_array(0) / 1000.0
            out = {}
            for k, ch in enumerate(ds.WaveformSequence[0].ChannelDefinitionSequence):
                src = ch.ChannelSourceSequence[0]
                out[
                    lead_name_from_code(src.CodeValue, src.CodingSchemeDesignator, src.CodeMeaning)
                ] = arr[:, k]
            return out
    from ecgdatakit.parsing.parser import FileParser

    return {lead.label: np.asarray(lead.samples) for lead in FileParser().parse(path).leads}


def fixtures(repeats: int) -> dict[str, dict]:
    from ecgviewer.io import read
    from ecgviewer.io.files import ecg_files

    out = {}
    for folder in ("ge_muse", "dicom", "ishne"):
        for path in (f.path for f in ecg_files(FIXTURES / folder) if f.problem is None):
            t = time.perf_counter()
            rec = read(path)
            first = time.perf_counter() - t
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                read(path)
                times.append(time.perf_counter() - t)
            ref = _reference(path)
            common = [lead for lead in rec.leads if lead in ref]
            diff = max(
                float(
                    np.abs(
                        np.asarray(rec.signal[rec.lead_index(lead)], np.float64)
                        - ref[lead][: rec.n_samples]
                    ).max()
                )
                for lead in common
            )
            out[f"{folder}/{path.name}"] = {
                "format": rec.format,
                "leads": rec.n_leads,
                "fs": rec.fs,
                "seconds": round(rec.duration, 3),
                "first_read_ms": round(first * 1000, 1),
                "read_ms": round(statistics.median(times) * 1000, 1),
                "max_abs_diff_mv": diff,
                "leads_compared": len(common),
            }
    return out


def ishne_24h(folder: Path) -> dict:
    sys.path.insert(0, str(REPO))
    from ecgviewer.io import read
    from tests.io._writers import write_ishne

    fs, hours = 200, 24
    n = fs * 3600 * hours
    path = folder / "holter.ecg"
    chunk = np.zeros((3, 100), dtype=np.float32)
    write_ishne(path, chunk, fs, lead_specs=[1, 1, 1])  # header for 100 samples, then grow
    import struct

    with open(path, "r+b") as fh:  # rewrite the sample count, then append the samples
        data = bytearray(fh.read(522))
        data[14:18] = struct.pack("<i", n)
        import binascii

        data[8:10] = struct.pack("<H", binascii.crc_hqx(bytes(data[10:522]), 0xFFFF))
        fh.seek(0)
        fh.write(data)
        fh.truncate(522)
        fh.seek(522)
        t = np.arange(fs * 3600) / fs
        hour = (
            np.stack([np.sin(2 * np.pi * 1.2 * t) * 400 * (k + 1) for k in range(3)])
            .T.astype("<i2")
            .tobytes()
        )
        for _ in range(hours):
            fh.write(hour)
    tracemalloc.start()
    t = time.perf_counter()
    rec = read(path)
    open_s = time.perf_counter() - t
    t = time.perf_counter()
    page = rec.signal[:, n // 2 : n // 2 + 10 * fs]
    page_ms = (time.perf_counter() - t) * 1000
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    result = {
        "file_mb": round(path.stat().st_size / 2**20, 1),
        "open_ms": round(open_s * 1000, 2),
        "page_10s_ms": round(page_ms, 2),
        "page_shape": list(page.shape),
        "peak_traced_mb": round(peak, 2),
        "signal_type": type(rec.signal).__name__,
    }
    from ecgviewer.io.writers import write

    for fmt, ext in (("edf", ".edf"), ("wfdb", ".hea")):
        tracemalloc.start()
        t = time.perf_counter()
        write(rec, folder / f"holter{ext}", fmt)
        result[f"convert_to_{fmt}_s"] = round(time.perf_counter() - t, 2)
        result[f"convert_to_{fmt}_peak_traced_mb"] = round(
            tracemalloc.get_traced_memory()[1] / 2**20, 1
        )
        tracemalloc.stop()
    return result


def convert_times(folder: Path) -> dict:
    from ecgviewer.io import read
    from ecgviewer.io.writers import write

    rec = read(FIXTURES / "ishne" / "ECG_P28.01.ecg")
    out = {}
    for fmt, ext in (("wfdb", ".hea"), ("edf", ".edf"), ("hl7aecg", ".xml")):
        write(rec, folder / f"warm{ext}", fmt)  # imports
        t = time.perf_counter()
        write(rec, folder / f"ishne{ext}", fmt)
        out[fmt] = round((time.perf_counter() - t) * 1000, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = {
            "fixtures": fixtures(args.repeats),
            "ishne_24h": ishne_24h(Path(tmp)),
            "convert_ishne_fixture_ms": convert_times(Path(tmp)),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
