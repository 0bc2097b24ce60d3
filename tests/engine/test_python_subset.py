"""Whitelisted Python subset: expression and script tables, validation refusals, errors and limits."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from engine.errors import ExpressionError
from engine.expressions.python_subset import (
    MAX_COLLECTION_LENGTH,
    MAX_EXPRESSION_LENGTH,
    PythonSubsetError,
    PythonSubsetEvaluationError,
    check_expression,
    check_script,
    evaluate,
    execute,
)

V: dict[str, Any] = {
    "amount": 1500,
    "price": 2.5,
    "qty": 4,
    "name": "Lan Anh",
    "approved": True,
    "note": None,
    "items": [3, 1, 2],
    "tags": ["urgent", "vip"],
    "csv": "a, b ,c",
    "order": {
        "customer": {"name": "Lan"},
        "lines": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 5}],
    },
}


def row(expression: str, expected: Any) -> Any:
    return pytest.param(expression, expected, id=expression[:50])


EXPRESSIONS = [
    # constants and names
    row("1", 1),
    row("2.5", 2.5),
    row("'text'", "text"),
    row("None", None),
    row("True", True),
    row("amount", 1500),
    row("note is None", True),
    row("note is not None", False),
    # arithmetic
    row("amount + 1", 1501),
    row("price * qty", 10.0),
    row("7 / 2", 3.5),
    row("7 // 2", 3),
    row("-7 % 3", 2),
    row("2 ** 10", 1024),
    row("2 ** -1", 0.5),
    row("-amount", -1500),
    row("+qty", 4),
    row("~5", -6),
    row("6 & 3", 2),
    row("6 | 3", 7),
    row("6 ^ 3", 5),
    row("'ab' + 'cd'", "abcd"),
    row("'ab' * 3", "ababab"),
    row("[0] * 3", [0, 0, 0]),
    row("items + [4]", [3, 1, 2, 4]),
    # comparisons and logic
    row("amount > 1000", True),
    row("1 < qty <= 4", True),
    row("1 < qty < 4", False),
    row("amount == 1500 and approved", True),
    row("note or 'default'", "default"),
    row("approved and 'yes'", "yes"),
    row("not approved", False),
    row("'vip' in tags", True),
    row("'x' not in tags", True),
    row("'Lan' in name", True),
    row("'sku' in order['lines'][0]", True),
    row("'manager' if amount > 1000 else 'clerk'", "manager"),
    # subscripts and slices
    row("items[0]", 3),
    row("items[-1]", 2),
    row("items[1:]", [1, 2]),
    row("items[::-1]", [2, 1, 3]),
    row("name[:3]", "Lan"),
    row("order['customer']['name']", "Lan"),
    row("order['lines'][1]['qty']", 5),
    row("(1, 2)[1]", 2),
    # displays
    row("[1, 'a', None]", [1, "a", None]),
    row("(1,)", (1,)),
    row("{'a': 1, 'b': [2]}", {"a": 1, "b": [2]}),
    row("{1, 2, 2}", {1, 2}),
    # comprehensions
    row("[x * 2 for x in items if x > 1]", [6, 4]),
    row("[line['sku'] for line in order['lines']]", ["A", "B"]),
    row("{line['sku']: line['qty'] for line in order['lines']}", {"A": 2, "B": 5}),
    row("{x % 2 for x in items}", {0, 1}),
    row("sum(line['qty'] for line in order['lines'])", 7),
    row("[(x, y) for x in range(2) for y in 'ab']", [(0, "a"), (0, "b"), (1, "a"), (1, "b")]),
    row("[x for x in [x for x in items]]", [3, 1, 2]),
    # functions
    row("len(items)", 3),
    row("len(name)", 7),
    row("min(items)", 1),
    row("max(4, 9, 2)", 9),
    row("sum(items)", 6),
    row("sum([0.5, 0.25], 1)", 1.75),
    row("abs(-3.5)", 3.5),
    row("round(2.567, 2)", 2.57),
    row("round(2.5)", 2),
    row("sorted(items)", [1, 2, 3]),
    row("sorted(items, reverse=True)", [3, 2, 1]),
    row("list(reversed(items))", [2, 1, 3]),
    row("any(x > 2 for x in items)", True),
    row("all(x > 2 for x in items)", False),
    row("str(12)", "12"),
    row("str([1, 'a', None, {'k': (1,)}])", "[1, 'a', None, {'k': (1,)}]"),
    row("int('42') + 1", 43),
    row("int('ff', 16)", 255),
    row("int(3.9)", 3),
    row("float('1.5')", 1.5),
    row("bool('')", False),
    row("list('abc')", ["a", "b", "c"]),
    row("tuple(items)", (3, 1, 2)),
    row("set([1, 1, 2])", {1, 2}),
    row("dict(a=1, b=2)", {"a": 1, "b": 2}),
    row("dict([('a', 1)])", {"a": 1}),
    row("list(range(2, 10, 3))", [2, 5, 8]),
    row("enumerate(tags, 1)", [(1, "urgent"), (2, "vip")]),
    row("zip(items, tags)", [(3, "urgent"), (1, "vip")]),
    # methods
    row("name.lower()", "lan anh"),
    row("name.upper()", "LAN ANH"),
    row("'  x '.strip()", "x"),
    row("[part.strip() for part in csv.split(',')]", ["a", "b", "c"]),
    row("'-'.join(tags)", "urgent-vip"),
    row("name.startswith('Lan')", True),
    row("name.endswith('x')", False),
    row("name.replace('Anh', 'Chi')", "Lan Chi"),
    row("name.count('n')", 2),
    row("tags.index('vip')", 1),
    row("items.count(3)", 1),
    row("order.get('missing', 'none')", "none"),
    row("sorted(order.keys())", ["customer", "lines"]),
    row("len(order.values())", 2),
    row("order['customer'].items()", [("name", "Lan")]),
    # f-strings
    row("f'{name} owes {amount}'", "Lan Anh owes 1500"),
    row("f'{items}'", "[3, 1, 2]"),
    row("f'{note}-{approved}'", "None-True"),
]


@pytest.mark.parametrize(("expression", "expected"), EXPRESSIONS)
def test_expressions(expression: str, expected: Any) -> None:
    before = copy.deepcopy(V)
    result = evaluate(expression, V)
    assert result == expected
    assert type(result) is type(expected)
    assert before == V  # expressions never change the variables


SCRIPTS = [
    pytest.param("total = price * qty", {"price": 2.5, "qty": 4}, {"total": 10.0}, id="assign"),
    pytest.param("a, b = 1, 2\na, b = b, a", {}, {"a": 2, "b": 1}, id="swap"),
    pytest.param("x = y = 3", {}, {"x": 3, "y": 3}, id="chained assign"),
    pytest.param("n = 1\nn += 2\nn *= 3\nn -= 1\nn //= 2", {}, {"n": 4}, id="augmented"),
    pytest.param("d['k'] = 1\nd['k'] += 1", {"d": {}}, {"d": {"k": 2}}, id="subscript assign"),
    pytest.param("l[0] = 9\nl[1:] = [8]", {"l": [1, 2, 3]}, {"l": [9, 8]}, id="list item and slice"),
    pytest.param(
        "if amount > 1000:\n    level = 'manager'\nelif amount > 100:\n    level = 'lead'\nelse:\n    level = 'clerk'",
        {"amount": 500},
        {"level": "lead"},
        id="if elif else",
    ),
    pytest.param(
        "total = 0\nfor line in lines:\n    total += line['qty'] * line['price']",
        {"lines": [{"qty": 2, "price": 3}, {"qty": 1, "price": 4}]},
        {"total": 10},
        id="for",
    ),
    pytest.param(
        "found = None\nfor i, tag in enumerate(tags):\n    if tag == 'vip':\n        found = i\n        break\nelse:\n"
        "    found = -1",
        {"tags": ["a", "vip", "b"]},
        {"found": 1},
        id="for break else",
    ),
    pytest.param(
        "odd = []\nfor i in range(6):\n    if i % 2 == 0:\n        continue\n    odd.append(i)",
        {},
        {"odd": [1, 3, 5]},
        id="continue and append",
    ),
    pytest.param(
        "for i in range(2):\n    pass\nelse:\n    finished = True", {}, {"finished": True, "i": 1}, id="for else"
    ),
    pytest.param("squares = [k * k for k in range(4)]", {}, {"squares": [0, 1, 4, 9]}, id="comprehension"),
    pytest.param(
        "names = []\nnames.extend(['b', 'a'])\nnames.insert(0, 'c')\nnames.sort()\nlast = names.pop()",
        {},
        {"names": ["a", "b"], "last": "c"},
        id="list methods",
    ),
    pytest.param(
        "d = {}\nd.update({'a': 1})\nd.setdefault('b', 2)\nremoved = d.pop('a')",
        {},
        {"d": {"b": 2}, "removed": 1},
        id="dict methods",
    ),
    pytest.param(
        "message = f'{name.title()} approved {len(items)} items'",
        {"name": "lan", "items": [1, 2]},
        {"message": "Lan approved 2 items"},
        id="f-string",
    ),
    pytest.param(
        "approved = amount < 1000 and not blocked", {"amount": 5, "blocked": False}, {"approved": True}, id="bool"
    ),
    pytest.param(
        "matrix = [[r * c for c in range(3)] for r in range(3)]",
        {},
        {"matrix": [[0, 0, 0], [0, 1, 2], [0, 2, 4]]},
        id="nested comprehension",
    ),
    pytest.param("# only a comment\npass", {}, {}, id="pass"),
    pytest.param("x = 1; y = x + 1", {}, {"x": 1, "y": 2}, id="semicolon"),
    pytest.param(
        "counts = {}\nfor w in 'a b a'.split():\n    counts[w] = counts.get(w, 0) + 1",
        {},
        {"counts": {"a": 2, "b": 1}},
        id="word count",
    ),  # fmt: skip
]


@pytest.mark.parametrize(("script", "context", "expected"), SCRIPTS)
def test_scripts(script: str, context: dict[str, Any], expected: dict[str, Any]) -> None:
    execute(script, context)
    for key, value in expected.items():
        assert context[key] == value


def test_comprehension_variables_do_not_leak() -> None:
    context: dict[str, Any] = {}
    execute("values = [item for item in range(3)]", context)
    assert "item" not in context
    assert evaluate("[x for x in range(3)]", {"x": "outer"}) == [0, 1, 2]
    assert evaluate("[x for x in x]", {"x": "ab"}) == ["a", "b"]


@pytest.mark.parametrize(
    ("text", "script", "node", "line", "column"),
    [
        ("__import__('os')", False, "Name", 1, 1),
        ("x.__class__", False, "Attribute", 1, 1),
        ("amount + ().__class__.__base__", False, "Attribute", 1, 10),
        ("lambda: 1", False, "Lambda", 1, 1),
        ("[x for x in items if (y := x)]", False, "NamedExpr", 1, 23),
        ("[*items]", False, "Starred", 1, 2),
        ("f'{name!r}'", False, "FormattedValue", 1, 1),
        ("f'{amount:>10}'", False, "FormattedValue", 1, 1),
        ("'{0}'.format(name)", False, "Attribute", 1, 1),
        ("name.center(10)", False, "Attribute", 1, 1),
        ("items.__len__()", False, "Attribute", 1, 1),
        ("open('/etc/passwd')", False, "Name", 1, 1),
        ("b'bytes'", False, "Constant", 1, 1),
        ("1 << 2", False, "LShift", 1, 1),
        ("amount.real", False, "Attribute", 1, 1),
        ("items[0]()", False, "Subscript", 1, 1),
        ("x = 1\nimport os", True, "Import", 2, 1),
        ("from os import system", True, "ImportFrom", 1, 1),
        ("for i in range(3):\n    while True:\n        pass", True, "While", 2, 5),
        ("y = 1\nz = lambda: 1", True, "Lambda", 2, 5),
        ("def f():\n    pass", True, "FunctionDef", 1, 1),
        ("class A:\n    pass", True, "ClassDef", 1, 1),
        ("try:\n    x = 1\nexcept Exception:\n    pass", True, "Try", 1, 1),
        ("with open('f') as f:\n    pass", True, "With", 1, 1),
        ("x = 1\ndel x", True, "Delete", 2, 1),
        ("global x", True, "Global", 1, 1),
        ("assert False", True, "Assert", 1, 1),
        ("raise SystemExit", True, "Raise", 1, 1),
        ("x: int = 1", True, "AnnAssign", 1, 1),
        ("a = 1\nb = a.__dict__", True, "Attribute", 2, 5),
        ("[l.append(1) for x in items]", False, "Attribute", 1, 2),
        ("[1 for d['k'] in items]", False, "Subscript", 1, 8),
        ("tags.pop()", False, "Attribute", 1, 1),
        ("số = 1\nx = số.__class__", True, "Attribute", 2, 5),
    ],
)
def test_validation_names_node_line_and_column(text: str, script: bool, node: str, line: int, column: int) -> None:
    with pytest.raises(PythonSubsetError) as caught:
        (check_script if script else check_expression)(text)
    error = caught.value
    assert f"{node} at line {line}, column {column}" in str(error)
    assert (error.line, error.column) == (line, column)
    assert error.expression == text


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("amount +", "syntax error at line 1"),
        ("x = 1", "syntax error"),
        ("'a\0'", "null"),
    ],
)
def test_syntax_errors(text: str, fragment: str) -> None:
    with pytest.raises(PythonSubsetError, match=fragment):
        check_expression(text)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("missing + 1", "name 'missing' is not defined"),
        ("amount / 0", "division by zero"),
        ("order['nope']", "key 'nope' not found"),
        ("items[10]", "IndexError"),
        ("amount + 'x'", "TypeError"),
        ("'%s' % name", "'%' formatting"),
        ("amount.lower()", "has no method 'lower'"),
        ("name.keys()", "has no method 'keys'"),
        ("len(amount)", "len() of a value of type int"),
        ("sum(['a'])", "adds numbers only"),
        ("sorted(items, key=len)", "name 'len' is not defined"),
        ("sorted(items, key=None)", "unexpected keyword argument 'key'"),
        ("min([])", "empty"),
        ("range(1.5)", "whole numbers"),
        ("round(5, -1000)", "between"),
        ("','.join(items)", "joins strings only"),
        ("amount[0]", "cannot be subscripted"),
        ("[x for x in amount]", "cannot iterate"),
        ("1 in amount", "cannot iterate"),
        ("int('x' * 4000)", "more than 3,000 characters"),
    ],
)
def test_evaluation_errors(text: str, fragment: str) -> None:
    with pytest.raises(PythonSubsetEvaluationError, match=re.escape(fragment)) as caught:
        evaluate(text, V)
    assert caught.value.expression == text
    assert caught.value.line == 1


def test_runtime_errors_name_the_line() -> None:
    with pytest.raises(PythonSubsetEvaluationError, match=r"division by zero \(line 3, column 9\)") as caught:
        execute("x = 1\nfor i in range(2):\n    y = x / 0", {})
    assert (caught.value.line, caught.value.column) == (3, 9)


def test_break_outside_a_loop_is_an_error() -> None:
    with pytest.raises(PythonSubsetEvaluationError, match="outside a loop"):
        execute("break", {})


def test_limits() -> None:
    with pytest.raises(PythonSubsetError, match="limit"):
        check_expression("1" * (MAX_EXPRESSION_LENGTH + 1))
    with pytest.raises(PythonSubsetError, match="nested too deeply"):
        check_expression("[" * 120 + "]" * 120)
    with pytest.raises(PythonSubsetEvaluationError, match="steps"):
        execute("for i in range(100000):\n    for j in range(100000):\n        pass", {})
    with pytest.raises(PythonSubsetEvaluationError, match="range"):
        evaluate("range(10**12)", {})
    with pytest.raises(PythonSubsetEvaluationError, match="bits"):
        evaluate("2 ** 100000", {})
    with pytest.raises(PythonSubsetEvaluationError, match="longer than"):
        evaluate("'a' * 10**7", {})
    with pytest.raises(PythonSubsetEvaluationError, match="collection"):
        execute(f"l = list(range({MAX_COLLECTION_LENGTH}))\nl.append(0)", {})
    with pytest.raises(PythonSubsetEvaluationError, match="in total"):
        execute("s = 'x' * 900000\nfor i in range(30):\n    t = s + 'y'", {})
    with pytest.raises(PythonSubsetEvaluationError, match="longer than"):
        execute("s = 'ab'\nfor i in range(40):\n    s = s + s", {})
    with pytest.raises(PythonSubsetError, match="must be text"):
        check_expression(None)  # type: ignore[arg-type]


def test_loops_iterate_over_a_snapshot() -> None:
    context: dict[str, Any] = {"l": [1]}
    execute("for x in l:\n    l.append(x)", context)
    assert context["l"] == [1, 1]


def test_callables_in_the_context_are_never_called_or_passed() -> None:
    calls: list[str] = []

    def spy(*args: Any) -> None:
        calls.append("called")

    with pytest.raises(PythonSubsetError):
        check_expression("spy()")
    with pytest.raises(PythonSubsetEvaluationError, match="functions cannot be passed"):
        evaluate("sorted(items, reverse=spy)", {"items": [1], "spy": spy})
    assert calls == []


def test_errors_share_the_engine_base() -> None:
    assert issubclass(PythonSubsetError, ExpressionError)
    assert issubclass(PythonSubsetEvaluationError, ExpressionError)
