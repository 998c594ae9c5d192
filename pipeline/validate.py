"""Validate a filled intake workbook: typed answers and *all* problems at once.

``validate_workbook(path)`` reads the file safely (``pipeline.intake``), checks that it is our workbook
and which template version it is (``pipeline.migrations``), finds every question by its hidden id,
parses each answer tolerantly (Danish habits: "Ja/nej/JA", "5-1-2026", "05.01.2026", date serials,
"0,85", "85 %", non-breaking spaces, option codes as well as labels) and returns a
:class:`~pipeline.models.Intake` whose ``issues`` list every problem with a stable code, a Danish
message, sheet, cell, question id and the offending value. Codes are documented in ``docs/errors.md``
(:data:`ISSUE_CODES` is the list a test compares with that page).

Answers to questions that do not apply (their ``applies_if`` is false) are reported as warnings and
removed, so no rule can use them.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from pipeline.errors import InputFileError
from pipeline.expressions import Condition
from pipeline.intake import (
    CellError,
    CellRefError,
    CellValue,
    RawSheet,
    RawWorkbook,
    UncalculatedFormula,
    bad_cell_ref,
    read_cells,
    split_ref,
)
from pipeline.migrations import Migration, resolve_migration
from pipeline.models import Intake, Issue, SourceInfo
from pipeline.questions import Column, Question, QuestionCatalogue, load_questions
from pipeline.workbook import (
    COL_ANSWER,
    COL_ID,
    FIRST_ROW,
    FORMAT_ID,
    INSTRUCTION_SHEETS,
    LIST_SHEET,
    META_SHEET,
    TABLE_FIRST_ROW,
    TABLE_IDS_ROW,
    table_only_section,
    table_sheets,
)

__all__ = ["ISSUE_CODES", "parse_value", "validate_raw", "validate_workbook"]

MAX_CELL_CHARS = 32767  # Excel's own limit for one cell
MAX_SHORT_TEXT = 2000

# Every issue code this module can emit -> short Danish title (docs/errors.md has one heading per code).
ISSUE_CODES: dict[str, str] = {
    "sheet_missing": "Et ark mangler",
    "unexpected_sheet": "Et ukendt ark er tilføjet",
    "question_row_missing": "En spørgsmålsrække mangler",
    "duplicate_question_row": "Et spørgsmål findes to gange",
    "unknown_question": "Ukendt spørgsmål i arket",
    "catalogue_version_differs": "Arket er lavet med en anden udgave af spørgsmålskataloget",
    "required_missing": "Et påkrævet spørgsmål er ikke besvaret",
    "table_required_missing": "En påkrævet kolonne i en tabelrække er tom",
    "not_applicable_answer": "Svar på et spørgsmål, der ikke er relevant",
    "contradictory_answers": "Svar, der modsiger hinanden",
    "contradictory_choices": "Modstridende valg",
    "invalid_yes_no": "Ugyldigt ja/nej-svar",
    "invalid_choice": "Svaret findes ikke på listen",
    "invalid_date": "Ugyldig dato",
    "date_out_of_range": "Usandsynlig dato",
    "invalid_number": "Ugyldigt tal",
    "number_out_of_range": "Tallet er uden for det tilladte interval",
    "invalid_email": "Ugyldig e-mailadresse",
    "invalid_cvr": "Ugyldigt CVR-nummer",
    "invalid_cvr_checksum": "CVR-nummeret findes ikke (kontrolciffer)",
    "invalid_kle": "Ugyldigt KLE-emnenummer",
    "invalid_kle_facet": "Ugyldig handlingsfacet",
    "pattern_mismatch": "Teksten har ikke den krævede form",
    "text_too_long": "Teksten er for lang",
    "control_characters": "Usynlige styretegn i cellen",
    "formula_error": "Cellen viser en formelfejl",
}

YES_WORDS = frozenset({"ja", "j", "yes", "y", "true", "sand", "x", "1"})
NO_WORDS = frozenset({"nej", "n", "no", "false", "falsk", "0"})
EXCLUSIVE_PREFIX = "ingen"  # option codes "ingen" / "ingen_*" cannot be combined with other options
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2009": " ", "\t": " "})
_WS_RE = re.compile(r"[ ]{2,}")
_EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9ÆØÅæøå](?:[A-Za-z0-9ÆØÅæøå-]*[A-Za-z0-9ÆØÅæøå])?"
                       r"(?:\.[A-Za-z0-9ÆØÅæøå](?:[A-Za-z0-9ÆØÅæøå-]*[A-Za-z0-9ÆØÅæøå])?)+$")
_KLE_RE = re.compile(r"^\d{2}\.\d{2}\.\d{2}$")
_FACET_RE = re.compile(r"^[A-ZÆØÅ]\d{2}$")
_DATE_DMY = re.compile(r"^(\d{1,2})\s*[-./]\s*(\d{1,2})\s*[-./]\s*(\d{4}|\d{2})$")
_DATE_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_DATE_LONG = re.compile(r"^(\d{1,2})\.?\s+([a-zæøå]+)\.?\s+(\d{4})$")
_MONTHS = {
    "januar": 1, "jan": 1, "februar": 2, "feb": 2, "marts": 3, "mar": 3, "april": 4, "apr": 4, "maj": 5,
    "juni": 6, "jun": 6, "juli": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9,
    "oktober": 10, "okt": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
CVR_WEIGHTS = (2, 7, 6, 5, 4, 3, 2, 1)


class ParseError(ValueError):
    """A cell value that cannot be read as its question type (code + Danish message)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# ------------------------------------------------------------------------------------------------
# Value parsing (one function per question type)
# ------------------------------------------------------------------------------------------------


def normalise(text: str, *, keep_newlines: bool = False) -> str:
    """NBSP and friends -> space, runs of spaces collapsed, stripped (line breaks kept on request)."""
    if text.isprintable() and "  " not in text and (text.isascii() or unicodedata.is_normalized("NFC", text)):
        # Shortcut, same result: printable text has no tab, line break or separator other than the ASCII
        # space (so nothing to translate or split), is already NFC and has no run of spaces to collapse;
        # only the final strip() below would change it.
        return text.strip()
    text = unicodedata.normalize("NFC", text.translate(_SPACES)).replace("\r\n", "\n").replace("\r", "\n")
    if keep_newlines:
        lines = [_WS_RE.sub(" ", line).strip() for line in text.split("\n")]
        return "\n".join(lines).strip()
    return _WS_RE.sub(" ", text.replace("\n", " ")).strip()


def _number_text(value: CellValue) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return normalise(str(value))


def parse_yes_no(value: CellValue, _item: Any = None, _ctx: Any = None) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value in (0.0, 1.0):
        return value == 1.0
    word = normalise(str(value)).casefold().rstrip(".")
    if word in YES_WORDS:
        return True
    if word in NO_WORDS:
        return False
    raise ParseError("invalid_yes_no", "Svaret skal være Ja eller Nej.")


_LOOKUPS: dict[int, tuple[Question | Column, dict[str, str]]] = {}


def _option_lookup(item: Question | Column) -> dict[str, str]:
    """Normalised label/code -> option code (cached per catalogue item)."""
    cached = _LOOKUPS.get(id(item))
    if cached is not None and cached[0] is item:
        return cached[1]
    out: dict[str, str] = {}
    for opt in item.options:
        for key in (opt.code, opt.label.da, opt.label.en or ""):
            if key:
                out.setdefault(normalise(key).casefold(), opt.code)
    if len(_LOOKUPS) > 10000:
        _LOOKUPS.clear()
    _LOOKUPS[id(item)] = (item, out)
    return out


def parse_choice(value: CellValue, item: Question | Column, _ctx: Any = None) -> str:
    text = _number_text(value) if isinstance(value, float) else normalise(str(value))
    code = _option_lookup(item).get(text.casefold().rstrip("."))
    if code is None:
        code = _option_lookup(item).get(text.casefold())
    if code is None:
        choices = ", ".join(f"'{o.label.da}'" for o in item.options)
        raise ParseError("invalid_choice", f"Svaret findes ikke på listen. Vælg en af: {choices}.")
    return code


def parse_multi_choice_text(value: CellValue, item: Question | Column, _ctx: Any = None) -> list[str]:
    """Multiple choice written in one cell (table columns): labels or codes separated by ; , or line breaks."""
    parts = [p for p in re.split(r"[;\n]|,(?!\d)", str(value)) if p.strip()]
    codes = {parse_choice(p, item) for p in parts}
    return [o.code for o in item.options if o.code in codes]


def _serial_to_date(serial: float, date1904: bool) -> dt.date:
    if not (1 <= serial < 2958466) or math.isnan(serial):
        raise ParseError("invalid_date", "Datoen kan ikke læses. Skriv den som dd-mm-åååå, fx 05-01-2026.")
    base = dt.date(1904, 1, 1) if date1904 else dt.date(1899, 12, 30)
    return base + dt.timedelta(days=int(serial))


def parse_date(value: CellValue, _item: Any = None, ctx: _Ctx | None = None) -> dt.date:
    bad = ParseError("invalid_date", "Datoen kan ikke læses. Skriv den som dd-mm-åååå, fx 05-01-2026.")
    if isinstance(value, bool):
        raise bad
    if isinstance(value, float):
        result = _serial_to_date(value, bool(ctx and ctx.date1904))
    else:
        text = normalise(str(value)).casefold()
        try:
            if m := _DATE_DMY.match(text):
                day, month, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
                year = year + 2000 if year < 100 else year
                result = dt.date(year, month, day)
            elif m := _DATE_ISO.match(text):
                result = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            elif (m := _DATE_LONG.match(text)) and m.group(2) in _MONTHS:
                result = dt.date(int(m.group(3)), _MONTHS[m.group(2)], int(m.group(1)))
            else:
                raise bad
        except ValueError as exc:
            if isinstance(exc, ParseError):
                raise
            raise ParseError("invalid_date", f"Datoen '{value}' findes ikke. Skriv den som dd-mm-åååå.") from exc
    if not (1990 <= result.year <= 2150):
        raise ParseError("date_out_of_range", f"Datoen {result:%d-%m-%Y} ligger uden for årene 1990-2150.")
    return result


def _parse_float(text: str) -> float:
    s = text.replace(" ", "").replace("\u2212", "-")
    if "," in s and "." in s:
        s = s.replace(".", "").replace(",", ".")
    elif "," in s:
        # "1,234,567" (several groups) is a thousands separator; otherwise the Danish decimal comma
        s = s.replace(",", "") if re.fullmatch(r"-?\d{1,3}(,\d{3}){2,}", s) else s.replace(",", ".")
    elif re.fullmatch(r"-?\d{1,3}(\.\d{3})+", s):
        s = s.replace(".", "")  # Danish thousands point: 10.000
    result = float(s)
    if math.isnan(result) or math.isinf(result):
        raise ValueError(text)
    return result


def _range_check(number: float, item: Question | Column, unit: str = "") -> None:
    lo, hi = item.min, item.max
    if unit == "%":
        lo = 0.0 if lo is None else lo
        hi = 100.0 if hi is None else hi
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        from pipeline.textfmt import number_da

        lo_t = number_da(lo) if lo is not None else "-"
        hi_t = number_da(hi) if hi is not None else "-"
        raise ParseError(
            "number_out_of_range", f"Tallet {number_da(number)}{unit} skal ligge mellem {lo_t}{unit} og {hi_t}{unit}."
        )


def _as_number(x: float) -> int | float:
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


def parse_number(value: CellValue, item: Question | Column, _ctx: Any = None) -> int | float:
    if isinstance(value, bool):
        raise ParseError("invalid_number", "Svaret skal være et tal.")
    if isinstance(value, float):
        number = value
    else:
        try:
            number = _parse_float(normalise(str(value)))
        except ValueError as exc:
            raise ParseError("invalid_number", "Svaret skal være et tal, fx 1.250 eller 0,5.") from exc
    _range_check(number, item)
    return _as_number(number)


def parse_percentage(value: CellValue, item: Question | Column, _ctx: Any = None) -> float:
    bad = ParseError("invalid_number", "Svaret skal være en procent, fx 85 % eller 0,85.")
    if isinstance(value, bool):
        raise bad
    if isinstance(value, float):
        # the template formats the cell as %, so Excel stores 85 % as 0.85; a bare 85 means 85 %
        number = value * 100.0 if abs(value) <= 1.0 else value
    else:
        text = normalise(str(value))
        has_pct = text.endswith("%")
        try:
            number = _parse_float(text.rstrip("%").strip())
        except ValueError as exc:
            raise bad from exc
        if not has_pct and abs(number) <= 1.0:
            number *= 100.0
    number = round(number, 9)
    _range_check(number, item, "%")
    return float(number)


def parse_text(value: CellValue, item: Question | Column, _ctx: Any = None) -> str:
    text = _number_text(value) if isinstance(value, float) else normalise(str(value))
    if isinstance(value, bool):
        text = "Ja" if value else "Nej"
    if len(text) > MAX_SHORT_TEXT:
        raise ParseError("text_too_long", f"Teksten er {len(text)} tegn; højst {MAX_SHORT_TEXT} tegn her.")
    if item.pattern and not re.fullmatch(item.pattern, text):
        msg = item.pattern_message.da if item.pattern_message else "Teksten har ikke den krævede form."
        raise ParseError("pattern_mismatch", msg)
    return text


def parse_long_text(value: CellValue, item: Question | Column, _ctx: Any = None) -> str:
    text = _number_text(value) if isinstance(value, float) else normalise(str(value), keep_newlines=True)
    if isinstance(value, bool):
        text = "Ja" if value else "Nej"
    if item.pattern and not re.fullmatch(item.pattern, text):
        msg = item.pattern_message.da if item.pattern_message else "Teksten har ikke den krævede form."
        raise ParseError("pattern_mismatch", msg)
    return text


def parse_email(value: CellValue, _item: Any = None, _ctx: Any = None) -> str:
    text = normalise(str(value)).replace(" ", "")
    if text.casefold().startswith("mailto:"):
        text = text[7:]
    if not _EMAIL_RE.match(text) or len(text) > 254:
        raise ParseError("invalid_email", "E-mailadressen er ikke gyldig (fx navn@kommune.dk).")
    return text


def cvr_valid(digits: str) -> bool:
    """CVR modulus 11: weights 2,7,6,5,4,3,2,1; the weighted sum is divisible by 11."""
    return len(digits) == 8 and digits.isdigit() and sum(int(d) * w for d, w in zip(digits, CVR_WEIGHTS, strict=True)) % 11 == 0


def parse_cvr(value: CellValue, _item: Any = None, _ctx: Any = None) -> str:
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = normalise(str(value)).upper().replace(" ", "").replace("-", "")
    if text.startswith("DK"):
        text = text[2:]
    if not re.fullmatch(r"\d{8}", text):
        raise ParseError("invalid_cvr", "Et CVR-nummer består af 8 cifre, fx 29189846.")
    if not cvr_valid(text):
        raise ParseError("invalid_cvr_checksum", f"CVR-nummeret {text} er ikke gyldigt (kontrolcifferet passer ikke).")
    return text


def parse_kle(value: CellValue, _item: Any = None, _ctx: Any = None) -> str:
    text = normalise(str(value)).replace(" ", "") if not isinstance(value, float) else ""
    if not _KLE_RE.match(text):
        raise ParseError("invalid_kle", "Et KLE-emnenummer skrives som HH.GG.EE, fx 27.24.00.")
    return text


def parse_kle_facet(value: CellValue, _item: Any = None, _ctx: Any = None) -> str:
    text = normalise(str(value)).replace(" ", "").upper() if not isinstance(value, float) else ""
    if not _FACET_RE.match(text):
        raise ParseError("invalid_kle_facet", "En handlingsfacet er et bogstav og to cifre, fx G01.")
    return text


PARSERS: dict[str, Callable[..., Any]] = {
    "text": parse_text,
    "long_text": parse_long_text,
    "yes_no": parse_yes_no,
    "choice": parse_choice,
    "multi_choice": parse_multi_choice_text,
    "date": parse_date,
    "number": parse_number,
    "percentage": parse_percentage,
    "email": parse_email,
    "cvr": parse_cvr,
    "kle": parse_kle,
    "kle_facet": parse_kle_facet,
}


@dataclass(frozen=True)
class _Ctx:
    date1904: bool = False


_CTXS = (_Ctx(False), _Ctx(True))  # immutable, so one of each is shared by every parse


def parse_value(item: Question | Column, value: CellValue, *, date1904: bool = False) -> Any:
    """Parse one raw cell value as ``item``'s type. Raises :class:`ParseError`."""
    if isinstance(value, UncalculatedFormula):
        raise ParseError("formula_error", "Cellen indeholder en formel uden beregnet resultat. Skriv svaret "
                                          "direkte i cellen (ikke som formel).")
    if isinstance(value, CellError):
        raise ParseError("formula_error", f"Cellen viser formelfejlen {value}. Skriv svaret direkte i cellen.")
    if isinstance(value, str):
        if len(value) > MAX_CELL_CHARS:
            raise ParseError("text_too_long", f"Cellen indeholder {len(value)} tegn; højst {MAX_CELL_CHARS} tegn.")
        if _CONTROL_RE.search(value):
            raise ParseError(
                "control_characters",
                "Cellen indeholder usynlige styretegn (fx fra kopi fra en PDF). Slet indholdet og skriv det igen.",
            )
    return PARSERS[item.type](value, item, _CTXS[bool(date1904)])


# ------------------------------------------------------------------------------------------------
# The workbook
# ------------------------------------------------------------------------------------------------


@dataclass
class _State:
    cat: QuestionCatalogue
    raw: RawWorkbook
    migration: Migration | None
    issues: list[Issue] = field(default_factory=list)
    answers: dict[str, Any] = field(default_factory=dict)
    locations: dict[str, tuple[str, str]] = field(default_factory=dict)  # qid -> (sheet, cell)
    option_locations: dict[str, tuple[str, str]] = field(default_factory=dict)  # "qid:code" -> (sheet, cell)
    invalid: set[str] = field(default_factory=set)  # question ids with a reported parse error

    def add(self, code: str, message: str, *, severity: str = "error", sheet: str | None = None,
            cell: str | None = None, question: Question | None = None, value: Any = None) -> None:
        if question is not None and severity == "error":
            self.invalid.add(question.id)
        shown = None if value is None else (str(value) if not isinstance(value, float) else _number_text(value))
        if shown is not None and len(shown) > 200:
            shown = shown[:200] + "…"
        self.issues.append(
            Issue(
                code=code,
                severity="warning" if severity == "warning" else "error",
                message=message,
                sheet=sheet,
                cell=cell,
                question_id=question.id if question else None,
                question_label=question.label.da if question else None,
                value=shown,
            )
        )


def validate_workbook(path: Path, catalogue: QuestionCatalogue | None = None) -> Intake:
    """Read and validate one workbook.

    Raises:
        InputFileError: the file cannot be read safely or is not an aivurdering intake workbook.
    """
    cat = catalogue or load_questions()
    return validate_raw(read_cells(Path(path), _column_filter(cat)), cat)


def _column_filter(cat: QuestionCatalogue) -> Callable[[str], frozenset[str] | None]:
    """Read only what validation needs: ids and answers, whole tables, the metadata."""
    tables = set(table_sheets(cat).values())
    sections = {s.sheet for s in cat.sections if not table_only_section(cat, s.id)}
    id_answer = frozenset({COL_ID, COL_ANSWER})
    meta = frozenset({"A", "B"})
    skip: frozenset[str] = frozenset()

    def columns(name: str) -> frozenset[str] | None:
        if name in tables:
            return None
        if name in sections:
            return id_answer
        return meta if name == META_SHEET else skip

    return columns


def _meta(raw: RawWorkbook) -> dict[str, str]:
    sheet = raw.sheets.get(META_SHEET)
    if sheet is None:
        raise InputFileError(
            "filen er ikke et intakeark fra aivurdering (det skjulte metadata-ark mangler).",
            path=str(raw.path),
            hint="Hent en tom skabelon med 'aivurdering template -o intake.xlsx', og udfyld den.",
        )
    out: dict[str, str] = {}
    for ref, value in sheet.cells.items():
        col, row = split_ref(ref)
        if col == "A" and isinstance(value, str):
            v = sheet.cells.get(f"B{row}")
            out[value] = _number_text(v) if isinstance(v, float) else str(v) if v is not None else ""
    if out.get("format") != FORMAT_ID:
        raise InputFileError(
            "filen er ikke et intakeark fra aivurdering (metadata-arket kendes ikke).",
            path=str(raw.path),
            hint="Hent en tom skabelon med 'aivurdering template -o intake.xlsx', og udfyld den.",
        )
    return out


def validate_raw(raw: RawWorkbook, cat: QuestionCatalogue) -> Intake:
    """Validate already read cells (see :func:`validate_workbook`)."""
    try:
        return _validate_raw(raw, cat)
    except CellRefError as exc:
        sheet = next((n for n, s in raw.sheets.items() if exc.ref in s.cells), None)
        raise bad_cell_ref(raw.path, sheet, exc.ref) from exc


def _validate_raw(raw: RawWorkbook, cat: QuestionCatalogue) -> Intake:
    meta = _meta(raw)
    template_version = meta.get("template_version") or None
    migration = resolve_migration(template_version, path=str(raw.path))
    st = _State(cat=cat, raw=raw, migration=migration)
    if meta.get("catalogue_version") and meta.get("catalogue_version") != cat.version:
        st.add(
            "catalogue_version_differs",
            f"Arket er lavet med spørgsmålskatalog {meta['catalogue_version']}; det læses med katalog "
            f"{cat.version}. Tjek at alle spørgsmål er besvaret.",
            severity="warning",
        )
    tables = table_sheets(cat)
    _check_sheets(st, tables)
    parsed = _read_answers(st, tables)
    _applicability(st, parsed)
    _consistency(st)
    source = SourceInfo(
        file_name=raw.path.name,
        sha256=raw.sha256,
        template_version=template_version,
        catalogue_version=meta.get("catalogue_version") or None,
        migrated_from=migration.from_version if migration else None,
    )
    # CellRefs built by pydantic-core from plain dicts in one pass: the same models (same fields set) as
    # CellRef.model_construct() one by one, at a third of the cost.
    locations = {k: {"sheet": v[0], "cell": v[1]} for k, v in st.locations.items()}
    return Intake.model_validate(
        {"source": source, "answers": st.answers, "locations": locations, "issues": st.issues}
    )


def _expected_sheets(cat: QuestionCatalogue, tables: dict[str, str]) -> list[str]:
    names = [s.sheet for s in cat.sections if not table_only_section(cat, s.id)]
    names += list(tables.values())
    return names


def _check_sheets(st: _State, tables: dict[str, str]) -> None:
    present = {n.casefold(): n for n in st.raw.sheets}
    expected = _expected_sheets(st.cat, tables)
    known = {n.casefold() for n in expected} | {META_SHEET, LIST_SHEET}
    known |= {n.casefold() for n in INSTRUCTION_SHEETS.values()}
    extra = [n for n in st.raw.sheets if n.casefold() not in known]
    for name in expected:
        if name.casefold() not in present:
            guess = f" Arket '{extra[0]}' findes, men har ikke det rigtige navn: giv det navnet '{name}' igen." if extra else ""
            st.add("sheet_missing", f"Arket '{name}' mangler. Det er måske slettet eller omdøbt.{guess}", sheet=name)
    for name in extra:
        st.add(
            "unexpected_sheet",
            f"Arket '{name}' hører ikke til intakearket. Flyt indholdet til de rigtige ark, og slet arket.",
            sheet=name,
        )


def _sheet(st: _State, name: str) -> RawSheet | None:
    sheet = st.raw.sheets.get(name)
    if sheet is None:
        low = name.casefold()
        sheet = next((s for n, s in st.raw.sheets.items() if n.casefold() == low), None)
    return sheet


def _index_ids(st: _State, sheet: RawSheet) -> dict[str, int]:
    """Hidden column A: id -> row (migrated ids mapped to current ones)."""
    out: dict[str, int] = {}
    for ref, value in sheet.cells.items():
        if ref[0] != COL_ID or not isinstance(value, str) or not ref[1:].isdigit():
            continue
        row = int(ref[1:])
        if row < FIRST_ROW:
            continue
        key = value.strip()
        if st.migration:
            qid, _, code = key.partition(":")
            qid = st.migration.question_id(qid)
            key = f"{qid}:{st.migration.option_code(qid, code)}" if code else qid
        if key in out:
            st.add("duplicate_question_row", f"Id '{key}' står i flere rækker ({out[key]} og {row}). Slet den "
                   "kopierede række.", sheet=sheet.name, cell=f"{COL_ID}{row}", value=key)
            continue
        out[key] = row
    return out


def _read_answers(st: _State, tables: dict[str, str]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for section in st.cat.sections:
        if table_only_section(st.cat, section.id):
            q = st.cat.questions_in(section.id)[0]
            _read_table(st, q, tables[q.id], parsed)
            continue
        sheet = _sheet(st, section.sheet)
        if sheet is None:
            continue  # sheet_missing already reported
        ids = _index_ids(st, sheet)
        known: set[str] = set()
        for q in st.cat.questions_in(section.id):
            known.add(q.id)
            if q.type == "table":
                _read_table(st, q, tables[q.id], parsed)
                continue
            row = ids.get(q.id)
            if row is None:
                st.add("question_row_missing", f"Rækken med spørgsmålet '{q.label.da}' mangler i arket. Den er "
                       "måske slettet; hent en ny skabelon, hvis den ikke kan fortrydes.", sheet=sheet.name, question=q)
                continue
            ref = f"{COL_ANSWER}{row}"
            st.locations[q.id] = (sheet.name, ref)
            if q.type == "multi_choice":
                _read_multi(st, q, sheet, ids, parsed)
                known.update(f"{q.id}:{o.code}" for o in q.options)
                continue
            value = sheet.cells.get(ref)
            if value is None or (isinstance(value, str) and not normalise(value)):
                continue
            try:
                parsed[q.id] = parse_value(q, value, date1904=st.raw.date1904)
            except ParseError as err:
                st.add(err.code, err.message, sheet=sheet.name, cell=ref, question=q, value=value)
        for key, row in ids.items():
            if key not in known and not (st.migration and key.partition(":")[0] in st.migration.dropped_questions):
                st.add("unknown_question", f"Rækken med id '{key}' kendes ikke af spørgsmålskataloget og ignoreres.",
                       severity="warning", sheet=sheet.name, cell=f"{COL_ID}{row}", value=key)
    return parsed


def _read_multi(st: _State, q: Question, sheet: RawSheet, ids: dict[str, int], parsed: dict[str, Any]) -> None:
    chosen: list[str] = []
    seen_any = False
    for opt in q.options:
        row = ids.get(f"{q.id}:{opt.code}")
        if row is None:
            st.add("question_row_missing", f"Rækken med svarmuligheden '{opt.label.da}' til spørgsmålet "
                   f"'{q.label.da}' mangler i arket.", sheet=sheet.name, question=q)
            continue
        ref = f"{COL_ANSWER}{row}"
        st.option_locations[f"{q.id}:{opt.code}"] = (sheet.name, ref)
        value = sheet.cells.get(ref)
        if value is None or (isinstance(value, str) and not normalise(value)):
            continue
        try:
            if isinstance(value, CellError) or (isinstance(value, str) and _CONTROL_RE.search(value)):
                parse_value(q, value)  # raises the right error
            yes = parse_yes_no(value)
        except ParseError as err:
            st.add(err.code, f"Svarmuligheden '{opt.label.da}': {err.message}", sheet=sheet.name, cell=ref,
                   question=q, value=value)
            continue
        seen_any = True
        if yes:
            chosen.append(opt.code)
    if seen_any:
        parsed[q.id] = chosen


def _read_table(st: _State, q: Question, sheet_name: str, parsed: dict[str, Any]) -> None:
    sheet = _sheet(st, sheet_name)
    if sheet is None:
        if table_only_section(st.cat, q.section):
            pass  # reported by _check_sheets
        return
    ids_row = {value.strip(): split_ref(ref)[0] for ref, value in sheet.cells.items()
               if isinstance(value, str) and split_ref(ref)[1] == TABLE_IDS_ROW}
    letters: dict[str, str] = {}
    for col in q.columns:
        key = col.id
        if st.migration:
            inverse = {v: k for k, v in st.migration.renamed_questions.items()}
            key = col.id if col.id in ids_row else inverse.get(col.id, col.id)
        if key not in ids_row:
            st.add("question_row_missing", f"Kolonnen '{col.label.da}' mangler i tabellen '{q.label.da}'.",
                   sheet=sheet.name, question=q)
            continue
        letters[col.id] = ids_row[key]
    st.locations[q.id] = (sheet.name, f"B{TABLE_FIRST_ROW}")
    by_row: dict[int, dict[str, CellValue]] = {}
    wanted = {letter: cid for cid, letter in letters.items()}
    for ref, value in sheet.cells.items():
        col_letter, row = split_ref(ref)
        if row < TABLE_FIRST_ROW or col_letter not in wanted:
            continue
        if isinstance(value, str) and not normalise(value):
            continue
        by_row.setdefault(row, {})[wanted[col_letter]] = value
    rows: list[dict[str, Any]] = []
    for row in sorted(by_row):
        values = by_row[row]
        out: dict[str, Any] = {}
        for col in q.columns:
            ref = f"{letters.get(col.id, '?')}{row}"
            if col.id not in values:
                if col.required and col.id in letters:
                    st.add("table_required_missing", f"Kolonnen '{col.label.da}' skal udfyldes i række {row}, "
                           "når rækken er i brug.", sheet=sheet.name, cell=ref, question=q)
                continue
            try:
                out[col.id] = parse_value(col, values[col.id], date1904=st.raw.date1904)
            except ParseError as err:
                st.add(err.code, f"Kolonnen '{col.label.da}': {err.message}", sheet=sheet.name, cell=ref,
                       question=q, value=values[col.id])
        rows.append(out)
    if rows:
        parsed[q.id] = rows


_CONDITIONS: dict[int, tuple[QuestionCatalogue, dict[str, Condition]]] = {}


def _conditions(cat: QuestionCatalogue) -> dict[str, Condition]:
    """Question id -> compiled ``applies_if``, gathered once per loaded (frozen) catalogue object."""
    cached = _CONDITIONS.get(id(cat))
    if cached is not None and cached[0] is cat:
        return cached[1]
    out = {q.id: cond for q in cat.questions if (cond := cat.condition(q.id)) is not None}
    if len(_CONDITIONS) > 16:
        _CONDITIONS.clear()
    _CONDITIONS[id(cat)] = (cat, out)
    return out


def _applies(conditions: dict[str, Condition], array_symbols: frozenset[str], qid: str,
             answers: dict[str, Any]) -> bool:
    """``cat.applies(qid, answers)`` without its per-call lookups: pydantic's private-attribute access
    and the memo key cost more than evaluating the compiled condition itself, and the memo only ever
    returned what the condition evaluates to."""
    cond = conditions.get(qid)
    return True if cond is None else cond.evaluate(answers, array_symbols, undefined=False)


def _applicability(st: _State, parsed: dict[str, Any]) -> None:
    """Drop answers to questions that do not apply (cascading), then check required answers."""
    cat = st.cat
    answers = dict(parsed)
    applies: dict[str, bool] = {}
    conditions, arrays = _conditions(cat), cat.array_symbols
    order = cat.condition_order
    if order is not None:  # one pass, dependencies first; only answered or required questions matter
        for qid in order:
            if qid not in answers and not cat.by_id[qid].required:
                continue
            applies[qid] = _applies(conditions, arrays, qid, answers)
            if not applies[qid]:
                answers.pop(qid, None)
    else:  # conditions in a cycle: iterate to a fixpoint
        for _ in range(len(cat.questions) + 1):
            dropped = [qid for qid in answers if not cat.applies(qid, answers)]
            if not dropped:
                break
            for qid in dropped:
                answers.pop(qid)
    for qid in parsed:
        if qid in answers:
            continue
        q = cat.by_id[qid]
        cond = cat.condition(qid)
        deps = [cat.by_id[s].label.da for s in sorted(cond.symbols)] if cond else []
        loc = st.locations.get(qid)
        if q.conflict_if_inapplicable:
            st.add(
                "contradictory_answers",
                f"Svaret på '{q.label.da}' passer ikke med jeres svar på "
                + ", ".join(f"'{d}'" for d in deps)
                + ". Ret det svar, der er forkert; indtil da kan vurderingen ikke laves.",
                sheet=loc[0] if loc else None,
                cell=loc[1] if loc else None,
                question=q,
                value=_display(parsed[qid]),
            )
            continue
        st.add(
            "not_applicable_answer",
            "Spørgsmålet er ikke relevant ud fra jeres svar på "
            + ", ".join(f"'{d}'" for d in deps)
            + ", så svaret bliver ikke brugt. Tjek om de svar er rigtige, eller slet dette svar.",
            severity="warning",
            sheet=loc[0] if loc else None,
            cell=loc[1] if loc else None,
            question=q,
            value=_display(parsed[qid]),
        )
    for q in cat.questions:
        if not q.required or q.id in answers or q.id in st.invalid or q.id not in st.locations:
            continue
        applicable = applies[q.id] if q.id in applies else _applies(conditions, arrays, q.id, answers)
        if applicable:
            loc = st.locations[q.id]
            st.add("required_missing", f"Spørgsmålet '{q.label.da}' skal besvares.", sheet=loc[0],
                   cell=loc[1], question=q)
    st.answers = answers
    st.locations = {k: v for k, v in st.locations.items() if k in answers}


def _display(value: Any) -> str:
    if isinstance(value, bool):
        return "Ja" if value else "Nej"
    if isinstance(value, dt.date):
        return f"{value:%d-%m-%Y}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) if all(not isinstance(v, dict) for v in value) else f"{len(value)} rækker"
    return str(value)


def _consistency(st: _State) -> None:
    """Checks across answers that the types alone cannot express."""
    for q in st.cat.questions:
        if q.type != "multi_choice" or q.id not in st.answers:
            continue
        chosen = st.answers[q.id]
        exclusive = [c for c in chosen if c == EXCLUSIVE_PREFIX or c.startswith(EXCLUSIVE_PREFIX + "_")]
        if exclusive and len(chosen) > 1:
            opt = q.option_by_code()[exclusive[0]]
            loc = st.option_locations.get(f"{q.id}:{exclusive[0]}") or st.locations.get(q.id)
            st.add(
                "contradictory_choices",
                f"'{opt.label.da}' kan ikke vælges sammen med andre muligheder. Ret enten '{opt.label.da}' "
                "til Nej, eller fjern de andre valg.",
                sheet=loc[0] if loc else None,
                cell=loc[1] if loc else None,
                question=q,
                value=", ".join(chosen),
            )


# ------------------------------------------------------------------------------------------------
# Annotated copy
# ------------------------------------------------------------------------------------------------

ERRORS_SHEET = "Fejl"


def annotate_workbook(source: Path, intake: Intake, out: Path) -> Path:
    """Write a copy of ``source`` with problem cells highlighted and commented and a "Fejl" sheet.

    The original is never touched (a copy is loaded and saved under ``out``; ``out`` must differ).
    """
    from openpyxl import load_workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import quote_sheetname
    from openpyxl.worksheet.hyperlink import Hyperlink

    from pipeline.overview import safe_text
    from pipeline.workbook import save_atomic

    source, out = Path(source), Path(out)
    if out.resolve() == source.resolve():
        raise InputFileError("kopien med markeringer må ikke overskrive det udfyldte ark; vælg et andet "
                             "filnavn.", path=str(out))
    wb = load_workbook(BytesIO(source.read_bytes()), keep_vba=False, keep_links=False)
    wb.security = None  # the copy needs a new sheet
    red = PatternFill("solid", fgColor="FFC7CE")
    yellow = PatternFill("solid", fgColor="FFEB9C")
    notes: dict[tuple[str, str], list[Issue]] = {}
    for issue in intake.issues:
        if issue.sheet and issue.cell and issue.sheet in wb.sheetnames:
            notes.setdefault((issue.sheet, issue.cell), []).append(issue)
    for (sheet, ref), items in notes.items():
        cell = wb[sheet][ref]
        cell.fill = red if any(i.severity == "error" for i in items) else yellow
        text = "\n".join(f"{'FEJL' if i.severity == 'error' else 'ADVARSEL'}: {i.message}" for i in items)
        cell.comment = Comment(text[:30000], "aivurdering", width=320, height=160)
    if ERRORS_SHEET in wb.sheetnames:
        del wb[ERRORS_SHEET]
    ws = wb.create_sheet(ERRORS_SHEET, 0)
    headers = ("Alvor", "Ark", "Celle", "Kode", "Spørgsmål", "Besked", "Værdi")
    ws.append(headers)
    for c in ws[1]:
        c.font = Font(bold=True)
    for i in intake.issues:
        ws.append([
            "Fejl" if i.severity == "error" else "Advarsel", i.sheet or "", i.cell or "", i.code,
            i.question_label or i.question_id or "", i.message, safe_text(i.value or ""),
        ])
        for cell in ws[ws.max_row]:  # the user's own text: never a formula (openpyxl reads "=…" as one)
            if isinstance(cell.value, str):
                cell.data_type = "s"
        if i.sheet and i.cell and i.sheet in wb.sheetnames:
            link = ws.cell(row=ws.max_row, column=3)
            link.hyperlink = Hyperlink(ref=link.coordinate, location=f"{quote_sheetname(i.sheet)}!{i.cell}")
    if not intake.issues:
        ws.append(["", "", "", "", "", "Ingen fejl fundet.", ""])
    for col, width in zip("ABCDEFG", (10, 24, 8, 24, 40, 80, 30), strict=True):
        ws.column_dimensions[col].width = width
    wb.active = 0
    save_atomic(wb, out)
    return out
