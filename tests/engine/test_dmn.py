"""DMN decisions: the Camunda 7 example, one fixture per hit policy, a decision graph, the risk matrix
of the ISO risk process, literal expressions, and the files we refuse (with where the problem is)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

import engine.expressions.dmn
from engine.expressions.dmn import DecisionError, DecisionResult, DmnInvalid, DmnModel, load_dmn
from tests.conftest import CORPUS, FIXTURES

DMN_FIXTURES = FIXTURES / "dmn"
DMN_13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"


def load(name: str) -> DmnModel:
    return load_dmn((DMN_FIXTURES / name).read_bytes(), name)


def refusal(content: bytes | str, filename: str = "refused.dmn") -> DmnInvalid:
    data = content.encode() if isinstance(content, str) else content
    with pytest.raises(DmnInvalid) as caught:
        load_dmn(data, filename)
    return caught.value


def line_of(path: Path, needle: str) -> int:
    """1-based number of the first line of a fixture containing ``needle``."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path.name}")


def minimal(body: str, namespace: str = DMN_13, extra: str = "") -> str:
    """A DMN file around some decisions."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns="{namespace}" {extra} id="defs" name="Test" '
        f'namespace="http://camunda.org/schema/1.0/dmn">\n{body}\n</definitions>\n'
    )


def table(body: str, hit_policy: str = "UNIQUE", aggregation: str = "") -> str:
    """A one-decision file whose table has one input ``x`` and the given outputs and rules."""
    agg = f' aggregation="{aggregation}"' if aggregation else ""
    return minimal(
        f'<decision id="d" name="D"><decisionTable id="t" hitPolicy="{hit_policy}"{agg}>'
        '<input id="in" label="X"><inputExpression id="ie"><text>x</text></inputExpression></input>'
        f"{body}</decisionTable></decision>"
    )


# --------------------------------------------------------------------------------------------
# The Camunda 7 example from the corpus (DMN 1.1, COLLECT table requiring a UNIQUE table)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dinner() -> DmnModel:
    path = CORPUS / "camunda7-examples" / "dinnerDecisions.dmn"
    return load_dmn(path.read_bytes(), path.name)


def test_dinner_loads_both_decisions(dinner: DmnModel) -> None:
    assert dinner.decision_ids() == ["beverages", "dish"]
    assert dinner.version == "1.1"
    assert dinner.decisions["beverages"].required == ("dish",)  # listed twice in the file


@pytest.mark.parametrize(
    ("season", "guests", "dish"),
    [
        ("Fall", 8, "Spareribs"),
        ("Fall", 9, "Stew"),
        ("Winter", 4, "Roastbeef"),
        ("Winter", 12, "Stew"),
        ("Spring", 4, "Dry Aged Gourmet Steak"),
        ("Spring", 5, "Steak"),
        ("Spring", 8, "Steak"),
        ("Spring", 9, "Stew"),
        ("Summer", 30, "Light Salad and a nice Steak"),
        ("Monsoon", 3, None),
    ],
)
def test_dinner_dish(dinner: DmnModel, season: str, guests: int, dish: str | None) -> None:
    result = dinner.evaluate("dish", {"season": season, "guestCount": guests})
    assert result.value() == dish
    assert result.single_entry() == dish
    assert result.single_result() == (None if dish is None else {"desiredDish": dish})


@pytest.mark.parametrize(
    ("season", "guests", "children", "beverages"),
    [
        ("Fall", 6, False, ["Aecht Schlenkerla Rauchbier", "Water"]),
        ("Winter", 4, True, ["Bordeaux", "Apple Juice", "Water"]),
        ("Winter", 10, False, ["Guiness", "Water"]),
        ("Spring", 3, False, ["Pinot Noir", "Water"]),
        ("Summer", 2, True, ["Pinot Noir", "Apple Juice", "Water"]),
        ("Monsoon", 2, True, ["Apple Juice", "Water"]),
    ],
)
def test_dinner_beverages_use_the_required_dish(
    dinner: DmnModel, season: str, guests: int, children: bool, beverages: list[str]
) -> None:
    result = dinner.evaluate("beverages", {"season": season, "guestCount": guests, "guestsWithChildren": children})
    assert result.value() == beverages
    assert result.collect_entries() == beverages
    assert result.collect_entries("beverages") == beverages
    assert result.result_list() == [{"beverages": b} for b in beverages]
    assert len(result.matched_rule_ids) == len(beverages)


def test_dinner_caller_cannot_hide_the_required_decision(dinner: DmnModel) -> None:
    context = {"season": "Fall", "guestCount": 4, "guestsWithChildren": False, "desiredDish": "Stew"}
    assert dinner.evaluate("beverages", context).value() == ["Aecht Schlenkerla Rauchbier", "Water"]


def test_missing_boolean_input_does_not_match_true(dinner: DmnModel) -> None:
    result = dinner.evaluate("beverages", {"season": "Winter", "guestCount": 4})  # guestsWithChildren unknown
    assert result.value() == ["Bordeaux", "Water"]


# --------------------------------------------------------------------------------------------
# Hit policies
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document_type", "pages", "approver"),
    [
        ("procedure", 5, "unit head"),
        ("work instruction", 20, "unit head"),
        ("procedure", 21, "quality manager"),
        ("quality manual", None, "director"),
        ("form", 3, "document controller"),
        ("form", 5, None),
        ("form", None, None),  # ``? >= 1 and ? < 5`` is null for a null input: no match
        ("record", 200, "director"),
        ("record", 50, None),
    ],
)
def test_unique(document_type: str, pages: int | None, approver: str | None) -> None:
    result = load("unique.dmn").evaluate("documentApprover", {"documentType": document_type, "pages": pages})
    assert result.value() == approver
    assert result.hit_policy == "UNIQUE"


def test_unique_with_two_matching_rules_fails_naming_them() -> None:
    with pytest.raises(DecisionError) as caught:
        load("unique.dmn").evaluate("documentApprover", {"documentType": "procedure", "pages": 150})
    assert "DecisionRule_procedure_long" in caught.value.message
    assert "DecisionRule_other" in caught.value.message
    assert caught.value.decision_id == "documentApprover"


@pytest.mark.parametrize(
    ("days", "expected", "rule"),
    [
        (40, {"escalateTo": "director", "level": 3}, "DecisionRule_director"),
        (10, {"escalateTo": "unit head", "level": 2}, "DecisionRule_head"),  # "2" coerced by typeRef integer
        (1, {"escalateTo": "task owner", "level": 1}, "DecisionRule_owner"),
        (0, {"escalateTo": None, "level": 0}, "DecisionRule_none"),  # empty output entry is null
        (None, {"escalateTo": None, "level": 0}, "DecisionRule_none"),
    ],
)
def test_first(days: int | None, expected: dict[str, object], rule: str) -> None:
    result = load("first.dmn").evaluate("escalation", {"daysOverdue": days})
    assert result.value() == expected
    assert result.single_result() == expected
    assert result.matched_rule_ids == [rule]  # later matching rules are not even looked at
    assert load("first.dmn").version == "1.2"


@pytest.mark.parametrize(
    ("channel", "days", "priority", "reason"),
    [
        ("web", 1, "low", "default"),
        ("hotline", 2, "medium", "hotline"),
        ("press", 7, "high", "public attention"),
        ("hotline", 12, "critical", "close to the legal deadline"),
        ("web", 20, "critical", "legal deadline passed"),  # two critical rules: the first one wins
    ],
)
def test_priority_follows_the_output_values(channel: str, days: int, priority: str, reason: str) -> None:
    model = load("priority.dmn")
    assert model.version == "1.5"
    result = model.evaluate("complaintPriority", {"channel": channel, "daysOpen": days})
    assert result.value() == {"priority": priority, "reason": reason}
    assert len(result.rules) == 1


def test_any_returns_the_agreed_output_and_refuses_conflicts() -> None:
    model = load("any.dmn")
    assert model.version == "1.4"
    assert model.evaluate("auditRequired", {"openFindings": 5, "monthsSinceAudit": 20}).value() is True
    assert model.evaluate("auditRequired", {"openFindings": 0, "monthsSinceAudit": 2}).value() is False
    with pytest.raises(DecisionError, match="Rule_findings.*Rule_contradiction"):
        model.evaluate("auditRequired", {"openFindings": 11, "monthsSinceAudit": 0})


BUSY = {"recordsMissing": True, "overdueActions": 7, "complaints": 12}
QUIET = {"recordsMissing": False, "overdueActions": 0, "complaints": 0}
UNSCORED = {"recordsMissing": False, "overdueActions": 0, "complaints": 10}  # one rule has no points (null)


@pytest.mark.parametrize(
    ("decision", "context", "expected"),
    [
        ("findingReasons", BUSY, ["records missing", "actions overdue", "many actions overdue",
                                  "customer complaints", "complaints need a review"]),
        ("findingReasons", QUIET, []),
        ("pointsSum", BUSY, 14),
        ("pointsSum", UNSCORED, 2),
        ("pointsSum", QUIET, None),
        ("pointsMin", BUSY, 2),
        ("pointsMin", QUIET, None),
        ("pointsMax", BUSY, 5),
        ("pointsMax", UNSCORED, 2),
        ("pointsCount", BUSY, 5),
        ("pointsCount", UNSCORED, 2),
        ("pointsCount", QUIET, 0),
    ],
)  # fmt: skip
def test_collect_and_its_aggregators(decision: str, context: dict[str, object], expected: object) -> None:
    result = load("collect.dmn").evaluate(decision, context)
    assert result.value() == expected


def test_collect_aggregation_gives_one_dict() -> None:
    result = load("collect.dmn").evaluate("pointsSum", BUSY)
    assert result.rules == [{"points": 14}]
    assert result.aggregation == "SUM"
    assert result.single_entry() == 14
    assert len(result.matched_rule_ids) == 5


def test_rule_order_with_camunda_7_input_variables() -> None:
    model = load("rule_order.dmn")
    assert model.version == "1.1"
    urgent_hr = model.evaluate("notifyOnChange", {"urgent": True, "category": "HR-2"})
    assert urgent_hr.value() == [
        {"recipient": "quality manager", "channel": "inbox"},
        {"recipient": "director", "channel": "sms"},  # cellInput = true
        {"recipient": "head of personnel", "channel": "email"},  # starts with(cat, "HR")
    ]
    routine = model.evaluate("notifyOnChange", {"urgent": False, "category": "QA"})
    assert routine.collect_entries("recipient") == ["quality manager", "document controller"]  # cellInput = false
    unknown = model.evaluate("notifyOnChange", {})
    assert unknown.value() == [{"recipient": "quality manager", "channel": "inbox"}]
    with pytest.raises(DecisionError, match="single result"):
        routine.single_result()
    with pytest.raises(DecisionError, match="name the one"):
        routine.collect_entries()


def test_output_order_sorts_by_the_first_output_with_values() -> None:
    model = load("output_order.dmn")
    result = model.evaluate("correctiveActions", {"nonconformity": "product", "repeated": True})
    assert [r["action"] for r in result.value()] == [
        "record the nonconformity",  # immediately (rule 1)
        "stop delivery",  # immediately (rule 4)
        "analyse the root cause",  # this week
        "review at the management meeting",  # this month
    ]
    process = model.evaluate("correctiveActions", {"nonconformity": "process", "repeated": True})
    assert [r["urgency"] for r in process.value()] == ["immediately", "this week", "this week", "this month"]


# --------------------------------------------------------------------------------------------
# Decision requirement graph, risk matrix, literal expressions
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sections", "document_type", "reviewer", "days"),
    [
        (7, "procedure", "quality council", 10),
        (5, "form", "unit head", 5),
        (1, "quality manual", "document controller", 3),
        (0, "form", "document controller", 2),
    ],
)
def test_two_level_decision_graph(sections: int, document_type: str, reviewer: str, days: int) -> None:
    model = load("drg.dmn")
    context = {"changedSections": sections, "documentType": document_type, "approver": "director"}
    plan = model.evaluate("reviewPlan", context)  # requires changeSize (by id) and controlled (by name)
    assert plan.value() == {"reviewer": reviewer, "days": days}
    result = model.evaluate("approvalRoute", context)  # requires reviewPlan, reads reviewPlan.reviewer
    route = f"{reviewer} within {days} days, then director"
    assert result.value() == route
    assert result.rules == [{"approvalRoute": route}]


def test_required_decision_missing_at_evaluation() -> None:
    model = load("drg.dmn")
    broken = DmnModel("drg.dmn", {"reviewPlan": replace(model.decisions["reviewPlan"], required=("ghost",))})
    with pytest.raises(DecisionError, match="ghost"):
        broken.evaluate("reviewPlan", {})
    with pytest.raises(DecisionError, match="No decision 'nope'"):
        model.evaluate("nope", {})


def expected_risk(severity: int, likelihood: int) -> str:
    score = severity * likelihood
    return "low" if score <= 4 else "medium" if score <= 9 else "high" if score <= 16 else "critical"


@pytest.mark.parametrize("severity", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("likelihood", [1, 2, 3, 4, 5])
def test_risk_matrix(severity: int, likelihood: int) -> None:
    result = load("risk_scoring.dmn").evaluate("riskLevel", {"severity": severity, "likelihood": likelihood})
    level = expected_risk(severity, likelihood)
    value = result.value()
    assert value["level"] == level
    assert value["treatmentRequired"] is (level in ("high", "critical"))
    assert value["reviewMonths"] == {"low": 12, "medium": 6, "high": 3, "critical": 1}[level]


@pytest.mark.parametrize(("severity", "likelihood"), [(0, 3), (6, 1), (3, None), (None, None), ("high", 2)])
def test_risk_matrix_outside_the_scale_matches_nothing(severity: object, likelihood: object) -> None:
    result = load("risk_scoring.dmn").evaluate("riskLevel", {"severity": severity, "likelihood": likelihood})
    assert result.value() is None
    assert result.rules == []


def test_literal_expressions() -> None:
    model = load("literal.dmn")
    deadline = model.evaluate("reviewDeadline", {"submittedOn": "2026-01-30", "reviewDays": 5})
    assert deadline.value() == "2026-02-04"
    assert deadline.single_entry() == "2026-02-04"
    assert deadline.rules == [{"deadline": "2026-02-04"}]
    evening = datetime(2026, 1, 1, 18, 0, tzinfo=UTC)  # already 2 January in Hà Nội
    assert model.evaluate("overdue", {"dueOn": "2026-01-01"}, now=evening).value() is True
    assert model.evaluate("overdue", {"dueOn": "2026-01-02"}, now=evening).value() is False
    assert model.evaluate("pagesLabel", {"pages": 12}).value() == "12"  # typeRef string


def test_result_helpers_for_several_outputs() -> None:
    result = DecisionResult([{"a": 1, "b": 2}], "d", ["a", "b"], "FIRST")
    assert result.value() == {"a": 1, "b": 2}
    with pytest.raises(DecisionError, match="single entry"):
        result.single_entry()
    assert DecisionResult([], "d", ["a"], "RULE ORDER").value() == []
    assert DecisionResult([], "d", ["a"], "UNIQUE").value() is None


def test_output_that_cannot_take_its_type_fails() -> None:
    model = load_dmn(
        table(
            '<output id="o" name="n" typeRef="integer"/><rule id="r1"><inputEntry><text>-</text></inputEntry>'
            "<outputEntry><text>x / 2</text></outputEntry></rule>"
        ).encode(),
        "types.dmn",
    )
    assert model.evaluate("d", {"x": 4}).value() == 2
    with pytest.raises(DecisionError, match=r"rule 1 \(r1\), output 'n'.*integer") as caught:
        model.evaluate("d", {"x": 3})
    assert caught.value.rule_id == "r1"


def test_failing_input_is_null_and_failing_output_is_an_error() -> None:
    model = load_dmn(
        minimal(
            '<decision id="d" name="D"><decisionTable id="t">'
            '<input id="in" label="X"><inputExpression id="ie"><text>assert(x, x > 0)</text></inputExpression></input>'
            '<output id="o" name="n"/>'
            '<rule id="r1"><inputEntry><text>null</text></inputEntry>'
            '<outputEntry><text>"no input"</text></outputEntry></rule>'
            '<rule id="r2"><inputEntry><text>&gt; 10</text></inputEntry>'
            '<outputEntry><text>assert(x, false, "boom")</text></outputEntry></rule>'
            "</decisionTable></decision>"
        ).encode(),
        "failing.dmn",
    )
    assert model.evaluate("d", {"x": -1}).value() == "no input"
    with pytest.raises(DecisionError, match="rule 2 \\(r2\\), output 'n': Assertion failed: boom"):
        model.evaluate("d", {"x": 11})


def test_evaluation_has_a_time_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine.expressions.dmn, "MAX_EVALUATION_SECONDS", -1.0)
    with pytest.raises(DecisionError, match="took longer than") as caught:
        load("unique.dmn").evaluate("documentApprover", {"documentType": "form", "pages": 2})
    assert caught.value.decision_id == "documentApprover"


# --------------------------------------------------------------------------------------------
# Refusals
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("namespace", "version"),
    [
        ("http://www.omg.org/spec/DMN/20151101/dmn.xsd", "1.1"),
        ("http://www.omg.org/spec/DMN/20180521/MODEL/", "1.2"),
        ("https://www.omg.org/spec/DMN/20191111/MODEL/", "1.3"),
        ("https://www.omg.org/spec/DMN/20211108/MODEL/", "1.4"),
        ("https://www.omg.org/spec/DMN/20230324/MODEL/", "1.5"),
    ],
)
def test_every_dmn_version_loads(namespace: str, version: str) -> None:
    content = minimal('<decision id="d" name="D"><literalExpression><text>1 + 1</text></literalExpression></decision>',
                      namespace)  # fmt: skip
    model = load_dmn(content.encode(), "v.dmn")
    assert model.version == version
    assert model.evaluate("d", {}).value() == 2


def test_cycle_is_refused_with_its_path() -> None:
    error = refusal((DMN_FIXTURES / "cycle.dmn").read_bytes(), "cycle.dmn")
    assert len(error.problems) == 1
    problem = error.problems[0]
    assert problem.file == "cycle.dmn"
    assert problem.element_id == "budget"
    assert problem.line == line_of(DMN_FIXTURES / "cycle.dmn", 'id="budget"')
    assert "(budget) -> 'Approver' (approver) -> 'Threshold' (threshold) -> 'Budget' (budget)" in problem.message


@pytest.mark.parametrize(
    "root",
    [
        '<definitions xmlns="http://www.omg.org/spec/DMN/20120101/MODEL/" id="x"/>',
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="x"/>',
        f'<process xmlns="{DMN_13}" id="x"/>',
        '<definitions id="x"/>',
    ],
)
def test_unknown_namespace_or_root_is_refused(root: str) -> None:
    error = refusal(root, "other.dmn")
    assert error.problems[0].line == 1
    assert error.problems[0].element_id == "x"
    assert "Not a DMN file" in error.problems[0].message


def test_broken_feel_names_rule_and_column() -> None:
    path = DMN_FIXTURES / "broken_feel.dmn"
    problems = refusal(path.read_bytes(), "broken_feel.dmn").problems
    assert [(p.element_id, p.line, p.element_name) for p in problems] == [
        ("UnaryTests_b2", line_of(path, "UnaryTests_b2"), "Risk level"),
        ("LiteralExpression_b3", line_of(path, "LiteralExpression_b3"), "Risk level"),
    ]
    assert problems[0].message.startswith("Decision 'Risk level' (riskLevel), rule 2 (Rule_high), input 'Severity': ")
    assert "'[3..' is not valid FEEL" in problems[0].message
    assert "rule 3 (Rule_critical), output 'level'" in problems[1].message


def test_juel_and_other_expression_languages_are_refused() -> None:
    path = DMN_FIXTURES / "juel.dmn"
    problems = refusal(path.read_bytes(), "juel.dmn").problems
    assert [(p.element_id, p.line) for p in problems] == [
        ("InputExpression_amount", line_of(path, "InputExpression_amount")),
        ("LiteralExpression_j1", line_of(path, "LiteralExpression_j1")),
        ("UnaryTests_j2", line_of(path, "UnaryTests_j2")),
    ]
    assert "expression language 'juel' is not supported" in problems[0].message
    assert "JUEL expression" in problems[1].message
    assert "rule 2 (Rule_large), input 'Amount'" in problems[2].message
    assert "'javascript'" in problems[2].message


def test_default_expression_language_of_the_file_applies() -> None:
    content = minimal(
        '<decision id="d" name="D"><literalExpression id="le"><text>1</text></literalExpression></decision>',
        extra='expressionLanguage="http://groovy-lang.org/"',
    )
    assert "'http://groovy-lang.org/' is not supported" in refusal(content).problems[0].message
    feel = minimal(
        '<decision id="d" name="D"><literalExpression id="le"><text>1</text></literalExpression></decision>',
        extra='expressionLanguage="https://www.omg.org/spec/DMN/20191111/FEEL/"',
    )
    assert load_dmn(feel.encode(), "feel.dmn").evaluate("d", {}).value() == 1


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs" name="x" namespace="x">
  <decision id="d" name="D"><literalExpression><text>"&secret;"</text></literalExpression></decision>
</definitions>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs" namespace="x">&lol2;</definitions>"""


@pytest.mark.parametrize("content", [XXE, LAUGHS, b"<definitions", b"\x00\x01 not xml"])
def test_hostile_or_broken_xml_is_refused(content: bytes) -> None:
    problems = refusal(content, "hostile.dmn").problems
    assert problems[0].file == "hostile.dmn"
    assert "passwd" not in problems[0].message and "root:" not in problems[0].message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (minimal('<decision id="d" name="D"><context id="c"/></decision>'), "boxed context"),
        (minimal('<decision id="d" name="D"/>'), "no decision table or literal expression"),
        (minimal('<decision name="D"><literalExpression><text>1</text></literalExpression></decision>'), "no id"),
        (
            minimal(
                '<decision id="d" name="D">'
                '<knowledgeRequirement><requiredKnowledge href="#bkm"/></knowledgeRequirement>'
                "<literalExpression><text>bkm(1)</text></literalExpression></decision>"
            ),
            "business knowledge models",
        ),
        (
            minimal(
                '<decision id="d" name="D"><informationRequirement><requiredDecision href="#ghost"/>'
                "</informationRequirement><literalExpression><text>ghost</text></literalExpression></decision>"
            ),
            "requires decision 'ghost'",
        ),
        (
            minimal(
                '<decision id="d" name="D"><informationRequirement><requiredDecision href="other.dmn#x"/>'
                "</informationRequirement><literalExpression><text>x</text></literalExpression></decision>"
            ),
            "not in this file",
        ),
        (
            minimal(
                '<decision id="d" name="D"><literalExpression><text>1</text></literalExpression></decision>'
                '<decision id="d" name="E"><literalExpression><text>2</text></literalExpression></decision>'
            ),
            "used twice",
        ),
        (
            minimal('<decision id="d" name="D"><literalExpression><text> </text></literalExpression></decision>'),
            "empty",
        ),
        (minimal(""), "no decision"),
        (table('<output id="o" name="n"/>', hit_policy="BEST"), "hit policy 'BEST' is unknown"),
        (table('<output id="o" name="n"/>', aggregation="SUM"), "needs hit policy COLLECT"),
        (table('<output id="o" name="n"/>', "COLLECT", "AVG"), "aggregation 'AVG' is unknown"),
        (table('<output id="o" name="a"/><output id="p" name="b"/>', "COLLECT", "SUM"), "exactly one output"),
        (table('<output id="o" name="n"/>', "PRIORITY"), "needs output values"),
        (table('<output id="o" name="n"/><output id="p" name="n"/>'), "two output columns are named 'n'"),
        (table(""), "no output column"),
        (
            table('<output id="o" name="n"><outputValues><text>&lt; 5, "a"</text></outputValues></output>', "PRIORITY"),
            "output values are not a list",
        ),
        (
            table('<output id="o" name="n"/><rule id="r1"><inputEntry><text>1</text></inputEntry></rule>'),
            "1 input and 0 output entries",
        ),
        (
            minimal(
                '<decision id="d" name="D"><decisionTable><input id="in" label="Empty"><inputExpression><text/>'
                '</inputExpression></input><output id="o" name="n"/></decisionTable></decision>'
            ),
            "input 'Empty': the input has no expression",
        ),
    ],
)
def test_what_cannot_be_evaluated_is_refused(content: str, message: str) -> None:
    problems = refusal(content).problems
    assert any(message in problem.message for problem in problems), [p.message for p in problems]
    assert all(problem.file == "refused.dmn" and problem.line is not None for problem in problems)
