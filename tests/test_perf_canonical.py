"""The canonical body (pipeline.render_canonical) gives exactly the lxml round trip's bytes, or falls back."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from docxtpl import DocxTemplate
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from pipeline import render
from pipeline import render_canonical as rc
from pipeline.evaluate import evaluate
from pipeline.validate import validate_workbook

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "intake_templates/examples").glob("*.xlsx"))
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


@pytest.fixture(scope="module")
def prepared() -> render.PreparedTemplate:
    return render.prepare_template()


@pytest.fixture(scope="module")
def contexts(prepared: render.PreparedTemplate) -> list[dict[str, Any]]:
    out = []
    for x in EXAMPLES:
        a = evaluate(validate_workbook(x), assessment_date=dt.date(2026, 11, 29))
        out.append(render._context(a, prepared)[1].model_dump())
    return out


def _outcome(p: render.PreparedTemplate, context: dict[str, Any], canonical: bool) -> Any:
    """The body part as the fast path writes it, with or without the canonical body (or the error)."""
    q = dataclasses.replace(p, canonical=p.canonical if canonical else None)
    try:
        return render._render_fast(q, context)[p.document_part]
    except Exception as exc:  # noqa: BLE001 - errors must be the same too
        return f"{type(exc).__name__}: {exc}"


def _canonical(p: render.PreparedTemplate, context: dict[str, Any]) -> bytes | None:
    assert p.canonical is not None
    return rc.render_body(p.canonical, context, lambda data: render._post_bytes(p.docxtpl, data))


def _round_trip(p: render.PreparedTemplate, context: dict[str, Any]) -> bytes:
    parts: dict[str, bytes] = {}
    render._render_body(p, context, parts)
    return parts[p.document_part]


# --- the bundled template --------------------------------------------------------------------------


def test_bundled_template_is_eligible(prepared: render.PreparedTemplate) -> None:
    assert prepared.canonical is not None
    assert b"w:t" in prepared.canonical.empty_names


def test_canonical_body_equals_round_trip_for_the_examples(
    prepared: render.PreparedTemplate, contexts: list[dict[str, Any]]
) -> None:
    for context in contexts:
        ours = _canonical(prepared, context)
        assert ours is not None  # the examples take the canonical path
        assert ours == _round_trip(prepared, context)


def test_whole_report_still_equals_the_plain_path(prepared: render.PreparedTemplate) -> None:
    a = evaluate(validate_workbook(EXAMPLES[0]), assessment_date=dt.date(2026, 11, 29))
    assert render.render_docx(a) == render.render_docx_plain(a)


# --- hostile values in every text field ------------------------------------------------------------

hostile = st.lists(
    st.one_of(
        st.sampled_from([
            "", " ", "  ", '"', "'", "&", "<", ">", "&amp;", "&#34;", "&#39;", "&quot;", "<w:p>", "</w:t>", "]]>",
            "\n", "\t", "\a", "\f", "\r", "\r\n", "\x00", "\x01", "\x0b", "\x1f", "\x7f", "\x85", "\u2028",
            "\ufffe", "\uffff", "\ud800", "😀", "𝔸", "æøå", "{{ x }}", "{% if %}", "{_{", "}_}", "{_%", "%_}",
            "{{", "}}", "xmlns", "docPr", "\n<w:p>", "\n<w:p ", "FF0000", "auto",
        ]),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
    ),
    min_size=1,
    max_size=6,
).map("".join)


def _replace_strings(value: Any, new: list[str], counter: list[int], keep: frozenset[str] = frozenset()) -> Any:
    """Every string in the context replaced by the next of ``new`` (except under the keys in ``keep``)."""
    if isinstance(value, str):
        counter[0] += 1
        return new[counter[0] % len(new)]
    if isinstance(value, list):
        return [_replace_strings(v, new, counter, keep) for v in value]
    if isinstance(value, dict):
        return {k: v if k in keep else _replace_strings(v, new, counter, keep) for k, v in value.items()}
    return value


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(EXAMPLES) - 1), st.lists(hostile, min_size=1, max_size=7), st.integers(0, 50), st.booleans())
def test_hostile_values_give_the_round_trip_bytes(
    prepared: render.PreparedTemplate, contexts: list[dict[str, Any]], example: int, values: list[str], shift: int,
    colours: bool,
) -> None:
    keep = frozenset() if colours else frozenset({"colour"})  # attribute values too, or only text
    context = _replace_strings(contexts[example], values, [shift], keep)
    ours = _canonical(prepared, context)
    today = _outcome(prepared, context, canonical=False)
    if ours is not None:
        assert ours == today
    assert _outcome(prepared, context, canonical=True) == today  # with the fallback: the same bytes or error


@settings(max_examples=150, deadline=None)
@given(st.lists(hostile.filter(lambda s: all(c >= " " or c == "\n" for c in s) and "\ufffe" not in s
                               and "\uffff" not in s and "\ud800" not in s and "docPr" not in s
                               and "xmlns" not in s), min_size=1, max_size=7))
def test_values_without_control_characters_take_the_canonical_path(
    prepared: render.PreparedTemplate, contexts: list[dict[str, Any]], values: list[str]
) -> None:
    context = _replace_strings(contexts[1], values, [0], keep=frozenset({"colour"}))  # attributes: no newlines
    ours = _canonical(prepared, context)
    assert ours is not None
    assert ours == _round_trip(prepared, context)


def _docxtpl_document(p: render.PreparedTemplate, context: dict[str, Any]) -> bytes:
    """docxtpl's own render + save (render_docx_plain before finalize): the document part."""
    tpl = DocxTemplate(io.BytesIO(p.path.read_bytes()))
    tpl.render(context, jinja_env=render.jinja_env(), autoescape=True)
    buf = io.BytesIO()
    tpl.save(buf)
    with zipfile.ZipFile(buf) as zf:
        return zf.read(p.document_part)


@settings(max_examples=12, deadline=None)
@given(st.lists(hostile.filter(lambda s: all(c >= " " or c == "\n" for c in s) and "\ufffe" not in s
                               and "\uffff" not in s and "\ud800" not in s and "docPr" not in s
                               and "xmlns" not in s), min_size=1, max_size=5))
def test_hostile_values_give_docxtpls_plain_bytes(
    prepared: render.PreparedTemplate, contexts: list[dict[str, Any]], values: list[str]
) -> None:
    context = _replace_strings(contexts[2], values, [0], keep=frozenset({"colour"}))
    assert _canonical(prepared, context) is not None
    assert _outcome(prepared, context, canonical=True) == _docxtpl_document(prepared, context)


def test_a_broken_canonicaliser_is_caught(
    prepared: render.PreparedTemplate, contexts: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The comparisons above are sharp: leaving out a step of the canonicaliser changes the bytes."""
    context = _replace_strings(contexts[0], ['a "b" \'c\'', "", "x\ny"], [0], keep=frozenset({"colour"}))
    expected = _round_trip(prepared, context)
    assert _canonical(prepared, context) == expected
    with monkeypatch.context() as m:
        m.setattr(rc, "collapse", lambda data, names: data)
        assert _canonical(prepared, context) != expected
    with monkeypatch.context() as m:
        m.setattr(rc, "unescape_quotes", lambda data: data)
        assert _canonical(prepared, context) != expected
    with monkeypatch.context() as m:  # collapsing only some of the names that can be empty
        m.setattr(rc, "collapse", lambda data, names: data.replace(b"></w:t>", b"/>", 1))
        assert _canonical(prepared, context) != expected


def test_values_with_markup_fall_back(prepared: render.PreparedTemplate, contexts: list[dict[str, Any]]) -> None:
    from markupsafe import Markup

    context = _replace_strings(contexts[0], [Markup("<w:b/>")], [0])  # type: ignore[list-item]
    assert _canonical(prepared, context) is None
    assert _outcome(prepared, context, canonical=True) == _outcome(prepared, context, canonical=False)


# --- pieces ------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(alphabet=st.characters(codec="utf-8")), st.integers(), st.floats(), st.none(), st.booleans()))
def test_finalize_escapes_like_autoescaping(value: Any) -> None:
    import markupsafe

    assert rc.finalize(value) == str(markupsafe.escape(value))
    assert rc._escape is markupsafe._escape_inner  # the C speed-up is used  # type: ignore[attr-defined]


def test_canonical_environment_is_sandboxed_and_escapes() -> None:
    from jinja2.exceptions import SecurityError
    from markupsafe import Markup

    env = render.canonical_env()
    assert env.sandboxed and env.finalize is rc.finalize
    assert env.from_string("<w:t>{{ a }}{{ 3 }}{{ '<' }}</w:t>").render(a="<w:p>&\"'") == (
        "<w:t>&lt;w:p&gt;&amp;&#34;&#39;3&lt;</w:t>"
    )
    with pytest.raises(rc.NotCanonical):  # autoescaping would insert markup unescaped: refused, not inserted
        env.from_string("{{ a }}").render(a=Markup("<w:b/>"))
    with pytest.raises(SecurityError):
        env.from_string("{{ a.__class__.__mro__ }}").render(a={"x": 1})


def _lxml_attr(value: str) -> bytes:
    data = etree.tostring(etree.Element("a", b=value), encoding="UTF-8", xml_declaration=False)
    return data[len(b'<a b="') : -len(b'"/>')]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", min_codepoint=0x20), max_size=20))
def test_canon_attr_equals_lxml(value: str) -> None:
    if "\ufffe" in value or "\uffff" in value:
        with pytest.raises(rc.NotCanonical):
            rc.canon_attr(value)
        return
    assert str(rc.canon_attr(value)).encode("utf-8") == _lxml_attr(value)


@pytest.mark.parametrize("value", ["\n", "a\tb", "\r", "\x00"])
def test_canon_attr_refuses_whitespace_controls(value: str) -> None:
    with pytest.raises(rc.NotCanonical):
        rc.canon_attr(value)


def _random_xml(draw: Any, depth: int = 0) -> str:
    name = draw(st.sampled_from(["w:t", "w:p", "w:r", "a", "w:tab"]))
    attrs = draw(st.sampled_from(["", ' x="1"', ' x="/"', ' y="&gt;"']))
    children = draw(st.lists(st.sampled_from(["text", "elem", "empty"]), max_size=3)) if depth < 3 else []
    inner = ""
    for c in children:
        inner += {"text": "t&amp;", "empty": ""}.get(c) or _random_xml(draw, depth + 1)
    return f"<{name}{attrs}>{inner}</{name}>"


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_collapse_equals_lxml(data: Any) -> None:
    body = _random_xml(data.draw)
    doc = f'<root xmlns:w="{W}">{body}</root>'.encode()
    names = (b"w:t", b"w:p", b"w:r", b"a", b"w:tab")
    assert rc.collapse(doc, names) == etree.tostring(etree.fromstring(doc))


# --- templates that break a condition are refused; eligible ones render like the round trip ----------


def _analyse(p: render.PreparedTemplate, inner: str) -> rc.CanonicalBody | None:
    assert p.frame is not None
    src = render._source(p.docxtpl, p.frame.body_tag + inner + "</w:body>")
    return rc.analyse(render.canonical_env(), src, lambda xml: render._post_utf8(p.docxtpl, xml), p.frame)


TABLE = (
    '<w:tbl><w:tblGrid><w:gridCol w:w="1"/><w:gridCol w:w="2"/></w:tblGrid>'
    "<w:tr><w:tc><w:p/></w:tc><w:tc><w:p/></w:tc></w:tr>{rows}</w:tbl><w:p/>"
)
ROW = "<w:tr><w:tc><w:p><w:r><w:t>{{ r }}</w:t></w:r></w:p></w:tc><w:tc><w:p/></w:tc></w:tr>"
GOOD = [
    '<w:p><w:r><w:t xml:space="preserve">{{ a }}</w:t></w:r></w:p>',
    "<w:p>{% if a %}<w:r><w:t>{{ a }}</w:t></w:r>{% endif %}</w:p>",
    '<w:p><w:pPr><w:shd w:fill="{{ a }}"/></w:pPr>{% for r in rows %}<w:r><w:t>{{ r }}</w:t></w:r>{% endfor %}</w:p>',
    "<w:p/>{% for r in rows %}<w:p><w:r><w:t>{{ r }}{% if a %}{{ a }}{% else %}{{ r }}{% endif %}</w:t></w:r></w:p>{% endfor %}",
    TABLE.replace("{rows}", "{% for r in rows %}" + ROW + "{% endfor %}"),
    TABLE.replace("<w:tc><w:p/></w:tc><w:tc><w:p/></w:tc></w:tr>",
                  '<w:tc><w:tcPr><w:gridSpan w:val="2"/></w:tcPr><w:p/></w:tc></w:tr>').replace("{rows}", ""),
]
BAD = {
    "output in a tag name": "<w:p><w:{{ a }}/></w:p>",
    "output between attributes": "<w:p {{ a }}></w:p>",
    "output in text outside w:t": "<w:p>{{ a }}</w:p>",
    "unbalanced if": "{% if a %}<w:p>{% endif %}<w:r><w:t>x</w:t></w:r></w:p>",
    "if closing an outer element": "<w:p>{% if a %}</w:p><w:p>{% endif %}</w:p>",
    "block inside a tag": '<w:p {% if a %}w:x="1"{% endif %}/>',
    "loop over cells": TABLE.replace("{rows}", "<w:tr>{% for r in rows %}<w:tc><w:p/></w:tc>{% endfor %}</w:tr>"),
    "only rows in a loop": TABLE.replace("<w:tr><w:tc><w:p/></w:tc><w:tc><w:p/></w:tc></w:tr>", "").replace(
        "{rows}", "{% for r in rows %}" + ROW + "{% endfor %}"),
    "row wider than the grid": TABLE.replace("{rows}", "<w:tr><w:tc/><w:tc/><w:tc/></w:tr>"),
    "safe filter": "<w:p><w:r><w:t>{{ a|safe }}</w:t></w:r></w:p>",
    "call": "<w:p><w:r><w:t>{{ a.upper() }}</w:t></w:r></w:p>",
    "macro": "{% macro m() %}<w:p/>{% endmacro %}<w:p/>",
    "set block": "{% set x %}<w:p/>{% endset %}<w:p/>",
    "autoescape block": "{% autoescape false %}<w:p><w:r><w:t>{{ a }}</w:t></w:r></w:p>{% endautoescape %}",
    "cdata": "<w:p><w:r><w:t><![CDATA[x]]></w:t></w:r></w:p>",
    "comment": "<w:p><!-- x --></w:p>",
    "character reference": "<w:p><w:r><w:t>&#34;{{ a }}</w:t></w:r></w:p>",
    "entity split by an output": "<w:p><w:r><w:t>&am{{ a }}p;</w:t></w:r></w:p>",
    "inner namespace declaration": f'<w:p xmlns:w="{W}"/>',
    "static empty element": "<w:p></w:p>",
    "gridSpan without a value": TABLE.replace(
        "{rows}", "<w:tr><w:tc><w:tcPr><w:gridSpan/></w:tcPr><w:p/></w:tc></w:tr>"),
    "gridSpan in a block": TABLE.replace(
        "<w:tc><w:p/></w:tc><w:tc><w:p/></w:tc></w:tr>",
        '<w:tc><w:tcPr>{% if a %}<w:gridSpan w:val="2"/>{% endif %}</w:tcPr><w:p/></w:tc></w:tr>').replace("{rows}", ""),
    "body that can be empty": "{% if a %}<w:p/>{% endif %}",
    "single quotes": "<w:p w:x='1'/>",
    "drawing": '<w:p><w:r><wp:inline><wp:docPr id="1"/></wp:inline></w:r></w:p>',
    "tab in static text": "<w:p><w:r><w:t>a\tb</w:t></w:r></w:p>",
    "element inside w:t": "<w:p><w:r><w:t><w:b/></w:t></w:r></w:p>",
}


@pytest.mark.parametrize("inner", GOOD)
def test_eligible_templates_render_like_the_round_trip(prepared: render.PreparedTemplate, inner: str) -> None:
    canonical = _analyse(prepared, inner)
    assert canonical is not None
    src = render._source(prepared.docxtpl, prepared.frame.body_tag + inner + "</w:body>")  # type: ignore[union-attr]
    fake = dataclasses.replace(prepared, body=render.jinja_env().from_string(src), canonical=canonical,
                               templated={}, raw_footnotes={})
    for context in [
        {"a": "", "rows": []}, {"a": 'x"\'&<>', "rows": ["", "1"]}, {"a": "a\nb", "rows": ["\n", "z"]},
        {"a": "FF00", "rows": ["", "", ""]}, {"a": "\t", "rows": ["\x01"]},
    ]:
        ours = rc.render_body(canonical, context, lambda data: render._post_bytes(prepared.docxtpl, data))
        today = _outcome(fake, context, canonical=False)
        if ours is not None:
            assert ours == today
        else:  # fallback: a control character (a newline in an attribute value included)
            assert any(c < " " for c in context["a"] + "".join(context["rows"]))
        assert _outcome(fake, context, canonical=True) == today


def test_an_optional_paragraph_content_is_collapsed(prepared: render.PreparedTemplate) -> None:
    canonical = _analyse(prepared, GOOD[1])
    assert canonical is not None and b"w:p" in canonical.empty_names
    out = rc.render_body(canonical, {"a": ""}, lambda data: render._post_bytes(prepared.docxtpl, data))
    assert out is not None and b"<w:p/></w:body>" in out


@pytest.mark.parametrize("case", sorted(BAD))
def test_templates_breaking_a_condition_are_ineligible(prepared: render.PreparedTemplate, case: str) -> None:
    assert _analyse(prepared, BAD[case]) is None
