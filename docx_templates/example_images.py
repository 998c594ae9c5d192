"""Make the pictures in docs/report.md: an example report -> PDF (LibreOffice) -> PNG (pdftoppm).

Run from the repository root::

    .venv/bin/python docx_templates/example_images.py [--pages 4]

Uses the evaluated example ``s2-kontrolmodel-enkeltydelser`` when the evaluation stage exists, otherwise
the hand-made high-risk assessment of the tests. Writes docs/img/rapport-side-N.png (the .docx
itself is not kept: it is reproducible from the example).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def example_assessment(tmp: Path):  # noqa: ANN201 - test helper types
    import _assessment_fixture as fx

    real = fx.real_examples(tmp, {})
    return real.get("s2-kontrolmodel-enkeltydelser") or fx.high_risk()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=4)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    from pipeline.render import render_docx

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice or not shutil.which("pdftoppm"):
        print("LibreOffice (soffice) og poppler-utils (pdftoppm) skal være installeret.", file=sys.stderr)
        return 5
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        docx = tmp / "rapport.docx"
        docx.write_bytes(render_docx(example_assessment(tmp)))
        subprocess.run(
            [soffice, f"-env:UserInstallation={(tmp / 'profile').as_uri()}", "--headless", "--convert-to", "pdf",
             "--outdir", str(tmp), str(docx)],
            check=True, capture_output=True, timeout=300,
        )
        args.out.mkdir(parents=True, exist_ok=True)
        prefix = tmp / "side"
        subprocess.run(
            ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", str(args.pages), str(tmp / "rapport.pdf"), str(prefix)],
            check=True, timeout=120,
        )
        for n, png in enumerate(sorted(tmp.glob("side-*.png")), start=1):
            shutil.copyfile(png, args.out / f"rapport-side-{n}.png")
            print(args.out / f"rapport-side-{n}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
