"""Batch runs through the real pipeline on the bundled example workbooks, plus broken ones.

The batch must agree with single-file validation (an example is reported ok exactly when it validates),
write a package per good workbook, locate every problem of a bad one by sheet and cell, skip unchanged
inputs on a re-run, and fill the portfolio overview from the real conclusions.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from pipeline.batch import run_batch
from pipeline.cli import cli
from pipeline.progress import BatchProgress
from pipeline.run import RunOptions

EXAMPLES = Path(__file__).resolve().parents[1] / "intake_templates" / "examples"
DATE = "2026-11-29"


def _examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*.xlsx"))


def test_example_workbooks_are_committed() -> None:
    assert len(_examples()) >= 6


def _invalid_copy(src: Path, target: Path) -> None:
    """A copy of an example whose system name is removed (a required answer)."""
    from pipeline.answers_io import fill_workbook, load_answers

    answers = load_answers(src.with_suffix(".yaml"))
    answers.pop("system_name")
    fill_workbook(answers, target)


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory):
    import datetime as dt

    tmp = tmp_path_factory.mktemp("real")
    root = tmp / "intake"
    (root / "eksempler").mkdir(parents=True)
    for src in _examples():
        shutil.copy2(src, root / "eksempler" / src.name)
    (root / "ødelagt.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    _invalid_copy(_examples()[0], root / "mangler-navn.xlsx")
    out = tmp / "ud"
    options = RunOptions(out_dir=out, assessment_date=dt.date.fromisoformat(DATE))
    stream = StringIO()
    first = run_batch(root, options, 2, progress=BatchProgress(0, stream=stream))
    second = run_batch(root, options, 2, progress=BatchProgress(0, stream=StringIO()))
    return tmp, root, out, first, second, stream.getvalue()


def _expected_valid() -> dict[str, bool]:
    from pipeline.validate import validate_workbook

    return {f"eksempler/{p.name}": validate_workbook(p).valid for p in _examples()}


def test_batch_agrees_with_validation_and_isolates_bad_files(real) -> None:
    _tmp, _root, out, first, _second, log = real
    statuses = {i.key: i.status for i in first.items}
    expected = {key: ("ok" if valid else "invalid") for key, valid in _expected_valid().items()}
    assert {k: v for k, v in statuses.items() if k.startswith("eksempler/")} == expected
    assert statuses["mangler-navn.xlsx"] == "invalid"
    assert statuses["ødelagt.xlsx"] in ("invalid", "failed")
    assert first.exit_code == 1  # some inputs invalid, nothing worse
    for item in first.items:
        if item.status == "ok":
            assert item.result is not None and item.result.docx_path is not None
            assert item.result.docx_path.is_file()
            assert out in item.result.docx_path.parents
            assert (item.result.docx_path.parent / "SHA256SUMS").is_file()
    assert len([line for line in log.splitlines() if line.startswith("[")]) == len(first.items)


def test_batch_report_locates_problems_by_cell(real) -> None:
    _tmp, _root, out, _first, _second, _log = real
    report = json.loads((out / "batch-rapport.json").read_text(encoding="utf-8"))
    items = {i["input"]: i for i in report["items"]}
    missing = items["mangler-navn.xlsx"]
    problem = next(i for i in missing["issues"] if i.get("question_id") == "system_name")
    assert problem["severity"] == "error" and problem["sheet"] and problem["cell"]
    broken = items["ødelagt.xlsx"]
    assert "ødelagt.xlsx" in broken["error"]
    ok = [i for i in report["items"] if i["status"] == "ok"]
    for item in ok:
        assert item["summary"]["ai_act_class"]
        assert any(p.endswith(".docx") for p in item["paths"])


def test_rerun_skips_unchanged_examples(real) -> None:
    _tmp, _root, _out, first, second, _log = real
    before = {i.key: i.status for i in first.items}
    after = {i.key: i.status for i in second.items}
    assert {k for k, v in after.items() if v == "skipped"} == {k for k, v in before.items() if v == "ok"}
    assert {k for k, v in after.items() if v != "skipped"} == {k for k, v in before.items() if v != "ok"}


def test_overview_from_real_conclusions(real) -> None:
    _tmp, _root, out, first, _second, _log = real
    ws = load_workbook(out / "oversigt.xlsx")["Oversigt"]
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True) if r[0]]
    ok = [i for i in first.items if i.status == "ok"]
    assert len(rows) == len(ok)
    names = {i.result.summary.system_name for i in ok if i.result and i.result.summary}
    assert {r["AI-system"] for r in rows} == names
    for row in rows:
        assert row["AI-forordningen: klasse"]
        assert row["Myndighed"]
    links = [c for c in ws["P"][1:] if c.hyperlink is not None]
    assert len(links) == len(ok)
    for cell in links:
        from urllib.parse import unquote

        assert (out / unquote(cell.hyperlink.target)).is_file()


def test_no_formula_in_any_written_workbook(real) -> None:
    _tmp, _root, out, _first, _second, _log = real
    for name in ("oversigt.xlsx", "batch-rapport.xlsx"):
        with zipfile.ZipFile(out / name) as zf:
            for part in zf.namelist():
                if part.startswith("xl/worksheets/sheet"):
                    assert "<f>" not in zf.read(part).decode("utf-8")


def test_cli_batch_then_overview(tmp_path: Path) -> None:
    src = _examples()[-1]
    root = tmp_path / "in"
    root.mkdir()
    shutil.copy2(src, root / src.name)
    (root / f"~${src.name}").write_bytes(b"lock")
    out = tmp_path / "ud"
    runner = CliRunner()
    res = runner.invoke(cli, ["batch", str(root), "-o", str(out), "--jobs", "1", "--assessment-date", DATE])
    from pipeline.validate import validate_workbook

    valid = validate_workbook(src).valid
    assert res.exit_code == (0 if valid else 1), res.output
    assert "Office-låsefil" in res.output
    assert "Færdig på" in res.output and "Batchrapport:" in res.output
    again = runner.invoke(cli, ["batch", str(root), "-o", str(out), "--jobs", "1", "--assessment-date", DATE])
    if valid:
        assert "0 nye rapporter, 1 sprunget over (uændrede)" in again.output
    res = runner.invoke(cli, ["overview", str(out), "-o", str(tmp_path / "o.xlsx")])
    assert res.exit_code == 0
    assert f"Oversigt over {1 if valid else 0} AI-system" in res.output


@pytest.mark.libreoffice
def test_pdf_for_the_whole_batch_in_one_libreoffice_run(tmp_path: Path) -> None:
    import datetime as dt

    from pipeline.batch import BatchState
    from pipeline.validate import validate_workbook

    valid = [p for p in _examples() if validate_workbook(p).valid][:2]
    assert valid, "no valid example workbook"
    root = tmp_path / "in"
    root.mkdir()
    for src in valid:
        shutil.copy2(src, root / src.name)
    out = tmp_path / "ud"
    stream = StringIO()
    result = run_batch(root, RunOptions(out_dir=out, pdf=True, assessment_date=dt.date.fromisoformat(DATE)), 2,
                       progress=BatchProgress(0, stream=stream))
    assert result.exit_code == 0, [i.result.error for i in result.items if i.result]
    n = len(valid)
    assert f"Laver PDF/A-udgaver af {n} dokument(er) med LibreOffice" in stream.getvalue()
    state = BatchState.load(out)
    for item in result.items:
        assert item.result is not None and item.result.pdf_path is not None
        assert item.result.pdf_path.read_bytes().startswith(b"%PDF")
        sums = (item.result.pdf_path.parent / "SHA256SUMS").read_text(encoding="utf-8")
        assert item.result.pdf_path.name in sums
        assert state.entries[item.key]["complete"] is True
    again = run_batch(root, RunOptions(out_dir=out, pdf=True, assessment_date=dt.date.fromisoformat(DATE)), 2,
                      progress=BatchProgress(0, stream=StringIO()))
    assert {i.status for i in again.items} == {"skipped"}


def test_overview_of_reports_without_batch_state(real, tmp_path: Path) -> None:
    """Reports made one by one (no batch state) are read through the assessment embedded in the .docx."""
    _tmp, _root, out, first, _second, _log = real
    ok = [i for i in first.items if i.status == "ok" and i.result and i.result.docx_path]
    assert ok, "no report was written"
    reports = tmp_path / "rapporter"
    for item in ok:
        assert item.result is not None and item.result.docx_path is not None
        shutil.copytree(item.result.docx_path.parent, reports / item.result.docx_path.parent.name)
    (reports / "andet.docx").write_bytes(b"not a report")  # ignored
    res = CliRunner().invoke(cli, ["overview", str(reports)])
    assert res.exit_code == 0, res.output
    ws = load_workbook(reports / "oversigt.xlsx")["Oversigt"]
    got = sorted((r[0], r[5]) for r in ws.iter_rows(min_row=2, values_only=True) if r[0])
    from pipeline.overview import AI_CLASSES

    want = sorted((i.result.summary.system_name, AI_CLASSES[i.result.summary.ai_act_class])
                  for i in ok if i.result and i.result.summary and i.result.summary.ai_act_class)
    assert got == want


def test_demo_runs_the_bundled_examples_and_skips_them_when_unchanged(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "outputs"
    first = runner.invoke(cli, ["demo", "-o", str(out), "--jobs", "2"])
    assert first.exit_code in (0, 1), first.output
    report = json.loads((out / "batch-rapport.json").read_text(encoding="utf-8"))
    assert {i["input"] for i in report["items"]} == {p.name for p in _examples()}
    assert not report["ignored"]  # the answer files beside the workbooks are not noted
    ok = report["counts"]["ok"]
    assert first.exit_code == (0 if ok == len(_examples()) else 1)
    second = runner.invoke(cli, ["demo", "-o", str(out)])
    assert f"0 nye rapporter, {ok} sprunget over (uændrede)" in second.output
    if ok:
        assert "uændrede siden sidste kørsel" in second.output and "--force" in second.output
