"""After every step an instance's timers, jobs and subscriptions are brought in line with its workflow, one
query per kind; a diagram that has no element of a kind skips its query (``advance.waits_of``). Reading
the kinds wrongly would leave a timer unplanned or a message unheard, so each kind is checked where it
hides: at the top of the process, inside an embedded subprocess and in an event subprocess."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.runtime.advance import waits_of
from engine.runtime.models import ProcessDefinition
from engine.runtime.serialization import new_workflow
from tests.conftest import Clock, deploy_fixture


@pytest.mark.parametrize(("fixture", "key", "kinds"), [
    ("plain_task_c8.bpmn", "plain_task", set()),  # user tasks only: no query besides the tasks'
    ("timer_boundary.bpmn", "timer_boundary", {"timer"}),
    ("send_result_c8.bpmn", "send_result_c8", {"job"}),  # messages thrown as jobs: nothing to hear
    ("events/consult_gateway_c8.bpmn", "ask_department", {"timer", "subscription"}),  # inside a subprocess only
    ("events/appraisal_scope_c8.bpmn", "appraisal_scope_c8", {"subscription"}),  # event subprocesses of a subprocess
    ("events/conference_compensation_c8.bpmn", "conference_compensation_c8", {"job"}),  # service tasks in a subprocess
])  # fmt: skip
def test_the_kinds_of_rows_a_diagram_can_wait_on_are_found_wherever_its_elements_are(
    session: Session, clock: Clock, fixture: str, key: str, kinds: set[str]
) -> None:
    deploy_fixture(session, clock.now, fixture)
    definition = session.scalars(select(ProcessDefinition).where(ProcessDefinition.key == key)).one()
    assert waits_of(new_workflow(definition.spec_json)) == kinds
