"""Errors and resource limits of the FEEL evaluator.

Every limit here exists so that an uploaded model cannot make the engine spin, recurse or allocate
without bound. A limit that is hit raises :class:`FeelEvaluationError` (or :class:`FeelSyntaxError`
while parsing) with a message that names the limit, never a Python ``RecursionError``/``MemoryError``.
"""

from __future__ import annotations

from engine.errors import ExpressionError, Text

# Parsing
MAX_EXPRESSION_LENGTH = 10_000
MAX_NESTING = 100  # syntactic nesting (brackets, operators, if/for...) and depth of the syntax tree

# Evaluation
MAX_STEPS = 100_000  # syntax-tree node visits per evaluation
MAX_EVAL_DEPTH = 250  # nested evaluation (user-defined functions calling each other)
MAX_STRING_LENGTH = 1_000_000  # characters in one string produced by an operation
MAX_LIST_LENGTH = 100_000  # items in one list produced by an operation or a range
MAX_ALLOCATION = 10_000_000  # characters + list items produced in total by one evaluation
MAX_RESULT_SIZE = 2_000_000  # characters + list items + context entries of the final result
MAX_EXPONENT = 1_000  # |y| in x ** y
MAX_INPUT_DEPTH = 200  # nesting of lists/dicts handed in by the caller

# Regular expressions (matches, replace, split, extract)
MAX_PATTERN_LENGTH = 1_000
MAX_REGEX_INPUT_LENGTH = 100_000
MAX_REGEX_PROGRAM = 5_000  # compiled instructions, e.g. after expanding a{n,m}
MAX_REGEX_WORK = 1_000_000  # thread steps of the matcher per call


class FeelError(ExpressionError):
    """Common base of the FEEL errors, so callers can catch both with one clause."""


class FeelSyntaxError(FeelError):
    """The text is not a FEEL expression we can parse; ``column`` (1-based) says where."""

    def __init__(self, message: Text, expression: str | None = None, column: int | None = None) -> None:
        super().__init__(message, expression)
        self.column = column


class FeelEvaluationError(FeelError):
    """Evaluation was stopped: a safety limit was exceeded or the engine refused an operation."""
