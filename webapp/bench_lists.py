"""``eiso bench lists``: the inbox page, the task API and a register at scale.

Fills a database (a new SQLite file, or an empty PostgreSQL database given by ``--database-url``) with
open and completed tasks written in bulk as the engine's read model would hold them (a secretary holding
1,000 and able to claim 4,000; a department head able to claim most of the open ones; the rest held by
colleagues or in a second unit whose roles have the same names) and a complaint register row for each
instance, then asks the app for the inbox page, ``/api/v1/tasks``, the complaint register (its page and
``/api/v1/registers/complaints``) and the Camunda REST instance list as each of the three people (the secretary, the
department head, and a specialist of the same unit who may claim none of its queue), first and
later pages, and prints p50/p95 per call with
the size of the answer. The calls go through the whole Flask app (session cookie, API token, templates,
JSON) with its test client, so the figures are the server's own time without a network.

A database already filled by this command is measured again without filling (``--database-url`` twice);
any other non-empty database is refused.

``eiso bench http -w lists`` fills with the same generator (``fill_tasks``) and makes the same calls
(``calls_for``) over real HTTP against ``eiso run``, with p99 and the server's CPU; this command stays as
the quick look at the app's own time, without a server process or a network.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, cast

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Table, func, insert, inspect, select

from engine import (
    Base,
    Deployer,
    ProcessDefinition,
    ProcessInstance,
    RoleAssignment,
    SourceFile,
    TaskCandidate,
    TaskRow,
    Unit,
    User,
    complaints,
    hash_password,
    load_demo,
    tokens,
)

from .extensions import db, now, sa_session
from .settings import Settings

PASSWORD = "bench-Password-1"  # noqa: S105 - throwaway accounts in a throwaway database
SECRETARY, HEAD, COLLEAGUE = "bench_thuky", "bench_truongphong", "bench_chuyenvien"
BATCH = 10_000
TASKS_PER_INSTANCE = 10
PROCESSES = [("bench_hoso", "Giải quyết hồ sơ hành chính"), ("bench_congvan", "Xử lý công văn đến"),
             ("bench_khieunai", "Giải quyết khiếu nại, phản ánh")]  # fmt: skip
STEPS = ["Tiếp nhận hồ sơ", "Thẩm định hồ sơ", "Trình lãnh đạo ký", "Trả kết quả", "Soạn văn bản trả lời"]


def _process_xml(key: str, name: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="{key}_defs"
  targetNamespace="http://eiso.vn/bench">
  <bpmn:process id="{key}" name="{name}" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="work" name="{STEPS[0]}" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
""".encode()


@dataclass(frozen=True)
class Shape:
    """How many tasks of each kind; ``scale`` multiplies the defaults (100,000 open, 1,000,000 completed)."""

    own: int
    claimable: int
    head: int
    others: int
    completed: int

    @classmethod
    def scaled(cls, scale: float, open_tasks: int = 100_000, completed: int = 1_000_000) -> Shape:
        own, claimable = round(1_000 * scale), round(4_000 * scale)
        total = round(open_tasks * scale)
        head = round(total * 0.76)
        return cls(own, claimable, head, max(0, total - own - claimable - head), round(completed * scale))


def _people(session: Any, unit: Unit, other: Unit) -> dict[str, User]:
    made = {}
    password_hash = hash_password(PASSWORD)  # the demo people's may be another (a database bench http filled)
    for username, full_name, roles, where in (
        (SECRETARY, "Lê Thị Thu (thư ký ISO)", ("iso_secretary",), unit),
        (HEAD, "Phạm Quốc Hưng (trưởng phòng)", ("department_head",), unit),
        (COLLEAGUE, "Hoàng Văn Nam (chuyên viên)", ("specialist",), unit),
        ("bench_khac", "Trần Văn Bình (đơn vị khác)", ("iso_secretary", "department_head", "specialist"), other),
    ):
        user = User(username=username, full_name=full_name, password_hash=password_hash, unit_id=where.id)
        for role in roles:
            user.roles.append(RoleAssignment(unit=where, role=role))
        session.add(user)
        made[username] = user
    session.flush()
    return made


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def filled_before(session: Any) -> bool:
    """Whether this generator filled the database already (its people are there)."""
    return session.scalar(select(User.id).where(User.username == SECRETARY)) is not None


def fill_tasks(app: Flask, shape: Shape, echo: Callable[[str], None], seed: int = 17) -> None:
    """The organisation (the demo unit kept if there), three processes and the tasks, in batches of BATCH
    rows; in an app context. Instance ids follow any already there; PostgreSQL's sequence is moved past them."""
    rng = random.Random(seed)
    started = time.perf_counter()
    session = sa_session()
    unit, _ = load_demo(session, password=PASSWORD)
    other = Unit(code="BENCH-KHAC", name="Sở Tài nguyên và Môi trường (đo)", short_name="STNMT")
    session.add(other)
    session.flush()
    people = _people(session, unit, other)
    Deployer(session).deploy([SourceFile(f"{k}.bpmn", _process_xml(k, n)) for k, n in PROCESSES], actor=None, now=now())
    definitions = list(session.scalars(select(ProcessDefinition.id).where(ProcessDefinition.key.like("bench_%"))))
    session.commit()
    base = datetime.now(UTC).replace(microsecond=0)
    secretary, head, colleague, outsider = (people[n].id for n in (SECRETARY, HEAD, COLLEAGUE, "bench_khac"))
    # (count, state, unit, assignee, candidate role): the secretary's own, hers to claim, the head's to claim,
    # a colleague's, the other unit's (same role names, behind the wall), then the completed ones.
    plan = [
        (shape.own, "open", unit.id, secretary, "iso_secretary"),
        (shape.claimable, "open", unit.id, None, "iso_secretary"),
        (shape.head, "open", unit.id, None, "department_head"),
        (shape.others // 2, "open", unit.id, colleague, "specialist"),
        (shape.others - shape.others // 2, "open", other.id, None, "iso_secretary"),
        (shape.completed, "completed", unit.id, secretary, "iso_secretary"),
    ]
    instance_id, written = session.scalar(select(func.max(ProcessInstance.id))) or 0, 0
    for count, state, unit_id, assignee, role in plan:
        done = 0
        while done < count:
            size = min(BATCH, count - done)
            instances, tasks, candidates, received = [], [], [], []
            for i in range(size):
                if (done + i) % TASKS_PER_INSTANCE == 0:
                    instance_id += 1
                    started_at = base - timedelta(days=rng.randint(0, 365), seconds=rng.randint(0, 86_400))
                    instances.append({"id": instance_id, "definition_id": rng.choice(definitions), "unit_id": unit_id,
                                      "business_key": f"HS-{instance_id:07d}", "started_by_id": secretary,
                                      "status": "running" if state == "open" else "completed", "state": "{}",
                                      "revision": 1, "started_at": started_at, "updated_at": started_at,
                                      "paused_seconds": 0})  # fmt: skip
                    # a complaint register row per instance, received in whole minutes (ties again)
                    received.append({"unit_id": unit_id, "instance_id": instance_id, "code": f"PA-{instance_id:07d}",
                                     "kind": rng.choice(complaints.KINDS), "source": "citizen", "channel": "portal",
                                     "complainant": "Người dân", "subject": rng.choice(STEPS),
                                     "content": "Nội dung phản ánh", "received_at": started_at.replace(second=0),
                                     "status": rng.choice(complaints.STATUSES)})  # fmt: skip
                # whole minutes: many tasks share a received time, so pages end inside ties
                created = base - timedelta(minutes=rng.randint(0, 525_600))
                due = None if rng.random() < 0.3 else created + timedelta(days=rng.randint(1, 20))
                task_id = str(uuid.UUID(int=rng.getrandbits(128)))
                tasks.append({"id": task_id, "instance_id": instance_id, "element_id": "work",
                              "name": rng.choice(STEPS), "kind": "user", "unit_id": unit_id, "form_id": None,
                              "candidate_roles": [role], "assignee_id": assignee, "state": state,
                              "created_at": created, "claimed_at": created if assignee else None,
                              "completed_at": created + timedelta(hours=2) if state == "completed" else None,
                              "completed_by_id": assignee if state == "completed" else None, "due_at": due,
                              "priority": rng.choice((50, 50, 50, 50, 80, 20)), "escalation_level": 0})  # fmt: skip
                candidates.append({"task_id": task_id, "role": role})
            if instances:
                session.execute(insert(_table(ProcessInstance)), instances)
                session.execute(insert(_table(complaints.Complaint)), received)
            session.execute(insert(_table(TaskRow)), tasks)
            session.execute(insert(_table(TaskCandidate)), candidates)
            session.commit()
            done += size
            written += size
        echo(f"  {count:>9,} {state} tasks written ({written:,} in {time.perf_counter() - started:.0f} s)")
    with db.engine.connect() as connection:  # the planner's statistics, as after a night of autovacuum
        if connection.dialect.name == "postgresql":  # the ids above were written, not drawn from the sequence
            connection.exec_driver_sql("SELECT setval(pg_get_serial_sequence('process_instances', 'id'), "
                                       "(SELECT max(id) FROM process_instances))")  # fmt: skip
        connection.exec_driver_sql("ANALYZE")
        connection.commit()


def token_for(username: str) -> str:
    """A new API token (scope tasks) held by ``username``; in an app context."""
    session = sa_session()
    admin = session.scalar(select(User).where(User.username == "admin"))
    unit_id = session.scalar(select(Unit.id).where(Unit.code != "BENCH-KHAC").order_by(Unit.id))
    assert admin is not None and unit_id is not None
    name = f"bench {username} {uuid.uuid4().hex[:8]}"  # a new one each run (names are unique in a unit)
    issued = tokens.issue(session, admin, unit_id=unit_id, name=name, scopes=[tokens.TASKS], now=now(),
                          holder=username)  # fmt: skip
    return issued.secret


@dataclass(frozen=True)
class Figure:
    label: str
    p50: float
    p95: float
    size: int

    def line(self) -> str:
        return f"  {self.label:<48} p50 {self.p50:7.1f} ms   p95 {self.p95:7.1f} ms   {self.size / 1024:7.1f} KB"


def _measure(label: str, call: Callable[[], Any], repeat: int) -> Figure:
    call()  # warm: templates compiled, caches filled
    times, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{label}: answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
        size = len(response.get_data())
    times.sort()
    p95 = times[min(len(times) - 1, max(0, round(len(times) * 0.95) - 1))]
    return Figure(label, statistics.median(times), p95, size)


def _page_client(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    if response.status_code != 302:
        raise RuntimeError(f"{username} could not sign in ({response.status_code})")
    return client


def next_link(html: str, which: str) -> str:
    """The page's own link to the next page of the list ``which`` (``""`` when there is none)."""
    marker = f'{which}_after='
    at = html.find(marker)
    if at < 0:
        return ""
    start = html.rfind('href="', 0, at) + len('href="')
    return html[start:html.find('"', at)].replace("&amp;", "&")


def _rel_next(html: str) -> str:
    """The "Next page" link of a register page ("" on the last page)."""
    at = html.find('rel="next"')
    if at < 0:
        return ""
    start = html.rfind('href="', 0, at) + len('href="')
    return html[start:html.find('"', start)].replace("&amp;", "&")


INBOX_FILTERED = "/?due=late&q=th%E1%BA%A9m"  # overdue, and "thẩm" in the text
API_HIGH_WEEK = "/api/v1/tasks?priority=high&due=week"
ENGINE_TASKS = "/engine-rest/task?maxResults=50&firstResult=0"
# the specialist may claim a few tasks of the unit queue the department head's 76,000 fill
PEOPLE_MEASURED = ((SECRETARY, "secretary"), (HEAD, "department head"), (COLLEAGUE, "specialist"))


def calls_for(title: str, page: Callable[[str], str], api: Callable[[str], Any]) -> list[tuple[str, str, bool]]:
    """The calls measured for one person: (label, path, True when made with the API token rather than the
    session). ``page`` gives a page's HTML and ``api`` an API answer's JSON, to follow the next-page links
    the first pages give (a link is left out when the list has no next page)."""
    calls = [(f"{title}: inbox page", "/", False)]
    following = next_link(page("/"), "claimable")
    if following:
        calls.append((f"{title}: inbox, next page of claimable", following, False))
    calls.append((f"{title}: inbox page, overdue + text", INBOX_FILTERED, False))
    calls.append((f"{title}: GET /api/v1/tasks", "/api/v1/tasks", True))
    after = (api("/api/v1/tasks?list=claimable").get("next") or {}).get("claimable")
    if after:
        calls.append((f"{title}: GET /api/v1/tasks, next claimable page",
                      f"/api/v1/tasks?list=claimable&after={after}", True))  # fmt: skip
    calls.append((f"{title}: GET {API_HIGH_WEEK}", API_HIGH_WEEK, True))
    calls.append((f"{title}: GET /engine-rest/task?maxResults=50", ENGINE_TASKS, True))
    calls.append((f"{title}: complaint register page", "/iso/complaints", False))
    following = _rel_next(page("/iso/complaints?status=received"))
    following = _rel_next(page(following)) if following else ""
    if following:
        calls.append((f"{title}: complaint register, 3rd page, filtered", following, False))
    calls.append((f"{title}: GET /api/v1/registers/complaints", "/api/v1/registers/complaints", True))
    after = api("/api/v1/registers/complaints").get("next")
    if after:
        calls.append((f"{title}: GET /api/v1/registers/complaints, next",
                      f"/api/v1/registers/complaints?after={after}", True))  # fmt: skip
    calls.append((f"{title}: instance list page", "/instances", False))
    calls.append((f"{title}: GET /engine-rest/process-instance (50)",
                  "/engine-rest/process-instance?firstResult=0&maxResults=50", True))  # fmt: skip
    return calls


def _text(client: FlaskClient, path: str) -> str:
    return client.get(path).get_data(as_text=True)


def _json(client: FlaskClient, headers: dict[str, str], path: str) -> Any:
    return client.get(path, headers=headers).get_json()


def _get(client: FlaskClient, url: str, headers: dict[str, str] | None = None) -> Callable[[], Any]:
    return lambda: client.get(url, headers=headers or {})


def measure(app: Flask, repeat: int, echo: Callable[[str], None]) -> list[Figure]:
    figures: list[Figure] = []
    for username, title in PEOPLE_MEASURED:
        with app.app_context():
            token = token_for(username)
            db.session.remove()
        page = _page_client(app, username)
        api = app.test_client()
        bearer = {"Authorization": f"Bearer {token}"}
        calls = calls_for(title, partial(_text, page), partial(_json, api, bearer))
        for label, path, with_token in calls:
            figure = _measure(label, _get(api, path, bearer) if with_token else _get(page, path), repeat)
            echo(figure.line())
            figures.append(figure)
    return figures


def _same_schema(found: Any) -> None:
    """A database this command filled with an earlier version may lack columns the code reads now."""
    missing = [f"{table.name}.{column.name}" for table in Base.metadata.sorted_tables if found.has_table(table.name)
               for column in table.columns
               if column.name not in {c["name"] for c in found.get_columns(table.name)}]  # fmt: skip
    if missing:
        raise RuntimeError(f"The database was filled by an earlier version of this command and lacks "
                           f"{', '.join(missing[:5])}: remove it (or give another) to fill it again.")  # fmt: skip


def _open(make_app: Callable[[Settings], Flask], folder: Path, database_url: str | None) -> tuple[Flask, bool]:
    url = database_url or f"sqlite:///{folder / 'bench-lists.sqlite3'}"
    settings = Settings.from_env({}, database_url=url, instance_path=folder, secret_key=PASSWORD,
                                 basic_auth_cache_seconds=60, testing=True)  # fmt: skip
    app = make_app(settings)
    with app.app_context():
        tables = inspect(db.engine).get_table_names()
        if "users" in tables:
            filled = filled_before(sa_session())
            if not filled and sa_session().scalar(select(func.count(User.id))):
                raise RuntimeError("The database holds other data: give an empty one (or one this command filled).")
            if filled:
                _same_schema(inspect(db.engine))
                return app, False
        Base.metadata.create_all(db.engine)
    return app, True




def run(make_app: Callable[[Settings], Flask], scale: float = 1.0, open_tasks: int = 100_000,
        completed: int = 1_000_000, repeat: int = 50, database_url: str | None = None,
        echo: Callable[[str], None] = print) -> list[Figure]:
    """Fill (unless already filled by this command) and measure; the figures are printed and returned."""
    shape = Shape.scaled(scale, open_tasks, completed)
    with tempfile.TemporaryDirectory(prefix="eiso-bench-lists-") as folder:
        app, fresh = _open(make_app, Path(folder), database_url)
        with app.app_context():
            if fresh:
                echo(f"Filling {db.engine.dialect.name}: {shape.own + shape.claimable + shape.head + shape.others:,} "
                     f"open and {shape.completed:,} completed tasks")  # fmt: skip
                fill_tasks(app, shape, echo)
            else:
                echo(f"Measuring the {db.engine.dialect.name} database this command filled before")
            open_count = sa_session().scalar(select(func.count()).select_from(TaskRow).where(TaskRow.state == "open"))
            all_count = sa_session().scalar(select(func.count()).select_from(TaskRow))
            db.session.remove()
        echo(f"{open_count:,} open tasks, {all_count:,} in all; {repeat} calls each after one to warm up")
        figures = measure(app, repeat, echo)
        with app.app_context():
            db.engine.dispose()
        return figures
