"""The deterministic zip writer shared by rendering and journaling."""

from __future__ import annotations

import io
import zipfile

import pytest

from pipeline import ziputil


def test_written_zip_reads_back_with_zipfile_and_is_deterministic() -> None:
    entries = [ziputil.entry("[Content_Types].xml", b"<Types/>"), ziputil.entry("word/æøå.xml", b"x" * 1000)]
    first, second = ziputil.write_zip(entries), ziputil.write_zip(entries)
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        assert zf.testzip() is None
        assert zf.namelist() == ["[Content_Types].xml", "word/æøå.xml"]
        assert zf.read("word/æøå.xml") == b"x" * 1000
        assert all(i.date_time == ziputil.FIXED_TIME for i in zf.infolist())


def test_raw_entries_copy_members_unchanged() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("a.txt", (2024, 5, 6, 7, 8, 10)), b"hej " * 100)
        zf.writestr("b.bin", b"\x00\x01" * 50, compress_type=zipfile.ZIP_STORED)
    rebuilt = ziputil.write_zip(ziputil.raw_entries(buf.getvalue()))
    with zipfile.ZipFile(io.BytesIO(rebuilt)) as zf:
        assert zf.read("a.txt") == b"hej " * 100 and zf.read("b.bin") == b"\x00\x01" * 50
        assert zf.getinfo("a.txt").date_time == (2024, 5, 6, 7, 8, 10)


def test_corrupt_archive_is_refused() -> None:
    with pytest.raises(zipfile.BadZipFile):
        ziputil.raw_entries(b"PK\x03\x04 not really a zip")
