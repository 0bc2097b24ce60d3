"""Camunda 7 Java delegates as jobs: the server's registry names the job type each one stands for.

Camunda 7 diagrams often implement service, send and business rule tasks and message throw events in
Java: ``camunda:class``, ``camunda:delegateExpression`` or ``camunda:expression``. eISO runs no Java and
never evaluates these expressions. The server's administrator maps each class name or expression
text, exactly as written in the diagram, to a job type (setting ``EISO_DELEGATES_FILE``, given to
``Deployer``). Deployment writes that job type into the element index, so a later change of the
registry does not alter versions already deployed: a built-in handler runs the job, any other type
waits for an external worker. A delegate the registry does not name is refused at deploy time.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from engine.errors import Phrase
from engine.runtime.parsing import ProcessInfo

REGISTRY_SETTING = "EISO_DELEGATES_FILE"
NO_DELEGATES: Mapping[str, str] = MappingProxyType({})

_KINDS = {"class": Phrase("Java class"), "delegateExpression": Phrase("delegate expression"),
          "expression": Phrase("expression")}  # fmt: skip


def apply_registry(info: ProcessInfo, registry: Mapping[str, str]) -> None:
    """Give every step implemented by a registered delegate the job type the registry names for it."""
    for element in info.elements.values():
        delegate = element.get("delegate")
        if delegate and not element.get("job_type") and registry.get(delegate):
            element["job_type"] = registry[delegate]


def unmapped_message(element: Mapping[str, Any]) -> Phrase:
    """Why a step whose delegate the registry does not name is refused, and how to register it."""
    kind = _KINDS.get(element.get("delegate_kind", ""), Phrase("delegate"))
    delegate = element["delegate"]
    example = f'{{"{delegate}": "your.job-type"}}'
    return Phrase(
        "The %(kind)s '%(delegate)s' needs Java, which eISO does not run, and this server's delegate registry does "
        "not map it to a job type. The administrator maps it in the JSON file named by %(setting)s, e.g. "
        "%(example)s (a built-in job type runs in eISO, any other waits for an external worker); or give the step "
        "an external topic instead.", kind=kind, delegate=delegate, setting=REGISTRY_SETTING,
        example=example,
    )
