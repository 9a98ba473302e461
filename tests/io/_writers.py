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


def write_edf(
    path: Path,
    signals: list[np.ndarray],
    labels: list[str],
    rates: list[float],
    *,
    dims: list[str] | None = None,
    file_type: int | None = None,
    phys: float = 10.0,
    patient_code: str = "",
    patient_name: str = "",
    sex: int | None = None,
    birthdate: date | None = None,
    start: datetime | None = None,
    equipment: str = "",
    annotations: list[tuple[float, float, str]] = (),
    bdf: bool = False,
) -> Path:
    """Write signals (physical units) with pyedflib's EdfWriter."""
    import pyedflib

    if file_type is None:
        file_type = pyedflib.FILETYPE_BDFPLUS if bdf else pyedflib.FILETYPE_EDFPLUS
    dmax = 8388607 if bdf else 32767
    writer = pyedflib.EdfWriter(str(path), len(signals), file_type=file_type)
    try:
        writer.setSignalHeaders(
            [
                dict(
                    label=lab,
                    dimension=(dims[i] if dims else "mV"),
                    sample_frequency=rates[i],
                    physical_min=-phys,
                    physical_max=phys,
                    digital_min=-dmax - 1,
                    digital_max=dmax,
                    transducer="",
                    prefilter="",
                )
                for i, lab in enumerate(labels)
            ]
        )
        if patient_code:
            writer.setPatientCode(patient_code)
        if patient_name:
            writer.setPatientName(patient_name)
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


def write_wfdb(
    folder: Path,
    name: str,
    signal: np.ndarray,
    fs: float,
    leads: list[str],
    *,
    units: list[str] | None = None,
    fmt: str = "16",
    gain: float = 1000.0,
    comments: list[str] | None = None,
    base_date: date | None = None,
    base_time=None,
) -> Path:
    """Write a single-segment WFDB record with ``wfdb.wrsamp``; returns the .hea path."""
    import wfdb

    n = signal.shape[0]
    wfdb.wrsamp(
        name,
        fs=fs,
        units=units or ["mV"] * n,
        sig_name=list(leads),
        p_signal=np.ascontiguousarray(signal.T),
        fmt=[fmt] * n,
        adc_gain=[gain] * n,
        baseline=[0] * n,
        comments=comments or [],
        base_date=base_date,
        base_time=base_time,
        write_dir=str(folder),
    )
    return folder / f"{name}.hea"


def write_ishne(
    path: Path,
    signal_mv: np.ndarray,
    fs: int,
    *,
    lead_specs: list[int] | None = None,
    resolution_nv: int = 2500,
    patient_id: str = "P-1",
    sex: int = 2,
    start: datetime = datetime(2024, 5, 6, 7, 8, 9),
    birth: date = date(1960, 2, 1),
    beats: list[tuple[int, str]] = (),
) -> Path:
    """Write an ISHNE 1.0 ``.ecg`` (and ``.ann`` when ``beats`` are given), following the
    published layout, with a correct header CRC-CCITT."""
    import binascii
    import struct

    n_leads, n = signal_mv.shape
    specs = (lead_specs or list(range(5, 5 + n_leads))) + [-9] * (12 - n_leads)

    def header(magic: bytes) -> bytes:
        fixed = struct.pack(
            "<iiiih40s40s20shh3h3h3h3hh12h12h12hh40sh80s80s88s",
            0,
            n,
            522,
            522,
            1,
            b"First",
            b"Last",
            patient_id.encode(),
            sex,
            0,
            birth.day,
            birth.month,
            birth.year,
            start.day,
            start.month,
            start.year,
            1,
            1,
            2025,
            start.hour,
            start.minute,
            start.second,
            n_leads,
            *specs,
            *([1] * 12),
            *([resolution_nv] * n_leads + [0] * (12 - n_leads)),
            0,
            b"test recorder",
            fs,
            b"",
            b"",
            b"",
        )
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


def write_dicom_ecg(
    path: Path,
    signal_mv: np.ndarray,
    fs: float,
    leads: list[str],
    *,
    sensitivity_uv: float = 1.0,
    patient_id: str = "",
    sex: str = "",
    age: str = "",
    start: datetime | None = None,
    events: list[tuple[float, float, str]] = (),
    patient_name: str = "",
    birth: date | None = None,
) -> Path:
    """Write a 12-lead ECG Waveform Storage object with pydicom (SCPECG lead codes, uV);
    ``events`` become free-text waveform annotations at their sample positions."""
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    from tests.io._scp_writer import LEAD_CODES as scp

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.9.1.1"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "ECG"
    ds.PatientID, ds.PatientSex, ds.PatientAge = patient_id, sex, age
    if patient_name:
        ds.PatientName = patient_name
    if birth is not None:
        ds.PatientBirthDate = birth.strftime("%Y%m%d")
    if start is not None:
        ds.AcquisitionDateTime = start.strftime("%Y%m%d%H%M%S")
    group = Dataset()
    group.MultiplexGroupLabel = "RHYTHM"
    group.SamplingFrequency = fs
    group.NumberOfWaveformChannels = len(leads)
    group.NumberOfWaveformSamples = signal_mv.shape[1]
    group.WaveformBitsAllocated = 16
    group.WaveformSampleInterpretation = "SS"
    channels = []
    for name in leads:
        ch = Dataset()
        src = Dataset()
        src.CodeValue = f"5.6.3-9-{scp[name]}"
        src.CodingSchemeDesignator = "SCPECG"
        src.CodeMeaning = f"Lead {name}"
        ch.ChannelSourceSequence = [src]
        unit = Dataset()
        unit.CodeValue, unit.CodingSchemeDesignator, unit.CodeMeaning = "uV", "UCUM", "microvolt"
        ch.ChannelSensitivityUnitsSequence = [unit]
        ch.ChannelSensitivity = sensitivity_uv
        ch.ChannelSensitivityCorrectionFactor = 1
        ch.ChannelBaseline = 0
        ch.WaveformBitsStored = 16
        channels.append(ch)
    group.ChannelDefinitionSequence = channels
    digital = np.round(signal_mv * 1000.0 / sensitivity_uv).astype("<i2")
    group.WaveformData = digital.T.tobytes()
    ds.WaveformSequence = [group]
    notes = []
    for onset, _, text in events:
        ann = Dataset()
        ann.UnformattedTextValue = text
        ann.ReferencedWaveformChannels = [1, 0]
        ann.TemporalRangeType = "POINT"
        ann.ReferencedSamplePositions = [int(round(onset * fs)) + 1]  # 1-based
        notes.append(ann)
    if notes:
        ds.WaveformAnnotationSequence = notes
    pydicom.dcmwrite(str(path), ds, enforce_file_format=True)
    return path


def write_muse(
    path: Path,
    signal_mv: np.ndarray,
    fs: int,
    leads: list[str],
    *,
    uv_per_bit: float = 1.0,
    patient_id: str = "",
    age: int | None = None,
    sex: str = "",
    start: datetime | None = None,
    family_given: tuple[str, str] | None = None,
    birth: date | None = None,
) -> Path:
    """Write a GE MUSE XML resting ECG following the layout of the MUSE exports (base64
    16-bit little-endian rhythm leads with CRC-32)."""
    import base64
    import zlib

    lead_xml = []
    for name, row in zip(leads, signal_mv, strict=True):
        raw = np.round(row * 1000.0 / uv_per_bit).astype("<i2").tobytes()
        lead_xml.append(
            f"<LeadData><LeadByteCountTotal>{len(raw)}</LeadByteCountTotal>"
            f"<LeadSampleCountTotal>{len(row)}</LeadSampleCountTotal>"
            f"<LeadAmplitudeUnitsPerBit>{uv_per_bit}</LeadAmplitudeUnitsPerBit>"
            "<LeadAmplitudeUnits>MICROVOLTS</LeadAmplitudeUnits>"
            f"<LeadID>{name}</LeadID><LeadSampleSize>2</LeadSampleSize>"
            f"<LeadDataCRC32>{zlib.crc32(raw)}</LeadDataCRC32>"
            f"<WaveFormData>{base64.encodebytes(raw).decode()}</WaveFormData></LeadData>"
        )
    demo = f"<PatientID>{patient_id}</PatientID>"
    if age is not None:
        demo += f"<PatientAge>{age}</PatientAge><AgeUnits>YEARS</AgeUnits>"
    demo += f"<Gender>{ {'M': 'MALE', 'F': 'FEMALE'}.get(sex, '') }</Gender>"
    if family_given is not None:
        demo += f"<PatientLastName>{family_given[0]}</PatientLastName>"
        demo += f"<PatientFirstName>{family_given[1]}</PatientFirstName>"
    if birth is not None:
        demo += f"<DateofBirth>{birth:%m-%d-%Y}</DateofBirth>"
    test = ""
    if start is not None:
        test = (
            f"<AcquisitionTime>{start:%H:%M:%S}</AcquisitionTime>"
            f"<AcquisitionDate>{start:%m-%d-%Y}</AcquisitionDate>"
        )
    text = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        '<!DOCTYPE RestingECG SYSTEM "restecg.dtd">\n'
        f"<RestingECG><PatientDemographics>{demo}</PatientDemographics>"
        f"<TestDemographics>{test}</TestDemographics>"
        f"<Waveform><WaveformType>Rhythm</WaveformType><SampleBase>{fs}</SampleBase>"
        f"<SampleExponent>0</SampleExponent>{''.join(lead_xml)}</Waveform></RestingECG>\n"
    )
    path.write_text(text, encoding="latin-1")
    return path


def write_dense_tal_edf(path: Path, n_records: int, slot_bytes: int, plus: str = "EDF+D") -> Path:
    """A raw EDF+ file whose annotation slots are packed with tiny TALs ("+r\\x14a\\x14\\x00"):
    about one annotation per 7 bytes, the worst case for a reader's memory per file byte."""

    def field(value: object, width: int) -> bytes:
        return str(value).encode("ascii").ljust(width)[:width]

    ns = 2
    header = (
        field("0", 8)
        + field("X X X X", 80)
        + field("Startdate X X X X", 80)
        + field("01.01.24", 8)
        + field("00.00.00", 8)
        + field(256 * (ns + 1), 8)
        + field(plus, 44)
        + field(n_records, 8)
        + field(1, 8)
        + field(ns, 4)
    )
    labels, spr = ["ECG II", "EDF Annotations"], [250, slot_bytes // 2]
    for name, width in (
        ("label", 16),
        ("transducer", 80),
        ("dim", 8),
        ("pmin", 8),
        ("pmax", 8),
        ("dmin", 8),
        ("dmax", 8),
        ("prefilter", 80),
        ("spr", 8),
        ("reserved", 32),
    ):
        for sig in range(ns):
            value = {
                "label": labels[sig],
                "transducer": "",
                "dim": "mV" if sig == 0 else "",
                "pmin": -1,
                "pmax": 1,
                "dmin": -32768,
                "dmax": 32767,
                "prefilter": "",
                "spr": spr[sig],
                "reserved": "",
            }[name]
            header += field(value, width)
    with open(path, "wb") as fh:
        fh.write(header)
        for r in range(n_records):
            slot = bytearray(f"+{r}\x14\x14\x00".encode())
            tal = f"+{r}\x14a\x14\x00".encode()
            slot += tal * ((slot_bytes - len(slot)) // len(tal))
            fh.write(bytes(500) + bytes(slot.ljust(slot_bytes, b"\x00")))
    return path


def mfer_tag(tag: int, value: bytes, indefinite: bool = False) -> bytes:
    """One MFER tag: short length below 128 bytes, else 4 big-endian length bytes; an
    indefinite length (0x80) is closed by ``00 00``."""
    if indefinite:
        return bytes([tag, 0x80]) + value + b"\x00\x00"
    if len(value) < 0x80:
        return bytes([tag, len(value)]) + value
    return bytes([tag, 0x84]) + len(value).to_bytes(4, "big") + value


def mfer_attr(channel: int, body: bytes, indefinite: bool = False) -> bytes:
    """A channel attribute (0x3F) for channel ``channel`` (0-based) holding ``body``."""
    return bytes([0x3F, channel]) + mfer_tag(0x00, body, indefinite)[1:]


def mfer_scaled(unit: int, exponent: int, mantissa: int, order: str, width: int = 2) -> bytes:
    """Sampling interval / resolution contents: unit code, signed exponent, mantissa."""
    byteorder = "little" if order == "<" else "big"
    return bytes([unit, exponent & 0xFF]) + mantissa.to_bytes(width, byteorder, signed=True)


def build_mfer(
    samples: list[np.ndarray],
    leads: list[int],
    *,
    order: str = "<",
    interval_us: list[int] | None = None,
    resolution_nv: int = 1000,
    sequences: int = 1,
    preamble: bool = True,
    header: bytes = b"",
    attrs: list[bytes] | None = None,
) -> bytes:
    """An uncompressed 16-bit MFER file from our own reading of the standard: one list of
    integer samples per channel (each ``sequences`` x its block long), written one block of
    each channel in turn per sequence. ``interval_us`` per channel makes a multi-rate file
    (per-channel block length and interval in channel attributes); ``attrs`` adds bytes to
    each channel's attribute."""
    byteorder = "little" if order == "<" else "big"
    out = mfer_tag(0x40, b"MFR test waveform".ljust(32, b" ")) if preamble else b""
    out += mfer_tag(0x01, bytes([1 if order == "<" else 0]))
    out += header
    blocks = [len(x) // sequences for x in samples]
    same = interval_us is None or len(set(interval_us)) == 1
    first = 2000 if interval_us is None else interval_us[0]
    if same:
        out += mfer_tag(0x04, blocks[0].to_bytes(4, byteorder))
        out += mfer_tag(0x0B, mfer_scaled(1, -6, first, order, 4))
    out += mfer_tag(0x0C, mfer_scaled(0, -9, resolution_nv, order, 4))
    out += mfer_tag(0x05, len(samples).to_bytes(4, byteorder))
    out += mfer_tag(0x06, sequences.to_bytes(4, byteorder))
    for k, code in enumerate(leads):
        body = mfer_tag(0x09, bytes([code]) if code < 256 else code.to_bytes(2, byteorder))
        if not same and interval_us is not None:
            body += mfer_tag(0x04, blocks[k].to_bytes(4, byteorder))
            body += mfer_tag(0x0B, mfer_scaled(1, -6, interval_us[k], order, 4))
        body += attrs[k] if attrs else b""
        out += mfer_attr(k, body)
    dtype = np.dtype("i2").newbyteorder(order)
    data = b"".join(
        np.asarray(x[s * b : (s + 1) * b]).astype(dtype).tobytes()
        for s in range(sequences)
        for x, b in zip(samples, blocks, strict=True)
    )
    return out + mfer_tag(0x1E, data) + b"\x80"
