"""GE CardioSoft / CASE XML (root ``CardiologyXML``), as CardioSoft and CASE workstations
export ECGs (UK Biobank's resting and exercise ECGs are such files).

What is read:

- the **rhythm** (``StripData``): one ``WaveformData lead="..."`` per lead, integers separated
  by commas (and white space), ``Resolution`` uV per unit, ``SampleRate`` Hz; each lead's
  count is checked against ``ChannelSampleCountTotal``. CardioSoft stores all twelve leads;
  should I or II's companions be missing, III, aVR, aVL and aVF are derived and marked;
- else the **full disclosure** (``FullDisclosure``, the whole test of an exercise file):
  ``NumberOfChannels`` leads named in ``LeadOrder`` ("I,2,3"), their samples in one
  comma-separated ``FullDisclosureData``, one second of the first lead, one second of the
  next, ..., then the next second (the layout UK Biobank's exercise files are read with by
  three independent readers: ml4h, a MATLAB loader and a thesis pipeline; checked here on
  a real UK Biobank resting file's 27 s full disclosure: continuous leads, Einthoven residual
  0, where sample interleaving gives 0.5 mV jumps each second; no real exercise file seen);
  ``StartTime`` and the ``EventList`` are kept as notes and labels;
- the cart's **median beats** (``RestingECGMeasurements/MedianSamples``, own rate and
  resolution), **measurements** (rate, PQ, P duration, QRS, QT, QTc, RR, axes; their units)
  and **interpretation** (``Interpretation/Diagnosis/DiagnosisText`` and the
  ``Conclusion``), the cart's **beat times** (``ArrhythmiaResults``) as labels;
- patient id, age (with its units; else from a plausible birth date), sex; acquisition time;
  the software and its analysis program. CardioSoft writes 1/1/1 for unknown dates: read as
  unknown, with a note.

The XML is parsed with :mod:`defusedxml` (no entity expansion, no external references).
Sample text is converted a block at a time and nothing is allocated from a declared count.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
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
from ecgviewer.io._common import (
    birth_date,
    derive_standard_leads,
    person_name,
    plausible_cart_value,
    trim_trailing_fill,
)
from ecgviewer.io._hl7 import parse_xml, text_of, to_float
from ecgviewer.record import (
    MAX_FS,
    MIN_FS,
    Annotation,
    CartReading,
    Patient,
    Record,
    normalize_lead_name,
)

__all__ = ["read", "read_root", "ROOT_TAG"]

ROOT_TAG = "CardiologyXML"
#: Longest rhythm strip per lead (a resting strip is 10 s): beyond it the header is damage.
MAX_SAMPLES_PER_LEAD = 2_000_000
#: Most channels a file may declare (CardioSoft writes 12, or 3 for an exercise test).
MAX_CHANNELS = 64
#: Characters of sample text converted at a time: a token list over a whole 60 MB full
#: disclosure would cost ~10x its size in Python strings.
_TEXT_BLOCK = 1 << 20
#: Sample values beyond this are damage (CardioSoft's samples are 16-bit).
MAX_ABS_DIGITS = 1 << 31
#: Plausible amplitude resolution, uV per unit.
MIN_RESOLUTION_UV, MAX_RESOLUTION_UV = 1e-3, 1e3
#: Shortest share of the declared samples a lead may hold and still be read (trimmed).
MIN_LENGTH_RATIO = 0.9
_RESOLUTION_UNITS_UV = {"uvperlsb": 1.0, "uv": 1.0, "µvperlsb": 1.0, "nvperlsb": 1e-3}
_AGE_YEARS = {
    "YEARS": 1.0,
    "MONTHS": 1 / 12,
    "WEEKS": 7 / 365.25,
    "DAYS": 1 / 365.25,
    "HOURS": 1 / 8766,
}
_FULL_DISCLOSURE_LEADS = {"1": "I", "2": "II", "3": "III"}  # LeadOrder "I,2,3"

#: RestingECGMeasurements element -> CartReading key.
_MEASUREMENTS = {
    "VentricularRate": "heart_rate",
    "PQInterval": "pr",
    "PDuration": "p_duration",
    "QRSDuration": "qrs",
    "QTInterval": "qt",
    "QTCInterval": "qtc",
    "RRInterval": "rr",
    "PAxis": "p_axis",
    "RAxis": "qrs_axis",
    "TAxis": "t_axis",
}
#: Unit words (lowercased) -> factor to the key's unit (ms, bpm, degrees).
_UNIT_FACTORS = {
    "ms": 1.0,
    "msec": 1.0,
    "s": 1000.0,
    "sec": 1000.0,
    "bpm": 1.0,
    "/min": 1.0,
    "1/min": 1.0,
    "degrees": 1.0,
    "degree": 1.0,
    "deg": 1.0,
}


def read(path: Path, **_opts: Any) -> Record:
    """Read a GE CardioSoft XML file.

    Raises
    ------
    ECGError
        Unsafe or malformed XML, no rhythm or full disclosure, a sample that is not a whole
        number, a lead cut short, an absurd rate or resolution.
    """
    path = Path(path)
    return read_root(path, parse_xml(path))


def read_root(path: Path, root: Element) -> Record:
    """Read an already parsed document (the HL7 aECG reader hands on a ``CardiologyXML``
    that reached it by its extension alone)."""
    if root.tag != ROOT_TAG:
        raise UnknownFormatError(
            path, f"XML root element is <{root.tag}>, not a GE CardioSoft <{ROOT_TAG}>"
        )
    return _Document(Path(path), root).record()


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
        strip = self.root.find("StripData")
        full = self.root.find("FullDisclosure")
        annotations: list[Annotation] = []
        from_strip = strip is not None and strip.find("WaveformData") is not None
        if strip is not None and from_strip:
            wave = self._leads(strip, "rhythm", MAX_SAMPLES_PER_LEAD)
            if full is not None and _has_data(full):
                self.notes.append("the file also holds a full disclosure: not shown")
        elif full is not None:
            wave = self._full_disclosure(full)
            annotations += self._events(full, wave)
            if (
                self.root.find("StripData/Strip") is not None
                or self.root.find("MedianData") is not None
            ):
                self.notes.append("the test's own strips and median beats are not shown")
        else:
            raise NoECGChannelsError(
                self.path,
                "no ECG in this GE CardioSoft file: neither <StripData> waveforms nor a "
                "<FullDisclosure>",
            )
        signal, leads, derived = derive_standard_leads(wave.signal, wave.leads)
        if derived:
            self.notes.append(f"{', '.join(derived)} derived from I and II (not stored)")
        duration = signal.shape[1] / wave.fs
        if strip is not None and from_strip:  # beat times count from the strip's start
            annotations += self._beats(strip, duration)
        start = self._start()
        cart = self._cart()  # before the notes are taken: it adds what it skips
        return Record(
            signal=signal,
            fs=wave.fs,
            leads=leads,
            start=start,
            patient=self._patient(start),
            annotations=annotations,
            source=str(self.path),
            format="cardiosoft_xml",
            derived_leads=derived,
            device=self._device(),
            notes=tuple(self.notes),
            cart=cart,
        )

    # -- waveforms
    def _rate(self, el: Element, what: str) -> float:
        text = text_of(el.find("SampleRate"))
        fs = to_float(text)
        if fs is None or not MIN_FS <= fs <= MAX_FS:
            raise InvalidSignalError(
                self.path,
                f"{what}: sampling rate {text!r} Hz is not plausible "
                f"(expected {MIN_FS:g}-{MAX_FS:g} Hz)",
            )
        return fs

    def _resolution_mv(self, el: Element, what: str) -> float:
        res_el = el.find("Resolution")
        text = text_of(res_el)
        unit = ((res_el.get("units") if res_el is not None else None) or "uVperLsb").strip()
        factor = _RESOLUTION_UNITS_UV.get(unit.lower())
        value = to_float(text)
        if factor is None:
            raise CorruptFileError(self.path, f"{what}: resolution unit {unit!r} is unknown")
        if value is None or not MIN_RESOLUTION_UV <= value * factor <= MAX_RESOLUTION_UV:
            raise InvalidSignalError(
                self.path,
                f"{what}: resolution {text!r} {unit} is not plausible "
                f"(expected {MIN_RESOLUTION_UV:g}-{MAX_RESOLUTION_UV:g} uV per unit)",
            )
        return value * factor / 1000.0

    def _declared(self, el: Element, tag: str, what: str, limit: int) -> int | None:
        text = text_of(el.find(tag))
        if text is None:
            return None
        value = to_float(text)
        if value is None or value != int(value) or not 0 < value <= limit:
            raise CorruptFileError(self.path, f"{what}: {tag} {text!r} is not plausible")
        return int(value)

    def _leads(self, el: Element, what: str, limit: int) -> _Waveform:
        """``WaveformData lead=...`` children of ``el`` (StripData, MedianSamples)."""
        fs = self._rate(el, what)
        scale = self._resolution_mv(el, what)
        declared = self._declared(el, "ChannelSampleCountTotal", what, limit)
        n_declared_leads = self._declared(el, "NumberOfLeads", what, MAX_CHANNELS)
        names: list[str] = []
        rows: list[np.ndarray] = []
        for wf in el.findall("WaveformData"):
            name = normalize_lead_name(wf.get("lead") or f"lead {len(names) + 1}")
            if name in names:
                raise CorruptFileError(self.path, f"{what}: lead {name} is stored twice")
            samples = self._integers(wf.text, f"{what} lead {name}", limit)
            if samples.size == 0:
                self.notes.append(f"{what} lead {name} holds no samples: left out")
                continue
            names.append(name)
            rows.append(samples)
        if not rows:
            raise NoECGChannelsError(self.path, f"{what}: no lead holds samples")
        if len(rows) > MAX_CHANNELS:
            raise CorruptFileError(self.path, f"{what}: {len(rows)} leads is not plausible")
        if n_declared_leads is not None and n_declared_leads != len(rows):
            self.notes.append(
                f"{what}: {len(rows)} leads stored, NumberOfLeads says {n_declared_leads}"
            )
        n = self._common_length(names, rows, declared, what)
        signal = np.stack([r[:n] for r in rows]).astype(np.float64) * scale
        return _Waveform(fs, names, signal.astype(np.float32))

    def _common_length(
        self, names: list[str], rows: list[np.ndarray], declared: int | None, what: str
    ) -> int:
        """The length every lead is read to: the declared count, or the shortest lead when
        one falls short of it by at most 10 % (noted); shorter is a lead cut short."""
        lengths = [r.size for r in rows]
        expected = declared if declared is not None else max(lengths)
        short = [(name, size) for name, size in zip(names, lengths) if size < expected]
        for name, size in short:
            if size < MIN_LENGTH_RATIO * expected:
                source = "ChannelSampleCountTotal declares" if declared else "other leads hold"
                raise CorruptFileError(
                    self.path,
                    f"{what} lead {name} holds {size} of the {expected} samples {source}: "
                    "the lead is cut short",
                )
        if short:
            listed = ", ".join(f"{name} ({size})" for name, size in short)
            self.notes.append(
                f"{what}: leads shorter than {expected} samples: {listed}; all read to "
                f"{min(lengths)}"
            )
        longer = [name for name, size in zip(names, lengths) if size > expected]
        if longer:
            self.notes.append(
                f"{what}: samples after the declared {expected} dropped ({', '.join(longer)})"
            )
        return min(min(lengths), expected)

    def _integers(self, text: str | None, where: str, limit: int) -> np.ndarray:
        """Whole numbers separated by commas and/or white space, a block of text at a time;
        an empty field (",,") shifts every later sample, so it is refused, not skipped."""
        text = text or ""
        parts: list[np.ndarray] = []
        count = 0
        start, n = 0, len(text)
        while start < n:
            stop = min(n, start + _TEXT_BLOCK)
            while stop < n and text[stop] not in ", \t\r\n":  # never cut a number in two
                stop += 1
            while stop < n and text[stop] in " \t\r\n":
                stop += 1
            if stop < n and text[stop] == ",":
                stop += 1
            block = text[start:stop].strip()
            last = stop >= n
            start = stop
            if block.endswith(","):
                block = block[:-1]
            if not block:
                if not last:
                    raise CorruptFileError(self.path, f"{where}: an empty value between commas")
                continue
            fields = block.split(",")
            tokens: list[str] = []
            for field in fields:
                found = field.split()
                if not found:
                    raise CorruptFileError(self.path, f"{where}: an empty value between commas")
                tokens += found
            count += len(tokens)
            if count > limit:
                raise CorruptFileError(
                    self.path, f"{where}: more than {limit:,} samples is not plausible"
                )
            parts.append(self._to_array(tokens, where))
        if not parts:
            return np.zeros(0, dtype=np.int32)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _to_array(self, tokens: list[str], where: str) -> np.ndarray:
        try:
            values = np.array(tokens, dtype=np.int64)
        except (ValueError, OverflowError):
            bad = next((t for t in tokens if not re.fullmatch(r"[+-]?\d{1,18}", t)), "?")
            raise CorruptFileError(
                self.path, f"{where}: sample value {bad[:20]!r} is not a whole number"
            ) from None
        if values.size and int(np.abs(values).max()) >= MAX_ABS_DIGITS:
            raise CorruptFileError(
                self.path, f"{where}: sample value {int(np.abs(values).max())} is not plausible"
            )
        return values.astype(np.int32)  # half the memory of a long full disclosure

    def _full_disclosure(self, full: Element) -> _Waveform:
        what = "full disclosure"
        data_el = full.find("FullDisclosureData")
        if data_el is None or not _has_data(full):
            said = " ".join((full.text or "").split())[:80]
            hint = f" (it says {said!r})" if said else ""
            raise NoECGChannelsError(
                self.path,
                f"the GE CardioSoft file has no rhythm strip and its full disclosure holds no "
                f"data{hint}",
            )
        n_ch = self._declared(full, "NumberOfChannels", what, MAX_CHANNELS)
        order = [x.strip() for x in (text_of(full.find("LeadOrder")) or "").split(",")]
        order = [x for x in order if x]
        if n_ch is None:
            n_ch = len(order)
        if not order or len(order) != n_ch:
            raise CorruptFileError(
                self.path,
                f"{what}: LeadOrder {text_of(full.find('LeadOrder'))!r} does not name the "
                f"{n_ch} channels NumberOfChannels declares",
            )
        fs = self._rate(full, what)
        scale = self._resolution_mv(full, what)
        # Text beside a child element (a SampleCountTotal seen in one schema) is data too.
        text = (data_el.text or "") + "".join(child.tail or "" for child in data_el)
        values = self._integers(text, what, MAX_SAMPLES_PER_LEAD * 16)
        per_second = int(round(fs))
        if per_second != fs:
            raise InvalidSignalError(
                self.path, f"{what}: a rate of {fs:g} Hz cannot hold whole one-second blocks"
            )
        block = n_ch * per_second
        seconds = values.size // block
        if seconds == 0:
            raise NoECGChannelsError(
                self.path, f"{what}: {values.size} samples, less than one second of each lead"
            )
        if values.size % block:
            self.notes.append(
                f"{what}: {values.size % block} samples after the last whole second dropped"
            )
        # One second of each channel in turn: (seconds, channels, samples) -> channels x time.
        cube = values[: seconds * block].reshape(seconds, n_ch, per_second)
        signal = cube.transpose(1, 0, 2).reshape(n_ch, seconds * per_second)
        names = [_FULL_DISCLOSURE_LEADS.get(x, normalize_lead_name(x)) for x in order]
        if len(set(names)) != len(names):
            raise CorruptFileError(self.path, f"{what}: LeadOrder names a lead twice: {names}")
        kind = text_of(self.root.find("ObservationType")) or "ECG"
        self.notes.append(f"{kind}: the full disclosure ({seconds} s, {n_ch} leads) is shown")
        return _Waveform(fs, names, (signal.astype(np.float64) * scale).astype(np.float32))

    def _events(self, full: Element, wave: _Waveform) -> list[Annotation]:
        """The test's events (``EventList``: Event and Time pairs, minutes and seconds of
        the test) placed on the full disclosure, which starts at ``StartTime``."""
        offset = _minutes_seconds(full.find("StartTime"))
        if offset is not None:
            self.notes.append(f"the full disclosure starts {_clock(offset)} into the test")
        events = full.find("EventList")
        if events is None:
            return []
        names = [text_of(e) or "event" for e in events.findall("Event")]
        times = [_minutes_seconds(t) for t in events.findall("Time")]
        duration = wave.signal.shape[1] / wave.fs
        out = []
        for name, at in zip(names, times):
            if at is None:
                continue
            onset = at - (offset or 0.0)
            if 0 <= onset <= duration:
                out.append(Annotation(onset, 0.0, f"{name} (test time {_clock(at)})"))
        return out

    def _beats(self, strip: Element, duration: float) -> list[Annotation]:
        """The cart's beat times (``ArrhythmiaResults``: Time and BeatClass pairs)."""
        results = strip.find("ArrhythmiaResults")
        if results is None:
            return []
        classes = [text_of(c) or "" for c in results.findall("BeatClass")]
        out = []
        for i, time_el in enumerate(results.findall("Time")):
            value = to_float(text_of(time_el))
            factor = _UNIT_FACTORS.get((time_el.get("units") or "ms").strip().lower())
            if value is None or factor is None or factor not in (1.0, 1000.0):
                continue
            onset = value * factor / 1000.0
            if not 0 <= onset <= duration:
                continue
            kind = classes[i] if i < len(classes) else ""
            text = "QRS" if kind.lower() in ("", "dominant", "normal") else f"QRS {kind}"
            out.append(Annotation(onset, 0.0, text))
        return out

    # -- metadata
    def _start(self) -> datetime | None:
        obs = self.root.find("ObservationDateTime")
        if obs is None:
            return None
        parts = [to_float(text_of(obs.find(k))) for k in ("Year", "Month", "Day")]
        clock = [to_float(text_of(obs.find(k))) for k in ("Hour", "Minute", "Second")]
        if any(p is None for p in parts):
            return None
        year, month, day = (int(p or 0) for p in parts)
        if year < 1900:
            self.notes.append(
                f"acquisition date {day}/{month}/{year} is a placeholder: time unknown"
            )
            return None
        try:
            hour, minute, second = (int(c or 0) for c in clock)
            return datetime(year, month, day, hour, minute, second)
        except ValueError:
            self.notes.append(f"acquisition date {day}/{month}/{year} is not a date")
            return None

    def _patient(self, start: datetime | None) -> Patient:
        info = self.root.find("PatientInfo")
        if info is None:
            return Patient()
        age_el = info.find("Age")
        age = to_float(text_of(age_el))
        unit = ((age_el.get("units") if age_el is not None else None) or "YEARS").upper()
        factor = _AGE_YEARS.get(unit.strip())
        if age is not None and factor is not None and 0 <= age * factor < 150:
            age = round(age * factor, 2)
        else:
            age = None
        birth = self._birth_date(info.find("BirthDateTime"))
        if age is None and birth is not None and start is not None and birth <= start.date():
            on = start.date()
            age = float(on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day)))
        sex = {"MALE": "M", "FEMALE": "F", "M": "M", "F": "F"}.get(
            (text_of(info.find("Gender")) or "").upper()
        )
        return Patient(
            id=text_of(info.find("PID")),
            age=age,
            sex=sex,
            name=person_name(
                text_of(info.find("Name/FamilyName")), text_of(info.find("Name/GivenName"))
            ),
            birth_date=birth_date(birth, start),
        )

    def _birth_date(self, el: Element | None) -> date | None:
        if el is None:
            return None
        parts = [to_float(text_of(el.find(k))) for k in ("Year", "Month", "Day")]
        if any(p is None for p in parts):
            return None
        year, month, day = (int(p or 0) for p in parts)
        if year < 1900:
            return None  # CardioSoft's 1/1/1: not given
        try:
            return date(year, month, day)
        except (ValueError, OverflowError):  # <Year>1e300</Year>
            return None

    def _device(self) -> str | None:
        info = self.root.find("ClinicalInfo/DeviceInfo")
        if info is None:
            return None
        name = " ".join(
            x for x in (text_of(info.find("Desc")), text_of(info.find("SoftwareVer"))) if x
        )
        analysis = text_of(info.find("AnalysisVer"))
        text = f"GE {name}" if name else "GE CardioSoft"
        return f"{text} (analysis {analysis})" if analysis else text

    # -- the cart's own reading
    def _cart(self) -> CartReading | None:
        meas = self.root.find("RestingECGMeasurements")
        measurements = self._measurements(meas)
        statements = self._statements()
        beats: np.ndarray | None = None
        beat_fs: float | None = None
        beat_leads: tuple[str, ...] = ()
        median_el = None if meas is None else meas.find("MedianSamples")
        if median_el is not None:
            try:
                median = self._leads(median_el, "median beats", MAX_SAMPLES_PER_LEAD)
            except (CorruptFileError, InvalidSignalError, NoECGChannelsError) as exc:
                self.notes.append(f"median beats not read: {exc.problem}")
            else:
                last = to_float(text_of(median_el.find("LastValid")))
                signal = median.signal
                if last is not None and 0 < last + 1 < signal.shape[1]:
                    signal = signal[:, : int(last) + 1]  # the tail only: fiducials count from 0
                signal, names, _ = derive_standard_leads(signal, median.leads)
                beats = trim_trailing_fill(signal)
                beat_fs, beat_leads = median.fs, tuple(names)
        if not measurements and not statements and beats is None:
            return None
        info = self.root.find("ClinicalInfo/DeviceInfo")
        desc = text_of(info.find("Desc")) if info is not None else None
        version = text_of(info.find("SoftwareVer")) if info is not None else None
        source = " ".join(x for x in ("GE", desc or "CardioSoft", "XML", version) if x)
        return CartReading(
            measurements=measurements,
            statements=statements,
            median_beats=beats,
            median_fs=beat_fs,
            median_leads=beat_leads,
            source=source,
        )

    def _measurements(self, meas: Element | None) -> dict[str, float]:
        out: dict[str, float] = {}
        if meas is None:
            return out
        for tag, key in _MEASUREMENTS.items():
            el = meas.find(tag)
            value = to_float(text_of(el))
            if el is None or value is None:
                continue  # blank: not measured
            unit = (el.get("units") or "").strip().lower()
            factor = _UNIT_FACTORS.get(unit, 1.0 if not unit else None)
            if factor is None:
                self.notes.append(f"the cart's {tag} is in {unit!r}, a unit not known: not shown")
                continue
            value *= factor
            if not plausible_cart_value(key, value, self.notes):
                continue
            out[key] = value
        if out.get("p_axis") == 0 and "p_duration" not in out and "pr" not in out:
            del out["p_axis"]  # a 0 beside no P wave: not found, not an axis of 0 degrees
        return out

    def _statements(self) -> tuple[str, ...]:
        interp = self.root.find("Interpretation")
        if interp is None:
            return ()
        lines = []
        for path, prefix in (
            ("Diagnosis/DiagnosisText", ""),
            ("Conclusion/ConclusionText", "Conclusion: "),
        ):
            for el in interp.findall(path):
                text = " ".join((el.text or "").split())
                # Not a separator line, nor a conclusion that repeats a diagnosis line (a
                # UK Biobank export repeats all six: twelve lines where there are six).
                if text and text.strip("-*= ") and text not in lines:
                    lines.append(prefix + text)
        return tuple(lines)


def _has_data(full: Element) -> bool:
    data = full.find("FullDisclosureData")
    return data is not None and bool((data.text or "").strip() or len(data))


def _minutes_seconds(el: Element | None) -> float | None:
    if el is None:
        return None
    minutes = to_float(text_of(el.find("Minute")))
    seconds = to_float(text_of(el.find("Second")))
    if minutes is None and seconds is None:
        return None
    total = (minutes or 0.0) * 60 + (seconds or 0.0)
    return total if math.isfinite(total) and 0 <= total < 86400 else None


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"
