"""Data stores, data objects and the arrows to them are documentation in Camunda: a diagram that draws them
deploys and runs as if they were not there, in both dialects (they used to stop the deploy with the parser's
picture of an XML element)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from engine import Deployer, Engine, SourceFile
from engine.org.models import Unit, User
from engine.runtime.engine import WorkflowCache
from engine.runtime.models import ProcessInstance
from tests.conftest import FIXTURES, Clock
from tests.engine.test_runtime import open_task


@pytest.mark.parametrize("mode", ["straight", "reload"])
@pytest.mark.parametrize(("key", "filename"),
                         [("ghi_so_c8", "data_store_c8.bpmn"), ("ghi_so_c7", "data_store_c7.bpmn")])  # fmt: skip
def test_a_diagram_with_a_data_store_and_a_data_object_runs_as_camunda_runs_it(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, key: str, filename: str, mode: str
) -> None:
    result = Deployer(session).deploy([SourceFile(filename, (FIXTURES / filename).read_bytes())], actor=None,
                                      now=clock.now)  # fmt: skip
    assert [d.key for d in result.definitions] == [key] and result.warnings == []
    engine = Engine(session, cache=WorkflowCache() if mode == "straight" else None)
    instance = engine.start(key, actor=users["thuky"], unit_id=unit.id, now=clock.now)
    task = open_task(session, instance.id)
    assert (task.element_id, task.candidate_roles) == ("Activity_ghi", ["iso_secretary"])
    engine.complete(task.id, actor=users["thuky"], now=clock.now, variables={"ghiChu": "Đã ghi số 12"})
    session.expire_all()
    finished = session.get(ProcessInstance, instance.id)
    assert finished is not None and finished.status == "completed"


def test_the_parsers_own_words_are_shown_without_pythons_picture_of_an_element_and_with_a_line() -> None:
    from lxml import etree

    from engine.library.deploy import _line_of, _plain

    text = ("Cannot resolve dataInputAssociation "
            "<Element {http://www.omg.org/spec/BPMN/20100524/MODEL}sourceRef at 0x7f0a>. ")
    assert _plain(text) == "Cannot resolve dataInputAssociation <sourceRef>."
    root = etree.fromstring((FIXTURES / "data_store_c8.bpmn").read_bytes())
    assert _line_of(root, "Activity_ghi") == 7 and _line_of(root, "nothing") is None and _line_of(root, None) is None
