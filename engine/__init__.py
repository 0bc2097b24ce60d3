"""eISO engine: deploy and run BPMN processes on SpiffWorkflow, with persistence and history.

This module is the engine's face: ``webapp/`` and ``connectors/`` import from here and nowhere else.
Inside, the layers only import downward (``docs/architecture.md``)::

    iso/  dossiers/  reports/       the domain
    library/                        process definitions: deploy, versions, change control, moves
    runtime/                        BPMN execution on SpiffWorkflow
    org/  expressions/              organisation, calendar, notices; FEEL, JUEL, Python subset, DMN
    db.py  errors.py  outbox.py     shared foundations; the outbox of messages for other systems

``JOB_HANDLERS`` lists every built-in job type and the function that does it; it is handed to the
runtime here, in one place.
"""

from collections.abc import Mapping
from types import MappingProxyType

from engine.dossiers import clock
from engine.iso import objectives
from engine.library import versions
from engine.runtime import business_rules, handlers, script_tasks
from engine.runtime.handlers import DECISION_JOB, SCRIPT_JOB, Handler

JOB_HANDLERS: Mapping[str, Handler] = MappingProxyType({
    DECISION_JOB: business_rules.evaluate_decision,
    SCRIPT_JOB: script_tasks.run_script,
    clock.PAUSE_JOB: clock.pause_clock,
    clock.RESUME_JOB: clock.resume_clock,
    objectives.PUBLISH_JOB: objectives.publish_objectives,
    versions.ACTIVATE_JOB: versions.activate_version,
    versions.RETURN_JOB: versions.return_version,
})  # fmt: skip
handlers.install(JOB_HANDLERS)

from engine import outbox  # noqa: E402
from engine.library import instance_moves  # noqa: E402
from engine.library.deploy import Deployer, DeploymentResult, SourceFile  # noqa: E402
from engine.org import notices  # noqa: E402
from engine.runtime import queries  # noqa: E402
from engine.runtime.engine import Engine  # noqa: E402

__all__ = ["JOB_HANDLERS", "Deployer", "DeploymentResult", "Engine", "SourceFile", "instance_moves", "notices",
           "outbox", "queries", "versions"]
