"""The command line: a thin click shell over the stages.

Every command lives in a small module next to this one, grouped by stage, and only wires options to a
stage function. Exceptions become exit codes in one place: :meth:`AivGroup.invoke`, which calls
:func:`pipeline.errors.exit_code_for`. Without ``--debug`` no traceback ever reaches the user.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

import click

from pipeline import __version__
from pipeline.cli import _click_da
from pipeline.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    IntakeInvalid,
    PipelineError,
    UserError,
    exit_code_for,
    os_error_message,
)

_click_da.install()

CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _debug_enabled(ctx: click.Context | None) -> bool:
    if os.environ.get("AIVURDERING_DEBUG") == "1":
        return True
    root = ctx.find_root() if ctx else None
    return bool(root and root.obj and root.obj.get("debug"))


def echo_issues(issues: list[Any]) -> None:
    """Print issue records as 'ark!celle [kode] besked' lines (stderr)."""
    for issue in issues:
        where = ""
        if issue.sheet:
            where = f"{issue.sheet}!{issue.cell}" if issue.cell else issue.sheet
        mark = "FEJL" if issue.severity == "error" else "ADVARSEL"
        q = f" ({issue.question_id})" if issue.question_id else ""
        click.echo(f"  {mark:<8} {where:<28} [{issue.code}]{q} {issue.message}", err=True)


class AivGroup(click.Group):
    """Click group that turns exceptions into Danish messages and exit codes (the only such place)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except BrokenPipeError as exc:
            # The reader went away (e.g. '| head'): stop quietly, and keep Python from complaining
            # about the unflushed stdout at exit.
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            raise click.exceptions.Exit(0) from exc
        except KeyboardInterrupt as exc:
            if _debug_enabled(ctx):
                raise
            click.echo("Afbrudt. Ingen halvt skrevne filer er efterladt.", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from exc
        except PipelineError as exc:
            if _debug_enabled(ctx):
                raise
            click.echo(f"Fejl: {exc}", err=True)
            if isinstance(exc, IntakeInvalid):
                echo_issues(exc.issues)
            raise click.exceptions.Exit(exit_code_for(exc)) from exc
        except OSError as exc:
            # A folder or file the operating system refuses (missing, no permission, disk full): the
            # user can fix it, so a Danish message and exit code 1, never "internal error".
            if _debug_enabled(ctx):
                raise
            click.echo(f"Fejl: {os_error_message(exc)}", err=True)
            click.echo("Tjek stien, eller vælg en anden fil eller mappe (fx med -o).", err=True)
            raise click.exceptions.Exit(exit_code_for(exc)) from exc
        except Exception as exc:
            if _debug_enabled(ctx):
                raise
            click.echo(
                f"Intern fejl ({type(exc).__name__}): {exc}\n"
                "Det er en fejl i aivurdering, ikke i jeres input. Kør igen med --debug for detaljer, "
                "og meld fejlen til projektet.",
                err=True,
            )
            raise click.exceptions.Exit(EXIT_INTERNAL) from exc


def _catalogue_versions() -> str:
    lines = [f"aivurdering {__version__}"]
    try:
        from pipeline.questions import load_questions

        qc = load_questions()
        lines.append(f"spørgsmålskatalog {qc.version} (sha256 {qc.sha256[:12]})")
    except Exception as exc:  # the version flag must work even if a catalogue is broken
        lines.append(f"spørgsmålskatalog: kan ikke indlæses ({exc})")
    try:
        from pipeline.criteria import load_criteria

        cc = load_criteria()
        lines.append(f"kriteriekatalog {cc.version} (sha256 {cc.sha256[:12]})")
    except Exception as exc:
        lines.append(f"kriteriekatalog: kan ikke indlæses ({exc})")
    lines.append(f"Python {sys.version.split()[0]}")
    return "\n".join(lines)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(_catalogue_versions())
    ctx.exit(0)


@click.group(
    cls=AivGroup,
    context_settings=CONTEXT_SETTINGS,
    options_metavar="[TILVALG]",
    subcommand_metavar="KOMMANDO [ARGUMENTER]...",
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Vis version af værktøj, spørgsmålskatalog og kriteriekatalog.",
)
@click.option("--debug", is_flag=True, help="Vis tekniske detaljer (traceback) ved fejl.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """aivurdering: vurdér et AI-system før I køber, udvikler eller bruger det.

    Værktøjet læser et udfyldt Excel-intakeark, vurderer systemet efter AI-forordningen,
    databeskyttelsesforordningen og dansk forvaltningsret og skriver en Word-rapport, der er klar
    til journalisering.

    \b
    Typisk forløb:
      aivurdering template -o intake.xlsx      # tomt intakeark
      aivurdering validate intake.xlsx         # find fejl i det udfyldte ark
      aivurdering render intake.xlsx -o ud/    # rapport + journaliseringspakke
      aivurdering batch mappe/ -o ud/          # mange ark på én gang
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def _register() -> None:
    from pipeline.cli import assess_cmds, batch_cmds, intake_cmds, journal_cmds, report_cmds

    for module in (intake_cmds, assess_cmds, report_cmds, journal_cmds, batch_cmds):
        for command in module.COMMANDS:
            _danish_usage(command)
            cli.add_command(command)


def _danish_usage(command: click.Command) -> None:
    """Danish usage lines ('Brug: aivurdering render [TILVALG] FIL'): click's metavars are fixed English."""
    if command.options_metavar == "[OPTIONS]":
        command.options_metavar = "[TILVALG]"
    if isinstance(command, click.Group):
        if command.subcommand_metavar in (None, "COMMAND [ARGS]..."):
            command.subcommand_metavar = "KOMMANDO [ARGUMENTER]..."
        for sub in command.commands.values():
            _danish_usage(sub)


_register()


def main() -> None:
    """Console entry point (``aivurdering``)."""
    cli(prog_name="aivurdering")


__all__ = ["AivGroup", "UserError", "cli", "echo_issues", "main"]
