"""Help > About: app version, model version, weights sha256 and the model card, in plain words.

The card is the JSON file written next to the bundled weights by ``model/card.py``; it is read
here as JSON only (the UI never imports torch or ``model``). The weights file is hashed when the
dialog opens (a few MB, milliseconds) so the sha256 shown is the one of the file on disk, and a
mismatch with the card is said out loud. Every field is optional: a card from an older or newer
model shows what it has and "not stated" for the rest.
"""

from __future__ import annotations

import hashlib
import json
import platform
from html import escape
from pathlib import Path
from typing import Any

from PySide6 import __version__ as PYSIDE_VERSION  # noqa: N812
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ecgviewer import __version__ as APP_VERSION  # noqa: N812
from ecgviewer.paths import resource

CARD = "model/model_card.json"
WEIGHTS = "model/weights.pt"
OFFLINE = (
    "ecgviewer works offline: it opens no network connection, checks for no updates, "
    "sends no telemetry and downloads no model. The model is the file installed with it."
)


def load_card(path: Path | None = None) -> tuple[dict[str, Any] | None, str]:
    """The model card as a dict, or None and why not (missing, unreadable, not an object)."""
    path = path or resource(CARD)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"no model card at {path}: the anomaly model is not installed"
    except (OSError, ValueError) as exc:
        return None, f"the model card {path} cannot be read ({exc})"
    if not isinstance(data, dict):
        return None, f"the model card {path} is not a JSON object"
    return data, ""


def weights_check(card: dict[str, Any] | None, path: Path | None = None) -> tuple[str, bool]:
    """sha256 of the weights file on disk and whether it matches the card's."""
    path = path or resource(WEIGHTS)
    if not path.is_file():
        return f"weights file not found ({path})", False
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    actual = digest.hexdigest()
    expected = str((card or {}).get("weights_sha256") or "")
    if not expected:
        return f"{actual} (the model card states no sha256 to compare)", False
    if actual != expected:
        return (
            f"{actual} — DOES NOT MATCH the model card ({expected}): the weights file was "
            "replaced or damaged; the model will refuse to load it"
        ), False
    return f"{actual} (verified: matches the model card)", True


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None or value == "":
        return "not stated"
    if isinstance(value, float):
        return f"{value:.{digits}g}"  # the card's 4 decimals; 100.0 Hz shows as 100
    return str(value)


def _pct(value: Any) -> str:
    return "not stated" if not isinstance(value, int | float) else f"{100.0 * value:.1f}%"


def _rows(pairs: list[tuple[str, Any]]) -> str:
    cells = "".join(
        f"<tr><td style='padding-right:12px'><b>{escape(k)}</b></td><td>{escape(_fmt(v))}</td></tr>"
        for k, v in pairs
    )
    return f"<table>{cells}</table>"


def _metrics(title: str, m: dict[str, Any]) -> str:
    """One validation block: counts, AUROC/AUPRC, sensitivity/specificity, per-class AUROC."""
    if not isinstance(m, dict) or not m:
        return ""
    rows = [
        ("ECGs", f"{_fmt(m.get('n_normal'))} normal, {_fmt(m.get('n_abnormal'))} abnormal"),
        ("AUROC (normal vs abnormal)", m.get("auroc")),
        ("AUPRC", m.get("auprc")),
        ("Sensitivity at the threshold", _pct(m.get("sensitivity"))),
        ("Specificity at the threshold", _pct(m.get("specificity"))),
    ]
    per = m.get("per_superclass_auroc")
    if isinstance(per, dict) and per:
        rows.append(
            ("AUROC per class vs normals", ", ".join(f"{k} {_fmt(v)}" for k, v in per.items()))
        )
    note = f"<p><i>{escape(str(m['note']))}</i></p>" if m.get("note") else ""
    return f"<h4>{escape(title)}</h4>{_rows(rows)}{note}"


def card_html(
    card: dict[str, Any] | None,
    problem: str = "",
    weights: tuple[str, bool] | None = None,
    card_path: Path | None = None,
) -> str:
    """The About text as HTML (escaped): versions, the model card, the offline statement."""
    parts = [
        f"<h2>ecgviewer {escape(APP_VERSION)}</h2>",
        "<p>An offline viewer for 12-lead and long ECG recordings, with a self-supervised "
        "anomaly model trained on normal ECGs only.</p>",
        _rows(
            [
                ("Qt / PySide6", f"{qVersion()} / {PYSIDE_VERSION}"),
                ("Python", platform.python_version()),
            ]
        ),
        "<p style='color:#b71c1c'><b>Not a diagnostic device.</b> The anomaly score ranks ECGs "
        "by how unusual they look compared with normal ECGs; it supports review by a "
        "qualified clinician and does not replace it.</p>",
    ]
    if card is None:
        parts.append(f"<h3>Anomaly model</h3><p>{escape(problem)}.</p>")
        parts.append(f"<p>{escape(OFFLINE)}</p>")
        return "\n".join(parts)

    sha_text, _ok = weights or ("not checked", False)
    train = card.get("training_data") if isinstance(card.get("training_data"), dict) else {}
    training = card.get("training") if isinstance(card.get("training"), dict) else {}
    parts.append("<h3>Anomaly model</h3>")
    parts.append(
        _rows(
            [
                ("Name", card.get("name")),
                ("Version", card.get("version")),
                ("Weights sha256", sha_text),
                (
                    "Parameters",
                    f"{card['parameters']:,}" if isinstance(card.get("parameters"), int) else None,
                ),
                ("Method", card.get("method")),
            ]
        )
    )
    parts.append(f"<h3>Intended use</h3><p>{escape(_fmt(card.get('intended_use')))}</p>")

    parts.append("<h3>Training data</h3>")
    source = str(train.get("source") or "")
    rule = str(train.get("rule") or "")
    rows: list[tuple[str, Any]] = [
        ("Data", rule or source or None),
        ("Normal ECGs used", train.get("n_train_ecgs")),
        ("Model sampling rate (Hz)", train.get("rate_hz")),
    ]
    if "ptb" in (source + rule).lower():
        rows.append(
            (
                "Citation",
                "Wagner P. et al., PTB-XL, a large publicly available "
                "electrocardiography dataset. Scientific Data 7, 154 (2020); "
                "CC BY 4.0",
            )
        )
    parts.append(_rows(rows))

    parts.append("<h3>Validation</h3>")
    sel = card.get("selection") if isinstance(card.get("selection"), dict) else {}
    if sel:
        parts.append(
            f"<p>Chosen on: {escape(_fmt(sel.get('data')))} "
            f"({escape(_fmt(sel.get('n')))} ECGs). {escape(_fmt(sel.get('chosen')))}.</p>"
        )
    parts.append(
        _metrics(
            "Held-out report half (played no part in any choice)",
            card.get("validation_report_half") or {},
        )
    )
    split = card.get("validation_report_half_parts")
    if isinstance(split, dict):
        alone = [
            (label, split.get(key))
            for label, key in (
                ("the restoration network", "restoration_network_only"),
                ("the normal-beat bank", "beat_knn_only"),
                ("the measurement ranges", "measure_mahal_only"),
                ("the amplitude deviation", "measure_amp_only"),
                ("the spatial QRS-T angle", "qrst_angle_only"),
            )
        ]
        text = "; ".join(
            f"{label} {escape(_fmt(part.get('report_auroc')))}"
            for label, part in alone
            if isinstance(part, dict)
        )
        if text:
            parts.append(f"<p>Report-half AUROC of each part alone: {text}.</p>")
    if isinstance(card.get("validation_swapped_halves"), dict):
        parts.append(
            _metrics(
                "Halves swapped (chosen on the report half, measured on the selection half)",
                card["validation_swapped_halves"],
            )
        )
    parts.append(_metrics("All of fold 9", card.get("validation_fold9_all") or {}))
    if isinstance(card.get("threshold"), int | float):
        rule = card.get("threshold_rule") or "Youden"
        parts.append(
            f"<p>Threshold ({escape(str(rule))}, chosen on the selection half): "
            f"{card['threshold']:.4g}; score kind: {escape(_fmt(card.get('score_kind')))}"
            "</p>"
        )

    limits = card.get("limits")
    if isinstance(limits, list) and limits:
        items = "".join(f"<li>{escape(str(x))}</li>" for x in limits)
        parts.append(f"<h3>Limits</h3><ul>{items}</ul>")
    if training:
        parts.append("<h3>Training run</h3>")
        parts.append(
            _rows(
                [
                    (
                        "Epochs (selected)",
                        f"{_fmt(training.get('epochs'))} ({_fmt(training.get('selected_epoch'))})",
                    ),
                    ("Seed", training.get("seed")),
                    ("torch", training.get("torch")),
                ]
            )
        )
    parts.append(f"<h3>Network</h3><p>{escape(OFFLINE)}</p>")
    parts.append(
        f"<p style='color:gray'>Model card: {escape(str(card_path or resource(CARD)))}</p>"
    )
    return "\n".join(p for p in parts if p)


class AboutDialog(QDialog):
    """Modal About box with a scrollable, selectable model card."""

    def __init__(
        self,
        parent: QWidget | None = None,
        card_path: Path | None = None,
        weights_path: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("About ecgviewer")
        card, problem = load_card(card_path)
        check = weights_check(card, weights_path) if card is not None else None
        self.card = card
        self.weights_ok = bool(check and check[1])

        icon = QLabel()
        icon.setPixmap(QIcon(str(resource("icons/ecgviewer-256.png"))).pixmap(64, 64))
        version = "not installed" if card is None else _fmt(card.get("version"))
        title = QLabel(f"<b>ecgviewer {escape(APP_VERSION)}</b><br>model {escape(version)}")
        title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        head = QHBoxLayout()
        head.addWidget(icon)
        head.addWidget(title, 1)

        self.text = QTextBrowser()
        self.text.setOpenLinks(False)  # nothing here may open a browser (offline program)
        self.text.setHtml(card_html(card, problem, check, card_path))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        box = QVBoxLayout(self)
        box.addLayout(head)
        box.addWidget(self.text, 1)
        box.addWidget(buttons)
        self.resize(720, 640)
