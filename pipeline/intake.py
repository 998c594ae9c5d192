"""Safe reading of an ``.xlsx`` intake workbook: raw cell values with sheet and cell coordinates.

The reader never runs anything in the file and never trusts its sizes:

* the file must be an OOXML zip; legacy ``.xls``, encrypted workbooks (an OLE/CFB container),
  binary ``.xlsb`` and macro-enabled ``.xlsm`` files are refused with a Danish message;
* decompression is bounded per member and in total (zip bombs stop at a clear limit, not at the end
  of the disk), and the number of members is capped;
* XML is parsed by lxml with entity resolution, DTD loading and network access off, and any document
  with a DTD (``<!DOCTYPE``) is refused (entity expansion, external entities);
* only the parts needed are read: the workbook, its relationships, shared strings and the sheets.

It reads the cached value of formula cells, shared and inline strings, booleans and numbers as
Excel and LibreOffice store them; interpretation by question type happens in ``pipeline.validate``.
"""

from __future__ import annotations

import functools
import hashlib
import posixpath
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from lxml import etree

from pipeline.errors import InputFileError
from pipeline.ziputil import PlainReader

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_MEMBER_BYTES",
    "MAX_TOTAL_BYTES",
    "CellError",
    "CellValue",
    "RawSheet",
    "RawWorkbook",
    "read_cells",
]

MAX_FILE_BYTES = 50 * 1024 * 1024  # the zip on disk
MAX_MEMBER_BYTES = 64 * 1024 * 1024  # one decompressed part
MAX_TOTAL_BYTES = 128 * 1024 * 1024  # all decompressed parts read
MAX_MEMBERS = 5000
MAX_RATIO = 100  # decompressed / compressed, for parts larger than RATIO_FROM
RATIO_FROM = 8 * 1024 * 1024

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE_DOC = ("/officeDocument",)
_ESCAPE_RE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_REF_RE = re.compile(r"^([A-Z]{1,3})(\d+)$")

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
)

HINT_SAVE_AS = "Åbn filen i Excel eller LibreOffice og gem den som 'Excel-projektmappe (.xlsx)'."


class CellError(str):
    """An Excel error value such as ``#N/A`` or ``#REF!`` (cached result of a broken formula)."""


class UncalculatedFormula(CellError):
    """A formula cell without a stored result (written by a script, never recalculated); the text is the
    formula. Excel and LibreOffice always store the result, so the answer is unknown here."""


CellValue = str | float | bool | CellError


@dataclass
class RawSheet:
    name: str
    state: str  # "visible" | "hidden" | "veryHidden"
    cells: dict[str, CellValue] = field(default_factory=dict)  # "D7" -> value; empty cells absent

    def get(self, ref: str) -> CellValue | None:
        return self.cells.get(ref)


@dataclass
class RawWorkbook:
    path: Path
    sha256: str
    sheets: dict[str, RawSheet]  # in workbook order
    date1904: bool = False

    @property
    def file_name(self) -> str:
        return self.path.name


ColumnFilter = Callable[[str], "frozenset[str] | None"]


class SharedStrings:
    """The workbook's shared strings, each converted to text on first use.

    Validation reads only the cells of a few columns, so most of the strings (labels, help texts) are
    never needed; converting only those used gives the same values (the conversion depends on its own
    <si> element only). Indexing is the list's: the same IndexError out of range, the same negative
    indexes. It lives for one read, like the list it replaces.
    """

    __slots__ = ("_items", "_texts", "_tags")

    def __init__(self, items: list[etree._Element], q: str) -> None:
        self._items = items
        self._texts: list[str | None] = [None] * len(items)
        self._tags = (f"{q}t", f"{q}r", f"{q}rPh")

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> str:
        text = self._texts[index]
        if text is None:
            text = self._texts[index] = _rich_text(self._items[index], *self._tags)
        return text


Strings = list[str] | SharedStrings


def read_cells(path: Path, columns: ColumnFilter | None = None) -> RawWorkbook:
    """Read the non-empty cell values of the sheets.

    ``columns(sheet_name)`` may limit what is read: ``None`` = every column, a set of column letters =
    only those, an empty set = the sheet is not parsed at all (its name and state are still listed).

    Raises:
        InputFileError: the file is missing, not an xlsx workbook, damaged, encrypted, macro-enabled,
            too large or hostile. The message is Danish and names the file.
    """
    path = Path(path)
    name = str(path)
    data = _read_file(path)
    sha = hashlib.sha256(data).hexdigest()
    _check_container(data, name)
    try:
        zf = zipfile.ZipFile(BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputFileError(
            "filen er beskadiget og kan ikke læses som Excel-fil (.xlsx). Den er måske kun delvist "
            "gemt eller kopieret.",
            path=name,
            hint="Gem filen igen fra Excel eller LibreOffice, eller hent en ny kopi.",
        ) from exc
    with zf:
        reader = _ZipReader(zf, name, data)
        return reader.read_workbook(path, sha, columns)


# ------------------------------------------------------------------------------------------------
# Container checks
# ------------------------------------------------------------------------------------------------


def _read_file(path: Path) -> bytes:
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise InputFileError("filen findes ikke.", path=str(path)) from exc
    except OSError as exc:
        raise InputFileError(f"filen kan ikke læses ({exc.strerror}).", path=str(path)) from exc
    if path.is_dir():
        raise InputFileError("er en mappe, ikke en Excel-fil.", path=str(path))
    if size > MAX_FILE_BYTES:
        raise InputFileError(
            f"filen er for stor ({size // (1024 * 1024)} MB); grænsen er {MAX_FILE_BYTES // (1024 * 1024)} MB.",
            path=str(path),
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"filen kan ikke læses ({exc.strerror}).", path=str(path)) from exc


def _check_container(data: bytes, name: str) -> None:
    if data.startswith(OLE_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data or b"EncryptionInfo" in data:
            raise InputFileError(
                "projektmappen er krypteret eller beskyttet med adgangskode og kan ikke læses.",
                path=name,
                hint="Fjern adgangskoden (Filer > Oplysninger > Beskyt projektmappe) og gem igen som .xlsx.",
            )
        raise InputFileError(
            "filen er i det gamle Excel-format (.xls), som ikke understøttes.", path=name, hint=HINT_SAVE_AS
        )
    if not data.startswith(ZIP_MAGIC):
        if not data:
            raise InputFileError("filen er tom.", path=name)
        raise InputFileError("filen er ikke en Excel-fil (.xlsx).", path=name, hint=HINT_SAVE_AS)


class _ZipReader:
    def __init__(self, zf: zipfile.ZipFile, name: str, data: bytes | None = None) -> None:
        self.zf = zf
        self.name = name
        self.total = 0
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise InputFileError(f"filen indeholder for mange dele ({len(infos)}).", path=name)
        self.plain = PlainReader(zf, data) if data is not None else None
        self.infos = {i.filename: i for i in infos}
        names = set(self.infos)
        if "mimetype" in names and b"opendocument" in self.read("mimetype", required=False)[:200]:
            raise InputFileError(
                "filen er et OpenDocument-regneark (.ods), ikke en Excel-fil (.xlsx).", path=name, hint=HINT_SAVE_AS
            )
        if "word/document.xml" in names or "ppt/presentation.xml" in names:
            raise InputFileError("filen er et Word- eller PowerPoint-dokument, ikke en Excel-fil (.xlsx).", path=name)
        if "xl/workbook.bin" in names:
            raise InputFileError(
                "filen er en binær Excel-projektmappe (.xlsb), som ikke understøttes.", path=name, hint=HINT_SAVE_AS
            )
        if any(n.lower().endswith("vbaproject.bin") for n in names) or b"macroEnabled" in self.read(
            "[Content_Types].xml", required=False
        ):
            raise InputFileError(
                "filen er en projektmappe med makroer (.xlsm). Af sikkerhedshensyn læses den ikke, og "
                "makroer bliver aldrig kørt.",
                path=name,
                hint="Gem filen som 'Excel-projektmappe (.xlsx)' uden makroer, og prøv igen.",
            )

    def read(self, member: str, *, required: bool = True) -> bytes:
        info = self.infos.get(member)
        if info is None:
            if required:
                raise InputFileError(
                    f"filen er ikke en gyldig Excel-projektmappe (delen '{member}' mangler).",
                    path=self.name,
                    hint=HINT_SAVE_AS,
                )
            return b""
        limit = min(MAX_MEMBER_BYTES, MAX_TOTAL_BYTES - self.total)
        if info.file_size > limit or (
            info.file_size > RATIO_FROM and info.file_size > MAX_RATIO * max(info.compress_size, 1)
        ):
            raise self._bomb(member, info.file_size)
        # The fast way for a plain member (zlib-ng, no file object): the same bytes zipfile gives, and it
        # never inflates more than the declared size checked just above. Anything unusual (or damaged)
        # gives None and is read by zipfile as before, with its errors and the same limit checks.
        fast = self.plain.read(member) if self.plain is not None else None
        if fast is not None:
            self.total += len(fast)
            return fast
        try:
            with self.zf.open(info) as fh:
                data = fh.read(limit + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise InputFileError(
                f"filen er beskadiget (delen '{member}' kan ikke pakkes ud).", path=self.name, hint=HINT_SAVE_AS
            ) from exc
        if len(data) > limit:
            raise self._bomb(member, len(data))
        self.total += len(data)
        return data

    def _bomb(self, member: str, size: int) -> InputFileError:
        return InputFileError(
            f"delen '{member}' pakker ud til {size / (1024 * 1024):.0f} MB eller mere, langt mere end et "
            f"intakeark fylder (grænsen er {MAX_MEMBER_BYTES // (1024 * 1024)} MB pr. del og et rimeligt "
            "forhold til den pakkede størrelse). Filen læses ikke, fordi den kan være en 'zip-bombe'.",
            path=self.name,
        )

    def xml(self, member: str, *, required: bool = True, sheet_data_only: bool = False) -> etree._Element | None:
        data = self.read(member, required=required)
        if not data:
            return None
        if sheet_data_only:
            data = _cut_after_sheet_data(data)
        try:
            root = etree.fromstring(data, _PARSER)
        except etree.XMLSyntaxError as exc:
            raise InputFileError(
                f"filen er beskadiget: delen '{member}' er ikke gyldig XML ({exc.msg}). Det kan skyldes "
                "ulovlige styretegn i en celle.",
                path=self.name,
                hint=HINT_SAVE_AS,
            ) from exc
        if root.getroottree().docinfo.doctype or data.find(b"<!ENTITY", 0, 65536) >= 0:
            raise InputFileError(
                f"delen '{member}' indeholder en DTD eller XML-entiteter. Det bruger Excel aldrig, og "
                "filen læses ikke af sikkerhedshensyn.",
                path=self.name,
            )
        return root

    # ---------------------------------------------------------------------------------------------

    def _rels(self, member: str) -> dict[str, tuple[str, str]]:
        folder, base = posixpath.split(member)
        root = self.xml(posixpath.join(folder, "_rels", base + ".rels"), required=False)
        out: dict[str, tuple[str, str]] = {}
        if root is None:
            return out
        for rel in root.iter(f"{{{_REL_NS}}}Relationship"):
            target = rel.get("Target", "")
            if rel.get("TargetMode") == "External":
                continue
            full = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            out[rel.get("Id", "")] = (rel.get("Type", ""), full)
        return out

    def read_workbook(self, path: Path, sha: str, columns: ColumnFilter | None = None) -> RawWorkbook:
        wb_part = next(
            (t for typ, t in self._rels("").values() if typ.endswith(_OFFICE_DOC)), "xl/workbook.xml"
        )
        root = self.xml(wb_part)
        assert root is not None  # noqa: S101 - required=True never returns None
        ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
        q = f"{{{ns}}}" if ns else ""
        rels = self._rels(wb_part)
        pr = root.find(f"{q}workbookPr")
        date1904 = pr is not None and pr.get("date1904", "0").lower() in ("1", "true")
        strings = self._shared_strings(rels, q)
        sheets: dict[str, RawSheet] = {}
        for sh in root.iter(f"{q}sheet"):
            name = sh.get("name", "")
            rid = next((v for k, v in sh.attrib.items() if str(k).endswith("}id")), None)
            target = rels.get(rid or "")
            sheet = RawSheet(name=name, state=sh.get("state", "visible"))
            wanted = columns(name) if columns else None
            if target and target[0].endswith("/worksheet") and (wanted is None or wanted):
                sheet.cells = self._cells(target[1], strings, q, wanted)
            sheets[name] = sheet
        return RawWorkbook(path=path, sha256=sha, sheets=sheets, date1904=date1904)

    def _shared_strings(self, rels: dict[str, tuple[str, str]], q: str) -> Strings:
        member = next((t for typ, t in rels.values() if typ.endswith("/sharedStrings")), None)
        if member is None:
            return []
        root = self.xml(member, required=False)  # parsed whole, so broken XML is refused as before
        if root is None:
            return []
        return SharedStrings(list(root.iter(f"{q}si")), q)

    def _cells(
        self, member: str, strings: Strings, q: str, wanted: frozenset[str] | None = None
    ) -> dict[str, CellValue]:
        root = self.xml(member, required=False, sheet_data_only=True)
        cells: dict[str, CellValue] = {}
        if root is None:
            return cells
        v_tag, is_tag = f"{q}v", f"{q}is"
        t_tag, r_tag, rph = f"{q}t", f"{q}r", f"{q}rPh"
        # One compiled XPath for the cells, in document order (in C); emptiness and column are checked
        # below, which is cheaper than predicates evaluated per cell in the XPath and selects the same cells.
        all_cells = _cell_xpath(q)(root)
        # Writers give every cell an "r" (Excel, LibreOffice, openpyxl) or none; the first cell tells.
        if all_cells and not all_cells[0].get("r"):  # rare: no "r" attributes, position implied
            try:
                return self._cells_by_position(root, strings, q, wanted)
            except ValueError as exc:  # a row number that is not a number
                raise InputFileError(
                    f"filen er beskadiget: delen '{member}' har et rækkenummer, der ikke er et tal.",
                    path=self.name,
                    hint=HINT_SAVE_AS,
                ) from exc
        for c in all_cells:
            if not len(c):  # no child: an empty (formatted) cell
                continue
            ref = c.get("r")
            if wanted is not None and (not ref or ref.rstrip("0123456789") not in wanted):
                continue
            t = c.get("t")
            if t == "inlineStr" and len(c) == 1 and c[0].tag == is_tag:
                # the usual text cell, <c t="inlineStr"><is>…</is></c>: what _value gives it, without the call
                value: CellValue | None = _rich_text(c[0], t_tag, r_tag, rph)
            else:
                value = _value(c, t, strings, v_tag, is_tag, t_tag, r_tag, rph)
            if value is None or value == "":
                continue
            cells[ref] = value
        return cells

    def _cells_by_position(
        self, root: etree._Element, strings: Strings, q: str, wanted: frozenset[str] | None
    ) -> dict[str, CellValue]:
        c_tag, v_tag, is_tag, row_tag = f"{q}c", f"{q}v", f"{q}is", f"{q}row"
        t_tag, r_tag, rph = f"{q}t", f"{q}r", f"{q}rPh"
        cells: dict[str, CellValue] = {}
        data = root.find(f"{q}sheetData")
        if data is None:
            return cells
        row_no = 0
        for row in data.iterchildren(row_tag):
            row_no = int(row.get("r") or row_no + 1)
            prev = ""
            for c in row.iterchildren(c_tag):
                ref = c.get("r")
                if not ref:
                    col_no = _col_index(prev) + 1 if prev else 1
                    ref = f"{_col_letter(col_no)}{row_no}"
                prev = ref
                if not len(c) or (wanted is not None and ref.rstrip("0123456789") not in wanted):
                    continue
                value = _value(c, c.get("t"), strings, v_tag, is_tag, t_tag, r_tag, rph)
                if value is not None and value != "":
                    cells[ref] = value
        return cells



_SHEET_DATA_END = b"</sheetData>"


def _cut_after_sheet_data(data: bytes) -> bytes:
    """Drop what follows the cell data (validations, formatting, print set-up): it is never read.

    Only for the plain layout every writer uses (``<worksheet ...>`` with the default namespace);
    anything else is parsed whole.
    """
    end = data.rfind(_SHEET_DATA_END)
    start = data.find(b"<worksheet", 0, 4096)
    if end < 0 or start < 0 or data.find(b"<!", 0, start) >= 0:
        return data
    return data[: end + len(_SHEET_DATA_END)] + b"</worksheet>"


def _value(
    c: etree._Element, t: str | None, strings: Strings, v_tag: str, is_tag: str, t_tag: str, r_tag: str, rph: str
) -> CellValue | None:
    """The value of one <c> element as Excel or LibreOffice stored it (cached value for formulas)."""
    # The first child of each kind, as find() would return it. find() goes through ElementPath, several
    # times slower than this for the hundreds of cells of a sheet; c[0] is cheaper still for the usual
    # cell with a single <v> or <is>.
    if len(c) == 1:
        only = c[0]
        first: dict[object, etree._Element] = {only.tag: only}
    else:
        first = {}
        for child in c:
            first.setdefault(child.tag, child)
    if t == "inlineStr":
        node = first.get(is_tag)
        return _rich_text(node, t_tag, r_tag, rph) if node is not None else None
    v = first.get(v_tag)
    text = None if v is None else v.text or ""  # as findtext(): "" for an empty <v/>
    if not text and t not in ("s", "str", "inlineStr"):
        formula = first.get(v_tag[:-1] + "f")  # same namespace as <v>
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
        return _unescape(text)
    if t == "b":
        return text.strip() in ("1", "true")
    if t == "e":
        return CellError(text)
    try:
        return float(text)
    except ValueError:
        return _unescape(text)


@functools.lru_cache(maxsize=4)  # bounded: the namespace comes from the file
def _cell_xpath(q: str) -> etree.XPath:
    """Compiled XPath selecting the cells of a worksheet (per namespace: transitional or strict)."""
    ns = {"x": q[1:-1]} if q else None
    prefix = "x:" if q else ""
    return etree.XPath(f"./{prefix}sheetData/{prefix}row/{prefix}c", namespaces=ns)


def _rich_text(node: etree._Element, t_tag: str, r_tag: str, rph: str) -> str:
    if len(node) == 1:
        only = node[0]
        if only.tag == t_tag:
            return _unescape(only.text or "")
    parts: list[str] = []
    for child in node:
        if child.tag == t_tag:
            parts.append(child.text or "")
        elif child.tag == r_tag:
            t = child.find(t_tag)
            if t is not None:
                parts.append(t.text or "")
        # rPh (phonetic runs) and phoneticPr are ignored
    return _unescape("".join(parts))


def _unescape(text: str) -> str:
    if "_x" not in text:
        return text
    return _ESCAPE_RE.sub(lambda m: chr(int(m.group(1), 16)), text)


def _col_index(ref: str) -> int:
    n = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            n = n * 26 + ord(ch) - 64
        else:
            break
    return n


def _col_letter(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


class CellRefError(ValueError):
    """A cell address that is not of the form 'D12' (only a damaged or hand-made file has one)."""

    def __init__(self, ref: str) -> None:
        super().__init__(ref)
        self.ref = ref


def split_ref(ref: str) -> tuple[str, int]:
    """'D12' -> ('D', 12). Raises :class:`CellRefError` for anything else."""
    m = _REF_RE.match(ref)
    if not m:
        raise CellRefError(ref)
    return m.group(1), int(m.group(2))


def bad_cell_ref(path: Path, sheet: str | None, ref: str) -> InputFileError:
    """The Danish refusal for a cell address no spreadsheet program writes."""
    where = f"arket '{sheet}'" if sheet else "et ark"
    return InputFileError(
        f"filen er beskadiget: {where} har en celle med den ugyldige adresse '{ref[:40]}'.",
        path=str(path),
        hint=HINT_SAVE_AS,
    )
