"""The faster read + validate path gives exactly what the plain way gave.

Each shortcut in ``pipeline.intake`` and ``pipeline.validate`` is compared here with the plain code it
replaced (kept below as the reference): the cell walk and value extraction, ``normalise``, and the
locations of the :class:`~pipeline.models.Intake`.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from intake_support import NS, make_xlsx
from lxml import etree

from pipeline import intake
from pipeline.intake import _PARSER, CellError, UncalculatedFormula, read_cells
from pipeline.models import CellRef, Intake
from pipeline.validate import _CONTROL_RE, normalise, validate_workbook

EXAMPLES = sorted((Path(__file__).parent.parent / "intake_templates" / "examples").glob("*.xlsx"))
Q = f"{{{NS}}}"
STRICT = "{http://purl.oclc.org/ooxml/spreadsheetml/main}"


# ------------------------------------------------------------------------------------------------
# The plain way (the code before the speed work), as the reference
# ------------------------------------------------------------------------------------------------

_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2009": " ", "\t": " "})
_WS_RE = re.compile(r"[ ]{2,}")


def plain_normalise(text: str, *, keep_newlines: bool = False) -> str:
    text = unicodedata.normalize("NFC", text.translate(_SPACES)).replace("\r\n", "\n").replace("\r", "\n")
    if keep_newlines:
        lines = [_WS_RE.sub(" ", line).strip() for line in text.split("\n")]
        return "\n".join(lines).strip()
    return _WS_RE.sub(" ", text.replace("\n", " ")).strip()


def plain_value(c, t, strings, q):  # type: ignore[no-untyped-def]
    v_tag, is_tag, t_tag, r_tag, rph = f"{q}v", f"{q}is", f"{q}t", f"{q}r", f"{q}rPh"
    if t == "inlineStr":
        node = c.find(is_tag)
        return intake._rich_text(node, t_tag, r_tag, rph) if node is not None else None
    text = c.findtext(v_tag)
    if not text and t not in ("s", "str", "inlineStr"):
        formula = c.find(v_tag[:-1] + "f")
        if formula is not None and (formula.text or "").strip():
            return UncalculatedFormula("=" + (formula.text or "").strip())
    if text is None:
        return None
    if t == "s":
        try:
            return strings[int(text)]
        except (ValueError, IndexError):
            return CellError("#REF!")
    if t in ("str", "d"):
        return intake._unescape(text)
    if t == "b":
        return text.strip() in ("1", "true")
    if t == "e":
        return CellError(text)
    try:
        return float(text)
    except ValueError:
        return intake._unescape(text)


def plain_cells(root, strings, q, wanted):  # type: ignore[no-untyped-def]
    """The former selection: an XPath with a starts-with() predicate per wanted column, then find()."""
    ns = {"x": q[1:-1]} if q else None
    prefix = "x:" if q else ""
    cond = "[*]"
    if wanted is not None:
        cond = "[" + " or ".join(f'starts-with(@r,"{col}")' for col in sorted(wanted)) + "][*]"
    cells = {}
    for c in etree.XPath(f"./{prefix}sheetData/{prefix}row/{prefix}c{cond}", namespaces=ns)(root):
        ref = c.get("r")
        if wanted is not None and ref.rstrip("0123456789") not in wanted:
            continue
        value = plain_value(c, c.get("t"), strings, q)
        if value is None or value == "":
            continue
        cells[ref] = value
    return cells


def new_cells(root, strings, q, wanted):  # type: ignore[no-untyped-def]
    reader = intake._ZipReader.__new__(intake._ZipReader)
    reader.xml = lambda *_a, **_k: root  # type: ignore[method-assign]
    return reader._cells("sheet.xml", strings, q, wanted)


def same(a, b) -> bool:  # type: ignore[no-untyped-def]
    """Equal values of the same type (CellError vs str, bool vs float matter to the validator)."""
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


# ------------------------------------------------------------------------------------------------
# normalise
# ------------------------------------------------------------------------------------------------

TRICKY = (
    "a", "Z", "0", " ", "  ", "æ", "Ø", "å", "é", "e\u0301", "A\u030a", "\u212b", "\ufb01", "\u00a0", "\u202f",
    "\u2007", "\u2009", "\u2000", "\u3000", "\t", "\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x85",
    "\u2028", "\u2029", "\u200b", "\x07", "_x0007_", "=", "-", ";", "%", "\U0001f600", "\u0301",
)


@given(st.lists(st.sampled_from(TRICKY), max_size=12).map("".join) | st.text(max_size=30), st.booleans())
@settings(max_examples=3000, deadline=None)
def test_normalise_equals_plain(text: str, keep_newlines: bool):
    assert normalise(text, keep_newlines=keep_newlines) == plain_normalise(text, keep_newlines=keep_newlines)


@pytest.mark.parametrize(
    "text",
    ["Ja", " Nej ", "Digitalisering og IT", "  to  mellemrum ", "a\u00a0b", "Å\u030a", "e\u0301", "lin\nje",
     "tab\tx", "", " ", "\u00a0", "\u2028", "Kommune ", "ﬁ"],
)
def test_normalise_examples(text: str):
    for keep in (False, True):
        assert normalise(text, keep_newlines=keep) == plain_normalise(text, keep_newlines=keep)


# ------------------------------------------------------------------------------------------------
# cells and values
# ------------------------------------------------------------------------------------------------

_CHILDREN = [
    "<v>12</v>", "<v>0.5</v>", "<v>abc</v>", "<v/>", "<v> 1 </v>", "<v>true</v>", "<v>#N/A</v>", "<v>1</v><v>2</v>",
    "<v>a_x0007_b</v>", "<f>1+1</f>", "<f> </f>", "<f>SUM(A1)</f><v>3</v>", "<f/>", "<is><t>tekst</t></is>",
    "<is><t/></is>", "<is><t>a_x0041_</t></is>", "<is><r><t>del </t></r><r><rPr><b/></rPr><t>to</t></r></is>",
    "<is><t>x</t><rPh><t>y</t></rPh></is>", "<is/>", "<is><t>1</t></is><v>2</v>", "<v>2</v><is><t>3</t></is>",
    "<?pi data?>", "<?pi data?><v>7</v>", "<extLst/>", "<x:v xmlns:x='urn:other'>9</x:v>", "<v>0</v>", "<v>2</v>",
    "<v>5</v>",
]
_TYPES = [None, "n", "s", "str", "d", "b", "e", "inlineStr", "weird"]
_COLS = ["A", "B", "D", "AA", "AD", "Z"]


@st.composite
def sheet_xml(draw):  # type: ignore[no-untyped-def]
    rows = []
    for r in range(1, draw(st.integers(1, 6)) + 1):
        cells = []
        for _ in range(draw(st.integers(0, 5))):
            col = draw(st.sampled_from(_COLS))
            t = draw(st.sampled_from(_TYPES))
            ref = "" if draw(st.integers(0, 15)) == 0 else f' r="{col}{r}"'
            children = "".join(draw(st.lists(st.sampled_from(_CHILDREN), max_size=2)))
            tattr = f' t="{t}"' if t else ""
            cells.append(f"<c{ref}{tattr}>{children}</c>")
        rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    return "".join(rows)


STRINGS = ["delt", "", "a_x0007_b"]


@given(sheet_xml(), st.sampled_from([None, frozenset({"A", "D"}), frozenset({"A", "B"}), frozenset({"AA"})]))
@settings(max_examples=1500, deadline=None)
def test_cells_equal_plain(body: str, wanted: frozenset[str] | None):
    for q, ns in ((Q, NS), (STRICT, STRICT[1:-1]), ("", None)):
        xmlns = f' xmlns="{ns}"' if ns else ""
        root = etree.fromstring(f"<worksheet{xmlns}><sheetData>{body}</sheetData></worksheet>".encode(), _PARSER)
        first = root.find(f"{q}sheetData/{q}row/{q}c")  # the plain check for the positional reader
        listed = intake._cell_xpath(q)(root)
        assert (listed[0] if listed else None) is first
        if first is not None and not first.get("r"):
            continue  # both ways then use the same positional reader
        assert same(new_cells(root, STRINGS, q, wanted), plain_cells(root, STRINGS, q, wanted)), body


@pytest.mark.parametrize("children", _CHILDREN)
@pytest.mark.parametrize("t", _TYPES)
def test_value_equals_plain(children: str, t: str | None):
    tattr = f' t="{t}"' if t else ""
    root = etree.fromstring(f'<c xmlns="{NS}" r="A1"{tattr}>{children}</c>'.encode(), _PARSER)
    got = intake._value(root, t, STRINGS, f"{Q}v", f"{Q}is", f"{Q}t", f"{Q}r", f"{Q}rPh")
    assert same(got, plain_value(root, t, STRINGS, Q))


def test_cell_with_many_children_is_read_in_one_pass(tmp_path: Path):
    """A hostile cell with 200,000 children: the first <v> wins, as with find(), without quadratic work."""
    body = '<row r="1"><c r="A1">' + "<v>1</v>" + "<v>2</v>" * 200_000 + "</c></row>"
    p = tmp_path / "many.xlsx"
    p.write_bytes(make_xlsx({"Ark": body}))
    assert read_cells(p).sheets["Ark"].cells == {"A1": 1.0}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_workbooks_equal_plain_reader(path: Path):
    """Every sheet of the worked examples, read whole and by the validator's columns, equals the plain way."""
    import zipfile

    with zipfile.ZipFile(path) as zf:
        parts = [n for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
        assert parts
        for name in parts:
            root = etree.fromstring(intake._cut_after_sheet_data(zf.read(name)), _PARSER)
            for wanted in (None, frozenset({"A", "D"}), frozenset({"A", "B"})):
                assert same(new_cells(root, [], Q, wanted), plain_cells(root, [], Q, wanted))


# ------------------------------------------------------------------------------------------------
# validate: the Intake and its locations
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_locations_equal_model_construct(path: Path):
    intake_ = validate_workbook(path)
    assert intake_.locations
    for ref in intake_.locations.values():
        assert type(ref) is CellRef
        assert ref.model_fields_set == {"sheet", "cell"}
    plain = Intake(
        source=intake_.source,
        answers=intake_.answers,
        locations={k: CellRef.model_construct(sheet=v.sheet, cell=v.cell) for k, v in intake_.locations.items()},
        issues=intake_.issues,
    )
    assert plain == intake_
    assert plain.model_dump_json() == intake_.model_dump_json()


def test_control_characters_still_found_after_normalise_shortcut():
    """The shortcut only takes printable text, so control characters never skip the check."""
    for text in ("a\x07b", "x\x1fy", "\x0bz"):
        assert not text.isprintable()
        assert _CONTROL_RE.search(text)


# ------------------------------------------------------------------------------------------------
# validate: applicability without the per-call lookups
# ------------------------------------------------------------------------------------------------


def _answer_strategy(q):  # type: ignore[no-untyped-def]
    import datetime as dt

    codes = [o.code for o in q.options]
    if q.type == "yes_no":
        return st.booleans()
    if q.type == "choice":
        return st.sampled_from(codes)
    if q.type == "multi_choice":
        return st.lists(st.sampled_from(codes), unique=True).map(lambda cs: [c for c in codes if c in cs])
    if q.type in ("number", "percentage"):
        return st.floats(-10, 200_000, allow_nan=False)
    if q.type == "date":
        return st.dates(dt.date(1990, 1, 1), dt.date(2150, 1, 1))
    if q.type == "table":
        return st.lists(st.just({}), max_size=3)
    return st.text(max_size=5)


@st.composite
def answers_for(draw, cat):  # type: ignore[no-untyped-def]
    out = {}
    for q in cat.questions:
        if draw(st.booleans()):
            out[q.id] = draw(_answer_strategy(q))
    return out


def test_applies_equals_catalogue_applies():
    from hypothesis import HealthCheck

    from pipeline.questions import load_questions
    from pipeline.validate import _applies, _conditions

    cat = load_questions()
    conditions = _conditions(cat)
    assert conditions and _conditions(cat) is conditions  # gathered once per catalogue object
    assert set(conditions) == {q.id for q in cat.questions if cat.condition(q.id) is not None}

    @given(answers_for(cat))
    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
    def check(answers):  # type: ignore[no-untyped-def]
        memo: dict = {}
        for q in cat.questions:
            want = cat.applies(q.id, answers)
            assert _applies(conditions, cat.array_symbols, q.id, answers) is want
            assert cat.applies(q.id, answers, memo) is want

    check()


def test_conditions_follow_the_catalogue_object():
    from intake_support import mini

    from pipeline.questions import load_questions
    from pipeline.validate import _conditions

    big, small = load_questions(), mini()
    assert _conditions(big) is not _conditions(small)
    assert set(_conditions(small)) == {q.id for q in small.questions if small.condition(q.id) is not None}
