"""HL7 aECG XML (the FDA's annotated ECG format, root element ``AnnotatedECG``).

What is read (HL7 v3 aECG, 2003-12 ballot, as the fixtures from Mortara, AMPS CalECG2,
Philips and Mindray write it):

- the **rhythm** waveforms: the first ``series`` whose code is ``RHYTHM`` and, in it, the first
  ``sequenceSet`` holding lead sequences. Its time sequence (``GLIST_TS`` absolute or
  ``GLIST_PQ`` relative) gives the sampling interval (``increment``, any time unit) and, when
  absolute, the start time. Every other sequence is a lead: ``code`` ``MDC_ECG_LEAD_I`` ...
  ``MDC_ECG_LEAD_AVF`` -> I ... aVF (any ``MDC_ECG_LEAD_*`` name is kept, e.g. V3R), samples
  ``digits`` x ``scale`` + ``origin`` in each one's unit, converted to millivolts. Leads keep the
  file's order (Mortara writes I, II, V1-V6, III, aVR, aVL, aVF).
- **derived series** (representative beats) are not the rhythm: they are skipped and a note
  says so. Further rhythm series (rare) are skipped with a note.
- **annotations** of the rhythm series' annotation sets, nested annotations included. Onsets
  are seconds from the series start (``TIME_ABSOLUTE`` timestamps or ``TIME_RELATIVE`` offsets
  in ms/s). An annotation without a time of its own takes the span of its children (a beat
  spans its P to T waves), else its parent's, else the whole record (global measurements and
  interpretation statements). Text is the value's display name or code; measurements read
  ``CODE: value unit``. A lead boundary (``MDC_ECG_LEAD_*``) sets the annotation's lead.
- **patient**: trial subject id (or a vendor ``PatientID``), sex, age (the ``Reported Age``
  observation, else from ``birthTime`` at the ECG date); **device**: manufacturer, model and
  software of the rhythm series' author.

Leads of unequal length are trimmed to the shortest with a note, unless the shortest holds
less than 90% of the longest (a damaged file): that is a :class:`CorruptFileError` naming the
lead. A sample that does not parse is a :class:`CorruptFileError` naming the lead.

The XML is parsed with :mod:`defusedxml`: entity declarations (billion laughs) and external
entities are refused with a :class:`CorruptFileError`, never expanded or fetched.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import numpy as np

from ecgviewer.errors import (
    CorruptFileError,
    ECGError,
    InvalidSignalError,
    NoECGChannelsError,
    UnknownFormatError,
)
from ecgviewer.io._common import (
    birth_date,
    calibration_pulse,
    is_number,
    person_name,
    trim_trailing_fill,
    unit_scale,
)
from ecgviewer.io._hl7 import (
    attr,
    code_of,
    parse_hl7_ts,
    parse_xml,
    pq_seconds,
    text_of,
    to_float,
    xsi_type,
)
from ecgviewer.record import (
    CALIBRATION_PULSE_TEXT,
    MAX_FS,
    MIN_FS,
    Annotation,
    CartReading,
    Patient,
    Record,
    normalize_lead_name,
)

log = logging.getLogger(__name__)

__all__ = ["read", "parse_hl7_ts"]

#: Larger sample magnitudes (1 kV) are damage, not an ECG (float32 would also overflow).
MAX_ABS_MV = 1e6
#: Characters of ``<digits>`` text converted at a time (bounds the temporary token list).
_DIGITS_BLOCK = 1 << 20
#: Shortest/longest lead length below which unequal leads are damage, not a trailing sample.
MIN_LENGTH_RATIO = 0.9
_LEAD_PREFIX = "MDC_ECG_LEAD_"
_TIME_CODES = {"TIME_ABSOLUTE", "TIME_RELATIVE"}
_AGE_YEARS = {"a": 1.0, "yr": 1.0, "y": 1.0, "mo": 1 / 12, "wk": 7 / 365.25, "d": 1 / 365.25}
_POINT_SUFFIXES = ("_PEAK", "_ONSET", "_OFFSET", "_NADIR")
_OID = re.compile(r"^\d+(\.\d+)+$")  # an HL7 id namespace such as 2.16.840.1.113883.3.400
#: Annotations further than this outside the rhythm strip belong to something else: dropped.
ANNOTATION_SLACK_S = 1.0
#: Root elements of other vendors' XML ECG formats this program does not read, named in the
#: error message. GE CardioSoft's ``CardiologyXML`` is read (:mod:`.cardiosoft_xml`): a file
#: that reached this reader by its extension alone (its root not in its first bytes) is
#: handed on in :func:`read`.
_OTHER_XML_ECG = {
    "SchillerEDI": "Schiller SEMA XML",  # as the last part of a Java class name
}


def read(path: Path, **_opts: Any) -> Record:
    """Read the rhythm ECG of an HL7 aECG file.

    Parameters
    ----------
    path
        The ``.xml`` file.
    **_opts
        Ignored (accepted so that ``io.read(path, fs=...)`` works for any file).

    Raises
    ------
    ECGError
        Unsafe or malformed XML, no rhythm series, unparsable samples, absurd rate, ...
    """
    path = Path(path)
    root = parse_xml(path)
    if root.tag == "CardiologyXML":  # GE CardioSoft, sent here by its extension alone
        from ecgviewer.io.cardiosoft_xml import read_root

        return read_root(path, root)
    _check_root(path, root)
    return _Document(path, root).record()


def _check_root(path: Path, root: Element) -> None:
    if root.tag != "AnnotatedECG":
        known = _OTHER_XML_ECG.get(root.tag.rsplit(".", 1)[-1])
        hint = f" ({known}, which this program does not read yet)" if known else ""
        raise UnknownFormatError(
            path,
            f"XML root element is <{root.tag}>{hint}: not an XML ECG this program reads "
            "(HL7 aECG, GE MUSE, Philips Sierra/TraceMasterVue, GE CardioSoft)",
        )


# ---------------------------------------------------------------------------- document
@dataclass
class _Lead:
    name: str
    code: str
    samples: np.ndarray


class _Document:
    """One parsed AnnotatedECG; builds the Record step by step, collecting notes."""

    def __init__(self, path: Path, root: Element) -> None:
        self.path = path
        self.root = root
        self.notes: list[str] = []

    def record(self) -> Record:
        series = self._rhythm_series()
        seqset, time_seq = self._sequence_set(series)
        fs, head_start, relative_head = self._timing(time_seq)
        leads = self._leads(seqset)
        signal = self._stack(leads)
        start = head_start or self._start_from_effective_time(series, signal.shape[1] / fs)
        cart = self._cart(series)
        annotations = _Annotations(
            self, series, start, relative_head, signal.shape[1] / fs
        ).collect()  # before the Record: it may add notes
        names = [lead.name for lead in leads]
        non_ecg = tuple(lead.name for lead in leads if not lead.code.startswith(_LEAD_PREFIX))
        # A Philips cart's 1 mV pulse after the ECG survives its HL7 conversion, re-rounded
        # lead by lead (up to 4 units of 5 uV): labelled as the Sierra reader labels it.
        ecg_rows = [i for i, name in enumerate(names) if name not in non_ecg]
        labelled = any(a.text.startswith(CALIBRATION_PULSE_TEXT) for a in annotations)
        pulse = None if labelled else calibration_pulse(signal[ecg_rows], fs)
        if pulse is not None:
            annotations.append(pulse[0])
            self.notes.append(pulse[1])
        return Record(
            signal=signal,
            fs=fs,
            leads=names,
            start=start,
            patient=self._patient(start),
            annotations=annotations,
            source=str(self.path),
            format="hl7_aecg",
            non_ecg=non_ecg,
            device=self._device(series),
            notes=tuple(self.notes),
            cart=cart,
        )

    # -- structure
    def _rhythm_series(self) -> Element:
        all_series = list(self.root.iter("series"))
        rhythm = [s for s in all_series if code_of(s).upper() == "RHYTHM"]
        if not rhythm:
            others = [s for s in all_series if code_of(s).upper() != "REPRESENTATIVE_BEAT"]
            if not others:
                raise NoECGChannelsError(
                    self.path, "no rhythm waveform series (<series> with code RHYTHM) in the file"
                )
            self.notes.append(f"series code {code_of(others[0]) or 'missing'} read as the rhythm")
            rhythm = others
        if len(rhythm) > 1:
            self.notes.append(f"{len(rhythm)} rhythm series in the file: showing the first")
        return rhythm[0]

    def _sequence_set(self, series: Element) -> tuple[Element, Element]:
        for seqset in series.findall("component/sequenceSet"):
            seqs = seqset.findall("component/sequence")
            time_seqs = [s for s in seqs if code_of(s).upper() in _TIME_CODES]
            has_leads = any(s.find("value/digits") is not None for s in seqs)
            if has_leads:
                if not time_seqs:
                    raise CorruptFileError(
                        self.path, "rhythm sequence set has no time sequence: sampling rate unknown"
                    )
                return seqset, time_seqs[0]
        raise NoECGChannelsError(self.path, "the rhythm series holds no lead waveforms")

    def _timing(self, time_seq: Element) -> tuple[float, datetime | None, float]:
        value = time_seq.find("value")
        kind = xsi_type(value)
        if value is None or kind not in ("GLIST_TS", "GLIST_PQ", "GLIST"):
            raise CorruptFileError(
                self.path,
                f"time sequence of type {kind or 'unknown'} is not a regular sampling grid "
                "(GLIST_TS or GLIST_PQ): not supported",
            )
        increment = pq_seconds(value.find("increment"))
        if increment is None:
            raise CorruptFileError(
                self.path, "time sequence has no readable increment (sampling interval)"
            )
        if increment <= 0:
            raise InvalidSignalError(
                self.path, f"sampling interval {increment:g} s is not positive"
            )
        head = value.find("head")
        start: datetime | None = None
        relative_head = 0.0
        if code_of(time_seq).upper() == "TIME_ABSOLUTE" or kind == "GLIST_TS":
            start, tz = parse_hl7_ts(attr(head, "value"))
            if tz:
                self.notes.append(f"times are local to UTC{tz}")
        else:
            relative_head = pq_seconds(head) or 0.0
        return 1.0 / increment, start, relative_head

    def _leads(self, seqset: Element) -> list[_Lead]:
        leads: list[_Lead] = []
        seen: set[str] = set()
        for seq in seqset.findall("component/sequence"):
            value = seq.find("value")
            digits = value.find("digits") if value is not None else None
            if value is None or digits is None:
                continue
            code_el = seq.find("code")
            code = attr(code_el, "code") or attr(code_el, "displayName") or f"lead {len(leads) + 1}"
            raw = code[len(_LEAD_PREFIX) :] if code.upper().startswith(_LEAD_PREFIX) else code
            name = normalize_lead_name(raw)
            if name in seen:
                self.notes.append(f"duplicate lead {name} ignored")
                continue
            samples = self._samples(name, value, digits)
            if samples is None:
                continue
            seen.add(name)
            leads.append(_Lead(name, code.upper(), samples))
        if not leads:
            raise NoECGChannelsError(self.path, "no lead waveform could be read")
        return leads

    def _samples(self, name: str, value: Element, digits: Element) -> np.ndarray | None:
        scale_el, origin_el = value.find("scale"), value.find("origin")
        scale = to_float(attr(scale_el, "value"))
        if scale is None:
            raise CorruptFileError(self.path, f"lead {name}: missing or unreadable <scale>")
        if scale <= 0:  # 0 would flat-line the lead, a negative scale invert it, unsaid
            raise InvalidSignalError(
                self.path, f"lead {name}: <scale> {scale:g} is not a positive number"
            )
        scale_mv = unit_scale(attr(scale_el, "unit") or "")
        if scale_mv is None:
            self.notes.append(
                f"channel {name} skipped: unit {attr(scale_el, 'unit')!r} is not a voltage"
            )
            return None
        origin = to_float(attr(origin_el, "value")) if origin_el is not None else 0.0
        if origin is None:
            raise CorruptFileError(self.path, f"lead {name}: unreadable <origin>")
        origin_mv = unit_scale(attr(origin_el, "unit") or "") if origin_el is not None else 1.0
        if origin_mv is None:
            origin_mv = scale_mv  # origin unit missing or odd: the scale's unit is the intent
        values = self._digits(name, digits.text or "")
        digits.text = None  # the text is no longer needed: free it before the next lead
        if not np.isfinite(values).all():
            raise InvalidSignalError(self.path, f"lead {name}: NaN or infinite sample values")
        mv = origin * origin_mv + values * (scale * scale_mv)
        peak = float(np.abs(mv).max())
        if not peak <= MAX_ABS_MV:
            raise InvalidSignalError(
                self.path,
                f"lead {name}: sample values up to {peak:.3g} mV are not an ECG "
                "(damaged scale, origin or digits)",
            )
        return mv.astype(np.float32)  # the Record's type; halves what each lead holds

    def _digits(self, name: str, text: str) -> np.ndarray:
        """The sample values of one ``<digits>``, converted a block of text at a time: a token
        list over the whole text would cost ~10x its size in Python strings."""
        parts: list[np.ndarray] = []
        start, n = 0, len(text)
        while start < n:
            stop = min(n, start + _DIGITS_BLOCK)
            while stop < n and not text[stop].isspace():  # never cut a number in two
                stop += 1
            tokens = text[start:stop].split()
            start = stop
            if not tokens:
                continue
            try:
                # Digits are integers by the standard; parsing them as such is 2-3x faster.
                parts.append(np.array(tokens, dtype=np.int64).astype(np.float64))
            except (ValueError, OverflowError):
                try:
                    parts.append(np.array(tokens, dtype=np.float64))
                except ValueError:
                    bad = next((t for t in tokens if not is_number(t)), "?")
                    raise CorruptFileError(
                        self.path, f"lead {name}: sample value {bad[:20]!r} is not a number"
                    ) from None
        if not parts:
            raise CorruptFileError(self.path, f"lead {name}: no samples in <digits>")
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _stack(self, leads: list[_Lead]) -> np.ndarray:
        lengths = [lead.samples.size for lead in leads]
        shortest, longest = min(lengths), max(lengths)
        if shortest != longest:
            short = leads[lengths.index(shortest)].name
            if shortest < MIN_LENGTH_RATIO * longest:
                raise CorruptFileError(
                    self.path,
                    f"lead {short} has {shortest} samples but others have up to {longest}: "
                    "the waveform data is incomplete",
                )
            self.notes.append(
                f"leads of unequal length ({shortest}-{longest} samples): trimmed to {shortest}"
            )
        return np.stack([lead.samples[:shortest] for lead in leads]).astype(np.float32, copy=False)

    # -- the cart's own reading
    def _beat_series(self) -> list[Element]:
        derived = list(self.root.iter("derivedSeries"))
        return derived + [
            s for s in self.root.iter("series") if code_of(s).upper() == "REPRESENTATIVE_BEAT"
        ]

    def _cart(self, rhythm: Element) -> CartReading | None:
        """Global measurements and statements (representative-beat series first, then the
        rhythm's), and the representative beats as median beats."""
        beat_series = self._beat_series()
        measurements: dict[str, float] = {}
        statements: list[str] = []
        for series in beat_series + [rhythm]:
            for aset in series.findall("subjectOf/annotationSet"):
                _global_reading(aset, measurements, statements)
        _loinc_reading(self.root, measurements)
        beats, beat_fs, beat_leads = self._median_beats(beat_series)
        if not measurements and not statements and beats is None:
            return None
        return CartReading(
            measurements=measurements,
            statements=tuple(statements),
            median_beats=beats,
            median_fs=beat_fs,
            median_leads=beat_leads,
            source="HL7 aECG",
        )

    def _median_beats(
        self, beat_series: list[Element]
    ) -> tuple[np.ndarray | None, float | None, tuple[str, ...]]:
        for series in beat_series[:1]:
            notes = list(self.notes)
            try:
                seqset, time_seq = self._sequence_set(series)
                fs, _, _ = self._timing(time_seq)
                leads = self._leads(seqset)
                if not MIN_FS <= fs <= MAX_FS:
                    raise InvalidSignalError(self.path, f"beat rate {fs:g} Hz")
                beats = trim_trailing_fill(self._stack(leads))
            except ECGError as exc:
                self.notes[:] = notes + [f"representative beats not read: {exc.problem}"]
                return None, None, ()
            self.notes[:] = notes  # the rhythm's notes only; the beats are the cart's
            return beats, fs, tuple(lead.name for lead in leads)
        return None, None, ()

    # -- metadata
    def _start_from_effective_time(self, series: Element, duration: float) -> datetime | None:
        for holder in (series, self.root):
            eff = holder.find("effectiveTime")
            if eff is None:
                continue
            low, _ = parse_hl7_ts(attr(eff.find("low"), "value"))
            if low is not None:
                return low
            center, _ = parse_hl7_ts(attr(eff.find("center"), "value"))
            if center is not None:
                return center - timedelta(seconds=duration / 2)
        return None

    def _patient(self, start: datetime | None) -> Patient:
        # Usually one trialSubject with id and demographics; some carts (a Contec 8000G export
        # seen) write the demographics in one and the id in a second.
        subjects = list(self.root.iter("trialSubject"))
        person = next(
            (p for p in (s.find("subjectDemographicPerson") for s in subjects) if p is not None),
            None,
        )
        pid = None
        for candidate in subjects:
            id_el = candidate.find("id")
            pid = attr(id_el, "extension")
            root_id = attr(id_el, "root")
            if pid is None and root_id and not _OID.match(root_id):
                pid = root_id  # a root alone may be the id itself (a UUID), never an OID
            if pid is not None:
                break
        if pid is None and person is not None:
            pid = text_of(person.find("PatientID"))  # vendor element (Mindray)
        sex = None
        if person is not None:
            code = (attr(person.find("administrativeGenderCode"), "code") or "").upper()
            sex = code if code in ("M", "F") else None
        born = None
        if person is not None:
            text = (attr(person.find("birthTime"), "value") or "").strip()
            birth, _ = parse_hl7_ts(text)
            # A date of birth to the day only: "1990" read as 1 January and could raise a
            # false "different dates of birth" against another file's exact date.
            whole = birth is not None and len(text) >= 8 and text[:8].isdigit()
            born = birth_date(birth.date() if whole and birth is not None else None, start)
        return Patient(
            id=pid, age=self._age(person, start), sex=sex, name=_name(person), birth_date=born
        )

    def _age(self, person: Element | None, start: datetime | None) -> float | None:
        for obs in self.root.iter("relatedObservation"):
            if code_of(obs) == "21612-7":  # LOINC "Reported Age"
                value = obs.find("value")
                years = to_float(attr(value, "value"))
                unit = (attr(value, "unit") or "a").lower()
                if years is not None and unit in _AGE_YEARS:
                    return round(years * _AGE_YEARS[unit], 2)
        if person is None:
            return None
        vendor_age = to_float(text_of(person.find("Age")))
        if vendor_age is not None:
            return vendor_age
        birth, _ = parse_hl7_ts(attr(person.find("birthTime"), "value"))
        if birth is None or start is None or birth > start:
            return None
        years = start.year - birth.year - ((start.month, start.day) < (birth.month, birth.day))
        return float(years)

    def _device(self, series: Element) -> str | None:
        author = series.find("author/seriesAuthor")
        if author is None:
            return None
        parts = [
            text_of(author.find("manufacturerOrganization/name")),
            text_of(author.find("manufacturedSeriesDevice/manufacturerModelName")),
        ]
        software = text_of(author.find("manufacturedSeriesDevice/softwareName"))
        text = " ".join(p for p in parts if p)
        if software:
            text = f"{text} (software {software})" if text else f"software {software}"
        return text or None


# ---------------------------------------------------------------------------- cart reading
#: Global measurement codes -> CartReading keys (HL7 MDC codes, then vendor variants).
_CART_CODES: dict[str, str] = {
    "MDC_ECG_HEART_RATE": "heart_rate",
    "MDC_ECG_TIME_PD_RR": "rr",
    "MDC_ECG_TIME_PD_P": "p_duration",
    "MDC_ECG_TIME_PD_PR": "pr",
    "MDC_ECG_TIME_PD_QRS": "qrs",
    "MDC_ECG_TIME_PD_QT": "qt",
    "MDC_ECG_TIME_PD_QTC": "qtc",
    "MDC_ECG_TIME_PD_QTCB": "qtc",
    "MDC_ECG_ANGLE_P_FRONT": "p_axis",
    "MDC_ECG_ANGLE_QRS_FRONT": "qrs_axis",
    "MDC_ECG_ANGLE_T_FRONT": "t_axis",
}
_CART_SUFFIXES = {"_P_AXIS": "p_axis", "_QRS_AXIS": "qrs_axis", "_T_AXIS": "t_axis"}
#: LOINC codes of the global measurements some exports give as the document's control
#: variables (``controlVariable/relatedObservation``, beside the LOINC "Reported Age").
_LOINC_SYSTEM = "2.16.840.1.113883.6.1"
_LOINC_CART_CODES: dict[str, str] = {
    "8867-4": "heart_rate",
    "11328-2": "heart_rate",
    "8625-6": "pr",
    "8633-0": "qrs",
    "8634-8": "qt",
    "8636-3": "qtc",
    "8626-4": "p_axis",
    "8632-2": "qrs_axis",
    "8638-9": "t_axis",
}
_STATEMENT_CODES = {
    "MDC_ECG_INTERPRETATION_STATEMENT",
    "MDC_ECG_INTERPRETATION_SUMMARY",
    "MDC_ECG_INTERPRETATION_COMMENT",
    "MDC_ECG_RHY",
}


def _without_trailing_commas(text: str) -> str:
    """``re.sub(r"(,\\s*)+$", "", text)`` in linear time: the trailing run of commas and
    whitespace, from its first comma (that pattern backtracks quadratically on a long run of
    ", " inside a hostile statement: 8,000 of them took 2.2 s)."""
    end = len(text)
    while end and (text[end - 1] == "," or text[end - 1].isspace()):
        end -= 1
    comma = text.find(",", end)
    return text[:comma] if comma >= 0 else text


def _is_local(el: Element) -> bool:
    """A beat, a wave or a lead's annotation (has its own time or lead boundary). A rhythm
    annotation over a span of the strip (Mortara's ELI 250 gives "Sinus Rhythm" over the
    whole 10 s) is the cart's rhythm statement, unless a lead boundary makes it one lead's."""
    code = code_of(el).upper()
    if code in ("MDC_ECG_BEAT", "MDC_ECG_WAVC"):
        return True
    bounds = [code_of(b).upper() for b in el.findall("support/supportingROI/component/boundary")]
    local = (_LEAD_PREFIX,) if code == "MDC_ECG_RHY" else ("TIME_", _LEAD_PREFIX)
    return any(b.startswith(local) for b in bounds)


def _global_reading(aset: Element, measurements: dict[str, float], statements: list[str]) -> None:
    """Add one annotation set's global measurements (first value per key wins) and statements;
    annotations inside a beat, a wave or a lead are the cart's details, not its summary."""
    stack = list(reversed(aset.findall("component/annotation")))
    while stack:
        el = stack.pop()
        if _is_local(el):
            continue
        stack.extend(reversed(el.findall("component/annotation")))
        code = code_of(el).upper()
        value = el.find("value")
        if code in _STATEMENT_CODES and value is not None:
            text = (attr(value, "displayName") or text_of(value) or "").strip(" ,")
            text = _without_trailing_commas(text)
            if text and text not in statements:
                statements.append(text)
            continue
        key = _CART_CODES.get(code) or next(
            (k for suffix, k in _CART_SUFFIXES.items() if code.endswith(suffix)), None
        )
        if key is None or key in measurements or xsi_type(value) != "PQ":
            continue
        _add_measurement(measurements, key, value)


def _loinc_reading(root: Element, measurements: dict[str, float]) -> None:
    """Add the global measurements given as LOINC-coded control variables (a 2021 clinical
    export seen) where the annotation sets gave none of the same key."""
    for obs in root.findall("controlVariable/relatedObservation"):
        code = obs.find("code")
        system = attr(code, "codeSystem") or ""
        if system != _LOINC_SYSTEM and (attr(code, "codeSystemName") or "").upper() != "LOINC":
            continue
        key = _LOINC_CART_CODES.get(attr(code, "code") or "")
        value = obs.find("value")
        if key is not None and key not in measurements and xsi_type(value) == "PQ":
            _add_measurement(measurements, key, value)


def _add_measurement(measurements: dict[str, float], key: str, value: Element | None) -> None:
    """``measurements[key]`` from a PQ value in ms (or s), bpm or degrees; a 0 (what carts
    write for "not measured") or a value that is not a number is left out."""
    number = to_float(attr(value, "value"))
    if number is None or not math.isfinite(number) or number == 0:
        return
    unit = (attr(value, "unit") or "").lower()
    if key in ("rr", "p_duration", "pr", "qrs", "qt", "qtc") and unit in ("s", "sec"):
        number *= 1000.0
    measurements[key] = number


# ---------------------------------------------------------------------------- annotations
@dataclass
class _Node:
    el: Element
    parent: int | None
    text: str
    span: tuple[float, float] | None = None
    lead: str | None = None
    container: bool = False
    own_span: bool = False


class _Annotations:
    """Flattens the rhythm series' (nested) annotations into Record annotations."""

    def __init__(
        self,
        doc: _Document,
        series: Element,
        start: datetime | None,
        relative_head: float,
        duration: float,
    ) -> None:
        self.doc, self.series = doc, series
        self.start, self.relative_head, self.duration = start, relative_head, duration

    def collect(self) -> list[Annotation]:
        nodes: list[_Node] = []
        # Iterative depth-first walk: deeply nested input must not exhaust the stack.
        stack: list[tuple[Element, int | None]] = [
            (el, None)
            for aset in reversed(self.series.findall("subjectOf/annotationSet"))
            for el in reversed(aset.findall("component/annotation"))
        ]
        while stack:
            el, parent_index = stack.pop()
            node = self._node(el, parent_index, nodes)
            nodes.append(node)
            index = len(nodes) - 1
            stack.extend((child, index) for child in reversed(el.findall("component/annotation")))
        # Spans: own boundary; else the union of the children's; else the parent's; else all.
        # Children always follow their parent in ``nodes``, so one backward pass sees every
        # child's final span before its parent, and one forward pass sees parents first.
        for node in reversed(nodes):
            if node.span is None or node.parent is None:
                continue
            parent = nodes[node.parent]
            if parent.own_span:
                continue
            lo, hi = node.span
            if parent.span is not None:
                lo, hi = min(lo, parent.span[0]), max(hi, parent.span[1])
            parent.span = (lo, hi)
        out = []
        outside = 0
        for node in nodes:
            if node.parent is not None:
                parent = nodes[node.parent]
                if node.span is None:
                    node.span = parent.span
                if node.lead is None:
                    node.lead = parent.lead
            if node.container:
                continue
            lo, hi = node.span if node.span is not None else (0.0, self.duration)
            if not (-ANNOTATION_SLACK_S <= lo <= self.duration + ANNOTATION_SLACK_S):
                outside += 1
                continue
            out.append(
                Annotation(onset=lo, duration=max(0.0, hi - lo), text=node.text, lead=node.lead)
            )
        if outside:
            self.doc.notes.append(
                f"{outside} annotations outside the {self.duration:g} s rhythm strip ignored"
            )
        out.sort(key=lambda a: a.onset)
        return out

    def _node(self, el: Element, parent: int | None, nodes: list[_Node]) -> _Node:
        code_el, value = el.find("code"), el.find("value")
        code = attr(code_el, "code") or attr(code_el, "displayName") or "annotation"
        kind = xsi_type(value)
        has_children = el.find("component/annotation") is not None
        if value is None:
            text, container = code, has_children
        elif kind == "CE" or (kind == "" and attr(value, "code")):
            text = attr(value, "displayName") or attr(value, "code") or code
            container = False
            if text.upper().endswith(_POINT_SUFFIXES) and parent is not None:
                text = f"{nodes[parent].text} {text}"
        elif kind == "PQ":
            text = f"{code}: {attr(value, 'value') or '?'} {attr(value, 'unit') or ''}".strip()
            container = False
        else:
            text = f"{code}: {text_of(value) or ''}".strip(": ")
            container = False
        node = _Node(el, parent, text, container=container)
        self._boundaries(el, node)
        return node

    def _boundaries(self, el: Element, node: _Node) -> None:
        leads: list[str] = []
        low = high = None
        for boundary in el.findall("support/supportingROI/component/boundary"):
            code = (code_of(boundary) or "").upper()
            value = boundary.find("value")
            if code.startswith(_LEAD_PREFIX):
                leads.append(normalize_lead_name(code[len(_LEAD_PREFIX) :]))
            elif code in _TIME_CODES and value is not None:
                if value.find("low") is None and value.find("high") is None:
                    point = self._time(code, value)
                    low = high = point
                else:
                    low = self._time(code, value.find("low"))
                    high = self._time(code, value.find("high"))
        if len(leads) == 1:
            node.lead = leads[0]
        elif len(leads) > 1:
            node.text += f" (leads {', '.join(leads)})"
        if low is not None or high is not None:
            if low is None:
                node.text += " end"
            lo = low if low is not None else high
            hi = high if high is not None else lo
            assert lo is not None and hi is not None  # one of them is a number
            node.span = (lo, hi)
            node.own_span = True

    def _time(self, code: str, el: Element | None) -> float | None:
        """Seconds from the series start for a boundary point (absolute TS or relative PQ)."""
        if el is None:
            return None
        if code == "TIME_ABSOLUTE":
            moment, _ = parse_hl7_ts(attr(el, "value"))
            if moment is None or self.start is None:
                return None
            return (moment - self.start).total_seconds()
        seconds = pq_seconds(el)
        if seconds is None:
            return None
        return seconds - self.relative_head


def _name(person: Element | None) -> str | None:
    """An HL7 v3 person name: ``family`` and ``given`` parts, or the name as plain text."""
    el = person.find("name") if person is not None else None
    if el is None:
        return None
    family = " ".join(t for t in (text_of(f) for f in el.findall("family")) if t)
    given = [text_of(g) for g in el.findall("given")]
    if family or any(given):
        return person_name(family, *given)
    return person_name("".join(el.itertext()))
