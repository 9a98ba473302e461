"""Philips Sierra ECG XML (root ``restingecgdata``; PageWriter, TraceMasterVue, IntelliSpace).

Versions 1.03, 1.04, 1.04.01 and 1.04.02, UTF-8 or UTF-16. What is read:

- the **rhythm** (``parsedwaveforms``): Base64 16-bit samples, XLI-compressed (decoded by
  :mod:`ecgviewer.io._xli`) or not, or decimal text ("Plain", as decompressing tools write
  it), ``durationperchannel`` ms at ``samplingrate`` Hz,
  ``resolution`` uV per unit. Lead names from ``leadlabels`` (1.04), else from the acquisition
  type (1.03: STD-12 / 10-WIRE -> I ... V6). In compressed files the cart stores III, aVR, aVL
  and aVF as residuals from I and II; they are rebuilt exactly as the cart computed them
  (integer arithmetic, ``floor`` halves), so every lead is a recorded one;
- **representative beats** (``repbeats``: Base64 int16 at ``samplespersec``, ``resolution``
  uV) -> ``Record.cart.median_beats``;
- the cart's **measurements** (the interpretation's global measurements; 1.03: its
  interpretation measurements, else the measurement section's means) and **interpretation**
  (statements, left and right text, then the severity line) -> ``Record.cart``;
- patient id, age (stated, else from the date of birth at the ECG date), sex; acquisition
  date and time; the machine.

The XML is parsed with :mod:`defusedxml` (shared with the HL7 aECG reader): no entity
expansion, no external references.
"""

from __future__ import annotations

import base64
import binascii
import math
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import numpy as np

from ecgviewer.errors import CorruptFileError, NoECGChannelsError
from ecgviewer.io._common import (
    birth_date,
    calibration_pulse,
    parse_date,
    person_name,
    plausible_cart_value,
    trim_trailing_fill,
)
from ecgviewer.io._hl7 import parse_xml, text_of, to_float
from ecgviewer.io._xli import XliError, decode_xli
from ecgviewer.record import (
    STANDARD_LEADS,
    Annotation,
    CartReading,
    Patient,
    Record,
    normalize_lead_name,
)

__all__ = ["read"]

#: Longest rhythm we accept per lead: far beyond any resting ECG (11 s), short enough that a
#: damaged header cannot make us decode gigabytes.
MAX_SAMPLES_PER_LEAD = 2_000_000
_LIMB_RESIDUALS = ("I", "II", "III", "aVR", "aVL", "aVF")

#: Cart measurement element -> CartReading key, in order of preference per key.
_GLOBAL_KEYS: dict[str, tuple[str, ...]] = {
    "heart_rate": ("heartrate", "meanventrate"),
    "rr": ("rrint", "meanrrint"),
    "p_duration": ("pdur",),
    "pr": ("print", "meanprint"),
    "qrs": ("qrsdur", "meanqrsdur"),
    "qt": ("qtint", "meanqtint"),
    "qtc": ("qtcb", "qtc", "meanqtc"),
    "p_axis": ("pfrontaxis",),
    "qrs_axis": ("qrsfrontaxis",),
    "t_axis": ("tfrontaxis",),
    "qtcf": ("qtcf",),
    "atrial_rate": ("atrialrate",),
}

#: How long a Philips representative (median) beat is: its block's first 1.2 s.
REPBEAT_SECONDS = 1.2


def read(path: Path, **_opts: Any) -> Record:
    """Read the rhythm ECG, representative beats and cart reading of a Sierra XML file.

    Raises
    ------
    ECGError
        Unsafe or malformed XML, unsupported encoding, damaged XLI data, absurd header values.
    """
    path = Path(path)
    root = parse_xml(path)
    if root.tag != "restingecgdata":
        raise CorruptFileError(path, f"XML root element is <{root.tag}>, not <restingecgdata>")
    return _Document(path, root).record()


class _Document:
    def __init__(self, path: Path, root: Element) -> None:
        self.path = path
        self.root = root
        self.notes: list[str] = []
        self.version = text_of(root.find("documentinfo/documentversion")) or "?"

    def record(self) -> Record:
        waves = self.root.find("waveforms/parsedwaveforms")
        if waves is None:
            raise NoECGChannelsError(self.path, "no <parsedwaveforms>: the file holds no rhythm")
        fs = self._rate(waves)
        labels = self._labels(waves)
        n_samples = self._n_samples(waves, fs)
        resolution_uv = self._resolution(waves)
        raw = self._samples(waves, len(labels), n_samples)
        if self._compressed(waves) and [normalize_lead_name(x) for x in labels[:6]] == list(
            _LIMB_RESIDUALS
        ):
            _rebuild_limb_leads(raw)
        signal = np.stack(raw).astype(np.float64) * (resolution_uv / 1000.0)
        annotations = self._calibration_pulse(signal, fs)
        start = self._start()
        cart = self._cart()  # before the notes are taken: it adds what it skips
        return Record(
            signal=signal.astype(np.float32),
            fs=fs,
            leads=[normalize_lead_name(x) for x in labels],
            start=start,
            patient=self._patient(start),
            annotations=annotations,
            source=str(self.path),
            format="sierra_xml",
            device=self._device(),
            notes=tuple(self.notes),
            cart=cart,
        )

    def _calibration_pulse(self, signal: np.ndarray, fs: float) -> list[Annotation]:
        """Mark the 1 mV square pulse carts append after the ECG (kept, as Philips' own
        exports keep it, but labelled so nobody reads it as a beat, and nothing measures or
        scores it: :func:`ecgviewer.signal.calibration.ecg_end`)."""
        found = calibration_pulse(signal, fs, tol=1e-6)  # the cart's own values: exact
        if found is None:
            return []
        label, note = found
        self.notes.append(note)
        return [label]

    # -- waveform header
    def _number(self, text: str | None, what: str) -> float:
        try:
            value = float(text) if text is not None else math.nan
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value <= 0:
            raise CorruptFileError(self.path, f"{what} {text!r} is not a positive number")
        return value

    def _rate(self, waves: Element) -> float:
        text = text_of(self.root.find("dataacquisition/signalcharacteristics/samplingrate"))
        return self._number(text or waves.get("samplespersecond"), "sampling rate")

    def _resolution(self, waves: Element) -> float:
        chars = self.root.find("dataacquisition/signalcharacteristics")
        text = None
        if chars is not None:
            text = text_of(chars.find("resolution")) or text_of(chars.find("signalresolution"))
        return self._number(text or waves.get("resolution"), "amplitude resolution (uV)")

    def _labels(self, waves: Element) -> list[str]:
        given = (waves.get("leadlabels") or "").split()
        if given:
            count = waves.get("numberofleads")
            if count and count.strip().isdigit() and 0 < int(count) < len(given):
                given = given[: int(count)]
            return given
        chars = self.root.find("dataacquisition/signalcharacteristics")
        kind = ""
        channels = "12"
        if chars is not None:
            kind = text_of(chars.find("acquisitiontype")) or text_of(chars.find("leadset")) or ""
            channels = text_of(chars.find("numberchannelsallocated")) or channels
        if not channels.isdigit() or not 0 < int(channels) <= 64:
            raise CorruptFileError(self.path, f"number of channels {channels!r} is not plausible")
        n = int(channels)
        if kind.upper() in ("STD-12", "10-WIRE") and n <= len(STANDARD_LEADS):
            return list(STANDARD_LEADS[:n])
        self.notes.append(f"lead set {kind or 'unknown'}: channels named by number")
        return [f"Channel {i + 1}" for i in range(n)]

    def _n_samples(self, waves: Element, fs: float) -> int:
        duration_ms = self._number(waves.get("durationperchannel"), "duration per channel (ms)")
        exact = duration_ms * fs / 1000.0
        n = int(round(exact)) if exact <= MAX_SAMPLES_PER_LEAD else MAX_SAMPLES_PER_LEAD + 1
        if not 0 < n <= MAX_SAMPLES_PER_LEAD:
            raise CorruptFileError(
                self.path,
                f"duration {duration_ms:g} ms at {fs:g} Hz ({n} samples per lead) is not a "
                "plausible resting ECG: damaged header",
            )
        return n

    def _compressed(self, waves: Element) -> bool:
        if (waves.get("compressflag") or "").strip().lower() == "false":
            return False  # 1.03 says so explicitly (decompressing tools set it, method kept)
        method = (waves.get("compression") or waves.get("compressmethod") or "").strip().upper()
        return method not in ("", "NONE", "UNCOMPRESSED")

    def _samples(self, waves: Element, n_leads: int, n_samples: int) -> list[np.ndarray]:
        encoding = (waves.get("dataencoding") or "Base64").strip().lower()
        if encoding == "plain":  # decimal integers, lead after lead (decompressed exports)
            return self._split(_plain_integers(self.path, waves.text), n_leads, n_samples)
        if encoding != "base64":
            raise CorruptFileError(self.path, f"waveform encoding {encoding!r} is not supported")
        data = self._base64(waves.text, "rhythm waveforms")
        method = (waves.get("compression") or waves.get("compressmethod") or "").strip()
        if self._compressed(waves):
            if method.upper() != "XLI":
                raise CorruptFileError(self.path, f"waveform compression {method!r} is unknown")
            try:
                return decode_xli(data, n_leads, n_samples)
            except XliError as exc:
                raise CorruptFileError(self.path, f"XLI waveform data damaged: {exc}") from None
        values = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.int64)
        return self._split(values, n_leads, n_samples)

    def _split(self, values: np.ndarray, n_leads: int, n_samples: int) -> list[np.ndarray]:
        if values.size < n_leads * n_samples:
            raise CorruptFileError(
                self.path,
                f"waveform data holds {values.size} samples, the header says "
                f"{n_leads} leads x {n_samples}",
            )
        return [values[i * n_samples : (i + 1) * n_samples] for i in range(n_leads)]

    def _base64(self, text: str | None, what: str) -> bytes:
        if not text or not text.strip():
            raise NoECGChannelsError(self.path, f"{what}: no data")
        try:
            return base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CorruptFileError(self.path, f"{what}: damaged Base64 ({exc})") from None

    # -- metadata
    def _start(self) -> datetime | None:
        acq = self.root.find("dataacquisition")
        if acq is None:
            return None
        day, clock = (acq.get("date") or "").strip(), (acq.get("time") or "").strip()
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
            try:
                return datetime.strptime(f"{day} {clock}".strip(), fmt)
            except ValueError:
                continue
        return None

    def _patient(self, start: datetime | None) -> Patient:
        general = self.root.find("patient/generalpatientdata")
        if general is None:
            return Patient()
        pid = text_of(general.find("patientid"))
        if pid in ("---", ""):
            pid = None
        sex_text = (text_of(general.find("sex")) or "").lower()
        sex = {"male": "M", "female": "F"}.get(sex_text)
        name = general.find("name")
        return Patient(
            id=pid,
            age=_age(general.find("age"), start),
            sex=sex,
            name=person_name(
                text_of(name.find("lastname")) if name is not None else None,
                text_of(name.find("firstname")) if name is not None else None,
                text_of(name.find("middlename")) if name is not None else None,
            ),
            birth_date=birth_date(
                parse_date(text_of(general.find("age/dateofbirth")), "%Y-%m-%d"), start
            ),
        )

    def _device(self) -> str | None:
        machine = self.root.find("dataacquisition/machine")
        if machine is None:
            return None
        name = text_of(machine)
        detail = (machine.get("detaildescription") or "").strip()
        text = f"Philips {name}" if name else "Philips"
        return f"{text} ({detail})" if detail else text

    # -- the cart's own reading
    def _cart(self) -> CartReading | None:
        interpretations = self.root.findall("interpretations/interpretation")
        if len(interpretations) > 1:
            self.notes.append(f"{len(interpretations)} interpretations: the cart's first shown")
        first = interpretations[0] if interpretations else None
        sources = []
        if first is not None:
            sources += [first.find("globalmeasurements"), first.find("interpretationmeasurements")]
        sources += [
            self.root.find("measurements/globalmeasurements"),
            self.root.find("internalmeasurements/crossleadmeasurements"),
        ]
        measurements = _measurements([s for s in sources if s is not None])
        for key, value in list(measurements.items()):
            if not plausible_cart_value(key, value, self.notes):
                del measurements[key]
        if "p_duration" not in measurements and measurements.get("p_axis") == 0:
            # The cart's 0 for a P wave it did not find (P duration 0 or none; its main
            # measurements say "Indeterminate"), not an axis of 0 degrees.
            del measurements["p_axis"]
        statements = _statements(first) if first is not None else ()
        beats, beat_fs, beat_leads = self._median_beats()
        if not measurements and not statements and beats is None:
            return None
        return CartReading(
            measurements=measurements,
            statements=statements,
            median_beats=beats,
            median_fs=beat_fs,
            median_leads=beat_leads,
            source=f"Philips Sierra XML {self.version}",
        )

    def _median_beats(self) -> tuple[np.ndarray | None, float | None, tuple[str, ...]]:
        reps = self.root.find("waveforms/repbeats")
        if reps is None:
            return None, None, ()
        try:
            fs = float(reps.get("samplespersec") or "nan")
            resolution = float(reps.get("resolution") or "nan")
        except ValueError:
            fs = resolution = math.nan
        if not (math.isfinite(fs) and fs > 0 and math.isfinite(resolution) and resolution > 0):
            self.notes.append("representative beats skipped: rate or resolution missing")
            return None, None, ()
        rows: list[np.ndarray] = []
        names: list[str] = []
        for beat in reps.findall("repbeat"):
            holder = beat.find("waveform")
            text = (holder if holder is not None else beat).text
            if not text or not text.strip():
                continue
            try:
                if (reps.get("dataencoding") or "").strip().lower() == "plain":
                    rows.append(_plain_integers(self.path, text))
                else:
                    data = base64.b64decode("".join(text.split()), validate=True)
                    rows.append(np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2"))
            except (binascii.Error, ValueError, CorruptFileError):
                self.notes.append(f"representative beat {beat.get('leadname')}: damaged data")
                continue
            names.append(normalize_lead_name(beat.get("leadname") or f"Channel {len(names) + 1}"))
        rows = [r for r in rows if r.size]
        if not rows:
            return None, None, ()
        # A Philips representative beat lasts 1.2 s, in a block that holds twice that: Touch
        # and TC carts fill the rest with 32767 (cut by trim_trailing_fill), a PageWriter Trim
        # with codes such as 4095 or 12287 between other values, which read as 30-140 mV
        # "beats" when kept (43 of 43 Trim exports seen; 152 Touch and TC exports hold 1.2 s).
        length = min(min(r.size for r in rows), int(round(REPBEAT_SECONDS * fs)))
        digits = trim_trailing_fill(np.stack([r[:length] for r in rows]))
        beats = digits.astype(np.float32) * (resolution / 1000.0)
        return beats, fs, tuple(names[: len(rows)])


def _plain_integers(path: Path, text: str | None) -> np.ndarray:
    tokens = (text or "").split()
    if not tokens:
        raise NoECGChannelsError(path, "waveforms: no data")
    try:
        return np.array(tokens, dtype=np.int64)
    except (ValueError, OverflowError):
        raise CorruptFileError(path, "waveforms: a value is not an integer") from None


def _rebuild_limb_leads(leads: list[np.ndarray]) -> None:
    """III, aVR, aVL, aVF from the residuals the cart stores (in place, integer units)."""
    lead_i, lead_ii = leads[0], leads[1]
    lead_iii = lead_ii - lead_i - leads[2]
    leads[2] = lead_iii
    leads[3] = -leads[3] - np.floor_divide(lead_i + lead_ii, 2)
    leads[4] = np.floor_divide(lead_i - lead_iii, 2) - leads[4]
    leads[5] = np.floor_divide(lead_ii + lead_iii, 2) - leads[5]


def _age(el: Element | None, start: datetime | None) -> float | None:
    if el is None:
        return None
    years = text_of(el.find("years"))
    if years is not None:
        try:
            value = float(years)
        except ValueError:
            value = math.nan
        return value if math.isfinite(value) and 0 <= value < 150 else None
    birth_text = text_of(el.find("dateofbirth"))
    if birth_text is None or start is None:
        return None  # ``defaultage`` is the analysis default, not the patient's age
    try:
        birth = date.fromisoformat(birth_text)
    except ValueError:
        return None
    on = start.date()
    if birth > on:
        return None
    return float(on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day)))


def _measurements(sources: list[Element]) -> dict[str, float]:
    """First usable value per key, looking through ``sources`` in order ("Failed" skipped)."""
    out: dict[str, float] = {}
    for key, names in _GLOBAL_KEYS.items():
        for source in sources:
            value = next(
                (v for v in (to_float(text_of(source.find(n))) for n in names) if v is not None),
                None,
            )
            if value is not None:
                out[key] = value
                break
    return out


def _statements(interpretation: Element) -> tuple[str, ...]:
    lines = []
    for statement in interpretation.findall("statement"):
        left = text_of(statement.find("leftstatement")) or ""
        right = text_of(statement.find("rightstatement")) or ""
        line = f"{left} ({right})" if left and right else left or right
        if line:
            lines.append(line)
    severity = text_of(interpretation.find("severity"))
    if severity:
        lines.append(severity)
    return tuple(lines)
