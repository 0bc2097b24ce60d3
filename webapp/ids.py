"""Ids in URLs and request fields: ASCII digits that fit a database integer, nothing else.

``str.isdigit`` and Python's ``int`` accept Unicode digits (``"²"``, ``"١٢"``), and a 30-digit number
overflows PostgreSQL's ``bigint``; both made requests fail with a 500. An id that is not 1 to 18 ASCII
digits names nothing: the route does not match (404) or the record is not found.
"""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

MAX_ID_DIGITS = 18  # below 2**63


def is_id(text: str) -> bool:
    return 0 < len(text) <= MAX_ID_DIGITS and text.isascii() and text.isdigit()


def as_id(text: str) -> int | None:
    return int(text) if is_id(text) else None


class IdConverter(IntegerConverter):
    """``<int:…>`` in routes: ASCII digits only, at most 18 of them."""

    regex = r"[0-9]{1,18}"


MAX_REQUEST_INT = 2**31 - 1  # counts, retries and milliseconds in requests (a lock of at most 24 days)


def in_request_range(value: object) -> bool:
    """A whole number a request may give for a count, retries or a duration in milliseconds."""
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_REQUEST_INT


def id_field(value: object) -> int | None:
    """A record id given in a JSON body (``unit_id``), or None when it cannot name a record."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63 else None
