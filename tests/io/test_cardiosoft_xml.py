"""GE CardioSoft XML (``CardiologyXML``): small files written here from a template with the
layout of CardioSoft V6.73 exports, expected values computed from the digits written."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from ecgviewer.errors import (
    CorruptFileError,
    ECGError,
    InvalidSignalError,
    NoECGChannelsError,
)
from ecgviewer.io import READERS, ReaderSpec, read, reader_for
from ecgviewer.record import STANDARD_LEADS, Record

FS = 500
N = 1000  # 2 s


@pytest.fixture(autouse=True)
def _registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Until ``READERS`` names the reader, put it where it belongs (after GE MUSE)."""
    if any(spec.name == "cardiosoft_xml" for spec in READERS):
        return
    from ecgviewer.io import _xml_root_is

    spec = ReaderSpec(
        "cardiosoft_xml",
        "cardiosoft_xml",
        (".xml",),
        lambda head, path: _xml_root_is(head, b"CardiologyXML"),
        "GE CardioSoft XML",
    )
    at = next(i for i, s in enumerate(READERS) if s.name == "muse_xml") + 1
    monkeypatch.setattr("ecgviewer.io.READERS", [*READERS[:at], spec, *READERS[at:]])


def _digits(n: int = N, fs: int = FS) -> dict[str, np.ndarray]:
    """Integer samples (5 uV units) for the 12 leads, limb leads consistent as a cart's."""
    t = np.arange(n) / fs
    i = np.round(60 * np.sin(2 * np.pi * 1.1 * t)).astype(np.int64)
    ii = np.round(200 * np.sin(2 * np.pi * 1.1 * t + 0.4) + 20).astype(np.int64)
    out = {
        "I": i,
        "II": ii,
        "III": ii - i,
        "aVR": -(i + ii) // 2,
        "aVL": i - ii // 2,
        "aVF": ii - i // 2,
    }
    for k in range(1, 7):
        out[f"V{k}"] = np.round(100 * k * np.cos(2 * np.pi * 1.1 * t + k)).astype(np.int64)
    return out


def _waveforms(leads: dict[str, np.ndarray | str]) -> str:
    parts = []
    for name, values in leads.items():
        text = values if isinstance(values, str) else ",".join(str(int(v)) for v in values)
        parts.append(f'<WaveformData lead="{name}">\t\t{text}</WaveformData>')
    return "\n".join(parts)


MEASUREMENTS = (
    '<VentricularRate units="BPM">66</VentricularRate><PQInterval units="ms">160</PQInterval>'
    '<PDuration units="ms">98</PDuration><QRSDuration units="ms">92</QRSDuration>'
    '<QTInterval units="ms">388</QTInterval><QTCInterval units="ms">407</QTCInterval>'
    '<RRInterval units="ms">909</RRInterval><PPInterval units="ms">905</PPInterval>'
    '<SokolovLVHIndex units="mV"></SokolovLVHIndex><PAxis units="degrees">51</PAxis>'
    '<RAxis units="degrees">-12</RAxis><TAxis units="degrees">40</TAxis>'
    '<POnset units="ms">100</POnset><POffset units="ms">198</POffset>'
    '<QOnset units="ms">240</QOnset><QOffset units="ms">332</QOffset>'
    '<TOffset units="ms">628</TOffset>'
)


def _median(fs: int = 250, n: int = 300) -> dict[str, np.ndarray]:
    return {k: v[:n] for k, v in _digits(n, fs).items()}


def cardiosoft_xml(
    leads: dict[str, np.ndarray | str] | None = None,
    *,
    rate: str = str(FS),
    resolution: str = "5",
    count: str | None = None,
    n_leads: str | None = None,
    measurements: str = MEASUREMENTS,
    median: str | None = None,
    interpretation: str = "",
    observed: tuple[int, int, int, int, int, int] = (1, 1, 1, 1, 1, 1),
    birth: tuple[int, int, int] = (1, 1, 1),
    age: str = '<Age units="YEARS">57</Age>',
    gender: str = "FEMALE",
    beats: str = "",
    strip: bool = True,
    full_disclosure: str = "",
    pid: str = "P-1",
) -> str:
    """A CardioSoft V6.73 resting ECG (CardioSoft's element order, blanks where it writes
    them); ``observed`` is (year, month, day, hour, minute, second), 1/1/1 a placeholder."""
    leads = _digits() if leads is None else leads
    first = next(iter(leads.values()))
    count = str(len(first)) if count is None and not isinstance(first, str) else count
    year, month, day, hour, minute, second = observed
    if median is None:
        med = _median()
        median = (
            "<MedianSamples><NumberOfLeads>12</NumberOfLeads>"
            '<SampleRate units="Hz">250</SampleRate>'
            "<ChannelSampleCountTotal>300</ChannelSampleCountTotal>"
            '<Resolution units="uVperLsb">2.5</Resolution>'
            '<FirstValid units="Sample">0</FirstValid><LastValid units="Sample">299</LastValid>'
            f"{_waveforms(dict(med.items()))}</MedianSamples>"
        )
    strip_xml = (
        "<StripData>"
        f"<NumberOfLeads>{n_leads or len(leads)}</NumberOfLeads>"
        f'<SampleRate units="Hz">{rate}</SampleRate>'
        + (f"<ChannelSampleCountTotal>{count}</ChannelSampleCountTotal>" if count else "")
        + f'<Resolution units="uVperLsb">{resolution}</Resolution>'
        f"{_waveforms(leads)}{beats}</StripData>"
        if strip
        else ""
    )
    return (
        '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<CardiologyXML>\n'
        "<ObservationType>RestECG</ObservationType>"
        f"<ObservationDateTime><Hour>{hour}</Hour><Minute>{minute}</Minute>"
        f"<Second>{second}</Second><Day>{day}</Day><Month>{month}</Month><Year>{year}</Year>"
        "</ObservationDateTime>"
        "<ClinicalInfo><DeviceInfo><Desc>CardioSoft</Desc><SoftwareVer>V6.73</SoftwareVer>"
        "<AnalysisVer>12SL V21</AnalysisVer></DeviceInfo></ClinicalInfo>"
        f"<PatientInfo><PID>{pid}</PID><Name><FamilyName>Müller</FamilyName>"
        f"<GivenName>Zoë</GivenName></Name>{age}"
        f"<BirthDateTime><Day>{birth[2]}</Day><Month>{birth[1]}</Month>"
        f"<Year>{birth[0]}</Year></BirthDateTime><Gender>{gender}</Gender></PatientInfo>"
        "<FilterSetting><CubicSpline>No</CubicSpline><Filter50Hz>Yes</Filter50Hz>"
        '<LowPass units="Hz">150</LowPass><HighPass units="Hz">0.04</HighPass></FilterSetting>'
        f"<Interpretation>{interpretation}</Interpretation>"
        "<RestingECGMeasurements><DiagnosisVersion>12SL V21</DiagnosisVersion>"
        f"{measurements}{median}</RestingECGMeasurements>"
        f"{strip_xml}{full_disclosure}"
        "</CardiologyXML>\n"
    )


def _write(tmp_path: Path, text: str, name: str = "ecg.xml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("iso-8859-1"))
    return path


def _read(tmp_path: Path, text: str) -> Record:
    rec = read(_write(tmp_path, text))
    assert isinstance(rec, Record)
    return rec


# ---------------------------------------------------------------------------- the rhythm
def test_rhythm_in_millivolts_with_standard_lead_names(tmp_path):
    digits = _digits()
    shuffled = {k: digits[k] for k in reversed(STANDARD_LEADS)}  # any order in the file
    path = _write(tmp_path, cardiosoft_xml(shuffled))
    assert reader_for(path).name == "cardiosoft_xml"
    rec = read(path)
    assert isinstance(rec, Record)
    assert rec.format == "cardiosoft_xml" and rec.fs == FS and rec.n_samples == N
    assert rec.leads == list(STANDARD_LEADS) and rec.derived_leads == ()
    for lead in STANDARD_LEADS:
        np.testing.assert_allclose(rec.signal[rec.lead_index(lead)], digits[lead] * 0.005)
    assert rec.signal.dtype == np.float32
    assert rec.device == "GE CardioSoft V6.73 (analysis 12SL V21)"


def test_resolution_and_whitespace_separated_digits(tmp_path):
    digits = {k: v[:400] for k, v in _digits().items()}
    leads: dict[str, np.ndarray | str] = {
        k: "\n".join(" ".join(str(x) for x in v[j : j + 50]) + " ," for j in range(0, 400, 50))
        for k, v in digits.items()
    }  # white space, and a comma at each line's end (even the last)
    rec = _read(tmp_path, cardiosoft_xml(leads, resolution="2.5", count="400"))
    np.testing.assert_allclose(rec.signal[rec.lead_index("V6")], digits["V6"] * 0.0025)


def test_beat_times_from_arrhythmia_results(tmp_path):
    beats = (
        '<ArrhythmiaResults><Time units="ms">350</Time><BeatClass>dominant</BeatClass>'
        '<Time units="ms">1250</Time><BeatClass>ventricular</BeatClass>'
        '<Time units="ms">9999</Time><BeatClass>dominant</BeatClass></ArrhythmiaResults>'
    )
    rec = _read(tmp_path, cardiosoft_xml(beats=beats))
    assert [(a.onset, a.text) for a in rec.annotations] == [
        (0.35, "QRS"),
        (1.25, "QRS ventricular"),
    ]  # 9.999 s lies after this 2 s strip


# ---------------------------------------------------------------------------- the cart
def test_median_beats_measurements_and_statements(tmp_path):
    interpretation = (
        "<Diagnosis><DiagnosisText>Sinus rhythm</DiagnosisText>"
        "<DiagnosisText>---</DiagnosisText>"
        "<DiagnosisText>Left axis   deviation</DiagnosisText></Diagnosis>"
        "<Conclusion><ConclusionText>Normal ECG</ConclusionText>"
        "<ConclusionText>Sinus rhythm</ConclusionText></Conclusion>"
    )
    rec = _read(tmp_path, cardiosoft_xml(interpretation=interpretation))
    cart = rec.cart
    assert cart is not None and cart.source == "GE CardioSoft XML V6.73"
    assert cart.measurements == {
        "heart_rate": 66,
        "pr": 160,
        "p_duration": 98,
        "qrs": 92,
        "qt": 388,
        "qtc": 407,
        "rr": 909,
        "p_axis": 51,
        "qrs_axis": -12,
        "t_axis": 40,
    }
    assert cart.statements == ("Sinus rhythm", "Left axis deviation", "Conclusion: Normal ECG")
    assert cart.median_fs == 250 and cart.median_leads == STANDARD_LEADS
    assert cart.median_beats is not None and cart.median_beats.shape == (12, 300)
    expected = _median()
    for row, lead in enumerate(STANDARD_LEADS):
        np.testing.assert_allclose(cart.median_beats[row], expected[lead] * 0.0025, atol=1e-6)


def test_implausible_and_blank_measurements_left_out_with_a_note(tmp_path):
    measurements = (
        MEASUREMENTS.replace(">92</QRSDuration>", ">0</QRSDuration>")
        .replace(">66</VentricularRate>", ">999</VentricularRate>")
        .replace(">388</QTInterval>", "></QTInterval>")
        .replace('units="ms">407</QTCInterval>', 'units="s">0.407</QTCInterval>')
    )
    rec = _read(tmp_path, cardiosoft_xml(measurements=measurements))
    assert rec.cart is not None
    got = rec.cart.measurements
    assert "qrs" not in got and "heart_rate" not in got and "qt" not in got
    assert got["qtc"] == pytest.approx(407) and got["pr"] == 160
    notes = " | ".join(rec.notes)
    assert "qrs 0 is not plausible" in notes and "heart rate 999 is not plausible" in notes
    assert "qt " not in notes.replace("qtc", "")  # a blank value is no finding


def test_damaged_median_beats_are_a_note_not_a_failure(tmp_path):
    median = (
        '<MedianSamples><SampleRate units="Hz">0</SampleRate>'
        '<Resolution units="uVperLsb">5</Resolution>'
        '<WaveformData lead="I">1,2,3</WaveformData></MedianSamples>'
    )
    rec = _read(tmp_path, cardiosoft_xml(median=median))
    assert rec.cart is not None and rec.cart.median_beats is None
    assert any(n.startswith("median beats not read: ") and "rate" in n for n in rec.notes)
    assert rec.cart.measurements["qrs"] == 92


# ---------------------------------------------------------------------------- metadata
def test_placeholder_dates_are_unknown(tmp_path):
    rec = _read(tmp_path, cardiosoft_xml())
    assert rec.start is None
    assert any("1/1/1 is a placeholder" in n for n in rec.notes)
    assert (rec.patient.id, rec.patient.age, rec.patient.sex) == ("P-1", 57, "F")


def test_real_dates_and_age_from_birth_date(tmp_path):
    text = cardiosoft_xml(observed=(2019, 3, 7, 14, 5, 9), birth=(1950, 6, 1), age="")
    rec = _read(tmp_path, text)
    assert rec.start == datetime(2019, 3, 7, 14, 5, 9)
    assert rec.patient.age == 68  # before the June birthday
    assert (rec.patient.name, rec.patient.birth_date) == ("Müller, Zoë", date(1950, 6, 1))
    assert not any("placeholder" in n for n in rec.notes)
    months = cardiosoft_xml(age='<Age units="MONTHS">18</Age>', gender="MALE")
    patient = _read(tmp_path, months).patient
    assert (patient.age, patient.sex) == (1.5, "M")


# ---------------------------------------------------------------------------- damage
def test_missing_lead_is_noted_and_a_missing_limb_lead_derived(tmp_path):
    digits = _digits()
    no_v3 = {k: v for k, v in digits.items() if k != "V3"}
    rec = _read(tmp_path, cardiosoft_xml(no_v3, n_leads="12"))
    assert "V3" not in rec.leads and len(rec.leads) == 11
    assert any("11 leads stored, NumberOfLeads says 12" in n for n in rec.notes)
    no_iii = {k: v for k, v in digits.items() if k != "III"}
    rec = _read(tmp_path, cardiosoft_xml(no_iii))
    assert rec.leads == list(STANDARD_LEADS) and rec.derived_leads == ("III",)
    np.testing.assert_allclose(
        rec.signal[rec.lead_index("III")], (digits["II"] - digits["I"]) * 0.005, atol=1e-6
    )


def test_short_lead_refused_in_one_line(tmp_path):
    digits = _digits()
    digits["V2"] = digits["V2"][:600]
    path = _write(tmp_path, cardiosoft_xml(digits, count=str(N)))
    with pytest.raises(CorruptFileError) as info:
        read(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert "lead V2 holds 600 of the 1000 samples" in message


def test_slightly_short_lead_trimmed_with_a_note(tmp_path):
    digits = _digits()
    digits["aVL"] = digits["aVL"][:995]
    rec = _read(tmp_path, cardiosoft_xml(digits, count=str(N)))
    assert rec.n_samples == 995
    assert any("aVL (995)" in n for n in rec.notes)


def test_non_number_in_waveform(tmp_path):
    digits: dict[str, np.ndarray | str] = dict(_digits())
    digits["V4"] = "1,2,abc,4"
    with pytest.raises(CorruptFileError, match=r"rhythm lead V4: sample value 'abc' is not a"):
        read(_write(tmp_path, cardiosoft_xml(digits, count="4")))
    digits["V4"] = "1,2,,4"  # would shift every later sample
    with pytest.raises(CorruptFileError, match="V4: an empty value between commas"):
        read(_write(tmp_path, cardiosoft_xml(digits, count="4")))


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"rate": "5000000"}, InvalidSignalError, "sampling rate '5000000' Hz is not plausible"),
        ({"rate": "abc"}, InvalidSignalError, "sampling rate 'abc' Hz is not plausible"),
        ({"resolution": "0"}, InvalidSignalError, "resolution '0' uVperLsb is not plausible"),
        ({"resolution": "1e9"}, InvalidSignalError, "resolution '1e9' uVperLsb"),
        ({"count": "1000000000000"}, CorruptFileError, "ChannelSampleCountTotal"),
    ],
)
def test_absurd_header_values_refused_in_one_line(tmp_path, kwargs, error, words):
    path = _write(tmp_path, cardiosoft_xml(**kwargs))
    with pytest.raises(error) as info:
        read(path)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_no_waveforms_at_all(tmp_path):
    with pytest.raises(NoECGChannelsError, match="GE CardioSoft file: neither <StripData>"):
        read(_write(tmp_path, cardiosoft_xml(strip=False)))


# ---------------------------------------------------------------------------- full disclosure
def _full_disclosure(seconds: int = 3, fs: int = 250) -> tuple[str, np.ndarray]:
    """Three channels (I, II, III) in CardioSoft's layout: one second of each in turn."""
    t = np.arange(seconds * fs) / fs
    i = np.round(80 * np.sin(2 * np.pi * 1.3 * t)).astype(np.int64)
    ii = np.round(150 * np.cos(2 * np.pi * 1.3 * t)).astype(np.int64)
    lanes = np.stack([i, ii, ii - i])
    blocks = [lanes[c, s * fs : (s + 1) * fs] for s in range(seconds) for c in range(3)]
    data = ",\n".join(",".join(str(x) for x in b) for b in blocks)
    xml = (
        "<FullDisclosure><StartTime><Minute>0</Minute><Second>5</Second></StartTime>"
        f'<NumberOfChannels>3</NumberOfChannels><SampleRate units="Hz">{fs}</SampleRate>'
        '<Resolution units="uVperLsb">5</Resolution><LeadOrder>I,2,3</LeadOrder>'
        f"<FullDisclosureData>{data},</FullDisclosureData>"
        "<EventList><Event>Exercise</Event><Time><Minute>0</Minute><Second>6.5</Second></Time>"
        "<Event>Late</Event><Time><Minute>9</Minute><Second>0</Second></Time></EventList>"
        "</FullDisclosure>"
    )
    return xml, lanes


def test_full_disclosure_one_second_blocks(tmp_path):
    xml, lanes = _full_disclosure()
    rec = _read(tmp_path, cardiosoft_xml(strip=False, full_disclosure=xml))
    assert rec.fs == 250 and rec.n_samples == 750
    assert rec.leads == ["I", "II", "III", "aVR", "aVL", "aVF"]
    assert rec.derived_leads == ("aVR", "aVL", "aVF")
    for row, lead in enumerate(("I", "II", "III")):
        np.testing.assert_allclose(rec.signal[rec.lead_index(lead)], lanes[row] * 0.005)
    assert [(a.onset, a.text) for a in rec.annotations] == [(1.5, "Exercise (test time 0:06.5)")]
    assert any("starts 0:05.0 into the test" in n for n in rec.notes)


def test_full_disclosure_with_a_partial_last_second(tmp_path):
    xml, lanes = _full_disclosure(seconds=2)
    xml = xml.replace("</FullDisclosureData>", "1,2,3,</FullDisclosureData>")
    rec = _read(tmp_path, cardiosoft_xml(strip=False, full_disclosure=xml))
    assert rec.n_samples == 500
    assert any("3 samples after the last whole second dropped" in n for n in rec.notes)


def test_full_disclosure_header_must_match_its_leads(tmp_path):
    xml, _ = _full_disclosure()
    bad = xml.replace("<LeadOrder>I,2,3</LeadOrder>", "<LeadOrder>I,2</LeadOrder>")
    with pytest.raises(CorruptFileError, match="LeadOrder 'I,2' does not name the 3 channels"):
        read(_write(tmp_path, cardiosoft_xml(strip=False, full_disclosure=bad)))


def test_strip_shown_when_both_are_present(tmp_path):
    xml, _ = _full_disclosure()
    rec = _read(tmp_path, cardiosoft_xml(full_disclosure=xml))
    assert rec.n_samples == N and len(rec.leads) == 12
    assert any("also holds a full disclosure: not shown" in n for n in rec.notes)


# ---------------------------------------------------------------------------- routing
def test_hl7_aecg_reader_no_longer_refuses_cardiosoft(tmp_path):
    from ecgviewer.io import hl7_aecg

    path = _write(tmp_path, cardiosoft_xml())
    rec = hl7_aecg.read(path)  # what the .xml extension alone would choose
    assert rec.format == "cardiosoft_xml" and rec.n_samples == N
    # A root beyond the sniffed head (a long comment first) still reaches this reader.
    padded = cardiosoft_xml().replace("?>\n", "?>\n<!--" + " " * 5000 + "-->\n", 1)
    path = _write(tmp_path, padded, "padded.xml")
    assert reader_for(path).name == "hl7_aecg"
    rec = read(path)
    assert isinstance(rec, Record) and rec.format == "cardiosoft_xml"


def test_latin1_text_and_unsafe_xml(tmp_path):
    text = cardiosoft_xml(pid="Ärzte-1")
    assert _read(tmp_path, text).patient.id == "Ärzte-1"
    hostile = text.replace(
        "<CardiologyXML>", '<!DOCTYPE CardiologyXML [<!ENTITY a "aaaa">]>\n<CardiologyXML>', 1
    ).replace("<PID>Ärzte-1</PID>", "<PID>&a;</PID>")
    with pytest.raises(ECGError, match="unsafe XML"):
        read(_write(tmp_path, hostile))
