"""Dynamic lists: initial rows, rows from a post, and the add/remove buttons that work without JavaScript."""

from __future__ import annotations

from forms import Form, render_form_html

from .factories import PLAN_DATA, TODAY, fake_feel, parse_html, plan_post


def test_initial_values_show_stored_data_then_defaults(plan_form: Form) -> None:
    fresh = plan_form.initial_values(PLAN_DATA)
    stored = plan_form.initial_values(
        PLAN_DATA | {"priority": "high", "plan": {"objectives": [{"objective": "A"}, {"objective": "B"}]}}
    )

    assert fresh["priority"] == "normal"
    assert fresh["unitName"] == "Sở Thông tin và Truyền thông"
    assert fresh["plan"]["objectives"] == [{"objective": "", "indicator": {"target": None}, "actions": []}]
    assert stored["priority"] == "high"
    assert [row["objective"] for row in stored["plan"]["objectives"]] == ["A", "B"]


def test_default_repetitions_give_rows_to_fill(display_form: Form) -> None:
    assert display_form.initial_values({})["reviewers"] == [
        {"name": "", "agrees": False},
        {"name": "", "agrees": False},
    ]


def test_declared_row_count_keeps_rows_whose_inputs_are_empty(plan_form: Form) -> None:
    post = plan_post({"_rows:plan.objectives": ["3"]})

    result = plan_form.validate_post(post, PLAN_DATA, evaluate=fake_feel, today=TODAY)

    assert len(result.raw["plan"]["objectives"]) == 3
    assert result.errors == {"plan.objectives[2].objective": "Trường này là bắt buộc."}


def test_nested_list_errors_name_the_inner_row(plan_form: Form) -> None:
    post = plan_post({"_rows:plan.objectives[1].actions": ["1"], "plan.objectives[1].actions[0].owner": ["An"]})

    result = plan_form.validate_post(post, PLAN_DATA, evaluate=fake_feel, today=TODAY, locale="en")

    assert result.errors == {"plan.objectives[1].actions[0].action": "This field is required."}
    assert result.raw["plan"]["objectives"][1]["actions"] == [{"owner": "An"}]


def test_an_ordinary_submit_is_not_a_row_action(plan_form: Form) -> None:
    assert plan_form.apply_action(plan_post(), PLAN_DATA) is None
    assert plan_form.apply_action(plan_post({"_form_action": None}), PLAN_DATA) is None


def test_add_row_returns_the_input_with_a_fresh_row(plan_form: Form) -> None:
    post = plan_post({"_form_action": ["add:plan.objectives"], "title": ["Đang soạn"]})

    raw = plan_form.apply_action(post, PLAN_DATA)

    assert raw is not None
    assert raw["title"] == "Đang soạn"
    objectives = raw["plan"]["objectives"]
    assert len(objectives) == 3
    assert objectives[2] == {"objective": "", "indicator": {"target": None}, "actions": []}


def test_remove_row_drops_exactly_that_row(plan_form: Form) -> None:
    raw = plan_form.apply_action(plan_post({"_form_action": ["remove:plan.objectives[0]"]}), PLAN_DATA)

    assert raw is not None
    assert [row["objective"] for row in raw["plan"]["objectives"]] == ["Mức hài lòng của người dân trên 90%"]


def test_rows_of_nested_lists_are_added_and_removed_in_their_own_row(plan_form: Form) -> None:
    added = plan_form.apply_action(plan_post({"_form_action": ["add:plan.objectives[1].actions"]}), PLAN_DATA)
    removed = plan_form.apply_action(plan_post({"_form_action": ["remove:plan.objectives[0].actions[0]"]}), PLAN_DATA)

    assert added is not None and removed is not None
    assert added["plan"]["objectives"][1]["actions"] == [{"action": "", "owner": ""}]
    assert len(added["plan"]["objectives"][0]["actions"]) == 1
    assert removed["plan"]["objectives"][0]["actions"] == []


def test_lists_without_add_remove_ignore_row_actions(display_form: Form) -> None:
    post = {"_rows:reviewers": ["2"], "reviewers[0].name": ["An"], "_form_action": ["add:reviewers"]}

    raw = display_form.apply_action(post, {})

    assert raw is not None
    assert [row.get("name") for row in raw["reviewers"]] == ["An", None]


def test_unknown_or_malformed_actions_change_nothing(plan_form: Form) -> None:
    for action in ("add:nothing", "remove:plan.objectives[9]", "remove:plan.objectives", "add:"):
        raw = plan_form.apply_action(plan_post({"_form_action": [action]}), PLAN_DATA)
        assert raw is None or len(raw["plan"]["objectives"]) == 2, action


def test_row_buttons_round_trip_through_the_rendered_form(plan_form: Form) -> None:
    raw = plan_form.apply_action(plan_post({"_form_action": ["add:plan.objectives"]}), PLAN_DATA)
    assert raw is not None

    page = parse_html(render_form_html(plan_form, raw, {}, data=PLAN_DATA, evaluate=fake_feel))

    assert page.xpath("//input[@name='_rows:plan.objectives']/@value") == ["3"]
    assert page.xpath("//input[@name='plan.objectives[2].objective']/@id") == ["f-plan-objectives--2-objective"]
    removes = page.xpath("//button[@name='_form_action'][starts-with(@value, 'remove:plan.objectives[')]/@value")
    assert "remove:plan.objectives[2]" in removes
    adds = page.xpath("//button[@class='row-add']/@value")
    assert adds == [
        "add:plan.objectives[0].actions",
        "add:plan.objectives[1].actions",
        "add:plan.objectives[2].actions",
        "add:plan.objectives",
    ]
    buttons = page.xpath("//button[@name='_form_action']")
    assert buttons[0].get("value") == "submit" and buttons[0].get("hidden") is not None
    assert all(button.get("formnovalidate") is not None for button in buttons if button.get("value") != "submit")


def test_remove_buttons_say_which_row(plan_form: Form) -> None:
    page = parse_html(render_form_html(plan_form, plan_form.initial_values(PLAN_DATA), {}))

    button = page.xpath("//button[@value='remove:plan.objectives[0]']")[0]

    assert button.text == "Xóa"
    assert button.get("aria-label") == "Xóa dòng 1"
    assert page.xpath("//button[@value='add:plan.objectives']")[0].text == "Thêm dòng"


def test_fixed_lists_have_no_row_buttons(display_form: Form) -> None:
    page = parse_html(render_form_html(display_form, display_form.initial_values({}), {}, evaluate=fake_feel))

    assert page.xpath("//input[@name='reviewers[1].name']")
    assert not page.xpath("//button[contains(@value, 'reviewers')]")
    assert not page.xpath("//button[@class='form-default-action']")
