"""Progress for batch runs.

On a terminal: a rich progress bar with counts (færdige, sprunget over, ugyldige, fejlede) and ETA; a line
is printed above the bar for every file that fails. Not on a terminal (CI, logs, pipes): exactly one plain
line per file, so logs stay readable and greppable.
"""

from __future__ import annotations

import sys
from collections import Counter
from types import TracebackType
from typing import IO

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

__all__ = ["STATUS_LABELS", "BatchProgress"]

# Status codes (pipeline.run.ItemStatus plus batch-only ones) -> Danish display text.
STATUS_LABELS = {
    "ok": "færdig",
    "skipped": "sprunget over",
    "invalid": "ugyldig",
    "failed": "fejlet",
    "ignored": "ignoreret",
}


_COUNT_LABELS = {"ok": "færdige", "skipped": "sprunget over", "invalid": "ugyldige", "failed": "fejlede"}


class BatchProgress:
    """Report the progress of a batch, as a bar on a terminal or as plain lines elsewhere.

    Use as a context manager; call :meth:`item_done` once per file.
    """

    def __init__(
        self,
        total: int,
        *,
        stream: IO[str] | None = None,
        terminal: bool | None = None,
        description: str = "Vurderer intakeark",
        width: int | None = None,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if terminal is None:
            isatty = getattr(self.stream, "isatty", None)
            terminal = bool(isatty and isatty())
        self.terminal = terminal
        self.total = total
        self.done = 0
        self.counts: Counter[str] = Counter()
        self.description = description
        self.width = width
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    # context management ------------------------------------------------------------------
    def __enter__(self) -> BatchProgress:
        if self.terminal:
            console = Console(file=self.stream, force_terminal=True, width=self.width)
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                BarColumn(bar_width=None),
                MofNCompleteColumn(),
                TextColumn("{task.fields[counts]}"),
                TextColumn("rest"),
                TimeRemainingColumn(),
                console=console,
                transient=False,
                expand=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=self.total, counts=self._counts_text())
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    # reporting ---------------------------------------------------------------------------
    def _counts_text(self) -> str:
        """Only the non-zero counts, e.g. '3 færdige · 1 ugyldige' (short enough for 80 columns)."""
        parts = [f"{self.counts[s]} {_COUNT_LABELS[s]}" for s in _COUNT_LABELS if self.counts[s]]
        return " · ".join(parts)

    def item_done(self, name: str, status: str, detail: str | None = None) -> None:
        """One file is finished (``status``: ok, skipped, invalid or failed)."""
        self.done += 1
        self.counts[status] += 1
        label = STATUS_LABELS.get(status, status)
        if self._progress is not None and self._task is not None:
            if status in ("invalid", "failed"):
                text = f"[red]{escape(label)}[/red] {escape(name)}"
                if detail:
                    text += f": {escape(detail)}"
                self._progress.console.print(text, highlight=False, soft_wrap=True)
            self._progress.update(self._task, advance=1, counts=self._counts_text())
            return
        width = len(str(max(self.total, 1)))
        line = f"[{self.done:>{width}}/{self.total}] {label:<13} {name}"
        if detail:
            line += f": {detail}"
        self._write(line)

    def note(self, text: str) -> None:
        """A message that is not about one file's result (e.g. an ignored file)."""
        if self._progress is not None:
            self._progress.console.print(escape(text), highlight=False, soft_wrap=True)
        else:
            self._write(text)

    def _write(self, line: str) -> None:
        self.stream.write(line.replace("\n", " ") + "\n")
        self.stream.flush()
