"""Parser for FEEL expressions and unary tests: precedence climbing (Pratt) over the tokens.

Precedence, lowest first: ``if/for/some/every/function`` (their last part extends as far as
possible), ``or``, ``and``, comparisons with ``between``/``in``/``instance of``, ``+ -``, ``* /``,
``**``, unary ``-``, then path ``.``, filter ``[...]`` and invocation ``(...)``.

Nesting is limited twice: the parser's own recursion (brackets, operands) and the depth of the
finished tree, both to ``MAX_NESTING``; either gives a FeelSyntaxError instead of a RecursionError.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.errors import Count, Phrase
from engine.expressions.feel import ast
from engine.expressions.feel.builtins import BUILTIN_NAMES
from engine.expressions.feel.errors import MAX_EXPRESSION_LENGTH, MAX_NESTING, FeelSyntaxError
from engine.expressions.feel.lexer import EOF, KEYWORDS, NAME, NUMBER, STRING, Lexer, Token, multi_word_index, where
from engine.expressions.feel.lexer import syntax_error as _syntax_error
from engine.expressions.feel.values import parse_temporal

_MULTI_WORD_FUNCTIONS = multi_word_index(BUILTIN_NAMES)

BP_OR = 1
BP_AND = 2
BP_COMPARE = 3
BP_ADD = 4
BP_MUL = 5
BP_POW = 6
BP_UNARY = 7
BP_POSTFIX = 8

_COMPARISON_OPS = ("=", "!=", "<", "<=", ">", ">=")
_ARITHMETIC_BP = {"+": BP_ADD, "-": BP_ADD, "*": BP_MUL, "/": BP_MUL, "**": BP_POW}
_TYPE_NAMES = sorted(
    (
        tuple(name.split(" "))
        for name in (
            "date and time",
            "days and time duration",
            "years and months duration",
            "number",
            "string",
            "boolean",
            "date",
            "time",
            "list",
            "context",
            "function",
            "range",
            "Any",
            "Null",
        )
    ),
    key=len,
    reverse=True,
)
_MULTI_WORD_PROPERTIES = {("time", "offset"), ("start", "included"), ("end", "included")}


def check_length(text: str) -> None:
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise FeelSyntaxError(
            Phrase("The FEEL expression has %(count)s characters; the limit is %(limit)s.",
                   count=Count(len(text)), limit=Count(MAX_EXPRESSION_LENGTH)),
            text[:200] + "…",
            None,
        )


def parse_expression(text: str) -> ast.Node:
    return _guarded(text, lambda parser: parser.parse_expression())


def parse_unary_tests(text: str) -> ast.Node:
    return _guarded(text, lambda parser: parser.parse_unary_tests())


def _guarded(text: str, run: Callable[[Parser], ast.Node]) -> ast.Node:
    check_length(text)
    try:
        tree = run(Parser(text))
    except RecursionError:
        # the nesting limit should prevent this; a caller already deep in its own stack may still hit it
        raise FeelSyntaxError("The FEEL expression is nested too deeply.", text, None) from None
    _check_tree_depth(text, tree)
    return tree


def _check_tree_depth(text: str, tree: ast.Node) -> None:
    for node, depth in ast.walk(tree):
        if depth > MAX_NESTING:
            raise _syntax_error(text, node.pos, Phrase("the expression is nested too deeply (more than %(limit)s "
                                                       "levels)", limit=MAX_NESTING))


class Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = Lexer(text, _MULTI_WORD_FUNCTIONS).tokenize()
        self.index = 0
        self.depth = 0

    # -- token helpers ---------------------------------------------------------------------

    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != EOF:
            self.index += 1
        return token

    def error(self, message: Phrase, token: Token | None = None) -> FeelSyntaxError:
        return _syntax_error(self.text, (token or self.peek()).pos, message)

    def expect_op(self, op: str, purpose: Phrase | None = None) -> Token:
        token = self.peek()
        if not token.is_op(op):
            if purpose is None:
                raise self.error(Phrase("expected '%(op)s', but found %(found)s", op=op, found=token.describe()))
            raise self.error(Phrase("expected '%(op)s' %(purpose)s, but found %(found)s", op=op, purpose=purpose,
                                    found=token.describe()))  # fmt: skip
        return self.advance()

    def expect_keyword(self, word: str, purpose: Phrase) -> Token:
        token = self.peek()
        if not token.is_keyword(word):
            raise self.error(Phrase("expected '%(word)s' %(purpose)s, but found %(found)s", word=word, purpose=purpose,
                                    found=token.describe()))  # fmt: skip
        return self.advance()

    def expect_end(self) -> None:
        token = self.peek()
        if token.kind != EOF:
            raise self.error(Phrase("unexpected %(found)s; expected an operator or the end of the expression",
                                    found=token.describe()))

    def at(self, token: Token) -> Phrase:
        return where(self.text, token.pos)

    # -- entry points ----------------------------------------------------------------------

    def parse_expression(self) -> ast.Node:
        node = self.expression()
        self.expect_end()
        return node

    def parse_unary_tests(self) -> ast.Node:
        first = self.peek()
        if first.kind == EOF or (first.is_op("-") and self.peek(1).kind == EOF):
            self.advance()
            return ast.AnyTest(first.pos)
        if first.is_keyword("not") and self.peek(1).is_op("(") and self._closing_is_last(self.index + 1):
            self.advance()
            opening = self.advance()
            tests = self.test_list(0)
            self.expect_op(")", Phrase("to close 'not(' at %(where)s", where=self.at(opening)))
            self.expect_end()
            return ast.NegatedTests(first.pos, tests)
        tests = self.test_list(0)
        self.expect_end()
        return ast.In(first.pos, ast.Name(first.pos, "?"), tests)

    # -- expressions -----------------------------------------------------------------------

    def expression(self, min_bp: int = 0) -> ast.Node:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(Phrase("the expression is nested too deeply (more than %(limit)s levels)",
                                    limit=MAX_NESTING))
        try:
            left = self.prefix()
            while True:
                token = self.peek()
                bp = self.infix_power(token)
                if bp is None or bp <= min_bp:
                    return left
                left = self.infix(left, token, bp)
        finally:
            self.depth -= 1

    def infix_power(self, token: Token) -> int | None:
        if token.kind == NAME:
            if token.is_keyword("or"):
                return BP_OR
            if token.is_keyword("and"):
                return BP_AND
            if token.is_keyword("between", "in", "instance"):
                return BP_COMPARE
            return None
        if token.kind != "op":
            return None
        if token.text in _ARITHMETIC_BP:
            return _ARITHMETIC_BP[token.text]
        if token.text in _COMPARISON_OPS:
            return BP_COMPARE
        if token.text in (".", "("):
            return BP_POSTFIX
        if token.text == "[" and self.starts_expression(self.peek(1)):
            # otherwise '[' closes an open range such as ']1..10['
            return BP_POSTFIX
        return None

    def starts_expression(self, token: Token) -> bool:
        if token.kind in (NUMBER, STRING):
            return True
        if token.kind == NAME:
            return token.quoted or token.text not in KEYWORDS or token.text in (
                "if", "for", "some", "every", "true", "false", "null", "function", "not",
            )  # fmt: skip
        return token.is_op("-", "(", "[", "]", "{", "?", "@")

    def infix(self, left: ast.Node, token: Token, bp: int) -> ast.Node:
        if token.kind == NAME:
            return self.keyword_infix(left, token, bp)
        op = token.text
        if op in _ARITHMETIC_BP:
            return self.arithmetic_chain(left, bp)
        if op in _COMPARISON_OPS:
            self.advance()
            return ast.Comparison(token.pos, op, left, self.expression(BP_COMPARE))
        self.advance()
        if op == ".":
            return self.path(left, token)
        if op == "[":
            predicate = self.expression()
            self.expect_op("]", Phrase("to close the filter '[' at %(where)s", where=self.at(token)))
            return ast.Filter(token.pos, left, predicate)
        return self.call(left, token)

    def keyword_infix(self, left: ast.Node, token: Token, bp: int) -> ast.Node:
        word = token.text
        if word in ("and", "or"):
            operands = [left]
            while self.peek().is_keyword(word):
                self.advance()
                operands.append(self.expression(bp))
            node_type = ast.Conjunction if word == "and" else ast.Disjunction
            return node_type(token.pos, tuple(operands))
        self.advance()
        if word == "between":
            low = self.expression(BP_COMPARE)
            self.expect_keyword("and", Phrase("in 'between … and …' at %(where)s", where=self.at(token)))
            return ast.Between(token.pos, left, low, self.expression(BP_COMPARE))
        if word == "in":
            return ast.In(token.pos, left, self.in_tests())
        self.expect_keyword("of", Phrase("after 'instance'"))
        type_name, item_type = self.type_name()
        return ast.InstanceOf(token.pos, left, type_name, item_type)

    def arithmetic_chain(self, left: ast.Node, bp: int) -> ast.Node:
        operands = [left]
        ops: list[str] = []
        first = self.peek()
        while self.peek().kind == "op" and _ARITHMETIC_BP.get(self.peek().text) == bp:
            ops.append(self.advance().text)
            operands.append(self.expression(bp))
        return ast.Arithmetic(first.pos, tuple(operands), tuple(ops))

    def path(self, base: ast.Node, dot: Token) -> ast.Node:
        keys = [self.path_key(dot)]
        while self.peek().is_op("."):
            dot = self.advance()
            keys.append(self.path_key(dot))
        return ast.Path(dot.pos, base, tuple(keys))

    def path_key(self, dot: Token) -> str:
        token = self.peek()
        if token.kind != NAME:
            raise self.error(Phrase("expected a name after '.' at %(where)s, but found %(found)s",
                                    where=self.at(dot), found=token.describe()))
        self.advance()
        following = self.peek()
        if following.kind == NAME and (token.text, following.text) in _MULTI_WORD_PROPERTIES:
            self.advance()
            return f"{token.text} {following.text}"
        return token.text

    def call(self, callee: ast.Node, opening: Token) -> ast.Node:
        closing = Phrase("to close the argument list '(' at %(where)s", where=self.at(opening))
        args: list[ast.Node] = []
        names: list[str] | None = [] if self.named_argument_ahead() else None
        if self.peek().is_op(")"):
            self.advance()
            return ast.Call(opening.pos, callee, (), None)
        while True:
            if names is not None:
                name_token = self.peek()
                name = self.name_words(Phrase("a parameter name"))
                if name in names:
                    raise self.error(Phrase("the parameter '%(name)s' is given twice", name=name), name_token)
                names.append(name)
                self.expect_op(":", Phrase("after the parameter name"))
            args.append(self.expression())
            if self.peek().is_op(","):
                self.advance()
                continue
            self.expect_op(")", closing)
            return ast.Call(opening.pos, callee, tuple(args), tuple(names) if names is not None else None)

    def named_argument_ahead(self) -> bool:
        offset = 0
        while self.peek(offset).kind == NAME:
            offset += 1
        return offset > 0 and self.peek(offset).is_op(":")

    def name_words(self, what: Phrase) -> str:
        """One or more name tokens (keywords allowed) joined by spaces, as in ``start position``."""
        words: list[str] = []
        while self.peek().kind == NAME:
            words.append(self.advance().text)
        if not words:
            raise self.error(Phrase("expected %(what)s, but found %(found)s", what=what, found=self.peek().describe()))
        return " ".join(words)

    # -- prefix forms ----------------------------------------------------------------------

    def prefix(self) -> ast.Node:
        token = self.advance()
        if token.kind in (NUMBER, STRING):
            return ast.Literal(token.pos, token.value)
        if token.kind == NAME:
            return self.name_or_keyword(token)
        if token.kind == EOF:
            raise self.error(Phrase("expected an expression, but the expression ends here"), token)
        handler = self._prefix_ops.get(token.text)
        if handler is None:
            raise self.error(Phrase("expected an expression, but found %(found)s", found=token.describe()), token)
        return handler(self, token)

    def name_or_keyword(self, token: Token) -> ast.Node:
        if token.quoted or token.text not in KEYWORDS:
            return ast.Name(token.pos, token.text)
        word = token.text
        if word in ("true", "false"):
            return ast.Literal(token.pos, word == "true")
        if word == "null":
            return ast.Literal(token.pos, None)
        if word == "if":
            return self.if_expression(token)
        if word == "for":
            iterations = self.iterations("return", token)
            body = self.expression()
            return ast.For(token.pos, iterations, body, ast.uses_name(body, "partial"))
        if word in ("some", "every"):
            iterations = self.iterations("satisfies", token)
            return ast.Quantified(token.pos, word == "every", iterations, self.expression())
        if word == "function":
            return self.function_literal(token)
        if word == "not" and self.peek().is_op("("):
            return ast.Name(token.pos, "not")
        raise self.error(Phrase("unexpected '%(word)s'; expected an expression", word=word), token)

    def if_expression(self, token: Token) -> ast.Node:
        condition = self.expression()
        self.expect_keyword("then", Phrase("after the condition of 'if' at %(where)s", where=self.at(token)))
        then = self.expression()
        self.expect_keyword("else", Phrase("for 'if' at %(where)s (FEEL requires an else branch)",
                                           where=self.at(token)))
        return ast.If(token.pos, condition, then, self.expression())

    def iterations(self, terminator: str, start: Token) -> tuple[ast.Iteration, ...]:
        result: list[ast.Iteration] = []
        while True:
            name_token = self.peek()
            if name_token.kind != NAME or (not name_token.quoted and name_token.text in KEYWORDS):
                raise self.error(Phrase("expected a variable name after '%(text)s', but found %(found)s",
                                        text=start.text, found=name_token.describe()))
            self.advance()
            self.expect_keyword("in", Phrase("after the variable '%(text)s'", text=name_token.text))
            source = self.expression(BP_COMPARE)
            end = None
            if self.peek().is_op(".."):
                self.advance()
                end = self.expression(BP_COMPARE)
            result.append(ast.Iteration(name_token.pos, name_token.text, source, end))
            if self.peek().is_op(","):
                self.advance()
                continue
            self.expect_keyword(terminator, Phrase("in '%(text)s' at %(where)s", text=start.text, where=self.at(start)))
            return tuple(result)

    def function_literal(self, token: Token) -> ast.Node:
        opening = self.expect_op("(", Phrase("after 'function'"))
        params: list[str] = []
        while not self.peek().is_op(")"):
            name_token = self.peek()
            if name_token.kind != NAME:
                raise self.error(Phrase("expected a parameter name, but found %(found)s", found=name_token.describe()))
            self.advance()
            if name_token.text in params:
                raise self.error(Phrase("the parameter '%(text)s' is declared twice", text=name_token.text), name_token)
            params.append(name_token.text)
            if self.peek().is_op(":"):  # a type annotation; types are not checked
                self.advance()
                self.type_name()
            if not self.peek().is_op(","):
                break
            self.advance()
        self.expect_op(")", Phrase("to close the parameter list '(' at %(where)s", where=self.at(opening)))
        return ast.FunctionLiteral(token.pos, tuple(params), self.expression())

    def type_name(self) -> tuple[str, str | None]:
        for words in _TYPE_NAMES:
            if all(self.peek(i).kind == NAME and self.peek(i).text == word for i, word in enumerate(words)):
                for _ in words:
                    self.advance()
                name = " ".join(words)
                if name == "list" and self.peek().is_op("<"):
                    self.advance()
                    item_type, _ = self.type_name()
                    self.expect_op(">", Phrase("to close 'list<'"))
                    return name, item_type
                return name, None
        raise self.error(Phrase("expected a type name (number, string, date, list…), but found %(found)s",
                                found=self.peek().describe()))

    def parenthesis(self, opening: Token) -> ast.Node:
        inner = self.expression()
        if self.peek().is_op(".."):
            return self.range_rest(opening, False, inner)
        self.expect_op(")", Phrase("to close '(' at %(where)s", where=self.at(opening)))
        return inner

    def bracket(self, opening: Token) -> ast.Node:
        if self.peek().is_op("]"):
            self.advance()
            return ast.ListLiteral(opening.pos, ())
        first = self.expression()
        if self.peek().is_op(".."):
            return self.range_rest(opening, True, first)
        items = [first]
        while self.peek().is_op(","):
            self.advance()
            items.append(self.expression())
        self.expect_op("]", Phrase("to close the list '[' at %(where)s", where=self.at(opening)))
        return ast.ListLiteral(opening.pos, tuple(items))

    def open_range(self, opening: Token) -> ast.Node:
        start = self.expression()
        if not self.peek().is_op(".."):
            found = self.peek().describe()
            raise self.error(Phrase("expected '..' in the range starting at %(where)s, but found %(found)s",
                                    where=self.at(opening), found=found))
        return self.range_rest(opening, False, start)

    def range_rest(self, opening: Token, start_included: bool, start: ast.Node) -> ast.Node:
        self.expect_op("..")
        end = self.expression()
        closing = self.peek()
        if not closing.is_op("]", ")", "["):
            raise self.error(Phrase("expected ']', ')' or '[' to close the range starting at %(where)s, but found "
                                    "%(found)s", where=self.at(opening), found=closing.describe()))
        self.advance()
        return ast.RangeLiteral(opening.pos, start, end, start_included, closing.text == "]")

    def context(self, opening: Token) -> ast.Node:
        keys: list[str] = []
        values: list[ast.Node] = []
        if self.peek().is_op("}"):
            self.advance()
            return ast.ContextLiteral(opening.pos, (), ())
        while True:
            key_token = self.peek()
            if key_token.kind == STRING:
                self.advance()
                key = str(key_token.value)
            else:
                key = self.name_words(Phrase("a key (a name or a string) in the context"))
            if key in keys:
                raise self.error(Phrase("the key '%(key)s' appears twice in the context", key=key), key_token)
            self.expect_op(":", Phrase("after the key '%(key)s'", key=key))
            keys.append(key)
            values.append(self.expression())
            if self.peek().is_op(","):
                self.advance()
                continue
            self.expect_op("}", Phrase("to close the context '{' at %(where)s", where=self.at(opening)))
            return ast.ContextLiteral(opening.pos, tuple(keys), tuple(values))

    def negation(self, token: Token) -> ast.Node:
        return ast.Negation(token.pos, self.expression(BP_UNARY))

    def input_name(self, token: Token) -> ast.Node:
        return ast.Name(token.pos, "?")

    def temporal(self, token: Token) -> ast.Node:
        literal = self.peek()
        if literal.kind != STRING:
            raise self.error(Phrase("expected a string after '@', but found %(found)s", found=literal.describe()))
        self.advance()
        value = parse_temporal(str(literal.value))
        if value is None:
            raise self.error(Phrase("'%(value)s' is not a date, time, date and time or duration",
                                    value=literal.value), literal)
        return ast.Literal(token.pos, value)

    _prefix_ops: dict[str, Callable[[Parser, Token], ast.Node]] = {
        "-": negation,
        "(": parenthesis,
        "[": bracket,
        "]": open_range,
        "{": context,
        "?": input_name,
        "@": temporal,
    }

    # -- unary tests -----------------------------------------------------------------------

    def in_tests(self) -> tuple[ast.Node, ...]:
        """The right side of ``in``: one positive unary test, or several in parentheses."""
        if self.peek().is_op("(") and self._has_top_level_comma(self.index):
            opening = self.advance()
            tests = self.test_list(0)
            self.expect_op(")", Phrase("to close '(' at %(where)s", where=self.at(opening)))
            return tests
        return (self.positive_test(BP_COMPARE),)

    def test_list(self, min_bp: int) -> tuple[ast.Node, ...]:
        tests = [self.positive_test(min_bp)]
        while self.peek().is_op(","):
            self.advance()
            tests.append(self.positive_test(min_bp))
        return tuple(tests)

    def positive_test(self, min_bp: int) -> ast.Node:
        token = self.peek()
        if token.kind == "op" and token.text in _COMPARISON_OPS:
            self.advance()
            return ast.CompareTest(token.pos, token.text, self.expression(BP_COMPARE))
        expression = self.expression(min_bp)
        return ast.ExpressionTest(token.pos, expression, ast.uses_name(expression, "?"))

    def _scan_group(self, start: int) -> tuple[int | None, bool]:
        """From the bracket at token ``start``: index of its closing token and whether a comma is at level 1."""
        depth = 0
        comma = False
        for index in range(start, len(self.tokens)):
            token = self.tokens[index]
            if token.is_op("(", "[", "{"):
                depth += 1
            elif token.is_op(")", "]", "}"):
                depth -= 1
                if depth == 0:
                    return index, comma
            elif depth == 1 and token.is_op(","):
                comma = True
        return None, comma

    def _has_top_level_comma(self, start: int) -> bool:
        return self._scan_group(start)[1]

    def _closing_is_last(self, start: int) -> bool:
        closing, _ = self._scan_group(start)
        return closing is not None and self.tokens[closing + 1].kind == EOF
