"""Business rule tasks: evaluate the DMN decision pinned at deployment and map its result.

A business rule task waits as a job like a service task; this module is its handler. Results are
mapped as the two dialects do: Camunda 8 puts the decision's value into ``resultVariable``; Camunda 7
maps with ``camunda:mapDecisionResult`` (``singleEntry``, ``singleResult``, ``collectEntries``,
``resultList``, the default).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from engine.errors import EngineError
from engine.expressions.dmn import DecisionResult, DmnModel, load_dmn
from engine.runtime.handlers import JobContext
from engine.runtime.models import DecisionDefinition


@lru_cache(maxsize=64)
def _model(content_hash: str, content: bytes, filename: str) -> DmnModel:
    # Keyed by the file's hash: a stored file never changes, so a parsed model can be reused.
    return load_dmn(content, filename)


def mapped(result: DecisionResult, mapping: str) -> Any:
    if mapping == "camunda8":
        return result.value()
    if mapping == "singleEntry":
        return result.single_entry()
    if mapping == "singleResult":
        return result.single_result()
    if mapping == "collectEntries":
        return result.collect_entries()
    return result.result_list()


def evaluate_decision(job: JobContext) -> dict[str, Any]:
    node = job.instance.definition.elements["nodes"].get(job.element_id, {})
    definition = job.session.get(DecisionDefinition, node.get("decision_definition_id"))
    if definition is None:
        raise EngineError("The decision '%(id)s' is not deployed.", id=node.get("decision_id"))
    file = definition.dmn_file
    model = _model(file.content_hash, file.content, file.filename)
    result = model.evaluate(definition.decision_key, job.data, now=job.now)
    value = mapped(result, node.get("map_result") or "resultList")
    job.record("decision_evaluated", {"decision": definition.decision_key, "version": definition.version,
                                      "result": value})  # fmt: skip
    variable = node.get("result_variable")
    return {variable: value} if variable else {}
