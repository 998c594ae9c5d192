"""Typed hand-offs between the stages.

``intake`` + ``validate``  ->  :class:`Intake`   (answers keyed by question id, each with its cell)
``evaluate``               ->  :class:`Assessment` (conclusions, criteria results, risks, actions)
``render`` / ``journal``   read :class:`Assessment`.

Answer value types, by question type (see ``pipeline/data/questions.yaml``):

==============  ======================================================================
text, long_text ``str`` (stripped; long_text keeps line breaks as ``\\n``)
email, cvr      ``str`` (cvr: 8 digits)
kle             ``str`` ``"HH.GG.EE"``;  kle_facet: ``str`` like ``"G01"``
yes_no          ``bool``
choice          ``str`` option code
multi_choice    ``list[str]`` option codes, in catalogue order
date            ``datetime.date``
number          ``int`` or ``float``
percentage      ``float`` in percent (``"85 %"`` and ``"0,85"`` formatted as % both give 85.0)
table           ``list[dict[str, value]]`` keyed by column id; empty rows dropped
==============  ======================================================================

An unanswered question has **no key** in :attr:`Intake.answers`. An answer to a question that does not
apply (its ``applies_if`` is false) is reported as a warning and **removed** from the answers, so no
rule can ever use it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["error", "warning"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CellRef(_Model):
    """Where an answer lives in the workbook."""

    sheet: str
    cell: str  # "C7"; for a table row: the first cell of the row, e.g. "B12"


class Issue(_Model):
    """One problem with the input, located by sheet and cell (frictionless-style error record)."""

    code: str  # stable snake_case code, documented in docs/errors.md
    severity: Severity = "error"
    message: str  # Danish, complete sentence(s)
    message_en: str | None = None
    sheet: str | None = None
    cell: str | None = None
    question_id: str | None = None
    question_label: str | None = None
    value: str | None = None  # the offending value as text (truncated)


class SourceInfo(_Model):
    """What was read."""

    file_name: str  # base name only (no directory): safe to print in documents
    sha256: str
    template_version: str | None = None
    catalogue_version: str | None = None
    migrated_from: str | None = None  # template version the workbook was migrated from


class Intake(_Model):
    """A read and validated intake: the input to evaluation."""

    source: SourceInfo
    answers: dict[str, Any] = Field(default_factory=dict)
    locations: dict[str, CellRef] = Field(default_factory=dict)
    issues: list[Issue] = Field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not any(i.severity == "error" for i in self.issues)


# --------------------------------------------------------------------------------------------
# Evaluation results
# --------------------------------------------------------------------------------------------

Status = Literal["opfyldt", "delvist_opfyldt", "ikke_opfyldt", "ikke_relevant", "kraever_afklaring"]
Level = Literal["lav", "middel", "hoej", "kritisk"]
Family = Literal[
    "ai_act", "gdpr", "fria", "admin_law", "technical", "security", "procurement", "governance"
]


class LegalRef(_Model):
    """A legal or guidance reference, formatted the Danish way."""

    code: str  # compact catalogue notation, e.g. "AIA 6(3)", "GDPR 35(7)(a)", "FVL § 19"
    text: str  # "artikel 6, stk. 3, i AI-forordningen"
    url: str | None = None
    uncertain: bool = False  # marked ⚠ in the catalogue: the report says so
    note: str | None = None


class TraceItem(_Model):
    """One answer that led to a conclusion."""

    question_id: str
    label: str
    sheet: str | None = None
    cell: str | None = None
    value: str  # display text in Danish ("Ja", "05-01-2026", option label …); "(ikke besvaret)"


class CriterionResult(_Model):
    id: str
    family: Family
    title: str
    status: Status
    severity: Level
    finding: str
    recommendation: str | None = None
    references: list[LegalRef] = Field(default_factory=list)
    trace: list[TraceItem] = Field(default_factory=list)
    uncertain: bool = False
    uncertainty_note: str | None = None


class Obligation(_Model):
    """A duty that follows from the classification, with its date of application."""

    id: str
    actor: Literal["udbyder", "idriftsætter", "begge"]
    title: str
    description: str
    references: list[LegalRef] = Field(default_factory=list)
    applies_from: dt.date | None = None
    applies_now: bool
    applies_text: str  # "gælder" / "gælder fra 2. december 2027"
    date_source: str | None = None  # e.g. "Forordning (EU) 2026/1744 (Digital Omnibus)"
    date_uncertain: bool = False


class Classification(_Model):
    """AI Act classification."""

    is_ai_system: bool | None  # None = kræver afklaring
    ai_system_reason: str
    roles: list[Literal["udbyder", "idriftsætter"]] = Field(default_factory=list)
    role_reasons: list[str] = Field(default_factory=list)
    prohibited: bool = False
    prohibited_practices: list[LegalRef] = Field(default_factory=list)
    risk_class: Literal["forbudt", "højrisiko", "begrænset", "minimal", "ikke_ai_system", "afklaring"]
    risk_class_label: str  # Danish display text, e.g. "Højrisiko-AI-system"
    high_risk_basis: list[LegalRef] = Field(default_factory=list)  # "bilag III, punkt 5, litra a"
    art_6_3_exception: Literal["ikke_relevant", "gælder", "gælder_ikke", "udelukket_profilering"] = "ikke_relevant"
    transparency_duties: list[LegalRef] = Field(default_factory=list)
    gpai: bool = False
    reasons: list[str] = Field(default_factory=list)
    trace: list[TraceItem] = Field(default_factory=list)  # answers behind the classification


class DpiaTriage(_Model):
    personal_data: bool | None
    result: Literal["påkrævet", "anbefalet", "ikke_påkrævet", "afklaring"]
    result_label: str
    reasons: list[str] = Field(default_factory=list)
    art_35_3: list[LegalRef] = Field(default_factory=list)
    wp248_criteria: list[str] = Field(default_factory=list)  # Danish names of the criteria met
    datatilsynet_items: list[str] = Field(default_factory=list)
    prior_consultation: bool = False  # Art. 36 when high residual risk remains
    done: Literal["ja", "igang", "nej"] | None = None
    trace: list[TraceItem] = Field(default_factory=list)  # answers behind the triage


class FriaResult(_Model):
    required: bool
    reasons: list[str] = Field(default_factory=list)
    coverage: dict[str, bool] = Field(default_factory=dict)  # "a".."f" -> covered by the answers
    registration_required: bool = False  # Art. 49(3)
    trace: list[TraceItem] = Field(default_factory=list)  # answers behind the result


class Risk(_Model):
    id: str
    title: str
    description: str
    affected: str | None = None
    source: Literal["intake", "regel"]
    criterion_id: str | None = None
    likelihood: int = Field(ge=1, le=4)
    consequence: int = Field(ge=1, le=4)
    residual_likelihood: int = Field(ge=1, le=4)
    residual_consequence: int = Field(ge=1, le=4)
    level: Level
    residual_level: Level
    measures: str | None = None


class Action(_Model):
    id: str
    title: str
    description: str
    priority: Literal["høj", "middel", "lav"]
    owner_role: str
    deadline_text: str  # "Før ibrugtagning", "Senest 3 måneder efter idriftsættelse"
    deadline: dt.date | None = None
    criterion_id: str | None = None
    risk_id: str | None = None
    source: Literal["intake", "regel"] = "regel"


class Versions(_Model):
    tool: str
    question_catalogue: str
    question_catalogue_sha256: str
    criteria_catalogue: str
    criteria_catalogue_sha256: str
    template: str | None = None
    template_sha256: str | None = None
    input_sha256: str


class Assessment(_Model):
    """The evaluated assessment: everything the report and the journal package need."""

    intake: Intake
    assessment_date: dt.date
    language: Literal["da", "en"] = "da"
    classification: Classification
    dpia: DpiaTriage
    fria: FriaResult
    obligations: list[Obligation] = Field(default_factory=list)
    criteria: list[CriterionResult] = Field(default_factory=list)
    risks: list[Risk] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    conclusion: str  # one paragraph, Danish
    follow_ups: list[str] = Field(default_factory=list)  # "Konsekvensanalyse (DPIA)", "Grundrettighedsvurdering" …
    overall_status: Literal["forbudt", "ikke_klar", "klar_med_forbehold", "klar"]
    uncertainties: list[str] = Field(default_factory=list)  # ⚠ facts the report must flag
    # Level of each heat-map cell from the criteria catalogue's risk scale:
    # risk_matrix[likelihood - 1][consequence - 1]. Empty in twins written before it existed.
    risk_matrix: list[list[Level]] = Field(default_factory=list)
    versions: Versions
