"""CLI: ``batch`` (many workbooks), ``overview`` (portfolio overview) and ``demo`` (the bundled examples)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from pipeline.cli._params import DateType
from pipeline.errors import OutputExistsError, UserError
from pipeline.textfmt import number_da

EXIT_CODES_HELP = """\b
Afslutningskoder:
  0    alt gik godt (nye rapporter eller uændrede filer sprunget over)
  1    et eller flere intakeark er ugyldige eller kan ikke læses
  2    forkert brug af kommandoen (ukendt tilvalg o.l.)
  3    fejl i konfiguration, katalog eller skabelon
  4    en fil findes allerede og er ikke skrevet af batchen (brug --force)
  5    et eksternt program fejlede (fx LibreOffice til PDF/A)
  70   intern fejl, også en arbejdsproces der stoppede uventet
  130  afbrudt (Ctrl-C/SIGTERM); intet halvt skrevet er efterladt, og en ny
       kørsel fortsætter, hvor den slap"""


def _run_options(out: Path | None, pdf: bool, force: bool, criteria: tuple[Path, ...], template: Path | None,
                 config: Path | None, assessment_date: dt.date | None) -> object:
    from pipeline.run import RunOptions

    return RunOptions(
        out_dir=out, pdf=True if pdf else None, force=force, criteria_dirs=list(criteria), template=template,
        config=config, assessment_date=assessment_date,
    )


def _n(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _summary(result: object) -> None:
    """The end-of-batch summary on stderr: counts, then the reasons for each problem."""
    from pipeline.batch import BatchResult, strip_path
    from pipeline.cli import echo_issues

    assert isinstance(result, BatchResult)
    c = result.count
    parts = [
        _n(c("ok"), "ny rapport", "nye rapporter"),
        f"{c('skipped')} sprunget over (uændrede)",
        _n(c("invalid"), "ugyldig", "ugyldige"),
        _n(c("failed"), "fejlet", "fejlede"),
    ]
    if c("interrupted"):
        parts.append(f"{c('interrupted')} ikke behandlet (afbrudt)")
    if result.ignored:
        parts.append(_n(len(result.ignored), "fil ignoreret", "filer ignoreret"))
    workers = _n(result.jobs, "arbejdsproces", "arbejdsprocesser")
    click.echo(f"\nFærdig på {number_da(result.seconds, 1)} s med {workers}: {', '.join(parts)}.", err=True)
    for item in result.items:
        if item.status in ("invalid", "failed") and item.result is not None:
            click.echo(f"\n{item.key}: {strip_path(item.result.error, item.path)}", err=True)
            errors = [i for i in item.result.issues if i.severity == "error"]
            echo_issues(errors[:20])
            if len(errors) > 20:
                click.echo(f"  … og {len(errors) - 20} fejl mere (se batch-rapport.xlsx)", err=True)
    for note in result.notes:
        click.echo(note, err=True)
    if not result.items and not result.interrupted:
        click.echo(f"\nIngen intakeark (.xlsx) fundet i {result.root}. Er det den rigtige mappe?", err=True)
    if result.report_paths:
        click.echo(f"\nBatchrapport: {result.report_paths[0]}", err=True)
    if result.overview_path:
        click.echo(f"Oversigt:     {result.overview_path}", err=True)


def _execute(root: Path, options: object, jobs: int | None) -> None:
    from pipeline.batch import run_batch
    from pipeline.run import RunOptions

    assert isinstance(options, RunOptions)
    result = run_batch(root, options, jobs)
    _summary(result)
    if result.interrupted:
        raise KeyboardInterrupt
    if result.exit_code:
        raise click.exceptions.Exit(result.exit_code)


@click.command("batch", epilog=EXIT_CODES_HELP)
@click.argument("directory", metavar="MAPPE", type=click.Path(exists=True, file_okay=True, path_type=Path))
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Udmappe (standard: konfigurationens mappe, ellers ./outputs).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, metavar="ANTAL",
              help="Antal arbejdsprocesser (standard: antal kerner).")
@click.option("--pdf", is_flag=True, help="Lav også PDF/A-udgaver (LibreOffice; én proces for hele batchen).")
@click.option("--force", is_flag=True,
              help="Behandl alle filer igen, også uændrede, og overskriv eksisterende rapporter.")
@click.option("--criteria", "criteria", multiple=True, type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Mappe med organisationens egne kriterier (kan gentages).")
@click.option("--template", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Organisationens egen Word-skabelon.")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path),
              help="Konfigurationsfil (standard: ./aivurdering.toml, hvis den findes).")
@click.option("--assessment-date", type=DateType(), default=None,
              help="Vurderingsdato (standard: i dag), fx 29-11-2026.")
def batch_cmd(directory: Path, out: Path | None, jobs: int | None, pdf: bool, force: bool,
              criteria: tuple[Path, ...], template: Path | None, config: Path | None,
              assessment_date: dt.date | None) -> None:
    """Lav rapporter for alle intakeark i MAPPE (også i undermapper).

    Hvert ark behandles i sin egen arbejdsproces, så et ødelagt ark aldrig stopper de andre. Filer, der
    er uændrede siden sidste kørsel (samme indhold og samme versioner af værktøj, kataloger og skabelon),
    springes over; brug --force for at lave dem igen. Ctrl-C stopper pænt, og en ny kørsel fortsætter,
    hvor den slap. Låsefiler (~$…) og andre filer end .xlsx ignoreres med en besked.

    I udmappen skrives desuden batch-rapport.xlsx/.json (status, problemer med celle, konklusioner og
    skrevne filer pr. ark) og oversigt.xlsx (én række pr. AI-system).

    \b
    Eksempel:
      aivurdering batch intakeark/ -o rapporter/ --jobs 2
    """
    options = _run_options(out, pdf, force, criteria, template, config, assessment_date)
    _execute(directory, options, jobs)


@click.command("overview", epilog="\b\nAfslutningskoder: 0 oversigten er skrevet; 1 ingen rapporter i MAPPE.")
@click.argument("directory", metavar="MAPPE", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Oversigtens filnavn (standard: MAPPE/oversigt.xlsx).")
@click.option("--force", is_flag=True,
              help="Overskriv filen fra -o, også hvis den ikke er en oversigt fra aivurdering.")
def overview_cmd(directory: Path, out_file: Path | None, force: bool) -> None:
    """Lav porteføljeoversigten oversigt.xlsx over rapporterne i MAPPE.

    MAPPE er udmappen fra 'aivurdering batch' eller 'aivurdering render' (rapporterne findes også i
    undermapper). Oversigten har én række pr. AI-system: navn, myndighed,
    enhed, fase, rolle, klasse efter AI-forordningen og grundlag (bilag III-punkt), DPIA påkrævet/udført,
    grundrettighedsvurdering påkrævet, antal åbne handlinger, højeste restrisiko, næste revurdering og et
    link til rapporten, som en Excel-tabel med filtre.

    \b
    Eksempel:
      aivurdering overview rapporter/ -o oversigt.xlsx
    """
    from pipeline.overview import OVERVIEW_NAME, collect_rows, is_overview_file, write_overview

    rows = collect_rows(directory)
    target = out_file or directory / OVERVIEW_NAME
    if target.suffix.lower() != ".xlsx":
        raise UserError(f"{target}: oversigten skal have filtypen .xlsx.")
    if target.exists() and not force and not is_overview_file(target):
        raise OutputExistsError(str(target))  # someone's own spreadsheet: never replaced silently
    write_overview(rows, target)
    click.echo(f"Oversigt over {len(rows)} AI-system(er) skrevet: {target}")


def _examples_dir() -> Path:
    import pipeline

    here = Path(pipeline.__file__).resolve().parent
    for candidate in (here.parent / "intake_templates" / "examples",
                      here / "_bundled" / "intake_templates" / "examples"):
        if candidate.is_dir():
            return candidate
    raise UserError("De medfølgende eksempler (intake_templates/examples) blev ikke fundet i installationen.")


@click.command("demo", epilog=EXIT_CODES_HELP)
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("outputs"),
              show_default=True, help="Udmappe til rapporterne.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, metavar="ANTAL",
              help="Antal arbejdsprocesser (standard: antal kerner).")
@click.option("--pdf", is_flag=True, help="Lav også PDF/A-udgaver (kræver LibreOffice).")
@click.option("--force", is_flag=True, help="Lav alle eksempler igen, også hvis de er uændrede.")
def demo_cmd(out: Path, jobs: int | None, pdf: bool, force: bool) -> None:
    """Lav rapporter for alle medfølgende eksempler (intake_templates/examples/).

    Det er projektets hovedjob: en batch over eksemplerne, med rapporter, batchrapport og oversigt i
    udmappen. En ny kørsel springer uændrede eksempler over og siger det; brug --force for at lave alt
    igen.

    \b
    Eksempel:
      aivurdering demo -o outputs
    """
    from pipeline.batch import run_batch
    from pipeline.run import RunOptions

    examples = _examples_dir()
    options = RunOptions(out_dir=out, pdf=True if pdf else None, force=force)
    click.echo(f"Eksempler: {examples}\nUdmappe:   {out}", err=True)
    result = run_batch(examples, options, jobs)
    _summary(result)
    if result.interrupted:
        raise KeyboardInterrupt
    skipped = result.count("skipped")
    if skipped:
        which = "Alle" if skipped == len(result.items) else f"{skipped} af {len(result.items)}"
        click.echo(
            f"\n{which} eksempler er uændrede siden sidste kørsel og er sprunget over; deres rapporter i {out} "
            "er aktuelle. Brug --force for at lave dem igen.",
            err=True,
        )
    if result.exit_code:
        raise click.exceptions.Exit(result.exit_code)


COMMANDS = [batch_cmd, overview_cmd, demo_cmd]
