"""HL7 aECG reader: every real fixture (expected values from the fixtures README and an
independent xml.etree parse), synthetic documents for the edge cases, unsafe XML refused."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from datetime import datetime

import numpy as np
import pytest

from ecgviewer.errors import (
    CorruptFileError,
    ECGError,
    InvalidSignalError,
    NoECGChannelsError,
    UnknownFormatError,
)
from ecgviewer.io import read, reader_for
from ecgviewer.io.hl7_aecg import parse_hl7_ts
from ecgviewer.record import STANDARD_LEADS, Record

NS = "{urn:hl7-org:v3}"
MORTARA_ORDER = ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6", "III", "aVR", "aVL", "aVF"]

# file -> (rate Hz, lead order, rhythm samples), from ../shared/fixtures/README.md
FIXTURES = {
    "hl7_example_mortara_eli250.xml": (500.0, MORTARA_ORDER, 5000),
    "cvrg_calecg2_example2.xml": (1000.0, list(STANDARD_LEADS), 10000),
    "philips_ad4d3d80_converted.xml": (500.0, list(STANDARD_LEADS), 5500),
    "fda_minimum_aecg.xml": (500.0, ["II"], 13),
    "liryc_hl7aecg_example_synthetic.xml": (100.0, list(STANDARD_LEADS), 1000),
}
REAL_12_LEAD = [
    "hl7_example_mortara_eli250.xml",
    "cvrg_calecg2_example2.xml",
    "philips_ad4d3d80_converted.xml",
]


def _independent_rhythm(path) -> dict[str, np.ndarray]:
    """Rhythm leads in mV parsed with plain xml.etree: the reference the reader must match."""
    root = ET.parse(path).getroot()
    series = next(
        s for s in root.iter(NS + "series") if s.find(NS + "code").get("code") == "RHYTHM"
    )
    seqset = series.find(f"{NS}component/{NS}sequenceSet")
    out = {}
    for seq in seqset.findall(f"{NS}component/{NS}sequence"):
        value = seq.find(NS + "value")
        digits = value.find(NS + "digits")
        if digits is None:
            continue
        scale = value.find(NS + "scale")
        assert scale.get("unit") == "uV"
        origin = float(value.find(NS + "origin").get("value"))
        ints = np.array([int(v) for v in digits.text.split()], dtype=np.float64)
        out[seq.find(NS + "code").get("code")] = (origin + ints * float(scale.get("value"))) / 1000
    return out


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_rate_leads_length(fixtures_dir, name):
    path = fixtures_dir / "hl7aecg" / name
    assert reader_for(path).name == "hl7_aecg"
    fs, leads, n = FIXTURES[name]
    rec = read(path)
    assert isinstance(rec, Record)
    assert rec.format == "hl7_aecg"
    assert rec.fs == pytest.approx(fs)
    assert rec.leads == leads
    assert rec.n_samples == n
    assert rec.duration == pytest.approx(n / fs)
    assert rec.signal.dtype == np.float32


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_samples_match_independent_parse(fixtures_dir, name):
    path = fixtures_dir / "hl7aecg" / name
    rec = read(path)
    expected = _independent_rhythm(path)
    assert len(expected) == rec.n_leads
    for code, mv in expected.items():
        lead = rec.lead_index(_lead_of(code))
        np.testing.assert_allclose(rec.signal[lead], mv, atol=1e-6)


def _lead_of(code: str) -> str:
    raw = code.removeprefix("MDC_ECG_LEAD_")
    return {"AVR": "aVR", "AVL": "aVL", "AVF": "aVF"}.get(raw, raw)


@pytest.mark.parametrize("name", REAL_12_LEAD)
def test_real_ecg_amplitudes_are_physiological(fixtures_dir, name):
    rec = read(fixtures_dir / "hl7aecg" / name)
    lead_ii = rec.signal[rec.lead_index("II")]
    # QRS amplitude in mV (R to S): a uV/mV mix-up would be off by 1000, a wrong scale by 2-5x.
    qrs = float(np.ptp(lead_ii))
    assert 0.5 <= qrs <= 3.0, f"lead II QRS amplitude {qrs:.2f} mV"
    # Einthoven holds on the recorded leads when the lead mapping is right: III = II - I.
    lead_i, lead_iii = rec.signal[rec.lead_index("I")], rec.signal[rec.lead_index("III")]
    assert np.median(np.abs(lead_iii - (lead_ii - lead_i))) < 0.02


def test_mortara_metadata_and_annotations(fixtures_dir):
    rec = read(fixtures_dir / "hl7aecg" / "hl7_example_mortara_eli250.xml")
    assert rec.start == datetime(2002, 11, 22, 9, 10, 0)
    assert rec.patient.id == "SBJ-123" and rec.patient.sex == "M"
    assert rec.patient.age == 46  # LOINC 21612-7 "Reported Age" 46 a
    assert "ELI250" in rec.device and "Mortara" in rec.device
    # The representative beat (derived series) is the cart's median beat, not the rhythm.
    assert rec.cart is not None and rec.cart.median_beats.shape == (12, 599)
    assert rec.n_samples == 5000
    texts = [a.text for a in rec.annotations]
    assert "Sinus Rhythm" in texts
    rhythm = rec.annotations[texts.index("Sinus Rhythm")]
    assert (rhythm.onset, rhythm.duration) == (0.0, pytest.approx(10.0))
    # First P wave: IVL_TS 20021122091000.122 to .224 against the series head 091000.000
    p_waves = [a for a in rec.annotations if a.text == "MDC_ECG_WAVC_PWAVE"]
    assert p_waves[0].onset == pytest.approx(0.122) and p_waves[0].duration == pytest.approx(0.102)
    # Lead-based R peak: TIME_RELATIVE 332 ms with an MDC_ECG_LEAD_I boundary
    peaks = [a for a in rec.annotations if a.text.endswith("MDC_ECG_WAVC_PEAK")]
    assert any(a.onset == pytest.approx(0.332) and a.lead == "I" for a in peaks)
    assert all(-0.001 <= a.onset <= rec.duration for a in rec.annotations)


def test_calecg2_patient_age_from_birth_time(fixtures_dir):
    rec = read(fixtures_dir / "hl7aecg" / "cvrg_calecg2_example2.xml")
    assert rec.patient.id == "106_ABC"
    assert rec.patient.age == 32  # born 1971-06-16, ECG 2004-01-15
    assert rec.start == datetime(2004, 1, 15, 11, 20, 4)  # relative time: series low


def test_philips_interpretation_kept_as_whole_record_annotation(fixtures_dir):
    rec = read(fixtures_dir / "hl7aecg" / "philips_ad4d3d80_converted.xml")
    statements = [a for a in rec.annotations if "SINUS BRADYCARDIA" in a.text]
    assert len(statements) == 1
    assert statements[0].onset == 0.0 and statements[0].duration == pytest.approx(11.0)
    assert rec.patient.sex == "F"


# ---------------------------------------------------------------------------- synthetic
def _doc(
    leads: dict[str, str] | None = None,
    increment: str = '<increment value="0.002" unit="s"/>',
    scale: str = '<scale value="2.5" unit="uV"/>',
    origin: str = '<origin value="0" unit="uV"/>',
    series_code: str = "RHYTHM",
    prolog: str = "",
) -> str:
    leads = leads if leads is not None else {"MDC_ECG_LEAD_II": " ".join(["400"] * 100)}
    seqs = "".join(
        f'<component><sequence><code code="{code}"/><value xsi:type="SLIST_PQ">'
        f"{origin}{scale}<digits>{digits}</digits></value></sequence></component>"
        for code, digits in leads.items()
    )
    return (
        f'{prolog}<AnnotatedECG xmlns="urn:hl7-org:v3" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f'<component><series><code code="{series_code}"/><component><sequenceSet>'
        '<component><sequence><code code="TIME_ABSOLUTE"/><value xsi:type="GLIST_TS">'
        f'<head value="20240102030405.500+0100"/>{increment}</value></sequence></component>'
        f"{seqs}</sequenceSet></component></series></component></AnnotatedECG>"
    )


def _write(tmp_path, text: str, name: str = "ecg.xml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_synthetic_minimal_document(tmp_path):
    rec = read(_write(tmp_path, _doc()))
    assert rec.fs == 500.0 and rec.leads == ["II"] and rec.n_samples == 100
    np.testing.assert_allclose(rec.signal, 1.0)  # 400 x 2.5 uV = 1 mV
    assert rec.start == datetime(2024, 1, 2, 3, 4, 5, 500000)
    assert any("UTC+0100" in note for note in rec.notes)


@pytest.mark.parametrize(
    ("scale", "origin", "expected"),
    [
        ('<scale value="0.005" unit="mV"/>', '<origin value="0" unit="mV"/>', 2.0),
        ('<scale value="2.500" unit="uV"/>', '<origin value="-100.000" unit="uV"/>', 0.9),
        ('<scale value="1" unit="uV"/>', '<origin value="0.5" unit="mV"/>', 0.9),
    ],
)
def test_scale_and_origin_units(tmp_path, scale, origin, expected):
    rec = read(_write(tmp_path, _doc(scale=scale, origin=origin)))
    np.testing.assert_allclose(rec.signal, expected, rtol=1e-6)


@pytest.mark.parametrize(
    ("increment", "fs"),
    [
        ('<increment value="2" unit="ms"/>', 500.0),
        ('<increment value="0.0010000" unit="s"/>', 1000.0),
    ],
)
def test_increment_in_any_time_unit(tmp_path, increment, fs):
    assert read(_write(tmp_path, _doc(increment=increment))).fs == pytest.approx(fs)


@pytest.mark.parametrize(
    ("increment", "error"),
    [
        ('<increment value="0" unit="s"/>', InvalidSignalError),
        ('<increment value="-0.002" unit="s"/>', InvalidSignalError),
        ('<increment value="1" unit="s"/>', InvalidSignalError),  # 1 Hz: not an ECG
        ('<increment value="abc" unit="s"/>', CorruptFileError),
        ("", CorruptFileError),
    ],
)
def test_bad_sampling_interval(tmp_path, increment, error):
    with pytest.raises(error):
        read(_write(tmp_path, _doc(increment=increment)))


def test_unparsable_sample_names_the_lead(tmp_path):
    leads = {"MDC_ECG_LEAD_I": "1 2 3 4", "MDC_ECG_LEAD_V2": "1 2 x3 4"}
    with pytest.raises(CorruptFileError, match=r"lead V2: sample value 'x3'"):
        read(_write(tmp_path, _doc(leads=leads)))


def test_nan_sample_is_invalid(tmp_path):
    with pytest.raises(InvalidSignalError, match="lead I"):
        read(_write(tmp_path, _doc(leads={"MDC_ECG_LEAD_I": "1 nan 3"})))


@pytest.mark.parametrize("value", ["0", "-2.5"])
def test_a_zero_or_negative_scale_is_refused(tmp_path, value):
    """A scale of 0 gave a flat line that looked like a lead."""
    doc = _doc(scale=f'<scale value="{value}" unit="uV"/>')
    with pytest.raises(InvalidSignalError, match=rf"lead II: <scale> {value} is not a positive"):
        read(_write(tmp_path, doc))


def test_slightly_unequal_leads_trimmed_with_note(tmp_path):
    leads = {"MDC_ECG_LEAD_I": " ".join(["1"] * 100), "MDC_ECG_LEAD_II": " ".join(["2"] * 98)}
    rec = read(_write(tmp_path, _doc(leads=leads)))
    assert rec.n_samples == 98
    assert any("trimmed to 98" in note for note in rec.notes)


def test_badly_unequal_leads_are_corrupt(tmp_path):
    leads = {"MDC_ECG_LEAD_I": " ".join(["1"] * 100), "MDC_ECG_LEAD_AVF": " ".join(["2"] * 40)}
    with pytest.raises(CorruptFileError, match="lead aVF has 40 samples"):
        read(_write(tmp_path, _doc(leads=leads)))


def test_only_representative_beats_is_no_rhythm(tmp_path):
    with pytest.raises(NoECGChannelsError, match="rhythm"):
        read(_write(tmp_path, _doc(series_code="REPRESENTATIVE_BEAT")))


def test_document_without_leads(tmp_path):
    with pytest.raises(NoECGChannelsError):
        read(_write(tmp_path, _doc(leads={})))


def test_other_xml_is_not_aecg(tmp_path):
    path = _write(tmp_path, "<CardiologyXML><waveforms/></CardiologyXML>")
    # GE CardioSoft is read by its own reader (tests/io/test_cardiosoft_xml.py), which
    # says what this one lacks rather than calling it an unknown format.
    with pytest.raises(NoECGChannelsError, match="GE CardioSoft file: neither <StripData>"):
        read(path)
    path = _write(tmp_path, "<SomeoneElsesECG><waveforms/></SomeoneElsesECG>")
    with pytest.raises(UnknownFormatError, match="SomeoneElsesECG.*not an XML ECG this program"):
        read(path)


def test_truncated_document(fixtures_dir, tmp_path):
    data = (fixtures_dir / "hl7aecg" / "hl7_example_mortara_eli250.xml").read_bytes()
    path = tmp_path / "cut.xml"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="malformed XML"):
        read(path)


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE AnnotatedECG [\n <!ENTITY a "aaaaaaaaaa">\n'
    + "".join(f' <!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">\n' for i in range(9))
    + ']>\n<AnnotatedECG xmlns="urn:hl7-org:v3"><id extension="&j;"/></AnnotatedECG>\n'
)


def test_billion_laughs_refused_fast(tmp_path):
    path = _write(tmp_path, BILLION_LAUGHS, "bomb.xml")
    t0 = time.perf_counter()
    with pytest.raises(CorruptFileError, match="unsafe XML"):
        read(path)
    assert time.perf_counter() - t0 < 2.0


def test_external_entity_refused_and_not_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-PATIENT-LIST")
    doc = (
        f'<?xml version="1.0"?>\n<!DOCTYPE AnnotatedECG [ <!ENTITY x SYSTEM "file://{secret}"> ]>\n'
        + _doc().replace('code="RHYTHM"/>', 'code="RHYTHM"/><title>&x;</title>')
    )
    with pytest.raises(CorruptFileError, match="unsafe XML") as info:
        read(_write(tmp_path, doc))
    assert "TOP-SECRET" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20021122091000", datetime(2002, 11, 22, 9, 10, 0)),
        ("20021122091000.122", datetime(2002, 11, 22, 9, 10, 0, 122000)),
        ("200211220737", datetime(2002, 11, 22, 7, 37)),
        ("19530508", datetime(1953, 5, 8)),
        ("20240102030405-0500", datetime(2024, 1, 2, 3, 4, 5)),
        ("2024-01-02", None),
        ("20241302", None),
        ("", None),
    ],
)
def test_hl7_timestamps(text, expected):
    assert parse_hl7_ts(text)[0] == expected


def test_every_failure_is_an_ecg_error(tmp_path):
    for text in ("<AnnotatedECG/>", "<AnnotatedECG><component/></AnnotatedECG>", "<<<", "\x00"):
        with pytest.raises(ECGError):
            read(_write(tmp_path, text, "x.xml"))


def test_utf16_document_is_sniffed_and_read(tmp_path):
    path = tmp_path / "export.dat"  # content decides, not the extension
    path.write_text('<?xml version="1.0" encoding="UTF-16"?>\n' + _doc(), encoding="utf-16")
    assert reader_for(path).name == "hl7_aecg"
    rec = read(path)
    assert rec.leads == ["II"] and rec.n_samples == 100


def _with_annotation(boundary: str) -> str:
    ann = (
        '<subjectOf><annotationSet><component><annotation><code code="MDC_ECG_WAVC"/>'
        '<value xsi:type="CE" code="MDC_ECG_WAVC_QRSWAVE"/><support><supportingROI '
        f'classCode="ROIBND"><component><boundary>{boundary}</boundary></component>'
        "</supportingROI></support></annotation></component></annotationSet></subjectOf>"
    )
    return _doc().replace("</series>", ann + "</series>")


@pytest.mark.parametrize(
    ("boundary", "onset", "duration"),
    [
        (
            '<code code="TIME_RELATIVE"/><value xsi:type="IVL_PQ"><low value="40" unit="ms"/>'
            '<high value="0.12" unit="s"/></value>',
            0.04,
            0.08,
        ),
        (
            '<code code="TIME_ABSOLUTE"/><value xsi:type="IVL_TS">'
            '<low value="20240102030405.600"/><high value="20240102030405.700"/></value>',
            0.1,
            0.1,
        ),
        ('<code code="TIME_RELATIVE"/><value xsi:type="PQ" value="150" unit="ms"/>', 0.15, 0.0),
    ],
)
def test_annotation_times_relative_to_series_start(tmp_path, boundary, onset, duration):
    rec = read(_write(tmp_path, _with_annotation(boundary)))
    (ann,) = rec.annotations
    assert ann.text == "MDC_ECG_WAVC_QRSWAVE"
    assert ann.onset == pytest.approx(onset) and ann.duration == pytest.approx(duration)


def test_annotation_far_outside_the_strip_is_dropped_with_a_note(tmp_path):
    boundary = (
        '<code code="TIME_ABSOLUTE"/><value xsi:type="IVL_TS"><low value="20250102030405"/></value>'
    )
    rec = read(_write(tmp_path, _with_annotation(boundary)))
    assert rec.annotations == []
    assert any("1 annotations outside" in note for note in rec.notes)


@pytest.mark.parametrize(
    ("subject_id", "expected"),
    [
        ('<id root="2.16.840.1.113883.3.400" extension="SBJ-9"/>', "SBJ-9"),
        ('<id root="2.16.840.1.113883.3.400"/>', None),  # an OID names the namespace only
        (
            '<id root="61d1a24f-b47e-41aa-ae95-f8ac302f4eeb"/>',
            "61d1a24f-b47e-41aa-ae95-f8ac302f4eeb",
        ),
    ],
)
def test_patient_id_from_trial_subject(tmp_path, subject_id, expected):
    subject = (
        "<componentOf><timepointEvent><componentOf><subjectAssignment><subject><trialSubject>"
        f"{subject_id}</trialSubject></subject></subjectAssignment></componentOf>"
        "</timepointEvent></componentOf>"
    )
    doc = _doc().replace("<component><series>", subject + "<component><series>", 1)
    assert read(_write(tmp_path, doc)).patient.id == expected


def test_patient_id_in_a_second_trial_subject(tmp_path):
    """A Contec 8000G export: demographics in one trialSubject, the id in a second."""
    subject = (
        "<componentOf><timepointEvent><componentOf><subjectAssignment>"
        '<subject><trialSubject><code code="ENROLLED"/><subjectDemographicPerson>'
        '<administrativeGenderCode code="F"/></subjectDemographicPerson></trialSubject></subject>'
        '<subject><trialSubject><id root="2.16.840.1.113883.3.456" extension="0000989"/>'
        "</trialSubject></subject></subjectAssignment></componentOf>"
        "</timepointEvent></componentOf>"
    )
    doc = _doc().replace("<component><series>", subject + "<component><series>", 1)
    patient = read(_write(tmp_path, doc)).patient
    assert patient.id == "0000989" and patient.sex == "F"


# ---------------------------------------------------------------------------- cart reading
def test_cart_global_measurements_and_statements(fixtures_dir):
    """Values as the files state them (global annotations, not those inside a beat)."""
    mortara = read(fixtures_dir / "hl7aecg" / "hl7_example_mortara_eli250.xml").cart
    assert mortara.measurements == {
        "p_duration": 102,
        "pr": 148,
        "qrs": 120,
        "qt": 420,
        "qtc": 443,
        "p_axis": 44,
        "qrs_axis": -61,
        "t_axis": 86,
    }
    assert mortara.median_fs == 500.0
    # Its rhythm annotation spans the whole strip (a time boundary): the cart's statement.
    assert mortara.statements == ("Sinus Rhythm",)
    philips = read(fixtures_dir / "hl7aecg" / "philips_ad4d3d80_converted.xml").cart
    assert philips.measurements["heart_rate"] == 41 and philips.measurements["qt"] == 564
    assert philips.statements == (
        "(SB) SINUS BRADYCARDIA, V-rate<60",
        "(NPTA) NO PREVIOUS TRACING AVAILABLE FOR COMPARISON",
    )
    # The Sierra original of the same ECG: the cart's numbers must agree across formats.
    sierra = read(fixtures_dir / "other" / "philips_sierra_1-04_ad4d3d80_orig.xml").cart
    for key in ("heart_rate", "rr", "pr", "qrs", "qt", "qtc"):
        assert philips.measurements[key] == sierra.measurements[key], key
    # Both hold a 1.2 s block per beat: 600 samples of the 500 Hz beat, then 32767 fill (82
    # mV once scaled), which is cut off; the beats agree across formats as the rhythms do.
    for cart in (philips, sierra):
        assert cart.median_beats.shape == (12, 600) and cart.median_fs == 500.0
        assert np.abs(cart.median_beats).max() < 5.0
    np.testing.assert_allclose(philips.median_beats, sierra.median_beats, atol=0.025)
    assert read(fixtures_dir / "hl7aecg" / "fda_minimum_aecg.xml").cart is None


def test_damaged_representative_beat_keeps_the_rhythm(fixtures_dir, tmp_path):
    text = (fixtures_dir / "hl7aecg" / "hl7_example_mortara_eli250.xml").read_text("utf-8")
    start = text.index("<derivedSeries>")
    digits = text.index("<digits>", start)
    text = text[: digits + 8] + "x" + text[digits + 8 :]
    path = tmp_path / "beat.xml"
    path.write_text(text, "utf-8")
    rec = read(path)
    assert rec.n_samples == 5000 and rec.cart.median_beats is None
    assert any("representative beats not read" in note for note in rec.notes)


# ---------------------------------------------------------------------------- size limits
def _oversized_xml(path, size):
    """A sparse file over the limit: a real aECG start, then a hole (no disk, no time)."""
    with open(path, "wb") as fh:
        fh.write(b'<?xml version="1.0"?><AnnotatedECG xmlns="urn:hl7-org:v3"><digits>')
        fh.truncate(size)
    return path


def test_oversized_xml_refused_before_parsing(tmp_path):
    from ecgviewer.errors import FileTooLargeError
    from ecgviewer.io._hl7 import MAX_XML_BYTES
    from tests.limited import read_limited

    path = _oversized_xml(tmp_path / "huge.xml", 360 << 20)  # the size that was killed
    assert path.stat().st_blocks * 512 < 1 << 20  # sparse
    out = read_limited(path)
    assert out["type"] == FileTooLargeError.__name__, out
    assert f"over the {MAX_XML_BYTES >> 20} MB limit" in out["message"]


def test_digits_parsed_in_blocks_give_the_same_samples(monkeypatch, tmp_path):
    """The block-wise <digits> conversion never splits a number and keeps every sample."""
    from ecgviewer.io import hl7_aecg

    values = np.arange(-500, 500) * 7
    text = (
        '<?xml version="1.0"?><AnnotatedECG xmlns="urn:hl7-org:v3" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><component><series>'
        '<code code="RHYTHM"/><component><sequenceSet><component><sequence>'
        '<code code="TIME_ABSOLUTE"/><value xsi:type="GLIST_TS"><head value="20240102030405"/>'
        '<increment value="0.002" unit="s"/></value></sequence></component><component>'
        '<sequence><code code="MDC_ECG_LEAD_II"/><value xsi:type="SLIST_PQ">'
        '<origin value="0" unit="uV"/><scale value="1" unit="uV"/><digits>'
        + "  ".join(str(v) for v in values)
        + "</digits></value></sequence></component></sequenceSet></component></series>"
        "</component></AnnotatedECG>"
    )
    (tmp_path / "a.xml").write_text(text)
    monkeypatch.setattr(hl7_aecg, "_DIGITS_BLOCK", 7)
    rec = read(tmp_path / "a.xml")
    np.testing.assert_allclose(np.asarray(rec.signal)[0], values / 1000.0, atol=1e-6)


def test_trailing_commas_of_a_statement_go_in_linear_time() -> None:
    from ecgviewer.io.hl7_aecg import _without_trailing_commas

    assert _without_trailing_commas("Sinus rhythm, , ,") == "Sinus rhythm"
    assert _without_trailing_commas("Sinus rhythm  ") == "Sinus rhythm  "  # no comma: kept
    text = "a" + ", " * 200_000 + "x"
    t0 = time.perf_counter()
    assert _without_trailing_commas(text) == text
    assert time.perf_counter() - t0 < 0.5


def test_another_xml_ecg_is_named_with_what_is_read(tmp_path):
    path = tmp_path / "schiller.xml"
    path.write_bytes(b'<?xml version="1.0"?>\n<com.xiriuz.sema.xml.schillerEDI.SchillerEDI/>\n')
    with pytest.raises(UnknownFormatError, match=r"Schiller SEMA XML.*HL7 aECG, GE MUSE, Philips"):
        read(path)


def _control_variable(code: str, value: str, unit: str, system: str = "2.16.840.1.113883.6.1"):
    return (
        f'<controlVariable><relatedObservation><code code="{code}" codeSystem="{system}"/>'
        f'<value xsi:type="PQ" value="{value}" unit="{unit}"/></relatedObservation>'
        "</controlVariable>"
    )


def test_cart_measurements_given_as_loinc_control_variables(tmp_path):
    """A clinical export (2021) states the cart's numbers as LOINC-coded control variables
    beside the reported age, not as annotations: they are the cart's reading too."""
    controls = "".join(
        [
            _control_variable("21612-7", "75", "a"),  # the reported age: not a measurement
            _control_variable("11328-2", "59", "bpm"),
            _control_variable("8625-6", "174", "ms"),
            _control_variable("8633-0", "0.100", "s"),
            _control_variable("8634-8", "390", "ms"),
            _control_variable("8636-3", "389", "ms"),
            _control_variable("8632-2", "21", "deg"),
            _control_variable("8638-9", "-42", "deg"),
            _control_variable("8626-4", "0", "deg"),  # 0: "not measured"
            _control_variable("8867-4", "61", "bpm", system="2.16.840.1.113883.6.96"),  # no LOINC
        ]
    )
    text = _doc().replace("<component><series>", controls + "<component><series>", 1)
    rec = read(_write(tmp_path, text))
    assert rec.patient.age == 75
    assert rec.cart is not None and rec.cart.source == "HL7 aECG"
    assert rec.cart.measurements == {
        "heart_rate": 59,
        "pr": 174,
        "qrs": 100,
        "qt": 390,
        "qtc": 389,
        "qrs_axis": 21,
        "t_axis": -42,
    }
