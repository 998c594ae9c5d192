"""Build the bundled Word template ``docx_templates/konsekvensanalyse.docx`` with python-docx.

Run from the repository root (the result is committed next to this script)::

    .venv/bin/python docx_templates/build_template.py

The template is a normal Word document an administrator can open and adjust: A4, Danish (da-DK), named
styles (Title, Heading 1–3, Normal, Caption and the table style "Aivurdering tabel"), a header with the
authority and case number, a footer with title, version, confidentiality marking and page numbers (PAGE /
NUMPAGES fields: the only fields; dates are static text). The tags are docxtpl/Jinja; the variables are
documented in ``docs/templates.md``. The output is deterministic (fixed zip timestamps and properties).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph

TEMPLATE_VERSION = "1.0.0"
OUT = Path(__file__).with_name("konsekvensanalyse.docx")
TABLE_STYLE = "Aivurdering tabel"
ANNEX_STYLE = "Bilagstekst"
ANNEX_HEAD_STYLE = "Bilagsoverskrift"
SECTION_FILL = "DCE6F0"
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class Builder:
    """Small helpers over a python-docx Document."""

    def __init__(self) -> None:
        self.doc = Document()
        self._setup_page()
        self._setup_styles()

    # -- set-up -------------------------------------------------------------------------------

    def _setup_page(self) -> None:
        s = self.doc.sections[0]
        s.orientation = WD_ORIENT.PORTRAIT
        s.page_width, s.page_height = Mm(210), Mm(297)
        s.left_margin = s.right_margin = Mm(20)
        s.top_margin, s.bottom_margin = Mm(22), Mm(20)
        s.header_distance = s.footer_distance = Mm(9)

    def _setup_styles(self) -> None:
        styles = self.doc.styles
        # Danish language for spelling and hyphenation, on the document defaults.
        rpr_default = styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
        lang = rpr_default.find(qn("w:lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            rpr_default.append(lang)
        lang.set(qn("w:val"), "da-DK")
        lang.set(qn("w:eastAsia"), "da-DK")
        lang.set(qn("w:bidi"), "ar-SA")
        normal = styles["Normal"]
        normal.font.name = "Calibri"
        normal.font.size = Pt(10)
        normal.paragraph_format.space_after = Pt(4)
        normal.paragraph_format.line_spacing = 1.05
        colour = RGBColor(0x1F, 0x3A, 0x5F)
        for name, size, before, after in (
            ("Title", 24, 0, 6), ("Heading 1", 14, 14, 4), ("Heading 2", 11.5, 8, 3), ("Heading 3", 10.5, 6, 1)
        ):
            st = styles[name]
            st.font.name = "Calibri"
            st.font.size = Pt(size)
            st.font.color.rgb = colour
            st.paragraph_format.keep_with_next = True
            st.paragraph_format.space_before = Pt(before)
            st.paragraph_format.space_after = Pt(after)
        styles["Caption"].font.size = Pt(8.5)
        styles["Caption"].paragraph_format.space_after = Pt(4)
        styles["List Bullet"].paragraph_format.space_after = Pt(2)
        tbl = styles.add_style(TABLE_STYLE, WD_STYLE_TYPE.TABLE)
        tbl.base_style = styles["Table Grid"]
        tbl.font.size = Pt(9)
        small = styles.add_style("Tabeltekst", WD_STYLE_TYPE.PARAGRAPH)
        small.base_style = normal
        small.font.size = Pt(8.5)
        small.paragraph_format.space_after = Pt(0)
        small.paragraph_format.line_spacing = 1.0
        for name in ("Header", "Footer"):
            styles[name].base_style = styles["Caption"]
            styles[name].font.size = Pt(8)
        # Annexes: a smaller named style, so an organisation can change the annexes in one place.
        annex = styles.add_style(ANNEX_STYLE, WD_STYLE_TYPE.PARAGRAPH)
        annex.base_style = normal
        annex.font.size = Pt(8)
        annex.paragraph_format.space_after = Pt(0)
        annex.paragraph_format.line_spacing = 1.0
        annex_head = styles.add_style(ANNEX_HEAD_STYLE, WD_STYLE_TYPE.PARAGRAPH)
        annex_head.base_style = annex
        annex_head.font.bold = True
        annex_head.paragraph_format.space_before = Pt(4)
        annex_head.paragraph_format.keep_with_next = True
        sig = styles.add_style("Underskrift", WD_STYLE_TYPE.PARAGRAPH)
        sig.base_style = normal
        sig.paragraph_format.space_before = Pt(24)

    # -- content ------------------------------------------------------------------------------

    def h(self, level: int, text: str) -> Paragraph:
        return self.doc.add_heading(text, level=level)

    def p(self, text: str = "", style: str | None = None, bold: bool = False) -> Paragraph:
        para = self.doc.add_paragraph(style=style)
        if text:
            run = para.add_run(text)
            run.bold = bold
        return para

    def tag(self, tag: str) -> Paragraph:
        """A paragraph holding only a block tag ({%p ... %}); docxtpl removes the paragraph itself."""
        return self.doc.add_paragraph(tag)

    def bullets(self, loop: str, item: str) -> None:
        self.tag("{%p for " + loop + " %}")
        self.doc.add_paragraph(item, style="List Bullet")
        self.tag("{%p endfor %}")

    def paragraphs(self, loop: str, item: str = "{{ para }}", var: str = "para", keep: bool = False) -> None:
        self.tag("{%p for " + var + " in " + loop + " %}")
        self.p(item).paragraph_format.keep_with_next = keep or None
        self.tag("{%p endfor %}")

    def caption(self, text: str) -> None:
        self.p(text, style="Caption")

    def _cell(self, cell, text: str, bold: bool = False, style: str = "Tabeltekst") -> None:
        """Cell text; a newline in ``text`` starts a new paragraph (used for {%p for %} loops in cells)."""
        for n, line in enumerate(text.split("\n")):
            para = cell.paragraphs[0] if n == 0 else cell.add_paragraph()
            para.style = self.doc.styles[style]
            run = para.add_run(line)
            run.bold = bold

    def table(self, headers: Sequence[str], loop: str, cells: Sequence[str], widths: Sequence[int]) -> Table:
        """A table with a header row and one looping row (``{%tr for ... %}``)."""
        t = self.doc.add_table(rows=4, cols=len(headers))
        t.style = self.doc.styles[TABLE_STYLE]
        for i, text in enumerate(headers):
            self._cell(t.rows[0].cells[i], text, bold=True)
        _repeat_header(t.rows[0])
        self._cell(t.rows[1].cells[0], "{%tr for " + loop + " %}")
        for i, text in enumerate(cells):
            self._cell(t.rows[2].cells[i], text)
        self._cell(t.rows[3].cells[0], "{%tr endfor %}")
        _widths(t, widths)
        return t

    def kv_table(
        self, rows: Sequence[tuple[str, str]], widths: Sequence[int] = (50, 120), style: str = "Tabeltekst"
    ) -> Table:
        t = self.doc.add_table(rows=len(rows), cols=2)
        t.style = self.doc.styles[TABLE_STYLE]
        for r, (k, v) in enumerate(rows):
            self._cell(t.rows[r].cells[0], k, bold=True, style=style)
            self._cell(t.rows[r].cells[1], v, style=style)
        _widths(t, widths)
        return t

    def findings(self, loop: str) -> None:
        """Criteria findings as small blocks (title, status, finding, recommendation, references)."""
        self.tag("{%p for f in " + loop + " %}")
        self.p("{{ f.title }} ({{ f.status }}, alvor: {{ f.severity }})", style="Heading 3")
        self.p("{{ f.finding }}{% if f.action %} Anbefaling: se handling nr. {{ f.action }} i handlingsplanen.{% endif %}")
        self.tag("{%p if f.recommendation and not f.action %}")
        self.p("Anbefaling: {{ f.recommendation }}")
        self.tag("{%p endif %}")
        self.p("Retsgrundlag: {{ f.references_text }}", style="Caption")
        self.tag("{%p if f.uncertain %}")
        self.p("⚠ Usikkert grundlag: {{ f.uncertainty_note }}", style="Caption")
        self.tag("{%p endif %}")
        self.tag("{%p endfor %}")

    def family_section(self, number: str, title: str, var: str, intro: str) -> None:
        self.h(1, f"{number} {title}")
        self.tag("{%p if " + var + ".applies %}")
        self.p(intro)
        self.findings(var + ".findings")
        self.tag("{%p else %}")
        self.p("{{ " + var + ".not_applicable_text }}")
        self.tag("{%p endif %}")

    def page_break(self) -> None:
        self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _repeat_header(row) -> None:
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trpr.append(el)


def _cant_split(row) -> None:
    el = OxmlElement("w:cantSplit")
    el.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(el)


def _widths(t: Table, widths_mm: Sequence[int]) -> None:
    t.autofit = False
    for col, w in zip(t._tbl.tblGrid.findall(qn("w:gridCol")), widths_mm, strict=False):
        col.set(qn("w:w"), str(int(Mm(w).twips)))
    for row in t.rows:
        for cell, w in zip(row.cells, widths_mm, strict=False):
            cell.width = Mm(w)


def _field(paragraph: Paragraph, instr: str) -> None:
    """A simple field (PAGE / NUMPAGES only) with a placeholder result."""
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), f" {instr} ")
    run = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.text = "1"
    run.append(t)
    fld.append(run)
    paragraph._p.append(fld)


def header_footer(b: Builder) -> None:
    section = b.doc.sections[0]
    hp = section.header.paragraphs[0]
    hp.text = "{{ doc.authority }} · Sagsnr. {{ doc.case_number }} · KLE {{ doc.kle }}"
    hp.style = b.doc.styles["Header"]
    fp = section.footer.paragraphs[0]
    fp.style = b.doc.styles["Footer"]
    fp.add_run("{{ doc.title }} · Version {{ doc.version }} ({{ doc.status }}) · {{ doc.confidentiality }} · Side ")
    _field(fp, "PAGE")
    fp.add_run(" af ")
    _field(fp, "NUMPAGES")


def cover(b: Builder) -> None:
    b.p("{{ doc.authority }}", bold=True)
    b.p("{{ doc.department }}")
    b.doc.add_paragraph("Vurdering af AI-system", style="Title")
    t = b.doc.add_paragraph("{{ doc.system_name }}", style="Heading 1")
    t.alignment = WD_ALIGN_PARAGRAPH.LEFT
    b.p("Konsekvensanalyse efter AI-forordningen, databeskyttelsesforordningen og dansk forvaltningsret")
    b.p("{{ doc.date }}")
    b.tag("{%p if summary.prohibited %}")
    b.p("{{ summary.prohibition_text }}", bold=True)
    b.tag("{%p endif %}")
    doc_info(b)
    b.page_break()


def doc_info(b: Builder) -> None:
    """The journaling metadata, on the cover page (one table instead of two)."""
    b.h(2, "Dokumentoplysninger")
    b.kv_table(
        [
            ("Titel", "{{ doc.title }}"),
            ("AI-system", "{{ doc.system_name }}"),
            ("Myndighed", "{{ doc.authority }}"),
            ("Forvaltning/enhed", "{{ doc.department }}"),
            ("Sagsnummer", "{{ doc.case_number }}"),
            ("KLE-emnenummer og handlingsfacet", "{{ doc.kle }}"),
            ("Dokumentdato", "{{ doc.date_table }}"),
            ("Version og status", "{{ doc.version }} ({{ doc.status }})"),
            ("Klassifikation", "{{ doc.confidentiality }}"),
            ("Udarbejdet af", "{{ doc.author }}"),

            ("Intakeark", "{{ doc.source_file }}"),
        ]
    )


def summary(b: Builder) -> None:
    b.h(1, "1 Resumé og konklusion")
    b.tag("{%p if summary.prohibited %}")
    b.p("Forbudt AI-praksis", style="Heading 2")
    b.p("{{ summary.prohibition_text }}", bold=True)
    b.tag("{%p endif %}")
    b.p("{{ summary.overall }}", bold=True)
    b.p("{{ summary.conclusion }}")
    b.kv_table(
        [
            ("Risikoklasse (AI-forordningen)", "{{ summary.risk_class }}"),
            ("Myndighedens rolle", "{{ summary.roles }}"),
            ("Konsekvensanalyse (DPIA)", "{{ summary.dpia }}"),
            ("Grundrettighedsvurdering (FRIA)", "{{ summary.fria }}"),
        ]
    )
    b.tag("{%p if summary.follow_ups %}")
    b.p("Opfølgende analyser:")
    b.bullets("x in summary.follow_ups", "{{ x }}")
    b.tag("{%p endif %}")
    b.p("De vigtigste handlinger", style="Heading 2")
    b.tag("{%p if summary.top_actions %}")
    b.table(
        ["Nr.", "Handling", "Prioritet", "Ansvarlig", "Frist"],
        "x in summary.top_actions",
        ["{{ x.number }}", "{{ x.title }}", "{{ x.priority }}", "{{ x.owner_role }}", "{{ x.deadline }}"],
        (11, 73, 20, 36, 30),
    )
    b.tag("{%p else %}")
    b.p("{{ no_actions_text }}")
    b.tag("{%p endif %}")
    b.tag("{%p if summary.uncertainties %}")
    b.p("Usikre forhold (⚠)", style="Heading 2")
    b.p("Følgende forhold bygger på kilder, der ikke er endeligt bekræftet, og skal kontrolleres:")
    b.bullets("x in summary.uncertainties", "{{ x }}")
    b.tag("{%p endif %}")


def system(b: Builder) -> None:
    b.h(1, "2 Beskrivelse af systemet og konteksten")
    b.tag("{%p if system %}")
    b.table(
        ["Spørgsmål", "Svar"],
        "item in system",
        ["{{ item.label }}", "{%p for para in item.paragraphs %}\n{{ para }}\n{%p endfor %}"],
        (62, 108),
    )
    b.caption("Tabel: Systemet og konteksten efter intakearket. Alle svar står i bilag 1.")
    b.tag("{%p else %}")
    b.p("Intakearket indeholder ikke en beskrivelse af systemet.")
    b.tag("{%p endif %}")


def ai_act(b: Builder) -> None:
    b.h(1, "3 AI-forordningen")
    b.h(2, "Klassifikation")
    b.kv_table(
        [
            ("AI-system", "{{ ai_act.is_ai_system }}: {{ ai_act.ai_system_reason }}"),
            ("Risikoklasse", "{{ ai_act.risk_class }}"),
            ("Rolle", "{{ ai_act.roles }}"),
        ]
    )
    b.tag("{%p if ai_act.prohibited %}")
    b.p("Systemet er omfattet af forbudte former for AI-praksis:", bold=True)
    b.bullets("r in ai_act.prohibited_practices", "{{ r.text }}")
    b.tag("{%p endif %}")
    b.tag("{%p if ai_act.high_risk_basis %}")
    b.p("Grundlag for højrisikoklassifikationen:")
    b.bullets("r in ai_act.high_risk_basis", "{{ r.text }}")
    b.tag("{%p endif %}")
    b.p("{{ ai_act.art_6_3 }} {{ ai_act.gpai }}")
    b.tag("{%p if ai_act.reasons %}")
    b.p("Begrundelse:")
    b.bullets("x in ai_act.reasons", "{{ x }}")
    b.tag("{%p endif %}")
    b.tag("{%p if ai_act.role_reasons %}")
    b.p("Rollen:")
    b.bullets("x in ai_act.role_reasons", "{{ x }}")
    b.tag("{%p endif %}")
    b.tag("{%p if ai_act.transparency %}")
    b.p("Gennemsigtighedspligter:")
    b.bullets("r in ai_act.transparency", "{{ r.text }}")
    b.tag("{%p endif %}")
    b.h(2, "Forpligtelser")
    b.tag("{%p if ai_act.obligations %}")
    b.table(
        ["Forpligtelse", "Hvem", "Bestemmelser", "Gælder"],
        "o in ai_act.obligations",
        ["{{ o.title }}: {{ o.description }}", "{{ o.actor }}", "{{ o.references_text }}", "{{ o.applies_text }}"],
        (80, 22, 40, 28),
    )
    b.caption("Tabel: Forpligtelser efter AI-forordningen. ⚠ betyder, at datoen ikke er endeligt bekræftet.")
    b.tag("{%p else %}")
    b.p("{{ ai_act.no_obligations_text }}")
    b.tag("{%p endif %}")
    b.tag("{%p if ai_act.findings %}")
    b.h(2, "Vurderinger")
    b.findings("ai_act.findings")
    b.tag("{%p endif %}")


def gdpr(b: Builder) -> None:
    b.h(1, "4 Databeskyttelse")
    b.tag("{%p if gdpr.applies %}")
    b.h(2, "Screening: skal der laves en konsekvensanalyse?")
    b.p("Personoplysninger: {{ gdpr.personal_data }}. Konklusion: {{ gdpr.triage_result }}. {{ gdpr.dpia_done }}")
    b.bullets("x in gdpr.triage_reasons", "{{ x }}")
    b.tag("{%p if gdpr.art_35_3 %}")
    b.p("Artikel 35, stk. 3:")
    b.bullets("r in gdpr.art_35_3", "{{ r.text }}")
    b.tag("{%p endif %}")
    b.tag("{%p if gdpr.wp248_criteria %}")
    b.p("Opfyldte kriterier i Artikel 29-gruppens retningslinjer (WP248):")
    b.bullets("x in gdpr.wp248_criteria", "{{ x }}")
    b.tag("{%p endif %}")
    b.tag("{%p if gdpr.datatilsynet_items %}")
    b.p("Datatilsynets liste over behandlinger, der kræver en konsekvensanalyse (28. januar 2019):")
    b.bullets("x in gdpr.datatilsynet_items", "{{ x }}")
    b.tag("{%p endif %}")
    b.p("{{ gdpr.prior_consultation }}")
    b.tag("{%p for part in gdpr.parts %}")
    b.p("Litra {{ part.letter }}: {{ part.title }}", style="Heading 2")
    b.paragraphs("part.paragraphs")
    b.findings("part.findings")
    b.tag("{%p endfor %}")
    b.h(2, "Behandlingsgrundlag pr. fase")
    b.tag("{%p if gdpr.legal_basis %}")
    b.table(["Fase", "Behandlingsgrundlag"], "x in gdpr.legal_basis", ["{{ x.phase }}", "{{ x.basis }}"], (35, 135))
    b.tag("{%p else %}")
    b.p("Behandlingsgrundlaget er ikke oplyst for de enkelte faser; det skal vurderes særskilt for udvikling, drift og gentræning.")
    b.tag("{%p endif %}")
    b.tag("{%p if gdpr.other_findings %}")
    b.h(2, "Øvrige vurderinger")
    b.findings("gdpr.other_findings")
    b.tag("{%p endif %}")
    b.tag("{%p else %}")
    b.p("{{ gdpr.not_applicable_text }}")
    b.tag("{%p endif %}")


def fria(b: Builder) -> None:
    b.h(1, "5 Grundrettighedsvurdering (artikel 27 i AI-forordningen)")
    b.tag("{%p if fria.required %}")
    b.bullets("x in fria.reasons", "{{ x }}")
    b.p("{{ fria.registration }}")
    b.tag("{%p for part in fria.parts %}")
    b.p("Litra {{ part.letter }}: {{ part.title }}", style="Heading 2")
    b.paragraphs("part.paragraphs")
    b.findings("part.findings")
    b.tag("{%p endfor %}")
    b.tag("{%p if fria.other_findings %}")
    b.h(2, "Øvrige vurderinger")
    b.findings("fria.other_findings")
    b.tag("{%p endif %}")
    b.tag("{%p else %}")
    b.p("{{ fria.not_applicable_text }}")
    b.tag("{%p endif %}")


def risks(b: Builder) -> None:
    b.h(1, "11 Risikovurdering")
    b.tag("{%p if risks.applies %}")
    b.table(
        ["Nr.", "Risiko", "Før (S×K)", "Foranstaltninger", "Efter (S×K)"],
        "r in risks.rows",
        [
            "{{ r.number }}",
            "{{ r.summary }}",
            "{{ r.likelihood }}×{{ r.consequence }} {{ r.level }}",
            "{{ r.measures }}",
            "{{ r.residual_likelihood }}×{{ r.residual_consequence }} {{ r.residual_level }}",
        ],
        (11, 66, 20, 53, 20),
    )
    b.caption("Tabel: Risikoregister. S = sandsynlighed, K = konsekvens (1–4).")
    for key, title in (("before", "før"), ("after", "efter")):
        b.p(f"Varmekort {title} foranstaltninger", style="Heading 2")
        heat_map(b, key)
        b.caption(f"Figur: Risici {title} foranstaltninger. Tallene er risikoens nummer i registret.")
    b.tag("{%p else %}")
    b.p("{{ risks.not_applicable_text }}")
    b.tag("{%p endif %}")


def heat_map(b: Builder, key: str) -> None:
    t = b.doc.add_table(rows=5, cols=5)
    t.style = b.doc.styles[TABLE_STYLE]
    b._cell(t.rows[0].cells[0], "Sandsynlighed / konsekvens", bold=True)
    for c in range(4):
        b._cell(t.rows[0].cells[c + 1], "{{ risks.consequence_labels[" + str(c) + "] }}", bold=True)
    for r in range(4):
        b._cell(t.rows[r + 1].cells[0], "{{ risks." + key + "[" + str(r) + "].label }}", bold=True)
        for c in range(4):
            b._cell(
                t.rows[r + 1].cells[c + 1],
                _heat_cell(key, r, c),
            )
    _widths(t, (42, 32, 32, 32, 32))


def _heat_cell(key: str, r: int, c: int) -> str:
    cell = f"risks.{key}[{r}].cells[{c}]"
    return "{% cellbg " + cell + ".colour %}{{ " + cell + ".ids }}"


def actions(b: Builder) -> None:
    b.h(1, "12 Handlingsplan")
    b.tag("{%p if actions %}")
    b.table(
        ["Nr.", "Handling", "Prioritet", "Ansvarlig", "Frist"],
        "x in actions",
        ["{{ x.number }}", "{{ x.title }}: {{ x.description }}", "{{ x.priority }}", "{{ x.owner_role }}", "{{ x.deadline }}"],
        (11, 83, 20, 30, 26),
    )
    b.tag("{%p else %}")
    b.p("{{ no_actions_text }}")
    b.tag("{%p endif %}")


def approval(b: Builder) -> None:
    b.h(1, "13 Godkendelse")
    b.h(2, "Databeskyttelsesrådgiverens råd")
    # The whole approval block is kept on one page with the signature lines (keep with next).
    b.paragraphs("approval.dpo_advice", keep=True)
    b.h(2, "Beslutning")
    b.paragraphs("approval.decision", keep=True)
    kv = b.kv_table(
        [
            ("Databeskyttelsesrådgiver", "{{ approval.dpo_name }}"),
            ("Godkendt af", "{{ approval.approver }}"),
            ("Dato", "{{ approval.date }}"),
        ]
    )
    for row in kv.rows:  # the names stay on the page of the signature lines
        for cell in row.cells:
            cell.paragraphs[0].paragraph_format.keep_with_next = True
    # One row per signature: the line and its caption can never be split across pages.
    t = b.doc.add_table(rows=1, cols=2)
    _cant_split(t.rows[0])
    for c, text in enumerate(("Databeskyttelsesrådgiver", "Godkender")):
        cell = t.rows[0].cells[c]
        cell.paragraphs[0].style = b.doc.styles["Underskrift"]
        cell.paragraphs[0].paragraph_format.keep_with_next = True
        cell.paragraphs[0].add_run("______________________________")
        caption = cell.add_paragraph(f"{text}: dato og underskrift")
        caption.style = b.doc.styles["Tabeltekst"]


def annexes(b: Builder) -> None:
    b.h(1, "Bilag 1: Alle svar")
    b.p(
        "Svarene står pr. ark i intakearket; cellen henviser til arket i gruppens overskrift. "
        "Ubesvarede spørgsmål er udeladt.",
        style=ANNEX_STYLE,
    )
    answers_table(b)
    b.h(1, "Bilag 2: Kriterier med status og sporbarhed")
    b.p(
        "Alle kriterier i kriteriekataloget med status, vurdering, retsgrundlag og de besvarede spørgsmål, "
        "vurderingen bygger på (ark og celle i intakearket). Lange spørgsmål og svar er forkortet med »…«; "
        "hele svaret står i bilag 1 under samme celle. ⚠ betyder usikkert grundlag.",
        style=ANNEX_STYLE,
    )
    b.tag("{%p for c in criteria %}")
    b.p("{{ c.id }} · {{ c.title }} · {{ c.status }}{% if c.uncertain %} ⚠{% endif %}", style=ANNEX_HEAD_STYLE)
    b.p("{{ c.finding }}", style=ANNEX_STYLE)
    b.p("Retsgrundlag: {{ c.references_text }}", style=ANNEX_STYLE)
    b.p("Bygger på: {{ c.trace_short }}", style=ANNEX_STYLE)
    b.tag("{%p endfor %}")


def answers_table(b: Builder) -> None:
    """Annex 1: one table; a shaded merged row names the sheet (section) before its first answer."""
    t = b.doc.add_table(rows=7, cols=3)
    t.style = b.doc.styles[TABLE_STYLE]
    for i, text in enumerate(("Spørgsmål", "Svar", "Celle")):
        b._cell(t.rows[0].cells[i], text, bold=True, style=ANNEX_STYLE)
    _repeat_header(t.rows[0])
    b._cell(t.rows[1].cells[0], "{%tr for a in answers %}", style=ANNEX_STYLE)
    b._cell(t.rows[2].cells[0], "{%tr if a.group_heading %}", style=ANNEX_STYLE)
    head = t.rows[3].cells[0].merge(t.rows[3].cells[2])
    b._cell(head, "{{ a.group_heading }}", bold=True, style=ANNEX_STYLE)
    head.paragraphs[0].paragraph_format.keep_with_next = True
    _shade(head, SECTION_FILL)
    b._cell(t.rows[4].cells[0], "{%tr endif %}", style=ANNEX_STYLE)
    for i, text in enumerate(
        ("{{ a.label }}", "{%p for para in a.paragraphs %}\n{{ para }}\n{%p endfor %}", "{{ a.cell }}")
    ):
        b._cell(t.rows[5].cells[i], text, style=ANNEX_STYLE)
    b._cell(t.rows[6].cells[0], "{%tr endfor %}", style=ANNEX_STYLE)
    _widths(t, (68, 86, 16))


def _shade(cell, fill: str) -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def versions_annex(b: Builder) -> None:
    b.h(1, "Bilag 3: Versioner og kontrolsummer")
    b.kv_table(
        [
            ("Værktøj (aivurdering)", "{{ versions.tool }}"),
            ("Spørgsmålskatalog", "{{ versions.question_catalogue }}, SHA-256 {{ versions.question_catalogue_sha256 }}"),
            ("Kriteriekatalog", "{{ versions.criteria_catalogue }}, SHA-256 {{ versions.criteria_catalogue_sha256 }}"),
            ("Rapportskabelon", "{{ versions.template }}, SHA-256 {{ versions.template_sha256 }}"),
            ("Intakearkets skabelon", "{{ versions.intake_template }}"),
            ("Intakeark (input)", "{{ doc.source_file }}, SHA-256 {{ versions.input_sha256 }}"),
        ],
        (45, 125),
        style=ANNEX_STYLE,
    )
    b.p(
        "Hele vurderingen (svar, konklusioner og versioner) er indlejret i dokumentet som maskinlæsbar "
        "JSON og kan genindlæses med 'aivurdering import'.",
        style="Caption",
    )


def build() -> bytes:
    b = Builder()
    header_footer(b)
    cover(b)
    summary(b)
    system(b)
    ai_act(b)
    gdpr(b)
    fria(b)
    b.family_section("6", "Forvaltningsret", "admin_law", "Vurdering efter forvaltningsloven, offentlighedsloven og god forvaltningsskik.")
    b.family_section("7", "Teknisk vurdering", "technical", "Vurdering af data, model, kvalitet og drift.")
    b.family_section("8", "Informationssikkerhed", "security", "Vurdering af informationssikkerheden.")
    b.family_section("9", "Indkøb og kontrakt", "procurement", "Vurdering af leverandør, kontrakt og databehandleraftale.")
    b.family_section("10", "Ledelse og organisering", "governance", "Vurdering af ansvar, organisering og opfølgning.")
    risks(b)
    actions(b)
    approval(b)
    annexes(b)
    versions_annex(b)
    cp = b.doc.core_properties
    cp.title = "Vurdering af AI-system (skabelon)"
    cp.subject = "Konsekvensanalyse af AI-system"
    cp.author = "aivurdering"
    cp.last_modified_by = "aivurdering"
    cp.language = "da-DK"
    cp.version = TEMPLATE_VERSION
    cp.revision = 1
    cp.keywords = "aivurdering skabelon"
    cp.comments = "Skabelon til aivurdering. Variabler: docs/templates.md."
    fixed = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cp.created = cp.modified = fixed
    cp.last_printed = fixed
    buf = io.BytesIO()
    b.doc.save(buf)
    return _deterministic_zip(buf.getvalue())


def _deterministic_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps and a stable member order (no thumbnail)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        members = {n: zin.read(n) for n in zin.namelist()}
    members.pop("docProps/thumbnail.jpeg", None)
    rels = members["_rels/.rels"].decode("utf-8")
    rels = re.sub(r"<Relationship [^>]*thumbnail[^>]*/>", "", rels)
    members["_rels/.rels"] = rels.encode("utf-8")
    ct = members["[Content_Types].xml"].decode("utf-8")
    ct = re.sub(r'<Default Extension="jpeg"[^>]*/>', "", ct)
    members["[Content_Types].xml"] = ct.encode("utf-8")
    first = ["[Content_Types].xml", "_rels/.rels"]
    order = first + sorted(n for n in members if n not in first)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in order:
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            zout.writestr(info, members[name])
    return out.getvalue()


def main(argv: Sequence[str] = ()) -> int:
    out = Path(argv[0]) if argv else OUT
    out.write_bytes(build())
    print(f"Skrev {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
