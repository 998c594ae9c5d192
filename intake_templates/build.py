"""Regenerate the committed intake workbooks from the question catalogue.

    .venv/bin/python intake_templates/build.py          # templates + examples
    .venv/bin/python intake_templates/build.py --check  # exit 1 if a committed file is out of date

Writes ``aivurdering-intake.xlsx`` (Danish), ``aivurdering-intake-en.xlsx`` (English) and, for every
answers file ``examples/*.yaml``, the filled workbook ``examples/*.xlsx`` (via ``aivurdering fill``).
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from pipeline.answers_io import fill_workbook, load_answers  # noqa: E402
from pipeline.intake import read_cells  # noqa: E402
from pipeline.questions import load_questions  # noqa: E402
from pipeline.workbook import META_SHEET, TEMPLATE_VERSION, write_template  # noqa: E402

TEMPLATES = {"da": HERE / "aivurdering-intake.xlsx", "en": HERE / "aivurdering-intake-en.xlsx"}


def outputs() -> list[Path]:
    return list(TEMPLATES.values()) + [p.with_suffix(".xlsx") for p in sorted((HERE / "examples").glob("*.yaml"))]


def is_current(path: Path) -> bool:
    """True when ``path`` was made from the current catalogue and template version."""
    if not path.is_file():
        return False
    cat = load_questions()
    meta = read_cells(path).sheets.get(META_SHEET)
    cells = meta.cells if meta else {}
    return cells.get("B2") == TEMPLATE_VERSION and cells.get("B5") == cat.sha256


def normalise(path: Path, stamp: str) -> None:
    """Make the file byte-for-byte reproducible: fixed zip timestamps and document dates.

    Rebuilding without a catalogue change then leaves git clean.
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>" + stamp.encode()
                              + rb"\g<2>", data)
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            zout.writestr(fixed, data)
    path.write_bytes(buf.getvalue())


def build() -> list[Path]:
    cat = load_questions()
    stamp = f"{cat.catalogue.date or '2026-01-01'}T00:00:00Z"
    written = []
    for lang, path in TEMPLATES.items():
        written.append(write_template(path, lang=lang, force=True))
    for answers in sorted((HERE / "examples").glob("*.yaml")):
        written.append(fill_workbook(load_answers(answers), answers.with_suffix(".xlsx"), force=True))
    for path in written:
        normalise(path, stamp)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the files are current")
    args = parser.parse_args()
    if args.check:
        stale = [p for p in outputs() if not is_current(p)]
        for p in stale:
            print(f"forældet eller mangler: {p.relative_to(HERE.parent)}", file=sys.stderr)
        return 1 if stale else 0
    for p in build():
        print(f"skrevet: {p.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
