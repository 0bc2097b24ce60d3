"""Sandboxed JUEL subset: the Camunda 7 ``${...}`` / ``#{...}`` expression language, as data.

Our own tokenizer, parser and tree-walking interpreter; nothing from the text is ever executed as
Python and no Python attribute is ever read. Typical use::

    expression = compile_expression("${amount > 1000 && !approved}")
    expression.evaluate({"amount": 1500, "approved": False})      # True
    evaluate("Hello ${customer.name}", variables)                  # "Hello Lan"

A text that is exactly one ``${expr}`` evaluates to the typed value of ``expr``; literal text around
or between expressions makes a *composite* expression whose value is a string (each part coerced to
text as EL does: null becomes ""). ``\\${`` and ``\\#{`` write a literal ``${`` / ``#{``.

Supported: integer, decimal and exponent number literals; strings in '...' or "..." with the
escapes ``\\'``, ``\\"`` and ``\\\\``; ``true``/``false``/``null``; process variables by name (an
unknown name is an error, as in Camunda); ``a.b``, ``a['b']`` and ``a[0]`` on maps and lists (a
missing key or an index out of range gives null); ``+ - * / div % mod`` and unary ``-``;
``== eq != ne < lt > gt <= le >= ge``; ``&& and || or ! not``; ``empty x``; ``c ? a : b``.

Coercions follow the EL 2.2 specification (section 1.7-1.9) where they are simple: null is 0 in
arithmetic and false in logic; a string operand of arithmetic or of a comparison with a number is
parsed as a number (``"10" > 9`` is true, ``"abc" > 9`` is an error); ``+`` only adds numbers;
``/`` divides as floating point (``7 / 2`` is 3.5, ``4 / 2`` is 2.0) unless an operand is a
Decimal; ``%`` keeps the sign of the dividend, as Java does.

Not supported, on purpose: method and function calls (``execution.getVariable('x')``,
``bean.method(x)``, ``fn:name(x)``), because they need Java beans: they are refused at parse time
with :class:`JuelUnsupported`. Also refused: the EL 3 additions (string concatenation ``+=``,
assignment ``=``, ``;``, lambdas ``->``, collection literals ``[...]``/``{...}``),
``instanceof``, and variable or property names starting with ``__`` (written as ``.name`` or
``['name']``). Differences from Java: integers do not overflow (they are limited to about 1,000
digits instead), division or ``%`` by zero and results that are not finite numbers are errors
instead of ``Infinity``/``NaN``, and properties of anything other than maps and lists (strings,
numbers, dates) cannot be read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from engine.errors import Count, ExpressionError, Phrase, Text
from engine.expressions.feel.lexer import column_of, where

__all__ = [
    "JuelError",
    "JuelEvaluationError",
    "JuelExpression",
    "JuelSyntaxError",
    "JuelUnsupported",
    "compile_expression",
    "evaluate",
]

# Limits (the same style and sizes as the FEEL evaluator, see feel_errors.py)
MAX_EXPRESSION_LENGTH = 10_000
MAX_NESTING = 100  # syntactic nesting and depth of the syntax tree
MAX_STEPS = 100_000  # syntax-tree node visits per evaluation
MAX_STRING_LENGTH = 1_000_000  # characters of a composite result or of a value turned into text
MAX_INTEGER_BITS = 3_322  # about 1,000 decimal digits
MAX_VALUE_DEPTH = 100  # nesting of lists/maps turned into text

_CALL_REFUSAL = Phrase("method calls on Java beans are not supported; use process variables")
_CALLS = {"function": Phrase("function"), "method": Phrase("method")}


# -- errors ------------------------------------------------------------------------------------


class JuelError(ExpressionError):
    """Common base of the JUEL errors; ``column`` (1-based) says where, when it is known."""

    def __init__(self, message: Text, expression: str | None = None, column: int | None = None) -> None:
        super().__init__(message, expression)
        self.column = column


class JuelSyntaxError(JuelError):
    """The text is not a JUEL expression we can parse."""


class JuelUnsupported(JuelError):
    """Valid JUEL that this engine refuses to evaluate (method calls, EL 3 features)."""


class JuelEvaluationError(JuelError):
    """Evaluation failed: a type could not be coerced, a variable is unknown, or a limit was hit."""


def _syntax_error(text: str, pos: int, message: Phrase) -> JuelSyntaxError:
    return JuelSyntaxError(Phrase("JUEL syntax error at %(where)s: %(problem)s", where=where(text, pos),
                                  problem=message), text, column_of(text, pos)[1])  # fmt: skip


def _unsupported(text: str, pos: int, message: Phrase) -> JuelUnsupported:
    return JuelUnsupported(Phrase("JUEL at %(where)s: %(problem)s", where=where(text, pos), problem=message), text,
                           column_of(text, pos)[1])  # fmt: skip


# -- tokens ------------------------------------------------------------------------------------

INT = "integer"
FLOAT = "decimal"
STRING = "string"
NAME = "name"
OP = "op"
END = "end"  # the closing '}'

KEYWORDS = frozenset(
    {
        "true",
        "false",
        "null",
        "empty",
        "not",
        "div",
        "mod",
        "eq",
        "ne",
        "lt",
        "gt",
        "le",
        "ge",
        "and",
        "or",
        "instanceof",
    }
)
_WORD_OPERATORS = {
    "div": "/",
    "mod": "%",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "gt": ">",
    "le": "<=",
    "ge": ">=",
    "and": "&&",
    "or": "||",
    "not": "!",
}
_OPERATORS = ("&&", "||", "==", "!=", "<=", ">=", "->", "+=", *"+-*/%<>!?:.[](),")
_EL3_REFUSALS = {
    "->": Phrase("lambda expressions ('->', EL 3) are not supported"),
    "+=": Phrase("string concatenation with '+=' (EL 3) is not supported; put the text around ${...} instead"),
    "=": Phrase("assignment with '=' (EL 3) is not supported; compare with '=='"),
    ";": Phrase("';' (EL 3 statement separator) is not supported"),
    "{": Phrase("collection literals '{...}' (EL 3) are not supported"),
}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str  # the operator (word operators normalised: 'and' -> '&&'), the name, or the literal's source
    pos: int  # offset in the whole text, 0-based
    source: str = ""  # what was written, when it differs from ``text``
    value: Any = None  # int/float for numbers, str for strings

    def is_op(self, *ops: str) -> bool:
        return self.kind == OP and self.text in ops

    def describe(self) -> Phrase:
        if self.kind == END:
            return Phrase("'}'")
        if self.kind == STRING:
            return Phrase("a string")
        if self.kind in (INT, FLOAT):
            return Phrase("number %(number)s", number=self.text)
        return Phrase("'%(token)s'", token=self.source or self.text)


_NUMBER = re.compile(r"\d*(\.\d*)?([eE][+-]?\d+)?")


class _Lexer:
    """Tokens of one ``${...}`` body, from ``start`` up to and including its closing ``}``."""

    def __init__(self, text: str, start: int, opener: int) -> None:
        self.text = text
        self.pos = start
        self.opener = opener  # offset of the '$' or '#', for the "never closed" message
        self.tokens: list[Token] = []

    def tokenize(self) -> tuple[list[Token], int]:
        """The tokens and the offset just after the closing ``}``."""
        text = self.text
        while True:
            while self.pos < len(text) and text[self.pos].isspace():
                self.pos += 1
            if self.pos >= len(text):
                opening = text[self.opener : self.opener + 2]
                raise _syntax_error(text, self.opener, Phrase("'%(opening)s' is never closed with '}'",
                                                              opening=opening))
            char = text[self.pos]
            if char == "}":
                self.tokens.append(Token(END, "}", self.pos))
                return self.tokens, self.pos + 1
            if char.isdigit() or (char == "." and self.pos + 1 < len(text) and text[self.pos + 1].isdigit()):
                self._number()
            elif char in "'\"":
                self._string(char)
            elif char.isalpha() or char in "_$":
                self._name()
            else:
                self._operator()

    def _number(self) -> None:
        start = self.pos
        match = _NUMBER.match(self.text, start)
        assert match is not None  # the pattern matches the empty string
        source = match.group(0)
        self.pos = match.end()
        if match.group(1) is None and match.group(2) is None:
            value = int(source) if len(source) <= 1_000 else None
            if value is None:
                raise _syntax_error(self.text, start, Phrase("the number is too large"))
            self.tokens.append(Token(INT, source, start, value=value))
            return
        number = float(source)
        if not math.isfinite(number):
            raise _syntax_error(self.text, start, Phrase("the number is too large"))
        self.tokens.append(Token(FLOAT, source, start, value=number))

    def _string(self, quote: str) -> None:
        text = self.text
        start = self.pos
        self.pos += 1
        parts: list[str] = []
        while True:
            stop = self._next_stop(quote)
            if stop < 0:
                raise _syntax_error(text, start, Phrase("the string starting here is never closed with %(quote)s",
                                                        quote=quote))
            parts.append(text[self.pos : stop])
            if text[stop] == quote:
                self.pos = stop + 1
                break
            escaped = text[stop + 1 : stop + 2]
            if escaped not in ("\\", "'", '"'):
                shown = f"\\{escaped}" if escaped else "\\"
                raise _syntax_error(text, stop, Phrase(
                    "'%(shown)s' is not an escape of JUEL; only the escapes %(allowed)s are allowed in strings",
                    shown=shown, allowed="\\' \\\" \\\\"))  # fmt: skip
            parts.append(escaped)
            self.pos = stop + 2
        self.tokens.append(Token(STRING, text[start : self.pos], start, value="".join(parts)))

    def _next_stop(self, quote: str) -> int:
        closing = self.text.find(quote, self.pos)
        backslash = self.text.find("\\", self.pos)
        if backslash >= 0 and (closing < 0 or backslash < closing):
            return backslash
        return closing

    def _name(self) -> None:
        text = self.text
        start = self.pos
        end = start + 1
        while end < len(text) and (text[end].isalnum() or text[end] in "_$"):
            end += 1
        word = text[start:end]
        self.pos = end
        if word in _WORD_OPERATORS:
            self.tokens.append(Token(OP, _WORD_OPERATORS[word], start, source=word))
        else:
            self.tokens.append(Token(NAME, word, start))

    def _operator(self) -> None:
        text = self.text
        for op in _OPERATORS:
            if text.startswith(op, self.pos):
                if op in _EL3_REFUSALS:
                    raise _unsupported(text, self.pos, _EL3_REFUSALS[op])
                self.tokens.append(Token(OP, op, self.pos))
                self.pos += len(op)
                return
        char = text[self.pos]
        if char in _EL3_REFUSALS:
            raise _unsupported(text, self.pos, _EL3_REFUSALS[char])
        if char in "&|":
            write = "&&' or 'and" if char == "&" else "||' or 'or"
            raise _syntax_error(text, self.pos, Phrase("unexpected character '%(char)s' (write '%(write)s')", char=char,
                                                       write=write))  # fmt: skip
        raise _syntax_error(text, self.pos, Phrase("unexpected character '%(char)s'", char=char))


# -- syntax tree -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any


@dataclass(frozen=True, slots=True)
class Identifier:
    name: str
    pos: int


@dataclass(frozen=True, slots=True)
class Path:
    """``base.key`` / ``base[expr]`` steps, kept flat so that long paths do not nest the tree."""

    base: Node
    keys: tuple[str | Node, ...]  # a str for ``.name``, a node for ``[expr]``


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # '-', '!' or 'empty'
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # canonical: + - * / % == != < > <= >= && ||
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Ternary:
    condition: Node
    then: Node
    otherwise: Node


Node = Literal | Identifier | Path | Unary | Binary | Ternary


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Path):
        return (node.base, *(key for key in node.keys if not isinstance(key, str)))
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Ternary):
        return (node.condition, node.then, node.otherwise)
    return ()


def _tree_depth(root: Node) -> int:
    deepest = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in _children(node))
    return deepest


# -- parser ------------------------------------------------------------------------------------

BP_TERNARY = 1
BP_OR = 2
BP_AND = 3
BP_EQUALITY = 4
BP_RELATION = 5
BP_ADD = 6
BP_MUL = 7
BP_UNARY = 8

_BINARY_BP = {
    "||": BP_OR,
    "&&": BP_AND,
    "==": BP_EQUALITY,
    "!=": BP_EQUALITY,
    "<": BP_RELATION,
    ">": BP_RELATION,
    "<=": BP_RELATION,
    ">=": BP_RELATION,
    "+": BP_ADD,
    "-": BP_ADD,
    "*": BP_MUL,
    "/": BP_MUL,
    "%": BP_MUL,
}


class _Parser:
    """Precedence climbing over the tokens of one ``${...}`` body."""

    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != END:
            self.index += 1
        return token

    def error(self, message: Phrase, token: Token | None = None) -> JuelSyntaxError:
        return _syntax_error(self.text, (token or self.peek()).pos, message)

    def expect(self, op: str, purpose: Phrase) -> None:
        token = self.peek()
        if not token.is_op(op):
            raise self.error(Phrase("expected '%(op)s' %(purpose)s, but found %(found)s",
                                    op=op, purpose=purpose, found=token.describe()))
        self.advance()

    def parse(self, opener: int) -> Node:
        if self.peek().kind == END:
            raise _syntax_error(self.text, opener, Phrase("the expression is empty"))
        node = self.expression(0)
        token = self.peek()
        if token.kind != END:
            raise self.error(Phrase("unexpected %(found)s; expected an operator or '}'", found=token.describe()))
        if _tree_depth(node) > MAX_NESTING:
            raise _syntax_error(
                self.text, opener, Phrase("the expression is nested too deeply (more than %(limit)s levels)",
                                          limit=MAX_NESTING)
            )
        return node

    def expression(self, min_bp: int) -> Node:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(Phrase("the expression is nested too deeply (more than %(limit)s levels)",
                                    limit=MAX_NESTING))
        try:
            left = self.prefix()
            while True:
                token = self.peek()
                if token.kind == NAME and token.text == "instanceof":
                    raise _unsupported(
                        self.text, token.pos, Phrase("'instanceof' is a reserved word of EL and is not supported")
                    )
                if token.is_op("?") and min_bp < BP_TERNARY:
                    left = self.ternary(left, token)
                    continue
                bp = _BINARY_BP.get(token.text) if token.kind == OP else None
                if bp is None or bp <= min_bp:
                    return left
                self.advance()
                left = Binary(token.text, left, self.expression(bp))
        finally:
            self.depth -= 1

    def ternary(self, condition: Node, question: Token) -> Node:
        self.advance()
        then = self.expression(0)
        self.expect(":", Phrase("of the '?' at %(where)s", where=where(self.text, question.pos)))
        return Ternary(condition, then, self.expression(BP_TERNARY - 1))

    def prefix(self) -> Node:
        token = self.advance()
        if token.kind in (INT, FLOAT, STRING):
            return self.postfix(Literal(token.value), token.pos)
        if token.kind == NAME:
            return self.name(token)
        if token.is_op("-"):
            return Unary("-", self.expression(BP_UNARY))
        if token.is_op("!"):
            return Unary("!", self.expression(BP_UNARY))
        if token.is_op("("):
            inner = self.expression(0)
            self.expect(")", Phrase("to close the '(' at %(where)s", where=where(self.text, token.pos)))
            return self.postfix(inner, token.pos)
        if token.is_op("["):
            raise _unsupported(self.text, token.pos, Phrase("list literals '[...]' (EL 3) are not supported"))
        if token.kind == END:
            raise self.error(Phrase("expected a value, but the expression ends here"), token)
        raise self.error(Phrase("expected a value, but found %(found)s", found=token.describe()), token)

    def name(self, token: Token) -> Node:
        word = token.text
        if word in ("true", "false"):
            return Literal(word == "true")
        if word == "null":
            return Literal(None)
        if word == "empty":
            return Unary("empty", self.expression(BP_UNARY))
        if word == "instanceof":
            raise _unsupported(self.text, token.pos, Phrase("'instanceof' is a reserved word of EL and is not "
                                                            "supported"))
        self.property_name(word, token.pos)
        if self.peek().is_op("("):
            self.refuse_call(token.pos, self.peek().pos, "function")
        if self.peek().is_op(":") and self.peek(1).kind == NAME and self.peek(2).is_op("("):
            self.refuse_call(token.pos, self.peek(2).pos, "function")
        return self.postfix(Identifier(word, token.pos), token.pos)

    def postfix(self, base: Node, start: int) -> Node:
        keys: list[str | Node] = []
        while True:
            token = self.peek()
            if token.is_op("."):
                self.advance()
                name = self.peek()
                if name.kind != NAME and not (name.kind == OP and name.source):
                    raise self.error(Phrase("expected a property name after '.', but found %(found)s",
                                            found=name.describe()))
                self.advance()
                keys.append(self.property_name(name.source or name.text, name.pos))
            elif token.is_op("["):
                self.advance()
                key = self.expression(0)
                if isinstance(key, Literal) and isinstance(key.value, str):
                    self.property_name(key.value, self.tokens[self.index - 1].pos)
                keys.append(key)
                self.expect("]", Phrase("to close the '[' at %(where)s", where=where(self.text, token.pos)))
            else:
                break
            if self.peek().is_op("("):
                self.refuse_call(start, self.peek().pos, "method")
        return Path(base, tuple(keys)) if keys else base

    def property_name(self, name: str, pos: int) -> str:
        """Names starting with '__' are refused outright: they only ever appear in escape attempts."""
        if name.startswith("__"):
            raise _unsupported(self.text, pos, Phrase("the property name '%(text)s' starts with '__'",
                                                      text=_clip(name)))
        return name

    def refuse_call(self, start: int, paren: int, kind: str) -> None:
        """``kind``: "function" or "method"."""
        callee = " ".join(self.text[start:paren].split())
        if len(callee) > 80:
            callee = callee[:77] + "..."
        raise _unsupported(self.text, start, Phrase(
            "the %(kind)s call '%(callee)s(...)' cannot be evaluated: %(reason)s", kind=_CALLS[kind], callee=callee,
            reason=_CALL_REFUSAL))  # fmt: skip


# -- composite text ----------------------------------------------------------------------------


def _parse_composite(text: str) -> tuple[str | Node, ...]:
    """Literal text and parsed ``${...}`` bodies, in order."""
    parts: list[str | Node] = []
    literal: list[str] = []
    markers: set[str] = set()
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and text[i + 1 : i + 2] in ("$", "#") and text[i + 2 : i + 3] == "{":
            literal.append(text[i + 1 : i + 3])
            i += 3
            continue
        if char in "$#" and text[i + 1 : i + 2] == "{":
            markers.add(char)
            if len(markers) > 1:
                raise _syntax_error(text, i, Phrase("'${...}' and '#{...}' cannot be mixed in one expression"))
            if literal:
                parts.append("".join(literal))
                literal = []
            tokens, i_next = _Lexer(text, i + 2, i).tokenize()
            parts.append(_Parser(text, tokens).parse(i))
            i = i_next
            continue
        literal.append(char)
        i += 1
    if literal:
        parts.append("".join(literal))
    return tuple(parts)


# -- values and coercions (EL 2.2, section 1.17) -----------------------------------------------


def _fail(message: Phrase) -> JuelEvaluationError:
    return JuelEvaluationError(message)


def _type_name(value: Any) -> Phrase:
    if value is None:
        return Phrase("null")
    if isinstance(value, bool):
        return Phrase("a boolean")
    if isinstance(value, int | float | Decimal):
        return Phrase("a number")
    if isinstance(value, str):
        return Phrase("a string")
    if isinstance(value, list | tuple):
        return Phrase("a list")
    if isinstance(value, dict):
        return Phrase("a map")
    return Phrase("a value of type %(type)s", type=type(value).__name__)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _looks_floating(value: Any) -> bool:
    """EL: a Float/Double, or a String containing '.', 'e' or 'E', makes arithmetic floating point."""
    return isinstance(value, float) or (isinstance(value, str) and any(c in value for c in ".eE"))


_LONG_TEXT = re.compile(r"[+-]?\d{1,1000}")
_DOUBLE_TEXT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _to_integer(value: Any) -> int:
    """Coerce to Long: null and "" are 0, strings are parsed, booleans and containers are errors."""
    if value is None or value == "":
        return 0
    if _is_integer(value):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _fail(Phrase("%(value)s cannot be used as a whole number.", value=value))
        return int(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _fail(Phrase("%(value)s cannot be used as a whole number.", value=value))
        return int(value)
    if isinstance(value, str):
        if _LONG_TEXT.fullmatch(value):
            return int(value)
        raise _fail(Phrase("The string '%(text)s' is not a whole number.", text=_clip(value)))
    raise _fail(Phrase("Cannot use %(type)s as a number.", type=_type_name(value)))


def _to_float(value: Any) -> float:
    if value is None or value == "":
        return 0.0
    if isinstance(value, str):
        if _DOUBLE_TEXT.fullmatch(value.strip()):
            return float(value)
        raise _fail(Phrase("The string '%(text)s' is not a number.", text=_clip(value)))
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise _fail(Phrase("Cannot use %(type)s as a number.", type=_type_name(value)))
    return float(value)


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str) and value and not _DOUBLE_TEXT.fullmatch(value.strip()):
        raise _fail(Phrase("The string '%(text)s' is not a number.", text=_clip(value)))
    return Decimal(value.strip()) if isinstance(value, str) and value else Decimal(_to_integer(value))


def _to_boolean(value: Any) -> bool:
    """Coerce to Boolean: null and "" are false, a string is true only if it is 'true' (any case)."""
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.lower() == "true"
    raise _fail(Phrase("Cannot use %(type)s as a boolean (true or false).", type=_type_name(value)))


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _double_text(number: float) -> str:
    """Java's ``Double.toString``: ``1.0``, ``0.001``, ``1.0E7``, ``1.5E-4``."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    magnitude = abs(number)
    if magnitude == 0 or 1e-3 <= magnitude < 1e7:
        return repr(number)
    _, digits, exponent = Decimal(repr(magnitude)).as_tuple()
    assert isinstance(exponent, int)
    shown = "".join(map(str, digits)).rstrip("0") or "0"
    scale = exponent + len(digits) - 1
    sign = "-" if number < 0 else ""
    return f"{sign}{shown[0]}.{shown[1:] or '0'}E{scale}"


class _TextBuilder:
    """Java ``toString`` of a value, with a size budget: ``[a, b]``, ``{k=v}``, ``null`` inside them."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.pieces: list[str] = []

    def add(self, piece: str) -> None:
        self.budget -= len(piece)
        if self.budget < 0:
            raise _fail(Phrase("The text of the expression would be longer than %(limit)s characters.",
                               limit=Count(MAX_STRING_LENGTH)))
        self.pieces.append(piece)

    def value(self, value: Any, depth: int = 0) -> None:
        if depth > MAX_VALUE_DEPTH:
            raise _fail(Phrase("A value is nested more than %(limit)s levels deep and cannot be shown as text.",
                               limit=MAX_VALUE_DEPTH))
        if isinstance(value, list | tuple):
            self.add("[")
            for index, item in enumerate(value):
                self.add(", " if index else "")
                self.value(item, depth + 1)
            self.add("]")
        elif isinstance(value, dict):
            self.add("{")
            for index, (key, item) in enumerate(value.items()):
                self.add(", " if index else "")
                self.value(key, depth + 1)
                self.add("=")
                self.value(item, depth + 1)
            self.add("}")
        else:
            self.add("null" if value is None else _scalar_text(value))


def _scalar_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _double_text(value)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _to_text(value: Any, budget: int = MAX_STRING_LENGTH) -> str:
    """Coerce to String: null is "", everything else its Java-like text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    builder = _TextBuilder(budget)
    builder.value(value)
    return "".join(builder.pieces)


# -- operators ---------------------------------------------------------------------------------


def _checked(result: Any) -> Any:
    if _is_integer(result) and result.bit_length() > MAX_INTEGER_BITS:
        raise _fail(Phrase("The result is too large (more than about 1,000 digits)."))
    if isinstance(result, float) and not math.isfinite(result):
        raise _fail(Phrase("The result is not a finite number."))
    if isinstance(result, Decimal) and not result.is_finite():
        raise _fail(Phrase("The result is not a finite number."))
    return result


def _numeric_kind(left: Any, right: Any, op: str) -> str:
    for value in (left, right):
        if isinstance(value, bool) and op == "+":
            raise _fail(Phrase("Cannot use a boolean in '+' ('+' only adds numbers)."))
        if isinstance(value, bool):
            raise _fail(Phrase("Cannot use a boolean in '%(op)s'.", op=op))
        if value is not None and not isinstance(value, int | float | Decimal | str):
            raise _fail(Phrase("Cannot use %(type)s in '%(op)s'.", type=_type_name(value), op=op))
    if isinstance(left, Decimal) or isinstance(right, Decimal):
        return "decimal"
    if _looks_floating(left) or _looks_floating(right):
        return "float"
    return "int"


_NUMBER_OPERATIONS: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
}


def _arithmetic(op: str, left: Any, right: Any) -> Any:
    """``+ - *`` by the EL rules: both null is 0, then Decimal, floating point or integer."""
    if left is None and right is None:
        return 0
    try:
        return _checked(_coerced_operation(op, left, right))
    except JuelEvaluationError as error:
        if op == "+" and (isinstance(left, str) or isinstance(right, str)):
            raise _fail(Phrase(
                "%(problem)s '+' only adds numbers in JUEL; to join text, write it around the expressions, e.g. "
                "'Dear ${title} ${name}' ('+=' of EL 3 is not supported).",
                problem=error.phrase)) from None  # fmt: skip
        raise


def _coerced_operation(op: str, left: Any, right: Any) -> Any:
    kind = _numeric_kind(left, right, op)
    operation = _NUMBER_OPERATIONS[op]
    if kind == "decimal":
        return operation(_to_decimal(left), _to_decimal(right))
    if kind == "float":
        return operation(_to_float(left), _to_float(right))
    return operation(_to_integer(left), _to_integer(right))


def _divide(left: Any, right: Any) -> Any:
    if left is None and right is None:
        return 0
    kind = _numeric_kind(left, right, "/")
    if kind == "decimal" or (_is_integer(left) and _is_integer(right) and max(abs(left), abs(right)) >= 2**63):
        divisor = _to_decimal(right)
        if divisor == 0:
            raise _fail(Phrase("Division by zero."))
        return _checked(_to_decimal(left) / divisor)
    denominator = _to_float(right)
    if denominator == 0:
        raise _fail(Phrase("Division by zero."))
    return _checked(_to_float(left) / denominator)


def _remainder(left: Any, right: Any) -> Any:
    """``%`` keeps the sign of the dividend (Java), unlike Python's ``%``."""
    if left is None and right is None:
        return 0
    kind = _numeric_kind(left, right, "%")
    if kind in ("decimal", "float"):
        dividend, divisor = _to_float(left), _to_float(right)
        if divisor == 0:
            raise _fail(Phrase("Division by zero in '%'."))
        return _checked(math.fmod(dividend, divisor))
    a, b = _to_integer(left), _to_integer(right)
    if b == 0:
        raise _fail(Phrase("Division by zero in '%'."))
    remainder = abs(a) % abs(b)
    return -remainder if a < 0 else remainder


def _negate(value: Any) -> Any:
    if value is None:
        return 0
    if isinstance(value, str):
        return -_to_float(value) if _looks_floating(value) else -_to_integer(value)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise _fail(Phrase("Cannot negate %(type)s.", type=_type_name(value)))
    return -value


def _comparison_kind(left: Any, right: Any) -> str:
    """Which coercion EL applies to compare the two (neither is null)."""
    if isinstance(left, Decimal) or isinstance(right, Decimal):
        return "decimal"
    if isinstance(left, float) or isinstance(right, float):
        return "float"
    if _is_integer(left) or _is_integer(right):
        return "int"
    return ""


def _coerced_pair(kind: str, left: Any, right: Any) -> tuple[Any, Any]:
    if kind == "decimal":
        return _to_decimal(left), _to_decimal(right)
    if kind == "float":
        return _to_float(left), _to_float(right)
    return _to_integer(left), _to_integer(right)


_ORDERED_TYPES = (date, datetime, time, timedelta)


def _order(left: Any, right: Any, op: str) -> int:
    """-1, 0 or 1 for ``<``-style comparisons of two non-null values."""
    kind = _comparison_kind(left, right)
    if kind:
        a, b = _coerced_pair(kind, left, right)
    elif isinstance(left, str) or isinstance(right, str):
        a, b = _to_text(left), _to_text(right)
    elif isinstance(left, bool) and isinstance(right, bool):
        a, b = int(left), int(right)
    elif type(left) is type(right) and isinstance(left, _ORDERED_TYPES):
        a, b = left, right
    else:
        raise _fail(Phrase("Cannot compare %(type)s with %(type2)s using '%(op)s'.",
                           type=_type_name(left), type2=_type_name(right), op=op))
    try:
        return (a > b) - (a < b)
    except TypeError:
        raise _fail(Phrase("Cannot compare %(type)s with %(type2)s using '%(op)s'.",
                           type=_type_name(left), type2=_type_name(right), op=op)) from None


def _equals(left: Any, right: Any) -> bool:
    if left is right:
        return True
    if left is None or right is None:
        return False
    kind = _comparison_kind(left, right)
    if kind:
        a, b = _coerced_pair(kind, left, right)
        return bool(a == b)
    if isinstance(left, bool) or isinstance(right, bool):
        return _to_boolean(left) == _to_boolean(right)
    if isinstance(left, str) or isinstance(right, str):
        return _to_text(left) == _to_text(right)
    return bool(left == right)


def _relation(op: str, left: Any, right: Any) -> bool:
    if op in ("<=", ">=") and left is right:
        return True
    if left is None or right is None:
        return False
    order = _order(left, right, op)
    return {"<": order < 0, ">": order > 0, "<=": order <= 0, ">=": order >= 0}[op]


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str | list | tuple | dict | set | frozenset):
        return len(value) == 0
    return False


def _member(value: Any, key: Any, dotted: bool = False) -> Any:
    """``value.key`` / ``value[key]`` on maps and lists only; null, a missing key or index gives null."""
    if value is None:
        return None
    if isinstance(value, dict):
        try:
            return value.get(key)
        except TypeError:
            raise _fail(Phrase("This cannot be a key of a map: %(type)s.", type=_type_name(key))) from None
    if isinstance(value, list | tuple):
        if dotted:
            raise _fail(Phrase("Cannot read property '%(text)s' of a list; select an item with an index, e.g. "
                               "items[0].", text=_clip(key)))
        index = _to_integer(key)
        return value[index] if 0 <= index < len(value) else None
    shown = key if isinstance(key, str) else _to_text(key, 100)
    raise _fail(Phrase("Cannot read property '%(text)s' of %(type)s; only maps and lists have properties.",
                       text=_clip(shown), type=_type_name(value)))


# -- interpreter -------------------------------------------------------------------------------


class _Evaluation:
    """One evaluation against one context: holds the step budget."""

    def __init__(self, context: Mapping[str, Any]) -> None:
        self.context = context
        self.steps = 0

    def run(self, node: Node) -> Any:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise _fail(Phrase("The expression needs more than %(limit)s evaluation steps.", limit=Count(MAX_STEPS)))
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Identifier):
            return self.variable(node)
        if isinstance(node, Path):
            return self.path(node)
        if isinstance(node, Unary):
            return self.unary(node)
        if isinstance(node, Binary):
            return self.binary(node)
        return self.run(node.then if _to_boolean(self.run(node.condition)) else node.otherwise)

    def variable(self, node: Identifier) -> Any:
        if node.name not in self.context:
            raise _fail(Phrase("Unknown variable '%(name)s': no process variable has this name.", name=node.name))
        return self.context[node.name]

    def path(self, node: Path) -> Any:
        value = self.run(node.base)
        for key in node.keys:
            value = _member(value, key, dotted=True) if isinstance(key, str) else _member(value, self.run(key))
        return value

    def unary(self, node: Unary) -> Any:
        value = self.run(node.operand)
        if node.op == "-":
            return _checked(_negate(value))
        if node.op == "!":
            return not _to_boolean(value)
        return _is_empty(value)

    def binary(self, node: Binary) -> Any:
        op = node.op
        if op == "&&":
            return _to_boolean(self.run(node.left)) and _to_boolean(self.run(node.right))
        if op == "||":
            return _to_boolean(self.run(node.left)) or _to_boolean(self.run(node.right))
        left, right = self.run(node.left), self.run(node.right)
        if op in _NUMBER_OPERATIONS:
            return _arithmetic(op, left, right)
        if op == "/":
            return _divide(left, right)
        if op == "%":
            return _remainder(left, right)
        if op == "==":
            return _equals(left, right)
        if op == "!=":
            return not _equals(left, right)
        return _relation(op, left, right)


# -- public interface --------------------------------------------------------------------------


class JuelExpression:
    """A parsed JUEL text (``${...}``, ``#{...}``, or literal text around them)."""

    __slots__ = ("_parts", "source")

    def __init__(self, source: str, parts: tuple[str | Node, ...]) -> None:
        self.source = source
        self._parts = parts

    def __repr__(self) -> str:
        return f"JuelExpression({self.source!r})"

    @property
    def is_literal_text(self) -> bool:
        """True when the text holds no ``${...}`` at all (it evaluates to itself)."""
        return all(isinstance(part, str) for part in self._parts)

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """The value with the given process variables: typed for one ``${expr}``, else a string."""
        try:
            return self._evaluate(context)
        except JuelError as error:
            if error.expression is None:
                error.expression = self.source
            raise
        except RecursionError:
            raise JuelEvaluationError("The expression is nested too deeply to evaluate.", self.source) from None
        except MemoryError:
            raise JuelEvaluationError("The expression needs too much memory to evaluate.", self.source) from None
        except Exception as error:  # a bug of ours must still reach the caller as an expression error
            raise JuelEvaluationError(
                Phrase("The expression could not be evaluated (%(type)s: %(error)s).",
                       type=type(error).__name__, error=error), self.source
            ) from error

    def _evaluate(self, context: Mapping[str, Any]) -> Any:
        evaluation = _Evaluation(context)
        parts = self._parts
        if len(parts) == 1 and not isinstance(parts[0], str):
            return evaluation.run(parts[0])
        pieces: list[str] = []
        budget = MAX_STRING_LENGTH
        for part in parts:
            piece = part if isinstance(part, str) else _to_text(evaluation.run(part), budget)
            budget -= len(piece)
            if budget < 0:
                raise _fail(Phrase("The text of the expression would be longer than %(limit)s characters.",
                                   limit=Count(MAX_STRING_LENGTH)))
            pieces.append(piece)
        return "".join(pieces)


@lru_cache(maxsize=2048)
def _compile(text: str) -> JuelExpression:
    try:
        return JuelExpression(text, _parse_composite(text))
    except RecursionError:
        raise JuelSyntaxError("The JUEL expression is nested too deeply.", text) from None


def compile_expression(text: str) -> JuelExpression:
    """Parse a JUEL text including its ``${...}`` (cached); raises JuelSyntaxError or JuelUnsupported."""
    if not isinstance(text, str):
        raise JuelSyntaxError(Phrase("A JUEL expression must be text, not %(type)s.", type=type(text).__name__))
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise JuelSyntaxError(
            Phrase("The JUEL expression has %(count)s characters; the limit is %(limit)s.",
                   count=Count(len(text)), limit=Count(MAX_EXPRESSION_LENGTH)),
            text[:200] + "…",
        )
    return _compile(text)


def evaluate(text: str, context: Mapping[str, Any]) -> Any:
    """Parse (cached) and evaluate a JUEL text against process variables."""
    return compile_expression(text).evaluate(context)
