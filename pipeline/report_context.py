"""The report context: everything a Word template may use, already formatted in Danish.

:func:`build_context` turns a :class:`pipeline.models.Assessment` into a :class:`ReportContext`. Templates
(docxtpl/Jinja) see ``ReportContext.model_dump()``. Rules for the model:

* every value is text, a bool, a list or a nested model: never ``None`` (missing answers read
  ``"(ikke besvaret)"``; a section that does not apply carries a one-sentence ``not_applicable_text``);
* dates are written the Danish way ("5. januar 2026"; tables "05-01-2026"), numbers with decimal comma;
* legal citations come from ``LegalRef.text`` (the criteria catalogue), never from the template;
* characters that are illegal in XML are removed and tabs become spaces (:func:`clean_text`), so no answer
  can add runs, tabs or page breaks to the document. Multi-line answers are lists of paragraphs.

``docs/templates.md`` is generated from this module (:func:`variables_markdown`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field

from pipeline import __version__
from pipeline.labels import LEVEL_LABELS, STATUS_LABELS
from pipeline.models import (
    Action,
    Assessment,
    CriterionResult,
    LegalRef,
    Obligation,
    Risk,
    TraceItem,
)
from pipeline.textfmt import date_long, date_table, join_da, number_da

__all__ = [
    "NOT_ANSWERED",
    "ReportContext",
    "build_context",
    "clean_text",
    "context_paths",
    "variables_markdown",
]

NOT_ANSWERED = "(ikke besvaret)"
UNCERTAIN_MARK = "⚠"

# XML 1.0 allows #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

FAMILY_LABELS = {
    "ai_act": "AI-forordningen",
    "gdpr": "Databeskyttelse",
    "fria": "Grundlæggende rettigheder",
    "admin_law": "Forvaltningsret",
    "technical": "Teknisk vurdering",
    "security": "Informationssikkerhed",
    "procurement": "Indkøb og kontrakt",
    "governance": "Ledelse og organisering",
}
ROLE_LABELS = {"udbyder": "udbyder", "idriftsætter": "idriftsætter", "begge": "udbyder og idriftsætter"}
OVERALL_LABELS = {
    "forbudt": "Systemet er omfattet af et forbud og må ikke tages i brug",
    "ikke_klar": "Systemet er ikke klar til brug",
    "klar_med_forbehold": "Systemet kan tages i brug med forbehold",
    "klar": "Systemet kan tages i brug",
}
# Colours of the heat map (fill, hex without '#'), by level.
LEVEL_COLOURS = {"lav": "C6E0B4", "middel": "FFE699", "hoej": "F4B183", "kritisk": "FF7C80"}
LIKELIHOOD_LABELS = ("Lav", "Middel", "Høj", "Meget høj")
CONSEQUENCE_LABELS = ("Begrænset", "Moderat", "Alvorlig", "Kritisk")

FRIA_PARTS = (
    ("a", "Beskrivelse af idriftsætterens processer, hvor systemet anvendes"),
    ("b", "Tidsrum og hyppighed for anvendelsen"),
    ("c", "Kategorier af fysiske personer og grupper, der kan blive berørt"),
    ("d", "Specifikke risici for skade på de berørte personer og grupper"),
    ("e", "Gennemførelse af foranstaltninger til menneskeligt tilsyn"),
    ("f", "Foranstaltninger, hvis risiciene indtræffer, herunder klageadgang og intern styring"),
)
GDPR_PARTS = (
    ("a", "Systematisk beskrivelse af behandlingen og formålene"),
    ("b", "Vurdering af nødvendighed og proportionalitet"),
    ("c", "Vurdering af risici for de registreredes rettigheder og frihedsrettigheder"),
    ("d", "Foranstaltninger til imødegåelse af risiciene"),
)

# Answers the report shows in fixed places, by role. Each role lists candidate question ids (the first
# answered one wins), so a renamed question only needs an edit here.
ANSWER_ROLES: dict[str, tuple[str, ...]] = {
    "authority": ("authority_name",),
    "case_number": ("case_number",),
    "kle": ("kle_number",),
    "kle_facet": ("kle_facet",),
    "system_name": ("system_name",),
    "version": ("document_version",),
    "status": ("document_status",),
    "confidentiality": ("confidentiality",),
    "department": ("unit",),
    "author": ("caseworker",),
    "document_date": ("document_date",),
    "dpo_name": ("dpo_name",),
    "dpo_advice": ("dpo_advice",),
    "decision": ("decision",),
    "approver": ("approver_name",),
    "approver_title": ("approver_title",),
    "approval_date": ("approval_date",),
    "purpose": ("system_purpose",),
    "description": ("intended_use",),
    "phase": ("phase",),
}
# Answers shown under the lettered parts of GDPR Art. 35(7) and AI Act Art. 27(1).
GDPR_PART_ANSWERS: dict[str, tuple[str, ...]] = {
    "a": ("system_purpose", "data_categories", "data_subjects_scale", "data_sources", "retention"),
    "b": ("necessity_proportionality", "pseudonymisation", "information_to_data_subjects"),
    "c": ("specific_harms",),
    "d": ("automation_bias_measures",),
}
FRIA_PART_ANSWERS: dict[str, tuple[str, ...]] = {
    "a": ("deployment_process",),
    "b": ("usage_period_frequency",),
    "c": ("affected_groups", "affected_count"),
    "d": ("specific_harms",),
    "e": ("human_review", "can_override", "automation_bias_measures"),
    "f": ("complaint_mechanism", "can_stop"),
}
# Catalogue sections shown in "Beskrivelse af systemet og konteksten".
SYSTEM_SECTIONS = ("system", "output")


class _Ctx(BaseModel):
    model_config = ConfigDict(extra="forbid")


_M = TypeVar("_M", bound=BaseModel)


def _new(model: type[_M], **data: Any) -> _M:
    """``model(**data)`` with the same full validation, called on pydantic's validator directly (what
    ``BaseModel.__init__`` does, without its Python wrapper: hundreds of models per report)."""
    return model.__pydantic_validator__.validate_python(data)


def _valid(model: type[_M], data: dict[str, Any]) -> _M:
    """:func:`_new` for data already in a dict (no keyword packing: the most frequent models)."""
    return model.__pydantic_validator__.validate_python(data)


# --------------------------------------------------------------------------------------------
# The context model (the contract with every template)
# --------------------------------------------------------------------------------------------


class Ref(_Ctx):
    """A legal reference as it is cited."""

    model_config = ConfigDict(extra="forbid", frozen=True)  # immutable: one Ref is shared by every report citing it

    code: str = Field(description="Katalognotation, fx 'AIA 6(3)'.")
    text: str = Field(description="Dansk citat, fx 'artikel 6, stk. 3, i AI-forordningen'; '⚠' ved usikkerhed.")
    uncertain: bool = Field(description="Sand, når kilden er markeret ⚠ (ikke bekræftet).")


class DocInfo(_Ctx):
    """Journaling metadata (cover, document information, header and footer)."""

    title: str = Field(description="Dokumentets titel.")
    system_name: str = Field(description="AI-systemets navn.")
    authority: str = Field(description="Myndighedens navn.")
    department: str = Field(description="Forvaltning/enhed.")
    case_number: str = Field(description="Sagsnummer (journalnummer).")
    kle: str = Field(description="KLE-emnenummer, evt. med handlingsfacet.")
    date: str = Field(description="Dokumentdato (intakearkets dokumentdato, ellers vurderingsdatoen), fx '5. januar 2026'.")
    date_table: str = Field(description="Dokumentdato i tabelform, fx '05-01-2026'.")
    date_iso: str = Field(description="Dokumentdato ISO 8601, fx '2026-01-05'.")
    version: str = Field(description="Dokumentets version.")
    status: str = Field(description="'Kladde' eller 'Endelig'.")
    confidentiality: str = Field(description="Fortrolighedsmarkering, fx 'Fortroligt' eller 'Ikke fortroligt'.")
    author: str = Field(description="Udarbejdet af.")
    source_file: str = Field(description="Navnet på intakearket (uden mappe).")


class ActionRow(_Ctx):
    """One action of the action plan."""

    number: str = Field(description="Løbenummer, '1', '2' …")
    id: str = Field(description="Handlingens id.")
    title: str = Field(description="Kort titel.")
    description: str = Field(description="Beskrivelse.")
    priority: str = Field(description="'Høj', 'Middel' eller 'Lav'.")
    owner_role: str = Field(description="Ansvarlig rolle.")
    deadline: str = Field(description="Frist som tekst.")
    source: str = Field(description="'Regel' eller 'Intake'.")


class Summary(_Ctx):
    """Summary and conclusion."""

    prohibited: bool = Field(description="Sand, når systemet er omfattet af et forbud (forbuddet står først).")
    prohibition_text: str = Field(description="Én sætning om forbuddet; tom tekst når ikke forbudt.")
    risk_class: str = Field(description="AI-forordningens risikoklasse, fx 'Højrisiko-AI-system'.")
    roles: str = Field(description="Myndighedens rolle(r), fx 'udbyder og idriftsætter'.")
    dpia: str = Field(description="Konklusion om konsekvensanalyse vedrørende databeskyttelse (DPIA), som sætning.")
    fria: str = Field(description="Konklusion om grundrettighedsvurdering (FRIA).")
    overall: str = Field(description="Samlet status som sætning.")
    conclusion: str = Field(description="Den samlede konklusion (ét afsnit).")
    follow_ups: list[str] = Field(description="Opfølgende analyser.")
    top_actions: list[ActionRow] = Field(description="De (op til) fem vigtigste handlinger.")
    uncertainties: list[str] = Field(description="Usikre forhold (⚠), som rapporten skal gøre opmærksom på.")


class AnswerItem(_Ctx):
    """One answer, ready to print."""

    question_id: str = Field(description="Spørgsmålets id.")
    section: str = Field(description="Afsnittet (arket) i intakearket.")
    label: str = Field(description="Spørgsmålet.")
    value: str = Field(description="Svaret på én linje.")
    paragraphs: list[str] = Field(description="Svaret som afsnit (linjeskift bliver nye afsnit).")
    location: str = Field(description="Ark og celle, fx \"'2 System'!C7\".")
    sheet: str = Field(description="Arket i intakearket, fx '2 System'; tom tekst når svaret ikke står i arket.")
    cell: str = Field(description="Cellen i arket, fx 'C7'; '(ikke i arket)' når svaret ikke står i arket.")
    group_heading: str = Field(
        description="I bilag 1: overskrift for arket, fx \"Ark '2 Systemet': Systemet\", på det første svar fra "
        "hvert ark; ellers tom tekst (svarene står pr. ark)."
    )




class Finding(_Ctx):
    """One evaluated criterion."""

    id: str = Field(description="Kriteriets id.")
    family: str = Field(description="Område, fx 'Databeskyttelse'.")
    title: str = Field(description="Kriteriets titel.")
    status: str = Field(description="'Opfyldt', 'Delvist opfyldt', 'Ikke opfyldt', 'Ikke relevant' eller 'Kræver afklaring'.")
    status_code: str = Field(description="Statuskode (maskinlæsbar).")
    severity: str = Field(description="Alvor: 'Lav', 'Middel', 'Høj', 'Kritisk'.")
    finding: str = Field(description="Vurdering.")
    recommendation: str = Field(description="Anbefaling; tom tekst når ingen.")
    references: list[Ref] = Field(description="Retsgrundlag.")
    references_text: str = Field(description="Retsgrundlag som én tekst.")
    trace: str = Field(description="De besvarede spørgsmål, vurderingen bygger på, med ark og celle (ubesvarede udelades).")
    trace_short: str = Field(
        description="Det samme i kort form til bilag, fx \"'2 Systemet'!D14 Teknik = Maskinlæring; D20 …\" "
        "(lange spørgsmål og svar forkortes med '…'; hele svaret står i bilag 1)."
    )
    action: str = Field(description="Nummeret på handlingen i handlingsplanen, der følger anbefalingen; tom tekst når ingen.")
    uncertain: bool = Field(description="Sand ved usikkert grundlag (⚠).")
    uncertainty_note: str = Field(description="Forklaring på usikkerheden; tom tekst når ingen.")


class FamilySection(_Ctx):
    """A report section made of criteria (administrative law, technical, security, procurement …)."""

    applies: bool = Field(description="Falsk, når afsnittet ikke er relevant (så vises kun not_applicable_text).")
    not_applicable_text: str = Field(description="Én sætning om, hvorfor afsnittet ikke er relevant.")
    findings: list[Finding] = Field(description="De relevante vurderinger.")


class ObligationRow(_Ctx):
    """A duty under the AI Act."""

    id: str = Field(description="Forpligtelsens id.")
    actor: str = Field(description="'udbyder', 'idriftsætter' eller 'udbyder og idriftsætter'.")
    title: str = Field(description="Titel.")
    description: str = Field(description="Beskrivelse.")
    references_text: str = Field(description="Bestemmelser.")
    applies_text: str = Field(description="'gælder' eller 'gælder fra 2. december 2027'.")
    date_source: str = Field(description="Kilden til datoen; tom tekst når ingen.")
    uncertain: bool = Field(description="Sand, når datoen er usikker (⚠).")


class AiActSection(_Ctx):
    """AI Act classification and obligations."""

    is_ai_system: str = Field(description="'Ja', 'Nej' eller 'Kræver afklaring'.")
    ai_system_reason: str = Field(description="Begrundelse for, om det er et AI-system.")
    risk_class: str = Field(description="Risikoklassen som tekst.")
    risk_class_code: str = Field(description="Risikoklassens kode.")
    roles: str = Field(description="Roller som tekst.")
    role_reasons: list[str] = Field(description="Begrundelser for rollerne.")
    prohibited: bool = Field(description="Sand ved forbudt praksis.")
    prohibited_practices: list[Ref] = Field(description="Forbudte former for AI-praksis.")
    high_risk_basis: list[Ref] = Field(description="Grundlag for højrisiko.")
    art_6_3: str = Field(description="Artikel 6, stk. 3-undtagelsen som sætning.")
    transparency: list[Ref] = Field(description="Gennemsigtighedspligter.")
    gpai: str = Field(description="Sætning om AI-model til almen brug.")
    reasons: list[str] = Field(description="Begrundelse for klassifikationen.")
    obligations: list[ObligationRow] = Field(description="Forpligtelser med 'gælder'/'gælder fra'.")
    no_obligations_text: str = Field(description="Sætning, når ingen forpligtelser følger.")
    findings: list[Finding] = Field(description="Vurderinger efter AI-forordningen.")


class Part(_Ctx):
    """A lettered part of GDPR Art. 35(7) or AI Act Art. 27(1)."""

    letter: str = Field(description="Litra, fx 'a'.")
    title: str = Field(description="Overskrift.")
    covered: bool = Field(description="Sand, når intakearket dækker punktet.")
    paragraphs: list[str] = Field(description="Indhold som afsnit (aldrig tom: ellers én sætning).")
    findings: list[Finding] = Field(description="Vurderinger, der hører til punktet.")


class PhaseBasis(_Ctx):
    """Legal basis in one phase of the lifecycle."""

    phase: str = Field(description="Fasen, fx 'Udvikling'.")
    basis: str = Field(description="Behandlingsgrundlaget.")


class GdprSection(_Ctx):
    """Data protection, structured as GDPR Art. 35(7)(a)–(d)."""

    applies: bool = Field(description="Falsk, når der ikke behandles personoplysninger.")
    not_applicable_text: str = Field(description="Én sætning, når afsnittet ikke er relevant.")
    personal_data: str = Field(description="'Ja', 'Nej' eller '(ikke besvaret)'.")
    triage_result: str = Field(description="Konklusion på DPIA-screeningen.")
    triage_reasons: list[str] = Field(description="Begrundelser for konklusionen.")
    art_35_3: list[Ref] = Field(description="Litra i artikel 35, stk. 3, der er opfyldt (og ikke allerede nævnt i begrundelserne).")
    wp248_criteria: list[str] = Field(description="Opfyldte kriterier i WP248 (EDPB), som ikke allerede står i begrundelserne.")
    datatilsynet_items: list[str] = Field(description="Punkter på Datatilsynets liste (som ikke allerede står i begrundelserne).")
    prior_consultation: str = Field(description="Sætning om forudgående høring (artikel 36).")
    dpia_done: str = Field(description="Om konsekvensanalysen er gennemført.")
    parts: list[Part] = Field(description="Artikel 35, stk. 7, litra a–d.")
    legal_basis: list[PhaseBasis] = Field(description="Behandlingsgrundlag pr. fase.")
    other_findings: list[Finding] = Field(description="Øvrige vurderinger om databeskyttelse.")


class FriaSection(_Ctx):
    """Fundamental rights impact assessment (AI Act Art. 27)."""

    required: bool = Field(description="Sand, når grundrettighedsvurdering er påkrævet.")
    not_applicable_text: str = Field(description="Én sætning, når den ikke er påkrævet.")
    reasons: list[str] = Field(description="Begrundelser.")
    registration: str = Field(description="Sætning om registrering (artikel 49, stk. 3).")
    parts: list[Part] = Field(description="Artikel 27, stk. 1, litra a–f.")
    other_findings: list[Finding] = Field(description="Vurderinger om grundlæggende rettigheder, der ikke hører til ét bestemt litra.")


class RiskRow(_Ctx):
    """One risk in the register."""

    number: str = Field(description="Løbenummer.")
    id: str = Field(description="Risikoens id.")
    title: str = Field(description="Titel.")
    description: str = Field(description="Beskrivelse.")
    affected: str = Field(description="Hvem rammes.")
    summary: str = Field(description="Titel, beskrivelse og (når oplyst) hvem der rammes, som én tekst.")
    likelihood: str = Field(description="Sandsynlighed før foranstaltninger (1–4).")
    consequence: str = Field(description="Konsekvens før foranstaltninger (1–4).")
    level: str = Field(description="Niveau før foranstaltninger.")
    measures: str = Field(description="Foranstaltninger.")
    residual_likelihood: str = Field(description="Sandsynlighed efter foranstaltninger.")
    residual_consequence: str = Field(description="Konsekvens efter foranstaltninger.")
    residual_level: str = Field(description="Restrisiko.")
    source: str = Field(description="'Regel' eller 'Intake'.")


class HeatCell(_Ctx):
    """One cell of a 4×4 heat map."""

    count: str = Field(description="Antal risici i feltet (tom tekst når 0).")
    ids: str = Field(description="Løbenumre på risici i feltet.")
    colour: str = Field(description="Baggrundsfarve (hex uden #) til {% cellbg %}.")


class HeatRow(_Ctx):
    """One row of a heat map (one likelihood level, highest first)."""

    label: str = Field(description="Sandsynlighed, fx 'Meget høj (4)'.")
    cells: list[HeatCell] = Field(description="Fire felter, konsekvens 1–4.")


class RiskSection(_Ctx):
    """Risk assessment."""

    applies: bool = Field(description="Falsk, når der ikke er registreret risici.")
    not_applicable_text: str = Field(description="Én sætning, når der ingen risici er.")
    rows: list[RiskRow] = Field(description="Risikoregistret.")
    before: list[HeatRow] = Field(description="Varmekort før foranstaltninger (4 rækker, højeste sandsynlighed først).")
    after: list[HeatRow] = Field(description="Varmekort efter foranstaltninger.")
    consequence_labels: list[str] = Field(description="Kolonneoverskrifter (konsekvens 1–4).")


class Approval(_Ctx):
    """Approval block."""

    dpo_advice: list[str] = Field(description="Databeskyttelsesrådgiverens råd (afsnit).")
    decision: list[str] = Field(description="Beslutning (afsnit).")
    dpo_name: str = Field(description="Databeskyttelsesrådgiverens navn.")
    approver: str = Field(description="Godkendt af (navn og stilling).")
    date: str = Field(description="Godkendelsesdato.")


class VersionInfo(_Ctx):
    """Versions and checksums (annex)."""

    tool: str = Field(description="Værktøjets version.")
    question_catalogue: str = Field(description="Spørgsmålskatalogets version.")
    question_catalogue_sha256: str = Field(description="SHA-256 af spørgsmålskataloget.")
    criteria_catalogue: str = Field(description="Kriteriekatalogets version.")
    criteria_catalogue_sha256: str = Field(description="SHA-256 af kriteriekataloget.")
    template: str = Field(description="Skabelonens version.")
    template_sha256: str = Field(description="SHA-256 af skabelonen.")
    input_sha256: str = Field(description="SHA-256 af intakearket.")
    intake_template: str = Field(description="Intakearkets skabelonversion.")


class ReportContext(_Ctx):
    """Everything a report template may use."""

    lang: str = Field(description="Sprog: 'da' eller 'en'.")
    doc: DocInfo = Field(description="Dokumentoplysninger.")
    summary: Summary = Field(description="Resumé og konklusion.")
    system: list[AnswerItem] = Field(description="Beskrivelse af systemet og konteksten (svar fra intakearket).")
    ai_act: AiActSection = Field(description="AI-forordningen.")
    gdpr: GdprSection = Field(description="Databeskyttelse.")
    fria: FriaSection = Field(description="Grundrettighedsvurdering.")
    admin_law: FamilySection = Field(description="Forvaltningsret.")
    technical: FamilySection = Field(description="Teknisk vurdering.")
    security: FamilySection = Field(description="Informationssikkerhed.")
    procurement: FamilySection = Field(description="Indkøb og kontrakt.")
    governance: FamilySection = Field(description="Ledelse og organisering.")
    risks: RiskSection = Field(description="Risikovurdering.")
    actions: list[ActionRow] = Field(description="Handlingsplan.")
    no_actions_text: str = Field(description="Sætning, når der ingen handlinger er.")
    approval: Approval = Field(description="Godkendelse.")
    answers: list[AnswerItem] = Field(description="Bilag: alle svar, pr. ark (se group_heading).")
    criteria: list[Finding] = Field(description="Bilag: alle kriterier med status og sporbarhed.")
    versions: VersionInfo = Field(description="Bilag: versioner og kontrolsummer.")


# --------------------------------------------------------------------------------------------
# Text helpers
# --------------------------------------------------------------------------------------------


# docxtpl turns "{_{", "}_}", "{_%" and "%_}" in the rendered XML into "{{", "}}", "{%" and "%}" (its
# escape for literal tags). A word joiner (U+2060, invisible) keeps such text in an answer literal.
_DOCXTPL_ESCAPES = re.compile(r"(?<=\{_)(?=[{%])|(?<=[}%]_)(?=\})")


def clean_text(value: str) -> str:
    """Remove XML-illegal characters; tabs become spaces; CRLF/CR become LF; docxtpl escapes kept literal."""
    text = _XML_ILLEGAL.sub("", value)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _DOCXTPL_ESCAPES.sub("\u2060", text) if "_" in text else text


@lru_cache(maxsize=8192)  # a pure function of the text; the same labels and answers recur throughout a report
def one_line(value: str) -> str:
    """Clean text on one line (line breaks become spaces)."""
    if value.isprintable() and "  " not in value and "_" not in value and value == value.strip():
        return value  # fast path: nothing to clean (isprintable is False for controls and surrogates)
    return re.sub(r"[ \n]+", " ", clean_text(value)).strip()


def paragraphs(value: str) -> list[str]:
    """Split clean text at line breaks into non-empty paragraphs."""
    if value.isprintable() and "_" not in value:
        # Nothing to clean and no line break (isprintable is False for controls, surrogates and non-characters;
        # the docxtpl escapes need "_"): clean_text would return the text unchanged, split it into one piece.
        text = value.strip()
        return [text] if text else []
    return [p.strip() for p in clean_text(value).split("\n") if p.strip()]


def _sentence(value: str) -> str:
    """One line, capitalised, ending with a full stop (or NOT_ANSWERED when empty)."""
    text = one_line(value)
    if not text:
        return NOT_ANSWERED
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _or_missing(value: str | None) -> str:
    text = one_line(value) if value else ""
    return text or NOT_ANSWERED


def _ref(r: LegalRef) -> Ref:
    return _cited(r.code, r.text, r.uncertain)


@lru_cache(maxsize=4096)  # a pure function of the reference (references come from the catalogues); Ref is frozen
def _cited(code: str, text: str, uncertain: bool) -> Ref:
    text = one_line(text)
    if uncertain:
        text = f"{text} {UNCERTAIN_MARK}"
    return _new(Ref, code=one_line(code), text=text, uncertain=uncertain)


def _refs_text(refs: Sequence[LegalRef]) -> str:
    return "; ".join(_ref(r).text for r in refs)


# --------------------------------------------------------------------------------------------
# Answers
# --------------------------------------------------------------------------------------------


def _load_catalogue() -> Any | None:
    """The question catalogue, or ``None`` when it cannot be loaded (labels then fall back to ids)."""
    try:
        from pipeline.questions import load_questions

        return load_questions()
    except Exception:  # the report must render even without a readable catalogue
        return None


def _text(value: Any, lang: str = "da") -> str:
    """A {da, en} text (dict or catalogue ``Text``) in the wanted language (Danish as fallback)."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("da") or "")
    if isinstance(value, str):
        return value
    return str(getattr(value, lang, None) or getattr(value, "da", "") or "")


class _Questions:
    """Question labels, options and sections from the catalogue (tolerant of its absence), as the report shows them.

    Everything is looked up once here (labels one-lined, option codes mapped to their labels), so a report only
    reads dictionaries; :func:`_questions` keeps one per catalogue and language on the catalogue itself.
    """

    def __init__(self, catalogue: Any | None, lang: str) -> None:
        self.catalogue = catalogue
        self.lang = lang
        self.by_id: dict[str, Any] = {}
        self.order: list[str] = []
        self.section_titles: dict[str, str] = {}
        self.section_sheets: dict[str, str] = {}
        self.section_lines: dict[str, str] = {}  # section id -> title on one line
        self.labels: dict[str, str] = {}  # question id -> label on one line
        self.sections: dict[str, str] = {}  # question id -> section id
        self.options: dict[str, dict[Any, str]] = {}  # question id -> option code -> label (the first option wins)
        self.column_options: dict[str, dict[Any, dict[Any, str]]] = {}  # ... -> column id -> (the last column wins)
        self.column_labels: dict[str, dict[Any, str]] = {}  # question id -> column id -> label (the first wins)
        self.system_order: list[str] = []  # the questions of SYSTEM_SECTIONS, in catalogue order
        if catalogue is None:
            return
        for s in getattr(catalogue, "sections", []) or []:
            sid = getattr(s, "id", "")
            self.section_titles[sid] = _text(getattr(s, "title", sid), lang) or sid
            self.section_sheets[sid] = str(getattr(s, "sheet", sid))
        self.section_lines = {sid: one_line(title) for sid, title in self.section_titles.items()}
        for q in getattr(catalogue, "questions", []) or []:
            self.by_id[q.id] = q
            self.order.append(q.id)
        for qid, q in self.by_id.items():
            self.labels[qid] = one_line(_text(getattr(q, "label", ""), lang))
            self.sections[qid] = str(getattr(q, "section", ""))
            self.options[qid] = self._option_labels(getattr(q, "options", None) or [])
            columns = getattr(q, "columns", None) or []
            self.column_options[qid] = {getattr(c, "id", None): self._option_labels(getattr(c, "options", None) or []) for c in columns}
            labels: dict[Any, str] = {}
            for col in columns:
                column: Any = getattr(col, "id", None)
                if column not in labels:
                    labels[column] = one_line(_text(getattr(col, "label", column), lang)) or column
            self.column_labels[qid] = labels
        self.system_order = [q for q in self.order if self.section_of(q) in SYSTEM_SECTIONS]

    def _option_labels(self, options: Iterable[Any]) -> dict[Any, str]:
        out: dict[Any, str] = {}
        for opt in options:
            code: Any = getattr(opt, "code", None)
            if code not in out:
                out[code] = _text(getattr(opt, "label", code), self.lang) or code
        return out

    def label(self, qid: str) -> str:
        return self.labels.get(qid, qid)

    def section_of(self, qid: str) -> str:
        return self.sections.get(qid, "")

    def option_label(self, qid: str, code: str, column: str | None = None) -> str:
        options = self.options.get(qid)
        if options is None:
            return code
        if column is not None:
            options = self.column_options[qid].get(column, options)  # no such column: the question's own options
        return options.get(code, code)

    def column_label(self, qid: str, column: str) -> str:
        return self.column_labels.get(qid, {}).get(column, column)


def _questions(catalogue: Any | None, lang: str) -> _Questions:
    """The catalogue's :class:`_Questions` for ``lang``, made once and kept on the (immutable) catalogue, so it
    lives exactly as long as the catalogue and cannot go stale; any other catalogue-like object is read afresh."""
    from pipeline.questions import QuestionCatalogue

    if not isinstance(catalogue, QuestionCatalogue):
        return _Questions(catalogue, lang)
    key = ("report_context.questions", lang)
    qs = catalogue.derived.get(key)
    if qs is None or qs.catalogue is not catalogue:  # a model_copy shares ``derived``: never serve a copy's view
        qs = catalogue.derived[key] = _Questions(catalogue, lang)
    return qs


def _scalar_text(value: Any, qs: _Questions, qid: str, column: str | None = None) -> str:
    if isinstance(value, bool):
        return "Ja" if value else "Nej"
    if isinstance(value, dt.datetime):
        return date_table(value.date())
    if isinstance(value, dt.date):
        return date_table(value)
    if isinstance(value, int | float):
        return number_da(value)
    if isinstance(value, str):
        return qs.option_label(qid, value, column) if value and qs.by_id.get(qid) is not None else value
    return "" if value is None else str(value)


def answer_paragraphs(qid: str, value: Any, qs: _Questions) -> list[str]:
    """An answer as clean paragraphs (never empty)."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        rows = []
        for n, row in enumerate(value, start=1):
            parts = [
                f"{qs.column_label(qid, k)}: {one_line(_scalar_text(v, qs, qid, k))}"
                for k, v in row.items()
                if v not in (None, "", [])
            ]
            rows.append(f"{n}. " + "; ".join(parts))
        return rows or [NOT_ANSWERED]
    if isinstance(value, list):
        text = join_da([one_line(_scalar_text(v, qs, qid)) for v in value])
        return [text] if text else [NOT_ANSWERED]
    return paragraphs(_scalar_text(value, qs, qid)) or [NOT_ANSWERED]


def _answer_item(assessment: Assessment, qid: str, qs: _Questions) -> AnswerItem:
    intake = assessment.intake
    answers = intake.answers
    paras = answer_paragraphs(qid, answers[qid], qs) if qid in answers else [NOT_ANSWERED]
    loc = intake.locations.get(qid)
    section = qs.section_of(qid)
    title = qs.section_lines.get(section)  # = one_line(qs.section_titles[section])
    if title is None:  # not a catalogue section: the sheet names it
        title = one_line(loc.sheet if loc else qs.section_sheets.get(section, ""))
    if loc:
        sheet, cell = one_line(loc.sheet), one_line(loc.cell)
        location = f"'{sheet}'!{cell}"
    else:
        sheet, cell, location = "", "(ikke i arket)", "(ikke i arket)"
    return _valid(AnswerItem, {
        "question_id": qid,
        "section": title or "(ukendt afsnit)",
        "label": qs.label(qid),
        "value": " / ".join(paras),
        "paragraphs": paras,
        "location": location,
        "sheet": sheet,
        "cell": cell,
        "group_heading": "",
    })


def _grouped(items: Sequence[AnswerItem]) -> list[AnswerItem]:
    """Answers grouped by sheet (sheets in order of first appearance; answers outside the workbook last),
    with ``group_heading`` set on the first answer of each group."""
    groups: dict[str, list[AnswerItem]] = {}
    for item in items:
        groups.setdefault(item.sheet, []).append(item)
    out: list[AnswerItem] = []
    for sheet, members in sorted(groups.items(), key=lambda kv: kv[0] == ""):
        title = members[0].section
        heading = f"Ark '{sheet}': {title}" if sheet else "Svar, der ikke står i intakearket"
        out.append(members[0].model_copy(update={"group_heading": heading}))
        out.extend(members[1:])
    return out


def _role(assessment: Assessment, role: str, qs: _Questions) -> str | None:
    """The display text of the first answered question for a role, or ``None``."""
    for qid in ANSWER_ROLES[role]:
        if qid in assessment.intake.answers:
            return " ".join(answer_paragraphs(qid, assessment.intake.answers[qid], qs))
    return None


def _role_paragraphs(assessment: Assessment, role: str, qs: _Questions) -> list[str]:
    for qid in ANSWER_ROLES[role]:
        if qid in assessment.intake.answers:
            return answer_paragraphs(qid, assessment.intake.answers[qid], qs)
    return [NOT_ANSWERED]


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


# Trace values the report leaves out (they stay in 'aivurdering explain' and in the embedded twin).
OMITTED_TRACE_VALUES = frozenset({NOT_ANSWERED, "(ikke relevant for dette system)", ""})
SHORT_LABEL = 42  # characters of a question label in the annex trace
SHORT_VALUE = 48  # characters of an answer in the annex trace
# Hints and examples in parentheses ("(vælg alle, der passer)", "(fx …)") that the annex trace leaves out.
_HINTS = re.compile(r"\s*\((?:vælg|fx |f\.eks\.|eksempelvis)[^()]*\)", re.IGNORECASE)


def shorten(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, ending with '…' when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.(–-") + "…"


def _no_hints(text: str) -> str:
    return _HINTS.sub("", text) if "(" in text else text  # every hint starts with "(": no "(", nothing to remove


@lru_cache(maxsize=4096)  # a pure function of a question label (labels come from the catalogue)
def _short_label(label: str) -> str:
    return shorten(_no_hints(one_line(label)).rstrip("?: "), SHORT_LABEL)


class _TraceText(NamedTuple):
    """How the report shows one trace item (the sheet-grouping of the short form is done per criterion)."""

    long: str  # "label: value ('sheet'!cell)" (without the location when the answer is not in the workbook)
    located: bool  # the answer is in the workbook (it has a sheet and a cell)
    short: str  # "'sheet'!cell label = value" (label and value shortened); "label = value" when not located
    short_same_sheet: str  # "cell label = value", after an answer on the same sheet


def _trace_text(t: TraceItem) -> _TraceText | None:
    """One trace item as the report shows it; None when the report leaves it out (unanswered)."""
    value = one_line(t.value)
    if value in OMITTED_TRACE_VALUES:
        return None
    short = f"{_short_label(t.label)} = {shorten(_no_hints(value), SHORT_VALUE)}"
    if not (t.sheet and t.cell):
        return _TraceText(f"{one_line(t.label)}: {value}", False, short, short)
    where = f"'{one_line(t.sheet)}'!{one_line(t.cell)}"
    return _TraceText(f"{one_line(t.label)}: {value} ({where})", True, f"{where} {short}", f"{one_line(t.cell)} {short}")


# One report's trace texts by content: criteria share many answers (228 trace items, 68 different, in a typical
# report), and a trace text is a pure function of the item's fields. Lives for one build_context call only.
_TraceMemo = dict[tuple[str, str, str | None, str | None], _TraceText | None]
_UNSET: Any = object()


def _traces(items: Sequence[TraceItem], memo: _TraceMemo) -> tuple[str, str]:
    """(trace, trace_short) of a criterion: the shown items joined; in the short form the sheet is named once
    for consecutive answers on the same sheet."""
    long: list[str] = []
    short: list[str] = []
    sheet = None
    for t in items:
        key = (t.label, t.value, t.sheet, t.cell)
        x = memo.get(key, _UNSET)
        if x is _UNSET:
            x = memo[key] = _trace_text(t)
        if x is None:
            continue
        long.append(x.long)
        short.append(x.short_same_sheet if x.located and t.sheet == sheet else x.short)
        sheet = t.sheet if x.located else None
    return "; ".join(long), "; ".join(short)


def _finding(c: CriterionResult, actions: dict[str, str] | None = None, memo: _TraceMemo | None = None) -> Finding:
    trace, trace_short = _traces(c.trace, {} if memo is None else memo)
    refs = [_cited(r.code, r.text, r.uncertain) for r in c.references]  # = [_ref(r) for r in c.references]
    uncertain = c.uncertain or any(r.uncertain for r in refs)  # a Ref is as uncertain as its LegalRef
    note = one_line(c.uncertainty_note or "")
    if uncertain and not note:
        note = "Grundlaget er ikke endeligt bekræftet og bør kontrolleres."
    return _valid(Finding, {
        "id": one_line(c.id),
        "family": FAMILY_LABELS[c.family],
        "title": one_line(c.title),
        "status": STATUS_LABELS[c.status],
        "status_code": c.status,
        "severity": LEVEL_LABELS[c.severity],
        "finding": one_line(c.finding),
        "recommendation": one_line(c.recommendation or ""),
        "references": refs,
        "references_text": "; ".join([r.text for r in refs]) or "(ingen henvisning)",  # = _refs_text(c.references)
        "trace": trace or "(ingen svar)",
        "trace_short": trace_short or "(ingen svar)",
        "action": actions.get(c.id, "") if actions else "",
        "uncertain": uncertain,
        "uncertainty_note": note,
    })


# A criterion's Finding, built once per context: body sections and the annex share the same object.
_FindingOf = Callable[[CriterionResult], Finding]


def _relevant(criteria: Iterable[CriterionResult], family: str) -> list[CriterionResult]:
    return [c for c in criteria if c.family == family and c.status != "ikke_relevant"]


def _family_section(a: Assessment, family: str, not_applicable: str, finding: _FindingOf) -> FamilySection:
    found = [finding(c) for c in _relevant(a.criteria, family)]
    return FamilySection(applies=bool(found), not_applicable_text=not_applicable, findings=found)


def _action_row(n: int, x: Action) -> ActionRow:
    deadline = one_line(x.deadline_text)
    if x.deadline is not None:
        deadline = f"{deadline} ({date_table(x.deadline)})" if deadline else date_table(x.deadline)
    return _new(
        ActionRow,
        number=str(n),
        id=one_line(x.id),
        title=one_line(x.title),
        description=one_line(x.description),
        priority=x.priority.capitalize() if x.priority != "høj" else "Høj",
        owner_role=_or_missing(x.owner_role),
        deadline=deadline or NOT_ANSWERED,
        source="Regel" if x.source == "regel" else "Intake",
    )


_PRIORITY_ORDER = {"høj": 0, "middel": 1, "lav": 2}


def _roles_text(roles: Sequence[str]) -> str:
    return join_da(list(dict.fromkeys(roles))) or "ingen rolle fastlagt"


def _summary(a: Assessment, actions: list[ActionRow]) -> Summary:
    c = a.classification
    prohibited = c.prohibited or a.overall_status == "forbudt"
    prohibition = ""
    if prohibited:
        practices = join_da([_ref(r).text for r in c.prohibited_practices]) or "artikel 5 i AI-forordningen"
        prohibition = (
            f"Systemet er omfattet af forbuddet mod forbudte former for AI-praksis ({practices}) "
            "og må hverken købes, udvikles eller tages i brug."
        )
    order = sorted(range(len(a.actions)), key=lambda i: (_PRIORITY_ORDER[a.actions[i].priority], i))
    fria = (
        "Der skal udarbejdes en konsekvensanalyse vedrørende grundlæggende rettigheder (artikel 27 i AI-forordningen)."
        if a.fria.required
        else "Der skal ikke udarbejdes en konsekvensanalyse vedrørende grundlæggende rettigheder."
    )
    return Summary(
        prohibited=prohibited,
        prohibition_text=prohibition,
        risk_class=one_line(c.risk_class_label),
        roles=_roles_text(c.roles),
        dpia=_sentence(a.dpia.result_label),
        fria=fria,
        overall=OVERALL_LABELS[a.overall_status] + ".",
        conclusion=one_line(a.conclusion) or NOT_ANSWERED,
        follow_ups=[one_line(f) for f in a.follow_ups],
        top_actions=[actions[i] for i in order[:5]],
        uncertainties=[one_line(u) for u in a.uncertainties],
    )


def _obligation_row(o: Obligation) -> ObligationRow:
    applies = one_line(o.applies_text)
    if o.date_uncertain:
        applies = f"{applies} {UNCERTAIN_MARK}"
    return _new(
        ObligationRow,
        id=one_line(o.id),
        actor=ROLE_LABELS[o.actor],
        title=one_line(o.title),
        description=one_line(o.description),
        references_text=_refs_text(o.references) or "(ingen henvisning)",
        applies_text=applies,
        date_source=one_line(o.date_source or ""),
        uncertain=o.date_uncertain,
    )


_ART_6_3 = {
    "ikke_relevant": "Undtagelsen i artikel 6, stk. 3, er ikke relevant.",
    "gælder": "Undtagelsen i artikel 6, stk. 3, finder anvendelse: systemet er ikke højrisiko, men vurderingen skal dokumenteres, og systemet skal registreres (artikel 6, stk. 4, og artikel 49, stk. 2).",
    "gælder_ikke": "Undtagelsen i artikel 6, stk. 3, finder ikke anvendelse.",
    "udelukket_profilering": "Undtagelsen i artikel 6, stk. 3, kan ikke anvendes, fordi systemet profilerer fysiske personer.",
}


def _ai_act(a: Assessment, finding: _FindingOf) -> AiActSection:
    c = a.classification
    is_ai = {True: "Ja", False: "Nej", None: "Kræver afklaring"}[c.is_ai_system]
    return AiActSection(
        is_ai_system=is_ai,
        ai_system_reason=one_line(c.ai_system_reason) or NOT_ANSWERED,
        risk_class=one_line(c.risk_class_label),
        risk_class_code=c.risk_class,
        roles=_roles_text(c.roles),
        role_reasons=[one_line(r) for r in c.role_reasons],
        prohibited=c.prohibited,
        prohibited_practices=[_ref(r) for r in c.prohibited_practices],
        high_risk_basis=[_ref(r) for r in c.high_risk_basis],
        art_6_3=_ART_6_3[c.art_6_3_exception],
        transparency=[_ref(r) for r in c.transparency_duties],
        gpai=(
            "Systemet bygger på en AI-model til almen brug."
            if c.gpai
            else "Systemet bygger ikke på en AI-model til almen brug."
        ),
        reasons=[one_line(r) for r in c.reasons if one_line(r) != one_line(c.ai_system_reason)],
        obligations=[_obligation_row(o) for o in a.obligations],
        no_obligations_text="Klassifikationen udløser ingen særlige forpligtelser efter AI-forordningen.",
        findings=[finding(x) for x in _relevant(a.criteria, "ai_act")],
    )


def _letter_of(refs: Sequence[LegalRef], prefix: str) -> set[str]:
    return {x for r in refs if (x := _code_letter(r.code, prefix))}


@lru_cache(maxsize=1024)  # a pure function of a reference code (codes come from the catalogues)
def _code_letter(code: str, prefix: str) -> str:
    """The letter of a citation such as 'GDPR 35(7)(a)' under ``prefix`` 'GDPR35(7)', else ''."""
    m = re.match(re.escape(prefix) + r"\(([a-f])\)", code.replace(" ", ""))
    return m.group(1) if m else ""


_BASIS_QUESTIONS = {
    "Udvikling og træning": ("legal_basis_development", "legal_basis_development_law"),
    "Drift": ("legal_basis_operation", "legal_basis_operation_law"),
    "Gentræning": ("legal_basis_retraining", "legal_basis_retraining_law"),
}


def _labelled(a: Assessment, qids: Iterable[str], qs: _Questions) -> list[str]:
    """'Label: answer' paragraphs for the answered questions among ``qids``."""
    out = []
    for qid in qids:
        if qid in a.intake.answers:
            paras = answer_paragraphs(qid, a.intake.answers[qid], qs)
            label = qs.label(qid)
            out.append(f"{label} {paras[0]}" if label.endswith(("?", ".", ":")) else f"{label}: {paras[0]}")
            out.extend(paras[1:])
    return out


def _gdpr(a: Assessment, qs: _Questions, risks: list[RiskRow], finding: _FindingOf) -> GdprSection:
    d = a.dpia
    gdpr_criteria = [c for c in a.criteria if c.family == "gdpr" and c.status != "ikke_relevant"]
    parts: list[Part] = []
    used: set[str] = set()
    letters = [_letter_of(c.references, "GDPR35(7)") for c in gdpr_criteria]
    for letter, title in GDPR_PARTS:
        mine = [c for c, of in zip(gdpr_criteria, letters, strict=True) if letter in of]
        used.update(c.id for c in mine)
        paras: list[str] = _labelled(a, GDPR_PART_ANSWERS[letter], qs)
        if letter == "c":
            paras += [f"{r.number}. {r.summary} (niveau før foranstaltninger: {r.level})" for r in risks]
        if letter == "d":
            paras += [f"{r.number}. {r.title}: {r.measures}" for r in risks if r.measures != NOT_ANSWERED]
        findings = [finding(c) for c in mine]
        covered = bool(paras or findings)
        if not covered:
            paras = ["Intakearket og kriteriekataloget giver ikke oplysninger til dette punkt; det skal udfyldes."]
        parts.append(Part(letter=letter, title=title, covered=covered, paragraphs=paras, findings=findings))
    bases: list[PhaseBasis] = []
    for phase, (choice_q, law_q) in _BASIS_QUESTIONS.items():
        if choice_q in a.intake.answers or law_q in a.intake.answers:
            texts = [" ".join(answer_paragraphs(q, a.intake.answers[q], qs)) for q in (choice_q, law_q) if q in a.intake.answers]
            bases.append(PhaseBasis(phase=phase, basis=" – ".join(texts)))
    reasons = [one_line(r) for r in d.reasons]
    wp248_reasons = " ".join(r for r in reasons if "WP248" in r)  # a reason that already lists the criteria
    applies = d.personal_data is not False
    personal = {True: "Ja", False: "Nej", None: NOT_ANSWERED}[d.personal_data]
    done = {"ja": "Konsekvensanalysen er gennemført.", "igang": "Konsekvensanalysen er i gang.",
            "nej": "Konsekvensanalysen er ikke gennemført.", None: "Det er ikke oplyst, om en konsekvensanalyse er gennemført."}
    return GdprSection(
        applies=applies,
        not_applicable_text=(
            "Systemet behandler ikke personoplysninger, så der skal ikke udarbejdes en konsekvensanalyse "
            "vedrørende databeskyttelse; vurderingen skal gentages, hvis systemet senere kommer til at "
            "behandle personoplysninger."
        ),
        personal_data=personal,
        triage_result=one_line(d.result_label),
        triage_reasons=reasons,
        art_35_3=[_ref(r) for r in d.art_35_3 if not any(x.lower().startswith(one_line(r.text).lower()) for x in reasons)],
        wp248_criteria=[one_line(x) for x in d.wp248_criteria if one_line(x) not in wp248_reasons],
        datatilsynet_items=[
            one_line(x) for x in d.datatilsynet_items if one_line(x).split(":")[0] not in {r.split(":")[0] for r in reasons}
        ],
        prior_consultation=(
            "Der er en høj restrisiko, så Datatilsynet skal høres forud for behandlingen (artikel 36 i databeskyttelsesforordningen)."
            if d.prior_consultation
            else "Der er ikke grundlag for forudgående høring af Datatilsynet (artikel 36 i databeskyttelsesforordningen)."
        ),
        dpia_done=done[d.done],
        parts=parts,
        legal_basis=bases,
        other_findings=[finding(c) for c in gdpr_criteria if c.id not in used],
    )


def _fria(a: Assessment, qs: _Questions, finding: _FindingOf) -> FriaSection:
    f = a.fria
    fria_criteria = [c for c in a.criteria if c.family == "fria" and c.status != "ikke_relevant"]
    parts = []
    letters = [_letter_of(c.references, "AIA27(1)") for c in fria_criteria]
    lettered = {c.id for c, of in zip(fria_criteria, letters, strict=True) if of}
    for letter, title in FRIA_PARTS:
        mine = [finding(c) for c, of in zip(fria_criteria, letters, strict=True) if letter in of]
        covered = f.coverage.get(letter, False)
        paras = _labelled(a, FRIA_PART_ANSWERS[letter], qs)
        if not covered:
            paras.append("Intakearket dækker ikke dette punkt tilstrækkeligt; det skal beskrives, før systemet tages i brug.")
        elif not paras:
            paras.append("Intakearket dækker punktet; svarene står i bilag 1.")
        parts.append(Part(letter=letter, title=title, covered=covered, paragraphs=paras, findings=mine))
    return FriaSection(
        required=f.required,
        not_applicable_text=(
            "Der skal ikke udarbejdes en konsekvensanalyse vedrørende grundlæggende rettigheder, fordi "
            "betingelserne i artikel 27 i AI-forordningen ikke er opfyldt."
        ),
        reasons=[one_line(r) for r in f.reasons],
        registration=(
            "Anvendelsen skal registreres i EU-databasen (artikel 49, stk. 3, i AI-forordningen)."
            if f.registration_required
            else "Anvendelsen skal ikke registreres i EU-databasen."
        ),
        parts=parts,
        other_findings=[finding(c) for c in fria_criteria if c.id not in lettered],
    )


def cell_level(likelihood: int, consequence: int, matrix: Sequence[Sequence[str]] = ()) -> str:
    """Level of a heat map cell: from the assessment's risk scale (the criteria catalogue's), so the
    heat map and the risk register always agree. The fallback is the bundled catalogue's default
    scale, for twins written before the scale was stored."""
    if matrix:
        return matrix[likelihood - 1][consequence - 1]
    score = likelihood * consequence
    if score <= 3:
        return "lav"
    if score <= 6:
        return "middel"
    if score <= 9:
        return "hoej"
    return "kritisk"


def _heat(points: list[tuple[str, int, int]], matrix: Sequence[Sequence[str]] = ()) -> list[HeatRow]:
    rows = []
    for lik in (4, 3, 2, 1):
        cells = []
        for con in (1, 2, 3, 4):
            here = [n for n, li, co in points if li == lik and co == con]
            cells.append(
                _new(
                    HeatCell,
                    count=str(len(here)) if here else "",
                    ids=", ".join(here),
                    colour=LEVEL_COLOURS[cell_level(lik, con, matrix)],
                )
            )
        rows.append(HeatRow(label=f"{LIKELIHOOD_LABELS[lik - 1]} ({lik})", cells=cells))
    return rows


def _risk_row(n: int, r: Risk) -> RiskRow:
    title, description = one_line(r.title), one_line(r.description)
    if not description or description.startswith(title.rstrip("…. ")):
        summary = description or title  # a title that only abbreviates the description
    else:
        summary = f"{title}: {description}"
    if r.affected and one_line(r.affected):
        summary += f" Berører: {one_line(r.affected)}."
    return _new(
        RiskRow,
        summary=summary,
        number=str(n),
        id=one_line(r.id),
        title=one_line(r.title),
        description=one_line(r.description),
        affected=_or_missing(r.affected),
        likelihood=str(r.likelihood),
        consequence=str(r.consequence),
        level=LEVEL_LABELS[r.level],
        measures=_or_missing(r.measures),
        residual_likelihood=str(r.residual_likelihood),
        residual_consequence=str(r.residual_consequence),
        residual_level=LEVEL_LABELS[r.residual_level],
        source="Regel" if r.source == "regel" else "Intake",
    )


def _risks(a: Assessment) -> RiskSection:
    rows = [_risk_row(n, r) for n, r in enumerate(a.risks, start=1)]
    before = [(str(n), r.likelihood, r.consequence) for n, r in enumerate(a.risks, start=1)]
    after = [(str(n), r.residual_likelihood, r.residual_consequence) for n, r in enumerate(a.risks, start=1)]
    return RiskSection(
        applies=bool(rows),
        not_applicable_text="Der er ikke registreret risici for systemet.",
        rows=rows,
        before=_heat(before, a.risk_matrix),
        after=_heat(after, a.risk_matrix),
        consequence_labels=[f"{label} ({n})" for n, label in enumerate(CONSEQUENCE_LABELS, start=1)],
    )


def _versions(a: Assessment) -> VersionInfo:
    v = a.versions
    return VersionInfo(
        tool=one_line(v.tool) or __version__,
        question_catalogue=one_line(v.question_catalogue),
        question_catalogue_sha256=one_line(v.question_catalogue_sha256),
        criteria_catalogue=one_line(v.criteria_catalogue),
        criteria_catalogue_sha256=one_line(v.criteria_catalogue_sha256),
        template=one_line(v.template or "") or NOT_ANSWERED,
        template_sha256=one_line(v.template_sha256 or "") or NOT_ANSWERED,
        input_sha256=one_line(v.input_sha256),
        intake_template=one_line(a.intake.source.template_version or "") or NOT_ANSWERED,
    )


def _system_items(a: Assessment, qs: _Questions, built: Mapping[str, AnswerItem] | None = None) -> list[AnswerItem]:
    """Answers describing the system and its context (catalogue sections, or the description roles).

    ``built``: the answer items already made for the annex (the same item for the same question), reused."""
    ids = [q for q in qs.system_order if q in a.intake.answers]
    if not ids:
        roles = ("system_name", "purpose", "description", "phase")
        ids = [q for r in roles for q in ANSWER_ROLES[r] if q in a.intake.answers]
    built = built or {}
    return [built[q] if q in built else _answer_item(a, q, qs) for q in dict.fromkeys(ids)]


def document_date(a: Assessment) -> dt.date:
    """The date of the document: the intake's document date, else the assessment date."""
    for qid in ANSWER_ROLES["document_date"]:
        value = a.intake.answers.get(qid)
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                continue
    return a.assessment_date


def _doc_info(a: Assessment, qs: _Questions) -> DocInfo:
    system = _role(a, "system_name", qs) or NOT_ANSWERED
    kle = _role(a, "kle", qs)
    facet = _role(a, "kle_facet", qs)
    status_raw = (_role(a, "status", qs) or "").lower()
    status = "Endelig" if status_raw.startswith("endelig") or status_raw == "final" else "Kladde"
    confidentiality = _role(a, "confidentiality", qs) or "Ikke fortroligt"
    date = document_date(a)
    return DocInfo(
        title=f"Vurdering af AI-system: {system}",
        system_name=system,
        authority=_role(a, "authority", qs) or NOT_ANSWERED,
        department=_role(a, "department", qs) or NOT_ANSWERED,
        case_number=_role(a, "case_number", qs) or NOT_ANSWERED,
        kle=" ".join(x for x in (kle, facet) if x) or NOT_ANSWERED,
        date=date_long(date),
        date_table=date_table(date),
        date_iso=date.isoformat(),
        version=_role(a, "version", qs) or "1.0",
        status=status,
        confidentiality=confidentiality,
        author=_role(a, "author", qs) or NOT_ANSWERED,
        source_file=one_line(a.intake.source.file_name) or NOT_ANSWERED,
    )


def build_context(assessment: Assessment, *, catalogue: Any | None = None) -> ReportContext:
    """Build the template context from an assessment (pure; the catalogue only supplies labels)."""
    a = assessment
    qs = _questions(catalogue if catalogue is not None else _load_catalogue(), a.language)
    actions = [_action_row(n, x) for n, x in enumerate(a.actions, start=1)]
    risks = _risks(a)
    answer_ids = [q for q in qs.order if q in a.intake.answers]
    answer_ids += sorted(q for q in a.intake.answers if q not in qs.by_id)
    answers = [_answer_item(a, q, qs) for q in answer_ids]
    by_question = dict(zip(answer_ids, answers, strict=True))
    acts: dict[str, str] = {}
    for x, row in zip(a.actions, actions, strict=True):
        if x.criterion_id:
            acts.setdefault(x.criterion_id, row.number)  # the first action that follows the criterion
    memo: _TraceMemo = {}
    built = {id(c): _finding(c, acts, memo) for c in a.criteria}  # every section takes its criteria from a.criteria

    def finding(c: CriterionResult) -> Finding:
        return built[id(c)]

    approval_date = _role(a, "approval_date", qs)
    return ReportContext(
        lang=a.language,
        doc=_doc_info(a, qs),
        summary=_summary(a, actions),
        system=_system_items(a, qs, by_question),
        ai_act=_ai_act(a, finding),
        gdpr=_gdpr(a, qs, risks.rows, finding),
        fria=_fria(a, qs, finding),
        admin_law=_family_section(a, "admin_law", "Der er ikke forvaltningsretlige forhold at vurdere, fordi systemet ikke indgår i sagsbehandling eller afgørelser.", finding),
        technical=_family_section(a, "technical", "Der er ikke tekniske forhold, som kriteriekataloget finder relevante for systemet.", finding),
        security=_family_section(a, "security", "Der er ikke forhold om informationssikkerhed, som kriteriekataloget finder relevante for systemet.", finding),
        procurement=_family_section(a, "procurement", "Afsnittet er ikke relevant, fordi systemet ikke anskaffes hos en leverandør.", finding),
        governance=_family_section(a, "governance", "Der er ikke forhold om ledelse og organisering, som kriteriekataloget finder relevante.", finding),
        risks=risks,
        actions=actions,
        no_actions_text="Vurderingen giver ikke anledning til handlinger.",
        approval=Approval(
            dpo_advice=_role_paragraphs(a, "dpo_advice", qs),
            decision=_role_paragraphs(a, "decision", qs),
            dpo_name=_role(a, "dpo_name", qs) or NOT_ANSWERED,
            approver=", ".join(x for x in (_role(a, "approver", qs), _role(a, "approver_title", qs)) if x) or NOT_ANSWERED,
            date=approval_date or NOT_ANSWERED,
        ),
        answers=_grouped(answers),
        criteria=[finding(c) for c in a.criteria],
        versions=_versions(a),
    )


# --------------------------------------------------------------------------------------------
# Introspection (template-check and docs/templates.md)
# --------------------------------------------------------------------------------------------


def _inner_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """(model class, is_list) for a field annotation."""
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        return (item if isinstance(item, type) and issubclass(item, BaseModel) else None), True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, False


def _type_name(annotation: Any) -> str:
    model, is_list = _inner_model(annotation)
    if model is not None:
        return f"liste af {model.__name__}" if is_list else model.__name__
    if get_origin(annotation) is list:
        return "liste af tekst"
    return {str: "tekst", bool: "sand/falsk"}.get(annotation, str(annotation))


def context_paths(model: type[BaseModel] = ReportContext, prefix: str = "") -> list[tuple[str, str, str]]:
    """Every variable path with its type and description, e.g. ('doc.title', 'tekst', '...').

    Items of lists are written ``name[]``.
    """
    out: list[tuple[str, str, str]] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        out.append((path, _type_name(field.annotation), field.description or ""))
        inner, is_list = _inner_model(field.annotation)
        if inner is not None:
            out.extend(context_paths(inner, f"{path}[]." if is_list else f"{path}."))
    return out


def variables_markdown() -> str:
    """The body of docs/templates.md (generated; a test checks it is fresh)."""
    lines = [
        "# Skabelonvariabler (Word-rapporten)",
        "",
        "<!-- Genereret af `python -m pipeline.report_context > docs/templates.md`; ret ikke i hånden. -->",
        "",
        "Alle variabler, en Word-skabelon (docxtpl/Jinja) kan bruge. Værdierne er allerede formateret på",
        "dansk, og ingen værdi er tom (`None`): et ubesvaret spørgsmål står som \"(ikke besvaret)\", og et",
        "afsnit, der ikke er relevant, har en sætning i `not_applicable_text`. `navn[]` betyder et element i",
        "en liste (brug `{%tr for x in navn %}` i tabeller og `{%p for x in navn %}` i afsnit).",
        "Tjek en egen skabelon med `aivurdering template-check SKABELON.docx`.",
        "",
        "| variabel | type | betydning |",
        "|---|---|---|",
    ]
    for path, type_name, desc in context_paths():
        lines.append(f"| `{path}` | {type_name} | {desc.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(variables_markdown(), end="")
