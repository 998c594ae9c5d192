"""Lint a Word report template (``aivurdering template-check PATH``).

Finds, with the text of the paragraph where it happens:

* ``unknown_variable``: a variable or attribute the context model (:class:`ReportContext`) does not have
  (loops are followed, so ``{% for f in ai_act.findings %}{{ f.titel }}`` is caught);
* ``syntax_error``: a Jinja syntax error;
* ``split_tag``: a tag split across several runs (Word does that after editing or spell checking;
  docxtpl usually copes, but formatting inside the tag is lost and the tag is hard to edit);
* ``smart_quote``: typographic quotes inside a tag (Word's autocorrect);
* ``missing_part``: a required variable or part is missing (header, footer, case number, …);
* ``forbidden``: a live field other than PAGE/NUMPAGES (e.g. DATE), macros or external links.

:func:`check_template` returns :class:`Problem` records; the CLI prints them and fails on errors.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from jinja2 import TemplateSyntaxError, nodes
from lxml import etree
from pydantic import BaseModel

from pipeline.errors import CatalogueError
from pipeline.report_context import ReportContext

__all__ = ["REQUIRED_VARIABLES", "Problem", "check_template", "format_problems"]

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
REQUIRED_VARIABLES = (
    "doc.title",
    "doc.authority",
    "doc.case_number",
    "doc.confidentiality",
    "doc.version",
    "summary.conclusion",
    "answers",
    "criteria",
    "versions.input_sha256",
)
SMART_QUOTES = "“”„‘’‚«»"
_TAG_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_JINJA_GLOBALS = {"loop", "range", "dict", "lipsum", "cycler", "joiner", "namespace", "true", "false", "none"}


@dataclass(frozen=True)
class Problem:
    """One finding of the template check."""

    code: str
    severity: Literal["error", "warning"]
    part: str
    message: str
    context: str = ""


def _part_label(name: str) -> str:
    if "header" in name:
        return f"sidehoved ({name})"
    if "footer" in name:
        return f"sidefod ({name})"
    return f"brødtekst ({name})" if name.endswith("document.xml") else name


# --------------------------------------------------------------------------------------------
# Paragraph-level checks on the raw XML
# --------------------------------------------------------------------------------------------


def _paragraphs(xml: bytes) -> list[list[str]]:
    """The runs' texts of every paragraph (one list of run texts per paragraph)."""
    root = etree.fromstring(xml)
    out = []
    for p in root.iter(f"{{{W}}}p"):
        runs = []
        for r in p.iter(f"{{{W}}}r"):
            runs.append("".join(t.text or "" for t in r.iter(f"{{{W}}}t")))
        out.append(runs)
    return out


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_paragraphs(part: str, xml: bytes) -> list[Problem]:
    problems = []
    for runs in _paragraphs(xml):
        text = "".join(runs)
        if "{" not in text:
            continue
        bounds = []
        pos = 0
        for r in runs:
            bounds.append((pos, pos + len(r)))
            pos += len(r)
        for m in _TAG_RE.finditer(text):
            tag = m.group(0)
            spanned = [i for i, (s, e) in enumerate(bounds) if s < m.end() and e > m.start() and e > s]
            if len(spanned) > 1:
                problems.append(Problem("split_tag", "warning", _part_label(part),
                                        f"Mærket {_short(tag, 60)} er delt over {len(spanned)} tekstkørsler; skriv det igen i ét stykke uden formatering midt i.", _short(text)))
            if any(q in tag for q in SMART_QUOTES):
                problems.append(Problem("smart_quote", "warning", _part_label(part),
                                        f"Mærket {_short(tag, 60)} indeholder typografiske anførselstegn; brug lige anførselstegn (\" eller ').", _short(text)))
        opened = text.count("{{") + text.count("{%")
        closed = text.count("}}") + text.count("%}")
        if opened != closed:
            problems.append(Problem("unbalanced_tag", "error", _part_label(part),
                                    "Et mærke er ikke lukket ({{ uden }} eller {% uden %}).", _short(text)))
    return problems


def _check_fields(part: str, xml: bytes) -> list[Problem]:
    root = etree.fromstring(xml)
    instrs = [el.get(f"{{{W}}}instr") or "" for el in root.iter(f"{{{W}}}fldSimple")]
    instrs += ["".join(el.itertext()) for el in root.iter(f"{{{W}}}instrText")]
    problems = []
    for instr in instrs:
        word = (instr.strip().split() or [""])[0].upper()
        if word and word not in ("PAGE", "NUMPAGES"):
            problems.append(Problem("forbidden", "error", _part_label(part),
                                    f"Feltet {word} er ikke tilladt: kun PAGE og NUMPAGES. Datoer skal stå som fast tekst.", _short(instr)))
    return problems


# --------------------------------------------------------------------------------------------
# Variables against the context model
# --------------------------------------------------------------------------------------------

_Type = tuple[Any, ...] | None  # ("model", cls) | ("list", inner) | ("scalar",) | None (unknown)


def _type_of(annotation: Any) -> _Type:
    if get_origin(annotation) is list:
        return ("list", _type_of(get_args(annotation)[0]))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return ("model", annotation)
    return ("scalar",)


class _VarChecker:
    """Walk a Jinja AST, resolving names and attributes against the context model."""

    def __init__(self) -> None:
        self.unknown: list[str] = []
        self.used: set[str] = set()

    def check(self, node: nodes.Node) -> None:
        self._visit(node, {})

    def _resolve(self, node: nodes.Node, scope: dict[str, _Type]) -> tuple[_Type, str | None]:
        """(type, dotted path) of an expression; reports unknown names/attributes."""
        if isinstance(node, nodes.Name):
            if node.name in scope:
                return scope[node.name], None
            field = ReportContext.model_fields.get(node.name)
            if field is None:
                if node.name not in _JINJA_GLOBALS:
                    self.unknown.append(node.name)
                return None, None
            self.used.add(node.name)
            return _type_of(field.annotation), node.name
        if isinstance(node, nodes.Getattr):
            base, path = self._resolve(node.node, scope)
            return self._member(base, path, node.attr)
        if isinstance(node, nodes.Getitem):
            base, path = self._resolve(node.node, scope)
            self._visit(node.arg, scope)
            if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                return self._member(base, path, node.arg.value)
            if base and base[0] == "list":
                return base[1], path
            return None, None
        self._visit(node, scope)
        return None, None

    def _member(self, base: _Type, path: str | None, attr: str) -> tuple[_Type, str | None]:
        if base and base[0] == "model":
            field = base[1].model_fields.get(attr)
            dotted = f"{path}.{attr}" if path else None
            if field is None:
                self.unknown.append(f"{path or base[1].__name__}.{attr}")
                return None, None
            if dotted:
                self.used.add(dotted)
            return _type_of(field.annotation), dotted
        return None, None

    def _visit(self, node: nodes.Node, scope: dict[str, _Type]) -> None:
        if isinstance(node, nodes.For):
            iter_type, _ = self._resolve(node.iter, scope)
            inner = dict(scope)
            item = iter_type[1] if iter_type and iter_type[0] == "list" else None
            for target in node.target.find_all(nodes.Name) if not isinstance(node.target, nodes.Name) else [node.target]:
                inner[target.name] = item if isinstance(node.target, nodes.Name) else None
            inner["loop"] = None
            for child in node.body:
                self._visit(child, inner)
            if node.test is not None:
                self._visit(node.test, inner)
            for child in node.else_:
                self._visit(child, scope)
            return
        if isinstance(node, nodes.Assign | nodes.AssignBlock):
            for target in node.target.find_all(nodes.Name):
                scope[target.name] = None
        if isinstance(node, nodes.Macro | nodes.CallBlock):
            inner = dict(scope)
            for arg in getattr(node, "args", []):
                inner[arg.name] = None
            for child in node.body:
                self._visit(child, inner)
            return
        if isinstance(node, nodes.Name | nodes.Getattr | nodes.Getitem):
            self._resolve(node, scope)
            return
        for child in node.iter_child_nodes():
            self._visit(child, scope)


# --------------------------------------------------------------------------------------------
# The check
# --------------------------------------------------------------------------------------------


def _context_for(name: str, paragraphs: dict[str, list[str]]) -> tuple[str, str]:
    """The part and paragraph where a variable name appears."""
    base = name.split(".")[-1]
    for part, texts in paragraphs.items():
        for text in texts:
            if base in text and "{" in text:
                return _part_label(part), _short(text)
    return "", ""


def template_parts(tpl: Any) -> dict[str, bytes]:
    """The templated parts of a loaded DocxTemplate: body, headers and footers (name -> XML)."""
    from pipeline.render import FOOTER_URI, HEADER_URI

    parts: dict[str, bytes] = {str(tpl.docx.part.partname).lstrip("/"): tpl.docx.part.blob}
    for uri in (HEADER_URI, FOOTER_URI):
        for _rel, part in tpl.get_headers_footers(uri):
            parts[str(part.partname).lstrip("/")] = part.blob
    return parts


def variable_problems(tpl: Any, parts: dict[str, bytes]) -> tuple[list[Problem], set[str]]:
    """Syntax errors and unknown variables of the templated parts, and the variable paths used."""
    from pipeline.render import jinja_env

    problems: list[Problem] = []
    paragraphs = {name: ["".join(runs) for runs in _paragraphs(xml)] for name, xml in parts.items()}
    checker = _VarChecker()
    for name, xml in parts.items():
        patched = tpl.patch_xml(tpl.xml_to_string(etree.fromstring(xml)))
        try:
            ast = jinja_env().parse(patched)
        except TemplateSyntaxError as exc:
            lines = patched.splitlines()
            near = re.sub(r"<[^>]+>", "", lines[exc.lineno - 1]) if 0 < (exc.lineno or 0) <= len(lines) else ""
            problems.append(Problem("syntax_error", "error", _part_label(name), f"Jinja-syntaksfejl: {exc.message}", _short(near)))
            continue
        checker.check(ast)
    for var in dict.fromkeys(checker.unknown):
        part, ctx = _context_for(var, paragraphs)
        problems.append(Problem("unknown_variable", "error", part or "skabelon",
                                f"Variablen '{var}' findes ikke i rapportens data (se docs/templates.md).", ctx))
    return problems, checker.used


def check_template(path: Path) -> list[Problem]:
    """All problems of a template; raises :class:`CatalogueError` when the file is not a .docx at all."""
    from docxtpl import DocxTemplate


    try:
        data = path.read_bytes()
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = zf.namelist()
    except OSError as exc:
        raise CatalogueError(f"skabelonen kan ikke læses ({exc.strerror}).", path=str(path)) from exc
    except zipfile.BadZipFile as exc:
        raise CatalogueError("filen er ikke et Word-dokument (.docx).", path=str(path)) from exc
    problems: list[Problem] = []
    if any("vbaproject" in n.lower() for n in names):
        problems.append(Problem("forbidden", "error", "pakke", "Skabelonen indeholder makroer; gem den som .docx uden makroer."))
    for n in names:
        if n.endswith(".rels") and b'TargetMode="External"' in zf.read(n):
            problems.append(Problem("forbidden", "error", n, "Skabelonen har eksterne links eller billeder; indsæt billeder i dokumentet i stedet."))
    try:
        tpl = DocxTemplate(io.BytesIO(data))
        tpl.init_docx()
    except Exception as exc:  # python-docx raises many kinds for a foreign file
        from pipeline.render import NOT_A_WORD_TEMPLATE

        raise CatalogueError(NOT_A_WORD_TEMPLATE, path=str(path)) from exc  # detail with --debug
    parts = template_parts(tpl)
    if not any("header" in n for n in parts):
        problems.append(Problem("missing_part", "error", "pakke", "Skabelonen har intet sidehoved (myndighed og sagsnummer skal stå der)."))
    if not any("footer" in n for n in parts):
        problems.append(Problem("missing_part", "error", "pakke", "Skabelonen har ingen sidefod (titel, version og fortrolighed skal stå der)."))
    for name, xml in parts.items():
        problems += _check_paragraphs(name, xml)
        problems += _check_fields(name, xml)
    var_problems, used = variable_problems(tpl, parts)
    problems += var_problems
    for req in REQUIRED_VARIABLES:
        if req not in used:
            problems.append(Problem("missing_part", "error", "skabelon", f"Skabelonen bruger ikke den påkrævede variabel '{req}'."))
    return problems


def format_problems(problems: list[Problem]) -> list[str]:
    """Danish lines for the CLI."""
    out = []
    for p in problems:
        mark = "FEJL" if p.severity == "error" else "ADVARSEL"
        line = f"  {mark:<8} [{p.code}] {p.part}: {p.message}"
        if p.context:
            line += f"\n           i afsnittet: »{p.context}«"
        out.append(line)
    return out
