"""CLI commands (stub: to be filled by the stage owner)."""

from __future__ import annotations

import click

from pipeline.errors import UserError


@click.command("template-check")
def template_check_cmd() -> None:
    """Not yet implemented.

    \b
    Example:
      aivurdering template-check --help
    """
    raise UserError("Kommandoen 'template-check' er endnu ikke færdig.")


@click.command("import")
def import_cmd() -> None:
    """Not yet implemented.

    \b
    Example:
      aivurdering import --help
    """
    raise UserError("Kommandoen 'import' er endnu ikke færdig.")


COMMANDS = [template_check_cmd, import_cmd]
