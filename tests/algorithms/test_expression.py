"""The band-math expression language: valid expressions against numpy, and everything it refuses."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from app.algorithms.expression import MAX_DEPTH, MAX_LENGTH, Const, parse_expression
from app.model.errors import InvalidParameterValue

VARIABLES = ["b1", "b2", "b3"]
Arrays = dict[str, np.ndarray]


@pytest.fixture
def bands() -> Arrays:
    """Three float64 arrays with zeros, negatives, NaN, halves and large values."""
    rng = np.random.default_rng(7)
    values = {name: rng.normal(0.0, 10.0, (17, 13)).round(1) for name in VARIABLES}
    values["b1"][0, :4] = [0.0, -0.0, 2.5, -2.5]
    values["b2"][0, :4] = [0.0, 3.0, 0.0, -1.0]
    values["b3"][1, 1] = np.nan
    values["b2"][2, 2] = 1e300
    return values


def truthy(x: np.ndarray) -> np.ndarray:
    return x != 0


VALID: list[tuple[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]]] = [
    ("b1 + b2 * b3", lambda a, b, c: a + b * c),
    ("(b1 + b2) * b3", lambda a, b, c: (a + b) * c),
    ("b1 - b2 - b3", lambda a, b, c: (a - b) - c),
    ("b1 / b2 * b3", lambda a, b, c: (a / b) * c),
    ("(b2 - b1) / (b2 + b1)", lambda a, b, c: (b - a) / (b + a)),
    ("b1 // 3 + b2 % 4", lambda a, b, c: np.floor_divide(a, 3) + np.mod(b, 4)),
    ("-b1 ** 2", lambda a, b, c: -(a**2)),
    ("b1 ** -1", lambda a, b, c: np.power(a, -1.0)),
    ("abs(b1) ** 0.5", lambda a, b, c: np.abs(a) ** 0.5),
    ("2 ** 3 ** 2 * b1", lambda a, b, c: 512.0 * a),
    ("+b1 - -b2", lambda a, b, c: a + b),
    ("1e-3 * b1 + .5", lambda a, b, c: 0.001 * a + 0.5),
    ("sqrt(b1)", lambda a, b, c: np.sqrt(a)),
    (
        "log(b1) + log10(abs(b2)) + exp(b3 / 10)",
        lambda a, b, c: np.log(a) + np.log10(np.abs(b)) + np.exp(c / 10),
    ),
    ("floor(b1) + ceil(b2)", lambda a, b, c: np.floor(a) + np.ceil(b)),
    ("min(b1, b2)", lambda a, b, c: np.minimum(a, b)),
    ("max(b1, b2, b3, 0)", lambda a, b, c: np.maximum(np.maximum(np.maximum(a, b), c), 0)),
    ("clip(b1, -5, 5)", lambda a, b, c: np.clip(a, -5, 5)),
    ("clip(b1, b2, b2 + 1)", lambda a, b, c: np.minimum(np.maximum(a, b), b + 1)),
    ("where(b1 > b2, b1, b2 * 2)", lambda a, b, c: np.where(a > b, a, b * 2)),
    ("where(b1, 1, 2)", lambda a, b, c: np.where(a != 0, 1.0, 2.0)),
    ("where(b1 > 0, b1, nan)", lambda a, b, c: np.where(a > 0, a, np.nan)),
    ("b1 < b2", lambda a, b, c: a < b),
    ("b1 <= 0", lambda a, b, c: a <= 0),
    ("b1 >= b2", lambda a, b, c: a >= b),
    ("b1 == 0", lambda a, b, c: a == 0),
    ("b1 != b2", lambda a, b, c: a != b),
    ("-5 < b1 <= 5", lambda a, b, c: (a > -5) & (a <= 5)),
    ("(b1 > 0) & (b2 > 0)", lambda a, b, c: (a > 0) & (b > 0)),
    ("(b1 > 0) | ~(b2 > 0)", lambda a, b, c: (a > 0) | ~(b > 0)),
    ("b1 > 0 and b2 > 0 or b3 > 5", lambda a, b, c: ((a > 0) & (b > 0)) | (c > 5)),
    ("not b1", lambda a, b, c: ~truthy(a)),
    ("b1 and b2", lambda a, b, c: truthy(a) & truthy(b)),
    ("(b1 > 0) + (b2 > 0) + (b3 > 0)", lambda a, b, c: (a > 0).astype(float) + (b > 0) + (c > 0)),
    ("(b1 > 0) * 100 - (b2 < 0)", lambda a, b, c: (a > 0) * 100.0 - (b < 0)),
    ("-(b1 > 0)", lambda a, b, c: -((a > 0).astype(float))),
    ("b1 / 0", lambda a, b, c: a / 0.0),
    ("b2 * b2 * b2", lambda a, b, c: b * b * b),
    ("  b1\n + b2\t*\r\n b3 ", lambda a, b, c: a + b * c),
]


@pytest.mark.parametrize(("text", "reference"), VALID, ids=[text for text, _ in VALID])
def test_valid_expressions_match_numpy(
    bands: Arrays, text: str, reference: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
) -> None:
    expression = parse_expression(text, VARIABLES)
    actual = np.broadcast_to(expression.evaluate(bands), (17, 13))  # no warnings: pytest makes them errors
    with np.errstate(all="ignore"):
        expected = np.broadcast_to(reference(bands["b1"], bands["b2"], bands["b3"]), (17, 13))
    assert actual.dtype == expected.dtype
    np.testing.assert_array_equal(actual, expected)


def test_names_used_in_declaration_order() -> None:
    assert parse_expression("b3 + b1 * b3", VARIABLES).names == ("b1", "b3")
    assert parse_expression("2 * 3", VARIABLES).names == ()


def test_constant_parts_are_folded() -> None:
    expression = parse_expression("(1 + 2) * 4 ** 0.5", VARIABLES)
    assert expression.root == Const(6.0)
    assert parse_expression("1 < 2", VARIABLES).boolean
    assert float(parse_expression("nan", VARIABLES).evaluate({})) != 0  # NaN written out is allowed


def test_boolean_results_are_flagged() -> None:
    assert parse_expression("(b1 > 0) & (b2 > 0)", VARIABLES).boolean
    assert not parse_expression("(b1 > 0) * 1", VARIABLES).boolean


REFUSED = [
    ("__import__('os')", "'__import__'"),
    ("__import__('os').system('ls')", ".system"),
    ("os.system('ls')", ".system"),
    ("b1.__class__", "__class__"),
    ("b1.__class__.__bases__[0].__subclasses__()", "__subclasses__"),
    ("().__class__", "__class__"),
    ("__builtins__", "'__builtins__'"),
    ("getattr(b1, '__class__')", "'getattr'"),
    ("eval('1 + 1')", "'eval'"),
    ("exec('x = 1')", "'exec'"),
    ("open('/etc/passwd')", "'open'"),
    ("type(b1)", "'type'"),
    ("os", "'os'"),
    ("x + 1", "'x'"),
    ("b4 + b1", "'b4'"),
    ("B1", "'B1'"),
    ("b0", "'b0'"),
    ("b1[0]", "subscripts"),
    ("b1[1:2]", "'b1[1:2]'"),
    ("lambda: b1", "'lambda'"),
    ("(lambda: 0)()", "lambda"),
    ("[b1 for b1 in b2]", "comprehensions"),
    ("sum(b1 for b1 in b2)", "'sum'"),
    ("max(x for x in b1)", "comprehensions"),
    ("{b1: 1}", "dicts"),
    ("[b1, b2]", "lists"),
    ("b1, b2", "tuples"),
    ("{b1}", "sets"),
    ("'text'", "'text'"),
    ("b'bytes'", "b'bytes'"),
    ("f'{b1}'", "f-strings"),
    ("1j * b1", "1j"),
    ("True + b1", "True"),
    ("None", "None"),
    ("...", "..."),
    ("b1 if b2 else b3", "where(cond, a, b)"),
    ("(y := b1)", "':='"),
    ("max(*b1)", "'*' unpacking"),
    ("abs(x=b1)", "'x'"),
    ("max(b1, **b2)", "'**'"),
    ("sqrt", "'sqrt'"),
    ("sqrt(b1, b2)", "sqrt()"),
    ("min(b1)", "min()"),
    ("clip(b1, 0)", "clip()"),
    ("b1 ^ b2", "'^'"),
    ("b1 << 2", "'<<'"),
    ("b1 >> 2", "'>>'"),
    ("b1 @ b2", "'@'"),
    ("b1 in b2", "'in'"),
    ("b1 not in b2", "'not in'"),
    ("b1 is b2", "'is'"),
    ("b1 is not b2", "'is not'"),
    ("b1 > 0 & b2 > 0", "'0 & b2'"),
    ("~b1", "'~b1'"),
    ("b1 | 1", "'b1 | 1'"),
    ("(b1)(2)", "'b1'"),
    ("b1 ** 1e6", "exponent 1e+06"),
    ("b1 ** -5000", "exponent -5000"),
    ("2 ** 2000", "exponent 2000"),
    ("9 ** 9 ** 9", "exponent 3.8742e+08"),
    ("10 ** 400", "'10 ** 400'"),
    ("1 / 0 + b1", "'1 / 0'"),
    ("sqrt(-1)", "'sqrt(-1)'"),
    ("1e999 * b1", "'1e999'"),
    ("1" + "0" * 400, "too large"),
    ("b1 +", "syntax error"),
    ("(b1", "syntax error"),
    ("import os", "'import os'"),
    ("b1; b2", "syntax error"),
    ("b1\x00", "null bytes"),
    ("", "empty"),
    ("   ", "empty"),
    ("b1 + " * (MAX_LENGTH // 5 + 1) + "b1", "too long"),
    ("-" * (MAX_DEPTH + 5) + "b1", "nested too deeply"),
    ("abs(" * (MAX_DEPTH + 5) + "b1" + ")" * (MAX_DEPTH + 5), "nested too deeply"),
]


@pytest.mark.parametrize(("text", "token"), REFUSED, ids=[text[:40] for text, _ in REFUSED])
def test_refused_with_the_offending_token(text: str, token: str) -> None:
    with pytest.raises(InvalidParameterValue) as caught:
        parse_expression(text, VARIABLES)
    assert caught.value.locator == "expression"
    assert caught.value.message.startswith("invalid expression: ")
    assert token in caught.value.message, caught.value.message
    assert len(caught.value.message) < 300


def test_locator_can_be_chosen() -> None:
    with pytest.raises(InvalidParameterValue) as caught:
        parse_expression("os", VARIABLES, locator="formula")
    assert caught.value.locator == "formula"


def test_long_but_allowed_expression() -> None:
    text = " + ".join(["b1"] * 40)
    assert len(text) < MAX_LENGTH
    np.testing.assert_array_equal(
        parse_expression(text, VARIABLES).evaluate({"b1": np.ones(3)}), np.full(3, 40.0)
    )


def test_nothing_is_executed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsing and evaluating never reach Python's eval or exec (ast.parse only builds a tree)."""
    import builtins

    for name in ("eval", "exec"):
        monkeypatch.setattr(builtins, name, lambda *a, _name=name, **k: pytest.fail(f"{_name} called"))
    expression = parse_expression("where(b1 > 0, sqrt(b1), -b1) + max(b2, 1)", VARIABLES)
    expression.evaluate({"b1": np.array([4.0, -1.0]), "b2": np.array([0.0, 3.0])})
