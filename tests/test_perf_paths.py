"""The shortcuts of the fast render and journal paths give exactly what the plain computations give."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from pipeline import render
from pipeline.docxpackage import _may_hold_fields_or_changes, inspect_docx
from pipeline.evaluate import evaluate
from pipeline.report_context import build_context
from pipeline.validate import validate_workbook

ROOT = Path(__file__).resolve().parent.parent
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


@pytest.fixture(scope="module")
def prepared() -> render.PreparedTemplate:
    return render.prepare_template()


# --- fix_tables: parsed once when docxtpl would change nothing -----------------------------------


def _cell(span: int | None) -> str:
    pr = f'<w:tcPr><w:gridSpan w:val="{span}"/></w:tcPr>' if span else ""
    return f"<w:tc>{pr}<w:p><w:r><w:t>x</w:t></w:r></w:p></w:tc>"


def _body(grid: list[int], rows: list[list[int | None]]) -> str:
    cols = "".join(f'<w:gridCol w:w="{w}"/>' for w in grid)
    trs = "".join("<w:tr>" + "".join(_cell(s) for s in row) + "</w:tr>" for row in rows)
    return f'<w:body xmlns:w="{W}"><w:tbl><w:tblGrid>{cols}</w:tblGrid>{trs}</w:tbl><w:p/></w:body>'


tables = st.tuples(
    st.lists(st.integers(100, 3000), min_size=1, max_size=4),
    st.lists(st.lists(st.one_of(st.none(), st.integers(1, 3)), min_size=1, max_size=5), min_size=1, max_size=4),
)


@settings(max_examples=150, deadline=None)
@given(tables)
def test_fix_tables_shortcut_equals_docxtpl(prepared: render.PreparedTemplate, table: tuple) -> None:
    body = _body(*table)
    ours = etree.tostring(render._fix_tables(prepared.docxtpl, body))
    theirs = etree.tostring(prepared.docxtpl.fix_tables(body))
    assert ours == theirs


def test_fix_tables_shortcut_is_taken_only_for_fitting_tables() -> None:
    fits = etree.fromstring(_body([1000, 1000], [[None, None], [2]]))
    too_many_cells = etree.fromstring(_body([1000], [[None, None]]))
    grid_too_wide = etree.fromstring(_body([1000, 1000, 1000], [[None, None]]))
    assert render._tables_fit(fits)
    assert not render._tables_fit(too_many_cells)
    assert not render._tables_fit(grid_too_wide)


# --- docxtpl's paragraph post-processing ----------------------------------------------------------


def _docxtpl_post(tpl: object, xml: str) -> str:
    """The post-processing in docxtpl's DocxTemplate.render_xml_part, verbatim."""
    xml = re.sub(r"\n<w:p([ >])", r"<w:p\1", xml)
    xml = xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
    return str(tpl.resolve_listing(xml))  # type: ignore[attr-defined]


fragments = ["\n", "<w:p", " ", ">", "x", "<w:pPr>", "\n\n", "/>", "{_{", "%_}", "<w:t>", "</w:t>", "\t"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(fragments), max_size=30).map("".join))
def test_post_processing_equals_docxtpl(prepared: render.PreparedTemplate, text: str) -> None:
    assert render._post(prepared.docxtpl, text) == _docxtpl_post(prepared.docxtpl, text)


# --- Findings built once ----------------------------------------------------------------------


def test_sections_and_annex_share_one_finding_per_criterion() -> None:
    intake = validate_workbook(ROOT / "intake_templates/examples/s2-kontrolmodel-enkeltydelser.xlsx")
    ctx = build_context(evaluate(intake, assessment_date=dt.date(2026, 11, 29)))
    annex = {f.id: f for f in ctx.criteria}
    in_sections = ctx.ai_act.findings + ctx.gdpr.other_findings + ctx.admin_law.findings
    assert in_sections
    assert all(f is annex[f.id] for f in in_sections)


# --- journal safety checks: parts skipped only when provably free of fields and changes ----------

PLAIN = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="{W}"><w:body><w:tbl><w:tblPr><w:tblBorders><w:insideH/></w:tblBorders></w:tblPr></w:tbl><w:p><w:r><w:t>indsat: ins del</w:t></w:r></w:p></w:body></w:document>'


@pytest.mark.parametrize(
    "snippet",
    [
        '<w:ins w:id="1"><w:r><w:t>a</w:t></w:r></w:ins>',
        "<w:del/>",
        f'<ins xmlns="{W}"/>',
        '<w:fldSimple w:instr="DATE"/>',
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>',
        "<w:r><w:instrText>DATE</w:instrText></w:r>",
    ],
)
def test_parts_with_fields_or_changes_are_always_parsed(snippet: str) -> None:
    data = PLAIN.replace("<w:p>", snippet + "<w:p>").encode()
    assert _may_hold_fields_or_changes(data)


def test_plain_part_is_skipped_but_unusual_encodings_are_parsed() -> None:
    assert not _may_hold_fields_or_changes(PLAIN.encode())
    assert _may_hold_fields_or_changes(PLAIN.replace("UTF-8", "UTF-16").encode("utf-16"))
    assert _may_hold_fields_or_changes(PLAIN.replace("UTF-8", "ISO-8859-1").encode())
    assert _may_hold_fields_or_changes(b'<!DOCTYPE x [<!ENTITY e "<w:ins/>">]>' + PLAIN.encode())


def _docx(document: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        zf.writestr("word/document.xml", document)
    return buf.getvalue()


def test_inspect_still_finds_tracked_changes_and_fields() -> None:
    assert inspect_docx(_docx(PLAIN)) == []
    changed = inspect_docx(_docx(PLAIN.replace("<w:p>", '<w:ins w:id="1"/><w:p>')))
    assert any("Sporede ændringer" in p for p in changed)
    field = inspect_docx(_docx(PLAIN.replace("<w:p>", '<w:fldSimple w:instr=" DATE "/><w:p>')))
    assert any("DATE" in p for p in field)


# --- the rendered body parsed in place equals docxtpl's move into the document -------------------

EXAMPLES = sorted((ROOT / "intake_templates/examples").glob("*.xlsx"))


def _moved(p: render.PreparedTemplate, body: str) -> bytes:
    """The plain way: parse the body alone (docxtpl's fix_tables) and move it into the document."""
    from docx.opc.oxml import parse_xml, serialize_part_xml

    tree = p.docxtpl.fix_tables(body)
    root = parse_xml(p.base_parts[p.document_part])
    root.replace(root.find(f"{{{W}}}body"), tree)
    return bytes(serialize_part_xml(root))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda x: x.stem)
def test_body_parsed_in_place_equals_moved_body(prepared: render.PreparedTemplate, example: Path) -> None:
    from docx.opc.oxml import serialize_part_xml

    assessment = evaluate(validate_workbook(example), assessment_date=dt.date(2026, 11, 29))
    _stamped, ctx = render._context(assessment, prepared)
    body = render._post(prepared.docxtpl, prepared.body.render(ctx.model_dump()))
    placed = render._in_place(prepared.frame, body)
    assert placed is not None  # the bundled template takes the fast path
    assert bytes(serialize_part_xml(placed[0])) == _moved(prepared, body)


def test_inner_namespace_declarations_fall_back_to_the_move(prepared: render.PreparedTemplate) -> None:
    assert prepared.frame is not None
    tag = prepared.frame.body_tag
    inner = f'{tag}<w:p xmlns:w="{W}"><w:r><w:t>x</w:t></w:r></w:p></w:body>'
    assert render._in_place(prepared.frame, inner) is None
    plain = f"{tag}<w:p><w:r><w:t>x</w:t></w:r></w:p></w:body>"
    placed = render._in_place(prepared.frame, plain)
    assert placed is not None
    from docx.opc.oxml import serialize_part_xml

    assert bytes(serialize_part_xml(placed[0])) == _moved(prepared, plain)
