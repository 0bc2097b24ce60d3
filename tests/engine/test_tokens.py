"""API tokens in the engine: who makes, sees and revokes them, what a token proves (its holder, within its
unit only, nothing above the units), and that a revoked token, a deactivated holder or a holder who left the
unit get nothing. Also the short memory of verified passwords and the idle end of log-in sessions."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from engine import Engine, queries, tokens
from engine.errors import Conflict, EngineError, InstanceNotFound, NotAllowed, NotFound
from engine.library.deploy import Deployer, SourceFile
from engine.library.versions import may_deploy
from engine.org import login_guard, login_sessions
from engine.org.credential_cache import VerifiedCredentials
from engine.org.models import RoleAssignment, Unit, User
from engine.org.people import SYSTEM_ADMIN, authenticate, has_system_role, hash_password, unit_ids_of
from engine.runtime.jobs import covered_jobs, fetch_and_lock
from tests.conftest import FIXTURES, Clock, People, make_user, snapshot
from tests.conftest import integration_account as admin

pytestmark = pytest.mark.usefixtures("library")
ROOT = Path(__file__).resolve().parent.parent.parent
LOCK = timedelta(minutes=5)


def start_dossier(session: Session, clock: Clock, actor: User, unit: Unit) -> int:
    """An instance waiting for its worker (job type ``igate-verify``)."""
    source = FIXTURES / "events/dossier_events_c8.bpmn"
    Deployer(session).deploy([SourceFile(source.name, source.read_bytes())], actor=None, now=clock.now)
    return Engine(session).start("dossier_events_c8", actor=actor, unit_id=unit.id, now=clock.now,
                                 variables={"dossier": "HS-001"}).id  # fmt: skip


def quantri(session: Session, people: People) -> User:
    """An administrator of the demo unit only (no role above the units)."""
    return make_user(session, "quantri", people.unit, ("admin",))


def fresh(session: Session, user: User) -> User:
    """The account as a new request loads it (no unit limit from an earlier token)."""
    user_id = user.id
    session.expunge(user)
    found = session.get(User, user_id)
    assert found is not None
    return found


# --- making and seeing tokens ---------------------------------------------------------------------------


def test_a_token_is_shown_once_and_only_its_hash_is_kept(session: Session, people: People, clock: Clock) -> None:
    maker = quantri(session, people)
    issued = tokens.issue(session, maker, unit_id=people.unit.id, name="  iGate   worker ", scopes=["jobs", "start"],
                          now=clock.now)  # fmt: skip
    assert issued.secret.startswith("eiso_") and len(issued.secret) >= 45
    row = session.scalars(select(tokens.ApiToken)).one()
    stored = [str(getattr(row, c.key)) for c in tokens.ApiToken.__table__.columns]
    assert not any(issued.secret in value for value in stored)
    assert row.digest == tokens.digest(issued.secret) and row.shown == issued.secret[:12]
    assert row.name == "iGate worker" and row.scope_names == ["start", "jobs"] and row.user_id == maker.id
    assert row.created_by_id == maker.id and row.last_used_at is None and row.active
    assert [t.id for t in tokens.tokens_for(session, maker)] == [row.id]


def test_only_the_units_administrators_and_system_administrators_make_tokens(session: Session, people: People,
                                                                             clock: Clock) -> None:  # fmt: skip
    before = session.scalars(select(tokens.ApiToken)).all()
    for stranger in (people.member, people.leader, people.outsider_member, people.nobody):
        with pytest.raises(NotAllowed):
            tokens.issue(session, stranger, unit_id=people.unit.id, name="x", scopes=["jobs"], now=clock.now)
        assert tokens.may_manage(session, stranger, people.unit.id) is False
    assert session.scalars(select(tokens.ApiToken)).all() == before
    system = admin(session)  # system administrator, and the demo unit's admin
    assert has_system_role(session, system, SYSTEM_ADMIN)
    made = tokens.issue(session, system, unit_id=people.other_unit.id, name="BMT", scopes=["jobs"],
                        holder="thuky_bmt", now=clock.now)  # across units  # fmt: skip
    assert made.token.unit_id == people.other_unit.id and made.token.user_id == people.outsider_member.id
    assert {u.id for u in tokens.managed_units(session, system)} == {people.unit.id, people.other_unit.id}
    assert [u.id for u in tokens.managed_units(session, people.outsider_member)] == [people.other_unit.id]
    assert tokens.managed_units(session, people.member) == []


def test_a_token_is_given_only_to_someone_who_can_do_no_more_than_its_maker(session: Session, people: People,
                                                                            clock: Clock) -> None:  # fmt: skip
    maker = quantri(session, people)
    worker = make_user(session, "igate", people.unit, ("admin",))
    tokens.issue(session, maker, unit_id=people.unit.id, name="iGate", scopes=["jobs"], holder="igate", now=clock.now)
    with pytest.raises(NotAllowed, match="never lets you do more"):  # the leader decides what an admin may not
        tokens.issue(session, maker, unit_id=people.unit.id, name="Lãnh đạo", scopes=["tasks"], holder="giamdoc",
                     now=clock.now)  # fmt: skip
    for nobody_here in ("thuky_bmt", "khong-co-ai"):
        with pytest.raises(EngineError, match="not an active person of this unit"):
            tokens.issue(session, maker, unit_id=people.unit.id, name="X", scopes=["jobs"], holder=nobody_here,
                         now=clock.now)  # fmt: skip
    worker.is_active = False
    session.commit()
    with pytest.raises(EngineError, match="not an active person"):
        tokens.issue(session, maker, unit_id=people.unit.id, name="Y", scopes=["jobs"], holder="igate", now=clock.now)
    holders = {p.username for p in tokens.possible_holders(session, maker, people.unit.id)}
    assert "quantri" in holders and "admin" in holders and not holders & {"igate", "giamdoc", "thuky", "thuky_bmt"}
    everyone = {p.username for p in tokens.possible_holders(session, admin(session), people.unit.id)}
    assert {"giamdoc", "thuky", "quantri"} <= everyone and "thuky_bmt" not in everyone
    assert tokens.possible_holders(session, people.member, people.unit.id) == []


@pytest.mark.parametrize(("name", "scopes", "message"), [
    ("", ["jobs"], "name of 1 to 100"),
    ("x" * 101, ["jobs"], "name of 1 to 100"),
    ("Worker", [], "at least one scope"),
    ("Worker", ["jobs", "admin"], "Unknown token scope admin"),
])  # fmt: skip
def test_a_token_needs_a_name_and_known_scopes(session: Session, people: People, clock: Clock, name: str,
                                               scopes: list[str], message: str) -> None:  # fmt: skip
    with pytest.raises(EngineError, match=message):
        tokens.issue(session, admin(session), unit_id=people.unit.id, name=name, scopes=scopes, now=clock.now)
    assert session.scalars(select(tokens.ApiToken)).all() == []


def test_a_name_is_taken_until_its_token_is_revoked(session: Session, people: People, clock: Clock) -> None:
    first = tokens.issue(session, admin(session), unit_id=people.unit.id, name="iGate", scopes=["jobs"], now=clock.now)
    with pytest.raises(Conflict):
        tokens.issue(session, admin(session), unit_id=people.unit.id, name="iGate", scopes=["start"], now=clock.now)
    tokens.issue(session, admin(session), unit_id=people.other_unit.id, name="iGate", scopes=["jobs"],
                 holder="thuky_bmt", now=clock.now)  # another unit's name  # fmt: skip
    tokens.revoke(session, admin(session), first.token.id, clock.now)
    tokens.issue(session, admin(session), unit_id=people.unit.id, name="iGate", scopes=["jobs"], now=clock.now)


def test_another_units_administrator_neither_sees_nor_revokes_a_token(session: Session, people: People,
                                                                      clock: Clock) -> None:  # fmt: skip
    maker = quantri(session, people)
    issued = tokens.issue(session, maker, unit_id=people.unit.id, name="iGate", scopes=["jobs"], now=clock.now)
    assert tokens.tokens_for(session, people.outsider_member) == []
    for stranger in (people.outsider_member, people.member, people.nobody):
        with pytest.raises(NotFound):
            tokens.revoke(session, stranger, issued.token.id, clock.now)
    assert tokens.authenticate_token(session, issued.secret, clock.now) is not None
    with pytest.raises(NotFound):
        tokens.revoke(session, maker, issued.token.id + 1000, clock.now)


# --- what a token proves ----------------------------------------------------------------------------------


def test_a_token_acts_as_its_holder_within_its_unit_until_revoked(session: Session, people: People,
                                                                  clock: Clock) -> None:  # fmt: skip
    maker = quantri(session, people)
    issued = tokens.issue(session, maker, unit_id=people.unit.id, name="iGate", scopes=["jobs"], now=clock.now)
    grant = tokens.authenticate_token(session, issued.secret, clock.now, "203.0.113.5")
    assert grant is not None and grant.user.id == maker.id and grant.unit_id == people.unit.id
    assert grant.scopes == {"jobs"} and grant.allows(["jobs", "start"]) and not grant.allows(["start"])
    secret = issued.secret
    for wrong in ("", "eiso_", secret[:-1], secret + "x", secret.upper(), "Bearer " + secret):
        assert tokens.authenticate_token(session, wrong, clock.now) is None
    maker = fresh(session, maker)  # the next request: the maker with the password
    revoked = tokens.revoke(session, maker, issued.token.id, clock.now + timedelta(seconds=1))
    assert revoked.revoked_at is not None and revoked.revoked_by_id == maker.id
    assert tokens.authenticate_token(session, issued.secret, clock.now) is None
    tokens.revoke(session, maker, issued.token.id, clock.now + timedelta(hours=1))  # again: nothing changes
    assert revoked.revoked_at == clock.now + timedelta(seconds=1)


def test_a_deactivated_holder_or_one_who_left_the_unit_has_no_working_token(session: Session, people: People,
                                                                            clock: Clock) -> None:  # fmt: skip
    maker = quantri(session, people)
    worker = make_user(session, "igate", people.unit, ("admin",))
    issued = tokens.issue(session, maker, unit_id=people.unit.id, name="iGate", scopes=["jobs"], holder="igate",
                          now=clock.now)  # fmt: skip
    assert tokens.authenticate_token(session, issued.secret, clock.now) is not None
    worker.is_active = False
    session.commit()
    assert tokens.authenticate_token(session, issued.secret, clock.now) is None
    worker.is_active = True
    session.execute(RoleAssignment.__table__.delete().where(RoleAssignment.user_id == worker.id))
    session.commit()
    assert tokens.authenticate_token(session, issued.secret, clock.now) is None


def test_a_token_is_a_wall_between_its_holders_units(session: Session, people: People, clock: Clock) -> None:
    """One person administers both units; their token for the other unit reaches none of the demo unit's
    work, and holds no role above the units, while their password still reaches both."""
    dual = make_user(session, "hai_don_vi", people.unit, ("admin", "iso_secretary"))
    session.add(RoleAssignment(user_id=dual.id, unit_id=people.other_unit.id, role="admin"))
    session.commit()
    instance = start_dossier(session, clock, people.member, people.unit)
    issued = tokens.issue(session, dual, unit_id=people.other_unit.id, name="BMT", scopes=["jobs", "start"],
                          now=clock.now)  # fmt: skip
    grant = tokens.authenticate_token(session, issued.secret, clock.now)
    assert grant is not None
    acting = grant.user
    assert unit_ids_of(session, acting) == {people.other_unit.id}
    assert session.scalars(covered_jobs(session, acting)).all() == []
    before = snapshot(session)
    assert fetch_and_lock(Engine(session), "bmt", ["igate-verify"], actor=acting, max_jobs=10, lock=LOCK,
                          now=clock.now) == []  # fmt: skip
    with pytest.raises(InstanceNotFound):
        queries.visible_instance(session, acting, instance)
    with pytest.raises(NotAllowed):
        Engine(session).start("dossier_events_c8", actor=acting, unit_id=people.unit.id, now=clock.now)
    assert not may_deploy(session, acting, people.unit.id) and may_deploy(session, acting, people.other_unit.id)
    assert not tokens.may_manage(session, acting, people.other_unit.id)  # a token never manages tokens
    assert snapshot(session) == before

    person = fresh(session, dual)  # the same person, with the password: both units
    assert unit_ids_of(session, person) == {people.unit.id, people.other_unit.id}
    assert [j.instance_id for j in session.scalars(covered_jobs(session, person))] == [instance]


def test_a_token_of_a_system_administrator_holds_no_role_above_the_units(session: Session, people: People,
                                                                         clock: Clock) -> None:  # fmt: skip
    issued = tokens.issue(session, admin(session), unit_id=people.unit.id, name="Thư viện", scopes=["deploy"],
                          now=clock.now)  # fmt: skip
    grant = tokens.authenticate_token(session, issued.secret, clock.now)
    assert grant is not None and not has_system_role(session, grant.user, SYSTEM_ADMIN)
    assert not may_deploy(session, grant.user, None) and may_deploy(session, grant.user, people.unit.id)
    assert tokens.managed_units(session, grant.user) == []


NAMED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
  id="named_defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="giao_dich_danh" name="Giao đích danh" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="xu_ly" name="Xử lý"><bpmn:extensionElements><zeebe:userTask />
      <zeebe:assignmentDefinition candidateUsers="hai_don_vi" /></bpmn:extensionElements></bpmn:userTask>
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="xu_ly" />
    <bpmn:sequenceFlow id="f2" sourceRef="xu_ly" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""


def test_a_task_naming_the_holder_in_another_unit_is_not_offered_to_the_token(session: Session, people: People,
                                                                              clock: Clock) -> None:  # fmt: skip
    dual = make_user(session, "hai_don_vi", people.unit, ("admin",))
    session.add(RoleAssignment(user_id=dual.id, unit_id=people.other_unit.id, role="admin"))
    session.commit()
    Deployer(session).deploy([SourceFile("named.bpmn", NAMED.encode())], actor=None, now=clock.now)
    Engine(session).start("giao_dich_danh", actor=dual, unit_id=people.unit.id, now=clock.now)
    offered = [t.name for t in queries.claimable_tasks(session, dual)]
    assert offered == ["Xử lý"], "with the password, the person is offered the demo unit's task named for them"
    issued = tokens.issue(session, dual, unit_id=people.other_unit.id, name="BMT", scopes=["tasks"], now=clock.now)
    grant = tokens.authenticate_token(session, issued.secret, clock.now)
    assert grant is not None
    assert queries.claimable_tasks(session, grant.user) == [] and queries.my_tasks(session, grant.user) == []
    assert queries.inbox_counts(session, grant.user).claimable == 0
    # held with the password, the task is in the person's inbox; the other unit's token still does not see it
    person = fresh(session, grant.user)
    [task] = queries.claimable_tasks(session, person)
    Engine(session).claim(task.id, actor=person, now=clock.now)
    assert [t.id for t in queries.my_tasks(session, person)] == [task.id]
    assert queries.inbox_counts(session, person).mine == 1
    session.expunge(person)
    grant = tokens.authenticate_token(session, issued.secret, clock.now)
    assert grant is not None
    assert queries.my_tasks(session, grant.user) == [] and queries.inbox_counts(session, grant.user).mine == 0


def test_last_use_is_written_at_most_once_a_minute(session: Session, people: People, clock: Clock) -> None:
    issued = tokens.issue(session, admin(session), unit_id=people.unit.id, name="iGate", scopes=["jobs"], now=clock.now)
    tokens.authenticate_token(session, issued.secret, clock.now, "203.0.113.5")
    session.refresh(issued.token)
    assert issued.token.last_used_at == clock.now and issued.token.last_used_from == "203.0.113.5"
    tokens.authenticate_token(session, issued.secret, clock.now + timedelta(seconds=59), "203.0.113.6")
    session.refresh(issued.token)
    assert issued.token.last_used_at == clock.now and issued.token.last_used_from == "203.0.113.5"
    later = clock.now + timedelta(seconds=61)
    tokens.authenticate_token(session, issued.secret, later, "203.0.113.6")
    session.refresh(issued.token)
    assert issued.token.last_used_at == later and issued.token.last_used_from == "203.0.113.6"


def test_a_busy_token_costs_one_read_and_no_write_per_call(session: Session, people: People, clock: Clock) -> None:
    issued = tokens.issue(session, admin(session), unit_id=people.unit.id, name="iGate", scopes=["jobs"], now=clock.now)
    tokens.authenticate_token(session, issued.secret, clock.now)  # noted as used
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement.split()[0].upper())

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", seen)
    try:
        for second in range(1, 30):
            assert tokens.authenticate_token(session, issued.secret, clock.now + timedelta(seconds=second))
    finally:
        event.remove(bind, "before_cursor_execute", seen)
    assert set(statements) == {"SELECT"} and len(statements) == 29


def test_the_scope_refusal_names_what_is_needed(session: Session, people: People, clock: Clock) -> None:
    issued = tokens.issue(session, admin(session), unit_id=people.unit.id, name="Mở", scopes=["start"], now=clock.now)
    grant = tokens.authenticate_token(session, issued.secret, clock.now)
    assert grant is not None
    tokens.require_scope(grant, {"start", "deploy"})
    with pytest.raises(NotAllowed, match="needs the scope jobs, and the token has start"):
        tokens.require_scope(grant, {"jobs"})
    with pytest.raises(NotAllowed, match="cannot be used for this call"):
        tokens.require_scope(grant, set())


def test_no_engine_query_reads_the_acting_accounts_roles_past_the_unit_limit() -> None:
    """Every question about the acting account's roles goes through ``people.holds``: a query written with
    ``RoleAssignment.user_id == user.id`` would let a token reach its holder's other units. (Questions about
    another person's roles, the one an administrator manages, name them ``person``.)"""
    direct = re.compile(r"RoleAssignment\.user_id\s*==\s*(?!person\b)[a-z_]+\.id")
    found = [f"{path.relative_to(ROOT)}:{n}" for path in sorted((ROOT / "engine").rglob("*.py"))
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if direct.search(line) and path.name != "people.py"]  # fmt: skip
    assert found == []


# --- login limits by address only ----------------------------------------------------------------------------


def test_a_failed_token_counts_against_the_address_only(session: Session, clock: Clock) -> None:
    for _ in range(login_guard.ADDRESS.failures - 1):
        assert login_guard.record_failure(session, None, "203.0.113.9", clock.now) is None
    assert login_guard.locked_until(session, "admin", "198.51.100.1", clock.now) is None  # no account was named
    until = login_guard.record_failure(session, None, "203.0.113.9", clock.now)
    assert until == clock.now + login_guard.ADDRESS.lockout
    assert login_guard.locked_until(session, None, "203.0.113.9", clock.now) == until
    assert login_guard.locked_until(session, None, "198.51.100.1", clock.now) is None


# --- remembered passwords ------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_verified_credentials_are_remembered_for_the_ttl_only(session: Session, people: People) -> None:
    clock = FakeClock()
    memory = VerifiedCredentials(ttl=60, clock=clock)
    user = authenticate(session, "thuky", "demo")
    assert user is not None and memory.user(session, "thuky", "demo") is None
    memory.remember("thuky", "demo", user)
    assert memory.user(session, "thuky", "demo") is user
    for username, password in (("thuky", "wrong"), ("thuky", "demo "), ("giamdoc", "demo"), ("thukydemo", ""),
                               ("thuk", "ydemo")):  # fmt: skip
        assert memory.user(session, username, password) is None
    clock.t += 59.9
    assert memory.user(session, "thuky", "demo") is user
    clock.t += 0.1
    assert memory.user(session, "thuky", "demo") is None and len(memory) == 0


@pytest.mark.parametrize("change", ["password", "deactivated", "renamed"])
def test_a_changed_account_is_not_remembered(session: Session, people: People, change: str) -> None:
    memory = VerifiedCredentials(ttl=60)
    user = authenticate(session, "thuky", "demo")
    assert user is not None
    memory.remember("thuky", "demo", user)
    if change == "password":  # as another server process would: only the row changes
        user.password_hash = hash_password("demo")
    elif change == "deactivated":
        user.is_active = False
    else:
        user.username = "thuky2"
    session.commit()
    assert memory.user(session, "thuky", "demo") is None and len(memory) == 0


def test_the_memory_is_bounded_and_can_be_off(session: Session, people: People) -> None:
    user = authenticate(session, "thuky", "demo")
    assert user is not None
    memory = VerifiedCredentials(ttl=60, max_entries=3)
    for n in range(5):
        memory.remember("thuky", f"demo{n}", user)
    assert len(memory) == 3
    assert memory.user(session, "thuky", "demo0") is None and memory.user(session, "thuky", "demo4") is user
    memory.forget_user(user.id)
    assert len(memory) == 0
    off = VerifiedCredentials(ttl=0)
    off.remember("thuky", "demo", user)
    assert len(off) == 0 and off.user(session, "thuky", "demo") is None


# --- log-in sessions end when idle, and at the latest after max_age ----------------------------------------------


def test_a_session_ends_when_idle_and_at_its_maximum_age(session: Session, people: People, clock: Clock) -> None:
    lifetime = login_sessions.Lifetime(idle=timedelta(minutes=30), max_age=timedelta(hours=8))
    token = login_sessions.open_session(session, people.member, clock.now, lifetime)
    at = clock.now
    for _ in range(20):  # busy all day, a request every 29 minutes
        at += timedelta(minutes=29)
        expected = at - clock.now <= lifetime.max_age
        assert (login_sessions.session_user(session, token, at, lifetime) is not None) == expected
        if not expected:
            break
    assert login_sessions.session_user(session, token, clock.now, lifetime) is None  # its row is gone

    idle = login_sessions.open_session(session, people.member, clock.now, lifetime)
    assert login_sessions.session_user(session, idle, clock.now + timedelta(minutes=29), lifetime) is not None
    late = clock.now + timedelta(minutes=29 + 31)
    assert login_sessions.session_user(session, idle, late, lifetime) is None


def test_a_session_notes_its_use_at_most_once_a_minute(session: Session, people: People, clock: Clock) -> None:
    token = login_sessions.open_session(session, people.member, clock.now)
    row = session.scalars(select(login_sessions.LoginSession)).one()
    login_sessions.session_user(session, token, clock.now + timedelta(seconds=30))
    session.refresh(row)
    assert row.last_seen_at == clock.now
    login_sessions.session_user(session, token, clock.now + timedelta(seconds=90))
    session.refresh(row)
    assert row.last_seen_at == clock.now + timedelta(seconds=90)



def test_making_and_revoking_a_token_is_in_the_units_audit_log(session: Session, people: People,
                                                               clock: Clock) -> None:  # fmt: skip
    from engine.org.audit import AuditEntry

    maker = admin(session)
    made = tokens.issue(session, maker, unit_id=people.unit.id, name="Máy chủ một cửa", scopes=["jobs"], now=clock.now)
    tokens.revoke(session, maker, made.token.id, clock.now)
    tokens.revoke(session, maker, made.token.id, clock.now)  # again: nothing more to write
    entries = session.scalars(select(AuditEntry).where(AuditEntry.subject_kind == "token").order_by(AuditEntry.id))
    assert [(e.action, e.unit_id, e.actor_id, e.subject_name) for e in entries] == [
        ("token.issued", people.unit.id, maker.id, "Máy chủ một cửa"),
        ("token.revoked", people.unit.id, maker.id, "Máy chủ một cửa"),
    ]
