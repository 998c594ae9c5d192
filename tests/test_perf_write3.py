"""Round 3 shortcuts of the write-package path give exactly what the plain computations give.

* ``to_valid_xml`` validates the tree it built instead of re-parsing the serialised XML;
* story parts (document, headers, footers) are checked once per content (``_story_problems``).
The plain versions are the code as it was before, kept verbatim as references.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from _journal_fixture import make_assessment
from lxml import etree

from pipeline import docxpackage as dp
from pipeline import metadata as md
from pipeline.journal import DOCX_MIME, _entry

W = dp.W

# --- the XML sidecar: validating the built tree == validating the serialisation re-parsed ----------


def plain_to_xml_and_problems(meta: md.JournalMetadata) -> tuple[bytes, list[str]]:
    xml = md.to_xml(meta)
    return xml, md.validate_xml(xml)


def _metas() -> dict[str, md.JournalMetadata]:
    overrides: list[dict[str, Any]] = [
        {},
        {"case_number": None, "kle_number": None, "kle_facet": None, "caseworker": None,
         "caseworker_email": None, "document_date": None, "next_review_date": None},
        {"confidentiality": "ikke_fortroligt", "confidentiality_basis": None, "document_status": "kladde",
         "document_version": "0.3"},
        {"system_name": "<script>&\"'</script> ]]>", "unit": "Ærø & Co."},
        {"system_name": "  mellemrum  \n\tog\r\nlinjeskift  ", "unit": " "},
    ]
    base = md.build_metadata(make_assessment())
    entry = _entry("a.docx", b"x", "hoveddokument", "docx", DOCX_MIME)
    metas = {f"valid-{i}": md.build_metadata(make_assessment(**o)) for i, o in enumerate(overrides)}
    metas["with-file"] = base.model_copy(update={"filer": [entry]})
    # invalid against the schema (model_copy does not validate): each must be refused the same way
    bad_entry = entry.model_copy(update={"sha256": "ikke-en-sha"})
    metas.update({
        "bad-fremdrift": base.model_copy(update={"fremdrift": "Faerdig"}),
        "empty-title": base.model_copy(update={"titel": ""}),
        "whitespace-title": base.model_copy(update={"titel": "  "}),
        "bad-sha": base.model_copy(update={"filer": [bad_entry]}),
        "bad-cvr": base.model_copy(update={"myndighed": base.myndighed.model_copy(update={"cvr": "0123"})}),
        "bad-facet": base.model_copy(
            update={"klassifikation": base.klassifikation.model_copy(update={"handlingsfacet": " G01"})}),
        "bad-date-type": base.model_copy(update={"brevdato": "20-11-2026"}),
        "late-date": base.model_copy(update={"brevdato": dt.date(9999, 12, 31)}),
    })
    return metas


@pytest.mark.parametrize("case", sorted(_metas()))
def test_validating_the_built_tree_equals_validating_the_file(case: str) -> None:
    meta = _metas()[case]
    ours = md.to_valid_xml(meta)
    assert ours == plain_to_xml_and_problems(meta)
    assert ours[0] == md.to_xml(meta)
    # the problems are what the schema says about the file itself, parsed from its bytes
    schema = etree.XMLSchema(etree.parse(str(md.schema_path())))
    assert (ours[1] == []) == schema.validate(etree.fromstring(ours[0]))


def test_the_cases_cover_valid_and_invalid_files() -> None:
    results = {case: md.to_valid_xml(meta)[1] for case, meta in _metas().items()}
    assert all(not results[c] for c in results if c.startswith("valid-") or c == "with-file")
    invalid = [c for c in results if results[c]]
    assert len(invalid) >= 6
    assert all(p.startswith("linje ") for c in invalid for p in results[c])  # line numbers as before


# --- story parts: remembered by content == checked every time ------------------------------------


def plain_story_problems(name: str, data: bytes) -> list[str]:
    problems: list[str] = []
    if not dp._may_hold_fields_or_changes(data):
        return problems
    root = dp._xml(data)
    for instr in dp._field_names(root):
        field = (instr.strip().split() or [""])[0].upper()
        if field and field not in dp.ALLOWED_FIELDS:
            problems.append(f"Levende felt {field} i {name} (kun PAGE og NUMPAGES er tilladt).")
    if next(root.iter(f"{{{W}}}ins", f"{{{W}}}del"), None) is not None:
        problems.append(f"Sporede ændringer i {name}.")
    return problems


def _story(body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:ftr xmlns:w="{W}">{body}</w:ftr>').encode()


STORIES = {
    "plain": _story("<w:p><w:r><w:t>Side</w:t></w:r></w:p>"),
    "page": _story('<w:p><w:fldSimple w:instr=" PAGE "><w:r><w:t>1</w:t></w:r></w:fldSimple></w:p>'),
    "date-simple": _story('<w:p><w:fldSimple w:instr="DATE \\@ &quot;d-M-yyyy&quot;"/></w:p>'),
    "date-complex": _story('<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> FILENAME '
                           '</w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'),
    "tracked": _story('<w:p><w:ins w:id="1" w:author="x"><w:r><w:t>ny</w:t></w:r></w:ins></w:p>'),
    "both": _story('<w:p><w:del w:id="2" w:author="x"/><w:fldSimple w:instr="AUTHOR"/></w:p>'),
    "doctype": b'<?xml version="1.0"?><!DOCTYPE w:ftr [<!ENTITY e "x">]><w:ftr xmlns:w="' + W.encode() + b'"/>',
}


@pytest.mark.parametrize("case", sorted(STORIES))
@pytest.mark.parametrize("name", ["word/footer1.xml", "word/header2.xml", "word/document.xml"])
def test_remembered_story_checks_equal_the_plain_ones(case: str, name: str) -> None:
    data = STORIES[case]
    want = plain_story_problems(name, data)
    for _ in range(3):  # first computed, then remembered
        assert list(dp._story_problems(name, data)) == want
    # through the whole check as finalize_docx calls it
    assert dp._problems([name], {name: data}) == want
    if case in ("date-simple", "date-complex", "tracked", "both"):
        assert want


def test_a_broken_story_part_fails_every_time() -> None:
    broken = _story("<w:p><w:fldSimple w:instr='DATE'></w:p>")
    for _ in range(3):
        with pytest.raises(etree.XMLSyntaxError):
            dp._story_problems("word/footer1.xml", broken)


def test_large_story_parts_are_not_remembered() -> None:
    big = _story('<w:p><w:fldSimple w:instr="PAGE"/></w:p>' + "<w:p><w:r><w:t>x</w:t></w:r></w:p>" * 3000)
    assert len(big) > dp._MEMO_BYTES
    before = dp._story_problems.cache_info().currsize  # type: ignore[attr-defined]
    assert dp._story_problems("word/document.xml", big) == ()
    assert dp._story_problems.cache_info().currsize == before  # type: ignore[attr-defined]
    assert dp._story_problems.cache_info().maxsize == dp._PART_MEMO  # type: ignore[attr-defined]
