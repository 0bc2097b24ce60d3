"""The shipped forms of the risk, document-control and complaint processes load, belong to their diagrams, label
every input, and check what their people type as the steps need it."""

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
PROCESSES = {"risk-management": "risk-management-*.form", "document-control": "document-control-*.form",
             "complaint-handling": "complaint-*.form"}  # fmt: skip
FILES = sorted(path for pattern in PROCESSES.values() for path in BPMN.glob(pattern))
DEPARTMENTS = [{"label": "Văn phòng Sở", "value": "vp"}, {"label": "Phòng Quản lý Khoa học", "value": "qlkh"}]
DATA: dict[str, Any] = {"departments": DEPARTMENTS, "department": DEPARTMENTS[0],
                        "group": {"department": DEPARTMENTS[0], "risks": []}, "monitoredRisks": []}  # fmt: skip


def feel(expression: str, variables: Mapping[str, Any]) -> Any:
    return evaluate_feel(expression, dict(variables))


def form(name: str) -> Form:
    return load(BPMN / f"{name}.form")


def test_every_process_has_its_forms_and_references_only_them() -> None:
    assert len(FILES) == 16
    for process, pattern in PROCESSES.items():
        tree = etree.parse(str(BPMN / f"{process}.bpmn"))
        referenced = set(tree.xpath("//*[local-name()='formDefinition']/@formId"))
        assert referenced == {load(path).id for path in BPMN.glob(pattern)}, process


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_renders_in_vietnamese_with_every_input_labelled(path: Path) -> None:
    loaded = load(path)
    assert loaded.id == path.stem
    page = parse_html(render_form_html(loaded, loaded.initial_values(DATA), {}, data=DATA, evaluate=feel))
    controls = page.xpath("//input[not(@type='hidden')] | //select | //textarea")
    unlabelled = [c.get("id") for c in controls if not page.xpath(f"//label[@for='{c.get('id')}']")]
    assert unlabelled == []
    assert "Trường này" not in page.text_content()  # nothing is flagged before the person types


def test_the_risk_plan_needs_its_departments_and_the_leader_a_reason_to_return_it() -> None:
    plan = form("risk-management-plan").validate_post({"year": ["2027"]}, DATA, evaluate=feel, today=TODAY)
    assert {"title", "scope", "objectives", "startDate", "endDate", "methods", "riskDepartmentCodes"} <= set(
        plan.errors)
    approve = form("risk-management-approve")
    assert approve.validate_post({"decision": ["return"]}, DATA, evaluate=feel).errors == {
        "returnReason": "Trường này là bắt buộc."}
    assert approve.validate_post({"decision": ["approve"]}, DATA, evaluate=feel).ok


def test_a_risk_is_scored_on_the_one_to_five_scales_only() -> None:
    identify = form("risk-management-identify")
    post = {"_rows:risks": ["1"], "risks[0].description": ["Trễ hạn"], "risks[0].severity": ["6"],
            "risks[0].likelihood": ["3"]}  # fmt: skip
    assert set(identify.validate_post(post, DATA, evaluate=feel).errors) == {"risks[0].severity"}
    good = identify.validate_post({**post, "risks[0].severity": ["4"]}, DATA, evaluate=feel)
    assert good.ok and good.values["risks"][0]["severity"] == 4  # a number, as the decision table needs


def test_the_treatment_form_offers_acceptance_only_for_risks_that_need_no_treatment() -> None:
    treat = form("risk-management-treat")
    risks = [{"description": "Trễ hạn", "levelName": "Cao", "score": 16, "treatmentRequired": True},
             {"description": "Mất điện", "levelName": "Thấp", "score": 2, "treatmentRequired": False}]
    data = {**DATA, "group": {"department": DEPARTMENTS[0], "risks": risks}}
    page = parse_html(render_form_html(treat, treat.initial_values(data), {}, data=data, evaluate=feel))
    first = page.xpath("//select[@name='group.risks[0].treatment']/option/@value")
    second = page.xpath("//select[@name='group.risks[1].treatment']/option/@value")
    assert "accept" not in first and "accept" in second
    post = {"_rows:group.risks": ["2"], "group.risks[0].treatment": ["reduce"], "group.risks[0].action": ["Trực thay"],
            "group.risks[0].owner": ["Ông Hùng"], "group.risks[0].dueDate": ["30/06/2027"],
            "group.risks[1].treatment": ["accept"], "group.risks[0].treatmentRequired": ["false"]}  # fmt: skip
    result = treat.validate_post(post, data, evaluate=feel, today=TODAY)
    assert result.ok, result.errors
    assert result.values["group"]["risks"][0]["treatmentRequired"] is True  # a locked field keeps its stored value
    assert result.values["group"]["risks"][0]["dueDate"] == "2027-06-30"
    assert "action" not in result.values["group"]["risks"][1]  # hidden for an accepted risk


def test_the_report_shows_department_names_and_treatments_as_words() -> None:
    report = form("risk-management-report")
    data = {**DATA, "title": "Đánh giá 2027", "year": 2027, "treatedRisks": [
        {"department": "qlkh", "description": "Trễ hạn", "score": 16, "levelName": "Cao", "treatment": "reduce",
         "owner": "Ông Bảo", "dueDate": "2027-06-30"}]}  # fmt: skip
    page = parse_html(render_form_html(report, report.initial_values(data), {}, data=data, evaluate=feel))
    cells = [c.strip() for c in page.xpath("//table//tbody/tr/td/text()")]
    assert {"Phòng Quản lý Khoa học", "Giảm thiểu", "30/06/2027"} <= set(cells) and "qlkh" not in cells
    assert report.initial_values(data)["monitoringInterval"] == "P3M"


def test_the_document_code_and_decision_number_follow_the_units_conventions() -> None:
    draft = form("document-control-draft")
    lower = draft.validate_post({"code": ["qt 05"]}, DATA, evaluate=feel, today=TODAY)
    assert lower.errors["code"] == "Nhập mã in hoa, ví dụ QT-05 hoặc HD.TTHC-02"
    assert "changedSections" not in lower.errors  # asked only for a revision
    revision = draft.validate_post({"changeType": ["revise"]}, DATA, evaluate=feel, today=TODAY)
    assert "changedSections" in revision.errors and "documentFiles" in revision.errors
    issue = form("document-control-issue")
    assert issue.validate_post({"decisionNumber": ["QĐ 12"], "issueDate": ["05/01/2027"], "distribution": ["vp"]},
                               DATA, evaluate=feel).errors == {"decisionNumber": "Nhập theo mẫu 12/QĐ-SKHCN"}


def test_the_complaint_forms_check_contacts_limits_and_satisfaction() -> None:
    record = form("complaint-record")
    errors = record.validate_post({"email": ["không phải thư"], "phone": ["abc"]}, DATA, evaluate=feel).errors
    assert {"email", "phone", "kind", "source", "channel", "complainantName", "subject", "content"} <= set(errors)
    assign = form("complaint-assign")
    assert assign.initial_values(DATA)["answerDays"] == 10
    assert set(assign.validate_post({"assignedDepartment": ["vp"], "answerDays": ["46"]}, DATA,
                                    evaluate=feel).errors) == {"answerDays"}  # fmt: skip
    follow = form("complaint-follow-up")
    assert follow.validate_post({"contacted": ["no"]}, DATA, evaluate=feel).ok
    assert set(follow.validate_post({"contacted": ["yes"]}, DATA, evaluate=feel).errors) == {"satisfaction"}
