"""CLI commands (stub: to be filled by the stage owner)."""

from __future__ import annotations

import click

from pipeline.errors import UserError


@click.command("render")
def render_cmd() -> None:
    """Not yet implemented.

    \b
    Example:
      aivurdering render --help
    """
    raise UserError("Kommandoen 'render' er endnu ikke færdig.")


@click.command("config")
def config_cmd() -> None:
    """Not yet implemented.

    \b
    Example:
      aivurdering config --help
    """
    raise UserError("Kommandoen 'config' er endnu ikke færdig.")


COMMANDS = [render_cmd, config_cmd]
