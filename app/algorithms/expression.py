"""A small, safe arithmetic expression language over arrays, for ``band_math``.

The text is parsed with ``ast.parse(mode="eval")`` and then *translated*, node by node, into a
tree of our own (:class:`Const`, :class:`Var`, :class:`Apply`) through a whitelist: anything not
listed below is refused with an ``InvalidParameterValue`` naming the offending token. The tree is
evaluated by our own interpreter over numpy arrays (float64); user text is never ``eval``-ed,
compiled to code or given access to Python objects.

The language:

- numbers (``2``, ``0.5``, ``1e-3``), ``nan``, and the variables the caller declares (``b1``...);
- ``+ - * / // % **`` and unary ``-`` / ``+``; booleans (comparisons) count as 1 and 0 in arithmetic;
- comparisons ``< <= > >= == !=`` (chains like ``0 < b1 < 10`` too), giving booleans;
- logic: ``&``, ``|``, ``~`` on booleans (comparisons or logic; ``b1 > 0 & b2 > 0`` is refused
  because ``&`` binds tighter than ``>``: write ``(b1 > 0) & (b2 > 0)``), and ``and``, ``or``,
  ``not`` element-wise, where a number is true when non-zero;
- functions: ``where(cond, a, b)``, ``abs``, ``sqrt``, ``log`` (natural), ``log10``, ``exp``,
  ``floor``, ``ceil``, element-wise ``min(a, b, ...)`` and ``max(a, b, ...)`` (two or more
  arguments: they are not reductions), ``clip(x, lo, hi)``.

Limits: at most ``MAX_LENGTH`` characters, ``MAX_DEPTH`` levels of nesting, ``MAX_NODES`` syntax
nodes; a constant exponent at most ``MAX_EXPONENT`` in magnitude (constant sub-expressions are
folded first, so ``9 ** 9 ** 9`` is refused, and a constant part must give a finite number:
``10 ** 400``, ``1 / 0`` are refused). Evaluation follows IEEE arithmetic without warnings: where
``b1`` is 0, ``1 / b1`` is inf and ``b1 / b1`` NaN; ``sqrt`` and ``log`` of negatives are NaN;
NaN in a comparison is false, and as a condition (``where``, ``and``) it counts as true.
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.model.errors import InvalidParameterValue

MAX_LENGTH = 1000
MAX_DEPTH = 100
MAX_NODES = 1000
MAX_EXPONENT = 1000.0

Value = Any  # a numpy array or scalar (float64 or bool)


@dataclass(frozen=True)
class Const:
    """A number (or a folded boolean constant)."""

    value: float
    boolean: bool = False


@dataclass(frozen=True)
class Var:
    """A variable the caller provides (``b1``...)."""

    name: str
    boolean: bool = False


@dataclass(frozen=True)
class Apply:
    """An operator or function applied to its arguments."""

    op: str
    args: tuple[Node, ...]
    boolean: bool = False


Node = Const | Var | Apply


def _num(value: Value) -> Value:
    """Booleans as 0.0/1.0 for arithmetic."""
    return np.asarray(value, dtype=np.float64) if np.asarray(value).dtype == bool else value


def _truth(value: Value) -> Value:
    """Booleans as they are; numbers are true when non-zero."""
    return value if np.asarray(value).dtype == bool else np.not_equal(value, 0.0)


def _numeric(ufunc: Callable[..., Value]) -> Callable[..., Value]:
    return lambda *args: ufunc(*(_num(arg) for arg in args))


def _logical(ufunc: Callable[..., Value]) -> Callable[..., Value]:
    return lambda *args: functools.reduce(ufunc, (_truth(arg) for arg in args))


_ARITHMETIC: dict[str, Callable[..., Value]] = {
    "+": _numeric(np.add),
    "-": _numeric(np.subtract),
    "*": _numeric(np.multiply),
    "/": _numeric(np.true_divide),
    "//": _numeric(np.floor_divide),
    "%": _numeric(np.mod),
    "**": _numeric(np.power),
    "neg": _numeric(np.negative),
}
_COMPARISONS: dict[str, Callable[..., Value]] = {
    "<": _numeric(np.less),
    "<=": _numeric(np.less_equal),
    ">": _numeric(np.greater),
    ">=": _numeric(np.greater_equal),
    "==": _numeric(np.equal),
    "!=": _numeric(np.not_equal),
}
_LOGIC: dict[str, Callable[..., Value]] = {
    "&": _logical(np.logical_and),
    "|": _logical(np.logical_or),
    "and": _logical(np.logical_and),
    "or": _logical(np.logical_or),
    "~": lambda x: np.logical_not(_truth(x)),
    "not": lambda x: np.logical_not(_truth(x)),
}
# name -> (function, least and most arguments; None = any number)
_FUNCTIONS: dict[str, tuple[Callable[..., Value], int, int | None]] = {
    "abs": (_numeric(np.abs), 1, 1),
    "sqrt": (_numeric(np.sqrt), 1, 1),
    "log": (_numeric(np.log), 1, 1),
    "log10": (_numeric(np.log10), 1, 1),
    "exp": (_numeric(np.exp), 1, 1),
    "floor": (_numeric(np.floor), 1, 1),
    "ceil": (_numeric(np.ceil), 1, 1),
    "min": (lambda *args: functools.reduce(np.minimum, map(_num, args)), 2, None),
    "max": (lambda *args: functools.reduce(np.maximum, map(_num, args)), 2, None),
    "clip": (lambda x, lo, hi: np.minimum(np.maximum(_num(x), _num(lo)), _num(hi)), 3, 3),
    "where": (lambda cond, a, b: np.where(_truth(cond), _num(a), _num(b)), 3, 3),
}
_OPERATIONS: dict[str, Callable[..., Value]] = {
    **_ARITHMETIC,
    **_COMPARISONS,
    **_LOGIC,
    **{name: spec[0] for name, spec in _FUNCTIONS.items()},
}
FUNCTION_NAMES = tuple(_FUNCTIONS)

_BINARY = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.BitAnd: "&",
    ast.BitOr: "|",
}
_UNARY = {ast.USub: "neg", ast.UAdd: "pos", ast.Invert: "~", ast.Not: "not"}
_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_OPERATOR_TEXT = {
    ast.MatMult: "@",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}
_REFUSED: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access is",
    ast.Subscript: "subscripts are",
    ast.Slice: "slices are",
    ast.Lambda: "'lambda' is",
    ast.NamedExpr: "':=' is",
    ast.Starred: "'*' unpacking is",
    ast.Tuple: "tuples are",
    ast.List: "lists are",
    ast.Set: "sets are",
    ast.Dict: "dicts are",
    **dict.fromkeys((ast.JoinedStr, ast.FormattedValue), "f-strings are"),
    **dict.fromkeys((ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp), "comprehensions are"),
    **dict.fromkeys((ast.Await, ast.Yield, ast.YieldFrom), "'await' and 'yield' are"),
}


@dataclass(frozen=True)
class Expression:
    """A checked expression: evaluate it with a mapping from variable name to array."""

    text: str
    root: Node
    names: tuple[str, ...]  # the variables it uses, in declaration order

    def evaluate(self, values: Mapping[str, Value]) -> Value:
        """The value (float64 or bool, array or scalar); IEEE results, no warnings."""
        with np.errstate(all="ignore"):
            return _evaluate(self.root, values)

    @property
    def boolean(self) -> bool:
        """Whether the result is a boolean (a comparison or logic)."""
        return self.root.boolean


def _evaluate(node: Node, values: Mapping[str, Value]) -> Value:
    if isinstance(node, Const):
        return np.bool_(node.value) if node.boolean else np.float64(node.value)
    if isinstance(node, Var):
        return values[node.name]
    return _OPERATIONS[node.op](*(_evaluate(arg, values) for arg in node.args))


def parse_expression(text: str, variables: Sequence[str], *, locator: str = "expression") -> Expression:
    """Check ``text`` against the language and the declared ``variables``; InvalidParameterValue if not."""
    source = " ".join(text.split())  # line breaks and tabs are plain spaces (no indentation rules)
    try:
        tree = _parse(source)
        with np.errstate(all="ignore"):
            root = _Translator(source, tuple(variables)).node(tree.body)
    except _Refused as refused:
        raise InvalidParameterValue(f"invalid expression: {refused}", locator=locator) from None
    used = set(_variables(root))
    return Expression(source, root, tuple(name for name in variables if name in used))


class _Refused(Exception):
    """Why the expression is not accepted (the message names the token)."""


def _parse(source: str) -> ast.Expression:
    if not source:
        raise _Refused("the expression is empty")
    if len(source) > MAX_LENGTH:
        raise _Refused(f"too long ({len(source)} characters; at most {MAX_LENGTH})")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        column = exc.offset or 1
        near = source[column - 1 : column + 9]
        raise _Refused(f"syntax error at column {column} near {near!r}: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise _Refused(f"cannot be parsed ({type(exc).__name__})") from None
    _check_size(tree)
    return tree


def _check_size(tree: ast.AST) -> None:
    """Refuse too many nodes or too deep nesting (walked without recursion)."""
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise _Refused(f"nested too deeply (more than {MAX_DEPTH} levels)")
        if count > MAX_NODES:
            raise _Refused(f"too many terms (more than {MAX_NODES} syntax nodes)")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _variables(node: Node) -> list[str]:
    if isinstance(node, Var):
        return [node.name]
    if isinstance(node, Apply):
        return [name for arg in node.args for name in _variables(arg)]
    return []


class _Translator:
    """Python AST -> our tree, refusing everything outside the whitelist."""

    def __init__(self, source: str, variables: tuple[str, ...]) -> None:
        self.source = source
        self.variables = variables

    def node(self, node: ast.AST) -> Node:
        """Translate one node (dispatch on its type)."""
        method = getattr(self, f"_{type(node).__name__.lower()}", None)
        if method is None:
            raise self._refused(node)
        result: Node = method(node)
        return result

    def _refused(self, node: ast.AST) -> _Refused:
        if isinstance(node, ast.Attribute):
            return _Refused(f"attribute access is not allowed: '.{node.attr}'")
        if isinstance(node, ast.IfExp):
            return _Refused(f"'if ... else' is not allowed (use where(cond, a, b)): {self._text(node)!r}")
        what = _REFUSED.get(type(node), f"'{type(node).__name__}' is")
        return _Refused(f"{what} not allowed: {self._text(node)!r}")

    def _text(self, node: ast.AST) -> str:
        segment = ast.get_source_segment(self.source, node) or type(node).__name__
        return segment if len(segment) <= 40 else segment[:37] + "..."

    def _constant(self, node: ast.Constant) -> Node:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Refused(f"only numbers are allowed as constants: {self._text(node)!r}")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise _Refused(f"number {self._text(node)!r} is too large")
        return Const(number)

    def _name(self, node: ast.Name) -> Node:
        name = node.id
        if name in self.variables:
            return Var(name)
        if name == "nan":
            return Const(math.nan)
        if name.startswith("__"):
            raise _Refused(f"{name!r} is not allowed")
        if name in _FUNCTIONS:
            raise _Refused(f"function {name!r} must be called, as {name}(...)")
        raise _Refused(f"unknown name {name!r} (the variables are {_listing(self.variables)})")

    def _binop(self, node: ast.BinOp) -> Node:
        op = _BINARY.get(type(node.op))
        if op is None:
            raise _Refused(f"operator {_OPERATOR_TEXT.get(type(node.op), '?')!r} is not allowed")
        left, right = self.node(node.left), self.node(node.right)
        if op in ("&", "|"):
            self._require_boolean(op, node, left, right)
        if op == "**" and isinstance(right, Const) and abs(right.value) > MAX_EXPONENT:
            raise _Refused(f"exponent {right.value:g} is too large (at most {MAX_EXPONENT:g})")
        return self._fold(Apply(op, (left, right), boolean=op in ("&", "|")), node)

    def _unaryop(self, node: ast.UnaryOp) -> Node:
        op = _UNARY[type(node.op)]
        operand = self.node(node.operand)
        if op == "pos":
            return operand
        if op == "~":
            self._require_boolean("~", node, operand)
        return self._fold(Apply(op, (operand,), boolean=op in ("~", "not")), node)

    def _require_boolean(self, op: str, node: ast.AST, *operands: Node) -> None:
        if not all(operand.boolean for operand in operands):
            raise _Refused(
                f"operands of {op!r} must be comparisons or logic, in parentheses as in "
                f"(b1 > 0) & (b2 < 5): {self._text(node)!r}"
            )

    def _compare(self, node: ast.Compare) -> Node:
        terms = [self.node(node.left), *(self.node(c) for c in node.comparators)]
        pairs: list[Node] = []
        for op_node, left, right in zip(node.ops, terms, terms[1:], strict=False):
            op = _COMPARE.get(type(op_node))
            if op is None:
                raise _Refused(f"operator {_OPERATOR_TEXT.get(type(op_node), '?')!r} is not allowed")
            pairs.append(self._fold(Apply(op, (left, right), boolean=True), node))
        return pairs[0] if len(pairs) == 1 else self._fold(Apply("and", tuple(pairs), boolean=True), node)

    def _boolop(self, node: ast.BoolOp) -> Node:
        op = "and" if isinstance(node.op, ast.And) else "or"
        return self._fold(Apply(op, tuple(self.node(v) for v in node.values), boolean=True), node)

    def _call(self, node: ast.Call) -> Node:
        name = self._function_name(node.func)
        _, least, most = _FUNCTIONS[name]
        if node.keywords:
            keyword = node.keywords[0].arg or "**"
            raise _Refused(f"keyword arguments are not allowed: {keyword!r} in {name}()")
        args = tuple(self.node(arg) for arg in node.args)
        if len(args) < least or (most is not None and len(args) > most):
            wanted = f"{least}" if least == most else f"at least {least}"
            plural = "" if wanted == "1" else "s"
            raise _Refused(f"{name}() takes {wanted} argument{plural} ({len(args)} given)")
        return self._fold(Apply(name, args), node)

    def _fold(self, node: Apply, source: ast.AST) -> Node:
        """Evaluate an operation on constants now (numpy float64: never huge Python integers).

        A constant part made of finite numbers must give a finite number (``10 ** 400``,
        ``1 / 0`` and ``sqrt(-1)`` are refused); ``nan`` written out stays allowed.
        """
        if not all(isinstance(arg, Const) for arg in node.args):
            return node
        value = _evaluate(node, {})  # the caller's errstate ignores all floating-point errors
        if not np.isfinite(value) and all(math.isfinite(arg.value) for arg in node.args):  # type: ignore[union-attr]
            raise _Refused(f"{self._text(source)!r} does not give a finite number")
        return Const(float(value), boolean=bool(np.asarray(value).dtype == bool))

    def _function_name(self, func: ast.expr) -> str:
        if not isinstance(func, ast.Name):
            if isinstance(func, ast.Attribute):
                raise self._refused(func)
            raise _Refused(f"only the functions {', '.join(_FUNCTIONS)} may be called: {self._text(func)!r}")
        if func.id in _FUNCTIONS:
            return func.id
        if func.id.startswith("__"):
            raise _Refused(f"{func.id!r} is not allowed")
        raise _Refused(f"unknown function {func.id!r} (the functions are {', '.join(_FUNCTIONS)})")


def _listing(names: tuple[str, ...]) -> str:
    if not names:
        return "none"
    return ", ".join(names) if len(names) <= 4 else f"{names[0]}..{names[-1]}"
