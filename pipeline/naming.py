"""File names for journal packages, safe for Windows, network shares and ESDH imports.

A name comes from a configurable pattern (``{sagsnummer}_{titel}_v{version}``, fields listed in
:data:`pipeline.config.NAMING_FIELDS`). Each value and then the whole name are cleaned:

* no path separators, no ``..``, no characters Windows forbids (``<>:"/\\|?*``), no control or format
  characters, no emoji or other symbols;
* no reserved device names (CON, PRN, AUX, NUL, COM1–9, LPT1–9, also with an extension);
* no leading dot (hidden file) and no trailing dots or spaces;
* whitespace becomes ``_``; runs of separators collapse;
* a length limit in characters and in UTF-8 bytes (room is kept for ``.metadata.json``);
* Danish letters kept, or transliterated (æ→ae, ø→oe, å→aa) when configured.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping

__all__ = ["RESERVED_NAMES", "build_name", "safe_component", "transliterate"]

RESERVED_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)}
)
MAX_BYTES = 200  # file name stem; + ".metadata.json" stays far below the 255-byte limit of most systems
FALLBACK = "konsekvensanalyse"

_DANISH = {"æ": "ae", "ø": "oe", "å": "aa", "Æ": "Ae", "Ø": "Oe", "Å": "Aa", "ß": "ss"}
_ALLOWED_PUNCT = set("-_.()+,")
_SEPARATORS = re.compile(r"[\s/\\<>:\"|?*]+")


def transliterate(text: str) -> str:
    """æ→ae, ø→oe, å→aa; other accented Latin letters lose their accent; other non-ASCII letters dropped."""
    out = "".join(_DANISH.get(ch, ch) for ch in text)
    decomposed = unicodedata.normalize("NFKD", out)
    return "".join(ch for ch in decomposed if ch.isascii() and not unicodedata.combining(ch))


def _keep(ch: str) -> bool:
    if ch in _ALLOWED_PUNCT:
        return True
    cat = unicodedata.category(ch)
    return cat[0] == "L" or cat == "Nd"


_ASCII_DROPPED = re.compile(r"[^A-Za-z0-9_\-.()+,]")


def _kept(text: str) -> str:
    """The characters :func:`_keep` keeps. (Letters, decimal digits and the allowed punctuation are all
    printable, so an extra "printable" test would drop nothing more.) In ASCII text those are exactly
    A-Z, a-z, 0-9 and the allowed punctuation: one regex pass instead of a look-up per character."""
    if text.isascii():
        return _ASCII_DROPPED.sub("", text)
    return "".join(filter(_keep, text))


def safe_component(value: object, *, translit: bool = False) -> str:
    """Clean one field value (no separators, no control characters, no symbols)."""
    text = unicodedata.normalize("NFC", str(value if value is not None else ""))
    text = _SEPARATORS.sub("_", text)
    if translit:
        text = transliterate(text)
    text = _kept(text)
    text = re.sub(r"\.{2,}", ".", text)  # never ".."
    text = re.sub(r"_{2,}", "_", text)
    text = re.sub(r"-{2,}", "-", text)
    return text.strip("._- ")


def _truncate(text: str, max_chars: int, max_bytes: int) -> str:
    text = text[:max_chars]
    while len(text.encode("utf-8")) > max_bytes:
        text = text[:-1]
    return text


def _finish(name: str, max_chars: int, max_bytes: int) -> str:
    name = re.sub(r"\.{2,}", ".", name)
    name = re.sub(r"_{2,}", "_", name)
    name = _truncate(name, max_chars, max_bytes)
    name = name.strip("._- ")  # no leading dot, no trailing dots/spaces
    if not name:
        name = FALLBACK
    stem, dot, rest = name.partition(".")
    if stem.upper() in RESERVED_NAMES:
        name = f"{stem}_{dot}{rest}"
    return name


def build_name(
    pattern: str,
    fields: Mapping[str, object],
    *,
    translit: bool = False,
    max_length: int = 120,
) -> str:
    """The package name (without extension) from ``pattern``; every field is cleaned first.

    Missing or empty fields leave no dangling separators (``{sagsnummer}_{titel}`` without a case number
    gives just the title).
    """
    from pipeline.config import validate_pattern

    validate_pattern(pattern)
    limit = max(20, min(max_length, 200))
    parts: list[str] = []
    values: list[int] = []  # indexes of field values in parts
    for literal, name, _spec, _conv in string.Formatter().parse(pattern):
        parts.append("".join(ch for ch in _SEPARATORS.sub("_", literal) if _keep(ch)))
        if name is not None:
            values.append(len(parts))
            parts.append(safe_component(fields.get(name, ""), translit=translit))
    if not any(parts[i] for i in values):
        return FALLBACK
    # too long: shorten the longest field first, so short fields (case number, version) survive
    def _size() -> tuple[int, int]:
        joined = "".join(parts)
        return len(joined), len(joined.encode("utf-8"))

    while _size()[0] > limit or _size()[1] > MAX_BYTES:
        longest = max(values, key=lambda i: len(parts[i].encode("utf-8")))
        chars, size = _size()
        excess = max(chars - limit, (size - MAX_BYTES + 1) // 2, 1)
        if len(parts[longest]) <= 8:
            break
        parts[longest] = parts[longest][: max(8, len(parts[longest]) - excess)].rstrip("._- ")
    raw = "".join(parts)
    # separators left around empty fields: "_v" stays, "__" and leading "_" go
    raw = re.sub(r"([_\-.])[_\-.]+", r"\1", raw)
    if translit:
        raw = transliterate(raw)
    return _finish(raw, limit, MAX_BYTES)
