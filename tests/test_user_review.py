"""Regression tests for problems found in the adversarial end-user review of the CLI (2026-11-29).

Each test reproduces what a caseworker, a DPO secretariat, a records manager or a hostile user did with
the real command line, and checks the fixed behaviour: Danish help and messages, exit codes from
``pipeline.errors``, no formula made from answer text, no half-written or hidden-temp paths shown, and a
clean stop on Ctrl-C.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from io import StringIO
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from pipeline import errors
from pipeline.cli import AivGroup, cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "intake_templates" / "examples" / "s1-borgerchat.xlsx"



def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _all_commands(command, (*prefix, name))


def _set_answers(src: Path, target: Path, answers: dict[str, object]) -> None:
    """Type answers into column D the way a user does in Excel, strings always as text (never formulas)."""
    wb = load_workbook(src)
    rows = {
        row[0].value: (ws, row[0].row)
        for ws in wb.worksheets
        for row in ws.iter_rows(min_row=1, max_col=1)
        if isinstance(row[0].value, str)
    }
    for qid, value in answers.items():
        ws, r = rows[qid]
        cell = ws.cell(r, 4)
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"  # a text cell that merely starts with "=" (typed as '=... in Excel)
    wb.save(target)


# --------------------------------------------------------------------------------------------
# Help texts and usage lines in Danish
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [p for p, _ in _all_commands(cli)], ids=" ".join)
def test_help_has_no_english_frame_words(path: tuple[str, ...]) -> None:
    out = CliRunner().invoke(cli, [*path, "--help"]).output
    for english in ("Example:", "[OPTIONS]", "COMMAND [ARGS]", "[required]", "FILE", "PATH", "REPORT", "ANSWERS",
                    "INTEGER RANGE"):
        assert english not in out, f"{' '.join(path)} --help: '{english}'"


def test_missing_argument_is_named_in_danish() -> None:
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == errors.EXIT_USAGE
    assert "validate [TILVALG] FIL..." in result.output
    assert "Der mangler et argument 'FIL...'" in result.output


# --------------------------------------------------------------------------------------------
# File-system errors are the user's to fix, not internal errors
# --------------------------------------------------------------------------------------------


def _group_raising(exc: BaseException) -> click.Group:
    @click.group(cls=AivGroup)
    def g() -> None:
        pass

    @g.command()
    def boom() -> None:
        raise exc

    return g


@pytest.mark.parametrize("exc,words", [
    (PermissionError(13, "Permission denied", "/srv/ud"), "/srv/ud: ingen adgang"),
    (FileNotFoundError(2, "No such file or directory", "/mnt/væk/ud"), "/mnt/væk/ud: mappen eller filen findes ikke"),
    (OSError(28, "No space left on device", "ud/rapport.docx"), "ud/rapport.docx: disken er fuld"),
])
def test_os_error_gives_danish_message_and_exit_1(exc: OSError, words: str) -> None:
    result = CliRunner().invoke(_group_raising(exc), ["boom"])
    assert result.exit_code == errors.EXIT_INVALID == errors.exit_code_for(exc)
    assert words in result.output
    assert "Intern fejl" not in result.output and "Traceback" not in result.output


def test_render_into_a_path_below_a_file_is_a_user_error(tmp_path: Path) -> None:
    blocker = tmp_path / "ud"
    blocker.write_text("en fil, ikke en mappe")
    result = CliRunner().invoke(cli, ["render", str(EXAMPLE), "-o", str(blocker / "sub"),
                                      "--assessment-date", "2026-11-29"])
    assert result.exit_code == errors.EXIT_INVALID, result.output
    assert "en del af stien er en fil, ikke en mappe" in result.output
    assert "Intern fejl" not in result.output
    assert blocker.read_text() == "en fil, ikke en mappe"


def test_atomic_write_names_the_target_not_the_hidden_temp_file(tmp_path: Path, monkeypatch) -> None:
    from pipeline import safeio

    def refuse(folder: Path, name: str, data: bytes) -> Path:
        raise PermissionError(13, "Permission denied", str(folder / f".{name}.aivtmp-x.tmp"))

    monkeypatch.setattr(safeio, "_write_temp", refuse)
    target = tmp_path / "intake.xlsx"
    with pytest.raises(PermissionError) as info:
        safeio.atomic_write_bytes(target, b"x")
    assert info.value.filename == str(target)
    assert not target.exists()


# --------------------------------------------------------------------------------------------
# Outputs: never overwritten silently, never half-written, never a formula from answer text
# --------------------------------------------------------------------------------------------


def test_export_refuses_to_overwrite_and_force_replaces(tmp_path: Path) -> None:
    out = tmp_path / "svar.json"
    out.write_text("mine egne noter", encoding="utf-8")
    refused = CliRunner().invoke(cli, ["export", str(EXAMPLE), "-o", str(out)])
    assert refused.exit_code == errors.EXIT_OUTPUT_EXISTS
    assert out.read_text(encoding="utf-8") == "mine egne noter"
    forced = CliRunner().invoke(cli, ["export", str(EXAMPLE), "-o", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    assert '"system_name": "Spørg kommunen"' in out.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["svar.json"]  # no temporary file left


def test_annotated_copy_never_turns_answer_text_into_a_formula(tmp_path: Path) -> None:
    src = tmp_path / "udfyldt.xlsx"
    hostile = '=HYPERLINK("http://example.invalid","klik")'
    _set_answers(EXAMPLE, src, {"affected_count": hostile, "authority_cvr": "@SUM(1)"})
    before = src.read_bytes()
    copy = tmp_path / "med-fejl.xlsx"
    result = CliRunner().invoke(cli, ["validate", str(src), "--annotate", str(copy)])
    assert result.exit_code == errors.EXIT_INVALID
    assert src.read_bytes() == before
    with zipfile.ZipFile(copy) as zf:
        sheets = [n for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets
        for name in sheets:
            assert b"<f>" not in zf.read(name) and b"<f " not in zf.read(name), name
    wb = load_workbook(copy)
    values = [c.value for row in wb["Fejl"].iter_rows(min_row=2) for c in row if isinstance(c.value, str)]
    assert "'" + hostile in values and "'@SUM(1)" in values


def test_template_check_on_a_spreadsheet_gives_a_plain_danish_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["template-check", str(EXAMPLE)])
    assert result.exit_code == errors.EXIT_CATALOGUE
    assert "ikke en gyldig Word-skabelon" in result.output
    assert "BytesIO" not in result.output and "content type" not in result.output


# --------------------------------------------------------------------------------------------
# Dates on the command line: one Danish-friendly parser for every command
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["evaluate", "explain", "render", "batch"])
def test_assessment_date_rejects_nonsense_in_danish(command: str) -> None:
    result = CliRunner().invoke(cli, [command, str(EXAMPLE), "--assessment-date", "2026-13-01"])
    assert result.exit_code == errors.EXIT_USAGE
    assert "er ikke en dato; skriv fx 29-11-2026 eller 2026-11-29" in result.output
    assert "does not match" not in result.output


def test_render_accepts_a_danish_date(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["render", str(EXAMPLE), "-o", str(tmp_path), "--assessment-date", "5-1-2027"])
    assert result.exit_code == 0, result.output
    meta = next(tmp_path.glob("*/*.metadata.json")).read_text(encoding="utf-8")
    assert "2027-01-05" in meta


# --------------------------------------------------------------------------------------------
# Batch
# --------------------------------------------------------------------------------------------


def test_forkserver_is_started_with_ctrl_c_ignored(monkeypatch) -> None:
    """Ctrl-C reaches the whole process group; during its preload the fork server must not die of it."""
    from multiprocessing import forkserver

    from pipeline import batch

    if batch._START_METHOD != "forkserver":
        pytest.skip("no fork server on this platform")
    seen: list[object] = []
    monkeypatch.setattr(forkserver, "ensure_running", lambda: seen.append(signal.getsignal(signal.SIGINT)))
    before = signal.getsignal(signal.SIGINT)
    batch._start_forkserver()
    assert seen == [signal.SIG_IGN]
    assert signal.getsignal(signal.SIGINT) is before


def test_ctrl_c_early_in_batch_stops_cleanly(tmp_path: Path) -> None:
    src = tmp_path / "ind"
    src.mkdir()
    for i in range(4):
        shutil.copy2(EXAMPLE, src / f"ark{i}.xlsx")
    env = {**os.environ, "AIVURDERING_DEBUG": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "batch", str(src), "-o", str(tmp_path / "ud"), "-j", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, env=env,
    )
    time.sleep(1.0)  # inside the fork server's preload on a typical machine
    os.killpg(proc.pid, signal.SIGINT)  # like Ctrl-C in a terminal: the whole process group
    _, err = proc.communicate(timeout=120)
    assert "Intern fejl" not in err and "Traceback" not in err, err
    assert proc.returncode in (errors.EXIT_INTERRUPTED, errors.EXIT_INVALID, errors.EXIT_OK), err
    leftovers = [p for p in (tmp_path / "ud").rglob("*aivtmp*")] if (tmp_path / "ud").exists() else []
    assert leftovers == []


def test_batch_on_an_empty_folder_says_so(tmp_path: Path) -> None:
    (tmp_path / "tom").mkdir()
    result = CliRunner().invoke(cli, ["batch", str(tmp_path / "tom"), "-o", str(tmp_path / "ud"), "-j", "1"])
    assert result.exit_code == 0
    assert "Ingen intakeark (.xlsx) fundet" in result.output


def test_duplicate_of_an_unchanged_workbook_is_reported_as_duplicate(tmp_path: Path) -> None:
    """Second run: a new workbook with the same case number, title and version as an unchanged one must
    not be told to use --force (that would overwrite the other workbook's report)."""
    from pipeline.batch import run_batch
    from pipeline.progress import BatchProgress
    from pipeline.run import RunOptions

    src = tmp_path / "ind"
    src.mkdir()
    shutil.copy2(EXAMPLE, src / "a.xlsx")
    options = RunOptions(out_dir=tmp_path / "ud", assessment_date=dt.date(2026, 11, 29))
    first = run_batch(src, options, 1, progress=BatchProgress(0, stream=StringIO()))
    assert [i.status for i in first.items] == ["ok"]
    shutil.copy2(EXAMPLE, src / "b.xlsx")
    second = run_batch(src, options, 1, progress=BatchProgress(0, stream=StringIO()))
    by_key = {i.key: i for i in second.items}
    assert by_key["a.xlsx"].status == "skipped"
    assert by_key["b.xlsx"].status == "invalid"
    message = by_key["b.xlsx"].result.error
    assert "er allerede skrevet for a.xlsx" in message and "--force" not in message


def test_overview_never_replaces_someone_elses_spreadsheet(tmp_path: Path) -> None:
    ud = tmp_path / "ud"
    rendered = CliRunner().invoke(cli, ["render", str(EXAMPLE), "-o", str(ud), "--assessment-date", "2026-11-29"])
    assert rendered.exit_code == 0, rendered.output
    mine = tmp_path / "mit-regneark.xlsx"
    shutil.copy2(EXAMPLE, mine)
    before = mine.read_bytes()
    refused = CliRunner().invoke(cli, ["overview", str(ud), "-o", str(mine)])
    assert refused.exit_code == errors.EXIT_OUTPUT_EXISTS
    assert mine.read_bytes() == before
    # an overview written by aivurdering is regenerated without --force (the documented example)
    again = [CliRunner().invoke(cli, ["overview", str(ud), "-o", str(tmp_path / "oversigt.xlsx")]) for _ in range(2)]
    assert [r.exit_code for r in again] == [0, 0], again[-1].output
    forced = CliRunner().invoke(cli, ["overview", str(ud), "-o", str(mine), "--force"])
    assert forced.exit_code == 0
    assert load_workbook(mine).sheetnames == ["Oversigt"]


def test_formula_without_stored_result_is_named_not_called_missing(tmp_path: Path) -> None:
    """A workbook filled by a script with '=1+1' (openpyxl stores no result): the caseworker must learn
    that the cell holds a formula, not that the required answer is missing."""
    wb = load_workbook(EXAMPLE)
    rows = {r[0].value: (ws, r[0].row) for ws in wb.worksheets for r in ws.iter_rows(max_col=1)
            if isinstance(r[0].value, str)}
    ws, row = rows["intended_use"]
    ws.cell(row, 4).value = "=1+1"  # openpyxl: a formula without a cached value
    path = tmp_path / "formel.xlsx"
    wb.save(path)
    result = CliRunner().invoke(cli, ["validate", str(path), "--format", "json"])
    assert result.exit_code == errors.EXIT_INVALID
    issues = json.loads(result.output)[0]["issues"]
    found = [i for i in issues if i.get("question_id") == "intended_use"]
    assert [i["code"] for i in found] == ["formula_error"]
    assert "formel uden beregnet resultat" in found[0]["message"]


def test_batch_item_with_a_refused_output_folder_is_not_an_internal_error(tmp_path: Path) -> None:
    from pipeline.run import RunOptions, process_file

    blocker = tmp_path / "ud"
    blocker.write_text("en fil")
    result = process_file(EXAMPLE, RunOptions(out_dir=blocker / "sub", assessment_date=dt.date(2026, 11, 29)))
    assert result.status == "failed"
    assert result.exit_code == errors.EXIT_INVALID
    assert result.error and "en del af stien er en fil, ikke en mappe" in result.error
    assert "Intern fejl" not in result.error


def test_fill_names_the_answers_file_in_its_error(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from pipeline.cli import cli

    answers = tmp_path / "svar.yaml"
    answers.write_text("system_name: X\nukendt_id: 1\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["fill", str(answers), "-o", str(tmp_path / "ud.xlsx")])
    assert result.exit_code == 1
    assert f"{answers}: Svarfilen kan ikke bruges" in result.output
    assert "'ukendt_id': ukendt spørgsmål" in result.output
    assert not (tmp_path / "ud.xlsx").exists()
