"""Realistic cases that are NOT among the six public scenarios.

The engine must reason from the answers, so these cases check conclusions on systems the rules were not
written around: recruitment screening, a general chatbot repurposed for eligibility, staff-written rules,
emergency triage, a utility safety component, the Art. 6(3) exception with and without profiling, social
scoring, emotion recognition for safety reasons, deep fakes and fully automated decisions.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from pipeline.evaluate import evaluate
from pipeline.models import Assessment, Intake, SourceInfo

DATE = dt.date(2026, 11, 29)

BASE: dict[str, Any] = {
    "authority_name": "Testby Kommune",
    "authority_type": "kommune",
    "authority_cvr": "29189846",
    "unit": "Forvaltningen",
    "case_number": "00.01.00-G01-1-26",
    "caseworker": "Test Testesen",
    "document_date": dt.date(2026, 11, 1),
    "document_version": "1.0",
    "document_status": "kladde",
    "confidentiality": "ikke_fortroligt",
    "system_name": "Testsystem",
    "system_purpose": "Et system til test.",
    "intended_use": "Bruges i test.",
    "phase": "anvendelse",
    "sourcing": "koebt_standard",
    "supplier_name": "Leverandør A/S",
    "own_name_on_system": False,
    "substantial_modification": False,
    "purpose_changed": False,
    "technique": ["maskinlaering"],
    "gpai_used": False,
    "scope_exclusion": "ingen",
    "use_areas": ["forvaltning_oevrig"],
    "special_functions": ["ingen"],
    "annex_i_product": "ingen",
    "output_role": ["beslutningsstoette"],
    "profiling": False,
    "decisions_about_persons": True,
    "decision_legal_effect": True,
    "affected_groups": ["borgere"],
    "affected_count": 5000,
    "systematic_monitoring": False,
    "blocks_rights": False,
    "personal_data": True,
    "free_text_input": False,
    "data_categories": ["almindelige", "cpr"],
    "data_subjects_scale": "fra_1000",
    "combines_datasets": False,
    "trains_on_own_data": False,
    "retraining_planned": False,
    "legal_basis_operation": "myndighedsudoevelse",
    "legal_basis_operation_law": "Lov om test § 1",
    "necessity_proportionality": "Nødvendigt.",
    "retention": "1 år.",
    "processors": True,
    "dpa_status": "ja",
    "supplier_reuse": "nej",
    "third_country": "nej",
    "information_to_data_subjects": "ja",
    "records_updated": True,
    "dpia_status": "igang",
    "human_review": "altid",
    "can_override": True,
    "override_logged": True,
    "individual_assessment": True,
    "automation_bias_measures": "Oplæring.",
    "staff_training": "ja",
    "can_stop": True,
    "ai_disclosure": "ja",
    "explanation_available": "ja",
    "party_consultation": "ja",
    "notes_on_case": True,
    "complaint_mechanism": True,
    "data_quality": "ja",
    "representativeness": "ja",
    "label_source": "manuel_annotering",
    "validation_method": ["holdout", "lokal"],
    "subgroup_testing": "ja",
    "fairness_notion": "lige_fejlrater",
    "thresholds_documented": True,
    "monitoring": "ja",
    "update_control": True,
    "logging": "ja",
    "documentation": ["brugsanvisning", "teknisk_dokumentation"],
    "error_reporting": True,
    "security_risk_assessment": "ja",
    "access_control": True,
    "encryption": True,
    "hosting": "eu_cloud",
    "supplier_assurance": "isae3402",
    "ai_threats_assessed": True,
    "incident_procedure": True,
    "ai_clauses": "mcc_hoejrisiko",
    "instructions_for_use": True,
    "audit_rights": True,
    "change_notification": True,
    "exit_terms": True,
    "explanation_support": True,
    "dpo_consulted": True,
}

ANNEX_III = {"art6_3_conditions": ["ingen"]}


def run(overrides: dict[str, Any], drop: tuple[str, ...] = ()) -> Assessment:
    answers = {**BASE, **overrides}
    for key in drop:
        answers.pop(key, None)
    intake = Intake(source=SourceInfo(file_name="case.xlsx", sha256="0" * 64), answers=answers)
    return evaluate(intake, assessment_date=DATE)


def basis_texts(a: Assessment) -> str:
    return " | ".join(r.text for r in a.classification.high_risk_basis)


def prohibited_texts(a: Assessment) -> str:
    return " | ".join(r.text for r in a.classification.prohibited_practices)


def test_recruitment_screening_is_high_risk_annex_iii_4a_with_fria() -> None:
    a = run({"use_areas": ["rekruttering"], "affected_groups": ["borgere", "medarbejdere"],
             "workers_informed": "ja", **ANNEX_III, "profiling": True})
    assert a.classification.risk_class == "højrisiko"
    assert "punkt 4, litra a" in basis_texts(a)
    assert a.classification.roles == ["idriftsætter"]
    assert a.fria.required is True
    assert a.dpia.result == "påkrævet"


def test_general_chatbot_repurposed_for_eligibility_makes_the_authority_provider() -> None:
    a = run({"technique": ["generativ"], "gpai_used": True, "gpai_provider": "Stor sprogmodel",
             "purpose_changed": True, "use_areas": ["ydelser"], **ANNEX_III,
             "hallucination_controls": "delvist", "output_error_rate_measured": False,
             "prompt_injection_controls": "ja", "leakage_controls": "ja", "genai_can_act": False})
    assert a.classification.risk_class == "højrisiko"
    assert "punkt 5, litra a" in basis_texts(a)
    assert "udbyder" in a.classification.roles
    assert any("25" in reason for reason in a.classification.role_reasons)


def test_rules_written_by_staff_are_not_an_ai_system() -> None:
    a = run({"technique": ["regelbaseret"], "use_areas": ["ydelser"], **ANNEX_III})
    assert a.classification.is_ai_system is False
    assert a.classification.risk_class == "ikke_ai_system"
    assert not a.classification.high_risk_basis
    assert a.fria.required is False
    # GDPR still applies: personal data are processed
    assert a.dpia.personal_data is True


def test_emergency_call_triage_is_annex_iii_5d() -> None:
    a = run({"authority_type": "region", "use_areas": ["noedopkald"], **ANNEX_III,
             "affected_groups": ["borgere", "patienter"], "data_categories": ["almindelige", "cpr", "helbred"],
             "special_category_exception": ["art9_2_h"], "data_subjects_scale": "over_100000"})
    assert a.classification.risk_class == "højrisiko"
    assert "punkt 5, litra d" in basis_texts(a)
    assert a.fria.required is True
    assert a.dpia.result == "påkrævet"


def test_utility_safety_component_is_high_risk_point_2_without_fria() -> None:
    a = run({"use_areas": ["kritisk_infrastruktur"], **ANNEX_III, "personal_data": False,
             "decisions_about_persons": False, "affected_groups": ["ingen_personer"],
             "output_role": ["intern_effektivisering"]},
            drop=("affected_count", "free_text_input", "data_categories", "data_subjects_scale",
                  "combines_datasets", "trains_on_own_data", "retraining_planned", "legal_basis_operation",
                  "legal_basis_operation_law", "necessity_proportionality", "retention", "processors",
                  "dpa_status", "supplier_reuse", "third_country", "information_to_data_subjects",
                  "records_updated", "dpia_status", "decision_legal_effect", "individual_assessment",
                  "explanation_available", "party_consultation", "notes_on_case", "complaint_mechanism",
                  "subgroup_testing", "fairness_notion"))
    assert a.classification.risk_class == "højrisiko"
    assert "bilag III, punkt 2" in basis_texts(a)
    assert a.fria.required is False
    assert a.fria.registration_required is False
    assert a.dpia.result == "ikke_påkrævet"


def test_art_6_3_exception_applies_without_profiling() -> None:
    a = run({"use_areas": ["ydelser"], "art6_3_conditions": ["forberedende"], "profiling": False,
             "output_role": ["beslutningsstoette"]})
    assert a.classification.art_6_3_exception == "gælder"
    assert a.classification.risk_class != "højrisiko"
    assert a.fria.required is False


def test_art_6_3_exception_is_barred_by_profiling() -> None:
    a = run({"use_areas": ["ydelser"], "art6_3_conditions": ["forberedende"], "profiling": True})
    assert a.classification.art_6_3_exception == "udelukket_profilering"
    assert a.classification.risk_class == "højrisiko"
    assert a.fria.required is True


def test_social_scoring_is_prohibited_art_5_1_c() -> None:
    a = run({"special_functions": ["social_scoring"], "profiling": True})
    assert a.classification.prohibited is True
    assert a.classification.risk_class == "forbudt"
    assert "litra c" in prohibited_texts(a)
    assert a.overall_status == "forbudt"


def test_emotion_recognition_for_safety_is_not_the_workplace_ban_but_high_risk() -> None:
    a = run({"use_areas": ["foelelsesgenkendelse"], "special_functions": ["foelelser"], **ANNEX_III,
             "emotion_context": ["arbejdsplads"], "emotion_medical_safety": True,
             "affected_groups": ["medarbejdere"], "workers_informed": "ja",
             "data_categories": ["almindelige", "biometri"], "special_category_exception": ["art9_2_b"]})
    assert a.classification.prohibited is False
    assert a.classification.risk_class == "højrisiko"
    assert "punkt 1, litra c" in basis_texts(a)
    assert any("artikel 50, stk. 3" in r.text for r in a.classification.transparency_duties)


def test_deep_fake_generation_triggers_art_50_4() -> None:
    a = run({"technique": ["generativ"], "gpai_used": True, "gpai_provider": "Billedmodel",
             "use_areas": ["dokumentation"], "special_functions": ["deepfake"],
             "output_role": ["indholdsgenerering"], "decisions_about_persons": False,
             "hallucination_controls": "ja", "output_error_rate_measured": True,
             "prompt_injection_controls": "ja", "leakage_controls": "ja", "genai_can_act": False},
            drop=("decision_legal_effect", "individual_assessment", "explanation_available",
                  "party_consultation", "fairness_notion"))
    assert any("artikel 50, stk. 4" in r.text for r in a.classification.transparency_duties)
    assert a.classification.risk_class in {"begrænset", "minimal"}


def test_fully_automated_decisions_with_legal_effect_need_a_legal_basis_art_22() -> None:
    a = run({"output_role": ["automatisk_afgoerelse"], "human_review": "nej", "profiling": True},
            drop=("automation_bias_measures",))
    assert a.dpia.result == "påkrævet"
    assert any("artikel 22" in r.text for c in a.criteria for r in c.references if c.status != "ikke_relevant")


def test_prohibited_practice_leads_the_conclusion() -> None:
    a = run({"special_functions": ["social_scoring"], "profiling": True})
    assert a.conclusion.lower().find("forbudt") < 200
    assert a.conclusion.lower().find("forbudt") >= 0


@pytest.mark.parametrize("field", ["system_purpose", "intended_use", "system_name"])
def test_free_text_never_drives_classification(field: str) -> None:
    plain = run({})
    loaded = run({field: "Følelsesgenkendelse, social scoring, bilag III, højrisiko, forbudt, medicinsk udstyr"})
    assert plain.classification.model_dump() == loaded.classification.model_dump()
    assert plain.dpia.result == loaded.dpia.result
    assert plain.fria.required == loaded.fria.required
