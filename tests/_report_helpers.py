"""Helpers for the report tests: read parts and paragraphs out of .docx bytes."""

from __future__ import annotations

import io
import re
import zipfile

from lxml import etree

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {"w": W}


def parts(docx: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(docx)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def xml(docx: bytes, name: str) -> etree._Element:
    return etree.fromstring(parts(docx)[name])


def paragraph_texts(root: etree._Element) -> list[str]:
    return ["".join(t.text or "" for t in p.iter(f"{{{W}}}t")) for p in root.iter(f"{{{W}}}p")]


def text_parts(docx: bytes) -> dict[str, list[str]]:
    """Paragraph texts of the body, headers and footers."""
    out = {}
    for name, data in parts(docx).items():
        if name.startswith("word/") and name.endswith(".xml") and name.split("/")[-1].startswith(("document", "header", "footer")):
            out[name] = paragraph_texts(etree.fromstring(data))
    return out


def all_text(docx: bytes) -> str:
    return "\n".join(line for lines in text_parts(docx).values() for line in lines)


def normalised_text(docx: bytes) -> str:
    """A golden-friendly rendering: each part's paragraphs, empty ones dropped, SHA-256 values masked
    (they change with every catalogue or workbook edit; the determinism test covers the bytes)."""
    blocks = []
    for name, lines in sorted(text_parts(docx).items()):
        blocks.append(f"== {name}")
        blocks.extend(re.sub(r"\b[0-9a-f]{64}\b", "<sha256>", line) for line in lines if line.strip())
    return "\n".join(blocks) + "\n"
