"""The dossiers register: codes under concurrency, and the deploy check of procedure time limits."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from engine import Deployer, Engine, SourceFile
from engine.dossiers.dossiers import Dossier
from engine.errors import Conflict, DeploymentRejected
from engine.org.models import Unit, User
from tests.conftest import Clock

BPMN = Path(__file__).parents[2] / "bpmn"
APPLICANT = {"applicantName": "Bệnh viện Đa khoa tỉnh", "applicantPhone": "0262385000", "channel": "1"}


@pytest.mark.usefixtures("library")
def test_a_hundred_receipts_at_once_get_a_hundred_consecutive_codes(
    session: Session, unit: Unit, users: dict[str, User], clock: Clock
) -> None:
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        pytest.skip("concurrent commands are measured on PostgreSQL")
    desk_id, unit_id = users["chuyenvien"].id, unit.id
    session.commit()
    errors: list[BaseException] = []

    def receive(count: int) -> None:
        with Session(bind) as own:
            desk = own.get(User, desk_id)
            assert desk is not None
            done = 0
            while done < count:
                try:
                    Engine(own).start("procedure_xray_declaration", actor=desk, unit_id=unit_id, now=clock.now,
                                      variables=APPLICANT)  # fmt: skip
                    done += 1
                except (Conflict, OperationalError):
                    own.rollback()
                except BaseException as exc:  # noqa: BLE001 - reported by the test
                    errors.append(exc)
                    return

    threads = [threading.Thread(target=receive, args=(10,)) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)

    assert errors == []
    codes = sorted(session.scalars(select(Dossier.code).where(Dossier.unit_id == unit_id)))
    assert codes == [f"SKHCN-261123-{n:04d}" for n in range(1, 101)]


def _procedure(appraise_days: str) -> SourceFile:
    text = (BPMN / "procedure-xray-declaration.bpmn").read_text(encoding="utf-8")
    changed = re.sub(r'(<bpmn:userTask id="appraise".*?name="timeLimitWorkingDays" value=")[^"]*"',
                     rf'\g<1>{appraise_days}"', text, count=1, flags=re.S)  # fmt: skip
    assert changed != text or appraise_days == "1.5"
    return SourceFile("procedure-xray-declaration.bpmn", changed.encode())


def _forms() -> list[SourceFile]:
    return [SourceFile(p.name, p.read_bytes()) for p in sorted(BPMN.glob("*.form"))]


@pytest.mark.parametrize("appraise_days", ["1", "2.5"])
def test_steps_that_do_not_add_up_to_the_legal_limit_are_refused_with_the_sums(
    session: Session, unit: Unit, clock: Clock, appraise_days: str
) -> None:
    with pytest.raises(DeploymentRejected) as refused:
        Deployer(session).deploy([_procedure(appraise_days), *_forms()], actor=None, now=clock.now)

    messages = [p.message for p in refused.value.problems]
    total = "4,5" if appraise_days == "1" else "6"
    assert len(messages) == 1
    assert f"take {total} working days on their longest way" in messages[0]
    assert "Thẩm định hồ sơ " + appraise_days.replace(".", ",") in messages[0]
    assert "legal time limit (timeLimitWorkingDays of the process) is 5 working days" in messages[0]


def test_steps_that_add_up_deploy(session: Session, unit: Unit, clock: Clock) -> None:
    result = Deployer(session).deploy([_procedure("1.5"), *_forms()], actor=None, now=clock.now)
    assert result.warnings == []


def test_a_process_without_a_procedure_code_is_not_checked(session: Session, unit: Unit, clock: Clock) -> None:
    source = _procedure("3")
    plain = source.content.replace(b'<zeebe:property name="procedureCode" value="2.002131" />', b"")
    assert plain != source.content
    Deployer(session).deploy([SourceFile(source.filename, plain), *_forms()], actor=None, now=clock.now)


def test_a_procedure_needs_its_legal_limit(session: Session, unit: Unit, clock: Clock) -> None:
    source = _procedure("1.5")
    bare = source.content.replace(b'<zeebe:property name="timeLimitWorkingDays" value="5" />', b"", 1)
    assert bare != source.content
    with pytest.raises(DeploymentRejected) as refused:
        Deployer(session).deploy([SourceFile(source.filename, bare), *_forms()], actor=None, now=clock.now)
    assert "has no legal time limit" in refused.value.problems[0].message
