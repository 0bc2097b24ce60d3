"""The direction of dependencies, checked on every run (docs/architecture.md).

- no import circle anywhere in engine/, forms/, webapp/, connectors/ (imports inside functions count);
- inside engine/, the layers only import downward, and sibling packages of one layer not each other;
- only engine/runtime/ and engine/library/ import SpiffWorkflow;
- webapp/ and connectors/ use the engine through its face (``from engine import …``) only;
- nothing imports webapp; forms imports none of ours; connectors never import webapp;
- engine/ and forms/ never import Flask (they take the actor and ``now`` as arguments).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "forms", "webapp", "connectors")

# Layers of engine/, lowest first. A module may import its own package, and any package of a lower layer.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("engine.errors",),
    ("engine.db",),
    ("engine.safe_xml", "engine.outbox", "engine.idempotency", "engine.data_check"),
    ("engine.org", "engine.expressions"),
    ("engine.runtime",),
    ("engine.library",),
    ("engine.iso", "engine.dossiers", "engine.reports"),
)
SPIFF_ALLOWED = ("engine.runtime", "engine.library")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (or package)
    line: int
    written: str  # the module named in the statement (``engine`` for ``from engine import queries``)


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    return {module_name(root, p): p for package in packages for p in sorted((root / package).rglob("*.py"))}


def imports(root: Path, found: dict[str, Path]) -> Iterator[Import]:
    """Every import statement of every module, at any depth; ``from x import name`` counts as importing
    ``x.name`` when that is a module of ours, else ``x``."""
    for name, path in found.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(name, alias.name, node.lineno, alias.name)
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(name, is_package, node)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    yield Import(name, sub if sub in found else base, node.lineno, base)


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, *([node.module] if node.module else [])])


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def cycles(found: dict[str, Path], edges: list[Import]) -> list[list[str]]:
    """The import circles among our modules (strongly connected components of more than one module)."""
    graph: dict[str, set[str]] = {m: set() for m in found}
    for edge in edges:
        if edge.target in graph and edge.target != edge.source:
            graph[edge.source].add(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found_cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found_cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found_cycles


def _layer(module: str) -> tuple[int, str] | None:
    for rank, packages in enumerate(LAYERS):
        for package in packages:
            if _within(module, package):
                return rank, package
    return None


def violations(edges: list[Import]) -> list[str]:
    """Every import that goes against the direction, as 'module:line imports target (why)'."""
    found = []
    for edge in edges:
        src, dst = edge.source, edge.target
        where = f"{src}:{edge.line} imports {dst}"
        if _within(dst, "SpiffWorkflow") and not any(_within(src, p) for p in SPIFF_ALLOWED):
            found.append(f"{where} (only engine.runtime and engine.library may use SpiffWorkflow)")
        if _within(dst, "webapp") and not _within(src, "webapp"):
            found.append(f"{where} (nothing imports the web layer)")
        if _within(src, "forms") and any(_within(dst, p) for p in ("engine", "webapp", "connectors")):
            found.append(f"{where} (forms is the bottom package)")
        if _within(src, "engine") and _within(dst, "connectors"):
            found.append(f"{where} (the engine reaches connectors through the outbox only)")
        if any(_within(src, p) for p in ("engine", "forms")) and _within(dst, "flask"):
            found.append(f"{where} (engine and forms take their arguments; no Flask)")
        if any(_within(src, p) for p in ("webapp", "connectors")) and _within(dst, "engine") \
                and edge.written != "engine":
            found.append(f"{where} (use the engine's face: from engine import ...)")
        if _within(src, "engine") and src != "engine" and dst == "engine":
            found.append(f"{where} (the face sits on top; inside the engine import the module itself)")
        source_layer, target_layer = _layer(src), _layer(dst)
        if source_layer and target_layer and source_layer[1] != target_layer[1] \
                and target_layer[0] >= source_layer[0]:
            found.append(f"{where} (engine layers import downward only, and siblings not each other)")
    return sorted(set(found))


def _project() -> tuple[dict[str, Path], list[Import]]:
    found = modules(ROOT)
    return found, list(imports(ROOT, found))


def test_no_import_circle_anywhere() -> None:
    found, edges = _project()
    assert cycles(found, edges) == []


def test_every_import_goes_in_the_direction_of_the_layers() -> None:
    _, edges = _project()
    assert violations(edges) == []


def test_every_engine_module_belongs_to_a_layer() -> None:
    found, _ = _project()
    strays = [m for m in found if _within(m, "engine") and m != "engine" and _layer(m) is None]
    assert strays == []


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small project with every kind of wrong import, for the checker itself."""
    files = {
        "engine/__init__.py": "from engine.runtime import commands\n",
        "engine/db.py": "",
        "engine/runtime/__init__.py": "",
        "engine/runtime/commands.py": "from engine.library import deploy\nimport SpiffWorkflow\n",
        "engine/library/__init__.py": "",
        "engine/library/deploy.py": "def later():\n    from engine.runtime import commands\n",
        "engine/org/__init__.py": "",
        "engine/org/people.py": "from SpiffWorkflow.task import Task\nfrom flask import g\nimport engine\n",
        "engine/iso/__init__.py": "",
        "engine/iso/register.py": "from engine.dossiers import clock\nfrom engine.runtime import commands\n",
        "engine/dossiers/__init__.py": "",
        "engine/dossiers/clock.py": "",
        "forms/__init__.py": "from engine import db\n",
        "webapp/__init__.py": "from engine.runtime.commands import x\nfrom engine import Engine, db\n",
        "connectors/__init__.py": "import webapp\n",
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_the_checker_finds_circles_and_wrong_directions(tree: Path) -> None:
    found = modules(tree)
    edges = list(imports(tree, found))
    assert ["engine.library.deploy", "engine.runtime.commands"] in cycles(found, edges)
    problems = "\n".join(violations(edges))
    assert "engine.runtime.commands:1 imports engine.library.deploy (engine layers" in problems
    assert "engine.org.people:1 imports SpiffWorkflow.task (only" in problems
    assert "engine.runtime.commands:2 imports SpiffWorkflow (only" not in problems  # runtime may
    assert "engine.org.people:2 imports flask (engine and forms" in problems
    assert "engine.org.people:3 imports engine (the face sits on top" in problems
    assert "engine.iso.register:1 imports engine.dossiers.clock (engine layers" in problems  # siblings
    assert "engine.iso.register:2 imports engine.runtime.commands" not in problems  # downward is fine
    assert "forms:1 imports engine.db (forms is the bottom package)" in problems
    assert "webapp:1 imports engine.runtime.commands (use the engine's face" in problems
    assert "webapp:2 imports engine" not in problems  # the face, also a module it exports
    assert "connectors:1 imports webapp (nothing imports the web layer)" in problems
