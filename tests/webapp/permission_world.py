"""The world the permission suite walks: the demo unit with one of everything a URL can name (an instance,
open tasks, a stored file, its own process with versions, a draft and a migration, a job, a message
subscription, a notice, calendar entries, a failed outgoing message), another unit with its people,
and an outsider. Everything is made as people make it (deploys, starts, task completions); objects a
successful request uses up (a task completed, an entry deleted) come from factories, one per request."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from engine import (
    Deployer,
    Engine,
    ExternalJob,
    SourceFile,
    Upload,
    admin,
    assignments,
    fail_job,
    fetch_and_lock,
    instance_moves,
    outbox,
    queries,
    reviews,
    tokens,
)
from engine.db import Base
from engine.dossiers.dossiers import Dossier
from engine.iso.complaints import Complaint
from engine.iso.documents import DocumentIssue
from engine.iso.risks import Risk
from engine.org import substitutes
from engine.org.calendar_days import set_calendar_day
from engine.org.demo import load_demo
from engine.org.login_sessions import open_session
from engine.org.models import Unit, User
from engine.org.notices import notify
from engine.runtime.models import TaskRow
from tests.conftest import FIXTURES, library_files, make_unit, make_user
from tests.iso_flows import UnitPeople, run_complaint, run_document_control, run_risk_assessment
from webapp import create_app
from webapp.auth import SESSION_TOKEN
from webapp.extensions import db, now
from webapp.settings import Settings

PASSWORD = "demo"
CHEAP_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")  # every request of the suite checks it
START = {"subject": ["Biên bản họp"], "kind": ["minutes"]}  # the evidence start form, filled in
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
DRAFT = {"year": 2027, "title": "Mục tiêu 2027", "objectives": [
    {"objective": "Đúng hạn", "target": "100%", "department": "vp", "deadline": "2027-12-31"}]}  # fmt: skip
NOT_SNAPSHOT = {"login_sessions", "login_throttles", "idempotency_keys"}  # what any request may write
NOT_SNAPSHOT_COLUMNS = {"last_used_at", "last_used_from"}  # any request with an API token notes its use

C8 = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'
      ' xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:modeler="http://camunda.org/schema/modeler/1.0"'
      ' id="Definitions_{key}" targetNamespace="http://bpmn.io/schema/bpmn" modeler:executionPlatform="Camunda Cloud"'
      ' modeler:executionPlatformVersion="8.5.0">\n<bpmn:process id="{key}" name="{name}" isExecutable="true">\n'
      '{body}\n</bpmn:process>\n{extra}\n</bpmn:definitions>\n')  # fmt: skip


def process(key: str, name: str, *steps: str, extra: str = "") -> SourceFile:
    """A straight-line Camunda 8 process: a start event, ``steps`` in order (each with ``id="sN"``), an end."""
    ids = ["start", *(f"s{i}" for i in range(1, len(steps) + 1)), "end"]
    body = ['<bpmn:startEvent id="start" />', *steps, '<bpmn:endEvent id="end" />']
    body += [f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}" />' for i, (a, b) in
             enumerate(zip(ids, ids[1:], strict=False))]  # fmt: skip
    return SourceFile(f"{key}.bpmn", C8.format(key=key, name=name, body="\n".join(body), extra=extra).encode())


def user_task(index: int, name: str, assignment: str = 'candidateGroups="iso_secretary"') -> str:
    return (f'<bpmn:userTask id="s{index}" name="{name}"><bpmn:extensionElements><zeebe:userTask />'
            f'<zeebe:assignmentDefinition {assignment} /></bpmn:extensionElements></bpmn:userTask>')  # fmt: skip


def evidence_files(key: str, task_name: str) -> list[SourceFile]:
    """The evidence fixture (a start form, a task with a file picker) under another process and form id."""
    def renamed(name: str) -> bytes:
        content = (FIXTURES / name).read_text(encoding="utf-8").replace('id="evidence"', f'id="{key}"')
        content = content.replace("Đính kèm minh chứng", task_name)
        return content.replace("evidence-start", f"{key}-start").replace("evidence-attach", f"{key}-attach").encode()

    return [SourceFile(f"{key}.bpmn", renamed("evidence.bpmn")), SourceFile(f"{key}-start.form", renamed(
        "evidence-start.form")), SourceFile(f"{key}-attach.form", renamed("evidence-attach.form"))]  # fmt: skip


OWN_KEY = "minh_chung"  # the demo unit's own process: v1 active at first, v2 active, v3 a draft
SHARED_KEY = "quy_trinh_chung"  # a shared-library process the attacks try to replace
JOB_KEY, JOB_TYPE = "cham_diem", "cham_diem.tinh"
MESSAGE_KEY, MESSAGE_NAME = "cho_ket_qua", "ket_qua_tham_dinh"
ASSIGN_KEY = "giao_viec"
OTHER_KEY = "bmt_rieng"


def shared_process(version_note: str) -> SourceFile:
    return process(SHARED_KEY, "Quy trình dùng chung", user_task(1, f"Xử lý {version_note}"))


def job_process() -> SourceFile:
    return process(JOB_KEY, "Chấm điểm", f'<bpmn:serviceTask id="s1" name="Tính điểm"><bpmn:extensionElements>'
                                         f'<zeebe:taskDefinition type="{JOB_TYPE}" /></bpmn:extensionElements>'
                                         '</bpmn:serviceTask>', user_task(2, "Xem kết quả"))  # fmt: skip


def message_process() -> SourceFile:
    return process(MESSAGE_KEY, "Chờ kết quả thẩm định",
                   '<bpmn:intermediateCatchEvent id="s1" name="Có kết quả"><bpmn:messageEventDefinition '
                   'messageRef="Message_kq" /></bpmn:intermediateCatchEvent>', user_task(2, "Xử lý kết quả"),
                   extra=f'<bpmn:message id="Message_kq" name="{MESSAGE_NAME}"><bpmn:extensionElements>'
                         '<zeebe:subscription correlationKey="=maHoSo" /></bpmn:extensionElements></bpmn:message>')


def basic(username: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()}


@dataclass
class World:
    """The app, the people by the part they play, and the demo unit's objects (ids, keys, codes)."""

    app: Flask
    ids: dict[str, Any] = field(default_factory=dict)
    serial: Iterator[int] = field(default_factory=lambda: count(1))

    # --- people ----------------------------------------------------------------------------------------

    def user(self, username: str) -> User:
        found = db.session.scalar(select(User).where(User.username == username))
        assert found is not None, username
        return found

    def client(self, username: str | None) -> FlaskClient:
        """A browser: anonymous, or logged in as ``username`` with a session of its own."""
        browser = self.app.test_client()
        if username is not None:
            with self.app.app_context():
                token = open_session(db.session, self.user(username), now())
                db.session.commit()
            with browser.session_transaction() as cookie:
                cookie[SESSION_TOKEN] = token
        return browser

    def close(self) -> None:
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()

    def unlocked_job(self) -> str:
        """A new job of the demo unit's scoring process that no worker holds yet."""
        def make(session: Session, engine: Engine) -> str:
            instance = engine.start(JOB_KEY, actor=self.user("quantri"), unit_id=self.ids["unit"], now=now())
            found = session.scalar(select(ExternalJob.id).where(ExternalJob.instance_id == instance.id))
            assert found is not None
            return found

        return str(self._in_app(make))

    def api_token(self, holder: str = "quantri", unit: str = "unit") -> tuple[int, str]:
        """A new API token with every scope, acting as ``holder`` in the demo unit (``unit="other_unit"``: the
        other one), made by the system administrator: its id and the token."""
        def make(session: Session, engine: Engine) -> tuple[int, str]:
            issued = tokens.issue(session, self.user("admin"), unit_id=self.ids[unit], holder=holder, now=now(),
                                  name=f"Token {next(self.serial)}", scopes=list(tokens.SCOPES))  # fmt: skip
            return issued.token.id, issued.secret

        made: tuple[int, str] = self._in_app(make)
        return made

    def read(self, query: Any) -> Any:
        """One value read from the database now."""
        with self.app.app_context():
            try:
                return db.session.scalar(query)
            finally:
                db.session.remove()

    def reset_passwords(self) -> None:
        """Everyone's password back to ``demo`` (after a request that changed one)."""
        with self.app.app_context():
            db.session.execute(text("UPDATE users SET password_hash = :h"), {"h": CHEAP_HASH})
            db.session.commit()
            db.session.remove()

    # --- what a request may change ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table but the log-in bookkeeping: equal before and after = nothing changed."""
        with self.app.app_context():
            found = {t.name: sorted(map(repr, db.session.execute(select(
                *(c for c in t.columns if c.name not in NOT_SNAPSHOT_COLUMNS))).all()))
                for t in Base.metadata.sorted_tables if t.name not in NOT_SNAPSHOT}  # fmt: skip
            db.session.remove()
        return found  # type: ignore[return-value]

    # --- factories: a fresh object per request that may use it up ------------------------------------

    def _in_app(self, make: Any) -> Any:
        with self.app.app_context():
            try:
                result = make(db.session, Engine(db.session, files=self.app.extensions["eiso_files"]))
                db.session.commit()
                return result
            finally:
                db.session.remove()

    def open_task(self, claimed_by: str | None = None) -> str:
        """A new quality-objectives instance of the demo unit, started by ``thuky``; its draft task's id."""
        def make(session: Session, engine: Engine) -> str:
            thuky = self.user("thuky")
            instance = engine.start("quality_objectives", actor=thuky, unit_id=self.ids["unit"], now=now())
            task_id = session.scalar(select(TaskRow.id).where(TaskRow.instance_id == instance.id))
            assert task_id is not None
            if claimed_by:
                engine.claim(task_id, actor=self.user(claimed_by), now=now())
            return task_id

        return str(self._in_app(make))

    def delegated_task(self) -> str:
        """A draft task held by ``thuky`` and delegated to ``chuyenvien``."""
        task_id = self.open_task(claimed_by="thuky")
        self._in_app(lambda session, engine: engine.delegate(task_id, "chuyenvien", actor=self.user("thuky"),
                                                             now=now()))  # fmt: skip
        return task_id

    def substitution(self) -> int:
        """A substitution of ``thuky`` by ``chuyenvien`` on a day of its own, arranged by ``thuky``."""
        day = date(2032, 1, 1) + timedelta(days=next(self.serial))
        return int(self._in_app(lambda session, engine: substitutes.arrange(
            session, actor=self.user("thuky"), unit_id=self.ids["unit"], person="thuky", substitute="chuyenvien",
            starts_on=day, ends_on=day, now=now()).id))

    def locked_job(self, *, incident: bool = False) -> str:
        """A new job of the demo unit's scoring process, locked by the demo unit's worker ``w-demo``."""
        def make(session: Session, engine: Engine) -> str:
            engine.start(JOB_KEY, actor=self.user("quantri"), unit_id=self.ids["unit"], now=now())
            worker = self.user("quantri")  # the demo unit's administrator: its integration account
            [job] = fetch_and_lock(engine, "w-demo", [JOB_TYPE], actor=worker, max_jobs=1,
                                   lock=timedelta(minutes=30), now=now())  # fmt: skip
            if incident:
                fail_job(engine, job["id"], "w-demo", "dịch vụ chấm điểm không trả lời", actor=worker, retries=0,
                         retry_after=timedelta(0), now=now())  # fmt: skip
            return str(job["id"])

        return str(self._in_app(make))

    def notice(self) -> int:
        def make(session: Session, engine: Engine) -> int:
            [notice] = notify(session, [self.user("thuky")], unit_id=self.ids["unit"], kind="info",
                              title=f"Thông báo {next(self.serial)}", link="/notices", now=now(), email=False)
            session.flush()
            return notice.id

        return int(self._in_app(make))

    def calendar_entry(self, *, province: bool = False) -> int:
        def make(session: Session, engine: Engine) -> int:
            day = date(2030, 1, 1) + timedelta(days=next(self.serial))
            keeper = self.user("admin" if province else "quantri")
            entry = set_calendar_day(session, None if province else self.ids["unit"], day, "off", "Nghỉ bù",
                                     actor=keeper)  # fmt: skip
            session.flush()
            return entry.id

        return int(self._in_app(make))

    def failed_message(self) -> int:
        def make(session: Session, engine: Engine) -> int:
            message = outbox.enqueue(session, unit_id=self.ids["unit"], channel="email", key=f"m-{next(self.serial)}",
                                     payload={"to": "thuky@example.vn", "title": "Sắp đến hạn"}, now=now())
            message.state, message.attempts, message.last_error = "failed", 1, "550 No such mailbox"
            session.flush()
            return message.id

        return int(self._in_app(make))

    def message_ref(self) -> str:
        """A new instance of the demo unit waiting for the message ``MESSAGE_NAME`` with this correlation key."""
        ref = f"HS-{next(self.serial):04d}"

        def make(session: Session, engine: Engine) -> None:
            engine.start(MESSAGE_KEY, actor=self.user("quantri"), unit_id=self.ids["unit"], now=now(),
                         variables={"maHoSo": ref})  # fmt: skip

        self._in_app(make)
        return ref

    def waiting_instance(self) -> int:
        """A running instance of the demo unit's own process on version 1, which may move to the active one."""
        return int(self.ids["on_v1"].pop())

    def migration(self) -> int:
        """An instance just moved to the active version by the demo unit's administrator: the move's id."""
        def make(session: Session, engine: Engine) -> int:
            moved = instance_moves.migrate(session, self.waiting_instance(), actor=self.user("quantri"), now=now())
            return moved.id

        return int(self._in_app(make))

    def department(self) -> int:
        """A new, empty department of the demo unit."""
        def make(session: Session, engine: Engine) -> int:
            serial = next(self.serial)
            made = admin.create_department(session, self.ids["unit"], {"code": f"tam{serial}", "name": f"Tổ {serial}"},
                                           actor=self.user("quantri"), now=now())  # fmt: skip
            return made.id

        return int(self._in_app(make))

    def person(self, *, active: bool = True) -> int:
        """A new person of the demo unit (a specialist of the office), deactivated unless ``active``."""
        def make(session: Session, engine: Engine) -> int:
            serial = next(self.serial)
            quantri = self.user("quantri")
            made, _ = admin.create_person(session, self.ids["unit"], {
                "username": f"nguoimoi{serial}", "full_name": f"Người mới {serial}", "department": "vp",
                "roles": ["specialist"], "password": "mat-khau-nguoi-moi"}, actor=quantri, now=now())  # fmt: skip
            if not active:
                admin.deactivate_person(session, made.id, actor=quantri, now=now())
            return made.id

        return int(self._in_app(make))

    def name(self, prefix: str) -> str:
        """A code or user name nobody has yet."""
        return f"{prefix}{next(self.serial)}"

    def draft_upload(self) -> list[SourceFile]:
        """A new version of the demo unit's own process (a draft when ``thuky`` uploads it)."""
        return evidence_files(OWN_KEY, f"Đính kèm minh chứng (lần {next(self.serial)})")

    def shared_upload(self) -> list[SourceFile]:
        return [shared_process(f"bản {next(self.serial)}")]


def build(tmp: Path, database_url: str | None = None) -> World:
    """The world on ``database_url`` (an empty database with the schema), by default a new SQLite file."""
    url = database_url or f"sqlite:///{tmp / 'eiso.sqlite3'}"
    settings = Settings.from_env({}, database_url=url, instance_path=tmp / "instance", testing=True,
                                 secret_key="permissions")  # fmt: skip
    world = World(create_app(settings))
    with world.app.app_context():
        Base.metadata.create_all(db.engine)
        populate(world, db.session, Engine(db.session, files=world.app.extensions["eiso_files"]))
        db.session.remove()
    world.ids.update(task=world.open_task(), held_task=world.open_task(claimed_by="thuky"), job=world.locked_job())
    return world


def populate(world: World, session: Session, engine: Engine) -> None:
    at = now()
    unit, _ = load_demo(session)
    other = _people(session, unit)
    world.ids.update(unit=unit.id, unit_code=unit.code, other_unit=other.id, other_code=other.code,
                     person=world.user("chuyenvien6").id, department=unit.departments[0].id)
    _libraries(world, session, engine, unit, other, at)
    session.commit()
    _stored_file(world, session, engine, unit, at)
    session.commit()
    _registers(world, session, engine, unit, at)
    _iso_registers(world, session, engine, unit, at)
    _dossier(world, session, engine, unit, at)
    session.commit()


def _people(session: Session, unit: Unit) -> Unit:
    """The other unit with its people, the outsider, and the demo unit's administrator ``quantri``."""
    other = make_unit(session)
    roles = ("iso_secretary", "specialist", "unit_leader", "department_head", "admin")
    make_user(session, "thuky_bmt", other, roles, "vp", "Trần Văn Khác")
    make_user(session, "chutich_bmt", other, ("unit_leader",))
    make_user(session, "khach", None, full_name="Người ngoài")
    make_user(session, "quantri", unit, ("admin",), full_name="Quản trị đơn vị")  # the unit's admin, nothing above
    session.execute(text("UPDATE users SET password_hash = :h"), {"h": CHEAP_HASH})
    return other


def _libraries(world: World, session: Session, engine: Engine, unit: Unit, other: Unit, at: datetime) -> None:
    """The shared library; the demo unit's own processes (``OWN_KEY``: v1 with running instances, v2 active,
    v3 a draft under review); the other unit's own process."""
    shared = [SourceFile(n, (FIXTURES / n).read_bytes()) for n in ("evidence.bpmn", "evidence-start.form",
                                                                    "evidence-attach.form")]  # fmt: skip
    Deployer(session).deploy([*library_files(), *shared, shared_process("bản đầu")], actor=None, now=at,
                             source="library")  # fmt: skip
    quantri, thuky = world.user("quantri"), world.user("thuky")
    own = Deployer(session)
    unit.allow_direct_deploy = True  # the unit's administrator sets up its own processes
    own.deploy(evidence_files(OWN_KEY, "Đính kèm minh chứng"), actor=quantri, now=at, unit_id=unit.id)
    world.ids["on_v1"] = [engine.start(OWN_KEY, actor=thuky, unit_id=unit.id, now=at, post=START).id
                          for _ in range(12)]  # fmt: skip
    own.deploy([*evidence_files(OWN_KEY, "Đính kèm minh chứng (bản 2)"), job_process(), message_process(),
                process(ASSIGN_KEY, "Giao việc", user_task(1, "Xử lý được giao", 'assignee="=nguoiXuLy"'))],
               actor=quantri, now=at, unit_id=unit.id, change_summary="Đổi tên bước")  # fmt: skip
    unit.allow_direct_deploy = False
    own.deploy(evidence_files(OWN_KEY, "Đính kèm minh chứng (bản 3)"), actor=thuky, now=at, unit_id=unit.id,
               change_summary="Bản dự thảo 3")  # fmt: skip
    other.allow_direct_deploy = True
    Deployer(session).deploy([process(OTHER_KEY, "Quy trình riêng", user_task(1, "Việc riêng"))],
                             actor=world.user("thuky_bmt"), now=at, unit_id=other.id)  # fmt: skip
    review = session.scalar(select(TaskRow.id).where(TaskRow.name.like("Xem xét%"), TaskRow.state == "open"))
    world.ids["review_task"] = review


def _stored_file(world: World, session: Session, engine: Engine, unit: Unit, at: datetime) -> None:
    """A file uploaded through the task form of the unit's own process (v2, active), the task completed."""
    thuky = world.user("thuky")
    filed = engine.start(OWN_KEY, actor=thuky, unit_id=unit.id, now=at, post=START)
    attach = session.scalar(select(TaskRow.id).where(TaskRow.instance_id == filed.id))
    assert attach is not None
    engine.claim(attach, actor=thuky, now=at)
    stored = engine.stash_uploads(attach, [Upload("evidence", "bien-ban.pdf", "application/pdf", PDF)],
                                  actor=thuky, now=at)  # fmt: skip
    engine.complete(attach, actor=thuky, now=at, post={"items[0].name": ["Biên bản"], "_rows:items": ["1"]},
                    files=stored)  # fmt: skip
    v2 = filed.definition
    assert v2.version == 2 and v2.status == "active"
    form_files = [u.file.id for u in queries.forms_used(session, [v2])[v2.id] if u.file is not None]
    world.ids.update(file=stored["evidence"][0].id, file_instance=filed.id, own_deployment=v2.deployment_id,
                     own_camunda_id=f"{v2.key}:{v2.version}:{v2.id}", own_bpmn_file=v2.bpmn_file_id,
                     own_form_file=form_files[0])  # fmt: skip


HEADS = {"vp": "truongphong", "qlkh": "truongphong2", "qlcn": "truongphong3"}


def _work(world: World, session: Session, engine: Engine, instance_id: int, element: str, username: str | None,
          at: datetime, **variables: Any) -> None:  # fmt: skip
    """Complete the instance's open tasks of ``element``: as ``username``, or as the head of each one's department."""
    rows = session.scalars(select(TaskRow).where(TaskRow.instance_id == instance_id, TaskRow.element_id == element,
                                                 TaskRow.state == "open")).all()  # fmt: skip
    assert rows, element
    for row in rows:
        code = next((str(g).partition(":")[2] for g in row.candidate_roles or [] if ":" in str(g)), "")
        engine.complete(row.id, actor=world.user(username or HEADS[code]), now=at, variables=variables)


def _registers(world: World, session: Session, engine: Engine, unit: Unit, at: datetime) -> None:
    """A concluded management review of the demo unit with two actions, and a job assigned to one department."""
    soon = (at + timedelta(days=30)).date().isoformat()
    topics = ["objectives"]
    review = engine.start("management_review", actor=world.user("thuky"), unit_id=unit.id, now=at)
    _work(world, session, engine, review.id, "draft_notice", "thuky", at, year=at.year, title="Xem xét năm nay",
          meetingDate=soon, topics=topics, noticeText="Họp xem xét")  # fmt: skip
    _work(world, session, engine, review.id, "approve_notice", "giamdoc", at, noticeDecision="approve")
    _work(world, session, engine, review.id, "department_report", None, at, report={"objectives": "Đạt"})
    _work(world, session, engine, review.id, "consolidate", "thuky", at, consolidated={"objectives": "Đạt"})
    _work(world, session, engine, review.id, "record_meeting", "thuky", at, heldOn=soon, participants="Lãnh đạo",
          meetingConclusion="Phù hợp", decisions=[{"decision": "Duy trì"}],
          actions=[{"action": "Rà soát", "ownerKind": "department", "ownerDepartment": "qlkh", "dueDate": soon}])
    _work(world, session, engine, review.id, "final_approval", "giamdoc", at, finalDecision="approve",
          finalConclusion="Phê duyệt")  # fmt: skip
    job = engine.start("adhoc_assignment", actor=world.user("giamdoc"), unit_id=unit.id, now=at,
                       variables={"title": "Việc gấp", "content": "Báo cáo", "deadline": soon,
                                  "assignedDepartments": ["vp"]})  # fmt: skip
    kept, assigned = reviews.ManagementReview, assignments.Assignment
    world.ids.update(review=session.scalar(select(kept.id).where(kept.instance_id == review.id)),
                     review_action=session.scalar(select(reviews.ReviewAction.id)),
                     assignment=session.scalar(select(assigned.id).where(assigned.instance_id == job.id)))  # fmt: skip


def _iso_registers(world: World, session: Session, engine: Engine, unit: Unit, at: datetime) -> None:
    """Rows of the ISO registers of the demo unit, each left by its process run to the end of its main path."""
    people = UnitPeople(unit, world.user("thuky"), world.user("giamdoc"), {"vp": world.user("truongphong")})
    assessed = run_risk_assessment(session, engine, people, at, ["vp"])
    world.ids["risk"] = session.scalar(select(Risk.id).where(Risk.instance_id == assessed.id).limit(1))
    issued = run_document_control(session, engine, people, at, "QT-01")
    issue = session.scalars(select(DocumentIssue).where(DocumentIssue.instance_id == issued.id)).one()
    world.ids.update(document=issue.document_id, document_file=issue.files[0]["id"])
    handled = run_complaint(session, engine, people, at)
    world.ids["complaint"] = session.scalar(select(Complaint.id).where(Complaint.instance_id == handled.id))



DOSSIER_PHONE = "0912345678"


def _dossier(world: World, session: Session, engine: Engine, unit: Unit, at: datetime) -> None:
    """A dossier of the X-ray declaration received at the demo unit's one-stop desk."""
    received = engine.start("procedure_xray_declaration", actor=world.user("chuyenvien"), unit_id=unit.id, now=at,
                            variables={"applicantName": "Phòng khám Hòa Bình", "applicantPhone": DOSSIER_PHONE,
                                       "documents": ["doc1"]})  # fmt: skip
    world.ids["dossier"] = session.scalar(select(Dossier.code).where(Dossier.instance_id == received.id))
