"""Painting median beats, rhythm strips and measurement tables on ECG paper (QPainter).

Shared by the viewer's median-beat and comparison windows and the report's extra pages, so
the screen and the paper show the same thing. Coordinates are millimetres of paper: the
caller scales the painter to millimetres (``k`` pixels per mm) and passes ``k`` for text.
Qt GUI only (no widgets); the ui imports this module, never the other way round.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen

from ecgviewer.signal.filters import DisplayFilter
from ecgviewer.signal.intervals import Measurements
from ecgviewer.signal.serial import pairing_warnings
from ecgviewer.wording import percentile_text

MINOR = QColor(250, 200, 200)
MAJOR = QColor(225, 110, 110)
TRACE = QColor(0, 0, 0)
#: The previous ECG in a comparison (blue, distinct from black for colour-blind readers).
PREVIOUS = QColor(0, 90, 200)
FIDUCIAL = QColor(0, 140, 60)
INK = QColor(20, 20, 20)
HIGHLIGHT = QColor(255, 230, 120)
ALERT = QColor(200, 0, 0)
PAPER = QColor(255, 255, 255)
FONT = "DejaVu Sans"
#: Beat window shown: from this long before QRS onset to this long after it (s).
BEFORE_QRS_S, AFTER_QRS_S = 0.32, 0.68
FIDUCIAL_LABELS = {
    "p_onset": "P on",
    "p_offset": "P off",
    "qrs_onset": "QRS on",
    "qrs_offset": "J",
    "t_end": "T end",
}
#: Lead order of the 3 x 4 median-beat grid (column by column, as carts print).
GRID_ORDER = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


def _pen(colour: QColor, width_mm: float, dashed: bool = False) -> QPen:
    pen = QPen(colour)
    pen.setWidthF(width_mm)
    if dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    return pen


def text(
    p: QPainter,
    k: float,
    x: float,
    y: float,
    s: str,
    pt: float = 7.0,
    bold: bool = False,
    colour: QColor = INK,
) -> None:
    """Draw ``s`` with its baseline-left at (x, y) mm, ``pt`` points high on paper."""
    p.save()
    p.scale(1.0 / k, 1.0 / k)
    font = QFont(FONT)
    font.setPixelSize(max(1, int(round(pt * 25.4 / 72.0 * k))))
    font.setBold(bold)
    p.setFont(font)
    p.setPen(colour)
    p.drawText(QPointF(x * k, y * k), s)
    p.restore()


def grid(p: QPainter, r: QRectF) -> None:
    """1 mm / 5 mm ECG paper over ``r`` (mm)."""
    for step, pen in ((1.0, _pen(MINOR, 0.07)), (5.0, _pen(MAJOR, 0.16))):
        p.setPen(pen)
        for x in np.arange(r.left(), r.right() + 1e-6, step):
            p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()))
        for y in np.arange(r.top(), r.bottom() + 1e-6, step):
            p.drawLine(QPointF(r.left(), y), QPointF(r.right(), y))


def _trace(p: QPainter, xs: np.ndarray, ys: np.ndarray, colour: QColor, width: float) -> None:
    path = QPainterPath(QPointF(float(xs[0]), float(ys[0])))
    for x, y in zip(xs[1:], ys[1:]):
        path.lineTo(float(x), float(y))
    p.setPen(_pen(colour, width))
    p.drawPath(path)


def _beat_xy(
    m: Measurements, lead: str, x0: float, base: float, speed: float, gain: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """Paper coordinates of one lead's median beat, QRS onset at x0 + BEFORE_QRS_S."""
    mb = m.beats
    if mb.beats is None or lead not in mb.leads or "qrs_onset" not in m.fiducials:
        return None
    y = mb.beats[mb.leads.index(lead)].astype(np.float64)
    on = m.fiducials["qrs_onset"]
    iso = float(y[max(0, int(on) - 6) : max(1, int(on) - 1)].mean())
    t = (np.arange(y.size) - on) / mb.fs
    keep = (t >= -BEFORE_QRS_S) & (t <= AFTER_QRS_S)
    return x0 + (t[keep] + BEFORE_QRS_S) * speed, base - (y[keep] - iso) * gain


#: Room kept above a beat in its cell for the lead's name and the fiducial labels (mm).
LABEL_ROOM_MM = 4.0


def _baseline_in(cell: QRectF, heights: list[np.ndarray]) -> float:
    """Where in ``cell`` the isoelectric line goes so that beats rising ``-min(heights)``
    and falling ``max(heights)`` mm (paper y grows downwards) fit below the label room:
    centred on the beats' extent, 0.6 of the way down when there are none, and, for a beat
    taller than the cell, at the share of the cell its rise takes of the whole."""
    top, bottom = cell.top() + LABEL_ROOM_MM, cell.bottom() - 0.5
    if not heights:
        return cell.top() + cell.height() * 0.6
    up = max(0.0, -min(float(np.min(h)) for h in heights))
    down = max(0.0, max(float(np.max(h)) for h in heights))
    room = bottom - top
    if up + down <= room:
        return top + up + (room - up - down) / 2
    return top + room * up / (up + down)


def _mark_cut(p: QPainter, xs: np.ndarray, ys: np.ndarray, cell: QRectF, colour: QColor) -> None:
    """A small triangle on the cell's edge where the trace leaves it (clipped there), so a
    cut-off wave is not read as its amplitude."""
    for beyond, edge, sign in (
        (ys < cell.top(), cell.top(), 1.0),
        (ys > cell.bottom(), cell.bottom(), -1.0),
    ):
        if not beyond.any():
            continue
        x = float(xs[int(np.argmax(np.where(beyond, np.abs(ys - edge), -1.0)))])
        tip = QPointF(x, edge)
        path = QPainterPath(tip)
        path.lineTo(x - 0.9, edge + sign * 1.4)
        path.lineTo(x + 0.9, edge + sign * 1.4)
        path.closeSubpath()
        p.fillPath(path, colour)


def paint_median_beats(
    p: QPainter,
    k: float,
    r: QRectF,
    m: Measurements,
    previous: Measurements | None = None,
    speed: float = 25.0,
    gain: float = 10.0,
    labels: tuple[str, str] = ("", ""),
    only_common: bool = True,
) -> None:
    """Each lead's median beat in a 3 x 4 grid over ``r`` on true-scale paper (columns I-III,
    aVR-aVF, V1-V3, V4-V6, as carts print them), fiducials of ``m`` marked; ``previous``
    overlaid in blue, aligned on its own QRS onset. Each cell's baseline sits where its
    beats fit (a deep QS in V2 is not cut while a small limb lead has room to spare); what
    still leaves the cell is cut at its edge and marked there (:func:`_mark_cut`)."""
    grid(p, r)
    leads = [n for n in GRID_ORDER if n in m.beats.leads] + [
        n for n in m.beats.leads if n not in GRID_ORDER
    ]
    if previous is not None and only_common:
        leads = [n for n in leads if n in previous.beats.leads]
    rows = 3 if len(leads) > 3 else max(1, len(leads))  # a cart's columns: I-III, aVR-aVF, ...
    cols = max(1, int(np.ceil(len(leads) / rows)))
    cw, ch = r.width() / cols, r.height() / rows
    beat_w = (BEFORE_QRS_S + AFTER_QRS_S) * speed
    on = m.fiducials.get("qrs_onset")
    for i, lead in enumerate(leads):
        col, row = divmod(i, rows)
        x0 = r.left() + col * cw + max(0.0, (cw - beat_w) / 2)
        cell = QRectF(r.left() + col * cw, r.top() + row * ch, cw, ch)
        # The previous (or cart's) beat first, so that this ECG's is drawn on top.
        drawn = [(previous, PREVIOUS), (m, TRACE)] if previous is not None else [(m, TRACE)]
        shapes = []
        for which, colour in drawn:
            xy = _beat_xy(which, lead, x0, 0.0, speed, gain)
            if xy is not None:
                shapes.append((xy, colour))
        base = _baseline_in(cell, [xy[1] for xy, _ in shapes])
        p.save()
        p.setClipRect(cell)
        # Fiducials of this ECG, the same instants in every lead (global measurement).
        for key in FIDUCIAL_LABELS:
            if key in m.fiducials and on is not None:
                x = x0 + ((m.fiducials[key] - on) / m.beats.fs + BEFORE_QRS_S) * speed
                p.setPen(_pen(FIDUCIAL, 0.15, dashed=True))
                p.drawLine(QPointF(x, cell.top() + 3.5), QPointF(x, cell.bottom()))
        for (xs, ys), colour in shapes:
            _trace(p, xs, ys + base, colour, 0.25)
        p.restore()
        for (xs, ys), colour in shapes:
            _mark_cut(p, xs, ys + base, cell, colour)
        text(p, k, cell.left() + 1.0, cell.top() + 3.0, lead, 7.0, bold=True)
        if row == 0 and on is not None:
            for key, label in FIDUCIAL_LABELS.items():
                if key in m.fiducials:
                    x = x0 + ((m.fiducials[key] - on) / m.beats.fs + BEFORE_QRS_S) * speed
                    y = cell.top() + 6.0 + 2.6 * list(FIDUCIAL_LABELS).index(key)
                    # On a white ground: the next fiducial's dashed line ran through it.
                    p.fillRect(QRectF(x + 0.2, y - 2.1, 1.25 * len(label) + 0.4, 2.5), PAPER)
                    text(p, k, x + 0.3, y, label, 6.0, colour=FIDUCIAL)
    if previous is not None:  # legend
        y = r.bottom() - 2.0
        for i, (colour, label) in enumerate(
            ((TRACE, labels[0] or "this ECG"), (PREVIOUS, labels[1] or "previous ECG"))
        ):
            x = r.right() - 80.0 + 40.0 * i
            p.setPen(_pen(colour, 0.5))
            p.drawLine(QPointF(x, y - 1.0), QPointF(x + 6.0, y - 1.0))
            text(p, k, x + 7.0, y, label[:30], 6.0)


def paint_rhythm_strip(
    p: QPainter,
    k: float,
    r: QRectF,
    signal: np.ndarray,
    fs: float,
    label: str,
    colour: QColor = TRACE,
    speed: float = 25.0,
    gain: float = 10.0,
) -> None:
    """One lead as a rhythm strip across ``r`` (as much as fits at ``speed``)."""
    grid(p, r)
    n = min(signal.size, int(r.width() / speed * fs))
    if n < 2:
        return
    y = np.asarray(signal[:n], dtype=np.float64)
    y = y - float(np.median(y))
    step = max(1, int(fs / (speed * 8)))  # ~8 points per mm is finer than the pen
    xs = r.left() + np.arange(0, n, step) / fs * speed
    ys = r.center().y() - y[::step] * gain
    p.save()
    p.setClipRect(r)
    _trace(p, xs, ys, colour, 0.25)
    p.restore()
    text(p, k, r.left() + 1.0, r.top() + 3.0, label, 7.0, bold=True, colour=colour)


def paint_table(
    p: QPainter,
    k: float,
    x: float,
    y: float,
    rows: Sequence[Sequence[str]],
    widths: Sequence[float],
    pt: float = 6.5,
    line: float = 3.4,
    highlight: Sequence[bool] | None = None,
) -> float:
    """Rows of cells from (x, y) mm; returns the y below the table. Highlighted rows get a
    yellow band (changes beyond measurement noise). A cell too long for its column wraps
    onto up to :data:`CELL_LINES` lines, its row as tall (a reason such as "irregular rhythm
    without a consistent P wave (atrial fibrillation?)" was cut at "(…")."""
    top = y
    for i, row in enumerate(rows):
        cells = [
            _cell_lines(str(cell), max(4, int(w / (pt * 0.19))))
            for cell, w in zip(row, widths, strict=False)
        ]
        height = line * max((len(c) for c in cells), default=1)
        if highlight is not None and i < len(highlight) and highlight[i]:
            p.fillRect(QRectF(x - 0.5, top - line + 0.8, sum(widths), height), HIGHLIGHT)
        cx = x
        for lines, w in zip(cells, widths, strict=False):
            for j, piece in enumerate(lines):
                text(p, k, cx, top + j * line, piece, pt, bold=(i == 0))
            cx += w
        top += height
    return top


#: The most lines one table cell wraps onto (what is longer still ends in "…").
CELL_LINES = 3


def _cell_lines(s: str, chars: int) -> list[str]:
    """``s`` broken at spaces into lines of at most ``chars`` characters (at most
    :data:`CELL_LINES`, the last cut with "…" if the text goes on)."""
    if len(s) <= chars:
        return [s]
    lines: list[str] = []
    current = ""
    for word in s.split(" "):
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= chars or not current:
            current = candidate
        else:
            lines.append(current)
            current = "  " + word  # continuation lines indented
    lines.append(current)
    lines = [ln if len(ln) <= chars else ln[: chars - 1] + "…" for ln in lines]
    if len(lines) > CELL_LINES:
        last = lines[CELL_LINES - 1]
        lines = lines[: CELL_LINES - 1] + [
            (last[: chars - 1] if len(last) >= chars else last) + "…"
        ]
    return lines


def lead_table(m: Measurements) -> list[list[str]]:
    """Per-lead amplitudes (mV) as table rows, header first."""

    def f(v: float | None) -> str:
        return "" if v is None else f"{v:.2f}"

    out = [["Lead", "P", "Q", "R", "S", "T", "ST J", "ST J+60"]]
    for name in [n for n in GRID_ORDER if n in m.leads] + [
        n for n in m.leads if n not in GRID_ORDER
    ]:
        a = m.leads[name]
        out.append(
            [
                name,
                f(a.p_mv),
                f(a.q_mv),
                f(a.r_mv),
                f(a.s_mv),
                f(a.t_mv),
                f(a.st_j_mv),
                f(a.st_j60_mv),
            ]
        )
    return out


# ---------------------------------------------------------------------- whole pages
# The sheets' drawing area, mm: what A4 and US Letter landscape (297 x 210, 279.4 x 215.9)
# both hold, so that either prints it at true scale, centred (render.paint_sheet). What is
# drawn keeps 5 mm inside it at least (x 10-274, y 5-203), clear of a printer's margins.
PAGE_W, PAGE_H = 279.0, 209.0


def _who(record: object) -> str:
    patient = getattr(record, "patient", None)
    start = getattr(record, "start", None)
    parts = [
        patient.identity() if patient is not None and patient.identity() != "-" else "",
        start.strftime("%Y-%m-%d %H:%M") if start is not None else "",
        f"{getattr(record, 'format', '')} {getattr(record, 'fs', 0):g} Hz",
    ]
    source = str(getattr(record, "source", "") or "")
    if source:
        parts.append(source.replace("\\", "/").rsplit("/", 1)[-1])
    return "  ·  ".join(s for s in parts if s)


def measurement_table(m: Measurements, cart: dict[str, float] | None = None) -> list[list[str]]:
    """Our measurements with the cart's own beside them when the file carries them."""
    from ecgviewer.signal.intervals import measurement_rows

    keys = {
        "Heart rate": "heart_rate",
        "RR": "rr",
        "P duration": "p_duration",
        "PR": "pr",
        "QRS": "qrs",
        "QT": "qt",
        "QTc Bazett": "qtc",
        "QTc Fridericia": "qtcf",
        "P axis": "p_axis",
        "QRS axis": "qrs_axis",
        "T axis": "t_axis",
    }
    head = ["Measurement", "ours"] + (["cart"] if cart else [])
    out = [head]
    for name, value in measurement_rows(m):
        row = [name, value]
        if cart:
            v = cart.get(keys.get(name, ""))
            row.append("" if v is None else f"{v:.0f}")
        out.append(row)
    return out


def cart_beats(record: object) -> object | None:
    """The cart's own representative beats as something :func:`paint_median_beats` can
    overlay (aligned on their QRS onset, found as ours is), or None when the file has none."""
    from types import SimpleNamespace

    from ecgviewer.signal.intervals import delineate
    from ecgviewer.signal.median_beat import MedianBeats

    cart = getattr(record, "cart", None)
    beats = getattr(cart, "median_beats", None)
    if beats is None or not cart.median_fs or len(cart.median_leads) != beats.shape[0]:
        return None
    b = np.asarray(beats, dtype=np.float64)
    # The readers cut a fill after the beat (Philips: 32767 x 2.5 uV = 81.92 mV, see
    # ecgviewer.io._common.trim_trailing_fill); a value like that left inside is no beat.
    if b.shape[1] < 2 or not np.isfinite(b).all() or np.abs(b).max() > 50.0:
        return None
    fs = float(cart.median_fs)
    try:
        velocity = np.abs(np.gradient(b, axis=1)).sum(axis=0)
        r = int(np.argmax(velocity))
        fid, _ = delineate(b, fs, r, rr_s=1.0)
    except Exception:  # noqa: BLE001 - the page prints without the overlay
        return None
    mb = MedianBeats(b.astype(np.float32), fs, tuple(cart.median_leads), r, 0, np.zeros(0, int))
    return SimpleNamespace(beats=mb, fiducials=fid)


def paint_median_page(p: QPainter, k: float, record: object, m: Measurements) -> None:
    """The median-beat page: 12 median beats with fiducials, measurements, lead amplitudes;
    the cart's own representative beats overlaid in blue when the file carries them."""
    p.fillRect(QRectF(0, 0, PAGE_W, PAGE_H), QColor("white"))
    text(p, k, 10, 9, "Median beats and measurements", 10, bold=True)
    text(p, k, 10, 13.5, _who(record), 6.5)
    if m.beats.beats is None:
        text(p, k, 10, 30, f"No median beat: {m.beats.reason}", 9)
        return
    overlay = cart_beats(record)
    paint_median_beats(
        p,
        k,
        QRectF(10, 16, 172, 159),
        m,
        overlay,  # type: ignore[arg-type]
        labels=("our median beat", "the cart's own beat"),
        only_common=False,
    )
    cart = getattr(getattr(record, "cart", None), "measurements", None) or None
    y = paint_table(p, k, 186, 20, measurement_table(m, cart), (22, 48, 14) if cart else (22, 62))
    text(p, k, 191, y + 3, "Wave amplitudes and ST levels, mV", 6.0, bold=True)
    widths = (10, 10, 10, 10, 10, 10, 11, 11)
    paint_table(p, k, 191, y + 6.5, lead_table(m), widths, pt=6.0, line=3.0)
    text(
        p,
        k,
        10,
        181,
        "25 mm/s, 10 mm/mV; dashed lines: global fiducials (P on, P off, QRS on, "
        "J, T end), the same instant in every lead, on LUDB's edges (the values in brackets); "
        "the cart-style values, first in the table, lie inside them.",
        6,
    )
    for i, chunk in enumerate(_chunks(m.method, 175)):
        text(p, k, 10, 185 + 3 * i, chunk, 6.0)


def _chunks(s: str, width_chars: int) -> list[str]:
    words, lines, cur = s.split(), [], ""
    for w in words:
        if len(cur) + len(w) + 1 > width_chars:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    return [*lines, cur] if cur else lines


def _signed(fmt: str, value: float) -> str:
    """A change as printed: "+4", "-12", and "0" for one that rounds to nothing (not "-0")."""
    shown = fmt.format(value)
    if float(shown) == 0.0:
        return fmt.format(0.0)
    return ("+" if value > 0 else "") + shown


def paint_comparison_page(
    p: QPainter,
    k: float,
    record: object,
    m: Measurements,
    previous_record: object,
    previous: Measurements,
    comparison: object,
    remeasured: bool = False,
) -> None:
    """Serial comparison: overlaid median beats, rhythm strips, the table of changes
    (``remeasured``: both measured by the rules alone, ``ecgviewer.signal.serial.alike``)."""
    p.fillRect(QRectF(0, 0, PAGE_W, PAGE_H), QColor("white"))
    text(p, k, 10, 9, "Serial comparison", 10, bold=True)
    text(p, k, 10, 12.5, "this: " + _who(record), 6.0, colour=TRACE)
    text(p, k, 10, 15.5, "previous: " + _who(previous_record), 6.0, colour=PREVIOUS)
    # Every warning whole, wrapped in the right column above the table (one 8 pt line ran
    # off the page: a second date of birth and "recorded after this one" never printed).
    table_top = 20.0
    y = 9.0
    for i, warning in enumerate(pairing_warnings(record, previous_record)):  # type: ignore[arg-type]
        # ~62 characters of 7 pt bold fill the 110 mm column (78 ran past the page's edge).
        for line in _cell_lines(("CHECK: " if i == 0 else "") + warning, 62):
            text(p, k, 165, y, line.strip(), 7.0, bold=True, colour=ALERT)
            y += 3.0
        table_top = y + 2.0
    if m.beats.beats is None or previous.beats.beats is None:
        which = m if m.beats.beats is None else previous
        text(p, k, 10, 30, f"No median beat to compare: {which.beats.reason}", 9)
        return
    paint_median_beats(
        p, k, QRectF(10, 17, 150, 127), m, previous, labels=("this ECG", "previous ECG")
    )
    changes = comparison.changes  # type: ignore[attr-defined]
    rows = [["Change", "previous", "this", "Δ"]]
    flags = [False]
    quiet_st = 0
    for c in changes:
        if c.before is None and c.after is None:
            continue
        if c.unit == "mV" and not c.significant:  # only the ST levels that moved
            quiet_st += 1
            continue
        fmt = "{:.2f}" if c.unit == "mV" else "{:.0f}"
        b = "—" if c.before is None else fmt.format(c.before)
        a = "—" if c.after is None else fmt.format(c.after)
        if c.name == "Anomaly percentile":  # as everywhere else: "> 99.9 %", not "100"
            b, a = (("—" if v is None else percentile_text(v)) for v in (c.before, c.after))
        d = "" if c.delta is None else _signed(fmt, c.delta)
        rows.append([f"{c.name} ({c.unit})" if c.unit else c.name, b, a, d])
        flags.append(c.significant)
    if quiet_st:
        rows.append([f"ST: {quiet_st} other levels within 0.05 mV", "", "", ""])
        flags.append(False)
    rows = rows[: int((139.0 - table_top) / 3.0)]  # the table ends above its note at 142 mm
    paint_table(p, k, 165, table_top, rows, (46, 20, 20, 20), pt=6.0, line=3.0, highlight=flags)
    missing = comparison.missing_leads  # type: ignore[attr-defined]
    notes = [
        f"{label} ECG lacks {', '.join(v)}"
        for label, v in (
            ("previous", missing.get("before", ())),
            ("this", missing.get("after", ())),
        )
        if v
    ]
    text(
        p,
        k,
        165,
        142,
        ("Compared on common leads; " + "; ".join(notes))
        if notes
        else "Yellow: change beyond measurement noise.",
        6.0,
    )
    for i, (rec, colour, label) in enumerate(
        ((previous_record, PREVIOUS, "previous"), (record, TRACE, "this"))
    ):
        leads = list(getattr(rec, "leads", []))
        lead = "II" if "II" in leads else (leads[0] if leads else "")
        if not lead:
            continue
        sig = np.asarray(rec.signal[leads.index(lead), : int(10 * rec.fs)], dtype=np.float64)  # type: ignore[attr-defined]
        # As the viewer shows it (0.5-40 Hz): one strip's wander must not read as a change.
        sig = DisplayFilter().apply(sig, float(rec.fs))  # type: ignore[attr-defined]
        paint_rhythm_strip(
            p,
            k,
            QRectF(10, 147 + i * 26, 250, 25),
            sig,
            rec.fs,  # type: ignore[attr-defined]
            f"{lead} ({label})",
            colour,
        )
    footer = (
        "25 mm/s, 10 mm/mV. Median beats aligned on QRS onset. Rhythm strips "
        f"{DisplayFilter().describe(500.0)}."
    )
    if remeasured:
        footer += " Both ECGs measured by the rules alone, so that no change is a change of method."
    text(p, k, 10, 202.5, footer, 6.0)
