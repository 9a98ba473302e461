"""PDF/PNG report: one page, its text names the patient and the score, drawn at true scale."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from ecgviewer.record import STANDARD_LEADS, Patient, Record
from ecgviewer.report.page import ReportContent, from_result
from ecgviewer.review.store import Review
from ecgviewer.signal.synthetic import synthetic_ecg
from tests.analysis.fake_detector import FakeDetector

pypdf = pytest.importorskip("pypdf")
render = pytest.importorskip("ecgviewer.report.render")


@pytest.fixture
def content(qapp) -> ReportContent:
    s = synthetic_ecg(fs=500, duration=10, pvc_at=6.0, seed=1)
    rec = Record(
        s.signal,
        s.fs,
        list(s.leads),
        start=datetime(2024, 5, 1, 10, 22, 3),
        patient=Patient("PAT-7781", 63, "F"),
        source="/x/demo.hea",
        format="wfdb",
    )
    res = FakeDetector()._one(rec)
    res.score, res.percentile = 0.8731, 98.6
    res.flags = {"resampled_from_500Hz"}
    review = Review(
        "h", "abnormal", "PVC with discordant T", "Dr K", datetime(2026, 1, 5, tzinfo=UTC)
    )
    return from_result(rec, res, review=review)


@pytest.mark.parametrize("paper, size_pt", [("A4", (841.89, 595.28)), ("Letter", (792.0, 612.0))])
def test_pdf_is_one_landscape_page_with_patient_and_score(tmp_path, content, paper, size_pt):
    path = render.export_pdf(content, tmp_path / "r.pdf", paper)
    reader = pypdf.PdfReader(str(path))
    assert len(reader.pages) == 2  # the ECG, then its median beats
    second = " ".join(reader.pages[1].extract_text().split())
    assert "Median beats" in second and "QRS" in second
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(size_pt, abs=1.0)
    text = " ".join(reader.pages[0].extract_text().split())  # pypdf gives tabs for spaces
    assert "PAT-7781" in text
    assert "98.6 %" in text and "Unusual" in text
    assert "0.873" not in text  # the raw score is not for the clinician
    assert "NOT A DIAGNOSTIC DEVICE" in text
    assert "fake 0.0-test" in text  # model name and version
    assert "PVC with discordant T" in text  # the review note
    assert "25 mm/s" in text and "10 mm/mV" in text


def test_png_traces_are_true_scale(tmp_path, qapp):
    fs = 500.0
    sig = np.zeros((12, 5000), np.float32)
    sig[0, 250:750] = 1.0  # lead I: a 1 mV step from 0.5 s to 1.5 s
    rec = Record(sig, fs, list(STANDARD_LEADS), patient=Patient("P"))
    dpi = 254.0  # 10 px per mm
    image = render.render_image(ReportContent(rec), "A4", dpi)
    assert (image.width(), image.height()) == (2970, 2100)
    from ecgviewer.report.page import report_page

    page = report_page(rec.leads, "A4")
    cell = next(c for c in page.geometry.cells if c.lead == "I")
    x0 = int(page.x_of(cell.x0) * 10) + 5
    x1 = int(page.x_of(cell.x0 + 62.5) * 10) - 5
    y0 = int(page.y_of(cell.y_top) * 10) + 50  # below the lead label
    y1 = int(page.y_of(cell.y_bottom) * 10)
    ptr = image.constBits()
    arr = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
    region = arr[y0:y1, x0:x1, :3].astype(int)
    dark = region.max(axis=2) < 80  # trace pixels are black; grid is pink
    rows = np.flatnonzero(dark.any(axis=1))
    cols = np.flatnonzero(dark[rows.min() + 2])  # along the top of the plateau
    assert rows.max() - rows.min() == pytest.approx(100, abs=4)  # 1 mV = 10 mm
    assert cols.max() - cols.min() == pytest.approx(250, abs=6)  # 1 s = 25 mm


def test_png_file_written(tmp_path, content):
    """One PNG per page, as the PDF has them: the ECG, then its median beats (a PNG of the
    first page alone left a header's "Continued on page 2" pointing nowhere)."""
    path = render.export_png(content, tmp_path / "r.png", "Letter", dpi=100)
    assert path == tmp_path / "r.png"
    pages = sorted(tmp_path.glob("r*.png"))
    assert pages == [tmp_path / "r-page2.png", tmp_path / "r.png"]
    for page in pages:
        assert page.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_flags_are_in_plain_words(tmp_path, content):
    path = render.export_pdf(content, tmp_path / "r.pdf", "A4")
    text = " ".join(pypdf.PdfReader(str(path)).pages[0].extract_text().split())
    assert "resampled from 500 Hz" in text and "resampled_from" not in text


def _signed_reading(state: str = "confirmed"):
    from ecgviewer.review.reading import Reading, StatementEntry

    return Reading(
        "h",
        state=state,
        statements=(
            StatementEntry("SR", "Sinus rhythm"),
            StatementEntry("PVC", "Premature ventricular complexes"),
            StatementEntry("", "compare with the ECG of last week"),
        ),
        signer="Dr Ünal",
        signed_at=datetime(2026, 1, 6, 9, 30, tzinfo=UTC),
        reader_fiducials={"qrs_offset": 0.08},
        machine_fiducials={"p_onset": -0.2, "qrs_onset": -0.04, "qrs_offset": 0.05, "t_end": 0.36},
        rr_ms=1000.0,
    )


def _pdf_text(path) -> str:
    return " ".join(pypdf.PdfReader(str(path)).pages[0].extract_text().split())


def test_signed_report_names_signer_statements_and_marks_reader_values(tmp_path, content):
    content.reading = _signed_reading()
    content.measurements = [("PR", "150 ms"), ("QRS", "90 ms"), ("QT", "400 ms")]
    content = from_result(
        content.record,
        None,
        review=content.review,
        reading=content.reading,
        measurements=content.measurements,
    )
    text = _pdf_text(render.export_pdf(content, tmp_path / "r.pdf"))
    assert "Status: CONFIRMED" in text
    assert "Signed by Dr Ünal, 2026-01-06 09:30 UTC" in text
    assert "Sinus rhythm" in text and "Premature ventricular complexes" in text
    assert "compare with the ECG of last week" in text
    assert "QRS: 120 ms* (reader; machine 90 ms)" in text and "PR: 150 ms" in text
    assert "UNCONFIRMED" not in text and "NOT CONFIRMED" not in text


@pytest.mark.parametrize(
    "state, words",
    [
        (None, "UNCONFIRMED REPORT - not signed in ecgviewer by a physician"),
        ("reviewed", "UNCONFIRMED REPORT"),
        ("edited", "EDITED AFTER CONFIRMATION - NOT CONFIRMED"),
    ],
)
def test_unsigned_report_says_so_visibly(tmp_path, content, state, words):
    content.reading = None if state is None else _signed_reading(state)
    text = _pdf_text(render.export_pdf(content, tmp_path / "r.pdf"))
    assert words in text and "Interpretation - NOT CONFIRMED" in text
    if state == "edited":
        assert "Was signed by Dr Ünal" in text


def test_the_carts_own_statements_reach_the_paper(tmp_path, qapp):
    """A cart's reading (">>> Acute MI <<<") is printed, marked as the cart's, not only shown
    on screen."""
    from ecgviewer.record import CartReading

    s = synthetic_ecg(fs=500, duration=10, seed=2)
    cart = CartReading(statements=("Inferior infarct, acute", ">>> Acute MI <<<"))
    rec = Record(s.signal, s.fs, list(s.leads), source="/x/cart.xml", cart=cart)
    path = render.export_pdf(from_result(rec, None), tmp_path / "r.pdf", "A4")
    text = _pdf_text(path)
    assert "Cart's statements: Inferior infarct, acute; >>> Acute MI <<<" in text


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_median_and_comparison_sheets_print_at_true_scale(paper):
    """The sheets fit both papers unscaled (on Letter they were shrunk to 94 % while saying
    25 mm/s, 10 mm/mV)."""
    from ecgviewer.report.page import report_page

    assert render.sheet_scale(report_page(list(STANDARD_LEADS), paper)) == 1.0


def test_the_patients_name_and_birth_date_head_both_sheets(tmp_path, qapp):
    """A printed ECG is matched to its patient by name and date of birth; the header kept
    only the id. A long device name is cut on its own line, never pushing the name out."""
    from datetime import date

    s = synthetic_ecg(fs=500, duration=10, seed=2)
    rec = Record(
        s.signal,
        s.fs,
        list(s.leads),
        patient=Patient("PAT-1", 71, "M", "MÜLLER-LÜDENSCHEIDT, Hans Peter", date(1953, 5, 8)),
        device="PageWriter TC70 cardiograph, software B.02.01 with the 12-lead algorithm",
        source="/x/cart.xml",
    )
    path = render.export_pdf(from_result(rec, None), tmp_path / "r.pdf", "A4")
    reader = pypdf.PdfReader(str(path))
    first = " ".join(reader.pages[0].extract_text().split())
    assert "Name: MÜLLER-LÜDENSCHEIDT, Hans Peter" in first
    assert "Patient ID: PAT-1 Born: 1953-05-08" in first
    assert "File: cart.xml" in first  # the lines after the long device line are all there
    second = " ".join(reader.pages[1].extract_text().split())
    assert "MÜLLER-LÜDENSCHEIDT, Hans Peter born 1953-05-08 ID PAT-1" in second


def test_measurements_far_from_normal_are_printed_under_the_findings(tmp_path, content):
    """A first-degree AV block's PR (ScoreResult.measure_z) is named on paper as on screen,
    and the percentile is said once (the verdict holds it)."""
    content.measure_z = {"pr_ms": 6.0}
    text = _pdf_text(render.export_pdf(content, tmp_path / "r.pdf", "A4"))
    assert "Far from normal ECGs: PR longer (≥ 6 SD)" in text
    assert "Blue band" in text  # the legend still fits
    assert text.count("98.6 %") == 1


def test_every_later_page_says_what_it_is(tmp_path, content):
    """Pages 2 and 3 read apart from page 1 (filed, faxed) had no "NOT A DIAGNOSTIC DEVICE",
    no page number and no word that the interpretation is unsigned."""
    reader = pypdf.PdfReader(str(render.export_pdf(content, tmp_path / "r.pdf", "A4")))
    second = " ".join(reader.pages[1].extract_text().split())
    assert "NOT A DIAGNOSTIC DEVICE" in second and "page 2 of 2" in second
    assert "interpretation NOT CONFIRMED" in second and "printed 20" in second


def test_a_finding_over_noise_says_so_on_paper(tmp_path, content):
    """On screen a finding over noise is greyed "(?)"; the printed list said nothing of it."""
    from ecgviewer.result import Finding

    content.findings = [Finding("II", 3.0, 4.0, 5.0, 99.9, "beat", noisy=True)]
    text = _pdf_text(render.export_pdf(content, tmp_path / "r.pdf", "A4"))
    assert "II 3.0-4.0 s, 5.0 SD (possible artefact)" in text
