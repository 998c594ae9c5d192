"""Helpers for the engine tests (owned by the assessment-engine tests): build an Intake from an answer file.

The scenario answer files in ``intake_templates/examples/*.yaml`` are keyed by question id. Like the
validator, the helper removes answers to questions that do not apply, so rules never see them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import yaml

from pipeline.models import CellRef, Intake, SourceInfo
from pipeline.questions import load_questions

EXAMPLES = Path(__file__).resolve().parents[1] / "intake_templates" / "examples"


def drop_inapplicable(answers: dict[str, Any]) -> dict[str, Any]:
    """Remove answers whose ``applies_if`` is false, repeating until nothing changes (as the validator does)."""
    qc = load_questions()
    current = dict(answers)
    while True:
        kept = {k: v for k, v in current.items() if k not in qc.by_id or qc.applies(k, current)}
        if kept == current:
            return kept
        current = kept


def normalise(answers: dict[str, Any]) -> dict[str, Any]:
    qc = load_questions()
    out: dict[str, Any] = {}
    for key, value in answers.items():
        q = qc.by_id.get(key)
        if q is not None and q.type == "percentage" and isinstance(value, int | float):
            value = float(value)
        if q is not None and q.type == "date" and isinstance(value, str):
            value = dt.date.fromisoformat(value)
        if q is not None and q.type == "multi_choice" and isinstance(value, list):
            order = [o.code for o in q.options]
            value = sorted(value, key=lambda c: order.index(c) if c in order else len(order))
        out[key] = value
    return out


def intake_from_answers(answers: dict[str, Any], name: str = "case.xlsx") -> Intake:
    clean = drop_inapplicable(normalise(answers))
    locations = {qid: CellRef(sheet="Ark", cell=f"C{i + 2}") for i, qid in enumerate(clean)}
    digest = hashlib.sha256(repr(sorted(clean.items(), key=lambda kv: kv[0])).encode()).hexdigest()
    return Intake(source=SourceInfo(file_name=name, sha256=digest), answers=clean, locations=locations)


def scenario_answers(prefix: str) -> dict[str, Any]:
    path = next(EXAMPLES.glob(f"{prefix}-*.yaml"))
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def scenario_intake(prefix: str) -> Intake:
    return intake_from_answers(scenario_answers(prefix), name=f"{prefix}.xlsx")
