"""What the forms package tells a form author, kept translatable (forms imports nothing of ours, so it has
its own small kind of phrase; the engine reads it as one)."""

from __future__ import annotations

from typing import Any


class Words:
    """What a form author is told, kept translatable: an English template with ``%(name)s`` placeholders and
    its values (which may be words themselves). The engine reads it as a phrase (``template``, ``params``)
    and the web layer translates it; ``str()`` is the English text."""

    __slots__ = ("params", "template")

    def __init__(self, template: str, /, **params: Any) -> None:
        self.template = template
        self.params = params

    def __str__(self) -> str:
        return self.template % {k: str(v) for k, v in self.params.items()} if self.params else self.template

    def __repr__(self) -> str:
        return f"Words({self.template!r}, **{self.params!r})"
