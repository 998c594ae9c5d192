"""Safe conditions over answers, in the rule-engine expression language (never ``eval``).

Used by the question catalogue (``applies_if``) and the criteria catalogue (``when`` …). Symbols are
question ids; their types come from the question catalogue, so a condition that names an unknown
question, or compares a yes/no answer with text, is refused when the catalogue is loaded.

Examples a lawyer can read::

    phase == "udvikling"
    "generativ" in technique
    personal_data == true and "helbred" in data_categories
    affected_count >= 10000

Unanswered questions resolve to ``null`` (scalars) or ``[]`` (multiple choice and tables). Write
``x == false`` rather than ``not x`` when an unanswered question must not count as "no".
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import rule_engine

__all__ = ["Condition", "ConditionError", "DataType", "compile_condition"]

DataType = rule_engine.DataType


class ConditionError(ValueError):
    """The condition text is not valid (syntax, unknown symbol or type mismatch)."""


@dataclass
class Condition:
    """A compiled condition. ``evaluate`` returns the bool and the symbols it actually read."""

    text: str
    _rule: rule_engine.Rule = field(repr=False)
    symbols: frozenset[str] = frozenset()
    comparisons: tuple[tuple[str, Any], ...] = ()  # (symbol, literal) pairs: lets loaders check option codes

    def evaluate(self, values: Mapping[str, Any], array_symbols: frozenset[str] = frozenset()) -> bool:
        return self.evaluate_traced(values, array_symbols)[0]

    def evaluate_traced(
        self, values: Mapping[str, Any], array_symbols: frozenset[str] = frozenset()
    ) -> tuple[bool, list[str]]:
        """Evaluate; also return the symbols read, in order (the trace of the conclusion)."""
        read: list[str] = []

        def resolve(_thing: object, name: str) -> Any:
            if name not in read:
                read.append(name)
            value = values.get(name)
            if value is None and name in array_symbols:
                return []
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                return dt.datetime(value.year, value.month, value.day)
            if isinstance(value, list) and value and isinstance(value[0], dict):
                return list(range(len(value)))  # tables: only their row count matters in conditions
            return value

        context = rule_engine.Context(
            resolver=resolve, type_resolver=self._rule.context.resolve_type, default_value=None
        )
        try:
            rule = rule_engine.Rule(self.text, context=context)
            return bool(rule.evaluate(None)), read
        except rule_engine.EngineError as exc:  # pragma: no cover - guarded by compile-time checks
            raise ConditionError(f"{self.text!r}: {exc}") from exc


def _children(node: object) -> list[object]:
    names: list[str] = list(getattr(node, "__dict__", {}).keys())
    for klass in type(node).__mro__:
        names.extend(getattr(klass, "__slots__", ()))
    out: list[object] = []
    for name in dict.fromkeys(names):
        if name.startswith("_evaluator"):
            continue
        value = getattr(node, name, None)
        if isinstance(value, list | tuple):
            out.extend(value)
        else:
            out.append(value)
    return out


def _literal(node: object) -> tuple[bool, Any]:
    ast = rule_engine.ast
    if isinstance(node, ast.StringExpression | ast.FloatExpression | ast.BooleanExpression):
        return True, node.value
    return False, None


def _walk(node: object, symbols: set[str], comparisons: list[tuple[str, Any]], depth: int = 0) -> None:
    """Collect symbol names and (symbol, literal) pairs compared with ==, != or ``in``."""
    ast = rule_engine.ast
    if depth > 200 or node is None:
        return
    if isinstance(node, ast.SymbolExpression):
        symbols.add(node.name)
        return
    if isinstance(node, ast.ComparisonExpression) and node.type in ("eq", "ne"):
        for sym, lit in ((node.left, node.right), (node.right, node.left)):
            is_lit, value = _literal(lit)
            if isinstance(sym, ast.SymbolExpression) and is_lit:
                comparisons.append((sym.name, value))
    if isinstance(node, ast.ContainsExpression):
        is_lit, value = _literal(node.member)
        if isinstance(node.container, ast.SymbolExpression) and is_lit:
            comparisons.append((node.container.name, value))
    if isinstance(node, ast.ASTNodeBase | ast.Statement):
        for child in _children(node):
            if isinstance(child, ast.ASTNodeBase | ast.Statement):
                _walk(child, symbols, comparisons, depth + 1)


_PY_TYPE = {str: "STRING", float: "FLOAT", Decimal: "FLOAT", int: "FLOAT", bool: "BOOLEAN"}


def _check_comparisons(text: str, types: Mapping[str, Any], comparisons: list[tuple[str, Any]]) -> None:
    for name, value in comparisons:
        declared = types.get(name)
        if declared is None or value is None:
            continue
        if isinstance(declared, rule_engine.types._CollectionDataTypeDef):
            declared = declared.value_type
        expected = _PY_TYPE.get(type(value))
        if expected and getattr(declared, "name", None) != expected:
            raise ConditionError(
                f"ugyldig betingelse {text!r}: '{name}' er af typen {declared.name}, "
                f"men sammenlignes med {value!r}"
            )


def compile_condition(text: str, types: Mapping[str, Any]) -> Condition:
    """Parse and type-check ``text`` against ``types`` (symbol -> rule_engine.DataType)."""
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("betingelsen er tom")
    if len(text) > 2000:
        raise ConditionError("betingelsen er for lang (over 2000 tegn)")
    context = rule_engine.Context(
        type_resolver=rule_engine.type_resolver_from_dict(dict(types)), default_value=None
    )
    try:
        rule = rule_engine.Rule(text, context=context)
    except rule_engine.SymbolResolutionError as exc:
        raise ConditionError(f"ukendt spørgsmål '{exc.symbol_name}' i betingelsen {text!r}") from exc
    except rule_engine.EngineError as exc:
        raise ConditionError(f"ugyldig betingelse {text!r}: {exc.message}") from exc
    symbols: set[str] = set()
    comparisons: list[tuple[str, Any]] = []
    _walk(rule.statement, symbols, comparisons)
    _check_comparisons(text, types, comparisons)
    return Condition(text=text, _rule=rule, symbols=frozenset(symbols), comparisons=tuple(comparisons))
