"""The Camunda 7 REST subset under ``/engine-rest``, for Camunda Modeler and Camunda 7 clients
(``docs/camunda-rest.md``): deployments and engine information (``root``), process definitions, starts,
messages and signals (``processes``), external tasks (``external_tasks``), the answer shapes Camunda
clients expect (``shapes``) and typed variables (``variables``)."""

from .root import BLUEPRINTS, bp

__all__ = ["BLUEPRINTS", "bp"]
