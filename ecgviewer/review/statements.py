"""The built-in library of interpretation statements, searched as the reader types.

A reader picks statements by short code (typed, completed) the way statement libraries of
ECG management systems work; the full text is what the report prints. Codes follow the SCP-ECG
statement acronyms PTB-XL uses where one exists (``1AVB``, ``CLBBB``, ``IMI``), so a PTB-XL
label and a reader's statement read alike. An unknown code is refused with the close matches
(:mod:`difflib`, the standard library's fuzzy matcher), never stored as a typo.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from ecgviewer.errors import ECGError

#: Statement categories, in the order the library lists them.
CATEGORIES = (
    "summary",
    "rhythm",
    "conduction",
    "axis",
    "hypertrophy",
    "ischaemia/infarction",
    "repolarisation",
    "quality",
)


class ReadingError(ECGError):
    """A reader's action that cannot be done (unknown code, invalid state change, bad
    fiducials); the message says why and what to do instead."""

    def __init__(self, problem: str) -> None:
        Exception.__init__(self, problem)
        self.path = None
        self.problem = problem


@dataclass(frozen=True)
class Statement:
    code: str
    text: str
    category: str


def _s(category: str, *pairs: tuple[str, str]) -> list[Statement]:
    return [Statement(code, text, category) for code, text in pairs]


LIBRARY: tuple[Statement, ...] = tuple(
    _s(
        "summary",
        ("NORM", "Normal ECG"),
        ("BORD", "Borderline ECG"),
        ("ABNL", "Abnormal ECG"),
        ("OTHR", "Otherwise normal ECG"),
        ("CMPR", "No significant change compared with the previous ECG"),
    )
    + _s(
        "rhythm",
        ("SR", "Sinus rhythm"),
        ("SBRAD", "Sinus bradycardia"),
        ("STACH", "Sinus tachycardia"),
        ("SARRH", "Sinus arrhythmia"),
        ("AFIB", "Atrial fibrillation"),
        ("AFLT", "Atrial flutter"),
        ("SVTAC", "Supraventricular tachycardia"),
        ("PSVT", "Paroxysmal supraventricular tachycardia"),
        ("PAC", "Premature atrial complexes"),
        ("PVC", "Premature ventricular complexes"),
        ("BIGU", "Ventricular bigeminy"),
        ("TRIGU", "Ventricular trigeminy"),
        ("VTAC", "Ventricular tachycardia"),
        ("JRHY", "Junctional rhythm"),
        ("EAR", "Ectopic atrial rhythm"),
        ("PACE", "Electronic ventricular pacemaker rhythm"),
        ("APACE", "Electronic atrial pacing"),
    )
    + _s(
        "conduction",
        ("1AVB", "First-degree AV block"),
        ("2AVB1", "Second-degree AV block, Mobitz I (Wenckebach)"),
        ("2AVB2", "Second-degree AV block, Mobitz II"),
        ("3AVB", "Third-degree (complete) AV block"),
        ("CRBBB", "Complete right bundle branch block"),
        ("IRBBB", "Incomplete right bundle branch block"),
        ("CLBBB", "Complete left bundle branch block"),
        ("ILBBB", "Incomplete left bundle branch block"),
        ("LAFB", "Left anterior fascicular block"),
        ("LPFB", "Left posterior fascicular block"),
        ("IVCD", "Non-specific intraventricular conduction delay"),
        ("WPW", "Ventricular pre-excitation (Wolff-Parkinson-White pattern)"),
        ("SPR", "Short PR interval"),
    )
    + _s(
        "axis",
        ("NAXIS", "Normal QRS axis"),
        ("LAD", "Left axis deviation"),
        ("RAD", "Right axis deviation"),
        ("EAXIS", "Extreme (northwest) axis"),
        ("INDAX", "Indeterminate axis"),
    )
    + _s(
        "hypertrophy",
        ("LVH", "Left ventricular hypertrophy"),
        ("LVHR", "Left ventricular hypertrophy with repolarisation abnormality"),
        ("RVH", "Right ventricular hypertrophy"),
        ("LAO", "Left atrial enlargement"),
        ("RAO", "Right atrial enlargement"),
        ("BAE", "Biatrial enlargement"),
        ("LVOLT", "Low QRS voltage"),
        ("HVOLT", "High QRS voltage"),
    )
    + _s(
        "ischaemia/infarction",
        ("STEMI", "ST elevation, consider acute myocardial infarction"),
        ("AMI", "Anterior myocardial infarction"),
        ("ASMI", "Anteroseptal myocardial infarction"),
        ("ALMI", "Anterolateral myocardial infarction"),
        ("LMI", "Lateral myocardial infarction"),
        ("IMI", "Inferior myocardial infarction"),
        ("ILMI", "Inferolateral myocardial infarction"),
        ("PMI", "Posterior myocardial infarction"),
        ("OLDMI", "Old myocardial infarction, age undetermined"),
        ("ISCAN", "Anterior ischaemia"),
        ("ISCIN", "Inferior ischaemia"),
        ("ISCLA", "Lateral ischaemia"),
        ("STDEP", "ST depression"),
        ("STELV", "ST elevation"),
        ("QWAVE", "Pathological Q waves"),
    )
    + _s(
        "repolarisation",
        ("NSTT", "Non-specific ST-T abnormality"),
        ("INVT", "T-wave inversion"),
        ("LOWT", "Low-amplitude (flat) T waves"),
        ("LQT", "Prolonged QT interval"),
        ("SQT", "Short QT interval"),
        ("ERP", "Early repolarisation"),
        ("PRUW", "Prominent U waves"),
        ("DIG", "Digitalis effect"),
        ("ELEC", "Consider electrolyte abnormality"),
    )
    + _s(
        "quality",
        ("NOISE", "Noisy recording, interpretation limited"),
        ("BLW", "Baseline wander"),
        ("ARTF", "Artefact"),
        ("LREV", "Limb lead reversal suspected"),
        ("PLAC", "Precordial lead misplacement suspected"),
        ("MISL", "Missing or disconnected lead"),
        ("REPT", "Repeat the ECG"),
    )
)

_BY_CODE: dict[str, Statement] = {s.code: s for s in LIBRARY}


def lookup(code: str) -> Statement:
    """The statement with ``code`` (case-insensitive).

    Raises
    ------
    ReadingError
        Unknown code; the message lists the close matches.
    """
    key = code.strip().upper()
    if key in _BY_CODE:
        return _BY_CODE[key]
    close = difflib.get_close_matches(key, list(_BY_CODE), n=5, cutoff=0.5)
    # Also match on the words of the full text ("afib" -> AFIB, "flutter" -> AFLT).
    for s in search(code, limit=5):
        if s.code not in close:
            close.append(s.code)
    hint = (
        "; close matches: " + ", ".join(f"{c} ({_BY_CODE[c].text})" for c in close[:5])
        if close
        else "; type part of the text to search the library"
    )
    raise ReadingError(f"unknown statement code {code.strip()!r}{hint}")


def search(text: str, favourites: Iterable[str] = (), limit: int = 12) -> list[Statement]:
    """Statements matching what the reader has typed, best first.

    Ranking: the exact code, then the reader's favourites, then code prefix, then a word of the text starting with
    it, then code or text containing it. Empty text lists the favourites.
    """
    fav = [c.upper() for c in favourites]
    q = text.strip().lower()
    ranked: list[tuple[int, int, int, int, str]] = []
    for i, s in enumerate(LIBRARY):
        code, full = s.code.lower(), s.text.lower()
        if not q:
            rank = 0 if s.code in fav else None
        elif code == q:
            rank = 0
        elif code.startswith(q):
            rank = 1
        elif any(w.startswith(q) for w in full.replace("(", " ").replace(",", " ").split()):
            rank = 2
        elif q in code or q in full:
            rank = 3
        else:
            rank = None
        if rank is not None:
            ranked.append((0 if rank == 0 and q else 1, 0 if s.code in fav else 1, rank, i, s.code))
    ranked.sort()
    return [_BY_CODE[code] for *_, code in ranked[:limit]]


def by_category() -> dict[str, list[Statement]]:
    """The library grouped by category, in :data:`CATEGORIES` order."""
    return {c: [s for s in LIBRARY if s.category == c] for c in CATEGORIES}
