"""PDF/A-2b renditions through LibreOffice headless.

:func:`convert_to_pdfa` converts a *list* of .docx files with ONE LibreOffice start (``soffice
--convert-to`` with all files on one command line), so a batch pays LibreOffice's start-up once instead of
once per document; ``jobs=N`` splits a large batch over N such processes, one per core. Each run uses its own throw-away user profile (``-env:UserInstallation``), so parallel
runs and a user's open LibreOffice do not interfere, and a timeout stops a hung conversion (the whole
process group is killed). Fonts are embedded (PDF/A requires it; the export is asked for
``SelectPdfVersion=2`` = PDF/A-2b).

Note: PDF/A is a rendition for sending and reading. It is *not* the Danish archival format
(arkiveringsversioner, BEK nr. 128 af 12. februar 2020); the ESDH keeps the .docx.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pipeline.errors import ExternalToolError

__all__ = ["PDF_FILTER", "convert_one", "convert_to_pdfa", "default_jobs", "find_soffice", "missing_message"]

PDF_FILTER = "pdf:writer_pdf_Export:" + json.dumps(
    {
        "SelectPdfVersion": {"type": "long", "value": "2"},  # PDF/A-2b
        "EmbedStandardFonts": {"type": "boolean", "value": "true"},
        "UseTaggedPDF": {"type": "boolean", "value": "true"},
        "ExportBookmarks": {"type": "boolean", "value": "true"},
    },
    separators=(",", ":"),
)
BASE_TIMEOUT = 60.0  # seconds for starting LibreOffice
PER_FILE_TIMEOUT = 30.0


def default_jobs(n_documents: int) -> int:
    """LibreOffice processes for a batch: one per core, but at least ~6 documents per process."""
    return max(1, min(os.cpu_count() or 1, n_documents // 6))


def find_soffice() -> str | None:
    """Path of LibreOffice's ``soffice`` (``AIVURDERING_SOFFICE`` overrides), or None."""
    override = os.environ.get("AIVURDERING_SOFFICE")
    if override:
        return override if Path(override).is_file() else None
    return shutil.which("soffice") or shutil.which("libreoffice")


def missing_message() -> str:
    return (
        "LibreOffice (soffice) blev ikke fundet, så der er ikke lavet en PDF/A-udgave. Word-dokumentet er "
        "skrevet. Installér LibreOffice (fx 'sudo apt-get install libreoffice-writer') og kør igen med --pdf."
    )


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.wait(timeout=10)


def convert_to_pdfa(
    docx_paths: Sequence[Path],
    out_dir: Path | None = None,
    *,
    timeout: float | None = None,
    soffice: str | None = None,
    strict: bool = True,
    jobs: int = 1,
) -> dict[Path, Path]:
    """Convert every .docx in ``docx_paths`` to PDF/A-2b, starting LibreOffice once per chunk.

    With ``jobs=1`` (default) ONE LibreOffice process converts them all; with ``jobs=N`` the list is split
    into N chunks converted by N LibreOffice processes side by side (each with its own profile), e.g. one
    per core for a large batch. Returns ``{docx path: pdf path}``. A PDF goes to ``out_dir`` (default: next
    to its .docx) with the .docx's stem. Inputs are copied under neutral names to a temporary folder first,
    so odd names and equal stems in different folders cannot collide. Raises :class:`ExternalToolError`
    (Danish) when LibreOffice is missing or times out, and (with ``strict``) when a PDF is missing; with
    ``strict=False`` the documents LibreOffice could not convert are simply absent from the result.
    """
    paths = [Path(p) for p in docx_paths]
    if not paths:
        return {}
    exe = soffice or find_soffice()
    if not exe:
        raise ExternalToolError(missing_message())
    jobs = max(1, min(jobs, len(paths)))
    chunks = [paths[i::jobs] for i in range(jobs)]
    result: dict[Path, Path] = {}
    missing: list[str] = []
    details: list[str] = []
    try:
        if jobs == 1:
            outcomes = [_convert_chunk(exe, chunks[0], out_dir, timeout)]
        else:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                outcomes = list(pool.map(lambda c: _convert_chunk(exe, c, out_dir, timeout), chunks))
        for done, lost, detail in outcomes:
            result.update(done)
            missing.extend(lost)
            if detail:
                details.append(detail)
    except BaseException:
        _remove(result.values())
        raise
    if missing and strict:
        _remove(result.values())
        raise ExternalToolError(
            f"LibreOffice lavede ingen PDF for {', '.join(missing)}."
            + (f" Besked: {details[0]}" if details else "")
        )
    return result


def _remove(paths: Iterable[Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()


def _convert_chunk(
    exe: str, paths: list[Path], out_dir: Path | None, timeout: float | None
) -> tuple[dict[Path, Path], list[str], str]:
    """One LibreOffice process for ``paths``: (converted, names not converted, LibreOffice's message)."""
    limit = timeout if timeout is not None else BASE_TIMEOUT + PER_FILE_TIMEOUT * len(paths)
    with tempfile.TemporaryDirectory(prefix="aivurdering-lo-") as tmp:
        work = Path(tmp)
        inbox, outbox, profile = work / "in", work / "out", work / "profile"
        for folder in (inbox, outbox, profile):
            folder.mkdir()
        sources = []
        for i, path in enumerate(paths):
            src = inbox / f"d{i:05d}.docx"
            shutil.copyfile(path, src)
            sources.append(src)
        cmd = [
            exe,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--invisible",
            "--nologo",
            "--nodefault",
            "--nolockcheck",
            "--norestore",
            "--convert-to",
            PDF_FILTER,
            "--outdir",
            str(outbox),
            *[str(s) for s in sources],
        ]
        env = {**os.environ, "HOME": str(work), "SAL_USE_VCLPLUGIN": "svp"}
        try:
            proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True
            )
        except OSError as exc:
            raise ExternalToolError(f"LibreOffice kunne ikke startes ({exc.strerror}).") from exc
        try:
            _out, err = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired as exc:
            _kill(proc)
            raise ExternalToolError(
                f"LibreOffice svarede ikke inden for {int(limit)} sekunder; PDF/A-udgaven er ikke lavet."
            ) from exc
        except BaseException:
            _kill(proc)
            raise
        done: dict[Path, Path] = {}
        missing: list[str] = []
        for path, src in zip(paths, sources, strict=True):
            produced = outbox / f"{src.stem}.pdf"
            if not produced.is_file() or produced.stat().st_size == 0:
                missing.append(path.name)
                continue
            target_dir = Path(out_dir) if out_dir is not None else path.parent
            target_dir.mkdir(parents=True, exist_ok=True)
            target = target_dir / f"{path.stem}.pdf"
            shutil.move(str(produced), str(target))
            done[path] = target
        detail = err.decode("utf-8", "replace").strip()[-300:] if missing else ""
        if missing and proc.returncode:
            detail = f"afslutningskode {proc.returncode}. {detail}".strip()
        return done, missing, detail


def convert_one(docx: Path, out_dir: Path | None = None, *, timeout: float | None = None) -> Path:
    """One document, one LibreOffice start (the naive baseline for the benchmark)."""
    return convert_to_pdfa([docx], out_dir, timeout=timeout)[Path(docx)]
