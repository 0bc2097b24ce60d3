"""What the engine says to people goes through the catalogues (docs/i18n.md).

The engine does not translate: its errors and phrases carry an English template that the web layer looks
up in the catalogue. So every template must be a literal that extraction can find and that the
Vietnamese catalogue translates:

- a message argument of an engine error, a ``Phrase``, a deploy ``Problem`` or a form's schema error is
  a string literal (or an expression holding a phrase), never an f-string, ``%``, ``+`` or ``.format()``
  made at run time, which no catalogue can hold;
- every such literal is in the Vietnamese catalogue with a translation (``scripts/i18n-update`` was run);
- ``scripts/i18n-update`` extracts every class that takes a message, at the right argument.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("engine", "forms", "connectors", "webapp")
CATALOGUE = ROOT / "webapp" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
ROOT_ERRORS = {"EngineError": 0, "Phrase": 0, "Words": 0, "Problem": 1, "FormSchemaError": 0, "PatternRefused": 0}
WORDS = ("Phrase", "Text", "Words")  # the types of a message: a parameter so typed makes a helper a message site
MESSAGE_PARAMETERS = ("template", "message", "problem")


@dataclass(frozen=True)
class Site:
    path: Path
    line: int
    callee: str
    argument: ast.expr

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line} {self.callee}(…)"


def _trees() -> Iterator[tuple[Path, ast.Module]]:
    for package in SOURCES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"))


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


LOGGERS = {"log", "logger", "logging"}


def message_classes() -> dict[str, int]:
    """Every class taking a message (an engine error, a phrase…) -> the index of its message argument."""
    classes: dict[str, tuple[list[str], int | None]] = {}
    for _path, tree in _trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            bases = [name for base in node.bases if (name := _name(base))]
            position = None
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    names = [a.arg for a in item.args.posonlyargs + item.args.args][1:]
                    found = [i for i, n in enumerate(names) if n in MESSAGE_PARAMETERS]
                    position = found[0] if found else -1
            classes[node.name] = (bases, position)
    found = dict(ROOT_ERRORS)
    changed = True
    while changed:
        changed = False
        for name, (bases, position) in classes.items():
            parent = next((b for b in bases if b in found), None)
            if name in found or parent is None:
                continue
            found[name] = found[parent] if position is None else position
            changed = True
    return {name: index for name, index in found.items() if index >= 0}


def message_functions() -> dict[str, set[int]]:
    """Functions with a parameter typed as a message (``Phrase``, ``Text``, ``Words``: the helpers that build
    problems and errors) -> the indexes of those parameters."""
    found: dict[str, set[int]] = {}
    for _path, tree in _trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.name == "__init__":
                continue
            names = node.args.posonlyargs + node.args.args
            offset = 1 if names and names[0].arg in ("self", "cls") else 0
            for index, arg in enumerate(names[offset:]):
                if isinstance(arg.annotation, ast.Name) and arg.annotation.id in WORDS:
                    found.setdefault(node.name, set()).add(index)
    return found


def message_sites() -> Iterator[Site]:
    classes: dict[str, set[int]] = {name: {index} for name, index in message_classes().items()}
    for name, indexes in message_functions().items():
        classes.setdefault(name, set()).update(indexes)
    for path, tree in _trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or (callee := _name(node.func)) not in classes:
                continue
            if isinstance(node.func, ast.Attribute) and _name(node.func.value) in LOGGERS:
                continue  # log.error(...): a line for the operator's log, not a message for a person
            for index in classes[callee]:
                keyword = next((k.value for k in node.keywords if k.arg in MESSAGE_PARAMETERS), None)
                argument = node.args[index] if len(node.args) > index else keyword
                if argument is not None and not isinstance(argument, ast.Starred):
                    yield Site(path, node.lineno, callee, argument)


def _made_at_run_time(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return True
    if isinstance(node, ast.IfExp):
        return _made_at_run_time(node.body) or _made_at_run_time(node.orelse)
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "join")


def _literal(node: ast.expr) -> Iterator[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from _literal(node.body)
        yield from _literal(node.orelse)


def translations() -> dict[str, str]:
    with CATALOGUE.open("rb") as fh:
        return {str(m.id): str(m.string) for m in read_po(fh) if m.id and isinstance(m.id, str)}


def test_messages_are_literal_templates_not_text_made_at_run_time() -> None:
    made = [str(site) for site in message_sites() if _made_at_run_time(site.argument)]
    assert made == [], "use a literal template with %(name)s placeholders and pass the values as parameters"


def test_every_literal_message_is_in_the_catalogue_and_translated() -> None:
    known = translations()
    missing = sorted({f"{site}: {text!r}" for site in message_sites() for text in _literal(site.argument)
                      if text and not known.get(text)})  # fmt: skip
    assert missing == [], "run scripts/i18n-update and translate the new entries in the Vietnamese catalogue"


def extraction_keywords() -> dict[str, int]:
    script = (ROOT / "scripts" / "i18n-update").read_text(encoding="utf-8")
    return {name: int(place or 1) - 1 for name, place in re.findall(r"-k ([A-Za-z_]\w*)(?::(\d+))?", script)}


def test_extraction_finds_every_class_that_takes_a_message() -> None:
    keywords = extraction_keywords()
    wrong = {name: index + 1 for name, index in message_classes().items() if keywords.get(name) != index}
    assert wrong == {}, "add these to the keywords of scripts/i18n-update as -k Name:position"


@pytest.mark.parametrize("source", ['raise NotFound(f"Task {task} is gone.")', 'Phrase("Row %s" % n)',
                                    'Problem(name, "The file " + name + " is empty.")',
                                    'raise EngineError("{} is gone".format(x))'])  # fmt: skip
def test_the_check_sees_text_made_at_run_time(source: str) -> None:
    [statement] = ast.parse(source).body
    call = next(n for n in ast.walk(statement) if isinstance(n, ast.Call) and _name(n.func) in ROOT_ERRORS | {
        "NotFound": 0})  # fmt: skip
    index = {"Problem": 1}.get(_name(call.func) or "", 0)
    assert _made_at_run_time(call.args[index])


def notice_texts() -> Iterator[Site]:
    """The title and body given to ``notify``: what a person reads in the inbox and the mail."""
    for path, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) == "notify":
                for keyword in node.keywords:
                    if keyword.arg in ("title", "body"):
                        yield Site(path, node.lineno, f"notify {keyword.arg}", keyword.value)


def _written_here(node: ast.expr) -> bool:
    """Words written in the code rather than a phrase: shown as they are, in every language."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(node.value)
    if isinstance(node, ast.IfExp):
        return _written_here(node.body) or _written_here(node.orelse)
    return _made_at_run_time(node)


def test_notices_are_phrases_so_each_reader_gets_them_in_their_language() -> None:
    sites = list(notice_texts())
    assert len(sites) > 20  # the check sees the registers' notices
    written = [str(site) for site in sites if _written_here(site.argument)]
    assert written == [], "give notify() a Phrase (what a person wrote may pass as it is, but not eISO's own words)"


@pytest.mark.parametrize("source", ['notify(s, p, title=f"Việc {x}")', 'notify(s, p, title="Xong", body=b)',
                                    'notify(s, p, title=t, body="Hạn: " + d)'])  # fmt: skip
def test_the_notice_check_sees_words_written_in_the_code(source: str) -> None:
    [statement] = ast.parse(source).body
    assert isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
    assert any(_written_here(k.value) for k in statement.value.keywords)
