"""FEEL values: the Python types that stand for them, conversion, comparison and arithmetic.

FEEL value      Python representation
--------------  -----------------------------------------------------------------
number          ``decimal.Decimal`` (34 significant digits, like DECIMAL128)
string          ``str``
boolean         ``bool``
null            ``None``
list            ``list``
context         ``dict`` with ``str`` keys
date            ``datetime.date`` (exactly; a ``datetime`` is a date and time)
time            ``datetime.time`` (naive = local time, or with ``tzinfo``)
date and time   ``datetime.datetime`` (naive = local date-time, or aware)
days and time   ``datetime.timedelta``
years and months  :class:`YearMonthDuration`
range           :class:`Range`
function        :class:`FeelFunction`

Date-times and times without a zone are compared with zoned ones in the implicit time zone
(Asia/Ho_Chi_Minh), as XPath prescribes for values without a time zone.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import (
    ROUND_DOWN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from typing import Any
from zoneinfo import ZoneInfo

from engine.errors import Count, Phrase
from engine.expressions.feel.errors import MAX_EXPONENT, MAX_INPUT_DEPTH, MAX_STRING_LENGTH, FeelEvaluationError

DECIMAL_CONTEXT = Context(
    prec=34,
    rounding=ROUND_HALF_EVEN,
    Emax=6144,
    Emin=-6143,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
IMPLICIT_TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
_MICRO = timedelta(microseconds=1)
_DAY_US = 86_400 * 1_000_000
_REFERENCE_DATE = date(1970, 1, 1)


# --------------------------------------------------------------------------------------------
# Value types that Python does not have
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class YearMonthDuration:
    """A FEEL years-and-months duration, kept as a signed number of months."""

    months: int


@dataclass(frozen=True)
class Range:
    """A FEEL range such as ``[1..10)``; an endpoint of ``None`` is unbounded."""

    start: Any
    end: Any
    start_included: bool
    end_included: bool


class FeelFunction:
    """A callable FEEL value (built-in or user-defined). The interpreter knows how to call it."""

    name: str = "anonymous function"


# --------------------------------------------------------------------------------------------
# Type tests
# --------------------------------------------------------------------------------------------


def is_number(value: Any) -> bool:
    return isinstance(value, Decimal)


def is_date(value: Any) -> bool:
    # datetime is a subclass of date, so isinstance() would accept date-times too
    return type(value) is date


def type_name(value: Any) -> str:
    """The FEEL type of a value, as used by ``instance of`` and error messages."""
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, datetime):
        return "date and time"
    if isinstance(value, date):
        return "date"
    if isinstance(value, time):
        return "time"
    if isinstance(value, timedelta):
        return "days and time duration"
    if isinstance(value, YearMonthDuration):
        return "years and months duration"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "context"
    if isinstance(value, Range):
        return "range"
    if isinstance(value, FeelFunction):
        return "function"
    return "unknown"


# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------


def decimal_op(operation: Callable[[], Decimal]) -> Decimal | None:
    """Run a decimal operation: invalid operations give null, overflow stops the evaluation."""
    try:
        result = operation()
    except Overflow:
        raise FeelEvaluationError("A number became too large (beyond 34 digits with exponent 6144).") from None
    except (InvalidOperation, DivisionByZero):
        return None
    return result if result.is_finite() else None  # e.g. 0 ** -1 is Infinity without a signal


def to_decimal(value: int | float | str | Decimal) -> Decimal | None:
    """A caller's number as a FEEL number; NaN, infinities and overflow give null."""
    try:
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                return None
            return DECIMAL_CONTEXT.create_decimal(repr(value))
        result = DECIMAL_CONTEXT.create_decimal(value)
    except (InvalidOperation, Overflow, ValueError):
        return None
    return None if not result.is_finite() else result


def integer_value(value: Any) -> int | None:
    """The integer a FEEL number stands for, or None if it is not a (reasonably sized) integer."""
    if not isinstance(value, Decimal) or not value.is_finite():
        return None
    if value != value.to_integral_value() or value.adjusted() > 18:
        return None
    return int(value)


def format_number(value: Decimal) -> str:
    """Plain notation without exponent or trailing zeros, as ``string()`` shows numbers."""
    if value.is_zero():
        return "0"
    return format(value.normalize(DECIMAL_CONTEXT), "f")


# --------------------------------------------------------------------------------------------
# Conversion from and to plain Python
# --------------------------------------------------------------------------------------------


def from_python(value: Any, depth: int = 0) -> Any:
    """A caller's value as a FEEL value. Unknown objects become null: we never look inside them."""
    if depth > MAX_INPUT_DEPTH:
        raise FeelEvaluationError(Phrase("An input value is nested more than %(limit)s levels deep.",
                                         limit=MAX_INPUT_DEPTH))
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float | Decimal):
        return to_decimal(value)
    if isinstance(value, list | tuple):
        return [from_python(item, depth + 1) for item in value]
    if isinstance(value, Mapping):
        return {str(key): from_python(item, depth + 1) for key, item in value.items()}
    if isinstance(value, date | time | timedelta | YearMonthDuration | Range | FeelFunction):
        return value
    return None


def to_python(value: Any, depth: int = 0) -> Any:
    """A FEEL value as JSON-friendly Python: numbers, strings, booleans, None, lists and dicts."""
    if depth > MAX_INPUT_DEPTH:
        raise FeelEvaluationError(Phrase("A result is nested more than %(limit)s levels deep.", limit=MAX_INPUT_DEPTH))
    if value is None or isinstance(value, bool | str | int | float):
        return value
    if isinstance(value, Decimal):
        return _decimal_to_python(value)
    if isinstance(value, list | tuple):
        return [to_python(item, depth + 1) for item in value]
    if isinstance(value, Mapping):
        return {str(key): to_python(item, depth + 1) for key, item in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta | YearMonthDuration):
        return format_duration(value)
    if isinstance(value, Range):
        return to_feel_string(value)
    return None  # functions and anything else have no JSON form


def _decimal_to_python(value: Decimal) -> int | float:
    if not value.is_finite():
        return float(value)
    # int() of a number with thousands of digits would not survive json.dumps(); such values are floats
    if value == value.to_integral_value() and value.adjusted() < 1000:
        return int(value)
    return float(value)


# --------------------------------------------------------------------------------------------
# Strings of values (the string() function)
# --------------------------------------------------------------------------------------------


def to_feel_string(value: Any) -> str | None:
    """``string(value)``: FEEL's own notation of a value; null stays null."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    parts: list[str] = []
    _write_literal(value, parts, [0], 0)
    return "".join(parts)


def _write_literal(value: Any, parts: list[str], size: list[int], depth: int) -> None:
    """Append the notation of ``value``; ``size`` counts characters so far against the limit.

    A list may hold the same large string many times, so the text can be far larger than memory
    used by the value: check while writing, not afterwards.
    """
    if depth > MAX_INPUT_DEPTH:
        raise FeelEvaluationError(Phrase("A value is nested more than %(limit)s levels deep.", limit=MAX_INPUT_DEPTH))
    if isinstance(value, list):
        _emit("[", parts, size)
        for index, item in enumerate(value):
            _emit(", " if index else "", parts, size)
            _write_literal(item, parts, size, depth + 1)
        _emit("]", parts, size)
    elif isinstance(value, dict):
        _emit("{", parts, size)
        for index, (key, item) in enumerate(value.items()):
            _emit((", " if index else "") + f"{key}:", parts, size)
            _write_literal(item, parts, size, depth + 1)
        _emit("}", parts, size)
    elif isinstance(value, Range):
        _emit("[" if value.start_included else "(", parts, size)
        _write_literal(value.start, parts, size, depth + 1)
        _emit("..", parts, size)
        _write_literal(value.end, parts, size, depth + 1)
        _emit("]" if value.end_included else ")", parts, size)
    else:
        _emit(_scalar_text(value), parts, size)


def _emit(text: str, parts: list[str], size: list[int]) -> None:
    size[0] += len(text)
    check_string_length(size[0])
    parts.append(text)


def _scalar_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format_number(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, datetime | time):
        return format_zoned(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta | YearMonthDuration):
        return format_duration(value)
    return "function"


def format_zoned(value: datetime | time) -> str:
    """ISO notation, with ``@Zone/Id`` for values in a named time zone (FEEL's own notation)."""
    text = value.replace(tzinfo=None).isoformat()
    zone = value.tzinfo
    if zone is None:
        return text
    if isinstance(zone, ZoneInfo):
        return f"{text}@{zone.key}"
    offset = _offset_of(value)
    if offset is None:
        return text
    return text + ("Z" if not offset else _format_offset(offset))


def _format_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def format_duration(value: timedelta | YearMonthDuration) -> str:
    """ISO 8601 notation: ``P1Y2M``, ``P1DT2H30M``, ``-PT1.5S``; zero is ``P0M`` / ``PT0S``."""
    if isinstance(value, YearMonthDuration):
        sign = "-" if value.months < 0 else ""
        years, months = divmod(abs(value.months), 12)
        text = (f"{years}Y" if years else "") + (f"{months}M" if months or not years else "")
        return f"{sign}P{text}"
    micro = value // _MICRO
    sign = "-" if micro < 0 else ""
    days, rest = divmod(abs(micro), _DAY_US)
    hours, rest = divmod(rest, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds, fraction = divmod(rest, 1_000_000)
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if seconds or fraction:
        clock += f"{seconds}.{fraction:06d}".rstrip("0").rstrip(".") + "S"
    if not days and not clock:
        return "PT0S"
    return f"{sign}P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else "")


# --------------------------------------------------------------------------------------------
# Parsing temporal strings
# --------------------------------------------------------------------------------------------

_DATE_RE = re.compile(r"(-?\d{4,9})-(\d{2})-(\d{2})")
_TIME_RE = re.compile(r"(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?")
_ZONE_RE = re.compile(r"Z|[+-]\d{2}:\d{2}|@[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+){0,3}")
_DURATION_RE = re.compile(
    r"(-)?P(?:(\d{1,12})Y)?(?:(\d{1,12})M)?(?:(\d{1,12})W)?(?:(\d{1,12})D)?"
    r"(?:T(?:(\d{1,12})H)?(?:(\d{1,12})M)?(?:(\d{1,12})(?:\.(\d{1,9}))?S)?)?"
)
_MAX_TEMPORAL_TEXT = 100  # longer strings cannot be temporal values; do not even try the patterns


def parse_date(text: str) -> date | None:
    if len(text) > _MAX_TEMPORAL_TEXT:
        return None
    match = _DATE_RE.fullmatch(text)
    if not match:
        return None
    return make_date(int(match[1]), int(match[2]), int(match[3]))


def make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except (ValueError, OverflowError):
        return None


def parse_zone(text: str | None) -> tzinfo | None | bool:
    """A time zone from ``Z``, ``+07:00`` or ``@Area/City``; None if absent, False if invalid."""
    if not text:
        return None
    if text == "Z":
        return UTC
    if text[0] == "@":
        return zone_by_id(text[1:]) or False
    sign = -1 if text[0] == "-" else 1
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 18 or minutes > 59:
        return False
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def zone_by_id(zone_id: str) -> ZoneInfo | None:
    """A named IANA zone; only well-formed ids reach ZoneInfo, which reads files by that name."""
    if len(zone_id) > 64 or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+){0,3}", zone_id):
        return None
    try:
        return ZoneInfo(zone_id)
    except (ValueError, OSError, KeyError):
        # ZoneInfoNotFoundError is a KeyError; a malformed key is a ValueError
        return None


def _parse_clock(text: str) -> tuple[int, int, int, int] | None:
    match = _TIME_RE.fullmatch(text)
    if not match:
        return None
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    micro = int((match[4] or "").ljust(6, "0")[:6])
    if hour > 23 or minute > 59 or second > 59:
        return None
    return hour, minute, second, micro


def _split_zone(text: str) -> tuple[str, str | None]:
    for index, char in enumerate(text):
        if char in "Z@+" or (char == "-" and index > 0):
            return text[:index], text[index:]
    return text, None


def parse_time(text: str) -> time | None:
    if len(text) > _MAX_TEMPORAL_TEXT:
        return None
    clock_text, zone_text = _split_zone(text)
    clock = _parse_clock(clock_text)
    if clock is None or (zone_text is not None and not _ZONE_RE.fullmatch(zone_text)):
        return None
    zone = parse_zone(zone_text)
    if zone is False:
        return None
    return time(*clock, tzinfo=zone if isinstance(zone, tzinfo) else None)


def parse_datetime(text: str) -> datetime | None:
    if len(text) > _MAX_TEMPORAL_TEXT:
        return None
    if "T" not in text:
        day = parse_date(text)
        return datetime(day.year, day.month, day.day) if day else None
    date_text, _, time_text = text.partition("T")
    day = parse_date(date_text)
    clock_time = parse_time(time_text)
    if day is None or clock_time is None:
        return None
    return datetime.combine(day, clock_time)


def parse_duration(text: str) -> timedelta | YearMonthDuration | None:
    """An ISO 8601 duration that is either years-months or days-time (FEEL has no mixed kind)."""
    if len(text) > _MAX_TEMPORAL_TEXT or text.endswith(("P", "T")):
        return None
    match = _DURATION_RE.fullmatch(text)
    if not match:
        return None
    sign = -1 if match[1] else 1
    years, months, weeks, days, hours, minutes, seconds, fraction = match.groups()[1:]
    has_ym = years is not None or months is not None
    has_dt = any(part is not None for part in (weeks, days, hours, minutes, seconds))
    if has_ym == has_dt:  # nothing at all, or a mix of both kinds
        return None
    if has_ym:
        return YearMonthDuration(sign * (int(years or 0) * 12 + int(months or 0)))
    try:
        value = timedelta(
            weeks=int(weeks or 0),
            days=int(days or 0),
            hours=int(hours or 0),
            minutes=int(minutes or 0),
            seconds=int(seconds or 0),
            microseconds=int((fraction or "").ljust(6, "0")[:6]),
        )
    except OverflowError:
        return None
    return -value if sign < 0 else value


def parse_temporal(text: str) -> Any:
    """The value of an ``@"..."`` literal: a date, date and time, time or duration."""
    stripped = text.strip()
    if stripped.lstrip("-").startswith("P"):
        return parse_duration(stripped)
    if "T" in stripped:
        return parse_datetime(stripped)
    if ":" in stripped:
        return parse_time(stripped)
    return parse_date(stripped)


# --------------------------------------------------------------------------------------------
# Comparison and equality
# --------------------------------------------------------------------------------------------


def _offset_of(value: datetime | time) -> timedelta | None:
    if value.tzinfo is None:
        return None
    if isinstance(value, datetime):
        return value.utcoffset()
    # a time in a named zone has no offset by itself; use the zone's offset on a fixed day
    return value.tzinfo.utcoffset(datetime.combine(_REFERENCE_DATE, value))


def _instant(value: datetime) -> datetime:
    zoned = value if value.tzinfo is not None else value.replace(tzinfo=IMPLICIT_TIMEZONE)
    return zoned.astimezone(UTC)


def _time_micros(value: time) -> int:
    """Microseconds since midnight UTC (may fall outside one day), for comparing times."""
    local = ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond
    offset = _offset_of(value)
    if offset is None:
        offset = IMPLICIT_TIMEZONE.utcoffset(datetime.combine(_REFERENCE_DATE, value)) or timedelta(0)
    return local - offset // _MICRO


def _sign(difference: Any) -> int:
    return (difference > 0) - (difference < 0)


def compare(left: Any, right: Any) -> int | None:
    """-1, 0 or 1 if the values are ordered, None if FEEL does not order them (null, mixed types)."""
    if left is None or right is None or isinstance(left, bool) or isinstance(right, bool):
        return None
    if isinstance(left, Decimal) and isinstance(right, Decimal):
        return (left > right) - (left < right)
    if isinstance(left, str) and isinstance(right, str):
        return (left > right) - (left < right)
    if isinstance(left, datetime) and isinstance(right, datetime):
        a, b = _instant(left), _instant(right)
        return (a > b) - (a < b)
    if is_date(left) and is_date(right):
        return (left > right) - (left < right)
    if isinstance(left, time) and isinstance(right, time):
        return _sign(_time_micros(left) - _time_micros(right))
    if isinstance(left, timedelta) and isinstance(right, timedelta):
        return (left > right) - (left < right)
    if isinstance(left, YearMonthDuration) and isinstance(right, YearMonthDuration):
        return _sign(left.months - right.months)
    return None


def equals(left: Any, right: Any) -> bool | None:
    """FEEL ``=``: null equals only null; values of different types give null."""
    if left is None or right is None:
        return left is None and right is None
    if type_name(left) != type_name(right):
        return None
    if isinstance(left, bool):
        return left is right
    if isinstance(left, list):
        return _lists_equal(left, right)
    if isinstance(left, dict):
        return _contexts_equal(left, right)
    if isinstance(left, Range):
        return _ranges_equal(left, right)
    if isinstance(left, FeelFunction):
        return left is right
    order = compare(left, right)
    return None if order is None else order == 0


def _all_equal(pairs: list[tuple[Any, Any]]) -> bool | None:
    unknown = False
    for a, b in pairs:
        result = equals(a, b)
        if result is False:
            return False
        unknown = unknown or result is None
    return None if unknown else True


def _lists_equal(left: list[Any], right: list[Any]) -> bool | None:
    if len(left) != len(right):
        return False
    return _all_equal(list(zip(left, right, strict=True)))


def _contexts_equal(left: dict[str, Any], right: dict[str, Any]) -> bool | None:
    if left.keys() != right.keys():
        return False
    return _all_equal([(left[key], right[key]) for key in left])


def _ranges_equal(left: Range, right: Range) -> bool | None:
    if left.start_included != right.start_included or left.end_included != right.end_included:
        return False
    return _all_equal([(left.start, right.start), (left.end, right.end)])


def in_range(value: Any, bounds: Range) -> bool | None:
    """Whether the value lies in the range; null if it cannot be compared with the endpoints."""
    results: list[bool | None] = []
    if bounds.start is not None:
        order = compare(value, bounds.start)
        results.append(None if order is None else (order > 0 or (order == 0 and bounds.start_included)))
    if bounds.end is not None:
        order = compare(value, bounds.end)
        results.append(None if order is None else (order < 0 or (order == 0 and bounds.end_included)))
    if False in results:
        return False
    return None if None in results else True


def list_contains(items: list[Any], value: Any) -> bool:
    return any(equals(item, value) is True for item in items)


# --------------------------------------------------------------------------------------------
# Arithmetic
# --------------------------------------------------------------------------------------------


def _micros(value: timedelta) -> int:
    return value // _MICRO


def _from_micros(micros: int | Decimal) -> timedelta | None:
    try:
        return timedelta(microseconds=int(micros))
    except OverflowError:
        return None


def shift_months(value: date, months: int) -> date | None:
    """A date or date-time moved by whole months; the day is clamped to the month's last day."""
    total = value.year * 12 + value.month - 1 + months
    year, month_index = divmod(total, 12)
    if not 1 <= year <= 9999:
        return None
    day = min(value.day, calendar.monthrange(year, month_index + 1)[1])
    return value.replace(year=year, month=month_index + 1, day=day)


def _add_time(value: time, duration: timedelta) -> time:
    micros = ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond
    micros = (micros + _micros(duration)) % _DAY_US
    seconds, micro = divmod(micros, 1_000_000)
    return time(seconds // 3600, seconds // 60 % 60, seconds % 60, micro, tzinfo=value.tzinfo)


def _add_duration(value: Any, duration: Any) -> Any:
    """A temporal value plus a duration, or None if that combination is not defined."""
    try:
        if isinstance(duration, YearMonthDuration):
            if isinstance(value, date):  # dates and date-times
                return shift_months(value, duration.months)
            return None
        if isinstance(value, datetime):
            if value.tzinfo is None:
                return value + duration
            # absolute time, so that a day across a DST change still lasts 24 hours
            return (value.astimezone(UTC) + duration).astimezone(value.tzinfo)
        if is_date(value):
            return (datetime.combine(value, time()) + duration).date()
        if isinstance(value, time):
            return _add_time(value, duration)
    except OverflowError:
        return None
    return None


def _is_duration(value: Any) -> bool:
    return isinstance(value, timedelta | YearMonthDuration)


def _is_temporal(value: Any) -> bool:
    return isinstance(value, date | time)


def add(left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    if isinstance(left, Decimal) and isinstance(right, Decimal):
        return decimal_op(lambda: DECIMAL_CONTEXT.add(left, right))
    if isinstance(left, str) and isinstance(right, str):
        check_string_length(len(left) + len(right))
        return left + right
    if isinstance(left, timedelta) and isinstance(right, timedelta):
        return _from_micros(_micros(left) + _micros(right))
    if isinstance(left, YearMonthDuration) and isinstance(right, YearMonthDuration):
        return YearMonthDuration(left.months + right.months)
    if _is_temporal(left) and _is_duration(right):
        return _add_duration(left, right)
    if _is_duration(left) and _is_temporal(right):
        return _add_duration(right, left)
    return None


def negate(value: Any) -> Any:
    if isinstance(value, Decimal):
        return DECIMAL_CONTEXT.minus(value)
    if isinstance(value, timedelta):
        return _from_micros(-_micros(value))
    if isinstance(value, YearMonthDuration):
        return YearMonthDuration(-value.months)
    return None


def subtract(left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    if isinstance(left, Decimal) and isinstance(right, Decimal):
        return decimal_op(lambda: DECIMAL_CONTEXT.subtract(left, right))
    if isinstance(left, datetime) and isinstance(right, datetime):
        if left.tzinfo is None and right.tzinfo is None:
            return left - right
        return _instant(left) - _instant(right)
    if is_date(left) and is_date(right):
        return timedelta(days=(left - right).days)
    if isinstance(left, time) and isinstance(right, time):
        return _from_micros(_time_micros(left) - _time_micros(right))
    if _is_duration(right) and (_is_temporal(left) or type(left) is type(right)):
        return add(left, negate(right))
    return None


def multiply(left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    if isinstance(left, Decimal) and isinstance(right, Decimal):
        return decimal_op(lambda: DECIMAL_CONTEXT.multiply(left, right))
    if _is_duration(right) and isinstance(left, Decimal):
        left, right = right, left
    if isinstance(left, timedelta) and isinstance(right, Decimal):
        micros = decimal_op(lambda: DECIMAL_CONTEXT.multiply(Decimal(_micros(left)), right))
        return None if micros is None else _from_micros(micros.to_integral_value())
    if isinstance(left, YearMonthDuration) and isinstance(right, Decimal):
        months = decimal_op(lambda: DECIMAL_CONTEXT.multiply(Decimal(left.months), right))
        return None if months is None else _months(months)
    return None


def _months(value: Decimal) -> YearMonthDuration | None:
    if value.adjusted() > 12:
        return None
    return YearMonthDuration(int(value.to_integral_value(rounding=ROUND_DOWN)))


def divide(left: Any, right: Any) -> Any:
    """FEEL division; dividing by zero gives null."""
    if left is None or right is None:
        return None
    if isinstance(left, Decimal) and isinstance(right, Decimal):
        return None if right.is_zero() else decimal_op(lambda: DECIMAL_CONTEXT.divide(left, right))
    if isinstance(left, timedelta):
        if isinstance(right, Decimal) and not right.is_zero():
            micros = decimal_op(lambda: DECIMAL_CONTEXT.divide(Decimal(_micros(left)), right))
            return None if micros is None else _from_micros(micros.to_integral_value())
        if isinstance(right, timedelta) and right:
            return decimal_op(lambda: DECIMAL_CONTEXT.divide(Decimal(_micros(left)), Decimal(_micros(right))))
    if isinstance(left, YearMonthDuration):
        if isinstance(right, Decimal) and not right.is_zero():
            months = decimal_op(lambda: DECIMAL_CONTEXT.divide(Decimal(left.months), right))
            return None if months is None else _months(months)
        if isinstance(right, YearMonthDuration) and right.months:
            return decimal_op(lambda: DECIMAL_CONTEXT.divide(Decimal(left.months), Decimal(right.months)))
    return None


def power(base: Any, exponent: Any) -> Any:
    """``base ** exponent``; exponents beyond ±1000 are refused rather than computed."""
    if not isinstance(base, Decimal) or not isinstance(exponent, Decimal):
        return None
    if abs(exponent) > MAX_EXPONENT:
        raise FeelEvaluationError(
            Phrase("The exponent %(exponent)s is too large: '**' allows exponents up to %(limit)s.",
                   exponent=format_number(exponent), limit=MAX_EXPONENT)
        )
    return decimal_op(lambda: DECIMAL_CONTEXT.power(base, exponent))


def check_string_length(length: int) -> None:
    if length > MAX_STRING_LENGTH:
        raise FeelEvaluationError(
            Phrase("A string would have %(length)s characters; the limit is %(limit)s.",
                   length=Count(length), limit=Count(MAX_STRING_LENGTH))
        )


# --------------------------------------------------------------------------------------------
# Properties of temporal values and ranges (``d.year``, ``dur.days``, ``r.start``)
# --------------------------------------------------------------------------------------------


def _date_properties(value: date) -> dict[str, Any]:
    return {
        "year": Decimal(value.year),
        "month": Decimal(value.month),
        "day": Decimal(value.day),
        "weekday": Decimal(value.isoweekday()),
    }


def _clock_properties(value: datetime | time) -> dict[str, Any]:
    offset = _offset_of(value)
    zone = value.tzinfo
    return {
        "hour": Decimal(value.hour),
        "minute": Decimal(value.minute),
        "second": Decimal(value.second),
        "time offset": offset,
        "timezone": zone.key if isinstance(zone, ZoneInfo) else None,
    }


def _duration_properties(value: timedelta) -> dict[str, Any]:
    micros = _micros(value)
    sign = -1 if micros < 0 else 1
    days, rest = divmod(abs(micros), _DAY_US)
    hours, rest = divmod(rest, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds = Decimal(rest) / Decimal(1_000_000)
    return {
        "days": Decimal(sign * days),
        "hours": Decimal(sign * hours),
        "minutes": Decimal(sign * minutes),
        "seconds": sign * seconds.normalize() if rest else Decimal(0),
    }


def get_property(value: Any, name: str) -> Any:
    """``value.name`` for the FEEL types that have properties; null for anything else."""
    properties: dict[str, Any]
    if isinstance(value, datetime):
        properties = {**_date_properties(value), **_clock_properties(value)}
    elif isinstance(value, date):
        properties = _date_properties(value)
    elif isinstance(value, time):
        properties = _clock_properties(value)
    elif isinstance(value, timedelta):
        properties = _duration_properties(value)
    elif isinstance(value, YearMonthDuration):
        years, months = divmod(abs(value.months), 12)
        sign = -1 if value.months < 0 else 1
        properties = {"years": Decimal(sign * years), "months": Decimal(sign * months)}
    elif isinstance(value, Range):
        properties = {
            "start": value.start,
            "end": value.end,
            "start included": value.start_included,
            "end included": value.end_included,
        }
    else:
        return None
    return properties.get(name)
