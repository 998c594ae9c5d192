"""Render the document body straight into lxml's serialised form (no parse + serialise round trip).

The fast render path (``pipeline.render._render_body``) renders the body with Jinja, parses the result
in place inside the document part and serialises it again; for a well-formed document that round trip only
*canonicalises* the text: markupsafe's ``&#34;``/``&#39;`` become ``"``/``'`` in text (``&quot;``/``'`` in
attribute values) and an element with nothing inside, ``<x …></x>``, becomes ``<x …/>``.

**Theorem.** Let the body template meet the conditions checked once per template by :func:`analyse`:

1. the Jinja AST has only ``TemplateData``, ``Output``, ``If``, ``For`` and plain expressions (names,
   attributes, items, constants, ``and``/``or``/``not``, comparisons): no filters (``|safe``), calls,
   macros, ``set``/``call``/``filter`` blocks, includes or autoescape blocks — so every output passes
   through :func:`finalize`, which escapes it exactly as autoescaping does (a value with ``__html__`` is
   refused at render time);
2. every output sits either in element text directly inside a ``w:t`` (which has no child elements), or
   inside a double-quoted attribute value; never inside a tag name, between attributes or inside an entity
   reference;
3. every ``{% if %}``/``{% elif %}``/``{% else %}``/``{% for %}`` body starts and ends outside any tag and
   closes exactly the elements it opens — so any number of repetitions or omissions stays well-formed and
   leaves every other element's nesting unchanged;
4. the static text has no ``&#`` (so ``&#34;``/``&#39;`` in the output can only come from escaped values in
   text), no comment, CDATA, processing instruction or ``xmlns``, no tab/control characters and no newline
   except the ones docxtpl's compilation puts before ``<w:p``;
5. the *skeleton* — the body with every output replaced by ``x`` and every block taken once, post-processed
   as docxtpl does, inside the serialised document frame — comes out of lxml's round trip unchanged, so
   every static start tag, end tag and text piece is already in serialised form;
6. tables: every ``w:tbl`` has a static grid of C columns, no block sits directly inside a ``w:tr`` (so a
   row's cells are static), no row has more than C cells, and a row outside any block of the table spans
   at least C columns — so docxtpl's fix_tables (and the fast path's ``_tables_fit``) changes nothing.

Then for every context whose rendered body has no C0 control character except ``\\n`` (no ``\\t``, ``\\r``,
``\\a``, ``\\f``), no U+FFFE/U+FFFF, no ``xmlns`` and no ``docPr`` in the body, whose attribute values have
no whitespace control characters and which renders without error: the round trip's bytes equal
``frame.head + frame.placed_tag + collapse(canon(post(render))) + frame.tail``, where ``canon`` replaces
``&#34;``/``&#39;`` by ``"``/``'`` (attribute outputs are escaped the serialised way by the ``canon_attr``
filter) and ``collapse`` writes ``<x …/>`` for ``<x …></x>`` for the names that can become empty (found in
step 3's walk; plus ``w:t``, which docxtpl's newline handling can leave empty).

Why: the output is a concatenation of static pieces (canonical by 5, in the same lexical context by 2–3)
and escaped values; text and attribute escaping is character by character, so the concatenation is
canonical — except where an element's content vanished, which ``collapse`` handles. docxtpl's replacements
(``\\n<w:p``, ``{_{`` …) involve none of the characters that differ (``& # ; " '``), so they act alike on
both renderings; its newline handling inserts ``</w:t><w:br/><w:t xml:space="preserve">`` inside a
``w:t`` (balanced, canonical). Anything else falls back to the round trip (:func:`render_body` returns
None), which gives exactly today's bytes or today's error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import markupsafe
from docx.opc.oxml import serialize_part_xml
from jinja2 import Template, nodes
from lxml import etree

__all__ = ["CanonicalBody", "analyse", "canon_attr", "collapse", "finalize", "render_body", "unescape_quotes"]


class NotCanonical(Exception):
    """A value the canonical path cannot prove equal (the caller falls back to the round trip)."""


class _Escaped(str):
    """An attribute value escaped by :func:`canon_attr`."""


def _markupsafe_escape(text: str) -> str:
    return str(markupsafe.escape(text))


# markupsafe's own escaping of a str (its C speed-up when built), without building a Markup around it:
# ``escape(s)`` is ``Markup(_escape_inner(s))``. A test checks both agree.
_escape: Callable[[str], str] = getattr(markupsafe, "_escape_inner", _markupsafe_escape)


def finalize(value: Any) -> str:
    """Every output of the canonical template, escaped exactly as autoescaping would escape it.

    The canonical environment has autoescape off and escapes here instead (one C call per output instead of
    markupsafe's ``escape`` + ``Markup``): the body template has no construct that writes output without
    finalize (see :func:`analyse`). A value with ``__html__`` (which autoescaping would insert unescaped) is
    refused; canon_attr's result is already escaped.
    """
    if value.__class__ is str:
        return _escape(value)
    if value.__class__ is _Escaped:
        return value
    if hasattr(value, "__html__"):
        raise NotCanonical("markup value")
    return _escape(str(value))  # as markupsafe.escape does for any other object


_ATTR_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
_ATTR_REFUSED = re.compile(r"[\x00-\x1f\ufffe\uffff\ud800-\udfff]")


def canon_attr(value: Any) -> _Escaped:
    """An attribute value as lxml writes it (``& < > "`` escaped, ``'`` literal); whitespace controls refused.

    (lxml's parser turns \\t \\n \\r in an attribute value into spaces; we do not reproduce that.)
    """
    if hasattr(value, "__html__"):
        raise NotCanonical("markup value")
    text = str(value)
    if _ATTR_REFUSED.search(text):
        raise NotCanonical("control character in an attribute value")
    return _Escaped(text.translate(_ATTR_ESCAPES))


_EXPRESSIONS = (nodes.Name, nodes.Getattr, nodes.Getitem, nodes.Const, nodes.And, nodes.Or, nodes.Not,
                nodes.Compare, nodes.Operand)
_STATEMENTS = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.If, nodes.For)


@dataclass(frozen=True)
class CanonicalBody:
    """What :func:`render_body` needs; lives on the PreparedTemplate (derived from its content only)."""

    template: Template  # the body, with attribute outputs through canon_attr and finalize on every output
    body_tag: bytes
    head: bytes  # frame.head + frame.placed_tag
    tail: bytes
    empty_names: tuple[bytes, ...]  # element names that can be rendered with nothing inside


class _Ineligible(Exception):
    pass


def _events(node: nodes.Node, out: list[tuple[Any, ...]]) -> None:
    """Flatten the AST into ("data", text) / ("out", Output, index) / ("open",) / ("close",) in source order."""
    if not isinstance(node, _STATEMENTS):
        raise _Ineligible(f"{type(node).__name__} block")
    if isinstance(node, nodes.Template):
        for child in node.body:
            _events(child, out)
    elif isinstance(node, nodes.Output):
        for i, child in enumerate(node.nodes):
            if isinstance(child, nodes.TemplateData):
                out.append(("data", child.data))
            else:
                for sub in (child, *child.find_all(nodes.Node)):
                    if not isinstance(sub, _EXPRESSIONS):
                        raise _Ineligible(f"{type(sub).__name__} in an output")
                out.append(("out", node, i))
    elif isinstance(node, (nodes.If, nodes.For)):
        if isinstance(node, nodes.For):
            if node.recursive:
                raise _Ineligible("recursive loop")
            tests = [node.target, node.iter, *([node.test] if node.test else [])]
            blocks = [node.body, node.else_]
        else:
            tests = [node.test, *(x.test for x in node.elif_)]
            blocks = [node.body, *(x.body for x in node.elif_), node.else_]
        for test in tests:
            for sub in (test, *test.find_all(nodes.Node)):
                if not isinstance(sub, (*_EXPRESSIONS, nodes.Tuple)):
                    raise _Ineligible(f"{type(sub).__name__} in a condition")
        for body in blocks:
            out.append(("open",))
            for child in body:
                _events(child, out)
            out.append(("close",))
    else:  # TemplateData outside an Output does not occur in Jinja's AST
        raise _Ineligible(type(node).__name__)


_NAME_END = frozenset(" \t\r\n/>")


@dataclass
class _Element:
    name: str
    depth: int  # block depth at its start tag
    filled: bool = False  # has content outside any block (so it is never empty)
    cells: int = 0  # w:tr: w:tc children; w:tbl: grid columns
    span: int = 0  # w:tr: columns spanned
    grid: int = -1  # w:tbl: number of w:gridCol (-1: no grid seen); w:tc: 0 gridSpan seen, 1 with its value
    spanned: bool = False  # w:tbl: a sure row spans the grid


def _walk(events: list[tuple[Any, ...]]) -> tuple[set[int], set[str]]:
    """Lexical walk over the static text (conditions 2, 3, 4, 6): (attribute outputs, names that can be empty)."""
    stack: list[_Element] = []
    block_heights: list[int] = []
    state = "content"  # content | tagname | tag | attr
    in_ref = False
    tag = ""
    closing = False
    attr_outputs: set[int] = set()
    empty: set[str] = set()
    pending: _Element | None = None
    for n, ev in enumerate(events):
        kind = ev[0]
        if kind == "out":
            if in_ref:
                raise _Ineligible("output inside an entity reference")
            if state == "attr":
                attr_outputs.add(n)
                if pending is not None and pending.name in ("w:gridSpan", "w:gridCol"):
                    raise _Ineligible("output in a table grid")
            elif state == "content":
                if not stack or stack[-1].name != "w:t":
                    raise _Ineligible("output outside w:t text")
            else:
                raise _Ineligible("output inside a tag")
            continue
        if kind in ("open", "close"):
            if state != "content" or in_ref:
                raise _Ineligible("block inside a tag")
            if stack and stack[-1].name == "w:tr":
                raise _Ineligible("block at cell level in a table row")
            if kind == "open":
                block_heights.append(len(stack))
            elif block_heights.pop() != len(stack):
                raise _Ineligible("unbalanced block")
            continue
        text = ev[1]
        i = 0
        while i < len(text):
            c = text[i]
            if state == "content":
                j = text.find("<", i)
                run = text[i:] if j < 0 else text[i:j]
                if run:
                    if stack and stack[-1].depth == len(block_heights):
                        stack[-1].filled = True
                    if stack and stack[-1].name in ("w:tr", "w:tbl", "w:tblGrid"):
                        raise _Ineligible("text in a table structure")
                    amp, semi = run.rfind("&"), run.rfind(";")
                    in_ref = amp > semi or (in_ref and semi < 0)
                if j < 0:
                    break
                if in_ref:
                    raise _Ineligible("unterminated entity reference")
                if text.startswith(("<!", "<?"), j):
                    raise _Ineligible("comment, CDATA or processing instruction")
                closing = text.startswith("</", j)
                i = j + (2 if closing else 1)
                tag = ""
                state = "tagname"
                continue
            if state == "tagname":
                if c in _NAME_END:
                    if not tag:
                        raise _Ineligible("empty tag name")
                    state = "tag"
                    if closing:
                        if not stack or stack[-1].name != tag:
                            raise _Ineligible(f"end tag {tag} does not match")
                        if block_heights and len(stack) <= block_heights[-1]:
                            raise _Ineligible("a block closes an element it did not open")
                        _end(stack, empty, len(block_heights))
                    else:
                        if stack and stack[-1].name == "w:t":
                            raise _Ineligible("element inside w:t")
                        if stack and stack[-1].depth == len(block_heights):
                            stack[-1].filled = True
                        pending = _Element(tag, len(block_heights))
                        _start(stack, pending, len(block_heights))
                        stack.append(pending)
                    continue  # re-read c in state "tag"
                tag += c
                i += 1
                continue
            if state == "tag":
                if c == '"':
                    state = "attr"
                    if pending is not None and pending.name == "w:gridSpan" and text.endswith("w:val=", 0, i):
                        k = text.find('"', i + 1)
                        if k < 0:
                            raise _Ineligible("gridSpan value not static")
                        _gridspan(stack, text[i + 1 : k])
                elif c == "'":
                    raise _Ineligible("single-quoted attribute")
                elif c == "/" and text.startswith("/>", i):
                    if closing:
                        raise _Ineligible("bad end tag")
                    if stack.pop().name == "w:tbl":  # self-closing: nothing inside
                        raise _Ineligible("table without a grid")
                    pending = None
                    state = "content"
                    i += 2
                    continue
                elif c == ">":
                    state = "content"
                    pending = None
                i += 1
                continue
            if state == "attr":
                k = text.find('"', i)
                value = text[i:] if k < 0 else text[i:k]
                if "&" in value and value.rfind("&") > value.rfind(";"):
                    raise _Ineligible("unterminated entity reference in an attribute")
                if k < 0:
                    break
                state = "tag"
                i = k + 1
                continue
    if stack or block_heights or state != "content":
        raise _Ineligible("unbalanced body")
    return attr_outputs, empty


def _start(stack: list[_Element], el: _Element, depth: int) -> None:
    parent = stack[-1] if stack else None
    if el.name == "w:tc":
        if parent is None or parent.name != "w:tr":
            return
        parent.cells += 1
        parent.span += 1  # corrected by a gridSpan
    elif el.name == "w:gridCol":
        if parent is not None and parent.name == "w:tblGrid" and len(stack) >= 2 and stack[-2].name == "w:tbl":
            if parent.depth != depth or stack[-2].depth != depth:
                raise _Ineligible("table grid inside a block")
            stack[-2].grid = max(stack[-2].grid, 0) + 1
    elif el.name == "w:gridSpan" and parent is not None and parent.name == "w:tcPr" and len(stack) >= 2:
        stack[-2].grid = 0  # on the w:tc: a gridSpan whose static w:val _gridspan must find (else fix_tables fails)
    elif el.name == "w:tblGrid" and parent is not None and parent.name == "w:tbl":
        if parent.grid >= 0:
            raise _Ineligible("two table grids")
        parent.grid = 0


def _gridspan(stack: list[_Element], value: str) -> None:
    # stack: … w:tr, w:tc, w:tcPr, w:gridSpan (the last being the element whose attribute this is)
    if len(stack) >= 4 and stack[-2].name == "w:tcPr" and stack[-3].name == "w:tc" and stack[-4].name == "w:tr":
        if not value.isdigit() or stack[-1].depth != stack[-4].depth or stack[-3].span:
            raise _Ineligible("unusual gridSpan")
        stack[-3].span = 1  # this cell has its gridSpan (fix_tables reads only the first)
        stack[-3].grid = 1  # … with its value
        stack[-4].span += int(value) - 1


def _end(stack: list[_Element], empty: set[str], depth: int) -> None:
    el = stack.pop()
    if not el.filled:
        empty.add(el.name)
    if el.name == "w:tr":
        tables = [x for x in stack if x.name == "w:tbl"]
        for t in tables:  # _tables_fit counts every row below a table, nested tables' rows included
            if t.grid < 0 or el.cells > t.grid:
                raise _Ineligible("row with more cells than the grid")
        if tables and el.depth == tables[-1].depth and el.span >= tables[-1].grid:
            tables[-1].spanned = True
        for t in tables[:-1]:
            if el.depth == t.depth and el.span >= t.grid:
                t.spanned = True
    elif el.name == "w:tc" and el.grid == 0:
        raise _Ineligible("gridSpan without a static w:val")
    elif el.name == "w:tbl" and (el.grid < 0 or not el.spanned):
        raise _Ineligible("table without a sure row spanning its grid")


def _wrap_attr_outputs(events: list[tuple[Any, ...]], attr_outputs: set[int]) -> None:
    for n in attr_outputs:
        _kind, output, index = events[n]
        expr = output.nodes[index]
        output.nodes[index] = nodes.Filter(expr, "canon_attr", [], [], None, None, lineno=expr.lineno)


def analyse(env: Any, source: str, post: Any, frame: Any) -> CanonicalBody | None:
    """The canonical form of a body template, or None when the theorem's conditions do not hold.

    ``env``: a sandboxed environment with :func:`finalize` and the ``canon_attr`` filter
    (``pipeline.render.canonical_env``); ``post``: docxtpl's post-processing to bytes; ``frame``: the BodyFrame.
    """
    if frame is None or env.finalize is not finalize or not env.sandboxed:
        return None
    try:
        ast = env.parse(source)
        events: list[tuple[Any, ...]] = []
        _events(ast, events)
        static = "".join(ev[1] for ev in events if ev[0] == "data")
        stripped = static.replace("\n<w:p ", "<w:p ").replace("\n<w:p>", "<w:p>")
        if "&#" in static or "xmlns" in stripped[len(frame.body_tag):] or "docPr" in static:
            return None
        if re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\ufffe\uffff]|\n", stripped):
            return None
        # docxtpl's compilation puts a newline before every <w:p and its post-processing removes it again: the
        # canonical template leaves it out (a value cannot add "\n<w:p": it sits in a w:t, followed by </w:t>).
        for node in ast.find_all(nodes.TemplateData):
            node.data = node.data.replace("\n<w:p ", "<w:p ").replace("\n<w:p>", "<w:p>")
        data = [(ev[0], ev[1].replace("\n<w:p ", "<w:p ").replace("\n<w:p>", "<w:p>")) if ev[0] == "data" else ev
                for ev in events]
        attr_outputs, empty = _walk(data)
        if "w:body" in empty:  # its start tag is in the frame, out of collapse's reach
            return None
        # Condition 5: the skeleton round-trips unchanged.
        skeleton = "".join(ev[1] if ev[0] == "data" else "x" if ev[0] == "out" else "" for ev in data)
        body = post(skeleton)
        tag = frame.body_tag.encode("utf-8")
        if not body.startswith(tag):
            return None
        doc = frame.head + frame.placed_tag + body[len(tag) :] + frame.tail
        if bytes(serialize_part_xml(etree.fromstring(doc, parser=etree.XMLParser()))) != doc:
            return None
        _wrap_attr_outputs(events, attr_outputs)
        template = env.from_string(ast)
    except (_Ineligible, etree.LxmlError, ValueError):
        return None
    names = sorted(empty | {"w:t"})
    return CanonicalBody(template, tag, frame.head + frame.placed_tag, frame.tail, tuple(x.encode() for x in names))


_REFUSED = bytes(range(0x20)).replace(b"\n", b"")  # C0 controls except \n


def collapse(data: bytes, names: tuple[bytes, ...]) -> bytes:
    """``<x …></x>`` → ``<x …/>`` for the given names, in canonical-except-empties XML."""
    for name in names:
        end = b"></" + name + b">"
        at = data.find(end)
        if at < 0:
            continue
        pieces = []
        last = 0
        while at >= 0:
            lt = data.rfind(b"<", 0, at)
            # A start tag (not an end tag, not self-closing) right before the end tag: that element is empty.
            # In canonical text '<' and '>' only stand for markup (text and attributes escape them).
            if data[lt + 1 : lt + 2] != b"/" and data[at - 1 : at] != b"/":
                pieces.append(data[last:at])
                pieces.append(b"/>")
                last = at + len(end)
            at = data.find(end, at + 1)
        pieces.append(data[last:])
        data = b"".join(pieces)
    return data


def render_body(c: CanonicalBody, context: dict[str, Any], post: Any) -> bytes | None:
    """The serialised document part, or None to fall back to the round trip.

    ``post``: docxtpl's post-processing of the rendered body's UTF-8 bytes.
    """
    try:
        text = c.template.render(context)
    except Exception:  # noqa: BLE001 - any failure: the round trip reproduces today's result or error
        return None
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: today's path raises the same
        return None
    # \t \a \f \r and the other C0 controls (not \n), U+FFFE, U+FFFF: docxtpl's markup for them or lxml's
    # refusal is left to the round trip. (A check on the bytes: far faster than a regex over the text.)
    if len(data.translate(None, _REFUSED)) != len(data) or "\ufffe" in text or "\uffff" in text:
        return None
    try:
        data = post(data)
    except Exception:  # noqa: BLE001 - the round trip reproduces today's result or error
        return None
    if not data.startswith(c.body_tag):
        return None
    content = data[len(c.body_tag) :]
    if b"xmlns" in content or b"docPr" in content:
        return None  # the round trip handles namespace declarations and drawings
    return c.head + collapse(unescape_quotes(content), c.empty_names) + c.tail


def unescape_quotes(data: bytes) -> bytes:
    """markupsafe's ``&#34;``/``&#39;`` as lxml writes them in text: ``"``/``'``.

    Only text has them: the static text has no ``&#`` and attribute outputs go through :func:`canon_attr`.
    """
    if b"&#34;" in data:
        data = data.replace(b"&#34;", b'"')
    if b"&#39;" in data:
        data = data.replace(b"&#39;", b"'")
    return data
