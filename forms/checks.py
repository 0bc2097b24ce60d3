"""The validation rules of one input: required, lengths, pattern, email/phone, bounds, decimal digits,
increment, past dates and option membership. Only the first problem of a field is reported.

Like form-js, ``pattern`` is searched, not anchored: write ``^...$`` to match the whole value. It is
run on RE2 (``forms.patterns``), where ``\\d`` and ``\\w`` are ASCII as in JavaScript, in linear time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from .feel import Scope, evaluate_expression
from .messages import Refusal
from .model import Evaluate, Expression, Field, Limit, Option
from .options import find_option
from .parsing import InvalidInput, fraction_digits, invalid, is_empty, parse_value, to_decimal

EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
# Digits with the usual separators; 8 to 15 digits covers Vietnamese landlines, mobiles and +84.
PHONE = re.compile(r"\+?[\d\s().-]+")
PHONE_DIGITS = range(8, 16)


@dataclass(frozen=True)
class CheckContext:
    scope: Scope
    evaluate: Evaluate | None
    today: date
    options: list[Option] | None = None


def clean(field: Field, raw: Any, context: CheckContext) -> Any:
    """The cleaned value of one input, or InvalidInput with the first problem found."""
    value = parse_value(field, raw)
    if is_empty(value):
        if field.rules.required:
            raise invalid("required")
        return value
    if field.has_options:
        value = choose(field, value, context.options)
    # Numbers are checked as written, so "1.000" in a whole-number field is refused, not read as 1.
    subject = to_decimal(raw) if field.type == "number" else value
    for check in _CHECKS.get(field.type, ()):
        problem = check(field, subject, context)
        if problem is not None:
            raise InvalidInput(problem)
    return value


def choose(field: Field, value: Any, options: list[Option] | None) -> Any:
    """Submitted tokens -> the options' own values (a number stays a number); unknown tokens refused."""
    if options is None:
        return value
    if field.is_multi_value:
        return [_one_of(options, item) for item in value]
    return _one_of(options, value)


def _one_of(options: list[Option], value: Any) -> Any:
    found = find_option(options, value)
    if found is None:
        raise invalid("option")
    return found.value


def limit(value: Limit, context: CheckContext) -> Decimal | None:
    """A limit from the form; a FEEL limit that gives no number is no limit."""
    if isinstance(value, Expression):
        result = evaluate_expression(value, context.scope, context.evaluate)
        try:
            return to_decimal(result) if isinstance(result, int | float | str) else None
        except InvalidInput:
            return None
    return value


def check_length(field: Field, value: str, context: CheckContext) -> Refusal | None:
    shortest = limit(field.rules.min_length, context)
    if shortest is not None and len(value) < shortest:
        return Refusal("min_length", {"limit": shortest})
    longest = limit(field.rules.max_length, context)
    if longest is not None and len(value) > longest:
        return Refusal("max_length", {"limit": longest})
    return None


def check_pattern(field: Field, value: str, context: CheckContext) -> Refusal | None:
    pattern = field.rules.pattern
    if pattern is None or pattern.search(value):
        return None
    return Refusal("pattern", text=field.rules.pattern_message)


def check_validation_type(field: Field, value: str, context: CheckContext) -> Refusal | None:
    kind = field.rules.validation_type
    if kind == "email" and not EMAIL.fullmatch(value):
        return Refusal("email")
    if kind == "phone" and not _is_phone(value):
        return Refusal("phone")
    return None


def _is_phone(value: str) -> bool:
    digits = sum(character.isdigit() for character in value)
    return bool(PHONE.fullmatch(value)) and digits in PHONE_DIGITS


def check_bounds(field: Field, number: Decimal, context: CheckContext) -> Refusal | None:
    lowest = limit(field.rules.min, context)
    if lowest is not None and number < lowest:
        return Refusal("min", {"limit": lowest})
    highest = limit(field.rules.max, context)
    if highest is not None and number > highest:
        return Refusal("max", {"limit": highest})
    return None


def check_decimal_digits(field: Field, number: Decimal, context: CheckContext) -> Refusal | None:
    allowed = field.decimal_digits
    if allowed is None or fraction_digits(number) <= allowed:
        return None
    return Refusal("integer") if allowed == 0 else Refusal("decimal_digits", {"limit": allowed})


def check_increment(field: Field, number: Decimal, context: CheckContext) -> Refusal | None:
    step = field.increment
    if not step:
        return None
    base = limit(field.rules.min, context) or Decimal(0)
    try:
        on_step = (number - base) % step == 0
    except InvalidOperation:
        on_step = False
    return None if on_step else Refusal("increment", {"limit": step})


def check_passed_date(field: Field, value: str, context: CheckContext) -> Refusal | None:
    if not field.disallow_passed_dates or field.subtype == "time":
        return None
    return Refusal("past_date") if date.fromisoformat(value[:10]) < context.today else None


_Check = Callable[[Field, Any, CheckContext], Refusal | None]
_CHECKS: Mapping[str, tuple[_Check, ...]] = {
    "textfield": (check_length, check_pattern, check_validation_type),
    "textarea": (check_length, check_pattern),
    "number": (check_bounds, check_decimal_digits, check_increment),
    "datetime": (check_passed_date,),
}
