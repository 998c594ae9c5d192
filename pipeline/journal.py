"""The journal package: everything an ESDH import needs, written safely.

One package per assessment, in its own folder ``<out_dir>/<name>/``::

    <name>.docx            the report; core properties filled from the metadata; checked (no macros,
                           no external links, no live fields except PAGE/NUMPAGES)
    <name>.pdf             optional PDF/A-2b rendition (LibreOffice), fonts embedded
    <name>.metadata.json   OIO Sag/Dokument-mapped metadata (pipeline.metadata)
    <name>.metadata.xml    the same, valid against pipeline/data/schemas/journal-metadata.xsd
    SHA256SUMS             checksums of the files above (``sha256sum -c SHA256SUMS`` checks them)

The folder is built under a hidden temporary name and renamed into place when complete; an existing
package is only replaced with ``force`` (then atomically). An interrupted run leaves no half-written file.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.config import OrgConfig
from pipeline.docxpackage import finalize_docx
from pipeline.errors import ExternalToolError, OutputExistsError
from pipeline.metadata import (
    FileEntry,
    JournalMetadata,
    build_metadata,
    core_properties,
    to_json,
    to_valid_xml,
)
from pipeline.models import Assessment
from pipeline.naming import build_name
from pipeline.pdf import convert_to_pdfa, default_jobs, find_soffice, missing_message
from pipeline.safeio import clean_stale, publish_dir, staged_dir

__all__ = ["SUMS_NAME", "PackageResult", "add_pdf_renditions", "package_name", "write_package"]

SUMS_NAME = "SHA256SUMS"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class PackageResult(BaseModel):
    """What :func:`write_package` wrote."""

    model_config = ConfigDict(extra="forbid")

    name: str
    folder: Path
    docx: Path
    pdf: Path | None = None
    metadata_json: Path
    metadata_xml: Path
    sha256sums: Path
    metadata: JournalMetadata
    warnings: list[str] = Field(default_factory=list)  # Danish; e.g. LibreOffice missing
    pdf_error: str | None = None  # set when a PDF was asked for but not made

    @property
    def paths(self) -> list[Path]:
        files = [self.docx, self.pdf, self.metadata_json, self.metadata_xml, self.sha256sums]
        return [p for p in files if p is not None]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def package_name(meta: JournalMetadata, config: OrgConfig) -> str:
    """The package's base name from the configured pattern."""
    fields: dict[str, Any] = {
        "sagsnummer": meta.sagsnummer,
        "titel": meta.titel,
        "system": meta.vurdering.system_navn,
        "version": meta.version.text,
        "dato": meta.brevdato.isoformat(),
        "myndighed": meta.myndighed.navn,
        "kle": meta.klassifikation.emnenummer,
        "facet": meta.klassifikation.handlingsfacet,
    }
    f = config.filnavne
    return build_name(f.moenster, fields, translit=f.translitterer, max_length=f.maks_laengde)


def _entry(
    name: str, data: bytes, role: Literal["hoveddokument", "rendition"], fmt: str, mime: str
) -> FileEntry:
    return FileEntry(
        filnavn=name, rolle=role, format=fmt, mimetype=mime, sha256=_sha256(data), stoerrelse=len(data)
    )


def _write_sidecars(
    stage: Path, name: str, meta: JournalMetadata, contents: dict[str, bytes], digests: dict[str, str] | None = None
) -> None:
    """metadata.json, metadata.xml (checked against the XSD) and SHA256SUMS into the staging folder.

    ``digests``: SHA-256 already computed from the very bytes in ``contents`` (not computed twice).
    """
    xml, problems = to_valid_xml(meta)
    if problems:  # a bug, not a user error: the model and the schema disagree
        raise RuntimeError("metadata.xml er ikke gyldig efter skemaet: " + "; ".join(problems[:3]))
    files = dict(contents)
    files[f"{name}.metadata.json"] = to_json(meta).encode("utf-8")
    files[f"{name}.metadata.xml"] = xml
    for file_name, data in files.items():
        if file_name not in contents:
            (stage / file_name).write_bytes(data)
    known = digests or {}
    sums = "".join(
        f"{known.get(file_name) or _sha256(data)}  {file_name}\n" for file_name, data in sorted(files.items())
    )
    (stage / SUMS_NAME).write_text(sums, encoding="utf-8")


def _result(folder: Path, name: str, meta: JournalMetadata, pdf: bool, warnings: list[str]) -> PackageResult:
    return PackageResult(
        name=name,
        folder=folder,
        docx=folder / f"{name}.docx",
        pdf=folder / f"{name}.pdf" if pdf else None,
        metadata_json=folder / f"{name}.metadata.json",
        metadata_xml=folder / f"{name}.metadata.xml",
        sha256sums=folder / SUMS_NAME,
        metadata=meta,
        warnings=warnings,
    )


def write_package(
    assessment: Assessment,
    docx: bytes,
    out_dir: Path,
    *,
    config: OrgConfig | None = None,
    pdf: bool = False,
    force: bool = False,
) -> PackageResult:
    """Write the journal package for one assessment to ``out_dir/<name>/``.

    Raises :class:`OutputExistsError` when the package exists and ``force`` is false (before any work),
    :class:`CatalogueError` when the document has macros, external objects or live fields. Without
    LibreOffice a requested PDF is left out: the result's ``pdf_error`` says so in Danish.
    """
    cfg = config or OrgConfig()
    meta = build_metadata(assessment, cfg)
    name = package_name(meta, cfg)
    out_dir = Path(out_dir)
    final = out_dir / name
    if final.exists() and not force:
        raise OutputExistsError(str(final))
    clean_stale(out_dir, name)
    document = finalize_docx(docx, core_properties(meta), source=f"{name}.docx")
    contents = {f"{name}.docx": document}
    warnings: list[str] = []
    pdf_error: str | None = None
    with staged_dir(final) as stage:
        (stage / f"{name}.docx").write_bytes(document)
        entries = [_entry(f"{name}.docx", document, "hoveddokument", "docx", DOCX_MIME)]
        if pdf:
            try:
                made = _convert([stage / f"{name}.docx"], timeout=cfg.output.pdf_timeout)
                pdf_bytes = made[stage / f"{name}.docx"].read_bytes()
                contents[f"{name}.pdf"] = pdf_bytes
                entries.append(_entry(f"{name}.pdf", pdf_bytes, "rendition", "PDF/A-2b", "application/pdf"))
            except ExternalToolError as exc:
                pdf_error = str(exc)
                warnings.append(pdf_error)
        meta = meta.model_copy(update={"filer": entries})
        # the entries' digests were computed from the bytes in contents just above
        _write_sidecars(stage, name, meta, contents, {e.filnavn: e.sha256 for e in entries})
        publish_dir(stage, final, force=force)
    result = _result(final, name, meta, f"{name}.pdf" in contents, warnings)
    result.pdf_error = pdf_error
    return result


def _convert(paths: Sequence[Path], *, timeout: float | None = None) -> dict[Path, Path]:
    if find_soffice() is None:
        raise ExternalToolError(missing_message())
    return convert_to_pdfa(paths, timeout=timeout)


def add_pdf_renditions(
    packages: Sequence[PackageResult], *, timeout: float | None = None, jobs: int | None = None
) -> list[PackageResult]:
    """Add PDF/A renditions to packages already written, with one LibreOffice start for all of them
    (or ``jobs`` LibreOffice processes side by side; default: one per core, at least ~6 documents each).

    For batches: write every package with ``pdf=False``, then call this once. Each package is rebuilt
    (pdf + updated metadata + SHA256SUMS) in a staging folder and swapped in atomically. A package whose
    PDF could not be made keeps its files and gets ``pdf_error``.
    """
    todo = [p for p in packages if p.pdf is None]
    if not todo:
        return list(packages)
    updated: dict[Path, PackageResult] = {}
    with tempfile.TemporaryDirectory(prefix="aivurdering-pdf-") as tmp:
        try:
            made = convert_to_pdfa(
                [p.docx for p in todo], Path(tmp), timeout=timeout, strict=False, jobs=jobs or default_jobs(len(todo))
            )
            error = None
        except ExternalToolError as exc:
            made, error = {}, str(exc)
        for package in todo:
            pdf_path = made.get(package.docx)
            if pdf_path is None:
                msg = error or f"LibreOffice lavede ingen PDF for {package.docx.name}."
                updated[package.folder] = package.model_copy(
                    update={"pdf_error": msg, "warnings": [*package.warnings, msg]}
                )
                continue
            updated[package.folder] = _rebuild_with_pdf(package, pdf_path.read_bytes())
    return [updated.get(p.folder, p) for p in packages]


def _rebuild_with_pdf(package: PackageResult, pdf_bytes: bytes) -> PackageResult:
    name, final = package.name, package.folder
    document = package.docx.read_bytes()
    contents = {f"{name}.docx": document, f"{name}.pdf": pdf_bytes}
    entries = [e for e in package.metadata.filer if e.rolle == "hoveddokument"]
    entries.append(_entry(f"{name}.pdf", pdf_bytes, "rendition", "PDF/A-2b", "application/pdf"))
    meta = package.metadata.model_copy(update={"filer": entries})
    with staged_dir(final) as stage:
        shutil.copyfile(package.docx, stage / f"{name}.docx")
        (stage / f"{name}.pdf").write_bytes(pdf_bytes)
        _write_sidecars(stage, name, meta, contents)
        publish_dir(stage, final, force=True)
    return _result(final, name, meta, True, package.warnings)
