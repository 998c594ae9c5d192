"""Second round of read speed-ups in ``pipeline.intake``: each gives exactly what the plain way gave.

* shared strings converted on first use (:class:`pipeline.intake.SharedStrings`) instead of all at once;
* workbook parts inflated by :class:`pipeline.ziputil.PlainReader` (zlib-ng) instead of zipfile's file
  objects, with zipfile as the fallback for anything unusual or damaged;
* the usual inline-string cell converted without the call to ``_value``.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest
from intake_support import NS, make_xlsx
from lxml import etree

from pipeline import intake
from pipeline.errors import InputFileError
from pipeline.intake import _PARSER, CellError, SharedStrings, _rich_text, read_cells

EXAMPLES = sorted((Path(__file__).parent.parent / "intake_templates" / "examples").glob("*.xlsx"))
Q = f"{{{NS}}}"


def same(a: Any, b: Any) -> bool:
    """Equal values of the same type (CellError vs str matters to the validator)."""
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def workbook_state(wb: intake.RawWorkbook) -> Any:
    return (wb.sha256, wb.date1904, [(s.name, s.state) for s in wb.sheets.values()],
            {n: s.cells for n, s in wb.sheets.items()})


def same_workbook(a: intake.RawWorkbook, b: intake.RawWorkbook) -> bool:
    sa, sb = workbook_state(a), workbook_state(b)
    return sa[:3] == sb[:3] and list(sa[3]) == list(sb[3]) and all(same(sa[3][n], sb[3][n]) for n in sa[3])


def outcome(path: Path) -> Any:
    """What read_cells gives: the workbook, or the type and text of the error."""
    try:
        return read_cells(path)
    except Exception as exc:  # noqa: BLE001 - compared as they are
        return (type(exc).__name__, str(exc))


def same_outcome(a: Any, b: Any) -> bool:
    if isinstance(a, intake.RawWorkbook) and isinstance(b, intake.RawWorkbook):
        return same_workbook(a, b)
    return bool(a == b)


# ------------------------------------------------------------------------------------------------
# Shared strings on first use
# ------------------------------------------------------------------------------------------------

SST = (
    f'<sst xmlns="{NS}">'
    "<si><t>plain</t></si>"
    '<si><t xml:space="preserve">  spaces  </t></si>'
    "<si><t/></si>"
    "<si><r><t>rich </t></r><r><rPr><b/></rPr><t>run</t></r></si>"
    "<si><t>base</t><rPh sb=\"0\" eb=\"1\"><t>phonetic</t></rPh><phoneticPr fontId=\"1\"/></si>"
    "<si><t>bell_x0007_ and _x005F_x0041_</t></si>"
    "<si></si>"
    "<si><r><t>a</t></r><t>b</t></si>"
    "<si><t>æøå \u00a0nbsp</t></si>"
    "</sst>"
)


def plain_strings(root: etree._Element) -> list[str]:
    """The former way: every <si> converted up front."""
    return [_rich_text(si, f"{Q}t", f"{Q}r", f"{Q}rPh") for si in root.iter(f"{Q}si")]


def test_shared_strings_give_the_plain_values_and_list_indexing():
    root = etree.fromstring(SST.encode(), _PARSER)
    plain = plain_strings(root)
    lazy = SharedStrings(list(root.iter(f"{Q}si")), Q)
    assert len(lazy) == len(plain) == 9
    # in an odd order and twice: first use and memoised use give the same
    for i in [5, 0, 3, -1, 8, -9, 5, 0, 3, 1, 2, 4, 6, 7]:
        assert lazy[i] == plain[i] and type(lazy[i]) is str
    for bad in (9, 10, -10, 10**20, -(10**20)):
        with pytest.raises(IndexError):
            plain[bad]
        with pytest.raises(IndexError):
            lazy[bad]


@pytest.mark.parametrize("use_plain", [False, True])
def test_cells_with_shared_strings_equal_the_eager_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        use_plain: bool):
    shared = ["Ja", "Nej", " mellem rum ", "x_x0041_y", "", "sidst"]
    cells = "".join(
        f'<row r="{r}"><c r="A{r}" t="s"><v>{v}</v></c><c r="D{r}" t="s"><v>{v}</v></c></row>'
        for r, v in enumerate(["0", "1", "2", "3", "4", "5", "6", "-1", "-7", "x", "", " 2 ", "99999999999999999999"],
                              start=1)
    )
    p = tmp_path / "s.xlsx"
    p.write_bytes(make_xlsx({"Ark": cells, "Andet": cells}, shared))
    new = read_cells(p, lambda name: frozenset({"D"}) if name == "Ark" else None)

    def eager(self, rels, q):  # type: ignore[no-untyped-def]
        member = next((t for typ, t in rels.values() if typ.endswith("/sharedStrings")), None)
        root = self.xml(member, required=False) if member else None
        return [] if root is None else plain_strings(root) if q == Q else None

    monkeypatch.setattr(intake._ZipReader, "_shared_strings", eager)
    if use_plain:
        monkeypatch.setattr(intake, "PlainReader", _NoPlain)
    old = read_cells(p, lambda name: frozenset({"D"}) if name == "Ark" else None)
    assert same_workbook(new, old)
    got = new.sheets["Andet"].cells
    assert got["A1"] == "Ja" and got["A3"] == " mellem rum " and got["A4"] == "xAy"
    assert "A5" not in got  # the empty string: no value
    assert got["A7"] == CellError("#REF!") and type(got["A7"]) is CellError
    assert got["A8"] == "sidst" and got["A9"] == CellError("#REF!")  # negative index as a list's
    assert got["A10"] == CellError("#REF!") and got["A13"] == CellError("#REF!")
    assert set(new.sheets["Ark"].cells) == {f"D{r}" for r in (1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13)}  # D11: <v/> is #REF!


def test_broken_shared_strings_are_still_refused(tmp_path: Path):
    p = tmp_path / "b.xlsx"
    data = make_xlsx({"Ark": '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'}, ["ok"])
    # a broken <si> that no cell uses: the part is parsed whole, so the file is refused as before
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/sharedStrings.xml":
                body = body.replace(b"</sst>", b"<si><t>brudt</si></sst>")
            out.writestr(info.filename, body)
    p.write_bytes(buf.getvalue())
    with pytest.raises(InputFileError, match="sharedStrings.xml' er ikke gyldig XML"):
        read_cells(p)


# ------------------------------------------------------------------------------------------------
# Parts inflated by PlainReader, zipfile as the fallback
# ------------------------------------------------------------------------------------------------


class _NoPlain:
    """Stands in for PlainReader: never plain, so every part is read by zipfile (the former way)."""

    def __init__(self, *_a: Any) -> None:
        pass

    def read(self, _name: str) -> None:
        return None


def both_ways(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    fast = outcome(path)
    with monkeypatch.context() as m:
        m.setattr(intake, "PlainReader", _NoPlain)
        plain = outcome(path)
    return fast, plain


def test_plain_reader_is_used_for_ordinary_workbooks(monkeypatch: pytest.MonkeyPatch):
    read: list[str] = []
    real = intake.PlainReader.read

    def spy(self, name):  # type: ignore[no-untyped-def]
        out = real(self, name)
        read.append(name if out is not None else "-")
        return out

    monkeypatch.setattr(intake.PlainReader, "read", spy)
    read_cells(EXAMPLES[0])
    assert read and "-" not in read and "xl/workbook.xml" in read


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_read_the_same_both_ways(example: Path, monkeypatch: pytest.MonkeyPatch):
    fast, plain = both_ways(example, monkeypatch)
    assert isinstance(fast, intake.RawWorkbook)
    assert same_outcome(fast, plain)


def _local_payload(data: bytes, info: zipfile.ZipInfo) -> tuple[int, int]:
    off = info.header_offset
    name_len, extra_len = struct.unpack("<HH", data[off + 26 : off + 30])
    start = off + 30 + name_len + extra_len
    return start, start + info.compress_size


def _mutations(data: bytes, seed: int) -> list[bytes]:
    """Damaged copies of a workbook: flipped payload bytes, wrong CRCs and sizes, cut payloads."""
    rng = random.Random(seed)
    infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    cd = data.find(b"PK\x01\x02")
    out: list[bytes] = []
    for info in infos:
        start, stop = _local_payload(data, info)
        for _ in range(2):  # a flipped byte in the compressed data
            i = rng.randrange(start, max(stop, start + 1))
            out.append(data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1 :])
        # the central directory record of this member: wrong CRC, smaller and larger declared size
        rec = _central_record(data, cd, info.filename)
        for field_off, fmt, value in ((16, "<I", (info.CRC ^ 1)), (24, "<I", max(info.file_size - 3, 0)),
                                      (24, "<I", info.file_size + 5), (20, "<I", max(info.compress_size - 2, 0))):
            out.append(data[: rec + field_off] + struct.pack(fmt, value) + data[rec + field_off + 4 :])
        # the local header's name changed (zipfile refuses it)
        off = info.header_offset
        out.append(data[: off + 30] + b"Y" + data[off + 31 :])
    return out


def _central_record(data: bytes, cd: int, name: str) -> int:
    pos = cd
    while True:
        pos = data.find(b"PK\x01\x02", pos)
        assert pos >= 0
        name_len = struct.unpack("<H", data[pos + 28 : pos + 30])[0]
        if data[pos + 46 : pos + 46 + name_len].decode("utf-8", "replace") == name:
            return pos
        pos += 4


def test_damaged_workbooks_give_the_same_result_or_refusal_both_ways(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch):
    cells = '<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c><c r="B1"><v>3</v></c></row>'
    sources = [EXAMPLES[0].read_bytes(), make_xlsx({"Ark": cells, "To": cells}, ["a", "b"])]
    p = tmp_path / "m.xlsx"
    refused = read = 0
    for seed, data in enumerate(sources):
        for mutated in _mutations(data, seed):
            p.write_bytes(mutated)
            fast, plain = both_ways(p, monkeypatch)
            assert same_outcome(fast, plain), (fast, plain)
            if isinstance(fast, intake.RawWorkbook):
                read += 1
            else:
                refused += 1
    assert refused > 50 and read > 0  # both kinds of outcome were compared


def test_size_limits_are_checked_before_the_plain_reader_inflates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    called: list[str] = []
    real = intake.PlainReader.read

    def spy(self, name):  # type: ignore[no-untyped-def]
        called.append(name)
        return real(self, name)

    monkeypatch.setattr(intake.PlainReader, "read", spy)
    monkeypatch.setattr(intake, "MAX_MEMBER_BYTES", 2000)
    big = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(1, 400))
    p = tmp_path / "stor.xlsx"
    p.write_bytes(make_xlsx({"Ark": big}))
    with pytest.raises(InputFileError, match="zip-bombe"):
        read_cells(p)
    assert "xl/worksheets/sheet1.xml" not in called


# ------------------------------------------------------------------------------------------------
# The usual inline-string cell without the call to _value
# ------------------------------------------------------------------------------------------------

INLINE = [
    '<c r="A1" t="inlineStr"><is><t>tekst</t></is></c>',
    '<c r="A2" t="inlineStr"><is><r><t>a</t></r><r><t>b</t></r></is></c>',
    '<c r="A3" t="inlineStr"><is><t/></is></c>',
    '<c r="A4" t="inlineStr"><is/></c>',
    '<c r="A5" t="inlineStr"><v>ikke is</v></c>',
    '<c r="A6" t="inlineStr"><v>v</v><is><t>efter v</t></is></c>',
    '<c r="A7" t="inlineStr"><is><t>første</t></is><is><t>anden</t></is></c>',
    '<c r="A8" t="inlineStr"><is><t>_x0007_styretegn</t></is></c>',
    '<c r="A9" t="inlineStr"><f>1+1</f></c>',
    '<c r="A10" t="inlineStr"><is><t>x</t><rPh><t>y</t></rPh></is></c>',
    '<c r="D11" t="inlineStr"><is><t>kolonne D</t></is></c>',
]


def test_inline_string_cells_equal_value(tmp_path: Path):
    body = "".join(f'<row r="{i}">{c}</row>' for i, c in enumerate(INLINE, start=1))
    root = etree.fromstring(f'<worksheet xmlns="{NS}"><sheetData>{body}</sheetData></worksheet>'.encode(), _PARSER)
    reader = intake._ZipReader.__new__(intake._ZipReader)
    reader.xml = lambda *_a, **_k: root  # type: ignore[method-assign]
    for wanted in (None, frozenset({"A"})):
        got = reader._cells("sheet.xml", [], Q, wanted)
        expected: dict[str, Any] = {}
        for c in root.iter(f"{Q}c"):
            ref = c.get("r")
            if wanted is not None and ref.rstrip("0123456789") not in wanted:
                continue
            v = intake._value(c, c.get("t"), [], f"{Q}v", f"{Q}is", f"{Q}t", f"{Q}r", f"{Q}rPh")
            if v is not None and v != "":
                expected[ref] = v
        assert same(got, expected)
        assert got["A1"] == "tekst" and got["A2"] == "ab" and got["A7"] == "første" and got["A8"] == "\x07styretegn"
