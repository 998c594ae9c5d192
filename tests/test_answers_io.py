"""fill / export: answers -> workbook -> answers is the identity; the CLI commands."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from intake_support import mini

from pipeline.answers_io import export_answers, fill_workbook, load_answers
from pipeline.cli import cli
from pipeline.errors import InputFileError, UserError
from pipeline.validate import normalise, validate_workbook

CAT = mini()

_letters = st.sampled_from(list("abcdefghijklmnopqrstuvwxyzæøåABCDEFGHIJKLMNOPQRSTUVWXYZÆØÅ0123456789 .,-=/()'\"&<>"))
_word = st.text(_letters, min_size=1, max_size=40).map(normalise).filter(bool)
_long = st.lists(_word, min_size=1, max_size=4).map("\n".join)


@st.composite
def _cvr(draw) -> str:
    digits = draw(st.text("0123456789", min_size=7, max_size=7).filter(lambda d: d[0] != "0"))
    total = sum(int(d) * w for d, w in zip(digits, (2, 7, 6, 5, 4, 3, 2), strict=True))
    check = (-total) % 11
    return digits + str(check) if check < 10 else "55133018"


def _opts(qid: str) -> list[str]:
    return [o.code for o in CAT.by_id[qid].options]


_risk = st.fixed_dictionaries(
    {"description": _long, "likelihood": st.integers(1, 4)},
    optional={
        "level": st.sampled_from(["lav", "hoej"]),
        "deadline": st.dates(dt.date(1990, 1, 1), dt.date(2150, 12, 31)),
        "handled": st.booleans(),
    },
)

_answers = st.fixed_dictionaries(
    {},
    optional={
        "authority_name": _word,
        "authority_type": st.sampled_from(_opts("authority_type")),
        "cvr": _cvr(),
        "kle_number": st.from_regex(r"\A\d{2}\.\d{2}\.\d{2}\Z"),
        "kle_facet": st.from_regex(r"\A[A-ZÆØÅ]\d{2}\Z"),
        "contact_email": st.from_regex(r"\A[a-z]{1,8}(\.[a-z]{1,5})?@[a-z]{2,8}\.dk\Z"),
        "document_date": st.dates(dt.date(1990, 1, 1), dt.date(2150, 12, 31)),
        "purpose": _long,
        "phase": st.sampled_from(_opts("phase")),
        "dev_notes": _long,
        "personal_data": st.booleans(),
        "data_categories": st.lists(st.sampled_from(_opts("data_categories")), unique=True).map(
            lambda xs: [c for c in _opts("data_categories") if c in xs]),
        "health_basis": _long,
        "affected_count": st.one_of(st.integers(0, 10**8), st.decimals(0, 10**6, places=2).map(float)),
        "accuracy": st.decimals(0, 100, places=2).map(float),
        "large_scale_note": _word,
        "risks": st.lists(_risk, min_size=1, max_size=4),
    },
)


def _applicable(answers: dict) -> dict:
    out = dict(answers)
    while True:
        drop = [q for q in out if not CAT.applies(q, out)]
        if not drop:
            return out
        for q in drop:
            out.pop(q)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(answers=_answers.map(_applicable))
def test_fill_then_read_is_identity(answers: dict, tmp_path_factory):
    path = tmp_path_factory.mktemp("rt") / "a.xlsx"
    fill_workbook(answers, path, catalogue=CAT)
    intake = validate_workbook(path, CAT)
    assert intake.answers == answers
    assert not [i for i in intake.issues if i.code not in ("required_missing",)]
    # export -> load -> fill again gives the same answers
    again = yaml.safe_load(export_answers(intake, "yaml", CAT))
    assert (again or {}) == answers


def test_export_json_and_yaml(tmp_path: Path):
    answers = {"authority_name": "Aarhus Kommune", "document_date": dt.date(2026, 1, 5), "data_categories": ["cpr"],
               "personal_data": True, "risks": [{"description": "x", "likelihood": 2}]}
    path = fill_workbook(answers, tmp_path / "a.xlsx", catalogue=CAT)
    intake = validate_workbook(path, CAT)
    data = json.loads(export_answers(intake, "json", CAT))
    assert data["document_date"] == "2026-01-05"
    assert list(data) == ["authority_name", "document_date", "personal_data", "data_categories", "risks"]
    p = tmp_path / "svar.json"
    p.write_text(json.dumps(data), encoding="utf-8")
    assert fill_workbook(load_answers(p), tmp_path / "b.xlsx", catalogue=CAT)
    assert validate_workbook(tmp_path / "b.xlsx", CAT).answers == answers


def test_load_answers_wrapper_and_errors(tmp_path: Path):
    p = tmp_path / "svar.yaml"
    p.write_text("title: S1\nanswers:\n  authority_name: X\n", encoding="utf-8")
    assert load_answers(p) == {"authority_name": "X"}
    p.write_text("- liste\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="svar.yaml"):
        load_answers(p)
    p.write_text("a: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="YAML"):
        load_answers(p)
    with pytest.raises(InputFileError, match="findes ikke"):
        load_answers(tmp_path / "mangler.json")


def test_fill_refuses_bad_answers(tmp_path: Path):
    with pytest.raises(UserError) as info:
        fill_workbook({"nope": 1, "cvr": "12345678", "phase": "drift", "data_categories": "cpr",
                       "risks": [{"colour": "red"}]}, tmp_path / "x.xlsx", catalogue=CAT)
    text = str(info.value)
    for needle in ("'nope': ukendt spørgsmål", "'cvr'", "'phase'", "'data_categories'", "colour"):
        assert needle in text
    assert not (tmp_path / "x.xlsx").exists()


def test_fill_accepts_labels_and_danish_values(tmp_path: Path):
    answers = {"authority_type": "Statslig myndighed", "document_date": "05-01-2026", "accuracy": "85 %",
               "personal_data": "ja", "data_categories": ["CPR-nummer", "helbred"]}
    path = fill_workbook(answers, tmp_path / "x.xlsx", catalogue=CAT)
    got = validate_workbook(path, CAT).answers
    assert got == {"authority_type": "stat", "document_date": dt.date(2026, 1, 5), "accuracy": 85.0,
                   "personal_data": True, "data_categories": ["cpr", "helbred"]}


def test_text_starting_with_equals_is_never_a_formula(tmp_path: Path):
    from openpyxl import load_workbook

    path = fill_workbook({"authority_name": "=HYPERLINK(\"http://x\")"}, tmp_path / "x.xlsx", catalogue=CAT)
    cell = load_workbook(path)["1 Sag"]["D4"]
    assert cell.data_type == "s"
    assert validate_workbook(path, CAT).answers["authority_name"] == '=HYPERLINK("http://x")'


# ---------------------------------------------------------------------------------------------------
# CLI (real catalogue)
# ---------------------------------------------------------------------------------------------------

EXAMPLES = Path(__file__).resolve().parents[1] / "intake_templates" / "examples"


def test_cli_template_fill_validate_export(tmp_path: Path):
    runner = CliRunner()
    tpl = tmp_path / "tom.xlsx"
    r = runner.invoke(cli, ["template", "-o", str(tpl)])
    assert r.exit_code == 0 and tpl.is_file()
    r = runner.invoke(cli, ["template", "-o", str(tpl)])
    assert r.exit_code == 4
    r = runner.invoke(cli, ["validate", str(tpl)])
    assert r.exit_code == 1 and "required_missing" in r.output
    answers = tmp_path / "svar.yaml"
    answers.write_text("authority_name: Eksempel Kommune\nauthority_cvr: '29189846'\n", encoding="utf-8")
    filled = tmp_path / "udfyldt.xlsx"
    r = runner.invoke(cli, ["fill", str(answers), "-o", str(filled)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["export", str(filled), "--format", "yaml"])
    assert r.exit_code == 1 and "fejl" in r.output
    r = runner.invoke(cli, ["export", str(filled), "--format", "yaml", "--partial"])
    assert r.exit_code == 0
    assert yaml.safe_load(r.output) == {"authority_name": "Eksempel Kommune", "authority_cvr": "29189846"}
    r = runner.invoke(cli, ["validate", str(filled), "--format", "json"])
    [data] = json.loads(r.output)
    assert r.exit_code == 1 and data["valid"] is False
    assert {i["code"] for i in data["issues"]} == {"required_missing"}


def test_cli_validate_annotate(tmp_path: Path):
    runner = CliRunner()
    tpl = tmp_path / "tom.xlsx"
    runner.invoke(cli, ["template", "-o", str(tpl)])
    before = tpl.read_bytes()
    out = tmp_path / "markeret.xlsx"
    r = runner.invoke(cli, ["validate", str(tpl), "--annotate", str(out)])
    assert r.exit_code == 1 and out.is_file()
    assert tpl.read_bytes() == before
    r = runner.invoke(cli, ["validate", str(tpl), str(tpl), "--annotate", str(out)])
    assert r.exit_code == 2


def test_cli_questions():
    runner = CliRunner()
    r = runner.invoke(cli, ["questions"])
    assert r.exit_code == 0 and r.output.startswith("# Spørgsmålskatalog")
    r = runner.invoke(cli, ["questions", "--format", "json"])
    data = json.loads(r.output)
    assert r.exit_code == 0 and data["questions"] and len(data["sha256"]) == 64


@pytest.mark.parametrize("answers", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_examples_fill_and_read_back(answers: Path, tmp_path: Path):
    from pipeline.questions import load_questions

    cat = load_questions()
    data = load_answers(answers)
    path = fill_workbook(data, tmp_path / "x.xlsx")
    intake = validate_workbook(path)
    applicable = {k for k in data if k in intake.answers}
    assert applicable, "answers are read back"
    for key in applicable:
        q = cat.by_id[key]
        if q.type == "date" and isinstance(data[key], str):
            continue
        if q.type == "multi_choice":
            assert set(intake.answers[key]) == set(data[key]), key
        elif q.type != "table":
            assert intake.answers[key] == data[key] or str(intake.answers[key]) == str(data[key]), key
        else:
            assert len(intake.answers[key]) == len(data[key]), key


def test_cli_validate_many_files_one_bad(tmp_path: Path):
    runner = CliRunner()
    good = sorted(EXAMPLES.glob("*.xlsx"))[0]
    bad = tmp_path / "ikke-excel.xlsx"
    bad.write_text("hej", encoding="utf-8")
    r = runner.invoke(cli, ["validate", str(good), str(bad)])
    assert r.exit_code == 1
    assert f"{good}: gyldigt" in r.output and "ikke-excel.xlsx: filen er ikke en Excel-fil" in r.output
    r = runner.invoke(cli, ["validate", str(good)])
    assert r.exit_code == 0, r.output


def test_cli_english_template_and_markdown(tmp_path: Path):
    runner = CliRunner()
    r = runner.invoke(cli, ["template", "--lang", "en", "-o", str(tmp_path / "en.xlsx")])
    assert r.exit_code == 0
    r = runner.invoke(cli, ["questions", "--lang", "en"])
    assert r.exit_code == 0 and r.output.startswith("# Question catalogue")
