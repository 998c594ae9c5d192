"""The render shortcuts give exactly what the plain computations give (speed work for issue 7)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import StrictUndefined
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment
from lxml import etree

from pipeline import docx_twin, render
from pipeline import report_context as rc
from pipeline.evaluate import evaluate
from pipeline.models import Assessment, LegalRef, TraceItem
from pipeline.validate import validate_workbook

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "intake_templates/examples").glob("*.xlsx"))


@pytest.fixture(scope="module")
def prepared() -> render.PreparedTemplate:
    return render.prepare_template()


@pytest.fixture(scope="module")
def assessments() -> list[Assessment]:
    return [evaluate(validate_workbook(x), assessment_date=dt.date(2026, 11, 29)) for x in EXAMPLES]


def _stock_env() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)


# --- the sandbox's dict shortcut -------------------------------------------------------------------


def test_dict_shortcut_renders_the_report_like_the_stock_sandbox(
    prepared: render.PreparedTemplate, assessments: list[Assessment]
) -> None:
    tpl = prepared.docxtpl
    src = re.sub(r"<w:p([ >])", r"\n<w:p\1", tpl.patch_xml(tpl.get_xml()))
    stock = _stock_env().from_string(src)
    for a in assessments:
        context = render._context(a, prepared)[1].model_dump()
        assert prepared.body.render(context) == stock.render(context)


class _Obj:
    name = "attribute"
    _private = "hidden"


@pytest.mark.parametrize(
    "expr",
    [
        "d.name", "d.items", "d.keys", "d.get", "d.missing", "d.__class__", "d.__init__", "d._private",
        "o.name", "o._private", "o.missing", "s.upper", "n.real", "sub.name", "sub.items",
    ],
)
def test_dict_shortcut_equals_the_stock_getattr(expr: str) -> None:
    class Sub(dict):  # not a plain dict: the shortcut must leave it alone
        pass

    values = {
        "d": {"name": "key", "items": "a key named like a dict method", "_private": "key2"},
        "o": _Obj(), "s": "text", "n": 3, "sub": Sub(name="sub-key", items="sub-items"),
    }
    ours, stock = render.jinja_env(), _stock_env()
    assert isinstance(ours, render.ReportEnvironment)
    for env in (ours, stock):
        assert env.sandboxed and env.autoescape

    def outcome(env: SandboxedEnvironment) -> str:
        try:
            return env.from_string("{{ " + expr + " }}").render(values)
        except (UndefinedError, SecurityError) as exc:
            return f"{type(exc).__name__}: {exc}"

    assert outcome(ours) == outcome(stock)


def test_sandbox_and_autoescape_still_hold() -> None:
    env = render.jinja_env()
    with pytest.raises(SecurityError):
        env.from_string("{{ d.__class__.__mro__ }}").render(d={"a": 1})
    with pytest.raises(SecurityError):
        env.from_string("{{ ''.__class__ }}").render()
    assert env.from_string("{{ d.a }}").render(d={"a": "<w:p>&"}) == "&lt;w:p&gt;&amp;"


# --- post-processing on UTF-8 bytes ----------------------------------------------------------------

fragments = [
    "\n", "<w:p", " ", ">", "x", "æ", "⚠", "<w:pPr>", "\n\n", "/>", "{_{", "}_}", "{_%", "%_}", "{", "}", "_",
    "<w:t>", "</w:t>", "\t", "\a", "\f", "<w:r>", "</w:r>", "</w:p>",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(fragments), max_size=40).map("".join))
def test_post_on_bytes_equals_post_on_text(prepared: render.PreparedTemplate, text: str) -> None:
    assert render._post_utf8(prepared.docxtpl, text) == render._post(prepared.docxtpl, text).encode("utf-8")


def test_post_on_bytes_equals_post_on_text_for_the_report(
    prepared: render.PreparedTemplate, assessments: list[Assessment]
) -> None:
    for a in assessments:
        raw = prepared.body.render(render._context(a, prepared)[1].model_dump())
        assert "\n<w:p" in raw  # the newline shortcut is exercised
        assert render._post_utf8(prepared.docxtpl, raw) == render._post(prepared.docxtpl, raw).encode("utf-8")


# --- the twin's XML part written directly ------------------------------------------------------------


def _lxml_twin(text: str) -> bytes:
    root = etree.Element(f"{{{docx_twin.NS}}}assessment", nsmap={None: docx_twin.NS})
    root.set("format", "json")
    root.set("version", "1")
    root.text = text
    return docx_twin._xml(root)


def test_twin_part_equals_lxml_for_reports(assessments: list[Assessment]) -> None:
    for a in assessments:
        text = docx_twin.twin_json(a)
        assert docx_twin.twin_item_xml(text) == _lxml_twin(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x2FF, exclude_categories=("Cs",)), max_size=60))
def test_twin_part_equals_lxml_for_any_text(text: str) -> None:
    try:
        expected = _lxml_twin(text)
    except ValueError:  # lxml refuses control characters: so does the direct path (it hands them to lxml)
        with pytest.raises(ValueError):
            docx_twin.twin_item_xml(text)
        return
    assert docx_twin.twin_item_xml(text) == expected


def test_twin_part_for_json_with_markup_characters() -> None:
    text = docx_twin.json.dumps({"a": "<w:p> & \"x\" 'y' >"}, ensure_ascii=True)
    assert docx_twin.twin_item_xml(text) == _lxml_twin(text)
    assert docx_twin.twin_item_xml("") == _lxml_twin("")


# --- report context shortcuts ------------------------------------------------------------------------


def test_models_built_through_the_validator_equal_constructed_models() -> None:
    data = {"code": "AIA 6(3)", "text": "artikel 6", "uncertain": False}
    assert rc._new(rc.Ref, **data) == rc.Ref(**data)
    with pytest.raises(ValueError):  # the same validation: a missing field is refused
        rc._new(rc.Ref, code="x", text="y")
    with pytest.raises(ValueError):
        rc._new(rc.Ref, code="x", text=None, uncertain=False)


hint_texts = st.lists(
    st.sampled_from(["Teknik", " ", "(vælg alle)", "(fx en model)", "(FX x)", "(f.eks. y)", "(eksempelvis z)",
                     "(andet)", "(", ")", "?", ":", "æøå", "ord", "(vælg (a))"]),
    max_size=12,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(hint_texts)
def test_hint_removal_shortcut(text: str) -> None:
    assert rc._no_hints(text) == rc._HINTS.sub("", text)
    plain = rc.shorten(rc._HINTS.sub("", rc.one_line(text)).rstrip("?: "), rc.SHORT_LABEL)
    assert rc._short_label(text) == plain


def test_finding_references_text_equals_refs_text() -> None:
    refs = [LegalRef(code="AIA 6(3)", text="artikel 6, stk. 3", uncertain=True), LegalRef(code="GDPR 35", text="artikel 35")]
    trace = [TraceItem(question_id="q", label="Hvilken teknik (vælg alle)?", sheet="2 System", cell="C7", value="Maskinlæring")]
    from pipeline.models import CriterionResult

    c = CriterionResult(id="x", family="gdpr", title="T", status="opfyldt", severity="lav", finding="F",
                        references=refs, trace=trace)
    f = rc._finding(c)
    assert f.references_text == rc._refs_text(refs)
    assert f.references == [rc._ref(r) for r in refs]
    assert f.trace_short == "'2 System'!C7 Hvilken teknik = Maskinlæring"


def test_references_are_shared_frozen_and_equal_to_the_plain_ones() -> None:
    r = LegalRef(code="AIA  6(3)", text="artikel 6,\nstk. 3", uncertain=True)
    plain = rc.Ref(code=rc.one_line(r.code), text=f"{rc.one_line(r.text)} {rc.UNCERTAIN_MARK}", uncertain=True)
    assert rc._ref(r) == plain
    assert rc._ref(r) is rc._ref(LegalRef(code=r.code, text=r.text, uncertain=True))  # one object per content
    with pytest.raises(ValueError):  # frozen: a shared Ref cannot be changed through one report
        rc._ref(r).text = "x"  # type: ignore[misc]


# --- fix_tables check: cells counted only when a row could have more than the grid -----------------------

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_children = st.sampled_from(["tc", "tc2", "trPr", "comment", "sdt"])


def _row(children: list[str]) -> str:
    parts = {
        "tc": "<w:tc><w:p/></w:tc>",
        "tc2": '<w:tc><w:tcPr><w:gridSpan w:val="2"/></w:tcPr><w:p/></w:tc>',
        "trPr": "<w:trPr><w:cantSplit/></w:trPr>",
        "comment": "<!-- c -->",
        "sdt": "<w:sdt><w:sdtContent/></w:sdt>",
    }
    return "<w:tr>" + "".join(parts[c] for c in children) + "</w:tr>"


def _tables_fit_plain(tree: etree._Element) -> bool:
    """The check before the shortcut: every row's cells counted with findall."""
    w = f"{{{W}}}"
    for table in tree.iter(w + "tbl"):
        grid = table.find(w + "tblGrid")
        if grid is None:
            return False
        columns = len(grid.findall(w + "gridCol"))
        spans_grid = False
        for row in table.iter(w + "tr"):
            if len(row.findall(w + "tc")) > columns:
                return False
            spans_grid = spans_grid or render._row_span(row) >= columns
        if not spans_grid:
            return False
    return True


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 4), st.lists(st.lists(_children, max_size=6), min_size=1, max_size=4))
def test_tables_fit_equals_docxtpl_unchanged(prepared: render.PreparedTemplate, columns: int, rows: list) -> None:
    grid = "".join('<w:gridCol w:w="1000"/>' for _ in range(columns))
    body = f'<w:body xmlns:w="{W}"><w:tbl><w:tblGrid>{grid}</w:tblGrid>{"".join(_row(r) for r in rows)}</w:tbl><w:p/></w:body>'
    tree = etree.fromstring(body)
    fits = render._tables_fit(tree)
    assert fits == _tables_fit_plain(tree)
    unchanged = etree.tostring(prepared.docxtpl.fix_tables(body)) == etree.tostring(tree)
    if fits:
        assert unchanged  # the shortcut is only taken when docxtpl would change nothing
    assert etree.tostring(render._fix_tables(prepared.docxtpl, body)) == etree.tostring(prepared.docxtpl.fix_tables(body))


def test_tables_fit_equals_plain_check_for_the_report(
    prepared: render.PreparedTemplate, assessments: list[Assessment]
) -> None:
    for a in assessments:
        raw = prepared.body.render(render._context(a, prepared)[1].model_dump())
        placed = render._in_place(prepared.frame, render._post_utf8(prepared.docxtpl, raw))
        assert placed is not None
        assert render._tables_fit(placed[1]) is _tables_fit_plain(placed[1]) is True


# --- drawings renumbered only when the body names docPr ---------------------------------------------------

WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"


@pytest.mark.parametrize(
    "inner",
    [
        f'<wp:docPr xmlns:wp="{WP}" id="7"/>',
        f'<x:docPr xmlns:x="{WP}" id="7"/>',
        f'<docPr xmlns="{WP}" id="7"/>',
        f'<w:p><w:r><w:t>docPr</w:t></w:r></w:p><wp:inline xmlns:wp="{WP}"><wp:docPr id="1"/><wp:docPr id="1"/></wp:inline>',
        "<w:p><w:r><w:t>x</w:t></w:r></w:p>",
    ],
)
def test_docpr_search_needs_the_name_in_the_text(inner: str) -> None:
    body = f'<w:body xmlns:w="{W}">{inner}</w:body>'.encode()
    found = etree.fromstring(body).xpath(".//wp:docPr", namespaces={"wp": WP})
    assert not found or b"docPr" in body
    assert render._WP == WP


def test_drawings_are_renumbered_like_docxtpl(prepared: render.PreparedTemplate) -> None:
    """A body with drawings still gets docxtpl's ids (1001, 1002, …) on the fast path."""
    from jinja2 import Template

    assert prepared.frame is not None
    drawing = '<w:p><w:r><wp:inline><wp:docPr id="5" name="a"/></wp:inline></w:r></w:p>'  # wp: declared by the document
    src = prepared.frame.body_tag + drawing * 2 + "</w:body>"
    assert render._in_place(prepared.frame, src) is not None  # the fast path
    fake = render.PreparedTemplate(**{**prepared.__dict__, "body": Template(src), "templated": {}, "raw_footnotes": {}})
    parts = render._render_fast(fake, {})
    ids = etree.fromstring(parts[prepared.document_part]).xpath("//wp:docPr/@id", namespaces={"wp": WP})
    assert ids == ["1001", "1002"]
