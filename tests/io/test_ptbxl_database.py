"""PTB-XL's database CSV read with one set of rules (age 300, sex spellings, 500 Hz first)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecgviewer.errors import ECGError
from ecgviewer.io.ptbxl_database import ptbxl_age, ptbxl_sex, read_ptbxl_database

HEADER = "ecg_id,patient_id,age,sex,recording_date,scp_codes,strat_fold,filename_lr,filename_hr\n"


def _database(tmp_path: Path, rows: list[str], records: list[str]) -> Path:
    for name in records:
        (tmp_path / f"{name}.hea").parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f"{name}.hea").write_text("x 1 100 10\n")
    csv_path = tmp_path / "ptbxl_database.csv"
    csv_path.write_text(HEADER + "".join(r + "\n" for r in rows))
    return csv_path


def test_rules(tmp_path: Path) -> None:
    csv_path = _database(
        tmp_path,
        [
            "1,15709.0,56.0,1,1984-11-09 09:17:34,\"{'NORM': 100.0}\",3,lr/1_lr,hr/1_hr",
            "2,13243.0,300,0.0,1984-11-14 12:55:37,\"{'IMI': 15.0, 'NDT': 100.0}\",9,lr/2_lr,hr/2_hr",
            "3,20372.0,,1.0,,,,lr/3_lr,hr/3_hr",
            "4,1.0,50,0,,,2,lr/4_lr,hr/4_hr",  # no record on disk: skipped
        ],
        ["lr/1_lr", "hr/1_hr", "lr/2_lr", "lr/3_lr"],
    )
    rows = list(read_ptbxl_database(csv_path))
    assert [r.ecg_id for r in rows] == ["1", "2", "3"]
    assert rows[0].header == tmp_path / "hr/1_hr.hea"  # 500 Hz preferred
    assert rows[1].header == tmp_path / "lr/2_lr.hea"
    assert [(r.patient.id, r.patient.age, r.patient.sex) for r in rows] == [
        ("15709", 56.0, "F"),
        ("13243", 90.0, "M"),
        ("20372", None, "F"),
    ]
    assert [r.fold for r in rows] == [3, 9, None]
    assert rows[1].scp_codes == {"IMI": 15.0, "NDT": 100.0} and rows[2].scp_codes == {}
    assert rows[0].recording_date == "1984-11-09 09:17:34"


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("300", 90.0),
        ("300.0", 90.0),
        ("89", 89.0),
        ("-1", None),
        ("150", None),
        ("", None),
        ("x", None),
    ],
)
def test_age(text: str, age: float | None) -> None:
    assert ptbxl_age(text) == age


@pytest.mark.parametrize(
    ("text", "sex"),
    [("0", "M"), ("1", "F"), ("0.0", "M"), (" 1.0 ", "F"), ("2", None), ("", None), (None, None)],
)
def test_sex(text: str | None, sex: str | None) -> None:
    assert ptbxl_sex(text) == sex


def test_other_csv_refused(tmp_path: Path) -> None:
    other = tmp_path / "x.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(ECGError, match="not a PTB-XL"):
        list(read_ptbxl_database(other))


def test_worklist_and_model_read_alike(ptbxl_dir: Path) -> None:
    """The worklist source and model/ see the same records and demographics."""
    from ecgviewer.analysis.worklist_sources import scan_ptbxl_csv
    from model.data import read_ptbxl

    labelled = {str(r.path): r for r in read_ptbxl(ptbxl_dir)}
    entries = list(scan_ptbxl_csv(ptbxl_dir / "ptbxl_database.csv"))
    assert len(entries) == len(labelled) > 0
    for e in entries:
        lab = labelled[e.source]
        assert e.patient is not None
        assert (e.patient.age, e.patient.sex) == (lab.age, lab.sex)
        assert int(e.patient.id or -1) == lab.patient_id
