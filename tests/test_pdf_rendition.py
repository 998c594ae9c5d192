"""PDF/A-2b renditions: one LibreOffice start for many documents, fonts embedded, clear errors."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from _journal_fixture import make_assessment, make_docx
from pypdf import PdfReader

from pipeline.errors import EXIT_EXTERNAL, ExternalToolError, exit_code_for
from pipeline.journal import SUMS_NAME, add_pdf_renditions, write_package
from pipeline.metadata import metadata_from_xml, validate_xml
from pipeline.pdf import convert_to_pdfa

FAKE_SOFFICE = """#!/bin/sh
# fake soffice: logs each start, "converts" every input by copying it to <outdir>/<stem>.pdf
echo start >> "{log}"
{sleep}
out=""
next_is_out=0
for a in "$@"; do
  if [ "$next_is_out" = 1 ]; then out="$a"; next_is_out=0; continue; fi
  case "$a" in
    --outdir) next_is_out=1 ;;
    *.docx) b=$(basename "$a" .docx); cp "$a" "$out/$b.pdf" ;;
  esac
done
"""


def fake_soffice(tmp_path: Path, sleep: str = "") -> tuple[str, Path]:
    log = tmp_path / "starts.log"
    script = tmp_path / "soffice"
    script.write_text(FAKE_SOFFICE.format(log=log, sleep=sleep))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script), log


def test_many_documents_one_start(tmp_path: Path) -> None:
    exe, log = fake_soffice(tmp_path)
    docs = []
    for i, folder in enumerate(["a", "b", "c"]):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "samme navn æ.docx"  # equal stems in different folders
        path.write_bytes(f"doc{i}".encode())
        docs.append(path)
    result = convert_to_pdfa(docs, soffice=exe)
    assert log.read_text().count("start") == 1
    assert [result[d].read_bytes() for d in docs] == [b"doc0", b"doc1", b"doc2"]
    assert all(result[d] == d.with_suffix(".pdf") for d in docs)


def test_jobs_split_the_list_over_a_few_processes(tmp_path: Path) -> None:
    exe, log = fake_soffice(tmp_path)
    docs = []
    for i in range(5):
        path = tmp_path / f"d{i}.docx"
        path.write_bytes(f"doc{i}".encode())
        docs.append(path)
    result = convert_to_pdfa(docs, tmp_path / "out", soffice=exe, jobs=2)
    assert log.read_text().count("start") == 2
    assert [result[d].read_bytes() for d in docs] == [f"doc{i}".encode() for i in range(5)]


def test_missing_pdf_is_reported_and_strict_leaves_nothing(tmp_path: Path) -> None:
    exe, _log = fake_soffice(tmp_path)
    good, bad = tmp_path / "good.docx", tmp_path / "bad.docx"
    good.write_bytes(b"ok")
    bad.write_bytes(b"")  # the fake converter then makes an empty file: no PDF
    with pytest.raises(ExternalToolError, match="bad.docx"):
        convert_to_pdfa([good, bad], tmp_path / "out", soffice=exe)
    assert list((tmp_path / "out").iterdir()) == []
    lenient = convert_to_pdfa([good, bad], tmp_path / "out", soffice=exe, strict=False)
    assert list(lenient) == [good]


def test_timeout_kills_and_reports_in_danish(tmp_path: Path) -> None:
    exe, _log = fake_soffice(tmp_path, sleep="sleep 30")
    doc = tmp_path / "x.docx"
    doc.write_bytes(b"x")
    with pytest.raises(ExternalToolError, match="svarede ikke inden for") as info:
        convert_to_pdfa([doc], soffice=exe, timeout=1)
    assert exit_code_for(info.value) == EXIT_EXTERNAL


def test_without_libreoffice_docx_is_still_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIVURDERING_SOFFICE", str(tmp_path / "no-such-soffice"))
    result = write_package(make_assessment(), make_docx(), tmp_path / "out", pdf=True)
    assert result.docx.is_file()
    assert result.pdf is None
    assert result.pdf_error is not None and "LibreOffice" in result.pdf_error
    assert "Word-dokumentet er skrevet" in result.pdf_error
    assert not any(p.suffix == ".pdf" for p in result.folder.iterdir())


# --- real LibreOffice ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_packages(tmp_path_factory: pytest.TempPathFactory) -> list:
    out = tmp_path_factory.mktemp("pdf")
    one = write_package(make_assessment(), make_docx(body="Første"), out, pdf=True)
    batch = [
        write_package(make_assessment(case_number=f"85.15.00-G01-{i}-26"), make_docx(body=f"Nr. {i}"), out)
        for i in range(3)
    ]
    return [one, *add_pdf_renditions(batch)]


def _fonts(reader: PdfReader) -> list:
    fonts = []
    for page in reader.pages:
        resources = page.get("/Resources")
        font_dict = resources.get_object().get("/Font") if resources else None
        if not font_dict:
            continue
        for ref in font_dict.get_object().values():
            font = ref.get_object()
            if font.get("/Subtype") == "/Type0":
                font = font["/DescendantFonts"][0].get_object()
            fonts.append(font)
    return fonts


@pytest.mark.libreoffice
def test_pdf_declares_pdfa_2b_and_embeds_fonts(real_packages: list) -> None:
    for package in real_packages:
        assert package.pdf is not None and package.pdf.is_file(), package.pdf_error
        reader = PdfReader(str(package.pdf))
        xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")
        assert "<pdfaid:part>2</pdfaid:part>" in xmp or 'pdfaid:part="2"' in xmp
        assert "<pdfaid:conformance>B</pdfaid:conformance>" in xmp or 'pdfaid:conformance="B"' in xmp
        fonts = _fonts(reader)
        assert fonts
        for font in fonts:
            if font.get("/Subtype") == "/Type3":
                continue  # glyphs drawn in the PDF itself
            descriptor = font["/FontDescriptor"].get_object()
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font.get("/BaseFont")
        assert "æøå" in reader.pages[0].extract_text().replace("\n", " ")


@pytest.mark.libreoffice
def test_pdf_is_in_metadata_and_checksums(real_packages: list) -> None:
    for package in real_packages:
        meta = metadata_from_xml(package.metadata_xml.read_bytes())
        assert validate_xml(package.metadata_xml.read_bytes()) == []
        roles = {e.rolle: e for e in meta.filer}
        assert roles["rendition"].filnavn == package.pdf.name
        assert roles["rendition"].format == "PDF/A-2b"
        sums = (package.folder / SUMS_NAME).read_text()
        assert package.pdf.name in sums
        assert sorted(p.name for p in package.folder.iterdir()) == sorted(p.name for p in package.paths)
