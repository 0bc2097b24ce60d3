"""Dossiers of administrative procedures worked over HTTP through the shipped procedure processes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine import NotFound, ProcessInstance, sweep_timers
from engine.dossiers.dossiers import Dossier, steps, unit_dossiers, visible_dossier
from tests.conftest import make_unit, make_user
from tests.webapp.conftest import basic, login
from webapp.extensions import db

KEY = "procedure_xray_declaration"  # 5 working days
MONDAY = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)  # Monday 08:30 in Hà Nội


class Now:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    @property
    def now(self) -> datetime:
        return self.moment

    def advance(self, **kwargs: float) -> None:
        self.moment += timedelta(**kwargs)


@pytest.fixture
def web_clock(monkeypatch: pytest.MonkeyPatch) -> Now:
    now = Now(MONDAY)
    for module in ("webapp.blueprints.api", "webapp.blueprints.inbox", "webapp.views"):
        monkeypatch.setattr(f"{module}.now", now, raising=False)
    return now


APPLICANT = {"applicantName": "Phòng khám Đa khoa Hòa Bình", "applicantPhone": "0912345678",
             "applicantAddress": "12 Lê Duẩn, Buôn Ma Thuột", "channel": "1", "documents": ["doc1"]}  # fmt: skip


def receive(client: FlaskClient, key: str = KEY, desk: str = "chuyenvien", **extra: Any) -> dict[str, Any]:
    started = client.post(f"/api/v1/process-definitions/{key}/start", headers=basic(desk),
                          json={"variables": {**APPLICANT, **extra}})  # fmt: skip
    assert started.status_code == 201, started.json
    return started.json  # type: ignore[no-any-return]


def _open(client: FlaskClient, instance_id: int, element: str) -> list[dict[str, Any]]:
    instance = client.get(f"/api/v1/instances/{instance_id}", headers=basic("admin")).json
    return [t for t in instance["tasks"] if t["state"] == "open" and t["element_id"] == element]  # type: ignore[index]


def open_task(client: FlaskClient, instance_id: int, username: str, element: str) -> str:
    """The open step of the dossier this person has or may take (their inbox, over HTTP)."""
    inbox = client.get("/api/v1/tasks", headers=basic(username)).json
    found = [t for t in inbox["mine"] + inbox["claimable"]  # type: ignore[index]
             if t["instance_id"] == instance_id and t["element_id"] == element]  # fmt: skip
    assert found, (username, element, _open(client, instance_id, element))
    return str(found[0]["id"])


def work(client: FlaskClient, instance_id: int, username: str, element: str, **variables: Any) -> None:
    task_id = open_task(client, instance_id, username, element)
    done = client.post(f"/api/v1/tasks/{task_id}/complete", headers=basic(username), json={"variables": variables})
    assert done.status_code == 200, done.json


def dossier_of(app: Flask, instance_id: int) -> Dossier:
    with app.app_context():
        found = db.session.scalar(select(Dossier).where(Dossier.instance_id == instance_id))
        assert found is not None
        db.session.expunge(found)
        return found


def test_a_dossier_on_time(app: Flask, client: FlaskClient, web_clock: Now) -> None:
    started = receive(client)
    iid = started["id"]
    web_clock.advance(hours=1)
    work(client, iid, "chuyenvien", "check", checkDecision="accept")
    web_clock.advance(hours=1)
    work(client, iid, "truongphong3", "assign", specialist="chuyenvien5")
    web_clock.advance(hours=2)
    work(client, iid, "chuyenvien5", "appraise", appraisalDecision="propose", appraisalResult="Đủ điều kiện cấp.")
    work(client, iid, "truongphong3", "review", reviewDecision="approve")
    work(client, iid, "giamdoc", "approve", approvalDecision="approve", resultNumber="15/GXN-SKHCN")
    dossier = dossier_of(app, iid)
    assert dossier.status == 9
    assert dossier.timing == "early"
    work(client, iid, "chuyenvien", "return_result", receivedBy="Nguyễn Văn A")
    dossier = dossier_of(app, iid)
    assert dossier.status == 10
    assert dossier.code.endswith("-261207-0001")


def _steps(app: Flask, dossier: Dossier) -> list[tuple[str, str, str | None]]:
    with app.app_context():
        return [(s.name, s.body, s.timing) for s in steps(db.session, dossier)]


def _accept_and_assign(client: FlaskClient, web_clock: Now, iid: int) -> None:
    web_clock.advance(hours=1)
    work(client, iid, "chuyenvien", "check", checkDecision="accept")
    web_clock.advance(hours=1)
    work(client, iid, "truongphong3", "assign", specialist="chuyenvien5")


def test_the_on_time_dossier_leaves_its_steps_for_the_control_slip(app: Flask, client: FlaskClient,
                                                                   web_clock: Now) -> None:  # fmt: skip
    iid = receive(client)["id"]
    _accept_and_assign(client, web_clock, iid)
    web_clock.advance(days=1)  # Tuesday 10:30: the appraisal (1.5 working days) is due on Tuesday afternoon
    work(client, iid, "chuyenvien5", "appraise", appraisalDecision="propose", appraisalResult="Đủ điều kiện.")
    work(client, iid, "truongphong3", "review", reviewDecision="approve")
    work(client, iid, "giamdoc", "approve", approvalDecision="approve", resultNumber="15/GXN-SKHCN")
    dossier = dossier_of(app, iid)

    assert (dossier.status, dossier.timing, dossier.supplements) == (9, "early", 0)
    assert _steps(app, dossier) == [
        ("Kiểm tra tính đầy đủ, hợp lệ của hồ sơ", "Văn phòng Sở", "on_time"),  # done on its due day
        ("Phân công chuyên viên thụ lý", "Phòng Quản lý Công nghệ và Chuyên ngành", "on_time"),
        ("Thẩm định hồ sơ", "Phòng Quản lý Công nghệ và Chuyên ngành", "on_time"),
        ("Xem xét kết quả thẩm định (lãnh đạo phòng)", "Phòng Quản lý Công nghệ và Chuyên ngành", "on_time"),
        ("Phê duyệt, ký kết quả (lãnh đạo đơn vị)", "Sở Khoa học và Công nghệ tỉnh Đắk Lắk", "early"),
        ("Trả kết quả cho tổ chức, cá nhân", "", None),
    ]


def test_a_late_dossier_gets_an_apology_with_a_new_date_and_stays_late(app: Flask, client: FlaskClient,
                                                                       web_clock: Now) -> None:  # fmt: skip
    iid = receive(client)["id"]  # Monday 7 December: 5 working days, due Monday 14 December at 17:00
    _accept_and_assign(client, web_clock, iid)
    with app.app_context():
        assert dossier_of(app, iid).appointment_at == datetime(2026, 12, 14, 10, 0, tzinfo=UTC)
        sweep_timers(db.session, datetime(2026, 12, 11, 9, 0, tzinfo=UTC))  # Friday 16:00: more than a day left
        db.session.commit()
    assert not _open(client, iid, "apology")
    web_clock.moment = datetime(2026, 12, 14, 2, 0, tzinfo=UTC)  # Monday 09:00: less than one working day left
    with app.app_context():
        sweep_timers(db.session, web_clock.moment)
        db.session.commit()
    work(client, iid, "truongphong3", "apology", newAppointmentDate="2026-12-16",
         apologyReason="Cần thêm thời gian kiểm tra thực tế thiết bị.")  # fmt: skip
    dossier = dossier_of(app, iid)
    assert dossier.new_appointment_at == datetime(2026, 12, 16, 10, 0, tzinfo=UTC)  # 17:00 in Hà Nội
    assert dossier.status == 4

    web_clock.moment = datetime(2026, 12, 15, 3, 0, tzinfo=UTC)  # Tuesday: after the appointment
    work(client, iid, "chuyenvien5", "appraise", appraisalDecision="propose", appraisalResult="Đủ điều kiện.")
    work(client, iid, "truongphong3", "review", reviewDecision="approve")
    work(client, iid, "giamdoc", "approve", approvalDecision="approve", resultNumber="16/GXN-SKHCN")

    dossier = dossier_of(app, iid)
    assert (dossier.status, dossier.timing) == (9, "late")
    assert ("Thẩm định hồ sơ", "Phòng Quản lý Công nghệ và Chuyên ngành", "late") in _steps(app, dossier)


def test_a_supplement_stops_the_clock_and_a_second_one_makes_it_late(app: Flask, client: FlaskClient,
                                                                     web_clock: Now) -> None:  # fmt: skip
    iid = receive(client)["id"]
    _accept_and_assign(client, web_clock, iid)
    work(client, iid, "chuyenvien5", "appraise", appraisalDecision="supplement",
         supplementRequest="Bổ sung giấy chứng nhận kiểm định thiết bị.")  # fmt: skip
    assert (dossier_of(app, iid).status, dossier_of(app, iid).supplements) == (5, 1)
    web_clock.moment = datetime(2026, 12, 14, 2, 0, tzinfo=UTC)  # a week later, Monday 09:00
    work(client, iid, "chuyenvien", "p_await_supplement", supplied="yes")
    assert dossier_of(app, iid).status == 4
    web_clock.moment = datetime(2026, 12, 16, 2, 0, tzinfo=UTC)  # after the first appointment, within the moved one
    work(client, iid, "chuyenvien5", "appraise", appraisalDecision="propose", appraisalResult="Đủ điều kiện.")
    work(client, iid, "truongphong3", "review", reviewDecision="approve")
    work(client, iid, "giamdoc", "approve", approvalDecision="approve", resultNumber="17/GXN-SKHCN")

    dossier = dossier_of(app, iid)
    assert dossier.appointment_at is not None and dossier.due_at is not None
    assert dossier.due_at > dossier.appointment_at  # moved on by the working time the clock stood still
    assert dossier.finished_at is not None and dossier.appointment_at < dossier.finished_at <= dossier.due_at
    assert (dossier.status, dossier.timing, dossier.supplements) in {(9, "on_time", 1), (9, "early", 1)}
    assert dossier.paused_seconds > 0


def test_two_supplements_count_as_late(app: Flask, client: FlaskClient, web_clock: Now) -> None:
    iid = receive(client)["id"]
    web_clock.advance(hours=1)
    work(client, iid, "chuyenvien", "check", checkDecision="supplement", supplementRequest="Thiếu phiếu khai báo.")
    assert dossier_of(app, iid).status == 5
    work(client, iid, "chuyenvien", "await_supplement", supplied="yes")
    assert dossier_of(app, iid).status == 1  # back at the desk, not yet accepted
    work(client, iid, "chuyenvien", "check", checkDecision="accept")
    work(client, iid, "truongphong3", "assign", specialist="chuyenvien5")
    work(client, iid, "chuyenvien5", "appraise", appraisalDecision="supplement", supplementRequest="Thiếu ảnh.")
    work(client, iid, "chuyenvien", "p_await_supplement", supplied="yes")
    work(client, iid, "chuyenvien5", "appraise", appraisalDecision="propose", appraisalResult="Đủ điều kiện.")
    work(client, iid, "truongphong3", "review", reviewDecision="approve")
    work(client, iid, "giamdoc", "approve", approvalDecision="approve", resultNumber="18/GXN-SKHCN")

    dossier = dossier_of(app, iid)
    assert (dossier.status, dossier.supplements, dossier.timing) == (9, 2, "late")


def test_a_refused_dossier_ends_not_accepted(app: Flask, client: FlaskClient, web_clock: Now) -> None:
    iid = receive(client)["id"]
    work(client, iid, "chuyenvien", "check", checkDecision="refuse", refusalReason="Không thuộc thẩm quyền của Sở.")
    dossier = dossier_of(app, iid)
    assert (dossier.status, dossier.timing, dossier.finished_at) == (3, None, None)
    assert dossier.closed_at is not None
    instance = client.get(f"/api/v1/instances/{iid}", headers=basic("chuyenvien")).json
    assert instance["status"] == "completed"  # type: ignore[index]


def test_a_stopped_dossier(app: Flask, client: FlaskClient, web_clock: Now) -> None:
    iid = receive(client)["id"]
    _accept_and_assign(client, web_clock, iid)
    work(client, iid, "chuyenvien5", "appraise", appraisalDecision="stop", stopReason="Tổ chức xin rút hồ sơ.")
    dossier = dossier_of(app, iid)
    assert (dossier.status, dossier.timing) == (8, None)


def test_coordination_goes_to_each_department_in_parallel(app: Flask, client: FlaskClient, web_clock: Now) -> None:
    iid = receive(client, key="procedure_radiation_officer_certificate")["id"]
    _accept_and_assign(client, web_clock, iid)
    work(client, iid, "chuyenvien5", "appraise", appraisalDecision="coordinate",
         coordinationDepartments=["qlkh", "vp"], coordinationRequest="Đề nghị cho ý kiến về văn bằng.")  # fmt: skip
    work(client, iid, "truongphong2", "coordinate", coordinationOpinion="Văn bằng phù hợp.")
    work(client, iid, "truongphong", "coordinate", coordinationOpinion="Không có ý kiến khác.")
    consolidate = open_task(client, iid, "chuyenvien5", "consolidate")
    specialist = login(app.test_client(), "chuyenvien5")
    shown = specialist.get(f"/tasks/{consolidate}").get_data(as_text=True)
    rows = [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in re.findall(r"<tr>.*?</tr>", shown, re.S)]
    assert "Phòng Quản lý Khoa học Văn bằng phù hợp." in rows  # each department's opinion, beside its name
    assert "Văn phòng Sở Không có ý kiến khác." in rows
    work(client, iid, "chuyenvien5", "consolidate", appraisalResult="Đủ điều kiện cấp chứng chỉ.")
    work(client, iid, "truongphong3", "review", reviewDecision="approve")
    work(client, iid, "giamdoc", "approve", approvalDecision="approve", resultNumber="05/CC-SKHCN")
    dossier = dossier_of(app, iid)

    assert (dossier.status, dossier.timing) == (9, "early")
    bodies = [body for name, body, _ in _steps(app, dossier) if name == "Cho ý kiến phối hợp"]
    assert sorted(bodies) == ["Phòng Quản lý Khoa học", "Văn phòng Sở"]


def test_codes_run_per_unit_and_day_and_another_unit_sees_nothing(app: Flask, client: FlaskClient,
                                                                  web_clock: Now) -> None:  # fmt: skip
    first, second = receive(client)["id"], receive(client)["id"]
    with app.app_context():
        other = make_unit(db.session, code="ubnd-eakar", name="UBND xã Ea Kar",
                          departments=(("vp", "Văn phòng"), ("qlcn", "Phòng Kinh tế")))  # fmt: skip
        make_user(db.session, "motcua-eakar", other, ("specialist",), "vp")
        other_id = other.id
    third = receive(client, desk="motcua-eakar")["id"]
    codes = [dossier_of(app, i).code for i in (first, second, third)]

    assert codes == ["SKHCN-261207-0001", "SKHCN-261207-0002", "UBND-EAKAR-261207-0001"]
    with app.app_context():
        assert visible_dossier(db.session, codes[2], {other_id}).instance_id == third
        with pytest.raises(NotFound):
            visible_dossier(db.session, codes[0], {other_id})
        assert [d.code for d in unit_dossiers(db.session, {other_id})] == [codes[2]]
    assert client.get(f"/api/v1/instances/{first}", headers=basic("motcua-eakar")).status_code == 404


def test_a_supplement_pause_moves_the_apology_on(app: Flask, client: FlaskClient, web_clock: Now) -> None:
    """The apology letter is due one working day before the appointment; the pause moves both on."""
    iid = receive(client)["id"]
    _accept_and_assign(client, web_clock, iid)
    work(client, iid, "chuyenvien5", "appraise", appraisalDecision="supplement",
         supplementRequest="Bổ sung giấy chứng nhận kiểm định thiết bị.")  # fmt: skip
    web_clock.moment = datetime(2026, 12, 14, 2, 0, tzinfo=UTC)  # a week later, Monday 09:00: supplied
    work(client, iid, "chuyenvien", "p_await_supplement", supplied="yes")
    with app.app_context():
        sweep_timers(db.session, datetime(2026, 12, 14, 9, 0, tzinfo=UTC))  # after the first apology time
        db.session.commit()
    assert not _open(client, iid, "apology")  # the appointment moved on by the week: not late yet
    with app.app_context():
        moved = db.session.get(ProcessInstance, iid)
        assert moved is not None and moved.due_at is not None
        assert moved.due_at > datetime(2026, 12, 18, tzinfo=UTC)  # the appointment moved on by the week
        sweep_timers(db.session, moved.due_at - timedelta(hours=1))  # within a working day of the moved date
        db.session.commit()
    assert _open(client, iid, "apology")
