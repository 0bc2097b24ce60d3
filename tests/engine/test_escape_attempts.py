"""Escape attempts against every evaluator of model expressions: FEEL, JUEL and the Python subset.

Each attempt must end quickly with an ExpressionError (FEEL may also answer a harmless value where
its semantics say null), must not run anything (no import, open, exec, compile of code, process
start or dunder lookup is seen by an audit hook), and must never surface a RecursionError,
MemoryError or SystemExit.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from typing import Any

import pytest

from engine.errors import ExpressionError
from engine.expressions import feel, juel, python_subset

TIME_LIMIT = 1.0
CONTEXT: dict[str, Any] = {"x": 1, "s": "text", "l": [1, 2], "d": {"k": "v"}}

# -- watching for anything that runs code ------------------------------------------------------

_FORBIDDEN_PREFIXES = (
    "exec",
    "import",
    "open",
    "os.",
    "subprocess.",
    "socket.",
    "ctypes.",
    "shutil.",
    "sys._getframe",
    "sys.settrace",
    "sys.setprofile",
    "builtins.input",
    "code.__new__",
    "function.__new__",
    "object.__getattr__",
    "object.__setattr__",
    "object.__delattr__",
)
_seen: list[str] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _seen is None:
        return
    if event == "compile":
        # ast.parse of the Python subset compiles to a syntax tree only; it names no file
        if len(args) > 1 and args[1] == "<unknown>":
            return
        _seen.append(f"compile {args[1:2]!r}")
    elif event.startswith(_FORBIDDEN_PREFIXES):
        _seen.append(event)


sys.addaudithook(_audit)  # cannot be removed; it does nothing while nobody is watching


@contextmanager
def _watching() -> Iterator[list[str]]:
    global _seen
    _seen = []
    try:
        yield _seen
    finally:
        _seen = None


# -- the three evaluators ----------------------------------------------------------------------


def _feel(text: str) -> Any:
    return feel.evaluate(text, CONTEXT)


def _juel(text: str) -> Any:
    return juel.evaluate(text if "${" in text or "#{" in text else "${" + text + "}", CONTEXT)


def _python(text: str) -> Any:
    return python_subset.evaluate(text, CONTEXT)


def _python_script(text: str) -> Any:
    python_subset.execute(text, dict(CONTEXT))
    return None


EVALUATORS: dict[str, Callable[[str], Any]] = {"feel": _feel, "juel": _juel, "python": _python}

ATTACKS = [
    # imports
    "__import__('os')",
    '__import__("os").system("id")',
    "import os",
    # dunder walks
    "().__class__.__base__.__subclasses__()",
    "x.__class__",
    "[].__class__.__mro__",
    "d.__class__.__init__.__globals__",
    "object.__subclasses__()",
    "s.__len__()",
    # getattr tricks
    "getattr(x, '__class__')",
    "vars()",
    "globals()",
    "locals()",
    "type(x)",
    "dir()",
    "__builtins__",
    # format string attacks
    "'{0.__class__}'.format(x)",
    '"{0.__class__.__mro__}".format(s)',
    "f'{x!r}'",
    "f'{x:>{10**9}}'",
    "f'{l.__class__}'",
    "'%s' % x",
    "'%*d' % (10**9, 1)",
    # huge numbers and sizes
    "2 ** 10 ** 10",
    "9**9**9",
    "10 ** 10 ** 6",
    "'a' * 10**9",
    "[1] * 10**9",
    "'a' * 10**6 * 10**6",
    # deep recursion
    "(" * 10_000 + "1" + ")" * 10_000,
    "(" * 4_990 + "1" + ")" * 4_990,
    "[" * 4_990 + "]" * 4_990,
    "-" * 9_000 + "1",
    "not " * 2_400 + "x",
    "!" * 9_000 + "x",
    "1" + "+1" * 4_900,
    "x" + ".a" * 4_900,
    # long loops
    "[x for x in range(10**12)]",
    "[a for a in range(10**5) for b in range(10**5)]",
    "sum(range(10**12))",
    "for i in 1..1000000000000 return i",
    # code execution
    "open('/etc/passwd')",
    "open('/etc/passwd').read()",
    "eval('1')",
    "exec('import os')",
    "compile('1', 'x', 'eval')",
    "breakpoint()",
    "exit()",
    # functions
    "lambda: 1",
    "(lambda: 1)()",
    # JUEL and Java style
    "${''.getClass().forName('java.lang.Runtime').getRuntime().exec('id')}",
    "${execution.getProcessEngineServices()}",
    "#{T(java.lang.System).exit(0)}",
    "${pageContext.request}",
]


def _harmless(value: Any) -> bool:
    """Plain data, or a FEEL value of our own (a FEEL function is data for FEEL)."""
    if isinstance(value, list):
        return all(_harmless(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _harmless(item) for key, item in value.items())
    if value is None or isinstance(value, bool | int | float | str | Decimal | date | datetime | clock | timedelta):
        return True
    return not isinstance(value, type) and type(value).__module__.startswith("engine.expressions.")


def _attempt(run: Callable[[str], Any], text: str, *, may_answer: bool) -> None:
    # The CPU time of this thread: what the attempt cost, whatever else the machine is doing meanwhile.
    started = time.thread_time()
    with _watching() as seen:
        try:
            value = run(text)
        except ExpressionError:
            value = None
            answered = False
        except BaseException as error:  # noqa: BLE001 - anything else is exactly what must not happen
            pytest.fail(f"{type(error).__name__} escaped: {error!r}"[:500])
        else:
            answered = True
    elapsed = time.thread_time() - started
    assert elapsed < TIME_LIMIT, f"took {elapsed:.2f} s"
    assert seen == [], f"code ran: {seen}"
    if answered:
        assert may_answer, f"answered {value!r} instead of refusing"
        assert _harmless(value), f"answered a dangerous value {value!r}"


@pytest.mark.parametrize("text", ATTACKS, ids=lambda text: text[:40])
@pytest.mark.parametrize("language", sorted(EVALUATORS))
def test_expression_attacks_are_refused(language: str, text: str) -> None:
    _attempt(EVALUATORS[language], text, may_answer=language == "feel")


SCRIPT_ATTACKS = [
    "import os\nos.system('id')",
    "from os import system",
    "while True:\n    pass",
    "def f():\n    return f()\nf()",
    "class A:\n    pass",
    "x = ().__class__.__base__.__subclasses__()",
    "for i in range(10**12):\n    pass",
    "for i in range(100000):\n    for j in range(100000):\n        pass",
    "s = 'a'\nfor i in range(100):\n    s = s + s",
    "l = [1]\nfor i in range(100):\n    l = l * 2",
    "n = 2\nfor i in range(100):\n    n = n ** n",
    "n = 3\nfor i in range(100):\n    n = n * n",
    "l = []\nfor i in range(10):\n    l = [l]\ns = str(l)" + "\nfor i in range(200):\n    l = [l]\ns = str(l)",
    "global x\nx = 1",
    "try:\n    pass\nexcept Exception:\n    pass",
    "with open('/etc/passwd') as f:\n    data = f.read()",
    "raise SystemExit(1)",
    "exit(1)",
    "del x",
    "x = [y := 1]",
    "x = lambda: 1",
    "x = f'{x!r}'",
    "x = '{0.__class__}'.format(x)",
    "async def f():\n    await g()",
    "x = (yield)",
    "l = [1]\nl.append(l)\ns = str(l)",
    "d = {}\nd.update(d.__class__.__dict__)",
    "x = " + "(" * 4_990 + "1" + ")" * 4_990,
]


@pytest.mark.parametrize("script", SCRIPT_ATTACKS, ids=lambda text: text[:40])
def test_script_attacks_are_refused(script: str) -> None:
    _attempt(_python_script, script, may_answer=False)


def test_the_watch_would_notice_code_running() -> None:
    with _watching() as seen:
        __import__("json.decoder")  # already loaded: no import event; open() is one
        with open(__file__, encoding="utf-8"):
            pass
    assert "open" in seen
