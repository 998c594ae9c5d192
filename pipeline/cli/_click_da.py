"""Danish for click's own messages (usage lines, help frames, usage errors).

click marks its messages for gettext (``from gettext import gettext as _`` in each module) but ships no
catalogues. We give it a small Danish catalogue by rebinding that ``_`` in click's modules. Set
``AIVURDERING_LANG=en`` to keep click's English. Unknown messages fall through unchanged.
"""

from __future__ import annotations

import importlib
import os

DA: dict[str, str] = {
    "Usage:": "Brug:",
    "Options": "Tilvalg",
    "Commands": "Kommandoer",
    "Positional arguments": "Argumenter",
    "Show this message and exit.": "Vis denne hjælp og afslut.",
    "Show the version and exit.": "Vis versionen og afslut.",
    "Aborted!": "Afbrudt!",
    "Error: {message}": "Fejl: {message}",
    "Try '{command} {option}' for help.": "Prøv '{command} {option}' for hjælp.",
    "No such command {name!r}.": "Kommandoen {name!r} findes ikke.",
    "No such option {name!r}.": "Tilvalget {name!r} findes ikke.",
    "Missing command.": "Der mangler en kommando.",
    "Missing argument": "Der mangler et argument",
    "Missing option": "Der mangler et tilvalg",
    "Missing parameter": "Der mangler en parameter",
    "Missing parameter: {param_name}": "Der mangler en parameter: {param_name}",
    "Invalid value for {param_hint}: {message}": "Ugyldig værdi for {param_hint}: {message}",
    "Invalid value: {message}": "Ugyldig værdi: {message}",
    "Option {name!r} does not take a value.": "Tilvalget {name!r} tager ingen værdi.",
    "Argument {name!r} takes {nargs} values.": "Argumentet {name!r} tager {nargs} værdier.",
    "{name} {filename!r} does not exist.": "{name} {filename!r} findes ikke.",
    "{name} {filename!r} is a directory.": "{name} {filename!r} er en mappe.",
    "{name} {filename!r} is a file.": "{name} {filename!r} er en fil.",
    "{name} {filename!r} is not readable.": "{name} {filename!r} kan ikke læses.",
    "{name} {filename!r} is not writable.": "{name} {filename!r} kan ikke skrives.",
    "{value!r} is not a valid {number_type}.": "{value!r} er ikke et gyldigt {number_type}.",
    "{value} is not in the range {range}.": "{value} er ikke i intervallet {range}.",
    "Could not open file {filename!r}: {message}": "Kunne ikke åbne filen {filename!r}: {message}",
    "Choose from:\n\t{choices}": "Vælg mellem:\n\t{choices}",
    "default: {default}": "standard: {default}",
    "required": "påkrævet",
    "(dynamic)": "(dynamisk)",
    "env var: {var}": "miljøvariabel: {var}",
    "file": "fil",
    "directory": "mappe",
    "path": "sti",
    "unknown error": "ukendt fejl",
    "Got unexpected extra argument ({args})": "Uventet ekstra argument ({args})",
    "Got unexpected extra arguments ({args})": "Uventede ekstra argumenter ({args})",
    "Did you mean {possibility}?": "Mente du {possibility}?",
    "(Did you mean one of: {possibilities}?)": "(Mente du en af: {possibilities}?)",
}

_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "types", "termui", "utils")


def _translate(message: str) -> str:
    return DA.get(message, message)


def _ntranslate(singular: str, plural: str, n: int) -> str:
    return DA.get(singular if n == 1 else plural, singular if n == 1 else plural)


def install() -> None:
    """Rebind click's gettext functions to the Danish catalogue (idempotent)."""
    if os.environ.get("AIVURDERING_LANG", "da").lower().startswith("en"):
        return
    for name in _MODULES:
        try:
            module = importlib.import_module(f"click.{name}")
        except ImportError:  # pragma: no cover - module layout differs between click versions
            continue
        if hasattr(module, "_"):
            module._ = _translate  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = _ntranslate  # type: ignore[attr-defined]
