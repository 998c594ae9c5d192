"""The report-context shortcuts give exactly what the plain computations give (speed work for issue 7).

Each shortcut is compared with the code it replaced, kept here as the reference ("plain"): the question
lookups made once per catalogue, the per-report memo of trace texts, the reused annex items in the system
section, the cached citation letters, the paragraph fast path and the cheap path of ``load_questions``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import _assessment_fixture as fx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import questions
from pipeline import report_context as rc
from pipeline.errors import CatalogueError
from pipeline.evaluate import evaluate
from pipeline.models import Assessment, CriterionResult, LegalRef, TraceItem
from pipeline.questions import QuestionCatalogue, load_questions
from pipeline.validate import validate_workbook

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "intake_templates/examples").glob("*.xlsx"))


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> list[Assessment]:
    out = [fn() for fn in fx.FIXTURES.values()] + [fx.hostile()]
    out += [evaluate(validate_workbook(x), assessment_date=dt.date(2026, 11, 29)) for x in EXAMPLES]
    assert len(out) >= 10
    return out


# --- the plain code the shortcuts replaced ---------------------------------------------------------------


class _PlainQuestions:
    """The catalogue lookups as they were: a scan with getattr on every call."""

    def __init__(self, catalogue: Any | None, lang: str) -> None:
        self.lang = lang
        self.by_id: dict[str, Any] = {}
        self.order: list[str] = []
        self.section_titles: dict[str, str] = {}
        self.section_sheets: dict[str, str] = {}
        if catalogue is None:
            return
        for s in getattr(catalogue, "sections", []) or []:
            sid = getattr(s, "id", "")
            self.section_titles[sid] = rc._text(getattr(s, "title", sid), lang) or sid
            self.section_sheets[sid] = str(getattr(s, "sheet", sid))
        for q in getattr(catalogue, "questions", []) or []:
            self.by_id[q.id] = q
            self.order.append(q.id)

    def label(self, qid: str) -> str:
        q = self.by_id.get(qid)
        return rc.one_line(rc._text(getattr(q, "label", ""), self.lang)) if q is not None else qid

    def section_of(self, qid: str) -> str:
        q = self.by_id.get(qid)
        return str(getattr(q, "section", "")) if q is not None else ""

    def option_label(self, qid: str, code: str, column: str | None = None) -> str:
        q = self.by_id.get(qid)
        if q is None:
            return code
        options = getattr(q, "options", None) or []
        if column is not None:
            for col in getattr(q, "columns", None) or []:
                if getattr(col, "id", None) == column:
                    options = getattr(col, "options", None) or []
        for opt in options:
            if getattr(opt, "code", None) == code:
                return rc._text(getattr(opt, "label", code), self.lang) or code
        return code

    def column_label(self, qid: str, column: str) -> str:
        q = self.by_id.get(qid)
        for col in getattr(q, "columns", None) or []:
            if getattr(col, "id", None) == column:
                return rc.one_line(rc._text(getattr(col, "label", column), self.lang)) or column
        return column


def _plain_answer_item(a: Assessment, qid: str, qs: Any) -> rc.AnswerItem:
    intake = a.intake
    value = intake.answers.get(qid)
    paras = rc.answer_paragraphs(qid, value, qs) if qid in intake.answers else [rc.NOT_ANSWERED]
    loc = intake.locations.get(qid)
    section = qs.section_of(qid)
    sheet = loc.sheet if loc else qs.section_sheets.get(section, "")
    return rc.AnswerItem(
        question_id=qid,
        section=rc.one_line(qs.section_titles.get(section, sheet)) or "(ukendt afsnit)",
        label=qs.label(qid),
        value=" / ".join(paras),
        paragraphs=paras,
        location=f"'{rc.one_line(loc.sheet)}'!{rc.one_line(loc.cell)}" if loc else "(ikke i arket)",
        sheet=rc.one_line(loc.sheet) if loc else "",
        cell=rc.one_line(loc.cell) if loc else "(ikke i arket)",
        group_heading="",
    )


def _plain_paragraphs(value: str) -> list[str]:
    return [p.strip() for p in rc.clean_text(value).split("\n") if p.strip()]


def _plain_shown(c: CriterionResult) -> list[TraceItem]:
    return [t for t in c.trace if rc.one_line(t.value) not in rc.OMITTED_TRACE_VALUES]


def _plain_trace_short(items: Sequence[TraceItem]) -> str:
    out: list[str] = []
    sheet = None
    for t in items:
        label = rc.shorten(rc._HINTS.sub("", rc.one_line(t.label)).rstrip("?: "), rc.SHORT_LABEL)
        value = rc.shorten(rc._HINTS.sub("", rc.one_line(t.value)), rc.SHORT_VALUE)
        if t.sheet and t.cell:
            where = rc.one_line(t.cell) if t.sheet == sheet else f"'{rc.one_line(t.sheet)}'!{rc.one_line(t.cell)}"
            sheet = t.sheet
            out.append(f"{where} {label} = {value}")
        else:
            sheet = None
            out.append(f"{label} = {value}")
    return "; ".join(out)


def _plain_finding(c: CriterionResult, actions: dict[str, str] | None = None) -> rc.Finding:
    shown = _plain_shown(c)
    trace = "; ".join(
        f"{rc.one_line(t.label)}: {rc.one_line(t.value)}"
        + (f" ('{rc.one_line(t.sheet)}'!{rc.one_line(t.cell)})" if t.sheet and t.cell else "")
        for t in shown
    )
    uncertain = c.uncertain or any(r.uncertain for r in c.references)
    note = rc.one_line(c.uncertainty_note or "")
    if uncertain and not note:
        note = "Grundlaget er ikke endeligt bekræftet og bør kontrolleres."
    return rc.Finding(
        id=rc.one_line(c.id),
        family=rc.FAMILY_LABELS[c.family],
        title=rc.one_line(c.title),
        status=rc.STATUS_LABELS[c.status],
        status_code=c.status,
        severity=rc.LEVEL_LABELS[c.severity],
        finding=rc.one_line(c.finding),
        recommendation=rc.one_line(c.recommendation or ""),
        references=[rc._ref(r) for r in c.references],
        references_text=rc._refs_text(c.references) or "(ingen henvisning)",
        trace=trace or "(ingen svar)",
        trace_short=_plain_trace_short(shown) or "(ingen svar)",
        action=(actions or {}).get(c.id, ""),
        uncertain=uncertain,
        uncertainty_note=note,
    )


def _plain_letter_of(refs: Sequence[LegalRef], prefix: str) -> set[str]:
    letters: set[str] = set()
    for r in refs:
        m = re.match(re.escape(prefix) + r"\(([a-f])\)", r.code.replace(" ", ""))
        if m:
            letters.add(m.group(1))
    return letters


# --- question lookups made once per catalogue -------------------------------------------------------------


def _lookups(qs: Any, qids: Sequence[str], codes: dict[str, list[Any]], columns: dict[str, list[Any]]) -> list[Any]:
    out: list[Any] = [qs.order, qs.section_titles, qs.section_sheets]
    for qid in qids:
        out += [qs.label(qid), qs.section_of(qid), qs.by_id.get(qid) is not None]
        for code in codes.get(qid, []) + ["ukendt_kode", ""]:
            out.append(qs.option_label(qid, code))
            for col in columns.get(qid, []) + ["ukendt_kolonne"]:
                out.append(qs.option_label(qid, code, col))
        for col in columns.get(qid, []) + ["ukendt_kolonne"]:
            out.append(qs.column_label(qid, col))
    return out


@pytest.mark.parametrize("lang", ["da", "en"])
def test_question_lookups_equal_the_plain_scan_for_the_catalogue(lang: str) -> None:
    cat = load_questions()
    qids = [q.id for q in cat.questions] + ["ukendt_spoergsmaal"]
    codes: dict[str, list[Any]] = {}
    columns: dict[str, list[Any]] = {}
    for q in cat.questions:
        codes[q.id] = [o.code for o in q.options] + [o.code for c in q.columns for o in c.options]
        columns[q.id] = [c.id for c in q.columns]
    assert sum(map(len, codes.values())) > 50 and sum(map(len, columns.values())) > 3  # exercised
    assert _lookups(rc._questions(cat, lang), qids, codes, columns) == _lookups(_PlainQuestions(cat, lang), qids, codes, columns)


def _ns(**kw: Any) -> SimpleNamespace:
    return SimpleNamespace(**kw)


_ids = st.sampled_from(["a", "b", "c"])
_texts = st.one_of(st.none(), st.sampled_from(["", "Tekst", "  to\nlinjer ", "æøå"]), st.fixed_dictionaries({"da": st.sampled_from(["", "Dansk"]), "en": st.sampled_from(["", "English"])}))
_options = st.lists(st.builds(_ns, code=_ids, label=_texts), max_size=4)
_columns = st.lists(st.builds(_ns, id=_ids, label=_texts, options=_options), max_size=3)
_questions_st = st.lists(st.builds(_ns, id=_ids, label=_texts, section=_ids, options=_options, columns=_columns), max_size=4)
_sections = st.lists(st.builds(_ns, id=_ids, title=_texts, sheet=st.sampled_from(["1 Sag", "2 System"])), max_size=3)


@settings(max_examples=300, deadline=None)
@given(_questions_st, _sections, st.sampled_from(["da", "en"]))
def test_question_lookups_equal_the_plain_scan_for_odd_catalogues(qs: list[Any], sections: list[Any], lang: str) -> None:
    """Catalogue-like objects with repeated ids, missing labels and unknown columns (first/last match rules)."""
    cat = _ns(questions=qs, sections=sections)
    ids = ["a", "b", "c", "x"]
    codes = dict.fromkeys(ids, ["a", "b", "c"])
    columns = dict.fromkeys(ids, ["a", "b", "c"])
    assert _lookups(rc._questions(cat, lang), ids, codes, columns) == _lookups(_PlainQuestions(cat, lang), ids, codes, columns)
    assert _lookups(rc._questions(None, lang), ids, codes, columns) == _lookups(_PlainQuestions(None, lang), ids, codes, columns)


def test_question_lookups_live_on_the_catalogue_and_never_on_a_copy() -> None:
    cat = load_questions()
    qs = rc._questions(cat, "da")
    assert rc._questions(cat, "da") is qs  # made once per catalogue and language
    assert rc._questions(cat, "en") is not qs and rc._questions(cat, "en").lang == "en"
    changed = cat.model_copy(update={"questions": cat.questions[:3]})  # a copy shares ``derived``
    assert rc._questions(changed, "da").order == [q.id for q in cat.questions[:3]]
    assert rc._questions(cat, "da").order == [q.id for q in cat.questions]
    other = _ns(questions=cat.questions[:2], sections=cat.sections)  # not a QuestionCatalogue: read afresh
    assert rc._questions(other, "da") is not rc._questions(other, "da")


# --- answer items ------------------------------------------------------------------------------------------


def test_answer_items_equal_the_plain_ones(cases: list[Assessment]) -> None:
    cat = load_questions()
    for a in cases:
        for lang in ("da", "en"):
            fast, plain = rc._questions(cat, lang), _PlainQuestions(cat, lang)
            ids = list(a.intake.answers) + [q.id for q in cat.questions[:40]] + ["ukendt"]  # answered, not, unknown
            for qid in ids:
                assert rc._answer_item(a, qid, fast) == _plain_answer_item(a, qid, plain)  # type: ignore[arg-type]
                assert rc.answer_paragraphs(qid, a.intake.answers.get(qid), fast) == rc.answer_paragraphs(
                    qid, a.intake.answers.get(qid), plain  # type: ignore[arg-type]
                )


def test_answer_items_without_a_catalogue_or_location_equal_the_plain_ones(cases: list[Assessment]) -> None:
    odd = _ns(questions=[], sections=[_ns(id="", title="Tom sektion", sheet="")])
    for a in cases:
        bare = a.model_copy(update={"intake": a.intake.model_copy(update={"locations": {}})})
        for cat in (None, odd):
            for x in (a, bare):
                for qid in list(x.intake.answers)[:30] + ["ukendt"]:
                    assert rc._answer_item(x, qid, rc._questions(cat, "da")) == _plain_answer_item(x, qid, _PlainQuestions(cat, "da"))


def test_system_section_reuses_the_annex_items(cases: list[Assessment]) -> None:
    cat = load_questions()
    qs, plain = rc._questions(cat, "da"), _PlainQuestions(cat, "da")
    for a in cases:
        ctx = rc.build_context(a, catalogue=cat)
        ids = [q for q in plain.order if plain.section_of(q) in rc.SYSTEM_SECTIONS and q in a.intake.answers]
        if not ids:
            ids = [q for r in ("system_name", "purpose", "description", "phase") for q in rc.ANSWER_ROLES[r] if q in a.intake.answers]
        assert ctx.system == [_plain_answer_item(a, q, plain) for q in dict.fromkeys(ids)]
        assert rc._system_items(a, qs) == ctx.system  # without the annex items: built afresh, the same
    assert any(ctx.system for ctx in (rc.build_context(a, catalogue=cat) for a in cases))


texts = st.lists(
    st.sampled_from(["a", "æ", " ", "  ", "\n", "\r\n", "\r", "\t", "\x00", "\x0b", "\ud800", "\ufffe", "\u2060",
                     "_", "{_{", "}_}", "{_%", "%_}", "x_y", "\u00a0", "\u2028", "ord", "(fx y)", "⚠"]),
    max_size=14,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(texts)
def test_paragraph_fast_path_equals_clean_text_split(text: str) -> None:
    assert rc.paragraphs(text) == _plain_paragraphs(text)


def test_paragraph_fast_path_holds_for_every_character() -> None:
    for cp in range(0x110000):
        ch = chr(cp)
        if ch.isprintable() and ch != "_":  # the fast path's condition
            assert rc.clean_text(ch) == ch, hex(cp)


# --- findings ------------------------------------------------------------------------------------------------


def test_findings_equal_the_plain_ones(cases: list[Assessment]) -> None:
    shared = False
    for a in cases:
        memo: rc._TraceMemo = {}
        acts = {c.id: str(n) for n, c in enumerate(a.criteria[::3], start=1)}
        for c in a.criteria:
            plain = _plain_finding(c, acts)
            assert rc._finding(c, acts, memo) == plain  # the memo is shared by the report's criteria
            assert rc._finding(c, acts) == plain
        shared = shared or len(memo) < sum(len(c.trace) for c in a.criteria)
    assert shared  # answers recur across criteria: the memo is exercised


_trace_items = st.builds(
    TraceItem,
    question_id=st.just("q"),
    label=st.sampled_from(["Teknik", "Hvilken teknik (vælg alle)?", "Formål:", " lang " * 12]),
    sheet=st.sampled_from([None, "", "2 System", "3 Data"]),
    cell=st.sampled_from([None, "", "C7", "D14"]),
    value=st.sampled_from(["Ja", "", rc.NOT_ANSWERED, "(ikke relevant for dette system)", " (ikke besvaret) ", "Maskinlæring (fx LLM)", "x\ny", "ord " * 20]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_trace_items, max_size=6), min_size=1, max_size=4))
def test_trace_texts_with_a_shared_memo_equal_the_plain_ones(traces: list[list[TraceItem]]) -> None:
    memo: rc._TraceMemo = {}
    for trace in traces:
        c = CriterionResult(id="k", family="gdpr", title="T", status="opfyldt", severity="lav", finding="F", trace=trace)
        assert rc._finding(c, None, memo) == _plain_finding(c)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["GDPR 35(7)(a)", "GDPR 35(7)(d)", "GDPR 35(7)", "GDPR 35(3)(a)", "AIA 27(1)(f)",
                                 "AIA 27(1)(g)", "AIA 27 (1) (b)", "AIA 6(3)", "GDPR35(7)(c)x"]), max_size=5))
def test_citation_letters_equal_the_plain_regex(codes: list[str]) -> None:
    refs = [LegalRef(code=code, text="t") for code in codes]
    for prefix in ("GDPR35(7)", "AIA27(1)"):
        assert rc._letter_of(refs, prefix) == _plain_letter_of(refs, prefix)


# --- load_questions --------------------------------------------------------------------------------------


def test_load_questions_default_path_equals_the_resolved_path() -> None:
    assert load_questions() is load_questions(questions.DEFAULT_PATH)
    assert load_questions().path == str(questions.DEFAULT_PATH.resolve())


def test_load_questions_still_sees_a_changed_bundled_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = questions.DEFAULT_PATH.read_text(encoding="utf-8")
    path = tmp_path / "questions.yaml"
    path.write_text(src, encoding="utf-8")
    monkeypatch.setattr(questions, "DEFAULT_PATH", path)
    first = load_questions()
    assert first.path == str(path.resolve()) and first is load_questions()
    path.write_text(src.replace('version: "', 'version: "9', 1), encoding="utf-8")
    os.utime(path, ns=(1, 1))  # a different mtime as well as size
    second = load_questions()
    assert second is not first and second.version.startswith("9")
    path.unlink()
    with pytest.raises(CatalogueError, match="spørgsmålskataloget findes ikke"):
        load_questions()


def test_catalogue_views_are_kept_on_the_catalogue() -> None:
    cat = load_questions()
    assert isinstance(cat, QuestionCatalogue)
    assert cat.derived is cat.derived
    qs = rc._questions(cat, "da")
    assert cat.derived[("report_context.questions", "da")] is qs and qs.catalogue is cat
