"""GE MUSE XML (root ``RestingECG``), as MUSE exports resting ECGs from GE MAC carts.

What is read:

- the **rhythm** waveform (``Waveform`` with ``WaveformType`` Rhythm): one ``LeadData`` per
  stored lead, base64 of little-endian 16-bit samples (``LeadSampleSize`` 2), scaled by
  ``LeadAmplitudeUnitsPerBit`` in ``LeadAmplitudeUnits`` (MICROVOLTS, MILLIVOLTS, ...). The
  rate is ``SampleBase`` x 10^``SampleExponent``. Each lead's ``LeadDataCRC32`` (zlib CRC-32
  of the decoded bytes) is checked when present.
- MUSE stores 8 leads (I, II, V1-V6); III, aVR, aVL, aVF are computed (Einthoven/Goldberger)
  and listed in ``Record.derived_leads``. Leads come out in the standard order.
- the **median beats** (``WaveformType`` Median) the same way, into ``Record.cart``.
- **patient** (``PatientID``, ``PatientAge`` with ``AgeUnits``, ``Gender``), acquisition date
  and time, the **device** (acquisition device, its software, the MUSE version).
- the cart's own **measurements** (``RestingECGMeasurements``: rate, PR, QRS, QT, QTc, axes;
  P duration from the P onset/offset) and **interpretation** (``Diagnosis`` statements, joined
  into lines where MUSE flags ``ENDSLINE``), and its **QRS times** as beat annotations.

The XML is parsed with :mod:`defusedxml` (no entity expansion, no external fetches); the
``<!DOCTYPE RestingECG SYSTEM "restecg.dtd">`` line MUSE writes is never fetched.
"""

from __future__ import annotations

import base64
import binascii
import math
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import numpy as np

from ecgviewer.errors import (
    CorruptFileError,
    InvalidSignalError,
    NoECGChannelsError,
    UnknownFormatError,
)
from ecgviewer.io._common import birth_date, derive_standard_leads, parse_date, person_name
from ecgviewer.io._hl7 import parse_xml, to_float
from ecgviewer.record import (
    Annotation,
    CartReading,
    Patient,
    Record,
    normalize_lead_name,
)

__all__ = ["read"]

#: MUSE amplitude unit words -> millivolts per unit.
_UNITS_MV = {
    "MICROVOLTS": 1e-3,
    "MICROVOLT": 1e-3,
    "UV": 1e-3,
    "MILLIVOLTS": 1.0,
    "MILLIVOLT": 1.0,
    "MV": 1.0,
    "NANOVOLTS": 1e-6,
    "VOLTS": 1e3,
}
_AGE_UNITS = {
    "YEARS": 1.0,
    "MONTHS": 1 / 12,
    "WEEKS": 7 / 365.25,
    "DAYS": 1 / 365.25,
    "HOURS": 1 / 8766,
}
#: RestingECGMeasurements element -> CartReading.measurements key.
_MEASUREMENTS = {
    "VentricularRate": "heart_rate",
    "PRInterval": "pr",
    "QRSDuration": "qrs",
    "QTInterval": "qt",
    "QTCorrected": "qtc",
    "PAxis": "p_axis",
    "RAxis": "qrs_axis",
    "TAxis": "t_axis",
    "AtrialRate": "atrial_rate",
    "QTcFrederica": "qtcf",
}
#: Largest plausible number of samples per lead (24 h at 1 kHz): beyond it the file is damage.
MAX_SAMPLES = 24 * 3600 * 1000


def read(path: Path, **_opts: Any) -> Record:
    """Read a GE MUSE XML resting ECG.

    Raises
    ------
    ECGError
        Unsafe or malformed XML, no rhythm waveform, bad base64, CRC mismatch, absurd rate.
    """
    path = Path(path)
    root = parse_xml(path)
    if root.tag != "RestingECG":
        raise UnknownFormatError(
            path, f"XML root element is <{root.tag}>, not a GE MUSE <RestingECG>"
        )
    return _Document(path, root).record()


@dataclass
class _Waveform:
    fs: float
    leads: list[str]
    signal: np.ndarray  # float32 mV, leads x samples


class _Document:
    def __init__(self, path: Path, root: Element) -> None:
        self.path = path
        self.root = root
        self.notes: list[str] = []

    def record(self) -> Record:
        rhythm = self._waveform("Rhythm")
        if rhythm is None:
            raise NoECGChannelsError(self.path, "no rhythm waveform (<Waveform> of type Rhythm)")
        signal, leads, derived = derive_standard_leads(rhythm.signal, rhythm.leads)
        start = self._start()
        duration = rhythm.signal.shape[1] / rhythm.fs
        time_ms = self._qrs_time_ms(rhythm.fs, duration)
        cart = self._cart(time_ms)  # before the notes are taken: it adds what it skips
        return Record(
            signal=signal,
            fs=rhythm.fs,
            leads=leads,
            start=start,
            patient=self._patient(),
            annotations=self._beats(duration, time_ms),
            source=str(self.path),
            format="muse_xml",
            derived_leads=derived,
            device=self._device(),
            notes=tuple(self.notes),
            cart=cart,
        )

    # -- waveforms
    def _waveform(self, kind: str) -> _Waveform | None:
        for wf in self.root.findall("Waveform"):
            if _text(wf, "WaveformType").lower() == kind.lower():
                return self._decode(wf, kind)
        return None

    def _decode(self, wf: Element, kind: str) -> _Waveform:
        base = to_float(_text(wf, "SampleBase"))
        exponent = to_float(_text(wf, "SampleExponent") or "0")
        if base is None or exponent is None or not 0 < base <= 1e5 or abs(exponent) > 6:
            raise InvalidSignalError(
                self.path,
                f"{kind} waveform: sampling rate SampleBase "
                f"{_text(wf, 'SampleBase')!r} x 10^{_text(wf, 'SampleExponent')!r} is not usable",
            )
        fs = base * 10.0**exponent
        names: list[str] = []
        rows: list[np.ndarray] = []
        for lead in wf.findall("LeadData"):
            name = normalize_lead_name(_text(lead, "LeadID") or f"lead {len(names) + 1}")
            rows.append(self._lead_samples(lead, name, kind))
            names.append(name)
        if not rows:
            raise NoECGChannelsError(self.path, f"{kind} waveform holds no LeadData")
        if len(set(names)) != len(names):
            raise CorruptFileError(self.path, f"{kind} waveform names a lead twice: {names}")
        n = min(len(r) for r in rows)
        if any(len(r) != n for r in rows):
            if n < 0.9 * max(len(r) for r in rows):
                raise CorruptFileError(
                    self.path,
                    f"{kind} leads differ in length ({sorted({len(r) for r in rows})} samples)",
                )
            self.notes.append(f"{kind} leads of unequal length trimmed to {n} samples")
        if n == 0:
            raise NoECGChannelsError(self.path, f"{kind} waveform has no samples")
        return _Waveform(fs, names, np.stack([r[:n] for r in rows]).astype(np.float32))

    def _lead_samples(self, lead: Element, name: str, kind: str) -> np.ndarray:
        where = f"{kind} lead {name}"
        size = _text(lead, "LeadSampleSize") or "2"
        if size != "2":
            raise CorruptFileError(
                self.path, f"{where}: sample size {size} bytes is not supported (MUSE writes 2)"
            )
        try:
            raw = base64.b64decode(_text(lead, "WaveFormData"), validate=False)
        except (binascii.Error, ValueError) as exc:
            raise CorruptFileError(
                self.path, f"{where}: waveform data is not base64 ({exc})"
            ) from None
        crc = _text(lead, "LeadDataCRC32")
        if crc and crc.isdigit() and zlib.crc32(raw) != int(crc):
            raise CorruptFileError(
                self.path,
                f"{where}: data CRC-32 {zlib.crc32(raw)} does not match the stored "
                f"{crc} (damaged waveform)",
            )
        if len(raw) % 2:
            raise CorruptFileError(self.path, f"{where}: odd number of data bytes ({len(raw)})")
        count = to_float(_text(lead, "LeadSampleCountTotal"))
        samples = np.frombuffer(raw, dtype="<i2")
        if len(samples) > MAX_SAMPLES:
            raise CorruptFileError(self.path, f"{where}: {len(samples)} samples is implausible")
        if count is not None and int(count) != len(samples):
            if int(count) > len(samples):
                raise CorruptFileError(
                    self.path,
                    f"{where}: {len(samples)} samples stored but "
                    f"LeadSampleCountTotal says {int(count)} (truncated)",
                )
            samples = samples[: int(count)]
        per_bit = to_float(_text(lead, "LeadAmplitudeUnitsPerBit"))
        unit = _text(lead, "LeadAmplitudeUnits").upper() or "MICROVOLTS"
        if unit not in _UNITS_MV:
            raise CorruptFileError(self.path, f"{where}: amplitude unit {unit!r} is unknown")
        if per_bit is None or not 0 < abs(per_bit) < 1e6:
            raise CorruptFileError(
                self.path,
                f"{where}: LeadAmplitudeUnitsPerBit "
                f"{_text(lead, 'LeadAmplitudeUnitsPerBit')!r} is not a usable scale",
            )
        # Samples are zero-based; FirstSampleBaseline is informational and not added.
        return samples.astype(np.float64) * per_bit * _UNITS_MV[unit]

    # -- metadata
    def _start(self) -> datetime | None:
        demo = self.root.find("TestDemographics")
        date_text = _text(demo, "AcquisitionDate")
        time_text = _text(demo, "AcquisitionTime") or "00:00:00"
        for fmt in ("%m-%d-%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M:%S"):
            try:
                return datetime.strptime(f"{date_text} {time_text}", fmt)
            except ValueError:
                continue
        if date_text:
            self.notes.append(f"acquisition date {date_text!r} {time_text!r} not understood")
        return None

    def _patient(self) -> Patient:
        demo = self.root.find("PatientDemographics")
        age = to_float(_text(demo, "PatientAge"))
        factor = _AGE_UNITS.get(_text(demo, "AgeUnits").upper() or "YEARS")
        if age is not None and (factor is None or not 0 <= age * factor < 150):
            age = None
        elif age is not None and factor is not None:
            age = round(age * factor, 2)
        sex = {"MALE": "M", "FEMALE": "F", "M": "M", "F": "F"}.get(_text(demo, "Gender").upper())
        return Patient(
            id=_text(demo, "PatientID") or None,
            age=age,
            sex=sex,
            name=person_name(_text(demo, "PatientLastName"), _text(demo, "PatientFirstName")),
            birth_date=birth_date(
                parse_date(_text(demo, "DateofBirth"), "%m-%d-%Y", "%Y-%m-%d", "%m/%d/%Y")
            ),
        )

    def _device(self) -> str | None:
        demo = self.root.find("TestDemographics")
        parts = []
        if _text(demo, "AcquisitionDevice"):
            parts.append(f"GE {_text(demo, 'AcquisitionDevice')}")
        if _text(demo, "AcquisitionSoftwareVersion"):
            parts.append(f"software {_text(demo, 'AcquisitionSoftwareVersion')}")
        muse = _text(self.root.find("MuseInfo"), "MuseVersion")
        if muse:
            parts.append(f"MUSE {muse}")
        return ", ".join(parts) or None

    def _cart(self, time_ms: float = 1.0) -> CartReading | None:
        """The cart's measurements, statements and median beats. ``time_ms``: milliseconds
        per unit of ``GlobalRR`` (:meth:`_qrs_time_ms`)."""
        meas_el = self.root.find("RestingECGMeasurements")
        measurements: dict[str, float] = {}
        for tag, key in _MEASUREMENTS.items():
            value = to_float(_text(meas_el, tag))
            if value is not None and (value != 0 or key.endswith("axis")):  # 0: not measured
                measurements[key] = value
        median = None
        try:
            median = self._waveform("Median")
        except (CorruptFileError, InvalidSignalError, NoECGChannelsError) as exc:
            self.notes.append(f"median beats not read: {exc.problem}")
        # P onset/offset count samples of the median beat: at ECGSampleBase, or where an
        # older MUSE writes 0 there, at the median waveform's own rate.
        sample_base = to_float(_text(meas_el, "ECGSampleBase")) or 0.0
        if sample_base <= 0 and median is not None:
            sample_base = median.fs
        p_on, p_off = to_float(_text(meas_el, "POnset")), to_float(_text(meas_el, "POffset"))
        if sample_base > 0 and p_on is not None and p_off is not None and p_off > p_on:
            measurements["p_duration"] = round((p_off - p_on) * 1000.0 / sample_base, 1)
        rr = to_float(_text(self.root.find("QRSTimesTypes"), "GlobalRR"))
        if rr is not None:
            rr = round(rr * time_ms, 1)
        elif measurements.get("heart_rate"):
            rr = round(60000.0 / measurements["heart_rate"])
        if rr is not None:
            measurements["rr"] = rr
        statements = self._statements()
        if not measurements and not statements and median is None:
            return None
        beats = leads = None
        if median is not None:
            beats, leads, _ = derive_standard_leads(median.signal, median.leads)
        return CartReading(
            measurements=measurements,
            statements=statements,
            median_beats=beats,
            median_fs=None if median is None else median.fs,
            median_leads=tuple(leads or ()),
            source="GE MUSE",
        )

    def _statements(self) -> tuple[str, ...]:
        diag = self.root.find("Diagnosis")
        if diag is None:
            diag = self.root.find("OriginalDiagnosis")
        lines: list[str] = []
        current: list[str] = []
        for stmt in [] if diag is None else diag.findall("DiagnosisStatement"):
            text = _text(stmt, "StmtText")
            if text:
                current.append(text)
            if any((f.text or "").strip().upper() == "ENDSLINE" for f in stmt.findall("StmtFlag")):
                if current:
                    lines.append(" ".join(current))
                current = []
        if current:
            lines.append(" ".join(current))
        return tuple(lines)

    def _qrs_time_ms(self, fs: float, duration: float) -> float:
        """Milliseconds per unit of ``QRSTimesTypes``' ``Time`` and ``GlobalRR``.

        MUSE 9 writes milliseconds (its 500 Hz exports' beat times fall within 20 ms of the R
        peaks); MUSE 7 (a 250 Hz export seen) counts samples of the rhythm: GlobalRR 216 beside
        a rate of 69/min, 216 x 4 ms = 864 ms. Told apart by GlobalRR against 60000 /
        VentricularRate where both are given (within 25 %), else by the beat times: in
        milliseconds they would leave the last 40 % of the strip without a beat."""
        qrs_el = self.root.find("QRSTimesTypes")
        if qrs_el is None or not fs > 0 or abs(fs - 1000.0) < 1e-6:
            return 1.0
        per_sample = 1000.0 / fs
        rr = to_float(_text(qrs_el, "GlobalRR"))
        rate = to_float(_text(self.root.find("RestingECGMeasurements"), "VentricularRate"))
        if rr is not None and rate is not None and rr > 0 and rate > 0:
            expected = 60000.0 / rate
            off_ms = abs(math.log(rr / expected))
            off_samples = abs(math.log(rr * per_sample / expected))
            return per_sample if off_samples < min(off_ms, math.log(1.25)) else 1.0
        times = [to_float(_text(q, "Time")) for q in qrs_el.findall("QRS")]
        found = [t for t in times if t is not None and t >= 0]
        if len(found) >= 3 and duration > 0:
            last = max(found)
            if last / 1000.0 < 0.6 * duration and last * per_sample / 1000.0 <= duration:
                return per_sample
        return 1.0

    def _beats(self, duration: float, time_ms: float = 1.0) -> list[Annotation]:
        """The cart's QRS times (``QRSTimesTypes``) from the rhythm start, ``time_ms``
        milliseconds per unit (:meth:`_qrs_time_ms`)."""
        qrs_el = self.root.find("QRSTimesTypes")
        if qrs_el is None:
            return []
        base = 1000.0 / time_ms
        out = []
        for qrs in qrs_el.findall("QRS"):
            t = to_float(_text(qrs, "Time"))
            if t is None or not 0 <= t / base <= duration:
                continue
            kind = _text(qrs, "Type") or "0"
            out.append(Annotation(t / base, 0.0, "QRS" if kind == "0" else f"QRS type {kind}"))
        return out


def _text(el: Element | None, tag: str) -> str:
    if el is None:
        return ""
    child = el.find(tag)
    return "" if child is None or child.text is None else child.text.strip()
