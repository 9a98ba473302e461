"""Help > About: versions, weights sha256 checked against the card, the model card in words."""

from __future__ import annotations

import hashlib
import json

import pytest

from ecgviewer import __version__
from ecgviewer.ui import about_dialog
from ecgviewer.ui.about_dialog import AboutDialog, card_html, load_card, weights_check

WEIGHTS = b"not really a torch file, but bytes with a known sha256"
SHA = hashlib.sha256(WEIGHTS).hexdigest()


def _card(**over):
    """A card with the fields model/card.py writes (values made up for the test)."""
    card = {
        "name": "ecg-cross-restoration",
        "version": "2026-11-25-abcdef12",
        "weights_sha256": SHA,
        "parameters": 1234567,
        "intended_use": "Research and decision support. Not a diagnostic device.",
        "limits": ["Needs the 12 standard leads.", "Artefacts <score> high too."],
        "method": "Multi-scale cross-restoration",
        "training_data": {
            "source": "../shared/data/ptbxl",
            "rule": "PTB-XL folds 1-8, {NORM}",
            "n_train_ecgs": 3500,
            "rate_hz": 100,
        },
        "selection": {"data": "fold 9 half 0", "n": 1104, "chosen": "best selection AUROC"},
        "threshold": 0.0123,
        "score_kind": "combined",
        "validation_report_half": {
            "n_normal": 460,
            "n_abnormal": 590,
            "auroc": 0.8768,
            "auprc": 0.9012,
            "sensitivity": 0.8,
            "specificity": 0.75,
            "per_superclass_auroc": {"MI": 0.81, "CD": 0.9},
        },
        "validation_fold9_all": {"auroc": 0.88, "note": "includes the selection half"},
        "validation_report_half_parts": {
            "restoration_network_only": {"report_auroc": 0.8311},
            "beat_knn_only": {"report_auroc": 0.8622},
            "qrst_angle_only": {"report_auroc": 0.8236},
        },
        "training": {"epochs": 12, "selected_epoch": 10, "seed": 0, "torch": "2.13.0+cpu"},
    }
    card.update(over)
    return card


@pytest.fixture
def installed(tmp_path):
    card_path = tmp_path / "model_card.json"
    weights_path = tmp_path / "weights.pt"
    card_path.write_text(json.dumps(_card()), encoding="utf-8")
    weights_path.write_bytes(WEIGHTS)
    return card_path, weights_path


def test_weights_sha256_verified_against_the_card(installed):
    card_path, weights_path = installed
    card, problem = load_card(card_path)
    assert problem == "" and card["version"] == "2026-11-25-abcdef12"
    text, ok = weights_check(card, weights_path)
    assert ok and text.startswith(SHA) and "verified" in text


def test_replaced_weights_are_reported(installed):
    card_path, weights_path = installed
    weights_path.write_bytes(WEIGHTS + b"!")
    text, ok = weights_check(load_card(card_path)[0], weights_path)
    assert not ok and "DOES NOT MATCH" in text and SHA in text


def test_html_has_versions_card_and_limits():
    html = card_html(_card(), "", (f"{SHA} (verified: matches the model card)", True))
    for expected in (
        __version__,
        "2026-11-25-abcdef12",
        SHA,
        "Not a diagnostic device",
        "3500",
        "0.8768",
        "0.9012",
        "80.0%",
        "75.0%",
        "MI 0.81",
        "<td>100</td>",
        "Needs the 12 standard leads.",
        "Scientific Data 7, 154 (2020)",
        "includes the selection half",
        "no network connection",
        "the restoration network 0.8311",
        "the normal-beat bank 0.8622",
        "the spatial QRS-T angle 0.8236",
    ):
        assert expected in html, expected
    assert "Artefacts &lt;score&gt; high too." in html  # card text is escaped, not markup


def test_missing_fields_say_not_stated():
    html = card_html({"version": "x"}, "", ("abc", False))
    assert "not stated" in html and "Not a diagnostic device" in html


def test_missing_card(tmp_path):
    card, problem = load_card(tmp_path / "nope.json")
    assert card is None and "not installed" in problem
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    assert "cannot be read" in load_card(tmp_path / "bad.json")[1]
    html = card_html(None, problem)
    assert "not installed" in html and "Not a diagnostic device" in html


def test_dialog_shows_the_card(qtbot, installed):
    card_path, weights_path = installed
    dialog = AboutDialog(card_path=card_path, weights_path=weights_path)
    qtbot.addWidget(dialog)
    text = dialog.text.toPlainText()
    assert dialog.weights_ok
    assert SHA in text and "AUROC" in text and "Not a diagnostic device" in text
    assert not dialog.text.openLinks()


def test_dialog_without_a_model(qtbot, tmp_path):
    dialog = AboutDialog(card_path=tmp_path / "none.json", weights_path=tmp_path / "none.pt")
    qtbot.addWidget(dialog)
    assert dialog.card is None and not dialog.weights_ok
    assert "not installed" in dialog.text.toPlainText()


def test_bundled_card_when_present():
    """The real card, once the lead has committed it, matches the real weights."""
    card, problem = load_card()
    if card is None:
        pytest.skip(problem)
    text, ok = weights_check(card)
    assert ok, text
    assert card_html(card, "", (text, ok)).count(card["weights_sha256"]) >= 1
    assert about_dialog.resource(about_dialog.CARD).is_file()


def test_help_about_opens_the_dialog(window, qtbot):
    window.actions["about"].trigger()
    dialog = window.about_dialog
    qtbot.waitExposed(dialog)
    assert isinstance(dialog, AboutDialog) and dialog.isVisible()
    assert "Not a diagnostic device" in dialog.text.toPlainText()
    dialog.reject()
    assert not dialog.isVisible()


def test_html_names_the_threshold_rule_and_the_swapped_halves():
    card = _card(
        threshold_rule="90% specificity on the choosing half's normals",
        validation_swapped_halves={"auroc": 0.8879, "sensitivity": 0.7635},
    )
    html = card_html(card, "", ("", True))
    assert "90% specificity on the choosing half" in html and "Youden" not in html
    assert "Halves swapped" in html and "0.8879" in html
    assert "Youden" in card_html(_card(), "", ("", True))  # older cards: the rule they used
