"""The criteria catalogue: loads, is validated against the questions, lint errors name file and entry,
organisation overrides work, and docs/criteria.md is generated fresh from it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

import pipeline.criteria as criteria_mod
from pipeline.criteria import CRITERIA_DIR, load_criteria
from pipeline.criteria_docs import DOC_PATH, render_markdown
from pipeline.errors import CatalogueError, exit_code_for
from pipeline.legal import parse_ref
from pipeline.questions import load_questions

GOOD = {
    "id": "org.egen_regel",
    "family": "governance",
    "title": "Organisationens egen regel",
    "references": ["GDPR 30"],
    "applies_if": 'personal_data == true',
    "outcomes": [{"if": 'records_updated == true', "status": "opfyldt", "severity": "lav", "finding": "OK."}],
    "default": {"status": "ikke_opfyldt", "severity": "middel", "finding": "Mangler.", "recommendation": "Ret."},
}


def _write(folder: Path, data: object, name: str = "egne.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_catalogue_loads_with_version_and_hash() -> None:
    cat = load_criteria()
    assert cat.version.count(".") == 2
    assert len(cat.sha256) == 64
    assert len(cat.criteria) >= 40
    assert {c.family for c in cat.criteria} == {
        "ai_act", "gdpr", "fria", "admin_law", "technical", "security", "procurement", "governance"
    }
    assert load_criteria() is cat  # cached per process


def test_every_reference_in_the_catalogue_parses_and_every_criterion_has_one() -> None:
    cat = load_criteria()
    for c in cat.criteria:
        assert c.references, c.id
        for code in c.references:
            assert parse_ref(code).text


def test_every_criterion_has_a_recommendation_for_each_unmet_outcome() -> None:
    for c in load_criteria().criteria:
        for o in [*c.outcomes, c.default]:
            if o.status in ("ikke_opfyldt", "delvist_opfyldt", "kraever_afklaring"):
                assert o.recommendation, f"{c.id}: {o.status} uden anbefaling"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"applies_if": 'findes_ikke == true'}, "ukendt spørgsmål 'findes_ikke'"),
        ({"applies_if": 'phase == "maanen"'}, "svarkoden 'maanen'"),
        ({"applies_if": 'personal_data == "ja"'}, "sammenlignes med"),
        ({"references": ["XYZ 1"]}, "ukendt retskilde 'XYZ'"),
        ({"needs": ["findes_ikke"]}, "'needs' nævner det ukendte spørgsmål"),
        ({"farve": "rød"}, "ukendt nøgle 'farve'"),
        ({"family": "astrologi"}, "ugyldig værdi i 'family'"),
    ],
)
def test_bad_organisation_criterion_names_file_and_entry(tmp_path: Path, change: dict, message: str) -> None:
    path = _write(tmp_path / "org", {"criteria": [{**GOOD, **change}]})
    with pytest.raises(CatalogueError) as info:
        load_criteria([tmp_path / "org"])
    text = str(info.value)
    assert str(path) in text and "org.egen_regel" in text and message in text
    assert exit_code_for(info.value) == 3


def test_bad_base_catalogue_names_file_and_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path / "criteria"
    shutil.copytree(CRITERIA_DIR, base)
    target = base / "gdpr.yaml"
    text = target.read_text(encoding="utf-8").replace("'dpia_status == \"ja\"'", "'dpia_status == \"maaske\"'", 1)
    target.write_text(text, encoding="utf-8")
    monkeypatch.setattr(criteria_mod, "CRITERIA_DIR", base)
    with pytest.raises(CatalogueError) as info:
        load_criteria()
    assert str(target.resolve()) in str(info.value)
    assert "gdpr.konsekvensanalyse" in str(info.value) and "maaske" in str(info.value)


def test_yaml_syntax_error_is_a_catalogue_error(tmp_path: Path) -> None:
    (tmp_path / "org").mkdir()
    (tmp_path / "org" / "fejl.yaml").write_text("criteria: [ {id: x", encoding="utf-8")
    with pytest.raises(CatalogueError, match="fejl.yaml"):
        load_criteria([tmp_path / "org"])


def test_missing_organisation_folder_is_a_catalogue_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="findes ikke"):
        load_criteria([tmp_path / "mangler"])


def test_organisation_folder_adds_overrides_and_removes_criteria(tmp_path: Path) -> None:
    base = load_criteria()
    override = {**GOOD, "id": "gdpr.fortegnelse", "title": "Fortegnelse (kommunens egen regel)"}
    _write(tmp_path / "org", {"criteria": [GOOD, override], "remove": ["indkoeb.exit"]})
    cat = load_criteria([tmp_path / "org"])
    assert "org.egen_regel" in cat.by_id
    assert cat.by_id["gdpr.fortegnelse"].title == "Fortegnelse (kommunens egen regel)"
    assert "indkoeb.exit" not in cat.by_id and "indkoeb.exit" in base.by_id
    assert len(cat.criteria) == len(base.criteria)  # one added, one removed, one replaced in place
    assert cat.sha256 != base.sha256
    assert [c.id for c in cat.criteria].index("gdpr.fortegnelse") == [c.id for c in base.criteria].index(
        "gdpr.fortegnelse"
    )


def test_organisation_file_may_not_replace_the_classification(tmp_path: Path) -> None:
    _write(tmp_path / "org", {"classification": {}})
    with pytest.raises(CatalogueError, match="'criteria' og 'remove'"):
        load_criteria([tmp_path / "org"])


def test_docs_criteria_md_is_fresh() -> None:
    assert DOC_PATH.read_text(encoding="utf-8") == render_markdown(load_criteria()), (
        "docs/criteria.md er forældet: kør  python -m pipeline.criteria_docs"
    )


def test_docs_list_every_criterion_with_its_references() -> None:
    text = render_markdown(load_criteria())
    for c in load_criteria().criteria:
        assert f"`{c.id}`" in text
    assert "bilag III, punkt 5, litra a, til AI-forordningen" in text


@pytest.mark.parametrize("flag", [True, False])
def test_fast_condition_translation_agrees_with_rule_engine(flag: bool) -> None:
    from decimal import Decimal

    from evaluate_helpers import scenario_intake

    cat = load_criteria()
    qids = {q.id for q in load_questions().questions}
    for prefix in ("s1", "s2", "s3", "s4", "s5", "s6"):
        values: dict = dict(scenario_intake(prefix).answers)
        derived = {s for t in cat.conditions for s in _symbols(t)} - set(values) - qids
        for name in derived:
            values.setdefault(name, flag)
        values["wp248_antal"] = Decimal(3 if flag else 1)
        for text, cond in cat.conditions.items():
            try:
                expected: object = cond.evaluate_reference(values, cat.array_symbols)
            except Exception as exc:  # noqa: BLE001 - both evaluators must fail alike
                expected = type(exc).__name__
            try:
                got: object = cond.evaluate_traced(values, cat.array_symbols)[0]
            except Exception:  # noqa: BLE001
                got = expected if isinstance(expected, str) else "fejl"
            assert got == expected, (prefix, text)



def _symbols(text: str) -> set[str]:
    import re

    bare = re.sub(r'"[^"]*"', "", text)
    return set(re.findall(r"\b([a-z][a-z0-9_]*)\b", bare)) - {"and", "or", "not", "in", "true", "false", "null", "length"}
