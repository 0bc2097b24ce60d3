"""Engine errors and HTTP errors become pages (or JSON under /api) that say what to do next."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from engine import DeploymentRejected, EngineError, FormInvalid, ImportRefused, InvalidFields, Problem

from .extensions import sa_session
from .i18n import say
from .security import basic_challenge_allowed


def N_(message: str) -> str:  # noqa: N802 - the conventional name of a "translate later" marker
    """Marks a string for the catalogue; it is translated where it is shown."""
    return message


TITLES = {
    400: N_("Bad request"),
    401: N_("Please log in"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
    413: N_("Too large"),
    422: N_("Invalid data"),
    429: N_("Too many attempts"),
    500: N_("Something went wrong"),
    503: N_("Not available for a moment"),
}


DEFAULT_MESSAGES = {
    400: N_("The request could not be understood; go back and try again."),
    403: N_("You may not open this page; ask your unit's administrator if you need it."),
    404: N_("There is nothing at this address; check the link, or start again from the inbox."),
    405: N_("This page cannot be used that way; go back and use its buttons."),
    409: N_("Someone else changed this at the same moment; reload the page and try again."),
    413: N_("What you sent is too large; send smaller files, one at a time."),
    429: N_("Too many attempts; wait a moment and try again."),
    500: N_("Something went wrong on our side; nothing was changed. Try again in a moment."),
    503: N_("The service is not available for a moment; nothing was changed. Try again in a minute."),
}
"""What a page says when the code gave no sentence of its own (instead of the web server's English)."""


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def error_payload(status: int, message: str, **extra: Any) -> dict[str, Any]:
    return {"status": status, "error": TITLES.get(status, "Error"), "message": message, **extra}


def translated(exc: EngineError) -> str:
    """The error in the user's language when the catalogue has it, else the English sentence."""
    return say(exc)


def problem_dicts(problems: list[Problem]) -> list[dict[str, Any]]:
    """Deploy problems for an answer: the message in the reader's language, without the stored phrase."""
    return [{**{k: v for k, v in p.as_dict().items() if k != "text"}, "message": say(p.text)} for p in problems]


def _in_words(template: str, params: dict[str, Any]) -> str:
    return _(template, **params) if params else _(template)


def _engine_error(exc: EngineError) -> Any:
    status = exc.http_status
    extra: dict[str, Any] = {}
    message = translated(exc)
    if isinstance(exc, FormInvalid):
        extra["field_errors"] = exc.errors
    if isinstance(exc, InvalidFields):
        extra["field_errors"] = {p.field: _in_words(p.template, p.params) for p in exc.problems}
        first = exc.problems[0]
        message = _(exc.template, first=f"{first.field}: {extra['field_errors'][first.field]}", count=len(exc.problems))
    if isinstance(exc, ImportRefused):
        report = exc.report.as_dict()
        report["problems"] = [{**p.as_dict(), "message": _in_words(p.template, p.params)} for p in exc.report.problems]
        extra["report"] = report
    if isinstance(exc, DeploymentRejected):
        extra["problems"] = problem_dicts(exc.problems)
    if _wants_json():
        return jsonify(error_payload(status, message, **extra)), status
    return render_template("errors/error.html", status=status, title=_(TITLES.get(status, "Error")),
                           message=message, problems=extra.get("problems")), status  # fmt: skip


def _http_error(exc: HTTPException) -> Any:
    status = exc.code or 500
    message = exc.description or ""
    if status == 413:
        message = too_large()
    elif message == type(exc).description and status in DEFAULT_MESSAGES:  # the web server's own English text
        message = _(DEFAULT_MESSAGES[status])
    if _wants_json():
        response = jsonify(error_payload(status, message))
        if status == 401 and basic_challenge_allowed():
            response.headers["WWW-Authenticate"] = 'Basic realm="eISO"'
    else:
        title = _(TITLES.get(status, "Error"))
        page = render_template("errors/error.html", status=status, title=title, message=message)
        response = current_app.make_response((page, status))
    response.headers.extend(retry_after(exc))
    return response, status


def too_large() -> str:
    """What a 413 says: the limits, that nothing was saved, and what to do."""
    limit = current_app.config["EISO_SETTINGS"].max_upload_mb
    return _("What you sent is larger than this server accepts: at most %(file)s MB per file and %(total)s MB in "
             "one sending. Nothing was saved. Go back (your browser keeps what you typed), then choose smaller files "
             "or send them in several parts.", file=limit, total=limit + 5)  # fmt: skip


def retry_after(exc: HTTPException) -> list[tuple[str, str]]:
    """The ``Retry-After`` header of a 429 or 503 and the ``Allow`` header of a 405, for the handlers that
    build their own answer."""
    return [(name, value) for name, value in exc.get_headers() if name in ("Retry-After", "Allow")]


# How long a client should wait before it asks again when the database did not answer (seconds).
RETRY_DATABASE_AFTER = 5


def database_unavailable(exc: OperationalError) -> ServiceUnavailable:
    """What a request answers when the database could not do its work (a restart of PostgreSQL that ended the
    connection, the server out of reach, SQLite busy beyond its wait): 503 with ``Retry-After``; the
    transaction was rolled back, so nothing was changed. The cause goes to the server's log."""
    current_app.logger.warning("The database could not answer %s %s: %s", request.method, request.path,
                               str(exc).splitlines()[0])  # fmt: skip
    with suppress(OperationalError):  # the request's work is undone (a dead connection has nothing to undo)
        sa_session().rollback()
    return ServiceUnavailable(_("The database could not answer just now; nothing was changed. Try again in a "
                                "moment; if this keeps happening, tell the unit's administrator."),
                              retry_after=RETRY_DATABASE_AFTER)  # fmt: skip


def _database_error(exc: OperationalError) -> Any:
    return _http_error(database_unavailable(exc))


def register(app: Flask) -> None:
    app.register_error_handler(EngineError, _engine_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OperationalError, _database_error)
