"""A condition is read in its diagram's language: FEEL after '=' in Camunda 8, JUEL ``${…}`` in Camunda 7. A
condition written without them is plain text to Camunda; it is refused with the fix, on the flow's line."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import Deployer, DeploymentRejected, SourceFile
from engine.runtime.models import ProcessDefinition
from tests.conftest import Clock

C8 = ('xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" modeler:executionPlatform="Camunda Cloud" '
      'modeler:executionPlatformVersion="8.6.0"')  # fmt: skip
C7 = ('xmlns:camunda="http://camunda.org/schema/1.0/bpmn" modeler:executionPlatform="Camunda Platform" '
      'modeler:executionPlatformVersion="7.22.0"')  # fmt: skip


def diagram(platform: str, condition: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:modeler="http://camunda.org/schema/modeler/1.0"
  {platform} id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="dieu_kien" name="Điều kiện" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:exclusiveGateway id="gw" default="f3" />
    <bpmn:endEvent id="lon" />
    <bpmn:endEvent id="nho" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw" />
    <bpmn:sequenceFlow id="f2" name="Số tiền lớn" sourceRef="gw" targetRef="lon">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="nho" />
  </bpmn:process>
</bpmn:definitions>""".encode()


def refusal(session: Session, clock: Clock, content: bytes) -> tuple[str, int | None, str | None]:
    with pytest.raises(DeploymentRejected) as refused:
        Deployer(session).deploy([SourceFile("dieu-kien.bpmn", content)], actor=None, now=clock.now)
    [problem] = refused.value.problems
    assert session.scalar(select(func.count()).select_from(ProcessDefinition).where(
        ProcessDefinition.key == "dieu_kien")) == 0  # fmt: skip
    return str(problem.text), problem.line, problem.element_id


@pytest.mark.parametrize(("platform", "condition"), [(C8, "=amount &gt; 5"), (C7, "${amount &gt; 5}")])
def test_a_condition_in_its_dialects_language_deploys(session: Session, clock: Clock, platform: str,
                                                      condition: str) -> None:  # fmt: skip
    result = Deployer(session).deploy([SourceFile("dieu-kien.bpmn", diagram(platform, condition))], actor=None,
                                      now=clock.now)  # fmt: skip
    assert [d.key for d in result.definitions] == ["dieu_kien"]


def test_a_camunda_8_condition_without_its_equals_sign_is_refused_with_the_fix(session: Session, clock: Clock) -> None:
    text, line, element = refusal(session, clock, diagram(C8, "amount &gt; 5"))
    assert "'=amount > 5'" in text and "Camunda 8" in text and "Python" not in text
    assert (line, element) == (11, "f2")  # the line of <bpmn:sequenceFlow id="f2"


def test_a_camunda_7_condition_outside_its_braces_is_refused_with_the_fix(session: Session, clock: Clock) -> None:
    text, line, element = refusal(session, clock, diagram(C7, "amount &gt; 5"))
    assert "'${amount > 5}'" in text and "Camunda 7" in text and "Python" not in text
    assert (line, element) == (11, "f2")  # the line of <bpmn:sequenceFlow id="f2"


def test_a_broken_feel_condition_names_feel_and_the_flows_line(session: Session, clock: Clock) -> None:
    text, line, element = refusal(session, clock, diagram(C8, "=amount &gt;&gt; 5"))
    assert "FEEL syntax error" in text and "Python" not in text
    assert (line, element) == (11, "f2")  # the line of <bpmn:sequenceFlow id="f2"


PLAIN_WORDS = ("In a plain BPMN diagram (neither Camunda 7 nor Camunda 8) eISO reads a condition starting with "
               "'=' as FEEL, one written ${…} as JUEL, and any other as a Python expression (e.g. amount > 5).")


def _vietnamese(template: str) -> str:
    from babel.messages.pofile import read_po

    from tests.conftest import FIXTURES

    path = FIXTURES.parent.parent / "webapp" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        message = read_po(po).get(template)
    return str(message.string) if message is not None and message.string else template


@pytest.mark.parametrize(("condition", "language", "reason"), [
    ("amount &gt; 5 and", "Python", "Python syntax error"),
    ("=amount &gt;&gt; 5", "FEEL", "FEEL syntax error"),
])  # fmt: skip
def test_a_broken_condition_in_a_plain_bpmn_diagram_names_the_flow_its_line_and_the_languages(
    session: Session, clock: Clock, condition: str, language: str, reason: str
) -> None:
    with pytest.raises(DeploymentRejected) as refused:
        Deployer(session).deploy([SourceFile("dieu-kien.bpmn", diagram("", condition))], actor=None, now=clock.now)
    [problem] = refused.value.problems
    assert session.scalar(select(func.count()).select_from(ProcessDefinition)) == 0
    shown, text = condition.replace("&gt;", ">"), str(problem.text)
    assert text.startswith(f"The condition '{shown}' on 'Số tiền lớn' (line 11) cannot be read as {language}: "
                           f"{reason}")  # fmt: skip
    assert text.endswith(PLAIN_WORDS)
    assert (problem.line, problem.element_id) == (11, "f2")
    vi = problem.text.render(_vietnamese)
    assert vi.startswith(f"Điều kiện '{shown}' trên 'Số tiền lớn' (dòng 11) không đọc được dưới dạng {language}: ")
    assert vi.endswith("là biểu thức Python (ví dụ amount > 5).")


def test_a_plain_bpmn_condition_that_parses_deploys(session: Session, clock: Clock) -> None:
    result = Deployer(session).deploy([SourceFile("dieu-kien.bpmn", diagram("", "amount &gt; 5"))], actor=None,
                                      now=clock.now)  # fmt: skip
    assert [d.key for d in result.definitions] == ["dieu_kien"]


def waiting_diagram(condition: str) -> bytes:
    """A plain BPMN diagram whose intermediate conditional event waits until the condition holds."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="dieu_kien" name="Điều kiện" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:intermediateCatchEvent id="cho" name="Chờ đủ hồ sơ">
      <bpmn:conditionalEventDefinition id="cd">
        <bpmn:condition xsi:type="bpmn:tFormalExpression">{condition}</bpmn:condition>
      </bpmn:conditionalEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="cho" />
    <bpmn:sequenceFlow id="f2" sourceRef="cho" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>""".encode()


def test_a_broken_conditional_event_in_a_plain_bpmn_diagram_names_the_event_and_the_languages(
    session: Session, clock: Clock
) -> None:
    with pytest.raises(DeploymentRejected) as refused:
        Deployer(session).deploy([SourceFile("dieu-kien.bpmn", waiting_diagram("complete =="))], actor=None,
                                 now=clock.now)  # fmt: skip
    [problem] = refused.value.problems
    assert session.scalar(select(func.count()).select_from(ProcessDefinition)) == 0
    text = str(problem.text)
    assert text.startswith("The condition 'complete ==' on 'Chờ đủ hồ sơ' (line 6) cannot be read as Python: "
                           "Python syntax error")  # fmt: skip
    assert text.endswith(PLAIN_WORDS)
    assert (problem.line, problem.element_id) == (6, "cho")
