"""CLI commands around the Word report: ``template-check`` and ``import``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from pipeline.errors import CatalogueError, OutputExistsError


@click.command("template-check")
@click.argument("path", metavar="[SKABELON]", type=click.Path(dir_okay=False, path_type=Path), required=False)
def template_check_cmd(path: Path | None) -> None:
    """Tjek en Word-skabelon til rapporten.

    Finder ukendte variabler, mærker delt over flere tekstkørsler, typografiske anførselstegn i mærker,
    manglende påkrævede dele og forbudte felter (kun PAGE/NUMPAGES er tilladt), med teksten fra det
    afsnit, hvor problemet er. Uden SKABELON tjekkes den indbyggede skabelon. Variablerne står i
    docs/templates.md.

    \b
    Eksempel:
      aivurdering template-check vores-skabelon.docx
    """
    from pipeline.render import default_template
    from pipeline.template_check import check_template, format_problems

    target = path or default_template()
    if not target.is_file():
        raise CatalogueError("filen findes ikke.", path=str(target))
    problems = check_template(target)
    errors = [p for p in problems if p.severity == "error"]
    for line in format_problems(problems):
        click.echo(line, err=True)
    if errors:
        raise CatalogueError(
            f"{len(errors)} fejl og {len(problems) - len(errors)} advarsler i skabelonen.", path=str(target)
        )
    warnings = len(problems)
    click.echo(f"{target}: skabelonen er i orden" + (f" ({warnings} advarsler)." if warnings else "."))


def _write_text_atomic(out: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=out.parent or Path("."), prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@click.command("import")
@click.argument("report", metavar="RAPPORT", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Skriv svarene til en svarfil (.yaml eller .json). Uden -o og --workbook skrives YAML til skærmen.")
@click.option("--workbook", type=click.Path(dir_okay=False, path_type=Path),
              help="Skriv et udfyldt intakeark (.xlsx), der kan vurderes igen.")
@click.option("--force", is_flag=True, help="Overskriv eksisterende filer.")
def import_cmd(report: Path, output: Path | None, workbook: Path | None, force: bool) -> None:
    """Hent svarene tilbage fra en rapport, som aivurdering har skrevet.

    Rapporten indeholder hele vurderingen som maskinlæsbare data, så en journaliseret rapport kan
    vurderes igen senere, fx med et nyere kriteriekatalog.

    \b
    Eksempel:
      aivurdering import rapport.docx -o svar.yaml
      aivurdering import rapport.docx --workbook intake.xlsx
    """
    from pipeline.answers_io import export_answers, fill_workbook
    from pipeline.docx_twin import answers_for_export, read_assessment

    assessment = read_assessment(report)
    answers = answers_for_export(assessment)
    intake = assessment.intake.model_copy(update={"answers": answers})
    if workbook is not None:
        fill_workbook(answers, workbook, force=force)
        click.echo(f"Skrev intakeark: {workbook}", err=True)
    if output is not None:
        if output.exists() and not force:
            raise OutputExistsError(str(output))
        fmt = "json" if output.suffix.lower() == ".json" else "yaml"
        _write_text_atomic(output, export_answers(intake, fmt))
        click.echo(f"Skrev svarfil: {output}", err=True)
    if output is None and workbook is None:
        click.echo(export_answers(intake, "yaml"), nl=False)
    v = assessment.versions
    click.echo(
        f"Rapporten er lavet {assessment.assessment_date.isoformat()} med aivurdering {v.tool}, "
        f"spørgsmålskatalog {v.question_catalogue} og kriteriekatalog {v.criteria_catalogue}.",
        err=True,
    )


COMMANDS = [template_check_cmd, import_cmd]
