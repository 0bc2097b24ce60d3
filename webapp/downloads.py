"""Names of downloaded files: what the browser is told to save a file as never carries a folder,
a control character or a header of its own, and Vietnamese names survive (RFC 6266 ``filename*``)."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from flask import Response
from werkzeug.http import dump_options_header

FALLBACK = "file"
MAX_LENGTH = 200
ASCII_LETTERS = str.maketrans({"đ": "d", "Đ": "D"})  # the one Vietnamese letter NFKD does not take apart


def safe_filename(name: str) -> str:
    """The last part of a path (``/`` and ``\\`` both separate), without control or format characters,
    leading dots or surrounding spaces; ``file`` if nothing is left."""
    last = re.split(r"[/\\]", name)[-1]
    kept = "".join(ch for ch in last if unicodedata.category(ch)[0] != "C")
    kept = unicodedata.normalize("NFC", kept).strip().lstrip(".").strip()
    return kept[:MAX_LENGTH] or FALLBACK


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII ``filename`` for old clients and the exact UTF-8 ``filename*``."""
    safe = safe_filename(name)
    simple = unicodedata.normalize("NFKD", safe.translate(ASCII_LETTERS)).encode("ascii", "ignore").decode()
    simple = simple.strip() or FALLBACK
    if simple == safe:
        return dump_options_header("attachment", {"filename": simple})
    return dump_options_header("attachment", {"filename": simple, "filename*": f"UTF-8''{quote(safe, safe='')}"})


def as_attachment(response: Response, name: str) -> Response:
    response.headers["Content-Disposition"] = content_disposition(name)
    response.headers["X-Content-Type-Options"] = "nosniff"  # uploaded content is never rendered as a page
    return response
