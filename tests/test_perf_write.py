"""The shortcuts of the fast journal (write package) path give exactly what the plain computations give.

The plain versions below are the code as it was before the shortcuts, kept verbatim as references.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import zipfile
from pathlib import Path

import pytest
from _journal_fixture import make_assessment, make_docx
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from pipeline import docxpackage as dp
from pipeline import naming, safeio, ziputil
from pipeline.errors import CatalogueError
from pipeline.journal import SUMS_NAME, write_package
from pipeline.metadata import build_metadata, core_properties

W, PR, CT = dp.W, dp.PR, dp.CT
render = pytest.importorskip("pipeline.render")
fixture = pytest.importorskip("_assessment_fixture")


# --- the plain computations (verbatim from before the shortcuts) ---------------------------------


def plain_may_hold(data: bytes) -> bool:
    text = data.removeprefix(b"\xef\xbb\xbf")
    if not text.startswith(b"<") or b"\x00" in data or b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        return True
    declaration = text[:200].split(b"?>", 1)[0].lower() if text.startswith(b"<?xml") else b""
    if b"encoding" in declaration and b"utf-8" not in declaration:
        return True
    if any(name in data for name in (b"fldSimple", b"fldChar", b"instrText")):
        return True
    return any(c in data for c in (b"<ins", b":ins", b"<del", b":del")) and dp._CHANGE_TAG.search(data) is not None


def plain_problems(names: list[str], parts: dict[str, bytes]) -> list[str]:
    problems: list[str] = []
    lower = [n.lower() for n in names]
    if any("vbaproject" in n or (n.endswith(".bin") and "vba" in n) for n in lower):
        problems.append("Dokumentet indeholder makroer (vbaProject).")
    ct = parts.get("[Content_Types].xml", b"").decode("utf-8", "replace")
    if "macroEnabled" in ct or "vbaProject" in ct:
        problems.append("Dokumentet er af en makroaktiveret type.")
    if any(n.startswith("word/embeddings/") for n in names) or "oleObject" in ct:
        problems.append("Dokumentet indeholder indlejrede OLE-objekter.")
    for name in names:
        if name not in parts:
            continue
        if name.endswith(".rels"):
            for rel in dp._xml(parts[name]).iter(f"{{{PR}}}Relationship"):
                if rel.get("TargetMode") == "External":
                    problems.append(
                        f"Eksternt link i {name}: {rel.get('Target', '')[:80]} "
                        f"({rel.get('Type', '').rsplit('/', 1)[-1]})."
                    )
        elif dp._STORY.match(name):
            if not plain_may_hold(parts[name]):
                continue
            root = dp._xml(parts[name])
            for instr in dp._field_names(root):
                field = (instr.strip().split() or [""])[0].upper()
                if field and field not in dp.ALLOWED_FIELDS:
                    problems.append(f"Levende felt {field} i {name} (kun PAGE og NUMPAGES er tilladt).")
            if next(root.iter(f"{{{W}}}ins", f"{{{W}}}del"), None) is not None:
                problems.append(f"Sporede ændringer i {name}.")
        elif name == "word/settings.xml" and next(dp._xml(parts[name]).iter(f"{{{W}}}updateFields"), None) is not None:
            problems.append("Dokumentet beder Word om at opdatere felter ved åbning (updateFields).")
    return problems


def plain_ensure_core_refs(parts: dict[str, bytes]) -> None:
    ct = dp._xml(parts["[Content_Types].xml"])
    if not any(o.get("PartName") == f"/{dp.CORE_PART}" for o in ct.iter(f"{{{CT}}}Override")):
        el = etree.SubElement(ct, f"{{{CT}}}Override")
        el.set("PartName", f"/{dp.CORE_PART}")
        el.set("ContentType", dp.CORE_CT)
        parts["[Content_Types].xml"] = dp._dump(ct)
    rels = dp._xml(parts["_rels/.rels"])
    if not any(r.get("Type") == dp.CORE_REL for r in rels.iter(f"{{{PR}}}Relationship")):
        el = etree.SubElement(rels, f"{{{PR}}}Relationship")
        el.set("Id", "rIdCoreAiv")
        el.set("Type", dp.CORE_REL)
        el.set("Target", dp.CORE_PART)
        parts["_rels/.rels"] = dp._dump(rels)


def plain_sanitize(parts: dict[str, bytes]) -> None:
    for name in [n for n in parts if dp._STORY.match(n)]:
        rels_name = dp._story_rels(name)
        if rels_name not in parts:
            continue
        rels = dp._xml(parts[rels_name])
        external = {
            rel.get("Id", "")
            for rel in rels.iter(f"{{{PR}}}Relationship")
            if rel.get("TargetMode") == "External" and rel.get("Type", "").endswith("/hyperlink")
        }
        if not external:
            continue
        root = dp._xml(parts[name])
        dp._unwrap_hyperlinks(root, external)
        parts[name] = dp._dump(root)
        dp._drop_rels(rels, external)
        parts[rels_name] = dp._dump(rels)
    settings_rels = "word/_rels/settings.xml.rels"
    if "word/settings.xml" in parts:
        settings = dp._xml(parts["word/settings.xml"])
        changed = False
        for tag in ("updateFields", "attachedTemplate"):
            for el in list(settings.iter(f"{{{W}}}{tag}")):
                if tag == "attachedTemplate" and settings_rels in parts:
                    rels = dp._xml(parts[settings_rels])
                    ids = dp._external_ids(rels) & {el.get(f"{{{dp.R}}}id", "")}
                    dp._drop_rels(rels, ids)
                    parts[settings_rels] = dp._dump(rels)
                parent = el.getparent()
                if parent is not None:
                    parent.remove(el)
                    changed = True
        if changed:
            parts["word/settings.xml"] = dp._dump(settings)


def plain_finalize(data: bytes, props: dp.CoreProperties, *, source: str = "dokumentet") -> bytes:
    try:
        zin = zipfile.ZipFile(io.BytesIO(data))
        with zin:
            infos = zin.infolist()
            names = {i.filename for i in infos}
            parts = {n: zin.read(n) for n in names if dp._inspected(n)}
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise CatalogueError("Word-dokumentet er ikke en gyldig .docx-fil.", path=source) from exc
    if "[Content_Types].xml" not in parts or "_rels/.rels" not in parts:
        raise CatalogueError("Word-dokumentet er ikke en gyldig .docx-fil.", path=source)
    before = dict(parts)
    plain_sanitize(parts)
    parts[dp.CORE_PART] = dp._core_xml(props)
    plain_ensure_core_refs(parts)
    changed = {n: b for n, b in parts.items() if before.get(n) != b}
    problems = plain_problems([i.filename for i in infos] + [n for n in changed if n not in names], parts)
    if problems:
        raise CatalogueError(
            "Word-dokumentet kan ikke journaliseres: " + " ".join(problems)
            + " Ret Word-skabelonen (se docs/journaling.md).",
            path=source,
        )
    return dp._rezip(data, changed)


def outcome(fn, *args) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    """What a call gives: its value, or its exception's type and text."""
    try:
        return "ok", fn(*args)
    except Exception as exc:
        return type(exc).__name__, str(exc)


# --- documents: real reports, the fixture's, and hostile variants -------------------------------

PROPS = core_properties(build_metadata(make_assessment()))


def _rezipped(data: bytes, replace: dict[str, bytes] | None = None, extra: dict[str, bytes] | None = None,
              method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", method) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, (replace or {}).get(info.filename, zin.read(info)))
        for name, content in (extra or {}).items():
            zout.writestr(name, content)
    return out.getvalue()


def _patched(data: bytes, old: bytes, new: bytes, count: int = 1) -> bytes:
    assert old in data
    return data.replace(old, new, count)


@pytest.fixture(scope="module")
def real_reports() -> dict[str, bytes]:
    return {case: render.render_docx(getattr(fixture, case)()) for case in ("high_risk", "hostile", "prohibited")}


def _documents(real: dict[str, bytes]) -> dict[str, bytes]:
    base = make_docx()
    report = real["high_risk"]
    with zipfile.ZipFile(io.BytesIO(report)) as zf:
        settings_xml = zf.read("word/settings.xml")
        document_xml = zf.read("word/document.xml")
        rels = zf.read("word/_rels/document.xml.rels")
    link = (b'<Relationship Id="rIdX" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            b'relationships/image" Target="http://evil.example/t.png" TargetMode="External"/></Relationships>')
    docs = {f"real-{k}": v for k, v in real.items()}
    docs.update({
        "fixture": base,
        "fixture-stored": _rezipped(base, method=zipfile.ZIP_STORED),
        "fixture-bzip2": _rezipped(base, method=zipfile.ZIP_BZIP2),
        "hyperlink": make_docx(hyperlink="https://eur-lex.europa.eu/eli/reg/2024/1689/oj"),
        "date-field": make_docx(extra_field="DATE"),
        "macro": _rezipped(report, extra={"word/vbaProject.bin": b"\x00macro"}),
        "external-image": _rezipped(report, {"word/_rels/document.xml.rels": rels.replace(b"</Relationships>", link)}),
        "update-fields": _rezipped(report, {"word/settings.xml": settings_xml.replace(
            b"</w:settings>", b'<w:updateFields w:val="true"/></w:settings>')}),
        "tracked-change": _rezipped(report, {"word/document.xml": document_xml.replace(
            b"<w:body>", b'<w:body><w:ins w:id="9" w:author="x"/>', 1)}),
        "doctype": _rezipped(report, {"word/document.xml": document_xml.replace(
            b"?>", b'?><!DOCTYPE w:document [<!ENTITY e "x">]>', 1)}),
        "duplicate-name": _rezipped(report, extra={"word/document.xml": document_xml.replace(
            b"<w:body>", b'<w:body><w:fldSimple w:instr="DATE"/>', 1)}),
        "no-content-types": _rezipped(report, {}, {}).replace(b"[Content_Types].xml", b"[Content_Typez].xml"),
        "not-a-zip": b"PK\x03\x04 not a zip at all",
    })
    # zip-level damage: a wrong CRC, a wrong local name, the encrypted flag, a cut payload
    info = zipfile.ZipFile(io.BytesIO(report)).getinfo("word/document.xml")
    off = info.header_offset
    docs["local-name"] = _patched(report, b"PK\x03\x04" + report[off + 4 : off + 30] + b"word/document.xml",
                                  b"PK\x03\x04" + report[off + 4 : off + 30] + b"word/documenX.xml")
    docs["encrypted"] = report[: off + 6] + bytes([report[off + 6] | 1]) + report[off + 7 :]
    name_at = report.find(b"word/document.xml", report.find(b"PK\x01\x02"))
    docs["encrypted-central"] = report[: name_at - 46 + 8] + bytes([report[name_at - 46 + 8] | 1]) + report[name_at - 46 + 9 :]
    crc_at = name_at - 46 + 16  # the CRC zipfile checks is the central directory's
    docs["bad-crc"] = report[:crc_at] + bytes([report[crc_at] ^ 0xFF]) + report[crc_at + 1 :]
    size_at = name_at - 46 + 20
    docs["overlong-payload"] = (report[:size_at] + (info.compress_size + 10_000).to_bytes(4, "little")
                                + report[size_at + 4 :])
    return docs


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_finalize_equals_the_plain_path_for_every_kind_of_document(real_reports: dict[str, bytes]) -> None:
    docs = _documents(real_reports)
    seen = set()
    for name, data in docs.items():
        ours = outcome(dp.finalize_docx, data, PROPS)
        plain = outcome(plain_finalize, data, PROPS)
        assert ours == plain, name
        seen.add(ours[0])
        # a second time (the small parts' checks now remembered) gives the same again
        assert outcome(dp.finalize_docx, data, PROPS) == plain, name
    assert {"ok", "CatalogueError"} <= seen  # the set covers accepted and refused documents


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_the_fast_zip_reader_is_taken_for_reports_and_refused_for_unusual_zips(real_reports: dict[str, bytes]) -> None:
    docs = _documents(real_reports)

    def fast(data: bytes) -> dict[str, bytes] | None:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = [i.filename for i in zf.infolist() if dp._inspected(i.filename)]
            got = ziputil.read_plain(zf, data, names)
            if got is not None:  # whenever it answers, it answers what zipfile reads
                assert got == {n: zf.read(n) for n in names}
            return got

    for name in ("real-high_risk", "real-hostile", "fixture", "fixture-stored", "hyperlink", "tracked-change"):
        assert fast(docs[name]) is not None, name
    for name in ("fixture-bzip2", "duplicate-name", "bad-crc", "local-name", "encrypted-central", "overlong-payload"):
        assert fast(docs[name]) is None, name


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=6), st.lists(st.booleans(), max_size=6))
def test_fast_zip_reader_equals_zipfile(contents: list[bytes], stored: list[bool]) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i, content in enumerate(contents):
            method = zipfile.ZIP_STORED if i < len(stored) and stored[i] else zipfile.ZIP_DEFLATED
            zf.writestr(f"p{i}.xml", content, compress_type=method)
    data = buf.getvalue()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        assert ziputil.read_plain(zf, data, names) == {n: zf.read(n) for n in names}
        assert ziputil.raw_entries(data, zf.infolist()) == ziputil.raw_entries(data)


# --- the one-pass marker scan ---------------------------------------------------------------------

FRAGMENTS = ["<w:p>", "<w:t>", "text", " ins ", "del", "<w:ins ", "<ins/>", ":del>", "<w:insideH/>", "<w:delText>",
             "fldSimple", "fldChar", "instrText", "<!DOCTYPE", "<!ENTITY", "<!-- -->", "\x00", "æøå", ":in", "<de",
             '<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0" encoding="latin-1"?>', "\ufeff"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12))
def test_marker_scan_equals_the_substring_tests(pieces: list[str]) -> None:
    for data in ("".join(pieces).encode(), ("<" + "".join(pieces)).encode()):
        assert dp._may_hold_fields_or_changes(data) == plain_may_hold(data)


def test_marker_scan_equals_the_substring_tests_on_real_parts(real_reports: dict[str, bytes]) -> None:
    for report in real_reports.values():
        with zipfile.ZipFile(io.BytesIO(report)) as zf:
            for name in zf.namelist():
                if name.endswith(".xml"):
                    data = zf.read(name)
                    assert dp._may_hold_fields_or_changes(data) == plain_may_hold(data), name


# --- the remembered small-part checks -------------------------------------------------------------

RELS = '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{}</Relationships>'
REL = '<Relationship Id="rId{i}" Type="http://x/{kind}" Target="{target}"{mode}/>'


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["hyperlink", "image", "attachedTemplate"]),
                          st.sampled_from(["a.xml", "http://evil.example/x", "file:///C:/N.dotm"]),
                          st.booleans()), max_size=5))
def test_remembered_rels_checks_equal_the_plain_ones(rels: list[tuple[str, str, bool]]) -> None:
    data = RELS.format("".join(
        REL.format(i=i, kind=kind, target=target, mode=' TargetMode="External"' if ext else "")
        for i, (kind, target, ext) in enumerate(rels))).encode()
    parts = {"word/_rels/document.xml.rels": data}
    assert dp._problems(list(parts), parts) == plain_problems(list(parts), parts)
    root = dp._xml(data)
    assert set(dp._external_hyperlink_ids(data)) == {
        r.get("Id") for r in root.iter(f"{{{PR}}}Relationship")
        if r.get("TargetMode") == "External" and r.get("Type", "").endswith("/hyperlink")}


def test_part_memory_is_bounded_and_broken_parts_fail_every_time() -> None:
    for i in range(3 * dp._PART_MEMO):
        dp._rels_problems("x.rels", RELS.format(REL.format(i=i, kind="image", target="a", mode="")).encode())
    assert dp._rels_problems.cache_info().currsize <= dp._PART_MEMO
    # a large part is read each time (not kept), with the same answer
    big = RELS.format(REL.format(i=1, kind="image", target="http://x/" + "a" * dp._MEMO_BYTES, mode=' TargetMode="External"'))
    hits = dp._rels_problems.cache_info().hits + dp._rels_problems.cache_info().misses
    parts = {"word/_rels/document.xml.rels": big.encode()}
    assert dp._problems(list(parts), parts) == plain_problems(list(parts), parts) != []
    assert dp._rels_problems.cache_info().hits + dp._rels_problems.cache_info().misses == hits
    for _ in range(2):
        with pytest.raises(etree.XMLSyntaxError):
            dp._rels_problems("x.rels", b"<Relationships")


# --- safe writing ---------------------------------------------------------------------------------


def test_clean_stale_removes_what_the_glob_matched(tmp_path: Path) -> None:
    name = "85.15.00-G01_Vurdering_af_AI-system_Røntgen_(pilot)_v1.0"
    names = [f".{name}{safeio.TMP_MARK}abc", f".{name}{safeio.TMP_MARK}old-1", f".{name}{safeio.TMP_MARK}",
             f"{name}{safeio.TMP_MARK}x", f".{name}x{safeio.TMP_MARK}y", f".{name}.docx.aivtmp-1.tmp", name, "other"]
    for i, n in enumerate(names):
        (tmp_path / n).mkdir() if i % 2 else (tmp_path / n).write_text("x")
    matched = {p.name for p in tmp_path.glob(f".{name}{safeio.TMP_MARK}*")}
    safeio.clean_stale(tmp_path, name)
    assert {p.name for p in tmp_path.iterdir()} == set(names) - matched
    assert matched  # the case is not empty


def _fd_path(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name fsynced files")
@pytest.mark.parametrize("force", [False, True])
def test_every_file_and_folder_is_fsynced_before_and_after_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, force: bool
) -> None:
    events: list[tuple[str, str]] = []  # appended from the fsync threads too (list.append is atomic)
    real_fsync, real_replace, real_rename = os.fsync, os.replace, os.rename

    def fsync(fd: int) -> None:
        events.append(("fsync", _fd_path(fd)))
        real_fsync(fd)

    def replace(src: object, dst: object) -> None:
        events.append(("rename", str(dst)))
        real_replace(src, dst)  # type: ignore[arg-type]

    def rename(src: object, dst: object) -> None:
        events.append(("rename", str(dst)))
        real_rename(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "rename", rename)
    final = tmp_path / "pakke"
    if force:
        final.mkdir()
        (final / "gammel.txt").write_text("old")
    with safeio.staged_dir(final) as stage:
        staged_files = {stage / n for n in ("a.docx", "a.metadata.xml", "SHA256SUMS")}
        for p in staged_files:
            p.write_bytes(b"x" * 1000)
        events.clear()
        safeio.publish_dir(stage, final, force=force)
    renames = [i for i, e in enumerate(events) if e[0] == "rename" and e[1] == str(final)]
    assert len(renames) == 1
    before = {path for kind, path in events[: renames[0]] if kind == "fsync"}
    after = {path for kind, path in events[renames[0] :] if kind == "fsync"}
    assert before == {str(p) for p in staged_files} | {str(stage)}
    assert str(tmp_path) in after
    assert sorted(p.name for p in final.iterdir()) == ["SHA256SUMS", "a.docx", "a.metadata.xml"]
    assert [p.name for p in tmp_path.iterdir()] == ["pakke"]  # the old package is gone when it returns


def test_a_failing_fsync_stops_the_publish(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(fd: int) -> None:
        raise OSError(5, "I/O-fejl")

    monkeypatch.setattr(os, "fsync", broken)
    final = tmp_path / "pakke"
    with pytest.raises(OSError, match="I/O-fejl"), safeio.staged_dir(final) as stage:
        (stage / "a.docx").write_bytes(b"x")
        safeio.publish_dir(stage, final)
    assert list(tmp_path.iterdir()) == []


def test_checksums_equal_the_files_written(tmp_path: Path) -> None:
    result = write_package(make_assessment(), make_docx(), tmp_path)
    lines = (result.folder / SUMS_NAME).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    for line in lines:
        digest, file_name = line.split("  ", 1)
        assert digest == hashlib.sha256((result.folder / file_name).read_bytes()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", result.metadata.filer[0].sha256)


def test_removing_the_old_package_equals_rmtree_and_follows_no_link(tmp_path: Path) -> None:
    outside = tmp_path / "udenfor"
    outside.mkdir()
    (outside / "vigtig.txt").write_text("bliver")
    flat = tmp_path / "flad"
    flat.mkdir()
    for n in ("a.docx", "b.xml", "SHA256SUMS"):
        (flat / n).write_text(n)
    (flat / "link").symlink_to(outside)
    nested = tmp_path / "med-undermappe"
    (nested / "under").mkdir(parents=True)
    (nested / "under" / "x").write_text("x")
    (nested / "y").write_text("y")
    link = tmp_path / "link-til-mappe"
    link.symlink_to(outside, target_is_directory=True)
    for folder in (flat, nested, link, tmp_path / "findes-ikke"):
        safeio._remove_tree(folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link-til-mappe", "udenfor"]
    assert (outside / "vigtig.txt").read_text() == "bliver"


# --- file names -----------------------------------------------------------------------------------


def _plain_kept(text: str) -> str:
    return "".join(ch if naming._keep(ch) else "" for ch in text if ch.isprintable() or ch == "_")


def test_kept_characters_equal_the_plain_filter_for_every_code_point() -> None:
    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert naming._kept(every) == _plain_kept(every)
    ascii_text = "".join(map(chr, range(128)))  # the ASCII shortcut, every ASCII character
    assert naming._kept(ascii_text) == _plain_kept(ascii_text)


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text(alphabet=st.characters(max_codepoint=127)))
def test_kept_characters_equal_the_plain_filter(text: str, ascii_text: str) -> None:
    assert naming._kept(text) == _plain_kept(text)
    assert naming._kept(ascii_text) == _plain_kept(ascii_text)
