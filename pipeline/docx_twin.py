"""The machine-readable twin of a report: the full assessment as JSON in a custom XML part.

:func:`embed` adds ``customXml/itemN.xml`` (with its ``itemPropsN.xml``) to the parts of a rendered
report; :func:`read_assessment` finds it again in a journaled ``.docx`` (by namespace, so a Word re-save
that renames the part does not matter), and :func:`answers_for_export` gives the answers back in the
form the intake workbook understands. Reading is defensive: zip size limits, ``defusedxml`` parsing,
pydantic validation; a foreign or damaged file gives a Danish :class:`InputFileError`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import re
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml.common import DefusedXmlException
from lxml import etree
from pydantic import ValidationError

from pipeline.errors import InputFileError
from pipeline.models import Assessment

__all__ = ["NS", "answers_for_export", "embed", "read_assessment", "twin_item_xml", "twin_json"]

NS = "urn:aivurdering:assessment:1"
ITEM_ID = "{7A1E5D2C-4B1F-4C7B-9E1A-A1B2C3D4E5F6}"
REL_CUSTOM_XML = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXml"
REL_CUSTOM_XML_PROPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXmlProps"
CT_CUSTOM_XML_PROPS = "application/vnd.openxmlformats-officedocument.customXmlProperties+xml"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"

MAX_ZIP_MEMBERS = 500
MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_TWIN_BYTES = 50 * 1024 * 1024


# json.dumps(data, ensure_ascii=True, sort_keys=True, separators=(",", ":")) builds this same encoder on every
# call; one instance gives the same text (an encoder keeps no state between calls). check_circular only turns
# a reference cycle into ValueError instead of RecursionError: model_dump returns a fresh tree, never a cycle.
_TWIN_ENCODER = json.JSONEncoder(ensure_ascii=True, sort_keys=True, separators=(",", ":"), check_circular=False)


def twin_json(assessment: Assessment) -> str:
    """Deterministic JSON of the assessment (ASCII only, so it is always legal XML text)."""
    return _TWIN_ENCODER.encode(assessment.model_dump(mode="json"))


def _xml(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _add_rel(rels_xml: bytes, rel_type: str, target: str, prefix: str = "rIdAiv") -> bytes:
    root = etree.fromstring(rels_xml)
    ids = {r.get("Id") for r in root}
    n = 1
    while f"{prefix}{n}" in ids:
        n += 1
    rel = etree.SubElement(root, f"{{{PKG_REL_NS}}}Relationship")
    rel.set("Id", f"{prefix}{n}")
    rel.set("Type", rel_type)
    rel.set("Target", target)
    return _xml(root)


# The package plumbing below is a pure function of its arguments, which come from the template (the same for
# every report): cached by content (the arguments themselves), bounded.
@lru_cache(maxsize=32)
def add_override(content_types: bytes, part_name: str, content_type: str) -> bytes:
    """Add (or replace) an ``<Override>`` in ``[Content_Types].xml``."""
    root = etree.fromstring(content_types)
    for el in list(root):
        if el.get("PartName") == part_name:
            root.remove(el)
    el = etree.SubElement(root, f"{{{CT_NS}}}Override")
    el.set("PartName", part_name)
    el.set("ContentType", content_type)
    return _xml(root)


def add_package_rel(parts: dict[str, bytes], source_rels: str, rel_type: str, target: str) -> None:
    """Add a relationship to a ``.rels`` part unless one of that type and target exists."""
    added = _with_rel(parts.get(source_rels), rel_type, target)
    if added is not None:
        parts[source_rels] = added


@lru_cache(maxsize=32)  # pure (see add_override)
def _with_rel(rels: bytes | None, rel_type: str, target: str) -> bytes | None:
    """``rels`` with the relationship added, or None when one of that type and target exists."""
    rels = rels or _xml(etree.Element(f"{{{PKG_REL_NS}}}Relationships", nsmap={None: PKG_REL_NS}))
    root = etree.fromstring(rels)
    if any(r.get("Type") == rel_type and r.get("Target") == target for r in root):
        return None
    return _add_rel(rels, rel_type, target)


_TWIN_START = (
    "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
    f'<assessment xmlns="{NS}" format="json" version="1">'
).encode("ascii")
_CONTROLS = bytes(range(0x20)) + b"\x7f"  # the ASCII characters that are not printable


def twin_item_xml(text: str) -> bytes:
    """The twin's XML part for ``twin_json`` text, written directly.

    The same bytes as lxml gives for an ``assessment`` element with this text (see :func:`_xml`): the JSON is
    ASCII without control characters (json escapes them), and in such text lxml escapes only ``&``, ``<``
    and ``>``. Anything else goes through lxml.
    """
    data = text.encode("ascii") if text.isascii() else b""
    if not data or len(data.translate(None, _CONTROLS)) != len(data):  # empty, not ASCII, or control characters
        return _lxml_item_xml(text)
    return _escaped_item_xml(data)


def _lxml_item_xml(text: str) -> bytes:
    root = etree.Element(f"{{{NS}}}assessment", nsmap={None: NS})
    root.set("format", "json")
    root.set("version", "1")
    root.text = text
    return _xml(root)


def _escaped_item_xml(data: bytes) -> bytes:
    return _TWIN_START + data.replace(b"&", b"&amp;").replace(b"<", b"&lt;").replace(b">", b"&gt;") + b"</assessment>"


@lru_cache(maxsize=8)  # a pure function of n
def _item_parts(n: int) -> tuple[bytes, bytes]:
    """The twin's ``itemPropsN.xml`` and the relationships of ``itemN.xml``."""
    ds = "http://schemas.openxmlformats.org/officeDocument/2006/customXml"
    pr = etree.Element(f"{{{ds}}}datastoreItem", nsmap={"ds": ds})
    pr.set(f"{{{ds}}}itemID", ITEM_ID)
    refs = etree.SubElement(pr, f"{{{ds}}}schemaRefs")
    etree.SubElement(refs, f"{{{ds}}}schemaRef").set(f"{{{ds}}}uri", NS)
    rels = etree.Element(f"{{{PKG_REL_NS}}}Relationships", nsmap={None: PKG_REL_NS})
    rel = etree.SubElement(rels, f"{{{PKG_REL_NS}}}Relationship")
    rel.set("Id", "rId1")
    rel.set("Type", REL_CUSTOM_XML_PROPS)
    rel.set("Target", f"itemProps{n}.xml")
    return _xml(pr), _xml(rels)


def embed(parts: dict[str, bytes], assessment: Assessment) -> None:
    """Add the twin to the parts of a .docx (in place). Deterministic."""
    n = 1
    while f"customXml/item{n}.xml" in parts:
        n += 1
    item, props = f"customXml/item{n}.xml", f"customXml/itemProps{n}.xml"
    text = twin_json(assessment)
    # twin_item_xml without its check: with ensure_ascii json.dumps escapes every character outside " ".."~"
    # (json.encoder.ESCAPE_ASCII), and all else it writes is ASCII punctuation, digits and letters, so the text
    # is never empty and is printable ASCII: the check would always pass (test_perf_render3 compares).
    parts[item] = _escaped_item_xml(text.encode("ascii"))
    parts[props], parts[f"customXml/_rels/item{n}.xml.rels"] = _item_parts(n)
    parts["[Content_Types].xml"] = add_override(parts["[Content_Types].xml"], f"/{props}", CT_CUSTOM_XML_PROPS)
    add_package_rel(parts, "word/_rels/document.xml.rels", REL_CUSTOM_XML, f"../{item}")


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"filen kan ikke læses ({exc.strerror}).", path=str(path)) from exc
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise InputFileError("filen er ikke et Word-dokument (.docx).", path=str(path)) from exc
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_MEMBERS or sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
        raise InputFileError("dokumentet er for stort eller har for mange dele til at blive læst sikkert.", path=str(path))
    return zf


def read_assessment(path: Path) -> Assessment:
    """The assessment embedded in a report made by aivurdering."""
    zf = _open_zip(path)
    candidates = [n for n in zf.namelist() if re.fullmatch(r"customXml/[^/]+\.xml", n) and "itemProps" not in n]
    for name in sorted(candidates):
        info = zf.getinfo(name)
        if info.file_size > MAX_TWIN_BYTES:
            continue
        try:
            root = SafeET.fromstring(zf.read(name))
        except (SafeET.ParseError, DefusedXmlException, ValueError):  # foreign or broken: not ours
            root = None
        if root is None:
            continue
        if root.tag != f"{{{NS}}}assessment":
            continue
        try:
            return Assessment.model_validate_json(root.text or "")
        except ValidationError as exc:
            raise InputFileError(
                "de indlejrede vurderingsdata er beskadigede eller fra en uforenelig version "
                f"({exc.error_count()} fejl).",
                path=str(path),
            ) from exc
    raise InputFileError(
        "dokumentet indeholder ingen indlejrede vurderingsdata. Kun rapporter skrevet af aivurdering kan importeres.",
        path=str(path),
    )


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def answers_for_export(assessment: Assessment) -> dict[str, Any]:
    """The answers keyed by question id, typed as in :class:`pipeline.models.Intake` (dates as dates).

    JSON has no dates, so answers that were dates come back as ISO text; the question catalogue (when
    available) turns them into ``datetime.date`` again.
    """
    answers = _plain(dict(assessment.intake.answers))
    types = _question_types()
    for qid, value in list(answers.items()):
        if types.get(qid) == "date" and isinstance(value, str):
            with contextlib.suppress(ValueError):
                answers[qid] = dt.date.fromisoformat(value)
    return answers


def _question_types() -> dict[str, str]:
    try:
        from pipeline.questions import load_questions

        return {q.id: str(q.type) for q in load_questions().questions}
    except Exception:  # without a catalogue the answers are still usable as text
        return {}
