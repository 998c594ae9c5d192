"""The bundled Word template, ``template-check`` and docs/templates.md (issue 5)."""

from __future__ import annotations

import hashlib
import importlib.util
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document
from lxml import etree

from pipeline.cli import cli
from pipeline.render import default_template
from pipeline.report_context import ReportContext, context_paths, variables_markdown
from pipeline.template_check import REQUIRED_VARIABLES, check_template

ROOT = Path(__file__).resolve().parent.parent
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _build_script():
    spec = importlib.util.spec_from_file_location("build_template", ROOT / "docx_templates" / "build_template.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the bundled template ---------------------------------------------------------------------------


def test_bundled_template_is_fresh_and_deterministic() -> None:
    build = _build_script()
    first, second = build.build(), build.build()
    assert first == second
    committed = (ROOT / "docx_templates" / "konsekvensanalyse.docx").read_bytes()
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(committed).hexdigest(), (
        "docx_templates/konsekvensanalyse.docx er forældet: kør docx_templates/build_template.py"
    )


def test_bundled_template_layout_language_and_styles() -> None:
    doc = Document(str(default_template()))
    s = doc.sections[0]
    assert (round(s.page_width.mm), round(s.page_height.mm)) == (210, 297)
    names = {st.name for st in doc.styles}
    assert {"Title", "Heading 1", "Heading 2", "Heading 3", "Normal", "Caption", "Aivurdering tabel"} <= names
    lang = doc.styles.element.find(f"{{{W}}}docDefaults/{{{W}}}rPrDefault/{{{W}}}rPr/{{{W}}}lang")
    assert lang is not None and lang.get(f"{{{W}}}val") == "da-DK"
    header = " ".join(p.text for p in s.header.paragraphs)
    footer_xml = etree.tostring(s.footer._element).decode()
    assert "doc.authority" in header and "doc.case_number" in header
    assert "doc.confidentiality" in footer_xml and "doc.version" in footer_xml and " PAGE " in footer_xml
    fields = []
    with zipfile.ZipFile(default_template()) as zf:
        for name in zf.namelist():
            if name.startswith("word/") and name.endswith(".xml"):
                root = etree.fromstring(zf.read(name))
                fields += [f.get(f"{{{W}}}instr").split()[0] for f in root.iter(f"{{{W}}}fldSimple")]
                fields += ["".join(i.itertext()).split()[0] for i in root.iter(f"{{{W}}}instrText")]
    assert sorted(fields) == ["NUMPAGES", "PAGE"]  # no self-updating date fields


def test_bundled_template_passes_the_check() -> None:
    assert check_template(default_template()) == []


# -- template-check on broken templates -------------------------------------------------------------


@pytest.fixture()
def broken(tmp_path: Path) -> Path:
    doc = Document()
    p = doc.add_paragraph()
    p.add_run("Titel: {{ doc.")
    p.add_run("title }}")
    doc.add_paragraph("Myndighed: {{ doc.authorty }}")
    doc.add_paragraph("{% if summary.prohibited == “ja” %}x{% endif %}")
    doc.add_paragraph("{%p for f in ai_act.findings %}")
    doc.add_paragraph("{{ f.titel }}")
    doc.add_paragraph("{%p endfor %}")
    fld = doc.add_paragraph()._p
    el = etree.SubElement(fld, f"{{{W}}}fldSimple")
    el.set(f"{{{W}}}instr", " DATE \\@ dd-MM-yyyy ")
    path = tmp_path / "broken.docx"
    doc.save(path)
    return path


def test_check_reports_each_kind_with_paragraph_context(broken: Path) -> None:
    problems = check_template(broken)
    by_code: dict[str, list] = {}
    for p in problems:
        by_code.setdefault(p.code, []).append(p)
    assert [p.context for p in by_code["split_tag"]] == ["Titel: {{ doc.title }}"]
    assert by_code["smart_quote"][0].context.startswith("{% if summary.prohibited == “ja”")
    unknown = {p.message.split("'")[1]: p.context for p in by_code["unknown_variable"]}
    assert unknown == {"doc.authorty": "Myndighed: {{ doc.authorty }}", "Finding.titel": "{{ f.titel }}"}
    assert any("DATE" in p.message for p in by_code["forbidden"])
    missing = {p.message for p in by_code["missing_part"]}
    assert any("sidehoved" in m for m in missing) and any("sidefod" in m for m in missing)
    assert any("'answers'" in m for m in missing)


def test_check_finds_syntax_errors(tmp_path: Path) -> None:
    doc = Document()
    doc.add_paragraph("Start {% if doc.title %} uden slutning")
    path = tmp_path / "syntaks.docx"
    doc.save(path)
    problems = check_template(path)
    syntax = [p for p in problems if p.code == "syntax_error"]
    assert syntax and "Jinja" in syntax[0].message


def test_cli_template_check_ok_and_failing(broken: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["template-check", str(default_template())])
    assert ok.exit_code == 0, ok.output
    assert "skabelonen er i orden" in ok.output
    bad = runner.invoke(cli, ["template-check", str(broken)])
    assert bad.exit_code == 3
    assert "doc.authorty" in bad.output and "i afsnittet: »Myndighed: {{ doc.authorty }}«" in bad.output
    assert "Traceback" not in bad.output


def test_cli_template_check_not_a_docx(tmp_path: Path) -> None:
    path = tmp_path / "noget.docx"
    path.write_text("hej")
    result = CliRunner().invoke(cli, ["template-check", str(path)])
    assert result.exit_code == 3
    assert "noget.docx" in result.output and "Traceback" not in result.output


# -- docs -------------------------------------------------------------------------------------------


def test_docs_templates_md_is_fresh() -> None:
    committed = (ROOT / "docs" / "templates.md").read_text(encoding="utf-8")
    assert committed == variables_markdown(), "docs/templates.md er forældet: python -m pipeline.report_context > docs/templates.md"


def test_every_context_variable_is_documented_and_described() -> None:
    text = (ROOT / "docs" / "templates.md").read_text(encoding="utf-8")
    for path, _type, desc in context_paths():
        assert f"`{path}`" in text
        assert desc, f"{path} mangler en beskrivelse i ReportContext"
    assert set(v.split(".")[0] for v in REQUIRED_VARIABLES) <= set(ReportContext.model_fields)
