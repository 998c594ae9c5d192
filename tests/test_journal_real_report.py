"""The journal package around the real report (pipeline.render + the bundled template)."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest

from pipeline.docxpackage import inspect_docx
from pipeline.journal import write_package
from pipeline.metadata import JournalMetadata, metadata_from_xml, validate_xml

render = pytest.importorskip("pipeline.render")
fixture = pytest.importorskip("_assessment_fixture")

CASES = ["high_risk", "prohibited", "no_personal_data", "hostile"]


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("real")
    result = {}
    for i, case in enumerate(CASES):
        assessment = getattr(fixture, case)()
        data = render.render_docx(assessment)
        result[case] = write_package(assessment, data, out / str(i))
    return result


@pytest.mark.parametrize("case", CASES)
def test_real_report_package_is_clean_and_consistent(packages: dict, case: str) -> None:
    package = packages[case]
    data = package.docx.read_bytes()
    assert inspect_docx(data) == []
    xml = package.metadata_xml.read_bytes()
    assert validate_xml(xml) == []
    meta = JournalMetadata.model_validate_json(package.metadata_json.read_text(encoding="utf-8"))
    assert meta == metadata_from_xml(xml)
    props = docx.Document(str(package.docx)).core_properties
    assert (props.title, props.subject, props.author) == (meta.titel, meta.beskrivelse, meta.myndighed.navn or "aivurdering")
    assert props.keywords == "; ".join(meta.noegleord)
    assert props.created.date() == meta.brevdato == props.modified.date()
    assert Path(package.folder).parent.exists()
