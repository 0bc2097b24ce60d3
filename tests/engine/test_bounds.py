"""Bounded evaluation and clear refusals: what the engine answers to values, scripts, durations and
deployments that would otherwise stop the server or poison an instance's stored data."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import Engine
from engine.data_check import InvalidData, check_variables
from engine.errors import DeploymentRejected, ExpressionError
from engine.expressions import feel, python_subset
from engine.library.deploy import Deployer, SourceFile
from engine.library.deploy_limits import MAX_PROCESSES_PER_FILE
from engine.org.calendar import WorkingCalendar, parse_working_duration
from engine.org.models import Unit, User
from engine.runtime.models import ProcessDefinition, ProcessInstance, TaskRow
from engine.runtime.timers import TimerError, schedule
from tests.conftest import FIXTURES, Clock

# --- values that may not enter process data ---------------------------------------------------------


def _self_referencing() -> dict[str, Any]:
    loop: list[Any] = []
    loop.append(loop)
    return {"loop": loop}


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("variables", "field", "said"),
    [
        ({"amount": math.nan}, "amount", "not a JSON number"),
        ({"amount": math.inf}, "amount", "not a JSON number"),
        ({"rows": [{"qty": -math.inf}]}, "rows[0].qty", "not a JSON number"),
        ({"id": 2**64}, "id", "beyond 64 bits"),
        ({"tags": {"a", "b"}}, "tags", "a set"),
        ({"blob": b"x"}, "blob", "a bytes"),
        ({"map": {1: "one"}}, "map.1", "not text"),
        (_self_referencing(), "loop", "contains itself"),
        ({"deep": _nested(40)}, "deep", "nested more than"),
        ({"text": "x" * 2_000_001}, "text", "too large"),
    ],
)
def test_values_json_cannot_carry_are_refused_naming_the_field(
    variables: dict[str, Any], field: str, said: str
) -> None:
    with pytest.raises(InvalidData, match=said) as refused:
        check_variables(variables)
    assert refused.value.field.startswith(field)
    assert refused.value.http_status == 422


def test_json_values_pass() -> None:
    check_variables({"n": 2**63 - 1, "x": 1.5, "ok": True, "none": None, "rows": [{"a": "b"}], "t": (1, 2)})


@pytest.mark.usefixtures("library")
def test_a_start_with_nan_or_a_non_text_business_key_changes_nothing(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    engine = Engine(session)
    before = session.scalar(select(func.count()).select_from(ProcessInstance))
    with pytest.raises(InvalidData, match="amount"):
        engine.start("quality_objectives", actor=users["thuky"], unit_id=unit.id, now=clock.now,
                     variables={"amount": math.nan})  # fmt: skip
    with pytest.raises(InvalidData, match="business_key"):
        engine.start("quality_objectives", actor=users["thuky"], unit_id=unit.id, now=clock.now,
                     business_key=12345)  # type: ignore[arg-type]  # fmt: skip
    assert session.scalar(select(func.count()).select_from(ProcessInstance)) == before


@pytest.mark.usefixtures("library")
def test_completing_with_infinity_leaves_the_task_open(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    engine = Engine(session)
    instance = engine.start("quality_objectives", actor=users["thuky"], unit_id=unit.id, now=clock.now)
    row = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance.id)).one()
    revision = instance.revision
    with pytest.raises(InvalidData, match="score"):
        engine.complete(row.id, actor=users["thuky"], now=clock.now, variables={"score": math.inf})
    session.expire_all()
    assert session.get(TaskRow, row.id).state == "open"  # type: ignore[union-attr]
    assert session.get(ProcessInstance, instance.id).revision == revision  # type: ignore[union-attr]


# --- scripts count what they really build ------------------------------------------------------------


@pytest.mark.parametrize(
    "script",
    [
        "x = [0] * 100000\ny = [x] * 200",  # 138 MB of stored state before
        "x = [0] * 100000\ny = [x] * 100000",  # 5.7 GB at its peak before
        "x = [1]\nfor i in range(60):\n    x = [x, x]",
        "x = [0] * 1000\ny = []\nfor i in range(5000):\n    y.append(x)",
        "x = 'a' * 1000000\ny = [x] * 10",
    ],
)
def test_python_subset_refuses_values_by_their_real_size_at_once(script: str) -> None:
    started = time.process_time()  # own CPU: a busy machine does not make it fail
    with pytest.raises(ExpressionError, match="characters and items|longer than 1 second"):
        python_subset.execute(script, {})
    assert time.process_time() - started < 2.0


def test_python_subset_refuses_a_list_holding_itself() -> None:
    with pytest.raises(ExpressionError, match="cannot contain itself"):
        python_subset.execute("x = []\nx.append(x)", {})


def test_ordinary_scripts_still_build_what_they_need() -> None:
    context: dict[str, Any] = {}
    python_subset.execute("rows = [{'n': i, 'tags': ['a'] * 3} for i in range(1000)]\ntotal = len(rows * 2)", context)
    assert context["total"] == 2000


def test_feel_flatten_counts_while_it_expands() -> None:
    started = time.process_time()  # own CPU: a busy machine does not make it fail
    with pytest.raises(ExpressionError, match="flatten"):
        feel.evaluate("flatten(for i in 1..40000 return x)", {"x": list(range(40000))})
    assert time.process_time() - started < 1.0  # it built 1.6 billion items (14 GB, 84 s) before


@pytest.mark.usefixtures("library")
def test_a_script_whose_result_is_a_set_stops_the_start_and_stores_nothing(
    session: Session, users: dict[str, User], unit: Unit, clock: Clock
) -> None:
    bpmn = (FIXTURES / "scripts_python.bpmn").read_text(encoding="utf-8")
    bpmn = bpmn.replace('late = [d["code"]', 'codes = {d["code"] for d in dossiers}\nlate = [d["code"]')
    Deployer(session).deploy([SourceFile("scripts_python.bpmn", bpmn.encode())], actor=None, now=clock.now)
    before = session.scalar(select(func.count()).select_from(ProcessInstance))
    with pytest.raises(InvalidData, match="codes"):
        Engine(session).start("scripts_python", actor=users["thuky"], unit_id=unit.id, now=clock.now,
                              variables={"dossiers": [{"code": "A", "days": 1}], "limit": 10})  # fmt: skip
    assert session.scalar(select(func.count()).select_from(ProcessInstance)) == before


# --- durations -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "text", "said"),
    [
        ("duration", "P99999999Y", "beyond the year 9999"),
        ("duration", "PT99999999999999999999H", "beyond the year 9999"),
        ("duration", "PT1" + "0" * 400 + "S", "beyond the year 9999"),
        ("cycle", "R99999999999999999999/PT1H", "more than 100,000 times"),
        ("cycle", "R5/P99999999Y", "beyond the year 9999"),
    ],
)
def test_huge_timer_durations_are_refused_clearly(kind: str, text: str, said: str) -> None:
    with pytest.raises(TimerError, match=said):
        schedule(kind, text, datetime(2030, 1, 1, tzinfo=UTC))


def test_working_time_beyond_ten_years_is_refused_without_counting_it() -> None:
    started = time.process_time()  # own CPU: a busy machine does not make it fail
    with pytest.raises(ValueError, match="ten years"):
        parse_working_duration("P99999999D")
    with pytest.raises(ValueError, match="ten years"):
        WorkingCalendar().add_working_days(datetime(2030, 1, 1, tzinfo=UTC), 10**9)
    assert time.process_time() - started < 1.0


# --- deployments ---------------------------------------------------------------------------------------


def _many_processes(count: int) -> bytes:
    processes = "".join(
        f'<bpmn:process id="p{i}" isExecutable="true"><bpmn:startEvent id="s{i}"/></bpmn:process>'
        for i in range(count)
    )
    return (
        '<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        f'id="d" targetNamespace="x">{processes}</bpmn:definitions>'
    ).encode()


def test_a_file_with_thousands_of_processes_is_refused_at_once_naming_the_limit(session: Session, clock: Clock) -> None:
    before = session.scalar(select(func.count()).select_from(ProcessDefinition))
    started = time.process_time()  # own CPU: a busy machine does not make it fail
    with pytest.raises(DeploymentRejected) as refused:
        Deployer(session).deploy([SourceFile("many.bpmn", _many_processes(2000))], actor=None, now=clock.now)
    assert time.process_time() - started < 2.0  # 110 s before
    messages = [p.message for p in refused.value.problems]
    assert any(f"at most {MAX_PROCESSES_PER_FILE} per file" in m for m in messages)
    assert refused.value.problems[0].file == "many.bpmn"
    assert session.scalar(select(func.count()).select_from(ProcessDefinition)) == before


def test_many_files_together_are_refused_by_the_deployment_limits(session: Session, clock: Clock) -> None:
    files = [SourceFile(f"f{i}.bpmn", _many_processes(40).replace(b'id="p', f'id="f{i}p'.encode())) for i in range(3)]
    with pytest.raises(DeploymentRejected, match="at most 100 are accepted at once"):
        Deployer(session).deploy(files, actor=None, now=clock.now)


def test_a_form_pattern_only_a_backtracking_engine_runs_is_refused_at_deploy(session: Session, clock: Clock) -> None:
    form = (
        '{"type": "default", "id": "code-form", "components": [{"type": "textfield", "id": "F", "key": "code", '
        '"validate": {"pattern": "^(\\\\d+)-\\\\1$"}}]}'
    )
    with pytest.raises(DeploymentRejected) as refused:
        Deployer(session).deploy([SourceFile("code.form", form.encode())], actor=None, now=clock.now)
    assert "back-reference" in refused.value.problems[0].message
    assert refused.value.problems[0].file == "code.form"
