"""The eiso command as an operator uses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import FIXTURES

ARCHIVE = "org.camunda.bpm.example.invoice.service.ArchiveInvoiceService"


@pytest.fixture
def app_env(tmp_path: Path) -> dict[str, str]:
    """The operator's registry of Camunda 7 Java delegates (see send_result_c7.bpmn)."""
    registry = tmp_path / "delegates.json"
    delegates = {"#{clock.pause(execution)}": "eiso.pause_clock", ARCHIVE: "archive.store",
                 "${resultPublisher}": "portal.publish", "${recordsClassifier}": "records.classify"}
    registry.write_text(json.dumps(delegates))
    return {"EISO_DELEGATES_FILE": str(registry)}


def test_demo_load_twice_keeps_one_organisation_and_one_version(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "Kept demo unit" in result.output and "unchanged quality_objectives version 1" in result.output
    assert "thuky" in result.output and "password 'demo'" in result.output


def test_deploy_prints_each_problem_and_stores_nothing(app: Flask, tmp_path: Path) -> None:
    broken = tmp_path / "broken.bpmn"
    broken.write_text((FIXTURES / "rework_loop.bpmn").read_text().replace('candidateGroups="iso_secretary"',
                                                                           'candidateGroups="nobody"'))  # fmt: skip
    runner = app.test_cli_runner()
    result = runner.invoke(args=["deploy", str(broken)])
    assert result.exit_code != 0
    assert "broken.bpmn" in result.output and "[work]" in result.output and "'nobody' names no role" in result.output
    ok = runner.invoke(args=["deploy", str(FIXTURES / "rework_loop.bpmn")])
    assert ok.exit_code == 0 and "deployed rework_loop version 1" in ok.output


def test_deploy_maps_java_delegates_through_the_servers_registry(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["deploy", str(FIXTURES / "send_result_c7.bpmn")])
    assert ok.exit_code == 0 and "deployed send_result_c7 version 1" in ok.output, ok.output
    shred = tmp_path / "shred.bpmn"
    shred.write_text((FIXTURES / "send_result_c7.bpmn").read_text().replace(ARCHIVE, ARCHIVE + "Shredder"))
    refused = runner.invoke(args=["deploy", str(shred)])
    assert refused.exit_code != 0
    assert f"shred.bpmn:17 [archive]: The Java class '{ARCHIVE}Shredder'" in refused.output
    assert "EISO_DELEGATES_FILE" in refused.output


def test_demo_load_after_a_unit_runs_its_own_version_keeps_both_and_starts_again(app: Flask) -> None:
    """The README's run command loads the demo and the library at every start: after a unit's leader approved
    the unit's own version of a shipped process, a restart must neither fail nor undo it."""
    from sqlalchemy import select

    from engine import Deployer, Engine, SourceFile, TaskRow, Unit, User, versions
    from tests.conftest import LIBRARY
    from webapp.extensions import now, sa_session

    with app.app_context():
        session = sa_session()
        unit = session.scalars(select(Unit)).one()
        people = {u.username: u for u in session.scalars(select(User))}
        changed = (LIBRARY / "quality-objectives.bpmn").read_bytes().replace("Soạn".encode(), "Lập".encode())
        draft = Deployer(session).deploy([SourceFile("quality-objectives.bpmn", changed)], actor=people["thuky"],
                                         now=now(), unit_id=unit.id).definitions[0]  # fmt: skip
        review = versions.review_of(session, draft.id)
        assert review is not None
        task_id = session.scalar(select(TaskRow.id).where(TaskRow.instance_id == review.instance_id))
        Engine(session).complete(str(task_id), actor=people["giamdoc"], now=now(), variables={"decision": "approve"})
        own_id = draft.id
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        engine = Engine(sa_session())
        unit = sa_session().scalars(select(Unit)).one()
        assert engine.active_definition("quality_objectives", unit.id).id == own_id  # still the unit's own
        assert engine.active_definition("quality_objectives").unit_id is None  # and the shared one for others


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_bench_auth_prints_rates_and_a_worker_that_hashes_no_password(app: Flask) -> None:
    """The benchmark itself on tiny numbers: three rates side by side, then a real worker over HTTP."""
    import webapp.cli  # noqa: F401 - the eiso command adds ``bench auth`` beside the app factory

    result = app.test_cli_runner().invoke(args=["bench", "auth", "--seconds", "0.3", "--jobs", "5"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    off, on, token = (next(line for line in lines if line.strip().startswith(label)) for label in (
        "HTTP Basic, memory off", "HTTP Basic, memory on", "API token"))  # fmt: skip
    assert "1.00 password hashes per call" in off
    assert "0.00 password hashes per call" in on and "0.00 password hashes per call" in token
    assert "5 jobs fetched and completed" in result.output and "0 password hashes; 5 jobs completed" in result.output
def test_user_create_refuses_a_taken_name_or_a_short_password_and_creates_nothing(app: Flask) -> None:
    from sqlalchemy import func, select

    from engine import User
    from webapp.extensions import sa_session

    runner = app.test_cli_runner()
    with app.app_context():
        before = sa_session().scalar(select(func.count(User.id)))
    taken = runner.invoke(args=["user", "create", "ThuKy", "--full-name", "Người khác"],
                          input="mat-khau-1234\nmat-khau-1234\n")  # fmt: skip
    assert taken.exit_code != 0 and "username: The user name 'thuky' is already taken" in taken.output
    short = runner.invoke(args=["user", "create", "moi", "--full-name", "Người mới"], input="ngan\nngan\n")
    assert short.exit_code != 0 and "password: A password needs at least 8 characters." in short.output
    with app.app_context():
        assert sa_session().scalar(select(func.count(User.id))) == before
    made = runner.invoke(args=["user", "create", "tinh", "--full-name", "Quản trị tỉnh", "--no-system-admin"],
                         input="mat-khau-1234\nmat-khau-1234\n")  # fmt: skip
    assert made.exit_code == 0 and "tinh: account created" in made.output and "system administrator" not in made.output


def test_bench_import_prints_the_time_per_person(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["bench", "import", "-n", "3"])
    assert result.exit_code == 0, result.output
    assert "sheet of 3 people" in result.output and "ms per person" in result.output
    assert "imported 3 people" in result.output
