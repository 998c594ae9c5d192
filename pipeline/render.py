"""Render an assessment into the Word report (docxtpl, sandboxed Jinja with autoescaping).

``render_docx(assessment, template=None) -> bytes`` is the stage function. Two paths give the same bytes:

* the *plain* path (:func:`render_docx_plain`) uses docxtpl as documented: load, render, save, then
  :func:`finalize`;
* the *fast* path (:func:`render_docx`, used everywhere) prepares the template once per process
  (docxtpl's XML patching and the Jinja compilation of every templated part, cached by template path and
  SHA-256) and per document only renders the compiled templates and writes the zip, copying unchanged
  parts as already-compressed bytes. A test checks both paths give identical bytes. For a template that
  meets the conditions of :mod:`pipeline.render_canonical` (checked once, at preparation), the body is
  rendered straight into lxml's serialised form instead of being parsed and serialised again; any input
  that could break the proof falls back to the parse.

:func:`finalize` makes the output deterministic and complete: core properties (title, subject, author,
keywords, category, created = modified = the document date), custom properties with the versions, the
machine-readable twin (:mod:`pipeline.docx_twin`), fixed zip timestamps and a stable member order.
Templates with macros or external relationships are refused; the only fields allowed are PAGE/NUMPAGES.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from docx.opc.oxml import parse_xml, serialize_part_xml
from docx.opc.part import XmlPart
from docxtpl import DocxTemplate
from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from lxml import etree

from pipeline import docx_twin, render_canonical, ziputil
from pipeline.errors import CatalogueError
from pipeline.models import Assessment
from pipeline.report_context import ReportContext, build_context, one_line

NOT_A_WORD_TEMPLATE = (
    "filen er ikke en gyldig Word-skabelon (.docx). Åbn den i Word, og gem den som 'Word-dokument (.docx)'."
)

__all__ = [
    "DEFAULT_TEMPLATE",
    "default_template",
    "finalize",
    "jinja_env",
    "prepare_template",
    "render_docx",
    "render_docx_plain",
]

_HERE = Path(__file__).resolve().parent
_CANDIDATES = (
    _HERE.parent / "docx_templates" / "konsekvensanalyse.docx",
    _HERE / "_bundled" / "docx_templates" / "konsekvensanalyse.docx",
)
DEFAULT_TEMPLATE = _CANDIDATES[0]

ZIP_TIME = (1980, 1, 1, 0, 0, 0)
HEADER_URI = DocxTemplate.HEADER_URI
FOOTER_URI = DocxTemplate.FOOTER_URI
CT_FOOTNOTES = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
CT_CUSTOM_PROPS = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
REL_CUSTOM_PROPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
CUSTOM_FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"
ALLOWED_FIELDS = ("PAGE", "NUMPAGES")


def default_template() -> Path:
    """The bundled template (source tree or installed package)."""
    for path in _CANDIDATES:
        if path.is_file():
            return path
    raise CatalogueError("Den indbyggede rapportskabelon (konsekvensanalyse.docx) mangler i installationen.")


# Every attribute name a plain dict has (a dict instance has no attributes of its own: all come from its class).
_DICT_ATTRIBUTES = frozenset(dir(dict))


class ReportEnvironment(SandboxedEnvironment):
    """The sandbox, with a shortcut for ``x.y`` on the plain dicts of the report context."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        # SandboxedEnvironment.getattr tries getattr(obj, attribute) first, which for a dict raises
        # AttributeError unless the name is one of dict's own attributes, and then returns obj[attribute].
        # Going straight to the key in exactly that case gives the same value without the exception.
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


@lru_cache(maxsize=1)
def jinja_env() -> SandboxedEnvironment:
    """The one Jinja environment for report templates: sandboxed, autoescaping, strict."""
    return ReportEnvironment(autoescape=True, undefined=StrictUndefined)


@lru_cache(maxsize=1)
def canonical_env() -> SandboxedEnvironment:
    """The environment of the canonical body (:mod:`pipeline.render_canonical`): the same sandbox; every
    output is escaped by its finalize exactly as autoescaping escapes it (so autoescape is off, not to
    escape twice), and attribute outputs go through the ``canon_attr`` filter."""
    env = ReportEnvironment(autoescape=False, undefined=StrictUndefined, finalize=render_canonical.finalize)
    env.filters["canon_attr"] = render_canonical.canon_attr
    return env


# --------------------------------------------------------------------------------------------
# Template preparation (once per process and template)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BodyFrame:
    """The serialized document part around its body, to parse a rendered body in place.

    Moving a separately parsed body into the document (as docxtpl does) makes lxml walk the whole tree
    to drop the body's namespace declarations that the document already has. Parsing the body inside
    the serialized document gives the same tree when the dropped declarations are known in advance:
    ``placed_tag`` is the body's start tag as it comes out of that move, measured once per template.
    """

    head: bytes  # everything before the body
    tail: bytes  # everything after it
    body_tag: str  # the body's start tag as the compiled template writes it
    placed_tag: bytes  # the same tag after the move


@dataclass
class PreparedTemplate:
    """A template ready for fast rendering."""

    path: Path
    sha256: str
    version: str
    docxtpl: DocxTemplate
    base_parts: dict[str, bytes]  # what python-docx saves for the unrendered template
    document_part: str
    body: Template
    templated: dict[str, Template] = field(default_factory=dict)  # header/footer part name -> template
    raw_footnotes: dict[str, Template] = field(default_factory=dict)  # non-XmlPart footnotes
    frame: BodyFrame | None = None  # for parsing the rendered body in place (None: move it in as docxtpl does)
    compressed: dict[str, tuple[bytes, int, bytes]] = field(default_factory=dict)  # name -> (raw, crc, deflated)
    canonical: render_canonical.CanonicalBody | None = None  # the body rendered without the lxml round trip


_PREPARED: dict[tuple[str, str], PreparedTemplate] = {}


def _template_error(path: Path, exc: Exception, where: str) -> CatalogueError:
    context = getattr(exc, "docx_context", None)
    lines = [one_line(x) for x in context if one_line(x)] if context else []
    detail = f" Tekst omkring fejlen: »{' / '.join(lines)[:300]}«" if lines else ""
    return CatalogueError(f"skabelonen har en fejl i {where}: {exc}.{detail}", path=str(path))


def _read_template(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CatalogueError(f"skabelonen kan ikke læses ({exc.strerror}).", path=str(path)) from exc


def _source(tpl: DocxTemplate, xml: str) -> str:
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", tpl.patch_xml(xml))


def _compile(tpl: DocxTemplate, path: Path, xml: str, where: str) -> Template:
    src = _source(tpl, xml)
    try:
        return jinja_env().from_string(src)
    except TemplateError as exc:
        if getattr(exc, "lineno", None):
            start = max(exc.lineno - 4, 0)  # type: ignore[attr-defined]
            exc.docx_context = [re.sub(r"<[^>]+>", "", x) for x in src.splitlines()[start : start + 7]]  # type: ignore[attr-defined]
        raise _template_error(path, exc, where) from exc


def check_package(parts: dict[str, bytes], path: Path) -> None:
    """Refuse macros and external relationships (the report must be inert)."""
    for name, data in parts.items():
        if name.lower().endswith(("vbaproject.bin", ".bin")) and "vba" in name.lower():
            raise CatalogueError("skabelonen indeholder makroer; det er ikke tilladt i en rapport.", path=str(path))
        if name.endswith(".rels") and b'TargetMode="External"' in data:
            raise CatalogueError(
                f"skabelonen har eksterne links eller eksterne billeder ({name}); det er ikke tilladt.", path=str(path)
            )
    if b"macroEnabled" in parts.get("[Content_Types].xml", b""):
        raise CatalogueError("skabelonen er makroaktiveret (.docm/.dotm); gem den som .docx.", path=str(path))


def _check_variables(tpl: DocxTemplate, path: Path) -> None:
    """Refuse a template that uses variables the context does not have (all named at once)."""
    from pipeline.template_check import template_parts, variable_problems

    problems, _used = variable_problems(tpl, template_parts(tpl))
    unknown = [p for p in problems if p.code == "unknown_variable"]
    if unknown:
        lines = "; ".join(f"{p.message.split(' findes')[0]} i »{p.context}«" if p.context else p.message for p in unknown)
        raise CatalogueError(
            f"skabelonen bruger variabler, som rapporten ikke kender: {lines}. "
            "Se docs/templates.md, eller kør 'aivurdering template-check'.",
            path=str(path),
        )


def _zip_parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def prepare_template(path: Path | None = None) -> PreparedTemplate:
    """Load, patch and compile a template once (cached by resolved path and SHA-256)."""
    path = Path(path or default_template()).resolve()
    raw = _read_template(path)
    sha = hashlib.sha256(raw).hexdigest()
    key = (str(path), sha)
    if key in _PREPARED:
        return _PREPARED[key]
    try:
        tpl = DocxTemplate(io.BytesIO(raw))
        tpl.init_docx()
        buf = io.BytesIO()
        tpl.docx.save(buf)
    except Exception as exc:  # python-docx raises many kinds for a foreign file
        raise CatalogueError(NOT_A_WORD_TEMPLATE, path=str(path)) from exc  # detail with --debug
    base = _zip_parts(buf.getvalue())
    check_package(base, path)
    _check_variables(tpl, path)
    doc_part = tpl.docx.part
    prepared = PreparedTemplate(
        path=path,
        sha256=sha,
        version=str(tpl.docx.core_properties.version or "").strip() or "ukendt",
        docxtpl=tpl,
        base_parts=base,
        document_part=str(doc_part.partname).lstrip("/"),
        body=_compile(tpl, path, tpl.get_xml(), "brødteksten"),
    )
    for uri, where in ((HEADER_URI, "sidehovedet"), (FOOTER_URI, "sidefoden")):
        for _rel, part in tpl.get_headers_footers(uri):
            name = str(part.partname).lstrip("/")
            prepared.templated[name] = _compile(tpl, path, tpl.get_part_xml(part), where)
    for part in tpl.docx.part.package.parts:
        if part.content_type == CT_FOOTNOTES and not isinstance(part, XmlPart):
            blob = part.blob.decode("utf-8") if isinstance(part.blob, bytes) else part.blob
            prepared.raw_footnotes[str(part.partname).lstrip("/")] = _compile(tpl, path, blob, "fodnoterne")
    for name, data in base.items():
        prepared.compressed[name] = (data, ziputil.crc32(data), _deflate(data, name))
    prepared.frame = _body_frame(base[prepared.document_part], tpl.get_xml())
    prepared.canonical = render_canonical.analyse(
        canonical_env(), _source(tpl, tpl.get_xml()), lambda xml: _post_utf8(tpl, xml), prepared.frame
    )
    _PREPARED[key] = prepared
    return prepared


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


_LISTING_CHARS = ("\t", "\a", "\n", "\f")
_LISTING_BYTES = tuple(c.encode() for c in _LISTING_CHARS)


def _post(tpl: DocxTemplate, xml: str) -> str:
    """docxtpl's post-processing of a rendered part (DocxTemplate.render_xml_part)."""
    # = re.sub(r"\n<w:p([ >])", r"<w:p\1", xml): the two patterns cannot overlap or create each other
    xml = xml.replace("\n<w:p ", "<w:p ").replace("\n<w:p>", "<w:p>")
    xml = xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
    if not any(c in xml for c in _LISTING_CHARS):
        return xml  # resolve_listing only rewrites these characters: identity without them
    return str(tpl.resolve_listing(xml))


def _post_utf8(tpl: DocxTemplate, xml: str) -> bytes:
    """``_post(tpl, xml).encode("utf-8")``, with the replacements and checks done on the UTF-8 bytes.

    Every pattern is ASCII, and in UTF-8 an ASCII byte only ever stands for that character, so replacing
    in the bytes is replacing in the text; bytes are half the size of this text and searched faster.
    """
    return _post_bytes(tpl, xml.encode("utf-8"))


def _post_bytes(tpl: DocxTemplate, data: bytes) -> bytes:
    """:func:`_post_utf8` for text already encoded as UTF-8."""
    lines = data.split(b"\n")
    if all(line.startswith((b"<w:p ", b"<w:p>")) for line in lines[1:]):
        data = b"".join(lines)  # every newline starts "\n<w:p " or "\n<w:p>": the replacements remove them all
    else:
        data = data.replace(b"\n<w:p ", b"<w:p ").replace(b"\n<w:p>", b"<w:p>")
    if b"{" in data or b"}" in data:  # each pattern has a brace: without one, nothing to replace
        data = data.replace(b"{_{", b"{{").replace(b"}_}", b"}}").replace(b"{_%", b"{%").replace(b"%_}", b"%}")
    if not any(c in data for c in _LISTING_BYTES):
        return data
    return str(tpl.resolve_listing(data.decode("utf-8"))).encode("utf-8")


def _render(template: Template, context: dict[str, Any], path: Path, where: str) -> str:
    try:
        return template.render(context)
    except TemplateError as exc:
        raise _template_error(path, exc, where) from exc


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"


def _row_span(row: Any) -> int:
    """The columns a table row spans (as docxtpl's fix_tables counts them)."""
    total = 0
    for cell in row.findall(_W + "tc"):
        tc_pr = cell.find(_W + "tcPr")
        grid_span = None if tc_pr is None else tc_pr.find(_W + "gridSpan")
        total += 1 if grid_span is None else int(grid_span.get(_W + "val"))
    return total


def _tables_fit(tree: Any) -> bool:
    """True when docxtpl's fix_tables would leave every table unchanged.

    fix_tables adds grid columns when a row has more cells than the grid, and removes them when no row
    spans the whole grid; with neither, it changes nothing. Anything unusual (no grid, odd values) is
    left to docxtpl.
    """
    for table in tree.iter(_W + "tbl"):
        grid = table.find(_W + "tblGrid")
        if grid is None:
            return False
        columns = len(grid.findall(_W + "gridCol"))
        spans_grid = False
        for row in table.iter(_W + "tr"):
            # A row has at most len(row) cells, one less when its first child is not a cell (w:trPr): count
            # them (findall, as fix_tables does) only when that bound exceeds the grid.
            children = len(row)
            bound = children - (children > 0 and row[0].tag != _W + "tc")
            if bound > columns and len(row.findall(_W + "tc")) > columns:
                return False
            if not spans_grid:
                spans_grid = _row_span(row) >= columns
        if not spans_grid:
            return False
    return True


def _fix_tables(tpl: DocxTemplate, body: str) -> Any:
    """docxtpl's fix_tables(body), parsing only once when it would change nothing (the usual case)."""
    try:
        tree = etree.fromstring(body, parser=etree.XMLParser(recover=True))  # the parser fix_tables uses
        if tree.nsmap.get("w") == _W[1:-1] and _tables_fit(tree):
            return tree
    except (ValueError, TypeError, etree.LxmlError):
        pass  # docxtpl raises (or repairs) as it always did
    return tpl.fix_tables(body)


def _body_frame(document: bytes, body_xml: str) -> BodyFrame | None:
    """The frame for in-place parsing, or None when lxml's move could rename prefixes (then we move)."""
    root = parse_xml(document)  # type: ignore[arg-type]
    moved = etree.fromstring(body_xml, parser=etree.XMLParser(recover=True))
    outer = list(root.nsmap.items())
    for prefix, uri in moved.nsmap.items():  # lxml drops a declaration whose URI the document declares (any prefix)
        declared = [x for x, u in outer if u == uri]
        if declared and declared != [prefix]:
            return None
    end = body_xml.find(">") + 1
    if moved.tag != _W + "body" or not body_xml.startswith("<w:body") or body_xml[end - 2] == "/":
        return None
    old = root.find(_W + "body")
    if old is None or old.getparent() is not root:
        return None
    root.replace(old, moved)
    data = serialize_part_xml(root)
    start = data.find(b"<w:body")
    tag_end = data.find(b">", start) + 1
    close = data.rfind(b"</w:body>") + len(b"</w:body>")
    if start < 0 or close < tag_end or data.count(b"<w:body") != 1:
        return None
    return BodyFrame(data[:start], data[close:], body_xml[:end], data[start:tag_end])


_STRICT = etree.XMLParser()  # lxml's defaults, as docxtpl's recovering parser has them


def _in_place(frame: BodyFrame | None, body: str | bytes) -> tuple[Any, Any] | None:
    """(document root, body) parsed in place; None when the fast path does not apply."""
    if frame is None:
        return None
    body = body.encode("utf-8") if isinstance(body, str) else body
    tag = frame.body_tag.encode("utf-8")
    if not body.startswith(tag):
        return None
    content = body[len(tag) :]
    if b"xmlns" in content:
        return None  # the move also drops inner declarations the document has: leave that to lxml
    data = frame.head + frame.placed_tag + content + frame.tail
    try:
        root = etree.fromstring(data, parser=_STRICT)  # well-formed: the same tree as with recover=True
    except etree.XMLSyntaxError:
        return None
    tree = root.find(_W + "body")
    if tree is None or not _tables_fit(tree):
        return None
    return root, tree


def _render_fast(p: PreparedTemplate, context: dict[str, Any]) -> dict[str, bytes]:
    parts = dict(p.base_parts)
    tpl = p.docxtpl
    document = None
    if p.canonical is not None:  # the round trip's bytes without the round trip (None: not provably equal)
        document = render_canonical.render_body(p.canonical, context, lambda data: _post_bytes(tpl, data))
    if document is not None:
        parts[p.document_part] = document
    else:
        _render_body(p, context, parts)
    for name, template in p.templated.items():
        xml = _post(tpl, _render(template, context, p.path, name))
        parts[name] = serialize_part_xml(parse_xml(xml.encode("utf-8")))  # type: ignore[arg-type]
    for name, template in p.raw_footnotes.items():
        parts[name] = _post_utf8(tpl, _render(template, context, p.path, name))
    return parts


def _render_body(p: PreparedTemplate, context: dict[str, Any], parts: dict[str, bytes]) -> None:
    """The body rendered, parsed (in place when possible) and serialised into ``parts``."""
    tpl = p.docxtpl
    body = _post_utf8(tpl, _render(p.body, context, p.path, "brødteksten"))
    placed = _in_place(p.frame, body)
    if placed is not None:
        root, tree = placed
    else:
        tree = _fix_tables(tpl, body.decode("utf-8"))
    ids = 1000
    # An element named docPr has that name written in its tag: without it in the text, the search finds nothing.
    drawings = tree.xpath(".//wp:docPr", namespaces={"wp": _WP}) if b"docPr" in body else []
    for elt in drawings:
        ids += 1
        elt.attrib["id"] = str(ids)
    if placed is None:
        root = parse_xml(p.base_parts[p.document_part])  # type: ignore[arg-type]  # bytes keep the XML declaration
        root.replace(root.find(_W + "body"), tree)
    parts[p.document_part] = serialize_part_xml(root)


def _context(assessment: Assessment, p: PreparedTemplate) -> tuple[Assessment, ReportContext]:
    versions = assessment.versions.model_copy(update={"template": p.version, "template_sha256": p.sha256})
    stamped = assessment.model_copy(update={"versions": versions})
    return stamped, build_context(stamped)


def render_docx(assessment: Assessment, *, template: Path | None = None) -> bytes:
    """The report as .docx bytes (fast path; byte-identical to :func:`render_docx_plain`)."""
    p = prepare_template(template)
    stamped, ctx = _context(assessment, p)
    parts = _render_fast(p, ctx.model_dump())
    return finalize(parts, stamped, ctx, compressed=p.compressed)


def render_docx_plain(assessment: Assessment, *, template: Path | None = None) -> bytes:
    """Reference path: docxtpl load + render + save, then :func:`finalize`."""
    p = prepare_template(template)
    stamped, ctx = _context(assessment, p)
    tpl = DocxTemplate(io.BytesIO(p.path.read_bytes()))
    try:
        tpl.render(ctx.model_dump(), jinja_env=jinja_env(), autoescape=True)
    except TemplateError as exc:
        raise _template_error(p.path, exc, "skabelonen") from exc
    buf = io.BytesIO()
    tpl.save(buf)
    return finalize(_zip_parts(buf.getvalue()), stamped, ctx)


# --------------------------------------------------------------------------------------------
# Finalisation: metadata, twin, deterministic zip
# --------------------------------------------------------------------------------------------


def _core_xml(ctx: ReportContext) -> bytes:
    d = ctx.doc
    stamp = f"{d.date_iso}T00:00:00Z"
    keywords = f"Sagsnr. {d.case_number}; KLE {d.kle}"
    fields = [
        ("dc:title", d.title),
        ("dc:subject", f"Konsekvensanalyse af AI-system: {d.system_name}"),
        ("dc:creator", d.authority),
        ("cp:keywords", keywords),
        ("cp:category", "Konsekvensanalyse (AI, databeskyttelse)"),
        ("dc:description", f"{ctx.summary.risk_class}. {ctx.summary.overall}"),
        ("cp:lastModifiedBy", d.authority),
        ("cp:revision", "1"),
        ("cp:contentStatus", d.status),
        ("cp:version", d.version),
        ("dc:language", "da-DK" if ctx.lang == "da" else "en-GB"),
    ]
    body = "".join(f"<{tag}>{escape(value)}</{tag}>" for tag, value in fields)
    body += f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
    body += f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
    return (
        "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"{body}</cp:coreProperties>"
    ).encode()


def custom_properties(ctx: ReportContext) -> dict[str, str]:
    v = ctx.versions
    return {
        "aivurdering.tool": v.tool,
        "aivurdering.question_catalogue": v.question_catalogue,
        "aivurdering.question_catalogue_sha256": v.question_catalogue_sha256,
        "aivurdering.criteria_catalogue": v.criteria_catalogue,
        "aivurdering.criteria_catalogue_sha256": v.criteria_catalogue_sha256,
        "aivurdering.template": v.template,
        "aivurdering.template_sha256": v.template_sha256,
        "aivurdering.input_sha256": v.input_sha256,
        "aivurdering.case_number": ctx.doc.case_number,
        "aivurdering.kle": ctx.doc.kle,
        "aivurdering.risk_class": ctx.ai_act.risk_class_code,
        "aivurdering.status": ctx.doc.status,
    }


def _custom_xml(ctx: ReportContext) -> bytes:
    props = "".join(
        f'<property fmtid="{CUSTOM_FMTID}" pid="{n}" name="{escape(k)}"><vt:lpwstr>{escape(v)}</vt:lpwstr></property>'
        for n, (k, v) in enumerate(custom_properties(ctx).items(), start=2)
    )
    return (
        "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
        'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        f"{props}</Properties>"
    ).encode()


def finalize(
    parts: dict[str, bytes],
    assessment: Assessment,
    ctx: ReportContext,
    *,
    compressed: dict[str, tuple[bytes, int, bytes]] | None = None,
) -> bytes:
    """Metadata, twin and a deterministic zip (shared by both render paths)."""
    parts = dict(parts)
    parts["docProps/core.xml"] = _core_xml(ctx)
    parts["docProps/custom.xml"] = _custom_xml(ctx)
    parts["[Content_Types].xml"] = docx_twin.add_override(
        parts["[Content_Types].xml"], "/docProps/custom.xml", CT_CUSTOM_PROPS
    )
    docx_twin.add_package_rel(parts, "_rels/.rels", REL_CUSTOM_PROPS, "docProps/custom.xml")
    docx_twin.embed(parts, assessment)
    return write_zip(parts, compressed or {})


_FAST_PARTS = ("word/document", "word/header", "word/footer", "word/footnotes", "docProps/", "customXml/")


def _deflate(data: bytes, name: str = "") -> bytes:
    """Raw deflate; parts rendered per document use a faster level (a function of the name only)."""
    return ziputil.deflate(data, 1 if name.startswith(_FAST_PARTS) else 6)


# Small parts that finalize derives from the template alone (content types, relationships, the twin's item
# properties): the same bytes for every report made with one template.
_PLUMBING = ("[Content_Types].xml", "_rels/", "word/_rels/", "customXml/_rels/", "customXml/itemProps")


@lru_cache(maxsize=32)  # keyed by the bytes themselves (and the name, which sets the level): never stale
def _crc_deflate(data: bytes, name: str) -> tuple[int, bytes]:
    return ziputil.crc32(data), _deflate(data, name)


def write_zip(parts: dict[str, bytes], compressed: dict[str, tuple[bytes, int, bytes]]) -> bytes:
    """Deterministic zip (fixed time, stable order) re-using the template's compressed parts."""
    first = [n for n in ("[Content_Types].xml", "_rels/.rels") if n in parts]
    order = first + sorted(n for n in parts if n not in first)
    entries = []
    for name in order:
        data = parts[name]
        cached = compressed.get(name)
        if cached is not None and cached[0] == data:
            crc, deflated = cached[1], cached[2]
        elif name.startswith(_PLUMBING):
            crc, deflated = _crc_deflate(data, name)
        else:
            crc, deflated = ziputil.crc32(data), _deflate(data, name)  # zlib-ng: the same CRC-32 as zlib.crc32, faster
        entries.append(ziputil.ZipEntry(name, deflated, crc, len(data), date_time=ZIP_TIME))
    return ziputil.write_zip(entries)


def undeclared_variables(p: PreparedTemplate) -> set[str]:
    """Top-level variables the template uses that the context does not offer."""
    from jinja2 import meta

    env = jinja_env()
    names: set[str] = set()
    for tmpl_src in _sources(p):
        names |= meta.find_undeclared_variables(env.parse(tmpl_src))
    return names - set(ReportContext.model_fields)


def _sources(p: PreparedTemplate) -> list[str]:
    tpl = p.docxtpl
    out = [tpl.patch_xml(tpl.get_xml())]
    for uri in (HEADER_URI, FOOTER_URI):
        out.extend(tpl.patch_xml(tpl.get_part_xml(part)) for _r, part in tpl.get_headers_footers(uri))
    return out
