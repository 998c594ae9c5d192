"""The safe reader: cell types as Excel and LibreOffice store them."""

from __future__ import annotations

from pathlib import Path

import pytest
from intake_support import make_xlsx

from pipeline.errors import InputFileError
from pipeline.intake import CellError, read_cells, split_ref


def _write(tmp_path: Path, data: bytes, name: str = "a.xlsx") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_cell_types(tmp_path: Path):
    body = (
        '<row r="1">'
        '<c r="A1" t="s"><v>0</v></c>'
        '<c r="B1" t="inlineStr"><is><t>inline  tekst</t></is></c>'
        '<c r="C1" t="b"><v>1</v></c>'
        '<c r="D1"><v>46027</v></c>'
        '<c r="E1" t="str"><f>"J"&amp;"a"</f><v>Ja</v></c>'
        '<c r="F1"><f>1+1</f><v>2</v></c>'
        '<c r="G1" t="e"><f>1/0</f><v>#DIV/0!</v></c>'
        '<c r="H1" t="s"><v>1</v></c>'
        '<c r="I1" t="inlineStr"><is><r><t>del </t></r><r><rPr><b/></rPr><t>to</t></r></is></c>'
        '<c r="J1" t="s"><v>2</v></c>'
        '<c r="K1" t="b"><v>0</v></c>'
        "</row>"
    )
    no_refs = '<row r="3"><c><v>7</v></c><c t="inlineStr"><is><t>uden ref</t></is></c></row><row><c/><c><v>1</v></c></row>'
    p = _write(tmp_path, make_xlsx({"Ark 1": body, "Ark 2": no_refs}, shared=["delt", "", "a_x0007_b"]))
    wb = read_cells(p)
    cells = wb.sheets["Ark 1"].cells
    assert cells["A1"] == "delt"
    assert cells["B1"] == "inline  tekst"
    assert cells["C1"] is True and cells["K1"] is False
    assert cells["D1"] == 46027.0
    assert cells["E1"] == "Ja"
    assert cells["F1"] == 2.0
    assert isinstance(cells["G1"], CellError) and cells["G1"] == "#DIV/0!"
    assert "H1" not in cells  # empty shared string = empty cell
    assert cells["I1"] == "del to"
    assert cells["J1"] == "a\x07b"  # _x0007_ escape decoded (the validator rejects it)
    assert wb.sheets["Ark 2"].cells == {"A3": 7.0, "B3": "uden ref", "B4": 1.0}  # positions implied
    assert wb.date1904 is False
    assert len(wb.sha256) == 64


def test_sheet_states_order_and_date1904(tmp_path: Path):
    p = _write(tmp_path, make_xlsx({"Første": "", "Anden": ""}, date1904=True))
    wb = read_cells(p)
    assert list(wb.sheets) == ["Første", "Anden"]
    assert wb.date1904 is True
    assert wb.file_name == "a.xlsx"


def test_split_ref():
    assert split_ref("D12") == ("D", 12)
    assert split_ref("AB3") == ("AB", 3)
    with pytest.raises(ValueError):
        split_ref("12D")


def test_strict_namespace_and_absolute_targets(tmp_path: Path):
    import io
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(make_xlsx({"A": '<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'})))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for info in src.infolist():
            raw = src.read(info.filename)
            raw = raw.replace(b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
                              b"http://purl.oclc.org/ooxml/spreadsheetml/main")
            raw = raw.replace(b'Target="worksheets/', b'Target="/xl/worksheets/')
            zf.writestr(info.filename, raw)
    wb = read_cells(_write(tmp_path, out.getvalue()))
    assert wb.sheets["A"].cells == {"A1": "x"}


def test_missing_workbook_part(tmp_path: Path):
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "hej")
    with pytest.raises(InputFileError, match="ikke en gyldig Excel-projektmappe"):
        read_cells(_write(tmp_path, buf.getvalue()))
