"""Read + validate time per workbook against the floor (unzip + parse the sheet XML with lxml).

    .venv/bin/python benchmarks/bench_intake.py             # the example workbooks
    .venv/bin/python benchmarks/bench_intake.py FILE.xlsx   # your own
    .venv/bin/python benchmarks/bench_intake.py --runs 200

Target (issue 3): median read + validate <= 3x the floor for a fully filled workbook. Prints only;
timed assertions do not belong in the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.questions import load_questions  # noqa: E402
from pipeline.validate import validate_workbook  # noqa: E402


def floor(path: Path) -> None:
    """The least any reader must do: unzip and parse every sheet (and the shared strings)."""
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/sheet") or name == "xl/sharedStrings.xml":
                etree.fromstring(zf.read(name))


def paired_medians(a: Callable[[], object], b: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median ms of ``a`` and ``b``, run alternately so that load on the machine hits both alike."""
    a(), b()  # warm up
    ta: list[float] = []
    tb: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        a()
        mid = time.perf_counter()
        b()
        end = time.perf_counter()
        ta.append(mid - start)
        tb.append(end - mid)
    return statistics.median(ta) * 1000, statistics.median(tb) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description="read + validate vs floor")
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    files = args.files or sorted((ROOT / "intake_templates" / "examples").glob("*.xlsx"))
    if not files:
        print("Ingen arbejdsbøger fundet; kør intake_templates/build.py først.", file=sys.stderr)
        return 1
    cat = load_questions()
    print(f"{'fil':<45} {'svar':>5} {'floor ms':>9} {'læs+valider ms':>15} {'forhold':>8}")
    ratios = []
    for path in files:
        f, v = paired_medians(lambda p=path: floor(p), lambda p=path: validate_workbook(p, cat), args.runs)
        n = len(validate_workbook(path, cat).answers)
        ratios.append(v / f)
        print(f"{path.name[:45]:<45} {n:>5} {f:>9.2f} {v:>15.2f} {v / f:>7.2f}x")
    worst = max(ratios)
    print(f"\nmedian forhold {statistics.median(ratios):.2f}x, værst {worst:.2f}x (mål <= 3x): "
          f"{'OK' if worst <= 3 else 'OVER MÅLET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
