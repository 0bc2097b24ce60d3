"""What validation knows about files: names and types. Storing them is the caller's business.

``accept`` is the filepicker's list, as in HTML: extensions (``.pdf``) and media types
(``application/pdf``, ``image/*``). A media type is taken from the upload (``mimetype`` or
``content_type``) or guessed from the file name.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .messages import Refusal
from .model import Field


@dataclass(frozen=True)
class FileInfo:
    name: str
    media_type: str | None


def uploaded(files: Sequence[Any]) -> list[FileInfo]:
    """The files actually chosen: browsers post an empty part when the user picked nothing."""
    infos = []
    for item in files:
        name = item if isinstance(item, str) else getattr(item, "filename", None)
        if name:
            media_type = getattr(item, "mimetype", None) or getattr(item, "content_type", None)
            infos.append(FileInfo(str(name), media_type or None))
    return infos


def file_problem(field: Field, files: list[FileInfo]) -> Refusal | None:
    if len(files) > 1 and not field.multiple:
        return Refusal("one_file")
    patterns = accepted(field.accept)
    if patterns and not all(_matches(file, patterns) for file in files):
        return Refusal("file_type", {"limit": ", ".join(patterns)})
    return None


def accepted(accept: str) -> list[str]:
    return [item.strip().lower() for item in accept.split(",") if item.strip()]


def _matches(file: FileInfo, patterns: list[str]) -> bool:
    name = file.name.lower()
    media_type = (file.media_type or mimetypes.guess_type(name)[0] or "").lower()
    return any(_match(pattern, name, media_type) for pattern in patterns)


def _match(pattern: str, name: str, media_type: str) -> bool:
    if pattern.startswith("."):
        return name.endswith(pattern)
    if pattern.endswith("/*"):
        return media_type.startswith(pattern[:-1])
    return media_type == pattern
