"""Many intake workbooks at once: discovery, worker processes, resume, batch report and overview.

:func:`run_batch` finds every ``*.xlsx`` under a folder and runs :func:`pipeline.run.process_file` for each
in worker processes (``concurrent.futures.ProcessPoolExecutor``; each worker warms its caches once: the
configuration, both catalogues and the prepared Word template).

* **Isolation.** A broken workbook is a failed *item*, never a failed batch. A worker that dies (a crash in
  a library, out of memory) breaks the pool; the files that were in flight are then re-run one at a time, so
  the file that kills a worker is reported as such and every other file still gets its report.
* **Interrupt.** The first Ctrl-C/SIGTERM stops handing out files and lets the files in progress finish
  (their packages are written atomically by :mod:`pipeline.journal`); a second one stops the workers at once.
  Either way no half-written file is left under a final name, and the state is saved.
* **Resume.** A state file in the output folder (``.aivurdering-batch.json``, written atomically) records,
  per input, its SHA-256, a fingerprint of the tool/catalogue/template versions and options, and the files
  written. A re-run skips an input when all three are unchanged and the files still exist (unless
  ``force``). Packages that the batch itself wrote for an input are replaced when that input changed;
  files it did not write are never overwritten without ``force``.
* **PDF.** With ``pdf`` the documents of the whole batch are converted at the end by warm LibreOffice
  processes (:func:`pipeline.journal.add_pdf_renditions`): one process per worker slot, each converting
  its share of the documents in one run, never one ``soffice`` start per file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import __version__
from pipeline.errors import (
    EXIT_EXTERNAL,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_OUTPUT_EXISTS,
    UserError,
    exit_code_for,
)
from pipeline.overview import (
    OVERVIEW_NAME,
    REPORT_JSON_NAME,
    REPORT_XLSX_NAME,
    STATE_NAME,
    collect_rows,
    write_batch_report,
    write_overview,
)
from pipeline.progress import BatchProgress
from pipeline.run import ItemResult, RunOptions, file_sha256
from pipeline.safeio import TMP_MARK, atomic_write_bytes

__all__ = [
    "STATE_NAME",
    "BatchResult",
    "BatchState",
    "Discovery",
    "ProcessFn",
    "current_versions",
    "default_jobs",
    "discover",
    "run_batch",
]

STATE_VERSION = 1
# Workers are forked from a warm fork server where the platform has one (Linux, macOS), else spawned.
_START_METHOD = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
_STATE_SAVE_INTERVAL = 1.0  # seconds between state saves while a batch runs (and always at the end)

# process(path, options, config) -> ItemResult; runs in a worker process (must be picklable: module-level).
ProcessFn = Callable[[Path, RunOptions, Any], ItemResult]

_NOT_INTAKE = {
    ".xls": "gammelt Excel-format (.xls); gem arket som .xlsx-projektmappe",
    ".xlsm": "projektmappe med makroer (.xlsm) behandles ikke; gem arket som .xlsx uden makroer",
    ".xlsb": "binær Excel-projektmappe (.xlsb); gem arket som .xlsx",
    ".ods": "OpenDocument-regneark (.ods); gem arket som .xlsx",
    ".csv": "CSV-fil; intakearket skal være en .xlsx-projektmappe",
}
_ANSWER_FILES = (".yaml", ".yml", ".json")
_CRASH_MESSAGE = (
    "Arbejdsprocessen stoppede uventet under behandlingen af filen (fx for lidt hukommelse eller et "
    "nedbrud i et bibliotek). De øvrige filer er behandlet. Prøv filen alene med 'aivurdering render'."
)


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------------------------
# Discovery
# --------------------------------------------------------------------------------------------


@dataclass
class Discovery:
    """What a batch folder holds: the workbooks to process and the files ignored (with the reason)."""

    workbooks: list[Path] = field(default_factory=list)
    ignored: list[tuple[Path, str]] = field(default_factory=list)


def _ignore_reason(path: Path) -> str | None:
    """None for an intake candidate, else the (Danish) reason the file is ignored."""
    name = path.name
    if name.startswith("~$"):
        return "Office-låsefil (arket er åbent i Excel); ignoreret"
    if name.startswith(".~lock.") and name.endswith("#"):
        return "LibreOffice-låsefil (arket er åbent i LibreOffice); ignoreret"
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return None
    return _NOT_INTAKE.get(suffix, "ikke en Excel-projektmappe (.xlsx); ignoreret")


def discover(root: Path, *, exclude: Sequence[Path] = ()) -> Discovery:
    """Find intake workbooks under ``root`` (recursively, sorted; symlinked folders are not followed).

    Hidden files and folders, temporary files of an interrupted run, the folders in ``exclude`` (the
    output folder), the output folders of earlier batches and answer files beside the workbook made from
    them (``x.yaml`` next to ``x.xlsx``) are skipped silently; lock files and other non-workbooks are
    returned in ``ignored`` with a note.
    """
    root = Path(root)
    if root.is_file():
        reason = _ignore_reason(root)
        return Discovery(workbooks=[root]) if reason is None else Discovery(ignored=[(root, reason)])
    if not root.is_dir():
        raise UserError(f"{root}: mappen findes ikke.")
    excluded = {p.resolve() for p in exclude}
    found = Discovery()
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        keep = []
        for d in sorted(dirs):
            sub = here / d
            if d.startswith(".") or TMP_MARK in d or sub.resolve() in excluded:
                continue
            if (sub / STATE_NAME).is_file() or (sub / "SHA256SUMS").is_file():
                continue  # the output folder of a batch, or a journal package
            keep.append(d)
        dirs[:] = keep
        batch_out = (here / STATE_NAME).is_file()
        stems = {Path(n).stem for n in files if n.lower().endswith(".xlsx")}
        for name in sorted(files):
            path = here / name
            lock = name.startswith(".~lock.") and name.endswith("#")
            if (name.startswith(".") and not lock) or TMP_MARK in name:
                continue
            if batch_out and name in (OVERVIEW_NAME, REPORT_XLSX_NAME, REPORT_JSON_NAME):
                continue
            if path.suffix.lower() in _ANSWER_FILES and path.stem in stems:
                continue  # the answer file a workbook was filled from (aivurdering fill)
            reason = _ignore_reason(path)
            if reason is None:
                found.workbooks.append(path)
            elif batch_out and path.suffix.lower() in (".docx", ".pdf", ".json", ".xml", ""):
                continue  # our own packages when the output folder is the input folder
            else:
                found.ignored.append((path, reason))
    return found


# --------------------------------------------------------------------------------------------
# Versions and state
# --------------------------------------------------------------------------------------------


def _sha_file(path: Path | None) -> str | None:
    if path is None or not Path(path).is_file():
        return None
    return file_sha256(Path(path))


def current_versions(options: RunOptions, config: Any) -> dict[str, Any]:
    """What a report depends on besides its input: tool, catalogues, template, configuration, options.

    Raises the catalogue's :class:`pipeline.errors.CatalogueError` when a catalogue is broken, so a
    batch with a broken catalogue stops before any file is processed.
    """
    from pipeline.criteria import load_criteria
    from pipeline.questions import load_questions

    qc = load_questions()
    cc = load_criteria(tuple(options.criteria_dirs))
    from pipeline.render import default_template

    template = options.template or getattr(config, "skabelon", None) or default_template()
    cfg_dump = config.model_dump_json() if hasattr(config, "model_dump_json") else repr(config)
    return {
        "tool": __version__,
        "question_catalogue": f"{qc.version}:{qc.sha256}",
        "criteria_catalogue": f"{cc.version}:{cc.sha256}",
        "template": _sha_file(template),
        "config": hashlib.sha256(cfg_dump.encode("utf-8")).hexdigest(),
        "pdf": bool(options.pdf),
        "lang": options.lang,
        "naming_pattern": options.naming_pattern,
        "assessment_date": options.assessment_date.isoformat() if options.assessment_date else None,
    }


def fingerprint(versions: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(versions, sort_keys=True, default=str).encode("utf-8")).hexdigest()


class BatchState:
    """The resume record kept in the output folder (``.aivurdering-batch.json``)."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / STATE_NAME
        self.entries: dict[str, dict[str, Any]] = {}
        self.note: str | None = None
        self._dirty = False
        self._saved_at = 0.0

    @classmethod
    def load(cls, out_dir: Path) -> BatchState:
        state = cls(out_dir)
        if not state.path.is_file():
            return state
        try:
            data = json.loads(state.path.read_text(encoding="utf-8"))
            if data.get("version") != STATE_VERSION or not isinstance(data.get("entries"), dict):
                raise ValueError("unknown version")
            state.entries = data["entries"]
        except (OSError, ValueError, AttributeError):
            state.note = f"{state.path}: tilstandsfilen kunne ikke læses; alle filer behandles igen."
        return state

    def _abs(self, rel: str) -> Path:
        return self.out_dir / rel

    def is_current(self, key: str, sha256: str, fp: str) -> bool:
        entry = self.entries.get(key)
        if not entry or not entry.get("complete"):
            return False
        if entry.get("sha256") != sha256 or entry.get("fingerprint") != fp:
            return False
        return all(self._abs(p).exists() for p in entry.get("paths", []))

    def owns_outputs(self, key: str) -> bool:
        """Whether this batch wrote outputs for ``key`` before (so it may replace them)."""
        return bool(self.entries.get(key, {}).get("paths"))

    @functools.cached_property
    def _root(self) -> Path:
        return self.out_dir.resolve()

    def _rel(self, path: Path | None, folders: dict[Path, Path]) -> str | None:
        """``path`` relative to the output folder. ``folders`` remembers resolved folders within one record:
        a package's files share one folder, and resolving (one lstat per path component) is the parent's
        main cost per file in a large batch. The files themselves were just written as regular files."""
        if path is None:
            return None
        path = Path(path)
        if path.parent not in folders:
            folders[path.parent] = path.parent.resolve()
        try:
            return Path(os.path.relpath(folders[path.parent] / path.name, self._root)).as_posix()
        except ValueError:  # pragma: no cover - another drive on Windows
            return str(path)

    def record(self, key: str, result: ItemResult, fp: str, *, complete: bool = True) -> None:
        folders: dict[Path, Path] = {}
        self.entries[key] = {
            "sha256": result.input_sha256,
            "fingerprint": fp,
            "complete": complete,
            "paths": [self._rel(p, folders) for p in result.paths],
            "docx": self._rel(result.docx_path, folders),
            "pdf": self._rel(result.pdf_path, folders),
            "summary": result.summary.model_dump(mode="json") if result.summary else None,
            "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        self._dirty = True

    def entry(self, key: str) -> dict[str, Any]:
        return self.entries.get(key, {})

    def save(self, *, throttle: bool = False) -> None:
        if not self._dirty:
            return
        now = time.monotonic()
        if throttle and now - self._saved_at < _STATE_SAVE_INTERVAL:
            return
        data = {"version": STATE_VERSION, "tool": __version__, "entries": self.entries}
        text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)
        atomic_write_bytes(self.path, text.encode("utf-8"), force=True)
        self._dirty = False
        self._saved_at = now


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass
class BatchItem:
    """One input of a batch and what happened to it."""

    key: str  # path relative to the batch folder (posix)
    path: Path
    status: str  # ok | skipped | invalid | failed | interrupted
    result: ItemResult | None = None
    note: str | None = None
    worker_pid: int | None = None
    worker_max_rss_kb: int | None = None
    seconds: float | None = None


@dataclass
class BatchResult:
    """The outcome of :func:`run_batch`."""

    root: Path
    out_dir: Path
    items: list[BatchItem] = field(default_factory=list)
    ignored: list[tuple[Path, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False
    pdf_error: str | None = None
    pdf_exit_code: int = 0
    report_paths: list[Path] = field(default_factory=list)
    overview_path: Path | None = None
    jobs: int = 1
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for i in self.items if i.status == status)

    @property
    def exit_code(self) -> int:
        """0 all good; 1 some inputs invalid; another code of pipeline.errors for other failures."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        codes = {i.result.exit_code for i in self.items if i.result is not None and i.status != "ok"}
        codes |= {EXIT_INTERNAL for i in self.items if i.result is None and i.status == "failed"}
        if self.pdf_exit_code:
            codes.add(self.pdf_exit_code)
        codes.discard(EXIT_OK)
        others = codes - {EXIT_INVALID}
        if others:  # the most serious: internal > catalogue > external > output exists
            for code in (EXIT_INTERNAL, 3, 5, 4):
                if code in others:
                    return code
            return max(others)
        return EXIT_INVALID if codes else EXIT_OK


# --------------------------------------------------------------------------------------------
# Worker side
# --------------------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _real_process(path: Path, options: RunOptions, config: Any) -> ItemResult:
    from pipeline.run import process_file

    return process_file(path, options, config=config)


def _warm(options: RunOptions) -> Any:
    """Load what every file needs once per worker: configuration, catalogues, prepared template."""
    from pipeline.config import load_config

    config = load_config(options.config)
    with contextlib.suppress(Exception):
        from pipeline.questions import load_questions

        load_questions()
    with contextlib.suppress(Exception):
        from pipeline.criteria import load_criteria

        load_criteria(tuple(options.criteria_dirs))
    with contextlib.suppress(Exception):
        from pipeline.render import prepare_template

        prepare_template(options.template or config.skabelon)
    return config


def _init_worker(process: ProcessFn | None, options: RunOptions) -> None:
    # The parent coordinates interrupts: a worker gets its own process group, so Ctrl-C in a terminal or a
    # SIGTERM to the batch's process group reaches only the parent, which lets the files in hand finish
    # and then shuts the workers down. (SIGTERM keeps its default, so a broken pool can still stop them.)
    if hasattr(os, "setpgid"):
        with contextlib.suppress(OSError):
            os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER["process"] = process or _real_process
    config = None
    if process is None:
        try:
            config = _warm(options)
        except Exception as exc:  # reported per file by process_file; never break the pool here
            _WORKER["warm_error"] = exc
    _WORKER["config"] = config


@dataclass
class _Task:
    key: str
    path: Path
    options: RunOptions


@dataclass
class _Reply:
    result: ItemResult
    pid: int
    max_rss_kb: int
    seconds: float


def _max_rss_kb() -> int:
    """Peak resident memory of this process in kB (0 where the platform cannot tell)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return 0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss // 1024 if sys.platform == "darwin" else rss)  # bytes on macOS, kB on Linux


def _work(task: _Task) -> _Reply:
    start = time.perf_counter()
    result = _WORKER["process"](task.path, task.options, _WORKER.get("config"))
    rss = _max_rss_kb()
    return _Reply(result=result, pid=os.getpid(), max_rss_kb=int(rss), seconds=time.perf_counter() - start)


# --------------------------------------------------------------------------------------------
# The pool (parent side)
# --------------------------------------------------------------------------------------------


class _Stop:
    """Signal handling in the parent: the first Ctrl-C/SIGTERM asks to stop, the second stops at once."""

    def __init__(self) -> None:
        self.requested = False
        self.announced = False
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _Stop:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True


def _start_forkserver() -> None:
    """Start the fork server with SIGTERM and SIGINT ignored (inherited), so a signal to the whole process
    group cannot kill it under the workers; the parent still receives the signal and stops cleanly."""
    if _START_METHOD != "forkserver":  # pragma: no cover - Windows
        return
    from multiprocessing import forkserver

    with contextlib.suppress(Exception):
        mp.get_context("forkserver").set_forkserver_preload(["pipeline.batch_warm"])
    if threading.current_thread() is not threading.main_thread():
        return
    # SIGINT too: the fork server only starts ignoring Ctrl-C after its preload (``batch_warm``, about
    # a second), so a Ctrl-C to the process group during that second killed it and the batch ended
    # with an internal error (EOFError) instead of stopping cleanly. SIG_IGN survives the exec.
    old = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        forkserver.ensure_running()
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _crash_result(task: _Task) -> ItemResult:
    return ItemResult(input_path=task.path, status="failed", error=_CRASH_MESSAGE, exit_code=EXIT_INTERNAL)


class _Pool:
    """Run tasks in worker processes with a bounded number in flight; isolate crashing files."""

    def __init__(self, jobs: int, process: ProcessFn | None, options: RunOptions, stop: _Stop,
                 on_stop: Callable[[int], None] = lambda n: None) -> None:
        self.on_stop = on_stop
        self.started = time.time()
        self.jobs = jobs
        self.process = process
        self.options = options
        self.stop = stop
        self.ctx = mp.get_context(_START_METHOD)
        _start_forkserver()

    def _executor(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=workers, mp_context=self.ctx, initializer=_init_worker,
            initargs=(self.process, self.options),
        )

    def run(self, tasks: Sequence[_Task]) -> Iterator[tuple[_Task, _Reply | None]]:
        """Yield ``(task, reply)`` as files finish; ``reply`` is None for a file that crashed its worker."""
        pending = deque(tasks)
        suspects: list[_Task] = []
        while pending and not self.stop.requested:
            yield from self._round(pending, suspects, self.jobs)
            while suspects and not self.stop.requested:  # re-run alone: find the file that kills workers
                yield from self._isolate(suspects.pop(0))

    def _round(self, pending: deque[_Task], suspects: list[_Task], workers: int) -> Iterator[tuple[_Task, _Reply]]:
        executor = self._executor(workers)
        inflight: dict[Future[_Reply], _Task] = {}
        broken = False
        try:
            while inflight or (pending and not broken and not self.stop.requested):
                while pending and not broken and not self.stop.requested and len(inflight) < 2 * workers:
                    task = pending.popleft()
                    try:
                        inflight[executor.submit(_work, task)] = task
                    except BrokenProcessPool:
                        pending.appendleft(task)
                        broken = True
                if self.stop.requested:
                    if not self.stop.announced:
                        self.stop.announced = True
                        self.on_stop(len(inflight))
                    for fut in list(inflight):
                        if fut.cancel():
                            pending.appendleft(inflight.pop(fut))
                if not inflight:
                    break
                done, _ = wait(inflight, timeout=0.2, return_when=FIRST_COMPLETED)
                for fut in done:
                    task = inflight.pop(fut)
                    try:
                        reply = fut.result()
                    except BrokenProcessPool:
                        suspects.append(task)
                        broken = True
                    except Exception as exc:  # e.g. a result that cannot be sent back
                        yield task, _Reply(_failed(task, exc), 0, 0, 0.0)
                    else:
                        yield task, reply
        except KeyboardInterrupt:  # second signal: stop the workers at once
            _kill_workers(executor)
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        executor.shutdown(wait=True, cancel_futures=True)

    def _isolate(self, task: _Task) -> Iterator[tuple[_Task, _Reply | None]]:
        reply = self._run_alone(task)
        if reply is not None and _written_by_this_batch(reply.result, self.started) and not task.options.force:
            # The first attempt finished and published its package, but its result was lost when another
            # worker crashed: the package is this batch's own, so it may be replaced.
            forced = _Task(task.key, task.path, task.options.model_copy(update={"force": True}))
            reply = self._run_alone(forced)
        yield task, reply

    def _run_alone(self, task: _Task) -> _Reply | None:
        executor = self._executor(1)
        try:
            future = executor.submit(_work, task)
            while not wait([future], timeout=0.2)[0]:
                pass
            try:
                reply: _Reply | None = future.result()
            except BrokenProcessPool:
                reply = None
            except Exception as exc:
                reply = _Reply(_failed(task, exc), 0, 0, 0.0)
        except KeyboardInterrupt:
            _kill_workers(executor)
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        executor.shutdown(wait=True)
        return reply


def _written_by_this_batch(result: ItemResult, started: float) -> bool:
    """Whether ``result`` failed only because a package written since ``started`` exists."""
    if result.exit_code != EXIT_OUTPUT_EXISTS or not result.existing_path:
        return False
    target = Path(result.existing_path)
    try:
        return target.stat().st_mtime >= started - 1.0
    except OSError:
        return False


def _failed(task: _Task, exc: BaseException) -> ItemResult:
    return ItemResult(
        input_path=task.path, status="failed", exit_code=exit_code_for(exc),
        error=f"Intern fejl ({type(exc).__name__}): {exc}",
    )


def _kill_workers(executor: ProcessPoolExecutor) -> None:
    processes = getattr(executor, "_processes", None) or {}
    for proc in list(processes.values()):
        with contextlib.suppress(Exception):
            proc.kill()


# --------------------------------------------------------------------------------------------
# run_batch
# --------------------------------------------------------------------------------------------


def _key(path: Path, root: Path) -> str:
    if root.is_file():
        return path.name
    return path.relative_to(root).as_posix()


def _resolve_out_dir(options: RunOptions, config: Any) -> Path:
    if options.out_dir is not None:
        return Path(options.out_dir)
    return Path(config.output_dir()) if config is not None else Path("outputs")


def run_batch(
    root: Path,
    options: RunOptions,
    jobs: int | None = None,
    *,
    progress: BatchProgress | None = None,
    process: ProcessFn | None = None,
    versions: dict[str, Any] | None = None,
    write_reports: bool = True,
) -> BatchResult:
    """Assess every intake workbook under ``root``; see the module docstring.

    Args:
        root: the folder (searched recursively) or a single workbook.
        options: shared run options; ``out_dir`` is the batch output folder (sub-folders of ``root`` are
            mirrored under it), ``force`` re-runs every file and overwrites, ``pdf`` adds PDF/A renditions
            for the whole batch at the end.
        jobs: worker processes (default: the number of cores).
        progress: where progress is reported (default: stderr, a bar on a terminal).
        process: the per-file function run in the workers (tests inject one); default
            :func:`pipeline.run.process_file` with warmed caches.
        versions: the tool/catalogue/template versions for the resume check (default: loaded now).
        write_reports: write ``batch-rapport.xlsx``/``.json`` and ``oversigt.xlsx``.
    """
    started = time.perf_counter()
    root = Path(root)
    if process is None:
        _start_forkserver()  # warms the caches in parallel with the version check below
    config = None
    if process is None or options.out_dir is None or versions is None:
        from pipeline.config import load_config

        config = load_config(options.config)
    out_dir = _resolve_out_dir(options, config)
    if options.pdf is None:
        options = options.model_copy(update={"pdf": bool(getattr(config, "pdf", False))})
    if versions is None:
        versions = current_versions(options, config)
    fp = fingerprint(versions)
    found = discover(root, exclude=[out_dir])
    result = BatchResult(root=root, out_dir=out_dir, ignored=found.ignored)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".{TMP_MARK}probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"{out_dir}: udmappen kan ikke skrives ({exc.strerror}).",
                        hint="Vælg en anden mappe med -o.") from exc
    state = BatchState.load(out_dir)
    if state.note:
        result.notes.append(state.note)
    prog = progress or BatchProgress(len(found.workbooks))
    prog.total = len(found.workbooks)
    tasks: list[_Task] = []
    items: dict[str, BatchItem] = {}

    def on_stop(n: int) -> None:
        prog.note(f"Afbryder: venter på {n} fil(er), der er i gang; tryk Ctrl-C igen for at stoppe straks.")

    with prog, _Stop() as stop:
        try:
            for path, reason in found.ignored:
                prog.note(f"{_key(path, root) if not root.is_file() else path.name}: {reason}")
            tasks = _plan(found.workbooks, root, out_dir, options, state, fp, result, prog)
            result.jobs = max(1, min(jobs or default_jobs(), len(tasks) or 1))
            written: dict[Path, str] = {}
            for task, reply in _Pool(result.jobs, process, options, stop, on_stop).run(tasks):
                items[task.key] = _take(task, reply, state, fp, prog, complete=not options.pdf,
                                        written=written)
                state.save(throttle=True)
            if options.pdf and not stop.requested:
                result.items.extend(items[t.key] for t in tasks if t.key in items)
                _add_pdfs(result, state, fp, prog)
        except KeyboardInterrupt:
            stop.requested = True
        finally:
            state.save()
        result.interrupted = stop.requested
        done = {id(i) for i in result.items}
        for task in tasks:
            item = items.get(task.key) or BatchItem(task.key, task.path, "interrupted",
                                                    note="Ikke behandlet: kørslen blev afbrudt.")
            if id(item) not in done:
                result.items.append(item)
    _check_collisions(result, state)
    result.items.sort(key=lambda i: i.key)
    result.seconds = time.perf_counter() - started
    if write_reports:
        _write_reports(result, state)
    return result


def _check_collisions(result: BatchResult, state: BatchState | None = None) -> None:
    """Two inputs of one batch that give the same package (same case number, title and version)."""
    owner: dict[Path, str] = {}
    for item in sorted(result.items, key=lambda i: i.key):
        res = item.result
        if res is None:
            # unchanged since the last run: its package is still its own
            if state is not None and item.status == "skipped" and (docx := state.entry(item.key).get("docx")):
                owner.setdefault(state._abs(docx).parent.resolve(), item.key)
            continue
        if res.status == "ok" and res.docx_path is not None:
            folder = res.docx_path.parent.resolve()
            if folder in owner:
                item.note = (f"Samme pakke som {owner[folder]}: de to intakeark har samme sagsnummer, titel og "
                             "version, så den ene rapport er overskrevet. Ret et af arkene.")
                result.notes.append(f"{item.key}: {item.note}")
            owner.setdefault(folder, item.key)
    for item in result.items:
        res = item.result
        if res is None or res.exit_code != EXIT_OUTPUT_EXISTS or not res.existing_path:
            continue
        target = Path(res.existing_path).resolve()
        if target in owner and owner[target] != item.key:
            _mark_duplicate(item, res, target, owner[target])


def _mark_duplicate(item: BatchItem, res: ItemResult, target: Path, owner: str) -> None:
    """An input whose package another input of the same batch has written: invalid input, not a failure."""
    res.error = (f"Pakken {target.name} er allerede skrevet for {owner}: de to "
                 "intakeark har samme sagsnummer, titel og version. Ret et af arkene.")
    res.exit_code = EXIT_INVALID
    res.status = "invalid"
    item.status = "invalid"


def _plan(
    workbooks: list[Path], root: Path, out_dir: Path, options: RunOptions, state: BatchState, fp: str,
    result: BatchResult, prog: BatchProgress,
) -> list[_Task]:
    """Decide per workbook: skip (unchanged) or run; returns the tasks to run."""
    tasks: list[_Task] = []
    for path in workbooks:
        key = _key(path, root)
        try:
            sha = file_sha256(path)
        except OSError as exc:
            res = ItemResult(input_path=path, status="failed", exit_code=EXIT_INVALID,
                             error=f"{path}: filen kan ikke læses ({exc.strerror}).")
            result.items.append(BatchItem(key, path, "failed", res))
            prog.item_done(key, "failed", res.error)
            continue
        if not options.force and state.is_current(key, sha, fp):
            result.items.append(BatchItem(key, path, "skipped", note="Uændret siden sidste kørsel."))
            prog.item_done(key, "skipped", "uændret siden sidste kørsel")
            continue
        sub = Path(key).parent if not root.is_file() else Path()
        force = options.force or state.owns_outputs(key)
        item_opts = options.model_copy(update={"out_dir": out_dir / sub, "force": force, "pdf": False})
        tasks.append(_Task(key, path, item_opts))
    return tasks


def _take(task: _Task, reply: _Reply | None, state: BatchState, fp: str, prog: BatchProgress,
          *, complete: bool, written: dict[Path, str]) -> BatchItem:
    """Record one finished file (state, progress) and return its batch item.

    ``written`` maps the package folders written so far in this run to their input, so that an input whose
    package another input has just written is shown as invalid at once (as the summary will say)."""
    if reply is None:
        res = _crash_result(task)
        item = BatchItem(task.key, task.path, "failed", res)
    else:
        res = reply.result
        item = BatchItem(task.key, task.path, res.status, res, worker_pid=reply.pid,
                         worker_max_rss_kb=reply.max_rss_kb, seconds=reply.seconds)
    if res.status == "ok":
        state.record(task.key, res, fp, complete=complete)
        detail = res.docx_path.name if res.docx_path else None
        if res.docx_path is not None:
            written.setdefault(res.docx_path.parent.resolve(), task.key)
    else:
        if res.exit_code == EXIT_OUTPUT_EXISTS and res.existing_path:
            target = Path(res.existing_path).resolve()
            if written.get(target, task.key) != task.key:
                _mark_duplicate(item, res, target, written[target])
        detail = _first_line(strip_path(res.error, task.path))
    prog.item_done(task.key, item.status, detail)
    return item


def strip_path(message: str | None, path: Path) -> str | None:
    """A message without its leading ``<path>: `` (the batch names the file already)."""
    if not message:
        return message
    for prefix in (f"{path}: ", f"{path.resolve()}: "):
        if message.startswith(prefix):
            return message[len(prefix):]
    return message


def _first_line(text: str | None) -> str | None:
    return text.splitlines()[0] if text else None


def _add_pdfs(result: BatchResult, state: BatchState, fp: str, prog: BatchProgress) -> None:
    """PDF/A renditions for every document of this run: one warm LibreOffice process per worker slot
    (``jobs``), each converting its share of the documents in a single run."""
    done = [i for i in result.items if i.status == "ok" and i.result is not None and i.result.package]
    if not done:
        return
    from pipeline.journal import add_pdf_renditions

    lanes = max(1, min(result.jobs, len(done)))
    shares = [done[k::lanes] for k in range(lanes)]
    runs = "én kørsel" if lanes == 1 else f"{lanes} samtidige kørsler"
    prog.note(f"Laver PDF/A-udgaver af {len(done)} dokument(er) med LibreOffice ({runs}) …")
    with ThreadPoolExecutor(max_workers=lanes) as pool:  # the work is in the LibreOffice processes
        converted = list(pool.map(lambda share: add_pdf_renditions([i.result.package for i in share]), shares))
    errors = []
    pairs = [(item, pkg) for share, pkgs in zip(shares, converted, strict=True)
             for item, pkg in zip(share, pkgs, strict=True)]
    for item, pkg in pairs:
        res = item.result
        assert res is not None
        res.package = pkg
        res.pdf_path = pkg.pdf
        res.paths = list(pkg.paths)
        state.record(item.key, res, fp, complete=pkg.pdf is not None)
        if pkg.pdf is None:
            item.note = pkg.pdf_error or "PDF/A-udgaven blev ikke lavet."
            errors.append(item.note)
    if errors:
        result.pdf_error = errors[0]
        result.pdf_exit_code = EXIT_EXTERNAL
        result.notes.append(
            f"PDF/A blev ikke lavet for {len(errors)} dokument(er): {errors[0]} Word-dokumenterne er skrevet; "
            "kør batchen igen med --pdf, når fejlen er rettet."
        )


# --------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------


def report_dict(result: BatchResult, state: BatchState | None = None) -> dict[str, Any]:
    """The batch report as JSON-ready data (``batch-rapport.json``)."""
    items = []
    state = state or BatchState.load(result.out_dir)
    for item in result.items:
        res = item.result
        rec: dict[str, Any] = {"input": item.key, "status": item.status}
        if res is not None:
            rec["error"] = res.error
            rec["exit_code"] = res.exit_code
            rec["issues"] = [i.model_dump(mode="json", exclude_none=True) for i in res.issues]
            rec["summary"] = res.summary.model_dump(mode="json") if res.summary else None
            rec["paths"] = [str(p) for p in res.paths]
        else:
            entry = state.entry(item.key)
            rec["note"] = item.note
            rec["summary"] = entry.get("summary")
            rec["paths"] = [str(result.out_dir / p) for p in entry.get("paths", [])]
        if item.note and "note" not in rec:
            rec["note"] = item.note
        items.append(rec)
    return {
        "tool_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "root": str(result.root),
        "out_dir": str(result.out_dir),
        "jobs": result.jobs,
        "seconds": round(result.seconds, 3),
        "interrupted": result.interrupted,
        "exit_code": result.exit_code,
        "counts": {s: result.count(s) for s in ("ok", "skipped", "invalid", "failed", "interrupted")},
        "ignored": [{"path": str(p), "reason": r} for p, r in result.ignored],
        "notes": result.notes + ([f"PDF: {result.pdf_error}"] if result.pdf_error else []),
        "items": items,
    }


def _write_reports(result: BatchResult, state: BatchState) -> None:
    json_path, xlsx_path = write_batch_report(report_dict(result, state), result.out_dir)
    result.report_paths = [xlsx_path, json_path]
    try:
        rows = collect_rows(result.out_dir)
    except UserError:
        rows = []
    result.overview_path = write_overview(rows, result.out_dir / OVERVIEW_NAME)
