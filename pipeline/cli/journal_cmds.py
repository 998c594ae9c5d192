"""CLI: ``render`` (one workbook -> journal package) and ``config check``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from pipeline.cli._params import DateType
from pipeline.errors import ExternalToolError

_PATH = click.Path(path_type=Path)


@click.command("render")
@click.argument("file", metavar="FIL", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Mappe til journaliseringspakken (standard: output.mappe i aivurdering.toml, ellers outputs/).")
@click.option("--pdf/--no-pdf", "pdf", default=None,
              help="Lav også en PDF/A-2b-udgave med LibreOffice (standard: output.pdf i aivurdering.toml).")
@click.option("--force", is_flag=True, help="Overskriv en eksisterende pakke (sker atomisk).")
@click.option("--template", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Egen Word-skabelon (.docx) i stedet for den medfølgende.")
@click.option("--criteria", "criteria_dirs", multiple=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Mappe med egne eller ændrede kriterier (kan gentages).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Organisationens konfiguration (standard: ./aivurdering.toml, hvis den findes).")
@click.option("--assessment-date", type=DateType(), metavar="DATO",
              help="Vurderingsdato, fx 2026-11-29 eller 29-11-2026 (standard: i dag); styrer, hvilke regler der "
                   "gælder.")
def render_cmd(
    file: Path,
    out_dir: Path | None,
    pdf: bool | None,
    force: bool,
    template: Path | None,
    criteria_dirs: tuple[Path, ...],
    config_path: Path | None,
    assessment_date: dt.date | None,
) -> None:
    """Vurdér ét intakeark og skriv rapport og journaliseringspakke.

    Pakken ligger i sin egen mappe og indeholder rapporten (.docx), eventuelt en PDF/A-udgave (.pdf),
    metadata til ESDH-systemet (.metadata.json og .metadata.xml) og SHA256SUMS. En eksisterende pakke
    overskrives kun med --force.

    \b
    Eksempel:
      aivurdering render intake.xlsx -o ud/ --pdf
    """
    from pipeline.cli import echo_issues
    from pipeline.metadata import DPIA_TEXT
    from pipeline.run import RunOptions, process_file
    from pipeline.safeio import sigterm_as_interrupt

    options = RunOptions(
        out_dir=out_dir,
        pdf=pdf,
        force=force,
        template=template,
        criteria_dirs=list(criteria_dirs),
        config=config_path,
        assessment_date=assessment_date,
    )
    with sigterm_as_interrupt():
        result = process_file(file, options, raise_errors=True)
    warnings = [i for i in result.issues if i.severity == "warning"]
    if warnings:
        click.echo(f"{len(warnings)} advarsel(er) i intakearket:", err=True)
        echo_issues(warnings)
    package = result.package
    click.echo(f"Skrev journaliseringspakken {package.folder}:" if package else "Skrev:")
    for path in result.paths:
        click.echo(f"  {path.name}")
    if result.summary:
        s = result.summary
        fria = "påkrævet" if s.fria_required else "ikke påkrævet"
        dpia = DPIA_TEXT.get(s.dpia_required or "", s.dpia_required or "")
        click.echo(f"AI-forordningen: {s.ai_act_class_label}. Konsekvensanalyse (DPIA): {dpia}. "
                   f"Grundrettighedsvurdering: {fria}.")
    if package is not None and package.pdf_error:
        raise ExternalToolError(package.pdf_error)


@click.group("config")
def config_group() -> None:
    """Organisationens konfiguration (aivurdering.toml).

    \b
    Eksempel:
      aivurdering config check aivurdering.toml
    """


@config_group.command("check")
@click.argument("file", metavar="[FIL]", required=False, type=click.Path(dir_okay=False, path_type=Path))
def config_check_cmd(file: Path | None) -> None:
    """Kontrollér en aivurdering.toml og vis de værdier, der bruges.

    Uden FIL bruges ./aivurdering.toml, hvis den findes, ellers standardværdierne.

    \b
    Eksempel:
      aivurdering config check aivurdering.toml
    """
    from pipeline.config import discover_config, load_config

    found = discover_config(file)
    cfg = load_config(file)
    if found is None:
        click.echo("Ingen aivurdering.toml fundet; standardværdierne bruges.")
    else:
        click.echo(f"{found}: konfigurationen er gyldig.")
    m, j, f, o = cfg.myndighed, cfg.journalisering, cfg.filnavne, cfg.output
    rows = [
        ("Myndighed", m.navn),
        ("CVR-nummer", m.cvr),
        ("Forvaltning / afdeling", m.enhed),
        ("Klassifikationssystem", j.klassifikationssystem),
        ("Standard-emnenummer", j.emnenummer),
        ("Standard-handlingsfacet", j.handlingsfacet),
        ("Dokumenttype", j.dokumenttype),
        ("Filnavnsmønster", f.moenster),
        ("Translitterér æ/ø/å", "ja" if f.translitterer else "nej"),
        ("Maks. længde af filnavn", str(f.maks_laengde)),
        ("Outputmappe", str(o.mappe)),
        ("PDF/A-udgave", "ja" if o.pdf else "nej"),
        ("Word-skabelon", str(o.skabelon) if o.skabelon else "den medfølgende"),
    ]
    for label, value in rows:
        click.echo(f"  {label:<26} {value if value else '(ikke angivet)'}")


COMMANDS = [render_cmd, config_group]
