"""Tokenizer for FEEL.

FEEL names may contain spaces (``string length``, ``date and time``), and some of those words are
keywords (``and``, ``of``). We do not try to support arbitrary names with spaces; the tokenizer
knows the built-in function names that contain spaces and joins their words into one name token
when the words are followed by ``(``, i.e. when they are called. Everything else with spaces must
be written in backticks: `` `first name` ``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.errors import Phrase
from engine.expressions.feel.errors import FeelSyntaxError
from engine.expressions.feel.values import DECIMAL_CONTEXT

KEYWORDS = frozenset(
    {
        "and",
        "or",
        "not",
        "if",
        "then",
        "else",
        "for",
        "in",
        "return",
        "some",
        "every",
        "satisfies",
        "between",
        "instance",
        "of",
        "true",
        "false",
        "null",
        "function",
    }
)
# "not" is listed so that it never becomes a plain variable; the parser turns "not(...)" into a call.

# longest first, so that "**" is not read as two "*"
OPERATORS = ("**", "..", "!=", "<=", ">=", *"+-*/=<>()[]{},.:?@")

NUMBER = "number"
STRING = "string"
NAME = "name"
OP = "op"
EOF = "end"


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str  # the operator, the name, or the source text of a literal
    pos: int  # offset in the expression, 0-based
    value: Any = None  # Decimal for numbers, str for strings
    quoted: bool = False  # a `backtick` name, never a keyword

    def is_keyword(self, *words: str) -> bool:
        return self.kind == NAME and not self.quoted and self.text in words and self.text in KEYWORDS

    def is_op(self, *ops: str) -> bool:
        return self.kind == OP and self.text in ops

    def describe(self) -> Phrase:
        if self.kind == EOF:
            return Phrase("end of expression")
        if self.kind == STRING:
            return Phrase("a string")
        if self.kind == NUMBER:
            return Phrase("number %(number)s", number=self.text)
        return Phrase("'%(token)s'", token=self.text)


def column_of(text: str, pos: int) -> tuple[int, int]:
    """1-based (line, column) of an offset."""
    line = text.count("\n", 0, pos) + 1
    start = text.rfind("\n", 0, pos) + 1
    return line, pos - start + 1


def where(text: str, pos: int) -> Phrase:
    line, column = column_of(text, pos)
    if "\n" not in text:
        return Phrase("column %(column)s", column=column)
    return Phrase("line %(line)s, column %(column)s", line=line, column=column)


def syntax_error(text: str, pos: int, message: Phrase) -> FeelSyntaxError:
    _, column = column_of(text, pos)
    return FeelSyntaxError(Phrase("FEEL syntax error at %(where)s: %(problem)s", where=where(text, pos),
                                  problem=message), text, column)  # fmt: skip


def _is_name_start(char: str) -> bool:
    return char.isalpha() or char in "_$"


def _is_name_part(char: str) -> bool:
    return char.isalnum() or char in "_$"


_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "'": "'", "n": "\n", "r": "\r", "t": "\t"}


class Lexer:
    def __init__(self, text: str, multi_word_names: dict[str, list[tuple[str, ...]]]) -> None:
        self.text = text
        self.pos = 0
        self.tokens: list[Token] = []
        self.multi_word_names = multi_word_names

    def tokenize(self) -> list[Token]:
        text = self.text
        while True:
            self._skip_blank()
            if self.pos >= len(text):
                self.tokens.append(Token(EOF, "", self.pos))
                return self.tokens
            char = text[self.pos]
            if char.isdigit() or (char == "." and self._digit_at(self.pos + 1) and not self._after_value()):
                self._number()
            elif char == '"':
                self._string()
            elif char == "`":
                self._backtick_name()
            elif _is_name_start(char):
                self._name()
            else:
                self._operator()

    # -- helpers ---------------------------------------------------------------------------

    def _digit_at(self, pos: int) -> bool:
        return pos < len(self.text) and self.text[pos].isdigit()

    def _after_value(self) -> bool:
        """Whether the previous token ends a value, so that '.5' would be a path, not a number."""
        if not self.tokens:
            return False
        last = self.tokens[-1]
        return last.kind in (NUMBER, STRING) or (last.kind == NAME and not last.is_keyword(*KEYWORDS)) or (
            last.is_op(")", "]", "}")
        )

    def _skip_blank(self) -> None:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char.isspace():
                self.pos += 1
            elif text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end + 1
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise syntax_error(text, self.pos, Phrase("the comment '/*' is never closed with '*/'"))
                self.pos = end + 2
            else:
                return

    # -- tokens ----------------------------------------------------------------------------

    def _number(self) -> None:
        text = self.text
        start = self.pos
        while self._digit_at(self.pos):
            self.pos += 1
        if self.pos < len(text) and text[self.pos] == "." and self._digit_at(self.pos + 1):
            self.pos += 1
            while self._digit_at(self.pos):
                self.pos += 1
        source = text[start : self.pos]
        try:
            # digits beyond 34 are rounded, like every other number
            value = DECIMAL_CONTEXT.create_decimal(Decimal(source))
        except ArithmeticError:
            raise syntax_error(text, start, Phrase("the number is too large")) from None
        self.tokens.append(Token(NUMBER, source, start, value))

    def _string(self) -> None:
        text = self.text
        start = self.pos
        self.pos += 1
        parts: list[str] = []
        while True:
            end = self._find_string_stop()
            if end < 0:
                raise syntax_error(text, start, Phrase('the string starting here is never closed with \'"\''))
            parts.append(text[self.pos : end])
            self.pos = end
            if text[end] == '"':
                self.pos += 1
                break
            parts.append(self._escape())
        self.tokens.append(Token(STRING, text[start : self.pos], start, "".join(parts)))

    def _find_string_stop(self) -> int:
        quote = self.text.find('"', self.pos)
        backslash = self.text.find("\\", self.pos)
        if backslash >= 0 and (quote < 0 or backslash < quote):
            return backslash
        return quote

    def _escape(self) -> str:
        """Decode the escape at self.pos (a backslash); unknown escapes stay as written (``\\d``)."""
        text = self.text
        start = self.pos
        char = text[start + 1] if start + 1 < len(text) else ""
        if char and char in _SIMPLE_ESCAPES:
            self.pos += 2
            return _SIMPLE_ESCAPES[char]
        if char in ("u", "U"):
            width = 4 if char == "u" else 6
            digits = text[start + 2 : start + 2 + width]
            if len(digits) == width and all(d in "0123456789abcdefABCDEF" for d in digits):
                code = int(digits, 16)
                if code <= 0x10FFFF:
                    self.pos += 2 + width
                    return chr(code)
            raise syntax_error(text, start, Phrase("'\\%(char)s' must be followed by %(width)s hexadecimal digits",
                                                   char=char, width=width))
        self.pos += 1
        return "\\"

    def _backtick_name(self) -> None:
        start = self.pos
        end = self.text.find("`", start + 1)
        if end < 0:
            raise syntax_error(self.text, start, Phrase("the name starting with '`' is never closed with '`'"))
        name = self.text[start + 1 : end]
        if not name.strip():
            raise syntax_error(self.text, start, Phrase("a name in backticks cannot be empty"))
        self.pos = end + 1
        self.tokens.append(Token(NAME, name, start, quoted=True))

    def _word_at(self, pos: int) -> tuple[str, int]:
        end = pos
        while end < len(self.text) and _is_name_part(self.text[end]):
            end += 1
        return self.text[pos:end], end

    def _name(self) -> None:
        start = self.pos
        word, end = self._word_at(start)
        for candidate in self.multi_word_names.get(word, ()):
            joined_end = self._match_words(end, candidate[1:])
            if joined_end is not None:
                self.tokens.append(Token(NAME, " ".join(candidate), start))
                self.pos = joined_end
                return
        self.tokens.append(Token(NAME, word, start))
        self.pos = end

    def _match_words(self, pos: int, words: tuple[str, ...]) -> int | None:
        """End offset if ``words`` follow (separated by blanks) and then '(' comes; else None."""
        text = self.text
        for word in words:
            blank_start = pos
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            if pos == blank_start:
                return None
            found, pos = self._word_at(pos)
            if found != word:
                return None
        look = pos
        while look < len(text) and text[look] in " \t\r\n":
            look += 1
        return pos if look < len(text) and text[look] == "(" else None

    def _operator(self) -> None:
        for op in OPERATORS:
            if self.text.startswith(op, self.pos):
                self.tokens.append(Token(OP, op, self.pos))
                self.pos += len(op)
                return
        char = self.text[self.pos]
        if char == "!":
            raise syntax_error(self.text, self.pos, Phrase("unexpected character '!' (use '!=' for 'not equal')"))
        raise syntax_error(self.text, self.pos, Phrase("unexpected character '%(char)s'", char=char))


def multi_word_index(names: list[str]) -> dict[str, list[tuple[str, ...]]]:
    """First word -> word tuples of the names with spaces, longest first (greedy matching)."""
    index: dict[str, list[tuple[str, ...]]] = {}
    for name in names:
        words = tuple(name.split(" "))
        if len(words) > 1:
            index.setdefault(words[0], []).append(words)
    for candidates in index.values():
        candidates.sort(key=len, reverse=True)
    return index
