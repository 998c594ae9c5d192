"""CLI commands (stub: to be filled by the stage owner)."""

from __future__ import annotations

import click

from pipeline.errors import UserError


@click.command("template")
def template_cmd() -> None:
    """Not yet implemented.

    \b
    Example:
      aivurdering template --help
    """
    raise UserError("Kommandoen 'template' er endnu ikke færdig.")


@click.command("validate")
def validate_cmd() -> None:
    """Not yet implemented.

    \b
    Example:
      aivurdering validate --help
    """
    raise UserError("Kommandoen 'validate' er endnu ikke færdig.")


@click.command("questions")
def questions_cmd() -> None:
    """Not yet implemented.

    \b
    Example:
      aivurdering questions --help
    """
    raise UserError("Kommandoen 'questions' er endnu ikke færdig.")


@click.command("fill")
def fill_cmd() -> None:
    """Not yet implemented.

    \b
    Example:
      aivurdering fill --help
    """
    raise UserError("Kommandoen 'fill' er endnu ikke færdig.")


@click.command("export")
def export_cmd() -> None:
    """Not yet implemented.

    \b
    Example:
      aivurdering export --help
    """
    raise UserError("Kommandoen 'export' er endnu ikke færdig.")


COMMANDS = [template_cmd, validate_cmd, questions_cmd, fill_cmd, export_cmd, ]
