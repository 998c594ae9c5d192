"""Answers in and out: fill a blank workbook from answers keyed by question id, and export answers.

``fill_workbook(answers, out)`` followed by ``validate_workbook(out).answers`` gives the same answers
back (the identity is a property test). Answer files are YAML or JSON: either a mapping of question id
to value, or ``{answers: {...}}`` with optional descriptive keys (``title``, ``description``,
``scenario``, ``lang``). Values follow the types in :mod:`pipeline.models`; option codes or labels,
ISO or Danish dates and Danish numbers are accepted.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import yaml
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet.worksheet import Worksheet

from pipeline.errors import InputFileError, OutputExistsError, UserError
from pipeline.models import Intake
from pipeline.questions import Column, Question, QuestionCatalogue, load_questions
from pipeline.textfmt import syntax_error_da
from pipeline.validate import ParseError, parse_value
from pipeline.workbook import (
    COL_ANSWER,
    FIRST_ROW,
    TABLE_FIRST_ROW,
    TABLE_IDS_ROW,
    build_workbook,
    option_key,
    save_atomic,
    table_only_section,
    table_sheets,
    to_cell_value,
    yes_no_labels,
)

__all__ = ["export_answers", "fill_workbook", "load_answers"]

_WRAPPER_KEYS = frozenset({"answers", "title", "description", "scenario", "lang", "note", "notes"})
MAX_ANSWER_FILE = 10 * 1024 * 1024


def load_answers(path: Path) -> dict[str, Any]:
    """Read an answers file (.yaml/.yml/.json). Raises :class:`InputFileError` with a Danish message."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_ANSWER_FILE:
            raise InputFileError("svarfilen er for stor (over 10 MB).", path=str(path))
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputFileError("filen findes ikke.", path=str(path)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"svarfilen kan ikke læses som UTF-8-tekst ({exc}).", path=str(path)) from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
        raise InputFileError(f"svarfilen er ikke gyldig {kind}: {syntax_error_da(exc)}.", path=str(path)) from exc
    if isinstance(data, dict) and isinstance(data.get("answers"), dict) and set(data) <= _WRAPPER_KEYS:
        data = data["answers"]
    if not isinstance(data, dict):
        raise InputFileError("svarfilen skal være en oversigt 'spørgsmåls-id: svar'.", path=str(path))
    return {str(k): v for k, v in data.items()}


def _coerce(item: Question | Column, value: Any) -> Any:
    """An answer value from a file -> the typed value (raises ParseError or ValueError)."""
    t = item.type
    if t == "multi_choice":
        if not isinstance(value, list):
            raise ValueError("skal være en liste af svarkoder")
        codes = {parse_value(item, str(v)) if not isinstance(v, str) else _choice_code(item, v) for v in value}
        return [o.code for o in item.options if o.code in codes]
    if t == "date" and isinstance(value, dt.datetime):
        return value.date()
    if t == "date" and isinstance(value, dt.date):
        return value
    if t == "yes_no" and isinstance(value, bool):
        return value
    if t in ("number", "percentage") and isinstance(value, int | float) and not isinstance(value, bool):
        parse_value(item, str(value) + (" %" if t == "percentage" else ""))  # range check
        return value
    if t in ("text", "long_text") and isinstance(value, str):
        if ILLEGAL_CHARACTERS_RE.search(value):
            raise ParseError("control_characters", "teksten indeholder styretegn, som Excel ikke kan gemme")
        return parse_value(item, value)
    if isinstance(value, dict | list):
        raise ValueError("forkert type")
    return parse_value(item, value if isinstance(value, str) else str(value))


def _choice_code(item: Question | Column, value: str) -> str:
    return str(parse_value(Column(id="x", type="choice", label=item.label, options=item.options), value))


def _check(answers: dict[str, Any], cat: QuestionCatalogue, source: str | None = None) -> dict[str, Any]:
    problems: list[str] = []
    out: dict[str, Any] = {}
    for qid, value in answers.items():
        q = cat.by_id.get(qid)
        if q is None:
            problems.append(f"'{qid}': ukendt spørgsmål")
            continue
        if value is None:
            continue
        try:
            if q.type == "table":
                if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
                    raise ValueError("en tabel skal være en liste af rækker (oversigter)")
                rows = []
                cols = {c.id: c for c in q.columns}
                for i, row in enumerate(value, start=1):
                    unknown = set(row) - set(cols)
                    if unknown:
                        raise ValueError(f"række {i}: ukendte kolonner {', '.join(sorted(unknown))}")
                    rows.append({k: _coerce(cols[k], v) for k, v in row.items() if v is not None})
                out[qid] = [r for r in rows if r]
            else:
                out[qid] = _coerce(q, value)
        except (ParseError, ValueError) as exc:
            problems.append(f"'{qid}': {exc}")
    if problems:
        where = f"{source}: " if source else ""
        raise UserError(f"{where}Svarfilen kan ikke bruges:\n  " + "\n  ".join(problems))
    return out


def _put(ws: Worksheet, ref: str, value: Any) -> None:
    cell = ws[ref]
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text, never a formula


def fill_workbook(
    answers: dict[str, Any],
    out: Path,
    *,
    catalogue: QuestionCatalogue | None = None,
    lang: str = "da",
    force: bool = False,
    source: str | None = None,
) -> Path:
    """Write a workbook filled with ``answers`` (question id -> value) to ``out``.

    ``source`` names the answers file in messages.

    Raises:
        UserError: an unknown question id or a value that does not fit its question.
        OutputExistsError: ``out`` exists and ``force`` is false.
    """
    cat = catalogue or load_questions()
    out = Path(out)
    if out.exists() and not force:
        raise OutputExistsError(str(out))
    values = _check(answers, cat, source)
    wb = build_workbook(cat, lang)
    tables = table_sheets(cat)
    yes, no = yes_no_labels(lang)
    for section in cat.sections:
        if table_only_section(cat, section.id):
            continue
        ws = wb[section.sheet]
        rows = {c.value: c.row for (c,) in ws.iter_rows(min_row=FIRST_ROW, min_col=1, max_col=1) if c.value}
        for q in cat.questions_in(section.id):
            if q.id not in values or q.type == "table":
                continue
            if q.type == "multi_choice":
                for opt in q.options:
                    _put(ws, f"{COL_ANSWER}{rows[option_key(q.id, opt.code)]}", yes if opt.code in values[q.id] else no)
            else:
                _put(ws, f"{COL_ANSWER}{rows[q.id]}", to_cell_value(q, values[q.id], lang))
    for qid, sheet_name in tables.items():
        q = cat.by_id[qid]
        rows_in = values.get(qid) or []
        if len(rows_in) > q.rows:
            raise UserError(f"Tabellen '{qid}' har {len(rows_in)} rækker; skabelonen har plads til {q.rows}.")
        ws = wb[sheet_name]
        letters = {ws.cell(row=TABLE_IDS_ROW, column=i).value: i for i in range(2, 2 + len(q.columns))}
        for r, row in enumerate(rows_in):
            for col in q.columns:
                if col.id in row:
                    cell = ws.cell(row=TABLE_FIRST_ROW + r, column=letters[col.id])
                    _put(ws, cell.coordinate, to_cell_value(col, row[col.id], lang))
    save_atomic(wb, out)
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def export_answers(intake: Intake, fmt: str = "json", catalogue: QuestionCatalogue | None = None) -> str:
    """The answers of ``intake`` as JSON or YAML text, in catalogue order (readable by ``fill``)."""
    cat = catalogue or load_questions()
    order = {q.id: i for i, q in enumerate(cat.questions)}
    answers = {k: intake.answers[k] for k in sorted(intake.answers, key=lambda k: order.get(k, len(order)))}
    if fmt == "json":
        return json.dumps(_jsonable(answers), ensure_ascii=False, indent=2) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(answers, allow_unicode=True, sort_keys=False, width=100)
    raise ValueError(fmt)
