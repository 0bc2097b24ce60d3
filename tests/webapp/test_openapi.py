"""The OpenAPI description of /api/v1 is complete and true: every route the app serves there, with each
of its methods, is described, and nothing is described that the app does not serve."""

from __future__ import annotations

import re

from flask import Flask

IGNORED = {"/openapi.json"}  # the description itself


def served(app: Flask) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        if path in IGNORED:
            continue
        routes |= {(path, m.lower()) for m in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    return routes


def test_every_api_route_is_described_and_every_description_is_served(app: Flask) -> None:
    described = {(path, method) for path, operations in app.test_client().get("/api/v1/openapi.json").json[
        "paths"].items() for method in operations}  # fmt: skip
    routes = served(app)
    assert len(routes) >= 15
    assert sorted(routes - described) == []  # served but not described
    assert sorted(described - routes) == []  # described but not served
