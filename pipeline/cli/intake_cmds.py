"""CLI commands for the intake workbook: template, validate, questions, fill, export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from pipeline.cli import echo_issues
from pipeline.errors import EXIT_INVALID, InputFileError, IntakeInvalid, OutputExistsError


@click.command("template")
@click.option("--lang", type=click.Choice(["da", "en"]), default="da", show_default=True,
              help="Sprog i arket (spørgsmål, hjælp og lister).")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Hvor det tomme intakeark skal gemmes (.xlsx).")
@click.option("--force", is_flag=True, help="Overskriv filen, hvis den findes.")
def template_cmd(lang: str, output: Path, force: bool) -> None:
    """Lav et tomt intakeark (Excel) ud fra spørgsmålskataloget.

    \b
    Eksempel:
      aivurdering template -o intake.xlsx
      aivurdering template --lang en -o intake-en.xlsx
    """
    from pipeline.workbook import write_template

    write_template(output, lang=lang, force=force)
    click.echo(f"Intakearket er gemt i {output}.")


@click.command("validate")
@click.argument("files", metavar="FIL...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Uddata som læsbar tekst eller som JSON.")
@click.option("--annotate", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Gem en kopi med fejlene markeret og et ark 'Fejl' (kun ved én fil). Originalen røres ikke.")
@click.option("--force", is_flag=True, help="Overskriv kopien fra --annotate, hvis den findes.")
def validate_cmd(files: tuple[Path, ...], fmt: str, annotate: Path | None, force: bool) -> None:
    """Tjek udfyldte intakeark og vis alle fejl på én gang (ark, celle, spørgsmål).

    Afslutter med kode 0, når alle ark er gyldige, og 1, når mindst ét har fejl. Med --format json
    skrives en liste med ét objekt pr. fil.

    \b
    Eksempel:
      aivurdering validate intake.xlsx
      aivurdering validate intake.xlsx --annotate intake-med-fejl.xlsx
      aivurdering validate *.xlsx --format json
    """
    from pipeline.validate import annotate_workbook, validate_workbook

    if annotate and len(files) != 1:
        raise click.UsageError("--annotate kan kun bruges med én fil ad gangen.")
    if annotate and annotate.exists() and not force:
        raise OutputExistsError(str(annotate))
    results: list[dict[str, Any]] = []
    failed = False
    for path in files:
        try:
            intake = validate_workbook(path)
        except InputFileError as exc:
            failed = True
            results.append({"file": str(path), "valid": False, "readable": False, "message": str(exc), "issues": []})
            if fmt == "text":
                click.echo(f"Fejl: {exc}", err=True)
            continue
        failed = failed or not intake.valid
        results.append({
            "file": str(path),
            "valid": intake.valid,
            "readable": True,
            "sha256": intake.source.sha256,
            "template_version": intake.source.template_version,
            "catalogue_version": intake.source.catalogue_version,
            "answers": len(intake.answers),
            "issues": [i.model_dump(exclude_none=True) for i in intake.issues],
        })
        if fmt == "text":
            errors = sum(1 for i in intake.issues if i.severity == "error")
            warnings = len(intake.issues) - errors
            status = "gyldigt" if intake.valid else f"{errors} fejl"
            click.echo(f"{path}: {status}, {warnings} advarsler, {len(intake.answers)} svar.")
            echo_issues(intake.issues)
        if annotate:
            annotate_workbook(path, intake, annotate)
            if fmt == "text":
                click.echo(f"Kopi med markeringer er gemt i {annotate}.")
    if fmt == "json":
        click.echo(json.dumps(results, ensure_ascii=False, indent=2))
    if failed:
        raise click.exceptions.Exit(EXIT_INVALID)


@click.command("questions")
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True,
              help="Markdown til læsning eller JSON til integrationer.")
@click.option("--lang", type=click.Choice(["da", "en"]), default="da", show_default=True)
def questions_cmd(fmt: str, lang: str) -> None:
    """Vis spørgsmålskataloget (alle spørgsmål, typer, svarmuligheder og betingelser).

    \b
    Eksempel:
      aivurdering questions
      aivurdering questions --format json > spoergsmaal.json
    """
    from pipeline.questions import load_questions

    cat = load_questions()
    if fmt == "json":
        data = cat.model_dump(mode="json", exclude_none=True)
        data["sha256"] = cat.sha256
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(questions_markdown(lang))


def questions_markdown(lang: str = "da") -> str:
    from pipeline.legal import format_ref
    from pipeline.questions import load_questions

    cat = load_questions()
    en = lang == "en"
    type_names = TYPE_NAMES_EN if en else TYPE_NAMES_DA
    lines = [f"# {'Question catalogue' if en else 'Spørgsmålskatalog'} {cat.version}", ""]
    lines.append(f"sha256 `{cat.sha256}`")
    for section in cat.sections:
        lines += ["", f"## {section.sheet}: {section.title.get(lang)}", ""]
        if section.intro:
            lines += [section.intro.get(lang), ""]
        for q in cat.questions_in(section.id):
            mark = " *" if q.required else ""
            lines.append(f"- **{q.label.get(lang)}**{mark} `{q.id}` ({type_names.get(q.type, q.type)})")
            if q.applies_if:
                lines.append(f"  - {'Applies if' if en else 'Relevant hvis'}: `{q.applies_if}`")
            if q.options:
                lines.append("  - " + "; ".join(f"{o.label.get(lang)} (`{o.code}`)" for o in q.options))
            for c in q.columns:
                lines.append(f"  - {'column' if en else 'kolonne'} `{c.id}`: {c.label.get(lang)} "
                             f"({type_names.get(c.type, c.type)}){' *' if c.required else ''}")
            if q.refs:
                lines.append(f"  - {'References' if en else 'Henvisninger'}: {'; '.join(format_ref(r) for r in q.refs)}")
    lines += ["", "\\* = " + ("required when it applies" if en else "skal besvares, når spørgsmålet er relevant")]
    return "\n".join(lines)


TYPE_NAMES_DA = {
    "text": "kort tekst", "long_text": "lang tekst", "yes_no": "ja/nej", "choice": "ét valg",
    "multi_choice": "flere valg", "date": "dato", "number": "tal", "percentage": "procent",
    "email": "e-mail", "cvr": "CVR-nummer", "kle": "KLE-emnenummer", "kle_facet": "handlingsfacet",
    "table": "tabel",
}
TYPE_NAMES_EN = {
    "text": "short text", "long_text": "long text", "yes_no": "yes/no", "choice": "single choice",
    "multi_choice": "multiple choice", "date": "date", "number": "number", "percentage": "percentage",
    "email": "e-mail", "cvr": "CVR number", "kle": "KLE subject number", "kle_facet": "action facet",
    "table": "table",
}


@click.command("fill")
@click.argument("answers", metavar="SVARFIL", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Hvor det udfyldte intakeark skal gemmes (.xlsx).")
@click.option("--lang", type=click.Choice(["da", "en"]), default="da", show_default=True)
@click.option("--force", is_flag=True, help="Overskriv filen, hvis den findes.")
def fill_cmd(answers: Path, output: Path, lang: str, force: bool) -> None:
    """Udfyld et tomt intakeark fra en svarfil (YAML eller JSON, nøgler = spørgsmåls-id).

    \b
    Eksempel:
      aivurdering fill svar.yaml -o intake.xlsx
      aivurdering export intake.xlsx --format yaml > svar.yaml && aivurdering fill svar.yaml -o ny.xlsx
    """
    from pipeline.answers_io import fill_workbook, load_answers

    fill_workbook(load_answers(answers), output, lang=lang, force=force, source=str(answers))
    click.echo(f"Det udfyldte intakeark er gemt i {output}.")


@click.command("export")
@click.argument("file", metavar="FIL", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["json", "yaml"]), default="json", show_default=True)
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Gem svarene i en fil i stedet for at skrive dem på skærmen.")
@click.option("--partial", is_flag=True, help="Eksportér de gyldige svar, selv om arket har fejl.")
@click.option("--force", is_flag=True, help="Overskriv filen fra -o, hvis den findes.")
def export_cmd(file: Path, fmt: str, output: Path | None, partial: bool, force: bool) -> None:
    """Skriv svarene fra et udfyldt intakeark som JSON eller YAML.

    \b
    Eksempel:
      aivurdering export intake.xlsx --format yaml
      aivurdering export intake.xlsx -o svar.json
    """
    from pipeline.answers_io import export_answers
    from pipeline.validate import validate_workbook

    intake = validate_workbook(file)
    if not intake.valid and not partial:
        raise IntakeInvalid(intake.issues, path=str(file))
    text = export_answers(intake, fmt)
    if output is None:
        click.echo(text, nl=False)
        return
    from pipeline.safeio import atomic_write_text

    atomic_write_text(output, text, force=force)  # never a half-written file; refuses to overwrite
    click.echo(f"Svarene er gemt i {output}.")


COMMANDS = [template_cmd, validate_cmd, questions_cmd, fill_cmd, export_cmd, ]
