"""The generated intake workbook: layout, validation, protection, greying out, print set-up."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from intake_support import mini
from openpyxl import load_workbook

from pipeline.answers_io import fill_workbook
from pipeline.errors import OutputExistsError
from pipeline.questions import load_questions
from pipeline.validate import validate_workbook
from pipeline.workbook import (
    META_SHEET,
    TEMPLATE_VERSION,
    build_workbook,
    condition_to_excel,
    write_template,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("wb") / "intake.xlsx"
    write_template(path)
    return path


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("wb") / "mini.xlsx"
    write_template(path, catalogue=mini())
    return path


def test_sheets_and_metadata(real: Path):
    cat = load_questions()
    wb = load_workbook(real)
    assert wb.sheetnames[0] == "Vejledning"
    for section in cat.sections:
        assert section.sheet in wb.sheetnames
    meta = wb[META_SHEET]
    assert meta.sheet_state == "veryHidden"
    values = {meta.cell(row=r, column=1).value: meta.cell(row=r, column=2).value for r in range(1, 8)}
    assert values["template_version"] == TEMPLATE_VERSION
    assert values["catalogue_version"] == cat.version
    assert values["catalogue_sha256"] == cat.sha256
    assert wb["_lister"].sheet_state == "hidden"
    assert wb.security.lockStructure


def test_question_rows(small: Path):
    wb = load_workbook(small)
    ws = wb["1 Sag"]
    assert ws.column_dimensions["A"].hidden
    assert ws["A4"].value == "authority_name"
    assert ws["B4"].value == "Myndighedens navn"
    assert ws["C4"].value == "*"  # required mark
    assert ws["C7"].value is None  # kle_number is optional
    assert ws["E4"].value == "Fx Aarhus Kommune."
    assert ws.protection.sheet and ws.protection.password is None
    assert ws["D4"].protection.locked is False
    assert ws["B4"].protection.locked is True
    assert ws["D10"].number_format == "dd-mm-yyyy"  # document_date
    assert ws["D6"].number_format == "@"  # cvr as text


def test_data_validations(small: Path):
    wb = load_workbook(small)
    ws = wb["1 Sag"]
    by_cell = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    choice = by_cell["D5"]
    assert choice.type == "list" and choice.formula1.startswith("'_lister'!$")
    lists = wb["_lister"]
    col = choice.formula1.split("!$")[1].split("$")[0]
    assert [lists[f"{col}{i}"].value for i in range(1, 4)] == ["Kommune", "Region", "Statslig myndighed"]
    date = by_cell["D10"]
    assert date.type == "date" and "dd-mm-åååå" in date.error
    assert by_cell["D4"].showInputMessage and by_cell["D4"].prompt == "Fx Aarhus Kommune."
    data = {str(dv.sqref): dv for dv in wb["2 Data"].data_validations.dataValidation}
    number = data["D10"]  # affected_count
    assert number.type == "decimal" and number.formula1 == "0" and number.formula2 == "100000000"
    pct = data["D11"]  # accuracy
    assert pct.formula1 == "0" and pct.formula2 == "1"


def test_multi_choice_rows(small: Path):
    ws = load_workbook(small)["2 Data"]
    assert ws["A5"].value == "data_categories"
    assert [ws[f"A{r}"].value for r in (6, 7, 8)] == [
        "data_categories:almindelige", "data_categories:cpr", "data_categories:helbred"]
    assert ws["D6"].protection.locked is False and ws["D5"].protection.locked is True
    dv = next(d for d in ws.data_validations.dataValidation if "D6" in str(d.sqref))
    assert dv.type == "list"


def test_conditional_greying(small: Path):
    ws = load_workbook(small)["2 Data"]
    rules = {str(rng.sqref): [r.formula[0] for r in rng.rules] for rng in ws.conditional_formatting}
    # data_categories (rows 5-8) applies if personal_data == true
    assert rules["B5:E8"] == ["NOT('2 Data'!$D$4=\"Ja\")"]
    # health_basis: personal_data == true and "helbred" in data_categories
    assert rules["B9:E9"] == ["NOT(AND('2 Data'!$D$4=\"Ja\",'2 Data'!$D$8=\"Ja\"))"]
    # large_scale_note: affected_count >= 10000
    assert rules["B12:E12"] == ["NOT(AND(ISNUMBER('2 Data'!$D$10),'2 Data'!$D$10>=10000))"]


def test_every_real_condition_translates_or_is_skipped():
    cat = load_questions()
    wb = build_workbook(cat)
    translated = sum(
        1 for ws in wb.worksheets for rng in ws.conditional_formatting for _ in rng.rules
    )
    with_condition = sum(1 for q in cat.questions if q.applies_if)
    assert translated >= 0.9 * with_condition
    assert condition_to_excel(None, cat, {}, "da") is None


def test_table_sheet(small: Path):
    wb = load_workbook(small)
    ws = wb["Risici"]
    assert ws["A1"].value == "risks"
    table = ws.tables["T_risks"]
    assert table.ref == "B4:F34"  # header + 30 rows
    assert ws["B4"].value == "Beskrivelse *"
    assert ws["B34"].protection.locked is False
    assert ws["B35"].protection.locked is True
    assert ws.row_dimensions[3].hidden


def test_print_setup(real: Path):
    wb = load_workbook(real)
    for ws in wb.worksheets:
        if ws.sheet_state != "visible":
            continue
        assert int(ws.page_setup.paperSize) == 9  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.page_setup.fitToWidth == 1


def test_english_template(tmp_path: Path):
    path = write_template(tmp_path / "en.xlsx", lang="en", catalogue=mini())
    wb = load_workbook(path)
    assert wb.sheetnames[0] == "Instructions"
    assert wb["1 Sag"]["B4"].value == "Name of the authority"
    answers = {"authority_type": "region", "personal_data": True, "data_categories": ["cpr"]}
    filled = fill_workbook(answers, tmp_path / "en-filled.xlsx", catalogue=mini(), lang="en")
    assert load_workbook(filled)["1 Sag"]["D5"].value == "Region"
    intake = validate_workbook(filled, mini())
    assert {k: intake.answers[k] for k in answers} == answers


def test_write_template_refuses_overwrite(tmp_path: Path):
    p = tmp_path / "x.xlsx"
    p.write_bytes(b"keep")
    with pytest.raises(OutputExistsError):
        write_template(p, catalogue=mini())
    assert p.read_bytes() == b"keep"
    write_template(p, catalogue=mini(), force=True)
    assert p.read_bytes()[:2] == b"PK"


def test_committed_templates_and_examples_are_current():
    import importlib.util

    spec = importlib.util.spec_from_file_location("build", ROOT / "intake_templates" / "build.py")
    assert spec and spec.loader
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    stale = [p.name for p in build.outputs() if not build.is_current(p)]
    assert not stale, f"run .venv/bin/python intake_templates/build.py ({stale})"


# ---------------------------------------------------------------------------------------------------
# LibreOffice round trip
# ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def soffice() -> str:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if not exe:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("LibreOffice (soffice) mangler i CI")
        pytest.skip("LibreOffice (soffice) er ikke installeret")
    return exe


@pytest.mark.libreoffice
def test_libreoffice_round_trip(soffice: str, tmp_path: Path):
    answers = {
        "authority_name": "Region Midtjylland",
        "authority_type": "region",
        "cvr": "29190925",
        "document_date": dt.date(2026, 11, 2),
        "purpose": "Linje 1\nLinje 2",
        "phase": "udvikling",
        "dev_notes": "=ikke en formel",
        "personal_data": True,
        "data_categories": ["cpr", "helbred"],
        "health_basis": "Sundhedsloven",
        "affected_count": 250000,
        "accuracy": 92.5,
        "large_scale_note": "Hele regionen",
        "risks": [{"description": "Skævhed", "likelihood": 3, "level": "hoej", "deadline": dt.date(2027, 6, 30),
                   "handled": False}],
    }
    cat = mini()
    src = fill_workbook(answers, tmp_path / "udfyldt.xlsx", catalogue=cat)
    assert validate_workbook(src, cat).answers == answers
    out = tmp_path / "lo"
    out.mkdir()
    profile = (tmp_path / "profile").as_uri()
    proc = subprocess.run(
        [soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "xlsx", "--outdir", str(out),
         str(src)],
        capture_output=True, timeout=180, check=False,
    )
    converted = out / "udfyldt.xlsx"
    assert converted.is_file(), proc.stderr.decode(errors="replace")
    intake = validate_workbook(converted, cat)
    assert intake.valid, intake.issues
    assert intake.answers == answers
    wb = load_workbook(converted)
    assert wb["1 Sag"].data_validations.dataValidation, "dropdowns survive LibreOffice"
    assert wb["1 Sag"].protection.sheet


@pytest.mark.libreoffice
def test_libreoffice_round_trip_real_example(soffice: str, tmp_path: Path):
    """A committed example (real catalogue, shared strings after LibreOffice) reads back unchanged."""
    src = sorted((ROOT / "intake_templates" / "examples").glob("*.xlsx"))[1]
    before = validate_workbook(src)
    out = tmp_path / "lo"
    out.mkdir()
    subprocess.run(
        [soffice, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless", "--convert-to", "xlsx",
         "--outdir", str(out), str(src)],
        capture_output=True, timeout=180, check=False,
    )
    after = validate_workbook(out / src.name)
    assert after.answers == before.answers
    assert [i.code for i in after.issues] == [i.code for i in before.issues]
