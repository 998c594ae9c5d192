"""The assessment embedded in the report, and ``aivurdering import`` (issue 5)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import _assessment_fixture as fx
import pytest
import yaml
from click.testing import CliRunner
from lxml import etree

from pipeline import docx_twin
from pipeline.cli import cli
from pipeline.errors import InputFileError
from pipeline.models import Assessment
from pipeline.render import render_docx


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Assessment, Path]:
    a = fx.high_risk()
    path = tmp_path_factory.mktemp("twin") / "rapport.docx"
    path.write_bytes(render_docx(a))
    return a, path


def test_twin_round_trips_the_whole_assessment(report: tuple[Assessment, Path]) -> None:
    a, path = report
    back = docx_twin.read_assessment(path)
    assert back.conclusion == a.conclusion
    assert back.criteria == a.criteria
    assert back.classification == a.classification
    assert back.versions.input_sha256 == a.versions.input_sha256
    assert back.versions.template_sha256  # stamped by the renderer
    answers = docx_twin.answers_for_export(back)
    assert answers == a.intake.answers  # dates come back as dates via the question catalogue


def test_twin_part_is_registered_in_the_package(report: tuple[Assessment, Path]) -> None:
    _a, path = report
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        rels = zf.read("word/_rels/document.xml.rels").decode()
        ct = zf.read("[Content_Types].xml").decode()
        ours = [n for n in names if n.startswith("customXml/item") and docx_twin.NS.encode() in zf.read(n)
                and "itemProps" not in n]
    assert len(ours) == 1
    assert f'Target="../{ours[0]}"' in rels
    assert "customXmlProperties+xml" in ct


def test_twin_survives_a_renamed_part(report: tuple[Assessment, Path], tmp_path: Path) -> None:
    """Word may renumber custom XML parts on save; the import finds ours by namespace."""
    a, path = report
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    ours = next(n for n, v in members.items() if n.startswith("customXml/item") and docx_twin.NS.encode() in v and "Props" not in n)
    members["customXml/item7.xml"] = members.pop(ours)
    out = tmp_path / "omdoebt.docx"
    with zipfile.ZipFile(out, "w") as zout:
        for n, v in members.items():
            zout.writestr(n, v)
    assert docx_twin.read_assessment(out).conclusion == a.conclusion


def test_twin_is_xml_safe_for_hostile_answers(tmp_path: Path) -> None:
    a = fx.hostile()
    path = tmp_path / "fjendtlig.docx"
    path.write_bytes(render_docx(a))
    back = docx_twin.read_assessment(path)
    assert back.intake.answers["system_name"] == a.intake.answers["system_name"]  # control characters kept in the data
    with zipfile.ZipFile(path) as zf:
        for n in zf.namelist():
            if n.startswith("customXml/"):
                etree.fromstring(zf.read(n))


def test_import_of_a_foreign_docx_gives_danish_error(tmp_path: Path) -> None:
    from docx import Document

    foreign = tmp_path / "fremmed.docx"
    Document().save(foreign)
    with pytest.raises(InputFileError, match="ingen indlejrede vurderingsdata"):
        docx_twin.read_assessment(foreign)
    notzip = tmp_path / "tekst.docx"
    notzip.write_text("hej")
    with pytest.raises(InputFileError, match="ikke et Word-dokument"):
        docx_twin.read_assessment(notzip)


def test_import_of_damaged_twin(report: tuple[Assessment, Path], tmp_path: Path) -> None:
    _a, path = report
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    ours = next(n for n, v in members.items() if n.startswith("customXml/item") and docx_twin.NS.encode() in v and "Props" not in n)
    members[ours] = members[ours].replace(b'"conclusion"', b'"konklusion"')
    out = tmp_path / "beskadiget.docx"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zout:
        for n, v in members.items():
            zout.writestr(n, v)
    out.write_bytes(buf.getvalue())
    with pytest.raises(InputFileError, match="beskadigede"):
        docx_twin.read_assessment(out)


def test_cli_import_writes_answers_yaml(report: tuple[Assessment, Path], tmp_path: Path) -> None:
    a, path = report
    out = tmp_path / "svar.yaml"
    result = CliRunner().invoke(cli, ["import", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert data["case_number"] == a.intake.answers["case_number"]
    assert data["document_date"] == a.intake.answers["document_date"]
    again = CliRunner().invoke(cli, ["import", str(path), "-o", str(out)])
    assert again.exit_code == 4  # exists, no --force


def test_cli_import_to_workbook_round_trips_through_validation(report: tuple[Assessment, Path], tmp_path: Path) -> None:
    from pipeline.validate import validate_workbook

    a, path = report
    xlsx = tmp_path / "intake.xlsx"
    result = CliRunner().invoke(cli, ["import", str(path), "--workbook", str(xlsx)])
    assert result.exit_code == 0, result.output
    intake = validate_workbook(xlsx)
    for qid, value in a.intake.answers.items():
        if qid != "risks":  # a table: partly filled rows are checked below
            assert intake.answers[qid] == value, qid
    assert [r["description"] for r in intake.answers["risks"]] == [r["description"] for r in a.intake.answers["risks"]]


def test_cli_import_foreign_file(tmp_path: Path) -> None:
    notzip = tmp_path / "tekst.docx"
    notzip.write_text("hej")
    result = CliRunner().invoke(cli, ["import", str(notzip)])
    assert result.exit_code == 1
    assert "tekst.docx" in result.output and "Traceback" not in result.output


def test_real_examples_round_trip_report_to_workbook(tmp_path: Path) -> None:
    """Example -> workbook -> assessment -> report -> import --workbook -> the same answers."""
    from pipeline.validate import validate_workbook

    cases = fx.real_examples(tmp_path, {})
    assert cases
    for name, a in cases.items():
        report = tmp_path / f"{name}.docx"
        report.write_bytes(render_docx(a))
        xlsx = tmp_path / f"{name}-igen.xlsx"
        result = CliRunner().invoke(cli, ["import", str(report), "--workbook", str(xlsx)])
        assert result.exit_code == 0, (name, result.output)
        assert validate_workbook(xlsx).answers == a.intake.answers, name
