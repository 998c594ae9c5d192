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

import io
import re
import zipfile
from collections.abc import Iterable

from lxml import etree

from pipeline.errors import CatalogueError
from pipeline.metadata import CoreProperties

__all__ = ["ALLOWED_FIELDS", "finalize_docx", "inspect_docx", "read_core_properties"]

ALLOWED_FIELDS = frozenset({"PAGE", "NUMPAGES"})

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


def inspect_docx(data: bytes) -> list[str]:
    """Danish descriptions of everything that must not be in a journaled document (empty: all good)."""
    problems: list[str] = []
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return ["Dokumentet er ikke en gyldig .docx-fil (zip)."]
    with zf:
        names = zf.namelist()
        if any("vbaproject" in n.lower() or n.lower().endswith(".bin") and "vba" in n.lower() for n in names):
            problems.append("Dokumentet indeholder makroer (vbaProject).")
        ct = zf.read("[Content_Types].xml").decode("utf-8", "replace") if "[Content_Types].xml" in names else ""
        if "macroEnabled" in ct or "vbaProject" in ct:
            problems.append("Dokumentet er af en makroaktiveret type.")
        if any(n.startswith("word/embeddings/") for n in names) or "oleObject" in ct:
            problems.append("Dokumentet indeholder indlejrede OLE-objekter.")
        for name in names:
            if name.endswith(".rels"):
                rels = _xml(zf.read(name))
                for rel in rels.iter(f"{{{PR}}}Relationship"):
                    if rel.get("TargetMode") == "External":
                        problems.append(
                            f"Eksternt link i {name}: {rel.get('Target', '')[:80]} "
                            f"({rel.get('Type', '').rsplit('/', 1)[-1]})."
                        )
            elif _STORY.match(name):
                root = _xml(zf.read(name))
                for instr in _field_names(root):
                    field = (instr.strip().split() or [""])[0].upper()
                    if field and field not in ALLOWED_FIELDS:
                        problems.append(f"Levende felt {field} i {name} (kun PAGE og NUMPAGES er tilladt).")
                if next(root.iter(f"{{{W}}}ins", f"{{{W}}}del"), None) is not None:
                    problems.append(f"Sporede ændringer i {name}.")
            elif name == "word/settings.xml":
                root = _xml(zf.read(name))
                if next(root.iter(f"{{{W}}}updateFields"), None) is not None:
                    problems.append("Dokumentet beder Word om at opdatere felter ved åbning (updateFields).")
    return problems


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
    ct = _xml(parts["[Content_Types].xml"])
    if not any(o.get("PartName") == f"/{CORE_PART}" for o in ct.iter(f"{{{CT}}}Override")):
        el = etree.SubElement(ct, f"{{{CT}}}Override")
        el.set("PartName", f"/{CORE_PART}")
        el.set("ContentType", CORE_CT)
        parts["[Content_Types].xml"] = _dump(ct)
    rels = _xml(parts["_rels/.rels"])
    if not any(r.get("Type") == CORE_REL for r in rels.iter(f"{{{PR}}}Relationship")):
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
        rels = _xml(parts[rels_name])
        external = {
            rel.get("Id", "")
            for rel in rels.iter(f"{{{PR}}}Relationship")
            if rel.get("TargetMode") == "External" and rel.get("Type", "").endswith("/hyperlink")
        }
        if not external:
            continue
        root = _xml(parts[name])
        _unwrap_hyperlinks(root, external)
        parts[name] = _dump(root)
        _drop_rels(rels, external)
        parts[rels_name] = _dump(rels)
    settings_rels = "word/_rels/settings.xml.rels"
    if "word/settings.xml" in parts:
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
    """Set the core properties, remove external links, check; raise CatalogueError if unsafe."""
    try:
        zin = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise CatalogueError("Word-dokumentet er ikke en gyldig .docx-fil.", path=source) from exc
    with zin:
        infos = zin.infolist()
        parts = {info.filename: zin.read(info) for info in infos}
    _sanitize(parts)
    parts[CORE_PART] = _core_xml(props)
    _ensure_core_refs(parts)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        written = set()
        for info in infos:
            zout.writestr(_clone(info), parts[info.filename])
            written.add(info.filename)
        if CORE_PART not in written:
            zout.writestr(zipfile.ZipInfo(CORE_PART, date_time=(1980, 1, 1, 0, 0, 0)), parts[CORE_PART])
    result = out.getvalue()
    problems = inspect_docx(result)
    if problems:
        raise CatalogueError(
            "Word-dokumentet kan ikke journaliseres: " + " ".join(problems)
            + " Ret Word-skabelonen (se docs/journaling.md).",
            path=source,
        )
    return result


def _clone(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    new = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    new.compress_type = zipfile.ZIP_DEFLATED
    new.external_attr = info.external_attr
    new.create_system = info.create_system
    return new


def read_core_properties(data: bytes) -> dict[str, str]:
    """The core properties of a .docx as plain strings (for checks and tests)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        root = _xml(zf.read(CORE_PART))
    return {etree.QName(el).localname: (el.text or "") for el in root}
