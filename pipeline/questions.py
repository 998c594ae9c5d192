"""The question catalogue: load ``pipeline/data/questions.yaml`` and validate it with pydantic.

The catalogue is the single source of truth for the intake workbook (``pipeline.workbook``), the reader
and validator (``pipeline.validate``) and the evaluation (conditions name question ids). Loading refuses
a broken catalogue with a :class:`~pipeline.errors.CatalogueError` that names the file and the entry:
unknown keys, duplicate ids, questions in unknown sections, dangling or ill-typed ``applies_if``
conditions, option codes in conditions that do not exist, and (when ``pipeline.legal`` is available)
unknown legal references.
"""

from __future__ import annotations

import datetime as dt
import functools
import graphlib
import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from pipeline.errors import CatalogueError
from pipeline.expressions import Condition, ConditionError, DataType, compile_condition
from pipeline.textfmt import syntax_error_da

__all__ = [
    "DEFAULT_PATH",
    "SCALAR_TYPES",
    "Column",
    "Option",
    "Question",
    "QuestionCatalogue",
    "Section",
    "Text",
    "load_questions",
]

DEFAULT_PATH = Path(__file__).parent / "data" / "questions.yaml"

QuestionType = Literal[
    "text", "long_text", "yes_no", "choice", "multi_choice", "date", "number",
    "percentage", "email", "cvr", "kle", "kle_facet", "table",
]
ColumnType = Literal[
    "text", "long_text", "yes_no", "choice", "multi_choice", "date", "number",
    "percentage", "email", "cvr", "kle", "kle_facet",
]
SCALAR_TYPES = frozenset(
    {"text", "long_text", "yes_no", "choice", "date", "number", "percentage", "email", "cvr", "kle", "kle_facet"}
)
_ID_RE = r"^[a-z][a-z0-9_]*$"
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
MIN_TABLE_ROWS = 30


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    """A text in Danish (required) and English (optional; Danish is used when missing)."""

    da: str = Field(min_length=1)
    en: str | None = None

    def get(self, lang: str = "da") -> str:
        return self.en if lang == "en" and self.en else self.da


class Option(_Strict):
    code: str = Field(pattern=_ID_RE)
    label: Text
    help: Text | None = None


class _Typed(_Strict):
    """Fields shared by questions and table columns."""

    id: str = Field(pattern=_ID_RE, max_length=64)
    label: Text
    help: Text | None = None
    required: bool = False
    options: list[Option] = Field(default_factory=list)
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    pattern_message: Text | None = None

    def option_by_code(self) -> dict[str, Option]:
        return {o.code: o for o in self.options}


class Column(_Typed):
    type: ColumnType


class Question(_Typed):
    section: str
    type: QuestionType
    applies_if: str | None = None
    # An answer here while the question does not apply contradicts the controlling answer (e.g. special
    # categories ticked after "no personal data"): an error, not the usual warning.
    conflict_if_inapplicable: bool = False
    phases: list[str] = Field(default_factory=list)
    refs: list[str] = Field(default_factory=list)
    columns: list[Column] = Field(default_factory=list)
    rows: int = MIN_TABLE_ROWS


class Section(_Strict):
    id: str = Field(pattern=_ID_RE)
    sheet: str = Field(min_length=1, max_length=31)
    title: Text
    intro: Text | None = None


class CatalogueMeta(_Strict):
    id: str
    version: str = Field(pattern=r"^\d+\.\d+(\.\d+)?$")
    date: dt.date | None = None


class QuestionCatalogue(_Strict):
    """The validated catalogue. Use :func:`load_questions` to get one."""

    catalogue: CatalogueMeta
    sections: list[Section]
    questions: list[Question]

    _sha256: str = PrivateAttr(default="")
    _path: str = PrivateAttr(default="")
    _conditions: dict[str, Condition] = PrivateAttr(default_factory=dict)

    @property
    def version(self) -> str:
        return self.catalogue.version

    @property
    def sha256(self) -> str:
        return self._sha256

    @property
    def path(self) -> str:
        return self._path

    @functools.cached_property
    def derived(self) -> dict[Any, Any]:
        """Views other modules derive from this catalogue once (e.g. the report's labels per language), keyed
        by their module and purpose. The catalogue is immutable, so they live as long as it and cannot go stale."""
        return {}

    @functools.cached_property
    def by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}

    @functools.cached_property
    def section_by_id(self) -> dict[str, Section]:
        return {s.id: s for s in self.sections}

    @functools.cached_property
    def _by_section(self) -> dict[str, list[Question]]:
        out: dict[str, list[Question]] = {s.id: [] for s in self.sections}
        for q in self.questions:
            out[q.section].append(q)
        return out

    def questions_in(self, section_id: str) -> list[Question]:
        return self._by_section.get(section_id, [])

    def condition_types(self) -> dict[str, Any]:
        """Symbol types for conditions: question id -> rule_engine DataType."""
        return {q.id: _data_type(q.type) for q in self.questions}

    @functools.cached_property
    def array_symbols(self) -> frozenset[str]:
        """Question ids whose unanswered value is ``[]`` in conditions (multi_choice and table)."""
        return frozenset(q.id for q in self.questions if q.type in ("multi_choice", "table"))

    @functools.cached_property
    def condition_order(self) -> list[str] | None:
        """Ids of the questions with a condition, each after the conditional questions it reads.

        None when conditions depend on each other in a cycle (then callers iterate to a fixpoint).
        """
        graph = {
            qid: {s for s in cond.symbols if s in self._conditions} for qid, cond in self._conditions.items()
        }
        try:
            return list(graphlib.TopologicalSorter(graph).static_order())
        except graphlib.CycleError:
            return None

    def condition(self, question_id: str) -> Condition | None:
        """The compiled ``applies_if`` of a question (None when it always applies)."""
        return self._conditions.get(question_id)

    def applies(
        self, question_id: str, answers: Mapping[str, Any], memo: dict[Any, bool] | None = None
    ) -> bool:
        """Whether the question applies given ``answers``.

        ``memo`` (a dict the caller keeps for one set of answers) caches results of identical conditions.
        A condition that cannot be evaluated because an answer it compares is missing (e.g.
        ``affected_count >= 10000`` with no count) counts as not applying, like the greyed-out row.
        """
        cond = self._conditions.get(question_id)
        if cond is None:
            return True
        key = None
        if memo is not None:  # many questions share a condition ("personal_data == true")
            key = (cond.text, tuple((n, _hashable(answers.get(n))) for n in sorted(cond.symbols)))
            if key in memo:
                return memo[key]
        result = cond.evaluate(answers, self.array_symbols, undefined=False)
        if memo is not None:
            memo[key] = result
        return result


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return ("rows", len(value)) if value and isinstance(value[0], dict) else tuple(value)
    return value


def _data_type(qtype: str) -> Any:
    if qtype == "yes_no":
        return DataType.BOOLEAN
    if qtype in ("number", "percentage"):
        return DataType.FLOAT
    if qtype == "date":
        return DataType.DATETIME
    if qtype == "multi_choice":
        return DataType.ARRAY(DataType.STRING)
    if qtype == "table":
        return DataType.ARRAY(DataType.FLOAT)  # conditions see a table as its row indexes
    return DataType.STRING


# ------------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------------


def load_questions(path: Path | None = None) -> QuestionCatalogue:
    """Load and validate the question catalogue (cached per process and path).

    Raises:
        CatalogueError: the file is missing, not YAML or not a valid catalogue (names file and entry).
    """
    # The bundled catalogue's resolved path is worked out once (Path.resolve reads every folder of the path,
    # and the package does not move while it runs); the file is still stat'ed on every call, so a changed
    # catalogue is read afresh exactly as before.
    resolved = _bundled_resolved(DEFAULT_PATH) if path is None else str(path.resolve())
    try:
        stat = os.stat(resolved)
    except OSError as exc:
        raise CatalogueError("spørgsmålskataloget findes ikke eller kan ikke læses.", path=resolved) from exc
    return _load_cached(resolved, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)  # only ever called with DEFAULT_PATH (keyed by it, should a test replace it)
def _bundled_resolved(path: Path) -> str:
    return str(path.resolve())


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, _mtime: int, _size: int) -> QuestionCatalogue:
    raw = Path(path).read_bytes()
    return parse_catalogue(raw, path=path)


def parse_catalogue(raw: bytes, *, path: str = "<questions.yaml>") -> QuestionCatalogue:
    """Validate catalogue bytes (YAML). Used by :func:`load_questions` and by tests."""
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CatalogueError("filen er ikke gemt som UTF-8.", path=path) from exc
    except yaml.YAMLError as exc:
        raise CatalogueError(f"filen er ikke gyldig YAML: {syntax_error_da(exc)}.", path=path) from exc
    if not isinstance(data, dict):
        raise CatalogueError("filen skal indeholde 'catalogue', 'sections' og 'questions'.", path=path)
    try:
        cat = QuestionCatalogue.model_validate(data)
    except ValidationError as exc:
        raise _pydantic_error(exc, data, path) from exc
    cat._sha256 = hashlib.sha256(raw).hexdigest()
    cat._path = path
    _check_structure(cat, path)
    cat._conditions = _compile_conditions(cat, path)
    _check_refs(cat, path)
    return cat


def _pydantic_error(exc: ValidationError, data: dict[str, Any], path: str) -> CatalogueError:
    err = exc.errors(include_url=False)[0]
    loc = list(err["loc"])
    entry = None
    if len(loc) >= 2 and loc[0] in ("questions", "sections") and isinstance(loc[1], int):
        items = data.get(loc[0]) or []
        item = items[loc[1]] if loc[1] < len(items) else None
        entry = str(item.get("id")) if isinstance(item, dict) and item.get("id") else f"{loc[0]}[{loc[1]}]"
        loc = loc[2:]
    where = ".".join(str(p) for p in loc) or "(hele posten)"
    if err["type"] == "extra_forbidden":
        msg = f"ukendt nøgle '{where}'"
    elif err["type"] == "missing":
        msg = f"nøglen '{where}' mangler"
    else:
        msg = f"ugyldig værdi i '{where}': {err['msg']}"
    more = len(exc.errors()) - 1
    if more:
        msg += f" (og {more} fejl mere)"
    return CatalogueError(msg, path=path, entry=entry)


def _dupes(values: list[str]) -> list[str]:
    seen: set[str] = set()
    return [v for v in values if v in seen or seen.add(v)]  # type: ignore[func-returns-value]


def _check_structure(cat: QuestionCatalogue, path: str) -> None:
    for kind, ids in (
        ("afsnits-id", [s.id for s in cat.sections]),
        ("arknavn", [s.sheet.casefold() for s in cat.sections]),
        ("spørgsmåls-id", [q.id for q in cat.questions]),
    ):
        if dup := _dupes(ids):
            raise CatalogueError(f"{kind} '{dup[0]}' bruges mere end én gang.", path=path, entry=dup[0])
    for s in cat.sections:
        if _SHEET_FORBIDDEN.search(s.sheet) or s.sheet.startswith("_") or s.sheet.strip() != s.sheet:
            raise CatalogueError(f"ugyldigt arknavn '{s.sheet}'.", path=path, entry=s.id)
    for q in cat.questions:
        if q.section not in cat.section_by_id:
            raise CatalogueError(f"ukendt afsnit '{q.section}'.", path=path, entry=q.id)
        _check_typed(q, path, q.id)
        if q.type == "table":
            if not q.columns:
                raise CatalogueError("en tabel skal have kolonner ('columns').", path=path, entry=q.id)
            if q.rows < MIN_TABLE_ROWS:
                raise CatalogueError(f"en tabel skal have mindst {MIN_TABLE_ROWS} rækker.", path=path, entry=q.id)
            if dup := _dupes([c.id for c in q.columns]):
                raise CatalogueError(f"kolonne-id '{dup[0]}' bruges mere end én gang.", path=path, entry=q.id)
            for c in q.columns:
                _check_typed(c, path, f"{q.id}.{c.id}")
        elif q.columns:
            raise CatalogueError("kun tabeller (type: table) kan have 'columns'.", path=path, entry=q.id)


def _check_typed(item: Question | Column, path: str, entry: str) -> None:
    has_options = item.type in ("choice", "multi_choice")
    if has_options and not item.options:
        raise CatalogueError("et valgspørgsmål skal have svarmuligheder ('options').", path=path, entry=entry)
    if not has_options and item.options:
        raise CatalogueError(f"typen '{item.type}' kan ikke have 'options'.", path=path, entry=entry)
    if dup := _dupes([o.code for o in item.options]):
        raise CatalogueError(f"svarkode '{dup[0]}' bruges mere end én gang.", path=path, entry=entry)
    if dup := _dupes([o.label.da.casefold() for o in item.options]):
        raise CatalogueError(f"svarteksten '{dup[0]}' bruges mere end én gang.", path=path, entry=entry)
    if (item.min is not None or item.max is not None) and item.type not in ("number", "percentage"):
        raise CatalogueError("'min'/'max' gælder kun tal og procenter.", path=path, entry=entry)
    if item.min is not None and item.max is not None and item.min > item.max:
        raise CatalogueError("'min' er større end 'max'.", path=path, entry=entry)
    if item.pattern is not None:
        if item.type not in ("text", "long_text"):
            raise CatalogueError("'pattern' gælder kun tekst.", path=path, entry=entry)
        try:
            re.compile(item.pattern)
        except re.error as exc:
            raise CatalogueError(f"ugyldigt mønster ('pattern'): {exc}", path=path, entry=entry) from exc


def _compile_conditions(cat: QuestionCatalogue, path: str) -> dict[str, Condition]:
    types = cat.condition_types()
    out: dict[str, Condition] = {}
    for q in cat.questions:
        if not q.applies_if:
            continue
        try:
            cond = compile_condition(q.applies_if, types)
        except ConditionError as exc:
            raise CatalogueError(f"'applies_if': {exc}", path=path, entry=q.id) from exc
        if q.id in cond.symbols:
            raise CatalogueError("'applies_if' henviser til spørgsmålet selv.", path=path, entry=q.id)
        for symbol, literal in cond.comparisons:
            target = cat.by_id.get(symbol)
            if target is None or target.type not in ("choice", "multi_choice") or not isinstance(literal, str):
                continue
            if literal not in target.option_by_code():
                raise CatalogueError(
                    f"'applies_if' bruger svarkoden '{literal}', som '{symbol}' ikke har "
                    f"(gyldige: {', '.join(o.code for o in target.options)}).",
                    path=path,
                    entry=q.id,
                )
        out[q.id] = cond
    return out


def _check_refs(cat: QuestionCatalogue, path: str) -> None:
    try:
        from pipeline import legal  # written by another engineer; optional until it lands
    except ImportError:
        return
    parse_ref = getattr(legal, "parse_ref", None)
    if parse_ref is None:
        return
    for q in cat.questions:
        for ref in q.refs:
            try:
                parse_ref(ref)
            except Exception as exc:  # any failure to parse is a catalogue error for this entry
                raise CatalogueError(f"ukendt lovhenvisning '{ref}': {exc}", path=path, entry=q.id) from exc
