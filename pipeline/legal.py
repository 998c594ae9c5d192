"""Legal references: parse the compact catalogue notation and format it the Danish way.

Notation (see ``docs/architecture.md``)::

    AIA 6(3)              -> artikel 6, stk. 3, i AI-forordningen
    AIA 5(1)(f)           -> artikel 5, stk. 1, litra f, i AI-forordningen
    AIA bilag III 5(a)    -> bilag III, punkt 5, litra a, til AI-forordningen
    AIA betragtning 12    -> betragtning 12 til AI-forordningen
    GDPR 44-49            -> artikel 44-49 i databeskyttelsesforordningen
    FVL § 19, stk. 1      -> forvaltningslovens § 19, stk. 1
    FVL §§ 22-24          -> forvaltningslovens §§ 22-24
    DT-LISTE 4            -> punkt 4 i Datatilsynets liste … (status of the item)
    WP248, FOB 2014-24    -> name and date from the registry

The registry of acts and documents is ``pipeline/data/acts.yaml``. Unknown acts or bad notation raise
``ValueError`` with a Danish message; catalogue loaders turn it into a ``CatalogueError``.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from pipeline.errors import CatalogueError
from pipeline.models import LegalRef
from pipeline.textfmt import syntax_error_da

__all__ = ["Act", "ActItem", "ActsRegistry", "format_ref", "load_acts", "parse_ref"]

ACTS_PATH = Path(__file__).parent / "data" / "acts.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActItem(_Strict):
    text: str
    status: Literal["bekræftet", "udkast", "ukendt"] = "bekræftet"
    uncertain: bool = False


class Act(_Strict):
    kind: Literal["eu_regulation", "dk_act", "document"]
    name: str  # definite form used in running text ("AI-forordningen", "forvaltningsloven")
    genitive: str | None = None  # "forvaltningslovens"
    full_name: str | None = None
    url: str | None = None
    date: dt.date | None = None
    status: str | None = None
    uncertain: bool = False
    note: str | None = None
    source: str
    items: dict[str, ActItem] = {}
    # Articles made of numbered points rather than paragraphs (definitions): cited "artikel 3, nr. 1".
    numbered_point_articles: list[str] = []


class RegistryInfo(_Strict):
    version: str
    date: dt.date


class ActsRegistry(_Strict):
    registry: RegistryInfo
    acts: dict[str, Act]


@lru_cache(maxsize=4)
def load_acts(path: Path = ACTS_PATH) -> ActsRegistry:
    """Load and validate the registry (cached per process)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogueError(f"kan ikke læse registret over retskilder ({exc.strerror}).", path=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise CatalogueError("registret over retskilder er ikke gemt som UTF-8.", path=str(path)) from exc
    except yaml.YAMLError as exc:
        raise CatalogueError(f"registret over retskilder er ikke gyldig YAML: {syntax_error_da(exc)}.",
                             path=str(path)) from exc
    try:
        return ActsRegistry.model_validate(data)
    except ValidationError as exc:
        raise CatalogueError(f"ugyldigt register over retskilder: {exc}", path=str(path)) from exc


# "6", "4a", "44-49"; then any number of "(3)" / "(f)" / "(ba)"
_ARTICLE = re.compile(r"^(?P<art>\d+(?:\s?[a-z])?(?:\s?[-–]\s?\d+(?:\s?[a-z])?)?)(?P<parts>(?:\([0-9a-z]+\))*)$")
_ANNEX = re.compile(r"^bilag\s+(?P<annex>[IVX]+)(?:\s+(?P<point>\d+)(?P<parts>(?:\([0-9a-z]+\))*))?$")
_RECITAL = re.compile(r"^betragtning\s+(?P<n>\d+)$")
_PARAGRAPH = re.compile(
    r"^(?P<sign>§§?)\s*(?P<num>\d+(?:\s?[a-z])?(?:\s?[-–]\s?\d+(?:\s?[a-z])?)?)"
    r"(?:,\s*stk\.\s*(?P<stk>\d+))?(?:,\s*nr\.\s*(?P<nr>\d+))?$"
)


def _norm_num(text: str) -> str:
    """'4a' -> '4 a', '22-24' -> '22-24' (Danish: a letter after a number is spaced)."""
    text = re.sub(r"\s*[-–]\s*", "-", text)
    return re.sub(r"(\d)\s?([a-z])\b", r"\1 \2", text)


def _split_parts(parts: str) -> list[str]:
    return re.findall(r"\(([0-9a-z]+)\)", parts)


def _eu_text(locator: str, act: Act, code: str) -> str:
    if not locator:
        return act.name
    m = _ARTICLE.match(locator)
    if m:
        pieces = [f"artikel {_norm_num(m['art'])}"]
        points = m["art"] in act.numbered_point_articles
        for i, part in enumerate(_split_parts(m["parts"])):
            if part.isdigit():
                pieces.append(f"stk. {part}" if i == 0 and not points else f"nr. {part}")
            else:
                pieces.append(f"litra {part}")
        return ", ".join(pieces) + f", i {act.name}" if len(pieces) > 1 else f"{pieces[0]} i {act.name}"
    m = _ANNEX.match(locator)
    if m:
        pieces = [f"bilag {m['annex']}"]
        if m["point"]:
            pieces.append(f"punkt {m['point']}")
            pieces += [f"litra {p}" for p in _split_parts(m["parts"] or "")]
        if len(pieces) == 1:
            return f"{pieces[0]} til {act.name}"
        return ", ".join(pieces) + f", til {act.name}"
    m = _RECITAL.match(locator)
    if m:
        return f"betragtning {m['n']} til {act.name}"
    raise ValueError(
        f"ugyldig henvisning '{code}': forventede fx 'AIA 6(3)', 'AIA 5(1)(f)' eller 'AIA bilag III 5(a)'"
    )


def _dk_text(locator: str, act: Act, code: str) -> str:
    if not locator:
        return act.name
    m = _PARAGRAPH.match(locator)
    if not m:
        raise ValueError(f"ugyldig henvisning '{code}': forventede fx 'FVL § 19' eller 'FVL § 19, stk. 1'")
    text = f"{m['sign']} {_norm_num(m['num'])}"
    if m["stk"]:
        text += f", stk. {m['stk']}"
    if m["nr"]:
        text += f", nr. {m['nr']}"
    return f"{act.genitive} {text}" if act.genitive else f"{text} i {act.name}"


def _document_ref(code: str, act_id: str, locator: str, act: Act) -> LegalRef:
    notes = [act.note] if act.note else []
    uncertain = act.uncertain
    if not locator:
        text = act.name
    else:
        item = act.items.get(locator)
        if item is None:
            known = ", ".join(act.items) or "ingen"
            raise ValueError(f"ukendt punkt '{locator}' i '{act_id}' (kendte punkter: {known})")
        text = f"{act.name}, punkt {locator}: {item.text}" if locator.isdigit() else f"{act.name}: {item.text}"
        if item.status != "bekræftet":
            label = "kun i udkastet til listen" if item.status == "udkast" else "ikke bekræftet"
            text += f" ({label})"
        if item.uncertain:
            uncertain = True
            notes.append(f"Punktet er {('kendt fra udkastet' if item.status == 'udkast' else 'ikke bekræftet')}.")
    return LegalRef(code=code, text=text, url=act.url, uncertain=uncertain, note=" ".join(notes) or None)


@lru_cache(maxsize=2048)
def parse_ref(code: str) -> LegalRef:
    """Parse compact notation into a :class:`LegalRef` with Danish text and a link.

    Raises:
        ValueError: unknown act id or bad notation (Danish message).
    """
    if not isinstance(code, str) or not code.strip():
        raise ValueError("tom lovhenvisning")
    code = " ".join(code.split())
    acts = load_acts().acts
    if code in acts:
        act_id, locator = code, ""
    else:
        act_id, _, locator = code.partition(" ")
    act = acts.get(act_id)
    if act is None:
        raise ValueError(f"ukendt retskilde '{act_id}' i henvisningen '{code}' (se pipeline/data/acts.yaml)")
    if act.kind == "document":
        return _document_ref(code, act_id, locator, act)
    text = _eu_text(locator, act, code) if act.kind == "eu_regulation" else _dk_text(locator, act, code)
    return LegalRef(code=code, text=text, url=act.url, uncertain=act.uncertain, note=act.note)


def format_ref(code: str) -> str:
    """Danish text of a reference (convenience for docs and messages)."""
    return parse_ref(code).text
