"""The signed interpretation reaches the paper whole, and the worklist's note stays apart
from it, under its author's name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ecgviewer.record import Patient, Record
from ecgviewer.report.page import from_result
from ecgviewer.report.reading_block import Item, fit_header, interpretation, triage_of
from ecgviewer.review.reading import Reading, StatementEntry
from ecgviewer.review.store import Review
from ecgviewer.signal.synthetic import synthetic_ecg

pypdf = pytest.importorskip("pypdf")
render = pytest.importorskip("ecgviewer.report.render")

SIGNED = datetime(2026, 12, 3, 14, 49, tzinfo=UTC)
NINE = (
    ("SR", "Sinus rhythm"),
    ("LVH", "Left ventricular hypertrophy"),
    ("1AVB", "First-degree AV block"),
    ("LAFB", "Left anterior fascicular block"),
    ("PVC", "Premature ventricular complexes"),
    ("STELV", "ST elevation"),
    ("ISCAN", "Ischaemia, anterior"),
    ("LQT", "Long QT interval"),
    ("", "consider acute anterolateral injury, urgent cardiology review"),
)


def _reading(statements, state: str = "confirmed") -> Reading:
    return Reading(
        "h", state, tuple(StatementEntry(c, t) for c, t in statements), "Dr Ünal Çelik", SIGNED
    )


def _record() -> Record:
    s = synthetic_ecg(fs=500, duration=10, seed=4)
    return Record(s.signal, s.fs, list(s.leads), patient=Patient("PAT-9"), source="/x/a.hea")


def _pages(path) -> list[str]:
    return [" ".join(p.extract_text().split()) for p in pypdf.PdfReader(str(path)).pages]


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_a_long_signed_reading_is_printed_whole(tmp_path, qapp, paper):
    """Nine statements and a triage note: the header printed five lines and "…", and ST
    elevation, ischaemia, long QT, the free text and the note were on no page."""
    review = Review("h", "abnormal", "call ward 7 - STEMI?", "Dr K", datetime(2026, 12, 3, 15, 2))
    content = from_result(_record(), None, review=review, reading=_reading(NINE))
    pages = _pages(render.export_pdf(content, tmp_path / "r.pdf", paper))
    assert len(pages) == 3  # ECG, interpretation in full, median beats
    first, full = pages[0], pages[1]
    assert "…" not in first.split("Interpretation", 1)[1]
    shown = [t for _, t in NINE if t in first]
    assert shown and len(shown) < len(NINE)
    assert f"Continued on page 2: {len(NINE) - len(shown)} more statements and the worklist" in (
        first
    )
    assert "Interpretation in full (report page 2)" in full and "PAT-9" in full
    assert "Status: CONFIRMED" in full and "Signed by Dr Ünal Çelik, 2026-12-03 14:49 UTC" in full
    assert "Statements (9):" in full
    for i, (_, text) in enumerate(NINE, 1):
        assert f"{i}. {text}" in full
    assert full.index("9. consider acute") < full.index("Worklist triage - not part of the signed")
    assert "By Dr K, saved 2026-12-03 15:02 UTC, after the signature" in full
    assert "Triage: abnormal" in full and "Note: “call ward 7 - STEMI?”" in full
    assert "Median beats" in pages[2]


def test_a_short_reading_stays_on_the_ecg_page(tmp_path, qapp):
    content = from_result(_record(), None, reading=_reading(NINE[:3]))
    pages = _pages(render.export_pdf(content, tmp_path / "r.pdf"))
    assert len(pages) == 2 and "Median beats" in pages[1]
    assert "Continued on" not in pages[0]
    assert all(t in pages[0] for _, t in NINE[:3])


def test_the_header_never_cuts_a_statement():
    """Whole statements or none, and the count of the rest adds up."""
    items = interpretation(_reading(NINE), None).items()

    def wrap(text: str) -> list[str]:  # 20 characters a line
        return [text[i : i + 20] for i in range(0, len(text), 20)]

    kept, more = fit_header(items, 7, wrap, "page 2")
    assert sum(len(wrap(i.text)) for i in kept) + len(wrap(more)) <= 7
    assert kept == items[: len(kept)]
    left = sum(i.kind == "statement" for i in items[len(kept) :])
    assert more == f"Continued on page 2: {left} more statements"
    assert fit_header(items[:4], 7, wrap, "page 2") == (items[:4], "")
    legend = [Item("head", "Status: CONFIRMED"), Item("legend", "* measured by the reader")]
    assert fit_header(legend, 1, wrap, "page 2") == (legend[:1], "")  # told in the measurements


def test_a_note_added_after_signing_is_printed_apart_with_its_author(tmp_path, qapp):
    """The note printed inside the CONFIRMED block, without its author, read as signed text."""
    review = Review(
        "h", "unreviewed", "looks like old IMI, disregard NORM", "Dr X (student)",
        datetime(2026, 12, 3, 15, 2, tzinfo=UTC),
    )  # fmt: skip
    reading = _reading(NINE[:1] + (("NORM", "Normal ECG"),))
    content = from_result(_record(), None, review=review, reading=reading)
    first = _pages(render.export_pdf(content, tmp_path / "r.pdf"))[0]
    block = first.split("Interpretation", 1)[1]
    assert (
        "Status: CONFIRMED Signed by Dr Ünal Çelik, 2026-12-03 14:49 UTC Sinus rhythm Normal ECG "
        "Worklist note (not signed; Dr X (student), 2026-12-03 15:02 UTC, after signing): "
        "“looks like old IMI, disregard NORM”"
    ) in block
    assert "Note: looks like" not in block


def test_triage_says_after_signing_only_when_it_was():
    before = Review("h", "abnormal", "", "Dr K", datetime(2026, 12, 3, 14, 0, tzinfo=UTC))
    t = triage_of(before, _reading(NINE))
    assert t is not None and not t.after_signature
    assert t.header_text() == "Worklist triage: abnormal (not signed; Dr K, 2026-12-03 14:00 UTC)"
    anonymous = Review("h", "unreviewed", "a\n\n  note ", "", None)
    t = triage_of(anonymous, None)
    assert t is not None and t.header_text() == (
        "Worklist note (not signed; author not recorded): “a / note”"
    )
    assert triage_of(Review("h", "unreviewed", "  "), _reading(NINE)) is None
