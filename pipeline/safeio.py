"""Safe writing: nothing half-written is ever left under a final name.

* :func:`atomic_write_bytes` writes one file through a temporary file in the same folder (write, flush,
  fsync, then ``os.replace``/``os.link``); without ``force`` an existing file is never overwritten, and the
  no-clobber check is atomic (``os.link`` fails if the target appeared meanwhile).
* :func:`staged_dir` builds a whole folder (a journal package) under a hidden temporary name next to its
  final place and renames it into place in one step when complete. An interrupted run removes the temporary
  folder (and a later run removes leftovers of a killed one).

Inputs are only ever opened for reading.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pipeline.errors import OutputExistsError, UserError

__all__ = [
    "TMP_MARK",
    "atomic_write_bytes",
    "atomic_write_text",
    "clean_stale",
    "publish_dir",
    "sigterm_as_interrupt",
    "staged_dir",
]

TMP_MARK = ".aivtmp-"  # every temporary name contains this (batch discovery skips such names)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":  # pragma: no cover - directories cannot be opened on Windows
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


_POOL: tuple[int, ThreadPoolExecutor] | None = None


def _pool() -> ThreadPoolExecutor:
    """This process's threads for waiting on the disk (a forked worker cannot use its parent's threads)."""
    global _POOL
    if _POOL is None or _POOL[0] != os.getpid():
        _POOL = (os.getpid(), ThreadPoolExecutor(max_workers=4, thread_name_prefix="aivurdering-fsync"))
    return _POOL[1]


def _fsync_all(files: list[Path], folder: Path) -> None:
    """fsync every file and then-or-meanwhile the folder; returns when all are on disk.

    The calls run side by side in threads: the file system then writes them in one journal commit instead
    of one commit per call (the calls wait for the disk, not the CPU). Each call still completes before
    this returns, so the durability is the same as calling them one after the other.
    """
    pool = _pool()
    calls = [pool.submit(_fsync_file, path) for path in files]
    calls.append(pool.submit(_fsync_dir, folder))
    for call in calls:
        call.result()  # re-raises an OSError from the call


def _remove_tree(folder: Path) -> None:
    """``shutil.rmtree(folder, ignore_errors=True)``, with the files of a flat folder (a package) removed
    side by side: on a busy disk each removal waits for the file system's journal, one after the other
    ~4 ms each, side by side about one wait in all. Like rmtree it never follows a symbolic link: the
    folder is opened without following one and its entries are removed relative to that handle."""
    if not (os.unlink in os.supports_dir_fd and os.scandir in os.supports_fd):  # pragma: no cover - Windows
        shutil.rmtree(folder, ignore_errors=True)
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)  # not a plain folder: rmtree decides
        return
    flat = False
    try:
        with os.scandir(fd) as listing:
            entries = list(listing)
        if not any(e.is_dir(follow_symlinks=False) for e in entries):
            calls = [_pool().submit(os.unlink, e.name, dir_fd=fd) for e in entries]
            for call in calls:
                with contextlib.suppress(OSError):
                    call.result()
            flat = True
    except OSError:
        pass  # rmtree below decides
    finally:
        os.close(fd)
    if flat:
        with contextlib.suppress(OSError):
            os.rmdir(folder)
    else:
        shutil.rmtree(folder, ignore_errors=True)  # subfolders (or unreadable): the plain way


def _file_mode() -> int:
    """The mode a normally created file gets (0666 minus the umask); mkstemp's 0600 would make
    reports unreadable to colleagues and ESDH import services."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _write_temp(folder: Path, name: str, data: bytes) -> Path:
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name[:40]}{TMP_MARK}", suffix=".tmp")
    try:
        if os.name == "posix":
            os.fchmod(fd, _file_mode())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return Path(tmp)


def atomic_write_bytes(path: Path, data: bytes, *, force: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically; refuse to overwrite unless ``force``."""
    path = Path(path)
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{folder}: mappen kan ikke oprettes ({exc.strerror}).") from exc
    if not force and path.exists():
        raise OutputExistsError(str(path))
    try:
        tmp = _write_temp(folder, path.name, data)
    except OSError as exc:  # name the target, not the hidden temporary file
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    try:
        if force:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # atomic no-clobber
            except FileExistsError as exc:
                raise OutputExistsError(str(path)) from exc
            except OSError:  # file systems without hard links
                if path.exists():
                    raise OutputExistsError(str(path)) from None
                os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _fsync_dir(folder)
    return path


def atomic_write_text(path: Path, text: str, *, force: bool = False) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), force=force)


def clean_stale(folder: Path, name: str) -> None:
    """Remove leftovers of an earlier, killed run for the package ``name`` in ``folder``."""
    if not folder.is_dir():
        return
    # the names glob(".{name}.aivtmp-*") matches (package names never hold glob characters, see
    # naming.py; normcase: case-insensitive on Windows, as glob is there), without glob's machinery
    prefix = os.path.normcase(f".{name}{TMP_MARK}")
    with os.scandir(folder) as entries:
        stale = [folder / e.name for e in entries if os.path.normcase(e.name).startswith(prefix)]
    for entry in stale:
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()


@contextlib.contextmanager
def staged_dir(final: Path) -> Iterator[Path]:
    """A hidden temporary folder next to ``final``; removed again if the block fails or is interrupted."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}{TMP_MARK}{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if tmp.exists():  # not published by the block: clean up
        shutil.rmtree(tmp, ignore_errors=True)


def publish_dir(staged: Path, final: Path, *, force: bool = False) -> None:
    """Move a completed staged folder into place. Without ``force`` an existing ``final`` is refused.

    With ``force`` the old folder is first renamed aside, the new one renamed into place, and only then the
    old one deleted: at every moment ``final`` is either the complete old or the complete new package.
    """
    _fsync_all([entry for entry in staged.iterdir() if entry.is_file()], staged)
    if final.exists() or final.is_symlink():
        if not force:
            raise OutputExistsError(str(final))
        if final.is_symlink() or not final.is_dir():
            raise UserError(f"{final} findes allerede og er ikke en mappe; den overskrives ikke.")
        old = final.parent / f".{final.name}{TMP_MARK}old-{uuid.uuid4().hex[:8]}"
        os.replace(final, old)
        try:
            os.replace(staged, final)
        except BaseException:
            os.replace(old, final)
            raise
        # The new package is in place: make that durable while the old one is deleted (both wait for
        # the disk, so side by side they take the time of one). Both are done before this returns.
        synced = _pool().submit(_fsync_dir, final.parent)
        _remove_tree(old)
        synced.result()
        return
    else:
        try:
            os.rename(staged, final)
        except OSError as exc:
            if final.exists():
                raise OutputExistsError(str(final)) from exc
            raise
    _fsync_dir(final.parent)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Inside the block SIGTERM raises KeyboardInterrupt, so cleanup code runs as for Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
