"""pipeline.legal: compact notation -> Danish citation text and link; registry of acts; dated legal facts."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.criteria import load_legal_dates
from pipeline.legal import load_acts, parse_ref


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("AIA 6(3)", "artikel 6, stk. 3, i AI-forordningen"),
        ("AIA 5(1)(f)", "artikel 5, stk. 1, litra f, i AI-forordningen"),
        ("AIA 5(1)(ba)", "artikel 5, stk. 1, litra ba, i AI-forordningen"),
        ("AIA 27", "artikel 27 i AI-forordningen"),
        ("AIA 4a", "artikel 4 a i AI-forordningen"),
        ("AIA bilag III 5(a)", "bilag III, punkt 5, litra a, til AI-forordningen"),
        ("AIA bilag III 2", "bilag III, punkt 2, til AI-forordningen"),
        ("AIA bilag I", "bilag I til AI-forordningen"),
        ("AIA betragtning 12", "betragtning 12 til AI-forordningen"),
        ("GDPR 35(7)(a)", "artikel 35, stk. 7, litra a, i databeskyttelsesforordningen"),
        ("GDPR 44-49", "artikel 44-49 i databeskyttelsesforordningen"),
        ("FVL § 19", "forvaltningslovens § 19"),
        ("FVL § 19, stk. 1", "forvaltningslovens § 19, stk. 1"),
        ("FVL § 32 b", "forvaltningslovens § 32 b"),
        ("FVL §§ 22-24", "forvaltningslovens §§ 22-24"),
        ("OFL § 13", "offentlighedslovens § 13"),
        ("DBL § 11", "databeskyttelseslovens § 11"),
        ("DBL  §  8", "databeskyttelseslovens § 8"),
    ],
)
def test_statute_notation_is_formatted_the_danish_way(code: str, text: str) -> None:
    assert parse_ref(code).text == text


@pytest.mark.parametrize(
    ("code", "url_start"),
    [
        ("AIA 6(3)", "https://eur-lex.europa.eu/eli/reg/2024/1689/oj"),
        ("GDPR 22", "https://eur-lex.europa.eu/eli/reg/2016/679/oj"),
        ("OMNIBUS", "https://eur-lex.europa.eu/eli/reg/2026/1744/oj"),
        ("FVL § 7", "https://www.retsinformation.dk/eli/lta/2014/433"),
        ("OFL § 15", "https://www.retsinformation.dk/eli/lta/2020/145"),
        ("DBL § 11", "https://www.retsinformation.dk/eli/lta/2018/502"),
        ("AI-LOV", "https://www.retsinformation.dk/eli/lta/2025/467"),
    ],
)
def test_links_point_to_eur_lex_eli_or_retsinformation(code: str, url_start: str) -> None:
    assert (parse_ref(code).url or "").startswith(url_start)


def test_documents_take_name_and_date_from_the_registry() -> None:
    assert "WP248 rev.01" in parse_ref("WP248").text
    assert "28. januar 2019" in parse_ref("DT-LISTE").text
    assert "5. marts 2025" in parse_ref("MCC-AI").text
    assert parse_ref("OWASP-LLM LLM01").text.endswith("LLM01 Prompt Injection")
    assert "FOB 2014-24" in parse_ref("FOB 2014-24").text


def test_datatilsynet_list_items_carry_confirmed_or_draft_status() -> None:
    confirmed = parse_ref("DT-LISTE 4")
    draft = parse_ref("DT-LISTE 6")
    assert "punkt 4" in confirmed.text and not confirmed.uncertain
    assert "udkast" in draft.text and draft.uncertain
    assert parse_ref("DT-LISTE 8").uncertain


def test_uncertain_sources_are_flagged_with_a_note() -> None:
    ref = parse_ref("OMNIBUS")
    assert ref.uncertain and ref.note
    assert not parse_ref("AIA 5(1)(f)").uncertain


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("XYZ 6(3)", "ukendt retskilde 'XYZ'"),
        ("AIA seks", "ugyldig henvisning"),
        ("FVL 19", "ugyldig henvisning"),
        ("DT-LISTE 12", "ukendt punkt '12'"),
        ("", "tom lovhenvisning"),
    ],
)
def test_unknown_acts_and_bad_notation_raise_a_danish_value_error(code: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_ref(code)


def test_every_registry_entry_names_its_source() -> None:
    acts = load_acts().acts
    assert {"AIA", "GDPR", "FVL", "OFL", "DBL", "WP248", "DT-LISTE", "MCC-AI", "OMNIBUS"} <= set(acts)
    assert all(a.source for a in acts.values())


def test_legal_dates_pick_the_newest_source_in_force() -> None:
    dates = load_legal_dates()
    before, src_before = dates.resolve("high_risk_annex_iii", dt.date(2026, 7, 1))
    after, src_after = dates.resolve("high_risk_annex_iii", dt.date(2026, 11, 29))
    assert before.date == dt.date(2026, 8, 2) and src_before.ref == "AIA 113"
    assert after.date == dt.date(2027, 12, 2) and src_after.ref == "OMNIBUS"
    annex_i, _ = dates.resolve("high_risk_annex_i", dt.date(2026, 11, 29))
    assert annex_i.date == dt.date(2028, 8, 2)
    assert dates.resolve("prohibitions", dt.date(2026, 11, 29))[0].date == dt.date(2025, 2, 2)
    assert dates.resolve("prohibitions_omnibus", dt.date(2026, 11, 29))[0].date == dt.date(2026, 12, 2)


def test_definition_articles_are_cited_by_number_not_paragraph() -> None:
    """Art. 3 AI Act and Art. 4 GDPR are lists of numbered definitions: "artikel 3, nr. 1"."""
    from pipeline.legal import format_ref

    assert format_ref("AIA 3(1)") == "artikel 3, nr. 1, i AI-forordningen"
    assert format_ref("GDPR 4(4)") == "artikel 4, nr. 4, i databeskyttelsesforordningen"
    assert format_ref("AIA 6(3)") == "artikel 6, stk. 3, i AI-forordningen"
