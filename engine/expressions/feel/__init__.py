"""Sandboxed FEEL evaluator (DMN 1.4 Friendly Enough Expression Language, as Camunda 8 uses it).

Pure Python: our own tokenizer, parser and tree-walking interpreter; no ``eval``/``exec``, no
attribute access on Python objects, bounded time and memory. Typical use::

    expression = compile_expression('if amount > 1000 then "manager" else "clerk"')
    value = expression.evaluate({"amount": 1500})          # FEEL values (Decimal, date, ...)
    stored = to_python(value)                              # JSON-friendly

    tests = compile_unary_tests('[1..10], > 100')          # a DMN input entry
    tests.matches(7, {})                                   # True

Callers strip the leading ``=`` of Camunda 8 attribute values before compiling.

Semantics follow Camunda 8 where DMN leaves room: errors give null (unknown names and
functions, wrong argument types, division by zero, comparing different types); only safety
limits and ``assert()`` raise :class:`FeelEvaluationError`. ``is defined(x)`` is false for null.
Date-times and times without a zone are compared with zoned ones in Asia/Ho_Chi_Minh;
``today()`` is the date there.

Not supported: names with spaces other than the built-in function names (write
`` `first name` ``; context keys with spaces are fine in literals), external functions,
type checks of annotated parameters, ``context<...>``/``function<...>`` types (``list<T>``
works), the DMN 1.4 range functions (before, after, meets, overlaps, includes, ...), ``is()``,
``string format``, ``random number()`` and ``uuid()``, years outside 1-9999, precision finer than
microseconds. Regular expressions run on our own linear-time engine: back-references,
look-around, inline flags and class subtraction are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from engine.errors import Count, Phrase
from engine.expressions.feel import ast
from engine.expressions.feel.errors import MAX_RESULT_SIZE, FeelError, FeelEvaluationError, FeelSyntaxError
from engine.expressions.feel.interpreter import InputScope, Interpreter, Scope
from engine.expressions.feel.parser import check_length, parse_expression, parse_unary_tests
from engine.expressions.feel.values import from_python
from engine.expressions.feel.values import to_python as _to_python

__all__ = [
    "FeelError",
    "FeelEvaluationError",
    "FeelExpression",
    "FeelSyntaxError",
    "FeelUnaryTests",
    "compile_expression",
    "compile_unary_tests",
    "evaluate",
    "to_python",
]


def _clock(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def _run(source: str, action: Any) -> Any:
    """Run an evaluation; every failure leaves as FeelEvaluationError naming the expression."""
    try:
        return action()
    except FeelError as error:
        if error.expression is None:
            error.expression = source
        raise
    except RecursionError:
        raise FeelEvaluationError("The expression is nested too deeply to evaluate.", source) from None
    except MemoryError:
        raise FeelEvaluationError("The expression needs too much memory to evaluate.", source) from None
    except Exception as error:  # a bug of ours must still reach the caller as an expression error
        raise FeelEvaluationError(
            Phrase("The expression could not be evaluated (%(type)s: %(error)s).",
                   type=type(error).__name__, error=error), source
        ) from error


def _check_result_size(result: Any, source: str) -> None:
    """Refuse results whose plain form would be huge (a list may repeat one big string many times)."""
    size = 0
    stack = [result]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            size += len(value)
        elif isinstance(value, list):
            size += len(value)
            stack.extend(value)
        elif isinstance(value, dict):
            size += len(value) + sum(len(key) for key in value)
            stack.extend(value.values())
        else:
            size += 1
        if size > MAX_RESULT_SIZE:
            raise FeelEvaluationError(
                Phrase("The result of the expression is too large (more than %(limit)s characters and items).",
                       limit=Count(MAX_RESULT_SIZE)),
                source,
            )


class FeelExpression:
    """A parsed FEEL expression; evaluate it as often as needed."""

    __slots__ = ("_tree", "source")

    def __init__(self, source: str, tree: ast.Node) -> None:
        self.source = source
        self._tree = tree

    def __repr__(self) -> str:
        return f"FeelExpression({self.source!r})"

    def evaluate(self, context: Mapping[str, Any], *, now: datetime | None = None) -> Any:
        """The FEEL value of the expression with the given variables (plain Python values)."""
        interpreter = Interpreter(_clock(now))

        def run() -> Any:
            result = interpreter.evaluate(self._tree, InputScope(context))
            _check_result_size(result, self.source)
            return result

        return _run(self.source, run)


class FeelUnaryTests:
    """A parsed DMN input entry such as ``< 5``, ``[1..10]``, ``"a","b"``, ``not(1, 2)`` or ``-``."""

    __slots__ = ("_tree", "source")

    def __init__(self, source: str, tree: ast.Node) -> None:
        self.source = source
        self._tree = tree

    def __repr__(self) -> str:
        return f"FeelUnaryTests({self.source!r})"

    def matches(self, input_value: Any, context: Mapping[str, Any], *, now: datetime | None = None) -> bool:
        """Whether the input value satisfies the tests (null and non-boolean outcomes do not)."""
        interpreter = Interpreter(_clock(now))

        def run() -> bool:
            value = from_python(input_value)
            scope = Scope({"?": value}, InputScope(context))
            if isinstance(self._tree, ast.In):
                result = interpreter.evaluate(self._tree, scope)
            else:
                result = interpreter.test(self._tree, value, scope)
            return result is True

        return bool(_run(self.source, run))


@lru_cache(maxsize=2048)
def _compile_expression(text: str) -> FeelExpression:
    return FeelExpression(text, parse_expression(text))


@lru_cache(maxsize=2048)
def _compile_unary_tests(text: str) -> FeelUnaryTests:
    return FeelUnaryTests(text, parse_unary_tests(text))


def _require_text(text: Any) -> str:
    if not isinstance(text, str):
        raise FeelSyntaxError(Phrase("A FEEL expression must be text, not %(type)s.",
                                     type=type(text).__name__), None, None)
    check_length(text)  # before the cache, so that huge texts are not kept as keys
    return text


def compile_expression(text: str) -> FeelExpression:
    """Parse a FEEL expression (without the leading ``=``); raises FeelSyntaxError."""
    return _compile_expression(_require_text(text))


def compile_unary_tests(text: str) -> FeelUnaryTests:
    """Parse DMN unary tests (an input entry of a decision table); raises FeelSyntaxError."""
    return _compile_unary_tests(_require_text(text))


def to_python(value: Any) -> Any:
    """A FEEL value as JSON-friendly Python.

    Numbers become int when integral, else float; dates ``YYYY-MM-DD``; date-times and times ISO
    8601 (with their offset if zoned); durations ISO 8601 (``P1Y2M``, ``P1DT2H``); ranges their
    FEEL notation; functions None; lists and contexts recursively.
    """
    return _to_python(value)


def evaluate(text: str, context: Mapping[str, Any], *, now: datetime | None = None) -> Any:
    """Parse (cached) and evaluate a FEEL expression; returns a FEEL value, see :func:`to_python`."""
    return compile_expression(text).evaluate(context, now=now)
