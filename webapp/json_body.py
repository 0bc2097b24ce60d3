"""Request bodies of the JSON APIs (/api/v1 and /engine-rest), read strictly.

A body that is not JSON, or JSON but not an object, is answered 400 with the reason, whatever the
Content-Type says; it is never read as an empty object (which would complete a task with no data).
An empty body is an empty object. What the values may be is the engine's check
(``engine.data_check``): it names the variable, so ``NaN`` or a 70-digit number is a 422 there.
"""

from __future__ import annotations

import json
from typing import Any

from flask import request

from engine import EngineError


def parse_json(text: str | bytes) -> Any:
    """A JSON text as Python values; EngineError (400) with the reason when it is not JSON."""
    try:
        return json.loads(text)
    except RecursionError:
        raise EngineError("The JSON is nested too deeply.") from None
    except UnicodeDecodeError:
        raise EngineError("The request body is not UTF-8 text.") from None
    except json.JSONDecodeError as error:
        raise EngineError(
            "The request body is not valid JSON: %(reason)s (line %(line)s, column %(column)s).",
            reason=error.msg,
            line=error.lineno,
            column=error.colno,
        ) from None
    except ValueError:  # e.g. a number with more than 4,300 digits
        raise EngineError("The request body is not valid JSON: a number has too many digits.") from None


def json_object(*, required: bool = False) -> dict[str, Any]:
    """The request's JSON object; an empty body is an empty object unless ``required``."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise EngineError("Send a JSON object as the request body.")
        return {}
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise EngineError("The request body must be a JSON object ({...}), not a list, text, number or null.")
    return body
