"""What a clinician reads about a model result, the same words in viewer, worklist, report
and command line: the percentile against normal ECGs, a plain verdict, flags in plain words.

The raw score (an unbounded log-likelihood-like number, often negative) is never shown to a
clinician; the percentile is. A percentile is printed with one decimal and never as 100.0 or
0.0: the normal reference is finite, so "> 99.9 %" / "< 0.1 %" is what can honestly be said.
Qt-free and torch-free.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

#: Percentile from which an ECG is called unusual / somewhat unusual.
UNUSUAL_FROM = 95.0
SOMEWHAT_FROM = 80.0

_FLAGS = {
    "no_r_peaks": "no R peaks found (flat, disconnected or asystole?): scored without beat "
    "views, and as unlike any normal ECG's beats",
    "derived_limb_leads": "limb leads III, aVR, aVL, aVF computed from I and II",
    "missing_leads": "some leads were missing and filled in for the model",
    "short_record_padded": "shorter than the model's 10 s window: padded",
}
_RESAMPLED = re.compile(r"^resampled_from_([0-9.]+)Hz$")


def _finite(p: float | None) -> bool:
    return p is not None and isinstance(p, int | float) and math.isfinite(p)


def percentile_text(p: float | None) -> str:
    """ "97.3 %", "> 99.9 %", "< 0.1 %"; "n/a" without a percentile."""
    if not _finite(p):
        return "n/a"
    p = float(p)  # type: ignore[arg-type]
    if p >= 99.95:
        return "> 99.9 %"
    if p < 0.05:
        return "< 0.1 %"
    return f"{p:.1f} %"


#: Beyond this many standard deviations above normal ECGs a finding's size is printed as
#: "> 20": the normals' spread is a bell only near them (a Q wave where normal ECGs have none
#: reads 100 SD and more, a number with no meaning but "far outside").
SD_SHOWN_UP_TO = 20.0


def sd_text(score: float | None) -> str:
    """A finding's size in SD above normal ECGs: "5.4", "> 20"; "-" without one."""
    if score is None or not math.isfinite(score):
        return "-"
    return f"> {SD_SHOWN_UP_TO:g}" if score > SD_SHOWN_UP_TO else f"{score:.1f}"


def verdict_word(p: float | None) -> str:
    """ "unusual", "somewhat unusual", "within normal range", or "no percentile"."""
    if not _finite(p):
        return "no percentile"
    if p >= UNUSUAL_FROM:  # type: ignore[operator]
        return "unusual"
    if p >= SOMEWHAT_FROM:  # type: ignore[operator]
        return "somewhat unusual"
    return "within normal range"


def table_verdict(p: float | None, flags: Iterable[str] | None = ()) -> str:
    """The verdict column of a score table (``ecgad score``): "not scored: recording problem"
    when leads off or clipped leave too few usable leads, "recording problem" when some are
    off or clipped, else :func:`verdict_word`; the flags column names the leads."""
    from ecgviewer.signal.quality import too_few_usable_leads, unusable_model_leads

    flags = tuple(flags or ())
    if too_few_usable_leads(flags):
        return "not scored: recording problem"
    if unusable_model_leads(flags):
        return "recording problem"
    return verdict_word(p)


def comparison(p: float | None) -> str:
    """ "More unusual than 97.3 % of normal ECGs" (what the percentile means), under a headline."""
    if not _finite(p):
        return "no percentile available for this model"
    # "More unusual than over 99.9 %" read garbled: at the top it is simply 99.9 %.
    pct = percentile_text(p).replace("> ", "").replace("< ", "under ")
    return f"More unusual than {pct} of normal ECGs"


def percentile_verdict(p: float | None) -> str:
    """One sentence: the verdict and the percentile it rests on."""
    if not _finite(p):
        return "no percentile available for this model"
    more = comparison(p)[0].lower() + comparison(p)[1:]
    word = verdict_word(p)
    if word == "within normal range":
        return f"within the range of normal ECGs ({more})"
    return f"{word.capitalize()} for a normal ECG: {more}"


def verdict(p: float | None, flags: Iterable[str] | None = ()) -> str:
    """The verdict in words; a recording problem in ``flags`` (ecgviewer.signal.quality) comes
    first: a lead off or clipped makes it a recording problem, not an unusual ECG; heavy noise
    or a suspected lead reversal a possible one, with how far the score can be trusted."""
    from ecgviewer.signal.quality import (
        parse_flags,
        quality_headline,
        scoring_note,
        unusable_model_leads,
    )

    flags = tuple(flags or ())
    found = parse_flags(flags)
    if not found:
        return percentile_verdict(p)
    unusable = bool(unusable_model_leads(flags))  # extra leads (V3R, ...) are not scored
    kind = "Recording problem, not an unusual ECG" if unusable else "Possible recording problem"
    head = f"{kind}: {quality_headline(flags)}."
    note = scoring_note(flags)
    if not _finite(p):
        return f"{head} {note[0].upper()}{note[1:]}."
    return f"{head} Score: {percentile_verdict(p)}; {note}."


def headline(p: float | None, n_findings: int = 0) -> str:
    """The analysis panel's bold line: "Unusual · above 99.9 % of normal ECGs"; an ECG that
    is not unusual as a whole but has ``n_findings`` local findings (a PVC, one odd lead)
    says so, so that "within normal range" does not stand over four findings at 99.9 %.
    The number keeps its "%" on its line (a no-break space): "percentile 0.8" above a lone
    "%" read as a misprint."""
    if not _finite(p):
        return "Scored (no percentile for this model)"
    line = f"{verdict_word(p).capitalize()} · {_rank_words(float(p))}"  # type: ignore[arg-type]
    if n_findings and verdict_word(p) != "unusual":
        line += f" · {n_findings} local finding{'s' if n_findings != 1 else ''}"
    return line


def _rank_words(p: float) -> str:
    """Where a percentile lies among normal ECGs, in words: "above 97.3 % of normal ECGs"."""
    if p >= 99.95:
        return "above 99.9\u00a0% of normal ECGs"
    if p < 0.05:
        return "lower than 99.9\u00a0% of normal ECGs"
    return f"above {p:.1f}\u00a0% of normal ECGs"


#: The anomaly score's parts (``ScoreResult.parts``) in words.
PART_WORDS = {
    "beat_knn": "beat shape (against normal ECGs' beats)",
    "measure_mahal": "measurements (intervals, axes, rate against normal ranges)",
    "measure_amp": "wave amplitudes",
    "qrst_angle": "QRS-T angle",
    "combined_w": "restoration error (how far it is from what the model restores as normal)",
}


def whole_ecg_reason(parts: dict[str, float] | None, limit: float = 1.0) -> str:
    """Why an ECG with no local finding is unusual: its score parts above ``limit`` SD, the
    largest first ("mostly its measurements (...) 4.1 SD, beat shape 2.3 SD"); "" when none
    stands out. An unusual headline over "findings: none" gave the reader nowhere to look."""
    ranked = sorted(
        ((v, k) for k, v in (parts or {}).items() if math.isfinite(v) and v > limit),
        reverse=True,
    )
    if not ranked:
        return ""
    said = [f"{PART_WORDS.get(k, k.replace('_', ' '))} {sd_text(v)} SD" for v, k in ranked[:3]]
    return "unusual as a whole, not in one place: mostly its " + ", then ".join(said)


#: The model's global measurement names (``ScoreResult.measure_z``) in words.
MEASURE_WORDS = {
    "heart_rate_bpm": "heart rate",
    "pr_ms": "PR",
    "qrs_ms": "QRS",
    "qtc_fridericia_ms": "QTc",
    "p_duration_ms": "P duration",
    "p_axis_deg": "P axis",
    "qrs_axis_deg": "QRS axis",
    "t_axis_deg": "T axis",
}


def measurement_note(
    measure_z: dict[str, float] | None, lead_in: str = "measurements beyond normal ECGs: "
) -> str:
    """The measurements far from normal ECGs', in words: "measurements beyond normal ECGs:
    PR longer (≥ 6 SD), QTc longer (4.3 SD)"; "" when none. Intervals read longer or shorter,
    axes and rate away from normal. Why: the measurements part of the score said that the
    numbers were unusual, not which (a first-degree AV block had no finding to point to)."""
    said = []
    for key, z in (measure_z or {}).items():
        name = MEASURE_WORDS.get(key, key.replace("_", " "))
        size = "≥ 6" if abs(z) >= 6.0 else f"{abs(z):.1f}"
        if key.endswith("_ms") or key == "heart_rate_bpm":
            way = (
                ("longer" if z > 0 else "shorter")
                if key.endswith("_ms")
                else ("faster" if z > 0 else "slower")
            )
            said.append(f"{name} {way} ({size} SD)")
        else:
            said.append(f"{name} ({size} SD from normal)")
    return lead_in + ", ".join(said) if said else ""


def flag_text(flag: str) -> str:
    """A flag the model or a reader set, in plain words."""
    if flag in _FLAGS:
        return _FLAGS[flag]
    m = _RESAMPLED.match(flag)
    if m:
        return f"resampled from {float(m.group(1)):g} Hz"
    return flag.replace("_", " ")


def flag_texts(flags: Iterable[str] | None) -> list[str]:
    """Every flag in plain words; signal-quality flags ("lead_off:V1,V2") as one phrase."""
    from ecgviewer.signal.quality import PROBLEMS, quality_headline

    flags = sorted(flags or ())
    quality = [f for f in flags if f.partition(":")[0] in PROBLEMS]
    out = [quality_headline(quality)] if quality else []
    return out + [flag_text(f) for f in flags if f not in quality]


def elapsed_text(t: float, long: bool | None = None) -> str:
    """Time from the recording's start: "7.5 s" for a short ECG, "1:02:05" (h:mm:ss) in a
    long one (``long`` defaults to t >= 60 s; an axis passes it so all its ticks agree)."""
    t = max(0.0, float(t))
    if long is None:
        long = t >= 60.0
    if not long:
        return f"{t:g} s"
    h, rem = divmod(int(round(t)), 3600)
    return f"{h}:{rem // 60:02d}:{rem % 60:02d}"
