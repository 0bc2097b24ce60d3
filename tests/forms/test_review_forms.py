"""The shipped forms of the management review and ad hoc work load, name the forms their processes use,
label every input, and validate as the people filling them expect."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from engine.expressions.feel import evaluate as evaluate_feel
from forms import Form, render_form_html

from .factories import TODAY, load, parse_html

BPMN = Path(__file__).parents[2] / "bpmn"
PROCESSES = {"management-review": ("notice", "notice-approval", "report", "consolidate", "meeting", "approval"),
             "adhoc-assignment": ("start", "handle", "specialist", "review")}  # fmt: skip
FILES = {f"{process}-{name}": BPMN / f"{process}-{name}.form" for process, names in PROCESSES.items() for name in names}
DATA: dict[str, Any] = {
    "departments": [{"label": "Văn phòng", "value": "vp"}, {"label": "Phòng Kinh tế", "value": "kt"}],
    "topics": ["objectives", "improvement"],
    "staff": [{"label": "Lê Văn Tâm — Chánh Văn phòng", "value": "tam"}],
    "specialists": [{"label": "Võ Minh Khoa", "value": "khoa"}],
    "title": "Xem xét năm 2026", "year": 2026, "departmentName": "Văn phòng",
    "decisions": [{"decision": "Duy trì"}],
    "actions": [{"action": "Rà soát", "ownerKind": "person", "ownerPerson": "tam", "dueDate": "2027-01-31"}],
}


def feel(expression: str, variables: Mapping[str, Any]) -> Any:
    return evaluate_feel(expression, dict(variables))


@pytest.fixture(scope="module")
def forms() -> dict[str, Form]:
    return {name: load(path) for name, path in FILES.items()}


@pytest.mark.parametrize("process", PROCESSES)
def test_the_process_uses_exactly_its_forms(forms: dict[str, Form], process: str) -> None:
    tree = etree.parse(str(BPMN / f"{process}.bpmn"))
    referenced = set(tree.xpath("//*[local-name()='formDefinition']/@formId"))
    assert referenced == {forms[f"{process}-{name}"].id for name in PROCESSES[process]}


@pytest.mark.parametrize("name", FILES)
def test_renders_with_every_input_labelled(forms: dict[str, Form], name: str) -> None:
    form = forms[name]
    page = parse_html(render_form_html(form, form.initial_values(DATA), {}, data=DATA, evaluate=feel))
    ids = [c.get("id") for c in page.xpath("//input[not(@type='hidden')] | //select | //textarea")]
    assert ids and all(ids)
    assert [i for i in ids if not page.xpath(f"//label[@for='{i}']")] == []


def test_a_department_reports_only_the_items_the_notice_asked_for(forms: dict[str, Form]) -> None:
    report = forms["management-review-report"]
    empty = report.validate_post({}, DATA, evaluate=feel, today=TODAY)
    assert set(empty.errors) == {"report.objectives", "report.improvement"}
    filled = report.validate_post({"report.objectives": ["Đạt 98%"], "report.improvement": ["Số hóa hồ sơ"]}, DATA,
                                  evaluate=feel, today=TODAY)  # fmt: skip
    assert filled.ok and filled.values["report"]["objectives"] == "Đạt 98%"


def test_an_action_needs_the_owner_of_the_kind_chosen(forms: dict[str, Form]) -> None:
    meeting = forms["management-review-meeting"]
    post = {"heldOn": ["2026-12-15"], "participants": ["Lãnh đạo"], "meetingConclusion": ["Phù hợp"],
            "_rows:decisions": ["1"], "decisions[0].decision": ["Duy trì"], "_rows:actions": ["1"],
            "actions[0].action": ["Rà soát"], "actions[0].ownerKind": ["department"],
            "actions[0].dueDate": ["2027-01-31"]}
    missing = meeting.validate_post(post, DATA, evaluate=feel, today=TODAY)
    assert set(missing.errors) == {"actions[0].ownerDepartment"}
    given = meeting.validate_post({**post, "actions[0].ownerDepartment": ["kt"]}, DATA, evaluate=feel, today=TODAY)
    assert given.ok and given.values["actions"][0]["ownerDepartment"] == "kt"


@pytest.mark.parametrize(("name", "key"), [("management-review-notice-approval", "noticeDecision"),
                                           ("management-review-approval", "finalDecision"),
                                           ("adhoc-assignment-review", "decision")])  # fmt: skip
def test_a_return_needs_a_reason(forms: dict[str, Form], name: str, key: str) -> None:
    form = forms[name]
    reason = next(f.key for f in form.fields if f.key and "ReturnReason" in f.key or f.key == "returnReason")
    refused = form.validate_post({key: ["return"], reason: ["x"]}, DATA, evaluate=feel, today=TODAY)
    assert refused.errors == {reason: "Tối thiểu 5 ký tự."}


def test_the_start_form_refuses_a_past_deadline_and_no_department(forms: dict[str, Form]) -> None:
    start = forms["adhoc-assignment-start"]
    refused = start.validate_post({"title": ["Việc"], "content": ["Nội dung"], "deadline": ["2020-01-01"]}, DATA,
                                  evaluate=feel, today=TODAY)  # fmt: skip
    assert set(refused.errors) == {"deadline", "assignedDepartments"}
