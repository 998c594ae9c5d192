"""CLI commands for the assessment: evaluate and explain (thin wrappers over pipeline.evaluate)."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import click

from pipeline.cli._params import DateType
from pipeline.errors import IntakeInvalid, UserError
from pipeline.labels import STATUS_LABELS
from pipeline.models import Assessment
from pipeline.textfmt import number_da

_STATUS_DA = STATUS_LABELS
_OVERALL_DA = {
    "forbudt": "Forbudt: må ikke købes eller bruges",
    "ikke_klar": "Ikke klar til brug",
    "klar_med_forbehold": "Klar med forbehold",
    "klar": "Klar",
}


def _assess(path: Path, criteria_dirs: tuple[Path, ...], on: dt.date | None) -> tuple[Assessment, float]:
    from pipeline.criteria import load_criteria
    from pipeline.evaluate import evaluate
    from pipeline.validate import validate_workbook

    intake = validate_workbook(path)
    if not intake.valid:
        raise IntakeInvalid(intake.issues, path=str(path))
    catalogue = load_criteria(criteria_dirs)
    start = time.perf_counter()
    assessment = evaluate(intake, assessment_date=on, criteria=catalogue)
    return assessment, (time.perf_counter() - start) * 1000


_criteria_option = click.option(
    "--criteria", "criteria_dirs", multiple=True, type=click.Path(file_okay=False, path_type=Path),
    help="Mappe med organisationens egne kriterier (*.yaml), der tilføjer eller erstatter kriterier. Kan gentages.",
)
_date_option = click.option(
    "--assessment-date", "on", type=DateType(), default=None, metavar="DATO",
    help="Vurderingsdato, fx 2026-11-29 eller 29-11-2026 (standard: i dag). Afgør, om en forpligtelse 'gælder' eller 'gælder fra …'.",
)


@click.command("evaluate")
@click.argument("file", metavar="FIL", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Uddata som læsbar tekst eller som JSON (hele vurderingen).")
@_criteria_option
@_date_option
def evaluate_cmd(file: Path, fmt: str, criteria_dirs: tuple[Path, ...], on: dt.date | None) -> None:
    """Vurdér et udfyldt intakeark: klassifikation, konsekvensanalyse, forpligtelser og kriterier.

    \b
    Eksempel:
      aivurdering evaluate intake.xlsx
      aivurdering evaluate intake.xlsx --format json > vurdering.json
      aivurdering evaluate intake.xlsx --assessment-date 2028-01-01 --criteria egne_kriterier/
    """
    assessment, ms = _assess(file, criteria_dirs, on)
    if fmt == "json":
        click.echo(assessment.model_dump_json(indent=2, exclude={"intake"}))
        return
    click.echo(_text(assessment, ms))


def _text(a: Assessment, ms: float) -> str:
    from pipeline.textfmt import date_long

    c = a.classification
    lines = [
        f"Vurdering af {a.intake.source.file_name} pr. {date_long(a.assessment_date)}",
        f"Samlet status: {_OVERALL_DA[a.overall_status]}",
        "",
        a.conclusion,
        "",
        f"AI-forordningen: {c.risk_class_label}",
        f"  Roller: {', '.join(c.roles) or '(ingen)'}",
    ]
    for ref in c.prohibited_practices:
        lines.append(f"  Forbud: {ref.text}")
    for ref in c.high_risk_basis:
        lines.append(f"  Højrisiko: {ref.text}")
    for ref in c.transparency_duties:
        lines.append(f"  Gennemsigtighed: {ref.text}")
    lines.append(f"Konsekvensanalyse (DPIA): {a.dpia.result_label}")
    for reason in a.dpia.reasons:
        lines.append(f"  - {reason}")
    lines.append(f"Grundrettighedsvurdering (artikel 27): {'påkrævet' if a.fria.required else 'ikke påkrævet'}")
    if a.obligations:
        lines += ["", "Forpligtelser:"]
        lines += [f"  {o.title} ({o.actor}): {o.applies_text}" for o in a.obligations]
    lines += ["", "Kriterier:"]
    for r in a.criteria:
        if r.status != "ikke_relevant":
            lines.append(f"  [{_STATUS_DA[r.status]:<16}] {r.id}: {r.title}")
    if a.follow_ups:
        lines += ["", "Opfølgning:"] + [f"  - {f}" for f in a.follow_ups]
    if a.uncertainties:
        lines += ["", "Usikre forhold (⚠):"] + [f"  - {u}" for u in a.uncertainties]
    lines += ["", f"Vurderingen tog {number_da(ms, 1)} ms (kriteriekatalog {a.versions.criteria_catalogue})."]
    return "\n".join(lines)


@click.command("explain")
@click.argument("file", metavar="FIL", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--criterion", "criterion_id", default=None, metavar="ID",
              help="Vis kun sporet for ét kriterium (fx gdpr.konsekvensanalyse) eller for klassifikation, "
                   "konsekvensanalyse eller grundrettighedsvurdering.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Uddata som læsbar tekst eller som JSON.")
@_criteria_option
@_date_option
def explain_cmd(file: Path, criterion_id: str | None, fmt: str, criteria_dirs: tuple[Path, ...],
                on: dt.date | None) -> None:
    """Vis sporet bag hver konklusion: hvilke svar (ark, celle, værdi) der førte til den.

    \b
    Eksempel:
      aivurdering explain intake.xlsx
      aivurdering explain intake.xlsx --criterion gdpr.konsekvensanalyse
      aivurdering explain intake.xlsx --criterion klassifikation
    """
    assessment, _ = _assess(file, criteria_dirs, on)
    results = assessment.criteria
    conclusions = _conclusions(assessment)
    if criterion_id in conclusions:
        name, text, trace = conclusions[criterion_id]
        if fmt == "json":
            click.echo(json.dumps({"id": criterion_id, "konklusion": text,
                                   "trace": [t.model_dump() for t in trace]}, ensure_ascii=False, indent=2))
            return
        _echo_conclusion(name, text, trace)
        return
    if criterion_id is None and fmt == "text":
        for name, text, trace in conclusions.values():
            _echo_conclusion(name, text, trace)
    if criterion_id is not None:
        results = [r for r in results if r.id == criterion_id]
        if not results:
            known = ", ".join(r.id for r in assessment.criteria[:5])
            raise UserError(f"Kriteriet '{criterion_id}' findes ikke i kriteriekataloget (fx {known} …).")
    if fmt == "json":
        data: list[dict[str, Any]] = [r.model_dump(mode="json") for r in results]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for r in results:
        click.echo(f"{r.id}: {r.title}")
        click.echo(f"  Status: {_STATUS_DA[r.status]} (alvor: {r.severity})")
        click.echo(f"  Vurdering: {r.finding}")
        if r.recommendation:
            click.echo(f"  Anbefaling: {r.recommendation}")
        for ref in r.references:
            click.echo(f"  Henvisning: {ref.text}{' ⚠' if ref.uncertain else ''}")
        if r.trace:
            click.echo("  Spor:")
        _echo_trace(r.trace)
        click.echo("")


def _conclusions(a: Assessment) -> dict[str, tuple[str, str, list[Any]]]:
    c = a.classification
    return {
        "klassifikation": ("Klassifikation efter AI-forordningen", c.risk_class_label, c.trace),
        "konsekvensanalyse": ("Konsekvensanalyse (DPIA)", a.dpia.result_label, a.dpia.trace),
        "grundrettighedsvurdering": (
            "Grundrettighedsvurdering (artikel 27)", "påkrævet" if a.fria.required else "ikke påkrævet", a.fria.trace
        ),
    }


def _echo_conclusion(name: str, text: str, trace: list[Any]) -> None:
    click.echo(f"{name}: {text}")
    _echo_trace(trace)
    click.echo("")


def _echo_trace(trace: list[Any]) -> None:
    if trace:
        click.echo("  Spor:")
    for t in trace:
        where = f"{t.sheet}!{t.cell}" if t.sheet and t.cell else "(ingen celle)"
        click.echo(f"    {where:<28} {t.question_id} = {t.value}  ({t.label})")


COMMANDS = [evaluate_cmd, explain_cmd]
