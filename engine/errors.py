"""One error hierarchy for the engine, and the words it has for people.

Every error carries a message that says what is wrong and what to do, and the ids it is about as
attributes, so the web layer and the API can map it to an HTTP status and a page.

The engine never translates (it imports neither Flask nor Babel). What it says to a person is a
:class:`Phrase`: an English template, which is the catalogue's msgid, and the values to fill in. The
web layer translates the template into the reader's language and fills in the values, translating
those that are phrases themselves. ``scripts/i18n-update`` finds the templates by the calls that make
them (``Phrase("…")``, ``NotFound("…")``…); ``tests/test_messages.py`` keeps them literal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class Phrase:
    """Words for a person, kept translatable: ``Phrase("The file %(name)s is empty.", name=…)``.

    ``template`` is English with ``%(name)s`` placeholders (a literal ``%`` is written ``%%`` when there
    are values); ``params`` fill them in. A value may be a phrase itself, or a list of phrases (joined
    with commas). ``str()`` is the English text.
    """

    __slots__ = ("params", "template")

    def __init__(self, template: str, /, **params: Any) -> None:
        self.template = template
        self.params: dict[str, Any] = params

    def render(self, translate: Callable[[str], str], show: Callable[[Any], str] = str) -> str:
        """The text in a language: ``translate`` looks a template up, ``show`` writes a plain value."""
        text = translate(self.template)
        if not self.params:
            return text
        values = {name: _render(value, translate, show) for name, value in self.params.items()}
        try:
            return text % values
        except (KeyError, ValueError, TypeError):  # a translation that lost a placeholder: say it in English
            return self.template % values

    def __str__(self) -> str:
        return self.render(_english, _english_value)

    def __repr__(self) -> str:
        return f"Phrase({self.template!r}, **{self.params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Phrase) and (self.template, self.params) == (other.template, other.params)

    def __hash__(self) -> int:
        return hash((self.template, str(self)))

    def as_dict(self) -> dict[str, Any]:
        """A JSON value to store, so the phrase can be shown later in the language of whoever reads it."""
        return {"template": self.template, "params": {k: _stored(v) for k, v in self.params.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Phrase:
        params = data.get("params") or {}
        return cls(str(data.get("template", "")), **{k: _loaded(v) for k, v in params.items()})

    @classmethod
    def of(cls, value: object) -> Phrase:
        """A phrase from a phrase, from anything that carries one (``template`` and ``params``: an error, the
        forms package's words), or from plain text, kept as it is (words from outside, such as a library's
        own message, have no translation)."""
        if isinstance(value, Phrase):
            return value
        template, params = getattr(value, "template", None), getattr(value, "params", None)
        if isinstance(template, str) and isinstance(params, Mapping):
            return cls(template, **{k: _phrased(v) for k, v in params.items()})
        return cls(_VERBATIM, text=str(value))


class Count(int):
    """A number of things (characters, items, megabytes), written with the reader's digit grouping:
    ``20.000`` in Vietnamese, ``20,000`` in English. A plain ``int`` (an id, a line, a year) is written as it is."""


Text = Phrase | str
"""What a message argument may be: a phrase, or a literal English template (found by extraction)."""

_VERBATIM = "%(text)s"  # plain text from outside the catalogue, shown as it is in every language


def _english(template: str) -> str:
    return template


def _english_value(value: Any) -> str:
    return f"{value:,}" if isinstance(value, Count) else str(value)


def _carries_words(value: object) -> bool:
    """An error or the forms package's ``Words``: a template and its values, to be read as a phrase."""
    return isinstance(getattr(value, "template", None), str) and isinstance(getattr(value, "params", None), Mapping)


def _phrased(value: Any) -> Any:
    if _carries_words(value):
        return Phrase.of(value)
    if isinstance(value, list | tuple):
        return [_phrased(v) for v in value]
    return value


def _render(value: Any, translate: Callable[[str], str], show: Callable[[Any], str]) -> str:
    if isinstance(value, Phrase) or _carries_words(value):
        return Phrase.of(value).render(translate, show)
    if isinstance(value, list | tuple):
        return ", ".join(_render(v, translate, show) for v in value)
    return show(value)


def _stored(value: Any) -> Any:
    if isinstance(value, Phrase):
        return value.as_dict()
    if isinstance(value, Count):
        return {"count": int(value)}
    if isinstance(value, list | tuple):
        return [_stored(v) for v in value]
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def _loaded(value: Any) -> Any:
    if isinstance(value, Mapping) and "template" in value:
        return Phrase.from_dict(value)
    if isinstance(value, Mapping) and isinstance(value.get("count"), int):
        return Count(value["count"])
    if isinstance(value, list):
        return [_loaded(v) for v in value]
    return value


class EngineError(Exception):
    """Root of every error the engine raises on purpose.

    ``template`` is an English sentence with ``%(name)s`` placeholders and ``params`` fills them (or a
    :class:`Phrase` carrying both); the web layer looks the template up in its message catalogue to
    answer in the user's language. ``message`` is the English text.
    """

    http_status = 400

    def __init__(self, template: Text, **params: Any) -> None:
        if isinstance(template, Phrase):
            params = {**template.params, **params}
            template = template.template
        self.template: str = template
        self.params: dict[str, Any] = params
        self.message = str(self.phrase)
        super().__init__(self.message)

    @property
    def phrase(self) -> Phrase:
        return Phrase(self.template, **self.params)


class NotFound(EngineError):
    http_status = 404


class InstanceNotFound(NotFound):
    def __init__(self, instance_id: object) -> None:
        super().__init__("Process instance %(id)s does not exist.", id=instance_id)
        self.instance_id = instance_id


class TaskNotFound(NotFound):
    def __init__(self, task_id: object) -> None:
        super().__init__("Task %(id)s does not exist.", id=task_id)
        self.task_id = task_id


class DefinitionNotFound(NotFound):
    def __init__(self, key: str, *, documentation: bool = False) -> None:
        if documentation:  # deployed, but as a diagram to read: "deploy it first" would send people in circles
            super().__init__("'%(key)s' is deployed as a documentation diagram only, so it cannot be started; deploy "
                             "a runnable version (tick 'Executable' in Camunda Modeler) to start it.", key=key)
        else:
            super().__init__("No active process definition with key '%(key)s'. Deploy it first.", key=key)
        self.key = key


class NotAllowed(EngineError):
    """The acting user may not do this."""

    http_status = 403


class Conflict(EngineError):
    """The thing changed under the caller: someone else completed, claimed or moved it first."""

    http_status = 409


class TaskNotReady(Conflict):
    def __init__(self, task_id: object, template: Text, **params: Any) -> None:
        super().__init__(template, **params)
        self.task_id = task_id


@dataclass
class FieldError:
    path: str
    message: str


class FormInvalid(EngineError):
    """Submitted data does not satisfy the task's form."""

    http_status = 422

    def __init__(self, errors: dict[str, str], values: dict[str, Any] | None = None) -> None:
        super().__init__("The form has invalid fields (%(count)s); correct them and submit again.", count=len(errors))
        self.errors = errors
        self.values = values or {}


@dataclass(init=False)
class Problem:
    """One thing wrong with an uploaded file. ``text`` is what to tell the person, as a phrase (a literal
    English template given as ``message`` becomes one); ``message`` is its English text."""

    file: str
    text: Phrase
    element_id: str | None = None
    element_name: str | None = None
    line: int | None = None
    severity: str = "error"  # "error" blocks the deployment, "warning" does not

    def __init__(self, file: str, message: Text, element_id: str | None = None, element_name: str | None = None,
                 line: int | None = None, severity: str = "error") -> None:  # fmt: skip
        self.file, self.element_id, self.element_name, self.line, self.severity = (
            file, element_id, element_name, line, severity)  # fmt: skip
        self.text = message if isinstance(message, Phrase) else Phrase(message)

    @property
    def message(self) -> str:
        return str(self.text)

    def as_dict(self) -> dict[str, Any]:
        """For the API and for storing: ``message`` in English, ``text`` the phrase to show translated."""
        return {
            "file": self.file,
            "line": self.line,
            "element_id": self.element_id,
            "element_name": self.element_name,
            "severity": self.severity,
            "message": self.message,
            "text": self.text.as_dict(),
        }


class DeploymentRejected(EngineError):
    """Uploaded files cannot be deployed; ``problems`` lists every reason found."""

    http_status = 422

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0].text if problems else Phrase("unknown problem")
        super().__init__("Deployment refused: %(count)s problem(s). First: %(first)s", count=len(problems), first=first)
        self.problems = problems


class ExpressionError(EngineError):
    """An expression from a model could not be parsed or evaluated safely."""

    http_status = 422

    def __init__(self, message: Text, expression: str | None = None, **params: Any) -> None:
        super().__init__(message, **params)
        self.expression = expression


class EngineStateError(EngineError):
    """The engine refused to continue because the instance would end in a wrong state."""

    http_status = 409


class FieldProblem:
    """What is wrong with one field of a request: an English template and its values, translated where it
    is shown (``scripts/i18n-update`` finds the templates by this class's name)."""

    def __init__(self, field: str, template: str, **params: Any) -> None:
        self.field = field
        self.template = template
        self.params = params

    @property
    def message(self) -> str:
        return self.template % self.params if self.params else self.template

    def __repr__(self) -> str:
        return f"FieldProblem({self.field!r}, {self.message!r})"


class InvalidFields(EngineError):
    """Some fields of a request are wrong; ``problems`` names each one and says what to write instead.
    Nothing was changed."""

    http_status = 422

    def __init__(self, problems: list[FieldProblem]) -> None:
        first = problems[0]
        super().__init__("%(first)s (%(count)s field(s) to correct; nothing was changed.)", first=first.message,
                         count=len(problems))
        self.problems = problems

    @property
    def fields(self) -> dict[str, str]:
        return {p.field: p.message for p in self.problems}
