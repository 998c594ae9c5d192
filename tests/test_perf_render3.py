"""Round 3 render shortcuts give exactly what the plain computations give (speed work for issue 7).

* the twin's JSON through one reused encoder (no cycle check) equals ``json.dumps`` as before;
* ``embed`` writes the twin's part without ``twin_item_xml``'s check: the same bytes as the checked path and
  as lxml, because ``twin_json`` text is always non-empty printable ASCII;
* the zip's CRC-32 from zlib-ng equals ``zlib.crc32``.
"""

from __future__ import annotations

import datetime as dt
import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from pipeline import docx_twin, render, ziputil
from pipeline.evaluate import evaluate
from pipeline.models import Assessment
from pipeline.validate import validate_workbook

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "intake_templates/examples").glob("*.xlsx"))


@pytest.fixture(scope="module")
def assessments() -> list[Assessment]:
    return [evaluate(validate_workbook(x), assessment_date=dt.date(2026, 11, 29)) for x in EXAMPLES]


def _plain_json(a: Assessment) -> str:
    """The twin's JSON as it was written before round 3."""
    return json.dumps(a.model_dump(mode="json"), ensure_ascii=True, sort_keys=True, separators=(",", ":"))


def _lxml_twin(text: str) -> bytes:
    root = etree.Element(f"{{{docx_twin.NS}}}assessment", nsmap={None: docx_twin.NS})
    root.set("format", "json")
    root.set("version", "1")
    root.text = text
    return docx_twin._xml(root)


def _embedded(a: Assessment) -> bytes:
    parts = {"[Content_Types].xml": render.prepare_template().base_parts["[Content_Types].xml"]}
    docx_twin.embed(parts, a)
    return parts["customXml/item1.xml"]


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 6


def test_twin_json_and_part_equal_the_plain_way_for_reports(assessments: list[Assessment]) -> None:
    for a in assessments:
        text = docx_twin.twin_json(a)
        assert text == _plain_json(a)
        assert _embedded(a) == docx_twin.twin_item_xml(text) == _lxml_twin(text)


# Answers of every kind the JSON can hold: any text (also controls, DEL, markup, quotes, non-BMP characters),
# numbers (also floats in exponent form, nan and inf), booleans, None, lists and nested rows.
_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30)
_scalar = st.one_of(
    _text, st.integers(min_value=-(10**30), max_value=10**30), st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.none(), st.sampled_from(["<w:p>&amp;", "\x7f\x00\x1f", "\U0001f600 æøå", '"\\/']),
)
_answers = st.dictionaries(
    _text, st.one_of(_scalar, st.lists(_scalar, max_size=4), st.lists(st.dictionaries(_text, _scalar, max_size=3), max_size=3)),
    max_size=8,
)


@settings(max_examples=150, deadline=None)
@given(answers=_answers)
def test_twin_equals_the_plain_way_for_any_answers(assessments: list[Assessment], answers: dict[str, Any]) -> None:
    base = assessments[0]
    a = base.model_copy(update={"intake": base.intake.model_copy(update={"answers": answers})})
    text = docx_twin.twin_json(a)
    assert text == _plain_json(a)
    assert text and text.isascii() and text.isprintable()  # what embed relies on to skip the check
    assert _embedded(a) == docx_twin.twin_item_xml(text) == _lxml_twin(text)


def test_twin_json_still_refuses_what_json_dumps_refuses(assessments: list[Assessment]) -> None:
    with pytest.raises(TypeError):
        docx_twin._TWIN_ENCODER.encode({"x": object()})
    with pytest.raises(TypeError):
        json.dumps({"x": object()}, ensure_ascii=True, sort_keys=True, separators=(",", ":"))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4096))
def test_zip_crc_equals_zlib(data: bytes) -> None:
    assert ziputil.crc32(data) == zlib.crc32(data)


def test_rendered_report_crcs_equal_zlib(assessments: list[Assessment]) -> None:
    import io
    import zipfile

    for a in assessments[:2]:
        with zipfile.ZipFile(io.BytesIO(render.render_docx(a))) as zf:
            assert zf.testzip() is None  # zipfile checks every member's CRC-32 with zlib
            for info in zf.infolist():
                assert zlib.crc32(zf.read(info)) == info.CRC
