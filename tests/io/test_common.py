"""ecgviewer.io._common: the helpers every reader shares."""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer.io._common import trim_trailing_fill


def _beats(n: int = 600) -> np.ndarray:
    t = np.arange(n)
    return np.stack([np.sin(t / (7 + k)) * (k + 1) for k in range(12)]).round(3)


def test_fill_after_the_beat_is_cut():
    beats = _beats()
    filled = np.concatenate([beats, np.full((12, 600), 32767.0)], axis=1)
    np.testing.assert_array_equal(trim_trailing_fill(filled), beats)
    # Fill of each lead's own last value (a writer padding with the edge) too.
    edge = np.concatenate([beats, np.repeat(beats[:, -1:], 100, axis=1)], axis=1)
    assert trim_trailing_fill(edge).shape == (12, 599)  # the last real sample equals it


def test_a_short_flat_end_or_one_flat_lead_is_kept():
    beats = _beats()
    short = np.concatenate([beats, np.full((12, 10), 32767.0)], axis=1)
    assert trim_trailing_fill(short).shape == (12, 610)  # under 20 samples: not fill
    one_lead = np.concatenate([beats, np.full((12, 300), 32767.0)], axis=1)
    one_lead[3, 600:] = np.arange(300)  # one lead still varies: a recorded signal
    assert trim_trailing_fill(one_lead).shape == (12, 900)
    flat = np.zeros((12, 600))
    assert trim_trailing_fill(flat).shape == (12, 600)  # nothing varies: left as is


def test_an_error_message_is_one_bounded_printable_line() -> None:
    """Readers quote values from damaged files: binary, newlines, megabytes."""
    from ecgviewer.errors import CorruptFileError, brief

    exc = CorruptFileError("/d/bad\udcffname.dcm", "lead 'x\x00\ny' " + "z" * 100_000 + " is bad")
    text = str(exc)
    assert text.isprintable() and len(text) < 600
    assert text.startswith("/d/bad\\xffname.dcm: lead 'x\\x00\\ny' zzz")
    assert text.endswith("zzz is bad")  # the end of the sentence is kept
    assert exc.path == "/d/bad\udcffname.dcm"  # the path itself is untouched
    assert brief("a" * 300, 10) == "a" * 9 + "\u2026" and brief(b"\x01") == "b'\\x01'"


def test_person_name_joins_family_and_given_and_drops_placeholders():
    from ecgviewer.io._common import person_name

    assert person_name(" DOE ", "JOHN", None) == "DOE, JOHN"
    assert person_name("Müller", "Zoë", "Ann") == "Müller, Zoë Ann"
    assert person_name("", "Ann") == "Ann"
    assert person_name("X-Ray") == "X-Ray"  # a name that starts with an x is a name
    assert person_name("xxxxxx", "xxxxxx") is None  # an anonymised Philips export
    assert person_name("---") is None and person_name("Unknown") is None
    assert person_name(None) is None
    assert person_name("a\x00b\nc") == "a b c"  # control characters never reach a header


def test_birth_date_after_the_recording_is_not_one():
    from datetime import date, datetime

    from ecgviewer.io._common import birth_date

    start = datetime(2020, 5, 1, 10, 0)
    assert birth_date(date(1950, 1, 1), start) == date(1950, 1, 1)
    assert birth_date(date(2021, 1, 1), start) is None
    assert birth_date(date(1700, 1, 1), start) is None
    assert birth_date(None, start) is None


@pytest.mark.parametrize(
    ("fixture", "name", "born"),
    [
        ("cart/ge_muse/intro_ecg_MUSE_20200923_example.xml", "MUSE, TESTONE", "1980-06-10"),
        ("cart/dicom/ecgtoolkit_Example.dcm", "Clark", "1953-05-08"),
        ("other/ecgsoft_demo.scp", "Patient, Demo", "1957-06-24"),
        ("hl7aecg/hl7_example_mortara_eli250.xml", "Clark", "1953-05-08"),
        # Philips writes "xxxxxx" where it anonymised the name; the birth date stays
        ("cart/philips_sierra/pysierraecg_1-04-01_2020-5-18.xml", None, "1951-01-01"),
    ],
)
def test_real_cart_files_give_the_patients_name_and_birth_date(fixture, name, born):
    from datetime import date

    from ecgviewer import io as ecg_io

    from ..conftest import FIXTURES

    path = FIXTURES / fixture
    if not path.is_file():
        pytest.skip(f"fixture {path} not found")
    patient = ecg_io.read(path).patient
    assert patient.name == name
    assert patient.birth_date == date.fromisoformat(born)


def test_a_name_of_many_parts_is_cut():
    """An aECG with 100,000 <given> parts made a name of 200,000 characters."""
    from ecgviewer.io._common import MAX_NAME_CHARS, person_name

    name = person_name("F", *["G"] * 100_000)
    assert name is not None and len(name) <= MAX_NAME_CHARS


def test_a_year_only_hl7_birth_time_is_no_date_of_birth(tmp_path):
    """birthTime "1990" read as 1990-01-01, which could raise a false "different dates of
    birth" against another file's exact date."""
    from ecgviewer import io as ecg_io

    from ..conftest import FIXTURES

    src = FIXTURES / "hl7aecg/hl7_example_mortara_eli250.xml"
    if not src.is_file():
        pytest.skip(f"fixture {src} not found")
    text = src.read_text(encoding="utf-8")
    assert '<birthTime value="19530508"/>' in text
    path = tmp_path / "year_only.xml"
    path.write_text(text.replace('<birthTime value="19530508"/>', '<birthTime value="1953"/>'))
    assert ecg_io.read(path).patient.birth_date is None
