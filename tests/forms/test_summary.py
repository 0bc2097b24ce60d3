"""What a submission says, read as the form shows it (``Form.describe``), and which data a form reads
(``forms.names_read``), on the shipped quality-objectives forms."""

from __future__ import annotations

import json
from pathlib import Path

from forms import names_read

from .factories import load

BPMN = Path(__file__).parents[2] / "bpmn"
DATA = {"departments": [{"label": "Văn phòng", "value": "vp"}, {"label": "Phòng Kế hoạch", "value": "kh"}]}


def test_a_draft_reads_with_labels_names_and_dates() -> None:
    draft = load(BPMN / "quality-objectives-draft.form")
    values = {"year": 2027, "title": "Mục tiêu 2027", "plan": "", "unknown": {"a": 1},
              "objectives": [{"objective": "Đúng hạn", "target": "≥ 98%", "department": "kh",
                              "deadline": "2027-12-31"}]}  # fmt: skip
    entries = draft.describe(values, DATA, locale="vi")
    by_label = {e.label: e for e in entries}
    assert by_label["Năm áp dụng"].text == "2027" and by_label["Tên bộ mục tiêu"].text == "Mục tiêu 2027"
    [row] = by_label["Các mục tiêu"].rows
    assert [(e.label, e.text) for e in row] == [
        ("Mục tiêu", "Đúng hạn"), ("Chỉ tiêu và cách đo lường", "≥ 98%"),
        ("Phòng chịu trách nhiệm", "Phòng Kế hoạch"), ("Thời hạn hoàn thành", "31/12/2027"),
    ]
    assert by_label["unknown"].text == "a: 1"  # a key the form has no field for keeps its name


def test_a_decision_reads_as_its_option() -> None:
    review = load(BPMN / "quality-objectives-review.form")
    entries = review.describe({"decision": "return", "returnReason": "Bổ sung."}, {})
    assert [(e.label, e.text) for e in entries] == [
        ("Quyết định", "Trả lại để chỉnh sửa"), ("Lý do trả lại", "Bổ sung.")]
    assert [(e.label, e.text) for e in review.describe({"decision": "approve"}, {}, locale="en")] == [
        ("Quyết định", "Phê duyệt")]


def test_names_read_are_the_templates_expressions_and_value_lists() -> None:
    review = json.loads((BPMN / "quality-objectives-review.form").read_text(encoding="utf-8"))
    draft = json.loads((BPMN / "quality-objectives-draft.form").read_text(encoding="utf-8"))
    assert {"title", "year", "objectives", "departments"} <= names_read(review)
    assert {"departments", "returnReason", "decision"} <= names_read(draft)
    assert "Phê" not in names_read(review)  # literal texts are not names
