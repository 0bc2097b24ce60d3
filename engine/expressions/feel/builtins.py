"""FEEL built-in functions (DMN 1.4 plus the Camunda extensions process owners use).

Each function is registered with its FEEL parameter names so that named invocation works:
``substring(string: "abc", start position: 2)``. A trailing ``?`` marks an optional parameter;
``variadic`` functions collect the remaining positional arguments (``min(1, 2, 3)``).

FEEL semantics: arguments of the wrong type give null, never an exception. Only safety limits
(sizes, regular expression work) and ``assert()`` raise FeelEvaluationError.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
)
from typing import Any, Protocol

from engine.errors import Count, Phrase
from engine.expressions.feel.errors import MAX_ALLOCATION, MAX_LIST_LENGTH, FeelEvaluationError
from engine.expressions.feel.regex import FeelRegex, RegexSyntaxError, compile_regex
from engine.expressions.feel.values import (
    DECIMAL_CONTEXT,
    IMPLICIT_TIMEZONE,
    FeelFunction,
    YearMonthDuration,
    check_string_length,
    compare,
    decimal_op,
    equals,
    integer_value,
    is_date,
    list_contains,
    make_date,
    parse_date,
    parse_datetime,
    parse_duration,
    parse_time,
    shift_months,
    to_decimal,
    to_feel_string,
    type_name,
)


class Runtime(Protocol):
    """What built-ins need from the interpreter."""

    now: datetime

    def charge(self, steps: int) -> None: ...

    def call_function(self, function: FeelFunction, args: list[Any], names: tuple[str, ...] | None = None) -> Any: ...


@dataclass(frozen=True)
class _Overload:
    params: tuple[str, ...]
    required: int
    variadic: bool
    impl: Callable[..., Any]


class BuiltinFunction(FeelFunction):
    def __init__(self, name: str) -> None:
        self.name = name
        self.overloads: list[_Overload] = []

    def __repr__(self) -> str:
        return f"<FEEL built-in {self.name}>"

    def invoke(self, runtime: Runtime, args: list[Any], names: tuple[str, ...] | None) -> Any:
        """Call with positional or named arguments; no fitting signature gives null."""
        bound = self._bind(args, names)
        if bound is None:
            return None
        overload, values = bound
        return overload.impl(runtime, *values)

    def _bind(self, args: list[Any], names: tuple[str, ...] | None) -> tuple[_Overload, list[Any]] | None:
        if names is None:
            for overload in self.overloads:
                if overload.required <= len(args) and (overload.variadic or len(args) <= len(overload.params)):
                    return overload, list(args)
            return None
        given = dict(zip(names, args, strict=True))  # never empty: a named call names at least one argument
        for overload in self.overloads:
            required = overload.params[: overload.required]
            if set(given) <= set(overload.params) and all(param in given for param in required):
                last = max(i for i, param in enumerate(overload.params) if param in given)
                return overload, [given.get(param) for param in overload.params[: last + 1]]
        return None


BUILTINS: dict[str, BuiltinFunction] = {}


def _builtin(name: str, *params: str, variadic: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(impl: Callable[..., Any]) -> Callable[..., Any]:
        required = sum(1 for param in params if not param.endswith("?"))
        clean = tuple(param.removesuffix("?") for param in params)
        BUILTINS.setdefault(name, BuiltinFunction(name)).overloads.append(_Overload(clean, required, variadic, impl))
        return impl

    return register


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _strings(*values: Any) -> bool:
    return all(isinstance(value, str) for value in values)


def _position(position: Any, size: int) -> int | None:
    """0-based index of a FEEL position (1-based, negative from the end); None if outside."""
    index = integer_value(position)
    if index is None or index == 0 or abs(index) > size:
        return None
    return index - 1 if index > 0 else size + index


def _slice(items: str | list[Any], start: Any, length: Any) -> str | list[Any] | None:
    begin = integer_value(start)
    if begin is None or begin == 0:
        return None
    begin = begin - 1 if begin > 0 else max(len(items) + begin, 0)
    if length is None:
        return items[begin:]
    count = integer_value(length)
    if count is None or count < 0:
        return None
    return items[begin : begin + count]


def _items(args: tuple[Any, ...]) -> list[Any]:
    """The list of a ``min(list)``-style function: one list argument, or the arguments themselves."""
    if len(args) == 1 and isinstance(args[0], list):
        return args[0]
    return list(args)


def _numbers(args: tuple[Any, ...]) -> list[Decimal] | None:
    items = _items(args)
    if not all(isinstance(item, Decimal) for item in items):
        return None
    return items


class _Incomparable(Exception):
    pass


def _ordering(left: Any, right: Any) -> int:
    order = compare(left, right)
    if order is None:
        raise _Incomparable
    return order


def _sorted(items: list[Any]) -> list[Any] | None:
    try:
        return sorted(items, key=functools.cmp_to_key(_ordering))
    except _Incomparable:
        return None


def _hash_key(value: Any) -> Any:
    """A hashable key that is equal for FEEL-equal scalars; None for lists and contexts."""
    if isinstance(value, list | dict):
        return None
    if isinstance(value, datetime) and not value.tzinfo:
        value = value.replace(tzinfo=IMPLICIT_TIMEZONE)  # FEEL reads a local date-time in the implicit zone
    # Python already hashes 1 and 1.0, and zoned date-times of the same instant, alike; the type name keeps
    # apart what Python calls equal and FEEL does not (1 and true)
    try:
        hash(value)
    except TypeError:
        return None
    return (type_name(value), value)


def _distinct(runtime: Runtime, items: list[Any]) -> tuple[list[Any], list[Any]]:
    """(first occurrences, values occurring more than once), by FEEL equality."""
    seen: dict[Any, int] = {}
    unique: list[Any] = []
    duplicates: list[Any] = []
    complex_values: list[Any] = []
    for item in items:
        key = _hash_key(item)
        if key is not None:
            count = seen.get(key, 0)
            seen[key] = count + 1
            if count == 0:
                unique.append(item)
            elif count == 1:
                duplicates.append(item)
            continue
        # lists and contexts cannot be hashed: compare with the earlier ones (charged, it is quadratic)
        runtime.charge(len(complex_values))
        matches = [other for other in complex_values if equals(other, item) is True]
        if not matches:
            complex_values.append(item)
            unique.append(item)
        elif not any(equals(other, item) is True for other in duplicates):
            duplicates.append(item)
    return unique, duplicates


def _regex(pattern: Any, flags: Any = None) -> FeelRegex | None:
    if not isinstance(pattern, str) or (flags is not None and not isinstance(flags, str)):
        return None
    try:
        return compile_regex(pattern, flags or "")
    except RegexSyntaxError:
        return None


def _decimal_place(scale: Any) -> Decimal | None:
    places = integer_value(scale)
    if places is None or not -6111 <= places <= 6176:
        return None
    return Decimal(1).scaleb(-places)


def _round(number: Any, scale: Any, rounding: str) -> Decimal | None:
    if not isinstance(number, Decimal):
        return None
    exponent = _decimal_place(scale if scale is not None else Decimal(0))
    if exponent is None:
        return None
    return decimal_op(lambda: number.quantize(exponent, rounding=rounding, context=DECIMAL_CONTEXT))


# --------------------------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------------------------


@_builtin("string", "from")
def _string(runtime: Runtime, value: Any) -> Any:
    return to_feel_string(value)


@_builtin("number", "from", "grouping separator?", "decimal separator?")
def _number(runtime: Runtime, text: Any, grouping: Any = None, decimal_separator: Any = None) -> Any:
    if isinstance(text, Decimal):
        return text
    if not isinstance(text, str) or len(text) > 200:
        return None
    if grouping not in (None, " ", ",", ".") or decimal_separator not in (None, ".", ","):
        return None
    if grouping is not None and grouping == (decimal_separator or "."):
        return None
    cleaned = text.strip()
    if grouping:
        cleaned = cleaned.replace(grouping, "")
    if decimal_separator == ",":
        cleaned = cleaned.replace(",", ".")
    body = cleaned.lstrip("+-")
    mantissa, _, exponent = body.lower().partition("e")
    whole, _, fraction = mantissa.partition(".")
    if len(cleaned) - len(body) > 1 or not (whole + fraction).isdigit() or not (whole.isdigit() or fraction.isdigit()):
        return None
    if exponent and not (exponent.lstrip("+-").isdigit() and len(exponent) <= 5):
        return None
    if not (whole + fraction).isascii():
        return None
    return to_decimal(cleaned)


# --------------------------------------------------------------------------------------------
# Strings
# --------------------------------------------------------------------------------------------


@_builtin("substring", "string", "start position", "length?")
def _substring(runtime: Runtime, text: Any, start: Any, length: Any = None) -> Any:
    return _slice(text, start, length) if isinstance(text, str) else None


@_builtin("string length", "string")
def _string_length(runtime: Runtime, text: Any) -> Any:
    return Decimal(len(text)) if isinstance(text, str) else None


@_builtin("upper case", "string")
def _upper_case(runtime: Runtime, text: Any) -> Any:
    return text.upper() if isinstance(text, str) else None


@_builtin("lower case", "string")
def _lower_case(runtime: Runtime, text: Any) -> Any:
    return text.lower() if isinstance(text, str) else None


@_builtin("substring before", "string", "match")
def _substring_before(runtime: Runtime, text: Any, match: Any) -> Any:
    if not _strings(text, match):
        return None
    index = text.find(match)
    return text[:index] if index >= 0 else ""


@_builtin("substring after", "string", "match")
def _substring_after(runtime: Runtime, text: Any, match: Any) -> Any:
    if not _strings(text, match):
        return None
    index = text.find(match)
    return text[index + len(match) :] if index >= 0 else ""


@_builtin("contains", "string", "match")
def _contains(runtime: Runtime, text: Any, match: Any) -> Any:
    return match in text if _strings(text, match) else None


@_builtin("starts with", "string", "match")
@_builtin("starts with", "input", "match")  # the name older Camunda versions document
def _starts_with(runtime: Runtime, text: Any, match: Any) -> Any:
    return text.startswith(match) if _strings(text, match) else None


@_builtin("ends with", "string", "match")
@_builtin("ends with", "input", "match")
def _ends_with(runtime: Runtime, text: Any, match: Any) -> Any:
    return text.endswith(match) if _strings(text, match) else None


@_builtin("trim", "string")
def _trim(runtime: Runtime, text: Any) -> Any:
    return text.strip() if isinstance(text, str) else None


@_builtin("is blank", "string")
def _is_blank(runtime: Runtime, text: Any) -> Any:
    return not text.strip() if isinstance(text, str) else None


@_builtin("matches", "input", "pattern", "flags?")
def _matches(runtime: Runtime, text: Any, pattern: Any, flags: Any = None) -> Any:
    regex = _regex(pattern, flags)
    if regex is None or not isinstance(text, str):
        return None
    return regex.search(text) is not None


def _replacement_template(replacement: str, groups: int) -> list[str | int] | None:
    """``$n`` group references and ``\\$``/``\\\\`` escapes (XPath rules); None if malformed."""
    parts: list[str | int] = []
    index = 0
    while index < len(replacement):
        char = replacement[index]
        if char == "\\":
            if replacement[index + 1 : index + 2] not in ("\\", "$"):
                return None
            parts.append(replacement[index + 1])
            index += 2
        elif char == "$":
            end = index + 1
            while end < len(replacement) and replacement[end].isdigit():
                end += 1
            digits = replacement[index + 1 : end]
            if not digits:
                return None
            used = len(digits)
            while used > 1 and int(digits[:used]) > groups:
                used -= 1  # "$12" with one group is group 1 followed by "2"
            parts.append(int(digits[:used]))
            parts.append(digits[used:])
            index = end
        else:
            parts.append(char)
            index += 1
    return parts


@_builtin("replace", "input", "pattern", "replacement", "flags?")
def _replace(runtime: Runtime, text: Any, pattern: Any, replacement: Any, flags: Any = None) -> Any:
    regex = _regex(pattern, flags)
    if regex is None or not _strings(text, replacement):
        return None
    template = _replacement_template(replacement, regex.groups)
    if template is None:
        return None
    pieces: list[str] = []
    size = 0
    previous = 0
    for spans in regex.finditer(text):
        start, end = spans[0]  # type: ignore[misc]
        pieces.append(text[previous:start])
        for part in template:
            if isinstance(part, str):
                pieces.append(part)
            else:
                span = spans[part] if part < len(spans) else None
                pieces.append(text[span[0] : span[1]] if span else "")
        previous = end
        size += sum(len(piece) for piece in pieces[-len(template) - 1 :])
        check_string_length(size)
    pieces.append(text[previous:])
    return "".join(pieces)


@_builtin("split", "string", "delimiter")
def _split(runtime: Runtime, text: Any, delimiter: Any) -> Any:
    regex = _regex(delimiter)
    if regex is None or not isinstance(text, str) or regex.search("") is not None:
        return None  # a delimiter that matches nothing-at-all would split between every character
    if not text:
        return []
    pieces: list[Any] = []
    previous = 0
    for spans in regex.finditer(text):
        start, end = spans[0]  # type: ignore[misc]
        pieces.append(text[previous:start])
        previous = end
    pieces.append(text[previous:])
    return pieces


@_builtin("extract", "string", "pattern")
def _extract(runtime: Runtime, text: Any, pattern: Any) -> Any:
    regex = _regex(pattern)
    if regex is None or not isinstance(text, str):
        return None
    return [text[spans[0][0] : spans[0][1]] for spans in regex.finditer(text) if spans[0]]


@_builtin("string join", "list", "delimiter?", "prefix?", "suffix?")
def _string_join(runtime: Runtime, items: Any, delimiter: Any = None, prefix: Any = None, suffix: Any = None) -> Any:
    options = (delimiter, prefix, suffix)
    if not isinstance(items, list) or not all(value is None or isinstance(value, str) for value in options):
        return None
    if not all(item is None or isinstance(item, str) for item in items):
        return None
    parts = [item for item in items if item is not None]
    separator = delimiter or ""
    # check the size before joining: the parts may each be large
    size = sum(len(part) for part in parts) + len(separator) * max(len(parts) - 1, 0)
    check_string_length(size + len(prefix or "") + len(suffix or ""))
    return (prefix or "") + separator.join(parts) + (suffix or "")


# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------


@_builtin("decimal", "n", "scale")
def _decimal(runtime: Runtime, number: Any, scale: Any) -> Any:
    return _round(number, scale, ROUND_HALF_EVEN)


@_builtin("floor", "n", "scale?")
def _floor(runtime: Runtime, number: Any, scale: Any = None) -> Any:
    return _round(number, scale, ROUND_FLOOR)


@_builtin("ceiling", "n", "scale?")
def _ceiling(runtime: Runtime, number: Any, scale: Any = None) -> Any:
    return _round(number, scale, ROUND_CEILING)


@_builtin("round up", "n", "scale?")
def _round_up(runtime: Runtime, number: Any, scale: Any = None) -> Any:
    return _round(number, scale, ROUND_UP)


@_builtin("round down", "n", "scale?")
def _round_down(runtime: Runtime, number: Any, scale: Any = None) -> Any:
    return _round(number, scale, ROUND_DOWN)


@_builtin("round half up", "n", "scale?")
def _round_half_up(runtime: Runtime, number: Any, scale: Any = None) -> Any:
    return _round(number, scale, ROUND_HALF_UP)


@_builtin("round half down", "n", "scale?")
def _round_half_down(runtime: Runtime, number: Any, scale: Any = None) -> Any:
    return _round(number, scale, ROUND_HALF_DOWN)


@_builtin("abs", "n")
def _abs(runtime: Runtime, value: Any) -> Any:
    if isinstance(value, Decimal):
        return DECIMAL_CONTEXT.abs(value)
    if isinstance(value, timedelta):
        return abs(value)
    if isinstance(value, YearMonthDuration):
        return YearMonthDuration(abs(value.months))
    return None


@_builtin("modulo", "dividend", "divisor")
def _modulo(runtime: Runtime, dividend: Any, divisor: Any) -> Any:
    """The remainder with the sign of the divisor: modulo(-12, 5) = 3."""
    if not isinstance(dividend, Decimal) or not isinstance(divisor, Decimal) or divisor.is_zero():
        return None
    remainder = decimal_op(lambda: DECIMAL_CONTEXT.remainder(dividend, divisor))
    if remainder is None:
        return None
    if not remainder.is_zero() and (remainder < 0) != (divisor < 0):
        return decimal_op(lambda: DECIMAL_CONTEXT.add(remainder, divisor))
    return remainder


@_builtin("sqrt", "number")
def _sqrt(runtime: Runtime, value: Any) -> Any:
    if not isinstance(value, Decimal) or value < 0:
        return None
    return decimal_op(lambda: DECIMAL_CONTEXT.sqrt(value))


@_builtin("log", "number")
def _log(runtime: Runtime, value: Any) -> Any:
    if not isinstance(value, Decimal) or value <= 0:
        return None
    return decimal_op(lambda: DECIMAL_CONTEXT.ln(value))


@_builtin("exp", "number")
def _exp(runtime: Runtime, value: Any) -> Any:
    return decimal_op(lambda: DECIMAL_CONTEXT.exp(value)) if isinstance(value, Decimal) else None


def _parity(value: Any) -> int | None:
    if not isinstance(value, Decimal) or value != value.to_integral_value():
        return None
    # not Decimal remainder: it refuses integers of more than 34 digits (10 ** 40 is even all the same)
    return int(value) % 2


@_builtin("odd", "number")
def _odd(runtime: Runtime, value: Any) -> Any:
    parity = _parity(value)
    return None if parity is None else parity == 1


@_builtin("even", "number")
def _even(runtime: Runtime, value: Any) -> Any:
    parity = _parity(value)
    return None if parity is None else parity == 0


# --------------------------------------------------------------------------------------------
# Booleans
# --------------------------------------------------------------------------------------------


@_builtin("not", "negand")
def _not(runtime: Runtime, value: Any) -> Any:
    return (not value) if isinstance(value, bool) else None


@_builtin("is defined", "value")
def _is_defined(runtime: Runtime, value: Any) -> Any:
    # Camunda 8 semantics: a missing variable and null are both "not defined"
    return value is not None


@_builtin("get or else", "value", "default")
def _get_or_else(runtime: Runtime, value: Any, default: Any) -> Any:
    return default if value is None else value


@_builtin("assert", "value", "condition", "cause?")
def _assert(runtime: Runtime, value: Any, condition: Any, cause: Any = None) -> Any:
    if condition is not True:
        reason = cause if isinstance(cause, str) else "the condition is not true"
        raise FeelEvaluationError(Phrase("Assertion failed: %(reason)s", reason=reason))
    return value


# --------------------------------------------------------------------------------------------
# Lists
# --------------------------------------------------------------------------------------------


@_builtin("list contains", "list", "element")
def _list_contains(runtime: Runtime, items: Any, element: Any) -> Any:
    return list_contains(items, element) if isinstance(items, list) else None


@_builtin("count", "list")
def _count(runtime: Runtime, items: Any) -> Any:
    return Decimal(len(items)) if isinstance(items, list) else None


@_builtin("min", "list", variadic=True)
def _min(runtime: Runtime, *args: Any) -> Any:
    ordered = _sorted(_items(args))
    return ordered[0] if ordered else None


@_builtin("max", "list", variadic=True)
def _max(runtime: Runtime, *args: Any) -> Any:
    ordered = _sorted(_items(args))
    return ordered[-1] if ordered else None


def _total(numbers: list[Decimal]) -> Decimal | None:
    total: Decimal | None = Decimal(0)
    for number in numbers:
        total = decimal_op(lambda n=number, t=total: DECIMAL_CONTEXT.add(t, n))  # type: ignore[misc]
        if total is None:
            return None
    return total


@_builtin("sum", "list", variadic=True)
def _sum(runtime: Runtime, *args: Any) -> Any:
    numbers = _numbers(args)
    return _total(numbers) if numbers else None


@_builtin("product", "list", variadic=True)
def _product(runtime: Runtime, *args: Any) -> Any:
    numbers = _numbers(args)
    if not numbers:
        return None
    result: Decimal | None = Decimal(1)
    for number in numbers:
        result = decimal_op(lambda n=number, r=result: DECIMAL_CONTEXT.multiply(r, n))  # type: ignore[misc]
        if result is None:
            return None
    return result


@_builtin("mean", "list", variadic=True)
def _mean(runtime: Runtime, *args: Any) -> Any:
    numbers = _numbers(args)
    total = _total(numbers) if numbers else None
    if total is None or not numbers:
        return None
    return decimal_op(lambda: DECIMAL_CONTEXT.divide(total, Decimal(len(numbers))))


@_builtin("median", "list", variadic=True)
def _median(runtime: Runtime, *args: Any) -> Any:
    numbers = _numbers(args)
    if not numbers:
        return None
    ordered = sorted(numbers)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return decimal_op(lambda: DECIMAL_CONTEXT.divide(DECIMAL_CONTEXT.add(ordered[middle - 1], ordered[middle]), 2))


@_builtin("stddev", "list", variadic=True)
def _stddev(runtime: Runtime, *args: Any) -> Any:
    """Sample standard deviation, as DMN defines it."""
    numbers = _numbers(args)
    if not numbers or len(numbers) < 2:
        return None
    total = _total(numbers)
    if total is None:
        return None
    mean = DECIMAL_CONTEXT.divide(total, Decimal(len(numbers)))
    squares = _total([DECIMAL_CONTEXT.power(DECIMAL_CONTEXT.subtract(n, mean), 2) for n in numbers])
    if squares is None:
        return None
    return decimal_op(lambda: DECIMAL_CONTEXT.sqrt(DECIMAL_CONTEXT.divide(squares, Decimal(len(numbers) - 1))))


@_builtin("mode", "list", variadic=True)
def _mode(runtime: Runtime, *args: Any) -> Any:
    numbers = _numbers(args)
    if numbers is None:
        return None
    counts: dict[Decimal, int] = {}
    for number in numbers:
        counts[number] = counts.get(number, 0) + 1
    if not counts:
        return []
    highest = max(counts.values())
    return sorted(number for number, count in counts.items() if count == highest)


@_builtin("all", "list", variadic=True)
def _all(runtime: Runtime, *args: Any) -> Any:
    items = _items(args)
    if any(item is False for item in items):
        return False
    return True if all(item is True for item in items) else None


@_builtin("any", "list", variadic=True)
def _any(runtime: Runtime, *args: Any) -> Any:
    items = _items(args)
    if any(item is True for item in items):
        return True
    return False if all(item is False for item in items) else None


@_builtin("sublist", "list", "start position", "length?")
def _sublist(runtime: Runtime, items: Any, start: Any, length: Any = None) -> Any:
    return _slice(items, start, length) if isinstance(items, list) else None


@_builtin("append", "list", "item?", variadic=True)
def _append(runtime: Runtime, items: Any, *more: Any) -> Any:
    return items + list(more) if isinstance(items, list) else None


@_builtin("concatenate", "lists?", variadic=True)
def _concatenate(runtime: Runtime, *lists: Any) -> Any:
    if not all(isinstance(items, list) for items in lists):
        return None
    return [item for items in lists for item in items]


@_builtin("insert before", "list", "position", "newItem")
def _insert_before(runtime: Runtime, items: Any, position: Any, new_item: Any) -> Any:
    if not isinstance(items, list):
        return None
    index = _position(position, len(items))
    return None if index is None else items[:index] + [new_item] + items[index:]


@_builtin("remove", "list", "position")
def _remove(runtime: Runtime, items: Any, position: Any) -> Any:
    if not isinstance(items, list):
        return None
    index = _position(position, len(items))
    return None if index is None else items[:index] + items[index + 1 :]


@_builtin("reverse", "list")
def _reverse(runtime: Runtime, items: Any) -> Any:
    return items[::-1] if isinstance(items, list) else None


@_builtin("index of", "list", "match")
def _index_of(runtime: Runtime, items: Any, match: Any) -> Any:
    if not isinstance(items, list):
        return None
    return [Decimal(index + 1) for index, item in enumerate(items) if equals(item, match) is True]


@_builtin("union", "lists?", variadic=True)
def _union(runtime: Runtime, *lists: Any) -> Any:
    if not all(isinstance(items, list) for items in lists):
        return None
    return _distinct(runtime, [item for items in lists for item in items])[0]


@_builtin("distinct values", "list")
def _distinct_values(runtime: Runtime, items: Any) -> Any:
    return _distinct(runtime, items)[0] if isinstance(items, list) else None


@_builtin("duplicate values", "list")
def _duplicate_values(runtime: Runtime, items: Any) -> Any:
    return _distinct(runtime, items)[1] if isinstance(items, list) else None


@_builtin("flatten", "list")
def _flatten(runtime: Runtime, items: Any) -> Any:
    if not isinstance(items, list):
        return None
    result: list[Any] = []
    stack = [iter(items)]  # no recursion: lists may be nested deeply
    visited = 0
    while stack:
        for item in stack[-1]:
            visited += 1
            if isinstance(item, list):
                stack.append(iter(item))
                break
            result.append(item)
        else:
            stack.pop()
        # one list may hold the same big list many times: count while expanding, not afterwards
        if len(result) > MAX_LIST_LENGTH or visited > MAX_ALLOCATION:
            raise FeelEvaluationError(
                Phrase("flatten() would make a list of more than %(limit)s items; the limit is %(limit)s.",
                       limit=Count(MAX_LIST_LENGTH))
            )
    runtime.charge(visited // 100)
    return result


@_builtin("sort", "list", "precedes?")
def _sort(runtime: Runtime, items: Any, precedes: Any = None) -> Any:
    if not isinstance(items, list):
        return None
    if precedes is None:
        return _sorted(items)
    if not isinstance(precedes, FeelFunction):
        return None

    def before(left: Any, right: Any) -> int:
        # sorted() only asks "less than?", which is exactly what 'precedes' answers
        return -1 if runtime.call_function(precedes, [left, right]) is True else 0

    return sorted(items, key=functools.cmp_to_key(before))


@_builtin("is empty", "list")
def _is_empty(runtime: Runtime, items: Any) -> Any:
    return not items if isinstance(items, list) else None


@_builtin("partition", "list", "size")
def _partition(runtime: Runtime, items: Any, size: Any) -> Any:
    count = integer_value(size)
    if not isinstance(items, list) or count is None or count <= 0:
        return None
    return [items[index : index + count] for index in range(0, len(items), count)]


# --------------------------------------------------------------------------------------------
# Contexts
# --------------------------------------------------------------------------------------------


def _get_value(runtime: Runtime, context: Any, key: Any) -> Any:
    keys = key if isinstance(key, list) else [key]
    value = context
    for part in keys:
        if not isinstance(value, dict) or not isinstance(part, str):
            return None
        value = value.get(part)
    return value


def _get_entries(runtime: Runtime, context: Any) -> Any:
    if not isinstance(context, dict):
        return None
    return [{"key": key, "value": value} for key, value in context.items()]


def _context_put(runtime: Runtime, context: Any, key: Any, value: Any) -> Any:
    keys = key if isinstance(key, list) else [key]
    if not isinstance(context, dict) or not keys or not all(isinstance(part, str) for part in keys):
        return None
    return _put(context, keys, value)


def _put(context: dict[str, Any], keys: list[str], value: Any) -> dict[str, Any]:
    """``context`` with ``value`` at the path ``keys``; a missing or non-context step becomes a new context."""
    if len(keys) == 1:
        return {**context, keys[0]: value}
    inner = context.get(keys[0])
    return {**context, keys[0]: _put(inner if isinstance(inner, dict) else {}, keys[1:], value)}


# registered under every parameter naming in use (DMN says "m", Camunda says "context"/"keys")
_builtin("get value", "context", "key")(_get_value)
_builtin("get value", "m", "key")(_get_value)
_builtin("get value", "context", "keys")(_get_value)
_builtin("get entries", "context")(_get_entries)
_builtin("get entries", "m")(_get_entries)
_builtin("context put", "context", "key", "value")(_context_put)
_builtin("context put", "context", "keys", "value")(_context_put)


@_builtin("context", "entries")
def _context(runtime: Runtime, entries: Any) -> Any:
    if not isinstance(entries, list):
        return None
    result: dict[str, Any] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str) or "value" not in entry:
            return None
        result[entry["key"]] = entry["value"]
    return result


@_builtin("context merge", "contexts", variadic=True)
def _context_merge(runtime: Runtime, *args: Any) -> Any:
    contexts = _items(args)
    if not all(isinstance(context, dict) for context in contexts):
        return None
    merged: dict[str, Any] = {}
    for context in contexts:
        merged.update(context)
    return merged


# --------------------------------------------------------------------------------------------
# Dates, times and durations
# --------------------------------------------------------------------------------------------


@_builtin("date", "from")
def _date_from(runtime: Runtime, value: Any) -> Any:
    if isinstance(value, str):
        return parse_date(value)
    if isinstance(value, datetime):
        return value.date()
    return value if is_date(value) else None


@_builtin("date", "year", "month", "day")
def _date_of(runtime: Runtime, year: Any, month: Any, day: Any) -> Any:
    parts = [integer_value(part) for part in (year, month, day)]
    if any(part is None for part in parts):
        return None
    return make_date(*parts)  # type: ignore[arg-type]


@_builtin("time", "from")
def _time_from(runtime: Runtime, value: Any) -> Any:
    if isinstance(value, str):
        return parse_time(value)
    if isinstance(value, datetime):
        return value.timetz()
    if isinstance(value, time):
        return value
    if is_date(value):
        return time(0, 0)
    return None


def _zone_of_offset(offset: Any) -> timezone | None | bool:
    if offset is None:
        return None
    if not isinstance(offset, timedelta) or abs(offset) > timedelta(hours=18):
        return False
    return timezone(offset)


@_builtin("time", "hour", "minute", "second", "offset?")
def _time_of(runtime: Runtime, hour: Any, minute: Any, second: Any, offset: Any = None) -> Any:
    hours, minutes = integer_value(hour), integer_value(minute)
    if hours is None or minutes is None or not isinstance(second, Decimal):
        return None
    if not (0 <= hours < 24 and 0 <= minutes < 60 and 0 <= second < 60):
        return None
    zone = _zone_of_offset(offset)
    if zone is False:
        return None
    whole = int(second)
    micro = int((second - whole) * 1_000_000)
    return time(hours, minutes, whole, micro, tzinfo=zone if isinstance(zone, timezone) else None)


@_builtin("date and time", "from")
def _datetime_from(runtime: Runtime, value: Any) -> Any:
    if isinstance(value, str):
        return parse_datetime(value)
    if isinstance(value, datetime):
        return value
    if is_date(value):
        return datetime(value.year, value.month, value.day)
    return None


@_builtin("date and time", "date", "time")
def _datetime_of(runtime: Runtime, day: Any, clock: Any) -> Any:
    if not isinstance(day, date) or not isinstance(clock, time):
        return None
    return datetime.combine(day.date() if isinstance(day, datetime) else day, clock)


@_builtin("duration", "from")
def _duration(runtime: Runtime, value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else None


def _naive(value: date) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime(value.year, value.month, value.day)


@_builtin("years and months duration", "from", "to")
def _years_and_months(runtime: Runtime, start: Any, end: Any) -> Any:
    """Whole months from ``from`` to ``to`` (negative if ``to`` is earlier)."""
    if not isinstance(start, date) or not isinstance(end, date):
        return None
    first, last = _naive(start), _naive(end)
    months = (last.year - first.year) * 12 + last.month - first.month
    first_rest = (first.day, first.time())
    last_rest = (last.day, last.time())
    if months > 0 and last_rest < first_rest:
        months -= 1
    elif months < 0 and last_rest > first_rest:
        months += 1
    return YearMonthDuration(months)


@_builtin("now")
def _now(runtime: Runtime) -> Any:
    return runtime.now


@_builtin("today")
def _today(runtime: Runtime) -> Any:
    return runtime.now.astimezone(IMPLICIT_TIMEZONE).date()


_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@_builtin("day of week", "date")
def _day_of_week(runtime: Runtime, value: Any) -> Any:
    return _DAY_NAMES[value.weekday()] if isinstance(value, date) else None


@_builtin("day of year", "date")
def _day_of_year(runtime: Runtime, value: Any) -> Any:
    return Decimal(value.timetuple().tm_yday) if isinstance(value, date) else None


@_builtin("week of year", "date")
def _week_of_year(runtime: Runtime, value: Any) -> Any:
    return Decimal(value.isocalendar()[1]) if isinstance(value, date) else None


@_builtin("month of year", "date")
def _month_of_year(runtime: Runtime, value: Any) -> Any:
    # not strftime("%B"): that follows the process locale
    return _MONTH_NAMES[value.month - 1] if isinstance(value, date) else None


@_builtin("last day of month", "date")
def _last_day_of_month(runtime: Runtime, value: Any) -> Any:
    if not isinstance(value, date):
        return None
    first = date(value.year, value.month, 1)
    following = shift_months(first, 1)
    if following is None:
        return date(value.year, 12, 31)
    return date.fromordinal(following.toordinal() - 1)


BUILTIN_NAMES: list[str] = sorted(BUILTINS)
