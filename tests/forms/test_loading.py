from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from forms import Form, FormSchemaError, load_form_js, load_generated_form

from .factories import CORPUS, load


def form_with(*components: dict[str, Any]) -> Form:
    return load_form_js({"type": "default", "components": list(components)})


def test_camunda_examples_load_with_their_keys() -> None:
    start = load(CORPUS / "start-form.form")
    task = load(CORPUS / "task-form.form")

    assert start.input_keys() == {"creditor", "amount", "invoiceNumber"}
    assert task.input_keys() == {"creditor", "amount", "invoiceNumber", "approved", "approvedBy"}
    assert [field.label for field in task.fields][:2] == ["Creditor", "Amount"]
    assert start.id is None


def test_fixture_exposes_top_level_keys_of_groups_lists_and_dot_paths(plan_form: Form) -> None:
    assert plan_form.id == "objectives-plan"
    assert {"contact", "budget", "plan", "targetRate", "unitName"} <= plan_form.input_keys()
    assert "email" not in plan_form.input_keys()  # lives under the group path "contact"


def test_datetime_is_labelled_by_its_date_or_time_label(plan_form: Form) -> None:
    labels = {field.key: field.label for field in plan_form.walk() if field.type == "datetime"}

    assert labels == {"deadline": "Hạn hoàn thành", "kickoffTime": "Giờ họp khởi động", "reviewAt": "Thời điểm xem xét"}


def test_unknown_component_type_names_type_and_component() -> None:
    with pytest.raises(FormSchemaError) as raised:
        form_with({"type": "signature", "id": "Field_sign", "key": "sign"})

    assert "'signature'" in str(raised.value)
    assert "Field_sign" in str(raised.value)


def test_nested_unknown_type_is_found_inside_groups() -> None:
    with pytest.raises(FormSchemaError, match="Field_deep.*'map'"):
        form_with({"type": "group", "id": "G", "components": [{"type": "map", "id": "Field_deep"}]})


@pytest.mark.parametrize(
    ("component", "expected"),
    [
        ({"type": "textfield", "id": "F1"}, "needs a 'key'"),
        ({"type": "textfield", "id": "F1", "key": "bad key"}, "needs a 'key'"),
        ({"type": "textfield", "id": "F1", "key": "a", "validate": {"pattern": "(unclosed"}}, "not a valid regular"),
        ({"type": "textfield", "id": "F1", "key": "a", "validate": {"validationType": "iban"}}, "validationType"),
        ({"type": "number", "id": "F1", "key": "a", "validate": {"min": "lots"}}, "'min' must be a number"),
        ({"type": "number", "id": "F1", "key": "a", "increment": 0}, "'increment' must be a number above 0"),
        ({"type": "select", "id": "F1", "key": "a"}, "has no options"),
        ({"type": "datetime", "id": "F1", "key": "a", "subtype": "week"}, "subtype 'week'"),
        ({"type": "dynamiclist", "id": "L1", "isRepeating": True, "components": []}, "needs a 'path'"),
        ({"type": "expression", "id": "E1", "key": "a"}, "needs an 'expression'"),
    ],
)
def test_schema_errors_name_the_component_and_the_problem(component: dict[str, Any], expected: str) -> None:
    with pytest.raises(FormSchemaError) as raised:
        form_with(component)

    assert expected in str(raised.value)
    assert str(raised.value).startswith(f"Component '{component['id']}'")


def test_a_key_bound_twice_is_refused() -> None:
    with pytest.raises(FormSchemaError, match="'Second'.*'address.city'.*'First'"):
        form_with(
            {"type": "textfield", "id": "First", "key": "address.city"},
            {
                "type": "group",
                "id": "G",
                "path": "address",
                "components": [{"type": "textfield", "id": "Second", "key": "city"}],
            },
        )


def test_same_key_in_different_list_rows_and_top_level_is_fine() -> None:
    form = form_with(
        {"type": "textfield", "id": "Top", "key": "name"},
        {
            "type": "dynamiclist",
            "id": "L",
            "path": "people",
            "isRepeating": True,
            "components": [
                {"type": "textfield", "id": "Row", "key": "name"},
            ],
        },
    )
    assert form.input_keys() == {"name", "people"}


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ([], "JSON object"),
        ({"type": "default"}, "no 'components' list"),
        ({"type": "default", "schemaVersion": "16", "components": []}, "schemaVersion"),
        ({"type": "wizard", "components": []}, "'wizard'"),
    ],
)
def test_form_level_problems(schema: Any, expected: str) -> None:
    with pytest.raises(FormSchemaError, match=expected):
        load_form_js(schema)


def test_javascript_named_groups_in_patterns_work() -> None:
    form = form_with({"type": "textfield", "id": "F", "key": "code", "validate": {"pattern": "^(?<unit>[A-Z]+)-\\d+$"}})
    assert form.validate_post({"code": ["AB-12"]}, {}).ok
    assert not form.validate_post({"code": ["AB-CD"]}, {}).ok


@pytest.mark.parametrize(
    ("pattern", "named"),
    [
        ("^(?<unit>[A-Z]+)-\\k<unit>$", "back-reference"),
        ("^(a)\\1$", "back-reference"),
        ("^(?=.*\\d).{8,}$", "look-around"),
        ("^(?!x)", "look-around"),
        ("(?<=a)b", "look-around"),
        ("(?<!a)b", "look-around"),
        ("[", "not a valid regular expression"),
    ],
)
def test_patterns_only_a_backtracking_engine_runs_are_refused_when_the_form_loads(pattern: str, named: str) -> None:
    with pytest.raises(FormSchemaError, match=named) as refused:
        form_with({"type": "textfield", "id": "F", "key": "code", "validate": {"pattern": pattern}})
    assert "Component 'F'" in str(refused.value)


def test_look_alike_characters_inside_a_class_are_not_look_around() -> None:
    form = form_with({"type": "textfield", "id": "F", "key": "code", "validate": {"pattern": "^[(?=!]+$"}})
    assert form.validate_post({"code": ["(?=!"]}, {}).ok


def test_a_pathological_pattern_answers_at_once() -> None:
    """``^(a+)+$`` on 34 characters froze the server on a backtracking engine; RE2 answers in linear time."""
    import time

    form = form_with({"type": "textfield", "id": "F", "key": "code", "validate": {"pattern": "^(a+)+$"}})
    started = time.process_time()  # own CPU: a busy machine does not make it fail
    result = form.validate_post({"code": ["a" * 34 + "!"]}, {})
    long_result = form.validate_post({"code": ["a" * 200_000 + "!"]}, {})
    assert time.process_time() - started < 1.0
    assert not result.ok and not long_result.ok
    assert form.validate_post({"code": ["a" * 34]}, {}).ok


def test_generated_camunda7_form_maps_types_constraints_and_defaults() -> None:
    form = load_generated_form(
        [
            {
                "id": "amount",
                "label": "Số tiền",
                "type": "long",
                "default_value": "1000",
                "validation": [{"name": "required"}, {"name": "min", "config": "0"}, {"name": "max", "config": "5000"}],
            },
            {"id": "urgent", "label": "Khẩn", "type": "boolean", "default_value": "true"},
            {"id": "received", "label": "Ngày nhận", "type": "date", "default_value": "15/05/2025"},
            {
                "id": "channel",
                "label": "Kênh",
                "type": "enum",
                "default_value": "online",
                "options": [{"id": "online", "name": "Trực tuyến"}, {"id": "counter", "name": "Tại quầy"}],
            },
            {
                "id": "note",
                "label": "Ghi chú",
                "type": "string",
                "default_value": "${defaultNote}",
                "validation": [{"name": "maxlength", "config": "10"}],
            },
            {"id": "clerk", "label": "Cán bộ", "type": "string", "validation": [{"name": "readonly"}]},
        ]
    )

    types = [(field.key, field.type) for field in form.fields]
    assert types == [
        ("amount", "number"),
        ("urgent", "checkbox"),
        ("received", "datetime"),
        ("channel", "select"),
        ("note", "textfield"),
        ("clerk", "textfield"),
    ]
    assert form.initial_values({}) == {
        "amount": 1000,
        "urgent": True,
        "received": "2025-05-15",
        "channel": "online",
        "note": "",  # the ${...} default is not evaluated
        "clerk": "",
    }
    amount = form.fields[0]
    assert amount.rules.required and amount.rules.max == Decimal(5000) and amount.decimal_digits == 0
    assert form.fields[5].readonly is True


def test_generated_form_validates_whole_numbers_and_enum_values() -> None:
    form = load_generated_form(
        [
            {"id": "amount", "label": "Số tiền", "type": "long", "validation": [{"name": "max", "config": "5000"}]},
            {"id": "channel", "type": "enum", "options": [{"id": "online", "name": "Trực tuyến"}]},
        ]
    )

    result = form.validate_post({"amount": ["12.5"], "channel": ["fax"]}, {})

    assert result.errors == {"amount": "Vui lòng nhập số nguyên.", "channel": "Lựa chọn không hợp lệ."}
    assert form.validate_post({"amount": ["4000"], "channel": ["online"]}, {}).values == {
        "amount": 4000,
        "channel": "online",
    }


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ({"id": "x", "type": "bytes"}, "type 'bytes'"),
        (
            {"id": "x", "type": "string", "validation": [{"name": "validator", "config": "com.acme.Check"}]},
            "'validator'",
        ),
        ({"id": "x", "type": "long", "validation": [{"name": "min", "config": "abc"}]}, "needs a number"),
        ({"id": "x-y", "type": "string"}, "not a valid variable name"),
        ({"id": "x", "type": "long", "default_value": "many"}, "default value"),
    ],
)
def test_generated_form_refuses_what_needs_java(field: dict[str, Any], expected: str) -> None:
    with pytest.raises(FormSchemaError, match=expected):
        load_generated_form([field])
