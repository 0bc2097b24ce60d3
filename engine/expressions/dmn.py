"""DMN decisions as Camunda Modeler draws them (DMN 1.1 to 1.5): load, check and evaluate with our FEEL.

Uploaded models are hostile: the XML goes through :func:`engine.safe_xml.parse_xml` (no DTD, no
entities, no network) and every expression through the sandboxed FEEL evaluator; nothing from the
file is executed as Python. :func:`load_dmn` compiles every expression up front and refuses, with
all problems at once, what it could not evaluate later.

Supported: decision tables (hit policies UNIQUE, FIRST, PRIORITY, ANY, COLLECT with or without
SUM/MIN/MAX/COUNT, RULE ORDER, OUTPUT ORDER), literal-expression decisions, decision requirement
graphs inside one file, the Camunda 7 ``camunda:inputVariable`` (``cellInput``) and output
``typeRef`` coercion for number/integer/long/double, string, boolean and date. One call of
:meth:`DmnModel.evaluate` sees one clock (``now``) and has a time budget on top of FEEL's own limits.

Not supported (refused at load time): expression languages other than FEEL (JUEL, JavaScript,
Groovy...), boxed expressions other than decision tables and literal expressions (contexts,
invocations, relations, lists, function definitions...), business knowledge models
(``knowledgeRequirement``), decisions required from other files (``import``).
"""

from __future__ import annotations

import re
import time
from collections import ChainMap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from lxml import etree

from engine.errors import EngineError, ExpressionError, Phrase, Problem, Text
from engine.expressions.feel import (
    FeelEvaluationError,
    FeelExpression,
    FeelSyntaxError,
    FeelUnaryTests,
    compile_expression,
    compile_unary_tests,
    to_python,
)
from engine.safe_xml import parse_xml

# Namespace of the ``definitions`` element -> DMN version (compared without the http/https scheme).
DMN_NAMESPACES = {
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd": "1.1",
    "http://www.omg.org/spec/DMN/20180521/MODEL/": "1.2",
    "https://www.omg.org/spec/DMN/20191111/MODEL/": "1.3",
    "https://www.omg.org/spec/DMN/20211108/MODEL/": "1.4",
    "https://www.omg.org/spec/DMN/20230324/MODEL/": "1.5",
}
CAMUNDA_DMN_NS = "http://camunda.org/schema/1.0/dmn"
DEFAULT_INPUT_VARIABLE = "cellInput"
MAX_EVALUATION_SECONDS = 10.0  # for one call of DmnModel.evaluate, required decisions included

SINGLE_HIT_POLICIES = ("UNIQUE", "FIRST", "PRIORITY", "ANY")
MULTI_HIT_POLICIES = ("COLLECT", "RULE ORDER", "OUTPUT ORDER")
AGGREGATIONS = ("SUM", "MIN", "MAX", "COUNT")

_FEEL_LANGUAGE = re.compile(r"^(feel|https?://www\.omg\.org/spec/(feel/\d{8}|dmn/\d{8}/feel/?))$", re.IGNORECASE)
_STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"')
_NUMBER_TYPES = ("number", "integer", "long", "double")
_INTEGER_TYPES = ("integer", "long")
_UNSUPPORTED_EXPRESSIONS = (
    "context", "invocation", "relation", "list", "functionDefinition", "conditional", "filter", "iterator",
    "for", "some", "every",
)  # fmt: skip


def _strip_scheme(uri: str) -> str:
    return re.sub(r"^https?://", "", uri)


_VERSION_BY_NAMESPACE = {_strip_scheme(uri): version for uri, version in DMN_NAMESPACES.items()}


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class DmnInvalid(EngineError):
    """A DMN file cannot be used; ``problems`` lists every reason found (file, line, element, message)."""

    http_status = 422

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0].text if problems else Phrase("unknown problem")
        super().__init__("The DMN file is invalid (%(count)s problem(s)). First: %(first)s", count=len(problems),
                         first=first)  # fmt: skip
        self.problems = problems


class DecisionError(ExpressionError):
    """A decision could not be evaluated (several rules of a UNIQUE table match, a failing entry...)."""

    def __init__(
        self, message: Text, expression: str | None = None, *, decision_id: str | None = None,
        rule_id: str | None = None,
    ) -> None:
        super().__init__(message, expression)
        self.decision_id = decision_id
        self.rule_id = rule_id


# --------------------------------------------------------------------------------------------
# The compiled model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputClause:
    id: str
    label: str
    expression: FeelExpression
    variable: str  # camunda:inputVariable: the name under which entries may read the input value


@dataclass(frozen=True)
class OutputClause:
    id: str
    name: str  # the key in result dicts: the output's name, else its id
    label: str
    type_ref: str
    values: tuple[Any, ...] | None  # the output values list (FEEL values), highest priority first


@dataclass(frozen=True)
class InputEntry:
    """One cell of a rule's input side; ``tests`` None means "any value" (``-`` or empty)."""

    id: str
    tests: FeelUnaryTests | None
    binds_input: bool = False  # the text names ``?`` or the column's input variable (Camunda 7 ``cellInput``)
    expression: FeelExpression | None = None  # the same text read as an expression, when it is one


@dataclass(frozen=True)
class Rule:
    id: str
    number: int  # 1-based position in the table
    inputs: tuple[InputEntry, ...]
    outputs: tuple[FeelExpression | None, ...]  # None: empty output entry, the value is null


@dataclass(frozen=True)
class DecisionTable:
    hit_policy: str
    aggregation: str | None
    inputs: tuple[InputClause, ...]
    outputs: tuple[OutputClause, ...]
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class LiteralExpression:
    expression: FeelExpression
    variable: str  # the result's name: the decision's variable, else its name
    type_ref: str


@dataclass(frozen=True)
class Decision:
    id: str
    name: str
    logic: DecisionTable | LiteralExpression
    required: tuple[str, ...] = ()  # ids of the decisions this one needs, in document order
    variable: str | None = None
    line: int | None = None

    @property
    def context_names(self) -> list[str]:
        """Names under which the decision's value is visible to the decisions requiring it."""
        names = [self.id, self.name, self.variable or self.id]
        return list(dict.fromkeys(names))

    @property
    def output_names(self) -> list[str]:
        if isinstance(self.logic, LiteralExpression):
            return [self.logic.variable]
        return [output.name for output in self.logic.outputs]


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass
class DecisionResult:
    """What a decision produced: one dict (output name -> value) per matched rule, in hit-policy order.

    For COLLECT with an aggregator, ``rules`` holds one dict (or none if SUM/MIN/MAX matched nothing).
    A literal-expression decision gives one dict under its variable name. Values are JSON-friendly
    (see :func:`engine.expressions.feel.to_python`).
    """

    rules: list[dict[str, Any]]
    decision_id: str = ""
    output_names: list[str] = field(default_factory=list)
    hit_policy: str | None = None  # None for a literal-expression decision
    aggregation: str | None = None
    matched_rule_ids: list[str] = field(default_factory=list)

    @property
    def is_list(self) -> bool:
        """Whether :meth:`value` is a list (COLLECT without aggregator, RULE ORDER, OUTPUT ORDER)."""
        return self.hit_policy in MULTI_HIT_POLICIES and self.aggregation is None

    def _rule_value(self, rule: dict[str, Any]) -> Any:
        if len(self.output_names) == 1:
            return rule.get(self.output_names[0])
        return dict(rule)

    def value(self) -> Any:
        """The Camunda 8 ``resultVariable`` value.

        Single output: the value (single-hit policies, aggregations, literal expressions) or the list
        of values (multi-hit policies, even for one match). Several outputs: a dict, or a list of
        dicts. Nothing matched: None, or [] for multi-hit policies.
        """
        values = [self._rule_value(rule) for rule in self.rules]
        if self.is_list:
            return values
        return values[0] if values else None

    def single_result(self) -> dict[str, Any] | None:
        """Camunda 7 ``getSingleResult()``: the only matched rule's outputs, None if none matched."""
        if not self.rules:
            return None
        if len(self.rules) > 1:
            raise DecisionError(
                Phrase("Decision '%(decision_id)s' has %(count)s results; a single result was expected.",
                       decision_id=self.decision_id, count=len(self.rules)),
                decision_id=self.decision_id,
            )
        return dict(self.rules[0])

    def single_entry(self) -> Any:
        """Camunda 7 ``getSingleEntry()``: the only output value of the only matched rule."""
        result = self.single_result()
        if result is None:
            return None
        if len(result) > 1:
            raise DecisionError(
                Phrase("Decision '%(decision_id)s' has %(count)s outputs; a single entry was expected.",
                       decision_id=self.decision_id, count=len(result)),
                decision_id=self.decision_id,
            )
        return next(iter(result.values()), None)

    def collect_entries(self, name: str | None = None) -> list[Any]:
        """Camunda 7 ``collectEntries(name)``: one output's value from every matched rule.

        Without a name the decision must have exactly one output.
        """
        if name is None:
            if len(self.output_names) != 1:
                raise DecisionError(
                    Phrase("Decision '%(decision_id)s' has %(count)s outputs; name the one to collect.",
                           decision_id=self.decision_id, count=len(self.output_names)),
                    decision_id=self.decision_id,
                )
            name = self.output_names[0]
        return [rule.get(name) for rule in self.rules]

    def result_list(self) -> list[dict[str, Any]]:
        """Camunda 7 ``getResultList()``: a copy of every matched rule's outputs."""
        return [dict(rule) for rule in self.rules]


def _plain(result: DecisionResult) -> DecisionResult:
    """The same result with FEEL values (Decimal, date...) turned into JSON-friendly Python."""
    rules = [{name: to_python(value) for name, value in rule.items()} for rule in result.rules]
    return DecisionResult(
        rules, result.decision_id, list(result.output_names), result.hit_policy, result.aggregation,
        list(result.matched_rule_ids),
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


class DmnModel:
    """The decisions of one DMN file, compiled; evaluate any of them (with its required decisions)."""

    def __init__(
        self, filename: str, decisions: dict[str, Decision], version: str = "", warnings: list[Problem] | None = None
    ) -> None:
        self.filename = filename
        self.decisions = decisions
        self.version = version
        self.warnings = warnings or []

    def __repr__(self) -> str:
        return f"DmnModel({self.filename!r}, decisions={self.decision_ids()!r})"

    def decision_ids(self) -> list[str]:
        """The decisions' ids in document order."""
        return list(self.decisions)

    def evaluate(self, decision_id: str, context: Mapping[str, Any], *, now: datetime | None = None) -> DecisionResult:
        """Evaluate a decision with the given variables, after the decisions it requires.

        Each required decision's :meth:`DecisionResult.value` is visible under its id, its name (and
        its variable name); its outputs are visible by output name too, as Camunda 7 does: the value
        when one rule matched, else the list of values. Names from required decisions hide the
        caller's variables of the same name.
        """
        if decision_id not in self.decisions:
            known = ", ".join(self.decisions) or "none"
            raise DecisionError(
                Phrase("No decision '%(decision_id)s' in %(filename)s (decisions: %(known)s).",
                       decision_id=decision_id, filename=self.filename, known=known), decision_id=decision_id
            )
        variables = dict(context)
        run = _Run(now, MAX_EVALUATION_SECONDS)
        results: dict[str, DecisionResult] = {}
        for current in self._dependency_order(decision_id):
            decision = self.decisions[current]
            scope = ChainMap(self._required_values(decision, results), variables)
            results[current] = _evaluate_decision(decision, scope, run)
        return _plain(results[decision_id])

    def _dependency_order(self, decision_id: str) -> list[str]:
        """The decision and everything it requires, required decisions first (the graph is acyclic)."""
        order: list[str] = []
        seen: set[str] = set()
        stack: list[tuple[str, bool]] = [(decision_id, False)]
        while stack:
            current, expanded = stack.pop()
            if expanded:
                order.append(current)
                continue
            if current in seen:
                continue
            seen.add(current)
            stack.append((current, True))
            for required in reversed(self.decisions[current].required):
                if required not in self.decisions:
                    raise DecisionError(
                        Phrase("Decision '%(current)s' requires decision '%(required)s', which is not in %(filename)s.",
                               current=current, required=required, filename=self.filename),
                        decision_id=current,
                    )
                stack.append((required, False))
        return order

    def _required_values(self, decision: Decision, results: Mapping[str, DecisionResult]) -> dict[str, Any]:
        """The variables a decision gets from the decisions it requires (still FEEL values)."""
        values: dict[str, Any] = {}
        for required in decision.required:
            values.update(_output_variables(results[required]))
        for required in decision.required:
            value = results[required].value()
            for name in self.decisions[required].context_names:
                values[name] = value
        return values


class _Run:
    """One call of :meth:`DmnModel.evaluate`: the clock every expression sees, and a time budget.

    Each FEEL evaluation is bounded on its own; the budget, checked between rules, stops a hostile
    table with very many costly entries.
    """

    def __init__(self, now: datetime | None, seconds: float) -> None:
        self.now = now if now is not None else datetime.now(UTC)
        self.deadline = time.monotonic() + seconds

    def check(self, decision: Decision) -> None:
        if time.monotonic() > self.deadline:
            raise DecisionError(
                Phrase("Decision '%(name)s' (%(id)s) took longer than %(limit)s seconds to evaluate; simplify its "
                       "expressions or split the table.",
                       name=decision.name, id=decision.id, limit=format(MAX_EVALUATION_SECONDS, "g")),
                decision_id=decision.id,
            )


def _output_variables(result: DecisionResult) -> dict[str, Any]:
    """Camunda 7 style: each output by name, its value if one rule matched, else the list of values."""
    if not result.rules:
        return {}
    if len(result.rules) == 1 and not result.is_list:
        return dict(result.rules[0])
    return {name: result.collect_entries(name) for name in result.output_names}


def _evaluate_decision(decision: Decision, scope: Mapping[str, Any], run: _Run) -> DecisionResult:
    if isinstance(decision.logic, LiteralExpression):
        return _evaluate_literal(decision, decision.logic, scope, run)
    return _evaluate_table(decision, decision.logic, scope, run)


def _evaluate_literal(
    decision: Decision, literal: LiteralExpression, scope: Mapping[str, Any], run: _Run
) -> DecisionResult:
    where = Phrase("Decision '%(name)s' (%(id)s)", name=decision.name, id=decision.id)
    try:
        value = literal.expression.evaluate(scope, now=run.now)
    except FeelEvaluationError as error:
        raise DecisionError(Phrase("%(where)s: %(message)s",
                                   where=where, message=error.phrase), literal.expression.source,
                                   decision_id=decision.id) from None
    value = _coerce(value, literal.type_ref, Phrase("%(where)s, result '%(variable)s'",
                                                    where=where, variable=literal.variable), decision.id, None)
    return DecisionResult([{literal.variable: value}], decision.id, [literal.variable])


def _evaluate_table(decision: Decision, table: DecisionTable, scope: Mapping[str, Any], run: _Run) -> DecisionResult:
    inputs = [_input_value(clause, scope, run) for clause in table.inputs]
    matched = _matching_rules(decision, table, inputs, scope, run)
    outputs = [(rule, _rule_outputs(decision, table, rule, scope, run)) for rule in matched]
    selected = _apply_hit_policy(decision, table, outputs)
    result = DecisionResult(
        [values for _, values in selected], decision.id, decision.output_names, table.hit_policy, table.aggregation,
        [rule.id for rule in matched],
    )  # fmt: skip
    if table.aggregation is not None:
        result.rules = _aggregate(decision, table, result.rules)
    return result


def _input_value(clause: InputClause, scope: Mapping[str, Any], run: _Run) -> Any:
    """An input expression's value; an input that fails to evaluate is null."""
    try:
        return clause.expression.evaluate(scope, now=run.now)
    except FeelEvaluationError:
        return None


def _matching_rules(
    decision: Decision, table: DecisionTable, inputs: list[Any], scope: Mapping[str, Any], run: _Run
) -> list[Rule]:
    matched: list[Rule] = []
    for rule in table.rules:
        run.check(decision)
        if all(
            _entry_matches(decision, table.inputs[i], rule, entry, inputs[i], scope, run)
            for i, entry in enumerate(rule.inputs)
        ):
            matched.append(rule)
            if table.hit_policy == "FIRST":
                break
    return matched


def _entry_matches(
    decision: Decision,
    clause: InputClause,
    rule: Rule,
    entry: InputEntry,
    value: Any,
    scope: Mapping[str, Any],
    run: _Run,
) -> bool:
    """Whether one input entry accepts the input value.

    Two cases are decided here rather than by the unary-test reading, as Camunda 8 does:

    * an entry naming the input as ``?`` or as the Camunda 7 input variable (``cellInput > 5``) is
      evaluated with those names bound; when it is a condition, true matches and false or null do
      not (the unary-test reading would compare a null condition with a null input as equal);
    * a null input does not match an entry that is a true/false expression (``true``, ``3 > 1``).
    """
    if entry.tests is None:
        return True
    if entry.binds_input:
        scope = _Bound(scope, {clause.variable: value, "?": value})
    try:
        if entry.expression is not None and (entry.binds_input or value is None):
            outcome = entry.expression.evaluate(scope, now=run.now)
            if entry.binds_input and (outcome is None or isinstance(outcome, bool)):
                return outcome is True
            if value is None and isinstance(outcome, bool):
                return False
        return entry.tests.matches(value, scope, now=run.now)
    except FeelEvaluationError as error:
        where = _cell(decision, rule, Phrase("input '%(label)s'", label=clause.label))
        raise DecisionError(
            Phrase("%(where)s: %(message)s",
                   where=where, message=error.phrase), entry.tests.source, decision_id=decision.id, rule_id=rule.id
        ) from None


class _Bound(Mapping[str, Any]):
    """Variables with a few more names bound (the input value), without copying the variables."""

    def __init__(self, base: Mapping[str, Any], names: dict[str, Any]) -> None:
        self.base, self.names = base, names

    def __getitem__(self, key: str) -> Any:
        return self.names[key] if key in self.names else self.base[key]

    def __iter__(self) -> Iterator[str]:
        yield from self.names
        yield from (key for key in self.base if key not in self.names)

    def __len__(self) -> int:
        return len(self.names) + sum(1 for key in self.base if key not in self.names)


def _cell(decision: Decision, rule: Rule, column: Phrase) -> Phrase:
    return Phrase("Decision '%(name)s' (%(id)s), rule %(number)s (%(rule)s), %(column)s", name=decision.name,
                  id=decision.id, number=rule.number, rule=rule.id, column=column)  # fmt: skip


def _rule_outputs(
    decision: Decision, table: DecisionTable, rule: Rule, scope: Mapping[str, Any], run: _Run
) -> dict[str, Any]:
    run.check(decision)
    values: dict[str, Any] = {}
    for clause, expression in zip(table.outputs, rule.outputs, strict=True):
        where = _cell(decision, rule, Phrase("output '%(name)s'", name=clause.name))
        value = None
        if expression is not None:
            try:
                value = expression.evaluate(scope, now=run.now)
            except FeelEvaluationError as error:
                raise DecisionError(
                    Phrase("%(where)s: %(message)s",
                           where=where, message=error.phrase), expression.source, decision_id=decision.id,
                           rule_id=rule.id
                ) from None
        values[clause.name] = _coerce(value, clause.type_ref, where, decision.id, rule.id)
    return values


def _apply_hit_policy(
    decision: Decision, table: DecisionTable, matched: list[tuple[Rule, dict[str, Any]]]
) -> list[tuple[Rule, dict[str, Any]]]:
    policy = table.hit_policy
    if policy == "UNIQUE" and len(matched) > 1:
        ids = ", ".join(f"{rule.number} ({rule.id})" for rule, _ in matched)  # numbers and ids: no words
        raise DecisionError(
            Phrase("Decision '%(name)s' (%(id)s) has hit policy UNIQUE but rules %(ids)s all match.",
                   name=decision.name, id=decision.id, ids=ids),
            decision_id=decision.id,
        )
    if policy == "ANY":
        return _any(decision, matched)
    if policy == "PRIORITY":
        return sorted(matched, key=lambda item: _priority(table, item[1]))[:1]
    if policy == "OUTPUT ORDER":
        return sorted(matched, key=lambda item: _priority(table, item[1]))
    return matched


def _any(decision: Decision, matched: list[tuple[Rule, dict[str, Any]]]) -> list[tuple[Rule, dict[str, Any]]]:
    """Hit policy ANY: matching rules must agree on every output; one of them is the result."""
    for rule, values in matched[1:]:
        if values != matched[0][1]:
            first = matched[0][0]
            raise DecisionError(
                Phrase("Decision '%(name)s' (%(id)s) has hit policy ANY but rules %(number)s (%(id2)s) and %(number2)s "
                       "(%(id3)s) match with different outputs.",
                       name=decision.name, id=decision.id, number=first.number, id2=first.id, number2=rule.number,
                       id3=rule.id),
                decision_id=decision.id,
                rule_id=rule.id,
            )
    return matched[:1]


def _priority(table: DecisionTable, values: dict[str, Any]) -> tuple[int, ...]:
    """Sort key of a rule's outputs: their positions in the outputs' value lists, outputs in order.

    The first output with a values list decides; later ones break ties; a value missing from its
    list ranks after every listed value. Python's sort is stable, so ties keep rule order.
    """
    return tuple(_rank(clause.values, values.get(clause.name)) for clause in table.outputs if clause.values is not None)


_MATCH_ITEM = compile_unary_tests("item")


def _rank(allowed: tuple[Any, ...], value: Any) -> int:
    for index, item in enumerate(allowed):
        if _MATCH_ITEM.matches(value, {"item": item}):
            return index
    return len(allowed)


_AGGREGATE = {name: compile_expression(f"{name.lower()}(values)") for name in ("SUM", "MIN", "MAX")}


def _aggregate(decision: Decision, table: DecisionTable, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """COLLECT with an aggregator: one dict with the SUM/MIN/MAX of the non-null values, or the COUNT.

    COUNT counts the matching rules (0 if none); SUM/MIN/MAX of no value give no result.
    """
    name = table.outputs[0].name
    if table.aggregation == "COUNT":
        return [{name: Decimal(len(rules))}]
    values = [rule[name] for rule in rules if rule.get(name) is not None]
    if not values:
        return []
    aggregation = str(table.aggregation)
    if aggregation == "SUM" and not all(isinstance(value, Decimal) for value in values):
        raise DecisionError(
            Phrase("Decision '%(name)s' (%(id)s) sums output '%(name2)s', but not every value is a number.",
                   name=decision.name, id=decision.id, name2=name),
            decision_id=decision.id,
        )
    result = _AGGREGATE[aggregation].evaluate({"values": values})
    if result is None:
        raise DecisionError(
            Phrase("Decision '%(name)s' (%(id)s) cannot take the %(aggregation)s of output '%(name2)s': its values "
                   "cannot be compared.", name=decision.name, id=decision.id, aggregation=aggregation, name2=name),
            decision_id=decision.id,
        )
    return [{name: result}]


# --------------------------------------------------------------------------------------------
# Output typeRef coercion
# --------------------------------------------------------------------------------------------

_TO_STRING = compile_expression("string(value)")
_TO_NUMBER = compile_expression("number(value)")
_TO_DATE = compile_expression("date(value)")


def _coerce(value: Any, type_ref: str, where: Phrase, decision_id: str, rule_id: str | None) -> Any:
    """A value converted to its output's typeRef where that is simple; raises DecisionError if impossible."""
    kind = type_ref.strip().lower()
    if value is None or not kind:
        return value
    converted = _convert(value, kind)
    if converted is None:
        shown = _shorten(repr(to_python(value)))
        raise DecisionError(
            Phrase("%(where)s: the value %(shown)s cannot be converted to the output type '%(type_ref)s'.",
                   where=where, shown=shown, type_ref=type_ref),
            decision_id=decision_id,
            rule_id=rule_id,
        )
    return converted


def _convert(value: Any, kind: str) -> Any:
    """The converted value, None if it cannot be converted; types we do not coerce pass unchanged."""
    if kind in _NUMBER_TYPES:
        number = value if isinstance(value, Decimal) else _from_text(_TO_NUMBER, value)
        if number is not None and kind in _INTEGER_TYPES and number != number.to_integral_value():
            return None
        return number
    if kind == "string":
        if isinstance(value, list | dict):
            return None
        return value if isinstance(value, str) else _TO_STRING.evaluate({"value": value})
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        text = value.strip().lower() if isinstance(value, str) else None
        return {"true": True, "false": False}.get(text or "")
    if kind == "date":
        if type(value) is date:
            return value
        return _TO_DATE.evaluate({"value": value}) if isinstance(value, str | datetime) else None
    return value


def _from_text(conversion: FeelExpression, value: Any) -> Any:
    return conversion.evaluate({"value": value.strip()}) if isinstance(value, str) else None


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def load_dmn(content: bytes, filename: str) -> DmnModel:
    """Parse a DMN file and compile every expression in it; raises :class:`DmnInvalid` with every problem."""
    tree, problems = parse_xml(content, filename)
    if tree is None:
        raise DmnInvalid(problems)
    root = tree.getroot()
    qname = etree.QName(root)
    version = _VERSION_BY_NAMESPACE.get(_strip_scheme(qname.namespace or ""))
    if qname.localname != "definitions" or version is None:
        known = ", ".join(DMN_NAMESPACES)
        raise DmnInvalid(
            [
                Problem(
                    filename,
                    Phrase("Not a DMN file: the root element is '%(root)s' in namespace '%(namespace)s'; expected "
                           "'definitions' in one of %(known)s.",
                           root=qname.localname, namespace=qname.namespace or "", known=known),
                    element_id=root.get("id"),
                    line=root.sourceline,
                )
            ]
        )
    loader = _Loader(filename, root)
    decisions = loader.load()
    errors = [problem for problem in loader.problems if problem.severity == "error"]
    if errors:
        raise DmnInvalid(loader.problems)
    return DmnModel(filename, decisions, version, [p for p in loader.problems if p.severity != "error"])


@dataclass
class _Where:
    """The element being read and how to name it in a problem."""

    element: etree._Element
    text: Phrase  # e.g. "Decision 'Dish' (dish), rule 2 (r2), input 'Season'"
    decision_name: str


@dataclass
class _Columns:
    """A decision table's columns: their names for problems, and the compiled clauses (None if broken)."""

    input_labels: list[str]
    output_names: list[str]
    inputs: list[InputClause | None]
    outputs: list[OutputClause | None]


def _input_label(element: etree._Element, number: int) -> str:
    return element.get("label") or element.get("id") or f"#{number}"


def _output_name(element: etree._Element, number: int) -> str:
    return element.get("name") or element.get("id") or f"output{number}"


class _Loader:
    """Reads one ``definitions`` element into decisions, collecting problems instead of stopping."""

    def __init__(self, filename: str, root: etree._Element) -> None:
        self.filename = filename
        self.root = root
        self.ns = etree.QName(root).namespace or ""
        self.default_language = root.get("expressionLanguage")
        self.problems: list[Problem] = []

    def tag(self, local: str) -> str:
        return f"{{{self.ns}}}{local}"

    def children(self, element: etree._Element, local: str) -> Iterator[etree._Element]:
        return element.iterchildren(self.tag(local))

    def problem(self, where: _Where, message: Phrase, severity: str = "error") -> None:
        element = where.element
        self.problems.append(
            Problem(
                self.filename,
                Phrase("%(where)s: %(problem)s", where=where.text, problem=message),
                element_id=element.get("id"),
                element_name=element.get("name") or element.get("label") or where.decision_name,
                line=element.sourceline,
                severity=severity,
            )
        )

    # -- decisions and the graph -------------------------------------------------------------

    def load(self) -> dict[str, Decision]:
        decisions: dict[str, Decision] = {}
        for element in self.children(self.root, "decision"):
            decision = self.decision(element)
            if decision is None:
                continue
            if decision.id in decisions:
                here = _Where(element, Phrase("Decision '%(name)s'", name=decision.name), decision.name)
                self.problem(here, Phrase("the id '%(id)s' is used twice.", id=decision.id))
                continue
            decisions[decision.id] = decision
        if not decisions and not self.problems:
            self.problems.append(Problem(self.filename, "The file contains no decision.", line=self.root.sourceline))
        self.check_graph(decisions)
        return decisions

    def decision(self, element: etree._Element) -> Decision | None:
        decision_id = element.get("id") or ""
        name = element.get("name") or decision_id
        named = Phrase("Decision '%(name)s' (%(id)s)", name=name, id=decision_id) if decision_id else Phrase(
            "Decision '%(name)s'", name=name)  # fmt: skip
        where = _Where(element, named, name)
        if not decision_id:
            self.problem(where, Phrase("the decision has no id."))
            return None
        required = self.requirements(element, where)
        variable_element = element.find(self.tag("variable"))
        variable = variable_element.get("name") if variable_element is not None else None
        logic = self.logic(element, where, variable or name, variable_element)
        if logic is None:
            return None
        return Decision(decision_id, name, logic, required, variable, element.sourceline)

    def requirements(self, element: etree._Element, where: _Where) -> tuple[str, ...]:
        required: list[str] = []
        for requirement in self.children(element, "informationRequirement"):
            for reference in self.children(requirement, "requiredDecision"):
                href = reference.get("href") or ""
                if not href.startswith("#") or len(href) < 2:
                    self.problem(
                        _Where(reference, where.text, where.decision_name),
                        Phrase("the required decision '%(href)s' is not in this file; decisions from other files "
                               "(imports) are not supported.", href=href),
                    )
                elif href[1:] not in required:
                    required.append(href[1:])
        if element.find(self.tag("knowledgeRequirement")) is not None:
            self.problem(where, Phrase("business knowledge models (knowledge requirements) are not supported."))
        return tuple(required)

    def logic(
        self, element: etree._Element, where: _Where, variable: str, variable_element: etree._Element | None
    ) -> DecisionTable | LiteralExpression | None:
        table = element.find(self.tag("decisionTable"))
        if table is not None:
            return self.table(table, where)
        literal = element.find(self.tag("literalExpression"))
        if literal is not None:
            return self.literal(literal, where, variable, variable_element)
        other = [etree.QName(child).localname for child in element if isinstance(child.tag, str)]
        boxed = [name for name in other if name in _UNSUPPORTED_EXPRESSIONS]
        if boxed:
            self.problem(
                where, Phrase("its logic is a boxed %(kind)s; only decision tables and literal expressions are "
                              "supported.", kind=boxed[0])
            )
        else:
            self.problem(where, Phrase("the decision has no decision table or literal expression."))
        return None

    def check_graph(self, decisions: dict[str, Decision]) -> None:
        for decision in decisions.values():
            for required in decision.required:
                if required not in decisions:
                    element = self.find_decision(decision.id)
                    self.problem(
                        _Where(element, Phrase("Decision '%(name)s' (%(id)s)",
                                               name=decision.name, id=decision.id), decision.name),
                        Phrase("it requires decision '%(required)s', which is not in this file.", required=required),
                    )
        for cycle in _find_cycles({key: d.required for key, d in decisions.items()}):
            first = decisions[cycle[0]]
            path = " -> ".join(f"'{decisions[key].name}' ({key})" for key in cycle)  # names and ids: no words
            self.problem(
                _Where(self.find_decision(first.id), Phrase("Decision '%(name)s' (%(id)s)",
                                                            name=first.name, id=first.id), first.name),
                Phrase("the required decisions form a cycle: %(path)s.", path=path),
            )

    def find_decision(self, decision_id: str) -> etree._Element:
        for element in self.children(self.root, "decision"):
            if element.get("id") == decision_id:
                return element
        return self.root

    # -- decision tables -------------------------------------------------------------------

    def table(self, table: etree._Element, where: _Where) -> DecisionTable | None:
        hit_policy = (table.get("hitPolicy") or "UNIQUE").strip().upper().replace("_", " ")
        aggregation = (table.get("aggregation") or "").strip().upper() or None
        problems_before = len(self.problems)
        self.check_policy(table, where, hit_policy, aggregation)
        input_elements = list(self.children(table, "input"))
        output_elements = list(self.children(table, "output"))
        columns = _Columns(
            [_input_label(element, n) for n, element in enumerate(input_elements, 1)],
            [_output_name(element, n) for n, element in enumerate(output_elements, 1)],
            [self.input_clause(element, where, n) for n, element in enumerate(input_elements, 1)],
            [self.output_clause(element, where, n) for n, element in enumerate(output_elements, 1)],
        )
        self.check_outputs(table, where, hit_policy, aggregation, columns.outputs)
        rules = [self.rule(rule, where, n, columns) for n, rule in enumerate(self.children(table, "rule"), 1)]
        if len(self.problems) > problems_before:
            return None
        return DecisionTable(
            hit_policy,
            aggregation,
            tuple(i for i in columns.inputs if i is not None),
            tuple(o for o in columns.outputs if o is not None),
            tuple(r for r in rules if r is not None),
        )

    def check_policy(self, table: etree._Element, where: _Where, hit_policy: str, aggregation: str | None) -> None:
        here = _Where(table, where.text, where.decision_name)
        if hit_policy not in SINGLE_HIT_POLICIES + MULTI_HIT_POLICIES:
            self.problem(here, Phrase("the hit policy '%(policy)s' is unknown.", policy=table.get("hitPolicy")))
        if aggregation is not None and aggregation not in AGGREGATIONS:
            self.problem(here, Phrase("the aggregation '%(aggregation)s' is unknown (use SUM, MIN, MAX or COUNT).",
                                      aggregation=table.get("aggregation")))
        elif aggregation is not None and hit_policy != "COLLECT":
            self.problem(here, Phrase("an aggregation (%(aggregation)s) needs hit policy COLLECT, not %(hit_policy)s.",
                                      aggregation=aggregation, hit_policy=hit_policy))

    def check_outputs(
        self,
        table: etree._Element,
        where: _Where,
        hit_policy: str,
        aggregation: str | None,
        outputs: list[OutputClause | None],
    ) -> None:
        here = _Where(table, where.text, where.decision_name)
        clauses = [o for o in outputs if o is not None]
        if not outputs:
            self.problem(here, Phrase("the decision table has no output column."))
        if aggregation is not None and len(outputs) > 1:
            self.problem(here, Phrase("an aggregation (%(aggregation)s) needs exactly one output column, not "
                                      "%(count)s.", aggregation=aggregation, count=len(outputs)))
        names = [o.name for o in clauses]
        for name in sorted({n for n in names if names.count(n) > 1}):
            self.problem(here, Phrase("two output columns are named '%(name)s'.", name=name))
        ordered = hit_policy in ("PRIORITY", "OUTPUT ORDER")
        if ordered and len(clauses) == len(outputs) and all(o.values is None for o in clauses):
            self.problem(here, Phrase("hit policy %(hit_policy)s needs output values (the list that orders the "
                                      "outputs).", hit_policy=hit_policy))

    def input_clause(self, element: etree._Element, where: _Where, number: int) -> InputClause | None:
        label = _input_label(element, number)
        here = _Where(element, Phrase("%(text)s, input '%(label)s'", text=where.text, label=label),
                      where.decision_name)
        expression_element = element.find(self.tag("inputExpression"))
        text = (expression_element.findtext(self.tag("text")) or "") if expression_element is not None else ""
        if expression_element is None or not text.strip():
            self.problem(here, Phrase("the input has no expression."))
            return None
        expression = self.compile(_Where(expression_element, here.text, where.decision_name), text, expression=True)
        if not isinstance(expression, FeelExpression):
            return None
        variable = (element.get(f"{{{CAMUNDA_DMN_NS}}}inputVariable") or "").strip() or DEFAULT_INPUT_VARIABLE
        return InputClause(element.get("id") or f"input-{number}", label, expression, variable)

    def output_clause(self, element: etree._Element, where: _Where, number: int) -> OutputClause | None:
        name = _output_name(element, number)
        label = element.get("label") or name
        here = _Where(element, Phrase("%(text)s, output '%(name)s'", text=where.text, name=name), where.decision_name)
        values_element = element.find(self.tag("outputValues"))
        values = None
        if values_element is not None and (values_element.findtext(self.tag("text")) or "").strip():
            values = self.output_values(_Where(values_element, here.text, where.decision_name))
            if values is None:
                return None
        return OutputClause(element.get("id") or name, name, label, element.get("typeRef") or "", values)

    def output_values(self, where: _Where) -> tuple[Any, ...] | None:
        """The output values list (``"high","medium","low"``) as FEEL values, highest priority first."""
        text = (where.element.findtext(self.tag("text")) or "").strip()
        if self.language_problem(where, text):
            return None
        try:
            values = compile_expression(f"[{text}]").evaluate({})
        except FeelSyntaxError as error:
            self.problem(where, Phrase("the output values are not a list of values (%(message)s).",
                                       message=error.phrase))
            return None
        except FeelEvaluationError as error:
            self.problem(where, Phrase("the output values cannot be evaluated (%(message)s).", message=error.phrase))
            return None
        if not isinstance(values, list) or any(value is None for value in values):
            self.problem(where, Phrase("the output values must be a comma-separated list of values."))
            return None
        return tuple(values)

    def rule(self, element: etree._Element, where: _Where, number: int, columns: _Columns) -> Rule | None:
        rule_id = element.get("id") or f"rule-{number}"
        here = _Where(element, Phrase("%(text)s, rule %(number)s (%(rule_id)s)",
                                      text=where.text, number=number, rule_id=rule_id), where.decision_name)
        input_elements = list(self.children(element, "inputEntry"))
        output_elements = list(self.children(element, "outputEntry"))
        if len(input_elements) != len(columns.inputs) or len(output_elements) != len(columns.outputs):
            self.problem(
                here,
                Phrase("the rule has %(count)s input and %(count2)s output entries; the table has %(count3)s input and "
                       "%(count4)s output columns.",
                       count=len(input_elements), count2=len(output_elements), count3=len(columns.inputs),
                       count4=len(columns.outputs)),
            )
            return None
        entries = [
            self.input_entry(entry, _Where(entry, Phrase("%(text)s, input '%(label)s'",
                                                         text=here.text, label=label), where.decision_name), clause)
            for entry, label, clause in zip(input_elements, columns.input_labels, columns.inputs, strict=True)
        ]
        results = [
            self.output_entry(entry, _Where(entry, Phrase("%(text)s, output '%(name)s'",
                                                          text=here.text, name=name), where.decision_name))
            for entry, name in zip(output_elements, columns.output_names, strict=True)
        ]
        if any(entry is None for entry in entries) or any(result is False for result in results):
            return None
        return Rule(
            rule_id, number, tuple(e for e in entries if e is not None),
            tuple(r if isinstance(r, FeelExpression) else None for r in results),
        )  # fmt: skip

    def input_entry(self, element: etree._Element, here: _Where, clause: InputClause | None) -> InputEntry | None:
        text = (element.findtext(self.tag("text")) or "").strip()
        entry_id = element.get("id") or ""
        if text in ("", "-"):
            return InputEntry(entry_id, None) if not self.language_problem(here, text) else None
        tests = self.compile(here, text, expression=False)
        if not isinstance(tests, FeelUnaryTests) or clause is None:
            return None
        binds_input = _names_variable(text, clause.variable) or _names_variable(text, "?")
        try:
            expression: FeelExpression | None = compile_expression(text)
        except FeelSyntaxError:
            expression = None  # unary tests only (``< 5``, ``"a","b"``): they decide alone
        return InputEntry(entry_id, tests, binds_input, expression)

    def output_entry(self, element: etree._Element, here: _Where) -> FeelExpression | bool:
        """The compiled output entry; True for an empty entry (null), False after a problem."""
        text = (element.findtext(self.tag("text")) or "").strip()
        if not text:
            return not self.language_problem(here, text)
        expression = self.compile(here, text, expression=True)
        return expression if isinstance(expression, FeelExpression) else False

    # -- literal expressions ---------------------------------------------------------------

    def literal(
        self, element: etree._Element, where: _Where, variable: str, variable_element: etree._Element | None
    ) -> LiteralExpression | None:
        text = (element.findtext(self.tag("text")) or "").strip()
        here = _Where(element, Phrase("%(text)s, literal expression", text=where.text), where.decision_name)
        if not text:
            self.problem(here, Phrase("the literal expression is empty."))
            return None
        expression = self.compile(here, text, expression=True)
        if not isinstance(expression, FeelExpression):
            return None
        type_ref = element.get("typeRef") or (variable_element.get("typeRef") if variable_element is not None else None)
        return LiteralExpression(expression, variable, type_ref or "")

    # -- expressions -----------------------------------------------------------------------

    def language_problem(self, where: _Where, text: str) -> bool:
        """Report (and say so) an expression that is not FEEL: another expressionLanguage or ``${...}``."""
        language = where.element.get("expressionLanguage") or self.default_language
        if language and not _FEEL_LANGUAGE.match(language.strip()):
            self.problem(where, Phrase("the expression language '%(language)s' is not supported; only FEEL is.",
                                       language=language))
            return True
        if text.startswith(("${", "#{")):
            juel = _shorten(text)
            self.problem(where, Phrase("'%(juel)s' is a JUEL expression; DMN expressions must be FEEL (without ${}).",
                                       juel=juel))
            return True
        return False

    def compile(self, where: _Where, text: str, *, expression: bool) -> FeelExpression | FeelUnaryTests | None:
        if self.language_problem(where, text.strip()):
            return None
        try:
            return compile_expression(text) if expression else compile_unary_tests(text)
        except FeelSyntaxError as error:
            self.problem(where, Phrase("'%(text)s' is not valid FEEL: %(message)s",
                                       text=_shorten(text), message=error.phrase))
            return None


def _shorten(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _names_variable(text: str, name: str) -> bool:
    """Whether a FEEL text mentions a name outside its string literals."""
    bare = _STRING_LITERAL.sub('""', text)
    return re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", bare) is not None


def _find_cycles(graph: Mapping[str, tuple[str, ...]]) -> list[list[str]]:
    """Cycles of the requirement graph, each as a path that returns to its start (iterative DFS)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []
    seen_cycles: set[frozenset[str]] = set()
    for start in graph:
        if start in state:
            continue
        path, pending = [start], [iter(graph[start])]
        state[start] = 1
        while path:
            following = next(pending[-1], None)
            if following is None:
                state[path.pop()] = 2
                pending.pop()
            elif following in graph and state.get(following) == 1:
                cycle = path[path.index(following) :] + [following]
                if frozenset(cycle) not in seen_cycles:
                    seen_cycles.add(frozenset(cycle))
                    cycles.append(cycle)
            elif following in graph and following not in state:
                state[following] = 1
                path.append(following)
                pending.append(iter(graph[following]))
    return cycles
