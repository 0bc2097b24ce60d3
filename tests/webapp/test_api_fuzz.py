"""Generated requests against every /api/v1 operation of the OpenAPI description: whatever the body,
path or query, the API answers with a 4xx that says what is wrong, never a 5xx (schemathesis, bounded).

Runs on SQLite only: it checks the web layer's answers, not the database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings

from engine import Deployer
from engine.org.demo import load_demo
from tests.conftest import Clock, library_files
from tests.webapp.conftest import basic
from webapp import create_app
from webapp.extensions import db
from webapp.settings import Settings

MAX_EXAMPLES = 12  # per operation: enough to reach the refusal paths; about 20 s in all


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{folder / 'eiso.sqlite3'}"
    from sqlalchemy import create_engine

    from engine.db import Base

    Base.metadata.create_all(create_engine(url))
    application = create_app(Settings.from_env({}, database_url=url, instance_path=folder / "instance",
                                               testing=True, secret_key="fuzz"))  # fmt: skip
    with application.app_context():
        load_demo(db.session)
        Deployer(db.session).deploy(library_files(), actor=None, now=Clock().now, source="library")
        db.session.remove()
    yield application


@pytest.fixture(scope="module")
def api_schema(fuzzed_app: Flask) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzzed_app)


def test_no_request_to_the_api_gets_a_server_error(api_schema: schemathesis.BaseSchema) -> None:
    failures: list[str] = []
    answered: set[int] = set()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10  # the description lists the API; a schema that lost it must fail here

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: schemathesis.Case) -> None:
            headers = basic("admin")
            if case.body is not None:
                headers["Content-Type"] = "application/json"
            response = case.call(headers=headers)
            answered.add(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}")

        run()
    assert failures == []
    assert {200, 400, 404} <= answered, answered  # the requests got past authentication into the API
