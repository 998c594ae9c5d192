"""The criteria catalogue: load ``pipeline/data/criteria/*.yaml`` and validate it against the questions.

The catalogue is data a lawyer can read. It has five parts, evaluated in this order by
:mod:`pipeline.evaluate` (each part may use the symbols of the parts before it):

1. ``facts``           named yes/no facts derived from the answers (``offentlig_myndighed``, ``profilering`` …)
2. ``classification``  the AI Act classification: AI system, roles, prohibited practices, high-risk basis,
                       article 6(3), transparency, general-purpose AI. It yields the symbols in
                       :data:`CLASSIFICATION_SYMBOLS` (``hoejrisiko``, ``udbyder`` …).
3. ``dpia`` / ``fria`` the triage of the data protection and fundamental rights impact assessments; yields
                       ``wp248_<id>``, ``wp248_antal``, ``dpia_paakraevet``, ``fria_paakraevet`` …
4. ``obligations``     duties with their date group (``pipeline/data/legal_dates.yaml``)
5. ``criteria``        one result per criterion (status, severity, finding, recommendation, references)

Conditions are rule-engine expressions (:mod:`pipeline.expressions`), never ``eval``. When loaded, every
condition is compiled and type-checked; every question id and option code must exist in the question
catalogue; every legal reference must parse; every date group must exist. A broken entry gives a
:class:`~pipeline.errors.CatalogueError` naming the file and the entry.

An organisation adds or overrides criteria with its own folder (``--criteria DIR``): YAML files with
``criteria:`` (same id replaces, new id adds) and ``remove:`` (ids to drop).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from pipeline.errors import CatalogueError
from pipeline.expressions import Condition, ConditionError, DataType, compile_condition, new_state
from pipeline.legal import parse_ref
from pipeline.models import Family, LegalRef, Level, Status
from pipeline.textfmt import syntax_error_da

__all__ = [
    "CLASSIFICATION_SYMBOLS",
    "CRITERIA_DIR",
    "Criterion",
    "CriteriaCatalogue",
    "LegalDates",
    "load_criteria",
    "load_legal_dates",
]

CRITERIA_DIR = Path(__file__).parent / "data" / "criteria"
LEGAL_DATES_PATH = Path(__file__).parent / "data" / "legal_dates.yaml"
_ID = r"^[a-z][a-z0-9_]*$"
_CRIT_ID = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"

# Symbols produced by the classification stage (all yes/no).
CLASSIFICATION_SYMBOLS: dict[str, str] = {
    "ai_system": "systemet er et AI-system (artikel 3, nr. 1)",
    "ai_system_uafklaret": "det er uafklaret, om systemet er et AI-system",
    "udbyder": "myndigheden er udbyder",
    "idriftsaetter": "myndigheden er idriftsætter",
    "forbudt": "systemet er omfattet af et forbud i artikel 5",
    "hoejrisiko": "systemet er et højrisiko-AI-system",
    "hoejrisiko_bilag_i": "højrisiko efter artikel 6, stk. 1, og bilag I",
    "hoejrisiko_bilag_iii": "højrisiko efter artikel 6, stk. 2, og bilag III",
    "bilag_iii_kun_punkt_2": "højrisiko alene efter bilag III, punkt 2 (kritisk infrastruktur)",
    "bilag_iii_omfattet": "anvendelsen falder ind under et punkt i bilag III (før artikel 6, stk. 3)",
    "art_6_3_undtagelse": "undtagelsen i artikel 6, stk. 3, finder anvendelse",
    "gennemsigtighed": "en gennemsigtighedsforpligtelse i artikel 50 gælder",
    "gpai": "systemet bygger på en AI-model til almen brug",
}
DPIA_SYMBOLS = {"personoplysninger": DataType.BOOLEAN, "wp248_antal": DataType.FLOAT,
                "dpia_paakraevet": DataType.BOOLEAN, "forudgaaende_hoering": DataType.BOOLEAN}
FRIA_SYMBOLS = {"fria_paakraevet": DataType.BOOLEAN, "registrering_49_3": DataType.BOOLEAN,
                "fria_daekning_fuld": DataType.BOOLEAN}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# ------------------------------------------------------------------------------------------------
# Dated legal facts
# ------------------------------------------------------------------------------------------------


class DateSource(_Strict):
    name: str
    ref: str
    in_force: dt.date
    status: str
    uncertain: bool = False
    note: str | None = None
    source: str


class DatedEntry(_Strict):
    date: dt.date
    source: str
    uncertain: bool = False
    note: str | None = None


class DateGroup(_Strict):
    title: str
    dates: list[DatedEntry] = Field(min_length=1)


class LegalDates(_Strict):
    version: str
    date: dt.date
    sources: dict[str, DateSource]
    groups: dict[str, DateGroup]

    def resolve(self, group: str, on: dt.date) -> tuple[DatedEntry, DateSource]:
        """The entry of the most recent source in force on ``on`` (the earliest source if none is)."""
        entries = self.groups[group].dates
        in_force = [e for e in entries if self.sources[e.source].in_force <= on]
        pool = in_force or [min(entries, key=lambda e: self.sources[e.source].in_force)]
        best = max(pool, key=lambda e: self.sources[e.source].in_force)
        return best, self.sources[best.source]


@functools.lru_cache(maxsize=4)
def load_legal_dates(path: Path = LEGAL_DATES_PATH) -> LegalDates:
    data = _read_yaml(path)
    try:
        dates = LegalDates.model_validate(data)
    except ValidationError as exc:
        raise _pyd_error(exc, str(path)) from exc
    for gid, group in dates.groups.items():
        for entry in group.dates:
            if entry.source not in dates.sources:
                raise CatalogueError(f"ukendt kilde '{entry.source}'", path=str(path), entry=gid)
    for sid, src in dates.sources.items():
        _check_ref(src.ref, str(path), sid)
    return dates


# ------------------------------------------------------------------------------------------------
# Catalogue models
# ------------------------------------------------------------------------------------------------


class Fact(_Strict):
    id: str = Field(pattern=_ID)
    title: str
    when: str


class RefRule(_Strict):
    """A reference that applies when a condition holds (prohibitions, annex points, transparency …)."""

    ref: str
    when: str
    reason: str
    extra_refs: list[str] = Field(default_factory=list)
    date_group: str | None = None
    actor: Literal["udbyder", "idriftsætter", "begge"] | None = None


class AiSystemRules(_Strict):
    not_ai_if: str
    ai_if: str
    ai_reason: str
    not_ai_reason: str
    unclear_reason: str


class RoleRules(_Strict):
    provider_if: str
    provider_reason: str
    deployer_if: str
    deployer_reason: str
    conversions: list[RefRule] = Field(default_factory=list)  # Art. 25(1): deployer becomes provider


class Art63Rules(_Strict):
    claimed_if: str
    profiling_if: str


class ClassificationRules(_Strict):
    ai_system: AiSystemRules
    roles: RoleRules
    prohibited: list[RefRule]
    annex_i: list[RefRule]
    annex_iii: list[RefRule]
    art_6_3: Art63Rules
    transparency: list[RefRule]
    gpai_if: str
    gpai_reason: str
    literacy_ref: str = "AIA 4"


class Wp248Criterion(_Strict):
    id: str = Field(pattern=_ID)
    name: str
    when: str


class DtItem(_Strict):
    item: str
    when: str


class DpiaRules(_Strict):
    personal_data_if: str
    no_personal_data_if: str
    no_personal_data_reason: str
    art_35_3: list[RefRule]
    wp248: list[Wp248Criterion]
    datatilsynet: list[DtItem]
    prior_consultation_if: str
    prior_consultation_min_residual: Level = "kritisk"  # an intake risk at this residual level or above
    done_question: str | None = None
    reassess_note: str | None = None


class FriaRules(_Strict):
    required_if: str
    required_reason: str
    not_required_reasons: list[RefRule]
    coverage: dict[Literal["a", "b", "c", "d", "e", "f"], str]
    registration_if: str


class ObligationRule(_Strict):
    id: str = Field(pattern=_CRIT_ID)
    actor: Literal["udbyder", "idriftsætter", "begge"]
    title: str
    description: str
    references: list[str] = Field(min_length=1)
    when: str
    date_group: str  # a group in legal_dates.yaml, or "hoejrisiko" (bilag I or III by the basis found)


class Outcome(_Strict):
    if_: str | None = Field(default=None, alias="if")
    status: Status
    severity: Level
    finding: str
    recommendation: str | None = None
    references: list[str] = Field(default_factory=list)


_RISK_STATUSES: tuple[Status, ...] = ("ikke_opfyldt", "kraever_afklaring")
_ACTION_STATUSES: tuple[Status, ...] = ("ikke_opfyldt", "delvist_opfyldt", "kraever_afklaring")


class RiskSpec(_Strict):
    title: str
    description: str
    affected: str | None = None
    likelihood: int = Field(ge=1, le=4)
    consequence: int = Field(ge=1, le=4)
    residual_likelihood: int = Field(ge=1, le=4)
    residual_consequence: int = Field(ge=1, le=4)
    measures: str
    for_status: list[Status] = Field(default_factory=lambda: list(_RISK_STATUSES))


class ActionSpec(_Strict):
    title: str
    owner_role: str
    deadline_text: str
    deadline_days: int | None = None  # relative to go-live; negative = before
    for_status: list[Status] = Field(default_factory=lambda: list(_ACTION_STATUSES))


class Criterion(_Strict):
    id: str = Field(pattern=_CRIT_ID)
    family: Family
    title: str
    description: str | None = None  # the condition in words (docs/criteria.md)
    applies_if: str | None = None
    not_relevant: str = "Kriteriet er ikke relevant for dette system."
    needs: list[str] = Field(default_factory=list)  # unanswered -> kræver afklaring
    references: list[str] = Field(min_length=1)
    outcomes: list[Outcome] = Field(default_factory=list)
    default: Outcome
    uncertain_note: str | None = None
    risk: RiskSpec | None = None
    action: ActionSpec | None = None
    _file: str = PrivateAttr(default="")

    @property
    def file(self) -> str:
        return self._file


class CatalogueMeta(_Strict):
    id: str
    version: str = Field(pattern=r"^\d+\.\d+(\.\d+)?$")
    date: dt.date | None = None


class ConclusionTexts(_Strict):
    """Paragraph templates for the overall conclusion ({placeholders} filled by the engine)."""

    forbudt: str
    hoejrisiko: str
    ikke_ai: str
    afklaring: str
    oevrige: str


class ActionDefault(_Strict):
    owner_role: str
    deadline_text: str
    deadline_days: int | None = None


class RiskLevel(_Strict):
    level: Level
    max: int = Field(ge=1, le=16)


@dataclass(frozen=True)
class RefSet:
    """The parsed references of one way a criterion can end (its own references plus the chosen outcome's)."""

    refs: tuple[LegalRef, ...]
    uncertain: bool  # the criterion has an uncertain_note, or a reference is marked uncertain
    note: str | None  # the criterion's uncertain_note, else the note of the first uncertain reference


class CriteriaCatalogue(BaseModel):
    """The validated, compiled catalogue. Use :func:`load_criteria`."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    catalogue: CatalogueMeta
    conclusion: ConclusionTexts
    action_defaults: dict[Family, ActionDefault]
    risk_levels: list[RiskLevel] = Field(min_length=1)
    facts: list[Fact]
    classification: ClassificationRules
    dpia: DpiaRules
    fria: FriaRules
    obligations: list[ObligationRule]
    criteria: list[Criterion]

    _sha256: str = PrivateAttr(default="")
    _conditions: dict[str, Condition] = PrivateAttr(default_factory=dict)
    _files: list[str] = PrivateAttr(default_factory=list)
    _array_symbols: frozenset[str] = PrivateAttr(default=frozenset())
    _applies: dict[str, Condition] = PrivateAttr(default_factory=dict)

    @property
    def version(self) -> str:
        return self.catalogue.version

    @property
    def sha256(self) -> str:
        return self._sha256

    @property
    def files(self) -> list[str]:
        return list(self._files)

    @property
    def array_symbols(self) -> frozenset[str]:
        return self._array_symbols

    def applicable(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """The answers whose question applies (``applies_if``), repeated until stable.

        The validator already removes inapplicable answers; the engine repeats the check so that no rule can
        ever read one, whatever produced the intake.
        """
        conds, arrays = self._applies, self._array_symbols  # private attributes are slow to reach: once
        current = dict(answers)
        while True:
            # ``current`` is fixed during one pass, so a condition text shared by several questions
            # ("personal_data == true") gives one result per pass: evaluate it once.
            results: dict[str, bool] = {}
            kept = {}
            state = new_state(current, arrays)  # one state per pass (= a new one per condition; see evaluate_state)
            for k, v in current.items():
                cond = conds.get(k)
                if cond is not None:
                    ok = results.get(cond.text)
                    if ok is None:
                        ok = results[cond.text] = cond.evaluate_state(state, undefined=False)[0]
                    if not ok:
                        continue
                kept[k] = v
            if len(kept) == len(current):
                return kept
            current = kept

    def applies(self, question_id: str, answers: Mapping[str, Any]) -> bool:
        cond = self._applies.get(question_id)
        return True if cond is None else cond.evaluate(answers, self._array_symbols, undefined=False)

    @property
    def conditions(self) -> dict[str, Condition]:
        """All compiled conditions by their text."""
        return self._conditions

    def cond(self, text: str) -> Condition:
        """The compiled condition for ``text`` (compiled once when the catalogue was loaded)."""
        return self._conditions[text]

    @functools.cached_property
    def by_id(self) -> dict[str, Criterion]:
        return {c.id: c for c in self.criteria}

    @functools.cached_property
    def ref_sets(self) -> dict[tuple[str, int], RefSet]:
        """(criterion id, outcome) -> its parsed references, computed once on this (immutable) catalogue.

        The outcome is its index in ``outcomes``, ``len(outcomes)`` for the default, and -1 when no outcome is
        chosen (not relevant, or needed answers missing). :func:`pipeline.legal.parse_ref` is deterministic, so
        this equals parsing the references again for every evaluation.
        """
        out: dict[tuple[str, int], RefSet] = {}
        for c in self.criteria:
            for i, o in [(-1, None), *enumerate([*c.outcomes, c.default])]:
                refs = tuple(parse_ref(r) for r in c.references + (o.references if o else []))
                out[(c.id, i)] = RefSet(
                    refs=refs,
                    uncertain=bool(c.uncertain_note) or any(r.uncertain for r in refs),
                    note=c.uncertain_note or next((r.note for r in refs if r.uncertain and r.note), None),
                )
        return out


# ------------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------------

_SINGLE_KEYS = ("catalogue", "conclusion", "action_defaults", "risk_levels", "classification", "dpia", "fria")
_LIST_KEYS = ("facts", "obligations", "criteria")


def load_criteria(extra_dirs: Sequence[Path] = ()) -> CriteriaCatalogue:
    """Load, merge and validate the criteria catalogue (cached per process and files).

    Args:
        extra_dirs: organisation folders whose ``*.yaml`` add or override criteria (by id) or remove them.

    Raises:
        CatalogueError: a file, entry, condition, reference or date group is invalid (names file and entry).
    """
    files = _yaml_files(CRITERIA_DIR)
    extras: list[Path] = []
    for d in extra_dirs:
        d = Path(d)
        if not d.is_dir():
            raise CatalogueError("mappen med egne kriterier findes ikke.", path=str(d))
        extras += _yaml_files(d)
    # One stat per file, on the path text: os.stat(str(p)) is what Path.stat() does, minus pathlib's wrapping.
    key = tuple((f, st.st_mtime_ns, st.st_size) for f in map(str, files + extras) for st in (os.stat(f),))
    return _load_cached(key, len(files))


def _yaml_files(folder: Path) -> list[Path]:
    folder = Path(folder)
    try:
        mtime = os.stat(folder).st_mtime_ns
    except OSError:
        return []
    return list(_yaml_files_cached(str(folder), mtime))


@functools.lru_cache(maxsize=32)
def _yaml_files_cached(folder: str, _mtime: int) -> tuple[Path, ...]:
    return tuple(sorted(p.resolve() for p in Path(folder).glob("*.yaml") if p.is_file()))


@functools.lru_cache(maxsize=8)
def _load_cached(key: tuple[tuple[str, int, int], ...], n_base: int) -> CriteriaCatalogue:
    paths = [Path(k[0]) for k in key]
    digest = hashlib.sha256()
    merged: dict[str, Any] = {k: [] for k in _LIST_KEYS}
    origin: dict[str, str] = {}  # criterion id -> file
    for i, path in enumerate(paths):
        raw = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + raw)
        data = _read_yaml(path, raw)
        if i < n_base:
            _merge_base(data, merged, origin, path)
        else:
            _merge_override(data, merged, origin, path)
    for extra in (LEGAL_DATES_PATH, Path(__file__).parent / "data" / "acts.yaml"):
        digest.update(extra.read_bytes())
    for k in _SINGLE_KEYS:
        if k not in merged:
            raise CatalogueError(f"delen '{k}' mangler i kriteriekataloget.", path=str(CRITERIA_DIR))
    try:
        cat = CriteriaCatalogue.model_validate(merged)
    except ValidationError as exc:
        raise _pyd_error(exc, _where(exc, merged, origin), merged) from exc
    for c in cat.criteria:
        c._file = origin.get(c.id, "")
    cat._sha256 = digest.hexdigest()
    cat._files = [str(p) for p in paths]
    _Linter(cat, origin).run()
    return cat


def _read_yaml(path: Path, raw: bytes | None = None) -> Any:
    try:
        text = (raw if raw is not None else path.read_bytes()).decode("utf-8")
        return yaml.safe_load(text)
    except OSError as exc:
        raise CatalogueError(f"filen kan ikke læses ({exc.strerror}).", path=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise CatalogueError("filen er ikke gemt som UTF-8.", path=str(path)) from exc
    except yaml.YAMLError as exc:
        raise CatalogueError(f"filen er ikke gyldig YAML: {syntax_error_da(exc)}.", path=str(path)) from exc


def _merge_base(data: Any, merged: dict[str, Any], origin: dict[str, str], path: Path) -> None:
    if not isinstance(data, dict):
        raise CatalogueError("filen skal være en YAML-ordbog.", path=str(path))
    for key, value in data.items():
        if key in _SINGLE_KEYS:
            if key in merged:
                raise CatalogueError(f"delen '{key}' findes i flere filer.", path=str(path))
            merged[key] = value
            origin[key] = str(path)
        elif key in _LIST_KEYS:
            if not isinstance(value, list):
                raise CatalogueError(f"'{key}' skal være en liste.", path=str(path))
            for item in value:
                _add_item(key, item, merged, origin, path, replace=False)
        else:
            raise CatalogueError(f"ukendt nøgle '{key}' på øverste niveau.", path=str(path))


def _merge_override(data: Any, merged: dict[str, Any], origin: dict[str, str], path: Path) -> None:
    if not isinstance(data, dict):
        raise CatalogueError("filen skal være en YAML-ordbog.", path=str(path))
    for key, value in data.items():
        if key == "criteria" and isinstance(value, list):
            for item in value:
                _add_item("criteria", item, merged, origin, path, replace=True)
        elif key == "remove" and isinstance(value, list):
            for cid in value:
                before = len(merged["criteria"])
                merged["criteria"] = [c for c in merged["criteria"] if c.get("id") != cid]
                if len(merged["criteria"]) == before:
                    raise CatalogueError("kan ikke fjerne et ukendt kriterium.", path=str(path), entry=str(cid))
        else:
            raise CatalogueError(
                f"ukendt nøgle '{key}': en organisationsfil må kun have 'criteria' og 'remove' (lister).",
                path=str(path),
            )


def _add_item(key: str, item: Any, merged: dict[str, Any], origin: dict[str, str], path: Path,
              *, replace: bool) -> None:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        raise CatalogueError(f"hver post i '{key}' skal have et 'id'.", path=str(path))
    items: list[dict[str, Any]] = merged[key]
    existing = [i for i, x in enumerate(items) if x.get("id") == item["id"]]
    if existing and not replace:
        raise CatalogueError("id'et bruges mere end én gang.", path=str(path), entry=item["id"])
    if existing:
        items[existing[0]] = item
    else:
        items.append(item)
    if key == "criteria":
        origin[item["id"]] = str(path)
    else:
        origin[f"{key}:{item['id']}"] = str(path)


def _where(exc: ValidationError, merged: dict[str, Any], origin: dict[str, str]) -> str:
    loc = exc.errors()[0]["loc"]
    if len(loc) >= 2 and loc[0] in _LIST_KEYS and isinstance(loc[1], int):
        item = merged[str(loc[0])][loc[1]]
        key = item.get("id", "") if loc[0] == "criteria" else f"{loc[0]}:{item.get('id', '')}"
        return origin.get(key, str(CRITERIA_DIR))
    return origin.get(str(loc[0]), str(CRITERIA_DIR)) if loc else str(CRITERIA_DIR)


def _pyd_error(exc: ValidationError, path: str, data: Mapping[str, Any] | None = None) -> CatalogueError:
    err = exc.errors(include_url=False)[0]
    loc = list(err["loc"])
    entry = None
    if data is not None and len(loc) >= 2 and isinstance(loc[1], int) and loc[0] in _LIST_KEYS:
        entry = str(data[str(loc[0])][loc[1]].get("id", f"{loc[0]}[{loc[1]}]"))
        loc = loc[2:]
    elif loc:
        entry = str(loc[0])
        loc = loc[1:]
    where = ".".join(str(p) for p in loc) or "(hele posten)"
    if err["type"] == "extra_forbidden":
        msg = f"ukendt nøgle '{where}'"
    elif err["type"] == "missing":
        msg = f"nøglen '{where}' mangler"
    else:
        msg = f"ugyldig værdi i '{where}': {err['msg']}"
    return CatalogueError(msg, path=path, entry=entry)


def _check_ref(ref: str, path: str, entry: str) -> None:
    try:
        parse_ref(ref)
    except ValueError as exc:
        raise CatalogueError(f"ugyldig lovhenvisning: {exc}", path=path, entry=entry) from exc


class _Linter:
    """Compile every condition once, stage by stage, and check ids, option codes, refs and date groups."""

    def __init__(self, cat: CriteriaCatalogue, origin: dict[str, str]) -> None:
        from pipeline.questions import load_questions

        self.cat = cat
        self.origin = origin
        self.qc = load_questions()
        self.types: dict[str, Any] = dict(self.qc.condition_types())
        self.dates = load_legal_dates()
        self.base = str(CRITERIA_DIR)
        cat._array_symbols = self.qc.array_symbols
        cat._applies = {
            q.id: cond for q in self.qc.questions if (cond := self.qc.condition(q.id)) is not None
        }

    def file(self, part: str) -> str:
        return self.origin.get(part, self.base)

    def compile(self, text: str, path: str, entry: str) -> None:
        try:
            cond = compile_condition(text, self.types)
        except ConditionError as exc:
            raise CatalogueError(str(exc), path=path, entry=entry) from exc
        for symbol, literal in cond.comparisons:
            q = self.qc.by_id.get(symbol)
            if q is None or q.type not in ("choice", "multi_choice") or not isinstance(literal, str):
                continue
            if literal not in q.option_by_code():
                raise CatalogueError(
                    f"betingelsen {text!r} bruger svarkoden '{literal}', som '{symbol}' ikke har "
                    f"(gyldige: {', '.join(o.code for o in q.options)}).",
                    path=path, entry=entry,
                )
        self.cat._conditions.setdefault(text, cond)

    def add_symbol(self, name: str, dtype: Any, path: str, entry: str) -> None:
        if name in self.types:
            raise CatalogueError(f"navnet '{name}' findes allerede (spørgsmål eller fakta).", path=path, entry=entry)
        self.types[name] = dtype

    def refs(self, refs: Sequence[str], path: str, entry: str) -> None:
        for r in refs:
            _check_ref(r, path, entry)

    def group(self, group: str | None, path: str, entry: str) -> None:
        if group is not None and group not in ("hoejrisiko", "forbud") and group not in self.dates.groups:
            raise CatalogueError(f"ukendt datogruppe '{group}' (se legal_dates.yaml).", path=path, entry=entry)

    def run(self) -> None:
        cat = self.cat
        for fact in cat.facts:
            path = self.origin.get(f"facts:{fact.id}", self.base)
            self.compile(fact.when, path, fact.id)
            self.add_symbol(fact.id, DataType.BOOLEAN, path, fact.id)
        self._classification()
        self._dpia()
        self._fria()
        for ob in cat.obligations:
            path = self.origin.get(f"obligations:{ob.id}", self.base)
            self.compile(ob.when, path, ob.id)
            self.refs(ob.references, path, ob.id)
            self.group(ob.date_group, path, ob.id)
        for c in cat.criteria:
            self._criterion(c)

    def _rules(self, rules: Sequence[RefRule], path: str, part: str) -> None:
        for r in rules:
            self.compile(r.when, path, f"{part}: {r.ref}")
            self.refs([r.ref, *r.extra_refs], path, f"{part}: {r.ref}")
            self.group(r.date_group, path, f"{part}: {r.ref}")

    def _classification(self) -> None:
        cl, path = self.cat.classification, self.file("classification")
        for entry, text in (
            ("ai_system.not_ai_if", cl.ai_system.not_ai_if), ("ai_system.ai_if", cl.ai_system.ai_if),
            ("roles.provider_if", cl.roles.provider_if), ("roles.deployer_if", cl.roles.deployer_if),
            ("art_6_3.claimed_if", cl.art_6_3.claimed_if), ("art_6_3.profiling_if", cl.art_6_3.profiling_if),
            ("gpai_if", cl.gpai_if),
        ):
            self.compile(text, path, entry)
        for part, rules in (("roles.conversions", cl.roles.conversions), ("prohibited", cl.prohibited),
                            ("annex_i", cl.annex_i), ("annex_iii", cl.annex_iii),
                            ("transparency", cl.transparency)):
            self._rules(rules, path, part)
        self.refs([cl.literacy_ref], path, "literacy_ref")
        for name in CLASSIFICATION_SYMBOLS:
            self.add_symbol(name, DataType.BOOLEAN, path, name)

    def _dpia(self) -> None:
        d, path = self.cat.dpia, self.file("dpia")
        self.compile(d.personal_data_if, path, "personal_data_if")
        self.compile(d.no_personal_data_if, path, "no_personal_data_if")
        self.add_symbol("personoplysninger", DataType.BOOLEAN, path, "personoplysninger")
        self._rules(d.art_35_3, path, "art_35_3")
        for w in d.wp248:
            self.compile(w.when, path, f"wp248: {w.id}")
        for w in d.wp248:
            self.add_symbol(f"wp248_{w.id}", DataType.BOOLEAN, path, f"wp248: {w.id}")
        self.add_symbol("wp248_antal", DataType.FLOAT, path, "wp248_antal")
        for item in d.datatilsynet:
            self.compile(item.when, path, f"datatilsynet: {item.item}")
            self.refs([f"DT-LISTE {item.item}"], path, f"datatilsynet: {item.item}")
        self.add_symbol("dpia_paakraevet", DataType.BOOLEAN, path, "dpia_paakraevet")
        self.compile(d.prior_consultation_if, path, "prior_consultation_if")
        self.add_symbol("forudgaaende_hoering", DataType.BOOLEAN, path, "forudgaaende_hoering")
        if d.done_question and d.done_question not in self.qc.by_id:
            raise CatalogueError(f"ukendt spørgsmål '{d.done_question}'.", path=path, entry="done_question")

    def _fria(self) -> None:
        f, path = self.cat.fria, self.file("fria")
        self.compile(f.required_if, path, "required_if")
        self._rules(f.not_required_reasons, path, "not_required_reasons")
        for letter, text in f.coverage.items():
            self.compile(text, path, f"coverage.{letter}")
        self.compile(f.registration_if, path, "registration_if")
        for name, dtype in FRIA_SYMBOLS.items():
            self.add_symbol(name, dtype, path, name)

    def _criterion(self, c: Criterion) -> None:
        path = self.origin.get(c.id, self.base)
        if c.applies_if:
            self.compile(c.applies_if, path, c.id)
        for q in c.needs:
            if q not in self.types:
                raise CatalogueError(f"'needs' nævner det ukendte spørgsmål '{q}'.", path=path, entry=c.id)
        for o in c.outcomes:
            if not o.if_:
                raise CatalogueError("hvert udfald skal have en betingelse ('if').", path=path, entry=c.id)
            self.compile(o.if_, path, c.id)
            self.refs(o.references, path, c.id)
        if c.default.if_:
            raise CatalogueError("'default' må ikke have en betingelse ('if').", path=path, entry=c.id)
        self.refs(c.references + c.default.references, path, c.id)
