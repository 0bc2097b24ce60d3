"""Regular expressions for FEEL's ``matches``, ``replace``, ``split`` and ``extract``, in linear time.

Python's ``re`` backtracks: a pattern such as ``(a+)+$`` takes exponential time on a string of a's,
and no timeout can stop it. Patterns come from uploaded models, so we compile them ourselves into a
small instruction program and run it with a Pike VM (Thompson's construction with sub-match
tracking): every input character is looked at once per live thread, and threads are deduplicated
by program counter, so the cost is bounded by ``len(text) * len(program)`` and additionally capped
by a work budget.

Supported (the XPath/XML Schema flavour FEEL prescribes, plus common Java habits): literals, ``.``,
classes ``[a-z]`` ``[^...]``, ``\\d \\D \\s \\S \\w \\W \\i \\c \\p{Lu} \\P{L}``, ``\\b \\B``, escapes
``\\n \\r \\t \\uXXXX``, groups ``( )`` and ``(?: )``, alternation, ``^ $``, greedy and lazy quantifiers
``* + ? {n} {n,} {n,m}``, and the flags ``i s m x q``. Back-references, look-around and inline
flags cannot run in linear time and are refused with a message that names them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from engine.errors import Count, Phrase
from engine.expressions.feel.errors import (
    MAX_PATTERN_LENGTH,
    MAX_REGEX_INPUT_LENGTH,
    MAX_REGEX_PROGRAM,
    MAX_REGEX_WORK,
    FeelEvaluationError,
)

_MAX_GROUP_DEPTH = 50


class RegexSyntaxError(ValueError):
    """The pattern is not a valid regular expression (FEEL turns this into null)."""


class RegexUnsupported(FeelEvaluationError):
    """The pattern is valid but uses a construct we refuse to run."""


# --------------------------------------------------------------------------------------------
# Syntax tree of a pattern
# --------------------------------------------------------------------------------------------

CharTest = Callable[[str], bool]


@dataclass(frozen=True)
class _Char:
    test: CharTest
    literal: str | None = None  # set for a plain character, to find literal patterns fast


@dataclass(frozen=True)
class _Assert:
    kind: str  # "^", "$", "b", "B"


@dataclass(frozen=True)
class _Group:
    body: _Node
    index: int | None  # None for (?: )


@dataclass(frozen=True)
class _Repeat:
    body: _Node
    low: int
    high: int | None
    greedy: bool


@dataclass(frozen=True)
class _Concat:
    items: tuple[_Node, ...]


@dataclass(frozen=True)
class _Alternation:
    branches: tuple[_Node, ...]


_Node = _Char | _Assert | _Group | _Repeat | _Concat | _Alternation


# --------------------------------------------------------------------------------------------
# Character tests
# --------------------------------------------------------------------------------------------


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _is_name_start(char: str) -> bool:
    return char.isalpha() or char in "_:"


def _is_name_char(char: str) -> bool:
    return char.isalnum() or char in "_:.-\u00b7"


def _category_test(name: str) -> CharTest:
    """``\\p{Lu}``-style tests by Unicode general category (a one-letter name is a prefix)."""
    if not name or len(name) > 2 or not name.isalpha() or not name[0].isupper():
        raise RegexUnsupported(Phrase("The regular expression uses \\p{%(name)s}; only categories like L, Lu, Nd work.",
                                      name=name))
    return lambda char: unicodedata.category(char).startswith(name)


_CLASS_ESCAPES: dict[str, CharTest] = {
    "d": lambda c: unicodedata.category(c) == "Nd",
    "s": str.isspace,
    "w": _is_word,
    "i": _is_name_start,
    "c": _is_name_char,
}
_CHAR_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "f": "\f"}


def _between(low: str, high: str) -> CharTest:
    return lambda char: low <= char <= high


def _negate(test: CharTest) -> CharTest:
    return lambda char: not test(char)


def _case_insensitive(test: CharTest) -> CharTest:
    return lambda char: test(char) or test(char.lower()) or test(char.upper())


# --------------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------------


@dataclass
class _PatternParser:
    pattern: str
    ignore_case: bool
    dot_all: bool
    multiline: bool
    pos: int = 0
    groups: int = 0
    depth: int = 0

    def parse(self) -> _Node:
        node = self._alternation()
        if self.pos < len(self.pattern):
            raise RegexSyntaxError(f"unbalanced ')' at position {self.pos + 1}")
        return node

    def _peek(self) -> str | None:
        return self.pattern[self.pos] if self.pos < len(self.pattern) else None

    def _alternation(self) -> _Node:
        branches = [self._concat()]
        while self._peek() == "|":
            self.pos += 1
            branches.append(self._concat())
        return branches[0] if len(branches) == 1 else _Alternation(tuple(branches))

    def _concat(self) -> _Node:
        items: list[_Node] = []
        while self._peek() not in (None, "|", ")"):
            items.append(self._quantified(self._atom()))
        return items[0] if len(items) == 1 else _Concat(tuple(items))

    def _quantified(self, atom: _Node) -> _Node:
        char = self._peek()
        if char == "*":
            low, high = 0, None
        elif char == "+":
            low, high = 1, None
        elif char == "?":
            low, high = 0, 1
        elif char == "{":
            low, high = self._braces()
        else:
            return atom
        if char != "{":
            self.pos += 1
        if isinstance(atom, _Assert):
            raise RegexSyntaxError("a quantifier cannot follow an anchor")
        greedy = True
        if self._peek() == "?":
            greedy = False
            self.pos += 1
        if self._peek() in ("*", "+", "?", "{"):
            # XPath forbids 'a**'; refusing it also keeps the tree shallow
            raise RegexSyntaxError(f"a quantifier cannot follow a quantifier (position {self.pos + 1})")
        return _Repeat(atom, low, high, greedy)

    def _braces(self) -> tuple[int, int | None]:
        end = self.pattern.find("}", self.pos)
        if end < 0:
            raise RegexSyntaxError("unclosed '{'")
        body = self.pattern[self.pos + 1 : end]
        low_text, comma, high_text = body.partition(",")
        if not low_text.isdigit() or (high_text and not high_text.isdigit()) or len(body) > 12:
            raise RegexSyntaxError(f"invalid quantifier '{{{body}}}'")
        low = int(low_text)
        high = (int(high_text) if high_text else None) if comma else low
        if high is not None and high < low:
            raise RegexSyntaxError(f"invalid quantifier '{{{body}}}'")
        if max(low, high or 0) > MAX_REGEX_PROGRAM:
            raise RegexUnsupported(Phrase("The regular expression repeats something %(count)s times; too many.",
                                          count=max(low, high or 0)))
        self.pos = end + 1
        return low, high

    def _atom(self) -> _Node:
        char = self.pattern[self.pos]
        self.pos += 1
        if char == "(":
            return self._group()
        if char == "[":
            return _Char(self._maybe_fold(self._class()))
        if char == ".":
            return _Char((lambda c: True) if self.dot_all else (lambda c: c not in "\n\r"))
        if char == "^":
            return _Assert("^")
        if char == "$":
            return _Assert("$")
        if char == "\\":
            return self._escape()
        if char in "*+?{":
            raise RegexSyntaxError(f"nothing to repeat at position {self.pos}")
        # ']' and '}' alone are literals here, as in Java (XPath would refuse them)
        return self._literal(char)

    def _literal(self, char: str) -> _Char:
        if self.ignore_case:
            variants = {char, char.lower(), char.upper()}
            return _Char(lambda c: c in variants or c.lower() in variants)
        return _Char(lambda c: c == char, literal=char)

    def _maybe_fold(self, test: CharTest) -> CharTest:
        return _case_insensitive(test) if self.ignore_case else test

    def _group(self) -> _Node:
        index: int | None = None
        if self.pattern.startswith("?:", self.pos):
            self.pos += 2
        elif self._peek() == "?":
            construct = self.pattern[self.pos - 1 : self.pos + 3]
            raise RegexUnsupported(
                Phrase("The regular expression uses '%(construct)s…' (look-around, named group or inline flag), which "
                       "is not supported; rewrite it without.", construct=construct)
            )
        else:
            self.groups += 1
            index = self.groups
        self.depth += 1
        if self.depth > _MAX_GROUP_DEPTH:
            raise RegexUnsupported(Phrase("The regular expression nests groups more than %(limit)s deep.",
                                          limit=_MAX_GROUP_DEPTH))
        body = self._alternation()
        self.depth -= 1
        if self._peek() != ")":
            raise RegexSyntaxError("missing ')'")
        self.pos += 1
        return _Group(body, index)

    def _escape(self) -> _Node:
        char = self._peek()
        if char is None:
            raise RegexSyntaxError("pattern ends with '\\'")
        self.pos += 1
        if char in "bB":
            return _Assert(char)
        if char.isdigit():
            raise RegexUnsupported("The regular expression uses a back-reference (\\1…), which is not supported.")
        test = self._escape_test(char)
        if test is not None:
            return _Char(self._maybe_fold(test))
        return self._literal(self._escaped_char(char))

    def _escape_test(self, char: str) -> CharTest | None:
        """A class escape (``\\d``, ``\\P{L}``…) as a test, or None for an escaped character."""
        lower = char.lower()
        if lower in _CLASS_ESCAPES:
            test = _CLASS_ESCAPES[lower]
            return _negate(test) if char.isupper() else test
        if lower == "p":
            if self._peek() != "{":
                raise RegexSyntaxError("expected '{' after \\p")
            end = self.pattern.find("}", self.pos)
            if end < 0:
                raise RegexSyntaxError("unclosed \\p{")
            test = _category_test(self.pattern[self.pos + 1 : end])
            self.pos = end + 1
            return _negate(test) if char == "P" else test
        return None

    def _escaped_char(self, char: str) -> str:
        if char in _CHAR_ESCAPES:
            return _CHAR_ESCAPES[char]
        if char == "u":
            digits = self.pattern[self.pos : self.pos + 4]
            if len(digits) != 4 or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise RegexSyntaxError("expected four hex digits after \\u")
            self.pos += 4
            return chr(int(digits, 16))
        if char.isalnum():
            raise RegexSyntaxError(f"unknown escape '\\{char}'")
        return char

    def _class(self) -> CharTest:
        negated = self._peek() == "^"
        if negated:
            self.pos += 1
        tests: list[CharTest] = []
        chars: set[str] = set()
        first = True
        while True:
            char = self._peek()
            if char is None:
                raise RegexSyntaxError("missing ']'")
            if char == "]" and not first:
                self.pos += 1
                break
            first = False
            low = self._class_char(tests)
            if low is None:
                continue
            if self._peek() == "-" and self.pattern[self.pos + 1 : self.pos + 2] not in ("]", ""):
                self.pos += 1
                high = self._class_char(tests)
                if high is None or high < low:
                    raise RegexSyntaxError("invalid range in character class")
                tests.append(_between(low, high))
            else:
                chars.add(low)
        frozen = frozenset(chars)
        all_tests = tuple(tests)

        def member(c: str) -> bool:
            return c in frozen or any(test(c) for test in all_tests)

        return _negate(member) if negated else member

    def _class_char(self, tests: list[CharTest]) -> str | None:
        """One character of a class; class escapes are added to ``tests`` and give None."""
        char = self.pattern[self.pos]
        self.pos += 1
        if char == "[":
            raise RegexUnsupported("Character class subtraction or nesting ('[' inside '[...]') is not supported.")
        if char != "\\":
            return char
        escaped = self._peek()
        if escaped is None:
            raise RegexSyntaxError("pattern ends with '\\'")
        self.pos += 1
        test = self._escape_test(escaped)
        if test is not None:
            tests.append(test)
            return None
        return self._escaped_char(escaped)


# --------------------------------------------------------------------------------------------
# Compiler: syntax tree -> instructions
# --------------------------------------------------------------------------------------------

# Instruction opcodes. An instruction is a tuple (opcode, a, b).
_CHAR, _SPLIT, _JUMP, _SAVE, _ASSERT, _MATCH = range(6)
_Instruction = tuple[int, object, object]


def _size(node: _Node) -> int:
    """Number of instructions the node compiles to, computed before emitting anything."""
    if isinstance(node, _Char | _Assert):
        return 1
    if isinstance(node, _Group):
        return _size(node.body) + (2 if node.index is not None else 0)
    if isinstance(node, _Concat):
        return sum(_size(item) for item in node.items)
    if isinstance(node, _Alternation):
        return sum(_size(branch) + 2 for branch in node.branches)
    body = _size(node.body)
    copies = node.low + (1 if node.high is None else node.high - node.low)
    return copies * (body + 2)


class _Compiler:
    def __init__(self) -> None:
        self.program: list[list[object]] = []

    def emit(self, opcode: int, a: object = None, b: object = None) -> int:
        self.program.append([opcode, a, b])
        return len(self.program) - 1

    def compile(self, node: _Node) -> None:
        if isinstance(node, _Char):
            self.emit(_CHAR, node.test)
        elif isinstance(node, _Assert):
            self.emit(_ASSERT, node.kind)
        elif isinstance(node, _Group):
            self._group(node)
        elif isinstance(node, _Concat):
            for item in node.items:
                self.compile(item)
        elif isinstance(node, _Alternation):
            self._alternation(node)
        else:
            self._repeat(node)

    def _group(self, node: _Group) -> None:
        if node.index is None:
            self.compile(node.body)
            return
        self.emit(_SAVE, 2 * node.index)
        self.compile(node.body)
        self.emit(_SAVE, 2 * node.index + 1)

    def _alternation(self, node: _Alternation) -> None:
        jumps: list[int] = []
        for position, branch in enumerate(node.branches):
            if position < len(node.branches) - 1:
                split = self.emit(_SPLIT)
                self.program[split][1] = len(self.program)
                self.compile(branch)
                jumps.append(self.emit(_JUMP))
                self.program[split][2] = len(self.program)
            else:
                self.compile(branch)
        for jump in jumps:
            self.program[jump][1] = len(self.program)

    def _prefer(self, split: int, body: int, leave: int, greedy: bool) -> None:
        self.program[split][1:] = [body, leave] if greedy else [leave, body]

    def _repeat(self, node: _Repeat) -> None:
        for _ in range(node.low):
            self.compile(node.body)
        if node.high is None:
            loop = self.emit(_SPLIT)
            self.compile(node.body)
            self.emit(_JUMP, loop)
            self._prefer(loop, loop + 1, len(self.program), node.greedy)
            return
        splits: list[int] = []
        for _ in range(node.high - node.low):
            splits.append(self.emit(_SPLIT))
            self.compile(node.body)
        for split in splits:
            self._prefer(split, split + 1, len(self.program), node.greedy)


# --------------------------------------------------------------------------------------------
# Matcher
# --------------------------------------------------------------------------------------------

Span = tuple[int, int]


class FeelRegex:
    """A compiled pattern. ``search`` returns the leftmost match with its groups, like ``re``."""

    def __init__(self, program: list[_Instruction], groups: int, literal: str | None, multiline: bool) -> None:
        self.program = program
        self.groups = groups
        self.literal = literal  # the whole pattern is this plain string: use str.find
        self.multiline = multiline

    def search(self, text: str, start: int = 0, budget: list[int] | None = None) -> list[Span | None] | None:
        """Spans of the leftmost match (index 0) and of each group, or None if nothing matches.

        ``budget`` is a one-element list holding the work already spent, shared by repeated searches.
        """
        if len(text) > MAX_REGEX_INPUT_LENGTH:
            raise FeelEvaluationError(
                Phrase("A regular expression was applied to %(count)s characters; the limit is %(limit)s.",
                       count=Count(len(text)), limit=Count(MAX_REGEX_INPUT_LENGTH))
            )
        if self.literal is not None:
            found = text.find(self.literal, start)
            return None if found < 0 else [(found, found + len(self.literal))]
        return self._pike(text, start, budget if budget is not None else [0])

    def finditer(self, text: str) -> Iterator[list[Span | None]]:
        """Successive non-overlapping matches; after an empty match the search moves on one character.

        As in Java and Python, an empty match may directly follow a non-empty one
        (``replace("abc", "b*", "-")`` is ``"-a--c-"``).
        """
        budget = [0]
        position = 0
        while position <= len(text):
            spans = self.search(text, position, budget)
            if spans is None:
                return
            yield spans
            start, end = spans[0]  # type: ignore[misc]
            position = end if end > start else end + 1

    def _pike(self, text: str, start: int, budget: list[int]) -> list[Span | None] | None:
        program = self.program
        marks = [-1] * len(program)
        empty: tuple[int | None, ...] = (None,) * (2 * self.groups + 2)
        current: list[tuple[int, tuple[int | None, ...]]] = []
        generation = 0
        matched: tuple[int | None, ...] | None = None
        for position in range(start, len(text) + 1):
            work = 0
            if not current:
                generation += 1  # a fresh list: marks left by an earlier, empty one must not count
            if matched is None:
                # a thread starting here has the lowest priority: leftmost match wins
                work += self._follow(current, marks, generation, 0, empty, text, position)
            if not current:
                if matched is not None:
                    break
                continue
            generation += 1
            following: list[tuple[int, tuple[int | None, ...]]] = []
            char = text[position] if position < len(text) else None
            for pc, captures in current:
                instruction = program[pc]
                if instruction[0] == _MATCH:
                    matched = captures
                    break  # threads after this one have lower priority
                test = instruction[1]
                if char is not None and test(char):  # type: ignore[operator]
                    work += self._follow(following, marks, generation, pc + 1, captures, text, position + 1)
            budget[0] += work + len(current)
            if budget[0] > MAX_REGEX_WORK:
                raise FeelEvaluationError(
                    Phrase("A regular expression needed too much work on its input (more than %(limit)s steps); "
                           "simplify the pattern or shorten the text.", limit=Count(MAX_REGEX_WORK))
                )
            current = following
        if matched is None:
            return None
        return [
            (matched[2 * i], matched[2 * i + 1])  # type: ignore[misc]
            if matched[2 * i] is not None and matched[2 * i + 1] is not None
            else None
            for i in range(self.groups + 1)
        ]

    def _follow(
        self,
        threads: list[tuple[int, tuple[int | None, ...]]],
        marks: list[int],
        generation: int,
        pc: int,
        captures: tuple[int | None, ...],
        text: str,
        position: int,
    ) -> int:
        """Add the thread at ``pc`` and everything reachable without consuming a character."""
        program = self.program
        stack = [(pc, captures)]
        steps = 0
        while stack:
            pc, captures = stack.pop()
            steps += 1
            if marks[pc] == generation:
                continue
            marks[pc] = generation
            opcode, a, b = program[pc]
            if opcode == _JUMP:
                stack.append((a, captures))  # type: ignore[arg-type]
            elif opcode == _SPLIT:
                stack.append((b, captures))  # type: ignore[arg-type]
                stack.append((a, captures))  # type: ignore[arg-type]
            elif opcode == _SAVE:
                slot: int = a  # type: ignore[assignment]
                stack.append((pc + 1, captures[:slot] + (position,) + captures[slot + 1 :]))
            elif opcode == _ASSERT:
                if self._holds(a, text, position):  # type: ignore[arg-type]
                    stack.append((pc + 1, captures))
            else:
                threads.append((pc, captures))
        return steps

    def _holds(self, kind: str, text: str, position: int) -> bool:
        if kind == "^":
            return position == 0 or (self.multiline and text[position - 1] == "\n")
        if kind == "$":
            return position == len(text) or (self.multiline and text[position] == "\n")
        before = position > 0 and _is_word(text[position - 1])
        after = position < len(text) and _is_word(text[position])
        return (before != after) if kind == "b" else (before == after)


def _literal_text(node: _Node) -> str | None:
    if isinstance(node, _Char):
        return node.literal
    if isinstance(node, _Concat):
        parts = [item.literal if isinstance(item, _Char) else None for item in node.items]
        if all(part is not None for part in parts):
            return "".join(part for part in parts if part is not None)
    return None


def _strip_whitespace(pattern: str) -> str:
    """The ``x`` flag: whitespace outside character classes is not part of the pattern."""
    result: list[str] = []
    in_class = escaped = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char.isspace() and not in_class:
            continue
        result.append(char)
    return "".join(result)


@lru_cache(maxsize=256)
def compile_regex(pattern: str, flags: str = "") -> FeelRegex:
    """Compile a FEEL pattern. Raises RegexSyntaxError (invalid) or a FeelEvaluationError (refused)."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise FeelEvaluationError(
            Phrase("A regular expression has %(count)s characters; the limit is %(limit)s.",
                   count=Count(len(pattern)), limit=Count(MAX_PATTERN_LENGTH))
        )
    if any(flag not in "ismxq" for flag in flags):
        raise RegexSyntaxError(f"unknown flags '{flags}'")
    if "q" in flags:
        pattern = "".join("\\" + c if not c.isalnum() and not c.isspace() else c for c in pattern)
    elif "x" in flags:
        pattern = _strip_whitespace(pattern)
    parser = _PatternParser(pattern, ignore_case="i" in flags, dot_all="s" in flags, multiline="m" in flags)
    tree = parser.parse()
    if _size(tree) + 3 > MAX_REGEX_PROGRAM:
        raise RegexUnsupported(
            Phrase("The regular expression is too complex (more than %(limit)s instructions once compiled).",
                   limit=Count(MAX_REGEX_PROGRAM))
        )
    compiler = _Compiler()
    compiler.emit(_SAVE, 0)
    compiler.compile(tree)
    compiler.emit(_SAVE, 1)
    compiler.emit(_MATCH)
    program: list[_Instruction] = [(op, a, b) for op, a, b in compiler.program]  # type: ignore[misc]
    literal = _literal_text(tree) if "i" not in flags else None
    return FeelRegex(program, parser.groups, literal, parser.multiline)
