"""Click parameter types shared by several commands."""

from __future__ import annotations

import datetime as dt

import click


class DateType(click.ParamType):
    """A date as ÅÅÅÅ-MM-DD, DD-MM-ÅÅÅÅ or DD.MM.ÅÅÅÅ, with a Danish message for anything else."""

    name = "dato"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        text = str(value).strip()
        for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        self.fail(f"'{text}' er ikke en dato; skriv fx 29-11-2026 eller 2026-11-29.", param, ctx)
