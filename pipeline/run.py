"""The whole chain for one intake workbook: validate -> evaluate -> render -> journal package.

:func:`process_file` is what ``aivurdering render`` and ``aivurdering batch`` call for each file. It
returns an :class:`ItemResult` (status, issues, a compact summary of the conclusions, the paths written)
and, by default, never raises for a problem with one file: the problem is recorded in the result so a
batch can go on. With ``raise_errors=True`` (the single-file CLI) the exception is re-raised so that
:func:`pipeline.errors.exit_code_for` can map it to an exit code.

PDF renditions for many files: run :func:`process_file` with ``pdf=False`` for each file and then call
:func:`pipeline.journal.add_pdf_renditions` once with all the packages; it converts every document in one
LibreOffice process (see :mod:`pipeline.pdf`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.errors import (
    InputFileError,
    IntakeInvalid,
    OutputExistsError,
    PipelineError,
    exit_code_for,
    os_error_message,
)
from pipeline.models import Assessment, Issue

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.config import OrgConfig
    from pipeline.journal import PackageResult

__all__ = ["ItemResult", "ItemSummary", "RunOptions", "file_sha256", "process_file", "summarize"]

ItemStatus = Literal["ok", "invalid", "failed", "skipped"]

_LEVEL_ORDER = {"lav": 0, "middel": 1, "hoej": 2, "kritisk": 3}

# Question ids read for the summary; the first id present wins (see pipeline/data/questions.yaml).
SUMMARY_IDS: dict[str, tuple[str, ...]] = {
    "system_name": ("system_name", "system_navn", "name"),
    "authority": ("authority_name", "authority", "myndighed"),
    "unit": ("authority_unit", "unit", "unit_name", "administration", "forvaltning", "department"),
    "phase": ("phase", "fase"),
    "next_reassessment": ("next_review_date", "next_reassessment_date", "reassessment_date", "review_date"),
}


class RunOptions(BaseModel):
    """Options for one run (shared by every file of a batch)."""

    model_config = ConfigDict(extra="forbid")

    out_dir: Path | None = None  # None: the configuration's output folder, else ./outputs
    pdf: bool | None = None  # None: the configuration decides (pdf = true/false)
    force: bool = False
    template: Path | None = None  # None: the configuration's template, else the bundled one
    criteria_dirs: list[Path] = Field(default_factory=list)
    config: Path | None = None  # aivurdering.toml; None: discovery (./aivurdering.toml, else defaults)
    assessment_date: dt.date | None = None  # None: today
    lang: Literal["da", "en"] | None = None  # None: as evaluated (Danish)
    naming_pattern: str | None = None  # overrides the configuration's [navngivning] pattern


class ItemSummary(BaseModel):
    """The conclusions of one assessment in a few fields (one row of the portfolio overview)."""

    model_config = ConfigDict(extra="forbid")

    system_name: str | None = None
    authority: str | None = None
    unit: str | None = None
    phase: str | None = None
    roles: list[str] = Field(default_factory=list)
    ai_act_class: str | None = None  # Classification.risk_class code, e.g. "højrisiko"
    ai_act_class_label: str | None = None  # "Højrisiko-AI-system"
    ai_act_basis: list[str] = Field(default_factory=list)  # "bilag III, punkt 5, litra a, til AI-forordningen"
    dpia_required: str | None = None  # DpiaTriage.result: påkrævet | anbefalet | ikke_påkrævet | afklaring
    dpia_label: str | None = None  # DpiaTriage.result_label (Danish display text)
    dpia_done: str | None = None  # ja | igang | nej
    fria_required: bool | None = None
    open_actions: int = 0
    highest_residual_risk: str | None = None  # lav | middel | hoej | kritisk
    next_reassessment: dt.date | None = None
    overall_status: str | None = None
    assessment_date: dt.date | None = None


class ItemResult(BaseModel):
    """What happened to one input file."""

    model_config = ConfigDict(extra="forbid")

    input_path: Path
    input_sha256: str | None = None
    status: ItemStatus
    issues: list[Issue] = Field(default_factory=list)
    summary: ItemSummary | None = None
    paths: list[Path] = Field(default_factory=list)  # every file written (docx, pdf, metadata, SHA256SUMS)
    docx_path: Path | None = None
    pdf_path: Path | None = None
    error: str | None = None  # Danish message when status is "failed" (or "invalid")
    exit_code: int = 0  # pipeline.errors exit code for this item (0 when ok/skipped)
    existing_path: str | None = None  # the output that already existed (OutputExistsError.path)
    package: Any = None  # pipeline.journal.PackageResult (for add_pdf_renditions); not serialised
    versions: dict[str, str | None] = Field(default_factory=dict)  # tool/catalogue/template versions


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _first_answer(answers: dict[str, Any], key: str) -> Any:
    for qid in SUMMARY_IDS[key]:
        if qid in answers and answers[qid] not in (None, ""):
            return answers[qid]
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def summarize(assessment: Assessment, config: OrgConfig | None = None) -> ItemSummary:
    """The compact conclusions of one assessment."""
    answers = assessment.intake.answers
    cls = assessment.classification
    residual: list[str] = [r.residual_level for r in assessment.risks]
    highest = max(residual, key=lambda lvl: _LEVEL_ORDER.get(lvl, -1)) if residual else None
    nxt = _first_answer(answers, "next_reassessment")
    authority = _text(_first_answer(answers, "authority")) or (config.myndighed.navn if config else None)
    return ItemSummary(
        system_name=_text(_first_answer(answers, "system_name")),
        authority=authority,
        unit=_text(_first_answer(answers, "unit")),
        phase=_text(_first_answer(answers, "phase")),
        roles=list(cls.roles),
        ai_act_class=cls.risk_class,
        ai_act_class_label=cls.risk_class_label,
        ai_act_basis=[ref.text for ref in cls.high_risk_basis],
        dpia_required=assessment.dpia.result,
        dpia_label=assessment.dpia.result_label,
        dpia_done=assessment.dpia.done,
        fria_required=assessment.fria.required,
        open_actions=len(assessment.actions),
        highest_residual_risk=highest,
        next_reassessment=nxt if isinstance(nxt, dt.date) else None,
        overall_status=assessment.overall_status,
        assessment_date=assessment.assessment_date,
    )


def _resolve(out_dir: Path | RunOptions | None, options: RunOptions | None) -> RunOptions:
    if isinstance(out_dir, RunOptions):
        return out_dir
    opts = options or RunOptions()
    if out_dir is not None:
        opts = opts.model_copy(update={"out_dir": Path(out_dir)})
    return opts


def process_file(
    path: Path,
    out_dir: Path | RunOptions | None = None,
    options: RunOptions | None = None,
    *,
    config: OrgConfig | None = None,
    raise_errors: bool = False,
) -> ItemResult:
    """Run the whole chain for one workbook and write its journal package.

    Accepts ``process_file(path, options)`` and ``process_file(path, out_dir, options)``. A loaded
    ``config`` may be passed to avoid reading ``aivurdering.toml`` for every file of a batch.
    """
    path = Path(path)
    opts = _resolve(out_dir, options)
    result = ItemResult(input_path=path, status="failed")
    try:
        _run(path, opts, result, config)
    except KeyboardInterrupt:
        raise
    except IntakeInvalid as exc:
        result.status = "invalid"
        result.issues = exc.issues or result.issues
        result.error = str(exc)
        result.exit_code = exit_code_for(exc)
        if raise_errors:
            raise
    except PipelineError as exc:
        result.status = "invalid" if isinstance(exc, InputFileError) else "failed"
        result.error = str(exc)
        if isinstance(exc, OutputExistsError):
            result.existing_path = exc.path
        result.exit_code = exit_code_for(exc)
        if raise_errors:
            raise
    except OSError as exc:  # a folder or file the system refuses (no permission, disk full): not a bug
        if raise_errors:
            raise
        result.status = "failed"
        result.error = os_error_message(exc)
        result.exit_code = exit_code_for(exc)
    except Exception as exc:
        if raise_errors:
            raise
        result.status = "failed"
        result.error = f"Intern fejl ({type(exc).__name__}): {exc}"
        result.exit_code = exit_code_for(exc)
    return result


def _run(path: Path, opts: RunOptions, result: ItemResult, config: OrgConfig | None) -> None:
    from pipeline.config import load_config

    cfg = config if config is not None else load_config(opts.config)
    stages = _stages()
    intake = stages["validate_workbook"](path)
    result.input_sha256 = intake.source.sha256
    result.issues = list(intake.issues)
    if not intake.valid:
        result.status = "invalid"
        raise IntakeInvalid(intake.issues, path=str(path))
    criteria = stages["load_criteria"](tuple(opts.criteria_dirs)) if opts.criteria_dirs else None
    assessment = stages["evaluate"](intake, assessment_date=opts.assessment_date, criteria=criteria)
    if opts.lang is not None and opts.lang != assessment.language:
        assessment = assessment.model_copy(update={"language": opts.lang})
    result.summary = summarize(assessment, cfg)
    result.versions = assessment.versions.model_dump()
    template = opts.template or cfg.skabelon
    docx = stages["render_docx"](assessment, template=template)
    package = _write(assessment, docx, opts, cfg)
    result.package = package
    result.paths = list(package.paths)
    result.docx_path = package.docx
    result.pdf_path = package.pdf
    result.status = "ok"
    result.exit_code = 0


def _write(assessment: Assessment, docx: bytes, opts: RunOptions, cfg: OrgConfig) -> PackageResult:
    from pipeline.journal import write_package

    if opts.naming_pattern:
        cfg = cfg.with_naming_pattern(opts.naming_pattern)
    out_dir = opts.out_dir or cfg.output_dir()
    pdf = cfg.pdf if opts.pdf is None else opts.pdf
    return write_package(assessment, docx, out_dir, config=cfg, pdf=pdf, force=opts.force)


def _stages() -> dict[str, Any]:
    """Import the stage functions late, so that this module loads even while a stage is missing."""
    from pipeline.criteria import load_criteria
    from pipeline.evaluate import evaluate
    from pipeline.render import render_docx
    from pipeline.validate import validate_workbook

    return {
        "validate_workbook": validate_workbook,
        "load_criteria": load_criteria,
        "evaluate": evaluate,
        "render_docx": render_docx,
    }
