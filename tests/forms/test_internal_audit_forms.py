"""The shipped internal-audit and corrective-action forms load, name what the processes use, label every
input, and validate and show what the people of each step need."""

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
PROCESSES = {
    "internal-audit": ("programme", "programme-review", "plan", "plan-review", "department", "conclusion"),
    "corrective-action": ("start", "correction", "cause", "plan", "implementation", "verification"),
}
FILES = {f"{process}-{name}": BPMN / f"{process}-{name}.form" for process, names in PROCESSES.items() for name in names}
DATA: dict[str, Any] = {
    "departments": [{"label": "Văn phòng Sở", "value": "vp"}, {"label": "Phòng Quản lý Khoa học", "value": "qlkh"}],
    "auditors": [{"label": "Phan Thanh Sơn", "value": "danhgiavien"}],
    "unit": {"code": "skhcn-daklak", "name": "Sở Khoa học và Công nghệ"},
    "audit": {"assignmentId": 1, "department": "vp", "departmentName": "Văn phòng Sở", "auditor": "danhgiavien",
              "auditorName": "Phan Thanh Sơn", "auditDate": "2027-05-11"},
    "nonconformity": {"code": "KPH-2027-001", "department": "vp", "departmentName": "Văn phòng Sở",
                      "description": "Hồ sơ lưu trữ thiếu chữ ký duyệt", "requirement": "7.5.3"},
    "auditPlan": [{"department": "qlkh", "auditor": "danhgiavien", "auditDate": "2027-05-12"}],
    "checklist": [{"clause": "7.5", "question": "Hồ sơ có được kiểm soát không?"}],
    "auditResults": [{"department": "Văn phòng Sở", "auditor": "Phan Thanh Sơn", "nonconformities": 1,
                      "observations": 0, "improvements": 2, "summary": "Cơ bản đúng quy trình"}],
    "actions": [{"action": "Sửa quy trình lưu trữ", "owner": "Chánh Văn phòng", "dueDate": "2027-06-30"}],
}  # fmt: skip


def feel(expression: str, variables: Mapping[str, Any]) -> Any:
    return evaluate_feel(expression, dict(variables))


@pytest.fixture(scope="module")
def forms() -> dict[str, Form]:
    return {name: load(path) for name, path in FILES.items()}


def text_of(form: Form, data: Mapping[str, Any]) -> str:
    html = render_form_html(form, form.initial_values(data), {}, data=data, evaluate=feel, readonly=True)
    return " ".join(parse_html(html).text_content().split())


@pytest.mark.parametrize("process", PROCESSES)
def test_each_form_is_one_the_process_names(forms: dict[str, Form], process: str) -> None:
    referenced = set(etree.parse(str(BPMN / f"{process}.bpmn")).xpath("//*[local-name()='formDefinition']/@formId"))
    assert referenced == {forms[f"{process}-{name}"].id for name in PROCESSES[process]}


@pytest.mark.parametrize("name", FILES)
def test_renders_with_every_input_labelled(forms: dict[str, Form], name: str) -> None:
    form = forms[name]
    page = parse_html(render_form_html(form, form.initial_values(DATA), {}, data=DATA, evaluate=feel))
    ids = [c.get("id") for c in page.xpath("//input[not(@type='hidden')] | //select | //textarea")]
    assert ids and all(ids)
    assert [i for i in ids if not page.xpath(f"//label[@for='{i}']")] == []


def test_the_plan_refuses_an_auditor_who_is_not_offered(forms: dict[str, Form]) -> None:
    plan = forms["internal-audit-plan"]
    post = {"roundTitle": ["Đợt 1"], "startsOn": ["2027-05-10"], "endsOn": ["2027-05-14"], "roundCriteria": ["7.5"],
            "procedure": ["Khai mạc"], "_rows:auditPlan": ["1"], "auditPlan[0].department": ["vp"],
            "auditPlan[0].auditor": ["chuyenvien"], "auditPlan[0].auditDate": ["2027-05-11"], "_rows:checklist": ["1"],
            "checklist[0].clause": ["7.5"], "checklist[0].question": ["Hồ sơ có được kiểm soát không?"]}  # fmt: skip

    refused = plan.validate_post(post, DATA, evaluate=feel, today=TODAY)
    accepted = plan.validate_post({**post, "auditPlan[0].auditor": ["danhgiavien"]}, DATA, evaluate=feel, today=TODAY)

    assert list(refused.errors) == ["auditPlan[0].auditor"]
    assert accepted.ok and accepted.values["auditPlan"] == [
        {"department": "vp", "auditor": "danhgiavien", "auditDate": "2027-05-11"}]


def test_the_plan_warns_when_the_unit_has_no_internal_auditor(forms: dict[str, Form]) -> None:
    plan = forms["internal-audit-plan"]
    assert "chưa có đánh giá viên nội bộ" in text_of(plan, {**DATA, "auditors": []})
    assert "chưa có đánh giá viên nội bộ" not in text_of(plan, DATA)


def test_the_leader_reads_the_plan_with_names_not_codes(forms: dict[str, Form]) -> None:
    shown = text_of(forms["internal-audit-plan-review"], {**DATA, "roundTitle": "Đợt 1 năm 2027"})
    assert "Phòng Quản lý Khoa học" in shown and "Phan Thanh Sơn" in shown and "12/05/2027" in shown
    assert "qlkh" not in shown and "danhgiavien" not in shown


def test_a_department_audit_with_no_finding_is_accepted_and_a_finding_needs_its_evidence(
    forms: dict[str, Form]
) -> None:
    audit = forms["internal-audit-department"]
    base = {"_rows:checklist": ["1"], "checklist[0].clause": ["7.5"], "checklist[0].question": ["Kiểm soát?"],
            "checklist[0].result": ["conform"], "_rows:findings": ["0"],
            "auditSummary": ["Phòng làm đúng quy trình."]}  # fmt: skip
    assert audit.initial_values(DATA)["findings"] == []  # nothing found is the starting point

    clean = audit.validate_post(base, DATA, evaluate=feel, today=TODAY)
    half = audit.validate_post({**base, "_rows:findings": ["1"], "findings[0].classification": ["nonconformity"],
                                "findings[0].description": ["Hồ sơ thiếu chữ ký duyệt"]},
                               DATA, evaluate=feel)  # fmt: skip
    wrong = audit.validate_post({**base, "_rows:findings": ["1"], "findings[0].classification": ["major"],
                                 "findings[0].description": ["Hồ sơ thiếu chữ ký duyệt"],
                                 "findings[0].evidence": ["Hồ sơ 12"]}, DATA, evaluate=feel)  # fmt: skip

    assert clean.ok and clean.values["findings"] == []
    assert list(half.errors) == ["findings[0].evidence"]
    assert list(wrong.errors) == ["findings[0].classification"]
    assert "Đánh giá tại Văn phòng Sở" in text_of(audit, DATA)


def test_the_conclusion_shows_each_department_s_results(forms: dict[str, Form]) -> None:
    form, data = forms["internal-audit-conclusion"], {**DATA, "roundTitle": "Đợt 1 năm 2027"}
    page = parse_html(render_form_html(form, form.initial_values(data), {}, data=data, evaluate=feel))
    cells = [c.text_content().strip() for c in page.xpath("//table//tbody/tr/td")]
    assert cells[:5] == ["Văn phòng Sở", "Phan Thanh Sơn", "1", "0", "2"]
    assert page.xpath("//a/@href") == ["/iso/audits/findings?unit=skhcn-daklak"]  # the findings of this unit


def test_the_cause_shows_why_the_action_was_reopened_only_after_a_reopening(forms: dict[str, Form]) -> None:
    cause = forms["corrective-action-cause"]
    reopened = {**DATA, "verification": "not_effective", "verificationNote": "Vẫn còn 3 hồ sơ thiếu chữ ký"}
    assert "Vẫn còn 3 hồ sơ thiếu chữ ký" in text_of(cause, reopened)
    assert "chưa có hiệu lực" not in text_of(cause, DATA)
    assert "chưa có hiệu lực" not in text_of(cause, {**DATA, "verification": None})


def test_the_implementation_keeps_the_planned_actions_as_planned(forms: dict[str, Form]) -> None:
    implementation = forms["corrective-action-implementation"]
    post = {"_rows:actions": ["1"], "actions[0].action": ["Việc khác hẳn"], "actions[0].result": ["Đã làm xong"],
            "actions[0].done": ["true"], "implementation": ["Đã ban hành quy trình sửa đổi"]}  # fmt: skip

    done = implementation.validate_post(post, DATA, evaluate=feel, today=TODAY)

    assert done.ok and done.values["actions"][0]["action"] == "Sửa quy trình lưu trữ"  # a readonly field stays
    assert done.values["actions"][0]["result"] == "Đã làm xong" and done.values["actions"][0]["done"] is True


def test_a_nonconformity_found_outside_an_audit_cannot_claim_to_come_from_one(forms: dict[str, Form]) -> None:
    start = forms["corrective-action-start"]
    post = {"source": ["audit"], "department": ["vp"], "description": ["Công dân phản ánh trả kết quả trễ"],
            "detectedOn": ["2027-03-02"]}  # fmt: skip
    assert list(start.validate_post(post, DATA, evaluate=feel, today=TODAY).errors) == ["source"]
    assert start.validate_post({**post, "source": ["complaint"]}, DATA, evaluate=feel, today=TODAY).ok
