"""pipeline.run.process_file and ``aivurdering render`` with stand-in stages (fast, independent)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest
from _journal_fixture import make_assessment, make_docx
from click.testing import CliRunner

from pipeline import run as run_mod
from pipeline.cli import cli
from pipeline.errors import (
    EXIT_EXTERNAL,
    EXIT_INVALID,
    EXIT_OUTPUT_EXISTS,
    IntakeInvalid,
    OutputExistsError,
)
from pipeline.models import Intake, Issue
from pipeline.run import ItemResult, RunOptions, process_file

DOCX = make_docx()


class Stages:
    """Stand-ins for validate -> evaluate -> render, recording their calls."""

    def __init__(self, *, invalid: bool = False, crash: bool = False) -> None:
        self.invalid, self.crash = invalid, crash
        self.calls: dict[str, Any] = {}

    def validate_workbook(self, path: Path) -> Intake:
        base = make_assessment().intake
        sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        issues = [Issue(code="format", severity="warning", message="Advarsel.", sheet="1 Sag", cell="C5")]
        if self.invalid:
            issues.append(Issue(code="required", message="Feltet skal udfyldes.", sheet="1 Sag", cell="C7",
                                question_id="case_number"))
        return base.model_copy(update={"source": base.source.model_copy(update={"sha256": sha}), "issues": issues})

    def load_criteria(self, dirs: tuple[Path, ...]) -> str:
        self.calls["criteria"] = dirs
        return "criteria"

    def evaluate(self, intake: Intake, *, assessment_date: dt.date | None = None, criteria: Any = None) -> Any:
        if self.crash:
            raise ValueError("boom")
        self.calls["evaluate"] = (assessment_date, criteria)
        return make_assessment().model_copy(update={"intake": intake})

    def render_docx(self, assessment: Any, *, template: Path | None = None) -> bytes:
        self.calls["template"] = template
        return DOCX

    def table(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ("validate_workbook", "load_criteria", "evaluate", "render_docx")}


@pytest.fixture()
def workbook(tmp_path: Path) -> Path:
    path = tmp_path / "intake.xlsx"
    path.write_bytes(b"PK fake workbook bytes")
    return path


def use(monkeypatch: pytest.MonkeyPatch, stages: Stages) -> Stages:
    monkeypatch.setattr(run_mod, "_stages", stages.table)
    monkeypatch.chdir(Path(__file__).parent)  # no aivurdering.toml here: defaults
    return stages


def test_ok_result_with_summary_and_paths(tmp_path: Path, workbook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stages = use(monkeypatch, Stages())
    before = workbook.read_bytes()
    crit = tmp_path / "crit"
    crit.mkdir()
    opts = RunOptions(out_dir=tmp_path / "out", assessment_date=dt.date(2027, 1, 5), criteria_dirs=[crit])
    result = process_file(workbook, opts)
    assert result.status == "ok", result.error
    assert result.exit_code == 0
    assert workbook.read_bytes() == before  # input never modified
    assert result.input_sha256 == hashlib.sha256(before).hexdigest()
    assert stages.calls["evaluate"] == (dt.date(2027, 1, 5), "criteria")
    assert stages.calls["criteria"] == (crit,)
    assert [i.code for i in result.issues] == ["format"]
    s = result.summary
    assert s is not None
    assert (s.system_name, s.authority, s.unit, s.phase) == (
        "Kontrolmodel for enkeltydelser", "Eksempel Kommune", "Social- og Beskæftigelsesforvaltningen", "udvikling")
    assert s.roles == ["udbyder", "idriftsætter"]
    assert (s.ai_act_class, s.ai_act_basis) == ("højrisiko", ["bilag III, punkt 5, litra a, til AI-forordningen"])
    assert (s.dpia_required, s.dpia_done, s.fria_required) == ("påkrævet", "igang", True)
    assert (s.open_actions, s.highest_residual_risk) == (1, "middel")
    assert s.next_reassessment == dt.date(2027, 11, 20)
    assert result.docx_path is not None and result.docx_path.is_file()
    assert all(p.is_file() for p in result.paths) and len(result.paths) == 4
    assert result.docx_path.parent.parent == tmp_path / "out"
    ItemResult.model_validate_json(result.model_dump_json(exclude={"package"}))  # serialisable for batch reports


def test_out_dir_positional_form(tmp_path: Path, workbook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, Stages())
    result = process_file(workbook, tmp_path / "o2", RunOptions(naming_pattern="{system}"))
    assert result.status == "ok"
    assert result.docx_path == tmp_path / "o2" / "Kontrolmodel_for_enkeltydelser" / "Kontrolmodel_for_enkeltydelser.docx"


def test_invalid_intake_is_reported_not_raised(tmp_path: Path, workbook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, Stages(invalid=True))
    result = process_file(workbook, RunOptions(out_dir=tmp_path / "out"))
    assert result.status == "invalid"
    assert result.exit_code == EXIT_INVALID
    assert any(i.code == "required" and i.cell == "C7" for i in result.issues)
    assert not (tmp_path / "out").exists()
    with pytest.raises(IntakeInvalid):
        process_file(workbook, RunOptions(out_dir=tmp_path / "out"), raise_errors=True)


def test_crash_in_a_stage_is_isolated(tmp_path: Path, workbook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, Stages(crash=True))
    result = process_file(workbook, RunOptions(out_dir=tmp_path / "out"))
    assert result.status == "failed"
    assert result.error is not None and "boom" in result.error
    assert result.exit_code == 70


def test_unreadable_workbook_is_invalid(tmp_path: Path, workbook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.errors import InputFileError

    stages = Stages()

    def unreadable(path: Path) -> Intake:
        raise InputFileError("filen er ikke en Excel-projektmappe.", path=str(path))

    stages.validate_workbook = unreadable  # type: ignore[method-assign]
    use(monkeypatch, stages)
    result = process_file(workbook, RunOptions(out_dir=tmp_path / "out"))
    assert (result.status, result.exit_code) == ("invalid", EXIT_INVALID)
    assert result.error is not None and "intake.xlsx" in result.error


def test_existing_package(tmp_path: Path, workbook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, Stages())
    opts = RunOptions(out_dir=tmp_path / "out")
    assert process_file(workbook, opts).status == "ok"
    again = process_file(workbook, opts)
    assert (again.status, again.exit_code) == ("failed", EXIT_OUTPUT_EXISTS)
    with pytest.raises(OutputExistsError):
        process_file(workbook, opts, raise_errors=True)
    assert process_file(workbook, opts.model_copy(update={"force": True})).status == "ok"


def test_config_file_supplies_template_and_output(tmp_path: Path, workbook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stages = use(monkeypatch, Stages())
    (tmp_path / "skabelon.docx").write_bytes(DOCX)
    cfg = tmp_path / "org.toml"
    cfg.write_text('[output]\nmappe = "pakker"\nskabelon = "skabelon.docx"\n[filnavne]\nmoenster = "{sagsnummer}"\n')
    result = process_file(workbook, RunOptions(config=cfg))
    assert result.status == "ok", result.error
    assert stages.calls["template"] == tmp_path / "skabelon.docx"
    assert result.docx_path == tmp_path / "pakker" / "85.15.00-G01-12-26" / "85.15.00-G01-12-26.docx"


# --- the CLI ---------------------------------------------------------------------------------


def test_render_command(tmp_path: Path, workbook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, Stages())
    runner = CliRunner()
    out = tmp_path / "out"
    first = runner.invoke(cli, ["render", str(workbook), "-o", str(out), "--assessment-date", "2026-12-01"])
    assert first.exit_code == 0, first.output
    assert "Skrev journaliseringspakken" in first.output
    assert ".metadata.xml" in first.output and "SHA256SUMS" in first.output
    assert "Højrisiko-AI-system" in first.output
    second = runner.invoke(cli, ["render", str(workbook), "-o", str(out)])
    assert second.exit_code == EXIT_OUTPUT_EXISTS
    assert "findes allerede" in second.output and "--force" in second.output
    forced = runner.invoke(cli, ["render", str(workbook), "-o", str(out), "--force"])
    assert forced.exit_code == 0, forced.output


def test_render_command_invalid_input_lists_cells(tmp_path: Path, workbook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, Stages(invalid=True))
    result = CliRunner().invoke(cli, ["render", str(workbook), "-o", str(tmp_path / "out")])
    assert result.exit_code == EXIT_INVALID
    assert "1 Sag!C7" in result.output
    assert "Traceback" not in result.output


def test_render_pdf_without_libreoffice(tmp_path: Path, workbook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use(monkeypatch, Stages())
    monkeypatch.setenv("AIVURDERING_SOFFICE", str(tmp_path / "missing-soffice"))
    result = CliRunner().invoke(cli, ["render", str(workbook), "-o", str(tmp_path / "out"), "--pdf"])
    assert result.exit_code == EXIT_EXTERNAL
    assert "LibreOffice" in result.output and "Word-dokumentet er skrevet" in result.output
    assert list((tmp_path / "out").glob("*/*.docx"))


def test_render_bad_date_is_a_usage_error(workbook: Path) -> None:
    result = CliRunner().invoke(cli, ["render", str(workbook), "--assessment-date", "5-13-2026"])
    assert result.exit_code == 2
