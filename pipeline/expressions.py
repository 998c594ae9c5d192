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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import rule_engine

__all__ = ["Condition", "ConditionError", "DataType", "compile_condition", "new_state"]

DataType = rule_engine.DataType


class ConditionError(ValueError):
    """The condition text is not valid (syntax, unknown symbol or type mismatch)."""


class _State:
    """What the resolver reads from during one evaluation (passed to rule-engine as the 'thing')."""

    __slots__ = ("arrays", "read", "values")

    def __init__(self, values: Mapping[str, Any], arrays: frozenset[str]) -> None:
        self.values = values
        self.arrays = arrays
        self.read: list[str] = []


def new_state(values: Mapping[str, Any], arrays: frozenset[str] = frozenset()) -> _State:
    """A state for :meth:`Condition.evaluate_state` over ``values`` (not copied: later changes are seen)."""
    return _State(values, arrays)


def _resolve(state: _State, name: str) -> Any:
    """An answer as conditions see it: [] for an unanswered list, dates as datetimes, numbers as
    Decimal (like rule-engine's own literals), tables as their row count."""
    read = state.read
    if name not in read:
        read.append(name)
    value = state.values.get(name)
    if value is None:
        return [] if name in state.arrays else None
    if type(value) is bool or type(value) is str:  # the common answers; none of the cases below applies
        return value
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return list(range(len(value)))  # tables: only their row count matters in conditions
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


class _Undefined(Exception):
    """A comparison met an unanswered value (e.g. ``affected_count >= 10000`` with no count)."""


_ARITH = {
    "ge": lambda a, b: a >= b,
    "gt": lambda a, b: a > b,
    "le": lambda a, b: a <= b,
    "lt": lambda a, b: a < b,
}

Fn = Callable[[_State], Any]  # evaluates a node; symbols are read through _resolve(state, name)


def _closure(node: Any) -> Fn | None:  # noqa: C901 - one case per node type
    """Translate rule-engine's syntax tree into Python closures with rule-engine's semantics.

    Parsing and type checking stay with rule-engine; this only makes evaluation ~10x faster for the node
    types the catalogues use (and/or/not, ==, !=, in, <, <=, >, >=, literals, symbols, ``.length``).
    ``None`` means "not covered": the caller evaluates with rule-engine itself. Tests check that both
    paths agree on every condition in both catalogues.
    """
    ast = rule_engine.ast
    if isinstance(node, ast.Statement):
        return _closure(node.expression)
    if isinstance(node, ast.StringExpression | ast.FloatExpression | ast.BooleanExpression):
        value = node.value
        return lambda st: value
    if isinstance(node, ast.NullExpression):
        return lambda st: None
    if isinstance(node, ast.SymbolExpression):
        name = node.name
        return lambda st: _resolve(st, name)
    if isinstance(node, ast.GetAttributeExpression) and node.name == "length":
        obj = _closure(node.object)
        return None if obj is None else (lambda st: Decimal(len(obj(st) or ())))
    if isinstance(node, ast.UnaryExpression) and node.type == "not":
        inner = _closure(node.right)
        return None if inner is None else (lambda st: not inner(st))
    if isinstance(node, ast.ContainsExpression):
        is_lit, value = _literal(node.member)
        if is_lit and isinstance(node.container, ast.SymbolExpression):  # '"x" in symbol': one call, not three
            name = node.container.name
            return lambda st: value in (_resolve(st, name) or ())
        member, container = _closure(node.member), _closure(node.container)
        if member is None or container is None:
            return None
        return lambda st: member(st) in (container(st) or ())
    if not hasattr(node, "left") or not hasattr(node, "right"):
        return None
    left, right = _closure(node.left), _closure(node.right)
    if left is None or right is None:
        return None
    kind = getattr(node, "type", None)
    if isinstance(node, ast.LogicExpression):
        if kind == "and":
            return lambda st: bool(left(st)) and bool(right(st))
        if kind == "or":
            return lambda st: bool(left(st)) or bool(right(st))
        return None
    if isinstance(node, ast.ArithmeticComparisonExpression):
        if kind not in _ARITH:
            return None
        op = _ARITH[kind]

        def compare(st: _State) -> bool:
            a, b = left(st), right(st)
            if a is None or b is None:
                raise _Undefined
            return bool(op(a, b))

        return compare
    if isinstance(node, ast.ComparisonExpression) and kind in ("eq", "ne"):
        # 'symbol == literal' (most conditions): resolve and compare in one call; operands keep their order.
        is_lit, value = _literal(node.right)
        if is_lit and isinstance(node.left, ast.SymbolExpression):
            name = node.left.name
            if kind == "eq":
                return lambda st: _resolve(st, name) == value
            return lambda st: _resolve(st, name) != value
        if kind == "eq":
            return lambda st: left(st) == right(st)
        return lambda st: left(st) != right(st)
    return None


@dataclass
class Condition:
    """A condition parsed and type-checked once; evaluation never re-parses."""

    text: str
    _rule: rule_engine.Rule = field(repr=False)
    symbols: frozenset[str] = frozenset()
    comparisons: tuple[tuple[str, Any], ...] = ()  # (symbol, literal) pairs: lets loaders check option codes
    _fn: Fn | None = field(default=None, repr=False)

    def evaluate(
        self,
        values: Mapping[str, Any],
        array_symbols: frozenset[str] = frozenset(),
        *,
        undefined: bool | None = None,
    ) -> bool:
        return self.evaluate_traced(values, array_symbols, undefined=undefined)[0]

    def evaluate_traced(
        self,
        values: Mapping[str, Any],
        array_symbols: frozenset[str] = frozenset(),
        *,
        undefined: bool | None = None,
    ) -> tuple[bool, list[str]]:
        """Evaluate; also return the symbols read, in order (the trace of the conclusion).

        ``undefined``: the result when a comparison meets an unanswered value; ``None`` raises
        :class:`ConditionError` instead.
        """
        return self.evaluate_state(_State(values, array_symbols), undefined=undefined)

    def evaluate_state(self, state: _State, *, undefined: bool | None = None) -> tuple[bool, list[str]]:
        """:meth:`evaluate_traced` on a state from :func:`new_state`, which one run may reuse for all its
        conditions: the state only points at the values mapping (read as it is at each call) and gets a
        fresh ``read`` list here, so the result is the same as with a new state (a test compares)."""
        state.read = []
        try:
            if self._fn is not None:
                return bool(self._fn(state)), state.read
            return bool(self._rule.evaluate(state)), state.read
        except (_Undefined, rule_engine.EngineError) as exc:
            if undefined is None:
                raise ConditionError(f"{self.text!r}: sammenligning med et ubesvaret spørgsmål") from exc
            return undefined, state.read

    def evaluate_reference(
        self, values: Mapping[str, Any], array_symbols: frozenset[str] = frozenset()
    ) -> bool:
        """Evaluate with rule-engine itself, bypassing the closures (tests compare the two)."""
        return bool(self._rule.evaluate(_State(values, array_symbols)))


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
        resolver=_resolve,
        type_resolver=rule_engine.type_resolver_from_dict(dict(types)),
        default_value=None,
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
    return Condition(
        text=text,
        _rule=rule,
        symbols=frozenset(symbols),
        comparisons=tuple(comparisons),
        _fn=_closure(rule.statement),
    )
