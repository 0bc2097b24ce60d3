"""Phrases: what the engine says, kept translatable until a reader's language is known (docs/i18n.md)."""

from __future__ import annotations

import json

import pytest

import forms
from engine import Count, EngineError, NotFound, Phrase, Problem

VI = {
    "The timer cannot be used: %(reason)s": "Không dùng được bộ hẹn giờ: %(reason)s",
    "'%(text)s' is not a duration": "'%(text)s' không phải khoảng thời gian",
    "A %(kind)s event cannot be used here": "Không dùng được sự kiện %(kind)s ở đây",
    "timer": "hẹn giờ",
    "signal": "tín hiệu",
    "%(count)s items": "%(count)s mục",
    "Task %(id)s does not exist.": "Lỗi %(missing)s",  # a translation that lost its placeholder
}


def vietnamese(template: str) -> str:
    return VI.get(template, template)


def test_a_phrase_inside_a_phrase_is_translated_too() -> None:
    inner = Phrase("'%(text)s' is not a duration", text="P3X")
    outer = Phrase("The timer cannot be used: %(reason)s", reason=inner)
    assert outer.render(vietnamese) == "Không dùng được bộ hẹn giờ: 'P3X' không phải khoảng thời gian"
    assert str(outer) == "The timer cannot be used: 'P3X' is not a duration"


def test_a_list_of_phrases_is_joined_and_each_translated() -> None:
    phrase = Phrase("A %(kind)s event cannot be used here", kind=[Phrase("timer"), Phrase("signal")])
    assert phrase.render(vietnamese) == "Không dùng được sự kiện hẹn giờ, tín hiệu ở đây"


def test_counts_are_written_as_the_reader_writes_numbers_ids_as_they_are() -> None:
    phrase = Phrase("%(count)s items", count=Count(20000))
    assert str(phrase) == "20,000 items"
    assert phrase.render(vietnamese, lambda v: f"{v:,}".replace(",", ".")) == "20.000 mục"
    assert str(Phrase("Task %(id)s does not exist.", id=12345)) == "Task 12345 does not exist."


def test_a_stored_phrase_comes_back_the_same() -> None:
    phrase = Phrase("The timer cannot be used: %(reason)s", reason=Phrase("%(count)s items", count=Count(3)))
    back = Phrase.from_dict(json.loads(json.dumps(phrase.as_dict())))
    assert back == phrase and isinstance(back.params["reason"].params["count"], Count)
    assert back.render(vietnamese) == "Không dùng được bộ hẹn giờ: 3 mục"


def test_words_from_outside_are_kept_as_they_are_in_every_language() -> None:
    outside = Phrase.of("Opening and ending tag mismatch: x line 1 and y")
    assert outside.render(lambda t: "DỊCH " + t if t != "%(text)s" else t) == str(outside)


def test_errors_and_the_forms_packages_words_are_read_as_phrases() -> None:
    with pytest.raises(forms.FormSchemaError) as refused:
        forms.load_form_js({"components": [{"type": "slider", "id": "a"}]})
    phrase = Phrase.of(refused.value)
    assert phrase.template == "Component %(component)s: %(problem)s"
    assert isinstance(phrase.params["problem"], Phrase) and str(phrase) == str(refused.value)
    error = EngineError(Phrase("'%(text)s' is not a duration", text="P3X"))
    assert (error.template, error.params, error.message) == ("'%(text)s' is not a duration", {"text": "P3X"},
                                                             "'P3X' is not a duration")  # fmt: skip
    assert error.phrase == Phrase("'%(text)s' is not a duration", text="P3X")
    problem = Problem("a.bpmn", "The file is empty; save it again in Camunda Modeler and upload the saved file.")
    assert problem.text == Phrase(problem.message) and problem.as_dict()["text"]["template"] == problem.message


def test_a_translation_that_lost_a_placeholder_falls_back_to_english_rather_than_failing() -> None:
    assert NotFound("Task %(id)s does not exist.", id=7).phrase.render(vietnamese) == "Task 7 does not exist."
