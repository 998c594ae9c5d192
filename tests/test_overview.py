"""The portfolio overview (oversigt.xlsx): contents, Excel table, links, colours, formula neutralisation."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from pipeline.cli import cli
from pipeline.overview import STATE_NAME, OverviewRow, collect_rows, safe_text, write_overview
from pipeline.run import ItemSummary


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+45 12345678", "'+45 12345678"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=cmd|' /C calc'!A0", "' =cmd|' /C calc'!A0"),  # tab becomes a space; still neutralised
        ("\r=1", "' =1"),
        ("  =1", "'  =1"),
        ("\uff1d1+1", "'\uff1d1+1"),  # full-width equals sign
        ("a\x00b\x07c\x1bd", "abcd"),  # control characters removed
        ("linje 1\nlinje 2", "linje 1 linje 2"),
        ("Borgerchat", "Borgerchat"),
        ("Kommune - Nord", "Kommune - Nord"),  # a dash inside is harmless
        ("", ""),
        (None, ""),
    ],
)
def test_safe_text(raw: str | None, expected: str) -> None:
    assert safe_text(raw) == expected


def _summary(**kw) -> ItemSummary:
    base = dict(
        system_name="Kontrolmodel", authority="Aarhus Kommune", unit="Borgerservice", phase="udvikling",
        roles=["udbyder", "idriftsætter"], ai_act_class="højrisiko", ai_act_class_label="Højrisiko-AI-system",
        ai_act_basis=["bilag III, punkt 5, litra a, til AI-forordningen"], dpia_required="påkrævet",
        dpia_done="nej", fria_required=True, open_actions=7, highest_residual_risk="hoej",
        next_reassessment=dt.date(2027, 6, 1), overall_status="ikke_klar", assessment_date=dt.date(2026, 11, 29),
    )
    base.update(kw)
    return ItemSummary(**base)


@pytest.fixture(scope="module")
def overview(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("overview")
    report = tmp / "rapporter" / "Sag 1 æøå" / "Sag 1 æøå.docx"
    report.parent.mkdir(parents=True)
    report.write_bytes(b"x")
    rows = [
        OverviewRow(_summary(), report=report, source="afd/kontrol.xlsx"),
        OverviewRow(_summary(system_name="=HYPERLINK(\"http://evil\",\"klik\")", authority="+Evil", unit="@x",
                             phase=None, roles=[], ai_act_class="minimal", ai_act_basis=[],
                             dpia_required="ikke_påkrævet", dpia_done=None, fria_required=False, open_actions=0,
                             highest_residual_risk=None, next_reassessment=None, overall_status="klar"),
                    report=None, source="-evil.xlsx"),
    ]
    path = write_overview(rows, tmp / "ud" / "oversigt.xlsx")
    return tmp, path


def test_overview_has_one_row_per_system_with_danish_values(overview) -> None:
    _tmp, path = overview
    ws = load_workbook(path)["Oversigt"]
    header = [c.value for c in ws[1]]
    assert header[:6] == ["AI-system", "Myndighed", "Enhed/forvaltning", "Fase", "Rolle", "AI-forordningen: klasse"]
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert len(rows) == 2
    row = dict(zip(header, rows["Kontrolmodel"], strict=True))
    assert row["Myndighed"] == "Aarhus Kommune"
    assert row["Fase"] == "Udvikling"
    assert row["Rolle"] == "Udbyder, Idriftsætter"
    assert row["AI-forordningen: klasse"] == "Højrisiko"
    assert row["Grundlag (bilag)"] == "bilag III, punkt 5, litra a, til AI-forordningen"
    assert row["DPIA påkrævet"] == "Påkrævet" and row["DPIA udført"] == "Nej"
    assert row["Grundrettighedsvurdering påkrævet"] == "Ja"
    assert row["Åbne handlinger"] == 7
    assert row["Højeste restrisiko"] == "Høj"
    assert row["Næste revurdering"] == dt.datetime(2027, 6, 1)
    assert row["Samlet status"] == "Ikke klar"
    assert row["Intakeark"] == "afd/kontrol.xlsx"


def test_overview_is_a_filterable_table_with_frozen_header_widths_and_colours(overview) -> None:
    _tmp, path = overview
    ws = load_workbook(path)["Oversigt"]
    assert ws.freeze_panes == "B2"
    assert list(ws.tables) == ["Oversigt"]
    assert ws.tables["Oversigt"].ref == "A1:Q3"
    assert ws.column_dimensions["A"].width >= 30
    dated = next(r for r in ws.iter_rows(min_row=2) if r[0].value == "Kontrolmodel")
    assert dated[12].number_format == "dd-mm-yyyy"
    rules = [rule for cf in ws.conditional_formatting for rule in cf.rules]
    formulas = [f for rule in rules for f in (rule.formula or [])]
    assert '"Forbudt"' in formulas and '"Kritisk"' in formulas
    assert any("TODAY()" in f for f in formulas)  # a passed reassessment date turns red


def test_overview_links_to_the_report_with_a_relative_uri(overview) -> None:
    tmp, path = overview
    ws = load_workbook(path)["Oversigt"]
    link_cell = next(c for c in ws["P"][1:] if c.hyperlink is not None)
    assert link_cell.value == "Sag 1 æøå.docx"
    target = link_cell.hyperlink.target
    assert target == "../rapporter/Sag%201%20%C3%A6%C3%B8%C3%A5/Sag%201%20%C3%A6%C3%B8%C3%A5.docx"
    from urllib.parse import unquote

    assert (path.parent / unquote(target)).resolve() == (tmp / "rapporter" / "Sag 1 æøå" / "Sag 1 æøå.docx")


def test_overview_never_contains_a_formula_from_an_intake(overview) -> None:
    _tmp, path = overview
    ws = load_workbook(path)["Oversigt"]
    evil = next(r for r in ws.iter_rows(min_row=2) if str(r[0].value).startswith("'="))
    assert evil[0].value == "'=HYPERLINK(\"http://evil\",\"klik\")"
    assert evil[1].value == "'+Evil" and evil[2].value == "'@x"
    assert evil[16].value == "'-evil.xlsx"
    assert all(c.data_type != "f" for r in ws.iter_rows() for c in r)
    with zipfile.ZipFile(path) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert "<f>" not in sheet and "<f " not in sheet


def _state(folder: Path, entries: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / STATE_NAME).write_text(json.dumps({"version": 1, "entries": entries}), encoding="utf-8")


def test_collect_rows_reads_batch_state_and_drops_removed_packages(tmp_path: Path) -> None:
    out = tmp_path / "ud"
    (out / "a").mkdir(parents=True)
    (out / "a" / "a.docx").write_bytes(b"x")
    summary = _summary().model_dump(mode="json")
    _state(out, {
        "a.xlsx": {"summary": summary, "docx": "a/a.docx"},
        "b.xlsx": {"summary": summary, "docx": "b/b.docx"},  # package deleted since
        "c.xlsx": {"summary": None},
    })
    rows = collect_rows(out)
    assert [(r.source, r.report) for r in rows] == [("a.xlsx", out / "a" / "a.docx")]


def test_overview_cli_writes_file_and_explains_missing_results(tmp_path: Path) -> None:
    runner = CliRunner()
    empty = tmp_path / "tom"
    empty.mkdir()
    res = runner.invoke(cli, ["overview", str(empty)])
    assert res.exit_code == 1
    assert "ingen rapporter fundet" in res.output
    assert "Traceback" not in res.output

    out = tmp_path / "ud"
    (out / "a").mkdir(parents=True)
    (out / "a" / "a.docx").write_bytes(b"x")
    _state(out, {"a.xlsx": {"summary": _summary().model_dump(mode="json"), "docx": "a/a.docx"}})
    target = tmp_path / "portefølje.xlsx"
    res = runner.invoke(cli, ["overview", str(out), "-o", str(target)])
    assert res.exit_code == 0, res.output
    assert "1 AI-system" in res.output
    ws = load_workbook(target)["Oversigt"]
    assert ws["A2"].value == "Kontrolmodel"
    assert ws["P2"].hyperlink.target == "ud/a/a.docx"

    res = runner.invoke(cli, ["overview", str(out), "-o", str(tmp_path / "x.csv")])
    assert res.exit_code == 1 and ".xlsx" in res.output


@given(st.text())
def test_safe_text_never_starts_a_formula_and_has_no_control_characters(raw: str) -> None:
    text = safe_text(raw)
    assert text.lstrip()[:1] not in set("=+-@\uff1d\uff0b\uff0d\uff20")
    assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text)
    if raw and raw.lstrip()[:1] in set("=+-@") and raw.isprintable():
        assert text == "'" + raw  # printable values keep their text, only the apostrophe is added
