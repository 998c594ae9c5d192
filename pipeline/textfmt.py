"""Danish typography for everything a user reads: dates, numbers, lists.

Dates in running text: "5. januar 2026"; in tables "05-01-2026"; in metadata ISO "2026-01-05".
Decimal comma ("0,85"), thousands point ("1.234").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

MONTHS_DA = (
    "januar", "februar", "marts", "april", "maj", "juni",
    "juli", "august", "september", "oktober", "november", "december",
)
MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)

__all__ = ["date_long", "date_table", "join_da", "number_da", "percent_da", "syntax_error_da", "yes_no_da"]


def date_long(value: dt.date, lang: str = "da") -> str:
    """'5. januar 2026' (en: '5 January 2026')."""
    if lang == "en":
        return f"{value.day} {MONTHS_EN[value.month - 1]} {value.year}"
    return f"{value.day}. {MONTHS_DA[value.month - 1]} {value.year}"


def date_table(value: dt.date) -> str:
    """'05-01-2026' (tables and the workbook)."""
    return f"{value.day:02d}-{value.month:02d}-{value.year:04d}"


def number_da(value: float | int, decimals: int | None = None) -> str:
    """1234.5 -> '1.234,5'; integers keep no decimals unless asked."""
    if decimals is None:
        decimals = 0 if float(value).is_integer() else min(len(repr(float(value)).split(".")[1]), 4)
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u0000").replace(".", ",").replace("\u0000", ".")


def percent_da(value: float, decimals: int | None = None) -> str:
    """85.0 -> '85 %'; 12.5 -> '12,5 %' (value in percent)."""
    return f"{number_da(value, decimals)} %"


def yes_no_da(value: bool | None, lang: str = "da") -> str:
    if value is None:
        return "(ikke besvaret)" if lang == "da" else "(not answered)"
    if lang == "en":
        return "Yes" if value else "No"
    return "Ja" if value else "Nej"


def join_da(items: Iterable[str], conj: str = "og") -> str:
    """['a','b','c'] -> 'a, b og c'."""
    parts = [p for p in items if p]
    if not parts:
        return ""
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + f" {conj} " + parts[-1]


_TOML_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


def syntax_error_da(exc: BaseException) -> str:
    """Where a YAML, TOML or JSON file breaks, in Danish: 'syntaksfejl i linje 3, kolonne 7'.

    The parsers word their detail in English; the user gets the place to look, and ``--debug`` shows the
    parser's own text (the exception stays chained).
    """
    line = col = None
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)  # PyYAML
    if mark is not None:
        line, col = mark.line + 1, mark.column + 1
    elif isinstance(getattr(exc, "lineno", None), int):  # json.JSONDecodeError, tomllib from 3.14
        line, col = exc.lineno, getattr(exc, "colno", None)  # type: ignore[attr-defined]
    elif found := _TOML_AT.search(str(exc)):  # tomllib before 3.14 puts the place in the text only
        line, col = int(found.group(1)), int(found.group(2))
    if line is None:
        return "syntaksfejl (kør med --debug for detaljer)"
    return f"syntaksfejl i linje {line}" + (f", kolonne {col}" if col else "")
