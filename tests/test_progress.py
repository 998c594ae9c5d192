"""Batch progress: plain lines when not a terminal, a rich bar with counts on a terminal."""

from __future__ import annotations

from io import StringIO

from pipeline.progress import BatchProgress


def test_plain_output_is_one_line_per_file_with_danish_status() -> None:
    stream = StringIO()
    with BatchProgress(12, stream=stream) as prog:
        assert prog.terminal is False  # StringIO is not a terminal
        prog.note("~$a.xlsx: Office-låsefil; ignoreret")
        prog.item_done("a.xlsx", "ok", "ud/a/a.docx")
        prog.item_done("b.xlsx", "skipped", "uændret siden sidste kørsel")
        prog.item_done("sub/c.xlsx", "invalid", "3 fejl i intake-arket skal rettes.\nflere linjer")
        prog.item_done("d.xlsx", "failed")
    assert stream.getvalue().splitlines() == [
        "~$a.xlsx: Office-låsefil; ignoreret",
        "[ 1/12] færdig        a.xlsx: ud/a/a.docx",
        "[ 2/12] sprunget over b.xlsx: uændret siden sidste kørsel",
        "[ 3/12] ugyldig       sub/c.xlsx: 3 fejl i intake-arket skal rettes. flere linjer",
        "[ 4/12] fejlet        d.xlsx",
    ]
    assert prog.counts == {"ok": 1, "skipped": 1, "invalid": 1, "failed": 1}


def test_terminal_output_is_a_progress_bar_with_counts_and_failures() -> None:
    stream = StringIO()
    with BatchProgress(3, stream=stream, terminal=True, width=200) as prog:
        prog.item_done("a.xlsx", "ok", "ud/a.docx")
        prog.item_done("[b].xlsx", "failed", "kan ikke læses")
        prog.item_done("c.xlsx", "skipped")
    text = stream.getvalue()
    assert "Vurderer intakeark" in text
    assert "3/3" in text
    assert "1 færdige · 1 sprunget over · 1 fejlede" in text  # only the non-zero counts
    assert "[b].xlsx: kan ikke læses" in text  # file names are not taken as rich markup
    assert "a.xlsx" not in text.replace("[b].xlsx", "")  # successes are counted, not listed


def test_terminal_bar_fits_80_columns() -> None:
    stream = StringIO()
    with BatchProgress(1000, stream=stream, terminal=True, width=80) as prog:
        for i in range(3):
            prog.item_done(f"f{i}.xlsx", "ok")
        prog.item_done("x.xlsx", "invalid")
    last = stream.getvalue().rsplit("\r", 1)[-1]
    assert "Vurderer intakeark" in last and "4/1000" in last and "3 færdige · 1 ugyldige" in last
    assert "…" not in last  # nothing cut off


def test_total_may_be_set_after_creation() -> None:
    stream = StringIO()
    prog = BatchProgress(0, stream=stream)
    prog.total = 100
    with prog:
        prog.item_done("a.xlsx", "ok")
    assert stream.getvalue() == "[  1/100] færdig        a.xlsx\n"
