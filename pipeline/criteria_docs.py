"""Generate ``docs/criteria.md`` from the criteria catalogue (a test checks that the file is fresh).

Run ``python -m pipeline.criteria_docs`` after changing the catalogue.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline.criteria import CriteriaCatalogue, RefRule, load_criteria, load_legal_dates
from pipeline.legal import parse_ref
from pipeline.textfmt import date_long

DOC_PATH = Path(__file__).resolve().parents[1] / "docs" / "criteria.md"

_FAMILIES = {
    "ai_act": "AI-forordningen",
    "gdpr": "Databeskyttelse",
    "fria": "Grundrettighedsvurdering",
    "admin_law": "Forvaltningsret",
    "technical": "Teknik",
    "security": "Sikkerhed",
    "procurement": "Indkøb og kontrakt",
    "governance": "Styring",
}
_STATUS = {
    "opfyldt": "opfyldt",
    "delvist_opfyldt": "delvist opfyldt",
    "ikke_opfyldt": "ikke opfyldt",
    "ikke_relevant": "ikke relevant",
    "kraever_afklaring": "kræver afklaring",
}


def _refs(codes: Sequence[str]) -> str:
    out = []
    for code in codes:
        ref = parse_ref(code)
        mark = " ⚠" if ref.uncertain else ""
        out.append(f"[{ref.text}]({ref.url}){mark}" if ref.url else f"{ref.text}{mark}")
    return "; ".join(out)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _rules(title: str, rules: Sequence[RefRule]) -> list[str]:
    lines = [f"#### {title}", "", "| henvisning | betingelse | begrundelse |", "|---|---|---|"]
    for r in rules:
        lines.append(f"| {_refs([r.ref, *r.extra_refs])} | `{_cell(r.when)}` | {_cell(r.reason)} |")
    return lines + [""]


def render_markdown(cat: CriteriaCatalogue) -> str:
    """The whole page as Markdown (deterministic)."""
    dates = load_legal_dates()
    lines = [
        "<!-- Genereret af pipeline/criteria_docs.py ud fra pipeline/data/criteria. Ret ikke i hånden. -->",
        "",
        f"# Kriteriekataloget (version {cat.version})",
        "",
        "Siden viser alle regler, som vurderingen bruger: navngivne fakta, klassifikationen efter "
        "AI-forordningen, triagen af konsekvensanalyser, forpligtelser med datoer og de enkelte kriterier. "
        "Betingelserne er skrevet i det sikre udtrykssprog (`pipeline/expressions.py`); symbolerne er "
        "spørgsmåls-id'er fra spørgsmålskataloget eller afledte fakta. ⚠ markerer en kilde, der ikke er "
        "bekræftet. Se metoden i [method.md](method.md).",
        "",
        "## Fakta",
        "",
        "| id | betydning | betingelse |",
        "|---|---|---|",
    ]
    lines += [f"| `{f.id}` | {_cell(f.title)} | `{_cell(f.when)}` |" for f in cat.facts]
    cl = cat.classification
    lines += ["", "## Klassifikation efter AI-forordningen", "",
              f"- Ikke et AI-system, når `{cl.ai_system.not_ai_if}`; et AI-system, når `{cl.ai_system.ai_if}`; "
              "ellers kræver det afklaring.",
              f"- Udbyder, når `{_cell(cl.roles.provider_if)}`; idriftsætter, når `{_cell(cl.roles.deployer_if)}`.",
              f"- Artikel 6, stk. 3, påberåbt, når `{_cell(cl.art_6_3.claimed_if)}`; udelukket ved profilering, "
              f"når `{_cell(cl.art_6_3.profiling_if)}`.",
              f"- AI-model til almen brug, når `{_cell(cl.gpai_if)}`.", ""]
    lines += _rules("Udbyder efter artikel 25, stk. 1 (kun for højrisikosystemer)", cl.roles.conversions)
    lines += _rules("Forbudte former for AI-praksis", cl.prohibited)
    lines += _rules("Højrisiko efter artikel 6, stk. 1, og bilag I", cl.annex_i)
    lines += _rules("Højrisiko efter artikel 6, stk. 2, og bilag III", cl.annex_iii)
    lines += _rules("Gennemsigtighed (artikel 50)", cl.transparency)
    d = cat.dpia
    lines += ["## Konsekvensanalyse (DPIA)", "",
              "Påkrævet ved artikel 35, stk. 3, et punkt på Datatilsynets liste eller mindst to af de ni "
              "kriterier i WP248; anbefalet ved ét kriterium (dokumentér hvorfor ikke); ikke påkrævet uden "
              "personoplysninger eller kriterier.", ""]
    lines += _rules("Artikel 35, stk. 3", d.art_35_3)
    lines += ["#### De ni kriterier i WP248", "", "| symbol | kriterium | betingelse |", "|---|---|---|"]
    lines += [f"| `wp248_{w.id}` | {_cell(w.name)} | `{_cell(w.when)}` |" for w in d.wp248]
    lines += ["", "#### Datatilsynets liste", "", "| punkt | betingelse |", "|---|---|"]
    lines += [f"| {_refs([f'DT-LISTE {i.item}'])} | `{_cell(i.when)}` |" for i in d.datatilsynet]
    lines += ["", f"Forudgående høring (artikel 36): `{_cell(d.prior_consultation_if)}`, eller en risiko i "
              f"intakearket med restrisiko på niveau '{d.prior_consultation_min_residual}' eller derover.", ""]
    f = cat.fria
    lines += ["## Grundrettighedsvurdering (artikel 27)", "", f"Påkrævet, når `{_cell(f.required_if)}`.", "",
              "| litra | dækket af besvarelsen, når |", "|---|---|"]
    lines += [f"| {k} | `{_cell(v)}` |" for k, v in f.coverage.items()]
    lines += ["", f"Registrering af anvendelsen (artikel 49, stk. 3), når `{_cell(f.registration_if)}`.", ""]
    lines += ["## Forpligtelser og datoer", "",
              "Datoen vælges i `pipeline/data/legal_dates.yaml` efter vurderingsdatoen: den nyeste kilde, der er "
              "i kraft. Gruppen `hoejrisiko` er bilag III-gruppen for bilag III-systemer og ellers bilag I-gruppen.",
              "", "| datogruppe | dato | kilde |", "|---|---|---|"]
    for gid, group in dates.groups.items():
        for e in group.dates:
            src = dates.sources[e.source]
            mark = " ⚠" if (src.uncertain or e.uncertain) else ""
            lines.append(f"| `{gid}` ({_cell(group.title)}) | {date_long(e.date)} | {_cell(src.name)}{mark} |")
    lines += ["", "| id | aktør | forpligtelse | betingelse | datogruppe | henvisninger |", "|---|---|---|---|---|---|"]
    for ob in cat.obligations:
        lines.append(f"| `{ob.id}` | {ob.actor} | {_cell(ob.title)} | `{_cell(ob.when)}` | `{ob.date_group}` | "
                     f"{_refs(ob.references)} |")
    lines += ["", "## Kriterier", ""]
    for family, title in _FAMILIES.items():
        crits = [c for c in cat.criteria if c.family == family]
        if not crits:
            continue
        lines += [f"### {title}", ""]
        for c in crits:
            lines += [f"#### `{c.id}`: {c.title}", ""]
            if c.description:
                lines += [_cell(c.description), ""]
            lines.append(f"- Relevant, når: `{_cell(c.applies_if)}`" if c.applies_if else "- Relevant: altid")
            if c.needs:
                lines.append(f"- Kræver svar på: {', '.join(f'`{n}`' for n in c.needs)}")
            for o in c.outcomes:
                lines.append(f"- {_STATUS[o.status]} ({o.severity}), når `{_cell(o.if_ or '')}`")
            lines.append(f"- Ellers: {_STATUS[c.default.status]} ({c.default.severity})")
            lines.append(f"- Henvisninger: {_refs(c.references)}")
            if c.uncertain_note:
                lines.append(f"- ⚠ {_cell(c.uncertain_note)}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: Sequence[str] = ()) -> int:
    text = render_markdown(load_criteria())
    if "--check" in argv:
        fresh = DOC_PATH.exists() and DOC_PATH.read_text(encoding="utf-8") == text
        print("docs/criteria.md er opdateret." if fresh else "docs/criteria.md er forældet; kør python -m pipeline.criteria_docs")
        return 0 if fresh else 1
    DOC_PATH.write_text(text, encoding="utf-8")
    print(f"Skrev {DOC_PATH}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
