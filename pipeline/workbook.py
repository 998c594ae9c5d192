"""Generate the Excel intake workbook from the question catalogue.

Layout (documented for caseworkers in ``docs/intake.md``; the reader in ``pipeline.validate`` relies on
the hidden id column and the hidden metadata sheet, not on row numbers):

* ``Vejledning`` (en: ``Instructions``): how to fill the workbook.
* One sheet per catalogue section (``section.sheet``). Columns: A question id (hidden), B question,
  C ``*`` when required, D the answer (the only unlocked cells), E help text. Questions start in row 4.
* Multiple choice: the question row is followed by one row per option, id ``question:code`` in
  column A, the option text in column B and a Ja/Nej dropdown in column D. Options marked *Ja* are
  the answer; *Nej* or empty means not chosen.
* Tables (``type: table``): a sheet of their own right after their section, an Excel table with one
  column per table column and room for ``rows`` (>= 30) rows. A1 holds the question id, row 3 the
  column ids (both hidden), row 4 the header.
* ``_lister`` (hidden): dropdown lists. ``_meta`` (very hidden): template and catalogue version + hash.

Sheets are protected without a password and the workbook structure is locked, so only the answer
cells can be edited. Questions whose ``applies_if`` is false are greyed out by conditional formatting
where the condition can be expressed as an Excel formula (the validator always applies it).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import rule_engine
from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.errors import OutputExistsError
from pipeline.questions import Column, Question, QuestionCatalogue, Section, load_questions

__all__ = [
    "COL_ANSWER",
    "COL_ID",
    "FIRST_ROW",
    "FORMAT_ID",
    "INSTRUCTION_SHEETS",
    "LIST_SHEET",
    "META_SHEET",
    "TABLE_FIRST_ROW",
    "TABLE_IDS_ROW",
    "TEMPLATE_VERSION",
    "build_workbook",
    "option_key",
    "table_sheet_name",
    "to_cell_value",
    "write_template",
    "yes_no_labels",
]

TEMPLATE_VERSION = "1.0"
FORMAT_ID = "aivurdering-intake"
META_SHEET = "_meta"
LIST_SHEET = "_lister"
INSTRUCTION_SHEETS = {"da": "Vejledning", "en": "Instructions"}
COL_ID, COL_LABEL, COL_MARK, COL_ANSWER, COL_HELP = "A", "B", "C", "D", "E"
FIRST_ROW = 4
TABLE_IDS_ROW = 3
TABLE_HEADER_ROW = 4
TABLE_FIRST_ROW = 5
DATE_FORMAT = "dd-mm-yyyy"

_TITLE = Font(bold=True, size=14, color="1F3864")
_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
_ANSWER_FILL = PatternFill("solid", fgColor="FFF8DC")
_GREY_FILL = PatternFill("solid", fgColor="D9D9D9")
_MARK_FONT = Font(bold=True, color="C00000")
_HELP_FONT = Font(italic=True, color="595959", size=9)
_WRAP = Alignment(wrap_text=True, vertical="top")
_THIN = Side(style="thin", color="A6A6A6")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_UNLOCKED = Protection(locked=False)
_SHEET_BAD = re.compile(r"[\[\]:*?/\\']")

TEXTS: dict[str, dict[str, str]] = {
    "da": {
        "question": "Spørgsmål",
        "mark": "*",
        "answer": "Svar",
        "help": "Hjælp",
        "legend": "* = skal besvares, når spørgsmålet er relevant. Grå spørgsmål er ikke relevante ud fra jeres "
        "tidligere svar og skal ikke besvares. Skriv kun i de gule felter.",
        "choose_below": "Markér Ja ud for hver mulighed, der passer:",
        "see_sheet": "Udfyldes på arket '{sheet}'",
        "table_help": "Én række pr. post. Tomme rækker ignoreres. Kolonner med * skal udfyldes i hver række, "
        "der er i brug.",
        "date_error": "Skriv en dato som dd-mm-åååå, fx 05-01-2026.",
        "number_error": "Skriv et tal mellem {min} og {max}.",
        "list_error": "Vælg en af mulighederne på listen.",
        "invalid": "Ugyldig værdi",
    },
    "en": {
        "question": "Question",
        "mark": "*",
        "answer": "Answer",
        "help": "Help",
        "legend": "* = required when the question applies. Grey questions do not apply given your earlier "
        "answers and need no answer. Only type in the yellow cells.",
        "choose_below": "Mark Yes next to each option that applies:",
        "see_sheet": "Filled in on the sheet '{sheet}'",
        "table_help": "One row per entry. Empty rows are ignored. Columns marked * are required in every row "
        "in use.",
        "date_error": "Enter a date as dd-mm-yyyy, e.g. 05-01-2026.",
        "number_error": "Enter a number between {min} and {max}.",
        "list_error": "Choose one of the options in the list.",
        "invalid": "Invalid value",
    },
}

INSTRUCTIONS: dict[str, list[str]] = {
    "da": [
        "Sådan udfylder I intakearket",
        "Arket bruges til at vurdere et AI-system efter AI-forordningen, databeskyttelsesforordningen og "
        "dansk forvaltningsret. Svarene bliver til en rapport, der kan journaliseres i ESDH-systemet.",
        "1. Gå arkene igennem i rækkefølge. Skriv kun i de gule svarfelter i kolonnen 'Svar'.",
        "2. Spørgsmål med * skal besvares, når de er relevante. Grå spørgsmål er ikke relevante ud fra "
        "jeres tidligere svar: lad dem stå tomme.",
        "3. Vælg svar fra listen, hvor der er en liste. Datoer skrives som dd-mm-åååå, fx 05-01-2026. "
        "Procenter kan skrives som 85 % eller 0,85.",
        "4. Flervalg: markér Ja ud for hver mulighed, der passer. Nej eller tomt betyder 'ikke valgt'.",
        "5. Tabeller (datakilder, risici, handlinger) udfyldes på deres egne ark; én række pr. post.",
        "6. Hold musen over et svarfelt for at se hjælpeteksten.",
        "7. Tjek arket med kommandoen 'aivurdering validate <fil>'. Den viser alle fejl på én gang med ark "
        "og celle. Se docs/intake.md for forklaring af hver fejl.",
        "Arkene er beskyttet uden adgangskode, så opsætningen ikke ødelægges ved et uheld. Omdøb, slet "
        "eller tilføj ikke ark, og flyt ikke rækker.",
    ],
    "en": [
        "How to fill in the intake workbook",
        "The workbook is used to assess an AI system under the AI Act, the GDPR and Danish administrative "
        "law. The answers become a report ready for the records management system.",
        "1. Go through the sheets in order. Only type in the yellow cells in the 'Answer' column.",
        "2. Questions marked * are required when they apply. Grey questions do not apply given your "
        "earlier answers: leave them empty.",
        "3. Choose answers from the list where there is one. Dates as dd-mm-yyyy, e.g. 05-01-2026. "
        "Percentages as 85 % or 0.85.",
        "4. Multiple choice: mark Yes next to each option that applies. No or empty means 'not chosen'.",
        "5. Tables (data sources, risks, actions) are filled in on their own sheets, one row per entry.",
        "6. Hover over an answer cell to see the help text.",
        "7. Check the workbook with 'aivurdering validate <file>'. It lists all problems at once with "
        "sheet and cell. docs/intake.md explains every error.",
        "The sheets are protected without a password so the layout is not broken by accident. Do not "
        "rename, delete or add sheets, and do not move rows.",
    ],
}


def yes_no_labels(lang: str = "da") -> tuple[str, str]:
    return ("Yes", "No") if lang == "en" else ("Ja", "Nej")


def option_key(question_id: str, code: str) -> str:
    """Hidden id of the row of one option of a multiple-choice question."""
    return f"{question_id}:{code}"


def table_sheet_name(question: Question) -> str:
    """Sheet name of a table question: its Danish label, made safe and cut to 31 characters."""
    name = _SHEET_BAD.sub("", question.label.da).strip()
    return name[:31].strip() or question.id[:31]


def table_sheets(catalogue: QuestionCatalogue) -> dict[str, str]:
    """question id -> sheet name for every table question (unique)."""
    used = {s.sheet.casefold() for s in catalogue.sections} | {META_SHEET, LIST_SHEET}
    used |= {s.casefold() for s in INSTRUCTION_SHEETS.values()}
    out: dict[str, str] = {}
    for q in catalogue.questions:
        if q.type != "table":
            continue
        if table_only_section(catalogue, q.section):
            out[q.id] = catalogue.section_by_id[q.section].sheet
            continue
        name = table_sheet_name(q)
        n = 2
        while name.casefold() in used:
            suffix = f" {n}"
            name = table_sheet_name(q)[: 31 - len(suffix)] + suffix
            n += 1
        used.add(name.casefold())
        out[q.id] = name
    return out


def table_only_section(catalogue: QuestionCatalogue, section_id: str) -> bool:
    """A section whose only question is a table is shown as that table's sheet (no question sheet)."""
    qs = catalogue.questions_in(section_id)
    return len(qs) == 1 and qs[0].type == "table"


def to_cell_value(item: Question | Column, value: Any, lang: str = "da") -> Any:
    """Python answer value -> what is written in the answer cell (labels for choices)."""
    if value is None:
        return None
    t = item.type
    if t == "yes_no":
        yes, no = yes_no_labels(lang)
        return yes if value else no
    if t == "choice":
        opt = item.option_by_code().get(value)
        return opt.label.get(lang) if opt else str(value)
    if t == "multi_choice":  # only in table cells: labels separated by "; "
        by_code = item.option_by_code()
        return "; ".join(by_code[c].label.get(lang) if c in by_code else str(c) for c in value)
    if t == "percentage":
        return float(value) / 100.0
    if t == "date":
        return value if isinstance(value, dt.date) else value
    return value


# ------------------------------------------------------------------------------------------------
# Building
# ------------------------------------------------------------------------------------------------


class _Lists:
    """The hidden sheet with dropdown lists; one column per distinct list."""

    def __init__(self, ws: Worksheet) -> None:
        self.ws = ws
        self.cols: dict[tuple[str, ...], str] = {}

    def ref(self, labels: tuple[str, ...]) -> str:
        if labels not in self.cols:
            col = get_column_letter(len(self.cols) + 1)
            for i, label in enumerate(labels, start=1):
                self.ws[f"{col}{i}"] = label
            self.cols[labels] = col
        col = self.cols[labels]
        return f"{quote_sheetname(self.ws.title)}!${col}$1:${col}${len(labels)}"


def build_workbook(catalogue: QuestionCatalogue | None = None, lang: str = "da") -> Workbook:
    """Build the blank intake workbook for ``catalogue`` in ``lang`` ("da" or "en")."""
    cat = catalogue or load_questions()
    if lang not in TEXTS:
        raise ValueError(lang)
    wb = Workbook()
    ws0 = wb.active
    assert ws0 is not None  # noqa: S101
    _instructions(ws0, lang)
    lists_ws = wb.create_sheet(LIST_SHEET)
    lists = _Lists(lists_ws)
    tables = table_sheets(cat)
    cells: dict[str, str] = {}  # question id or option key -> absolute cell ref for conditions
    pending: list[tuple[Worksheet, Question, list[int]]] = []
    for section in cat.sections:
        if table_only_section(cat, section.id):
            q = cat.questions_in(section.id)[0]
            _table_sheet(wb.create_sheet(tables[q.id], index=len(wb.sheetnames) - 1), q, lang, lists)
            continue
        ws = wb.create_sheet(section.sheet, index=len(wb.sheetnames) - 1)
        placed = _section_sheet(ws, section, cat, lang, lists, tables, cells)
        pending.extend((ws, q, r) for q, r in placed)
        for q in cat.questions_in(section.id):
            if q.type == "table":
                tws = wb.create_sheet(tables[q.id], index=len(wb.sheetnames) - 1)
                _table_sheet(tws, q, lang, lists)
    for ws, q, q_rows in pending:
        _grey_out(ws, q, q_rows, cat, cells, lang)
    lists_ws.sheet_state = "hidden"
    lists_ws.protection.sheet = True
    _meta(wb.create_sheet(META_SHEET), cat, lang)
    wb.security = WorkbookProtection(lockStructure=True)
    wb.properties.creator = "aivurdering"
    wb.properties.title = "Intakeark til vurdering af AI-system" if lang == "da" else "AI system assessment intake"
    wb.properties.version = TEMPLATE_VERSION
    wb.active = 0
    return wb


def _print_setup(ws: Worksheet, landscape: bool = False) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = False
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.oddFooter.center.text = "&A – side &P af &N"


def _instructions(ws: Worksheet, lang: str) -> None:
    ws.title = INSTRUCTION_SHEETS[lang]
    ws.column_dimensions["A"].width = 100
    for i, line in enumerate(INSTRUCTIONS[lang], start=1):
        cell = ws.cell(row=i, column=1, value=line)
        cell.alignment = _WRAP
        if i == 1:
            cell.font = _TITLE
        ws.row_dimensions[i].height = 15 * max(1, len(line) // 95 + 1)
    ws.protection.sheet = True
    _print_setup(ws)


def _height(*texts: str | None, width: int = 48) -> float:
    lines = max((len(t) // width + 1 + t.count("\n") for t in texts if t), default=1)
    return float(min(409, max(18, 14 * lines)))


def _section_sheet(
    ws: Worksheet,
    section: Section,
    cat: QuestionCatalogue,
    lang: str,
    lists: _Lists,
    tables: dict[str, str],
    cells: dict[str, str],
) -> list[tuple[Question, list[int]]]:
    tx = TEXTS[lang]
    ws["B1"] = section.title.get(lang)
    ws["B1"].font = _TITLE
    ws["B2"] = (section.intro.get(lang) + "\n" if section.intro else "") + tx["legend"]
    ws["B2"].alignment = _WRAP
    ws.merge_cells("B2:E2")
    ws.row_dimensions[2].height = _height(ws["B2"].value, width=150)
    for col, key in ((COL_LABEL, "question"), (COL_MARK, "mark"), (COL_ANSWER, "answer"), (COL_HELP, "help")):
        c = ws[f"{col}3"]
        c.value = tx[key]
        c.font, c.fill, c.border = _BOLD, _HEADER_FILL, _BOX
    ws[f"{COL_ID}3"] = "id"
    for col, width in ((COL_ID, 4), (COL_LABEL, 55), (COL_MARK, 3), (COL_ANSWER, 38), (COL_HELP, 55)):
        ws.column_dimensions[col].width = width
    ws.column_dimensions[COL_ID].hidden = True
    ws.freeze_panes = "C4"
    ws.print_title_rows = "3:3"
    out: list[tuple[Question, list[int]]] = []
    row = FIRST_ROW
    sheet_ref = quote_sheetname(ws.title)
    for q in cat.questions_in(section.id):
        used = [row]
        ws[f"{COL_ID}{row}"] = q.id
        label = ws[f"{COL_LABEL}{row}"]
        label.value = q.label.get(lang)
        help_text = q.help.get(lang) if q.help else None
        if q.required:
            ws[f"{COL_MARK}{row}"] = "*"
            ws[f"{COL_MARK}{row}"].font = _MARK_FONT
        if help_text:
            ws[f"{COL_HELP}{row}"] = help_text
            ws[f"{COL_HELP}{row}"].font = _HELP_FONT
        for col in (COL_LABEL, COL_ANSWER, COL_HELP):
            ws[f"{col}{row}"].alignment = _WRAP
            ws[f"{col}{row}"].border = _BOX
        answer = ws[f"{COL_ANSWER}{row}"]
        ws.row_dimensions[row].height = _height(label.value, help_text)
        if q.type == "table":
            answer.value = tx["see_sheet"].format(sheet=tables[q.id])
            answer.font = _HELP_FONT
            answer.hyperlink = Hyperlink(ref=answer.coordinate, location=f"{quote_sheetname(tables[q.id])}!B1")
        elif q.type == "multi_choice":
            answer.value = tx["choose_below"]
            answer.font = _HELP_FONT
            yes_no = lists.ref(yes_no_labels(lang))
            dv = _dv("list", lang, formula1=yes_no, title=q.label.get(lang), prompt=help_text)
            ws.add_data_validation(dv)
            for opt in q.options:
                row += 1
                used.append(row)
                ws[f"{COL_ID}{row}"] = option_key(q.id, opt.code)
                ws[f"{COL_LABEL}{row}"] = "    " + opt.label.get(lang)
                ws[f"{COL_LABEL}{row}"].alignment = Alignment(wrap_text=True, vertical="top", indent=2)
                if opt.help:
                    ws[f"{COL_HELP}{row}"] = opt.help.get(lang)
                    ws[f"{COL_HELP}{row}"].font = _HELP_FONT
                    ws[f"{COL_HELP}{row}"].alignment = _WRAP
                cell = ws[f"{COL_ANSWER}{row}"]
                _answer_style(cell)
                dv.add(cell.coordinate)
                cells[option_key(q.id, opt.code)] = f"{sheet_ref}!${COL_ANSWER}${row}"
                ws.row_dimensions[row].height = _height(opt.label.get(lang), opt.help.get(lang) if opt.help else None)
        else:
            _answer_style(answer)
            _typed_validation(ws, answer.coordinate, q, lang, lists, help_text)
            cells[q.id] = f"{sheet_ref}!${COL_ANSWER}${row}"
        out.append((q, used))
        row += 1
    last = row - 1
    ws.print_area = f"B1:E{max(last, FIRST_ROW)}"
    ws.protection.sheet = True
    _print_setup(ws)
    return out


def _answer_style(cell: Any) -> None:
    cell.fill = _ANSWER_FILL
    cell.protection = _UNLOCKED
    cell.border = _BOX
    cell.alignment = _WRAP


def _dv(kind: str | None, lang: str, *, title: str, prompt: str | None, **kw: Any) -> DataValidation:
    dv = DataValidation(type=kind, allow_blank=True, **kw)
    dv.showInputMessage = True
    dv.promptTitle = title[:32]
    dv.prompt = (prompt or title)[:255]
    if kind is not None:
        dv.showErrorMessage = True
        dv.errorStyle = "stop"
        dv.errorTitle = TEXTS[lang]["invalid"]
    return dv


def _typed_validation(
    ws: Worksheet, coord: str, item: Question | Column, lang: str, lists: _Lists, prompt: str | None
) -> None:
    tx = TEXTS[lang]
    title = item.label.get(lang)
    cell = ws[coord.split(":")[0]]
    t = item.type
    dv: DataValidation
    if t == "yes_no":
        dv = _dv("list", lang, formula1=lists.ref(yes_no_labels(lang)), title=title, prompt=prompt)
        dv.error = tx["list_error"]
    elif t == "choice":
        labels = tuple(o.label.get(lang) for o in item.options)
        dv = _dv("list", lang, formula1=lists.ref(labels), title=title, prompt=prompt)
        dv.error = tx["list_error"]
    elif t == "date":
        dv = _dv("date", lang, operator="between", formula1="DATE(1900,1,1)", formula2="DATE(2199,12,31)",
                 title=title, prompt=prompt)
        dv.error = tx["date_error"]
        _fmt(ws, coord, DATE_FORMAT)
    elif t in ("number", "percentage"):
        lo = item.min if item.min is not None else -1e12
        hi = item.max if item.max is not None else 1e12
        scale = 100.0 if t == "percentage" else 1.0
        if t == "percentage" and item.min is None and item.max is None:
            lo, hi = 0.0, 100.0
        dv = _dv("decimal", lang, operator="between", formula1=_num(lo / scale), formula2=_num(hi / scale),
                 title=title, prompt=prompt)
        dv.error = tx["number_error"].format(min=_num(lo).replace(".", ","), max=_num(hi).replace(".", ","))
        _fmt(ws, coord, "0%" if t == "percentage" else "General")
    else:
        dv = _dv(None, lang, title=title, prompt=prompt)
        if t in ("cvr", "kle", "kle_facet", "text", "email"):
            _fmt(ws, coord, "@")
    del cell
    dv.add(coord)
    ws.add_data_validation(dv)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _fmt(ws: Worksheet, coord: str, fmt: str) -> None:
    for row in ws[coord] if ":" in coord else ((ws[coord],),):
        for c in row:
            c.number_format = fmt


def _table_sheet(ws: Worksheet, q: Question, lang: str, lists: _Lists) -> None:
    tx = TEXTS[lang]
    ws["A1"] = q.id
    ws["B1"] = q.label.get(lang)
    ws["B1"].font = _TITLE
    ncol = len(q.columns)
    last_col = get_column_letter(1 + ncol)
    ws["B2"] = ((q.help.get(lang) + "\n") if q.help else "") + tx["table_help"]
    ws["B2"].alignment = _WRAP
    ws.merge_cells(f"B2:{last_col}2")
    ws.row_dimensions[2].height = _height(ws["B2"].value, width=max(40, 25 * ncol))
    ws.column_dimensions["A"].hidden = True
    ws.row_dimensions[TABLE_IDS_ROW].hidden = True
    last_row = TABLE_FIRST_ROW + q.rows - 1
    seen: set[str] = set()
    for i, col in enumerate(q.columns, start=2):
        letter = get_column_letter(i)
        ws.cell(row=TABLE_IDS_ROW, column=i, value=col.id)
        title = " ".join(col.label.get(lang).split()) + (" *" if col.required else "")
        while title.casefold() in seen:  # an Excel table needs unique header texts
            title += " "
        seen.add(title.casefold())
        header = ws.cell(row=TABLE_HEADER_ROW, column=i, value=title)
        header.font, header.fill, header.alignment = _BOLD, _HEADER_FILL, _WRAP
        ws.column_dimensions[letter].width = 40 if col.type == "long_text" else 18 if col.type != "text" else 26
        rng = f"{letter}{TABLE_FIRST_ROW}:{letter}{last_row}"
        for (c,) in ws[rng]:
            c.protection = _UNLOCKED
            c.alignment = _WRAP
        help_text = col.help.get(lang) if col.help else None
        _typed_validation(ws, rng, col, lang, lists, help_text)
    ws.row_dimensions[TABLE_HEADER_ROW].height = 32
    for r in range(TABLE_FIRST_ROW, last_row + 1):
        ws.row_dimensions[r].height = 30  # two lines of wrapped text
    table = Table(displayName=_table_name(q.id), ref=f"B{TABLE_HEADER_ROW}:{last_col}{last_row}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    # header cells must hold unique text for a valid table
    ws.add_table(table)
    ws.freeze_panes = f"B{TABLE_FIRST_ROW}"
    ws.print_title_rows = f"{TABLE_HEADER_ROW}:{TABLE_HEADER_ROW}"
    ws.print_area = f"B1:{last_col}{last_row}"
    ws.protection.sheet = True
    ws.protection.insertRows = False
    ws.protection.deleteRows = False
    _print_setup(ws, landscape=True)


def _table_name(qid: str) -> str:
    return "T_" + re.sub(r"[^A-Za-z0-9_]", "_", qid)[:200]


def _meta(ws: Worksheet, cat: QuestionCatalogue, lang: str) -> None:
    rows = [
        ("format", FORMAT_ID),
        ("template_version", TEMPLATE_VERSION),
        ("catalogue_id", cat.catalogue.id),
        ("catalogue_version", cat.version),
        ("catalogue_sha256", cat.sha256),
        ("language", lang),
    ]
    for i, (k, v) in enumerate(rows, start=1):
        ws.cell(row=i, column=1, value=k)
        ws.cell(row=i, column=2, value=v).number_format = "@"
    ws.sheet_state = "veryHidden"
    ws.protection.sheet = True


# ------------------------------------------------------------------------------------------------
# Greying out questions that do not apply (conditional formatting)
# ------------------------------------------------------------------------------------------------


def _grey_out(
    ws: Worksheet, q: Question, rows: list[int], cat: QuestionCatalogue, cells: dict[str, str], lang: str
) -> None:
    cond = cat.condition(q.id)
    if cond is None:
        return
    formula = condition_to_excel(cond._rule.statement.expression, cat, cells, lang)
    if formula is None:
        return
    rng = f"{COL_LABEL}{rows[0]}:{COL_HELP}{rows[-1]}"
    ws.conditional_formatting.add(
        rng, FormulaRule(formula=[f"NOT({formula})"], fill=_GREY_FILL, font=Font(color="808080"), stopIfTrue=False)
    )


def condition_to_excel(node: Any, cat: QuestionCatalogue, cells: dict[str, str], lang: str) -> str | None:
    """Translate a simple rule-engine condition into an Excel formula; None when not possible."""
    ast = rule_engine.ast
    yes, no = yes_no_labels(lang)

    def lit(n: Any) -> tuple[bool, Any]:
        if isinstance(n, ast.FloatExpression):
            return True, float(n.value)  # rule-engine keeps numbers as Decimal
        if isinstance(n, ast.StringExpression | ast.BooleanExpression):
            return True, n.value
        if isinstance(n, ast.NullExpression):
            return True, None
        return False, None

    def cell_of(sym: str) -> str | None:
        return cells.get(sym)

    def scalar(sym: str, value: Any) -> str | None:
        q = cat.by_id.get(sym)
        ref = cell_of(sym)
        if q is None or ref is None:
            return None
        if value is None:
            return f'{ref}=""'
        if q.type == "yes_no" and isinstance(value, bool):
            return f'{ref}="{yes if value else no}"'
        if q.type == "choice" and isinstance(value, str):
            opt = q.option_by_code().get(value)
            return f'{ref}="{_xl_str(opt.label.get(lang))}"' if opt else None
        if q.type in ("number", "percentage") and isinstance(value, float | int) and not isinstance(value, bool):
            v = value / 100.0 if q.type == "percentage" else value
            return f"AND(ISNUMBER({ref}),{ref}={_num(v)})"
        if isinstance(value, str) and q.type in ("text", "email", "cvr", "kle", "kle_facet"):
            return f'{ref}="{_xl_str(value)}"'
        return None

    def walk(n: Any) -> str | None:
        if isinstance(n, ast.LogicExpression):
            left, right = walk(n.left), walk(n.right)
            if left is None or right is None:
                return None
            return f"{'AND' if n.type == 'and' else 'OR'}({left},{right})"
        if isinstance(n, ast.UnaryExpression) and n.type == "not":
            inner = walk(n.right)
            return None if inner is None else f"NOT({inner})"
        if isinstance(n, ast.SymbolExpression):
            return scalar(n.name, True)
        if isinstance(n, ast.ComparisonExpression) and n.type in ("eq", "ne"):
            for s, other in ((n.left, n.right), (n.right, n.left)):
                is_lit, value = lit(other)
                if isinstance(s, ast.SymbolExpression) and is_lit:
                    f = scalar(s.name, value)
                    if f is None:
                        return None
                    return f if n.type == "eq" else f"NOT({f})"
            return None
        if isinstance(n, ast.ArithmeticComparisonExpression):
            ops = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
            is_lit, value = lit(n.right)
            if isinstance(n.left, ast.SymbolExpression) and is_lit and isinstance(value, float | int):
                q = cat.by_id.get(n.left.name)
                ref = cell_of(n.left.name)
                if q is None or ref is None or q.type not in ("number", "percentage"):
                    return None
                v = value / 100.0 if q.type == "percentage" else value
                return f"AND(ISNUMBER({ref}),{ref}{ops[n.type]}{_num(float(v))})"
            return None
        if isinstance(n, ast.ContainsExpression):
            is_lit, value = lit(n.member)
            if isinstance(n.container, ast.SymbolExpression) and is_lit and isinstance(value, str):
                ref = cell_of(option_key(n.container.name, value))
                return None if ref is None else f'{ref}="{yes}"'
            return None
        return None

    return walk(node)


def _xl_str(text: str) -> str:
    return text.replace('"', '""')


# ------------------------------------------------------------------------------------------------
# Writing files
# ------------------------------------------------------------------------------------------------


def save_atomic(wb: Workbook, path: Path, *, force: bool = True) -> Path:
    """Save through ``pipeline.safeio`` (temporary file + rename): no half-written file is left."""
    from pipeline.safeio import atomic_write_bytes

    buf = BytesIO()
    wb.save(buf)
    return atomic_write_bytes(Path(path), buf.getvalue(), force=force)


def write_template(
    path: Path, lang: str = "da", force: bool = False, catalogue: QuestionCatalogue | None = None
) -> Path:
    """Write the blank intake workbook to ``path``.

    Raises:
        OutputExistsError: ``path`` exists and ``force`` is false.
    """
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(str(path))
    save_atomic(build_workbook(catalogue, lang), path)
    return path


def iter_sheet_questions(ws: Worksheet) -> Iterator[tuple[int, str]]:
    """(row, id) for every id in the hidden column A of a section sheet (openpyxl worksheet)."""
    for (cell,) in ws.iter_rows(min_row=FIRST_ROW, min_col=1, max_col=1):
        if isinstance(cell.value, str) and cell.value:
            yield cell.row, cell.value
