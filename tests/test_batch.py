"""Batch runs with an injected per-file function: discovery, isolation, resume, interrupt, reports.

The per-file functions below run in real worker processes (they must be module-level to be picklable).
They read an instruction from the workbook's bytes: ``CRASH`` kills the worker, ``BAD`` is an invalid
intake, ``SLOW`` takes a while; anything else writes a small package like the journal stage does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest

from pipeline.batch import STATE_NAME, BatchState, discover, run_batch
from pipeline.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK
from pipeline.models import Issue
from pipeline.progress import BatchProgress
from pipeline.run import ItemResult, ItemSummary, RunOptions, file_sha256
from pipeline.safeio import TMP_MARK, publish_dir, staged_dir

VERSIONS = {"tool": "test", "catalogue": "1"}


def fake_process(path: Path, options: RunOptions, config: object) -> ItemResult:
    data = path.read_bytes()
    if data.startswith(b"CRASH"):
        os._exit(3)
    if data.startswith(b"SLOW"):
        time.sleep(0.25)
    sha = file_sha256(path)
    if data.startswith(b"BAD"):
        issue = Issue(code="required_missing", message="Svaret mangler.", sheet="1 Sag", cell="C7",
                      question_id="system_name", value="=HYPERLINK(\"x\")")
        return ItemResult(input_path=path, input_sha256=sha, status="invalid", issues=[issue],
                          error=f"{path}: 1 fejl i intake-arket skal rettes.", exit_code=EXIT_INVALID)
    assert options.out_dir is not None
    name = data.split()[0][5:].decode() if data.startswith(b"NAME:") else path.stem  # like a case number
    folder = options.out_dir / name  # a package folder, published in one step like pipeline.journal
    if folder.exists() and not options.force:
        raise_exists = ItemResult(input_path=path, input_sha256=sha, status="failed", exit_code=4,
                                  error=f"{folder} findes allerede og overskrives ikke.",
                                  existing_path=str(folder))
        return raise_exists
    with staged_dir(folder) as stage:
        (stage / f"{name}.docx").write_bytes(b"docx:" + data)
        (stage / f"{name}.metadata.json").write_bytes(b"{}")
        publish_dir(stage, folder, force=options.force)
    docx = folder / f"{name}.docx"
    meta = folder / f"{name}.metadata.json"
    summary = ItemSummary(system_name=data.decode("utf-8", "replace").strip(), authority="Testkommune",
                          ai_act_class="højrisiko", dpia_required="påkrævet", open_actions=2)
    return ItemResult(input_path=path, input_sha256=sha, status="ok", summary=summary, paths=[docx, meta],
                      docx_path=docx)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def batch(root: Path, out: Path, *, force: bool = False, jobs: int = 2, versions: dict | None = None):
    stream = StringIO()
    result = run_batch(root, RunOptions(out_dir=out, force=force), jobs,
                       progress=BatchProgress(0, stream=stream), process=fake_process,
                       versions=versions or VERSIONS)
    return result, stream.getvalue()


def statuses(result) -> dict[str, str]:
    return {item.key: item.status for item in result.items}


# ------------------------------------------------------------------------------------------------
# discovery
# ------------------------------------------------------------------------------------------------


def test_discover_finds_workbooks_recursively_and_notes_what_it_ignores(tmp_path: Path) -> None:
    root = tmp_path / "in"
    write(root / "a.xlsx", "A")
    write(root / "sub" / "b.XLSX", "B")
    write(root / "~$a.xlsx", "lock")
    write(root / ".~lock.a.xlsx#", "lock")
    write(root / "gammel.xls", "x")
    write(root / "makro.xlsm", "x")
    write(root / "noter.txt", "x")
    write(root / "a.yaml", "x")  # the answer file a.xlsx was filled from: skipped silently
    write(root / ".skjult.xlsx", "x")
    write(root / ".git" / "c.xlsx", "x")
    write(root / f".a.docx{TMP_MARK}123.tmp", "x")
    write(root / "ud" / "d.xlsx", "x")  # the output folder
    write(root / "old-out" / STATE_NAME, "{}")  # an earlier batch's output folder
    write(root / "old-out" / "e.xlsx", "x")
    write(root / "pakke" / "SHA256SUMS", "x")  # a journal package (output written into the input folder)
    write(root / "pakke" / "pakke.docx", "x")

    found = discover(root, exclude=[root / "ud"])

    assert [p.relative_to(root).as_posix() for p in found.workbooks] == ["a.xlsx", "sub/b.XLSX"]
    reasons = {p.name: r for p, r in found.ignored}
    assert set(reasons) == {"~$a.xlsx", ".~lock.a.xlsx#", "gammel.xls", "makro.xlsm", "noter.txt"}
    assert "låsefil" in reasons["~$a.xlsx"] and "Excel" in reasons["~$a.xlsx"]
    assert "LibreOffice" in reasons[".~lock.a.xlsx#"]
    assert ".xlsx" in reasons["gammel.xls"]
    assert "makroer" in reasons["makro.xlsm"]


def test_discover_missing_folder_is_a_danish_user_error(tmp_path: Path) -> None:
    from pipeline.errors import UserError

    with pytest.raises(UserError, match="findes ikke"):
        discover(tmp_path / "mangler")


# ------------------------------------------------------------------------------------------------
# isolation, statuses, exit codes, reports
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("mixed")
    for i in range(4):
        write(root / "in" / f"god{i}.xlsx", f"System {i}")
    write(root / "in" / "afd" / "formel.xlsx", "=CMD|' /C calc'!A0")
    write(root / "in" / "ugyldig.xlsx", "BAD")
    write(root / "in" / "nedbrud.xlsx", "CRASH")
    write(root / "in" / "~$god0.xlsx", "lock")
    result, log = batch(root / "in", root / "ud")
    return root, result, log


def test_mixed_batch_isolates_failures_and_crashes(mixed) -> None:
    root, result, _log = mixed
    assert statuses(result) == {
        "afd/formel.xlsx": "ok", "god0.xlsx": "ok", "god1.xlsx": "ok", "god2.xlsx": "ok", "god3.xlsx": "ok",
        "nedbrud.xlsx": "failed", "ugyldig.xlsx": "invalid",
    }
    crash = next(i for i in result.items if i.key == "nedbrud.xlsx")
    assert crash.result is not None and "Arbejdsprocessen stoppede uventet" in (crash.result.error or "")
    assert result.exit_code == EXIT_INTERNAL  # a crash is more serious than an invalid input
    # sub-folders are mirrored under the output folder
    assert (root / "ud" / "afd" / "formel" / "formel.docx").is_file()
    assert [p.name for p, _r in result.ignored] == ["~$god0.xlsx"]


def test_mixed_batch_writes_batch_report_json_and_xlsx(mixed) -> None:
    root, _result, _log = mixed
    report = json.loads((root / "ud" / "batch-rapport.json").read_text(encoding="utf-8"))
    assert report["counts"] == {"ok": 5, "skipped": 0, "invalid": 1, "failed": 1, "interrupted": 0}
    assert report["exit_code"] == EXIT_INTERNAL
    items = {i["input"]: i for i in report["items"]}
    bad = items["ugyldig.xlsx"]
    assert bad["status"] == "invalid"
    assert [(i["sheet"], i["cell"], i["code"]) for i in bad["issues"]] == [("1 Sag", "C7", "required_missing")]
    good = items["god1.xlsx"]
    assert good["summary"]["system_name"] == "System 1"
    assert any(p.endswith("god1.docx") for p in good["paths"])
    assert report["ignored"][0]["reason"].startswith("Office-låsefil")

    from openpyxl import load_workbook

    wb = load_workbook(root / "ud" / "batch-rapport.xlsx")
    problems = wb["Problemer"]
    rows = list(problems.iter_rows(min_row=2, values_only=True))
    assert rows[0][:5] == ("ugyldig.xlsx", "Fejl", "1 Sag", "C7", "required_missing")
    assert rows[0][7] == "'=HYPERLINK(\"x\")"  # the offending value is neutralised, not a formula
    files = {r[0]: r[1] for r in wb["Filer"].iter_rows(min_row=2, values_only=True)}
    assert files["nedbrud.xlsx"] == "Fejlet" and files["god0.xlsx"] == "Færdig"


def test_mixed_batch_overview_has_one_row_per_good_system(mixed) -> None:
    root, _result, _log = mixed
    from openpyxl import load_workbook

    ws = load_workbook(root / "ud" / "oversigt.xlsx")["Oversigt"]
    names = sorted(r[0] for r in ws.iter_rows(min_row=2, values_only=True) if r[0])
    assert names == ["'=CMD|' /C calc'!A0", "System 0", "System 1", "System 2", "System 3"]


def test_plain_progress_has_one_line_per_file(mixed) -> None:
    _root, result, log = mixed
    lines = [line for line in log.splitlines() if line.startswith("[")]
    assert len(lines) == len(result.items) == 7
    assert any(line.startswith("[") and "fejlet" in line and "nedbrud.xlsx" in line for line in lines)
    assert any("ugyldig" in line and "ugyldig.xlsx" in line for line in lines)
    assert "~$god0.xlsx: Office-låsefil" in log
    assert "\x1b[" not in log  # no terminal escapes when not a terminal


# ------------------------------------------------------------------------------------------------
# resume: skip unchanged, re-run changed, --force, version change
# ------------------------------------------------------------------------------------------------


def test_rerun_skips_unchanged_and_reruns_changed_inputs(tmp_path: Path) -> None:
    root, out = tmp_path / "in", tmp_path / "ud"
    write(root / "a.xlsx", "A")
    write(root / "b.xlsx", "B")
    first, _ = batch(root, out)
    assert statuses(first) == {"a.xlsx": "ok", "b.xlsx": "ok"}

    second, log = batch(root, out)
    assert statuses(second) == {"a.xlsx": "skipped", "b.xlsx": "skipped"}
    assert second.exit_code == EXIT_OK
    assert "uændret siden sidste kørsel" in log

    write(root / "b.xlsx", "B2")  # changed: re-run; the batch may replace its own package
    third, _ = batch(root, out)
    assert statuses(third) == {"a.xlsx": "skipped", "b.xlsx": "ok"}
    assert (out / "b" / "b.docx").read_bytes() == b"docx:B2"

    (out / "a" / "a.docx").unlink()  # an output was removed: made again
    fourth, _ = batch(root, out)
    assert statuses(fourth) == {"a.xlsx": "ok", "b.xlsx": "skipped"}

    forced, _ = batch(root, out, force=True)
    assert statuses(forced) == {"a.xlsx": "ok", "b.xlsx": "ok"}

    new_catalogue, _ = batch(root, out, versions={**VERSIONS, "catalogue": "2"})
    assert statuses(new_catalogue) == {"a.xlsx": "ok", "b.xlsx": "ok"}

    # the overview still lists both systems when everything was skipped
    skipped_all, _ = batch(root, out, versions={**VERSIONS, "catalogue": "2"})
    assert set(statuses(skipped_all).values()) == {"skipped"}
    from openpyxl import load_workbook

    ws = load_workbook(out / "oversigt.xlsx")["Oversigt"]
    assert sorted(r[0] for r in ws.iter_rows(min_row=2, values_only=True)) == ["A", "B2"]


def test_existing_outputs_not_written_by_the_batch_are_not_overwritten(tmp_path: Path) -> None:
    root, out = tmp_path / "in", tmp_path / "ud"
    write(root / "a.xlsx", "A")
    write(out / "a" / "a.docx", "made by hand")  # a package folder the batch did not write
    result, _ = batch(root, out)
    assert statuses(result) == {"a.xlsx": "failed"}
    assert (out / "a" / "a.docx").read_text(encoding="utf-8") == "made by hand"
    forced, _ = batch(root, out, force=True)
    assert statuses(forced) == {"a.xlsx": "ok"}


def test_two_inputs_with_the_same_package_name_are_reported(tmp_path: Path) -> None:
    root, out = tmp_path / "in", tmp_path / "ud"
    write(root / "a.xlsx", "NAME:sag-1 første")
    write(root / "b.xlsx", "NAME:sag-1 anden")
    result, lines = batch(root, out, jobs=1)
    assert statuses(result) == {"a.xlsx": "ok", "b.xlsx": "invalid"}
    # the live line says what the summary says (not "fejlet" first and "ugyldig" later)
    b_line = next(line for line in lines.splitlines() if line.rstrip().endswith("b.xlsx") or " b.xlsx" in line)
    assert "ugyldig" in b_line and "fejlet" not in b_line and "allerede skrevet for a.xlsx" in b_line
    b = next(i for i in result.items if i.key == "b.xlsx")
    assert b.result is not None and "allerede skrevet for a.xlsx" in (b.result.error or "")
    assert result.exit_code == EXIT_INVALID
    forced, _ = batch(root, out, jobs=1, force=True)
    assert statuses(forced) == {"a.xlsx": "ok", "b.xlsx": "ok"}
    assert any("Samme pakke som a.xlsx" in n for n in forced.notes)


def test_invalid_inputs_give_exit_code_1_and_are_not_recorded_as_done(tmp_path: Path) -> None:
    root, out = tmp_path / "in", tmp_path / "ud"
    write(root / "a.xlsx", "A")
    write(root / "b.xlsx", "BAD")
    result, _ = batch(root, out, jobs=1)
    assert result.exit_code == EXIT_INVALID
    state = BatchState.load(out)
    assert set(state.entries) == {"a.xlsx"}
    again, _ = batch(root, out, jobs=1)
    assert statuses(again) == {"a.xlsx": "skipped", "b.xlsx": "invalid"}


def test_unwritable_output_folder_is_a_danish_user_error(tmp_path: Path) -> None:
    from pipeline.errors import UserError

    root = tmp_path / "in"
    write(root / "a.xlsx", "A")
    blocker = tmp_path / "fil"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(UserError, match="udmappen kan ikke skrives"):
        batch(root, blocker / "ud")


def test_corrupt_state_file_means_everything_runs_again(tmp_path: Path) -> None:
    root, out = tmp_path / "in", tmp_path / "ud"
    write(root / "a.xlsx", "A")
    batch(root, out)
    (out / STATE_NAME).write_text("{ikke json", encoding="utf-8")
    (out / "a").rename(tmp_path / "flyttet")  # so the re-run may write again
    result, _ = batch(root, out)
    assert statuses(result) == {"a.xlsx": "ok"}
    assert any("tilstandsfilen" in n for n in result.notes)


# ------------------------------------------------------------------------------------------------
# interrupt and resume (a real subprocess and a real SIGINT / SIGTERM)
# ------------------------------------------------------------------------------------------------

_RUNNER = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_batch import fake_process, VERSIONS
from pipeline.batch import run_batch
from pipeline.run import RunOptions
result = run_batch(Path({root!r}), RunOptions(out_dir=Path({out!r})), 2, process=fake_process, versions=VERSIONS)
print("EXIT", result.exit_code, flush=True)
sys.exit(result.exit_code)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_cleanly_and_rerun_resumes(tmp_path: Path, sig: signal.Signals) -> None:
    root, out = tmp_path / "in", tmp_path / "ud"
    for i in range(10):
        write(root / f"f{i:02d}.xlsx", f"SLOW {i}")
    script = _RUNNER.format(tests=str(Path(__file__).parent), root=str(root), out=str(out))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    assert proc.stderr is not None
    first = proc.stderr.readline()  # the first finished file
    assert "færdig" in first, first
    os.killpg(proc.pid, sig)  # like Ctrl-C in a terminal: the whole process group
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_INTERRUPTED, stderr
    assert "Traceback" not in stderr

    leftovers = [p for p in out.rglob("*") if TMP_MARK in p.name or p.name.endswith(".tmp")]
    assert leftovers == []
    report = json.loads((out / "batch-rapport.json").read_text(encoding="utf-8"))
    assert report["interrupted"] is True
    done = {i["input"] for i in report["items"] if i["status"] == "ok"}
    assert 1 <= len(done) < 10
    for key in done:  # every finished file is complete
        stem = Path(key).stem
        assert (out / stem / f"{stem}.docx").read_bytes() == b"docx:" + (root / key).read_bytes()

    stream = StringIO()
    resumed = run_batch(root, RunOptions(out_dir=out), 2, progress=BatchProgress(0, stream=stream),
                        process=fake_process, versions=VERSIONS)
    assert resumed.exit_code == EXIT_OK
    assert {i.key for i in resumed.items if i.status == "skipped"} == done
    assert {i.key for i in resumed.items if i.status == "ok"} == {f"f{i:02d}.xlsx" for i in range(10)} - done


# ------------------------------------------------------------------------------------------------
# the CLI
# ------------------------------------------------------------------------------------------------


def test_batch_help_documents_exit_codes() -> None:
    from click.testing import CliRunner

    from pipeline.cli import cli

    out = CliRunner().invoke(cli, ["batch", "--help"]).output
    for code in ("0 ", "1 ", "3 ", "4 ", "5 ", "70 ", "130 "):
        assert f"  {code}" in out
    assert "--jobs" in out and "--force" in out and "--pdf" in out and "--assessment-date" in out


def test_batch_cli_rejects_a_bad_date() -> None:
    from click.testing import CliRunner

    from pipeline.cli import cli

    res = CliRunner().invoke(cli, ["batch", ".", "--assessment-date", "31-02-2026"])
    assert res.exit_code == 2
    assert "er ikke en dato" in res.output
