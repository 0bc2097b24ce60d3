"""The real size of a value built by an expression: every copy counted, as JSON would write it.

``[x] * 1000`` holds one ``x`` a thousand times: cheap in memory, but stored as JSON, shown in the
history or turned into text it is a thousand copies. Limits on lengths alone let a script build
gigabytes that way, so the evaluators count what a value would be once written out.
"""

from __future__ import annotations

from typing import Any

_CONTAINERS = (list, tuple, set, frozenset, dict)


def deep_size(value: Any, limit: int) -> int:
    """Characters of text plus items of lists, sets and dicts (keys and values), nested included.

    Each distinct container is walked once (a value that holds one list a million times costs one
    walk of that list), and counting stops as soon as it passes ``limit``: the result is then some
    number above it. A value that contains itself has no finite size and counts as ``limit + 1``.
    """
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, _CONTAINERS):
        return 0
    sizes: dict[int, int] = {}
    pending: set[int] = set()
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        item, walked = stack.pop()
        key = id(item)
        if walked:
            total = len(item)
            for child in _children(item):
                if isinstance(child, str):
                    total += len(child)
                elif isinstance(child, _CONTAINERS):
                    total += sizes[id(child)]
                if total > limit:
                    return total
            sizes[key] = total
            pending.discard(key)
        elif key not in sizes:
            if key in pending:
                return limit + 1
            pending.add(key)
            stack.append((item, True))
            stack.extend((child, False) for child in _children(item) if isinstance(child, _CONTAINERS))
    return sizes[id(value)]


def _children(container: Any) -> Any:
    if isinstance(container, dict):
        return (*container.keys(), *container.values())
    return container
