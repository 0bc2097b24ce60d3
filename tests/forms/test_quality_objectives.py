"""The shipped quality-objectives forms (bpmn/quality-objectives-*.form) load, render and validate."""

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
NAMES = ("draft", "review", "record")
FILES = {name: BPMN / f"quality-objectives-{name}.form" for name in NAMES}

pytestmark = pytest.mark.skipif(
    not all(path.exists() for path in FILES.values()), reason="bpmn/quality-objectives-*.form not written yet"
)

DATA: dict[str, Any] = {
    "departments": [{"label": "Văn phòng", "value": "vp"}, {"label": "Phòng Kế hoạch", "value": "kh"}],
}
OBJECTIVE = {
    "objective": "Giải quyết đúng hạn 100% hồ sơ thủ tục hành chính",
    "target": "Tỷ lệ hồ sơ đúng hạn trên hệ thống một cửa",
    "department": "vp",
    "deadline": "2026-12-31",
}

def feel(expression: str, variables: Mapping[str, Any]) -> Any:
    """The engine's own FEEL, as the task pages evaluate the shipped forms' expressions."""
    return evaluate_feel(expression, dict(variables))


@pytest.fixture(scope="module")
def forms() -> dict[str, Form]:
    return {name: load(path) for name, path in FILES.items()}


def test_form_ids_match_the_process(forms: dict[str, Form]) -> None:
    tree = etree.parse(str(BPMN / "quality-objectives.bpmn"))
    referenced = set(tree.xpath("//*[local-name()='formDefinition']/@formId"))

    assert {form.id for form in forms.values()} <= referenced


@pytest.mark.parametrize("name", NAMES)
def test_renders_with_every_input_labelled(forms: dict[str, Form], name: str) -> None:
    form = forms[name]
    page = parse_html(render_form_html(form, form.initial_values(DATA), {}, data=DATA, evaluate=feel))

    controls = page.xpath("//input[not(@type='hidden')] | //select | //textarea")
    ids = [control.get("id") for control in controls]
    assert controls and all(ids), "every form of the process has inputs, each with an id"
    unlabelled = [control_id for control_id in ids if not page.xpath(f"//label[@for='{control_id}']")]
    assert unlabelled == []


def test_draft_requires_the_plan_and_types_it(forms: dict[str, Form]) -> None:
    draft = forms["draft"]
    assert len(draft.initial_values(DATA)["objectives"]) == 1

    empty = draft.validate_post({"_rows:objectives": ["1"]}, DATA, evaluate=feel, today=TODAY)
    post = {
        "year": ["2026"],
        "title": ["Mục tiêu chất lượng năm 2026"],
        "_rows:objectives": ["1"],
        **{f"objectives[0].{key}": [value] for key, value in OBJECTIVE.items()},
    }
    filled = draft.validate_post(post, DATA, evaluate=feel, today=TODAY)

    assert set(empty.errors) == {
        "year",
        "title",
        "objectives[0].objective",
        "objectives[0].target",
        "objectives[0].department",
        "objectives[0].deadline",
    }
    assert filled.ok, filled.errors
    assert filled.values["year"] == 2026
    assert filled.values["objectives"] == [OBJECTIVE]


def test_draft_shows_the_return_reason_only_after_a_return(forms: dict[str, Form]) -> None:
    draft = forms["draft"]
    returned = DATA | {"decision": "return", "returnReason": "Thiếu chỉ tiêu đo lường"}

    first = render_form_html(draft, draft.initial_values(DATA), {}, data=DATA, evaluate=feel, readonly=True)
    again = render_form_html(draft, draft.initial_values(returned), {}, data=returned, evaluate=feel, readonly=True)

    assert "Lý do" not in first
    assert "Lý do: Thiếu chỉ tiêu đo lường" in parse_html(again).text_content()


def test_review_needs_a_reason_only_when_returning(forms: dict[str, Form]) -> None:
    review = forms["review"]
    data = {"title": "Mục tiêu 2026", "year": 2026, "objectives": [OBJECTIVE]}

    approved = review.validate_post({"decision": ["approve"], "returnReason": ["x"]}, data, evaluate=feel)
    returned = review.validate_post({"decision": ["return"], "returnReason": ["ok"]}, data, evaluate=feel)
    page = parse_html(render_form_html(review, review.initial_values(data), {}, data=data, evaluate=feel))

    assert approved.values == {"decision": "approve"}
    assert returned.errors == {"returnReason": "Tối thiểu 5 ký tự."}
    assert page.xpath("//table//tbody/tr/td/text()")[:2] == [OBJECTIVE["objective"], OBJECTIVE["target"]]


def test_record_checks_the_decision_number(forms: dict[str, Form]) -> None:
    record = forms["record"]

    refused = record.validate_post({"decisionNumber": ["QĐ 12"], "effectiveDate": ["2026-01-05"]}, {})
    accepted = record.validate_post({"decisionNumber": ["12/QĐ-SKHCN"], "effectiveDate": ["05/01/2026"]}, {})

    assert refused.errors == {"decisionNumber": "Nhập theo mẫu 12/QĐ-SKHCN"}
    assert accepted.ok and accepted.values["effectiveDate"] == "2026-01-05"


def test_the_leader_reads_department_names_and_dates_as_on_paper(forms: dict[str, Form]) -> None:
    data = {**DATA, "title": "Mục tiêu 2026", "year": 2026, "objectives": [OBJECTIVE]}
    form = forms["review"]
    page = parse_html(render_form_html(form, form.initial_values(data), {}, data=data, evaluate=feel))
    cells = [c.strip() for c in page.xpath("//table//tbody/tr/td/text()")]
    assert "Văn phòng" in cells and "vp" not in cells  # the department's name, not its code
    assert "31/12/2026" in cells and "2026-12-31" not in cells
