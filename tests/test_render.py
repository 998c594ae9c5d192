"""The Word report (issue 5): content, escaping, metadata, determinism, fast path = docxtpl path.

Goldens (normalised paragraph text) live in tests/golden/; refresh them with
``AIVURDERING_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_render.py``.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from pathlib import Path
from typing import Any

import _assessment_fixture as fx
import pytest
from _report_helpers import W, all_text, normalised_text, paragraph_texts, parts, text_parts, xml
from docx import Document
from lxml import etree

import pipeline.render as render
from pipeline.errors import CatalogueError
from pipeline.models import Assessment
from pipeline.report_context import build_context

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("AIVURDERING_UPDATE_GOLDEN") == "1"
EVIL = 'X {{ doc.title }} {% if true %}IF{% endif %} <w:r><w:t>INJ</w:t></w:r> & "q"'


EXAMPLE_ERRORS: dict[str, str] = {}


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Assessment]:
    out = {name: fn() for name, fn in fx.FIXTURES.items()}
    out.update(fx.real_examples(tmp_path_factory.mktemp("examples"), EXAMPLE_ERRORS))
    return out


def test_every_example_is_evaluated_and_rendered(cases: dict[str, Assessment], reports: dict[str, bytes]) -> None:
    examples = sorted(p.stem for p in fx.EXAMPLES_DIR.glob("*.yaml"))
    assert examples, "ingen eksempler i intake_templates/examples"
    assert EXAMPLE_ERRORS == {}
    assert set(examples) <= set(reports)


@pytest.fixture(scope="module")
def reports(cases: dict[str, Assessment]) -> dict[str, bytes]:
    return {name: render.render_docx(a) for name, a in cases.items()}


@pytest.fixture(scope="module")
def hostile() -> tuple[bytes, bytes]:
    """(hostile report, the same case with clean answers)."""
    return render.render_docx(fx.hostile()), render.render_docx(fx.high_risk())


# -- determinism and the fast path ----------------------------------------------------------------


def test_same_input_gives_identical_bytes(cases: dict[str, Assessment], reports: dict[str, bytes]) -> None:
    render._PREPARED.clear()  # a cold cache (as in a new process) must not change the bytes
    for name, a in cases.items():
        assert render.render_docx(a) == reports[name], name


def test_identical_bytes_in_another_process_with_other_hash_seed(reports: dict[str, bytes]) -> None:
    import hashlib
    import subprocess
    import sys

    code = (
        "import hashlib, sys; sys.path.insert(0, 'tests'); import _assessment_fixture as fx; "
        "from pipeline.render import render_docx; "
        "print(hashlib.sha256(render_docx(fx.high_risk())).hexdigest())"
    )
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == hashlib.sha256(reports["hoejrisiko"]).hexdigest()


def test_fast_path_equals_plain_docxtpl_path(cases: dict[str, Assessment], reports: dict[str, bytes]) -> None:
    for name, a in cases.items():
        assert render.render_docx_plain(a) == reports[name], name
    hostile = fx.hostile()
    assert render.render_docx_plain(hostile) == render.render_docx(hostile)


def test_different_input_gives_different_bytes(reports: dict[str, bytes]) -> None:
    assert len(set(reports.values())) == len(reports)


def test_zip_has_fixed_timestamps_and_stable_order(reports: dict[str, bytes]) -> None:
    import io
    import zipfile

    for data in reports.values():
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
        assert infos[0].filename == "[Content_Types].xml"
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        names = [i.filename for i in infos[2:]]
        assert names == sorted(names)
        assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None


# -- no leftovers, safe output ----------------------------------------------------------------------


def test_no_unrendered_tags_or_none_anywhere(reports: dict[str, bytes]) -> None:
    for name, data in reports.items():
        text = all_text(data)
        assert "{{" not in text and "{%" not in text and "{#" not in text, name
        assert not re.search(r"\bNone\b", text), name
        for part, raw in parts(data).items():
            if part.endswith(".xml") and not part.startswith("customXml/"):
                assert b"{{" not in raw and b"{%" not in raw, (name, part)


def test_context_has_no_none(cases: dict[str, Assessment]) -> None:
    def walk(value: Any, path: str) -> None:
        assert value is not None, path
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{path}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]")

    for name, a in cases.items():
        walk(build_context(a).model_dump(), name)


def test_answers_with_template_code_and_xml_appear_literally_everywhere(hostile: tuple[bytes, bytes]) -> None:
    bad, _clean = hostile
    texts = text_parts(bad)
    header = next(v for k, v in texts.items() if "header" in k)
    footer = next(v for k, v in texts.items() if "footer" in k)
    assert any(EVIL in line for line in header)  # authority + case number
    assert any(EVIL in line for line in footer)  # title = system name
    body = xml(bad, "word/document.xml")
    cells = ["".join(t.text or "" for t in tc.iter(f"{{{W}}}t")) for tc in body.iter(f"{{{W}}}tc")]
    assert any(EVIL in c for c in cells)  # tables (cover, document information, annex)
    assert any(EVIL in p for p in paragraph_texts(body) if p not in cells)  # running text
    # the markup added nothing: no run whose text is the injected one, no IF rendered
    for root in (etree.fromstring(v) for k, v in parts(bad).items() if k.startswith("word/") and k.endswith(".xml")):
        assert not [t for t in root.iter(f"{{{W}}}t") if t.text == "INJ"]
        assert not list(root.iter(f"{{{W}}}hyperlink"))
    assert "IF" not in [p.strip() for p in paragraph_texts(body)]


def test_markup_in_answers_adds_no_runs_in_header_and_footer(hostile: tuple[bytes, bytes]) -> None:
    bad, clean = hostile
    for name in parts(clean):
        if re.match(r"word/(header|footer)\d*\.xml", name):
            def shape(root: etree._Element) -> list[str]:
                return [el.tag for el in root.iter()]

            assert shape(xml(bad, name)) == shape(xml(clean, name)), name


def test_xml_illegal_characters_are_removed(hostile: tuple[bytes, bytes]) -> None:
    bad, _ = hostile
    for name, raw in parts(bad).items():
        if name.endswith((".xml", ".rels")):
            text = raw.decode("utf-8")
            assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", text), name
            etree.fromstring(raw)  # well-formed


def test_line_breaks_in_answers_become_paragraphs(hostile: tuple[bytes, bytes]) -> None:
    bad, clean = hostile
    assert "line two" in [p.strip() for p in paragraph_texts(xml(bad, "word/document.xml"))]
    for data in (bad, clean):
        body = xml(data, "word/document.xml")
        assert all(br.get(f"{{{W}}}type") == "page" for br in body.iter(f"{{{W}}}br"))
        assert not list(body.iter(f"{{{W}}}tab"))


# -- metadata ---------------------------------------------------------------------------------------


def test_core_properties(reports: dict[str, bytes]) -> None:
    doc = Document(__import__("io").BytesIO(reports["hoejrisiko"]))
    cp = doc.core_properties
    assert cp.title == "Vurdering af AI-system: Kontrolmodel for enkeltydelser"
    assert cp.author == "Eksempel Kommune"
    assert "Kontrolmodel for enkeltydelser" in cp.subject
    assert "26-004711" in cp.keywords and "32.24.10" in cp.keywords
    assert cp.category
    expected = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)  # the intake's document date
    assert cp.created == cp.modified
    assert cp.created.replace(tzinfo=dt.UTC) == expected


def test_custom_properties_carry_versions(cases: dict[str, Assessment], reports: dict[str, bytes]) -> None:
    root = xml(reports["hoejrisiko"], "docProps/custom.xml")
    props = {p.get("name"): "".join(p.itertext()) for p in root}
    a = cases["hoejrisiko"]
    assert props["aivurdering.input_sha256"] == a.versions.input_sha256
    assert props["aivurdering.criteria_catalogue"] == a.versions.criteria_catalogue
    sha = __import__("hashlib").sha256(render.default_template().read_bytes()).hexdigest()
    assert props["aivurdering.template_sha256"] == sha


def test_no_macros_external_links_or_live_fields_except_page(reports: dict[str, bytes]) -> None:
    for name, data in reports.items():
        ps = parts(data)
        assert not [n for n in ps if "vba" in n.lower()], name
        assert not [n for n, v in ps.items() if n.endswith(".rels") and b"External" in v], name
        for part, raw in ps.items():
            if part.startswith("word/") and part.endswith(".xml"):
                root = etree.fromstring(raw)
                instr = [f.get(f"{{{W}}}instr").split()[0] for f in root.iter(f"{{{W}}}fldSimple")]
                instr += ["".join(i.itertext()).split()[0] for i in root.iter(f"{{{W}}}instrText")]
                assert set(instr) <= {"PAGE", "NUMPAGES"}, (name, part, instr)
        assert "PAGE" in b"".join(v for k, v in ps.items() if "footer" in k).decode()


# -- content ----------------------------------------------------------------------------------------


def _body_lines(data: bytes) -> list[str]:
    return [p for p in paragraph_texts(xml(data, "word/document.xml")) if p.strip()]


def test_prohibited_system_leads_with_the_prohibition(reports: dict[str, bytes]) -> None:
    lines = _body_lines(reports["forbudt"])
    start = lines.index("1 Resumé og konklusion")
    assert lines[start + 1] == "Forbudt AI-praksis"
    assert "artikel 5, stk. 1, litra f, i AI-forordningen" in lines[start + 2]
    assert "Forbudt AI-praksis" not in _body_lines(reports["hoejrisiko"])


def test_sections_that_do_not_apply_say_so_in_one_sentence(reports: dict[str, bytes]) -> None:
    lines = _body_lines(reports["ingen_personoplysninger"])
    i = lines.index("4 Databeskyttelse")
    assert lines[i + 1].startswith("Systemet behandler ikke personoplysninger")
    assert lines[i + 2].startswith("5 Grundrettighedsvurdering")
    assert lines[i + 3].startswith("Der skal ikke udarbejdes en konsekvensanalyse vedrørende grundlæggende")
    assert not [x for x in lines if x.startswith("Litra ")]


def _heading_level(el: Any) -> int | None:
    style = el.find(f"{{{W}}}pPr/{{{W}}}pStyle")
    val = style.get(f"{{{W}}}val") if style is not None else ""
    return int(val[-1]) if re.fullmatch(r"Heading[1-9]", val or "") else None


def test_no_empty_headings(reports: dict[str, bytes]) -> None:
    """A heading is never followed directly by a heading of the same or a higher level (or the end)."""
    for name, data in reports.items():
        blocks = [el for el in xml(data, "word/document.xml").find(f"{{{W}}}body") if el.tag != f"{{{W}}}sectPr"]
        blocks = [el for el in blocks if not (el.tag == f"{{{W}}}p" and not "".join(el.itertext()).strip()
                                               and not list(el.iter(f"{{{W}}}br")))]
        levels = [_heading_level(el) for el in blocks]
        assert levels.count(1) >= 14 and levels.count(2) >= 3, name
        for i, el in enumerate(blocks):
            level = levels[i]
            if level is None:
                continue
            assert i + 1 < len(blocks), (name, "".join(el.itertext()))
            nxt = _heading_level(blocks[i + 1])
            assert nxt is None or nxt > level, (name, "".join(el.itertext()))


def test_heat_maps_are_coloured_before_and_after(reports: dict[str, bytes]) -> None:
    body = xml(reports["hoejrisiko"], "word/document.xml")
    fills = [s.get(f"{{{W}}}fill") for s in body.iter(f"{{{W}}}shd")]
    # the catalogue scale: critical = score > 9 (3 cells), low = score <= 3 (5 cells); 2 maps
    assert fills.count("FF7C80") == 2 * 3 and fills.count("C6E0B4") == 2 * 5
    lines = _body_lines(reports["hoejrisiko"])
    assert "Varmekort før foranstaltninger" in lines and "Varmekort efter foranstaltninger" in lines


def test_uncertain_facts_are_flagged(reports: dict[str, bytes]) -> None:
    text = all_text(reports["hoejrisiko"])
    assert "artikel 4 i AI-forordningen ⚠" in text
    assert "Usikre forhold (⚠)" in text
    assert "Usikre forhold" not in all_text(reports["ingen_personoplysninger"])


def test_danish_typography(reports: dict[str, bytes]) -> None:
    text = all_text(reports["hoejrisiko"])
    assert "5. januar 2026" in text  # document date in running text
    assert "05-01-2026" in text  # in the document information table
    assert "85,5" in text  # decimal comma
    assert "bilag III, punkt 5, litra a, til AI-forordningen" in text
    assert "gælder fra 2. december 2027" in text


def test_findings_and_references_come_from_the_assessment(cases: dict[str, Assessment]) -> None:
    a = cases["hoejrisiko"]
    changed = a.model_copy(update={"criteria": [c.model_copy(update={"finding": "Særlig kontrolsætning 4711."}) for c in a.criteria]})
    assert "Særlig kontrolsætning 4711." in all_text(render.render_docx(changed))


def test_golden_text(reports: dict[str, bytes]) -> None:
    GOLDEN.mkdir(exist_ok=True)
    for name, data in reports.items():
        path = GOLDEN / f"report_{name}.txt"
        text = normalised_text(data)
        if UPDATE or not path.exists():
            path.write_text(text, encoding="utf-8")
        assert text == path.read_text(encoding="utf-8"), f"{path} er forældet; opdatér med AIVURDERING_UPDATE_GOLDEN=1"


# -- organisation templates -------------------------------------------------------------------------


def _small_template(path: Path, body: str) -> Path:
    doc = Document()
    doc.sections[0].header.paragraphs[0].text = "{{ doc.authority }} {{ doc.case_number }}"
    doc.sections[0].footer.paragraphs[0].text = "{{ doc.title }} {{ doc.confidentiality }}"
    doc.add_paragraph(body)
    doc.save(path)
    return path


def test_organisation_template(tmp_path: Path, cases: dict[str, Assessment]) -> None:
    tpl = _small_template(tmp_path / "org.docx", "Egen skabelon: {{ summary.risk_class }} / {{ doc.system_name }}")
    data = render.render_docx(cases["hoejrisiko"], template=tpl)
    assert "Egen skabelon: Højrisiko-AI-system / Kontrolmodel for enkeltydelser" in all_text(data)
    assert data == render.render_docx_plain(cases["hoejrisiko"], template=tpl)


def test_template_with_unknown_variable_gives_danish_error(tmp_path: Path, cases: dict[str, Assessment]) -> None:
    tpl = _small_template(tmp_path / "bad.docx", "{{ doc.ukendt_felt }}")
    with pytest.raises(CatalogueError) as exc:
        render.render_docx(cases["hoejrisiko"], template=tpl)
    assert "bad.docx" in str(exc.value) and "ukendt_felt" in str(exc.value)


def test_template_with_syntax_error_gives_danish_error(tmp_path: Path, cases: dict[str, Assessment]) -> None:
    tpl = _small_template(tmp_path / "syntax.docx", "{% if doc.title %}uden slutning")
    with pytest.raises(CatalogueError) as exc:
        render.render_docx(cases["hoejrisiko"], template=tpl)
    assert "syntax.docx" in str(exc.value) and "skabelonen har en fejl" in str(exc.value)


def test_template_that_is_not_a_docx(tmp_path: Path, cases: dict[str, Assessment]) -> None:
    bad = tmp_path / "tekst.docx"
    bad.write_text("ikke en docx")
    with pytest.raises(CatalogueError) as exc:
        render.render_docx(cases["hoejrisiko"], template=bad)
    assert "tekst.docx" in str(exc.value)


def test_template_with_external_link_is_refused(tmp_path: Path, cases: dict[str, Assessment]) -> None:
    import io
    import zipfile

    src = _small_template(tmp_path / "src.docx", "{{ doc.title }}")
    with zipfile.ZipFile(src) as zin:
        members = {n: zin.read(n) for n in zin.namelist()}
    rels = members["word/_rels/document.xml.rels"].decode()
    rels = rels.replace(
        "</Relationships>",
        '<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" '
        'Target="https://example.org" TargetMode="External"/></Relationships>',
    )
    members["word/_rels/document.xml.rels"] = rels.encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zout:
        for n, v in members.items():
            zout.writestr(n, v)
    tpl = tmp_path / "ekstern.docx"
    tpl.write_bytes(out.getvalue())
    with pytest.raises(CatalogueError, match="eksterne links"):
        render.render_docx(cases["hoejrisiko"], template=tpl)


def test_triage_lists_do_not_repeat_the_reasons() -> None:
    a = fx.high_risk()
    item = "Datatilsynets liste (28. januar 2019), punkt 5: automatiske afgørelser"
    ref = fx._ref("GDPR 35(3)(a)", "artikel 35, stk. 3, litra a, i databeskyttelsesforordningen")
    other = fx._ref("GDPR 35(3)(b)", "artikel 35, stk. 3, litra b, i databeskyttelsesforordningen")
    dpia = a.dpia.model_copy(update={
        "reasons": [f"{item} (også profilering).", "Artikel 35, stk. 3, litra a, i databeskyttelsesforordningen: scoring."],
        "datatilsynet_items": [item, "Datatilsynets liste (28. januar 2019), punkt 4: innovativ teknologi"],
        "art_35_3": [ref, other],
    })
    g = build_context(a.model_copy(update={"dpia": dpia})).gdpr
    assert g.datatilsynet_items == ["Datatilsynets liste (28. januar 2019), punkt 4: innovativ teknologi"]
    assert [r.code for r in g.art_35_3] == ["GDPR 35(3)(b)"]
    assert len(g.triage_reasons) == 2


# -- property: any answer text is data ---------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from pipeline.report_context import one_line, paragraphs  # noqa: E402

_MARKUP = st.sampled_from(["{{", "}}", "{%", "%}", "{#", "<w:r>", "</w:t>", "&amp;", "<", ">", "&", '"', "'", "\n", "\t", "\x07", "\x0c", "{_{", "%_}"])


@functools.lru_cache(maxsize=1)
def _clean_shapes() -> dict[str, list[str]]:
    clean = render.render_docx(fx.high_risk())
    return {n: [el.tag for el in xml(clean, n).iter()] for n in parts(clean) if re.match(r"word/(header|footer)\d*\.xml", n)}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.text(min_size=1, max_size=8), _MARKUP), min_size=1, max_size=12).map("".join))
def test_any_answer_text_is_rendered_literally(value: str) -> None:
    a = fx.high_risk()
    answers = dict(a.intake.answers, system_name=value)
    report = render.render_docx(a.model_copy(update={"intake": a.intake.model_copy(update={"answers": answers})}))
    expected = " ".join(paragraphs(value)) or "(ikke besvaret)"  # line breaks: paragraphs, joined in a title
    footer = next(v for k, v in text_parts(report).items() if "footer" in k)
    assert any(f"Vurdering af AI-system: {expected} ·" in line for line in footer)
    assert "{{" not in all_text(report) or "{{" in expected
    for name, shape in _clean_shapes().items():
        assert [el.tag for el in xml(report, name).iter()] == shape


def test_docxtpl_escapes_in_answers_stay_literal() -> None:
    assert one_line("a {_{ b }_} c {_% d %_}") == "a {_\u2060{ b }_\u2060} c {_\u2060% d %_\u2060}"
    a = fx.high_risk()
    answers = dict(a.intake.answers, system_name="x {_{ y")
    report = render.render_docx(a.model_copy(update={"intake": a.intake.model_copy(update={"answers": answers})}))
    assert "{{" not in all_text(report) and "x {_\u2060{ y" in all_text(report)


def test_heat_map_follows_the_assessments_risk_scale() -> None:
    """The heat map is coloured by the criteria catalogue's scale, so it agrees with the risk register."""
    from pipeline.report_context import cell_level

    everything_low = [["lav"] * 4 for _ in range(4)]
    assert cell_level(4, 4, everything_low) == "lav"
    assert cell_level(2, 3) == "middel" and cell_level(3, 3) == "hoej" and cell_level(3, 4) == "kritisk"


# -- compact report (follow-up to issue 5): traces, annexes, cross-references -----------------------

from pipeline.models import TraceItem  # noqa: E402
from pipeline.report_context import SHORT_LABEL, SHORT_VALUE, shorten  # noqa: E402


def _with_trace(a: Assessment, index: int, trace: list[TraceItem]) -> Assessment:
    criteria = list(a.criteria)
    criteria[index] = criteria[index].model_copy(update={"trace": trace})
    return a.model_copy(update={"criteria": criteria})


def test_traces_show_only_existing_answers() -> None:
    trace = [
        TraceItem(question_id="q1", label="Teknik", sheet="2 Systemet", cell="D14", value="Maskinlæring"),
        TraceItem(question_id="q2", label="Ubesvaret spørgsmål", sheet="2 Systemet", cell="D15", value="(ikke besvaret)"),
        TraceItem(question_id="q3", label="Irrelevant spørgsmål", sheet="3 Brug", cell="D4",
                  value="(ikke relevant for dette system)"),
        TraceItem(question_id="q4", label="Formål", sheet="2 Systemet", cell="D20", value="Kontrol"),
    ]
    a = _with_trace(fx.high_risk(), 0, trace)
    f = build_context(a).criteria[0]
    for text in (f.trace, f.trace_short):
        assert "Ubesvaret" not in text and "Irrelevant" not in text and "(ikke" not in text
        assert "Maskinlæring" in text and "Kontrol" in text
    assert f.trace_short == "'2 Systemet'!D14 Teknik = Maskinlæring; D20 Formål = Kontrol"
    annex = [p for p in paragraph_texts(xml(render.render_docx(a), "word/document.xml")) if p.startswith("Bygger på:")]
    assert "Bygger på: '2 Systemet'!D14 Teknik = Maskinlæring; D20 Formål = Kontrol" in annex
    # a criterion whose answers are all missing says so instead of listing them
    b = _with_trace(fx.high_risk(), 0, trace[1:3])
    assert build_context(b).criteria[0].trace_short == "(ingen svar)"


def test_short_trace_names_each_sheet_once_per_run_and_shortens_long_text() -> None:
    label = "Får de medarbejdere, der bruger systemet, oplæring i dets muligheder og begrænsninger? (vælg én)"
    value = "Maskinlæring (fx klassifikation, regression, gradient boosting) " + "og meget mere tekst " * 5
    trace = [
        TraceItem(question_id="a", label="Teknik", sheet="2 Systemet", cell="D14", value=value),
        TraceItem(question_id="b", label=label, sheet="7 Tilsyn", cell="D9", value="Planlagt"),
        TraceItem(question_id="c", label="Formål", sheet="2 Systemet", cell="D20", value="Kontrol"),
    ]
    short = build_context(_with_trace(fx.high_risk(), 0, trace)).criteria[0].trace_short
    items = short.split("; ")
    assert items[0].startswith("'2 Systemet'!D14 Teknik = Maskinlæring og meget")
    assert items[0].endswith("…") and "(fx" not in items[0]
    assert items[1].startswith("'7 Tilsyn'!D9 Får de medarbejdere") and "(vælg" not in items[1]
    assert items[2] == "'2 Systemet'!D20 Formål = Kontrol"  # the sheet changed back, so it is named again
    for text, limit in ((label, SHORT_LABEL), (value, SHORT_VALUE)):
        cut = shorten(text, limit)
        assert len(cut) <= limit and cut.endswith("…") and text.startswith(cut[:-1])
    assert shorten("kort", 10) == "kort"


def _annex_table(data: bytes) -> etree._Element:
    body = xml(data, "word/document.xml")
    for tbl in body.iter(f"{{{W}}}tbl"):
        first = ["".join(t.text or "" for t in tc.iter(f"{{{W}}}t")) for tc in tbl.find(f"{{{W}}}tr").iter(f"{{{W}}}tc")]
        if first == ["Spørgsmål", "Svar", "Celle"]:
            return tbl
    raise AssertionError("bilag 1 mangler")


def test_annex_1_is_grouped_by_sheet_with_unambiguous_cells(cases: dict[str, Assessment], reports: dict[str, bytes]) -> None:
    name = "s2-kontrolmodel-enkeltydelser" if "s2-kontrolmodel-enkeltydelser" in cases else "hoejrisiko"
    a = cases[name]
    answers = build_context(a).answers
    sheets = {a.intake.locations[q].sheet for q in a.intake.answers if q in a.intake.locations}
    headings = [x.group_heading for x in answers if x.group_heading]
    assert sorted(headings) == sorted(f"Ark '{s}': " + next(x.section for x in answers if x.sheet == s) for s in sheets)
    # every answer sits under the heading of its own sheet, and its cell is on that sheet
    current = ""
    for item in answers:
        current = item.sheet if item.group_heading else current
        assert item.sheet == current
        loc = a.intake.locations.get(item.question_id)
        assert item.cell == (loc.cell if loc else "(ikke i arket)")
    rows = _annex_table(reports[name]).findall(f"{{{W}}}tr")
    merged = [r for r in rows if r.find(f".//{{{W}}}gridSpan") is not None]
    assert ["".join(t.text or "" for t in r.iter(f"{{{W}}}t")) for r in merged] == headings
    cells = ["".join(t.text or "" for t in tc.iter(f"{{{W}}}t")) for r in rows[1:] if r not in merged for tc in r.findall(f"{{{W}}}tc")[2:]]
    assert len(cells) == len(answers)
    assert all(re.fullmatch(r"[A-Z]{1,3}[0-9]+|\(ikke i arket\)", c) for c in cells), cells
    header = ["".join(t.text or "" for t in tc.iter(f"{{{W}}}t")) for tc in rows[0].findall(f"{{{W}}}tc")]
    assert header == ["Spørgsmål", "Svar", "Celle"]  # no repeated section column


def test_annexes_use_the_named_small_style(reports: dict[str, bytes]) -> None:
    from docx import Document as _Doc
    from docx.shared import Pt

    styles = _Doc(str(render.default_template())).styles
    assert styles["Bilagstekst"].font.size <= Pt(8.5)
    assert styles["Bilagsoverskrift"].font.bold and styles["Bilagsoverskrift"].base_style.name == "Bilagstekst"
    body = xml(reports["hoejrisiko"], "word/document.xml")
    ids = {s.style_id for s in styles if s.name in ("Bilagstekst", "Bilagsoverskrift")}
    for p in body.iter(f"{{{W}}}p"):
        text = "".join(t.text or "" for t in p.iter(f"{{{W}}}t"))
        if text.startswith(("Bygger på:", "aia_high_risk_annex_iii · ")):
            style = p.find(f"{{{W}}}pPr/{{{W}}}pStyle")
            assert style is not None and style.get(f"{{{W}}}val") in ids, text


def test_findings_refer_to_the_action_plan_instead_of_repeating_it(cases: dict[str, Assessment]) -> None:
    a = cases.get("s2-kontrolmodel-enkeltydelser") or fx.high_risk()
    ctx = build_context(a)
    numbered = {x.criterion_id: str(n) for n, x in reversed(list(enumerate(a.actions, start=1))) if x.criterion_id}
    for f in ctx.criteria:
        assert f.action == numbered.get(f.id, "")
    # every relevant criterion is shown in its section of the body
    findings = ctx.ai_act.findings + ctx.gdpr.other_findings + ctx.fria.other_findings
    findings += [f for part in ctx.gdpr.parts + ctx.fria.parts for f in part.findings]
    for sec in (ctx.admin_law, ctx.technical, ctx.security, ctx.procurement, ctx.governance):
        findings += sec.findings
    assert sorted(f.id for f in findings) == sorted(f.id for f in ctx.criteria if f.status_code != "ikke_relevant")
    assert any(f.action for f in findings)
    text = all_text(render.render_docx(a))
    for f in findings:
        if f.action:
            row = ctx.actions[int(f.action) - 1]
            assert f"se handling nr. {f.action} i handlingsplanen" in text
            assert f"{row.title}: {row.description}" in text  # the recommendation is in the action plan
        elif f.recommendation:
            assert f"Anbefaling: {f.recommendation}" in text


def test_wp248_list_is_not_repeated_when_a_reason_lists_it() -> None:
    a = fx.high_risk()
    reason = "2 af de ni kriterier i WP248 er opfyldt: evaluering eller scoring og sårbare registrerede."
    dpia = a.dpia.model_copy(update={
        "reasons": [reason, "Behandling i stort omfang."],
        "wp248_criteria": ["evaluering eller scoring", "sårbare registrerede", "Behandling i stort omfang"],
    })
    g = build_context(a.model_copy(update={"dpia": dpia})).gdpr
    assert g.wp248_criteria == ["Behandling i stort omfang"]  # only a reason naming WP248 counts
