"""Philips Sierra XML reader: every real fixture against the sierraecg package (the test
reference, 0.01 mV), the cart's reading, UTF-16, the XLI decoder's bounds and damaged files."""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest

from ecgviewer.errors import CorruptFileError, ECGError
from ecgviewer.io import read, reader_for
from ecgviewer.io._xli import XliError, decode_xli
from ecgviewer.record import STANDARD_LEADS, Record

SIERRA_FILES = [
    "cart/philips_sierra/pysierraecg_1-03_repbeats_example.xml",
    "cart/philips_sierra/pysierraecg_1-04-01_2020-5-18.xml",
    "other/philips_sierra_1-03_129DYPRG.xml",
    "other/philips_sierra_1-04_ad4d3d80_orig.xml",
]


@pytest.mark.parametrize("rel", SIERRA_FILES)
def test_rhythm_matches_sierraecg_reference(fixtures_dir, rel):
    sierraecg = pytest.importorskip("sierraecg")
    path = fixtures_dir / rel
    rec = read(path)
    ref = sierraecg.read_file(str(path))
    assert reader_for(path).name == "sierra_xml"
    assert rec.format == "sierra_xml"
    assert rec.leads == list(STANDARD_LEADS)
    assert rec.fs == 500.0 and rec.n_samples == 5500  # 11 s, from the fixtures README
    assert rec.derived_leads == ()  # all twelve are recorded (III..aVF rebuilt, not derived)
    for row, lead in enumerate(ref.leads):
        assert lead.label == rec.leads[row]
        reference_mv = lead.samples.astype(np.float64) * 5.0 / 1000  # 5 uV per unit
        assert np.abs(rec.signal[row] - reference_mv).max() <= 0.01
    # Limb-lead algebra holds on the rebuilt leads (within the cart's integer rounding) up
    # to the calibration pulse, which the cart writes into every lead alike.
    pulse = next(a for a in rec.annotations if a.text.startswith("calibration pulse"))
    assert 10.0 < pulse.onset < 11.0 and pulse.duration == pytest.approx(0.2)
    end = int(pulse.onset * rec.fs)
    i, ii, iii = (rec.signal[rec.leads.index(x), :end] for x in ("I", "II", "III"))
    assert np.abs(iii - (ii - i)).max() <= 0.011


def test_utf16_file_is_sniffed_and_read(fixtures_dir):
    path = fixtures_dir / "cart/philips_sierra/pysierraecg_1-04-01_2020-5-18.xml"
    assert path.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    rec = read(path)
    assert rec.start is not None and rec.start.isoformat() == "2020-05-18T15:48:11"
    assert "PageWriter TC" in (rec.device or "")


def test_cart_reading_104(fixtures_dir):
    rec = read(fixtures_dir / "other/philips_sierra_1-04_ad4d3d80_orig.xml")
    cart = rec.cart
    assert cart is not None
    # Values as printed in the file's <globalmeasurements>.
    assert cart.measurements["heart_rate"] == 41
    assert cart.measurements["pr"] == 144
    assert cart.measurements["qrs"] == 102
    assert cart.measurements["qt"] == 564
    assert cart.measurements["qtc"] == 466
    assert cart.measurements["qrs_axis"] == 85
    assert cart.statements[0] == "SINUS BRADYCARDIA (V-rate<60)"
    assert cart.statements[-1] == "- OTHERWISE NORMAL ECG -"
    assert rec.patient.sex == "F" and rec.patient.age == 32  # born 1976-01-01, ECG 2008-12-23
    # Representative beats: 12 leads at 500 Hz, 2.5 uV units.
    # 600 samples of the 500 Hz beat; the 32767 fill of its 1.2 s block is cut off.
    assert cart.median_beats is not None and cart.median_beats.shape == (12, 600)
    assert np.abs(cart.median_beats).max() < 5.0
    assert cart.median_fs == 500.0
    assert cart.median_leads == tuple(STANDARD_LEADS)


def test_cart_reading_103_and_median_beats_match_sierraecg(fixtures_dir):
    sierraecg = pytest.importorskip("sierraecg")
    path = fixtures_dir / "cart/philips_sierra/pysierraecg_1-03_repbeats_example.xml"
    rec = read(path)
    cart = rec.cart
    assert cart.measurements["heart_rate"] == 41
    assert cart.measurements["qrs"] == 135
    assert cart.measurements["qtc"] == 393
    assert "Sinus bradycardia (rate< 50)" in cart.statements
    assert cart.median_fs == 1000.0
    ref = sierraecg.read_file(str(path), include_repbeats=True).repbeats
    for row, name in enumerate(cart.median_leads):
        expected = ref[name].samples.astype(np.float64) * ref[name].resolution / 1000
        assert np.abs(cart.median_beats[row] - expected[: cart.median_beats.shape[1]]).max() < 1e-6


def test_sierra_and_its_hl7_conversion_agree(fixtures_dir):
    """The same ECG exported by Philips as HL7 aECG: an independent check of the decoder.

    The export is not bit-exact (Philips' converter re-rounds: up to 4 units of 5 uV, 2 uV on
    average); a decoding error would differ by far more.
    """
    sierra = read(fixtures_dir / "other/philips_sierra_1-04_ad4d3d80_orig.xml")
    aecg = read(fixtures_dir / "hl7aecg/philips_ad4d3d80_converted.xml")
    assert aecg.n_samples == sierra.n_samples
    for name in STANDARD_LEADS:
        a = aecg.signal[aecg.leads.index(name)]
        s = sierra.signal[sierra.leads.index(name)]
        assert np.abs(a - s).max() <= 0.025, name
        assert np.abs(a - s).mean() <= 0.005, name


# ---------------------------------------------------------------------------- damage
def _text(fixtures_dir) -> str:
    return (fixtures_dir / "other/philips_sierra_1-03_129DYPRG.xml").read_text("utf-8")


def test_damaged_base64_is_a_one_line_error(fixtures_dir, tmp_path):
    text = _text(fixtures_dir).replace("<parsedwaveforms ", "<parsedwaveforms x='1' ", 1)
    text = re.sub(r"(<parsedwaveforms[^>]*>)(\S{10})", r"\1!!!!\2", text)
    path = tmp_path / "bad.xml"
    path.write_text(text, "utf-8")
    with pytest.raises(CorruptFileError) as info:
        read(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("duration", ["9e12", "1e308"])
def test_absurd_duration_is_refused_before_decoding(fixtures_dir, tmp_path, duration):
    text = _text(fixtures_dir).replace(
        'durationperchannel="11000"', f'durationperchannel="{duration}"'
    )
    text = text.replace("<samplingrate>500<", "<samplingrate>1e308<")
    path = tmp_path / "long.xml"
    path.write_text(text, "utf-8")
    with pytest.raises(CorruptFileError, match="plausible"):
        read(path)


def test_truncated_waveform_names_the_missing_leads(fixtures_dir, tmp_path):
    text = _text(fixtures_dir)
    match = re.search(r"(<parsedwaveforms[^>]*>)([^<]*)<", text)
    data = base64.b64decode("".join(match.group(2).split()))
    short = base64.b64encode(data[: len(data) // 3]).decode()
    path = tmp_path / "short.xml"
    path.write_text(text[: match.start(2)] + short + text[match.end(2) :], "utf-8")
    with pytest.raises(CorruptFileError, match="leads|samples|past"):
        read(path)


def test_lzw_code_naming_no_string_is_an_error():
    # Header: size 4, code 0, first difference 0; then codes 300, ... (MSB first).
    chunk = bytes([0b01001011, 0b00000000, 0, 0])
    data = (4).to_bytes(4, "little") + b"\x00\x00\x00\x00" + chunk
    with pytest.raises(XliError, match="names no string"):
        decode_xli(data, 1, 2)


def test_lzw_expansion_is_bounded_by_the_expected_length():
    # A run of codes each naming the newest (longest) string: output grows quadratically,
    # decoding must stop at the lead's length instead of allocating without bound.
    codes = [65] + list(range(256, 256 + 700))
    bits = "".join(f"{c:010b}" for c in codes)
    bits += "0" * (-len(bits) % 8)
    chunk = int(bits, 2).to_bytes(len(bits) // 8, "big")
    data = len(chunk).to_bytes(4, "little") + b"\x00" * 4 + chunk
    with pytest.raises(XliError, match="expands past"):
        decode_xli(data, 1, 1000)


def test_not_sierra_xml_gets_a_clear_error(tmp_path):
    path = tmp_path / "x.xml"
    path.write_text("<restingecgdata><documentinfo/></restingecgdata>", "utf-8")
    with pytest.raises(ECGError, match="parsedwaveforms"):
        read(path)


def test_plain_decompressed_export_reads_like_the_original(fixtures_dir, tmp_path):
    """Tools that decompress Sierra files write the samples as decimal text ("Plain") with
    compressflag="False" and the limb leads already rebuilt: same ECG, no second rebuild."""
    original = fixtures_dir / "other/philips_sierra_1-03_129DYPRG.xml"
    rec = read(original)
    ints = np.round(rec.signal / 0.005).astype(np.int64)
    plain = "\n".join(" ".join(str(v) for v in row) for row in ints)
    text = original.read_text("utf-8")
    text = re.sub(
        r"<parsedwaveforms [^>]*>[^<]*<",
        '<parsedwaveforms compressflag="False" compressmethod="XLI" dataencoding="Plain"'
        f' durationperchannel="11000">{plain}<',
        text,
    )
    path = tmp_path / "plain.xml"
    path.write_text(text, "utf-8")
    again = read(path)
    assert np.array_equal(again.signal, rec.signal)
    assert again.cart.statements == rec.cart.statements


def test_plain_waveform_with_text_is_an_error(fixtures_dir, tmp_path):
    text = (fixtures_dir / "other/philips_sierra_1-03_129DYPRG.xml").read_text("utf-8")
    text = re.sub(
        r"<parsedwaveforms [^>]*>[^<]*<",
        '<parsedwaveforms dataencoding="Plain" durationperchannel="11000">1 2 x<',
        text,
    )
    path = tmp_path / "bad_plain.xml"
    path.write_text(text, "utf-8")
    with pytest.raises(CorruptFileError, match="not an integer"):
        read(path)


def test_utf16_declared_but_stored_as_utf8(fixtures_dir, tmp_path):
    """A UTF-16 export saved again as UTF-8 keeps its declaration: seen in real Philips
    files. Read as what it is; a file really in UTF-16 still reads as before."""
    text = _text(fixtures_dir)
    assert text.startswith("<?xml") and 'encoding="utf-8"' in text[:100].lower()
    start = text.index("?>")
    declared = '<?xml version="1.0" encoding="utf-16"' + text[start:]
    narrow = tmp_path / "narrow.xml"
    narrow.write_bytes(declared.encode("utf-8"))
    wide = tmp_path / "wide.xml"
    wide.write_bytes(declared.encode("utf-16"))
    reference = read(fixtures_dir / "other/philips_sierra_1-03_129DYPRG.xml")
    for path in (narrow, wide):
        np.testing.assert_array_equal(read(path).signal, reference.signal)
    broken = tmp_path / "broken.xml"  # a real encoding error is still one clear line
    broken.write_bytes(declared.encode("utf-8")[:-200] + b"\xff\xfe<")
    with pytest.raises(ECGError, match="broken.xml"):
        read(broken)


def test_what_the_cart_reading_skips_reaches_the_notes(fixtures_dir, tmp_path):
    """Representative beats without their rate and resolution (a real 1.03 export writes
    none) are skipped and said so, and a 0 the cart writes for a value it did not measure
    (a "defective ECG" 1.04.01 export) is not shown as a measurement."""
    path = fixtures_dir / "cart/philips_sierra/pysierraecg_1-03_repbeats_example.xml"
    text = path.read_text("utf-8")
    text = text.replace(' samplespersec="1000" resolution="1.0"', "", 1)
    text = re.sub(r"<atrialrate>41", "<atrialrate>0", text, count=2)
    damaged = tmp_path / "no_beat_rate.xml"
    damaged.write_text(text, "utf-8")
    rec = read(damaged)
    assert rec.cart is not None and rec.cart.median_beats is None
    assert "representative beats skipped: rate or resolution missing" in rec.notes
    assert "atrial_rate" not in rec.cart.measurements
    assert "the cart's atrial rate 0 is not plausible: not shown" in rec.notes
    assert rec.cart.measurements["heart_rate"] == 41


def _trim_like(fixtures_dir, tmp_path) -> tuple[np.ndarray, Record]:
    """The 1.04 fixture with each representative beat's 1.2 s of fill written the way a
    PageWriter Trim writes it (4095 at every second sample, small values between), and its
    P duration and P axis as a cart without a P wave writes them (0 and 0)."""
    path = fixtures_dir / "other/philips_sierra_1-04_ad4d3d80_orig.xml"
    text = path.read_text("utf-16")
    firsts = []

    def trim_fill(match: re.Match[str]) -> str:
        samples = np.frombuffer(base64.b64decode("".join(match.group(2).split())), "<i2").copy()
        firsts.append(samples[:600].copy())
        samples[600::2] = np.arange(samples[600::2].size) % 7 - 150
        samples[601::2] = 4095
        return match.group(1) + base64.b64encode(samples.astype("<i2").tobytes()).decode() + "<"

    text, n = re.subn(r'(<waveform duration="2400">)([^<]*)<', trim_fill, text)
    assert n == 12
    text = text.replace('<pdur editedflag="False">508', '<pdur editedflag="False">0', 1)
    text = text.replace('<pfrontaxis editedflag="False">19', '<pfrontaxis editedflag="False">0', 1)
    out = tmp_path / "trim.xml"
    out.write_text(text, "utf-16")
    return np.stack(firsts), read(out)


def test_trim_fill_after_the_representative_beat_is_cut(fixtures_dir, tmp_path):
    """A PageWriter Trim fills its representative beats' blocks after 1.2 s with codes that
    differ sample to sample (4095, 12287, ... between small values): kept, they read as
    30-140 mV beats. Only the block's first 1.2 s is the beat."""
    firsts, rec = _trim_like(fixtures_dir, tmp_path)
    beats = rec.cart.median_beats
    assert beats.shape == (12, 600)
    assert np.abs(beats).max() < 5.0
    assert np.allclose(beats, firsts * 2.5 / 1000, atol=1e-6)


def test_a_p_axis_of_0_without_a_p_duration_is_not_shown(fixtures_dir, tmp_path):
    """A cart that finds no P wave writes 0 for its duration and its axis: neither is a
    measurement (the duration's note says so; the axis goes with it)."""
    _, rec = _trim_like(fixtures_dir, tmp_path)
    assert "p_duration" not in rec.cart.measurements
    assert "p_axis" not in rec.cart.measurements
    assert rec.cart.measurements["qrs_axis"] == 85
