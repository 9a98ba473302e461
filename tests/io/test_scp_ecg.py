"""SCP-ECG reader: the three real fixtures against independent references (ecgdatakit, the
same ECG as HL7 aECG, a plain int16 decode), and files made by the test encoder for what the
fixtures do not exercise: custom Huffman tables, table switches, first differences,
reference-beat subtraction, bimodal decimation, section 7/8, 8-lead files, damage."""

from __future__ import annotations

import binascii
import struct

import numpy as np
import pytest

from ecgviewer.errors import CorruptFileError, ECGError, UnknownFormatError
from ecgviewer.io import read, reader_for
from ecgviewer.io._scp_huffman import decode, parse_tables
from ecgviewer.io.writers import write
from ecgviewer.record import STANDARD_LEADS

from ._scp_writer import HCode, ScpSpec, assemble, build_scp, tag

EIGHT = ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"]


def _plain_int16_rhythm(path) -> tuple[int, np.ndarray]:
    """Independent decode of an uncompressed file: section 6 as int16 x AVM (no Huffman)."""
    data = path.read_bytes()
    pointers = {}
    for pos in range(22, 142, 10):
        sid, length, index = struct.unpack_from("<HII", data, pos)
        if length:
            pointers[sid] = index - 1
    s3 = pointers[3] + 16
    n_leads = data[s3]
    s6 = pointers[6] + 16
    avm = struct.unpack_from("<H", data, s6)[0]
    sizes = struct.unpack_from(f"<{n_leads}H", data, s6 + 6)
    pos = s6 + 6 + 2 * n_leads
    rows = []
    for size in sizes:
        rows.append(np.frombuffer(data[pos : pos + size], dtype="<i2").astype(float) * avm / 1e6)
        pos += size
    return avm, np.stack(rows)


# ---------------------------------------------------------------------------- real files
def test_ecgtoolkit_example_matches_ecgdatakit_and_the_same_ecg_as_hl7(fixtures_dir):
    ecgdatakit = pytest.importorskip("ecgdatakit")
    path = fixtures_dir / "other/ecgtoolkit_Example.scp"
    rec = read(path)
    assert reader_for(path).name == "scp_ecg"
    assert rec.fs == 500.0 and rec.n_samples == 5000  # README: 500 Hz, 10 s
    assert sorted(rec.leads) == sorted(STANDARD_LEADS) and rec.derived_leads == ()
    ref = ecgdatakit.FileParser.parse(str(path))
    for lead in ref.leads:
        assert lead.units == "mV"
        assert np.abs(rec.signal[rec.leads.index(lead.label)] - lead.samples).max() <= 0.01
    # The Mortara HL7 sample is the same recording: another, format-independent reference.
    hl7 = read(fixtures_dir / "hl7aecg/hl7_example_mortara_eli250.xml")
    for name in STANDARD_LEADS:
        diff = rec.signal[rec.leads.index(name)] - hl7.signal[hl7.leads.index(name)]
        assert np.abs(diff).max() <= 0.01, name
    assert rec.patient.id == "SBJ-123" and rec.patient.sex == "M"
    assert rec.start is not None and rec.start.isoformat() == "2002-11-22T09:10:00"
    assert "ELI250" in (rec.device or "")


def test_ecgtoolkit_example_cart_reading(fixtures_dir):
    cart = read(fixtures_dir / "other/ecgtoolkit_Example.scp").cart
    assert cart is not None
    # Section 7, reference beat 0: P 286-388, QRS 434-554, T end 854 ms; axes 44/-61/86; QTc
    # 443 (the same values the HL7 version of this ECG carries).
    assert cart.measurements["pr"] == 148
    assert cart.measurements["qrs"] == 120
    assert cart.measurements["qt"] == 420
    assert cart.measurements["p_duration"] == 102
    assert cart.measurements["qrs_axis"] == -61
    assert cart.measurements["qtc"] == 443
    assert cart.median_beats is not None and cart.median_beats.shape == (12, 599)
    assert cart.median_fs == 500.0


def test_ecgsoft_demo_8_leads_derived(fixtures_dir):
    path = fixtures_dir / "other/ecgsoft_demo.scp"
    rec = read(path)
    assert rec.fs == 1000.0 and rec.n_samples == 10000
    assert rec.leads[:8] == EIGHT
    assert rec.derived_leads == ("III", "aVR", "aVL", "aVF")
    avm, plain = _plain_int16_rhythm(path)
    assert avm == 183  # README: AVM 183 nV
    assert np.abs(rec.signal[:8] - plain[:, : rec.n_samples]).max() <= 1e-6
    i, ii = rec.signal[0], rec.signal[1]
    assert np.allclose(rec.signal[rec.leads.index("III")], ii - i, atol=1e-6)
    assert rec.patient.id == "12-678-QW" and rec.patient.sex == "M"


def test_contec_short_written_file_reads_what_is_there(fixtures_dir):
    path = fixtures_dir / "other/contec_ecg90a_0000050.scp"
    rec = read(path)
    assert rec.fs == 800.0
    # Its writer caps each lead at 65534 bytes (uint16 length): 32767 of 37855 samples.
    assert rec.n_samples == 32767
    assert any("32767 of the 37855" in note for note in rec.notes)
    _, plain = _plain_int16_rhythm(path)
    assert np.abs(rec.signal - plain).max() <= 1e-6
    # The same recording as EDF, written by the same tool with another gain (x6.1): the shape
    # must agree sample for sample.
    edf = read(fixtures_dir / "edf/contec_ecg90a_0000050.edf")
    a = rec.signal[0].astype(np.float64)
    b = edf.data()[edf.leads.index("I"), : rec.n_samples].astype(np.float64)
    assert np.corrcoef(a, b)[0, 1] > 0.999


# ---------------------------------------------------------------------------- encoder-made
def _signal(n_leads: int, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    base = [np.round(200 * np.sin(2 * np.pi * t / (150 + 20 * k)) + 40 * k) for k in range(n_leads)]
    return (np.stack(base) + rng.integers(-3, 4, (n_leads, n))).astype(np.int64)


def _write(tmp_path, spec: ScpSpec, name: str = "x.scp"):
    path = tmp_path / name
    path.write_bytes(build_scp(spec))
    return path


@pytest.mark.parametrize("huffman", ["none", "default"])
@pytest.mark.parametrize("difference", [0, 1, 2])
def test_encodings_round_trip(tmp_path, huffman, difference):
    x = _signal(3, 700)
    spec = ScpSpec(
        leads=dict(zip(["I", "II", "V1"], x, strict=True)),
        huffman=huffman,
        difference=difference,
        avm=2500,
    )
    rec = read(_write(tmp_path, spec))
    assert rec.leads[:3] == ["I", "II", "V1"]
    assert np.array_equal(np.round(rec.signal[:3] / 0.0025).astype(np.int64), x)


def test_custom_huffman_tables_with_a_switch(tmp_path):
    table1 = [
        HCode(1, 1, 1, 0, "0"),
        HCode(2, 2, 1, 1, "10"),
        HCode(3, 3, 1, -1, "110"),
        HCode(4, 4, 0, 2, "1110"),
        HCode(4, 20, 1, 0, "1111"),
    ]
    table2 = [HCode(2, 2, 1, 0, "00"), HCode(2, 2, 0, 1, "01"), HCode(1, 17, 1, 0, "1")]
    x = _signal(2, 500, seed=3)
    spec = ScpSpec(
        leads={"I": x[0], "II": x[1]},
        huffman="custom",
        custom_tables=[table1, table2],
        switch_at=250,
        difference=2,
    )
    rec = read(_write(tmp_path, spec))
    assert np.array_equal(np.round(rec.signal[:2] / 0.005).astype(np.int64), x)


def test_reference_beat_subtraction_is_undone(tmp_path):
    n, fid = 2000, 60
    x = _signal(2, n, seed=5)
    beat = _signal(2, 150, seed=6)
    qrs = [(0, 300, 340, 420), (1, 800, 840, 900), (0, 1300, 1340, 1420)]
    spec = ScpSpec(
        leads={"I": x[0], "II": x[1]}, huffman="default", reference=beat, ref_fiducial=fid, qrs=qrs
    )
    rec = read(_write(tmp_path, spec))
    assert np.array_equal(np.round(rec.signal[:2] / 0.005).astype(np.int64), x)
    assert rec.cart is not None and rec.cart.median_beats.shape == (2, 150)
    assert np.allclose(rec.cart.median_beats, beat * 0.005, atol=1e-6)


def test_bimodal_decimation_is_reconstructed(tmp_path):
    n = 3000
    t = np.arange(n)
    smooth = np.round(300 * np.sin(2 * np.pi * t / 500)).astype(np.int64)
    qrs = [(0, 700, 740, 820), (0, 1700, 1740, 1820)]
    protected = [(690, 830), (1690, 1830)]
    beat = np.zeros((1, 150), dtype=np.int64)
    spec = ScpSpec(
        leads={"II": smooth},
        huffman="default",
        reference=beat,
        ref_fiducial=40,
        qrs=qrs,
        protected=protected,
        bimodal_rate=4,
        interval_us=2000,
    )
    rec = read(_write(tmp_path, spec))
    assert rec.fs == 500.0  # the full rate (section 5), not the decimated 125 Hz
    assert rec.n_samples >= n - 4
    got = np.round(rec.signal[0] / 0.005)
    for a, b in protected:  # protected zones are stored sample for sample
        assert np.array_equal(got[a - 1 : b], smooth[a - 1 : b])
    # Elsewhere: linear interpolation between group means of a slow sine.
    m = rec.n_samples
    assert np.abs(got[: m - 4] - smooth[: m - 4]).max() <= 6  # 6 units = 0.03 mV


def test_bimodal_decimation_does_not_blend_residuals_with_raw_samples(tmp_path):
    """Subtraction zones wider than the protected zones: the decimated values inside them are
    residuals, those outside raw samples. Interpolating across a zone's edge and then adding
    the reference beat back put a spike of about half the beat's level there (a bimodal SCP
    export read 0.6 and 0.8 mV for 0.50 mV); and a complete lead keeps its last samples."""
    n = 3000
    t = np.arange(n)
    smooth = np.round(200 * np.sin(2 * np.pi * t / 500)).astype(np.int64)
    # Zones of the beat's 230 samples (fiducial 88) around protected zones inside them: the
    # first zone's edges fall between the decimated groups (4 samples from each stretch
    # start), the second zone's cut a group (1651-1654), whose mean mixes both kinds.
    qrs = [(0, 653, 740, 882), (0, 1653, 1740, 1882)]
    protected = [(700, 790), (1700, 1790)]
    beat = np.full((1, 230), 200, dtype=np.int64)  # a level the residuals step down by
    spec = ScpSpec(
        leads={"II": smooth},
        huffman="default",
        reference=beat,
        ref_fiducial=88,
        qrs=qrs,
        protected=protected,
        bimodal_rate=4,
        interval_us=2000,
    )
    rec = read(_write(tmp_path, spec))
    assert rec.n_samples == n and not any("short" in note for note in rec.notes)
    error = np.abs(np.round(rec.signal[0] / 0.005) - smooth)
    assert error[:1500].max() <= 6  # 6 units = 0.03 mV; across an edge it was ~100
    assert error.max() <= 12  # around the cut group: its neighbours' values held


def test_section7_and_8_fill_the_cart(tmp_path):
    x = _signal(2, 600)
    s7 = struct.pack("<BBHH", 1, 0, 800, 29999) + struct.pack(
        "<HHHHHhhh", 100, 200, 260, 350, 650, 50, 30, 40
    )
    s7 += struct.pack("<H", 0) + struct.pack("<HHHB", 75, 75, 430, 0)
    text = b"Sinus rhythm\x00"
    s8 = struct.pack("<BHBBBBBB", 0, 2024, 1, 2, 3, 4, 5, 1) + struct.pack("<BH", 1, len(text))
    s8 += text
    spec = ScpSpec(leads={"I": x[0], "II": x[1]}, section7=s7, section8=s8)
    cart = read(_write(tmp_path, spec)).cart
    assert cart.measurements["pr"] == 160 and cart.measurements["qrs"] == 90
    assert cart.measurements["qt"] == 390 and cart.measurements["p_duration"] == 100
    assert cart.measurements["heart_rate"] == 75 and cart.measurements["qtc"] == 430
    assert cart.measurements["rr"] == 800 and cart.measurements["t_axis"] == 40
    assert cart.statements == ("Sinus rhythm",)


def test_patient_tags(tmp_path):
    x = _signal(2, 600)
    s1 = (
        tag(2, b"P-77\x00")
        + tag(4, struct.pack("<HB", 18, 2))
        + tag(8, b"\x02")
        + tag(25, struct.pack("<HBB", 2023, 4, 5))
        + tag(26, bytes([6, 7, 8]))
        + tag(255, b"")
    )
    rec = read(_write(tmp_path, ScpSpec(leads={"I": x[0], "II": x[1]}, section1=s1)))
    assert rec.patient.id == "P-77" and rec.patient.sex == "F" and rec.patient.age == 1.5
    assert rec.start.isoformat() == "2023-04-05T06:07:08"


# ---------------------------------------------------------------------------- damage
def test_huffman_bits_matching_no_code_is_an_error():
    tables = parse_tables(
        struct.pack("<H", 1) + struct.pack("<H", 1) + struct.pack("<BBBhI", 2, 2, 1, 5, 0b11)
    )  # only code "11"
    with pytest.raises(ValueError, match="no Huffman code"):
        decode(b"\x00", 4, tables)


def test_huffman_decoding_is_bounded():
    # Zero bits decode as value 0 (one bit each): a lead asking for 10 values gets 10, not 8
    # x 1000, and a stream that runs out yields fewer, never a loop.
    default = parse_tables(struct.pack("<H", 19999))
    assert decode(bytes(1000), 10, default).size == 10
    assert decode(b"\xff\xff", 100, default).size < 100


def test_switch_loop_of_tables_ends_with_the_bits():
    table1 = [HCode(1, 1, 0, 2, "0"), HCode(1, 1, 1, 7, "1")]
    table2 = [HCode(1, 1, 0, 1, "0"), HCode(1, 1, 1, 9, "1")]
    from ._scp_writer import section2

    tables = parse_tables(section2([table1, table2]))
    assert decode(bytes(4096), 1_000_000, tables).size == 0  # only switches: no value, no hang


@pytest.mark.parametrize("cut", [10, 100, 150, 400])
def test_truncated_files_give_one_line_errors_or_a_note(tmp_path, fixtures_dir, cut):
    data = (fixtures_dir / "other/ecgtoolkit_Example.scp").read_bytes()
    path = tmp_path / "cut.scp"
    path.write_bytes(data[:cut])
    with pytest.raises(ECGError) as info:
        read(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_huffman_data_ending_early_is_named(tmp_path):
    x = _signal(1, 400)
    good = build_scp(ScpSpec(leads={"I": x[0]}, huffman="default"))
    spec_sections = {
        2: struct.pack("<H", 19999),
        3: struct.pack("<BB", 1, 0x0C) + struct.pack("<IIB", 1, 400, 1),
        6: struct.pack("<HHBBH", 5000, 2000, 2, 0, 4) + b"\x00\x00\x00\x00",
    }
    path = tmp_path / "short.scp"
    path.write_bytes(assemble(spec_sections))
    rec = read(path)  # 32 zero bits = 32 values of 400: shown, with a note
    assert rec.n_samples == 32 and any("32 of the 400" in n for n in rec.notes)
    assert good  # the complete file is fine


def test_scp_is_offered_by_the_open_dialog():
    from ecgviewer.io import supported_extensions

    assert ".scp" in supported_extensions() and ".xml" in supported_extensions()


def test_leads_far_apart_in_time_are_refused(tmp_path):
    sections = {
        3: struct.pack("<BB", 2, 0)
        + struct.pack("<IIB", 1, 4, 1)
        + struct.pack("<IIB", 3_000_000_000, 3_000_000_003, 2),
        6: struct.pack("<HHBBHH", 5000, 2000, 0, 0, 8, 8) + bytes(16),
    }
    path = tmp_path / "far.scp"
    path.write_bytes(assemble(sections))
    with pytest.raises(CorruptFileError, match="span"):
        read(path)


def test_not_scp_is_refused(tmp_path):
    path = tmp_path / "x.scp"
    path.write_bytes(b"\x00" * 40)
    with pytest.raises(CorruptFileError):
        read(path)


def test_text_follows_the_devices_language_code(tmp_path):
    x = _signal(2, 600)
    device = bytearray(40)
    device[16] = 0x13  # ISO 8859-5 (Cyrillic)
    s1 = tag(2, "Иван-7".encode("iso8859_5") + b"\x00") + tag(14, bytes(device)) + tag(255, b"")
    text = "Синусовый ритм".encode("iso8859_5") + b"\x00"
    s8 = struct.pack("<BHBBBBBB", 0, 2024, 1, 2, 3, 4, 5, 1) + struct.pack("<BH", 1, len(text))
    rec = read(
        _write(tmp_path, ScpSpec(leads={"I": x[0], "II": x[1]}, section1=s1, section8=s8 + text))
    )
    assert rec.patient.id == "Иван-7"
    assert rec.cart.statements == ("Синусовый ритм",)


def _pointers(data: bytes) -> dict[int, tuple[int, int]]:
    """Section id -> (0-based offset, length) from section 0's pointer table."""
    length0 = int.from_bytes(data[10:14], "little")
    out = {}
    for pos in range(6 + 16, 6 + length0 - 9, 10):
        sid, length, index = struct.unpack("<HII", data[pos : pos + 10])
        if length and 0 < sid <= 11:
            out[sid] = (index - 1, length)
    return out


@pytest.mark.parametrize("shift, found", [(5, True), (40, False)])
def test_sections_a_few_bytes_from_their_pointers(fixtures_dir, tmp_path, shift, found):
    """A real anonymiser's output: section 1 grew by 5 bytes, no pointer was updated. Each
    later section is found near its pointer (its header and CRC must match); further away,
    the message says the pointers are damaged."""
    original = fixtures_dir / "other" / "ecgtoolkit_Example.scp"
    data = original.read_bytes()
    offset, length = _pointers(data)[1]
    end = offset + length
    path = tmp_path / "shifted.scp"
    path.write_bytes(data[:end] + b"\x00" * shift + data[end:])
    if not found:
        with pytest.raises(CorruptFileError, match="not where the section pointers say"):
            read(path)
        return
    rec = read(path)
    np.testing.assert_array_equal(rec.signal, read(original).signal)
    assert any(f"found +{shift} bytes from where its pointer says" in n for n in rec.notes)


def test_section_ids_rewritten_with_their_crcs(fixtures_dir, tmp_path):
    """A public SCP anonymiser's output: every section header's id overwritten and its CRC
    recomputed, the sections left where the pointers say. Read there (length and CRC match
    the pointer), not called a file with damaged pointers."""
    original = fixtures_dir / "other" / "ecgtoolkit_Example.scp"
    data = bytearray(original.read_bytes())
    for sid, (offset, length) in _pointers(bytes(data)).items():
        data[offset + 2 : offset + 4] = struct.pack("<H", 100 + sid)
        crc = binascii.crc_hqx(bytes(data[offset + 2 : offset + length]), 0xFFFF)
        data[offset : offset + 2] = struct.pack("<H", crc)
    data[:2] = struct.pack("<H", binascii.crc_hqx(bytes(data[2:]), 0xFFFF))
    path = tmp_path / "renamed.scp"
    path.write_bytes(bytes(data))
    rec = read(path)
    np.testing.assert_array_equal(rec.signal, read(original).signal)
    assert any("another id in the header" in n for n in rec.notes)
    offset, length = _pointers(bytes(data))[6]
    for new_id, crc_ok in ((106, False), (4, True)):  # a bad CRC, or another section's id
        data[offset + 2 : offset + 4] = struct.pack("<H", new_id)
        crc = binascii.crc_hqx(bytes(data[offset + 2 : offset + length]), 0xFFFF) ^ (not crc_ok)
        data[offset : offset + 2] = struct.pack("<H", crc)
        path.write_bytes(bytes(data))
        with pytest.raises(CorruptFileError, match="not where the section pointers say"):
            read(path)


@pytest.mark.parametrize("interval, fs", [(1667, 600.0), (2000, 500.0), (2001, 1e6 / 2001)])
def test_a_whole_rate_stored_as_a_rounded_interval(tmp_path, interval, fs):
    """Section 6 holds the interval in whole microseconds: a Welch Allyn cart's 600 Hz is
    stored as 1667 us. Read as 600 Hz (rhythm and reference beats), not 599.88 Hz, which no
    EDF data record holds (export failed); an interval no whole rate rounds to keeps its own."""
    x = _signal(2, 1200)
    ref = x[:, 100:400]
    spec = ScpSpec(leads={"I": x[0], "II": x[1]}, interval_us=interval, reference=ref)
    rec = read(_write(tmp_path, spec))
    assert rec.fs == fs
    assert rec.cart is not None and rec.cart.median_fs == fs
    if interval == 1667:
        write(rec, tmp_path / "out.edf", "edf")
        assert read(tmp_path / "out.edf").fs == 600.0


def test_one_code_of_no_prefix_means_plain_samples(tmp_path):
    """A Creative/Lepu PC-80B's section 2: one table, one code of 0 prefix and 16 value
    bits. It stores plain little-endian 16-bit samples (read so, its ECG has regular beats;
    as an MSB-first bit stream, 52 mV of noise)."""
    x = _signal(1, 600, seed=9)
    # The test writer sends a code's bits most significant first: byte-swapped values give
    # the little-endian bytes the device writes.
    swapped = x.astype("<i2").view(">i2").astype(np.int64)
    spec = ScpSpec(
        leads={"I": swapped[0]},
        huffman="custom",
        custom_tables=[[HCode(0, 16, 1, 0, "")]],
        difference=0,
    )
    path = _write(tmp_path, spec)
    assert b"\x00\x10\x01" in path.read_bytes()  # the 0/16-bit code is in section 2
    rec = read(path)
    assert np.array_equal(np.round(rec.signal[:1] / 0.005).astype(np.int64), x)


def test_pointers_counted_from_zero_named(fixtures_dir, tmp_path):
    """Healforce's handheld recorders write every section pointer counted from 0 and CRCs
    that never match (their rhythm is not Huffman-coded either): named as that
    non-standard file, not called damaged."""
    data = bytearray((fixtures_dir / "other" / "ecgtoolkit_Example.scp").read_bytes())
    length0 = int.from_bytes(data[10:14], "little")
    for pos in range(6 + 16, 6 + length0 - 9, 10):
        sid, length, index = struct.unpack("<HII", data[pos : pos + 10])
        if length and 0 < sid <= 11:
            data[pos + 6 : pos + 10] = struct.pack("<I", index - 1)
            data[index - 1 : index + 1] = b"\x00\x00"  # the section's CRC, spoiled
    path = tmp_path / "healforce_like.scp"
    path.write_bytes(bytes(data))
    with pytest.raises(UnknownFormatError, match="pointers counted from 0.*Healforce"):
        read(path)


def test_a_lead_table_listing_fewer_leads_than_the_data_is_refused(fixtures_dir, tmp_path):
    """Section 3 saying 1 lead where sections 5 and 6 hold 12 leads' data: the one lead was
    decoded from the others' byte counts, at 58 times its amplitude, without a word."""
    data = bytearray((fixtures_dir / "other/ecgtoolkit_Example.scp").read_bytes())
    assert data[344] == 12  # section 3's lead count
    data[344] = 1
    struct.pack_into("<H", data, 0, binascii.crc_hqx(bytes(data[2:]), 0xFFFF))
    path = tmp_path / "one_lead.scp"
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match="lead table and the lead data disagree"):
        read(path)
