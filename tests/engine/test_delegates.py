"""Camunda 7 Java delegates (class, delegate expression, expression) become the job types the server's
registry names, fixed at deploy time; unmapped ones are refused with the setting to use."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Deployer, Engine, SourceFile
from engine.errors import DeploymentRejected
from engine.org.models import Unit, User
from engine.runtime.jobs import ExternalJob
from engine.runtime.models import HistoryEvent, ProcessDefinition, TaskRow
from tests.conftest import CORPUS, FIXTURES, Clock
from tests.engine.test_jobs import MODES, engine_for, open_jobs, status, work

pytestmark = pytest.mark.usefixtures("library")
ARCHIVE = "org.camunda.bpm.example.invoice.service.ArchiveInvoiceService"
REGISTRY = {
    "#{clock.pause(execution)}": "eiso.pause_clock",  # a built-in handler runs it
    ARCHIVE: "archive.store",
    "${recordsClassifier}": "records.classify",
    "${resultPublisher}": "portal.publish",
}
SEND_RESULT = SourceFile("send_result_c7.bpmn", (FIXTURES / "send_result_c7.bpmn").read_bytes())


def deploy(session: Session, clock: Clock, registry: dict[str, str], *files: SourceFile) -> list[ProcessDefinition]:
    result = Deployer(session, delegates=registry).deploy(list(files or [SEND_RESULT]), actor=None, now=clock.now)
    return result.definitions


def refusal(session: Session, clock: Clock, registry: dict[str, str]) -> list[tuple[str | None, int | None, str]]:
    with pytest.raises(DeploymentRejected) as refused:
        deploy(session, clock, registry)
    return [(p.element_id, p.line, p.message) for p in refused.value.problems]


@pytest.mark.parametrize("mode", MODES)
def test_mapped_delegates_run_to_completion_through_workers_and_built_in_handlers(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock, mode: str
) -> None:
    [definition] = deploy(session, clock, REGISTRY)
    nodes = definition.elements["nodes"]
    assert (nodes["archive"]["job_type"], nodes["archive"]["delegate"]) == ("archive.store", ARCHIVE)
    engine = engine_for(session, mode)
    instance = engine.start("send_result_c7", actor=users["chuyenvien"], unit_id=unit.id, now=clock.now,
                            variables={"dossier": {"code": "H15-0009"}})  # fmt: skip
    work(engine, clock, "igate.notify", {"receipt": "SMS-9"})
    assert open_jobs(session, instance.id) == [("archive", "archive.store")]  # the class, by its mapped type
    paused = session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance.id,
                                                        HistoryEvent.kind == "clock_paused")).all()  # fmt: skip
    assert [e.element_id for e in paused] == ["pause_clock"]  # the expression ran in eISO, never evaluated
    jobs = session.scalars(select(ExternalJob.element_id).where(ExternalJob.instance_id == instance.id)).all()
    assert "pause_clock" not in jobs
    for topic in ("archive.store", "records.classify", "portal.publish", "igate.return"):
        work(engine, clock, topic)
    assert status(session, instance.id) == "completed"


def test_a_registry_change_reaches_new_versions_only(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    [first] = deploy(session, clock, REGISTRY)
    assert deploy(session, clock, REGISTRY) == []  # same file, same mapping: nothing new
    engine = Engine(session)
    instance = engine.start("send_result_c7", actor=users["chuyenvien"], unit_id=unit.id, now=clock.now,
                            variables={"dossier": {"code": "H15-0010"}})  # fmt: skip
    [second] = deploy(session, clock, {**REGISTRY, ARCHIVE: "archive.v2"})
    assert (first.version, second.version) == (1, 2)
    assert second.elements["nodes"]["archive"]["job_type"] == "archive.v2"
    work(engine, clock, "igate.notify", {"receipt": "SMS-10"})
    assert open_jobs(session, instance.id) == [("archive", "archive.store")]  # the running version keeps its type


def test_unmapped_delegates_are_refused_naming_the_step_the_delegate_and_the_setting(
    session: Session, clock: Clock
) -> None:
    problems = refusal(session, clock, {ARCHIVE: "archive.store"})
    assert [(element, line) for element, line, _ in problems] == [
        ("pause_clock", 14), ("classify", 20), ("publish_result", 23)]  # fmt: skip
    messages = dict((element, message) for element, _, message in problems)
    assert "expression '#{clock.pause(execution)}'" in messages["pause_clock"]
    assert "delegate expression '${recordsClassifier}'" in messages["classify"]
    assert all("EISO_DELEGATES_FILE" in m and "external topic" in m for m in messages.values())
    [(_, _, unmapped_class)] = refusal(session, clock, {k: v for k, v in REGISTRY.items() if k != ARCHIVE})
    assert f"Java class '{ARCHIVE}'" in unmapped_class
    assert session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.key == "send_result_c7")) is None


def test_a_delegate_cannot_borrow_a_job_type_reserved_for_eiso(session: Session, clock: Clock) -> None:
    problems = refusal(session, clock, {**REGISTRY, ARCHIVE: "eiso.decision"})
    assert [(e, m) for e, _, m in problems] == [("archive", "The job type 'eiso.decision' is reserved for eISO's "
                                                            "own tasks; choose another.")]  # fmt: skip


def _corpus(relative: str) -> SourceFile:
    path = CORPUS / relative
    if not path.exists():
        pytest.skip(f"no shared corpus at {CORPUS}")
    return SourceFile(Path(relative).name, path.read_bytes())


def test_corpus_java_examples_run_once_their_delegates_are_registered(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    sample = _corpus("camunda7-examples/sample.bpmn")
    with pytest.raises(DeploymentRejected, match=r"delegate expression '\$\{sayHelloDelegate\}'"):
        deploy(session, clock, {}, sample)
    deploy(session, clock, {"${sayHelloDelegate}": "hello.say"}, sample)
    engine = Engine(session)
    instance = engine.start("Sample", actor=users["admin"], unit_id=unit.id, now=clock.now)
    task = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id)).one()
    engine.complete(task.id, actor=users["admin"], now=clock.now, variables={})
    assert open_jobs(session, instance.id) == [("ServiceTask_1", "hello.say")]
    work(engine, clock, "hello.say")
    assert status(session, instance.id) == "completed"

    publication = _corpus("camunda7-examples/camunda-testing-job-announcement-publication.bpmn")
    posts = {f"#{{jobAnnouncementService.postTo{site}(jobAnnouncementId)}}": f"{site.lower()}.post"
             for site in ("Website", "Twitter", "Facebook")}  # fmt: skip
    [definition] = deploy(session, clock, posts, publication)
    assert definition.elements["nodes"]["publish_announcement_twitter"]["job_type"] == "twitter.post"


def test_the_modeler_export_of_the_document_request_still_lacks_what_would_run(
    session: Session, clock: Clock
) -> None:
    """C.9.1 as exported by Camunda Modeler has send tasks, but without job types, and empty timers."""
    export = _corpus("miwg-camunda-modeler/C.9.1-export.bpmn")
    with pytest.raises(DeploymentRejected) as refused:
        deploy(session, clock, REGISTRY, export)
    reasons = {p.element_id: p.message for p in refused.value.problems}
    assert reasons["Activity_01qizhy"].startswith("The send task has no job type")
    assert "timer has no value" in reasons["Event_0r6z74c"]

