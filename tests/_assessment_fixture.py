"""Hand-made, realistic assessments for the report tests (issue 5).

Three cases modelled on the worked scenarios: a high-risk control model (S2), a prohibited emotion
recognition system (S6) and a waste-route model without personal data (S5). They do not depend on
``pipeline.evaluate``, so the report can be tested on its own; ``examples()`` adds evaluated real examples
when the evaluation stage and the example answer files exist.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pipeline.models import (
    Action,
    Assessment,
    CellRef,
    Classification,
    CriterionResult,
    DpiaTriage,
    FriaResult,
    Intake,
    LegalRef,
    Obligation,
    Risk,
    SourceInfo,
    TraceItem,
    Versions,
)

DATE = dt.date(2026, 11, 29)


def _ref(code: str, text: str, uncertain: bool = False) -> LegalRef:
    return LegalRef(code=code, text=text, uncertain=uncertain)


AIA_5_1_F = _ref("AIA 5(1)(f)", "artikel 5, stk. 1, litra f, i AI-forordningen")
AIA_III_5A = _ref("AIA bilag III 5(a)", "bilag III, punkt 5, litra a, til AI-forordningen")
AIA_4 = _ref("AIA 4", "artikel 4 i AI-forordningen", uncertain=True)
AIA_26 = _ref("AIA 26", "artikel 26 i AI-forordningen")
AIA_27 = _ref("AIA 27(1)(d)", "artikel 27, stk. 1, litra d, i AI-forordningen")
GDPR_35_7_B = _ref("GDPR 35(7)(b)", "artikel 35, stk. 7, litra b, i databeskyttelsesforordningen")
GDPR_6_1_E = _ref("GDPR 6(1)(e)", "artikel 6, stk. 1, litra e, i databeskyttelsesforordningen")
FVL_19 = _ref("FVL § 19", "forvaltningslovens § 19")


def _versions(sha: str) -> Versions:
    return Versions(
        tool="0.1.0",
        question_catalogue="1.0.0",
        question_catalogue_sha256="a" * 64,
        criteria_catalogue="1.0.0",
        criteria_catalogue_sha256="b" * 64,
        input_sha256=sha,
    )


def _intake(name: str, answers: dict[str, Any], sha: str) -> Intake:
    locations = {
        qid: CellRef(sheet="1 Sag" if n < 8 else "2 System", cell=f"C{5 + n}")
        for n, qid in enumerate(answers)
    }
    return Intake(
        source=SourceInfo(file_name=name, sha256=sha, template_version="1.0.0", catalogue_version="1.0.0"),
        answers=answers,
        locations=locations,
    )


def _trace(qid: str, label: str, value: str, cell: str = "C20") -> TraceItem:
    return TraceItem(question_id=qid, label=label, sheet="2 System", cell=cell, value=value)


def high_risk() -> Assessment:
    """S2: kontrolmodel for enkeltydelser, developed and used by the kommune."""
    sha = "1" * 64
    answers: dict[str, Any] = {
        "authority_name": "Eksempel Kommune",
        "unit": "Borgerservice og Ydelser",
        "case_number": "26-004711",
        "kle_number": "32.24.10",
        "kle_facet": "G01",
        "caseworker": "Anne Jensen",
        "document_date": dt.date(2026, 1, 5),
        "document_version": "0.9",
        "document_status": "kladde",
        "confidentiality": "fortroligt",
        "system_name": "Kontrolmodel for enkeltydelser",
        "system_purpose": "Modellen prioriterer ansøgninger om enkeltydelser efter risiko for fejl.\nSagsbehandleren træffer hver afgørelse.",
        "intended_use": "Maskinlæringsmodel trænet på fem års sagsdata.\n\nModellen giver en score fra 0,00 til 1,00.",
        "phase": "udvikling",
        "technique": ["maskinlaering"],
        "go_live_date": dt.date(2027, 3, 1),
        "profiling": True,
        "affected_groups": ["borgere", "udsatte"],
        "affected_count": 12500,
        "deployment_process": "Visitation og kontrol af ansøgninger.",
        "specific_harms": "Forskelsbehandling; forsinket hjælp.",
        "personal_data": True,
        "data_categories": ["cpr", "oekonomi", "helbred"],
        "trains_on_own_data": True,
        "legal_basis_development": "myndighedsudoevelse",
        "legal_basis_development_law": "Serviceloven",
        "legal_basis_operation": "ikke_afklaret",
        "accuracy_percent": 85.5,
        "risks": [
            {"description": "Skævhed i træningsdata", "likelihood": 3, "consequence": 3},
            {"description": "Automatiseringsbias hos sagsbehandlere", "likelihood": 2, "consequence": 3},
        ],
        "dpo_consulted": True,
        "dpo_advice": "Databeskyttelsesrådgiveren anbefaler, at modellen ikke tages i drift,\nfør retsgrundlaget for drift er afklaret.",
        "decision": "afventer",
    }
    criteria = [
        CriterionResult(
            id="aia_high_risk_annex_iii", family="ai_act", title="Højrisiko efter bilag III",
            status="ikke_opfyldt", severity="kritisk",
            finding="Systemet vurderer berettigelse til offentlige ydelser og er derfor højrisiko.",
            recommendation="Gennemfør udbyderforpligtelserne før ibrugtagning.",
            references=[AIA_III_5A], trace=[_trace("system_purpose", "Formål", "Prioritering af ansøgninger")],
        ),
        CriterionResult(
            id="aia_literacy", family="ai_act", title="AI-færdigheder", status="delvist_opfyldt",
            severity="middel", finding="Der er ikke planlagt uddannelse af sagsbehandlerne.",
            recommendation="Planlæg uddannelse i AI-færdigheder.", references=[AIA_4], uncertain=True,
            uncertainty_note="Ordlyden efter Digital Omnibus er ikke kontrolleret i EU-Tidende.",
        ),
        CriterionResult(
            id="gdpr_necessity", family="gdpr", title="Nødvendighed og proportionalitet",
            status="kraever_afklaring", severity="hoej",
            finding="Det er ikke dokumenteret, at profileringen er nødvendig for formålet.",
            recommendation="Beskriv alternativer og begrund valget.", references=[GDPR_35_7_B, GDPR_6_1_E],
            trace=[_trace("legal_basis_operation", "Behandlingsgrundlag (drift)", "Kræver et klart supplerende nationalt retsgrundlag.", "C31")],
        ),
        CriterionResult(
            id="fvl_partshoering", family="admin_law", title="Partshøring", status="ikke_opfyldt",
            severity="hoej", finding="En score, der bruges imod borgeren, kan udløse partshøring.",
            recommendation="Indfør partshøring over scoren, når den indgår i afgørelsen.", references=[FVL_19],
        ),
        CriterionResult(
            id="tech_subgroups", family="technical", title="Fejlrater for undergrupper", status="ikke_opfyldt",
            severity="hoej", finding="Modellens fejlrater er ikke målt for undergrupper.",
            recommendation="Mål fejlrater for køn, alder og herkomst.",
        ),
        CriterionResult(
            id="fria_risks", family="fria", title="Risici for berørte grupper", status="delvist_opfyldt",
            severity="hoej", finding="Risici for udsatte grupper er kun delvist beskrevet.", references=[AIA_27],
        ),
        CriterionResult(
            id="proc_dpa", family="procurement", title="Databehandleraftale", status="ikke_relevant",
            severity="lav", finding="Systemet udvikles internt.",
        ),
    ]
    return Assessment(
        intake=_intake("kontrolmodel.xlsx", answers, sha),
        assessment_date=DATE,
        classification=Classification(
            is_ai_system=True, ai_system_reason="Maskinlæringsmodel, der udleder en score af input.",
            roles=["udbyder", "idriftsætter"], role_reasons=["Kommunen udvikler og ibrugtager systemet selv."],
            risk_class="højrisiko", risk_class_label="Højrisiko-AI-system", high_risk_basis=[AIA_III_5A],
            art_6_3_exception="udelukket_profilering", reasons=["Systemet profilerer ansøgere."],
        ),
        dpia=DpiaTriage(
            personal_data=True, result="påkrævet", result_label="påkrævet",
            reasons=["Profilering, der indgår i afgørelser om ydelser.", "Sårbare registrerede."],
            wp248_criteria=["Evaluering eller scoring", "Sårbare registrerede", "Innovativ teknologi"],
            datatilsynet_items=["Punkt 5: automatiske afgørelser om adgang til ydelser"], done="igang",
        ),
        fria=FriaResult(required=True, reasons=["Offentlig myndighed, bilag III, punkt 5."],
                        coverage={"a": True, "b": True, "c": True, "d": False, "e": True, "f": False},
                        registration_required=True),
        obligations=[
            Obligation(id="aia_26", actor="idriftsætter", title="Idriftsætterens forpligtelser",
                       description="Brug efter brugsanvisningen, menneskeligt tilsyn, logning i mindst 6 måneder.",
                       references=[AIA_26], applies_from=dt.date(2027, 12, 2), applies_now=False,
                       applies_text="gælder fra 2. december 2027",
                       date_source="Forordning (EU) 2026/1744 (Digital Omnibus)"),
            Obligation(id="aia_4", actor="begge", title="AI-færdigheder",
                       description="Tiltag, der understøtter personalets AI-færdigheder.",
                       references=[AIA_4], applies_now=True, applies_text="gælder", date_uncertain=True),
        ],
        criteria=criteria,
        risks=[
            Risk(id="R1", title="Skævhed", description="Tidligere kontrol er skævt udvalgt.", affected="Ansøgere",
                 source="intake", likelihood=3, consequence=3, residual_likelihood=2, residual_consequence=3,
                 level="hoej", residual_level="middel", measures="Temporal validering og måling af undergrupper."),
            Risk(id="R2", title="Automatiseringsbias", description="Sagsbehandlere følger scoren ukritisk.",
                 source="regel", criterion_id="fvl_partshoering", likelihood=2, consequence=4,
                 residual_likelihood=1, residual_consequence=4, level="hoej", residual_level="middel"),
        ],
        actions=[
            Action(id="A1", title="Afklar retsgrundlag for drift", description="Indhent vurdering fra juridisk kontor.",
                   priority="høj", owner_role="Juridisk kontor", deadline_text="Før ibrugtagning",
                   criterion_id="gdpr_necessity"),
            Action(id="A2", title="Uddannelse i AI-færdigheder", description="Kursus for sagsbehandlere.",
                   priority="middel", owner_role="HR", deadline_text="Senest 3 måneder efter idriftsættelse",
                   deadline=dt.date(2027, 6, 1)),
            Action(id="A3", title="Mål fejlrater for undergrupper", description="Rapport pr. undergruppe.",
                   priority="høj", owner_role="Datateam", deadline_text="Før ibrugtagning"),
        ],
        conclusion="Systemet er et højrisiko-AI-system. Det kan ikke tages i drift, før retsgrundlaget er afklaret.",
        follow_ups=["Konsekvensanalyse (DPIA)", "Grundrettighedsvurdering"],
        overall_status="ikke_klar",
        uncertainties=["Ordlyden af artikel 4 efter Digital Omnibus er ikke kontrolleret."],
        versions=_versions(sha),
    )


def prohibited() -> Assessment:
    """S6: emotion recognition of call-centre employees."""
    sha = "2" * 64
    answers: dict[str, Any] = {
        "authority_name": "Eksempel Kommune",
        "case_number": "26-009999",
        "kle_number": "81.03.00",
        "system_name": "Stemmeanalyse i borgerservice",
        "phase": "indkoeb",
        "system_purpose": "Analyse af medarbejderes stemmer for stress og følelser.",
        "personal_data": True,
    }
    return Assessment(
        intake=_intake("stemmeanalyse.xlsx", answers, sha),
        assessment_date=DATE,
        classification=Classification(
            is_ai_system=True, ai_system_reason="Systemet udleder følelser af stemmedata.",
            roles=["idriftsætter"], prohibited=True, prohibited_practices=[AIA_5_1_F],
            risk_class="forbudt", risk_class_label="Forbudt AI-praksis",
            reasons=["Følelsesgenkendelse på arbejdspladsen uden medicinske eller sikkerhedsmæssige grunde."],
        ),
        dpia=DpiaTriage(personal_data=True, result="påkrævet", result_label="påkrævet",
                        reasons=["Systematisk overvågning af medarbejdere."]),
        fria=FriaResult(required=False),
        criteria=[
            CriterionResult(id="aia_prohibited", family="ai_act", title="Forbudt praksis", status="ikke_opfyldt",
                            severity="kritisk", finding="Følelsesgenkendelse på arbejdspladsen er forbudt.",
                            references=[AIA_5_1_F]),
        ],
        actions=[Action(id="A1", title="Stop indkøbet", description="Systemet må ikke købes.", priority="høj",
                        owner_role="Direktionen", deadline_text="Straks")],
        conclusion="Systemet må ikke købes eller bruges.",
        overall_status="forbudt",
        versions=_versions(sha),
    )


def no_personal_data() -> Assessment:
    """S5: waste-route optimisation, no personal data."""
    sha = "3" * 64
    answers: dict[str, Any] = {
        "authority_name": "Eksempel Kommune",
        "case_number": "26-001234",
        "kle_number": "07.18.00",
        "system_name": "Ruteoptimering af affaldsindsamling",
        "phase": "udvikling",
        "system_purpose": "Forudsigelse af fyldningsgrad og planlægning af ruter.",
        "personal_data": False,
    }
    return Assessment(
        intake=_intake("ruteoptimering.xlsx", answers, sha),
        assessment_date=DATE,
        classification=Classification(
            is_ai_system=True, ai_system_reason="Modellen forudsiger fyldningsgrad.",
            roles=["udbyder", "idriftsætter"], risk_class="minimal", risk_class_label="Minimal risiko",
        ),
        dpia=DpiaTriage(personal_data=False, result="ikke_påkrævet", result_label="ikke påkrævet",
                        reasons=["Der behandles ikke personoplysninger."]),
        fria=FriaResult(required=False),
        criteria=[
            CriterionResult(id="tech_sensor_quality", family="technical", title="Datakvalitet fra sensorer",
                            status="delvist_opfyldt", severity="middel",
                            finding="Sensorfejl håndteres ikke systematisk.",
                            recommendation="Indfør overvågning af sensorer."),
        ],
        conclusion="Systemet har minimal risiko og kan tages i brug.",
        overall_status="klar",
        versions=_versions(sha),
    )


def hostile(base: Assessment | None = None) -> Assessment:
    """A case whose answers try to inject template code, XML and control characters everywhere."""
    a = base or high_risk()
    evil = 'X {{ doc.title }} {% if true %}IF{% endif %} <w:r><w:t>INJ</w:t></w:r> & "q" \x07\x0c\x01 \ufffe'
    answers = dict(a.intake.answers)
    for key in ("authority_name", "case_number", "system_name", "system_purpose", "dpo_advice", "unit"):
        answers[key] = evil + ("\nline two" if key in ("system_purpose", "dpo_advice") else "")
    intake = a.intake.model_copy(update={"answers": answers})
    risks = [a.risks[0].model_copy(update={"title": evil, "measures": evil})] if a.risks else []
    return a.model_copy(update={"intake": intake, "risks": risks, "conclusion": evil})


FIXTURES = {"hoejrisiko": high_risk, "forbudt": prohibited, "ingen_personoplysninger": no_personal_data}


# --------------------------------------------------------------------------------------------
# Real examples (intake_templates/examples/*.yaml through the real stages), when available
# --------------------------------------------------------------------------------------------

EXAMPLES_DIR = __import__("pathlib").Path(__file__).resolve().parent.parent / "intake_templates" / "examples"


def real_examples(tmp_dir: Any, errors: dict[str, str] | None = None) -> dict[str, Assessment]:
    """Each example answer file -> workbook -> validate -> evaluate.

    An example that fails to evaluate is left out and its error recorded in ``errors``; test_render checks
    that ``errors`` is empty.
    """
    key = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(EXAMPLES_DIR.glob("*.yaml")))
    if key not in _REAL_CACHE:  # once per process: the workbooks and evaluations are the slow part
        found: dict[str, str] = {}
        _REAL_CACHE[key] = (_real_examples(tmp_dir, found), found)
    cached, cached_errors = _REAL_CACHE[key]
    if cached_errors and errors is None:
        raise RuntimeError(f"eksempler kunne ikke vurderes: {cached_errors}")
    if errors is not None:
        errors.update(cached_errors)
    return dict(cached)


_REAL_CACHE: dict[Any, tuple[dict[str, Assessment], dict[str, str]]] = {}


def _real_examples(tmp_dir: Any, errors: dict[str, str]) -> dict[str, Assessment]:
    from pipeline.answers_io import fill_workbook, load_answers
    from pipeline.evaluate import evaluate
    from pipeline.validate import validate_workbook

    out: dict[str, Assessment] = {}
    for path in sorted(EXAMPLES_DIR.glob("*.yaml")):
        xlsx = tmp_dir / f"{path.stem}.xlsx"
        try:
            fill_workbook(load_answers(path), xlsx, force=True)
            intake = validate_workbook(xlsx)
            out[path.stem] = evaluate(intake, assessment_date=DATE)
        except Exception as exc:  # reported by the caller
            errors[path.stem] = f"{type(exc).__name__}: {exc}"
    return out
