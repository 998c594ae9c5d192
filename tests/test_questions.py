"""The question catalogue loader: the real catalogue loads; broken catalogues are refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from intake_support import MINI, mini

from pipeline.errors import CatalogueError
from pipeline.expressions import DataType
from pipeline.questions import DEFAULT_PATH, load_questions, parse_catalogue


def _broken(edit) -> bytes:
    data = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    edit(data)
    return yaml.safe_dump(data, allow_unicode=True).encode()


def _q(data, qid):
    return next(q for q in data["questions"] if q["id"] == qid)


def test_real_catalogue_loads_and_is_cached():
    cat = load_questions()
    assert cat is load_questions(DEFAULT_PATH)
    assert cat.version and len(cat.sha256) == 64
    assert len(cat.by_id) == len(cat.questions)
    assert all(q.section in cat.section_by_id for q in cat.questions)


def test_mini_catalogue_properties():
    cat = mini()
    assert cat.version == "0.1.0"
    assert [s.id for s in cat.sections] == ["sag", "data"]
    types = cat.condition_types()
    assert types["personal_data"] == DataType.BOOLEAN
    assert types["affected_count"] == DataType.FLOAT
    assert types["document_date"] == DataType.DATETIME
    assert types["data_categories"] == DataType.ARRAY(DataType.STRING)
    assert cat.applies("health_basis", {"personal_data": True, "data_categories": ["helbred"]})
    assert not cat.applies("health_basis", {"personal_data": True, "data_categories": ["cpr"]})
    assert not cat.applies("health_basis", {})
    assert cat.applies("authority_name", {})


@pytest.mark.parametrize(
    ("edit", "needle", "entry"),
    [
        (lambda d: _q(d, "cvr").update(colour="blå"), "ukendt nøgle 'colour'", "cvr"),
        (lambda d: d["questions"].append(dict(_q(d, "cvr"))), "bruges mere end én gang", "cvr"),
        (lambda d: _q(d, "cvr").update(section="nope"), "ukendt afsnit 'nope'", "cvr"),
        (lambda d: _q(d, "dev_notes").update(applies_if='fase == "udvikling"'), "ukendt spørgsmål 'fase'", "dev_notes"),
        (lambda d: _q(d, "dev_notes").update(applies_if='personal_data == "ja"'), "BOOLEAN", "dev_notes"),
        (lambda d: _q(d, "dev_notes").update(applies_if='phase == "drift"'), "svarkoden 'drift'", "dev_notes"),
        (lambda d: _q(d, "health_basis").update(applies_if='"kræft" in data_categories'), "svarkoden 'kræft'",
         "health_basis"),
        (lambda d: _q(d, "dev_notes").update(applies_if='dev_notes == "x"'), "selv", "dev_notes"),
        (lambda d: _q(d, "phase").update(options=[]), "svarmuligheder", "phase"),
        (lambda d: _q(d, "cvr").update(type="colour"), "type", "cvr"),
        (lambda d: _q(d, "risks").update(rows=5), "mindst 30", "risks"),
        (lambda d: d["sections"][0].update(sheet="Ark/1"), "ugyldigt arknavn", "sag"),
        (lambda d: d.pop("catalogue"), "catalogue", None),
    ],
)
def test_broken_catalogue_is_refused_with_entry(edit, needle, entry):
    with pytest.raises(CatalogueError) as info:
        parse_catalogue(_broken(edit), path="q.yaml")
    text = str(info.value)
    assert needle in text
    assert text.startswith("q.yaml")
    if entry:
        assert f"post '{entry}'" in text


def test_not_yaml_and_missing_file(tmp_path: Path):
    with pytest.raises(CatalogueError, match="YAML"):
        parse_catalogue(b"questions: [unclosed", path="x.yaml")
    with pytest.raises(CatalogueError, match="findes ikke"):
        load_questions(tmp_path / "nope.yaml")


def test_unknown_legal_reference_is_refused():
    with pytest.raises(CatalogueError, match="lovhenvisning"):
        parse_catalogue(_broken(lambda d: _q(d, "cvr").update(refs=["XYZ 99"])), path="q.yaml")
    ok = parse_catalogue(_broken(lambda d: _q(d, "cvr").update(refs=["AIA 6(3)"])), path="q.yaml")
    assert ok.by_id["cvr"].refs == ["AIA 6(3)"]


# ---------------------------------------------------------------------------------------------------
# The fast evaluation path for applicability agrees with the expression language
# ---------------------------------------------------------------------------------------------------



_REAL = load_questions()


def _value_strategy(q):
    if q.type == "yes_no":
        return st.booleans()
    if q.type == "choice":
        return st.sampled_from([o.code for o in q.options])
    if q.type == "multi_choice":
        return st.lists(st.sampled_from([o.code for o in q.options]), unique=True)
    if q.type in ("number", "percentage"):
        return st.one_of(st.integers(-5, 10**6), st.floats(0, 100, allow_nan=False))
    if q.type == "date":
        import datetime as dt

        return st.dates(dt.date(1990, 1, 1), dt.date(2100, 1, 1))
    if q.type == "table":
        return st.lists(st.just({"x": 1}), max_size=2)
    return st.text(max_size=5)


_ANSWERS = st.fixed_dictionaries({}, optional={q.id: _value_strategy(q) for q in _REAL.questions})


@settings(max_examples=40, deadline=None)
@given(answers=_ANSWERS)
def test_applies_agrees_with_rule_engine_reference(answers):
    import rule_engine

    memo: dict = {}
    for q in _REAL.questions:
        cond = _REAL.condition(q.id)
        if cond is None:
            continue
        try:
            expected = cond.evaluate_reference(answers, _REAL.array_symbols)
        except rule_engine.EngineError:
            expected = False
        assert _REAL.applies(q.id, answers) == expected, (q.id, cond.text)
        assert _REAL.applies(q.id, answers, memo) == expected, (q.id, cond.text)


@settings(max_examples=60, deadline=None)
@given(count=st.one_of(st.none(), st.integers(0, 20000)), cats=st.lists(st.sampled_from(["almindelige", "cpr", "helbred"]), unique=True))
def test_fast_path_on_mini_conditions(count, cats):
    cat = mini()
    answers = {"personal_data": True, "data_categories": cats}
    if count is not None:
        answers["affected_count"] = count
    for qid in ("large_scale_note", "health_basis", "data_categories"):
        cond = cat.condition(qid)
        expected = cond.evaluate(answers, cat.array_symbols, undefined=False)
        assert cat.applies(qid, answers) == expected
    if count is None:
        assert not cat.applies("large_scale_note", answers)  # undefined comparison = does not apply
    else:
        assert cat.applies("large_scale_note", answers) == (count >= 10000)
