from __future__ import annotations

import re
from typing import Any

import pytest

from forms import Form, load_form_js

from .factories import CORPUS, PLAN_DATA, TODAY, Upload, fake_feel, load, plan_post


def validate(form: Form, changes: dict[str, list[str] | None] | None = None, **options: Any) -> Any:
    options.setdefault("evaluate", fake_feel)
    return form.validate_post(plan_post(changes), PLAN_DATA, today=TODAY, **options)


def test_valid_submission_gives_typed_nested_values(plan_form: Form) -> None:
    result = validate(plan_form)

    assert result.ok, result.errors
    values = result.values
    assert values["contact"] == {"email": "thuky.iso@stttt.gov.vn", "phone": "0236 3822 123"}
    assert values["budget"] == {"amount": 150000000}
    assert values["targetRate"] == 95.5  # decimal comma accepted
    assert values["auditSessions"] == 4
    assert (values["deadline"], values["kickoffTime"], values["reviewAt"]) == (
        "2025-12-31",
        "08:30",
        "2025-06-15T14:00",
    )
    assert values["standards"] == ["iso9001", "iso27001"]
    assert values["tags"] == ["cai-cach"]
    assert values["confirmed"] is True
    assert values["plan"]["objectives"] == [
        {
            "objective": "Giải quyết 100% hồ sơ đúng hạn",
            "indicator": {"target": 100},
            "actions": [{"action": "Rà soát quy trình tiếp nhận", "owner": "Bộ phận một cửa"}],
        },
        {"objective": "Mức hài lòng của người dân trên 90%", "indicator": {"target": 90.5}, "actions": []},
    ]


def test_hidden_and_display_components_are_not_in_values(plan_form: Form) -> None:
    values = validate(plan_form, {"returnReason": ["Chưa đủ chỉ tiêu"]}).values

    assert "returnReason" not in values  # hidden while the decision is "approve"
    assert not {"Text_intro", "Button_submit"} & set(values)


def test_hidden_required_field_is_validated_once_the_user_shows_it(plan_form: Form) -> None:
    refused = validate(plan_form, {"decision": ["return"], "returnReason": [""]})
    accepted = validate(plan_form, {"decision": ["return"], "returnReason": ["  Chưa nêu rõ chỉ tiêu  "]})

    assert refused.errors == {"returnReason": "Trường này là bắt buộc."}
    assert accepted.values["returnReason"] == "Chưa nêu rõ chỉ tiêu"


def test_without_an_evaluator_conditions_hide_nothing(plan_form: Form) -> None:
    result = validate(plan_form, {"returnReason": [""]}, evaluate=None)

    assert result.errors["returnReason"] == "Trường này là bắt buộc."


def test_errors_are_keyed_by_input_name_with_messages_in_the_locale(plan_form: Form) -> None:
    changes: dict[str, list[str] | None] = {
        "title": ["x" * 201],
        "contact.email": ["thuky-at-stttt"],
        "plan.objectives[1].objective": [""],
        "confirmed": None,
    }

    vietnamese = validate(plan_form, changes).errors
    english = validate(plan_form, changes, locale="en").errors

    assert vietnamese == {
        "title": "Tối đa 200 ký tự.",
        "contact.email": "Địa chỉ email không hợp lệ.",
        "plan.objectives[1].objective": "Trường này là bắt buộc.",
        "confirmed": "Trường này là bắt buộc.",
    }
    assert english == {
        "title": "At most 200 characters.",
        "contact.email": "Enter a valid email address.",
        "plan.objectives[1].objective": "This field is required.",
        "confirmed": "This field is required.",
    }


def test_raw_input_is_kept_when_refused(plan_form: Form) -> None:
    result = validate(plan_form, {"targetRate": ["chín lăm"], "budget.amount": ["1.000"]})

    assert not result.ok
    assert result.raw["targetRate"] == "chín lăm"
    assert result.raw["budget"]["amount"] == "1.000"
    assert result.raw["title"] == "Kế hoạch thực hiện mục tiêu chất lượng năm 2025"
    assert result.raw["plan"]["objectives"][0]["actions"][0]["owner"] == "Bộ phận một cửa"


def test_pattern_uses_the_forms_own_message(plan_form: Form) -> None:
    result = validate(plan_form, {"documentCode": ["KH-3/2025"]}, locale="en")

    assert result.errors == {"documentCode": "Mã hiệu có dạng KH-01/2025."}


def test_pattern_without_message_gets_the_standard_one() -> None:
    form = load(CORPUS / "start-form.form")

    result = form.validate_post({"creditor": ["Công ty A"], "amount": ["12a"], "invoiceNumber": ["C-12"]}, {})

    assert result.errors == {"amount": "Giá trị không đúng định dạng yêu cầu."}


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"title": ["Ngắn"]}, {"title": "Tối thiểu 5 ký tự."}),
        ({"contact.phone": ["12345"]}, {"contact.phone": "Số điện thoại không hợp lệ."}),
        ({"contact.phone": ["+84 236 382 2123"]}, {}),
        ({"targetRate": ["49,9"]}, {"targetRate": "Giá trị nhỏ nhất là 50."}),
        ({"targetRate": ["100.5"]}, {"targetRate": "Giá trị lớn nhất là 100."}),
        ({"targetRate": ["95.55"]}, {"targetRate": "Tối đa 1 chữ số sau dấu thập phân."}),
        ({"budget.amount": ["1.000"]}, {"budget.amount": "Vui lòng nhập số nguyên."}),
        ({"budget.amount": ["-5"]}, {"budget.amount": "Giá trị nhỏ nhất là 0."}),
        ({"budget.amount": ["nhiều"]}, {"budget.amount": "Vui lòng nhập một số."}),
        ({"auditSessions": ["3"]}, {"auditSessions": "Giá trị phải theo bước 2."}),
        ({"kickoffTime": ["25:00"]}, {"kickoffTime": "Giờ không hợp lệ."}),
        ({"reviewAt": ["hôm nay"]}, {"reviewAt": "Ngày giờ không hợp lệ."}),
        ({"deadline": ["31/02/2025"]}, {"deadline": "Ngày không hợp lệ."}),
        ({"priority": ["urgent"]}, {"priority": "Lựa chọn không hợp lệ."}),
        ({"standards": ["iso9001", "iso50001"]}, {"standards": "Lựa chọn không hợp lệ."}),
        ({"standards": None}, {"standards": "Trường này là bắt buộc."}),
        ({"decision": None}, {"decision": "Trường này là bắt buộc."}),
        (
            {"plan.objectives[0].indicator.target": ["120"]},
            {"plan.objectives[0].indicator.target": "Giá trị lớn nhất là 100."},
        ),
    ],
)
def test_rules(plan_form: Form, changes: dict[str, list[str] | None], errors: dict[str, str]) -> None:
    assert validate(plan_form, changes).errors == errors


def test_english_limits_use_a_decimal_point() -> None:
    form = load_form_js({"components": [{"type": "number", "key": "ratio", "validate": {"min": 0.5}}]})

    assert form.validate_post({"ratio": ["0,25"]}, {}).errors == {"ratio": "Giá trị nhỏ nhất là 0,5."}
    assert form.validate_post({"ratio": ["0.25"]}, {}, locale="en-GB").errors == {
        "ratio": "The smallest allowed value is 0.5."
    }


def test_passed_dates_are_refused_relative_to_today(plan_form: Form) -> None:
    assert validate(plan_form, {"deadline": ["2025-06-01"]}).errors == {
        "deadline": "Không được chọn ngày trong quá khứ."
    }
    assert validate(plan_form, {"deadline": ["02/06/2025"]}).values["deadline"] == "2025-06-02"


def test_options_from_values_key_come_from_the_data_not_the_post(plan_form: Form) -> None:
    accepted = validate(plan_form, {"department": ["bc"]})
    refused = plan_form.validate_post(
        {**plan_post({"department": ["hacker"]}), "departments": ["hacker"]}, PLAN_DATA, today=TODAY, evaluate=fake_feel
    )

    assert accepted.values["department"] == "bc"
    assert refused.errors == {"department": "Lựa chọn không hợp lệ."}


def test_values_key_keeps_the_type_of_option_values() -> None:
    form = load_form_js({"components": [{"type": "radio", "key": "year", "valuesKey": "years"}]})

    result = form.validate_post({"year": ["2025"]}, {"years": [2024, 2025]})

    assert result.values == {"year": 2025}


def test_conditions_see_option_values_from_data_with_their_type() -> None:
    form = load_form_js(
        {
            "components": [
                {"type": "select", "key": "year", "label": "Năm", "valuesKey": "years"},
                {"type": "textfield", "key": "note", "label": "Ghi chú", "conditional": {"hide": "=year != 2025"}},
            ]
        }
    )

    def feel(expression: str, variables: Any) -> Any:
        return variables.get("year") != 2025

    result = form.validate_post({"year": ["2025"], "note": ["Năm nay"]}, {"years": [2024, 2025]}, evaluate=feel)

    assert result.values == {"year": 2025, "note": "Năm nay"}


def test_options_from_an_expression_are_checked_with_an_evaluator(plan_form: Form) -> None:
    assert validate(plan_form, {"tags": ["cds", "bogus"]}).errors == {"tags": "Lựa chọn không hợp lệ."}
    # Without an evaluator the options are unknown; the values are taken as entered.
    assert validate(plan_form, {"tags": ["cds", "bogus"]}, evaluate=None).values["tags"] == ["cds", "bogus"]


def test_readonly_field_keeps_the_stored_value(plan_form: Form) -> None:
    result = validate(plan_form, {"unitName": ["Đơn vị giả mạo"]})

    assert result.values["unitName"] == "Sở Thông tin và Truyền thông"


def test_readonly_by_expression_and_disabled_fields_ignore_the_post() -> None:
    form = load_form_js(
        {
            "components": [
                {"type": "textfield", "key": "status", "label": "Trạng thái", "disabled": True},
                {"type": "number", "key": "score", "label": "Điểm", "readonly": '=status = "closed"'},
            ]
        }
    )

    def feel(expression: str, variables: Any) -> Any:
        assert expression == 'status = "closed"'
        return variables.get("status") == "closed"

    closed = form.validate_post({"status": ["open"], "score": ["9"]}, {"status": "closed", "score": 5}, evaluate=feel)
    opened = form.validate_post({"score": ["9"]}, {"status": "open", "score": 5}, evaluate=feel)

    assert closed.values == {"status": "closed", "score": 5}
    assert opened.values == {"status": "open", "score": 9}


def test_hidden_group_takes_its_required_children_with_it(display_form: Form) -> None:
    files = {"attachments": [Upload("ke-hoach.pdf")]}
    data = {"dossierCode": "000.00.01.H22-250602-0001"}
    hidden = display_form.validate_post(
        {"title": ["Hồ sơ"], "extras.note": [""]}, data, evaluate=fake_feel, files=files
    )
    shown = display_form.validate_post(
        {"title": ["Hồ sơ"], "wantsExtras": ["true"], "extras.note": [""]}, data, evaluate=fake_feel, files=files
    )

    assert hidden.ok and "extras" not in hidden.values
    assert shown.errors == {"extras.note": "Trường này là bắt buộc."}


def test_expression_fields_are_computed_and_returned(display_form: Form) -> None:
    data = {"dossierCode": "000.00.01.H22-250602-0001"}
    post = {"title": ["Cấp phép"], "exactFee": ["12,3450"]}
    files = {"attachments": [Upload("don.pdf")]}

    result = display_form.validate_post(post, data, evaluate=fake_feel, files=files)
    without = display_form.validate_post(post, data, files=files)

    assert result.values["summary"] == "Cấp phép - 000.00.01.H22-250602-0001"
    assert result.values["exactFee"] == "12.3450"  # serializeToString keeps every digit
    assert without.values["summary"] is None


def test_file_names_are_returned_and_checked_against_accept(display_form: Form) -> None:
    post = {"title": ["Hồ sơ"]}

    def run(**files: list[Upload]) -> Any:
        return display_form.validate_post(post, {}, evaluate=fake_feel, files=files)

    assert run().errors == {"attachments": "Trường này là bắt buộc."}
    assert run(attachments=[Upload("")]).errors == {"attachments": "Trường này là bắt buộc."}
    assert run(attachments=[Upload("bien-ban.xlsx")]).errors == {"attachments": "Chỉ chấp nhận tệp: .pdf, .docx."}
    accepted = run(attachments=[Upload("Don.PDF"), Upload("ho-so.docx")], scan=[Upload("anh.jpg", "image/jpeg")])
    assert accepted.values["attachments"] == ["Don.PDF", "ho-so.docx"]
    assert accepted.values["scan"] == ["anh.jpg"]
    assert run(attachments=[Upload("a.pdf")], scan=[Upload("a.png"), Upload("b.png")]).errors == {
        "scan": "Chỉ được chọn một tệp."
    }
    assert run(attachments=[Upload("a.pdf")], scan=[Upload("bao-cao.pdf")]).errors == {
        "scan": "Chỉ chấp nhận tệp: image/*."
    }


def test_required_file_already_stored_need_not_be_uploaded_again(display_form: Form) -> None:
    result = display_form.validate_post({"title": ["Hồ sơ"]}, {"attachments": ["don.pdf"]}, evaluate=fake_feel)

    assert result.ok
    assert "attachments" not in result.values  # the stored list stays as it is


class TestJson:
    def test_native_values_are_typed_and_checked(self, plan_form: Form) -> None:
        body = {
            "documentCode": "KH-04/2025",
            "title": "Kế hoạch năm 2026",
            "contact": {"email": "iso@stttt.gov.vn"},
            "targetRate": 97,
            "deadline": "2026-01-15",
            "department": "vp",
            "standards": ["iso9001"],
            "decision": "approve",
            "confirmed": True,
            "plan": {"objectives": [{"objective": "Số hóa 100% hồ sơ", "indicator": {"target": 100.0}}]},
        }

        result = plan_form.validate_json(body, PLAN_DATA, evaluate=fake_feel, today=TODAY)

        assert result.ok, result.errors
        assert result.values["targetRate"] == 97
        assert result.values["plan"]["objectives"] == [
            {"objective": "Số hóa 100% hồ sơ", "indicator": {"target": 100}, "actions": []}
        ]
        assert result.values["priority"] == "normal"  # left out: the default applies

    def test_left_out_keys_keep_the_stored_values(self, plan_form: Form) -> None:
        stored = validate(plan_form).values | {"unitName": "Sở Thông tin và Truyền thông"}

        result = plan_form.validate_json({"targetRate": 99.5}, PLAN_DATA | stored, evaluate=fake_feel, today=TODAY)

        assert result.ok, result.errors
        assert result.values["targetRate"] == 99.5
        assert result.values["title"] == stored["title"]

    def test_wrong_types_are_refused_per_field(self, plan_form: Form) -> None:
        body = {"title": ["not", "text"], "targetRate": True, "confirmed": "maybe", "plan": {"objectives": "none"}}

        result = plan_form.validate_json(body, PLAN_DATA, evaluate=fake_feel, today=TODAY, locale="en")

        assert result.errors["title"] == "The value must be text."
        assert result.errors["targetRate"] == "Enter a number."
        assert result.errors["confirmed"] == "The value must be true or false."
        assert result.errors["plan.objectives"] == "The value must be a list."

    def test_rows_must_be_objects(self, plan_form: Form) -> None:
        body = {"plan": {"objectives": ["Số hóa"]}}

        result = plan_form.validate_json(body, PLAN_DATA, evaluate=fake_feel, today=TODAY)

        assert result.errors["plan.objectives[0]"] == "Mỗi dòng phải là một đối tượng."

    def test_files_are_names_or_references(self, display_form: Form) -> None:
        accepted = display_form.validate_json({"title": "A", "attachments": ["doc-1.pdf"]}, {}, evaluate=fake_feel)
        refused = display_form.validate_json({"title": "A", "attachments": [{"id": 1}]}, {}, evaluate=fake_feel)

        assert accepted.values["attachments"] == ["doc-1.pdf"]
        assert refused.errors == {"attachments": "Giá trị phải là một danh sách."}


# --- the exact edges of each rule, on a form made for them -----------------------------------------------------

EDGES = load_form_js({"components": [
    {"type": "textfield", "key": "code", "validate": {"minLength": 3, "maxLength": 5}},
    {"type": "textarea", "key": "note", "validate": {"maxLength": 4}},
    {"type": "number", "key": "rate", "validate": {"min": 1.5, "max": 10}, "decimalDigits": 1},
    {"type": "number", "key": "sessions", "validate": {"min": 1}, "increment": "3", "decimalDigits": 0},
    {"type": "number", "key": "steps", "increment": "0.5"},
    {"type": "number", "key": "dynamic", "validate": {"min": "=lowest", "max": "=highest"}},
    {"type": "textfield", "key": "dynamicCode", "validate": {"minLength": "=shortest", "maxLength": "=longest"}},
    {"type": "number", "key": "dynamicSteps", "validate": {"min": "=lowest"}, "increment": "2"},
    {"type": "textfield", "key": "email", "validate": {"validationType": "email"}},
    {"type": "textfield", "key": "phone", "validate": {"validationType": "phone"}},
    {"type": "textfield", "key": "ref", "validate": {"pattern": "[0-9]{2}/QĐ"}},
    {"type": "datetime", "key": "due", "subtype": "date", "disallowPassedDates": True},
    {"type": "datetime", "key": "at", "subtype": "time", "disallowPassedDates": True},
]})  # fmt: skip


def edge_errors(name: str, value: str, data: dict[str, Any] | None = None) -> dict[str, str]:
    def limits(expression: str, variables: Any) -> Any:
        return variables.get(expression)

    return EDGES.validate_post({name: [value]}, data or {}, today=TODAY, evaluate=limits).errors


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("code", "ab", "Tối thiểu 3 ký tự."),
        ("code", "abc", None),  # exactly the minimum
        ("code", "abcde", None),  # exactly the maximum
        ("code", "abcdef", "Tối đa 5 ký tự."),
        ("note", "abcd", None),
        ("note", "abcde", "Tối đa 4 ký tự."),
        ("rate", "1,4", "Giá trị nhỏ nhất là 1,5."),
        ("rate", "1,5", None),  # exactly the minimum
        ("rate", "10", None),  # exactly the maximum
        ("rate", "10,1", "Giá trị lớn nhất là 10."),
        ("rate", "2,25", "Tối đa 1 chữ số sau dấu thập phân."),
        ("rate", "2,2", None),
        ("sessions", "1", None),  # steps count from the minimum: 1, 4, 7 ...
        ("sessions", "4", None),
        ("sessions", "7", None),
        ("sessions", "3", "Giá trị phải theo bước 3."),
        ("sessions", "6", "Giá trị phải theo bước 3."),
        ("sessions", "0", "Giá trị nhỏ nhất là 1."),
        ("sessions", "4.0", "Vui lòng nhập số nguyên."),
        ("steps", "-1.5", None),  # no minimum: steps count from 0
        ("steps", "2.5", None),
        ("steps", "2.25", "Giá trị phải theo bước 0,5."),
        ("email", "thu.ky@skhcn.daklak.gov.vn", None),
        ("email", "a@b.vn", None),
        ("email", "thuky@skhcn", "Địa chỉ email không hợp lệ."),
        ("email", "thu ky@skhcn.gov.vn", "Địa chỉ email không hợp lệ."),
        ("email", "@skhcn.gov.vn", "Địa chỉ email không hợp lệ."),
        ("email", "thuky@@skhcn.gov.vn", "Địa chỉ email không hợp lệ."),
        ("phone", "0262.3852.123", None),
        ("phone", "(0262) 385-212", None),
        ("phone", "+84 912 345 678", None),
        ("phone", "12345678", None),  # 8 digits: the fewest
        ("phone", "1234567", "Số điện thoại không hợp lệ."),
        ("phone", "123456789012345", None),  # 15 digits: the most
        ("phone", "1234567890123456", "Số điện thoại không hợp lệ."),
        ("phone", "0912 345 67x", "Số điện thoại không hợp lệ."),
        ("phone", "84+912345678", "Số điện thoại không hợp lệ."),
        ("ref", "Số 12/QĐ-UBND", None),  # searched, not anchored
        ("ref", "Số 1/QĐ-UBND", "Giá trị không đúng định dạng yêu cầu."),
        ("due", TODAY.isoformat(), None),  # today is not in the past
        ("due", "2025-06-01", "Không được chọn ngày trong quá khứ."),
        ("at", "06:00", None),  # a time is never "past"
    ],
    ids=lambda value: re.sub(r"\W+", "_", str(value), flags=re.ASCII).strip("_"),
)
def test_each_rule_at_its_edges(name: str, value: str, error: str | None) -> None:
    assert edge_errors(name, value) == ({name: error} if error else {})


def test_limits_from_expressions_apply_and_a_limit_that_is_no_number_is_no_limit() -> None:
    assert edge_errors("dynamic", "5", {"lowest": 6, "highest": 9}) == {"dynamic": "Giá trị nhỏ nhất là 6."}
    assert edge_errors("dynamic", "9", {"lowest": 6, "highest": 9}) == {}
    assert edge_errors("dynamic", "5", {"highest": 9}) == {}  # the minimum gives null: no minimum
    lengths = {"shortest": 3, "longest": 5}
    assert edge_errors("dynamicCode", "ab", lengths) == {"dynamicCode": "Tối thiểu 3 ký tự."}
    assert edge_errors("dynamicCode", "abcdef", lengths) == {"dynamicCode": "Tối đa 5 ký tự."}
    assert edge_errors("dynamicCode", "abcd", lengths) == {}
    assert edge_errors("dynamicSteps", "3", {"lowest": 1}) == {}  # steps of 2 from the minimum 1: 1, 3, 5 ...
    assert edge_errors("dynamicSteps", "4", {"lowest": 1}) == {"dynamicSteps": "Giá trị phải theo bước 2."}
    assert edge_errors("dynamic", "10", {"lowest": 6, "highest": 9}) == {"dynamic": "Giá trị lớn nhất là 9."}
    assert edge_errors("dynamic", "5", {"lowest": "6", "highest": None}) == {"dynamic": "Giá trị nhỏ nhất là 6."}
    assert edge_errors("dynamic", "-5", {"lowest": "không", "highest": [1]}) == {}
    assert edge_errors("dynamic", "500", {}) == {}
