"""One error hierarchy for the engine.

Every error carries a plain message that says what is wrong and what to do, and the ids it is
about as attributes, so the web layer and the API can map it to an HTTP status and a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class EngineError(Exception):
    """Root of every error the engine raises on purpose.

    ``template`` is an English sentence with ``%(name)s`` placeholders and ``params`` fills them;
    the web layer looks the template up in its message catalogue to answer in the user's language.
    """

    http_status = 400

    def __init__(self, template: str, **params: Any) -> None:
        self.template = template
        self.params = params
        self.message = template % params if params else template
        super().__init__(self.message)


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
    def __init__(self, key: str) -> None:
        super().__init__("No active process definition with key '%(key)s'. Deploy it first.", key=key)
        self.key = key


class NotAllowed(EngineError):
    """The acting user may not do this."""

    http_status = 403


class Conflict(EngineError):
    """The thing changed under the caller: someone else completed, claimed or moved it first."""

    http_status = 409


class TaskNotReady(Conflict):
    def __init__(self, task_id: object, template: str, **params: Any) -> None:
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


@dataclass
class Problem:
    """One thing wrong with an uploaded file."""

    file: str
    message: str
    element_id: str | None = None
    element_name: str | None = None
    line: int | None = None
    severity: str = "error"  # "error" blocks the deployment, "warning" does not

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "element_id": self.element_id,
            "element_name": self.element_name,
            "severity": self.severity,
            "message": self.message,
        }


class DeploymentRejected(EngineError):
    """Uploaded files cannot be deployed; ``problems`` lists every reason found."""

    http_status = 422

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0].message if problems else "unknown problem"
        super().__init__("Deployment refused: %(count)s problem(s). First: %(first)s", count=len(problems), first=first)
        self.problems = problems


class ExpressionError(EngineError):
    """An expression from a model could not be parsed or evaluated safely."""

    http_status = 422

    def __init__(self, message: str, expression: str | None = None, **params: Any) -> None:
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
