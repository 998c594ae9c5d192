"""Evaluation: turn validated answers into conclusions (``evaluate(intake) -> Assessment``).

All legal reasoning lives in the criteria catalogue (``pipeline/data/criteria``); this module only runs it in
stage order and assembles :class:`pipeline.models.Assessment`:

1. facts            named yes/no facts from the answers
2. classification   AI system, prohibited practices, high-risk basis, article 6(3), roles, article 50, GPAI
3. DPIA triage      article 35(3), Datatilsynet's list, the nine WP248 criteria, article 36
4. FRIA             article 27 and registration of use (article 49(3))
5. obligations      duties with "gælder" / "gælder fra …" from ``legal_dates.yaml`` and the assessment date
6. criteria         one result per criterion, with references and a trace of the answers read
7. risks, actions, overall conclusion, follow-ups, uncertainties

Every derived symbol remembers the question ids behind it, so a trace always ends in answers and cells.
Inapplicable answers are removed by the validator before this stage, so they cannot influence a result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from pipeline import __version__
from pipeline.criteria import (
    CLASSIFICATION_SYMBOLS,
    CriteriaCatalogue,
    Criterion,
    LegalDates,
    Outcome,
    RefRule,
    load_criteria,
    load_legal_dates,
)
from pipeline.expressions import new_state
from pipeline.legal import parse_ref
from pipeline.models import (
    Action,
    Assessment,
    Classification,
    CriterionResult,
    DpiaTriage,
    FriaResult,
    Intake,
    LegalRef,
    Level,
    Obligation,
    Risk,
    Status,
    TraceItem,
    Versions,
)
from pipeline.questions import Option, QuestionCatalogue, load_questions
from pipeline.textfmt import date_long, date_table, join_da, number_da, percent_da, yes_no_da

__all__ = ["evaluate", "display_value"]

_OK_STATUSES = ("opfyldt", "ikke_relevant")
_PRIORITY = {"kritisk": "høj", "hoej": "høj", "middel": "middel", "lav": "lav"}
_LEVEL_ORDER = {"lav": 0, "middel": 1, "hoej": 2, "kritisk": 3}
_RISK_LABELS = {
    "forbudt": "Forbudt AI-praksis",
    "højrisiko": "Højrisiko-AI-system",
    "begrænset": "AI-system med gennemsigtighedsforpligtelser",
    "minimal": "AI-system med minimal risiko",
    "ikke_ai_system": "Ikke et AI-system",
    "afklaring": "Kræver afklaring",
}
_DPIA_LABELS = {
    "påkrævet": "Konsekvensanalyse påkrævet",
    "anbefalet": "Konsekvensanalyse anbefalet",
    "ikke_påkrævet": "Konsekvensanalyse ikke påkrævet",
    "afklaring": "Kræver afklaring",
}


@dataclass
class _Run:
    """State of one evaluation: answers plus derived symbols, and where each symbol came from."""

    cat: CriteriaCatalogue
    qc: QuestionCatalogue
    dates: LegalDates
    intake: Intake
    on: dt.date
    values: dict[str, Any]
    sources: dict[str, list[str]] = field(default_factory=dict)  # derived symbol -> question ids
    uncertainties: list[str] = field(default_factory=list)
    _conds: dict[str, Any] = field(default_factory=dict)
    _arrays: frozenset[str] = frozenset()
    # Shortcuts for this run only (never shared between runs, so they cannot go stale):
    # condition text -> (result, question ids). A result depends only on ``values`` and ``sources``, which
    # change only in set(); set() empties it. Many criteria share a condition ("ai_system == true").
    _results: dict[str, tuple[bool, list[str]]] = field(default_factory=dict)
    # question id -> its trace item. An item depends only on the answers, which never change during a run
    # (derived symbols cannot be named like a question: the catalogue linter refuses that); set() still
    # empties it should a question id ever be set. One item may appear in several traces.
    _items: dict[str, TraceItem | None] = field(default_factory=dict)
    # One condition state for the whole run instead of one per condition: it points at ``values`` (which
    # set() changes in place, and every condition sees as it is at its call) and starts each one afresh.
    _state: Any = None

    def __post_init__(self) -> None:
        self._conds = self.cat.conditions
        self._arrays = self.cat.array_symbols
        self._state = new_state(self.values, self._arrays)

    def ev(self, text: str) -> tuple[bool, list[str]]:
        """Evaluate a catalogue condition; return the result and the question ids behind it.

        Callers must not change the returned list (it is reused for the same condition until the next set()).
        """
        hit = self._results.get(text)
        if hit is None:
            ok, read = self._conds[text].evaluate_state(self._state)
            # ``read`` holds each symbol once; when none is derived, expand() would return it unchanged.
            hit = self._results[text] = (ok, read if self.sources.keys().isdisjoint(read) else self.expand(read))
        return hit

    def expand(self, symbols: Iterable[str]) -> list[str]:
        sources = self.sources
        # A dict keeps the first position of each id: the same order as "append if not yet in the list".
        out: dict[str, None] = {}
        for s in symbols:
            src = sources.get(s)
            if src is None:
                out[s] = None
            else:
                out.update(dict.fromkeys(src))
        return list(out)

    def set(self, name: str, value: Any, qids: Iterable[str]) -> None:
        self.values[name] = value
        self.sources[name] = self.expand(qids)
        self._results.clear()
        if name in self._items or name in self.qc.by_id:
            self._items.clear()

    def uncertain(self, text: str) -> None:
        if text not in self.uncertainties:
            self.uncertainties.append(text)

    def ref(self, code: str) -> LegalRef:
        ref = parse_ref(code)
        if ref.uncertain:
            self.uncertain_ref(ref)
        return ref

    def uncertain_ref(self, ref: LegalRef) -> None:
        self.uncertain(f"{_cap(ref.text)}: {ref.note or 'oplysningen er ikke bekræftet.'}")


_M = TypeVar("_M", bound=BaseModel)


def _new(model: type[_M], **data: Any) -> _M:
    """``model(**data)`` with the same full validation, called on pydantic's validator directly: it skips
    ``BaseModel.__init__``'s Python wrapper (about 1 µs of a 2–3 µs model, built ~200 times per evaluation)."""
    return model.__pydantic_validator__.validate_python(data)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _low(text: str) -> str:
    return text[:1].lower() + text[1:]


def _merge(*lists: Iterable[str]) -> list[str]:
    """The ids of all lists, each once, in order of first appearance."""
    return list(dict.fromkeys(q for lst in lists for q in lst))


# ------------------------------------------------------------------------------------------------
# Public entry point
# ------------------------------------------------------------------------------------------------


def evaluate(
    intake: Intake, *, assessment_date: dt.date | None = None, criteria: CriteriaCatalogue | None = None
) -> Assessment:
    """Evaluate a validated intake against the criteria catalogue.

    Args:
        intake: the validated intake (answers keyed by question id; inapplicable answers already removed).
        assessment_date: the date of the assessment (default: today); decides "gælder" / "gælder fra …".
        criteria: a loaded catalogue (default: :func:`pipeline.criteria.load_criteria`).
    """
    cat = criteria or load_criteria()
    qc = load_questions()
    on = assessment_date or dt.date.today()
    run = _Run(cat=cat, qc=qc, dates=load_legal_dates(), intake=intake, on=on, values=cat.applicable(intake.answers))
    for fact in cat.facts:
        ok, qids = run.ev(fact.when)
        run.set(fact.id, ok, qids)
    classification, prohibited_rules = _classify(run)
    risks_intake = _intake_risks(run)
    dpia = _dpia(run, risks_intake)
    fria = _fria(run)
    obligations = _obligations(run, prohibited_rules)
    results = [_criterion(run, c) for c in cat.criteria]
    risks = risks_intake + _rule_risks(run, results)
    actions = _actions(run, results, risks)
    follow_ups = _follow_ups(classification, dpia, fria, results)
    overall = _overall(classification, results)
    conclusion = _conclusion(run, classification, results, follow_ups)
    for r in results:
        note = cat.by_id[r.id].uncertain_note
        if r.status != "ikke_relevant" and note:
            run.uncertain(f"{r.title}: {note}")
    return _new(
        Assessment,
        intake=intake,
        assessment_date=on,
        classification=classification,
        dpia=dpia,
        fria=fria,
        obligations=obligations,
        criteria=results,
        risks=risks,
        actions=actions,
        conclusion=conclusion,
        follow_ups=follow_ups,
        overall_status=overall,
        uncertainties=run.uncertainties,
        risk_matrix=[[_level(run, lik, con) for con in range(1, 5)] for lik in range(1, 5)],
        versions=_new(
            Versions,
            tool=__version__,
            question_catalogue=qc.version,
            question_catalogue_sha256=qc.sha256,
            criteria_catalogue=cat.version,
            criteria_catalogue_sha256=cat.sha256,
            input_sha256=intake.source.sha256,
        ),
    )


# ------------------------------------------------------------------------------------------------
# Classification (AI Act)
# ------------------------------------------------------------------------------------------------


def _matching(run: _Run, rules: Sequence[RefRule]) -> tuple[list[RefRule], list[str]]:
    hits: list[RefRule] = []
    qids: dict[str, None] = {}  # = _merge of the traces
    for rule in rules:
        ok, read = run.ev(rule.when)
        qids.update(dict.fromkeys(read))
        if ok:
            hits.append(rule)
    return hits, list(qids)


def _classify(run: _Run) -> tuple[Classification, list[RefRule]]:
    rules = run.cat.classification
    not_ai, t_not = run.ev(rules.ai_system.not_ai_if)
    is_ai_yes, t_ai = run.ev(rules.ai_system.ai_if)
    t_system = _merge(t_not, t_ai)
    is_ai: bool | None = False if not_ai else (True if is_ai_yes else None)
    reason = {True: rules.ai_system.ai_reason, False: rules.ai_system.not_ai_reason}.get(
        is_ai, rules.ai_system.unclear_reason  # type: ignore[arg-type]
    )
    applies = is_ai is not False
    prohibited, t_pro = _matching(run, rules.prohibited) if applies else ([], [])
    annex_i, t_i = _matching(run, rules.annex_i) if applies else ([], [])
    annex_iii, t_iii = _matching(run, rules.annex_iii) if applies else ([], [])
    claimed, t_claim = run.ev(rules.art_6_3.claimed_if)
    profiling, t_prof = run.ev(rules.art_6_3.profiling_if)
    exception = "ikke_relevant"
    if annex_iii:
        exception = "udelukket_profilering" if claimed and profiling else ("gælder" if claimed else "gælder_ikke")
    only_point_2 = bool(annex_iii) and all(r.ref == "AIA bilag III 2" for r in annex_iii)
    hr_iii = bool(annex_iii) and exception != "gælder"
    hr_i = bool(annex_i)
    high = hr_iii or hr_i
    provider, t_prov = run.ev(rules.roles.provider_if)
    deployer, t_dep = run.ev(rules.roles.deployer_if)
    conversions, t_conv = _matching(run, rules.roles.conversions) if high else ([], [])
    transparency, t_tr = _matching(run, rules.transparency) if applies else ([], [])
    gpai, t_gpai = run.ev(rules.gpai_if) if applies else (False, [])

    roles: list[Any] = []
    role_reasons: list[str] = []
    if applies:
        if provider or conversions:
            roles.append("udbyder")
            role_reasons += ([rules.roles.provider_reason] if provider else []) + [r.reason for r in conversions]
        if deployer:
            roles.append("idriftsætter")
            role_reasons.append(rules.roles.deployer_reason)

    t_hr = _merge(t_system, t_i, t_iii, t_claim, t_prof)
    run.set("ai_system", is_ai is True, t_system)
    run.set("ai_system_uafklaret", is_ai is None, t_system)
    run.set("udbyder", "udbyder" in roles, _merge(t_prov, t_conv, t_system))
    run.set("idriftsaetter", "idriftsætter" in roles, _merge(t_dep, t_system))
    run.set("forbudt", bool(prohibited), _merge(t_system, t_pro))
    run.set("hoejrisiko", high, t_hr)
    run.set("hoejrisiko_bilag_i", hr_i, _merge(t_system, t_i))
    run.set("hoejrisiko_bilag_iii", hr_iii, _merge(t_system, t_iii, t_claim, t_prof))
    run.set("bilag_iii_kun_punkt_2", only_point_2 and hr_iii, t_iii)
    run.set("bilag_iii_omfattet", bool(annex_iii), _merge(t_system, t_iii))
    run.set("art_6_3_undtagelse", exception == "gælder", _merge(t_iii, t_claim, t_prof))
    run.set("gennemsigtighed", bool(transparency), _merge(t_system, t_tr))
    run.set("gpai", bool(gpai), _merge(t_system, t_gpai))
    assert set(CLASSIFICATION_SYMBOLS) <= set(run.values)

    if is_ai is None:
        risk_class = "afklaring"
    elif is_ai is False:
        risk_class = "ikke_ai_system"
    elif prohibited:
        risk_class = "forbudt"
    elif high:
        risk_class = "højrisiko"
    elif transparency:
        risk_class = "begrænset"
    else:
        risk_class = "minimal"

    reasons = [reason]
    reasons += [f"{_cap(run.ref(r.ref).text)}: {r.reason}" for r in prohibited]
    reasons += [f"{_cap(run.ref(r.ref).text)}: {r.reason}" for r in annex_i]
    reasons += [f"{_cap(run.ref(r.ref).text)}: {r.reason}" for r in annex_iii]
    if exception == "udelukket_profilering":
        reasons.append(
            "Undtagelsen i artikel 6, stk. 3, kan ikke anvendes, fordi systemet profilerer fysiske personer; "
            "et bilag III-system, der profilerer, er altid højrisiko."
        )
    elif exception == "gælder":
        reasons.append(
            "Undtagelsen i artikel 6, stk. 3, finder anvendelse efter besvarelsen: systemet opfylder en af "
            "betingelserne og profilerer ikke personer. Vurderingen skal dokumenteres (artikel 6, stk. 4)."
        )
    elif exception == "gælder_ikke":
        reasons.append("Ingen af betingelserne i artikel 6, stk. 3, er opfyldt, så undtagelsen finder ikke anvendelse.")
    if applies and not prohibited and not high:
        reasons.append("Anvendelsen falder ikke ind under bilag I eller bilag III, så systemet er ikke højrisiko.")
    reasons += [f"{_cap(run.ref(r.ref).text)}: {r.reason}" for r in transparency]
    if gpai:
        reasons.append(rules.gpai_reason)
    if is_ai:
        reasons.append(
            f"AI-færdigheder ({run.ref(rules.literacy_ref).text}) gælder for alle udbydere og idriftsættere."
        )

    classification = _new(
        Classification,
        is_ai_system=is_ai,
        ai_system_reason=reason,
        roles=roles,
        role_reasons=role_reasons,
        prohibited=bool(prohibited),
        prohibited_practices=[run.ref(c) for r in prohibited for c in (r.ref, *r.extra_refs)],
        risk_class=risk_class,
        risk_class_label=_RISK_LABELS[risk_class],
        high_risk_basis=[run.ref(c) for r in (*annex_i, *(annex_iii if hr_iii else [])) for c in (r.ref, *r.extra_refs)],
        art_6_3_exception=exception,
        transparency_duties=[run.ref(r.ref) for r in transparency],
        gpai=bool(gpai),
        reasons=reasons,
        trace=_trace(run, run.expand(
            ["ai_system", "forbudt", "hoejrisiko", "art_6_3_undtagelse", "udbyder", "idriftsaetter",
             "gennemsigtighed", "gpai"]
        )),
    )
    return classification, prohibited


# ------------------------------------------------------------------------------------------------
# DPIA triage (GDPR article 35) and FRIA (AI Act article 27)
# ------------------------------------------------------------------------------------------------


def _dpia(run: _Run, intake_risks: list[Risk]) -> DpiaTriage:
    rules = run.cat.dpia
    yes, t_yes = run.ev(rules.personal_data_if)
    no, t_no = run.ev(rules.no_personal_data_if)
    personal: bool | None = True if yes else (False if no else None)
    run.set("personoplysninger", personal is True, _merge(t_yes, t_no))
    wp_hits: list[str] = []
    wp_trace: list[str] = []
    for w in rules.wp248:
        ok, read = run.ev(w.when) if personal else (False, [])
        wp_trace = _merge(wp_trace, read)
        run.set(f"wp248_{w.id}", ok, read)
        if ok:
            wp_hits.append(w.name)
    run.set("wp248_antal", float(len(wp_hits)), wp_trace)
    art353, t_353 = _matching(run, rules.art_35_3) if personal else ([], [])
    dt_items = []
    t_dt: list[str] = []
    for item in rules.datatilsynet if personal else []:
        ok, read = run.ev(item.when)
        t_dt = _merge(t_dt, read)
        if ok:
            dt_items.append(item)
    dt_refs = [run.ref(f"DT-LISTE {i.item}") for i in dt_items]

    reasons: list[str] = []
    if personal is False:
        result = "ikke_påkrævet"
        reasons.append(rules.no_personal_data_reason)
    elif personal is None:
        result = "afklaring"
        reasons.append("Det er ikke oplyst, om systemet behandler personoplysninger. Triagen kan ikke afsluttes.")
    else:
        reasons += [f"{_cap(run.ref(r.ref).text)}: {r.reason}" for r in art353]
        reasons += [f"{_cap(ref.text)}." for ref in dt_refs]
        n = len(wp_hits)
        if n:
            reasons.append(
                f"{number_da(n)} af de ni kriterier i WP248 er opfyldt: {join_da(wp_hits)}. "
                + ("To eller flere kriterier betyder som udgangspunkt, at en konsekvensanalyse er påkrævet."
                   if n >= 2 else
                   "Ét kriterium kan være nok; vælger I ikke at lave en konsekvensanalyse, skal I dokumentere hvorfor.")
            )
        else:
            reasons.append("Ingen af de ni kriterier i WP248 er opfyldt.")
        if art353 or dt_items or n >= 2:
            result = "påkrævet"
        elif n == 1:
            result = "anbefalet"
        else:
            result = "ikke_påkrævet"
        if rules.reassess_note:
            reasons.append(rules.reassess_note)
    required = result == "påkrævet"
    run.set("dpia_paakraevet", required, _merge(t_yes, t_no, wp_trace))
    extra, t_pc = run.ev(rules.prior_consultation_if)
    threshold = _LEVEL_ORDER[rules.prior_consultation_min_residual]
    high_residual = [r for r in intake_risks if _LEVEL_ORDER[r.residual_level] >= threshold]
    prior = bool(personal) and (extra or bool(high_residual))
    if prior:
        reasons.append(
            "Der er en høj restrisiko, som ikke kan nedbringes tilstrækkeligt; Datatilsynet skal høres forud for "
            "behandlingen (artikel 36 i databeskyttelsesforordningen)."
        )
    run.set("forudgaaende_hoering", prior, _merge(t_pc, ["risks"] if high_residual else []))
    done = run.values.get(rules.done_question) if rules.done_question else None
    return _new(
        DpiaTriage,
        personal_data=personal,
        result=result,
        result_label=_DPIA_LABELS[result],
        reasons=reasons,
        art_35_3=[run.ref(r.ref) for r in art353],
        wp248_criteria=wp_hits,
        datatilsynet_items=[ref.text for ref in dt_refs],
        prior_consultation=prior,
        done=done if done in ("ja", "igang", "nej") else None,
        trace=_trace(run, _merge(t_yes, t_no, wp_trace, t_353, t_dt, run.sources["forudgaaende_hoering"])),
    )


def _fria(run: _Run) -> FriaResult:
    rules = run.cat.fria
    required, t_req = run.ev(rules.required_if)
    coverage: dict[str, bool] = {}
    t_cov: list[str] = []
    if required:
        for letter, text in rules.coverage.items():
            ok, read = run.ev(text)
            coverage[letter] = ok
            t_cov = _merge(t_cov, read)
        reasons = [rules.required_reason]
        missing = [k for k, v in coverage.items() if not v]
        if missing:
            reasons.append(
                "Besvarelsen dækker ikke artikel 27, stk. 1, litra " + join_da(missing) + ", som skal udfyldes."
            )
    else:
        hits, _ = _matching(run, rules.not_required_reasons)
        reasons = [h.reason for h in hits] or ["Betingelserne i artikel 27, stk. 1, er ikke opfyldt."]
    registration, t_reg = run.ev(rules.registration_if)
    run.set("fria_paakraevet", required, t_req)
    run.set("registrering_49_3", registration, t_reg)
    run.set("fria_daekning_fuld", required and all(coverage.values()), _merge(t_req, t_cov))
    return _new(
        FriaResult,
        required=required,
        reasons=reasons,
        coverage=coverage,
        registration_required=registration,
        trace=_trace(run, _merge(run.sources["fria_paakraevet"], t_cov, t_reg)),
    )


# ------------------------------------------------------------------------------------------------
# Obligations with dates
# ------------------------------------------------------------------------------------------------


def _date_group(run: _Run, group: str, prohibited: Sequence[RefRule]) -> str:
    if group == "hoejrisiko":
        return "high_risk_annex_iii" if run.values.get("hoejrisiko_bilag_iii") else "high_risk_annex_i"
    if group == "forbud":
        groups = [r.date_group for r in prohibited if r.date_group] or ["prohibitions"]
        return min(groups, key=lambda g: run.dates.resolve(g, run.on)[0].date)
    return group


def _obligations(run: _Run, prohibited: Sequence[RefRule]) -> list[Obligation]:
    out: list[Obligation] = []
    for ob in run.cat.obligations:
        ok, _ = run.ev(ob.when)
        if not ok:
            continue
        group = _date_group(run, ob.date_group, prohibited)
        entry, source = run.dates.resolve(group, run.on)
        now = entry.date <= run.on
        uncertain = source.uncertain or entry.uncertain
        if uncertain:
            note = entry.note or source.note or "kilden er ikke bekræftet."
            run.uncertain(
                f"Datoen {date_long(entry.date)} for {_low(run.dates.groups[group].title)} bygger på "
                f"{source.name}: {note}"
            )
        out.append(
            _new(
                Obligation,
                id=ob.id,
                actor=ob.actor,
                title=ob.title,
                description=ob.description,
                references=[run.ref(r) for r in ob.references],
                applies_from=entry.date,
                applies_now=now,
                applies_text="gælder" if now else f"gælder fra {date_long(entry.date)}",
                date_source=source.name,
                date_uncertain=uncertain,
            )
        )
    return out


# ------------------------------------------------------------------------------------------------
# Criteria
# ------------------------------------------------------------------------------------------------


def display_value(qc: QuestionCatalogue, question_id: str, value: Any) -> str:
    """Danish display text of an answer (trace and report)."""
    if value is None or value == []:
        return "(ikke besvaret)"
    q = qc.by_id.get(question_id)
    if q is None:
        return str(value)
    if q.type == "yes_no":
        return yes_no_da(bool(value))
    if q.type in ("choice", "multi_choice"):
        # A scan of the options instead of building q.option_by_code() for every answer: codes are unique
        # within a question (the catalogue loader checks), so the first match is the dict's entry.
        codes = value if isinstance(value, list) else [value]
        return ", ".join(_option_label(q.options, c) for c in codes)
    if q.type == "date" and isinstance(value, dt.date):
        return date_table(value)
    if q.type == "percentage" and isinstance(value, int | float):
        return percent_da(float(value))
    if q.type == "number" and isinstance(value, int | float):
        return number_da(value)
    if q.type == "table" and isinstance(value, list):
        return f"{number_da(len(value))} række{'r' if len(value) != 1 else ''}"
    text = str(value)
    return text if len(text) <= 200 else text[:197] + "…"


def _option_label(options: Sequence[Option], code: Any) -> str:
    for o in options:
        if o.code == code:
            return o.label.da
    return str(code)


def _trace(run: _Run, qids: Iterable[str]) -> list[TraceItem]:
    items: list[TraceItem] = []
    memo = run._items
    for qid in qids:
        if qid in memo:
            item = memo[qid]
        else:
            item = memo[qid] = _trace_item(run, qid)
        if item is not None:
            items.append(item)
    return items


def _trace_item(run: _Run, qid: str) -> TraceItem | None:
    q = run.qc.by_id.get(qid)
    if q is None:
        return None
    loc = run.intake.locations.get(qid)
    value = display_value(run.qc, qid, run.values.get(qid))
    if qid not in run.values and not run.cat.applies(qid, run.values):
        value = "(ikke relevant for dette system)"
    return _new(
        TraceItem,
        question_id=qid,
        label=q.label.da,
        sheet=loc.sheet if loc else None,
        cell=loc.cell if loc else None,
        value=value,
    )


def _missing(run: _Run, needs: Sequence[str]) -> list[str]:
    values = run.values
    return [q for q in needs if (v := values.get(q)) is None or v == []]


def _criterion(run: _Run, c: Criterion) -> CriterionResult:
    read: dict[str, None] = {}  # question ids read, in order of first appearance (= _merge of the traces)
    chosen: Outcome | None = None
    status_override: tuple[Status, str, str | None] | None = None
    if c.applies_if:
        ok, t = run.ev(c.applies_if)
        read.update(dict.fromkeys(t))
        if not ok:
            status_override = ("ikke_relevant", c.not_relevant, None)
    if status_override is None and c.needs and (missing := _missing(run, c.needs)):
        read.update(dict.fromkeys(run.expand(missing)))
        labels = [run.qc.by_id[q].label.da for q in missing if q in run.qc.by_id]
        status_override = (
            "kraever_afklaring",
            "Kriteriet kan ikke vurderes, fordi spørgsmål ikke er besvaret: " + join_da(labels or missing) + ".",
            "Besvar spørgsmålene i intakearket, og kør vurderingen igen.",
        )
    pick = -1  # the chosen outcome: its index, len(outcomes) for the default, -1 for none
    if status_override is None:
        for i, o in enumerate(c.outcomes):
            ok, t = run.ev(o.if_ or "false")
            read.update(dict.fromkeys(t))
            if ok:
                chosen, pick = o, i
                break
        else:
            chosen, pick = c.default, len(c.outcomes)
    # The references parsed once per catalogue (= parse_ref of c.references + the chosen outcome's references).
    ref_set = run.cat.ref_sets[(c.id, pick)]
    refs = list(ref_set.refs)
    if status_override is None or status_override[0] != "ikke_relevant":
        for r in refs:  # what run.ref() does for each reference of a relevant criterion
            if r.uncertain:
                run.uncertain_ref(r)
    uncertain, note = ref_set.uncertain, ref_set.note
    severity: Level
    if chosen is not None:
        status, severity, finding, rec = chosen.status, chosen.severity, chosen.finding, chosen.recommendation
    else:
        assert status_override is not None
        status, finding, rec = status_override
        severity = "middel" if status == "kraever_afklaring" else "lav"
    return _new(
        CriterionResult,
        id=c.id,
        family=c.family,
        title=c.title,
        status=status,
        severity=severity,
        finding=finding,
        recommendation=rec,
        references=refs,
        trace=_trace(run, read),
        uncertain=uncertain and status != "ikke_relevant",
        uncertainty_note=note if uncertain and status != "ikke_relevant" else None,
    )


# ------------------------------------------------------------------------------------------------
# Risks and actions
# ------------------------------------------------------------------------------------------------


def _level(run: _Run, likelihood: int, consequence: int) -> Level:
    score = likelihood * consequence
    for entry in run.cat.risk_levels:
        if score <= entry.max:
            return entry.level
    return run.cat.risk_levels[-1].level


def _scale(value: Any, default: int) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return max(1, min(4, round(value)))
    return default


def _intake_risks(run: _Run) -> list[Risk]:
    rows = run.values.get("risks") or []
    out: list[Risk] = []
    for i, row in enumerate(rows if isinstance(rows, list) else [], start=1):
        if not isinstance(row, dict) or not row.get("description"):
            continue
        lik = _scale(row.get("likelihood"), 2)
        con = _scale(row.get("consequence"), 2)
        rlik = _scale(row.get("residual_likelihood"), lik)
        rcon = _scale(row.get("residual_consequence"), con)
        text = str(row["description"])
        out.append(
            _new(
                Risk,
                id=f"R{i}",
                title=text if len(text) <= 80 else text[:77] + "…",
                description=text,
                affected=row.get("affected"),
                source="intake",
                likelihood=lik,
                consequence=con,
                residual_likelihood=rlik,
                residual_consequence=rcon,
                level=_level(run, lik, con),
                residual_level=_level(run, rlik, rcon),
                measures=row.get("measures"),
            )
        )
    return out


def _rule_risks(run: _Run, results: Sequence[CriterionResult]) -> list[Risk]:
    out: list[Risk] = []
    for res in results:
        spec = run.cat.by_id[res.id].risk
        if spec is None or res.status not in spec.for_status:
            continue
        out.append(
            _new(
                Risk,
                id=f"K{len(out) + 1}",
                title=spec.title,
                description=spec.description,
                affected=spec.affected,
                source="regel",
                criterion_id=res.id,
                likelihood=spec.likelihood,
                consequence=spec.consequence,
                residual_likelihood=spec.residual_likelihood,
                residual_consequence=spec.residual_consequence,
                level=_level(run, spec.likelihood, spec.consequence),
                residual_level=_level(run, spec.residual_likelihood, spec.residual_consequence),
                measures=spec.measures,
            )
        )
    return out


def _deadline(run: _Run, days: int | None) -> dt.date | None:
    go_live = run.values.get("go_live_date")
    if days is None or not isinstance(go_live, dt.date):
        return None
    return go_live + dt.timedelta(days=days)


def _actions(run: _Run, results: Sequence[CriterionResult], risks: Sequence[Risk]) -> list[Action]:
    out: list[Action] = []
    for res in results:
        crit = run.cat.by_id[res.id]
        spec = crit.action
        statuses = spec.for_status if spec else ["ikke_opfyldt", "delvist_opfyldt", "kraever_afklaring"]
        if res.status not in statuses:
            continue
        default = run.cat.action_defaults.get(res.family)
        owner = spec.owner_role if spec else (default.owner_role if default else "Systemejer")
        deadline_text = spec.deadline_text if spec else (default.deadline_text if default else "Før ibrugtagning")
        days = spec.deadline_days if spec else (default.deadline_days if default else None)
        out.append(
            _new(
                Action,
                id=f"H{len(out) + 1}",
                title=spec.title if spec else res.title,
                description=res.recommendation or res.finding,
                priority=_PRIORITY[res.severity],
                owner_role=owner,
                deadline_text=deadline_text,
                deadline=_deadline(run, days),
                criterion_id=res.id,
            )
        )
    covered = {a.criterion_id for a in out}
    for risk in risks:
        if _LEVEL_ORDER[risk.residual_level] < _LEVEL_ORDER["hoej"] or risk.criterion_id in covered:
            continue
        out.append(
            _new(
                Action,
                id=f"H{len(out) + 1}",
                title=f"Nedbring risikoen: {risk.title}",
                description=(
                    "Restrisikoen er fortsat høj. Vælg yderligere foranstaltninger, eller lad ledelsen tage stilling "
                    "til at acceptere risikoen; overvej forudgående høring af Datatilsynet (artikel 36)."
                ),
                priority="høj",
                owner_role="Systemejer og databeskyttelsesrådgiver",
                deadline_text="Før ibrugtagning",
                deadline=_deadline(run, 0),
                risk_id=risk.id,
            )
        )
    for row in run.values.get("planned_actions") or []:
        if not isinstance(row, dict) or not row.get("action") or row.get("status") == "gennemfoert":
            continue
        text = str(row["action"])
        deadline = row.get("deadline") if isinstance(row.get("deadline"), dt.date) else None
        out.append(
            _new(
                Action,
                id=f"H{len(out) + 1}",
                title=text if len(text) <= 80 else text[:77] + "…",
                description=text,
                priority="middel",
                owner_role=str(row.get("owner") or "Ikke angivet"),
                deadline_text=date_table(deadline) if deadline else "Ikke angivet",
                deadline=deadline,
                source="intake",
            )
        )
    return out


# ------------------------------------------------------------------------------------------------
# Conclusion
# ------------------------------------------------------------------------------------------------


def _follow_ups(cl: Classification, dpia: DpiaTriage, fria: FriaResult, results: Sequence[CriterionResult]) -> list[str]:
    if cl.prohibited:
        return ["Beslutning om at stoppe anskaffelsen eller brugen af systemet (journaliseres på sagen)"]
    out: list[str] = []
    if dpia.result == "påkrævet":
        out.append("Konsekvensanalyse vedrørende databeskyttelse (DPIA)")
    if fria.required:
        out.append("Konsekvensanalyse vedrørende grundlæggende rettigheder (grundrettighedsvurdering, artikel 27)")
    transfer = next((r for r in results if r.id == "gdpr.overfoersel"), None)
    if transfer is not None and transfer.status not in _OK_STATUSES:
        out.append("Overførselsvurdering for overførsel til tredjelande (artikel 44-49)")
    if dpia.prior_consultation:
        out.append("Forudgående høring af Datatilsynet (artikel 36)")
    if fria.registration_required or ("udbyder" in cl.roles and cl.risk_class == "højrisiko"):
        out.append("Registrering i EU-databasen (artikel 49)")
    if cl.art_6_3_exception == "gælder" and cl.risk_class != "højrisiko":
        out.append("Dokumentation af vurderingen efter artikel 6, stk. 3 (artikel 6, stk. 4)")
    return out


def _overall(cl: Classification, results: Sequence[CriterionResult]) -> Any:
    if cl.prohibited:
        return "forbudt"
    if any(r.status == "ikke_opfyldt" and r.severity in ("hoej", "kritisk") for r in results):
        return "ikke_klar"
    if any(r.status not in _OK_STATUSES for r in results):
        return "klar_med_forbehold"
    return "klar"


def _conclusion(run: _Run, cl: Classification, results: Sequence[CriterionResult], follow_ups: list[str]) -> str:
    texts = run.cat.conclusion
    system = str(run.values.get("system_name") or "Systemet")
    unmet = sum(r.status == "ikke_opfyldt" for r in results)
    partial = sum(r.status == "delvist_opfyldt" for r in results)
    unclear = sum(r.status == "kraever_afklaring" for r in results)
    mangler = ""
    if unmet or partial or unclear:
        parts = [
            f"{number_da(unmet)} krav ikke er opfyldt" if unmet else "",
            f"{number_da(partial)} krav kun er delvist opfyldt" if partial else "",
            f"{number_da(unclear)} krav kræver afklaring" if unclear else "",
        ]
        mangler = f"Vurderingen viser, at {join_da(parts)}; handlingsplanen beskriver, hvad der skal gøres. "
    opfoelgning = ""
    if follow_ups:
        opfoelgning = "Følgende skal desuden udarbejdes eller gennemføres: " + join_da(
            [f[:1].lower() + f[1:] for f in follow_ups]
        ) + "."
    values = {
        "system": system,
        "klasse": _RISK_LABELS[cl.risk_class].replace("AI-system med ", "").lower(),
        "grundlag": join_da([r.text for r in cl.high_risk_basis]),
        "forbud": join_da([r.text for r in cl.prohibited_practices if r.code.startswith("AIA")]),
        "pligter": join_da(list(cl.roles)) or "idriftsætter",
        "mangler": mangler,
        "opfoelgning": opfoelgning,
    }
    if cl.prohibited:
        template = texts.forbudt
    elif cl.is_ai_system is None:
        template = texts.afklaring
    elif cl.is_ai_system is False:
        template = texts.ikke_ai
    elif cl.risk_class == "højrisiko":
        template = texts.hoejrisiko
    else:
        template = texts.oevrige
    return " ".join(template.format_map(values).split())
