"""Risk management as its people work it in the browser: the secretary plans, the leader returns and then
approves, the department heads identify and treat their risks, the secretary assesses and reports, and the
monitoring rounds come back every quarter. The register pages show, filter and export what it left, and a
second unit running the same process sees nothing of the first."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from engine import Engine, ProcessInstance, sweep_timers
from engine.iso.risks import Risk
from engine.runtime.models import Timer
from tests.iso_flows import (
    assessed,
    decision,
    identified,
    monitored,
    open_tasks,
    reported,
    risk_plan,
    rows,
    treated,
)
from tests.webapp.iso.conftest import Office
from webapp.extensions import sa_session


def tasks(office: Office, instance_id: int, element_id: str) -> list[str]:
    with office.app.app_context():
        return [t.id for t in open_tasks(sa_session(), instance_id, element_id)]


def data(office: Office, task_id: str) -> dict[str, Any]:
    with office.app.app_context():
        engine = Engine(sa_session())
        return engine.task_data(engine.task_row(task_id))


def submit(browser: FlaskClient, task_id: str, post: dict[str, list[str]], status: int = 302) -> str:
    response = browser.post(f"/tasks/{task_id}", data=post)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def start(office: Office) -> tuple[int, str]:
    response = office.browser(office.secretary).post("/processes/risk_management/start",
                                                     data={"unit_id": office.unit_id})  # fmt: skip
    assert response.status_code == 302 and response.headers["Location"].startswith("/tasks/")
    task_id = response.headers["Location"].removeprefix("/tasks/")
    with office.app.app_context():
        instance_id = Engine(sa_session()).task_row(task_id).instance_id
    return instance_id, task_id


def identify_assess_treat_report(office: Office, instance_id: int, **scores: tuple[int, int]) -> None:
    """From the department heads' identification to the secretary's report, each in their own browser."""
    for task_id in tasks(office, instance_id, "identify_risks"):
        code = data(office, task_id)["department"]["value"]
        submit(office.browser(office.heads[code]), task_id, identified(code))
    [assess] = tasks(office, instance_id, "assess_risks")
    submit(office.browser(office.secretary), assess, assessed(data(office, assess)["allRisks"], **scores))
    for task_id in tasks(office, instance_id, "plan_treatment"):
        group = data(office, task_id)["group"]
        submit(office.browser(office.heads[group["department"]["value"]]), task_id, treated(group))
    [report] = tasks(office, instance_id, "report_results")
    submit(office.browser(office.secretary), report, reported())


def run(office: Office, departments: list[str]) -> int:
    instance_id, plan = start(office)
    submit(office.browser(office.secretary), plan, risk_plan(departments))
    [approve] = tasks(office, instance_id, "approve_plan")
    submit(office.browser(office.leader), approve, decision("approve"))
    identify_assess_treat_report(office, instance_id)
    return instance_id


def monitoring_round(office: Office, instance_id: int, **changes: Any) -> None:
    with office.app.app_context():
        session = sa_session()
        timer = session.scalars(select(Timer).where(Timer.instance_id == instance_id, Timer.state == "waiting")).one()
        assert sweep_timers(session, timer.due_at).fired == 1
    [task_id] = tasks(office, instance_id, "monitor_risks")
    page = office.browser(office.secretary).get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "Rủi ro đang theo dõi" in page
    choices = re.findall(r'<input type="radio"[^>]*name="continueMonitoring"[^>]*>', page)
    assert len(choices) == 2 and not any("checked" in c for c in choices)  # the decision is made each round anew
    assert "continueMonitoring" not in data(office, task_id) or data(office, task_id)["continueMonitoring"] is None
    submit(office.browser(office.secretary), task_id, {**monitored(data(office, task_id)["monitoredRisks"], **changes),
                                                       "continueMonitoring": []}, status=422)  # not chosen: refused
    submit(office.browser(office.secretary), task_id, monitored(data(office, task_id)["monitoredRisks"], **changes))


def register_csv(browser: FlaskClient, query: str = "") -> list[list[str]]:
    response = browser.get(f"/iso/risks?format=csv{query}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def codes_on(browser: FlaskClient, query: str = "") -> list[str]:
    return [row[0] for row in register_csv(browser, query)[1:]]


def status(office: Office, instance_id: int) -> str:
    with office.app.app_context():
        instance = sa_session().get(ProcessInstance, instance_id)
        assert instance is not None
        return instance.status


def test_the_plan_is_returned_with_a_reason_then_approved_and_the_heads_work_only_their_own_department(
    demo: Office,
) -> None:
    instance_id, plan = start(demo)
    secretary, leader = demo.browser("thuky"), demo.browser("giamdoc")
    empty = submit(secretary, plan, {}, status=422)
    assert "Trường này là bắt buộc" in empty
    submit(secretary, plan, risk_plan(["vp", "qlkh"], title="Đánh giá rủi ro 2027 (dự thảo)"))
    [approve] = tasks(demo, instance_id, "approve_plan")
    assert "Đánh giá rủi ro 2027 (dự thảo)" in leader.get(f"/tasks/{approve}").get_data(as_text=True)
    assert "Lý do trả lại" in submit(leader, approve, decision("return"), status=422)
    submit(leader, approve, decision("return", "Bổ sung nguồn lực và thời gian"))
    [again] = tasks(demo, instance_id, "plan_assessment")
    assert "Lý do: Bổ sung nguồn lực và thời gian" in secretary.get(f"/tasks/{again}").get_data(as_text=True)
    submit(secretary, again, risk_plan(["vp", "qlkh"]))
    [approve] = tasks(demo, instance_id, "approve_plan")
    second_round = leader.get(f"/tasks/{approve}").get_data(as_text=True)
    radios = re.findall(r'<input type="radio"[^>]*name="decision"[^>]*>', second_round)
    assert len(radios) == 2 and not any(" checked" in r for r in radios)  # the first round's "return" is not offered
    assert "Bổ sung nguồn lực và thời gian" not in second_round
    submit(leader, approve, decision("approve"))
    identify = {data(demo, t)["department"]["value"]: t for t in tasks(demo, instance_id, "identify_risks")}
    assert sorted(identify) == ["qlkh", "vp"]
    assert identify["vp"] in demo.browser("truongphong").get("/").get_data(as_text=True)
    assert identify["vp"] not in demo.browser("truongphong3").get("/").get_data(as_text=True)
    submit(demo.browser("truongphong"), identify["qlkh"], identified("qlkh"), status=403)  # not his department
    assert sorted(tasks(demo, instance_id, "identify_risks")) == sorted(identify.values())


def test_a_treatment_required_by_the_decision_table_cannot_be_accepted(demo: Office) -> None:
    instance_id, plan = start(demo)
    submit(demo.browser("thuky"), plan, risk_plan(["vp"]))
    submit(demo.browser("giamdoc"), tasks(demo, instance_id, "approve_plan")[0], decision("approve"))
    [identify] = tasks(demo, instance_id, "identify_risks")
    submit(demo.browser("truongphong"), identify, identified("vp"))
    [assess] = tasks(demo, instance_id, "assess_risks")
    submit(demo.browser("thuky"), assess, assessed(data(demo, assess)["allRisks"], r1=(5, 5)))
    [treat] = tasks(demo, instance_id, "plan_treatment")
    head = demo.browser("truongphong")
    page = head.get(f"/tasks/{treat}").get_data(as_text=True)
    assert "Rất cao" in page and "Kế hoạch xử lý rủi ro — Văn phòng Sở" in page
    refused = submit(head, treat, rows("group.risks", [{"treatment": "accept"}, {"treatment": "accept"}]), 422)
    assert "Lựa chọn không hợp lệ" in refused
    missing = submit(head, treat, rows("group.risks", [{"treatment": "reduce"}, {"treatment": "accept"}]), 422)
    assert "Trường này là bắt buộc" in missing  # the action, its owner and its date
    submit(head, treat, treated(data(demo, treat)["group"]))
    assert tasks(demo, instance_id, "report_results")


def test_the_register_shows_filters_and_exports_what_the_assessment_left_and_monitoring_goes_round(
    demo: Office,
) -> None:
    instance_id = run(demo, ["vp", "qlkh"])
    leader = demo.browser("giamdoc")
    page = leader.get("/iso/risks").get_data(as_text=True)
    for code in ("RR-2027-001", "RR-2027-002", "RR-2027-003", "RR-2027-004"):
        assert code in page
    assert f'href="/instances/{instance_id}"' in page and "Phạm Văn Hùng" in page
    table = register_csv(leader)
    assert table[0][:4] == ["Mã", "Đơn vị", "Phòng ban", "Rủi ro"]
    first = dict(zip(table[0], table[1], strict=True))
    assert (first["Mã"], first["Điểm"], first["Mức"], first["Cách xử lý"], first["Hạn xử lý"]) == (
        "RR-2027-001", "16", "Cao", "Giảm thiểu", "30/06/2027")
    assert first["Quy trình"] == str(instance_id)
    assert codes_on(leader, "&level=low") == ["RR-2027-002", "RR-2027-004"]
    with demo.app.app_context():
        qlkh = sa_session().scalar(select(Risk.department_id).where(Risk.code == "RR-2027-003"))
    assert codes_on(leader, f"&department={qlkh}") == ["RR-2027-003", "RR-2027-004"]
    sheet = load_workbook(io.BytesIO(leader.get("/iso/risks?format=xlsx&level=high").get_data())).active
    assert [row[0].value for row in sheet.iter_rows()] == ["Mã", "RR-2027-001", "RR-2027-003"]

    monitoring_round(demo, instance_id, close=("RR-2027-002",))
    monitoring_round(demo, instance_id, raise_=("RR-2027-004",))
    monitoring_round(demo, instance_id)
    assert codes_on(leader, "&status=closed") == ["RR-2027-002"]
    with demo.app.app_context():
        raised = sa_session().scalar(select(Risk.id).where(Risk.code == "RR-2027-004"))
    detail = leader.get(f"/iso/risks/{raised}").get_data(as_text=True)
    assert "Lịch sử theo dõi" in detail and "Tình hình xấu đi" in detail
    assert detail.count("<tr><td>") == 4  # the assessment and three rounds
    assert "chưa có hành động xử lý" in detail  # it rose to a level that needs treatment
    assert "Cần bổ sung biện pháp xử lý" in leader.get("/iso/risks?level=critical").get_data(as_text=True)
    monitoring_round(demo, instance_id, stop=True)
    assert status(demo, instance_id) == "completed"


def test_a_second_unit_runs_it_and_neither_unit_sees_the_others_risks(demo: Office, second: Office) -> None:
    ours = run(demo, ["vp"])
    theirs = run(second, ["vp"])
    their_secretary, our_secretary = second.browser("thuky_bmt"), demo.browser("thuky")
    assert codes_on(their_secretary) == ["RR-2027-001", "RR-2027-002"]
    assert codes_on(our_secretary) == ["RR-2027-001", "RR-2027-002"]
    their_page = their_secretary.get("/iso/risks").get_data(as_text=True)
    assert f"/instances/{theirs}" in their_page and f"/instances/{ours}" not in their_page
    with demo.app.app_context():
        by_unit = {(r.unit_id, r.code): r.id for r in sa_session().scalars(select(Risk))}
    theirs_first = by_unit[(second.unit_id, "RR-2027-001")]
    assert our_secretary.get(f"/iso/risks/{theirs_first}").status_code == 404
    assert our_secretary.get(f"/iso/risks?unit={second.unit_id}&format=csv").status_code == 404  # not there for us
    assert their_secretary.get(f"/iso/risks/{theirs_first}").status_code == 200
    assert demo.browser("giamdoc").get(f"/instances/{theirs}").status_code == 404


@pytest.mark.parametrize(("query", "says"), [
    ("year=2O27", "“year”"), ("level=extreme", "“level”"), ("status=done", "“status”"), ("format=pdf", "pdf"),
])  # fmt: skip
def test_a_filter_that_cannot_be_read_is_answered_by_name(demo: Office, query: str, says: str) -> None:
    response = demo.browser("thuky").get(f"/iso/risks?{query}")
    assert response.status_code == 400 and says in response.get_data(as_text=True)


def test_the_register_asks_for_a_log_in(client: FlaskClient) -> None:
    response = client.get("/iso/risks")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
