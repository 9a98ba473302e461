"""PTB-XL's ``ptbxl_database.csv``: one reader with one set of rules, for the worklist and model/.

PTB-XL spells a few things its own way, and every user must read them alike:

- ``age`` 300 stands for "90 or older" (HIPAA): read as 90; other ages outside 0-120 are unknown.
- ``sex`` 0 is male, 1 female, written ``0``/``1`` or ``0.0``/``1.0`` depending on the export.
- ``patient_id`` is written as a float (``15709.0``): kept as ``"15709"``.
- The 500 Hz record (``filename_hr``) is used when its header exists, else the 100 Hz one;
  rows whose records are absent are skipped (a partial download is usable).
"""

from __future__ import annotations

import ast
import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ecgviewer.errors import ECGError
from ecgviewer.record import Patient

__all__ = ["PtbxlRow", "ptbxl_age", "ptbxl_patient_id", "ptbxl_sex", "read_ptbxl_database"]

#: PTB-XL's code for "older than 89".
AGE_90_PLUS_CODE = 300.0


@dataclass(frozen=True)
class PtbxlRow:
    """One row of the database whose record exists beside the CSV."""

    header: Path  # the record's .hea (500 Hz when present)
    ecg_id: str
    patient: Patient
    fold: int | None  # strat_fold, None when absent
    recording_date: str
    scp_codes_text: str = field(repr=False)

    @property
    def scp_codes(self) -> dict[str, float]:
        """The statement codes with their likelihoods (``{"NORM": 100.0}``)."""
        return dict(ast.literal_eval(self.scp_codes_text)) if self.scp_codes_text.strip() else {}


def ptbxl_age(text: str | None) -> float | None:
    """Age in years; the code 300 (90 or older) reads as 90, nonsense as unknown."""
    try:
        age = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    if age is not None and not 0 <= age <= 120:
        return 90.0 if age >= AGE_90_PLUS_CODE else None
    return age


def ptbxl_sex(text: str | None) -> str | None:
    """ "M"/"F" from PTB-XL's 0 (male) / 1 (female), in either spelling."""
    return {"0": "M", "1": "F", "0.0": "M", "1.0": "F"}.get((text or "").strip())


def ptbxl_patient_id(text: str | None) -> str | None:
    """The patient id without the float spelling's ``.0``; None when empty."""
    text = (text or "").strip()
    return text[:-2] if text.endswith(".0") else (text or None)


def _fold(text: str | None) -> int | None:
    try:
        return int(float(text)) if text not in (None, "") else None
    except ValueError:
        return None


def read_ptbxl_database(csv_path: str | Path) -> Iterator[PtbxlRow]:
    """Rows of a PTB-XL style ``ptbxl_database.csv`` whose record exists (read lazily).

    Raises
    ------
    ECGError
        The file is not a PTB-XL style database (no ``filename_lr`` column).
    """
    csv_path = Path(csv_path)
    base = csv_path.parent
    with open(csv_path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "filename_lr" not in reader.fieldnames:
            raise ECGError(csv_path, "is not a PTB-XL style database CSV (no filename_lr column)")
        for rec in reader:
            hea = None
            for col in ("filename_hr", "filename_lr"):
                name = (rec.get(col) or "").strip()
                if name and (base / f"{name}.hea").is_file():
                    hea = base / f"{name}.hea"
                    break
            if hea is None:
                continue
            patient = Patient(
                id=ptbxl_patient_id(rec.get("patient_id")),
                age=ptbxl_age(rec.get("age")),
                sex=ptbxl_sex(rec.get("sex")),
            )
            yield PtbxlRow(
                header=hea,
                ecg_id=(rec.get("ecg_id") or "").strip(),
                patient=patient,
                fold=_fold(rec.get("strat_fold")),
                recording_date=(rec.get("recording_date") or "").strip(),
                scp_codes_text=rec.get("scp_codes") or "",
            )
