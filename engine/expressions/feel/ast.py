"""Syntax tree of FEEL expressions and unary tests.

Nodes are immutable data; the interpreter walks them. ``pos`` is the node's offset in the source.
Left-associative chains (``a + b - c``, ``a and b and c``) are single n-ary nodes, so that a long
chain does not become a deep tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True, slots=True)
class Node:
    pos: int


@dataclass(frozen=True, slots=True)
class Literal(Node):
    value: Any


@dataclass(frozen=True, slots=True)
class Name(Node):
    name: str


@dataclass(frozen=True, slots=True)
class Path(Node):
    base: Node
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Filter(Node):
    base: Node
    predicate: Node


@dataclass(frozen=True, slots=True)
class Call(Node):
    callee: Node
    args: tuple[Node, ...]
    names: tuple[str, ...] | None  # parameter names of a call with named arguments


@dataclass(frozen=True, slots=True)
class Negation(Node):
    operand: Node


@dataclass(frozen=True, slots=True)
class Arithmetic(Node):
    """``operands[0] ops[0] operands[1] ops[1] ...`` evaluated left to right."""

    operands: tuple[Node, ...]
    ops: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Comparison(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Conjunction(Node):
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Disjunction(Node):
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Between(Node):
    value: Node
    low: Node
    high: Node


@dataclass(frozen=True, slots=True)
class In(Node):
    value: Node
    tests: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class InstanceOf(Node):
    value: Node
    type_name: str
    item_type: str | None  # for list<T>


@dataclass(frozen=True, slots=True)
class If(Node):
    condition: Node
    then: Node
    otherwise: Node


@dataclass(frozen=True, slots=True)
class ListLiteral(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class ContextLiteral(Node):
    keys: tuple[str, ...]
    values: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class RangeLiteral(Node):
    start: Node
    end: Node
    start_included: bool
    end_included: bool


@dataclass(frozen=True, slots=True)
class Iteration(Node):
    """``name in source`` or ``name in source..end`` of for/some/every."""

    name: str
    source: Node
    end: Node | None


@dataclass(frozen=True, slots=True)
class For(Node):
    iterations: tuple[Iteration, ...]
    body: Node
    uses_partial: bool  # the body reads ``partial`` (the results so far)


@dataclass(frozen=True, slots=True)
class Quantified(Node):
    every: bool
    iterations: tuple[Iteration, ...]
    condition: Node


@dataclass(frozen=True, slots=True)
class FunctionLiteral(Node):
    params: tuple[str, ...]
    body: Node


# Unary tests (DMN input entries and the right-hand side of ``in``)


@dataclass(frozen=True, slots=True)
class CompareTest(Node):
    """``< 5``: the input compared with the operand."""

    op: str
    operand: Node


@dataclass(frozen=True, slots=True)
class ExpressionTest(Node):
    """An expression: equal to the input, a list containing it, a range, or a condition on ``?``."""

    expression: Node
    uses_input: bool


@dataclass(frozen=True, slots=True)
class AnyTest(Node):
    """``-``: matches anything."""


@dataclass(frozen=True, slots=True)
class NegatedTests(Node):
    """``not(t1, t2)``."""

    tests: tuple[Node, ...]


def children(node: Node) -> Iterator[Node]:
    for field in fields(node):
        value = getattr(node, field.name)
        if isinstance(value, Node):
            yield value
        elif isinstance(value, tuple):
            yield from (item for item in value if isinstance(item, Node))


def walk(root: Node) -> Iterator[tuple[Node, int]]:
    """Every node with its depth (root = 1), without recursion: trees can be deep."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        stack.extend((child, depth + 1) for child in children(node))


def uses_name(root: Node, name: str) -> bool:
    return any(isinstance(node, Name) and node.name == name for node, _ in walk(root))
