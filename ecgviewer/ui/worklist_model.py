"""Qt table model over the worklist rows, and the proxy that keeps them most-anomalous-first.

The source model holds rows in scan order and only ever appends or updates in place, so
updates arriving every batch are cheap; a ``QSortFilterProxyModel`` with dynamic sorting keeps
the view ordered by score while preserving the selection (the row the clinician is reading
does not jump away under the cursor's identity, only its position changes).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import QBrush, QColor

from ecgviewer.review.signoff import LABELS as READING_LABELS
from ecgviewer.review.worklist import ERROR, LONG, PENDING, WorklistRow, filter_rows
from ecgviewer.signal.quality import quality_headline
from ecgviewer.wording import percentile_text, verdict_word

#: Sort key role: numbers for numeric columns, so "10" sorts after "9".
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
#: The row's uid, for the window to find the WorklistRow behind a view index.
UID_ROLE = Qt.ItemDataRole.UserRole + 2

COLUMNS: tuple[tuple[str, str], ...] = (
    ("score", "Unusual"),  # sorted by the model score, shown in words
    ("percentile", "Percentile"),
    ("findings", "Findings"),
    ("quality", "Quality"),
    ("review_state", "Review"),
    ("patient_id", "Patient"),
    ("start", "Date"),
    ("duration", "Duration"),
    ("n_leads", "Leads"),
    ("label", "ECG"),
    ("note", "Note"),
    ("reviewer", "Reviewer"),
    ("reading_state", "Reading"),
    ("signer", "Signed by"),
    ("statements", "Statements"),
)
SCORE_COL = 0
_STATE_TEXT = {"unreviewed": "–", "normal": "✓ normal", "abnormal": "⚑ abnormal"}
_STATE_COLOUR = {"normal": QColor(225, 245, 225), "abnormal": QColor(255, 225, 215)}

_Index = QModelIndex | QPersistentModelIndex


class WorklistTableModel(QAbstractTableModel):
    """Rows in scan order; ``merge`` appends new uids and updates known ones in place."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[WorklistRow] = []
        self._pos: dict[str, int] = {}

    # -------------------------------------------------------------- Qt's API
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        key = COLUMNS[index.column()][0]
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(row, key)
        if role == SORT_ROLE:
            return _sort_value(row, key)
        if role == UID_ROLE:
            return row.uid
        if role == Qt.ItemDataRole.ToolTipRole:
            if key == "quality" and row.flags:
                return quality_headline(row.flags) or None
            return row.error or row.path
        if role == Qt.ItemDataRole.BackgroundRole and row.review_state in _STATE_COLOUR:
            return QBrush(_STATE_COLOUR[row.review_state])
        if (
            role == Qt.ItemDataRole.ForegroundRole
            and row.status in (ERROR, LONG)
            and key == "score"
        ):
            return QBrush(QColor(160, 60, 30))
        if role == Qt.ItemDataRole.TextAlignmentRole and key in (
            "percentile",
            "duration",
            "n_leads",
        ):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    # -------------------------------------------------------------- ours
    def merge(self, rows: Iterable[WorklistRow]) -> None:
        new: list[WorklistRow] = []
        for row in rows:
            i = self._pos.get(row.uid)
            if i is None:
                new.append(row)
            else:
                self._rows[i] = row
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))
        if new:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            for row in new:
                self._pos[row.uid] = len(self._rows)
                self._rows.append(row)
            self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self._rows.clear()
        self._pos.clear()
        self.endResetModel()

    def row(self, uid: str) -> WorklistRow:
        return self._rows[self._pos[uid]]

    def rows(self) -> list[WorklistRow]:
        return list(self._rows)

    def row_at(self, i: int) -> WorklistRow:
        """The row at source position ``i`` (the proxy's filter asks for every row)."""
        return self._rows[i]


def _display(row: WorklistRow, key: str) -> str:
    if key == "score":
        if row.score is not None:
            return verdict_word(row.percentile)
        return {PENDING: "…", ERROR: "error", LONG: "long"}.get(row.status, "")
    if key == "percentile":
        return "" if row.percentile is None else percentile_text(row.percentile)
    if key == "review_state":
        return _STATE_TEXT.get(row.review_state, row.review_state)
    if key == "reading_state":
        return READING_LABELS.get(row.reading_state, row.reading_state)
    if key == "duration":
        return "" if row.duration is None else _duration(row.duration)
    if key == "n_leads":
        return "" if row.n_leads is None else str(row.n_leads)
    if key == "start":
        return row.start[:19]
    return str(getattr(row, key) or "")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _sort_value(row: WorklistRow, key: str) -> Any:
    if key == "quality":  # worst recording first when descending; fine rows last
        return row.quality_severity
    value = getattr(row, key)
    if key in ("score", "percentile", "duration", "n_leads"):
        # Unscored rows sort below every score when the column is descending.
        return -math.inf if value is None else float(value)
    return str(value or "").lower()


class WorklistProxy(QSortFilterProxyModel):
    """Score-descending by default; keeps sorting as rows arrive (dynamic sort)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)
        self.setFilterKeyColumn(-1)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """The sorted column's title ends with an arrow pointing the way values go down the
        list: ▼ largest first (the default, most unusual at the top), ▲ smallest first.
        Qt's own indicator points the other way in several styles, so the table hides it."""
        text = super().headerData(section, orientation, role)
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and section == self.sortColumn()
            and text
        ):
            arrow = "▼" if self.sortOrder() == Qt.SortOrder.DescendingOrder else "▲"
            return f"{text} {arrow}"
        return text

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        super().sort(column, order)
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, max(0, self.columnCount() - 1))

    # -------------------------------------------------------------- reader's workflow filter
    _reading_state = ""
    _reader = ""
    _pinned: str | None = None

    def set_reading_filter(self, state: str = "", reader: str = "") -> None:
        """Show only rows in reading ``state`` that ``reader`` acted on (empty: any)."""

        def change() -> None:
            self._reading_state, self._reader = state, reader
            self._pinned = None  # a filter the reader chose applies to every row

        self._refilter(change)

    def set_text_filter(self, text: str) -> None:
        """The toolbar's free-text filter (the pinned row is not kept out of it)."""
        self._pinned = None
        self.setFilterFixedString(text)

    def pin(self, uid: str | None) -> None:
        """Keep the row ``uid`` (the one being read) listed even when it stops matching the
        filters: signing it under "unconfirmed" removed it under the cursor, the selection
        jumped to the next row and "next" skipped one. The row pinned before is filtered
        again once control returns to the event loop (not inside the selection's signal)."""
        if uid != self._pinned:
            self._pinned = uid
            QTimer.singleShot(0, self, lambda: self._refilter(lambda: None))

    def _refilter(self, change: Any) -> None:
        begin = getattr(self, "beginFilterChange", None)  # Qt >= 6.9; invalidateFilter before
        if begin is not None:
            begin()
            change()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:  # pragma: no cover - older Qt
            change()
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:  # Qt's name
        model = self.sourceModel()
        row = model.row_at(source_row) if isinstance(model, WorklistTableModel) else None
        if row is not None and self._pinned is not None and row.uid == self._pinned:
            return True
        if not super().filterAcceptsRow(source_row, source_parent):
            return False
        if not (self._reading_state or self._reader):
            return True
        return row is None or bool(filter_rows([row], self._reading_state, self._reader))
