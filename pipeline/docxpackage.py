"""Checks and final touches on the .docx before it is journaled.

* :func:`finalize_docx` rewrites ``docProps/core.xml`` from the journal metadata (so the document and the
  sidecar files agree), unwraps hyperlinks to external targets (the text stays; the link goes), drops an
  external ``attachedTemplate`` reference and a ``w:updateFields`` request. The zip is rebuilt
  deterministically (same entry order, dates and compression), so the same input gives the same bytes.
* :func:`inspect_docx` lists what must never be in a journaled document: macros (``vbaProject``, macro
  content types), external relationships (``TargetMode="External"``), embedded OLE objects, tracked
  changes, and live fields other than PAGE and NUMPAGES (a DATE field would show a new date on every
  opening). :func:`finalize_docx` refuses a document with any of these.
"""

from __future__ import annotations

import functools
import io
import re
import zipfile
from collections.abc import Callable, Iterable
from typing import ParamSpec, TypeVar

import ahocorasick_rs
from lxml import etree

from pipeline import ziputil
from pipeline.errors import CatalogueError
from pipeline.metadata import CoreProperties

__all__ = ["ALLOWED_FIELDS", "finalize_docx", "inspect_docx", "read_core_properties"]

ALLOWED_FIELDS = frozenset({"PAGE", "NUMPAGES"})
P = ParamSpec("P")
T = TypeVar("T")

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PR = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
CP = "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
CORE_PART = "docProps/core.xml"
CORE_REL = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
CORE_CT = "application/vnd.openxmlformats-package.core-properties+xml"

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
_STORY = re.compile(r"^word/(document|header\d*|footer\d*|footnotes|endnotes|comments)\.xml$")


def _xml(data: bytes) -> etree._Element:
    return etree.fromstring(data, parser=_PARSER)


def _dump(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _field_names(root: etree._Element) -> Iterable[str]:
    for simple in root.iter(f"{{{W}}}fldSimple"):
        yield simple.get(f"{{{W}}}instr", "")
    # complex fields: instrText runs between fldChar begin and separate/end
    current: list[str] | None = None
    for el in root.iter(f"{{{W}}}fldChar", f"{{{W}}}instrText"):
        if el.tag == f"{{{W}}}fldChar":
            kind = el.get(f"{{{W}}}fldCharType")
            if kind == "begin":
                current = []
            elif kind in ("separate", "end") and current is not None:
                yield "".join(current)
                current = None
        elif current is not None:
            current.append(el.text or "")


# Tags the story checks look for, as they must appear in the bytes: "fldChar", "<w:ins ", "<ins>" …
_FIELD_NAMES = (b"fldSimple", b"fldChar", b"instrText")
_CHANGE_MARKS = (b"<ins", b":ins", b"<del", b":del")
_DTD_MARKS = (b"<!DOCTYPE", b"<!ENTITY")
_CHANGE_TAG = re.compile(rb"[<:](?:ins|del)[\s/>]")
# Every marker above in one pass (a report's document.xml is ~300 kB; nine `in` tests took ~2 ms, this
# ~0.03 ms). Leftmost-first lets the library use its SIMD prefilter; any occurrence of any marker gives
# at least one match, so "no match" means "none of the markers occurs".
_MARKERS = ahocorasick_rs.BytesAhoCorasick(
    [*_FIELD_NAMES, *_CHANGE_MARKS, *_DTD_MARKS], matchkind=ahocorasick_rs.MatchKind.LeftmostFirst
)


def _may_hold_fields_or_changes(data: bytes) -> bool:
    """False only when the part provably has no field or tracked-change element (so parsing is not needed).

    An element's name is written literally in its start tag (``<prefix:name`` or ``<name``), so in a
    UTF-8 part without a DTD (entities could hide markup) and without NUL bytes (UTF-16), the absence
    of these byte patterns proves the absence of the elements. Anything else is parsed and checked.
    """
    text = data.removeprefix(b"\xef\xbb\xbf")
    if not text.startswith(b"<") or b"\x00" in data:
        return True  # another encoding (EBCDIC, UTF-16/32)
    declaration = text[:200].split(b"?>", 1)[0].lower() if text.startswith(b"<?xml") else b""
    if b"encoding" in declaration and b"utf-8" not in declaration:
        return True
    if not _MARKERS.find_matches_as_indexes(data):
        return False  # no DTD, no field name, no change marker: the tests below would all say no
    if any(mark in data for mark in _DTD_MARKS):
        return True  # a DTD
    if any(name in data for name in _FIELD_NAMES):
        return True
    # substring tests first (fast); the pattern only where one of them occurs
    return any(c in data for c in _CHANGE_MARKS) and _CHANGE_TAG.search(data) is not None


def _inspected(name: str) -> bool:
    return name.endswith(".rels") or name in ("[Content_Types].xml", "word/settings.xml") or bool(
        _STORY.match(name)
    )


def inspect_docx(data: bytes) -> list[str]:
    """Danish descriptions of everything that must not be in a journaled document (empty: all good)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
            parts = {n: zf.read(n) for n in names if _inspected(n)}
    except (zipfile.BadZipFile, ValueError, OSError):
        return ["Dokumentet er ikke en gyldig .docx-fil (zip)."]
    return _problems(names, parts)


def _problems(names: list[str], parts: dict[str, bytes]) -> list[str]:
    problems: list[str] = []
    lower = [n.lower() for n in names]
    if any("vbaproject" in n or (n.endswith(".bin") and "vba" in n) for n in lower):
        problems.append("Dokumentet indeholder makroer (vbaProject).")
    ct = parts.get("[Content_Types].xml", b"").decode("utf-8", "replace")
    if "macroEnabled" in ct or "vbaProject" in ct:
        problems.append("Dokumentet er af en makroaktiveret type.")
    if any(n.startswith("word/embeddings/") for n in names) or "oleObject" in ct:
        problems.append("Dokumentet indeholder indlejrede OLE-objekter.")
    for name in names:
        if name not in parts:
            continue
        if name.endswith(".rels"):
            problems.extend(_rels_problems(name, parts[name]))
        elif _STORY.match(name):
            problems.extend(_story_problems(name, parts[name]))
        elif name == "word/settings.xml" and _has_element(parts[name], "updateFields"):
            problems.append("Dokumentet beder Word om at opdatere felter ved åbning (updateFields).")
    return problems


# The small parts (relationships, settings, content types) are the same in nearly every report, so
# what is read from them is remembered by their bytes (a pure function of the bytes: never stale). At
# most _PART_MEMO results, only for parts up to _MEMO_BYTES: memory stays flat. A part that fails to
# parse is not remembered (lru_cache keeps no exceptions), so it fails the same way every time.
_PART_MEMO = 64
_MEMO_BYTES = 64 * 1024


def _remembered(fn: Callable[P, T]) -> Callable[P, T]:
    cached = functools.lru_cache(maxsize=_PART_MEMO)(fn)

    @functools.wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> T:
        if sum(len(a) for a in args if isinstance(a, bytes)) <= _MEMO_BYTES:
            return cached(*args, **kwargs)  # type: ignore[arg-type]
        return fn(*args, **kwargs)

    call.cache_info = cached.cache_info  # type: ignore[attr-defined]
    return call


@_remembered
def _rels_problems(name: str, data: bytes) -> tuple[str, ...]:
    return tuple(
        f"Eksternt link i {name}: {rel.get('Target', '')[:80]} ({rel.get('Type', '').rsplit('/', 1)[-1]})."
        for rel in _xml(data).iter(f"{{{PR}}}Relationship")
        if rel.get("TargetMode") == "External"
    )


@_remembered
def _story_problems(name: str, data: bytes) -> tuple[str, ...]:
    """Live fields and tracked changes in a story part (document, header, footer …). Remembered like the
    parts above: a template's header and footer (a PAGE field, so always parsed) recur in every report."""
    if not _may_hold_fields_or_changes(data):
        return ()
    root = _xml(data)
    problems: list[str] = []
    for instr in _field_names(root):
        field = (instr.strip().split() or [""])[0].upper()
        if field and field not in ALLOWED_FIELDS:
            problems.append(f"Levende felt {field} i {name} (kun PAGE og NUMPAGES er tilladt).")
    if next(root.iter(f"{{{W}}}ins", f"{{{W}}}del"), None) is not None:
        problems.append(f"Sporede ændringer i {name}.")
    return tuple(problems)


@_remembered
def _has_element(data: bytes, *tags: str) -> bool:
    """Whether the XML part has an element ``w:<tag>`` for any of ``tags``."""
    return next(_xml(data).iter(*(f"{{{W}}}{tag}" for tag in tags)), None) is not None


@_remembered
def _external_hyperlink_ids(rels_data: bytes) -> frozenset[str]:
    return frozenset(
        rel.get("Id", "")
        for rel in _xml(rels_data).iter(f"{{{PR}}}Relationship")
        if rel.get("TargetMode") == "External" and rel.get("Type", "").endswith("/hyperlink")
    )


@_remembered
def _has_core_refs(content_types: bytes, package_rels: bytes) -> tuple[bool, bool]:
    """Whether [Content_Types].xml overrides docProps/core.xml and _rels/.rels points to it."""
    override = any(o.get("PartName") == f"/{CORE_PART}" for o in _xml(content_types).iter(f"{{{CT}}}Override"))
    rel = any(r.get("Type") == CORE_REL for r in _xml(package_rels).iter(f"{{{PR}}}Relationship"))
    return override, rel


def _core_xml(props: CoreProperties) -> bytes:
    nsmap = {"cp": CP, "dc": DC, "dcterms": DCTERMS, "xsi": XSI}
    root = etree.Element(f"{{{CP}}}coreProperties", nsmap=nsmap)

    def add(ns: str, tag: str, text: str | None) -> etree._Element | None:
        if text is None:
            return None
        el = etree.SubElement(root, f"{{{ns}}}{tag}")
        el.text = text
        return el

    add(DC, "title", props.title)
    add(DC, "subject", props.subject)
    add(DC, "creator", props.creator)
    add(CP, "keywords", props.keywords)
    add(DC, "description", props.description)
    add(CP, "lastModifiedBy", props.last_modified_by)
    add(CP, "revision", "1")
    add(CP, "version", props.version)
    add(CP, "category", props.category)
    add(CP, "contentStatus", props.content_status)
    add(DC, "identifier", props.identifier)
    add(DC, "language", props.language)
    for tag, value in (("created", props.created), ("modified", props.modified)):
        el = add(DCTERMS, tag, value.strftime("%Y-%m-%dT%H:%M:%SZ"))
        assert el is not None
        el.set(f"{{{XSI}}}type", "dcterms:W3CDTF")
    return _dump(root)


def _external_ids(rels: etree._Element) -> set[str]:
    return {
        rel.get("Id", "")
        for rel in rels.iter(f"{{{PR}}}Relationship")
        if rel.get("TargetMode") == "External"
    }


def _unwrap_hyperlinks(root: etree._Element, external: set[str]) -> None:
    for link in list(root.iter(f"{{{W}}}hyperlink")):
        if link.get(f"{{{R}}}id") in external:
            parent = link.getparent()
            if parent is None:
                continue
            index = parent.index(link)
            for offset, child in enumerate(list(link)):
                parent.insert(index + offset, child)
            parent.remove(link)


def _drop_rels(rels: etree._Element, ids: set[str]) -> None:
    for rel in list(rels.iter(f"{{{PR}}}Relationship")):
        if rel.get("Id") in ids:
            parent = rel.getparent()
            if parent is not None:
                parent.remove(rel)


def _story_rels(name: str) -> str:
    folder, _, base = name.rpartition("/")
    return f"{folder}/_rels/{base}.rels"


def _ensure_core_refs(parts: dict[str, bytes]) -> None:
    has_override, has_rel = _has_core_refs(parts["[Content_Types].xml"], parts["_rels/.rels"])
    if not has_override:
        ct = _xml(parts["[Content_Types].xml"])
        el = etree.SubElement(ct, f"{{{CT}}}Override")
        el.set("PartName", f"/{CORE_PART}")
        el.set("ContentType", CORE_CT)
        parts["[Content_Types].xml"] = _dump(ct)
    if not has_rel:
        rels = _xml(parts["_rels/.rels"])
        el = etree.SubElement(rels, f"{{{PR}}}Relationship")
        el.set("Id", "rIdCoreAiv")
        el.set("Type", CORE_REL)
        el.set("Target", CORE_PART)
        parts["_rels/.rels"] = _dump(rels)


def _sanitize(parts: dict[str, bytes]) -> None:
    for name in [n for n in parts if _STORY.match(n)]:
        rels_name = _story_rels(name)
        if rels_name not in parts:
            continue
        external = set(_external_hyperlink_ids(parts[rels_name]))
        if not external:
            continue
        rels = _xml(parts[rels_name])
        root = _xml(parts[name])
        _unwrap_hyperlinks(root, external)
        parts[name] = _dump(root)
        _drop_rels(rels, external)
        parts[rels_name] = _dump(rels)
    settings_rels = "word/_rels/settings.xml.rels"
    # without either element the loop below changes nothing
    if "word/settings.xml" in parts and _has_element(parts["word/settings.xml"], "updateFields", "attachedTemplate"):
        settings = _xml(parts["word/settings.xml"])
        changed = False
        for tag in ("updateFields", "attachedTemplate"):
            for el in list(settings.iter(f"{{{W}}}{tag}")):
                if tag == "attachedTemplate" and settings_rels in parts:
                    rels = _xml(parts[settings_rels])
                    ids = _external_ids(rels) & {el.get(f"{{{R}}}id", "")}
                    _drop_rels(rels, ids)
                    parts[settings_rels] = _dump(rels)
                parent = el.getparent()
                if parent is not None:
                    parent.remove(el)
                    changed = True
        if changed:
            parts["word/settings.xml"] = _dump(settings)


def finalize_docx(data: bytes, props: CoreProperties, *, source: str = "dokumentet") -> bytes:
    """Set the core properties, remove external links, check; raise CatalogueError if unsafe.

    Unchanged parts are copied as they are (still compressed), so this costs little even for a large
    document; the result is deterministic.
    """
    try:
        zin = zipfile.ZipFile(io.BytesIO(data))
        with zin:
            infos = zin.infolist()
            names = {i.filename for i in infos}
            inspected = [n for n in names if _inspected(n)]
            fast = ziputil.read_plain(zin, data, inspected)  # None: not plain, read the usual way
            parts = fast if fast is not None else {n: zin.read(n) for n in inspected}
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise CatalogueError("Word-dokumentet er ikke en gyldig .docx-fil.", path=source) from exc
    if "[Content_Types].xml" not in parts or "_rels/.rels" not in parts:
        raise CatalogueError("Word-dokumentet er ikke en gyldig .docx-fil.", path=source)
    before = dict(parts)
    _sanitize(parts)
    parts[CORE_PART] = _core_xml(props)
    _ensure_core_refs(parts)
    changed = {n: b for n, b in parts.items() if before.get(n) != b}
    problems = _problems([i.filename for i in infos] + [n for n in changed if n not in names], parts)
    if problems:
        raise CatalogueError(
            "Word-dokumentet kan ikke journaliseres: " + " ".join(problems)
            + " Ret Word-skabelonen (se docs/journaling.md).",
            path=source,
        )
    return _rezip(data, changed, infos)


def _rezip(data: bytes, changed: dict[str, bytes], infos: list[zipfile.ZipInfo] | None = None) -> bytes:
    """Rebuild the zip: changed parts deflated anew, all others copied raw; same order and dates."""
    try:
        entries = ziputil.raw_entries(data, infos)
    except ValueError as exc:
        raise CatalogueError("Word-dokumentet er krypteret.") from exc
    known = {e.name for e in entries}
    out = [
        ziputil.entry(e.name, changed[e.name], date_time=e.date_time) if e.name in changed else e
        for e in entries
    ]
    out += [ziputil.entry(n, b) for n, b in changed.items() if n not in known]
    return ziputil.write_zip(out)


def read_core_properties(data: bytes) -> dict[str, str]:
    """The core properties of a .docx as plain strings (for checks and tests)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        root = _xml(zf.read(CORE_PART))
    return {etree.QName(el).localname: (el.text or "") for el in root}
