"""eISO engine: deploy and run BPMN processes on SpiffWorkflow, with persistence and history.

Importing this package registers the built-in job handlers.
"""

from . import clock as clock  # registers eiso.pause_clock and eiso.resume_clock
from . import decisions as decisions  # registers the business rule task job (eiso.decision)
from . import idempotency as idempotency  # the idempotency_keys table
from . import jobs as jobs  # the external_jobs table
from . import login_guard as login_guard  # the login_throttles table
from . import login_sessions as login_sessions  # the login_sessions table
from . import objectives as objectives  # registers the eiso.publish_objectives handler
from . import scripts as scripts  # registers the script task job (eiso.script)
from . import versions as versions  # registers eiso.activate_version and eiso.return_version
from .deployment import Deployer, DeploymentResult, SourceFile
from .runtime import Engine

__all__ = ["Deployer", "DeploymentResult", "Engine", "SourceFile"]
