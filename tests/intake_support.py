"""Helpers shared by the intake tests (test_questions*, test_intake*, test_validate*, test_answers_io*,
test_bad_input*, test_workbook*)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

from pipeline.questions import QuestionCatalogue, load_questions

MINI = Path(__file__).parent / "data_intake" / "mini_questions.yaml"

CT = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RNS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def mini() -> QuestionCatalogue:
    return load_questions(MINI)


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def make_xlsx(sheets: dict[str, str], shared: list[str] | None = None, *, date1904: bool = False,
              extra: dict[str, bytes] | None = None) -> bytes:
    """A minimal xlsx: ``sheets`` maps sheet name -> the XML inside <sheetData>."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", CT)
        zf.writestr("_rels/.rels", ROOT_RELS)
        wb_sheets = "".join(
            f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(sheets, start=1)
        )
        pr = '<workbookPr date1904="1"/>' if date1904 else ""
        zf.writestr("xl/workbook.xml", f'<workbook xmlns="{NS}" xmlns:r="{RNS}">{pr}<sheets>{wb_sheets}</sheets></workbook>')
        rels = "".join(
            f'<Relationship Id="rId{i}" Type="{RNS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(sheets) + 1)
        )
        if shared is not None:
            rels += f'<Relationship Id="rIdS" Type="{RNS}/sharedStrings" Target="sharedStrings.xml"/>'
            sis = "".join(f"<si><t xml:space=\"preserve\">{s}</t></si>" for s in shared)
            zf.writestr("xl/sharedStrings.xml", f'<sst xmlns="{NS}">{sis}</sst>')
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>',
        )
        for i, body in enumerate(sheets.values(), start=1):
            zf.writestr(f"xl/worksheets/sheet{i}.xml", f'<worksheet xmlns="{NS}"><sheetData>{body}</sheetData></worksheet>')
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


def replace_member(src: Path, dst: Path, member: str, data: bytes) -> None:
    """Copy the zip ``src`` to ``dst`` with one member replaced (or added)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename != member:
                zout.writestr(info, zin.read(info.filename))
        zout.writestr(member, data)


def sheet_member(path: Path, sheet_name: str) -> str:
    """The zip member of a sheet (via openpyxl's usual layout: order of sheets)."""
    import re

    with zipfile.ZipFile(path) as zf:
        wb = zf.read("xl/workbook.xml").decode()
        rels = zf.read("xl/_rels/workbook.xml.rels").decode()
    m = re.search(rf'<sheet [^>]*name="{re.escape(sheet_name)}"[^>]*r:id="(rId\d+)"', wb)
    assert m, sheet_name
    t = re.search(rf'<Relationship [^>]*Id="{m.group(1)}"[^>]*Target="([^"]+)"', rels) or re.search(
        rf'<Relationship [^>]*Target="([^"]+)"[^>]*Id="{m.group(1)}"', rels
    )
    assert t
    target = t.group(1).lstrip("/")
    return target if target.startswith("xl/") else "xl/" + target
