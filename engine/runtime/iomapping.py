"""Input and output mappings of tasks, as both Camunda engines apply them.

When a task starts, each input mapping evaluates its source against the process data and sets the
task-local variable ``target``. When it completes, with output mappings present only the mapped values
reach the process (each ``source`` evaluated against the task's data, including what the task
produced); without them, what the task produced reaches the process, but its input variables stay
local.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.errors import ExpressionError
from engine.runtime.script_engine import check_expression, evaluate_expression


def _is_expression(source: Any) -> bool:
    return isinstance(source, str) and (source.strip().startswith("=") or "${" in source or "#{" in source)


def source_value(source: Any, data: Mapping[str, Any]) -> Any:
    if isinstance(source, dict) and "list" in source:
        return [source_value(item, data) for item in source["list"]]
    if isinstance(source, dict) and "map" in source:
        return {key: source_value(value, data) for key, value in source["map"].items()}
    if isinstance(source, dict):
        raise ExpressionError("Scripts in input/output parameters cannot run in eISO; use an expression.")
    return evaluate_expression(source, data) if _is_expression(source) else source


def check_io(io: Mapping[str, Any]) -> None:
    """Deploy-time check of every source; raises ExpressionError naming the target."""
    for kind in ("inputs", "outputs"):
        for target, source in io.get(kind, []):
            if not target:
                raise ExpressionError("A %(kind)s mapping has no target variable.", kind=kind[:-1])
            _check_source(source, target)


def _check_source(source: Any, target: str) -> None:
    if isinstance(source, dict) and "script" in source:
        raise ExpressionError("The parameter '%(target)s' is a script, which cannot run in eISO.", target=target)
    if isinstance(source, dict):
        for value in source.get("list", []) + list(source.get("map", {}).values()):
            _check_source(value, target)
    elif _is_expression(source):
        check_expression(source)


def _assign(result: dict[str, Any], target: str, value: Any, paths: bool) -> None:
    """Set ``target``; with Camunda 8 paths, ``a.b`` sets ``b`` in the context ``a`` (made, or copied and
    extended, never changed in place), as Zeebe does for connector settings such as ``authentication.type``."""
    parts = target.split(".") if paths else [target]
    if len(parts) == 1 or not all(parts):
        result[target] = value
        return
    head, rest = parts[0], ".".join(parts[1:])
    inner = dict(result[head]) if isinstance(result.get(head), dict) else {}
    _assign(inner, rest, value, paths)
    result[head] = inner


def _root(target: str, paths: bool) -> str:
    return target.split(".")[0] if paths else target


def with_inputs(io: Mapping[str, Any] | None, data: Mapping[str, Any]) -> dict[str, Any]:
    """The task's data when it starts: the process data plus its input variables."""
    result = dict(data)
    paths = bool((io or {}).get("paths"))
    for target, source in (io or {}).get("inputs", []):
        _assign(result, target, source_value(source, data), paths)
    return result


SHADOWED = "eiso_shadowed"
"""Where a user task keeps ``shadowed`` values while it is open (in its internal data, never shown)."""


def local_names(io: Mapping[str, Any] | None) -> set[str]:
    """The variables an element's input mappings make its own (the first part of a dotted target)."""
    paths = bool((io or {}).get("paths"))
    return {_root(target, paths) for target, _ in (io or {}).get("inputs", [])}


def shadowed(io: Mapping[str, Any] | None, outer: Mapping[str, Any]) -> dict[str, Any]:
    """The process's own values of the names the inputs reuse, kept while the element holds its own."""
    return {name: outer[name] for name in local_names(io) if name in outer}


def on_completion(io: Mapping[str, Any] | None, data: Mapping[str, Any], produced: Mapping[str, Any],
                  hidden: Mapping[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """The data that flows on from a completed task, given its data and what it produced. ``hidden``: the
    process's values of the names its inputs reused (``shadowed``), which are the process's again after."""
    if not io:
        return {**data, **produced}
    paths = bool(io.get("paths"))
    local = local_names(io)
    context = {**data, **produced}
    outputs = io.get("outputs", [])
    if outputs:
        result = {k: v for k, v in data.items() if k not in local and k not in produced}
        result.update({k: v for k, v in (hidden or {}).items() if k in local})
        for target, source in outputs:
            _assign(result, target, source_value(source, context), paths)
        return result
    result = {k: v for k, v in context.items() if k not in local or k in produced}
    result.update({k: v for k, v in (hidden or {}).items() if k in local and k not in produced})
    return result


def outputs_onto(io: Mapping[str, Any], outer: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """A called process's result: the caller's data as it was, with each output mapping evaluated against the
    called instance's variables (and the call's inputs) written onto it."""
    paths = bool(io.get("paths"))
    result = dict(outer)
    for target, source in io.get("outputs", []):
        _assign(result, target, source_value(source, context), paths)
    return result
