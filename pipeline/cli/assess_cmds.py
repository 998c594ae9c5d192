"""CLI commands (stub: to be filled by the stage owner)."""

from __future__ import annotations

import click

from pipeline.errors import UserError


@click.command("evaluate")
def evaluate_cmd() -> None:
    """Not yet implemented.

    \b
    Example:
      aivurdering evaluate --help
    """
    raise UserError("Kommandoen 'evaluate' er endnu ikke færdig.")


@click.command("explain")
def explain_cmd() -> None:
    """Not yet implemented.

    \b
    Example:
      aivurdering explain --help
    """
    raise UserError("Kommandoen 'explain' er endnu ikke færdig.")


COMMANDS = [evaluate_cmd, explain_cmd, ]
