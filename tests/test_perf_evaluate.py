"""The evaluation stage's shortcuts give exactly what the plain way gives (issue 7, speed).

Each test puts a shortcut beside the code it replaced (kept here as the reference): the per-run memo of
condition results and trace items, the dict-based merging of traces, the references parsed once per
catalogue, the option-label scan, models built on pydantic's validator, the one-pass applicability check,
the specialised condition closures and the one-stat catalogue key. The end-to-end test runs whole
evaluations both ways and compares the Assessment JSON byte for byte.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from evaluate_helpers import EXAMPLES, intake_from_answers, scenario_answers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

import pipeline.evaluate as ev
from pipeline.criteria import CriteriaCatalogue, load_criteria, load_legal_dates
from pipeline.expressions import compile_condition
from pipeline.legal import parse_ref
from pipeline.models import CriterionResult, Intake, TraceItem
from pipeline.questions import Question, load_questions
from pipeline.textfmt import join_da
from pipeline.validate import validate_workbook

DATE = dt.date(2026, 11, 29)
SCENARIOS = ("s1", "s2", "s3", "s4", "s5", "s6")


# ------------------------------------------------------------------------------------------------
# The plain (pre-shortcut) code, kept as the reference
# ------------------------------------------------------------------------------------------------


def _plain_merge(*lists: Any) -> list[str]:
    out: list[str] = []
    for lst in lists:
        for q in lst:
            if q not in out:
                out.append(q)
    return out


def _plain_expand(sources: dict[str, list[str]], symbols: Any) -> list[str]:
    out: list[str] = []
    for s in symbols:
        for q in sources.get(s, [s]):
            if q not in out:
                out.append(q)
    return out


class _PlainRun(ev._Run):
    """Evaluates every condition again and builds every trace item again (no memo)."""

    def ev(self, text: str) -> tuple[bool, list[str]]:
        ok, read = self._conds[text].evaluate_traced(self.values, self._arrays)
        return ok, self.expand(read)

    def expand(self, symbols: Any) -> list[str]:
        return _plain_expand(self.sources, symbols)

    def set(self, name: str, value: Any, qids: Any) -> None:
        self.values[name] = value
        self.sources[name] = self.expand(qids)


def _plain_display_value(qc: Any, question_id: str, value: Any) -> str:
    q = qc.by_id.get(question_id)
    if q is not None and q.type in ("choice", "multi_choice") and value is not None and value != []:
        labels = q.option_by_code()
        codes = value if isinstance(value, list) else [value]
        return ", ".join(labels[c].label.da if c in labels else str(c) for c in codes)
    return ev.display_value(qc, question_id, value)


def _plain_trace(run: ev._Run, qids: Any) -> list[TraceItem]:
    items: list[TraceItem] = []
    for qid in qids:
        q = run.qc.by_id.get(qid)
        if q is None:
            continue
        loc = run.intake.locations.get(qid)
        value = _plain_display_value(run.qc, qid, run.values.get(qid))
        if qid not in run.values and not run.cat.applies(qid, run.values):
            value = "(ikke relevant for dette system)"
        items.append(
            TraceItem(
                question_id=qid,
                label=q.label.da,
                sheet=loc.sheet if loc else None,
                cell=loc.cell if loc else None,
                value=value,
            )
        )
    return items


def _plain_criterion(run: ev._Run, c: Any) -> CriterionResult:
    read: list[str] = []
    chosen = None
    status_override: Any = None
    if c.applies_if:
        ok, t = run.ev(c.applies_if)
        read = _plain_merge(read, t)
        if not ok:
            status_override = ("ikke_relevant", c.not_relevant, None)
    if status_override is None and (missing := ev._missing(run, c.needs)):
        read = _plain_merge(read, run.expand(missing))
        labels = [run.qc.by_id[q].label.da for q in missing if q in run.qc.by_id]
        status_override = (
            "kraever_afklaring",
            "Kriteriet kan ikke vurderes, fordi spørgsmål ikke er besvaret: " + join_da(labels or missing) + ".",
            "Besvar spørgsmålene i intakearket, og kør vurderingen igen.",
        )
    if status_override is None:
        for o in c.outcomes:
            ok, t = run.ev(o.if_ or "false")
            read = _plain_merge(read, t)
            if ok:
                chosen = o
                break
        chosen = chosen or c.default
    codes = c.references + (chosen.references if chosen else [])
    relevant = status_override is None or status_override[0] != "ikke_relevant"
    refs = [run.ref(r) if relevant else parse_ref(r) for r in codes]
    uncertain = bool(c.uncertain_note) or any(r.uncertain for r in refs)
    note = c.uncertain_note or next((r.note for r in refs if r.uncertain and r.note), None)
    if chosen is not None:
        status, severity, finding, rec = chosen.status, chosen.severity, chosen.finding, chosen.recommendation
    else:
        status, finding, rec = status_override
        severity = "middel" if status == "kraever_afklaring" else "lav"
    return CriterionResult(
        id=c.id,
        family=c.family,
        title=c.title,
        status=status,
        severity=severity,
        finding=finding,
        recommendation=rec,
        references=refs,
        trace=_plain_trace(run, read),
        uncertain=uncertain and status != "ikke_relevant",
        uncertainty_note=note if uncertain and status != "ikke_relevant" else None,
    )


def _plain_applicable(cat: CriteriaCatalogue, answers: dict[str, Any]) -> dict[str, Any]:
    applies, arrays = cat._applies, cat.array_symbols
    current = dict(answers)
    while True:
        kept = {
            k: v for k, v in current.items()
            if k not in applies or applies[k].evaluate(current, arrays, undefined=False)
        }
        if len(kept) == len(current):
            return kept
        current = kept


def _plain_evaluate(intake: Intake, monkeypatch: pytest.MonkeyPatch) -> str:
    with monkeypatch.context() as m:
        m.setattr(ev, "_Run", _PlainRun)
        m.setattr(ev, "_trace", _plain_trace)
        m.setattr(ev, "_criterion", _plain_criterion)
        m.setattr(ev, "_merge", _plain_merge)
        m.setattr(ev, "_new", lambda model, **data: model(**data))
        m.setattr(CriteriaCatalogue, "applicable", _plain_applicable)
        return _outcome(intake)


def _outcome(intake: Intake) -> str:
    try:
        return ev.evaluate(intake, assessment_date=DATE).model_dump_json()
    except Exception as exc:  # noqa: BLE001 - both ways must fail alike
        return f"{type(exc).__name__}: {exc}"


# ------------------------------------------------------------------------------------------------
# Whole evaluations: shortcuts vs plain
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("workbook", sorted(EXAMPLES.glob("*.xlsx")), ids=lambda p: p.stem)
def test_example_workbooks_evaluate_exactly_as_the_plain_way(workbook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    intake = validate_workbook(workbook)
    assert intake.valid
    fast = _outcome(intake)
    assert fast.startswith("{")
    assert fast == _plain_evaluate(intake, monkeypatch)


def _value(q: Question) -> st.SearchStrategy[Any]:
    codes = [o.code for o in q.options]
    return {
        "yes_no": st.booleans(),
        "choice": st.sampled_from(codes or ["x"]),
        "multi_choice": st.lists(st.sampled_from(codes or ["x"]), min_size=1, unique=True),
        "number": st.integers(min_value=0, max_value=1_000_000),
        "percentage": st.floats(min_value=0, max_value=100, allow_nan=False),
        "date": st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2040, 12, 31)),
    }.get(q.type, st.text(min_size=1, max_size=40))


@st.composite
def _varied_answers(draw: st.DrawFn) -> dict[str, Any]:
    """A scenario with some answers changed, removed or added (any question except tables)."""
    qc = load_questions()
    answers = dict(scenario_answers(draw(st.sampled_from(SCENARIOS))))
    questions = [q for q in qc.questions if q.type != "table"]
    for q in draw(st.lists(st.sampled_from(questions), min_size=1, max_size=12, unique_by=lambda q: q.id)):
        if draw(st.booleans()):
            answers[q.id] = draw(_value(q))
        else:
            answers.pop(q.id, None)
    return answers


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_varied_answers())
def test_varied_intakes_evaluate_exactly_as_the_plain_way(answers: dict[str, Any]) -> None:
    intake = intake_from_answers(answers)
    with pytest.MonkeyPatch.context() as m:
        expected = _plain_evaluate(intake, m)
    assert _outcome(intake) == expected


def test_outcome_references_follow_the_chosen_outcome(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped catalogue has no references on outcomes; an organisation's may. Give every outcome its own."""
    from pipeline.criteria import CRITERIA_DIR

    extra = ["GDPR 35(1)", "AI-LOV-FORSLAG-2026", "AIA 4", "FVL § 19"]
    items = []
    for f in sorted(CRITERIA_DIR.glob("*.yaml")):
        for item in (yaml.safe_load(f.read_text(encoding="utf-8")) or {}).get("criteria", []):
            for i, o in enumerate([*item.get("outcomes", []), item["default"]]):
                o["references"] = [extra[i % len(extra)], *o.get("references", [])]
            items.append(item)
    org = tmp_path / "org"
    org.mkdir()
    (org / "alle.yaml").write_text(yaml.safe_dump({"criteria": items}, allow_unicode=True), encoding="utf-8")
    cat = load_criteria([org])
    assert cat.ref_sets  # the references are parsed once for this catalogue, too
    for prefix in SCENARIOS:
        intake = intake_from_answers(scenario_answers(prefix))
        fast = ev.evaluate(intake, assessment_date=DATE, criteria=cat)
        with monkeypatch.context() as m:
            m.setattr(ev, "_criterion", _plain_criterion)
            plain = ev.evaluate(intake, assessment_date=DATE, criteria=cat)
        assert fast.model_dump_json() == plain.model_dump_json()
        assert any(len(r.references) > len(cat.by_id[r.id].references) for r in fast.criteria)


# ------------------------------------------------------------------------------------------------
# The single shortcuts
# ------------------------------------------------------------------------------------------------

_IDS = st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f"]), max_size=8)


@given(st.lists(_IDS, max_size=5))
def test_merge_equals_the_list_version(lists: list[list[str]]) -> None:
    assert ev._merge(*lists) == _plain_merge(*lists)


@given(st.dictionaries(st.sampled_from(["a", "b", "x", "y"]), _IDS, max_size=4), _IDS)
def test_expand_equals_the_list_version(sources: dict[str, list[str]], symbols: list[str]) -> None:
    run = _bare_run()
    run.sources = sources
    assert run.expand(symbols) == _plain_expand(sources, symbols)


def _bare_run(answers: dict[str, Any] | None = None) -> ev._Run:
    cat = load_criteria()
    intake = intake_from_answers(answers or {})
    return ev._Run(
        cat=cat, qc=load_questions(), dates=load_legal_dates(), intake=intake, on=DATE,
        values=cat.applicable(intake.answers),
    )


def test_condition_memo_is_emptied_when_a_symbol_is_set() -> None:
    run = _bare_run()
    assert run.ev("ai_system == true") == (False, ["ai_system"])
    run.set("ai_system", True, ["system_purpose", "technique"])
    assert run.ev("ai_system == true") == (True, ["system_purpose", "technique"])
    assert run.ev("ai_system == true") == _PlainRun.ev(run, "ai_system == true")


def test_trace_items_are_shared_within_a_run_only() -> None:
    answers = scenario_answers("s1")
    a = ev.evaluate(intake_from_answers(answers), assessment_date=DATE)
    b = ev.evaluate(intake_from_answers(answers), assessment_date=DATE)
    items_a = {id(t) for r in a.criteria for t in r.trace}
    items_b = {id(t) for r in b.criteria for t in r.trace}
    assert items_a and not items_a & items_b
    by_qid: dict[str, TraceItem] = {}
    for r in a.criteria:
        for t in r.trace:
            assert by_qid.setdefault(t.question_id, t) is t
    # a question id set as a symbol would change its trace item: set() then drops the memo
    run = _bare_run(answers)
    first = ev._trace(run, ["system_name"])[0]
    run.set("system_name", "Andet navn", [])
    assert ev._trace(run, ["system_name"])[0].value == "Andet navn" != first.value


def test_option_label_scan_equals_the_option_dict() -> None:
    qc = load_questions()
    choice = [q for q in qc.questions if q.type in ("choice", "multi_choice")]
    assert choice
    for q in choice:
        codes = [o.code for o in q.options] + ["ukendt_kode"]
        for code in codes:
            value: Any = [code] if q.type == "multi_choice" else code
            assert ev.display_value(qc, q.id, value) == _plain_display_value(qc, q.id, value)
        if q.type == "multi_choice":
            assert ev.display_value(qc, q.id, codes) == _plain_display_value(qc, q.id, codes)


def test_reference_sets_equal_parsing_each_time() -> None:
    cat = load_criteria()
    for c in cat.criteria:
        for pick, outcome in [(-1, None), *enumerate([*c.outcomes, c.default])]:
            refs = [parse_ref(r) for r in c.references + (outcome.references if outcome else [])]
            got = cat.ref_sets[(c.id, pick)]
            assert list(got.refs) == refs
            assert got.uncertain == (bool(c.uncertain_note) or any(r.uncertain for r in refs))
            assert got.note == (c.uncertain_note or next((r.note for r in refs if r.uncertain and r.note), None))
    assert any(s.uncertain for s in cat.ref_sets.values())


def test_models_built_on_the_validator_equal_the_constructor() -> None:
    a = ev.evaluate(intake_from_answers(scenario_answers("s2")), assessment_date=DATE)
    models: list[BaseModel] = [a, a.versions, a.classification, a.dpia, a.fria, *a.obligations, *a.criteria,
                               *a.risks, *a.actions, *(t for r in a.criteria for t in r.trace)]
    for m in models:
        data = {k: getattr(m, k) for k in m.model_fields_set}
        built, plain = ev._new(type(m), **data), type(m)(**data)
        assert built == plain
        assert built.model_fields_set == plain.model_fields_set
        assert built.model_dump_json() == plain.model_dump_json()
    bad = {"id": "x", "family": "ukendt", "title": "t", "status": "opfyldt", "severity": "lav", "finding": "f"}
    with pytest.raises(ValidationError) as fast_error:
        ev._new(CriterionResult, **bad)
    with pytest.raises(ValidationError) as plain_error:
        CriterionResult(**bad)
    assert fast_error.value.errors() == plain_error.value.errors()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_varied_answers())
def test_one_pass_applicability_equals_the_plain_fixpoint(answers: dict[str, Any]) -> None:
    cat = load_criteria()
    qc = load_questions()
    raw = {k: v for k, v in answers.items() if k in qc.by_id}  # inapplicable answers kept on purpose
    assert cat.applicable(raw) == _plain_applicable(cat, raw)


@pytest.mark.parametrize(
    "text",
    [
        'phase == "udvikling"', '"udvikling" == phase', 'phase != "udvikling"',
        '"helbred" in data_categories', '"helbred" not in data_categories',
        'personal_data == true', 'personal_data != false', 'personal_data == null',
        'affected_count == 10000', 'affected_count != 10000',
        'personal_data == true and "helbred" in data_categories or phase == "ophoer"',
    ],
)
@settings(max_examples=40, deadline=None)
@given(
    phase=st.sampled_from([None, "udvikling", "anvendelse", "indkoeb"]),
    categories=st.one_of(st.none(), st.lists(st.sampled_from(["helbred", "cpr", "strafbare"]), unique=True)),
    personal=st.sampled_from([None, True, False]),
    count=st.one_of(st.none(), st.integers(0, 20000), st.floats(0, 20000, allow_nan=False)),
)
def test_specialised_closures_equal_rule_engine(
    text: str, phase: Any, categories: Any, personal: Any, count: Any
) -> None:
    qc = load_questions()
    types = qc.condition_types()
    cond = compile_condition(text, types)
    assert cond._fn is not None  # the fast path is taken
    values = {"phase": phase, "data_categories": categories, "personal_data": personal, "affected_count": count}
    values = {k: v for k, v in values.items() if v is not None}
    expected = cond.evaluate_reference(values, qc.array_symbols)
    got, read = cond.evaluate_traced(values, qc.array_symbols)
    assert got == expected
    assert set(read) <= cond.symbols and len(read) == len(set(read))


def test_catalogue_key_still_sees_a_changed_file(tmp_path: Path) -> None:
    org = tmp_path / "org"
    org.mkdir()
    first_id, second_id = load_criteria().criteria[0].id, load_criteria().criteria[1].id
    path = org / "egne.yaml"
    path.write_text(yaml.safe_dump({"remove": [first_id]}), encoding="utf-8")
    one = load_criteria([org])
    assert first_id not in one.by_id and second_id in one.by_id
    path.write_text(yaml.safe_dump({"remove": [second_id, first_id]}), encoding="utf-8")
    os.utime(path, ns=(1, 1))  # a new mtime even on a coarse clock
    two = load_criteria([org])
    assert two is not one
    assert first_id not in two.by_id and second_id not in two.by_id
    assert load_criteria([org]) is two  # unchanged files: the loaded catalogue is reused
