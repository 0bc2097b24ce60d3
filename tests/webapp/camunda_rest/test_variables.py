"""Camunda 7 typed variables become process data and come back in Camunda's types."""

from __future__ import annotations

import pytest

from webapp.camunda_rest.variables import VariableInvalid, from_camunda, to_camunda


def test_each_supported_type_becomes_the_json_value_it_stands_for() -> None:
    assert from_camunda({
        "name": {"value": "Lê Thị Mai Anh", "type": "String"}, "days": {"value": 3, "type": "Integer"},
        "count": {"value": "12", "type": "Short"}, "budget": {"value": 2**40, "type": "Long"},
        "rate": {"value": 1, "type": "Double"}, "urgent": {"value": "true", "type": "Boolean"},
        "items": {"value": '{"a": [1, 2]}', "type": "Json"}, "raw": {"value": [1], "type": "Json"},
        "due": {"value": "2026-11-23T08:30:00.000+0700", "type": "Date"}, "none": {"value": None, "type": "Null"},
        "pojo": {"value": '{"x": 1}', "type": "Object",
                 "valueInfo": {"serializationDataFormat": "application/json", "objectTypeName": "x.Y"}},
        "untyped": {"value": 7}, "whole": {"value": 4.0, "type": "Integer"},
    }) == {
        "name": "Lê Thị Mai Anh", "days": 3, "count": 12, "budget": 2**40, "rate": 1.0, "urgent": True,
        "items": {"a": [1, 2]}, "raw": [1], "due": "2026-11-23T08:30:00+07:00", "none": None, "pojo": {"x": 1},
        "untyped": 7, "whole": 4,
    }  # fmt: skip
    assert from_camunda(None) == {}


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ({"value": "AAEC", "type": "Bytes"}, "type 'Bytes' is not supported"),
        ({"value": None, "type": "File"}, "type 'File' is not supported"),
        ({"value": "<a/>", "type": "Object", "valueInfo": {"serializationDataFormat": "application/xml"}},
         "application/json"),
        ({"value": 2**31, "type": "Integer"}, "out of the range of Integer"),
        ({"value": True, "type": "Integer"}, "whole number"),
        ({"value": "many", "type": "Long"}, "not a whole number"),
        ({"value": "yes", "type": "Boolean"}, "true or false"),
        ({"value": 5, "type": "String"}, "must be text"),
        ({"value": "{", "type": "Json"}, "not JSON"),
        ({"value": "23/11/2026", "type": "Date"}, "not a date"),
        ({"value": float("nan"), "type": "Double"}, "finite"),
        (3, "give it as"),
    ],
)
def test_a_value_that_does_not_fit_its_type_is_refused_with_the_variables_name(typed: object, reason: str) -> None:
    with pytest.raises(VariableInvalid) as refused:
        from_camunda({"amount": typed})
    assert refused.value.name == "amount"
    assert "'amount'" in str(refused.value) and reason in str(refused.value)


def test_process_data_goes_out_in_camundas_types() -> None:
    data = {"n": None, "ok": False, "small": 5, "big": 2**40, "rate": 0.5, "text": "x", "list": ["a", "ế"],
            "hidden": 1}  # fmt: skip
    assert to_camunda(data, ["n", "ok", "small", "big", "rate", "text", "list", "missing"]) == {
        "n": {"type": "Null", "value": None, "valueInfo": {}},
        "ok": {"type": "Boolean", "value": False, "valueInfo": {}},
        "small": {"type": "Integer", "value": 5, "valueInfo": {}},
        "big": {"type": "Long", "value": 2**40, "valueInfo": {}},
        "rate": {"type": "Double", "value": 0.5, "valueInfo": {}},
        "text": {"type": "String", "value": "x", "valueInfo": {}},
        "list": {"type": "Json", "value": '["a", "ế"]', "valueInfo": {}},
    }
    assert list(to_camunda(data)) == list(data)
