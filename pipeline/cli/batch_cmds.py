"""CLI commands (stub: to be filled by the stage owner)."""

from __future__ import annotations

import click

from pipeline.errors import UserError


@click.command("batch")
def batch_cmd() -> None:
    """Not yet implemented.

    \b
    Example:
      aivurdering batch --help
    """
    raise UserError("Kommandoen 'batch' er endnu ikke færdig.")


@click.command("overview")
def overview_cmd() -> None:
    """Not yet implemented.

    \b
    Example:
      aivurdering overview --help
    """
    raise UserError("Kommandoen 'overview' er endnu ikke færdig.")


@click.command("demo")
def demo_cmd() -> None:
    """Not yet implemented.

    \b
    Example:
      aivurdering demo --help
    """
    raise UserError("Kommandoen 'demo' er endnu ikke færdig.")


COMMANDS = [batch_cmd, overview_cmd, demo_cmd]
