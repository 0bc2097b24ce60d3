"""The internal audit and its corrective actions in people's shoes: each step a form post by the person whose
role it is, every return and reopen loop, evidence files, the registers' pages, filters and exports; a second
unit that runs its own audit and sees nothing of the first."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

import webapp.blueprints.inbox
import webapp.blueprints.iso.corrective_actions
import webapp.blueprints.processes
from engine import ProcessInstance, Unit, User, audits, corrective_actions, sweep_timers
from engine.runtime.models import StartTimer
from tests.conftest import Clock, make_unit, make_user
from tests.webapp.conftest import login
from webapp.extensions import db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PROGRAMME = {"year": "2027", "title": "Chương trình đánh giá nội bộ năm 2027",
             "objectives": "Xác định mức độ phù hợp của hệ thống quản lý chất lượng",
             "scope": "Văn phòng Sở và Phòng Quản lý Khoa học", "criteria": "TCVN ISO 9001:2015",
             "expectedTime": "Tháng 5 năm 2027"}  # fmt: skip
CHECKLIST = [{"clause": "7.5", "question": "Hồ sơ có được kiểm soát, lưu trữ đúng quy định không?"}]


def posted(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested values as the rendered form posts them: ``list[0].key`` names and a ``_rows:list`` count."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            flat[f"_rows:{name}"] = str(len(value))
            for index, row in enumerate(value):
                flat.update(posted(row, f"{name}[{index}]."))
        elif isinstance(value, bool):
            if value:
                flat[name] = "true"
        else:
            flat[name] = value
    return flat


def plan(*rows: tuple[str, str, str], title: str = "Đợt 1 năm 2027") -> dict[str, Any]:
    return posted({"roundTitle": title, "startsOn": "2027-05-10", "endsOn": "2027-05-14",
                   "roundCriteria": "Điều 7.5, 8.5 TCVN ISO 9001:2015", "procedure": "Khai mạc; đánh giá; kết thúc",
                   "auditPlan": [{"department": d, "auditor": a, "auditDate": day} for d, a, day in rows],
                   "checklist": CHECKLIST})  # fmt: skip


def finding(classification: str, description: str) -> dict[str, str]:
    return {"classification": classification, "clause": "7.5.3", "description": description,
            "evidence": "Hồ sơ số 12/2027 không có chữ ký người duyệt"}  # fmt: skip


def result(*found: dict[str, str]) -> dict[str, Any]:
    return posted({"checklist": [{**CHECKLIST[0], "result": "nonconform" if found else "conform", "note": ""}],
                   "findings": list(found), "auditSummary": "Phòng thực hiện cơ bản đúng quy trình."})  # fmt: skip


class Office:
    """People of the demo unit logging in and out of one browser, each working their inbox."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.who: str | None = None

    def as_(self, username: str) -> FlaskClient:
        if self.who != username:
            self.client.post("/logout")
            login(self.client, username)
            self.who = username
        return self.client

    def tasks(self, username: str, name: str) -> list[str]:
        inbox = self.as_(username).get("/").get_data(as_text=True)
        return re.findall(r'href="(/tasks/[^"]+)">' + re.escape(name), inbox)

    def task(self, username: str, name: str) -> str:
        found = self.tasks(username, name)
        assert len(found) == 1, f"{username} has {len(found)} tasks “{name}”"
        return found[0]

    def do(self, username: str, name: str, data: dict[str, Any], *, status: int = 302, **options: Any) -> str:
        url = self.task(username, name)
        response = self.as_(username).post(url, data=data, **options)
        assert response.status_code == status, response.get_data(as_text=True)[:2000]
        return url

    def page(self, username: str, path: str, status: int = 200) -> str:
        response = self.as_(username).get(path)
        assert response.status_code == status, (path, response.status_code)
        return response.get_data(as_text=True)

    def start(self, username: str, key: str, data: dict[str, Any] | None = None) -> Any:
        catalogue = self.page(username, "/processes")
        unit_id = re.search(r'name="unit_id" value="(\d+)"', catalogue).group(1)  # type: ignore[union-attr]
        return self.as_(username).post(f"/processes/{key}/start", data={"unit_id": unit_id, **(data or {})})


@pytest.fixture
def office(app: Flask, client: FlaskClient, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Office]:
    """The demo unit with a second internal auditor, its pages on the tests' clock (a Monday in November 2026)."""
    for module in (webapp.blueprints.processes, webapp.blueprints.inbox, webapp.blueprints.iso.corrective_actions):
        monkeypatch.setattr(module, "now", lambda: clock.now)
    with app.app_context():
        unit = db.session.scalars(select(Unit).where(Unit.code == "skhcn-daklak")).one()
        make_user(db.session, "danhgiavien2", unit, ("internal_auditor",), full_name="Võ Thị Kiểm")
        db.session.remove()
    yield Office(client)


def audited_round(office: Office) -> None:
    """A programme and a plan, each returned once and then approved, and both departments audited."""
    assert office.start("thuky", "internal_audit").status_code == 302
    draft = office.page("thuky", office.task("thuky", "Lập chương trình đánh giá nội bộ"))
    assert 'name="year"' in draft and 'value="2027"' in draft  # the year comes filled in
    office.do("thuky", "Lập chương trình đánh giá nội bộ", {**PROGRAMME, "title": ""}, status=422)
    office.do("thuky", "Lập chương trình đánh giá nội bộ", PROGRAMME)
    office.do("giamdoc", "Phê duyệt chương trình đánh giá", {"programmeDecision": "return",
                                                             "programmeReturnReason": ""}, status=422)  # fmt: skip
    office.do("giamdoc", "Phê duyệt chương trình đánh giá",
              {"programmeDecision": "return", "programmeReturnReason": "Bổ sung Phòng Quản lý Công nghệ"})
    redraft = office.page("thuky", office.task("thuky", "Lập chương trình đánh giá nội bộ"))
    assert "Bổ sung Phòng Quản lý Công nghệ" in redraft and "Văn phòng Sở và Phòng Quản lý Khoa học" in redraft
    office.do("thuky", "Lập chương trình đánh giá nội bộ", {**PROGRAMME, "scope": "Cả ba phòng của Sở"})
    review = office.page("giamdoc", office.task("giamdoc", "Phê duyệt chương trình đánh giá"))
    assert "Cả ba phòng của Sở" in review
    office.do("giamdoc", "Phê duyệt chương trình đánh giá", {"programmeDecision": "approve"})

    plan_page = office.page("thuky", office.task("thuky", "Lập kế hoạch đánh giá chi tiết"))
    assert "Phan Thanh Sơn" in plan_page and "Võ Thị Kiểm" in plan_page  # the auditors to choose from
    office.do("thuky", "Lập kế hoạch đánh giá chi tiết", plan(("vp", "chuyenvien", "2027-05-11")), status=422)
    office.do("thuky", "Lập kế hoạch đánh giá chi tiết", plan(("vp", "danhgiavien", "2027-05-11")))
    office.do("giamdoc", "Phê duyệt kế hoạch đánh giá",
              {"planDecision": "return", "planReturnReason": "Thiếu Phòng Quản lý Khoa học"})
    office.do("thuky", "Lập kế hoạch đánh giá chi tiết",
              plan(("vp", "danhgiavien", "2027-05-11"), ("qlkh", "danhgiavien2", "2027-05-12")))
    review = office.page("giamdoc", office.task("giamdoc", "Phê duyệt kế hoạch đánh giá"))
    assert "Phòng Quản lý Khoa học" in review and "Võ Thị Kiểm" in review  # names, not codes
    office.do("giamdoc", "Phê duyệt kế hoạch đánh giá", {"planDecision": "approve"})

    assert office.tasks("danhgiavien", "Đánh giá phòng, ghi nhận phát hiện") != []
    form = office.page("danhgiavien", office.task("danhgiavien", "Đánh giá phòng, ghi nhận phát hiện"))
    assert "Đánh giá tại Văn phòng Sở" in form and CHECKLIST[0]["question"] in form
    office.do("danhgiavien", "Đánh giá phòng, ghi nhận phát hiện",
              {**result(finding("nonconformity", "Hồ sơ lưu trữ thiếu chữ ký duyệt"),
                        finding("improvement", "Nên số hóa sổ theo dõi văn bản đến")),
               "evidenceFiles": [(io.BytesIO(PDF), "bien-ban-danh-gia-vp.pdf", "application/pdf")]},
              content_type="multipart/form-data")  # fmt: skip
    office.do("danhgiavien2", "Đánh giá phòng, ghi nhận phát hiện",
              result(finding("observation", "Biểu mẫu cũ vẫn còn được dùng")))


def test_an_internal_audit_from_programme_to_conclusion_over_http(office: Office) -> None:
    audited_round(office)

    findings = office.page("danhgiavien", "/iso/audits/findings")
    for text in ("ĐG2027/1-01", "Hồ sơ lưu trữ thiếu chữ ký duyệt", "Cơ hội cải tiến", "Điểm lưu ý",
                 "bien-ban-danh-gia-vp.pdf", "Chờ kết luận"):
        assert text in findings, text
    file_url = re.search(r'href="(/files/[^"]+)">bien-ban-danh-gia-vp.pdf', findings).group(1)  # type: ignore[union-attr]
    assert office.as_("danhgiavien").get(file_url).data == PDF

    conclusion = office.page("giamdoc", office.task("giamdoc", "Kết luận đánh giá"))
    assert "Văn phòng Sở" in conclusion and "Phòng Quản lý Khoa học" in conclusion
    office.do("giamdoc", "Kết luận đánh giá", {"conclusionDecision": "close",
                                               "conclusion": "Văn phòng khắc phục trong tháng 6/2027"})  # fmt: skip

    findings = office.page("thuky", "/iso/audits/findings")
    assert "KPH-2027-001" in findings and "Đang khắc phục" in findings and "Đã ghi nhận" in findings
    programmes = office.page("giamdoc", "/iso/audits")
    assert "Cả ba phòng" not in programmes and "Chương trình đánh giá nội bộ năm 2027" in programmes
    assert "Đã kết luận" in programmes and "Văn phòng Sở, Phòng Quản lý Khoa học" in programmes
    notices = office.page("truongphong", "/notices")
    assert "Kết luận Đợt 1 năm 2027: Văn phòng Sở có 1 sự không phù hợp" in notices


def test_the_nonconformity_is_corrected_reopened_and_closed_over_http(office: Office) -> None:
    audited_round(office)
    office.do("giamdoc", "Kết luận đánh giá", {"conclusionDecision": "close", "conclusion": "Khắc phục trong tháng 6"})

    assert office.tasks("truongphong2", "Khắc phục tức thời (sửa chữa)") == []  # another department's head
    correction = office.page("truongphong", office.task("truongphong", "Khắc phục tức thời (sửa chữa)"))
    assert "KPH-2027-001" in correction and "Hồ sơ lưu trữ thiếu chữ ký duyệt" in correction
    office.do("truongphong", "Khắc phục tức thời (sửa chữa)",
              {"correction": "Bổ sung chữ ký vào hồ sơ số 12/2027", "correctionDate": "2027-05-20"})
    office.do("truongphong", "Phân tích nguyên nhân gốc rễ",
              {"causeMethod": "five_whys", "rootCause": "Quy trình chưa có bước kiểm tra chữ ký trước khi lưu"})
    office.do("truongphong", "Lập kế hoạch hành động khắc phục", posted({"actions": [
        {"action": "Sửa quy trình lưu trữ", "owner": "Chánh Văn phòng", "dueDate": "2027-06-30"}]}))
    registered = office.page("thuky", "/iso/corrective-actions")
    assert "30/06/2027" in registered and "Đang thực hiện" in registered and "Phạm Văn Hùng" in registered
    implement = {**posted({"actions": [{"result": "Đã ban hành quy trình sửa đổi", "done": True}]}),
                 "implementation": "Quy trình sửa đổi đã ban hành, phổ biến",
                 "evidenceFiles": [(io.BytesIO(PDF), "quy-trinh-sua-doi.pdf", "application/pdf")]}  # fmt: skip
    office.do("truongphong", "Thực hiện hành động khắc phục", implement, content_type="multipart/form-data")

    assert office.tasks("truongphong", "Kiểm tra xác nhận hiệu lực") == []  # who acted does not verify
    office.do("danhgiavien", "Kiểm tra xác nhận hiệu lực",
              {"verification": "not_effective", "verificationNote": "Vẫn còn 3 hồ sơ thiếu chữ ký"})
    assert "Mở lại" in office.page("thuky", "/iso/corrective-actions?status=reopened")
    cause = office.page("truongphong", office.task("truongphong", "Phân tích nguyên nhân gốc rễ"))
    assert "Vẫn còn 3 hồ sơ thiếu chữ ký" in cause
    office.do("truongphong", "Phân tích nguyên nhân gốc rễ",
              {"causeMethod": "fishbone", "rootCause": "Cán bộ lưu trữ chưa được hướng dẫn quy trình mới"})
    office.do("truongphong", "Lập kế hoạch hành động khắc phục", posted({"actions": [
        {"action": "Tập huấn cán bộ lưu trữ", "owner": "Chánh Văn phòng", "dueDate": "2027-07-15"}]}))
    office.do("truongphong", "Thực hiện hành động khắc phục",
              {**posted({"actions": [{"result": "Đã tập huấn ngày 10/7", "done": True}]}),
               "implementation": "Đã tập huấn 5 cán bộ"})  # fmt: skip
    office.do("thuky", "Kiểm tra xác nhận hiệu lực",
              {"verification": "effective", "verificationNote": "Kiểm tra 20 hồ sơ: đủ chữ ký"})

    closed = office.page("giamdoc", "/iso/corrective-actions?status=closed")
    assert "KPH-2027-001" in closed and "Có hiệu lực" in closed and "Mở lại 1 lần" in closed
    findings = office.page("thuky", "/iso/audits/findings?classification=nonconformity")
    assert "Đã khắc phục" in findings
    audit_link = re.search(r'href="(/instances/\d+)">#', findings).group(1)  # type: ignore[union-attr]
    assert "Đã hoàn thành" in office.page("thuky", audit_link)


def test_a_further_audit_round_is_planned_again_over_http(office: Office) -> None:
    audited_round(office)
    office.do("giamdoc", "Kết luận đánh giá", {"conclusionDecision": "further_audit",
                                               "conclusion": "Đánh giá bổ sung Phòng Quản lý Công nghệ"})  # fmt: skip
    office.do("thuky", "Lập kế hoạch đánh giá chi tiết",
              plan(("qlcn", "danhgiavien2", "2027-06-15"), title="Đợt 2 năm 2027"))
    office.do("giamdoc", "Phê duyệt kế hoạch đánh giá", {"planDecision": "approve"})
    office.do("danhgiavien2", "Đánh giá phòng, ghi nhận phát hiện", result())
    office.do("giamdoc", "Kết luận đánh giá", {"conclusionDecision": "close", "conclusion": "Kết thúc năm 2027"})

    rounds = office.page("thuky", "/iso/audits")
    assert "Đợt 1 năm 2027" in rounds and "Đợt 2 năm 2027" in rounds and "Đánh giá bổ sung" in rounds
    assert "Phòng Quản lý Công nghệ và Chuyên ngành" in rounds


def test_the_registers_filter_and_export_what_they_show(office: Office) -> None:
    audited_round(office)
    office.do("giamdoc", "Kết luận đánh giá", {"conclusionDecision": "close", "conclusion": "Khắc phục trong tháng 6"})

    page = office.page("thuky", "/iso/audits/findings?department=qlkh&classification=observation&year=2027")
    assert "Biểu mẫu cũ vẫn còn được dùng" in page and "Hồ sơ lưu trữ thiếu chữ ký duyệt" not in page
    exported = office.as_("thuky").get("/iso/audits/findings?department=vp&export=csv")
    assert exported.headers["Content-Disposition"] == 'attachment; filename="phat-hien-danh-gia-noi-bo.csv"'
    rows = list(csv.reader(io.StringIO(exported.get_data().decode("utf-8-sig"))))
    assert rows[0][:3] == ["Mã", "Đơn vị", "Năm"] and len(rows) == 3
    assert {r[5] for r in rows[1:]} == {"Sự không phù hợp", "Cơ hội cải tiến"}
    assert "KPH-2027-001" in {r[13] for r in rows[1:]} and "bien-ban-danh-gia-vp.pdf" in rows[1][11] + rows[2][11]
    workbook = office.as_("thuky").get("/iso/corrective-actions?export=xlsx")
    sheet = load_workbook(io.BytesIO(workbook.get_data())).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[1][0] == "KPH-2027-001" and values[1][4] == "Đánh giá nội bộ" and values[1][5] == "ĐG2027/1-01"
    programmes = office.as_("giamdoc").get("/iso/audits?export=xlsx&year=2027")
    assert load_workbook(io.BytesIO(programmes.get_data())).active.cell(row=2, column=3).value == PROGRAMME["title"]

    head = office.page("truongphong2", "/iso/audits/findings")  # the head of Phòng Quản lý Khoa học
    assert "Biểu mẫu cũ vẫn còn được dùng" in head and "Hồ sơ lưu trữ thiếu chữ ký duyệt" not in head
    assert office.page("truongphong2", "/iso/corrective-actions").count("KPH-2027-001") == 0
    office.page("chuyenvien", "/iso/audits/findings", status=403)
    office.page("chuyenvien", "/iso/corrective-actions", status=403)
    assert "/iso/audits" not in office.page("chuyenvien", "/iso")  # no link to a register they may not read
    assert 'href="/iso/audits?unit=skhcn-daklak"' in office.page("danhgiavien", "/iso")


@pytest.mark.parametrize(("query", "status", "named"), [
    ("classification=major", 400, "major"), ("status=done", 400, "done"), ("year=27", 400, "27"),
    ("export=pdf", 400, "pdf"), ("department=khong-co", 400, "khong-co"), ("unit=khong-co", 404, "khong-co"),
])  # fmt: skip
def test_a_filter_naming_nothing_is_answered_with_what_is_wrong(office: Office, query: str, status: int,
                                                                named: str) -> None:  # fmt: skip
    page = office.page("thuky", f"/iso/audits/findings?{query}", status=status)
    assert named in page


def test_the_yearly_start_reaches_every_unit_and_each_sees_only_its_own(app: Flask, office: Office) -> None:
    with app.app_context():
        other = make_unit(db.session, "ubnd-phuong-tan-an", "UBND phường Tân An", (("vp", "Văn phòng"),))
        for name, roles, department in (("thuky_ta", ("iso_secretary",), "vp"), ("chutich_ta", ("unit_leader",), None),
                                        ("dgv_ta", ("internal_auditor",), None),
                                        ("truongvp_ta", ("department_head",), "vp")):
            make_user(db.session, name, other, roles, department)
        yearly = (StartTimer.state == "waiting", StartTimer.element_id == "start_yearly")
        timer = db.session.scalars(select(StartTimer).where(*yearly)).one()
        assert sweep_timers(db.session, timer.due_at + timedelta(minutes=1)).started == 2
        db.session.remove()

    assert len(office.tasks("thuky_ta", "Lập chương trình đánh giá nội bộ")) == 1
    assert len(office.tasks("thuky", "Lập chương trình đánh giá nội bộ")) == 1
    theirs = office.task("thuky_ta", "Lập chương trình đánh giá nội bộ")
    office.page("thuky", theirs, status=404)  # another unit's task does not exist for the demo unit
    office.do("thuky_ta", "Lập chương trình đánh giá nội bộ", {**PROGRAMME, "scope": "Văn phòng phường"})
    office.do("chutich_ta", "Phê duyệt chương trình đánh giá", {"programmeDecision": "approve"})
    office.do("thuky_ta", "Lập kế hoạch đánh giá chi tiết", plan(("vp", "dgv_ta", "2027-05-11")))
    office.do("chutich_ta", "Phê duyệt kế hoạch đánh giá", {"planDecision": "approve"})
    office.do("dgv_ta", "Đánh giá phòng, ghi nhận phát hiện", result(finding("nonconformity", "Sổ hộ tịch ghi sai")))
    office.do("chutich_ta", "Kết luận đánh giá", {"conclusionDecision": "close", "conclusion": "Khắc phục ngay"})
    assert len(office.tasks("truongvp_ta", "Khắc phục tức thời (sửa chữa)")) == 1
    assert office.tasks("truongphong", "Khắc phục tức thời (sửa chữa)") == []

    mine = office.page("thuky_ta", "/iso/audits/findings")
    assert "Sổ hộ tịch ghi sai" in mine and "UBND phường Tân An" in mine and "Sở Khoa học" not in mine
    assert "KPH-2027-001" in office.page("thuky_ta", "/iso/corrective-actions")
    assert "Sổ hộ tịch ghi sai" not in office.page("thuky", "/iso/audits/findings")
    office.page("thuky_ta", "/iso/audits/findings?unit=skhcn-daklak", status=404)
    office.page("thuky", "/iso/corrective-actions?unit=ubnd-phuong-tan-an", status=404)
    assert "Văn phòng phường" not in office.page("thuky", "/iso/audits?export=csv")


def test_a_nonconformity_found_outside_an_audit_is_reported_from_the_catalogue(office: Office) -> None:
    start_form = {"source": "complaint", "department": "qlkh", "requirement": "Quy trình cấp phép, bước 3",
                  "description": "Công dân phản ánh hồ sơ trả kết quả trễ hạn 5 ngày",
                  "detectedOn": "2027-03-02"}  # fmt: skip
    refused = office.start("truongphong2", "corrective_action", {**start_form, "description": ""})
    assert refused.status_code == 422
    assert office.start("truongphong2", "corrective_action", start_form).status_code == 302
    unit_id = re.search(r'name="unit_id" value="(\d+)"', office.page("thuky", "/processes")).group(1)  # type: ignore[union-attr]
    assert "Hành động khắc phục sự không phù hợp" not in office.page("chuyenvien", "/processes")
    specialist = office.as_("chuyenvien").post("/processes/corrective_action/start", data={"unit_id": unit_id,
                                                                                           **start_form})  # fmt: skip
    assert specialist.status_code == 403

    registered = office.page("thuky", "/iso/corrective-actions?source=complaint")
    assert "KPH-2027-001" in registered and "Khiếu nại" in registered and "Chờ khắc phục" in registered
    correction = office.page("truongphong2", office.task("truongphong2", "Khắc phục tức thời (sửa chữa)"))
    assert "trả kết quả trễ hạn 5 ngày" in correction
    with office.client.application.app_context():
        row = db.session.scalars(select(corrective_actions.CorrectiveAction)).one()
        instance = db.session.get(ProcessInstance, row.instance_id)
        reporter = db.session.scalars(select(User).where(User.username == "truongphong2")).one()
        assert instance is not None and instance.started_by_id == reporter.id == row.reported_by_id
        assert audits.may_read(db.session, reporter)
        db.session.remove()
