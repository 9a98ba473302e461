"""Patient and measurement panels: the cart's own reading shown beside ours."""

from __future__ import annotations

import numpy as np

from ecgviewer.record import STANDARD_LEADS, CartReading, Record
from ecgviewer.ui.display import Measurements
from ecgviewer.ui.panels import MeasurementsPanel, PatientPanel

CART = CartReading(
    measurements={
        "heart_rate": 41,
        "pr": 144,
        "qrs": 102,
        "qt": 564,
        "qtc": 466,
        "qrs_axis": 85,
        "p_axis": 19,
    },
    statements=("SINUS BRADYCARDIA", "- OTHERWISE NORMAL ECG -"),
    source="Philips Sierra XML 1.04",
)


def _ours(cart: CartReading | None) -> Measurements:
    return Measurements(
        hr_bpm=43,
        hr_min_bpm=41,
        hr_max_bpm=45,
        rr_mean_ms=1400,
        rr_sd_ms=20,
        r_peaks=np.arange(7),
        seconds=10,
        intervals={"PR": 150.0, "QRS": None},
        unavailable={"QRS": "no stable onset"},
        method="median beat",
        cart=cart,
    )


def test_cart_values_beside_ours(qtbot):
    panel = MeasurementsPanel()
    qtbot.addWidget(panel)
    panel.show_measurements(_ours(CART))
    assert panel.rows["PR"].text() == "150 ms  ·  cart 144 ms"
    assert panel.rows["QRS"].text().startswith("unavailable: no stable onset")
    assert panel.rows["QRS"].text().endswith("cart 102 ms")  # theirs even where ours failed
    assert panel.rows["Heart rate"].text().startswith("43 bpm")
    assert "cart 41 bpm" in panel.rows["Heart rate"].text()
    assert "cart QTc 466 ms" in panel.rows["QTc Bazett"].text()
    assert "cart" not in panel.rows["RR"].text()  # this cart gave no RR
    assert panel.rows["Cart"].text() == "Philips Sierra XML 1.04: axes P 19 / QRS 85 deg"


def test_no_cart_says_so(qtbot):
    panel = MeasurementsPanel()
    qtbot.addWidget(panel)
    panel.show_measurements(_ours(None))
    assert panel.rows["PR"].text() == "150 ms"
    assert panel.rows["Cart"].text() == "none in this file"


def test_patient_panel_shows_the_carts_statements(qtbot):
    panel = PatientPanel()
    qtbot.addWidget(panel)
    rec = Record(signal=np.zeros((1, 500), np.float32), fs=500, leads=["II"], cart=CART)
    panel.show_record(rec)
    assert panel.cart_label.text() == "SINUS BRADYCARDIA\n- OTHERWISE NORMAL ECG -"
    panel.show_record(Record(signal=np.zeros((1, 500), np.float32), fs=500, leads=["II"]))
    assert panel.cart_label.text() == "-"


def test_a_long_unbroken_cart_line_does_not_widen_the_panel(qtbot):
    """A real SCP export's printout lines ("TT" then 66 "="; a long file path alike) have no
    space to wrap at: the panel grew past the window and cut off the verdict beside it."""
    import dataclasses

    panel = PatientPanel()
    qtbot.addWidget(panel)
    rec = Record(signal=np.zeros((1, 500), np.float32), fs=500, leads=["II"], cart=CART)
    panel.show_record(rec)
    narrow = panel.minimumSizeHint().width()
    line = "TT" + "=" * 66
    long_rec = dataclasses.replace(
        rec,
        cart=dataclasses.replace(CART, statements=(line, "SINUS RHYTHM")),
        source="/data/" + "a" * 120 + ".scp",
    )
    panel.show_record(long_rec)
    assert panel.minimumSizeHint().width() <= narrow + 40
    assert panel.cart_label.text().replace("\u200b", "") == line + "\nSINUS RHYTHM"
    assert panel.source_label.toolTip() == long_rec.source  # the path as it is, to copy


def test_opening_a_sierra_file_shows_cart_beside_ours(window, qtbot, fixtures_dir):
    assert window.open_path(fixtures_dir / "other" / "philips_sierra_1-04_ad4d3d80_orig.xml")
    qtbot.waitUntil(lambda: window.measurements is not None, timeout=20_000)
    assert "cart 144 ms" in window.measure_panel.rows["PR"].text()
    assert "SINUS BRADYCARDIA" in window.patient_panel.cart_label.text()


def test_the_scoring_time_reads_in_milliseconds_under_a_second(qtbot) -> None:  # noqa: ANN001
    from ecgviewer.ui.panels import AnalysisPanel

    panel = AnalysisPanel()
    qtbot.addWidget(panel)
    panel.set_elapsed(0.031)
    assert panel.elapsed_label.text() == "elapsed 31 ms"  # not "0.0 s"
    panel.set_elapsed(12.34)
    assert panel.elapsed_label.text() == "elapsed 12.3 s"


def test_a_value_that_comes_to_wrap_keeps_its_second_line(window, qtbot, fixtures_dir):
    """In the side column the form kept a row's height from an earlier, wider layout: the
    RR row, "mean 1462 ms, SD ... ms · cart 1463 ms", wrapped and its second line (the
    cart's value) was cut off. Every row gets the height its text needs at its width."""
    window.setGeometry(0, 0, 1920, 1050)
    assert window.open_path(fixtures_dir / "other" / "philips_sierra_1-04_ad4d3d80_orig.xml")
    qtbot.waitUntil(lambda: window.measurements is not None, timeout=20_000)
    qtbot.wait(300)
    rows = window.measure_panel.rows
    assert "cart 1463 ms" in rows["RR"].text()
    for name, label in rows.items():
        assert label.height() >= label.heightForWidth(label.width()), name


def test_the_carts_interpretation_heads_the_side_column(window, fixtures_dir) -> None:
    """A cart's statements are the first thing in the column (not below the fold in the
    patient panel), and the box is hidden for a file without them."""
    from ecgviewer.io import read

    rec = read(fixtures_dir / "cart" / "philips_sierra" / "pysierraecg_1-03_repbeats_example.xml")
    window.open_record(rec)
    box = window.side.cart
    assert not box.isHidden() and ">>> Acute MI <<<" in box.label.text().replace("\u200b", "")
    column = window.side.widget().layout()
    assert column.indexOf(box) == 0
    window.open_record(Record(np.zeros((12, 5000), np.float32), 500.0, list(STANDARD_LEADS)))
    assert box.isHidden()


def test_patient_panel_shows_name_and_date_of_birth(qtbot):
    from datetime import date

    from ecgviewer.record import Patient

    panel = PatientPanel()
    qtbot.addWidget(panel)
    patient = Patient("P-9", 70, "F", "DOE, JANE", date(1954, 3, 2))
    rec = Record(signal=np.zeros((1, 500), np.float32), fs=500, leads=["II"], patient=patient)
    panel.show_record(rec)
    assert panel.name_label.text() == "DOE, JANE"
    assert panel.birth_label.text() == "1954-03-02"
    panel.show_record(Record(signal=np.zeros((1, 500), np.float32), fs=500, leads=["II"]))
    assert (panel.name_label.text(), panel.birth_label.text()) == ("-", "-")


def test_the_analysis_panel_names_measurements_far_from_normal(qtbot) -> None:  # noqa: ANN001
    """A first-degree AV block scored "somewhat unusual" with one V2 finding and nothing
    about its PR of 318 ms; the panel now names the far measurements under the verdict."""
    from types import SimpleNamespace

    from ecgviewer.ui.panels import AnalysisPanel

    panel = AnalysisPanel()
    qtbot.addWidget(panel)
    result = SimpleNamespace(
        score=1.0,
        percentile=82.4,
        flags=set(),
        model={"name": "m", "version": "1"},
        findings=[],
        parts={},
        finding_map=None,
        measure_z={"pr_ms": 6.0},
        quality=None,
    )
    panel.show_scored(result, has_findings=False, elapsed=0.1)
    assert "Measurements beyond normal ECGs: PR longer (≥ 6 SD)." in panel.verdict_label.text()
    result.measure_z = {}
    panel.show_scored(result, has_findings=False, elapsed=0.1)
    assert "beyond normal ECGs" not in panel.verdict_label.text()


def test_the_findings_list_uses_one_time_format(qtbot) -> None:  # noqa: ANN001
    """A Holter's list showed "32.9-33.9 s" beside "0:01:00-0:01:09"."""
    from ecgviewer.result import Finding
    from ecgviewer.ui.panels import FindingsPanel

    panel = FindingsPanel()
    qtbot.addWidget(panel)
    panel.set_findings(
        [Finding("V2", 32.9, 33.9, 5.0, 99.9, "beat"), Finding("II", 60.4, 69.4, 4.0, 99.0, "x")]
    )
    assert [panel.table.item(r, 2).text() for r in range(2)] == [
        "0:32.9-0:33.9",
        "1:00.4-1:09.4",
    ]
    panel.set_findings([Finding("V2", 3.0, 3.6, 5.0, 99.9, "beat")])
    assert panel.table.item(0, 2).text() == "3.0-3.6 s"
