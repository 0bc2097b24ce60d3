"""The ``Idempotency-Key`` header on the API's effects (start, complete a job or task, messages,
signals): a retried request gets the first answer, status and body, instead of a second effect.

Only successful answers are kept: a refused request changed nothing, so its retry runs again. A key
reused with another method, path or body is answered 422; a retry that arrives while the first
request is still running is answered 409.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Response, abort, current_app, g, request
from flask_babel import gettext as _

from engine import idempotency

from .extensions import now, sa_session

HEADER = "Idempotency-Key"
F = TypeVar("F", bound=Callable[..., Any])


def idempotent(view: F) -> F:
    """For views behind ``basic_auth`` (the key belongs to ``g.user``)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        key = key.strip()
        if not 0 < len(key) <= idempotency.KEY_LENGTH or not key.isprintable():
            abort(400, _("An Idempotency-Key must be 1 to %(n)s printable characters, e.g. a UUID.",
                         n=idempotency.KEY_LENGTH))  # fmt: skip
        db, user_id, current = sa_session(), g.user.id, now()
        fingerprint = idempotency.fingerprint(request.method, request.path, request.get_data())
        earlier = idempotency.find(db, user_id, key, current)
        if earlier is None:
            try:
                reserved = idempotency.reserve(db, user_id, key, fingerprint, current)
            except idempotency.KeyTaken:
                earlier = idempotency.find(db, user_id, key, current)
        if earlier is not None:
            return _replay(earlier, fingerprint)
        response = current_app.make_response(view(*args, **kwargs))
        if 200 <= response.status_code < 300:
            idempotency.record(db, reserved, response.status_code, response.content_type or "", response.get_data())
        return response

    return cast(F, wrapped)


def _replay(earlier: idempotency.IdempotencyKey | None, fingerprint: str) -> Response:
    if earlier is not None and earlier.fingerprint != fingerprint:
        abort(422, _("This Idempotency-Key was already used for a different request (another address or body). "
                     "Use a new key for each new request and the same key only to repeat a request."))  # fmt: skip
    if earlier is None or earlier.status is None:
        abort(409, _("A request with this Idempotency-Key is still being handled; ask again in a moment."))
    response = Response(earlier.body or b"", status=earlier.status, content_type=earlier.content_type or None)
    response.headers["Idempotent-Replayed"] = "true"
    return response
