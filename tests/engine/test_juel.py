"""JUEL subset (Camunda 7 ``${...}``): values, coercions, composites, refused calls, errors and limits."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from engine.errors import ExpressionError
from engine.expressions.juel import (
    MAX_EXPRESSION_LENGTH,
    JuelError,
    JuelEvaluationError,
    JuelExpression,
    JuelSyntaxError,
    JuelUnsupported,
    compile_expression,
    evaluate,
)

V: dict[str, Any] = {
    "amount": 1500,
    "price": 2.5,
    "qty": 4,
    "name": "Lan",
    "approved": True,
    "rejected": False,
    "note": None,
    "blank": "",
    "text": "10",
    "dec": "1.5",
    "word": "abc",
    "flag": "TRUE",
    "items": [1, 2, 3],
    "none_list": [],
    "empty_map": {},
    "big": Decimal("10.5"),
    "dept": "QA",
    "order": {
        "customer": {"name": "Lan", "city": "Huế"},
        "lines": [{"sku": "A", "qty": 2}],
        "x y": 7,
    },
}


def row(expression: str, expected: Any) -> Any:
    return pytest.param(expression, expected, id=expression[:50] or "<empty>")


TABLE = [
    # literals
    row("${1}", 1),
    row("${1.5}", 1.5),
    row("${.5}", 0.5),
    row("${1e3}", 1000.0),
    row("${'text'}", "text"),
    row('${"double"}', "double"),
    row("${'it\\'s'}", "it's"),
    row('${"say \\"hi\\""}', 'say "hi"'),
    row("${'back\\\\slash'}", "back\\slash"),
    row("${true}", True),
    row("${false}", False),
    row("${null}", None),
    row("${12345678901234567890}", 12345678901234567890),
    # variables and paths
    row("${amount}", 1500),
    row("${order.customer.name}", "Lan"),
    row("${order['customer']['city']}", "Huế"),
    row('${order["lines"][0].sku}', "A"),
    row("${order.lines[0]['qty']}", 2),
    row("${order['x y']}", 7),
    row("${items[1]}", 2),
    row("${items['2']}", 3),
    row("${items[5]}", None),
    row("${items[-1]}", None),
    row("${order.missing}", None),
    row("${note.anything}", None),
    row("${order.missing.deeper}", None),
    # arithmetic
    row("${1 + 2}", 3),
    row("${amount - 500}", 1000),
    row("${price * qty}", 10.0),
    row("${7 / 2}", 3.5),
    row("${8 div 2}", 4.0),
    row("${7 % 3}", 1),
    row("${-7 % 3}", -1),
    row("${7 mod -3}", 1),
    row("${7.5 % 2}", 1.5),
    row("${-amount}", -1500),
    row("${- -3}", 3),
    row("${1 + 2 * 3}", 7),
    row("${(1 + 2) * 3}", 9),
    row("${10 - 2 - 3}", 5),
    row("${note + 1}", 1),
    row("${note + note}", 0),
    row("${text + 1}", 11),
    row("${dec + 1}", 2.5),
    row("${blank + 1}", 1),
    row("${big + 1}", Decimal("11.5")),
    row("${big / 2}", Decimal("5.25")),
    row("${-text}", -10),
    row("${2 * 0.5}", 1.0),
    # comparison
    row("${amount > 1000}", True),
    row("${amount gt 1000}", True),
    row("${amount < 1000}", False),
    row("${amount lt 1000}", False),
    row("${amount >= 1500}", True),
    row("${amount ge 1501}", False),
    row("${qty <= 4}", True),
    row("${qty le 3}", False),
    row("${amount == 1500}", True),
    row("${amount eq 1500.0}", True),
    row("${amount != 1500}", False),
    row("${amount ne 1}", True),
    row("${text > 9}", True),
    row("${text == 10}", True),
    row("${'b' > 'a'}", True),
    row("${name == 'Lan'}", True),
    row("${name != 'Lan'}", False),
    row("${note == null}", True),
    row("${null == null}", True),
    row("${note == 0}", False),
    row("${note < 1}", False),
    row("${approved == 'true'}", True),
    row("${flag == true}", True),
    row("${approved > rejected}", True),
    row("${items == items}", True),
    row("${dept eq 'QA'}", True),
    row("${big > 10}", True),
    # logic
    row("${approved && amount > 1000}", True),
    row("${approved and rejected}", False),
    row("${rejected || approved}", True),
    row("${rejected or note}", False),
    row("${!approved}", False),
    row("${not rejected}", True),
    row("${!note}", True),
    row("${flag && true}", True),
    row("${blank || false}", False),
    row("${rejected && unknown_is_never_read}", False),
    row("${approved || unknown_is_never_read}", True),
    # empty
    row("${empty note}", True),
    row("${empty blank}", True),
    row("${empty none_list}", True),
    row("${empty empty_map}", True),
    row("${empty items}", False),
    row("${empty name}", False),
    row("${not empty items}", True),
    row("${!empty order.missing}", False),
    row("${empty 0}", False),
    # conditional
    row("${amount > 1000 ? 'manager' : 'clerk'}", "manager"),
    row("${qty > 10 ? 'bulk' : qty > 2 ? 'some' : 'few'}", "some"),
    row("${approved ? 1 : 2}", 1),
    row("${note ? 1 : 2}", 2),
    # composite text and typed single expressions
    row("Hello ${name}!", "Hello Lan!"),
    row("${name}${name}", "LanLan"),
    row("Total: ${price * qty}", "Total: 10.0"),
    row("${note}", None),
    row("[${note}]", "[]"),
    row("Flag ${approved}", "Flag true"),
    row("Big: ${1e7 * 1.0}", "Big: 1.0E7"),
    row("Small: ${0.0001 * 1}", "Small: 1.0E-4"),
    row("${items}", [1, 2, 3]),
    row("List ${items}", "List [1, 2, 3]"),
    row("Map ${order.lines[0]}", "Map {sku=A, qty=2}"),
    row("plain text", "plain text"),
    row("", ""),
    row("cost \\${x}", "cost ${x}"),
    row("#{amount + 1}", 1501),
    row("a $ b # c", "a $ b # c"),
    row("${ '}' }", "}"),
    row('${ "${" }', "${"),
    row("  ${amount}  ", "  1500  "),
    row("${amount}-${qty}", "1500-4"),
]


@pytest.mark.parametrize(("expression", "expected"), TABLE)
def test_table(expression: str, expected: Any) -> None:
    result = evaluate(expression, V)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("expression", "callee"),
    [
        ("${execution.getVariable('amount')}", "execution.getVariable(...)"),
        ("${bean.method(x)}", "bean.method(...)"),
        ("${order.lines.size()}", "order.lines.size(...)"),
        ("${order['lines'].get(0)}", "order['lines'].get(...)"),
        ("${''.getClass()}", "''.getClass(...)"),
        ("${fn:upper(name)}", "fn:upper(...)"),
        ("${upper(name)}", "upper(...)"),
        ("${dateTime().plusDays(1)}", "dateTime(...)"),
        ("Dear ${ task.getAssignee() }", "task.getAssignee(...)"),
    ],
)
def test_method_and_function_calls_are_refused_at_parse_time(expression: str, callee: str) -> None:
    with pytest.raises(JuelUnsupported) as caught:
        compile_expression(expression)
    message = str(caught.value)
    assert "method calls on Java beans are not supported; use process variables" in message
    assert f"'{callee}'" in message
    assert caught.value.column is not None


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("${a += 'x'}", "'+='"),
        ("${x -> x + 1}", "lambda"),
        ("${[1, 2]}", "list literals"),
        ("${{'a': 1}}", "collection literals"),
        ("${a = 1}", "assignment"),
        ("${a; b}", "';'"),
        ("${a instanceof b}", "instanceof"),
    ],
)
def test_el3_features_are_refused(expression: str, fragment: str) -> None:
    with pytest.raises(JuelUnsupported, match=re.escape(fragment)):
        compile_expression(expression)


@pytest.mark.parametrize(
    ("expression", "column", "fragment"),
    [
        ("${a +}", 6, "ends here"),
        ("${1 +* 2}", 6, "expected a value"),
        ("${a", 1, "never closed"),
        ("Hello ${name", 7, "never closed"),
        ("${'abc}", 3, "string"),
        ("${a b}", 5, "unexpected 'b'"),
        ("${(a}", 5, "expected ')'"),
        ("${ }", 1, "empty"),
        ("${a & b}", 5, "'&&'"),
        ("${'\\n'}", 4, "escape"),
        ("${a ? b}", 8, "expected ':'"),
        ("${and}", 3, "'and'"),
        ("${1.2.3}", 6, "number"),
        ("${a.}", 5, "property name"),
        ("${a[1}", 6, "expected ']'"),
        ("${a} #{b}", 6, "mixed"),
        ("${1e999}", 3, "too large"),
    ],
)
def test_syntax_errors_name_the_position(expression: str, column: int, fragment: str) -> None:
    with pytest.raises(JuelSyntaxError) as caught:
        compile_expression(expression)
    assert caught.value.column == column
    assert f"column {column}" in str(caught.value)
    assert fragment in str(caught.value)
    assert caught.value.expression == expression


def test_syntax_error_on_a_later_line_names_the_line() -> None:
    with pytest.raises(JuelSyntaxError, match="line 2, column 6"):
        compile_expression("Hi\n${a +}")


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("${unknown}", "Unknown variable 'unknown'"),
        ("${'a' + 'b'}", "'+' only adds numbers"),
        ("${name + 1}", "'+' only adds numbers"),
        ("${word > 1}", "'abc' is not a whole number"),
        ("${dec > 1}", "'1.5' is not a whole number"),
        ("${approved + 1}", "boolean"),
        ("${approved == 1}", "boolean"),
        ("${1 / 0}", "Division by zero"),
        ("${5 % 0}", "Division by zero"),
        ("${name.length}", "only maps and lists have properties"),
        ("${amount.value}", "only maps and lists have properties"),
        ("${items.size}", "select an item with an index"),
        ("${!amount}", "as a boolean"),
        ("${order > 1}", "Cannot use a map"),
        ("${items < order}", "Cannot compare a list with a map"),
        ("${order[items]}", "key of a map"),
        ("${-items}", "Cannot negate a list"),
    ],
)
def test_evaluation_errors(expression: str, fragment: str) -> None:
    with pytest.raises(JuelEvaluationError, match=re.escape(fragment)) as caught:
        evaluate(expression, V)
    assert caught.value.expression == expression


def test_errors_share_the_engine_base() -> None:
    for error in (JuelSyntaxError, JuelUnsupported, JuelEvaluationError):
        assert issubclass(error, JuelError)
        assert issubclass(error, ExpressionError)


def test_compiled_expressions_are_cached_and_reusable() -> None:
    expression = compile_expression("${amount > limit}")
    assert isinstance(expression, JuelExpression)
    assert compile_expression("${amount > limit}") is expression
    assert expression.evaluate({"amount": 5, "limit": 3}) is True
    assert expression.evaluate({"amount": 1, "limit": 3}) is False
    assert compile_expression("just text").is_literal_text
    assert not expression.is_literal_text


def test_values_are_never_read_as_python_attributes() -> None:
    class Bean:
        secret = "hidden"

    with pytest.raises(JuelEvaluationError, match="only maps and lists"):
        evaluate("${bean.secret}", {"bean": Bean()})
    assert evaluate("${data[key]}", {"data": {}, "key": "__class__"}) is None
    for text in ("${data.__class__}", "${data['__globals__']}", "${__builtins__}"):
        with pytest.raises(JuelUnsupported, match="starts with '__'"):
            compile_expression(text)


def test_limits() -> None:
    with pytest.raises(JuelSyntaxError, match="limit"):
        compile_expression("${" + "1" * MAX_EXPRESSION_LENGTH + "}")
    with pytest.raises(JuelSyntaxError, match="nested too deeply"):
        compile_expression("${" + "(" * 101 + "1" + ")" * 101 + "}")
    with pytest.raises(JuelSyntaxError, match="nested too deeply"):
        compile_expression("${" + " + ".join(["1"] * 150) + "}")
    assert evaluate("${" + " + ".join(["1"] * 90) + "}", {}) == 90
    with pytest.raises(JuelEvaluationError, match="too large"):
        evaluate("${" + " * ".join(["9" * 100] * 12) + "}", {})
    with pytest.raises(JuelEvaluationError, match="longer than"):
        evaluate("${t}${t}", {"t": "x" * 600_000})
    with pytest.raises(JuelSyntaxError, match="must be text"):
        compile_expression(5)  # type: ignore[arg-type]


def test_cyclic_values_cannot_hang_text_conversion() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(JuelEvaluationError, match="nested more than"):
        evaluate("Value: ${loop}", {"loop": loop})
