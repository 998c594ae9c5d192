"""Round 3 of the evaluation shortcuts give exactly what the plain way gives (issue 7, speed).

One condition state reused for a whole run (and for one applicability pass) instead of a new one per
condition, and the catalogue key stat'ed with os.stat on the path text instead of Path.stat. Each test puts
the shortcut beside the plain code (kept here as the reference) and compares real results.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from evaluate_helpers import EXAMPLES, intake_from_answers, scenario_answers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pipeline.criteria as criteria
import pipeline.evaluate as ev
from pipeline.expressions import ConditionError, new_state
from pipeline.models import Intake
from pipeline.questions import load_questions
from pipeline.validate import validate_workbook

DATE = dt.date(2026, 11, 29)
SCENARIOS = ("s1", "s2", "s3", "s4", "s5", "s6")


def _plain_ev(self: ev._Run, text: str) -> tuple[bool, list[str]]:
    """_Run.ev as it was: a new state (evaluate_traced) for every condition."""
    hit = self._results.get(text)
    if hit is None:
        ok, read = self._conds[text].evaluate_traced(self.values, self._arrays)
        hit = self._results[text] = (ok, read if self.sources.keys().isdisjoint(read) else self.expand(read))
    return hit


def _both(intake: Intake) -> tuple[str, str]:
    fast = ev.evaluate(intake, assessment_date=DATE).model_dump_json()
    with pytest.MonkeyPatch.context() as m:
        m.setattr(ev._Run, "ev", _plain_ev)
        plain = ev.evaluate(intake, assessment_date=DATE).model_dump_json()
    return fast, plain


def _outcome(call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except ConditionError as exc:
        return ("error", str(exc))


# ------------------------------------------------------------------------------------------------
# One state per run
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("workbook", sorted(EXAMPLES.glob("*.xlsx")), ids=lambda p: p.stem)
def test_examples_evaluate_the_same_with_one_state_per_run(workbook: Path) -> None:
    intake = validate_workbook(workbook)
    assert intake.valid
    fast, plain = _both(intake)
    assert fast.startswith("{") and fast == plain


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SCENARIOS), st.lists(st.sampled_from(sorted(load_questions().by_id)), max_size=15))
def test_varied_intakes_evaluate_the_same_with_one_state_per_run(scenario: str, dropped: list[str]) -> None:
    answers = {k: v for k, v in scenario_answers(scenario).items() if k not in dropped}
    fast, plain = _both(intake_from_answers(answers))
    assert fast == plain


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SCENARIOS), st.randoms(use_true_random=False), st.sampled_from([None, True, False]))
def test_reused_state_equals_a_fresh_state_for_every_condition(scenario: str, rnd: Any, undefined: Any) -> None:
    """Every catalogue condition, in a random order, on values that change between calls (as set() does):
    the same result, the same symbols read, the same ConditionError; earlier 'read' lists are not touched."""
    cat = criteria.load_criteria()
    arrays = cat.array_symbols
    values = cat.applicable(scenario_answers(scenario))
    state = new_state(values, arrays)
    conds = list(cat.conditions.values())
    rnd.shuffle(conds)
    derived = ["ai_system", "hoejrisiko", "forbudt", "udbyder", "idriftsaetter", "gpai"]
    earlier: list[tuple[list[str], list[str]]] = []
    for cond in conds:
        if rnd.random() < 0.2:
            values[rnd.choice(derived)] = rnd.choice([True, False])
        fresh = _outcome(cond.evaluate_traced, values, arrays, undefined=undefined)
        reused = _outcome(cond.evaluate_state, state, undefined=undefined)
        assert reused == fresh, cond.text
        if isinstance(reused, tuple) and reused[0] != "error":
            earlier.append((reused[1], list(reused[1])))
    assert len(earlier) > len(conds) // 2  # most conditions give a result here, not an error
    assert all(read == copy for read, copy in earlier)


def test_rule_engine_fallback_uses_the_reused_state_too() -> None:
    """A condition without a closure (evaluated by rule-engine itself) reads through the same state."""
    cat = criteria.load_criteria()
    cond = next(iter(cat.conditions.values()))
    fallback = type(cond)(text=cond.text, _rule=cond._rule, symbols=cond.symbols, _fn=None)
    values = dict(cat.applicable(scenario_answers("s1")))
    state = new_state(values, cat.array_symbols)
    for _ in range(2):  # twice: the second call starts with a fresh 'read'
        assert fallback.evaluate_state(state, undefined=False) == cond.evaluate_traced(
            values, cat.array_symbols, undefined=False
        )


def _plain_applicable(cat: Any, answers: dict[str, Any]) -> dict[str, Any]:
    """The fixpoint with a new state per condition (cond.evaluate), no sharing of results."""
    current = dict(answers)
    while True:
        kept = {
            k: v
            for k, v in current.items()
            if (c := cat._applies.get(k)) is None or c.evaluate(current, cat.array_symbols, undefined=False)
        }
        if len(kept) == len(current):
            return kept
        current = kept


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SCENARIOS), st.lists(st.sampled_from(sorted(load_questions().by_id)), max_size=20))
def test_applicability_with_one_state_per_pass_equals_the_plain_fixpoint(scenario: str, dropped: list[str]) -> None:
    cat = criteria.load_criteria()
    answers = {k: v for k, v in scenario_answers(scenario).items() if k not in dropped}
    got = cat.applicable(answers)
    assert got == _plain_applicable(cat, answers)
    assert list(got) == list(_plain_applicable(cat, answers))


# ------------------------------------------------------------------------------------------------
# Catalogue key on os.stat
# ------------------------------------------------------------------------------------------------


def _pathlib_key(folders: list[Path]) -> tuple[tuple[str, int, int], ...]:
    files = [p for f in folders for p in sorted(p.resolve() for p in Path(f).glob("*.yaml") if p.is_file())]
    return tuple((str(p), st.st_mtime_ns, st.st_size) for p in files for st in (p.stat(),))


def test_catalogue_key_equals_the_pathlib_key(tmp_path: Path) -> None:
    """The same key as before, hence the same cached catalogue; a changed file still gives a new one."""
    base = _pathlib_key([criteria.CRITERIA_DIR])
    cat = criteria.load_criteria()
    assert criteria._load_cached(base, len(base)) is cat  # a cache hit: the keys are equal
    org = tmp_path / "org"
    org.mkdir()
    path = org / "egne.yaml"
    path.write_text(f"remove: [{cat.criteria[0].id}]\n", encoding="utf-8")
    one = criteria.load_criteria([org])
    assert criteria._load_cached(base + _pathlib_key([org]), len(base)) is one
    path.write_text(f"remove: [{cat.criteria[1].id}]\n", encoding="utf-8")
    os.utime(path, ns=(1, 1))
    two = criteria.load_criteria([org])
    assert two is not one and cat.criteria[0].id in two.by_id and cat.criteria[1].id not in two.by_id
    assert criteria._load_cached(base + _pathlib_key([org]), len(base)) is two


def test_missing_criteria_folder_is_still_empty(tmp_path: Path) -> None:
    assert criteria._yaml_files(tmp_path / "findes-ikke") == []
