"""A whole ISO year of the demo unit, as its people work it in the browser and in the order a year brings it:
the quality policy and the year's objectives (returned once, then approved and published), the controlled
procedure issued, the risk cycle, the internal audit programme started by its yearly timer, a monitoring round
of the risks, a complaint and an ad hoc job, the audit round whose nonconformity starts a corrective action
carried through to verified and closed, the procedure revised as that action's outcome (its first issue
superseded), and the management review at the year's end with every department head reporting.

Then what an external auditor checks: the ISO home lists every register with rows, each register page lists
the year's rows, each with a link to the instance that left it, each register's CSV and XLSX exports hold
those rows, and the people of another unit find none of it.

The steps are the other ISO tests' own (each process's return loops are tested there); this file strings them
together in one database, moving the tests' clock through the year where a process waits on a timer."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

import tests.webapp.test_review_pages as review_pages
import webapp.blueprints.inbox
import webapp.blueprints.iso.assignments
import webapp.blueprints.iso.complaints
import webapp.blueprints.iso.corrective_actions
import webapp.blueprints.iso.home
import webapp.blueprints.iso.objectives
import webapp.blueprints.iso.reviews
import webapp.blueprints.processes
from engine import ProcessDefinition, ProcessInstance, Unit, sweep_timers
from engine.iso.corrective_actions import CorrectiveAction
from engine.runtime.models import StartTimer, Timer
from tests.conftest import Clock, make_unit, make_user
from tests.iso_flows import PDF, decision, issued, review
from tests.iso_flows import document_draft as procedure
from tests.webapp.conftest import login
from tests.webapp.iso.conftest import Office
from tests.webapp.iso.test_complaint_handling import handle as handle_complaint
from tests.webapp.iso.test_complaint_handling import record as record_complaint
from tests.webapp.iso.test_document_control import only, propose, submit, through
from tests.webapp.iso.test_risk_management import monitoring_round
from tests.webapp.iso.test_risk_management import run as run_risk_assessment
from tests.webapp.test_internal_audit_pages import PROGRAMME, finding, plan, posted, result
from tests.webapp.test_internal_audit_pages import Office as Inbox
from tests.webapp.test_iso_home_registers import EVERY_REGISTER
from tests.webapp.test_iso_home_registers import _registers as registers_on
from tests.webapp.test_iso_registers import DEMO as POLICY_CAST
from tests.webapp.test_iso_registers import _policy as issue_policy
from tests.webapp.test_objectives_records import DRAFT, DRAFT_POST, RECORD, REVIEW, _as, _draft_and_return, _task_link
from tests.webapp.test_review_pages import DEMO as REVIEW_CAST
from tests.webapp.test_review_pages import People, run_assignment, run_review
from webapp.extensions import db, sa_session

HEADS = {"vp": "truongphong", "qlkh": "truongphong2", "qlcn": "truongphong3"}
AUDIT = "Đánh giá phòng, ghi nhận phát hiện"
NONCONFORMITY = "Hồ sơ lưu trữ thiếu chữ ký duyệt"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _on(clock: Clock, day: str) -> datetime:
    """Move the clock to 08:30 in Hà Nội on ``day`` (yyyy-mm-dd), never backwards."""
    moment = datetime.fromisoformat(day).replace(hour=1, minute=30, tzinfo=UTC)
    assert moment >= clock.now, (day, clock.now)
    clock.now = moment
    return moment


@pytest.fixture
def year(app: Flask, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Office]:
    """The demo unit as the run command loads it, its pages on the tests' clock (sign-in sessions keep the real
    one: months pass in this test)."""
    for module in (webapp.blueprints.processes, webapp.blueprints.inbox, webapp.blueprints.iso.corrective_actions,
                   webapp.blueprints.iso.home, webapp.blueprints.iso.reviews, webapp.blueprints.iso.objectives,
                   webapp.blueprints.iso.assignments, webapp.blueprints.iso.complaints):  # fmt: skip
        monkeypatch.setattr(module, "now", lambda: clock.now)
    with app.app_context():
        unit_id = sa_session().scalars(select(Unit.id).where(Unit.code == "skhcn-daklak")).one()
        db.session.remove()
    yield Office(app, unit_id, "thuky", "giamdoc", HEADS)


def _instances(app: Flask, key: str) -> list[int]:
    with app.app_context():
        found = sa_session().scalars(select(ProcessInstance.id).join(ProcessDefinition)
                                     .where(ProcessDefinition.key == key).order_by(ProcessInstance.id))  # fmt: skip
        ids = list(found)
        db.session.remove()
    return ids


def _status(app: Flask, instance_id: int) -> str:
    with app.app_context():
        instance = sa_session().get(ProcessInstance, instance_id)
        assert instance is not None
        status = instance.status
        db.session.remove()
    return status


# --- the year, step by step ----------------------------------------------------------------------------------


def policy_and_objectives(app: Flask, client: FlaskClient) -> None:
    """November: the quality policy issued; next year's objectives drafted, returned once, approved, published."""
    issue_policy(client, app, POLICY_CAST, "Sở cam kết giải quyết thủ tục hành chính công khai, đúng hẹn.",
                 "20/QĐ-SKHCN", "2026-12-01", return_first=False)  # fmt: skip
    _draft_and_return(client, app, "Bổ sung mục tiêu cho Văn phòng.")
    _as(client, "thuky")
    redraft = _task_link(client.get("/").get_data(as_text=True), DRAFT)
    assert "Bổ sung mục tiêu cho Văn phòng." in client.get(redraft).get_data(as_text=True)
    objectives = {**DRAFT_POST, "_rows:objectives": "2", "objectives[1].objective": "Không để mất hồ sơ lưu trữ",
                  "objectives[1].target": "0 hồ sơ thất lạc", "objectives[1].department": "vp",
                  "objectives[1].deadline": "2027-12-31"}  # fmt: skip
    assert client.post(redraft, data=objectives).status_code == 302
    _as(client, "giamdoc")
    assert client.post(_task_link(client.get("/").get_data(as_text=True), REVIEW),
                       data={"decision": "approve"}).status_code == 302  # fmt: skip
    _as(client, "thuky")
    assert client.post(_task_link(client.get("/").get_data(as_text=True), RECORD),
                       data={"decisionNumber": "21/QĐ-SKHCN", "effectiveDate": "2027-01-02",
                             "disseminationNote": "Phổ biến tại cuộc họp giao ban"}).status_code == 302  # fmt: skip
    public = client.get("/units/skhcn-daklak/objectives").get_data(as_text=True)
    assert "Không để mất hồ sơ lưu trữ" in public and "100% hồ sơ giải quyết đúng hạn" in public


def audit_programme_by_its_timer(app: Flask, clock: Clock, inbox: Inbox) -> int:
    """5 January: the yearly timer starts the internal audit; programme and round plan approved."""
    with app.app_context():
        yearly = select(StartTimer).where(StartTimer.state == "waiting", StartTimer.element_id == "start_yearly")
        timer = sa_session().scalars(yearly).one()
        clock.now = _aware(timer.due_at) + timedelta(minutes=1)
        assert clock.now.date().isoformat() == "2027-01-05"
        assert sweep_timers(sa_session(), clock.now).started == 1  # the one unit there is
        db.session.remove()
    [audit] = _instances(app, "internal_audit")
    inbox.do("thuky", "Lập chương trình đánh giá nội bộ", PROGRAMME)
    inbox.do("giamdoc", "Phê duyệt chương trình đánh giá", {"programmeDecision": "approve"})
    _on(clock, "2027-01-12")
    inbox.do(
        "thuky",
        "Lập kế hoạch đánh giá chi tiết",
        plan(("vp", "danhgiavien", "2027-05-11"), ("qlkh", "danhgiavien", "2027-05-12")),
    )
    inbox.do("giamdoc", "Phê duyệt kế hoạch đánh giá", {"planDecision": "approve"})
    return audit


def risk_monitoring_round(app: Flask, clock: Clock, office: Office, risk: int) -> None:
    """A quarter after the report: the monitoring timer fires and the secretary reviews the risks."""
    with app.app_context():
        timer = sa_session().scalars(select(Timer).where(Timer.instance_id == risk, Timer.state == "waiting")).one()
        clock.now = _aware(timer.due_at)
        db.session.remove()
    monitoring_round(office, risk, close=("RR-2027-002",))


def audit_round_and_corrective_action(app: Flask, clock: Clock, office: Office, inbox: Inbox) -> int:
    """May: both departments audited, a nonconformity in the Văn phòng; its corrective action carried through,
    the procedure QT-05 revised on the way (June), verified effective and closed (August)."""
    _on(clock, "2027-05-11")
    audits = inbox.tasks("danhgiavien", AUDIT)
    assert len(audits) == 2  # one for each department of the round
    for url in audits:
        page = inbox.page("danhgiavien", url)
        if "Đánh giá tại Văn phòng Sở" in page:
            form = {**result(finding("nonconformity", NONCONFORMITY)),
                    "evidenceFiles": [(io.BytesIO(PDF), "bien-ban-danh-gia-vp.pdf", "application/pdf")]}  # fmt: skip
        else:
            form = result(finding("observation", "Biểu mẫu cũ vẫn còn được dùng"))
        response = inbox.as_("danhgiavien").post(url, data=form, content_type="multipart/form-data")
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    inbox.do("giamdoc", "Kết luận đánh giá", {"conclusionDecision": "close",
                                              "conclusion": "Văn phòng khắc phục trong tháng 6/2027"})  # fmt: skip
    [action] = _instances(app, "corrective_action")

    _on(clock, "2027-05-13")
    assert inbox.tasks("truongphong2", "Khắc phục tức thời (sửa chữa)") == []  # not his department's
    inbox.do(
        "truongphong",
        "Khắc phục tức thời (sửa chữa)",
        {"correction": "Bổ sung chữ ký vào hồ sơ số 12/2027", "correctionDate": "2027-05-13"},
    )
    inbox.do(
        "truongphong",
        "Phân tích nguyên nhân gốc rễ",
        {"causeMethod": "five_whys", "rootCause": "Quy trình chưa có bước kiểm tra chữ ký trước khi lưu"},
    )
    inbox.do("truongphong", "Lập kế hoạch hành động khắc phục", posted({"actions": [
        {"action": "Sửa đổi quy trình QT-05: thêm bước kiểm tra chữ ký", "owner": "Chánh Văn phòng",
         "dueDate": "2027-06-30"}]}))  # fmt: skip

    _on(clock, "2027-06-14")  # the action: the procedure revised; its first issue is superseded
    revision, _ = propose(
        office,
        "truongphong",
        procedure("QT-05", "revise", changeSummary="Thêm bước kiểm tra chữ ký trước khi lưu hồ sơ (KPH-2027-001)"),
    )
    submit(office.browser("thuky"), only(office, revision, "review_document"), review("accept"))
    submit(office.browser("giamdoc"), only(office, revision, "approve_document"), decision("approve"))
    submit(
        office.browser("thuky"),
        only(office, revision, "issue_document"),
        issued("41/QĐ-SKHCN", "2027-06-15", effectiveDate="2027-07-01", distribution=["vp", "qlkh", "qlcn"]),
    )

    _on(clock, "2027-06-30")
    inbox.do("truongphong", "Thực hiện hành động khắc phục",
             {**posted({"actions": [{"result": "Đã ban hành QT-05 lần 2 (41/QĐ-SKHCN)", "done": True}]}),
              "implementation": "Quy trình sửa đổi đã ban hành và phổ biến"})  # fmt: skip
    _on(clock, "2027-08-16")
    assert inbox.tasks("truongphong", "Kiểm tra xác nhận hiệu lực") == []  # who acted does not verify
    inbox.do(
        "danhgiavien",
        "Kiểm tra xác nhận hiệu lực",
        {"verification": "effective", "verificationNote": "Kiểm tra 20 hồ sơ lưu trữ: đủ chữ ký"},
    )
    assert _status(app, action) == "completed"
    return action


def year_end_review(app: Flask, clock: Clock, people: People, monkeypatch: pytest.MonkeyPatch) -> int:
    """December: the management review, every department head reporting, the meeting's conclusion and actions
    (the review tests' run with this year's dates)."""
    _on(clock, "2027-12-01")
    held = (clock.now + timedelta(days=14)).date().isoformat()
    monkeypatch.setitem(review_pages.NOTICE, "year", "2027")
    monkeypatch.setitem(review_pages.NOTICE, "meetingDate", held)
    their_meeting = review_pages.meeting

    def this_years_meeting(cast: Any, conclusion: str) -> dict[str, Any]:
        return {**their_meeting(cast, conclusion), "heldOn": held, "actions[0].dueDate": "2028-03-31",
                "actions[1].dueDate": "2028-01-31"}  # fmt: skip

    monkeypatch.setattr(review_pages, "meeting", this_years_meeting)
    return run_review(app, people, REVIEW_CAST, "Xem xét của lãnh đạo năm 2027")


# --- what the auditor checks ------------------------------------------------------------------------------------


def _export_links(page: str) -> tuple[str, str]:
    exports = page.split('class="meta register-exports"', 1)[1].split("</p>", 1)[0]
    csv_link, xlsx_link = re.findall(r'href="([^"]+)"', exports)
    return csv_link.replace("&amp;", "&"), xlsx_link.replace("&amp;", "&")


def _rows(page: str) -> list[str]:
    """The register table's rows (the table right after the export links)."""
    table = page.split('class="meta register-exports"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [row for row in re.split(r"<tr\b", table)[1:] if not re.search(r'<td[^>]*class="empty"', row)]


def _csv(client: FlaskClient, link: str) -> list[list[str]]:
    response = client.get(link)
    assert response.status_code == 200 and response.mimetype == "text/csv", link
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def _xlsx(client: FlaskClient, link: str) -> list[list[str]]:
    response = client.get(link)
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet"), link
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    return [["" if c.value is None else str(c.value) for c in row] for row in sheet.iter_rows()]


def test_a_full_iso_year_of_the_demo_unit_is_in_its_registers_and_exports(
    app: Flask, client: FlaskClient, clock: Clock, year: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    office, inbox, people = year, Inbox(app.test_client()), People(app)

    policy_and_objectives(app, client)
    first_issue, _ = propose(office, "chuyenvien", procedure("QT-05"))  # the complaints procedure, first issue
    through(office, first_issue, "03/QĐ-SKHCN")
    _on(clock, "2026-11-25")
    risk = run_risk_assessment(office, ["vp", "qlkh"])  # plan, heads identify, assessment, treatment, report
    audit = audit_programme_by_its_timer(app, clock, inbox)
    risk_monitoring_round(app, clock, office, risk)
    _on(clock, "2027-03-08")
    complaint = record_complaint(office, "thuky")
    handle_complaint(office, complaint)
    monkeypatch.setattr(review_pages, "SOON", (clock.now + timedelta(days=30)).date())
    job = run_assignment(app, people, REVIEW_CAST, "Số liệu quý I năm 2027")
    action = audit_round_and_corrective_action(app, clock, office, inbox)
    management_review = year_end_review(app, clock, people, monkeypatch)

    [revision] = [i for i in _instances(app, "document_control") if i != first_issue]
    every_instance = {risk, audit, complaint, job, action, management_review, first_issue, revision}
    for instance_id in every_instance:
        assert _status(app, instance_id) in ("completed", "running"), instance_id
    assert _status(app, risk) == "running"  # monitoring goes on next quarter
    assert {_status(app, i) for i in every_instance - {risk}} == {"completed"}
    [policy] = _instances(app, "quality_policy")
    [objectives] = _instances(app, "quality_objectives")

    # register -> (what the year left there, the instances its rows link to)
    expected: dict[str, tuple[tuple[str, ...], set[int]]] = {
        "/iso/policies": (("20/QĐ-SKHCN",), {policy}),
        "/iso/objectives": (("100% hồ sơ giải quyết đúng hạn", "Không để mất hồ sơ lưu trữ"), {objectives}),
        "/iso/risks": (("RR-2027-001", "RR-2027-004"), {risk}),
        "/iso/reviews": (("Xem xét của lãnh đạo năm 2027",), {management_review}),
        "/iso/reviews/actions": (("Rà soát quy trình", "Cập nhật sổ tay chất lượng"), {management_review}),
        "/iso/audits": ((PROGRAMME["title"],), {audit}),
        "/iso/audits/findings": ((NONCONFORMITY, "Biểu mẫu cũ vẫn còn được dùng"), {audit, action}),
        "/iso/corrective-actions": (("KPH-2027-001",), {action}),
        "/iso/documents": (("QT-05", "03/QĐ-SKHCN", "41/QĐ-SKHCN"), {first_issue, revision}),
        "/iso/complaints": (("Hồ sơ cấp phép trễ hẹn 5 ngày",), {complaint}),
        "/iso/assignments": (("Số liệu quý I năm 2027",), {job}),
    }
    assert sorted(expected) == sorted(EVERY_REGISTER)

    auditor = login(app.test_client(), "danhgiavien")  # the internal auditor reads the whole unit's ISO records
    secretary = login(app.test_client(), "thuky")
    listed = registers_on(secretary.get("/iso").get_data(as_text=True))
    assert sorted(href.split("?")[0] for href in listed) == sorted(EVERY_REGISTER)
    for href, count in listed.items():
        register = href.split("?")[0]
        texts, instances = expected[register]
        assert count.isdigit() and int(count) > 0, (register, count)
        page = secretary.get(href)
        assert page.status_code == 200, href
        html = page.get_data(as_text=True)
        rows = _rows(html)
        assert len(rows) == int(count), (register, len(rows), count)  # the home page counts what the page lists
        for row in rows:
            assert re.search(r'href="/instances/\d+"', row), (register, row[:300])  # every row links its instance
        assert set(map(int, re.findall(r'href="/instances/(\d+)"', "".join(rows)))) == instances, register
        for text in texts:
            assert text in html, (register, text)

        csv_link, xlsx_link = _export_links(html)
        table, book = _csv(secretary, csv_link), _xlsx(secretary, xlsx_link)
        assert len(table) == int(count) + 1, (register, table)  # the headings and each row
        assert book[0] == table[0] and [r[0] for r in book] == [r[0] for r in table], register
        exported = "\n".join(",".join(r) for r in table)
        for text in texts:
            assert text in exported, (register, text)
        for instance_id in instances:
            assert str(instance_id) in exported, (register, instance_id)
        assert auditor.get(href).status_code == 200, href
        for instance_id in instances:
            assert f"/instances/{instance_id}" in auditor.get(href).get_data(as_text=True), (register, instance_id)

    documents = _csv(secretary, "/iso/documents?format=csv")
    assert [(r[0], r[5], r[6], r[9]) for r in documents[1:]] == [
        ("QT-05", "2", "Đang áp dụng", "41/QĐ-SKHCN"),
        ("QT-05", "1", "Đã bị thay thế", "03/QĐ-SKHCN"),
    ]
    with app.app_context():
        corrective = sa_session().scalars(select(CorrectiveAction)).one()
        assert (corrective.code, corrective.status) == ("KPH-2027-001", "closed")
        db.session.remove()
    history = secretary.get(f"/instances/{action}").get_data(as_text=True)
    assert "Kiểm tra 20 hồ sơ lưu trữ: đủ chữ ký" in history

    # a member of another unit finds none of it
    with app.app_context():
        elsewhere = make_unit(sa_session(), "ubnd-eakar", "UBND xã Ea Kar", (("vp", "Văn phòng UBND"),))
        make_user(sa_session(), "tk_eakar", elsewhere,
                  ("iso_secretary", "unit_leader", "internal_auditor", "department_head"), "vp")  # fmt: skip
        db.session.remove()
    outsider = login(app.test_client(), "tk_eakar")
    theirs = registers_on(outsider.get("/iso").get_data(as_text=True))
    assert sorted(href.split("?")[0] for href in theirs) == sorted(EVERY_REGISTER)
    assert set(theirs.values()) == {"0"}
    assert outsider.get(f"/iso?unit={office.unit_id}").status_code == 404
    for href in listed:
        register = href.split("?")[0]
        assert outsider.get(href).status_code == 404, href  # the demo unit's register does not exist for them
        html = outsider.get(register).get_data(as_text=True)  # their own register: empty
        assert _rows(html) == [], register
        csv_link, xlsx_link = _export_links(html)
        assert len(_csv(outsider, csv_link)) == 1 and len(_xlsx(outsider, xlsx_link)) == 1, register
        for text in expected[register][0]:
            assert text not in html, (register, text)
    for instance_id in every_instance | {policy, objectives}:
        assert outsider.get(f"/instances/{instance_id}").status_code == 404, instance_id
