"""aivurdering evaluate / explain (CLI wiring over pipeline.evaluate)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner
from evaluate_helpers import EXAMPLES

from pipeline.cli import cli

S2 = next(EXAMPLES.glob("s2-*.xlsx"))


def test_evaluate_text_shows_class_dates_and_timing() -> None:
    res = CliRunner().invoke(cli, ["evaluate", str(S2), "--assessment-date", "2026-11-29"])
    assert res.exit_code == 0, res.output
    assert "Højrisiko-AI-system" in res.output
    assert "bilag III, punkt 5, litra a, til AI-forordningen" in res.output
    assert "gælder fra 2. december 2027" in res.output
    assert "Vurderingen tog" in res.output and " ms" in res.output


def test_evaluate_json_and_later_assessment_date() -> None:
    res = CliRunner().invoke(cli, ["evaluate", str(S2), "--format", "json", "--assessment-date", "2028-01-01"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["classification"]["risk_class"] == "højrisiko"
    tilsyn = next(o for o in data["obligations"] if o["id"] == "aia.idriftsaetter.tilsyn")
    assert tilsyn["applies_text"] == "gælder"


def test_invalid_intake_exits_1_with_the_issues(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from pipeline.validate import validate_workbook

    where = validate_workbook(S2).locations["authority_name"]
    wb = load_workbook(S2)
    wb[where.sheet][where.cell] = None
    broken = tmp_path / "mangler-myndighed.xlsx"
    wb.save(broken)
    res = CliRunner().invoke(cli, ["evaluate", str(broken)])
    assert res.exit_code == 1, res.output
    assert "fejl i intake-arket" in res.output and "authority_name" in res.output


def test_bad_date_is_a_usage_error() -> None:
    # Danish day-first dates are accepted since the user review (one date parser for all commands);
    # a date that does not exist is a usage error with a Danish hint.
    res = CliRunner().invoke(cli, ["evaluate", str(S2), "--assessment-date", "31-02-2026"])
    assert res.exit_code == 2 and "er ikke en dato; skriv fx 29-11-2026 eller 2026-11-29" in res.output


def test_explain_one_criterion_prints_the_trace_with_cells() -> None:
    res = CliRunner().invoke(cli, ["explain", str(S2), "--criterion", "forvaltning.partshoering"])
    assert res.exit_code == 0, res.output
    assert "Ikke opfyldt" in res.output and "forvaltningslovens § 19" in res.output
    assert "party_consultation = Nej" in res.output and "!D" in res.output


def test_explain_unknown_criterion_is_a_user_error() -> None:
    res = CliRunner().invoke(cli, ["explain", str(S2), "--criterion", "findes.ikke"])
    assert res.exit_code == 1 and "findes ikke" in res.output


def test_criteria_override_folder_is_used_and_a_broken_one_exits_3(tmp_path: Path) -> None:
    org = tmp_path / "org"
    org.mkdir()
    rule = {"id": "org.journalnotat", "family": "governance", "title": "Egen regel om journalnotat",
            "references": ["OFL § 15"], "outcomes": [],
            "default": {"status": "kraever_afklaring", "severity": "lav", "finding": "Tjek.", "recommendation": "Gør."}}
    (org / "egne.yaml").write_text(yaml.safe_dump({"criteria": [rule]}, allow_unicode=True), encoding="utf-8")
    res = CliRunner().invoke(cli, ["explain", str(S2), "--criteria", str(org), "--criterion", "org.journalnotat"])
    assert res.exit_code == 0, res.output
    assert "Egen regel om journalnotat" in res.output
    (org / "egne.yaml").write_text(yaml.safe_dump({"criteria": [{**rule, "applies_if": "nej == 1"}]}), encoding="utf-8")
    res = CliRunner().invoke(cli, ["evaluate", str(S2), "--criteria", str(org)])
    assert res.exit_code == 3 and "egne.yaml" in res.output and "org.journalnotat" in res.output


def test_explain_shows_the_trace_of_the_classification() -> None:
    res = CliRunner().invoke(cli, ["explain", str(S2), "--criterion", "klassifikation"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("Klassifikation efter AI-forordningen: Højrisiko-AI-system")
    assert "use_areas = " in res.output and "profiling = Ja" in res.output
