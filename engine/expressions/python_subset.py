"""A whitelisted Python subset for SpiffWorkflow-native models, interpreted by us, never executed.

SpiffWorkflow writes conditions and script tasks in Python (``amount > 1000``,
``total = price * qty``). Uploaded models are hostile, so the text is only *parsed* with
:func:`ast.parse`; the syntax tree is checked against an explicit whitelist and then walked by a
small interpreter of our own. Nothing here calls ``eval``, ``exec`` or ``compile``, reads a Python
attribute by a name from the text, or hands a model a Python function, type or module.

What is allowed:

* Expressions: constants (None, booleans, integers, floats, strings), names, ``and or not``,
  ``+ - * / // % **``, ``& | ^ ~``, comparisons (``in``, ``is`` and chains), ``a if c else b``,
  list/tuple/dict/set displays, subscripts and slices, list/set/dict comprehensions and generator
  expressions (evaluated eagerly into a list), f-strings without ``!r``/``!s``/``!a`` and format
  specs.
* Calls of the functions ``len min max sum abs round sorted reversed any all str int float bool
  list tuple set dict range enumerate zip`` by their plain name, and of whitelisted methods of
  strings, lists, tuples and dicts (``text.lower()``, ``items.append(x)``, ``data.get('k')``...,
  see ``_STR_METHODS``, ``_LIST_METHODS``, ``_TUPLE_METHODS``, ``_DICT_METHODS``). ``keys()``,
  ``values()`` and ``items()`` return lists. Keyword ``key=`` functions do not exist (no lambdas).
  Methods that change their value (``append``, ``pop``, ``update``...) are for scripts only, so
  that evaluating a condition never changes process data.
* Scripts (:func:`execute`) add ``=`` and augmented assignment to names, subscripts and tuples of
  them, ``if``/``elif``/``else``, ``for`` (with ``break``/``continue``/``else``), expression
  statements and ``pass``. Names assigned by a script are written into the given context. A
  ``for`` loop iterates over a snapshot of its collection.

Everything else is refused before anything runs, naming the construct, line and column:
imports, ``def``/``lambda``/``class``, ``while``, ``try``/``with``/``raise``/``assert``/``del``,
``global``/``nonlocal``, ``return``/``yield``/``await``, ``:=``, ``*``/``**`` unpacking, attribute
access other than a whitelisted method call, any attribute or name starting with ``__`` (attributes
starting with ``_``), shifts, ``@``, bytes/complex/``...`` constants, and ``'%s' % x`` formatting.

Limits: 10,000 characters per expression and 50,000 per script, syntax nesting 100, 100,000
interpreter steps and one second per evaluation, strings of 1,000,000 characters, collections of
100,000 items, 10,000,000 characters and items produced in total, integers of 10,000 bits, and
``range()`` of at most 100,000 numbers. A failed script leaves the assignments made before the
failure in the context (the engine discards the whole command anyway).
"""

from __future__ import annotations

import ast
import inspect
import operator
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

from engine.errors import Count, ExpressionError, Phrase, Text
from engine.expressions.sizes import deep_size

__all__ = [
    "PythonSubsetError",
    "PythonSubsetEvaluationError",
    "check_expression",
    "check_script",
    "evaluate",
    "execute",
]

MAX_EXPRESSION_LENGTH = 10_000
MAX_SCRIPT_LENGTH = 50_000
MAX_NESTING = 100  # depth of the syntax tree
MAX_STEPS = 100_000  # node visits and loop iterations per evaluation
MAX_SECONDS = 1.0  # wall-clock budget per evaluation
MAX_STRING_LENGTH = 1_000_000
MAX_COLLECTION_LENGTH = 100_000
MAX_ALLOCATION = 10_000_000  # characters + items produced in total by one evaluation
MAX_INTEGER_BITS = 10_000  # about 3,000 decimal digits
MAX_INTEGER_TEXT = 3_000  # characters of a string converted by int()
MAX_ROUND_DIGITS = 100
MAX_VALUE_DEPTH = 100  # nesting of lists/dicts turned into text
MAX_VALUE_SIZE = 2_000_000  # characters + items of one value, every repeated copy counted (see sizes.py)


class PythonSubsetError(ExpressionError):
    """The text is not valid Python or uses something outside the whitelist."""

    def __init__(
        self, message: Text, expression: str | None = None, line: int | None = None, column: int | None = None
    ) -> None:
        super().__init__(message, expression)
        self.line = line
        self.column = column


class PythonSubsetEvaluationError(ExpressionError):
    """Evaluation failed (a Python error of the model, or a safety limit); ``line``/``column`` say where."""

    def __init__(
        self, message: Text, expression: str | None = None, line: int | None = None, column: int | None = None
    ) -> None:
        super().__init__(message, expression)
        self.line = line
        self.column = column


def _fail(message: Phrase) -> PythonSubsetEvaluationError:
    return PythonSubsetEvaluationError(message)


def _position(source: str, node: ast.AST) -> tuple[int, int]:
    """1-based line and character column of a node (``col_offset`` counts UTF-8 bytes)."""
    line = getattr(node, "lineno", 1)
    offset = getattr(node, "col_offset", 0)
    lines = source.splitlines()
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return line, len(text.encode("utf-8")[:offset].decode("utf-8", errors="ignore")) + 1


# -- validation --------------------------------------------------------------------------------

_OPERATOR_NODES: frozenset[type[ast.AST]] = frozenset(
    {
        ast.And, ast.Or, ast.Not, ast.UAdd, ast.USub, ast.Invert,
        ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.BitAnd, ast.BitOr, ast.BitXor,
        ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
        ast.Load, ast.Store,
    }
)  # fmt: skip
_EXPRESSION_NODES: frozenset[type[ast.AST]] = frozenset(
    {
        ast.Expression, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.Constant, ast.Name,
        ast.List, ast.Tuple, ast.Dict, ast.Set, ast.Subscript, ast.Slice, ast.ListComp, ast.SetComp,
        ast.DictComp, ast.GeneratorExp, ast.comprehension, ast.Call, ast.keyword, ast.JoinedStr,
        ast.FormattedValue,
    }
) | _OPERATOR_NODES  # fmt: skip
_SCRIPT_NODES: frozenset[type[ast.AST]] = _EXPRESSION_NODES | {
    ast.Module, ast.Assign, ast.AugAssign, ast.If, ast.For, ast.Expr, ast.Pass, ast.Break, ast.Continue,
}  # fmt: skip

_HINTS: dict[type[ast.AST], Phrase] = {
    ast.Import: Phrase("imports are not allowed"),
    ast.ImportFrom: Phrase("imports are not allowed"),
    ast.Lambda: Phrase("functions cannot be defined"),
    ast.FunctionDef: Phrase("functions cannot be defined"),
    ast.AsyncFunctionDef: Phrase("functions cannot be defined"),
    ast.ClassDef: Phrase("classes cannot be defined"),
    ast.While: Phrase("while loops are not allowed; use 'for ... in range(...)'"),
    ast.NamedExpr: Phrase("assignment expressions (':=') are not allowed"),
    ast.Starred: Phrase("unpacking with '*' is not allowed"),
    ast.Attribute: Phrase("attributes can only be used to call whitelisted methods, e.g. text.lower()"),
    ast.Global: Phrase("'global' is not allowed"),
    ast.Nonlocal: Phrase("'nonlocal' is not allowed"),
    ast.Delete: Phrase("'del' is not allowed"),
    ast.With: Phrase("'with' is not allowed"),
    ast.Try: Phrase("'try' is not allowed"),
    ast.Raise: Phrase("'raise' is not allowed"),
    ast.Assert: Phrase("'assert' is not allowed"),
    ast.Return: Phrase("'return' is not allowed"),
    ast.Await: Phrase("'await' is not allowed"),
    ast.Yield: Phrase("'yield' is not allowed"),
    ast.YieldFrom: Phrase("'yield' is not allowed"),
    ast.AnnAssign: Phrase("annotated assignments are not allowed; write 'name = value'"),
    ast.LShift: Phrase("shift operators are not allowed"),
    ast.RShift: Phrase("shift operators are not allowed"),
    ast.MatMult: Phrase("the '@' operator is not allowed"),
}

_ALLOWED_CONSTANTS = (type(None), bool, int, float, str)
_KINDS = {"expression": Phrase("expression"), "script": Phrase("script")}


class _Validator:
    """Walks a syntax tree once (without recursion) and refuses anything outside the whitelist."""

    def __init__(self, source: str, allowed: frozenset[type[ast.AST]], kind: str) -> None:
        self.source = source
        self.allowed = allowed
        self.kind = kind

    def refuse(self, node: ast.AST, reason: Phrase, located: ast.AST | None = None) -> PythonSubsetError:
        line, column = _position(self.source, located or node)
        return PythonSubsetError(
            Phrase("Not allowed in a Python %(kind)s: %(construct)s at line %(line)s, column %(column)s: %(reason)s.",
                   kind=_KINDS[self.kind], construct=type(node).__name__, line=line, column=column, reason=reason),
            self.source,
            line,
            column,
        )

    def check(self, tree: ast.AST) -> None:
        # (node, depth, nearest node with a position: operators and contexts have none)
        stack: list[tuple[ast.AST, int, ast.AST]] = [(tree, 1, tree)]
        while stack:
            node, depth, located = stack.pop()
            if hasattr(node, "lineno"):
                located = node
            if depth > MAX_NESTING:
                raise self.refuse(located, Phrase("the %(kind)s is nested too deeply (more than %(limit)s levels)",
                                                  kind=_KINDS[self.kind], limit=MAX_NESTING))
            for child in self.children(node, located):
                leaf = type(child) in _OPERATOR_NODES
                stack.append((child, depth if leaf else depth + 1, located))

    def children(self, node: ast.AST, located: ast.AST) -> list[ast.AST]:
        """The children to check next; raises for a node that is not allowed."""
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise self.refuse(node, Phrase("the attribute '%(attr)s' starts with '_'", attr=node.attr))
        if type(node) not in self.allowed:
            raise self.refuse(node, _HINTS.get(type(node), Phrase("this kind of Python is not supported")), located)
        if isinstance(node, ast.Name) and node.id.startswith("__"):
            raise self.refuse(node, Phrase("the name '%(id)s' starts with '__'", id=node.id))
        if isinstance(node, ast.Constant) and not isinstance(node.value, _ALLOWED_CONSTANTS):
            raise self.refuse(node, Phrase("constants of type %(type)s are not supported",
                                           type=type(node.value).__name__))
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int)
            and node.value.bit_length() > MAX_INTEGER_BITS
        ):
            raise self.refuse(node, Phrase("the number is too large"))
        if isinstance(node, ast.FormattedValue) and (node.conversion != -1 or node.format_spec is not None):
            raise self.refuse(
                node, Phrase("f-string conversions ('!r', '!s', '!a') and format specifications are not supported")
            )
        if isinstance(node, ast.comprehension) and node.is_async:
            raise self.refuse(node, Phrase("'async for' is not allowed"))
        if isinstance(node, ast.comprehension) and not _names_only(node.target):
            raise self.refuse(node.target, Phrase("the target of a comprehension must be a name or a tuple of names"))
        if isinstance(node, ast.keyword) and node.arg is None:
            raise self.refuse(node, Phrase("unpacking with '**' is not allowed"))
        if isinstance(node, ast.Dict) and any(key is None for key in node.keys):
            raise self.refuse(node, Phrase("unpacking with '**' is not allowed"))
        if isinstance(node, ast.Call):
            return self.call_children(node)
        return list(ast.iter_child_nodes(node))

    def call_children(self, node: ast.Call) -> list[ast.AST]:
        func = node.func
        rest: list[ast.AST] = [*node.args, *node.keywords]
        if isinstance(func, ast.Name):
            if func.id not in _FUNCTIONS:
                raise self.refuse(func, Phrase("'%(id)s' cannot be called; the callable functions are %(known)s",
                                               id=func.id, known=_FUNCTION_LIST))
            return rest
        if isinstance(func, ast.Attribute):
            if func.attr.startswith("_"):
                raise self.refuse(func, Phrase("the attribute '%(attr)s' starts with '_'", attr=func.attr))
            if func.attr not in _METHOD_NAMES:
                raise self.refuse(func, Phrase("the method '%(attr)s' is not in the whitelist", attr=func.attr))
            if self.kind == "expression" and func.attr in _MUTATING_METHODS:
                raise self.refuse(func, Phrase("the method '%(attr)s' changes a value; use it in a script task",
                                               attr=func.attr))
            return [func.value, *rest]
        raise self.refuse(func, Phrase("only functions and methods named directly can be called"))


def _names_only(target: ast.expr) -> bool:
    if isinstance(target, ast.Name):
        return True
    return isinstance(target, ast.Tuple | ast.List) and all(_names_only(element) for element in target.elts)


# -- the interpreter's helpers -----------------------------------------------------------------


class _LoopSignal(Exception):  # noqa: N818 - control flow, never leaves the interpreter
    pass


class _Break(_LoopSignal):
    pass


class _Continue(_LoopSignal):
    pass


_ITERABLE_TYPES = (str, list, tuple, dict, set, frozenset, range)
_SEQUENCE_TYPES = (str, list, tuple, range)
_NUMBER_TYPES = (int, float, Decimal)  # bool is an int


def _type_name(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def _require_iterable(value: Any) -> Any:
    if not isinstance(value, _ITERABLE_TYPES):
        raise _fail(Phrase("cannot iterate over a value of type %(type)s", type=_type_name(value)))
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(error: Exception) -> Phrase:
    if isinstance(error, ZeroDivisionError):
        return Phrase("division by zero")
    if isinstance(error, OverflowError):
        return Phrase("a number is too large")
    if isinstance(error, KeyError):
        return Phrase("key %(key)s not found", key=_clip(repr(error.args[0]) if error.args else ""))
    return Phrase.of(_clip(f"{type(error).__name__}: {error}"))  # Python's own words


class _TextBuilder:
    """``str()`` of a value, with a size budget and a depth limit; containers show items like repr."""

    def __init__(self) -> None:
        self.budget = MAX_STRING_LENGTH
        self.pieces: list[str] = []

    def add(self, piece: str) -> None:
        self.budget -= len(piece)
        if self.budget < 0:
            raise _fail(Phrase("a string would be longer than %(limit)s characters", limit=Count(MAX_STRING_LENGTH)))
        self.pieces.append(piece)

    def value(self, value: Any, depth: int, quoted: bool) -> None:
        if depth > MAX_VALUE_DEPTH:
            raise _fail(Phrase("a value is nested more than %(limit)s levels deep", limit=MAX_VALUE_DEPTH))
        if isinstance(value, str):
            self.add(repr(value) if quoted else value)
        elif isinstance(value, list | tuple):
            self.items(value, "[]" if isinstance(value, list) else "()", depth)
            if isinstance(value, tuple) and len(value) == 1:
                self.pieces.insert(-1, ",")
        elif isinstance(value, set | frozenset):
            if value:
                self.items(list(value), "{}", depth)
            else:
                self.add("set()")
        elif isinstance(value, dict):
            self.add("{")
            for index, (key, item) in enumerate(value.items()):
                self.add(", " if index else "")
                self.value(key, depth + 1, True)
                self.add(": ")
                self.value(item, depth + 1, True)
            self.add("}")
        elif value is None or isinstance(value, bool | float | Decimal | range):
            self.add(repr(value) if quoted and isinstance(value, Decimal) else str(value))
        elif isinstance(value, int):
            self.add(str(value))
        else:
            self.add(_clip(str(value), 10_000))

    def items(self, values: list[Any] | tuple[Any, ...], brackets: str, depth: int) -> None:
        self.add(brackets[0])
        for index, item in enumerate(values):
            self.add(", " if index else "")
            self.value(item, depth + 1, True)
        self.add(brackets[1])


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if deep_size(value, MAX_STRING_LENGTH) > MAX_STRING_LENGTH:  # every character and item shows at least once
        raise _fail(Phrase("a string would be longer than %(limit)s characters", limit=Count(MAX_STRING_LENGTH)))
    builder = _TextBuilder()
    builder.value(value, 0, False)
    return "".join(builder.pieces)


# -- built-in functions ------------------------------------------------------------------------
# Each takes the running interpreter first (for budgets), then the model's arguments.


def _fn_len(it: _Interpreter, value: Any) -> int:
    if not isinstance(value, _ITERABLE_TYPES):
        raise _fail(Phrase("len() of a value of type %(type)s", type=_type_name(value)))
    return len(value)


def _extremum(it: _Interpreter, name: str, choose: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    if not args:
        raise _fail(Phrase("%(name)s() needs at least one argument", name=name))
    values = list(_require_iterable(args[0])) if len(args) == 1 else list(args)
    it.charge_size(values)
    if not values:
        raise _fail(Phrase("%(name)s() of an empty sequence", name=name))
    return choose(values)


def _fn_min(it: _Interpreter, *args: Any) -> Any:
    return _extremum(it, "min", min, args)


def _fn_max(it: _Interpreter, *args: Any) -> Any:
    return _extremum(it, "max", max, args)


def _fn_sum(it: _Interpreter, iterable: Any, start: Any = 0) -> Any:
    values = it.items_of(iterable)
    total = start
    for value in values:
        if not isinstance(value, _NUMBER_TYPES) or not isinstance(total, _NUMBER_TYPES):
            raise _fail(Phrase("sum() adds numbers only"))
        total = it.checked_int(operator.add(total, value))
    return total


def _fn_abs(it: _Interpreter, value: Any) -> Any:
    if not isinstance(value, _NUMBER_TYPES):
        raise _fail(Phrase("abs() of a value of type %(type)s", type=_type_name(value)))
    return abs(value)


def _fn_round(it: _Interpreter, number: Any, ndigits: Any = None) -> Any:
    if not isinstance(number, _NUMBER_TYPES):
        raise _fail(Phrase("round() of a value of type %(type)s", type=_type_name(number)))
    if ndigits is None:
        return round(number)
    if not _is_int(ndigits) or abs(ndigits) > MAX_ROUND_DIGITS:
        raise _fail(Phrase("round() takes a whole number of digits between -%(limit)s and %(limit)s",
                           limit=MAX_ROUND_DIGITS))
    return round(number, ndigits)


def _fn_sorted(it: _Interpreter, iterable: Any, reverse: Any = False) -> list[Any]:
    values = it.items_of(iterable)
    it.charge_size(values)
    return sorted(values, reverse=bool(reverse))


def _fn_reversed(it: _Interpreter, sequence: Any) -> list[Any]:
    if not isinstance(sequence, _SEQUENCE_TYPES):
        raise _fail(Phrase("reversed() of a value of type %(type)s", type=_type_name(sequence)))
    return it.items_of(sequence)[::-1]


def _fn_any(it: _Interpreter, iterable: Any) -> bool:
    values = it.items_of(iterable)
    it.charge_size(values)
    return any(values)


def _fn_all(it: _Interpreter, iterable: Any) -> bool:
    values = it.items_of(iterable)
    it.charge_size(values)
    return all(values)


def _fn_str(it: _Interpreter, value: Any = "") -> str:
    return _text(value)


def _fn_int(it: _Interpreter, value: Any = 0, base: Any = None) -> int:
    if base is not None:
        if not isinstance(value, str) or not _is_int(base):
            raise _fail(Phrase("int() with a base converts a string only"))
        if len(value.strip()) > MAX_INTEGER_TEXT:
            raise _fail(Phrase("int() of a string with more than %(limit)s characters", limit=Count(MAX_INTEGER_TEXT)))
        return int(value, base)
    if not isinstance(value, str | int | float | Decimal):
        raise _fail(Phrase("int() of a value of type %(type)s", type=_type_name(value)))
    if isinstance(value, str) and len(value.strip()) > MAX_INTEGER_TEXT:
        raise _fail(Phrase("int() of a string with more than %(limit)s characters", limit=Count(MAX_INTEGER_TEXT)))
    return int(value)


def _fn_float(it: _Interpreter, value: Any = 0.0) -> float:
    if not isinstance(value, str | int | float | Decimal):
        raise _fail(Phrase("float() of a value of type %(type)s", type=_type_name(value)))
    return float(value)


def _fn_bool(it: _Interpreter, value: Any = False) -> bool:
    return bool(value)


def _fn_list(it: _Interpreter, iterable: Any = ()) -> list[Any]:
    return it.items_of(iterable)


def _fn_tuple(it: _Interpreter, iterable: Any = ()) -> tuple[Any, ...]:
    return tuple(it.items_of(iterable))


def _fn_set(it: _Interpreter, iterable: Any = ()) -> set[Any]:
    return set(it.items_of(iterable))


def _fn_dict(it: _Interpreter, source: Any = None, **entries: Any) -> dict[str, Any]:
    result = dict(it.pairs_of(source)) if source is not None else {}
    result.update(entries)
    return result


def _fn_range(it: _Interpreter, *args: Any) -> range:
    if not 1 <= len(args) <= 3 or not all(isinstance(arg, int) for arg in args):
        raise _fail(Phrase("range() takes one to three whole numbers"))
    result = range(*args)
    try:
        length = len(result)
    except OverflowError:
        length = MAX_COLLECTION_LENGTH + 1
    if length > MAX_COLLECTION_LENGTH:
        raise _fail(Phrase("range() would have more than %(limit)s numbers", limit=Count(MAX_COLLECTION_LENGTH)))
    return result


def _fn_enumerate(it: _Interpreter, iterable: Any, start: Any = 0) -> list[tuple[int, Any]]:
    if not _is_int(start):
        raise _fail(Phrase("enumerate() starts at a whole number"))
    return list(enumerate(it.items_of(iterable), start))


def _fn_zip(it: _Interpreter, *iterables: Any) -> list[tuple[Any, ...]]:
    return list(zip(*(it.items_of(iterable) for iterable in iterables), strict=False))


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": _fn_len,
    "min": _fn_min,
    "max": _fn_max,
    "sum": _fn_sum,
    "abs": _fn_abs,
    "round": _fn_round,
    "sorted": _fn_sorted,
    "reversed": _fn_reversed,
    "any": _fn_any,
    "all": _fn_all,
    "str": _fn_str,
    "int": _fn_int,
    "float": _fn_float,
    "bool": _fn_bool,
    "list": _fn_list,
    "tuple": _fn_tuple,
    "set": _fn_set,
    "dict": _fn_dict,
    "range": _fn_range,
    "enumerate": _fn_enumerate,
    "zip": _fn_zip,
}
_FUNCTION_LIST = ", ".join(sorted(_FUNCTIONS))


# -- methods -----------------------------------------------------------------------------------
# Each takes the interpreter and the receiver first. Plain C methods that cannot grow anything are
# wrapped by _plain; the others check sizes before they allocate.


def _plain(method: Callable[..., Any]) -> Callable[..., Any]:
    def call(it: _Interpreter, receiver: Any, *args: Any, **kwargs: Any) -> Any:
        return method(receiver, *args, **kwargs)

    return call


def _str_replace(it: _Interpreter, text: str, old: Any, new: Any, count: Any = -1) -> str:
    if not isinstance(old, str) or not isinstance(new, str) or not _is_int(count):
        raise _fail(Phrase("replace() takes two strings and an optional count"))
    hits = text.count(old) if old else len(text) + 1
    if count >= 0:
        hits = min(hits, count)
    if len(text) + hits * (len(new) - len(old)) > MAX_STRING_LENGTH:
        raise _fail(Phrase("replace() would make a string longer than %(limit)s characters",
                           limit=Count(MAX_STRING_LENGTH)))
    return text.replace(old, new, count)


def _str_join(it: _Interpreter, separator: str, iterable: Any) -> str:
    parts = it.items_of(iterable)
    if not all(isinstance(part, str) for part in parts):
        raise _fail(Phrase("join() joins strings only; convert the items with str() first"))
    if sum(map(len, parts)) + len(separator) * max(len(parts) - 1, 0) > MAX_STRING_LENGTH:
        raise _fail(Phrase("join() would make a string longer than %(limit)s characters",
                           limit=Count(MAX_STRING_LENGTH)))
    return separator.join(parts)


def _list_append(it: _Interpreter, items: list[Any], value: Any) -> None:
    it.check_length(len(items) + 1)
    it.added(items, value)
    items.append(value)


def _list_insert(it: _Interpreter, items: list[Any], index: Any, value: Any) -> None:
    it.check_length(len(items) + 1)
    it.added(items, value)
    items.insert(index, value)


def _list_extend(it: _Interpreter, items: list[Any], iterable: Any) -> None:
    values = it.items_of(iterable)
    it.check_length(len(items) + len(values))
    it.added(items, values)
    items.extend(values)


def _list_sort(it: _Interpreter, items: list[Any], reverse: Any = False) -> None:
    it.charge_size(items)
    items.sort(reverse=bool(reverse))


def _dict_keys(it: _Interpreter, mapping: dict[Any, Any]) -> list[Any]:
    return list(mapping)


def _dict_values(it: _Interpreter, mapping: dict[Any, Any]) -> list[Any]:
    return list(mapping.values())


def _dict_items(it: _Interpreter, mapping: dict[Any, Any]) -> list[tuple[Any, Any]]:
    return list(mapping.items())


def _dict_update(it: _Interpreter, mapping: dict[Any, Any], source: Any = None, **entries: Any) -> None:
    pairs = it.pairs_of(source) if source is not None else []
    it.check_length(len(mapping) + len(pairs) + len(entries))
    it.added(mapping, [value for _, value in pairs] + list(entries.values()))
    mapping.update(pairs)
    mapping.update(entries)


def _dict_setdefault(it: _Interpreter, mapping: dict[Any, Any], key: Any, default: Any = None) -> Any:
    it.check_length(len(mapping) + 1)
    it.added(mapping, default)
    return mapping.setdefault(key, default)


_STR_METHODS: dict[str, Callable[..., Any]] = {
    **{
        name: _plain(getattr(str, name))
        for name in (
            "lower", "upper", "strip", "lstrip", "rstrip", "title", "capitalize", "casefold", "startswith",
            "endswith", "count", "index", "find", "rfind", "isdigit", "isalpha", "isalnum", "isspace", "islower",
            "isupper", "split", "rsplit", "splitlines",
        )
    },
    "replace": _str_replace,
    "join": _str_join,
}  # fmt: skip
_LIST_METHODS: dict[str, Callable[..., Any]] = {
    **{name: _plain(getattr(list, name)) for name in ("pop", "remove", "index", "count", "copy", "reverse", "clear")},
    "append": _list_append,
    "insert": _list_insert,
    "extend": _list_extend,
    "sort": _list_sort,
}
_TUPLE_METHODS: dict[str, Callable[..., Any]] = {name: _plain(getattr(tuple, name)) for name in ("index", "count")}
_DICT_METHODS: dict[str, Callable[..., Any]] = {
    **{name: _plain(getattr(dict, name)) for name in ("get", "pop", "copy", "clear")},
    "keys": _dict_keys,
    "values": _dict_values,
    "items": _dict_items,
    "update": _dict_update,
    "setdefault": _dict_setdefault,
}
_MUTATING_METHODS = frozenset(
    {"append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "update", "setdefault"}
)
_METHOD_NAMES = (
    frozenset(_STR_METHODS) | frozenset(_LIST_METHODS) | frozenset(_TUPLE_METHODS) | frozenset(_DICT_METHODS)
)


def _methods_of(receiver: Any) -> dict[str, Callable[..., Any]]:
    if isinstance(receiver, str):
        return _STR_METHODS
    if isinstance(receiver, list):
        return _LIST_METHODS
    if isinstance(receiver, tuple):
        return _TUPLE_METHODS
    if isinstance(receiver, dict):
        return _DICT_METHODS
    return {}


# computed once, so that evaluation never introspects anything
_SIGNATURES: dict[Callable[..., Any], inspect.Signature] = {
    function: inspect.signature(function)
    for table in (_FUNCTIONS, _STR_METHODS, _LIST_METHODS, _TUPLE_METHODS, _DICT_METHODS)
    for function in table.values()
}


def _bind(name: str, function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> None:
    """Check the model's arguments against our implementation, for a clean message on mismatch."""
    try:
        _SIGNATURES[function].bind(None, *args, **kwargs)
    except TypeError as error:
        raise _fail(Phrase("%(function)s(): %(reason)s", function=name, reason=Phrase.of(str(error)))) from None


# -- operators ---------------------------------------------------------------------------------

_BINARY: dict[type[ast.AST], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
}
_COMPARE: dict[type[ast.AST], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_SIZED_RESULTS = (str, list, tuple, dict, set, frozenset)
_BORROWING = frozenset({"get", "pop", "setdefault", "min", "max"})


def _check_power(base: Any, exponent: Any) -> None:
    growing = isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1
    if growing and (abs(base).bit_length() - 1) * exponent > MAX_INTEGER_BITS:
        raise _fail(Phrase("the power would have more than %(limit)s bits", limit=Count(MAX_INTEGER_BITS)))


def _check_product(left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_INTEGER_BITS + 1:
            raise _fail(Phrase("the product would have more than %(limit)s bits", limit=Count(MAX_INTEGER_BITS)))
        return
    sequence, count = (left, right) if isinstance(right, int) else (right, left)
    if isinstance(sequence, str | list | tuple) and isinstance(count, int):
        limit = MAX_STRING_LENGTH if isinstance(sequence, str) else MAX_COLLECTION_LENGTH
        if len(sequence) * max(count, 0) > limit:
            raise _fail(Phrase("repeating would make a %(type)s longer than %(limit)s",
                               type=type(sequence).__name__, limit=Count(limit)))
        if not isinstance(sequence, str) and deep_size(sequence, MAX_VALUE_SIZE) * max(count, 0) > MAX_VALUE_SIZE:
            raise _fail(_too_big(Phrase("repeating")))


def _too_big(what: Phrase) -> Phrase:
    return Phrase("%(what)s would make a value of more than %(limit)s characters and items, counting every copy of "
                  "what it repeats", what=what, limit=Count(MAX_VALUE_SIZE))


def _check_sum(left: Any, right: Any) -> None:
    for kind, limit in ((str, MAX_STRING_LENGTH), (list, MAX_COLLECTION_LENGTH), (tuple, MAX_COLLECTION_LENGTH)):
        if isinstance(left, kind) and isinstance(right, kind) and len(left) + len(right) > limit:
            raise _fail(Phrase("adding would make a %(type)s longer than %(limit)s",
                               type=kind.__name__, limit=Count(limit)))
    both = isinstance(left, list | tuple) and isinstance(right, list | tuple)
    if both and deep_size(left, MAX_VALUE_SIZE) + deep_size(right, MAX_VALUE_SIZE) > MAX_VALUE_SIZE:
        raise _fail(_too_big(Phrase("adding")))


def _both_collections(left: Any, right: Any) -> bool:
    return isinstance(left, dict | set | frozenset) and isinstance(right, dict | set | frozenset)


def _apply_binary(op: type[ast.AST], left: Any, right: Any) -> Any:
    if op is ast.Mod and isinstance(left, str):
        raise _fail(Phrase("'%' formatting of strings is not supported; use an f-string such as f'{name}'"))
    if op is ast.Pow:
        _check_power(left, right)
    elif op is ast.Mult:
        _check_product(left, right)
    elif op is ast.Add:
        _check_sum(left, right)
    elif _both_collections(left, right) and len(left) + len(right) > MAX_COLLECTION_LENGTH:
        raise _fail(Phrase("the result would have more than %(limit)s items", limit=Count(MAX_COLLECTION_LENGTH)))
    return _BINARY[op](left, right)


# -- interpreter -------------------------------------------------------------------------------


class _Interpreter:
    """One evaluation: the variables, the comprehension scopes and the budgets."""

    def __init__(self, source: str, variables: Mapping[str, Any]) -> None:
        self.source = source
        self.variables = variables
        self.scopes: list[dict[str, Any]] = []
        self.steps = 0
        self.next_clock_check = 256
        self.allocated = 0
        self.grown: dict[int, tuple[Any, int]] = {}  # containers changed in place -> (container, real size)
        self.deadline = time.monotonic() + MAX_SECONDS
        self.expressions: dict[type[ast.AST], Callable[[Any], Any]] = {
            ast.Constant: self.constant,
            ast.Name: self.name,
            ast.BoolOp: self.bool_op,
            ast.BinOp: self.bin_op,
            ast.UnaryOp: self.unary_op,
            ast.Compare: self.compare,
            ast.IfExp: self.if_exp,
            ast.List: self.list_display,
            ast.Tuple: self.tuple_display,
            ast.Set: self.set_display,
            ast.Dict: self.dict_display,
            ast.Subscript: self.subscript,
            ast.Slice: self.slice,
            ast.ListComp: self.list_comp,
            ast.GeneratorExp: self.list_comp,
            ast.SetComp: self.set_comp,
            ast.DictComp: self.dict_comp,
            ast.Call: self.call,
            ast.JoinedStr: self.joined_str,
        }
        self.statements: dict[type[ast.AST], Callable[[Any], None]] = {
            ast.Assign: self.assign,
            ast.AugAssign: self.aug_assign,
            ast.If: self.if_statement,
            ast.For: self.for_statement,
            ast.Expr: self.expression_statement,
            ast.Pass: self.pass_statement,
            ast.Break: self.break_statement,
            ast.Continue: self.continue_statement,
        }

    # -- budgets ---------------------------------------------------------------------------

    def tick(self, steps: int = 1) -> None:
        self.steps += steps
        if self.steps > MAX_STEPS:
            raise _fail(Phrase("the evaluation needs more than %(limit)s steps; it is too expensive",
                               limit=Count(MAX_STEPS)))
        if self.steps >= self.next_clock_check:
            self.next_clock_check = self.steps + 256
            if time.monotonic() > self.deadline:
                raise _fail(Phrase("the evaluation takes longer than %(limit)s second(s)",
                                   limit=format(MAX_SECONDS, "g")))

    def charge_size(self, values: Any) -> None:
        """Steps for walking a collection inside one operation (cheap per item, but not free)."""
        self.tick(len(values) // 20)

    def check_length(self, length: int) -> None:
        if length > MAX_COLLECTION_LENGTH:
            raise _fail(Phrase("a collection would have %(length)s items; the limit is %(limit)s",
                               length=Count(length), limit=Count(MAX_COLLECTION_LENGTH)))

    def checked_int(self, value: Any) -> Any:
        if _is_int(value) and value.bit_length() > MAX_INTEGER_BITS:
            raise _fail(Phrase("a number has more than %(limit)s bits", limit=Count(MAX_INTEGER_BITS)))
        return value

    def produced(self, value: Any) -> Any:
        """Account for a new value and enforce the size limits on it (nested values at their real size)."""
        if isinstance(value, _SIZED_RESULTS):
            length = len(value)
            if isinstance(value, str):
                if length > MAX_STRING_LENGTH:
                    raise _fail(Phrase("a string would have %(length)s characters; the limit is %(limit)s",
                                       length=Count(length), limit=Count(MAX_STRING_LENGTH)))
            else:
                self.check_length(length)
                length = deep_size(value, min(MAX_VALUE_SIZE, MAX_ALLOCATION - self.allocated))
                if length > MAX_VALUE_SIZE:
                    raise _fail(_too_big(Phrase("this")))
            self.allocate(length)
            return value
        return self.checked_int(value)

    def allocate(self, amount: int) -> None:
        self.allocated += amount
        if self.allocated > MAX_ALLOCATION:
            raise _fail(Phrase("the evaluation builds more than %(limit)s characters and items in total",
                               limit=Count(MAX_ALLOCATION)))

    def added(self, container: Any, value: Any) -> None:
        """A value goes into a list or dict: account for its real size, and for the container's own real size
        as it grows (the same list appended a thousand times is a thousand copies once written out); a
        container may not hold itself."""
        if value is container:
            raise _fail(Phrase("a %(type)s cannot contain itself", type=_type_name(container)))
        size = deep_size(value, MAX_ALLOCATION - self.allocated)
        self.allocate(size)
        known = self.grown.get(id(container))
        before = known[1] if known is not None and known[0] is container else deep_size(container, MAX_VALUE_SIZE)
        after = before + size + 1
        if after > MAX_VALUE_SIZE:
            raise _fail(_too_big(Phrase("this")))
        self.grown[id(container)] = (container, after)  # the container is kept, so its id is not reused

    def items_of(self, iterable: Any) -> list[Any]:
        """The items of a string, list, tuple, dict (keys), set or range, as a new bounded list."""
        _require_iterable(iterable)
        self.check_length(len(iterable))
        self.charge_size(iterable)
        return list(iterable)

    def pairs_of(self, source: Any) -> list[tuple[Any, Any]]:
        if isinstance(source, dict):
            return list(source.items())
        pairs = []
        for item in self.items_of(source):
            if not isinstance(item, list | tuple) or len(item) != 2:
                raise _fail(Phrase("dict() and update() need pairs of key and value"))
            pairs.append((item[0], item[1]))
        return pairs

    # -- dispatch --------------------------------------------------------------------------

    def error_at(self, node: ast.AST, message: Phrase) -> PythonSubsetEvaluationError:
        line, column = _position(self.source, node)
        return PythonSubsetEvaluationError(Phrase("%(problem)s (line %(line)s, column %(column)s)", problem=message,
                                                  line=line, column=column), self.source, line, column)

    def eval(self, node: ast.expr) -> Any:
        self.tick()
        try:
            return self.expressions[type(node)](node)
        except PythonSubsetEvaluationError as error:
            if error.line is None:
                raise self.error_at(node, error.phrase) from None
            raise
        except (PythonSubsetError, RecursionError, MemoryError):
            raise
        except Exception as error:
            raise self.error_at(node, _describe(error)) from None

    def run_block(self, statements: list[ast.stmt]) -> None:
        for statement in statements:
            self.tick()
            try:
                self.statements[type(statement)](statement)
            except PythonSubsetEvaluationError as error:
                if error.line is None:
                    raise self.error_at(statement, error.phrase) from None
                raise
            except (PythonSubsetError, RecursionError, MemoryError, _LoopSignal):
                raise
            except Exception as error:
                raise self.error_at(statement, _describe(error)) from None

    # -- names -----------------------------------------------------------------------------

    def lookup(self, name: str) -> Any:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        if name in self.variables:
            return self.variables[name]
        raise _fail(Phrase("name '%(name)s' is not defined", name=name))

    def store(self, name: str, value: Any) -> None:
        if self.scopes:
            self.scopes[-1][name] = value
        elif isinstance(self.variables, MutableMapping):
            self.variables[name] = value
        else:
            raise _fail(Phrase("an expression cannot assign variables"))

    def bind(self, target: ast.expr, value: Any) -> None:
        """Assign to a name, a subscript, or unpack into a tuple/list of targets."""
        if isinstance(target, ast.Name):
            self.store(target.id, value)
        elif isinstance(target, ast.Subscript):
            self.store_item(self.eval(target.value), self.eval(target.slice), value)
        elif isinstance(target, ast.Tuple | ast.List):
            items = self.items_of(value)
            if len(items) != len(target.elts):
                raise _fail(Phrase("cannot unpack %(count)s values into %(count2)s names",
                                   count=len(items), count2=len(target.elts)))
            for element, item in zip(target.elts, items, strict=True):
                self.bind(element, item)
        else:
            raise _fail(Phrase("cannot assign to %(type)s", type=type(target).__name__))

    def store_item(self, container: Any, key: Any, value: Any) -> None:
        self.added(container, value)
        if isinstance(container, dict):
            if key not in container:
                self.check_length(len(container) + 1)
            container[key] = value
        elif isinstance(container, list):
            if isinstance(key, slice):
                value = self.items_of(value)
                self.check_length(len(container) + len(value))
            container[key] = value
        else:
            raise _fail(Phrase("cannot assign items of a value of type %(type)s", type=_type_name(container)))

    # -- expressions -----------------------------------------------------------------------

    def constant(self, node: ast.Constant) -> Any:
        return node.value

    def name(self, node: ast.Name) -> Any:
        return self.lookup(node.id)

    def bool_op(self, node: ast.BoolOp) -> Any:
        value: Any = None
        for operand in node.values:
            value = self.eval(operand)
            if bool(value) == isinstance(node.op, ast.Or):
                return value
        return value

    def bin_op(self, node: ast.BinOp) -> Any:
        left = self.eval(node.left)
        right = self.eval(node.right)
        return self.produced(_apply_binary(type(node.op), left, right))

    def unary_op(self, node: ast.UnaryOp) -> Any:
        value = self.eval(node.operand)
        if isinstance(node.op, ast.Not):
            return not value
        if isinstance(node.op, ast.Invert):
            if not isinstance(value, int):
                raise _fail(Phrase("'~' of a value of type %(type)s", type=_type_name(value)))
            return ~value
        if not isinstance(value, _NUMBER_TYPES):
            sign = "-" if isinstance(node.op, ast.USub) else "+"
            raise _fail(Phrase("unary '%(sign)s' of a value of type %(type)s", sign=sign, type=_type_name(value)))
        return -value if isinstance(node.op, ast.USub) else +value

    def compare(self, node: ast.Compare) -> Any:
        left = self.eval(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.eval(right_node)
            if isinstance(op, ast.In | ast.NotIn):
                _require_iterable(right)
                self.charge_size(right)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True

    def if_exp(self, node: ast.IfExp) -> Any:
        return self.eval(node.body if self.eval(node.test) else node.orelse)

    def list_display(self, node: ast.List) -> Any:
        return self.produced([self.eval(element) for element in node.elts])

    def tuple_display(self, node: ast.Tuple) -> Any:
        return self.produced(tuple(self.eval(element) for element in node.elts))

    def set_display(self, node: ast.Set) -> Any:
        return self.produced({self.eval(element) for element in node.elts})

    def dict_display(self, node: ast.Dict) -> Any:
        result = {}
        for key, value in zip(node.keys, node.values, strict=True):
            assert key is not None  # '**' was refused by the validator
            result[self.eval(key)] = self.eval(value)
        return self.produced(result)

    def subscript(self, node: ast.Subscript) -> Any:
        container = self.eval(node.value)
        key = self.eval(node.slice)
        if not isinstance(container, str | list | tuple | dict | range):
            raise _fail(Phrase("a value of type %(type)s cannot be subscripted", type=_type_name(container)))
        result = container[key]
        return self.produced(result) if isinstance(key, slice) else result

    def slice(self, node: ast.Slice) -> slice:
        bounds = [None if part is None else self.eval(part) for part in (node.lower, node.upper, node.step)]
        if not all(bound is None or isinstance(bound, int) for bound in bounds):
            raise _fail(Phrase("slice bounds must be whole numbers or None"))
        return slice(*bounds)

    def comprehension(self, generators: list[ast.comprehension], emit: Callable[[], None]) -> None:
        self.scopes.append({})
        try:
            self.generate(generators, 0, emit)
        finally:
            self.scopes.pop()

    def generate(self, generators: list[ast.comprehension], index: int, emit: Callable[[], None]) -> None:
        if index == len(generators):
            emit()
            return
        generator = generators[index]
        for item in self.items_of(self.eval(generator.iter)):
            self.tick()
            self.bind(generator.target, item)
            if all(self.eval(condition) for condition in generator.ifs):
                self.generate(generators, index + 1, emit)

    def list_comp(self, node: ast.ListComp | ast.GeneratorExp) -> Any:
        result: list[Any] = []

        def emit() -> None:
            self.check_length(len(result) + 1)
            result.append(self.eval(node.elt))

        self.comprehension(node.generators, emit)
        return self.produced(result)

    def set_comp(self, node: ast.SetComp) -> Any:
        result: set[Any] = set()

        def emit() -> None:
            self.check_length(len(result) + 1)
            result.add(self.eval(node.elt))

        self.comprehension(node.generators, emit)
        return self.produced(result)

    def dict_comp(self, node: ast.DictComp) -> Any:
        result: dict[Any, Any] = {}

        def emit() -> None:
            self.check_length(len(result) + 1)
            key = self.eval(node.key)
            result[key] = self.eval(node.value)

        self.comprehension(node.generators, emit)
        return self.produced(result)

    def call(self, node: ast.Call) -> Any:
        func = node.func
        receiver: Any = None
        if isinstance(func, ast.Attribute):
            receiver = self.eval(func.value)
            name = func.attr
            implementation = _methods_of(receiver).get(name)
            if implementation is None:
                raise _fail(Phrase("a value of type %(type)s has no method '%(name)s' that may be called",
                                   type=_type_name(receiver), name=name))
        else:
            assert isinstance(func, ast.Name)  # the validator allows nothing else
            name = func.id
            implementation = _FUNCTIONS[name]
        args = [self.eval(arg) for arg in node.args]
        kwargs = {keyword.arg: self.eval(keyword.value) for keyword in node.keywords if keyword.arg is not None}
        if any(callable(value) for value in (*args, *kwargs.values())):
            raise _fail(Phrase("%(name)s(): functions cannot be passed as arguments", name=name))
        if receiver is None:
            _bind(name, implementation, args, kwargs)
            result = implementation(self, *args, **kwargs)
        else:
            _bind(name, implementation, [receiver, *args], kwargs)
            result = implementation(self, receiver, *args, **kwargs)
        # these hand back a value that already exists: nothing new to account for
        return self.checked_int(result) if name in _BORROWING else self.produced(result)

    def joined_str(self, node: ast.JoinedStr) -> Any:
        pieces: list[str] = []
        length = 0
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                piece = _text(self.eval(part.value))
            else:
                assert isinstance(part, ast.Constant) and isinstance(part.value, str)
                piece = part.value
            length += len(piece)
            if length > MAX_STRING_LENGTH:
                raise _fail(Phrase("a string would have more than %(limit)s characters",
                                   limit=Count(MAX_STRING_LENGTH)))
            pieces.append(piece)
        return self.produced("".join(pieces))

    # -- statements ------------------------------------------------------------------------

    def assign(self, node: ast.Assign) -> None:
        value = self.eval(node.value)
        for target in node.targets:
            self.bind(target, value)

    def aug_assign(self, node: ast.AugAssign) -> None:
        target = node.target
        op = type(node.op)
        if isinstance(target, ast.Name):
            current = self.lookup(target.id)
            self.store(target.id, self.produced(_apply_binary(op, current, self.eval(node.value))))
            return
        if not isinstance(target, ast.Subscript):
            raise _fail(Phrase("cannot assign to %(type)s", type=type(target).__name__))
        container = self.eval(target.value)
        key = self.eval(target.slice)
        if not isinstance(container, dict | list):
            raise _fail(Phrase("cannot assign items of a value of type %(type)s", type=_type_name(container)))
        current = container[key]
        self.store_item(container, key, self.produced(_apply_binary(op, current, self.eval(node.value))))

    def if_statement(self, node: ast.If) -> None:
        self.run_block(node.body if self.eval(node.test) else node.orelse)

    def for_statement(self, node: ast.For) -> None:
        for item in self.items_of(self.eval(node.iter)):
            self.tick()
            self.bind(node.target, item)
            try:
                self.run_block(node.body)
            except _Break:
                return
            except _Continue:
                continue
        self.run_block(node.orelse)

    def expression_statement(self, node: ast.Expr) -> None:
        self.eval(node.value)

    def pass_statement(self, node: ast.Pass) -> None:
        return None

    def break_statement(self, node: ast.Break) -> None:
        raise _Break

    def continue_statement(self, node: ast.Continue) -> None:
        raise _Continue


# -- public interface --------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _parse(text: str, mode: str) -> ast.AST:
    """Parse and validate (cached). ``mode`` is "eval" for expressions, "exec" for scripts."""
    kind = "expression" if mode == "eval" else "script"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. SyntaxWarning for an invalid escape sequence
            tree = ast.parse(text, mode=mode)
    except SyntaxError as error:
        line, column = error.lineno, error.offset
        reason = Phrase.of(error.msg)  # Python's own words
        if line is not None and column is not None:
            raise PythonSubsetError(Phrase("Python syntax error at line %(line)s, column %(column)s: %(reason)s.",
                                           line=line, column=column, reason=reason), text, line, column) from None
        raise PythonSubsetError(Phrase("Python syntax error: %(reason)s.", reason=reason), text, line, column) from None
    except (RecursionError, MemoryError):
        raise PythonSubsetError(Phrase("The Python %(kind)s is nested too deeply to parse.", kind=_KINDS[kind]),
                                text) from None  # fmt: skip
    except ValueError as error:
        raise PythonSubsetError(Phrase("The Python %(kind)s cannot be parsed: %(reason)s.", kind=_KINDS[kind],
                                       reason=Phrase.of(str(error))), text) from None  # fmt: skip
    _Validator(text, _EXPRESSION_NODES if mode == "eval" else _SCRIPT_NODES, kind).check(tree)
    return tree


def _checked_text(text: Any, limit: int, kind: str) -> str:
    if not isinstance(text, str):
        raise PythonSubsetError(Phrase("A Python %(kind)s must be text, not %(type)s.", kind=_KINDS[kind],
                                       type=type(text).__name__))  # fmt: skip
    if len(text) > limit:
        raise PythonSubsetError(Phrase("The Python %(kind)s has %(length)s characters; the limit is %(limit)s.",
                                       kind=_KINDS[kind], length=Count(len(text)), limit=Count(limit)), text[:200])
    return text


def _run(source: str, action: Callable[[], Any]) -> Any:
    """Run an evaluation; every failure leaves as one of our two errors naming the source."""
    try:
        return action()
    except (PythonSubsetError, PythonSubsetEvaluationError) as error:
        if error.expression is None:
            error.expression = source
        raise
    except _LoopSignal:
        raise PythonSubsetEvaluationError("'break' or 'continue' outside a loop.", source) from None
    except RecursionError:
        raise PythonSubsetEvaluationError("The evaluation is nested too deeply.", source) from None
    except MemoryError:
        raise PythonSubsetEvaluationError("The evaluation needs too much memory.", source) from None
    except Exception as error:  # a bug of ours must still reach the caller as an expression error
        raise PythonSubsetEvaluationError(Phrase("The evaluation failed (%(reason)s).", reason=_describe(error)),
                                          source) from error  # fmt: skip


def check_expression(text: str) -> None:
    """Raise PythonSubsetError unless ``text`` is an expression of the whitelisted subset."""
    _parse(_checked_text(text, MAX_EXPRESSION_LENGTH, "expression"), "eval")


def check_script(text: str) -> None:
    """Raise PythonSubsetError unless ``text`` is a script of the whitelisted subset."""
    _parse(_checked_text(text, MAX_SCRIPT_LENGTH, "script"), "exec")


def evaluate(text: str, context: Mapping[str, Any]) -> Any:
    """The value of an expression with the given variables; the context is not changed."""
    tree = _parse(_checked_text(text, MAX_EXPRESSION_LENGTH, "expression"), "eval")
    assert isinstance(tree, ast.Expression)
    interpreter = _Interpreter(text, _ReadOnly(context))
    return _run(text, lambda: interpreter.eval(tree.body))


def execute(script: str, context: dict[str, Any]) -> None:
    """Run a script; the names it assigns are written into ``context``."""
    tree = _parse(_checked_text(script, MAX_SCRIPT_LENGTH, "script"), "exec")
    assert isinstance(tree, ast.Module)
    if not isinstance(context, MutableMapping):
        raise PythonSubsetEvaluationError("A script needs a mutable dict of variables.", script)
    interpreter = _Interpreter(script, context)
    _run(script, lambda: interpreter.run_block(tree.body))


class _ReadOnly(Mapping[str, Any]):
    """The caller's variables for an expression: readable, never assigned at the top level."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = values

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)
