"""The journal package: files, checksums, metadata round trip, XSD, safe writing, document checks."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from pathlib import Path

import docx
import pytest
from _journal_fixture import make_assessment, make_docx
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from pipeline import journal as journal_mod
from pipeline.config import OrgConfig
from pipeline.docxpackage import inspect_docx, read_core_properties
from pipeline.errors import EXIT_OUTPUT_EXISTS, CatalogueError, OutputExistsError, exit_code_for
from pipeline.journal import SUMS_NAME, write_package
from pipeline.metadata import (
    JournalMetadata,
    build_metadata,
    core_properties,
    metadata_from_xml,
    schema_path,
    to_xml,
    validate_xml,
)
from pipeline.safeio import TMP_MARK, atomic_write_bytes


@pytest.fixture(scope="module")
def report() -> bytes:
    return make_docx()


@pytest.fixture()
def package(tmp_path: Path, report: bytes) -> journal_mod.PackageResult:
    return write_package(make_assessment(), report, tmp_path)


def read_sums(folder: Path) -> dict[str, str]:
    lines = (folder / SUMS_NAME).read_text(encoding="utf-8").splitlines()
    return {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in lines}


def test_package_files_and_checksums(package: journal_mod.PackageResult) -> None:
    folder = package.folder
    name = package.name
    assert name == "85.15.00-G01-12-26_Vurdering_af_AI-system_Kontrolmodel_for_enkeltydelser_v1.2"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{name}.docx", f"{name}.metadata.json", f"{name}.metadata.xml", SUMS_NAME]
    )
    sums = read_sums(folder)
    assert set(sums) == {f"{name}.docx", f"{name}.metadata.json", f"{name}.metadata.xml"}
    for file_name, digest in sums.items():
        assert hashlib.sha256((folder / file_name).read_bytes()).hexdigest() == digest
    meta = json.loads(package.metadata_json.read_text(encoding="utf-8"))
    (entry,) = meta["filer"]
    assert entry["filnavn"] == f"{name}.docx"
    assert entry["sha256"] == sums[f"{name}.docx"]
    assert entry["stoerrelse"] == package.docx.stat().st_size
    assert not any(TMP_MARK in p.name for p in folder.parent.iterdir())


def test_metadata_json_xml_and_core_properties_agree(package: journal_mod.PackageResult) -> None:
    from_json = JournalMetadata.model_validate_json(package.metadata_json.read_text(encoding="utf-8"))
    from_xml = metadata_from_xml(package.metadata_xml.read_bytes())
    assert from_json == from_xml == package.metadata
    meta = from_json
    # values from the intake
    assert meta.sagsnummer == "85.15.00-G01-12-26"
    assert (meta.klassifikation.emnenummer, meta.klassifikation.handlingsfacet) == ("85.15.00", "G01")
    assert meta.brevdato == dt.date(2026, 11, 20)
    assert (meta.version.major, meta.version.minor, meta.fremdrift) == (1, 2, "Endeligt")
    assert meta.offentlighed.foelsomhed == "Fortrolige"
    assert meta.offentlighed.hjemmel == "offentlighedslovens § 33, nr. 2"
    assert meta.myndighed.cvr == "29189846"
    assert meta.ansvarlig is not None and meta.ansvarlig.navn == "Mette Sørensen"
    assert "AI-forordningen: Højrisiko-AI-system" in meta.noegleord
    assert "Konsekvensanalyse (DPIA): påkrævet" in meta.noegleord
    assert "Grundrettighedsvurdering (FRIA): påkrævet" in meta.noegleord
    # the document's own core properties (read by python-docx and raw)
    props = docx.Document(str(package.docx)).core_properties
    assert props.title == meta.titel
    assert props.subject == meta.beskrivelse
    assert props.author == meta.myndighed.navn
    assert props.keywords == "; ".join(meta.noegleord)
    assert props.category == meta.dokumenttype
    assert props.content_status == meta.fremdrift
    assert props.identifier == meta.sagsnummer
    assert props.version == "1.2"
    assert props.language == "da-DK"
    expected = dt.datetime(2026, 11, 20, 0, 0)
    assert props.created.replace(tzinfo=None) == expected
    assert props.modified.replace(tzinfo=None) == expected
    raw = read_core_properties(package.docx.read_bytes())
    assert raw["created"] == raw["modified"] == "2026-11-20T00:00:00Z"


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"case_number": None, "kle_number": None, "kle_facet": None, "caseworker": None,
         "caseworker_email": None, "document_date": None, "next_review_date": None},
        {"confidentiality": "ikke_fortroligt", "confidentiality_basis": None, "document_status": "kladde",
         "document_version": "0.3"},
        {"system_name": "<script>&\"'</script> ]]>", "unit": "Ærø & Co."},
    ],
)
def test_every_generated_xml_is_valid_against_the_xsd(tmp_path: Path, report: bytes, overrides: dict) -> None:
    result = write_package(make_assessment(**overrides), report, tmp_path)
    data = result.metadata_xml.read_bytes()
    schema = etree.XMLSchema(etree.parse(str(schema_path())))
    assert schema.validate(etree.fromstring(data)), schema.error_log
    assert metadata_from_xml(data) == result.metadata


def test_xsd_rejects_a_broken_file(package: journal_mod.PackageResult) -> None:
    data = package.metadata_xml.read_bytes().replace(b"<fremdrift>Endeligt<", b"<fremdrift>Faerdig<")
    assert validate_xml(data)
    data = package.metadata_xml.read_bytes().replace(b"<cvr>29189846</cvr>", b"<cvr>123</cvr>")
    assert validate_xml(data)


def test_config_supplies_defaults_when_intake_is_silent(tmp_path: Path, report: bytes) -> None:
    cfg = OrgConfig.model_validate({
        "myndighed": {"navn": "Konfig Kommune", "cvr": "29189846"},
        "journalisering": {"emnenummer": "00.01.10", "handlingsfacet": "A53", "sagsbehandler": "Ole"},
        "filnavne": {"moenster": "{system}_{dato}", "translitterer": True},
    })
    result = write_package(
        make_assessment(authority_name=None, kle_number=None, kle_facet=None, caseworker=None,
                        system_name="Røntgen-AI"),
        report, tmp_path, config=cfg,
    )
    assert result.name == "Roentgen-AI_2026-11-20"
    meta = result.metadata
    assert meta.myndighed.navn == "Konfig Kommune"
    assert (meta.klassifikation.emnenummer, meta.klassifikation.handlingsfacet) == ("00.01.10", "A53")
    assert meta.ansvarlig is not None and meta.ansvarlig.navn == "Ole"


def test_existing_package_is_not_overwritten_without_force(tmp_path: Path, report: bytes) -> None:
    first = write_package(make_assessment(), report, tmp_path)
    before = {p.name: p.read_bytes() for p in first.folder.iterdir()}
    with pytest.raises(OutputExistsError) as info:
        write_package(make_assessment(), make_docx(body="Ny tekst"), tmp_path)
    assert exit_code_for(info.value) == EXIT_OUTPUT_EXISTS
    assert "--force" in str(info.value)
    assert {p.name: p.read_bytes() for p in first.folder.iterdir()} == before


def test_force_replaces_the_whole_package(tmp_path: Path, report: bytes) -> None:
    first = write_package(make_assessment(), report, tmp_path)
    (first.folder / f"{first.name}.pdf").write_bytes(b"%PDF old rendition")  # from an earlier --pdf run
    second = write_package(make_assessment(), make_docx(body="Ny tekst"), tmp_path, force=True)
    assert second.folder == first.folder
    assert not (first.folder / f"{first.name}.pdf").exists()
    assert "Ny tekst" in "\n".join(p.text for p in docx.Document(str(second.docx)).paragraphs)
    assert read_sums(second.folder)[second.docx.name] == hashlib.sha256(second.docx.read_bytes()).hexdigest()
    assert [p.name for p in tmp_path.iterdir()] == [first.name]


@pytest.mark.parametrize("force", [False, True])
def test_interrupted_run_leaves_no_half_written_package(
    tmp_path: Path, report: bytes, monkeypatch: pytest.MonkeyPatch, force: bool
) -> None:
    old = None
    if force:
        old = write_package(make_assessment(), report, tmp_path)
        old_files = {p.name: p.read_bytes() for p in old.folder.iterdir()}

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(journal_mod, "_write_sidecars", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_package(make_assessment(), make_docx(body="Ny"), tmp_path, force=force)
    leftovers = [p.name for p in tmp_path.iterdir()]
    if force:
        assert old is not None
        assert leftovers == [old.name]
        assert {p.name: p.read_bytes() for p in old.folder.iterdir()} == old_files
    else:
        assert leftovers == []


def test_same_input_gives_byte_identical_document(tmp_path: Path, report: bytes) -> None:
    a = write_package(make_assessment(), report, tmp_path / "a")
    b = write_package(make_assessment(), report, tmp_path / "b")
    assert a.docx.read_bytes() == b.docx.read_bytes()
    assert a.metadata_xml.read_bytes() == b.metadata_xml.read_bytes()


# --- the document itself: no macros, no external links, no live fields ---------------------------


def test_page_fields_are_allowed_and_written_document_is_clean(package: journal_mod.PackageResult) -> None:
    data = package.docx.read_bytes()
    assert inspect_docx(data) == []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        assert not any("vbaProject" in n for n in names)
        rels = "".join(zf.read(n).decode() for n in names if n.endswith(".rels"))
        footer = "".join(zf.read(n).decode() for n in names if n.startswith("word/footer"))
    assert 'TargetMode="External"' not in rels
    assert "PAGE" in footer and "NUMPAGES" in footer


def test_date_field_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="DATE"):
        write_package(make_assessment(), make_docx(extra_field='DATE \\@ "d. MMMM yyyy"'), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_external_hyperlink_is_unwrapped_keeping_the_text(tmp_path: Path) -> None:
    source = make_docx(hyperlink="https://eur-lex.europa.eu/eli/reg/2024/1689/oj")
    assert any("Eksternt link" in p for p in inspect_docx(source))
    result = write_package(make_assessment(), source, tmp_path)
    data = result.docx.read_bytes()
    assert inspect_docx(data) == []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        body = zf.read("word/document.xml").decode()
        rels = zf.read("word/_rels/document.xml.rels").decode()
    assert "EUR-Lex" in body and "w:hyperlink" not in body
    assert "eur-lex" not in rels


def _with_parts(data: bytes, extra: dict[str, bytes], replace: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, (replace or {}).get(info.filename, zin.read(info)))
        for name, content in extra.items():
            zout.writestr(name, content)
    return out.getvalue()


def test_macros_are_refused(tmp_path: Path, report: bytes) -> None:
    hostile = _with_parts(report, {"word/vbaProject.bin": b"\x00macro"})
    with pytest.raises(CatalogueError, match="makroer"):
        write_package(make_assessment(), hostile, tmp_path)


def test_external_image_and_attached_template(tmp_path: Path, report: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(report)) as zf:
        rels = zf.read("word/_rels/document.xml.rels").decode()
        settings = zf.read("word/settings.xml").decode()
    linked_image = rels.replace(
        "</Relationships>",
        '<Relationship Id="rIdX" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" '
        'Target="http://evil.example/track.png" TargetMode="External"/></Relationships>',
    )
    with pytest.raises(CatalogueError, match="Eksternt link"):
        write_package(make_assessment(), _with_parts(report, {}, {"word/_rels/document.xml.rels": linked_image.encode()}), tmp_path)
    # an attachedTemplate pointing outside (normal in Word-made templates) is removed, not refused
    settings_x = settings.replace("</w:settings>", '<w:attachedTemplate r:id="rIdT"/><w:updateFields w:val="true"/></w:settings>')
    if 'xmlns:r=' not in settings_x.split(">", 2)[1]:
        settings_x = settings_x.replace("<w:settings ", '<w:settings xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" ', 1)
    rels_t = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rIdT" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate" '
        'Target="file:///C:/Skabeloner/Normal.dotm" TargetMode="External"/></Relationships>'
    )
    with_template = _with_parts(report, {"word/_rels/settings.xml.rels": rels_t.encode()},
                                {"word/settings.xml": settings_x.encode()})
    assert len(inspect_docx(with_template)) == 2
    result = write_package(make_assessment(), with_template, tmp_path)
    assert inspect_docx(result.docx.read_bytes()) == []


def test_not_a_docx_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="ikke en gyldig .docx"):
        write_package(make_assessment(), b"not a zip", tmp_path)


# --- safeio ------------------------------------------------------------------------------------


def test_atomic_write_no_clobber_and_force(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.txt"
    atomic_write_bytes(target, b"one")
    with pytest.raises(OutputExistsError):
        atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"one"
    atomic_write_bytes(target, b"three", force=True)
    assert target.read_bytes() == b"three"
    assert [p.name for p in target.parent.iterdir()] == ["a.txt"]


def test_hostile_intake_values_stay_inside_the_output_folder(tmp_path: Path, report: bytes) -> None:
    out = tmp_path / "out"
    hostile = make_assessment(case_number="../../x", system_name="CON", unit="\x0b\x00" + "ø" * 500 + "🤖")
    result = write_package(hostile, report, out)
    assert result.folder.parent == out
    assert result.folder.resolve().is_relative_to(out.resolve())
    assert result.name == "x_Vurdering_af_AI-system_CON_v1.2"
    assert not (tmp_path / "x").exists()
    assert validate_xml(result.metadata_xml.read_bytes()) == []
    text = result.metadata_json.read_text(encoding="utf-8")
    assert "\\u000b" not in text and "\\u0000" not in text
    assert result.metadata.myndighed.enhed is not None and result.metadata.myndighed.enhed.startswith("øøø")
    assert metadata_from_xml(result.metadata_xml.read_bytes()) == result.metadata
    only_con = write_package(hostile, report, out, config=OrgConfig.model_validate({"filnavne": {"moenster": "{system}"}}))
    assert only_con.name == "CON_"


def test_long_emoji_title_gives_a_short_safe_name(tmp_path: Path, report: bytes) -> None:
    result = write_package(make_assessment(system_name="🤖" * 10 + "A" * 500), report, tmp_path)
    assert len(result.name) <= 120
    assert "🤖" not in result.name
    assert result.name.startswith("85.15.00-G01-12-26_Vurdering_af_AI-system_AAAA")
    assert result.name.endswith("_v1.2")
    assert result.docx.is_file()


def test_sigterm_becomes_an_interrupt_and_cleans_up(tmp_path: Path, report: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import signal

    from pipeline.safeio import sigterm_as_interrupt

    def terminated(*args: object, **kwargs: object) -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(journal_mod, "_write_sidecars", terminated)
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), sigterm_as_interrupt():
        write_package(make_assessment(), report, tmp_path)
    assert signal.getsignal(signal.SIGTERM) == previous
    assert list(tmp_path.iterdir()) == []


def test_leftovers_of_a_killed_run_are_removed(tmp_path: Path, report: bytes) -> None:
    first = write_package(make_assessment(), report, tmp_path / "probe")
    stale = tmp_path / f".{first.name}{TMP_MARK}dead1234"
    stale.mkdir()
    (stale / "half.docx").write_bytes(b"PK\x03\x04 half")
    result = write_package(make_assessment(), report, tmp_path)
    assert not stale.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name != "probe"] == [result.name]


# --- property: any intake text gives valid, round-tripping metadata --------------------------------

@settings(max_examples=30, deadline=None)
@given(
    st.text(max_size=80), st.text(max_size=80), st.text(max_size=80), st.text(max_size=40), st.text(max_size=10)
)
def test_any_answer_text_gives_valid_round_tripping_metadata(
    name: str, case: str, unit: str, worker: str, version: str
) -> None:
    meta = build_metadata(make_assessment(system_name=name, case_number=case, unit=unit, caseworker=worker,
                                          document_version=version))
    xml = to_xml(meta)
    assert validate_xml(xml) == []
    assert metadata_from_xml(xml) == meta
    assert JournalMetadata.model_validate_json(meta.model_dump_json()) == meta
    core_properties(meta)  # never fails either
