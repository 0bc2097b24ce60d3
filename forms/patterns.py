"""form-js ``validate.pattern`` on RE2, a linear-time regular expression engine.

A pattern comes from an uploaded form and is run on every submitted value. Python's ``re``
backtracks: ``^(a+)+$`` on 34 characters takes minutes and nothing can interrupt it. RE2
(``google-re2``) matches in time linear in the input for every pattern, so a pattern cannot stop
the server. The price is the constructs only a backtracking engine can run: back-references
(``\\1``, ``\\k<name>``) and look-around (``(?=``, ``(?!``, ``(?<=``, ``(?<!``). Such a pattern is
refused when the form is loaded (at deploy time) with the construct named, never run on ``re``.

JavaScript and RE2 agree on what form patterns use: ``\\d`` and ``\\w`` are ASCII, ``.`` stops at a
line break, named groups ``(?<name>...)`` work in both.
"""

from __future__ import annotations

import re
from typing import Protocol

import re2

from .words import Words

MAX_PATTERN_LENGTH = 1_000
MAX_PATTERN_MEMORY = 8 * 1024 * 1024  # bytes RE2 may use for one compiled pattern

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # errors are reported to the form's author, not to the server's log
_OPTIONS.max_mem = MAX_PATTERN_MEMORY

_BACKTRACKING_ONLY = (
    (re.compile(r"\\[1-9]|\\k<"), Words("a back-reference (%(example)s)", example="\\1, \\k<name>")),
    (re.compile(r"\(\?<?[=!]"), Words("look-around (%(example)s)", example="(?=, (?!, (?<=, (?<!")),
)


class SearchPattern(Protocol):
    """What validation needs of a compiled pattern."""

    def search(self, text: str) -> object: ...


class PatternRefused(ValueError):
    """The pattern cannot be used; the message says why in the form author's terms (``template`` and
    ``params``: words to translate)."""

    def __init__(self, message: Words) -> None:
        super().__init__(str(message))
        self.template, self.params = message.template, message.params


def compile_pattern(pattern: str) -> SearchPattern:
    """Compile a form-js pattern for RE2, or raise :class:`PatternRefused`."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternRefused(Words("it has %(length)s characters; the limit is %(limit)s", length=len(pattern),
                                   limit=MAX_PATTERN_LENGTH))  # fmt: skip
    for construct, name in _BACKTRACKING_ONLY:
        if construct.search(_without_classes(pattern)):
            raise PatternRefused(Words("it uses %(construct)s, which only a backtracking engine runs and which can "
                                       "take hours on a short value; rewrite it without", construct=name))
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as error:
        detail = error.args[0].decode("utf-8", "replace") if error.args and isinstance(error.args[0], bytes) else error
        raise PatternRefused(Words("it is not a valid regular expression (%(detail)s)", detail=str(detail))) from None


def _without_classes(pattern: str) -> str:
    """The pattern with escaped characters and ``[...]`` classes blanked, so that ``[(?=]`` is no look-ahead."""
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            following = pattern[index + 1]
            keep = not in_class and (following.isdigit() or following == "k")
            out.append(char + following if keep else "__")
            index += 2
            continue
        if in_class:
            in_class = char != "]"
            out.append("_")
        elif char == "[":
            in_class = True
            out.append("_")
        else:
            out.append(char)
        index += 1
    return "".join(out)
