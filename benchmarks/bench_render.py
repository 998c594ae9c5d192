"""Render time per document beside the floor (issue 5 §6).

    .venv/bin/python benchmarks/bench_render.py [-n 30]

* floor: copy the template's zip unchanged (read every member, write a new zip);
* fast: ``pipeline.render.render_docx`` (template prepared once per process);
* docxtpl: ``render_docx_plain`` (load + patch + compile + render + save every time).

Uses the evaluated example answer files when the evaluation stage exists, otherwise the hand-made
assessments of the tests.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def _floor(template: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(template)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info.filename))
    return out.getvalue()


def _time(fn: Callable[[], object], n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description="Render time per document beside the floor.")
    parser.add_argument("-n", type=int, default=30, help="gentagelser pr. måling (median)")
    args = parser.parse_args()
    import _assessment_fixture as fx

    from pipeline.render import default_template, prepare_template, render_docx, render_docx_plain

    with tempfile.TemporaryDirectory() as tmp:
        cases = fx.real_examples(Path(tmp), {}) or {name: fn() for name, fn in fx.FIXTURES.items()}
    template = default_template().read_bytes()
    t0 = time.perf_counter()
    prepare_template()
    prepare_ms = (time.perf_counter() - t0) * 1000
    floor = _time(lambda: _floor(template), args.n)
    print(f"skabelon forberedt én gang pr. proces: {prepare_ms:.0f} ms")
    print(f"{'dokument':<42} {'gulv':>8} {'hurtig':>8} {'docxtpl':>8}")
    for name, a in cases.items():
        render_docx(a)  # warm the context caches (question catalogue)
        fast = _time(lambda a=a: render_docx(a), args.n)
        plain = _time(lambda a=a: render_docx_plain(a), max(3, args.n // 5))
        print(f"{name:<42} {floor:>6.1f}ms {fast:>6.1f}ms {plain:>6.1f}ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
