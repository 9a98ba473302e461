"""The interpretation in full, on its own sheet(s) after the ECG page (QPainter).

The ECG page's header holds seven lines per block; a reading with more statements (or a long
free text, or a worklist note) does not fit there. What is signed must reach the paper whole,
so the header prints the first whole statements and says "Continued on page 2: ...", and
this sheet prints everything: status, signer and time, every statement numbered (the count
lets a reader check nothing is missing), the cart's statements, and, under its own heading
and author, the worklist's triage and note, which the signature does not cover.

The sheet is in millimetres like the median-beat sheet (``median_sheet.PAGE_W`` x
``PAGE_H``, true size on A4 and Letter, centred by ``render.paint_sheet``). Lines are broken
with the font's own metrics, so pagination is known before painting and the ECG page can
name the pages it continues on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen

from ecgviewer.report import median_sheet as sheet
from ecgviewer.report.reading_block import Interpretation

INK = QColor(20, 20, 20)
GREY = QColor(90, 90, 90)
ALERT = QColor(200, 0, 0)
FONT = sheet.FONT
LEFT, RIGHT = 12.0, sheet.PAGE_W - 12.0
#: Where the rows go on a sheet (mm from its top): below the title, above the footnote.
TOP, BOTTOM = 26.0, 193.0
#: Statements are numbered; their text starts this far right of the number.
NUMBER_W = 8.0
_MEASURE_K = 20.0  # px per mm at which lines are measured (fonts sized in pixels, as drawn)


@dataclass(frozen=True)
class Row:
    """One printed line: text at ``x`` mm, with its style and the space above it."""

    text: str
    x: float = LEFT
    pt: float = 9.0
    bold: bool = False
    italic: bool = False
    colour: QColor = field(default_factory=lambda: QColor(INK))
    gap: float = 0.0  # extra space above (mm)
    rule: bool = False  # a thin line above: the worklist's part starts here
    number: str = ""  # "3." printed left of ``x``

    @property
    def height(self) -> float:
        return self.gap + self.pt * 0.3528 * 1.45


def _font(pt: float, bold: bool = False, italic: bool = False, k: float = _MEASURE_K) -> QFont:
    font = QFont(FONT)
    font.setPixelSize(max(1, int(round(pt * 25.4 / 72.0 * k))))
    font.setBold(bold)
    font.setItalic(italic)
    return font


def wrap(
    text: str, width_mm: float, pt: float, bold: bool = False, italic: bool = False
) -> list[str]:
    """``text`` broken at spaces into lines no wider than ``width_mm`` (a word longer than
    a line is split); 3 % kept in hand for the rounding of pixel sizes at other resolutions."""
    fm = QFontMetricsF(_font(pt, bold, italic))
    limit = width_mm * 0.97 * _MEASURE_K

    def fits(s: str) -> bool:
        return fm.horizontalAdvance(s) <= limit

    lines: list[str] = []
    cur = ""
    for word in text.split():
        candidate = f"{cur} {word}" if cur else word
        if fits(candidate):
            cur = candidate
            continue
        if cur:
            lines.append(cur)
        while not fits(word) and len(word) > 1:  # a long token (URL, code): split it
            n = len(word) - 1
            while n > 1 and not fits(word[:n]):
                n -= 1
            lines.append(word[:n])
            word = word[n:]
        cur = word
    if cur:
        lines.append(cur)
    return lines or [""]


def _para(text: str, x: float = LEFT, number: str = "", **style: object) -> list[Row]:
    pt = float(style.get("pt", 9.0))  # type: ignore[arg-type]
    lines = wrap(text, RIGHT - x, pt, bool(style.get("bold")), bool(style.get("italic")))
    first = Row(lines[0], x, number=number, **style)  # type: ignore[arg-type]
    rest = {k: v for k, v in style.items() if k not in ("gap", "rule")}
    return [first] + [Row(line, x, **rest) for line in lines[1:]]  # type: ignore[arg-type]


def rows(interp: Interpretation) -> list[Row]:
    """The whole interpretation as printed rows: the reading, then the worklist's part."""
    out = _para(
        "Signed reading" if interp.confirmed else "Reading - NOT CONFIRMED",
        pt=10.0,
        bold=True,
        colour=INK if interp.confirmed else ALERT,
    )
    out += _para(interp.status, gap=1.0)
    if interp.signature:
        out += _para(interp.signature)
    n = len(interp.statements)
    if n:
        out += _para(f"Statements ({n}):", gap=1.5, bold=True)
        for i, s in enumerate(interp.statements, 1):
            out += _para(s, LEFT + NUMBER_W, number=f"{i}.")
    else:
        out += _para("No interpretation statements", gap=1.5)
    if interp.legend:
        out += _para(interp.legend, pt=8.0, colour=GREY, gap=1.0)
    if interp.cart:
        out += _para(interp.cart, gap=1.5)
    t = interp.triage
    if t is not None:
        out += _para(
            "Worklist triage - not part of the signed reading",
            pt=10.0,
            bold=True,
            gap=5.0,
            rule=True,
        )
        out += _para(f"By {t.byline()}", italic=True, gap=1.0)
        if t.state:
            out += _para(f"Triage: {t.state}", italic=True)
        lines = t.note.splitlines()
        for i, line in enumerate(lines):  # its own line breaks kept, one pair of quotes
            first, last = i == 0, i == len(lines) - 1
            text = ("Note: \u201c" if first else "") + line + ("\u201d" if last else "")
            out += _para(text, LEFT if first else LEFT + 10.0, italic=True)
    return out


def paginate(all_rows: list[Row]) -> list[list[Row]]:
    """The rows cut into sheets, each filled from TOP to BOTTOM."""
    pages: list[list[Row]] = [[]]
    used = 0.0
    for row in all_rows:
        if pages[-1] and used + row.height > BOTTOM - TOP:
            pages.append([])
            used = 0.0
        pages[-1].append(row)
        used += row.height
    return pages


def _draw(p: QPainter, k: float, x: float, y: float, s: str, row: Row, pt: float = 0.0) -> None:
    p.save()
    p.scale(1.0 / k, 1.0 / k)
    p.setFont(_font(pt or row.pt, row.bold, row.italic, k))
    p.setPen(row.colour)
    p.drawText(QPointF(x * k, y * k), s)
    p.restore()


def paint_interpretation_page(
    p: QPainter,
    k: float,
    record: object,
    interp: Interpretation,
    page_rows: list[Row],
    number: int,
    warning: str,
) -> None:
    """One sheet: a title naming the patient and report page ``number``, the red warning of
    an unconfirmed reading (a sheet may be read apart from page 1), then ``page_rows``."""
    from PySide6.QtCore import QRectF

    p.fillRect(QRectF(0, 0, sheet.PAGE_W, sheet.PAGE_H), QColor("white"))
    head = Row("", pt=12.0, bold=True)
    title = "Interpretation in full" + (", continued" if number > 2 else "")
    _draw(p, k, LEFT, 11, f"{title} (report page {number})", head)
    sheet.text(p, k, LEFT, 16, sheet._who(record), 7.0)
    if warning:
        sheet.text(p, k, LEFT, 21.5, warning, 9.0, bold=True, colour=ALERT)
    y = TOP
    for row in page_rows:
        if row.rule:  # in the space above the row, clear of the descenders above
            p.setPen(QPen(GREY, 0.2))
            p.drawLine(QPointF(LEFT, y + row.gap * 0.8), QPointF(RIGHT, y + row.gap * 0.8))
        y += row.height
        if row.number:
            _draw(p, k, row.x - NUMBER_W, y, row.number, row)
        _draw(p, k, row.x, y, row.text, row)
    sheet.text(
        p,
        k,
        LEFT,
        sheet.PAGE_H - 8,
        "The ECG page shows only the first lines of this interpretation; "
        "it is printed here in full.",
        7.0,
        colour=GREY,
    )
