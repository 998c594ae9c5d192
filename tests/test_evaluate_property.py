"""Property: changing an answer to a question that does not apply never changes any result.

The validator removes such answers; the engine checks applicability again, so even an intake that still
carries them (e.g. produced by another tool) is evaluated exactly as if they were absent.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from evaluate_helpers import scenario_intake
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.evaluate import evaluate
from pipeline.models import Intake
from pipeline.questions import Question, load_questions

DATE = dt.date(2026, 11, 29)
SCENARIOS = ("s1", "s2", "s3", "s4", "s5", "s6")


def _result(intake: Intake) -> dict[str, Any]:
    return evaluate(intake, assessment_date=DATE).model_dump(exclude={"intake"})


@cache
def _baseline(prefix: str) -> tuple[Intake, dict[str, Any], tuple[str, ...]]:
    intake = scenario_intake(prefix)
    qc = load_questions()
    inapplicable = tuple(
        q.id for q in qc.questions
        if q.type != "table" and q.applies_if and not qc.applies(q.id, intake.answers)
    )
    return intake, _result(intake), inapplicable


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
def _case(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    prefix = draw(st.sampled_from(SCENARIOS))
    _, _, inapplicable = _baseline(prefix)
    qc = load_questions()
    chosen = draw(st.lists(st.sampled_from(inapplicable), min_size=1, max_size=4, unique=True))
    return prefix, {qid: draw(_value(qc.by_id[qid])) for qid in chosen}


def test_every_scenario_has_inapplicable_questions_to_vary() -> None:
    assert all(_baseline(p)[2] for p in SCENARIOS)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_case())
def test_inapplicable_answers_never_change_any_result(case: tuple[str, dict[str, Any]]) -> None:
    prefix, injected = case
    intake, expected, _ = _baseline(prefix)
    polluted = intake.model_copy(update={"answers": {**intake.answers, **injected}})
    assert _result(polluted) == expected
