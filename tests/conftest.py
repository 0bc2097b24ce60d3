"""Shared fixtures: a real database (SQLite file, and PostgreSQL when reachable), the demo organisation,
the shipped library deployed, and a clock that tests move instead of sleeping."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import Engine as SAEngine
from sqlalchemy.orm import Session

import engine.org.demo
from engine import Deployer, SourceFile
from engine.db import Base
from engine.org.models import CalendarDay, Department, Notice, RoleAssignment, Unit, User
from engine.runtime.jobs import ExternalJob
from engine.runtime.models import HistoryEvent, MessageSubscription, ProcessInstance, TaskRow

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "bpmn"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The shared corpus of public diagrams; EISO_CORPUS names it when the tests run from a copy (scripts/mutation).
CORPUS = Path(os.environ.get("EISO_CORPUS") or ROOT.parent / "shared" / "corpus")
POSTGRES_URL = os.environ.get("EISO_TEST_POSTGRES_URL", "postgresql+psycopg://eiso:eiso@127.0.0.1:5432/eiso_test")
REQUIRE_POSTGRES = os.environ.get("EISO_REQUIRE_POSTGRES") == "1"

# Demo accounts share one password hash, made once per test session (scrypt is slow on purpose).
_DEMO_HASH: dict[str, str] = {}


def _fast_demo_hash(password: str) -> str:
    if password not in _DEMO_HASH:
        _DEMO_HASH[password] = engine.org.people.hash_password(password)
    return _DEMO_HASH[password]


engine.org.demo.hash_password = _fast_demo_hash  # type: ignore[assignment]


@dataclass
class Clock:
    """The time tests pass to the engine; ``advance`` moves it."""

    now: datetime = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)  # Monday 08:30 in Hà Nội

    def advance(self, **kwargs: float) -> datetime:
        self.now = self.now + timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


_pg_engine: SAEngine | None = None
_pg_error: str | None = None


def _postgres() -> SAEngine:
    global _pg_engine, _pg_error
    if _pg_engine is None and _pg_error is None:
        try:
            candidate = create_engine(POSTGRES_URL, pool_pre_ping=True)
            with candidate.connect() as conn:
                conn.execute(text("select 1"))
            Base.metadata.drop_all(candidate)
            Base.metadata.create_all(candidate)
            _pg_engine = candidate
        except Exception as exc:  # any failure to reach the server means "no PostgreSQL here"
            _pg_error = f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.__class__.__name__}"
    if _pg_engine is None:
        if REQUIRE_POSTGRES:
            pytest.fail(_pg_error or "PostgreSQL required")
        pytest.skip(_pg_error or "PostgreSQL not reachable")
    return _pg_engine


def _truncate(db: SAEngine) -> None:
    names = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
    with db.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A clean database with the schema, on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'eiso.sqlite3'}"
        db = create_engine(url)
        Base.metadata.create_all(db)
        db.dispose()
        yield url
    else:
        pg = _postgres()
        _truncate(pg)
        yield POSTGRES_URL


@pytest.fixture
def db_engine(db_url: str) -> Iterator[SAEngine]:
    import webapp  # noqa: F401 - installs the SQLite pragmas listener

    db = _postgres() if db_url.startswith("postgresql") else create_engine(db_url)
    yield db
    if not db_url.startswith("postgresql"):
        db.dispose()


@pytest.fixture
def session(db_engine: SAEngine) -> Iterator[Session]:
    with Session(db_engine, expire_on_commit=True) as s:
        yield s


@pytest.fixture
def unit(session: Session) -> Unit:
    created, _ = engine.org.demo.load_demo(session)
    return created


def library_files() -> list[SourceFile]:
    kinds = (".bpmn", ".form", ".dmn")
    return [SourceFile(p.name, p.read_bytes()) for p in sorted(LIBRARY.iterdir()) if p.suffix in kinds]


@pytest.fixture
def library(session: Session, unit: Unit, clock: Clock) -> None:
    Deployer(session).deploy(library_files(), actor=None, now=clock.now, source="library")


@pytest.fixture
def users(session: Session, unit: Unit) -> dict[str, User]:
    return {u.username: u for u in session.query(User).all()}


def integration_account(session: Session) -> User:
    """The demo unit's administrator, the account its workers and message senders use."""
    found = session.scalar(select(User).where(User.username == "admin"))
    assert found is not None
    return found


def snapshot(session: Session) -> dict[str, Any]:
    """What a refused attack on a unit's work must leave as it was: instances, tasks, jobs, subscriptions,
    history, notices and calendar days."""
    session.expire_all()

    def rows(stmt: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in session.execute(stmt)]

    return {
        "instances": [(i, r, s, hashlib.sha256(state.encode()).hexdigest()) for i, r, s, state in rows(
            select(ProcessInstance.id, ProcessInstance.revision, ProcessInstance.status, ProcessInstance.state)
            .order_by(ProcessInstance.id))],
        "tasks": rows(select(TaskRow.id, TaskRow.state, TaskRow.assignee_id).order_by(TaskRow.id)),
        "jobs": rows(select(ExternalJob.id, ExternalJob.state, ExternalJob.retries, ExternalJob.locked_by,
                            ExternalJob.lock_expires_at, ExternalJob.error_message).order_by(ExternalJob.id)),
        "subscriptions": rows(select(MessageSubscription.id, MessageSubscription.state)
                              .order_by(MessageSubscription.id)),
        "history": rows(select(HistoryEvent.id, HistoryEvent.kind).order_by(HistoryEvent.id)),
        "notices": rows(select(Notice.id, Notice.user_id, Notice.read_at).order_by(Notice.id)),
        "calendar": rows(select(CalendarDay.id, CalendarDay.unit_id, CalendarDay.day, CalendarDay.kind)
                         .order_by(CalendarDay.id)),
    }  # fmt: skip


def deploy_fixture(session: Session, now: datetime, *names: str) -> None:
    files = [SourceFile(n, (FIXTURES / n).read_bytes()) for n in names]
    Deployer(session).deploy(files, actor=None, now=now)


# --- a second unit and people in and around it ---------------------------------------------------------


def make_unit(session: Session, code: str = "ubnd-buonmathuot", name: str = "UBND phường Buôn Ma Thuột",
              departments: tuple[tuple[str, str], ...] = (("vp", "Văn phòng"),)) -> Unit:  # fmt: skip
    """A unit with departments (same department codes as the demo unit's, so scoping is by unit)."""
    created = Unit(code=code, name=name, short_name=code.upper())
    session.add(created)
    session.add_all(Department(unit=created, code=c, name=n) for c, n in departments)
    session.commit()
    return created


def make_user(session: Session, username: str, unit: Unit | None = None, roles: tuple[str, ...] = ("specialist",),
              department: str | None = None, full_name: str = "") -> User:  # fmt: skip
    """A person holding ``roles`` in ``unit`` (none without a unit), in one of its departments if named."""
    dept = next((d for d in unit.departments if d.code == department), None) if unit and department else None
    person = User(username=username, full_name=full_name or username, password_hash=_fast_demo_hash("demo"),
                  email=f"{username}@example.vn", unit=unit, department=dept)  # fmt: skip
    session.add(person)
    if unit is not None:
        for role in roles:
            scoped = dept.id if dept is not None and role in ("department_head", "specialist") else None
            person.roles.append(RoleAssignment(unit=unit, role=role, department_id=scoped))
    session.commit()
    return person


@dataclass
class People:
    """Who matters when a unit or a person decides: the demo unit, another unit, and their people."""

    unit: Unit  # the demo unit
    other_unit: Unit
    member: User  # an ISO secretary and specialist of the demo unit (``thuky``)
    leader: User  # the demo unit's leader (``giamdoc``)
    outsider_member: User  # ISO secretary, leader and specialist of the other unit, nothing in the demo unit
    outsider_leader: User  # the other unit's leader
    nobody: User  # an account with no role in any unit


@pytest.fixture
def other_unit(session: Session, unit: Unit) -> Unit:
    return make_unit(session)


@pytest.fixture
def people(session: Session, unit: Unit, other_unit: Unit, users: dict[str, User]) -> People:
    roles = ("iso_secretary", "specialist", "unit_leader", "department_head", "admin")
    return People(
        unit=unit,
        other_unit=other_unit,
        member=users["thuky"],
        leader=users["giamdoc"],
        outsider_member=make_user(session, "thuky_bmt", other_unit, roles, "vp", "Trần Văn Khác"),
        outsider_leader=make_user(session, "chutich_bmt", other_unit, ("unit_leader",)),
        nobody=make_user(session, "khach", None, full_name="Người ngoài"),
    )


@contextmanager
def statements(session: Session) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements the session sends while the block runs, each with the values sent with it."""
    sent: list[tuple[str, Any]] = []
    bind = session.get_bind()

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(bind, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(bind, "before_cursor_execute", seen)
