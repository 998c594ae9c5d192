"""Validation: tolerant Danish parsing, all issues at once with sheet/cell/question, applicability."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from intake_support import mini, sha
from openpyxl import load_workbook

from pipeline.answers_io import fill_workbook
from pipeline.errors import InputFileError
from pipeline.migrations import MIGRATIONS, Migration
from pipeline.questions import Column, Option, Text
from pipeline.validate import (
    ISSUE_CODES,
    ParseError,
    annotate_workbook,
    cvr_valid,
    parse_value,
    validate_workbook,
)

CAT = mini()
Q = CAT.by_id
BASE = {
    "authority_name": "Aarhus Kommune",
    "authority_type": "kommune",
    "cvr": "55133018",
    "document_date": dt.date(2026, 1, 5),
    "purpose": "Prioritering af sager",
    "phase": "anvendelse",
    "personal_data": True,
    "data_categories": ["cpr"],
}


@pytest.mark.parametrize(
    ("qid", "raw", "expected"),
    [
        ("personal_data", "Ja", True),
        ("personal_data", "nej", False),
        ("personal_data", " JA ", True),
        ("personal_data", "Yes", True),
        ("personal_data", True, True),
        ("personal_data", 0.0, False),
        ("document_date", "5-1-2026", dt.date(2026, 1, 5)),
        ("document_date", "05.01.2026", dt.date(2026, 1, 5)),
        ("document_date", "05/01/2026", dt.date(2026, 1, 5)),
        ("document_date", "2026-01-05", dt.date(2026, 1, 5)),
        ("document_date", "5. januar 2026", dt.date(2026, 1, 5)),
        ("document_date", 46027.0, dt.date(2026, 1, 5)),
        ("document_date", "\u00a005-01-2026 ", dt.date(2026, 1, 5)),
        ("accuracy", "0,85", 85.0),
        ("accuracy", "85 %", 85.0),
        ("accuracy", "85\u00a0%", 85.0),
        ("accuracy", 0.85, 85.0),
        ("accuracy", "12,5%", 12.5),
        ("affected_count", "10.000", 10000),
        ("affected_count", "1.234,5", 1234.5),
        ("affected_count", " 42 ", 42),
        ("affected_count", 7.0, 7),
        ("authority_type", "Kommune", "kommune"),
        ("authority_type", "  statslig   MYNDIGHED ", "stat"),
        ("authority_type", "region", "region"),
        ("authority_type", "Municipality", "kommune"),
        ("cvr", "DK 55 13 30 18", "55133018"),
        ("cvr", 55133018.0, "55133018"),
        ("kle_number", " 27.24.00 ", "27.24.00"),
        ("kle_facet", "g01", "G01"),
        ("contact_email", "mailto:Anne@Aarhus.dk", "Anne@Aarhus.dk"),
        ("authority_name", "Aarhus\u00a0\u00a0Kommune ", "Aarhus Kommune"),
        ("purpose", " Linje 1\r\nLinje  2 ", "Linje 1\nLinje 2"),
    ],
)
def test_tolerant_parsing(qid, raw, expected):
    assert parse_value(Q[qid], raw) == expected


@pytest.mark.parametrize(
    ("qid", "raw", "code"),
    [
        ("personal_data", "måske", "invalid_yes_no"),
        ("document_date", "31-02-2026", "invalid_date"),
        ("document_date", "i morgen", "invalid_date"),
        ("document_date", "01-01-1850", "date_out_of_range"),
        ("affected_count", "mange", "invalid_number"),
        ("affected_count", "-5", "number_out_of_range"),
        ("accuracy", "120 %", "number_out_of_range"),
        ("authority_type", "Amt", "invalid_choice"),
        ("cvr", "1234567", "invalid_cvr"),
        ("cvr", "55133019", "invalid_cvr_checksum"),
        ("kle_number", "27.24", "invalid_kle"),
        ("kle_number", "27-24-00", "invalid_kle"),
        ("kle_facet", "G1", "invalid_kle_facet"),
        ("contact_email", "anne(at)aarhus.dk", "invalid_email"),
        ("case_number", "sag 12", "pattern_mismatch"),
        ("authority_name", "a\x07b", "control_characters"),
        ("authority_name", "x" * 40000, "text_too_long"),
    ],
)
def test_parse_errors_have_codes(qid, raw, code):
    with pytest.raises(ParseError) as info:
        parse_value(Q[qid], raw)
    assert info.value.code == code
    assert code in ISSUE_CODES


def test_cvr_modulus_11():
    assert cvr_valid("55133018")
    assert not cvr_valid("55133017")
    # weights 2,7,6,5,4,3,2,1: construct one by hand
    digits = "1234567"
    total = sum(int(d) * w for d, w in zip(digits, (2, 7, 6, 5, 4, 3, 2), strict=True))
    check = (-total) % 11
    if check < 10:
        assert cvr_valid(digits + str(check))


def test_multi_choice_in_table_cell():
    col = Column(id="c", type="multi_choice", label=Text(da="x"),
                 options=[Option(code="a", label=Text(da="Alfa")), Option(code="b", label=Text(da="Beta"))])
    assert parse_value(col, "beta; Alfa") == ["a", "b"]


def _filled(tmp_path: Path, answers: dict, name: str = "ark.xlsx", edit=None) -> Path:
    path = tmp_path / name
    fill_workbook(answers, path, catalogue=CAT)
    if edit:
        wb = load_workbook(path)
        edit(wb)
        wb.save(path)
    return path


def _flat(intake):
    return sorted([i.severity, i.sheet, i.cell, i.code, i.question_id] for i in intake.issues)


def test_valid_workbook(tmp_path: Path):
    intake = validate_workbook(_filled(tmp_path, BASE), CAT)
    assert intake.valid, intake.issues
    assert intake.answers == BASE
    assert intake.locations["cvr"].sheet == "1 Sag" and intake.locations["cvr"].cell == "D6"
    assert intake.source.template_version == "1.0"
    assert intake.source.catalogue_version == "0.1.0"


def test_all_problems_at_once_with_locations(tmp_path: Path):
    def edit(wb):
        ws = wb["1 Sag"]
        ws["D6"] = "55133019"  # cvr checksum
        ws["D10"] = "31-02-2026"  # document_date
        ws["D5"] = "Amt"  # authority_type
        ws["D4"] = None  # authority_name (required)
        wb["Risici"]["C5"] = "5"  # likelihood out of range

    answers = dict(BASE, risks=[{"description": "Bias", "likelihood": 2}])
    intake = validate_workbook(_filled(tmp_path, answers, edit=edit), CAT)
    assert not intake.valid
    assert _flat(intake) == sorted([
        ["error", "1 Sag", "D4", "required_missing", "authority_name"],
        ["error", "1 Sag", "D5", "invalid_choice", "authority_type"],
        ["error", "1 Sag", "D6", "invalid_cvr_checksum", "cvr"],
        ["error", "1 Sag", "D10", "invalid_date", "document_date"],
        ["error", "Risici", "C5", "number_out_of_range", "risks"],
    ])
    bad = next(i for i in intake.issues if i.code == "invalid_cvr_checksum")
    assert bad.value == "55133019" and bad.question_label == "CVR-nummer"
    assert "authority_type" not in intake.answers


def test_not_applicable_answers_are_warned_and_removed(tmp_path: Path):
    answers = dict(BASE, personal_data=False, dev_notes="kun i udvikling")
    answers.pop("data_categories")

    def edit(wb):
        ws = wb["2 Data"]
        ws["D8"] = "Ja"  # health option row of data_categories
    path = _filled(tmp_path, answers, edit=edit)
    intake = validate_workbook(path, CAT)
    codes = {(i.code, i.question_id, i.severity) for i in intake.issues}
    assert ("not_applicable_answer", "dev_notes", "warning") in codes
    # "no personal data" but a category ticked is a contradiction (catalogue: conflict_if_inapplicable)
    assert ("contradictory_answers", "data_categories", "error") in codes
    assert "dev_notes" not in intake.answers and "data_categories" not in intake.answers
    assert not intake.valid
    msg = next(i.message for i in intake.issues if i.question_id == "data_categories")
    assert "Behandler systemet personoplysninger?" in msg


def test_cascading_applicability(tmp_path: Path):
    # health_basis depends on data_categories which depends on personal_data
    answers = dict(BASE, data_categories=["helbred"], health_basis="art. 9, stk. 2, litra h")
    intake = validate_workbook(_filled(tmp_path, answers), CAT)
    assert intake.answers["health_basis"].startswith("art. 9")

    def edit(wb):
        wb["2 Data"]["D4"] = "Nej"

    intake = validate_workbook(_filled(tmp_path, answers, name="b.xlsx", edit=edit), CAT)
    assert "health_basis" not in intake.answers and "data_categories" not in intake.answers
    assert {i.question_id for i in intake.issues if i.code == "not_applicable_answer"} == {"health_basis"}
    assert {i.question_id for i in intake.issues if i.code == "contradictory_answers"} == {"data_categories"}


def test_required_if_applicable(tmp_path: Path):
    answers = dict(BASE, phase="udvikling")
    intake = validate_workbook(_filled(tmp_path, answers), CAT)
    assert [(i.code, i.question_id) for i in intake.issues] == [("required_missing", "dev_notes")]


def test_contradictory_exclusive_choice(tmp_path: Path, monkeypatch):
    from pipeline import validate as v

    monkeypatch.setattr(v, "EXCLUSIVE_PREFIX", "almindelige")
    intake = validate_workbook(_filled(tmp_path, dict(BASE, data_categories=["almindelige", "cpr"])), CAT)
    issue = next(i for i in intake.issues if i.code == "contradictory_choices")
    assert issue.sheet == "2 Data" and issue.cell == "D6"


def test_table_rows(tmp_path: Path):
    rows = [{"description": "A", "likelihood": 1, "level": "lav", "deadline": dt.date(2027, 3, 1), "handled": True},
            {"description": "B", "likelihood": 4}]

    def edit(wb):
        ws = wb["Risici"]
        ws["B8"] = "   "  # blank row ignored
        ws["C9"] = 3  # row without the required description
    intake = validate_workbook(_filled(tmp_path, dict(BASE, risks=rows), edit=edit), CAT)
    assert intake.answers["risks"][:2] == rows
    assert intake.answers["risks"][2] == {"likelihood": 3}
    assert [(i.code, i.cell) for i in intake.issues] == [("table_required_missing", "B9")]


def test_formula_cached_value_and_error(tmp_path: Path):
    from intake_support import replace_member, sheet_member

    path = _filled(tmp_path, BASE)
    member = sheet_member(path, "1 Sag")
    import zipfile

    with zipfile.ZipFile(path) as zf:
        xml = zf.read(member).decode()
    # authority_name as a formula with a cached string; authority_type as a formula error
    xml = re.sub(r'<c r="D4"[^>]*>.*?</c>', '<c r="D4" t="str"><f>"Aarhus "&amp;"Kommune"</f><v>Aarhus Kommune</v></c>', xml)
    xml = re.sub(r'<c r="D5"[^>]*>.*?</c>', '<c r="D5" t="e"><f>VLOOKUP(1,A1:A2,2)</f><v>#N/A</v></c>', xml)
    out = tmp_path / "formler.xlsx"
    replace_member(path, out, member, xml.encode())
    intake = validate_workbook(out, CAT)
    assert intake.answers["authority_name"] == "Aarhus Kommune"
    assert ("formula_error", "D5") in [(i.code, i.cell) for i in intake.issues]


def test_migration_is_applied(tmp_path: Path, monkeypatch):
    def edit(wb):
        wb["_meta"]["B2"] = "0.9"
        wb["1 Sag"]["A4"] = "myndighed"  # the old id of authority_name
    path = _filled(tmp_path, BASE, edit=edit)
    with pytest.raises(InputFileError, match=r"0\.9.*1\.0"):
        validate_workbook(path, CAT)
    monkeypatch.setitem(MIGRATIONS, "0.9", Migration("0.9", renamed_questions={"myndighed": "authority_name"}))
    intake = validate_workbook(path, CAT)
    assert intake.answers["authority_name"] == "Aarhus Kommune"
    assert intake.source.migrated_from == "0.9"
    assert intake.valid


def test_catalogue_version_warning(tmp_path: Path):
    path = _filled(tmp_path, BASE, edit=lambda wb: wb["_meta"].__setitem__("B4", "0.0.9"))
    intake = validate_workbook(path, CAT)
    assert [i.code for i in intake.issues] == ["catalogue_version_differs"]


def test_annotate_writes_copy_and_never_touches_original(tmp_path: Path):
    path = _filled(tmp_path, BASE, edit=lambda wb: wb["1 Sag"].__setitem__("D6", "123"))
    before = sha(path)
    intake = validate_workbook(path, CAT)
    out = tmp_path / "med-fejl.xlsx"
    annotate_workbook(path, intake, out)
    assert sha(path) == before
    wb = load_workbook(out)
    assert wb.sheetnames[0] == "Fejl"
    rows = list(wb["Fejl"].iter_rows(min_row=2, values_only=True))
    assert rows[0][:4] == ("Fejl", "1 Sag", "D6", "invalid_cvr")
    cell = wb["1 Sag"]["D6"]
    assert cell.comment is not None and "CVR" in cell.comment.text
    assert cell.fill.fgColor.rgb.endswith("FFC7CE")
    with pytest.raises(InputFileError):
        annotate_workbook(path, intake, path)


def test_every_issue_code_is_documented():
    doc = (Path(__file__).parents[1] / "docs" / "errors.md").read_text(encoding="utf-8")
    headings = re.findall(r"^### `([a-z_]+)`", doc, flags=re.M)
    assert sorted(headings) == sorted(ISSUE_CODES)
    from pipeline import errors

    exit_codes = {v for k, v in vars(errors).items() if k.startswith("EXIT_")}
    documented = {int(x) for x in re.findall(r"^### Exit-kode (\d+)", doc, flags=re.M)}
    assert documented == exit_codes
