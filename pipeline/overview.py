"""The portfolio overview (``oversigt.xlsx``) and the batch report (``batch-rapport.xlsx`` / ``.json``).

Both workbooks are written with openpyxl through one safe cell writer, :func:`safe_text`: every string
that may come from an intake is cleaned of control characters and *neutralised* when it starts with a
character a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``, also after leading blanks, and
their full-width forms): it gets a leading apostrophe and is stored as a plain string cell. Nothing from an
intake can become a formula, not in Excel and not after a CSV export.

Rows come from :class:`pipeline.run.ItemSummary` (one per AI system). ``aivurdering overview DIR`` reads
them from the batch state files (``.aivurdering-batch.json``) found under ``DIR`` and, for any other report
under ``DIR``, from the assessment embedded in the ``.docx`` (:mod:`pipeline.docx_twin`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.errors import UserError
from pipeline.labels import LEVEL_LABELS
from pipeline.run import ItemSummary
from pipeline.safeio import atomic_write_bytes

__all__ = [
    "OVERVIEW_NAME",
    "REPORT_JSON_NAME",
    "REPORT_XLSX_NAME",
    "OverviewRow",
    "collect_rows",
    "safe_text",
    "write_batch_report",
    "write_overview",
]

OVERVIEW_NAME = "oversigt.xlsx"
REPORT_XLSX_NAME = "batch-rapport.xlsx"
REPORT_JSON_NAME = "batch-rapport.json"
STATE_NAME = ".aivurdering-batch.json"  # written by pipeline.batch; read here for `overview DIR`

_FORMULA_START = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MAX_CELL = 32_000  # Excel's limit is 32,767 characters

# Display texts (Danish) for the codes used in ItemSummary.
PHASES = {"indkoeb": "Indkøb", "udvikling": "Udvikling", "anvendelse": "Anvendelse/drift", "ophoer": "Ophør"}
ROLES = {"udbyder": "Udbyder", "idriftsætter": "Idriftsætter"}
AI_CLASSES = {
    "forbudt": "Forbudt",
    "højrisiko": "Højrisiko",
    "begrænset": "Begrænset risiko",
    "minimal": "Minimal risiko",
    "ikke_ai_system": "Ikke et AI-system",
    "afklaring": "Kræver afklaring",
}
DPIA_RESULTS = {
    "påkrævet": "Påkrævet",
    "anbefalet": "Anbefalet",
    "ikke_påkrævet": "Ikke påkrævet",
    "afklaring": "Kræver afklaring",
}
DPIA_DONE = {"ja": "Ja", "igang": "I gang", "nej": "Nej"}
LEVELS = LEVEL_LABELS
OVERALL = {
    "forbudt": "Må ikke anvendes",
    "ikke_klar": "Ikke klar",
    "klar_med_forbehold": "Klar med forbehold",
    "klar": "Klar",
}
STATUSES = {
    "ok": "Færdig",
    "skipped": "Sprunget over (uændret)",
    "invalid": "Ugyldigt input",
    "failed": "Fejlet",
    "ignored": "Ignoreret",
    "interrupted": "Ikke behandlet (afbrudt)",
}

_RED = PatternFill("solid", start_color="F4B6B6")
_ORANGE = PatternFill("solid", start_color="F8CBAD")
_YELLOW = PatternFill("solid", start_color="FFE699")
_GREEN = PatternFill("solid", start_color="C6E0B4")
_GREY = PatternFill("solid", start_color="D9D9D9")
_HEADER_FONT = Font(bold=True)


# --------------------------------------------------------------------------------------------
# Safe values
# --------------------------------------------------------------------------------------------


def safe_text(value: Any) -> str:
    """A string that a spreadsheet shows as text and never evaluates.

    Control characters are removed (tab, CR and LF become a space); a value whose first visible
    character could start a formula gets a leading apostrophe.
    """
    text = "" if value is None else str(value)
    text = text.replace("\r\n", " ").replace("\t", " ").replace("\r", " ").replace("\n", " ")
    text = _CONTROL.sub("", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cs", "Co"))
    if text.lstrip()[:1] in _FORMULA_START:
        text = "'" + text
    return text[:_MAX_CELL]


def _put(ws: Worksheet, row: int, col: int, value: Any) -> Any:
    """Write one cell: strings always as plain strings (never formulas), other types as they are."""
    if isinstance(value, bool):
        value = "Ja" if value else "Nej"
    if isinstance(value, str):
        cell = ws.cell(row=row, column=col, value=safe_text(value))
        cell.data_type = "s"
        return cell
    return ws.cell(row=row, column=col, value=value)


def _save_workbook(wb: Workbook, path: Path) -> None:
    import io

    buf = io.BytesIO()
    wb.save(buf)
    atomic_write_bytes(path, buf.getvalue(), force=True)


# --------------------------------------------------------------------------------------------
# Overview rows
# --------------------------------------------------------------------------------------------


@dataclass
class OverviewRow:
    """One AI system in the portfolio overview."""

    summary: ItemSummary
    report: Path | None = None  # the .docx (absolute or relative to the working directory)
    source: str | None = None  # the intake file (relative to the batch folder)
    extra: dict[str, Any] = field(default_factory=dict)


_COLUMNS: list[tuple[str, int]] = [
    ("AI-system", 34),
    ("Myndighed", 26),
    ("Enhed/forvaltning", 24),
    ("Fase", 16),
    ("Rolle", 22),
    ("AI-forordningen: klasse", 22),
    ("Grundlag (bilag)", 40),
    ("DPIA påkrævet", 16),
    ("DPIA udført", 12),
    ("Grundrettighedsvurdering påkrævet", 18),
    ("Åbne handlinger", 12),
    ("Højeste restrisiko", 14),
    ("Næste revurdering", 14),
    ("Samlet status", 20),
    ("Vurderingsdato", 14),
    ("Rapport", 40),
    ("Intakeark", 34),
]
_COL = {name: i + 1 for i, (name, _w) in enumerate(_COLUMNS)}


def _label(mapping: dict[str, str], code: str | None) -> str:
    if code is None:
        return ""
    return mapping.get(code, code)


def _row_values(row: OverviewRow) -> list[Any]:
    s = row.summary
    return [
        s.system_name or "",
        s.authority or "",
        s.unit or "",
        _label(PHASES, s.phase),
        ", ".join(_label(ROLES, r) for r in s.roles),
        _label(AI_CLASSES, s.ai_act_class),
        "; ".join(s.ai_act_basis),
        _label(DPIA_RESULTS, s.dpia_required),
        _label(DPIA_DONE, s.dpia_done),
        "" if s.fria_required is None else s.fria_required,
        s.open_actions,
        _label(LEVELS, s.highest_residual_risk),
        s.next_reassessment,
        _label(OVERALL, s.overall_status),
        s.assessment_date,
        None,  # the link is written separately
        row.source or "",
    ]


def _link_target(report: Path, base: Path) -> str:
    """A relative URI from the folder of the overview to the report (Excel resolves it from there)."""
    rel = os.path.relpath(report.resolve(), base.resolve())
    return quote(Path(rel).as_posix(), safe="/")


def is_overview_file(path: Path) -> bool:
    """Whether ``path`` is a portfolio overview written by :func:`write_overview` (safe to regenerate)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            return any(
                n.startswith("xl/tables/") and b'displayName="Oversigt"' in zf.read(n)[:2000]
                for n in zf.namelist()
            )
    except (OSError, zipfile.BadZipFile):
        return False


def write_overview(rows: Sequence[OverviewRow], path: Path) -> Path:
    """Write ``oversigt.xlsx``: one row per AI system as a filterable Excel table."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Oversigt"
    for col, (name, width) in enumerate(_COLUMNS, start=1):
        cell = _put(ws, 1, col, name)
        cell.font = _HEADER_FONT
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[get_column_letter(col)].width = width
    ordered = sorted(rows, key=lambda r: ((r.summary.authority or "").lower(), (r.summary.system_name or "").lower()))
    for r, row in enumerate(ordered, start=2):
        for c, value in enumerate(_row_values(row), start=1):
            cell = _put(ws, r, c, value)
            if isinstance(value, dt.date):
                cell.number_format = "dd-mm-yyyy"
        if row.report is not None:
            link = ws.cell(row=r, column=_COL["Rapport"], value=safe_text(row.report.name))
            link.data_type = "s"
            link.hyperlink = _link_target(row.report, path.parent)
            link.style = "Hyperlink"
    last_row = max(2, len(ordered) + 1)
    ref = f"A1:{get_column_letter(len(_COLUMNS))}{last_row}"
    table = Table(displayName="Oversigt", ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    ws.add_table(table)
    ws.freeze_panes = "B2"
    _overview_colours(ws, last_row)
    ws.sheet_view.zoomScale = 90
    ws.print_options.gridLines = False
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    _save_workbook(wb, path)
    return path


def _equals(col: int, last_row: int, ws: Worksheet, colours: dict[str, PatternFill]) -> None:
    letter = get_column_letter(col)
    rng = f"{letter}2:{letter}{last_row}"
    for text, fill in colours.items():
        ws.conditional_formatting.add(rng, CellIsRule(operator="equal", formula=[f'"{text}"'], fill=fill))


def _overview_colours(ws: Worksheet, last_row: int) -> None:
    """Conditional colours (our own fixed rules; nothing from an intake)."""
    _equals(_COL["AI-forordningen: klasse"], last_row, ws, {
        AI_CLASSES["forbudt"]: _RED,
        AI_CLASSES["højrisiko"]: _ORANGE,
        AI_CLASSES["begrænset"]: _YELLOW,
        AI_CLASSES["minimal"]: _GREEN,
        AI_CLASSES["ikke_ai_system"]: _GREEN,
        AI_CLASSES["afklaring"]: _GREY,
    })
    _equals(_COL["Højeste restrisiko"], last_row, ws, {
        LEVELS["kritisk"]: _RED, LEVELS["hoej"]: _ORANGE, LEVELS["middel"]: _YELLOW, LEVELS["lav"]: _GREEN,
    })
    _equals(_COL["Samlet status"], last_row, ws, {
        OVERALL["forbudt"]: _RED, OVERALL["ikke_klar"]: _ORANGE,
        OVERALL["klar_med_forbehold"]: _YELLOW, OVERALL["klar"]: _GREEN,
    })
    # DPIA required but not done: orange.
    dpia = get_column_letter(_COL["DPIA påkrævet"])
    done = get_column_letter(_COL["DPIA udført"])
    ws.conditional_formatting.add(
        f"{done}2:{done}{last_row}",
        FormulaRule(formula=[f'AND(${dpia}2="{DPIA_RESULTS["påkrævet"]}",${done}2<>"{DPIA_DONE["ja"]}")'],
                    fill=_ORANGE),
    )
    # Reassessment date passed: red.
    nxt = get_column_letter(_COL["Næste revurdering"])
    ws.conditional_formatting.add(
        f"{nxt}2:{nxt}{last_row}",
        FormulaRule(formula=[f"AND(ISNUMBER(${nxt}2),${nxt}2<TODAY())"], fill=_RED),
    )


def collect_rows(directory: Path) -> list[OverviewRow]:
    """The overview rows for the reports under ``directory``.

    Packages recorded by ``aivurdering batch`` (its state file) are read from the state; any other report
    (``.docx`` made by ``aivurdering render``) is read through the assessment embedded in it. Raises
    :class:`UserError` (Danish) when the folder holds no reports at all.
    """
    if not directory.is_dir():
        raise UserError(f"{directory}: mappen findes ikke.")
    rows: list[OverviewRow] = []
    states = sorted(p for p in directory.rglob(STATE_NAME) if p.is_file())
    for state in states:
        rows.extend(_rows_from_state(state))
    known = {r.report.resolve() for r in rows if r.report is not None}
    rows.extend(_rows_from_reports(directory, known))
    if not states and not rows:
        raise UserError(
            f"{directory}: ingen rapporter fundet (hverken fra 'aivurdering batch' eller 'aivurdering render').",
            hint="Kør først 'aivurdering batch MAPPE -o UDMAPPE', og lav derefter oversigten over UDMAPPE.",
        )
    return rows


def _rows_from_reports(directory: Path, known: set[Path]) -> list[OverviewRow]:
    """Rows from reports not recorded in a batch state, via the assessment embedded in each .docx."""
    from pipeline.docx_twin import read_assessment
    from pipeline.errors import PipelineError
    from pipeline.run import summarize

    rows = []
    for docx in sorted(directory.rglob("*.docx")):
        if docx.name.startswith(("~$", ".")) or any(part.startswith(".") for part in docx.parts[-3:-1]):
            continue
        if docx.resolve() in known:
            continue
        try:
            assessment = read_assessment(docx)
        except (PipelineError, OSError, ValueError):
            continue  # not one of our reports
        rows.append(OverviewRow(summary=summarize(assessment), report=docx,
                                source=assessment.intake.source.file_name))
    return rows


def _rows_from_state(state: Path) -> list[OverviewRow]:
    try:
        data = json.loads(state.read_text(encoding="utf-8"))
        entries = data["entries"]
        assert isinstance(entries, dict)
    except (OSError, ValueError, KeyError, AssertionError) as exc:
        raise UserError(f"{state}: filen kan ikke læses ({type(exc).__name__}).",
                        hint="Kør batchen igen med --force for at lave den på ny.") from exc
    rows = []
    for rel, entry in sorted(entries.items()):
        summary_data = entry.get("summary")
        if not summary_data:
            continue
        try:
            summary = ItemSummary.model_validate(summary_data)
        except ValueError:
            continue
        docx = entry.get("docx")
        report = state.parent / docx if docx else None
        if report is not None and not report.exists():
            continue  # the package was removed: the system is no longer in the portfolio
        rows.append(OverviewRow(summary=summary, report=report, source=rel))
    return rows


# --------------------------------------------------------------------------------------------
# The batch report
# --------------------------------------------------------------------------------------------


def _issue_dict(issue: Any) -> dict[str, Any]:
    return issue.model_dump(mode="json", exclude_none=True) if hasattr(issue, "model_dump") else dict(issue)


def write_batch_report(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``batch-rapport.json`` and ``batch-rapport.xlsx`` from a report dict (see pipeline.batch)."""
    json_path = out_dir / REPORT_JSON_NAME
    xlsx_path = out_dir / REPORT_XLSX_NAME
    text = json.dumps(report, ensure_ascii=False, indent=2, default=str)
    atomic_write_bytes(json_path, (text + "\n").encode("utf-8"), force=True)
    _save_workbook(_report_workbook(report), xlsx_path)
    return json_path, xlsx_path


def _report_workbook(report: dict[str, Any]) -> Workbook:
    wb = Workbook()
    files = wb.active
    assert files is not None
    files.title = "Filer"
    headers = [("Fil", 40), ("Status", 22), ("Fejl/besked", 60), ("Klasse", 20), ("DPIA", 16),
               ("Grundrettighedsvurdering", 14), ("Samlet status", 20), ("Skrevne filer", 60)]
    problems = wb.create_sheet("Problemer")
    pheaders = [("Fil", 40), ("Alvor", 10), ("Ark", 18), ("Celle", 8), ("Kode", 24), ("Spørgsmål", 24),
                ("Besked", 70), ("Værdi", 30)]
    for ws, hdr in ((files, headers), (problems, pheaders)):
        for col, (name, width) in enumerate(hdr, start=1):
            _put(ws, 1, col, name).font = _HEADER_FONT
            ws.column_dimensions[get_column_letter(col)].width = width
        ws.freeze_panes = "A2"
    prow = 2
    items = report.get("items", [])
    for r, item in enumerate(items, start=2):
        summary = item.get("summary") or {}
        values = [
            item.get("input", ""),
            STATUSES.get(item.get("status", ""), item.get("status", "")),
            item.get("error") or item.get("note") or "",
            _label(AI_CLASSES, summary.get("ai_act_class")),
            _label(DPIA_RESULTS, summary.get("dpia_required")),
            "" if summary.get("fria_required") is None else bool(summary.get("fria_required")),
            _label(OVERALL, summary.get("overall_status")),
            "; ".join(item.get("paths", [])),
        ]
        for c, value in enumerate(values, start=1):
            _put(files, r, c, value)
        for issue in item.get("issues", []):
            pvalues = [
                item.get("input", ""),
                "Fejl" if issue.get("severity", "error") == "error" else "Advarsel",
                issue.get("sheet") or "",
                issue.get("cell") or "",
                issue.get("code") or "",
                issue.get("question_id") or "",
                issue.get("message") or "",
                issue.get("value") or "",
            ]
            for c, value in enumerate(pvalues, start=1):
                _put(problems, prow, c, value)
            prow += 1
    _finish_table(files, "Filer", len(headers), len(items) + 1)
    _finish_table(problems, "Problemer", len(pheaders), prow - 1)
    last = max(2, len(items) + 1)
    _equals(2, last, files, {STATUSES["ok"]: _GREEN, STATUSES["skipped"]: _GREY,
                             STATUSES["invalid"]: _YELLOW, STATUSES["failed"]: _RED})
    return wb


def _finish_table(ws: Worksheet, name: str, ncols: int, last_row: int) -> None:
    ref = f"A1:{get_column_letter(ncols)}{max(2, last_row)}"
    table = Table(displayName=name, ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    ws.add_table(table)


def issue_records(issues: Iterable[Any]) -> list[dict[str, Any]]:
    """Issues as plain dicts for the JSON report."""
    return [_issue_dict(i) for i in issues]
