"""Turning what was entered into typed values.

The same functions read an HTML post (strings) and a JSON body (native values):

- text: ``str``, trimmed; empty is ``""``;
- number: ``int`` when written without a fraction, else ``float`` (``serializeToString``: a decimal
  string). A decimal comma is accepted (``2,5``), thousands separators are not;
- datetime: ``"YYYY-MM-DD"`` (``DD/MM/YYYY`` accepted), ``"HH:MM"``, or ISO 8601 ``"YYYY-MM-DDTHH:MM"``
  kept without an offset when none was given (the browser sends local wall-clock time);
- checkbox: ``bool``; radio/select: the submitted token, matched to an option later; checklist and
  taglist: a list of tokens. Empty choices are None / ``[]``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from .messages import Refusal
from .model import Field


class InvalidInput(Exception):
    def __init__(self, problem: Refusal) -> None:
        super().__init__(problem.code)
        self.problem = problem


def invalid(code: str, **params: Any) -> InvalidInput:
    return InvalidInput(Refusal(code, params))


_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)")
_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:\d{2})?")
_TRUE = frozenset({"true", "on", "1", "yes"})
_FALSE = frozenset({"false", "off", "0", "no", ""})


def parse_value(field: Field, raw: Any) -> Any:
    """The typed value of ``raw`` for this field; raises InvalidInput when it cannot be one."""
    return _PARSERS[field.type](field, raw)


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value is False


def parse_text(field: Field, raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise invalid("text")
    return str(raw).replace("\r\n", "\n").strip()


def parse_number(field: Field, raw: Any) -> int | float | str | None:
    number = to_decimal(raw)
    if number is None:
        return None
    if field.serialize_to_string:
        return format(number, "f")
    return int(number) if fraction_digits(number) == 0 else float(number)


def fraction_digits(number: Decimal) -> int:
    """Digits after the decimal point as written: ``2.50`` has two, ``3`` none."""
    exponent = number.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def to_decimal(raw: Any) -> Decimal | None:
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise invalid("number")
    if isinstance(raw, int | float | Decimal):
        return _native_decimal(raw)
    text = str(raw).strip().replace("\u00a0", "").replace(" ", "")
    if not text:
        return None
    if not _NUMBER.fullmatch(text):
        raise invalid("number")
    return Decimal(text.replace(",", "."))


def _native_decimal(raw: int | float | Decimal) -> Decimal:
    if isinstance(raw, float) and not math.isfinite(raw):
        raise invalid("number")
    number = Decimal(str(raw))
    # A JSON 3.0 is the whole number 3, not a value with one decimal digit.
    return number.to_integral_value() if number == number.to_integral_value() else number


def parse_datetime(field: Field, raw: Any) -> str | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    parser = {"date": parse_date, "time": parse_time}.get(field.subtype, parse_date_time)
    return parser(raw)


def parse_date(raw: Any) -> str:
    if isinstance(raw, datetime):
        return raw.date().isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    text = str(raw).strip()
    try:
        if _ISO_DATE.fullmatch(text):
            return date.fromisoformat(text).isoformat()
        if found := _DMY.fullmatch(text):
            day, month, year = (int(part) for part in found.groups())
            return date(year, month, day).isoformat()
    except ValueError:
        pass
    raise invalid("date")


def parse_time(raw: Any) -> str:
    if isinstance(raw, time):
        return raw.strftime("%H:%M")
    found = _TIME.fullmatch(str(raw).strip())
    if not found:
        raise invalid("time")
    hour, minute, second, offset = found.groups()
    try:
        moment = time(int(hour), int(minute), int(second or 0))
    except ValueError:
        raise invalid("time")
    return moment.strftime("%H:%M:%S" if second and moment.second else "%H:%M") + (offset or "")


def parse_date_time(raw: Any) -> str:
    try:
        moment = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw).strip())
    except ValueError:
        raise invalid("datetime")
    precise = moment.second or moment.microsecond
    return moment.isoformat(timespec="seconds" if precise else "minutes")


def parse_checkbox(field: Field, raw: Any) -> bool:
    if raw is None or isinstance(raw, bool):
        return bool(raw)
    text = str(raw).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise invalid("boolean")


def parse_choice(field: Field, raw: Any) -> Any:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, list | dict):
        raise invalid("option")
    return raw.strip() if isinstance(raw, str) else raw


def parse_choices(field: Field, raw: Any) -> list[Any]:
    if raw is None:
        return []
    items = raw if isinstance(raw, list | tuple) else [raw]
    chosen = [parse_choice(field, item) for item in items]
    return [item for item in dict.fromkeys(chosen) if item is not None]


_PARSERS: dict[str, Callable[[Field, Any], Any]] = {
    "textfield": parse_text,
    "textarea": parse_text,
    "number": parse_number,
    "datetime": parse_datetime,
    "checkbox": parse_checkbox,
    "radio": parse_choice,
    "select": parse_choice,
    "checklist": parse_choices,
    "taglist": parse_choices,
}


def loose_value(field: Field, raw: Any) -> Any:
    """Best-effort typing for conditions: the typed value when it parses, else what was entered."""
    try:
        return parse_value(field, raw)
    except InvalidInput:
        return raw
