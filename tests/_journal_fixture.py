"""Hand-made Assessment and .docx for the journal-package tests (independent of the other stages)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from pipeline.models import (
    Action,
    Assessment,
    Classification,
    DpiaTriage,
    FriaResult,
    Intake,
    LegalRef,
    Risk,
    SourceInfo,
    Versions,
)

INPUT_SHA = "ab" * 32

BASE_ANSWERS: dict[str, Any] = {
    "authority_name": "Eksempel Kommune",
    "authority_cvr": "29189846",
    "unit": "Social- og Beskæftigelsesforvaltningen",
    "case_number": "85.15.00-G01-12-26",
    "kle_number": "85.15.00",
    "kle_facet": "G01",
    "caseworker": "Mette Sørensen",
    "caseworker_email": "mette@example.dk",
    "document_date": dt.date(2026, 11, 20),
    "document_version": "1.2",
    "document_status": "endelig",
    "confidentiality": "fortroligt",
    "confidentiality_basis": "offentlighedslovens § 33, nr. 2",
    "next_review_date": dt.date(2027, 11, 20),
    "system_name": "Kontrolmodel for enkeltydelser",
    "phase": "udvikling",
}


def make_assessment(**answer_overrides: Any) -> Assessment:
    answers = {**BASE_ANSWERS, **answer_overrides}
    answers = {k: v for k, v in answers.items() if v is not None}
    intake = Intake(
        source=SourceInfo(file_name="intake.xlsx", sha256=INPUT_SHA, template_version="1.0.0",
                          catalogue_version="1.0.0"),
        answers=answers,
    )
    basis = LegalRef(code="AIA bilag III 5(a)", text="bilag III, punkt 5, litra a, til AI-forordningen")
    return Assessment(
        intake=intake,
        assessment_date=dt.date(2026, 11, 29),
        classification=Classification(
            is_ai_system=True,
            ai_system_reason="Maskinlæring udleder output af input.",
            roles=["udbyder", "idriftsætter"],
            risk_class="højrisiko",
            risk_class_label="Højrisiko-AI-system",
            high_risk_basis=[basis],
        ),
        dpia=DpiaTriage(personal_data=True, result="påkrævet", result_label="Påkrævet", done="igang"),
        fria=FriaResult(required=True),
        risks=[
            Risk(id="R1", title="Skævhed", description="Skæve labels", source="regel", likelihood=3,
                 consequence=4, residual_likelihood=2, residual_consequence=3, level="kritisk",
                 residual_level="middel"),
        ],
        actions=[Action(id="A1", title="Test undergrupper", description="...", priority="høj",
                        owner_role="Dataansvarlig", deadline_text="Før ibrugtagning")],
        conclusion="Systemet er et højrisiko-AI-system.",
        overall_status="ikke_klar",
        versions=Versions(
            tool="0.1.0",
            question_catalogue="1.0.0",
            question_catalogue_sha256="cd" * 32,
            criteria_catalogue="1.0.0",
            criteria_catalogue_sha256="ef" * 32,
            template="1.0.0",
            template_sha256="12" * 32,
            input_sha256=INPUT_SHA,
        ),
    )


def _field(paragraph: Any, instr: str) -> None:
    """A complex field (begin/instr/separate/result/end) in a paragraph."""
    def run_with(child: Any) -> None:
        r = OxmlElement("w:r")
        r.append(child)
        paragraph._p.append(r)

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    run_with(begin)
    text = OxmlElement("w:instrText")
    text.set(qn("xml:space"), "preserve")
    text.text = f" {instr} "
    run_with(text)
    sep = OxmlElement("w:fldChar")
    sep.set(qn("w:fldCharType"), "separate")
    run_with(sep)
    t = OxmlElement("w:t")
    t.text = "1"
    run_with(t)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


def make_docx(*, extra_field: str | None = None, hyperlink: str | None = None, body: str = "Rapport") -> bytes:
    doc = Document()
    doc.add_heading("Konsekvensanalyse", level=0)
    doc.add_paragraph(body + " – æøå ÆØÅ.")
    footer = doc.sections[0].footer.paragraphs[0]
    footer.add_run("Side ")
    _field(footer, "PAGE")
    footer.add_run(" af ")
    _field(footer, "NUMPAGES")
    if extra_field:
        _field(doc.add_paragraph("Dato: "), extra_field)
    if hyperlink:
        p = doc.add_paragraph("Se ")
        r_id = doc.part.relate_to(hyperlink, "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink", is_external=True)
        link = OxmlElement("w:hyperlink")
        link.set(qn("r:id"), r_id)
        run = OxmlElement("w:r")
        t = OxmlElement("w:t")
        t.text = "EUR-Lex"
        run.append(t)
        link.append(run)
        p._p.append(link)
    doc.core_properties.title = "skal overskrives"
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
