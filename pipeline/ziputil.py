"""One small deterministic zip writer for .docx packages.

Python's :mod:`zipfile` always recompresses what it writes and stamps entries with its own metadata.
Rendering and journaling need two things it does not offer: copying already-compressed parts unchanged
(fast: a report re-uses most of the template's parts) and byte-identical output for identical input
(fixed dates, stable order). Reading stays with :mod:`zipfile`.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["FIXED_TIME", "ZipEntry", "deflate", "entry", "raw_entries", "write_zip"]

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_UTF8 = 0x0800  # general purpose flag: names are UTF-8


@dataclass(frozen=True)
class ZipEntry:
    """One member: its payload as stored in the archive (compressed unless ``method`` is STORED)."""

    name: str
    payload: bytes
    crc: int
    size: int  # uncompressed size
    method: int = zipfile.ZIP_DEFLATED
    date_time: tuple[int, int, int, int, int, int] = FIXED_TIME


def deflate(data: bytes, level: int = 6) -> bytes:
    """Raw deflate (no zlib header), as zip members store it."""
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def entry(
    name: str, data: bytes, *, level: int = 6, date_time: tuple[int, int, int, int, int, int] = FIXED_TIME
) -> ZipEntry:
    """A deflated entry for ``data``."""
    return ZipEntry(name, deflate(data, level), zlib.crc32(data), len(data), zipfile.ZIP_DEFLATED, date_time)


def raw_entries(data: bytes) -> list[ZipEntry]:
    """The members of a zip in archive order, payloads copied without decompressing.

    Raises :class:`zipfile.BadZipFile` for a corrupt archive and :class:`ValueError` for an encrypted member.
    """
    out: list[ZipEntry] = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            if info.flag_bits & 0x1:
                raise ValueError(f"{info.filename} er krypteret")
            off = info.header_offset
            if data[off : off + 4] != b"PK\x03\x04":
                raise zipfile.BadZipFile(f"{info.filename}: ugyldig lokal header")
            name_len, extra_len = struct.unpack("<HH", data[off + 26 : off + 30])
            start = off + 30 + name_len + extra_len
            payload = data[start : start + info.compress_size]
            date_time = tuple(info.date_time)
            out.append(ZipEntry(info.filename, payload, info.CRC, info.file_size, info.compress_type,
                                date_time))  # type: ignore[arg-type]
    return out


def _dos(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    y, mo, d, h, mi, sec = date_time
    return (h << 11) | (mi << 5) | (sec // 2), ((max(y, 1980) - 1980) << 9) | (mo << 5) | d


def write_zip(entries: Iterable[ZipEntry]) -> bytes:
    """Write ``entries`` in the order given: same entries, same bytes."""
    out = io.BytesIO()
    central: list[bytes] = []
    for e in entries:
        fname = e.name.encode("utf-8")
        dos_time, dos_date = _dos(e.date_time)
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, _UTF8, e.method, dos_time, dos_date, e.crc,
                              len(e.payload), e.size, len(fname), 0))
        out.write(fname)
        out.write(e.payload)
        central.append(
            struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, _UTF8, e.method, dos_time, dos_date, e.crc,
                        len(e.payload), e.size, len(fname), 0, 0, 0, 0, 0, offset)
            + fname
        )
    cd_start = out.tell()
    for record in central:
        out.write(record)
    cd_size = out.tell() - cd_start
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), cd_size, cd_start, 0))
    return out.getvalue()
