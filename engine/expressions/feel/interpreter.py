"""Tree-walking interpreter for FEEL syntax trees.

Variables live in a chain of scopes; the outermost wraps the caller's context and converts its
values to FEEL values when they are first read. Nothing here looks at Python attributes: a path
``a.b`` reads key ``b`` of a context (dict), a property of a date/time/duration/range, and null
for anything else.

Every node visit costs one step of a budget; the size of strings and lists produced in total is
budgeted too. Exceeding a budget raises FeelEvaluationError.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from engine.errors import Count, Phrase
from engine.expressions.feel import ast
from engine.expressions.feel.builtins import BUILTINS, BuiltinFunction
from engine.expressions.feel.errors import (
    MAX_ALLOCATION,
    MAX_EVAL_DEPTH,
    MAX_LIST_LENGTH,
    MAX_STEPS,
    FeelEvaluationError,
)
from engine.expressions.feel.values import (
    FeelFunction,
    Range,
    add,
    check_string_length,
    compare,
    divide,
    equals,
    from_python,
    get_property,
    in_range,
    integer_value,
    list_contains,
    multiply,
    negate,
    power,
    subtract,
    type_name,
)

_MISSING = object()


class Scope:
    """Names visible at one level; lookups walk outwards without recursion."""

    __slots__ = ("parent", "values")

    def __init__(self, values: Mapping[str, Any], parent: Scope | None = None) -> None:
        self.values = values
        self.parent = parent

    def get(self, name: str) -> Any:
        return self.values.get(name, _MISSING)

    def lookup(self, name: str) -> Any:
        scope: Scope | None = self
        while scope is not None:
            value = scope.get(name)
            if value is not _MISSING:
                return value
            scope = scope.parent
        return _MISSING


class InputScope(Scope):
    """The caller's context. Values are converted on first read and then cached for this evaluation."""

    __slots__ = ("cache",)

    def __init__(self, context: Mapping[str, Any]) -> None:
        super().__init__(context)
        self.cache: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        if name in self.cache:
            return self.cache[name]
        if name not in self.values:
            return _MISSING
        value = from_python(self.values[name])
        self.cache[name] = value
        return value


class UserFunction(FeelFunction):
    """A ``function(a, b) body`` value, closed over the scope it was created in."""

    def __init__(self, params: tuple[str, ...], body: ast.Node, closure: Scope) -> None:
        self.params = params
        self.body = body
        self.closure = closure


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": add,
    "-": subtract,
    "*": multiply,
    "/": divide,
    "**": power,
}
_ORDER_TESTS: dict[str, Callable[[int], bool]] = {
    "<": lambda order: order < 0,
    "<=": lambda order: order <= 0,
    ">": lambda order: order > 0,
    ">=": lambda order: order >= 0,
}


def compare_op(op: str, left: Any, right: Any) -> bool | None:
    if op == "=":
        return equals(left, right)
    if op == "!=":
        result = equals(left, right)
        return None if result is None else not result
    order = compare(left, right)
    return None if order is None else _ORDER_TESTS[op](order)


def _instance_of(value: Any, type_name_: str, item_type: str | None) -> bool:
    if type_name_ == "Any":
        return value is not None
    actual = type_name(value)
    if actual != type_name_:
        return False
    if item_type is not None:
        return all(_instance_of(item, item_type, None) for item in value)
    return True


def _cost(value: Any) -> int:
    """Steps charged for walking a value inside one operation (cheap per item, but not free)."""
    if isinstance(value, list | dict):
        return len(value) // 20
    if isinstance(value, str):
        return len(value) // 1000
    return 0


class Interpreter:
    """One evaluation: holds the budgets and the clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.steps = 0
        self.depth = 0
        self.allocated = 0

    # -- budgets ---------------------------------------------------------------------------

    def charge(self, steps: int) -> None:
        self.steps += steps
        if self.steps > MAX_STEPS:
            raise FeelEvaluationError(
                Phrase("The expression needs more than %(limit)s evaluation steps; it is too expensive to evaluate.",
                       limit=Count(MAX_STEPS))
            )

    def allocate(self, amount: int) -> None:
        self.allocated += amount
        if self.allocated > MAX_ALLOCATION:
            raise FeelEvaluationError(
                Phrase("The expression builds too much data (more than %(limit)s characters and list items).",
                       limit=Count(MAX_ALLOCATION))
            )

    def produced(self, value: Any) -> Any:
        """Account for a new string or list and enforce the size limits on it."""
        if isinstance(value, str):
            check_string_length(len(value))
            self.allocate(len(value))
        elif isinstance(value, list):
            self.check_list_length(len(value))
            self.allocate(len(value))
        return value

    def check_list_length(self, length: int) -> None:
        if length > MAX_LIST_LENGTH:
            raise FeelEvaluationError(Phrase("A list would have %(length)s items; the limit is %(limit)s.",
                                             length=Count(length), limit=Count(MAX_LIST_LENGTH)))

    # -- dispatch --------------------------------------------------------------------------

    def evaluate(self, node: ast.Node, scope: Scope) -> Any:
        self.steps += 1
        if self.steps > MAX_STEPS:
            self.charge(0)
        if self.depth >= MAX_EVAL_DEPTH:
            raise FeelEvaluationError(
                Phrase("Evaluation is nested more than %(limit)s levels deep (a function calling itself too often?).",
                       limit=MAX_EVAL_DEPTH)
            )
        self.depth += 1
        try:
            return _HANDLERS[type(node)](self, node, scope)
        finally:
            self.depth -= 1

    # -- simple nodes ----------------------------------------------------------------------

    def literal(self, node: ast.Literal, scope: Scope) -> Any:
        return node.value

    def name(self, node: ast.Name, scope: Scope) -> Any:
        value = scope.lookup(node.name)
        if value is _MISSING:
            return BUILTINS.get(node.name)  # a built-in function used as a value, or null
        return value

    def path(self, node: ast.Path, scope: Scope) -> Any:
        value = self.evaluate(node.base, scope)
        for key in node.keys:
            value = self.member(value, key)
        return value

    def member(self, value: Any, key: str) -> Any:
        if isinstance(value, dict):
            return value.get(key)
        if isinstance(value, list):
            self.charge(len(value) // 10)
            return self.produced([self.member(item, key) for item in value])
        return get_property(value, key)

    def negation(self, node: ast.Negation, scope: Scope) -> Any:
        return negate(self.evaluate(node.operand, scope))

    def arithmetic(self, node: ast.Arithmetic, scope: Scope) -> Any:
        result = self.evaluate(node.operands[0], scope)
        for op, operand in zip(node.ops, node.operands[1:], strict=True):
            result = _ARITHMETIC[op](result, self.evaluate(operand, scope))
        return self.produced(result)

    def comparison(self, node: ast.Comparison, scope: Scope) -> Any:
        left, right = self.evaluate(node.left, scope), self.evaluate(node.right, scope)
        self.charge(_cost(left))  # comparing lists and contexts walks them
        return compare_op(node.op, left, right)

    def conjunction(self, node: ast.Conjunction, scope: Scope) -> Any:
        unknown = False
        for operand in node.operands:
            value = self.evaluate(operand, scope)
            if value is False:
                return False
            unknown = unknown or value is not True
        return None if unknown else True

    def disjunction(self, node: ast.Disjunction, scope: Scope) -> Any:
        unknown = False
        for operand in node.operands:
            value = self.evaluate(operand, scope)
            if value is True:
                return True
            unknown = unknown or value is not False
        return None if unknown else False

    def between(self, node: ast.Between, scope: Scope) -> Any:
        value = self.evaluate(node.value, scope)
        low = self.evaluate(node.low, scope)
        high = self.evaluate(node.high, scope)
        return in_range(value, Range(low, high, True, True)) if low is not None and high is not None else None

    def instance_of(self, node: ast.InstanceOf, scope: Scope) -> Any:
        return _instance_of(self.evaluate(node.value, scope), node.type_name, node.item_type)

    def if_(self, node: ast.If, scope: Scope) -> Any:
        condition = self.evaluate(node.condition, scope)
        return self.evaluate(node.then if condition is True else node.otherwise, scope)

    def list_literal(self, node: ast.ListLiteral, scope: Scope) -> Any:
        return self.produced([self.evaluate(item, scope) for item in node.items])

    def context_literal(self, node: ast.ContextLiteral, scope: Scope) -> Any:
        result: dict[str, Any] = {}
        inner = Scope(result, scope)  # later entries see the earlier ones
        for key, value in zip(node.keys, node.values, strict=True):
            result[key] = self.evaluate(value, inner)
        self.allocate(len(result))
        return result

    def range_literal(self, node: ast.RangeLiteral, scope: Scope) -> Any:
        start = self.evaluate(node.start, scope)
        end = self.evaluate(node.end, scope)
        return Range(start, end, node.start_included, node.end_included)

    def function_literal(self, node: ast.FunctionLiteral, scope: Scope) -> Any:
        return UserFunction(node.params, node.body, scope)

    # -- filters ---------------------------------------------------------------------------

    def filter(self, node: ast.Filter, scope: Scope) -> Any:
        base = self.evaluate(node.base, scope)
        if base is None:
            return None
        items = base if isinstance(base, list) else [base]
        if not items:
            probe = self.evaluate(node.predicate, Scope({"item": None}, scope))
            return None if isinstance(probe, Decimal) else []
        first = self.evaluate(node.predicate, self.item_scope(items[0], scope))
        if isinstance(first, Decimal):
            # a number selects by position (1-based, negative from the end)
            index = integer_value(first)
            if index is None or index == 0 or abs(index) > len(items):
                return None
            return items[index - 1 if index > 0 else index]
        selected = [items[0]] if first is True else []
        for item in items[1:]:
            if self.evaluate(node.predicate, self.item_scope(item, scope)) is True:
                selected.append(item)
        return self.produced(selected)

    def item_scope(self, item: Any, scope: Scope) -> Scope:
        """``item`` is the element; a context element's entries are visible by name too."""
        outer = Scope({"item": item}, scope)
        return Scope(item, outer) if isinstance(item, dict) else outer

    # -- functions -------------------------------------------------------------------------

    def call(self, node: ast.Call, scope: Scope) -> Any:
        function: Any
        if isinstance(node.callee, ast.Name):
            function = scope.lookup(node.callee.name)
            if not isinstance(function, FeelFunction):
                # a variable of the same name that is not a function does not hide the built-in
                function = BUILTINS.get(node.callee.name)
        else:
            function = self.evaluate(node.callee, scope)
        if not isinstance(function, FeelFunction):
            return None
        args = [self.evaluate(arg, scope) for arg in node.args]
        return self.call_function(function, args, node.names)

    def call_function(self, function: FeelFunction, args: list[Any], names: tuple[str, ...] | None = None) -> Any:
        self.charge(1)
        if isinstance(function, BuiltinFunction):
            # built-ins walk their list and string arguments; charge for it, or a loop calling
            # list contains() on a big input list could run for minutes within the step budget
            self.charge(sum(_cost(arg) for arg in args))
            result = function.invoke(self, args, names)
            if any(result is arg for arg in args):
                return result  # handed through (get or else, min...), nothing new was built
            return self.produced(result)
        if not isinstance(function, UserFunction):
            return None
        if names is None:
            if len(args) > len(function.params):
                return None
            values = dict(zip(function.params, args, strict=False))
        else:
            if not set(names) <= set(function.params):
                return None
            values = dict(zip(names, args, strict=True))
        bound = {param: values.get(param) for param in function.params}
        return self.evaluate(function.body, Scope(bound, function.closure))

    # -- iteration -------------------------------------------------------------------------

    def iteration_values(self, iteration: ast.Iteration, scope: Scope) -> list[Any]:
        source = self.evaluate(iteration.source, scope)
        if iteration.end is not None:
            return self.integer_range(source, self.evaluate(iteration.end, scope), True, True)
        if isinstance(source, list):
            return source
        if isinstance(source, Range):
            return self.integer_range(source.start, source.end, source.start_included, source.end_included)
        return [] if source is None else [source]

    def integer_range(self, start: Any, end: Any, start_included: bool, end_included: bool) -> list[Any]:
        """``1..3`` is [1, 2, 3]; ``3..1`` counts down. Only integer endpoints can be iterated."""
        first, last = integer_value(start), integer_value(end)
        if first is None or last is None:
            return []
        step = 1 if last >= first else -1
        if not start_included:
            first += step
        if not end_included:
            last -= step
        if (last - first) * step < 0:
            return []
        count = abs(last - first) + 1
        if count > MAX_LIST_LENGTH:
            raise FeelEvaluationError(
                Phrase("The range %(start)s..%(end)s has %(count)s values; at most %(limit)s can be iterated.",
                       start=start, end=end, count=Count(count), limit=Count(MAX_LIST_LENGTH))
            )
        self.allocate(count)
        return [Decimal(value) for value in range(first, last + step, step)]

    def bindings(self, iterations: tuple[ast.Iteration, ...], scope: Scope) -> Iterator[Scope]:
        """Scopes for every combination of the iteration variables (later ones may use earlier ones).

        An odometer over the iterations instead of recursion, because their number is only
        limited by the length of the expression.
        """
        count = len(iterations)
        scopes: list[Scope] = [scope] + [scope] * count
        values: list[list[Any]] = [self.iteration_values(iterations[0], scope)] + [[]] * (count - 1)
        positions = [0] * count
        level = 0
        while level >= 0:
            if positions[level] >= len(values[level]):
                level -= 1
                if level >= 0:
                    positions[level] += 1
                continue
            scopes[level + 1] = Scope({iterations[level].name: values[level][positions[level]]}, scopes[level])
            if level == count - 1:
                yield scopes[count]
                positions[level] += 1
            else:
                level += 1
                values[level] = self.iteration_values(iterations[level], scopes[level])
                positions[level] = 0

    def for_(self, node: ast.For, scope: Scope) -> Any:
        results: list[Any] = []
        for inner in self.bindings(node.iterations, scope):
            body_scope = inner
            if node.uses_partial:
                self.allocate(len(results))  # each iteration gets its own copy of the results so far
                body_scope = Scope({"partial": list(results)}, inner)
            results.append(self.evaluate(node.body, body_scope))
            if len(results) > MAX_LIST_LENGTH:
                self.check_list_length(len(results))
        return self.produced(results)

    def quantified(self, node: ast.Quantified, scope: Scope) -> Any:
        for inner in self.bindings(node.iterations, scope):
            satisfied = self.evaluate(node.condition, inner) is True
            if satisfied != node.every:
                return satisfied  # some: the first true; every: the first that is not true
        return node.every

    # -- unary tests -----------------------------------------------------------------------

    def in_(self, node: ast.In, scope: Scope) -> Any:
        value = self.evaluate(node.value, scope)
        unknown = False
        for test in node.tests:
            result = self.test(test, value, scope)
            if result is True:
                return True
            unknown = unknown or result is not False
        return None if unknown else False

    def test(self, test: ast.Node, value: Any, scope: Scope) -> bool | None:
        self.charge(1)
        if isinstance(test, ast.CompareTest):
            return compare_op(test.op, value, self.evaluate(test.operand, scope))
        if isinstance(test, ast.ExpressionTest):
            return self.expression_test(test, value, scope)
        if isinstance(test, ast.AnyTest):
            return True
        if isinstance(test, ast.NegatedTests):
            result = self.in_(ast.In(test.pos, ast.Literal(test.pos, value), test.tests), scope)
            return None if result is None else not result
        raise FeelEvaluationError(Phrase("Unexpected unary test %(type)s.",
                                         type=type(test).__name__))  # pragma: no cover

    def expression_test(self, test: ast.ExpressionTest, value: Any, scope: Scope) -> bool | None:
        """An expression as a test: a condition on ``?``, a list or range holding the input, or a value."""
        inner = Scope({"?": value}, scope) if test.uses_input else scope
        expected = self.evaluate(test.expression, inner)
        if test.uses_input:  # a condition on ``?``: only true matches (null from a null input does not)
            return expected is True
        if isinstance(expected, bool) and value is not None and not isinstance(value, bool):
            return expected
        if isinstance(expected, list):
            self.charge(_cost(expected))
            return list_contains(expected, value)
        if isinstance(expected, Range):
            return in_range(value, expected)
        return equals(value, expected)


_HANDLERS: dict[type, Callable[[Interpreter, Any, Scope], Any]] = {
    ast.Literal: Interpreter.literal,
    ast.Name: Interpreter.name,
    ast.Path: Interpreter.path,
    ast.Filter: Interpreter.filter,
    ast.Call: Interpreter.call,
    ast.Negation: Interpreter.negation,
    ast.Arithmetic: Interpreter.arithmetic,
    ast.Comparison: Interpreter.comparison,
    ast.Conjunction: Interpreter.conjunction,
    ast.Disjunction: Interpreter.disjunction,
    ast.Between: Interpreter.between,
    ast.In: Interpreter.in_,
    ast.InstanceOf: Interpreter.instance_of,
    ast.If: Interpreter.if_,
    ast.ListLiteral: Interpreter.list_literal,
    ast.ContextLiteral: Interpreter.context_literal,
    ast.RangeLiteral: Interpreter.range_literal,
    ast.For: Interpreter.for_,
    ast.Quantified: Interpreter.quantified,
    ast.FunctionLiteral: Interpreter.function_literal,
}
