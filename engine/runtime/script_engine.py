"""The only way expressions from uploaded models are evaluated: by our own sandboxed evaluators.

SpiffWorkflow hands every condition and script to its script engine; this subclass routes each
expression to the evaluator of its language and never reaches Python ``eval``/``exec``:
a value starting with ``=`` is FEEL (Camunda 8), ``${...}``/``#{...}`` is the JUEL subset (Camunda 7),
anything else is the whitelisted Python subset (SpiffWorkflow-native models). Each evaluator is our
own parser and interpreter with bounded time and size; ``check_expression`` runs the parser at deploy
time so that what cannot be evaluated is refused with its reason before anything runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from engine.errors import ExpressionError
from engine.expressions import feel, juel, python_subset


def language_of(expression: str) -> str:
    text = expression.strip()
    if text.startswith("="):
        return "feel"
    if "${" in text or "#{" in text:  # JUEL, also with text around it ("Dear ${name}")
        return "juel"
    return "python"


def check_expression(expression: str) -> None:
    """Raise ExpressionError if the expression cannot be evaluated safely by this engine."""
    language = language_of(expression)
    if language == "feel":
        feel.compile_expression(expression.strip()[1:])
    elif language == "juel":
        juel.compile_expression(expression.strip())
    else:
        python_subset.check_expression(expression)


def evaluate_expression(expression: str, data: Mapping[str, Any], *, now: datetime | None = None) -> Any:
    """Evaluate a model expression against process data and return a JSON-friendly value."""
    language = language_of(expression)
    if language == "feel":
        return feel.to_python(feel.compile_expression(expression.strip()[1:]).evaluate(data, now=now))
    if language == "juel":
        return juel.compile_expression(expression.strip()).evaluate(data)
    return python_subset.evaluate(expression, data)


class SandboxedScriptEngine(PythonScriptEngine):
    """SpiffWorkflow script engine that evaluates FEEL and refuses everything else."""

    def __init__(self) -> None:
        super().__init__(environment=None)

    def validate(self, expression: str) -> None:
        check_expression(expression)

    def evaluate(self, task: Any, expression: str, external_context: Mapping[str, Any] | None = None) -> Any:
        context = dict(task.data)
        context.update(external_context or {})
        return evaluate_expression(expression, context)

    def execute(self, task: Any, script: str, external_context: Mapping[str, Any] | None = None) -> bool:
        raise ExpressionError("Script tasks are not supported yet; nothing from a model is executed as code.", script)

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        raise ExpressionError("Service tasks are completed by job handlers, not by the script engine.")
