"""Unit tests per rule family on small synthetic cases (answers keyed by question id)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from evaluate_helpers import intake_from_answers

from pipeline.evaluate import evaluate
from pipeline.models import Assessment

DATE = dt.date(2026, 11, 29)

# A bought decision-support system for caseworkers; everything in order. Tests change what they need.
BASE: dict[str, Any] = {
    "authority_name": "Testby Kommune", "authority_type": "kommune", "case_number": "00.01.00-G01-1-26",
    "system_name": "Testsystem", "phase": "anvendelse", "sourcing": "koebt_standard", "supplier_name": "Lev A/S",
    "own_name_on_system": False, "substantial_modification": False, "purpose_changed": False,
    "technique": ["maskinlaering"], "gpai_used": False, "scope_exclusion": "ingen", "go_live_date": dt.date(2027, 3, 1),
    "use_areas": ["forvaltning_oevrig"], "special_functions": ["ingen"], "annex_i_product": "ingen",
    "output_role": ["beslutningsstoette"], "profiling": False, "decisions_about_persons": True,
    "decision_legal_effect": True, "affected_groups": ["borgere"], "affected_count": 500,
    "deployment_process": "Sagsbehandling.", "usage_period_frequency": "Dagligt.", "specific_harms": "Fejl.",
    "systematic_monitoring": False, "blocks_rights": False, "personal_data": True, "free_text_input": False,
    "data_categories": ["almindelige"], "data_subjects_scale": "under_1000", "combines_datasets": False,
    "trains_on_own_data": False, "retraining_planned": False, "legal_basis_operation": "myndighedsudoevelse",
    "legal_basis_operation_law": "Lov om test § 1", "necessity_proportionality": "Ja.", "retention": "1 år.",
    "processors": True, "dpa_status": "ja", "supplier_reuse": "nej", "third_country": "nej",
    "information_to_data_subjects": "ja", "records_updated": True, "dpia_status": "ja", "human_review": "altid",
    "can_override": True, "override_logged": True, "individual_assessment": True,
    "automation_bias_measures": "Oplæring.", "staff_training": "ja", "can_stop": True, "ai_disclosure": "ja",
    "explanation_available": "ja", "party_consultation": "ja", "notes_on_case": True, "complaint_mechanism": True,
    "data_quality": "ja", "representativeness": "ja", "label_source": "leverandoer", "validation_method": ["lokal"],
    "subgroup_testing": "ja", "fairness_notion": "lige_fejlrater", "thresholds_documented": True,
    "monitoring": "ja", "update_control": True, "logging": "ja", "log_retention_months": 12,
    "documentation": ["brugsanvisning", "modelkort"], "error_reporting": True, "security_risk_assessment": "ja",
    "access_control": True, "encryption": True, "hosting": "eu_cloud", "supplier_assurance": "isae3402",
    "ai_threats_assessed": True, "incident_procedure": True, "ai_clauses": "mcc_light", "instructions_for_use": True,
    "audit_rights": True, "change_notification": True, "exit_terms": True, "explanation_support": True,
    "dpo_consulted": True, "decision": "godkendt",
}


def run(on: dt.date = DATE, drop: tuple[str, ...] = (), **changes: Any) -> Assessment:
    answers = {k: v for k, v in {**BASE, **changes}.items() if k not in drop}
    return evaluate(intake_from_answers(answers), assessment_date=on)


def status(a: Assessment, cid: str) -> str:
    return next(r.status for r in a.criteria if r.id == cid)


def result(a: Assessment, cid: str):  # noqa: ANN201 - test helper
    return next(r for r in a.criteria if r.id == cid)


# ------------------------------------------------------------------------------------- baseline


def test_a_well_prepared_minimal_risk_system_is_ready() -> None:
    a = run()
    assert a.classification.risk_class == "minimal"
    assert a.overall_status == "klar"
    assert not [r.id for r in a.criteria if r.status not in ("opfyldt", "ikke_relevant")]
    assert not [x for x in a.actions if x.source == "regel"]


# ------------------------------------------------------------------------------------- AI Act


def test_rules_written_by_staff_are_not_ai_and_statistics_alone_needs_clarification() -> None:
    rules = run(technique=["regelbaseret"])
    assert rules.classification.is_ai_system is False
    assert rules.classification.risk_class == "ikke_ai_system" and rules.classification.roles == []
    assert "ikke et AI-system" in rules.conclusion
    stats = run(technique=["statistik"])
    assert stats.classification.is_ai_system is None and stats.classification.risk_class == "afklaring"
    assert status(stats, "ai_act.ai_system") == "kraever_afklaring"


def test_in_house_development_makes_the_authority_provider_and_deployer() -> None:
    a = run(sourcing="egen_udvikling")
    assert a.classification.roles == ["udbyder", "idriftsætter"]
    assert any("ibrugtagning" in r for r in a.classification.role_reasons)


@pytest.mark.parametrize(
    ("change", "letter"),
    [({"own_name_on_system": True}, "litra a"), ({"substantial_modification": True}, "litra b"),
     ({"purpose_changed": True}, "litra c")],
)
def test_art_25_conversion_to_provider_only_for_high_risk(change: dict[str, Any], letter: str) -> None:
    high = run(use_areas=["ydelser"], art6_3_conditions=["ingen"], **change)
    assert "udbyder" in high.classification.roles
    assert any(letter in r and "artikel 25" in r for r in high.classification.role_reasons)
    low = run(**change)
    assert low.classification.roles == ["idriftsætter"]


def test_workplace_emotion_recognition_is_prohibited_unless_for_medical_or_safety_reasons() -> None:
    banned = run(use_areas=["foelelsesgenkendelse"], emotion_context=["arbejdsplads"], emotion_medical_safety=False)
    assert banned.classification.prohibited and banned.overall_status == "forbudt"
    assert [r.code for r in banned.classification.prohibited_practices] == ["AIA 5(1)(f)"]
    safety = run(use_areas=["foelelsesgenkendelse"], emotion_context=["arbejdsplads"], emotion_medical_safety=True,
                 art6_3_conditions=["ingen"])
    assert not safety.classification.prohibited
    assert safety.classification.risk_class == "højrisiko"


def test_new_omnibus_prohibition_states_its_own_date() -> None:
    a = run(special_functions=["intime_billeder"])
    assert a.classification.prohibited
    assert "AIA 5(1)(ba)" in [r.code for r in a.classification.prohibited_practices]
    ban = next(o for o in a.obligations if o.id == "aia.forbud")
    assert ban.applies_text == "gælder fra 2. december 2026"
    assert run(on=dt.date(2027, 1, 1), special_functions=["intime_billeder"]).obligations[1].applies_text == "gælder"


def test_art_6_3_exception_applies_without_profiling_and_is_barred_by_profiling() -> None:
    ok = run(use_areas=["ydelser"], art6_3_conditions=["forberedende"])
    assert ok.classification.art_6_3_exception == "gælder" and ok.classification.risk_class != "højrisiko"
    assert status(ok, "ai_act.art_6_3") == "delvist_opfyldt"
    barred = run(use_areas=["ydelser"], art6_3_conditions=["forberedende"], profiling=True)
    assert barred.classification.art_6_3_exception == "udelukket_profilering"
    assert barred.classification.risk_class == "højrisiko"
    assert status(barred, "ai_act.art_6_3") == "ikke_opfyldt"


def test_annex_iii_point_is_exact() -> None:
    a = run(use_areas=["noedopkald"], art6_3_conditions=["ingen"])
    assert [r.text for r in a.classification.high_risk_basis] == ["bilag III, punkt 5, litra d, til AI-forordningen"]


def test_medical_device_class_iia_is_annex_i_high_risk_but_class_i_is_not() -> None:
    iia = run(annex_i_product="medicinsk_udstyr", device_class="klasse_iia", third_party_conformity="ja", ce_marked=True)
    assert iia.classification.risk_class == "højrisiko"
    assert [r.code for r in iia.classification.high_risk_basis] == ["AIA 6(1)", "AIA bilag I"]
    class_i = run(annex_i_product="medicinsk_udstyr", device_class="klasse_i", third_party_conformity="nej",
                  ce_marked=True)
    assert class_i.classification.risk_class == "minimal"


def test_transparency_duties_follow_the_use() -> None:
    chat = run(output_role=["borgerinteraktion"], human_handover=True)
    assert [r.code for r in chat.classification.transparency_duties] == ["AIA 50(1)"]
    assert chat.classification.risk_class == "begrænset"
    assert status(run(output_role=["borgerinteraktion"], human_handover=True, ai_disclosure="nej"),
                  "ai_act.gennemsigtighed") == "ikke_opfyldt"


# ------------------------------------------------------------------------------------- dates


def test_annex_iii_date_before_the_omnibus_came_into_force_is_the_original_date() -> None:
    changes = {"use_areas": ["ydelser"], "art6_3_conditions": ["ingen"]}
    before = run(on=dt.date(2026, 7, 1), **changes)
    tilsyn = next(o for o in before.obligations if o.id == "aia.idriftsaetter.tilsyn")
    assert tilsyn.applies_text == "gælder fra 2. august 2026" and "113" in (tilsyn.date_source or "")
    after = run(on=dt.date(2026, 11, 29), **changes)
    assert next(o for o in after.obligations if o.id == "aia.idriftsaetter.tilsyn").applies_text == (
        "gælder fra 2. december 2027"
    )


# ------------------------------------------------------------------------------------- GDPR


def test_no_personal_data_means_no_dpia_with_reason() -> None:
    a = run(personal_data=False, affected_groups=["ingen_personer"], decisions_about_persons=False)
    assert a.dpia.personal_data is False and a.dpia.result == "ikke_påkrævet"
    assert status(a, "gdpr.konsekvensanalyse") == "ikke_relevant"


def test_wp248_counting_one_criterion_recommends_two_require() -> None:
    one = run(technique=["regelbaseret"], decisions_about_persons=False, output_role=["intern_effektivisering"],
              combines_datasets=True)
    assert one.dpia.result == "anbefalet" and len(one.dpia.wp248_criteria) == 1
    assert status(one, "gdpr.konsekvensanalyse_begrundelse") == "opfyldt"  # dpia_status == ja in BASE
    assert status(run(technique=["regelbaseret"], decisions_about_persons=False,
                      output_role=["intern_effektivisering"], combines_datasets=True, dpia_status="nej"),
                  "gdpr.konsekvensanalyse_begrundelse") == "delvist_opfyldt"
    two = run(combines_datasets=True)  # + innovative technology (machine learning)
    assert two.dpia.result == "påkrævet" and len(two.dpia.wp248_criteria) >= 2
    assert any("punkt 4" in i for i in two.dpia.datatilsynet_items)


def test_draft_items_of_the_datatilsynet_list_are_marked_and_listed_as_uncertain() -> None:
    a = run(affected_groups=["boern"])
    assert any("punkt 7" in i and "udkast" in i for i in a.dpia.datatilsynet_items)
    assert any("punkt 7" in u for u in a.uncertainties)


def test_high_residual_risk_in_the_intake_triggers_prior_consultation() -> None:
    risk = {"description": "Alvorlig risiko", "likelihood": 4, "consequence": 4,
            "residual_likelihood": 3, "residual_consequence": 4}
    a = run(risks=[risk])
    assert a.dpia.prior_consultation is True
    assert any("artikel 36" in f for f in a.follow_ups)
    assert a.risks[0].level == "kritisk" and a.risks[0].residual_level == "kritisk"
    assert any(x.risk_id == "R1" and x.priority == "høj" for x in a.actions)
    low = run(risks=[{**risk, "residual_likelihood": 1, "residual_consequence": 2}])
    assert low.dpia.prior_consultation is False


@pytest.mark.parametrize(
    ("basis", "expected"),
    [("ikke_afklaret", "ikke_opfyldt"), ("legitim_interesse", "ikke_opfyldt"), ("samtykke", "delvist_opfyldt")],
)
def test_legal_basis_for_operation(basis: str, expected: str) -> None:
    assert status(run(legal_basis_operation=basis), "gdpr.retsgrundlag_drift") == expected


def test_legal_basis_is_assessed_separately_per_phase() -> None:
    a = run(trains_on_own_data=True, retraining_planned=True, legal_basis_development="myndighedsudoevelse",
            legal_basis_development_law="Lov § 2", legal_basis_retraining="ikke_afklaret", pseudonymisation="ja")
    assert status(a, "gdpr.retsgrundlag_udvikling") == "delvist_opfyldt"
    assert status(a, "gdpr.retsgrundlag_drift") == "opfyldt"
    assert status(a, "gdpr.retsgrundlag_gentraening") == "ikke_opfyldt"


def test_transfers_art_49_derogation_is_not_for_authorities() -> None:
    a = run(third_country="overfoersel", third_country_names="USA", transfer_basis="undtagelse",
            transfer_assessment_done=False)
    assert status(a, "gdpr.overfoersel") == "ikke_opfyldt"
    assert "49, stk. 3" in result(a, "gdpr.overfoersel").finding
    ok = run(third_country="adgang", third_country_names="USA", transfer_basis="standardkontrakter",
             transfer_assessment_done=True)
    assert status(ok, "gdpr.overfoersel") == "opfyldt"


def test_solely_automated_decisions_need_art_22_basis() -> None:
    a = run(output_role=["automatisk_afgoerelse"], human_review="nej")
    assert status(a, "gdpr.automatiske_afgoerelser") == "ikke_opfyldt"
    assert status(a, "forvaltning.skoen_under_regel") == "ikke_opfyldt"


# ------------------------------------------------------------------------------------- FRIA


def test_fria_coverage_reports_missing_letters() -> None:
    a = run(use_areas=["ydelser"], art6_3_conditions=["ingen"], drop=("usage_period_frequency", "specific_harms"))
    assert a.fria.required is True
    assert a.fria.coverage == {"a": True, "b": False, "c": True, "d": False, "e": True, "f": True}
    assert any("litra b og d" in r for r in a.fria.reasons)
    assert status(a, "fria.grundrettighedsvurdering") == "ikke_opfyldt"


def test_fria_not_for_private_deployer_without_public_service_but_for_credit_scoring() -> None:
    private = run(authority_type=None, use_areas=["ydelser"], art6_3_conditions=["ingen"])
    assert private.fria.required is False
    credit = run(authority_type=None, use_areas=["kreditvurdering"], art6_3_conditions=["ingen"])
    assert credit.fria.required is True


# ------------------------------------------------------------------------------------- admin law, technical


def test_party_consultation_and_reasons_follow_the_answers() -> None:
    a = run(profiling=True, party_consultation="nej", explanation_available="nej")
    assert status(a, "forvaltning.partshoering") == "ikke_opfyldt"
    assert status(a, "forvaltning.begrundelse") == "ikke_opfyldt"
    assert any(r.code == "FVL §§ 22-24" for r in result(a, "forvaltning.begrundelse").references)


def test_guidance_duty_for_citizen_chat_without_handover() -> None:
    a = run(output_role=["borgerinteraktion"], human_handover=False)
    assert status(a, "forvaltning.vejledningspligt") == "ikke_opfyldt"


def test_generative_ai_criteria_only_for_generative_systems() -> None:
    plain = run()
    assert status(plain, "teknik.prompt_injection") == "ikke_relevant"
    gen = run(technique=["generativ"], hallucination_controls="nej", output_error_rate_measured=False,
              prompt_injection_controls="nej", leakage_controls="ja", genai_can_act=True)
    assert status(gen, "teknik.hallucination") == "ikke_opfyldt"
    assert status(gen, "teknik.prompt_injection") == "ikke_opfyldt"
    assert status(gen, "teknik.handlekraft") == "delvist_opfyldt"
    assert any(r.code == "OWASP-LLM LLM01" for r in result(gen, "teknik.prompt_injection").references)


def test_unanswered_needed_question_gives_kraever_afklaring_naming_it() -> None:
    a = run(drop=("subgroup_testing",))
    r = result(a, "teknik.undergrupper")
    assert r.status == "kraever_afklaring" and "kvaliteten målt for relevante grupper" in r.finding
    assert any(t.question_id == "subgroup_testing" and t.value == "(ikke besvaret)" for t in r.trace)


# ------------------------------------------------------------------------------------- trace, actions


def test_trace_names_questions_cells_and_display_values_including_derived_facts() -> None:
    a = run(use_areas=["ydelser"], art6_3_conditions=["ingen"], dpia_status="igang")
    r = result(a, "gdpr.konsekvensanalyse")
    ids = [t.question_id for t in r.trace]
    assert "dpia_status" in ids and "personal_data" in ids  # dpia_paakraevet expands to its answers
    item = next(t for t in r.trace if t.question_id == "dpia_status")
    assert item.value == "I gang" or item.value.startswith("I gang") or item.value
    assert item.sheet == "Ark" and item.cell and item.cell.startswith("C")


def test_actions_have_priority_owner_and_deadline_relative_to_go_live() -> None:
    a = run(staff_training="nej", exit_terms=False)
    training = next(x for x in a.actions if x.criterion_id == "ai_act.ai_faerdigheder")
    assert training.priority == "middel" and training.deadline == dt.date(2027, 3, 1)
    exit_ = next(x for x in a.actions if x.criterion_id == "indkoeb.exit")
    assert exit_.deadline == dt.date(2027, 1, 30) and "kontrakt" in exit_.deadline_text.lower()


def test_evaluation_is_fast() -> None:
    import time

    intake = intake_from_answers(BASE)
    evaluate(intake, assessment_date=DATE)
    start = time.perf_counter()
    for _ in range(10):
        evaluate(intake, assessment_date=DATE)
    per_run_ms = (time.perf_counter() - start) * 100
    print(f"evaluering: {per_run_ms:.1f} ms pr. vurdering")
    assert per_run_ms < 100


def test_profiling_in_decisions_without_an_annex_iii_area_asks_for_legal_review() -> None:
    a = run(profiling=True, affected_groups=["boern"])
    assert a.classification.risk_class != "højrisiko"
    assert status(a, "ai_act.bilag_iii_graensetilfaelde") == "kraever_afklaring"
    assert status(run(), "ai_act.bilag_iii_graensetilfaelde") == "ikke_relevant"


def test_general_purpose_model_for_annex_iii_use_flags_art_25_1_c() -> None:
    a = run(technique=["generativ"], gpai_used=True, use_areas=["rekruttering"], art6_3_conditions=["ingen"],
            hallucination_controls="ja", output_error_rate_measured=True, prompt_injection_controls="ja",
            leakage_controls="ja", genai_can_act=False)
    assert a.classification.roles == ["idriftsætter"]
    assert status(a, "ai_act.formaalsaendring_gpai") == "kraever_afklaring"
    converted = run(technique=["generativ"], gpai_used=True, use_areas=["rekruttering"], art6_3_conditions=["ingen"],
                    purpose_changed=True)
    assert "udbyder" in converted.classification.roles
    assert status(converted, "ai_act.formaalsaendring_gpai") == "ikke_relevant"


def test_legacy_public_high_risk_system_gets_the_2030_deadline() -> None:
    a = run(use_areas=["ydelser"], art6_3_conditions=["ingen"], in_service_since=dt.date(2024, 5, 1))
    legacy = next(o for o in a.obligations if o.id == "aia.offentlig_eksisterende")
    assert legacy.applies_text == "gælder fra 2. august 2030"
    assert "aia.offentlig_eksisterende" not in {o.id for o in run(use_areas=["ydelser"],
                                                                   art6_3_conditions=["ingen"]).obligations}


def test_location_data_with_another_criterion_hits_datatilsynet_item_3() -> None:
    a = run(data_categories=["almindelige", "lokation"])
    assert any("punkt 3" in i for i in a.dpia.datatilsynet_items)
    rules_only = run(technique=["regelbaseret"], data_categories=["almindelige", "lokation"],
                     decisions_about_persons=False, output_role=["intern_effektivisering"])
    assert not any("punkt 3" in i for i in rules_only.dpia.datatilsynet_items)
    assert rules_only.dpia.result == "anbefalet"
