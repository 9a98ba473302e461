"""``ecgad score``: score files and print what a reader needs, as a table, JSON or CSV.

One row per ECG (a collection file gives one row per ECG in it): the file, the percentile
against normal ECGs and the verdict in the viewer's words (ecgviewer.wording), the leads the
model found most unusual, and the flags in plain words. A file that cannot be read or scored
gets a row with the reason and makes the exit status 2; the other files are still scored.
JSON is one array, written with ``allow_nan=False``: a missing number is ``null``, never NaN.
"""

from __future__ import annotations

import csv
import json
import math
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from ecgviewer.analysis.long_recording import scored_windows, window_bounds
from ecgviewer.errors import ECGError, printable
from ecgviewer.record import Record
from ecgviewer.signal.quality import too_few_usable_leads
from ecgviewer.wording import flag_texts, percentile_text, table_verdict

TABLE_COLUMNS = ("file", "percentile", "verdict", "top leads", "notes")
#: Longer recordings (Holter) are scored as 10 s windows, a batch at a time: the whole record
#: is never loaded or scored at once, so memory does not grow with its length.
LONG_RECORD_S = 60.0
WINDOW_S = 10.0
#: Windows read and scored together (memory), and network windows per model call.
WINDOW_BATCH = 32
NETWORK_BATCH = 64
CSV_COLUMNS = ("file", "entry", "percentile", "verdict", "top_leads", "notes", "score", "error")


def _number(value: Any) -> float | None:
    """A finite float, or None (JSON null) for None/NaN/inf."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def top_leads(lead_scores: dict[str, float] | None, n: int = 3) -> list[str]:
    """The ``n`` leads with the highest finite scores, most unusual first."""
    finite = {k: v for k, v in (lead_scores or {}).items() if _number(v) is not None}
    return sorted(finite, key=lambda k: -finite[k])[:n]


def result_row(file: str, entry: str, result: Any, ms: float) -> dict[str, Any]:
    """The JSON-able row of one scored ECG."""
    flags = sorted(getattr(result, "flags", None) or ())
    unscored = too_few_usable_leads(flags)  # no number for a record the quality check refuses
    pct = None if unscored else _number(getattr(result, "percentile", None))
    lead_scores = (
        {}
        if unscored
        else {k: _number(v) for k, v in (getattr(result, "lead_scores", None) or {}).items()}
    )
    return {
        "file": file,
        "entry": entry,
        "percentile": pct,
        "percentile_text": percentile_text(pct),
        "verdict": table_verdict(pct, flags),
        "top_leads": top_leads(lead_scores),
        "notes": flag_texts(flags),
        "flags": flags,
        "score": None if unscored else _number(getattr(result, "score", None)),
        "lead_scores": lead_scores,
        "model": dict(getattr(result, "model", None) or {}),
        "ms": round(ms, 1),
        "error": None,
    }


def error_row(file: str, entry: str, problem: str) -> dict[str, Any]:
    return {
        "file": file,
        "entry": entry,
        "percentile": None,
        "percentile_text": "n/a",
        "verdict": "not scored",
        "top_leads": [],
        "notes": [],
        "flags": [],
        "score": None,
        "lead_scores": {},
        "model": {},
        "ms": None,
        "error": problem,
    }


def _records(path: str, fs: float | None) -> Iterator[tuple[str, Record | ECGError]]:
    from ecgviewer import io

    loaded = io.read(path, **({"fs": fs} if fs else {}))
    if isinstance(loaded, Record):
        yield "", loaded
        return
    for entry in loaded:  # one at a time; a damaged ECG is its own error row, not the file's end
        try:
            record: Record | ECGError = entry.load()
        except ECGError as exc:
            record = exc
        yield entry.key, record


def score_rows(
    paths: Sequence[str], detector: Any, fs: float | None = None
) -> Iterator[dict[str, Any]]:
    """Rows in file order; a file that fails gives an error row and the rest go on."""
    for path in paths:
        entry = ""
        try:
            for entry, record in _records(path, fs):
                t0 = time.perf_counter()
                if isinstance(record, ECGError):
                    yield error_row(path, entry, record.problem)
                    continue
                if record.duration > LONG_RECORD_S:
                    yield long_record_row(path, entry, record, detector)
                    continue
                try:
                    result = detector.score(record)
                except ECGError as exc:
                    yield error_row(path, entry, exc.problem)
                    continue
                yield result_row(path, entry, result, 1000 * (time.perf_counter() - t0))
        except ECGError as exc:
            yield error_row(path, entry, exc.problem)


def long_record_row(path: str, entry: str, record: Record, detector: Any) -> dict[str, Any]:
    """A long recording scored 10 s window by window, :data:`WINDOW_BATCH` windows in memory
    at a time; the row is that of its most unusual window, plus ``windows``,
    ``windows_scored``, ``top_windows`` ([start s, end s, score, percentile], five) and
    ``not_scored`` (why windows were not scored: count)."""
    t0 = time.perf_counter()
    n = math.ceil(record.duration / WINDOW_S)
    best: tuple[float, Any, float, float] | None = None
    top: list[tuple[float, float, float, float | None]] = []
    problems: dict[str, int] = {}
    flags: set[str] = set()
    scored = 0
    windows = scored_windows(
        record, range(n), WINDOW_S, lambda: detector, chunk=WINDOW_BATCH, batch=NETWORK_BATCH
    )
    for outcomes in windows:
        for i, res in outcomes:
            if res is None:  # a tail too short for beats
                continue
            w0, w1 = window_bounds(i, WINDOW_S, record.duration)
            score = None if isinstance(res, ECGError) else _number(getattr(res, "score", None))
            if score is None:
                problem = res.problem if isinstance(res, ECGError) else "non-finite score"
                problems[problem] = problems.get(problem, 0) + 1
                continue
            scored += 1
            flags |= set(getattr(res, "flags", None) or ())
            top = sorted(
                [*top, (score, w0, w1, _number(getattr(res, "percentile", None)))],
                key=lambda w: -w[0],
            )[:5]
            if best is None or score > best[0]:
                best = (score, res, w0, w1)
    if best is None:
        why = max(problems, key=problems.__getitem__) if problems else "too short"
        return error_row(path, entry, f"no 10 s window of the recording could be scored ({why})")
    row = result_row(path, entry, best[1], 1000 * (time.perf_counter() - t0))
    row["flags"] = sorted(flags)
    row["notes"] = [
        f"most unusual of {scored} 10 s windows: {best[2]:.0f}-{best[3]:.0f} s",
        *flag_texts(sorted(flags)),
    ]
    row.update(
        {
            "windows": n,
            "windows_scored": scored,
            "not_scored": problems,
            "top_windows": [[w0, w1, s, p] for s, w0, w1, p in top],
        }
    )
    return row


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """A plain-text table; the notes column may be long and comes last."""
    cells = []
    for r in rows:
        name = printable(r["file"] + (f" [{r['entry']}]" if r["entry"] else ""))
        if r["error"]:
            cells.append((name, "-", "not scored", "-", r["error"]))
        else:
            cells.append(
                (
                    name,
                    r["percentile_text"],
                    r["verdict"],
                    ", ".join(r["top_leads"]) or "-",
                    "; ".join(r["notes"]) or "-",
                )
            )
    widths = [
        max(len(str(c[i])) for c in [TABLE_COLUMNS, *cells]) for i in range(len(TABLE_COLUMNS) - 1)
    ]
    lines = []
    for row in [TABLE_COLUMNS, *cells]:
        left = "  ".join(str(c).ljust(w) for c, w in zip(row[:-1], widths, strict=True))
        lines.append(f"{left}  {row[-1]}".rstrip())
    return "\n".join(lines)


def write_csv(rows: Sequence[dict[str, Any]], out: TextIO) -> None:
    """One row per ECG; cells printable (a file name that is not UTF-8 must not stop it)."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow(
            printable(cell)
            for cell in [
                r["file"],
                r["entry"],
                "" if r["percentile"] is None else f"{r['percentile']:.1f}",
                r["verdict"],
                " ".join(r["top_leads"]),
                "; ".join(r["notes"]),
                "" if r["score"] is None else repr(r["score"]),
                r["error"] or "",
            ]
        )


def score_files(
    paths: Sequence[str],
    *,
    json_out: bool = False,
    csv_out: str | None = None,
    weights: str | None = None,
    device: str = "auto",
    fs: float | None = None,
    detector: Any = None,
    stdout: TextIO | None = None,
) -> int:
    """``ecgad score``: 0 when every ECG was scored, 2 when one could not be (its row says why).

    Raises ModelError (exit status 2 in the CLI) when the model cannot be loaded."""
    stdout = stdout or sys.stdout
    if detector is None:
        from model.infer import Detector  # torch: only now, not for --help

        detector = Detector.load(weights, device=device)
    rows = list(score_rows(paths, detector, fs))
    if json_out:
        stdout.write(json.dumps(rows, allow_nan=False, indent=1) + "\n")
    else:
        stdout.write(format_table(rows) + "\n")
    if csv_out:
        from ecgviewer.errors import FileAccessError

        try:
            with open(csv_out, "w", newline="", encoding="utf-8") as fh:
                write_csv(rows, fh)
        except OSError as exc:
            raise FileAccessError(csv_out, f"cannot write the CSV: {exc.strerror or exc}") from exc
    return 2 if any(r["error"] for r in rows) else 0
