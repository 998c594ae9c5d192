"""The CLI shell: help, version, usage errors, exit codes, docs kept in sync."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from pipeline import __version__, errors
from pipeline.cli import AivGroup, cli

ROOT = Path(__file__).resolve().parent.parent
REQUIRED_COMMANDS = {
    "template", "validate", "evaluate", "render", "batch", "questions", "fill", "export",
    "explain", "template-check", "demo",
}


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from _all_commands(command, prefix + (name,))


def test_required_commands_exist() -> None:
    assert set(cli.commands) >= REQUIRED_COMMANDS


@pytest.mark.parametrize("path,command", list(_all_commands(cli)), ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_every_command_has_help_with_example(path: tuple[str, ...], command: click.Command) -> None:
    assert command.help and command.help.strip(), f"{' '.join(path)} mangler hjælpetekst"
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    if not isinstance(command, click.Group):
        assert "Example" in result.output or "Eksempel" in result.output, f"{' '.join(path)}: intet eksempel"


def test_help_short_and_long_flag() -> None:
    long = CliRunner().invoke(cli, ["--help"])
    short = CliRunner().invoke(cli, ["-h"])
    assert long.exit_code == short.exit_code == 0
    assert long.output == short.output
    assert "aivurdering" in long.output


def test_version_lists_tool_and_catalogues() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert f"aivurdering {__version__}" in result.output
    assert "spørgsmålskatalog" in result.output
    assert "kriteriekatalog" in result.output


def test_unknown_command_is_usage_error() -> None:
    result = CliRunner().invoke(cli, ["no-such-command"])
    assert result.exit_code == errors.EXIT_USAGE
    assert "no-such-command" in result.output
    assert "Traceback" not in result.output


def test_unknown_option_is_usage_error() -> None:
    result = CliRunner().invoke(cli, ["--no-such-flag"])
    assert result.exit_code == errors.EXIT_USAGE


def _group_with(exc: BaseException) -> click.Group:
    @click.group(cls=AivGroup)
    @click.option("--debug", is_flag=True)
    @click.pass_context
    def g(ctx: click.Context, debug: bool) -> None:
        ctx.ensure_object(dict)
        ctx.obj["debug"] = debug

    @g.command()
    def boom() -> None:
        raise exc

    return g


@pytest.mark.parametrize(
    "exc,code",
    [
        (errors.UserError("Forkert input."), errors.EXIT_INVALID),
        (errors.InputFileError("ikke en Excel-fil", path="x.xlsx"), errors.EXIT_INVALID),
        (errors.CatalogueError("ukendt nøgle", path="c.yaml", entry="q1"), errors.EXIT_CATALOGUE),
        (errors.OutputExistsError("ud/rapport.docx"), errors.EXIT_OUTPUT_EXISTS),
        (errors.ExternalToolError("LibreOffice mangler"), errors.EXIT_EXTERNAL),
        (KeyboardInterrupt(), errors.EXIT_INTERRUPTED),
        (RuntimeError("bug"), errors.EXIT_INTERNAL),
    ],
)
def test_exceptions_map_to_exit_codes_without_traceback(exc: BaseException, code: int) -> None:
    result = CliRunner().invoke(_group_with(exc), ["boom"])
    assert result.exit_code == code
    assert "Traceback" not in result.output
    assert errors.exit_code_for(exc) == code


def test_user_error_message_shown_as_is() -> None:
    result = CliRunner().invoke(_group_with(errors.UserError("Arket mangler fanen '2 Systemet'.")), ["boom"])
    assert "Arket mangler fanen '2 Systemet'." in result.output


def test_debug_shows_the_exception() -> None:
    result = CliRunner().invoke(_group_with(RuntimeError("bug")), ["--debug", "boom"])
    assert isinstance(result.exception, RuntimeError)


def test_python_dash_m_entry_point() -> None:
    proc = subprocess.run([sys.executable, "-m", "pipeline", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert "aivurdering" in proc.stdout


def test_docs_cli_is_fresh() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cogapp", "--check", "--diff", str(ROOT / "docs" / "cli.md")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert proc.returncode == 0, "docs/cli.md er forældet: kør 'make docs'\n" + proc.stdout + proc.stderr
