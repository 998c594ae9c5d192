"""Hostile and broken input: a clear Danish message naming the file, exit 1, no traceback, no hang,
and the input file is never changed."""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from intake_support import replace_member, sha, sheet_member
from openpyxl import Workbook, load_workbook

from pipeline.cli import cli
from pipeline.workbook import write_template


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "skabelon.xlsx"
    write_template(path)
    return path


def _run(path: Path, *extra: str):
    before = sha(path) if path.is_file() else None
    start = time.perf_counter()
    result = CliRunner().invoke(cli, ["validate", str(path), *extra])
    elapsed = time.perf_counter() - start
    assert elapsed < 20, "no hang"
    if before:
        assert sha(path) == before, "the input must never change"
    text = result.output
    assert "Traceback" not in text
    assert result.exit_code == 1, text
    assert path.name in text, text
    return text


def _marked_sheet(template: Path, tmp: Path, sheet: str, cell: str) -> tuple[Path, str, bytes]:
    """A copy of the template with PLACEHOLDER_X in ``sheet``!``cell``: (file, sheet member, sheet XML)."""
    wb = load_workbook(template)
    wb[sheet][cell] = "PLACEHOLDER_X"
    mid = tmp / "mid.xlsx"
    wb.save(mid)
    member = sheet_member(mid, sheet)
    with zipfile.ZipFile(mid) as zf:
        xml = zf.read(member)
    assert b"PLACEHOLDER_X" in xml
    return mid, member, xml


def _with_shared_string(template: Path, tmp: Path, name: str, content: bytes, sheet: str = "1 Sag og dokument",
                        cell: str = "D4") -> Path:
    mid, member, xml = _marked_sheet(template, tmp, sheet, cell)
    out = tmp / name
    replace_member(mid, out, member, xml.replace(b"PLACEHOLDER_X", content))
    return out


def test_not_a_zip(tmp_path: Path):
    p = tmp_path / "noter.xlsx"
    p.write_text("navn;cpr\nA;010101-1234\n", encoding="utf-8")
    assert "ikke en Excel-fil" in _run(p)


def test_empty_file(tmp_path: Path):
    p = tmp_path / "tom.xlsx"
    p.write_bytes(b"")
    assert "tom" in _run(p)


def test_missing_file(tmp_path: Path):
    assert "findes ikke" in _run(tmp_path / "mangler.xlsx")


def test_truncated_zip(template: Path, tmp_path: Path):
    p = tmp_path / "afkortet.xlsx"
    data = template.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    assert "beskadiget" in _run(p)


def test_legacy_xls(tmp_path: Path):
    p = tmp_path / "gammel.xls"
    p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600 + "Workbook".encode("utf-16-le") + b"\0" * 600)
    assert ".xls" in _run(p)


def test_encrypted_workbook(tmp_path: Path):
    p = tmp_path / "krypteret.xlsx"
    body = "EncryptionInfo".encode("utf-16-le") + b"\0" * 100 + "EncryptedPackage".encode("utf-16-le")
    p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500 + body + b"\0" * 500)
    assert "adgangskode" in _run(p)


def test_xlsm_is_refused_and_macros_never_run(template: Path, tmp_path: Path):
    p = tmp_path / "makro.xlsm"
    replace_member(template, p, "xl/vbaProject.bin", b"\0" * 64)
    assert "makroer" in _run(p)


def test_zip_bomb_by_ratio(template: Path, tmp_path: Path):
    p = tmp_path / "bombe.xlsx"
    member = sheet_member(template, "1 Sag og dokument")
    replace_member(template, p, member, b"<" + b" " * (12 * 1024 * 1024))
    assert "zip-bombe" in _run(p)


def test_zip_bomb_by_size(template: Path, tmp_path: Path):
    p = tmp_path / "stor.xlsx"
    buf = io.BytesIO()
    with zipfile.ZipFile(template) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info.filename))
        zout.writestr("xl/sharedStrings2.xml", b"")
    data = buf.getvalue()
    p.write_bytes(data)
    # a sheet of 70 MB of spaces: above the member limit whatever the ratio
    member = sheet_member(template, "2 Systemet")
    big = tmp_path / "stor2.xlsx"
    replace_member(p, big, member, b" " * (70 * 1024 * 1024))
    assert "grænsen" in _run(big)


def test_xml_entity_expansion(template: Path, tmp_path: Path):
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        b'<row r="4"><c r="D4" t="inlineStr"><is><t>&lol3;</t></is></c></row></sheetData></worksheet>'
    )
    p = tmp_path / "entiteter.xlsx"
    replace_member(template, p, sheet_member(template, "1 Sag og dokument"), laughs)
    assert "DTD" in _run(p)


def test_external_entity(template: Path, tmp_path: Path):
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        b'<row r="4"><c r="D4" t="inlineStr"><is><t>&xxe;</t></is></c></row></sheetData></worksheet>'
    )
    p = tmp_path / "xxe.xlsx"
    replace_member(template, p, sheet_member(template, "1 Sag og dokument"), xxe)
    text = _run(p)
    assert "DTD" in text
    assert "root:" not in text


def test_one_megabyte_cell(template: Path, tmp_path: Path):
    p = _with_shared_string(template, tmp_path, "stor-celle.xlsx", b"A" * (1024 * 1024))
    text = _run(p)
    assert "text_too_long" in text


def test_control_characters_escaped(template: Path, tmp_path: Path):
    p = _with_shared_string(template, tmp_path, "styretegn.xlsx", b"Aarhus_x0007_ Kommune")
    assert "control_characters" in _run(p)


def test_control_characters_raw_are_invalid_xml(template: Path, tmp_path: Path):
    p = _with_shared_string(template, tmp_path, "styretegn-raa.xlsx", b"Aarhus&#7; Kommune")
    assert "ikke gyldig XML" in _run(p)


def _edited(template: Path, tmp_path: Path, name: str, edit) -> Path:
    wb = load_workbook(template)
    edit(wb)
    p = tmp_path / name
    wb.save(p)
    return p


def test_deleted_sheet(template: Path, tmp_path: Path):
    p = _edited(template, tmp_path, "slettet-ark.xlsx", lambda wb: wb.remove(wb["9 Sikkerhed"]))
    text = _run(p)
    assert "sheet_missing" in text and "9 Sikkerhed" in text


def test_renamed_sheet(template: Path, tmp_path: Path):
    def rename(wb):
        wb["9 Sikkerhed"].title = "Sikkerhed"

    text = _run(_edited(template, tmp_path, "omdoebt-ark.xlsx", rename))
    assert "sheet_missing" in text and "unexpected_sheet" in text
    assert "giv det navnet '9 Sikkerhed' igen" in text


def test_deleted_row(template: Path, tmp_path: Path):
    def delete(wb):
        wb["1 Sag og dokument"].delete_rows(5)  # authority_type

    text = _run(_edited(template, tmp_path, "slettet-raekke.xlsx", delete))
    assert "question_row_missing" in text and "Type af myndighed" in text


def test_user_added_sheet(template: Path, tmp_path: Path):
    text = _run(_edited(template, tmp_path, "ekstra-ark.xlsx", lambda wb: wb.create_sheet("Mine noter")))
    assert "unexpected_sheet" in text and "Mine noter" in text


def test_foreign_workbook(tmp_path: Path):
    p = tmp_path / "fremmed.xlsx"
    wb = Workbook()
    wb.active["A1"] = "Budget 2027"
    wb.save(p)
    assert "ikke et intakeark fra aivurdering" in _run(p)


def test_older_template_version_is_refused(template: Path, tmp_path: Path):
    def old(wb):
        wb["_meta"]["B2"] = "0.9"

    text = _run(_edited(template, tmp_path, "gammel-version.xlsx", old))
    assert "0.9" in text and "1.0" in text


def test_newer_template_version_is_refused(template: Path, tmp_path: Path):
    def new(wb):
        wb["_meta"]["B2"] = "7.0"

    assert "nyere" in _run(_edited(template, tmp_path, "ny-version.xlsx", new))


def test_opendocument_and_word_files(tmp_path: Path):
    ods = tmp_path / "regneark.ods"
    with zipfile.ZipFile(ods, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", "<x/>")
    assert "OpenDocument" in _run(ods)
    docx = tmp_path / "notat.xlsx"
    with zipfile.ZipFile(docx, "w") as zf:
        zf.writestr("word/document.xml", "<x/>")
    assert "Word" in _run(docx)


@pytest.mark.parametrize(("sheet", "cell"), [("6 Datakilder", "B5"), ("11 Risici", "C7")])
def test_cell_with_an_impossible_address(template: Path, tmp_path: Path, sheet: str, cell: str):
    """A hand-edited or damaged file with a cell address no spreadsheet writes (column 'AAAA')."""
    mid, member, xml = _marked_sheet(template, tmp_path, sheet, cell)
    start = xml.index(b"PLACEHOLDER_X")
    ref_at = xml.rindex(f'r="{cell}"'.encode(), 0, start)
    bad = xml[:ref_at] + b'r="AAAA40"' + xml[ref_at + len(f'r="{cell}"'):]
    out = tmp_path / "ugyldig-adresse.xlsx"
    replace_member(mid, out, member, bad)
    text = _run(out)
    assert "ugyldige adresse 'AAAA40'" in text and sheet in text


def test_row_number_that_is_not_a_number(template: Path, tmp_path: Path):
    """Cells without addresses (position implied) in a row whose number is not a number."""
    mid, member, xml = _marked_sheet(template, tmp_path, "6 Datakilder", "B5")
    bad = re.sub(rb'(<c[^>]*?) r="[A-Z]+\d+"', rb"\1", xml)  # no cell addresses: position implied
    bad = re.sub(rb'<row r="1"', b'<row r="x"', bad, count=1)
    out = tmp_path / "ugyldigt-raekkenummer.xlsx"
    replace_member(mid, out, member, bad)
    text = _run(out)
    assert "rækkenummer, der ikke er et tal" in text
