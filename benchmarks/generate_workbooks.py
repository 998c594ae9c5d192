"""Generate N varied, realistic, filled intake workbooks for the benchmark.

Seeds are the answer files of the worked examples (``intake_templates/examples/*.yaml``); each workbook is
one seed varied deterministically (system name, unit, caseworker, case number, dates, version, and the
rows of the repeatable tables: reordered, a few duplicated with changed wording) and written with
:func:`pipeline.answers_io.fill_workbook`, the same code as ``aivurdering fill``. The same N and seed always
give the same answers.

    .venv/bin/python benchmarks/generate_workbooks.py -n 200 -o /tmp/aiv-bench/wb
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import random
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "intake_templates" / "examples"

UNITS = ["Borgerservice", "Social og Sundhed", "Teknik og Miljø", "Børn og Unge", "Beskæftigelse",
         "Økonomi og Personale", "Digitalisering og IT", "Ældre og Handicap"]
CASEWORKERS = ["Mette Hansen", "Lars Nielsen", "Sofie Jensen", "Ahmed Ali", "Karen Pedersen",
               "Jonas Kristensen", "Fatima Yilmaz", "Peter Sørensen"]
SUFFIXES = ["", " (pilot)", " – version 2", " Nord", " Syd", " til borgerservice", " – udvidet drift"]


def seeds() -> list[dict[str, Any]]:
    from pipeline.answers_io import load_answers

    files = sorted(EXAMPLES.glob("*.yaml"))
    if not files:
        sys.exit(f"Ingen eksempler fundet i {EXAMPLES}")
    return [load_answers(f) for f in files]


def cache_key() -> str:
    """Changes whenever the question catalogue or an example answer file changes."""
    import hashlib

    from pipeline.questions import load_questions

    digest = hashlib.sha256(load_questions().sha256.encode())
    for f in sorted(EXAMPLES.glob("*.yaml")):
        digest.update(f.read_bytes())
    return digest.hexdigest()[:12]


def vary(answers: dict[str, Any], i: int) -> dict[str, Any]:
    """A deterministic variation of one example's answers (always still valid)."""
    rnd = random.Random(i)
    a = copy.deepcopy(answers)
    if "system_name" in a:
        a["system_name"] = f"{a['system_name']}{rnd.choice(SUFFIXES)} #{i:04d}"
    if "unit" in a:
        a["unit"] = rnd.choice(UNITS)
    if "caseworker" in a:
        a["caseworker"] = rnd.choice(CASEWORKERS)
    if "case_number" in a:
        kle = a.get("kle_number", "00.00.00")
        facet = a.get("kle_facet", "G01")
        a["case_number"] = f"{kle}-{facet}-{1000 + i}-26"
    if "document_version" in a:
        a["document_version"] = f"{rnd.randint(1, 3)}.{rnd.randint(0, 9)}"
    shift = dt.timedelta(days=rnd.randint(-60, 0))
    for key in ("document_date",):
        if isinstance(a.get(key), dt.date):
            a[key] = a[key] + shift
    if isinstance(a.get("next_review_date"), dt.date):
        a["next_review_date"] = a["next_review_date"] + dt.timedelta(days=rnd.randint(0, 120))
    for key, rows in list(a.items()):
        if isinstance(rows, list) and rows and isinstance(rows[0], dict):
            rows = list(rows)
            rnd.shuffle(rows)
            extra = copy.deepcopy(rows[: rnd.randint(0, min(3, len(rows)))])
            for row in extra:
                for col, value in row.items():
                    if isinstance(value, str) and len(value) > 12:
                        row[col] = value + " (gentaget vurdering)"
            a[key] = rows + extra
    return a


def _one(job: tuple[int, dict[str, Any], str]) -> str:
    from pipeline.answers_io import fill_workbook

    i, answers, out = job
    target = Path(out) / f"intake-{i:04d}.xlsx"
    if not target.exists():
        fill_workbook(vary(answers, i), target, force=True)
    return target.name


def generate(n: int, out: Path, jobs: int = 2, *, only_seeds: set[int] | None = None) -> list[Path]:
    """Write ``n`` workbooks ``intake-0000.xlsx`` … into ``out`` (existing ones are kept: a cache).

    Workbook ``i`` varies seed ``i % len(seeds)``; ``only_seeds`` limits which seeds are used.
    """
    out.mkdir(parents=True, exist_ok=True)
    base = seeds()
    indices = [i for i in range(n * len(base)) if only_seeds is None or i % len(base) in only_seeds][:n]
    todo = [(i, base[i % len(base)], str(out)) for i in indices]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        names = list(pool.map(_one, todo, chunksize=8))
    return [out / name for name in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=60, help="antal arbejdsbøger")
    parser.add_argument("-o", "--out", type=Path, default=Path("/tmp/aiv-bench/wb"))
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    paths = generate(args.n, args.out, args.jobs)
    print(f"{len(paths)} arbejdsbøger i {args.out}")


if __name__ == "__main__":
    main()
