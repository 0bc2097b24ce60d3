"""The dossier pages over HTTP: the staff's list and dossier page with who may see which, the official forms
as pages and as PDF (read back as text), the public lookup with its throttle, and the satisfaction rating."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

from engine import Unit
from engine.dossiers.dossiers import Dossier
from tests.conftest import make_unit, make_user
from tests.webapp.conftest import basic, login
from tests.webapp.test_dossiers import APPLICANT, Now, receive, work
from webapp.extensions import db

MONDAY = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)  # Monday 08:30 in Hà Nội


@pytest.fixture
def web_clock(monkeypatch: pytest.MonkeyPatch) -> Now:
    now = Now(MONDAY)
    for module in ("webapp.blueprints.api", "webapp.blueprints.inbox", "webapp.views", "webapp.blueprints.dossiers"):
        monkeypatch.setattr(f"{module}.now", now, raising=False)
    return now


def code_of(app: Flask, instance_id: int) -> str:
    with app.app_context():
        code = db.session.scalar(select(Dossier.code).where(Dossier.instance_id == instance_id))
        assert code is not None
        return code


def returned_dossier(client: FlaskClient, web_clock: Now) -> int:
    """A dossier of the X-ray declaration worked on time to its returned result."""
    iid = int(receive(client)["id"])
    web_clock.advance(hours=1)
    work(client, iid, "chuyenvien", "check", checkDecision="accept")
    web_clock.advance(hours=1)
    work(client, iid, "truongphong3", "assign", specialist="chuyenvien5")
    web_clock.advance(hours=2)
    work(client, iid, "chuyenvien5", "appraise", appraisalDecision="propose", appraisalResult="Đủ điều kiện cấp.")
    work(client, iid, "truongphong3", "review", reviewDecision="approve")
    work(client, iid, "giamdoc", "approve", approvalDecision="approve", resultNumber="15/GXN-SKHCN")
    work(client, iid, "chuyenvien", "return_result", receivedBy="Nguyễn Văn A")
    return iid


def as_user(app: Flask, username: str) -> FlaskClient:
    return login(app.test_client(), username)


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:500])
    return response.get_data(as_text=True)


def test_the_leader_lists_filters_exports_and_opens_a_dossier(app: Flask, client: FlaskClient, web_clock: Now) -> None:
    done = returned_dossier(client, web_clock)
    waiting = int(receive(client, applicantName="Bệnh viện Thiện Hạnh", applicantPhone="0905111222")["id"])
    done_code, waiting_code = code_of(app, done), code_of(app, waiting)
    leader = as_user(app, "giamdoc")

    listed = page(leader, "/dossiers")
    assert done_code in listed and waiting_code in listed
    returned = page(leader, "/dossiers?status=10")
    assert done_code in returned and waiting_code not in returned
    early = page(leader, "/dossiers?timing=early")
    assert done_code in early and waiting_code not in early
    unfinished = page(leader, "/dossiers?timing=open")
    assert waiting_code in unfinished and done_code not in unfinished
    assert waiting_code not in page(leader, "/dossiers?from=2026-12-08")  # received on the 7th
    assert waiting_code in page(leader, "/dossiers?from=2026-12-07&to=2026-12-07")
    assert done_code not in page(leader, "/dossiers?procedure=1.000000")

    exported = leader.get("/dossiers?format=csv&status=10")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r[0] for r in rows[1:]] == [done_code]
    assert "Đã trả kết quả" in rows[1]

    shown = page(leader, f"/dossiers/{done_code}")
    assert "Phòng khám Đa khoa Hòa Bình" in shown and "0912345678" in shown
    assert "10 – Đã trả kết quả" in shown
    assert "Phiếu khai báo thiết bị X-quang chẩn đoán trong y tế (01 bản chính)" in shown  # the document ticked
    assert "Thẩm định hồ sơ" in shown and "Lý Văn Phúc" in shown and "Đỗ Thị Hương" in shown
    assert f"/dossiers/{done_code}/forms/control-slip.pdf" in shown


@pytest.mark.parametrize("query", ["status=11", "status=x", "timing=soon", "from=07/12/2026",
                                   "from=2026-12-08&to=2026-12-07"])
def test_a_filter_that_cannot_be_read_is_refused_by_name(app: Flask, query: str) -> None:
    answer = as_user(app, "giamdoc").get(f"/dossiers?{query}")
    assert answer.status_code == 400


def test_who_sees_which_dossier(app: Flask, client: FlaskClient, web_clock: Now) -> None:
    iid = int(receive(client)["id"])
    web_clock.advance(hours=1)
    work(client, iid, "chuyenvien", "check", checkDecision="accept")
    work(client, iid, "truongphong3", "assign", specialist="chuyenvien5")
    code = code_of(app, iid)
    with app.app_context():
        other = make_unit(db.session, code="ubnd-eakar", name="UBND xã Ea Kar", departments=(("vp", "Văn phòng"),))
        make_user(db.session, "lanhdao-eakar", other, ("unit_leader", "admin", "iso_secretary"), "vp")

    for username in ("giamdoc", "thuky", "admin", "chuyenvien", "chuyenvien2", "truongphong", "truongphong3",
                     "chuyenvien5"):  # fmt: skip
        viewer = as_user(app, username)
        assert code in page(viewer, "/dossiers"), username
        page(viewer, f"/dossiers/{code}")
        page(viewer, f"/dossiers/{code}/forms/control-slip")
    with app.app_context():
        own_id = db.session.scalar(select(Unit.id).where(Unit.short_name == "SKHCN"))
    assert code in page(as_user(app, "giamdoc"), f"/dossiers?unit={own_id}")
    assert as_user(app, "lanhdao-eakar").get(f"/dossiers?unit={own_id}").status_code == 404
    for username in ("truongphong2", "chuyenvien3", "chuyenvien6", "lanhdao-eakar"):
        viewer = as_user(app, username)
        assert code not in page(viewer, "/dossiers"), username
        page(viewer, f"/dossiers/{code}", 404)
        page(viewer, f"/dossiers/{code}/forms/control-slip", 404)
        assert viewer.get(f"/dossiers/{code}/forms/receipt.pdf").status_code == 404


def test_a_coordinating_department_sees_the_dossier_it_gave_an_opinion_on(app: Flask, client: FlaskClient,
                                                                         web_clock: Now) -> None:  # fmt: skip
    iid = int(receive(client, key="procedure_radiation_officer_certificate")["id"])
    web_clock.advance(hours=1)
    work(client, iid, "chuyenvien", "check", checkDecision="accept")
    work(client, iid, "truongphong3", "assign", specialist="chuyenvien5")
    code = code_of(app, iid)
    page(as_user(app, "truongphong2"), f"/dossiers/{code}", 404)
    work(client, iid, "chuyenvien5", "appraise", appraisalDecision="coordinate", coordinationDepartments=["qlkh"],
         coordinationRequest="Đề nghị cho ý kiến.")  # fmt: skip
    page(as_user(app, "truongphong2"), f"/dossiers/{code}")
    page(as_user(app, "chuyenvien3"), f"/dossiers/{code}", 404)


def pdf_text(response: Any) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(response.data))
    return "\n".join(p.extract_text() or "" for p in reader.pages)


def test_the_control_slip_and_the_receipt_as_pages_and_pdf(app: Flask, client: FlaskClient, web_clock: Now) -> None:
    iid = returned_dossier(client, web_clock)
    code = code_of(app, iid)
    desk = as_user(app, "chuyenvien")

    slip = page(desk, f"/dossiers/{code}/forms/control-slip")
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in slip and "Độc lập - Tự do - Hạnh phúc" in slip
    assert "Sở Khoa học và Công nghệ tỉnh Đắk Lắk" in slip and "Mẫu số 06" in slip

    text = pdf_text(desk.get(f"/dossiers/{code}/forms/control-slip.pdf"))
    flat = " ".join(text.split())
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in flat
    assert "Độc lập - Tự do - Hạnh phúc" in flat
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in flat
    assert code in flat and "Phòng khám Đa khoa Hòa Bình" in flat
    for step in ("Kiểm tra tính đầy đủ, hợp lệ của hồ sơ", "Thẩm định hồ sơ", "Lý Văn Phúc", "Phòng Quản lý Công nghệ"):
        assert step in flat, step
    assert "Sớm hạn" in flat or "Trước hạn" in flat  # the leader approved early

    receipt = " ".join(pdf_text(desk.get(f"/dossiers/{code}/forms/receipt.pdf")).split())
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in receipt
    assert code in receipt and "0912345678" in receipt and "Hoàng Thị Lan" in receipt  # who received it
    assert "14/12/2026" in receipt  # the appointment: five working days on


def test_an_unknown_form_is_not_found(app: Flask, client: FlaskClient, web_clock: Now) -> None:
    code = code_of(app, int(receive(client)["id"]))
    desk = as_user(app, "chuyenvien")
    assert desk.get(f"/dossiers/{code}/forms/invoice").status_code == 404
    assert desk.get(f"/dossiers/{code}/forms/invoice.pdf").status_code == 404
    assert desk.get("/dossiers/SKHCN-000000-0000").status_code == 404


def test_the_desk_finds_the_procedures_it_may_receive(app: Flask) -> None:
    desk = as_user(app, "chuyenvien")
    shown = page(desk, "/dossiers/receive")
    assert "/processes/procedure_xray_declaration/start?unit_id=" in shown
    assert "/dossiers/receive" in page(desk, "/dossiers")
    assert "/processes/procedure_xray_declaration/start" not in page(as_user(app, "giamdoc"), "/dossiers/receive")


def test_the_code_carries_the_units_electronic_code(app: Flask, client: FlaskClient, web_clock: Now) -> None:
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.short_name == "SKHCN"))
        assert unit is not None
        unit.electronic_code = "000.00.12.H15"
        db.session.commit()
    assert code_of(app, int(receive(client)["id"])) == "000.00.12.H15-261207-0001"


# --- the public lookup --------------------------------------------------------------------------


def look_up(client: FlaskClient, code: str, phone: str) -> Any:
    return client.post("/lookup", data={"code": code, "phone": phone})


def test_the_public_lookup_needs_both_code_and_phone(app: Flask, client: FlaskClient, web_clock: Now) -> None:
    iid = int(receive(client)["id"])
    web_clock.advance(hours=1)
    work(client, iid, "chuyenvien", "check", checkDecision="accept")
    code = code_of(app, iid)
    citizen = app.test_client()

    found = look_up(citizen, code, "0912 345 678")
    shown = found.get_data(as_text=True)
    assert found.status_code == 200
    assert "Được tiếp nhận" in shown and "Kiểm tra tính đầy đủ, hợp lệ của hồ sơ" in shown
    assert "Phòng khám Đa khoa Hòa Bình" not in shown and "Hoàng Thị Lan" not in shown  # no personal data
    wrong_phone, wrong_code = look_up(citizen, code, "0912345679"), look_up(citizen, code[:-1] + "9", "0912345678")
    assert wrong_phone.status_code == wrong_code.status_code == 404
    message = "có mã hồ sơ và số điện thoại này; hãy kiểm tra lại cả hai"
    assert message in wrong_phone.get_data(as_text=True) and message in wrong_code.get_data(as_text=True)
    assert code not in wrong_phone.get_data(as_text=True).replace(f'value="{code}"', "")
    assert look_up(citizen, "", "0912345678").status_code == 400


def test_guessing_codes_is_throttled(app: Flask, client: FlaskClient, web_clock: Now) -> None:
    code = code_of(app, int(receive(client)["id"]))
    guesser = app.test_client()
    answers = [look_up(guesser, f"SKHCN-261207-{n:04d}", "0900000000").status_code for n in range(2, 12)]
    assert answers == [404] * 9 + [429]
    locked = look_up(guesser, code, APPLICANT["applicantPhone"])
    assert locked.status_code == 429 and "Retry-After" in locked.headers  # even the right pair, while locked
    assert "Mới đăng ký" not in locked.get_data(as_text=True)


def test_a_rating_once_the_result_is_returned(app: Flask, client: FlaskClient, web_clock: Now) -> None:
    open_code = code_of(app, int(receive(client)["id"]))
    citizen = app.test_client()
    early = citizen.post("/lookup/rating", data={"code": open_code, "phone": "0912345678", "rating": "3"})
    assert early.status_code == 409
    iid = returned_dossier(client, web_clock)
    code = code_of(app, iid)
    shown = look_up(citizen, code, "0912345678").get_data(as_text=True)
    assert 'action="/lookup/rating"' in shown

    assert citizen.post("/lookup/rating", data={"code": code, "phone": "0912345678", "rating": "7"}).status_code == 400
    wrong = citizen.post("/lookup/rating", data={"code": code, "phone": "0999999999", "rating": "1"})
    assert wrong.status_code == 404
    rated = citizen.post("/lookup/rating", data={"code": code, "phone": "0912345678", "rating": "3",
                                                 "comment": "Cán bộ hướng dẫn tận tình."})  # fmt: skip
    assert rated.status_code == 200
    again = citizen.post("/lookup/rating", data={"code": code, "phone": "0912345678", "rating": "1"})
    assert again.status_code == 409
    with app.app_context():
        kept = db.session.scalar(select(Dossier).where(Dossier.code == code))
        assert kept is not None and (kept.rating, kept.rating_comment) == (3, "Cán bộ hướng dẫn tận tình.")
    staff = page(as_user(app, "giamdoc"), f"/dossiers/{code}")
    assert "Rất hài lòng" in staff and "Cán bộ hướng dẫn tận tình." in staff



def test_the_pdf_embeds_dejavu_sans_whatever_fontconfig_has(app: Flask, client: FlaskClient, web_clock: Now) -> None:
    code = code_of(app, int(receive(client)["id"]))
    made = as_user(app, "chuyenvien").get(f"/dossiers/{code}/forms/control-slip.pdf")
    reader = PdfReader(io.BytesIO(made.data))
    fonts = {str(font.get_object()["/BaseFont"]) for p in reader.pages
             for font in (p["/Resources"].get("/Font") or {}).values()}  # fmt: skip
    assert fonts and all("DejaVu-Sans" in name for name in fonts), fonts
    assert reader.pages[0].mediabox.width > reader.pages[0].mediabox.height  # the control slip is landscape


def test_without_its_font_the_pdf_is_refused_with_the_reason(
    app: Flask, client: FlaskClient, web_clock: Now, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    code = code_of(app, int(receive(client)["id"]))
    monkeypatch.setattr("webapp.blueprints.dossiers.FONT_DIR", tmp_path)
    refused = as_user(app, "chuyenvien").get(f"/dossiers/{code}/forms/receipt.pdf")
    assert refused.status_code == 503
    assert "DejaVuSans.ttf" in refused.get_data(as_text=True) and "fonts-dejavu-core" in refused.get_data(as_text=True)


def flat_pdf(client: FlaskClient, url: str) -> str:
    return " ".join(pdf_text(client.get(url)).split())


def test_the_letters_to_the_applicant_carry_what_was_decided(app: Flask, client: FlaskClient, web_clock: Now) -> None:
    asked = int(receive(client)["id"])
    web_clock.advance(hours=1)
    work(client, asked, "chuyenvien", "check", checkDecision="supplement",
         supplementRequest="Bổ sung bản sao giấy phép hoạt động khám bệnh, chữa bệnh.")  # fmt: skip
    refused = int(receive(client, applicantName="Cơ sở Nha khoa Ánh Dương", applicantPhone="0905000111")["id"])
    work(client, refused, "chuyenvien", "check", checkDecision="refuse", refusalReason="Không thuộc thẩm quyền của Sở.")
    desk = as_user(app, "chuyenvien")
    asked_code, refused_code = code_of(app, asked), code_of(app, refused)

    letter = flat_pdf(desk, f"/dossiers/{asked_code}/forms/supplement.pdf")
    assert "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ" in letter and "Mẫu số 02" in letter
    assert "Bổ sung bản sao giấy phép hoạt động khám bệnh, chữa bệnh." in letter and asked_code in letter
    assert "Hoàng Thị Lan" in letter  # who issues it
    refusal = flat_pdf(desk, f"/dossiers/{refused_code}/forms/refusal.pdf")
    assert "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ" in refusal and "Không thuộc thẩm quyền của Sở." in refusal
    assert "Cơ sở Nha khoa Ánh Dương" in refusal

    assert "forms/refusal" not in page(desk, f"/dossiers/{asked_code}")  # only the forms the dossier has
    assert "forms/supplement" in page(desk, f"/dossiers/{asked_code}")
    assert desk.get(f"/dossiers/{asked_code}/forms/refusal.pdf").status_code == 404
    assert desk.get(f"/dossiers/{refused_code}/forms/apology").status_code == 404


def test_the_apology_letter_gives_the_new_date(app: Flask, client: FlaskClient, web_clock: Now) -> None:
    from engine import sweep_timers

    iid = int(receive(client)["id"])
    web_clock.advance(hours=1)
    work(client, iid, "chuyenvien", "check", checkDecision="accept")
    work(client, iid, "truongphong3", "assign", specialist="chuyenvien5")
    web_clock.moment = datetime(2026, 12, 14, 2, 0, tzinfo=UTC)  # Monday 09:00: less than one working day left
    with app.app_context():
        sweep_timers(db.session, web_clock.moment)
        db.session.commit()
    work(client, iid, "truongphong3", "apology", newAppointmentDate="2026-12-16",
         apologyReason="Cần kiểm tra thực tế thiết bị tại cơ sở.")  # fmt: skip
    code = code_of(app, iid)
    letter = flat_pdf(as_user(app, "truongphong3"), f"/dossiers/{code}/forms/apology.pdf")
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in letter and "Mẫu số 04" in letter
    assert "Cần kiểm tra thực tế thiết bị tại cơ sở." in letter and "16/12/2026" in letter and "14/12/2026" in letter


def test_the_stopping_notice(app: Flask, client: FlaskClient, web_clock: Now) -> None:
    iid = int(receive(client)["id"])
    web_clock.advance(hours=1)
    work(client, iid, "chuyenvien", "check", checkDecision="accept")
    work(client, iid, "truongphong3", "assign", specialist="chuyenvien5")
    code = code_of(app, iid)
    specialist = as_user(app, "chuyenvien5")
    assert specialist.get(f"/dossiers/{code}/forms/stop").status_code == 404
    work(client, iid, "chuyenvien5", "appraise", appraisalDecision="stop", stopReason="Tổ chức xin rút hồ sơ.")
    notice = flat_pdf(specialist, f"/dossiers/{code}/forms/stop.pdf")
    assert "THÔNG BÁO DỪNG GIẢI QUYẾT HỒ SƠ" in notice and "Mẫu số 05" in notice
    assert "Tổ chức xin rút hồ sơ." in notice and "Lý Văn Phúc" in notice


def test_the_tracking_logbook_of_a_period(app: Flask, client: FlaskClient, web_clock: Now) -> None:
    from openpyxl import load_workbook

    first = code_of(app, int(receive(client)["id"]))
    web_clock.advance(days=1)
    second = code_of(app, int(receive(client, applicantName="Bệnh viện Thiện Hạnh", applicantPhone="0905111222",
                                      applicantAddress="")["id"]))  # fmt: skip
    with app.app_context():
        other = make_unit(db.session, code="ubnd-eakar", name="UBND xã Ea Kar", departments=(("vp", "Văn phòng"),))
        make_user(db.session, "motcua-eakar", other, ("specialist",), "vp")
    elsewhere = code_of(app, int(receive(client, desk="motcua-eakar")["id"]))
    leader = as_user(app, "giamdoc")

    made = leader.get("/dossiers/logbook?from=2026-12-07&to=2026-12-31")
    assert made.status_code == 200 and made.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(made.data)).active
    assert sheet is not None
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][:5] == ["Số TT", "Mã hồ sơ", "Thủ tục hành chính", "Số lượng hồ sơ", "Người nộp hồ sơ"]
    assert [r[1] for r in rows[1:]] == [first, second]  # in the order received; another unit's is not in it
    assert elsewhere not in str(rows)
    assert rows[1][5] == "12 Lê Duẩn, Buôn Ma Thuột, 0912345678" and rows[1][7] == "07/12/2026 08:30"
    only_second = leader.get("/dossiers/logbook?from=2026-12-08&to=2026-12-08")
    assert [r[1].value for r in list(load_workbook(io.BytesIO(only_second.data)).active.iter_rows())[1:]] == [second]  # type: ignore[union-attr]
    assert leader.get("/dossiers/logbook").status_code == 400
    assert leader.get("/dossiers/logbook?from=2026-12-07").status_code == 400


def test_the_phone_matches_by_its_digits_however_it_was_written(app: Flask, client: FlaskClient,
                                                               web_clock: Now) -> None:  # fmt: skip
    code = code_of(app, int(receive(client)["id"]))  # the receipt form takes digits only
    citizen = app.test_client()
    assert look_up(citizen, code, "0912.345.678").status_code == 200
    assert look_up(citizen, code, "0912-345-678").status_code == 200
    assert look_up(citizen, code, "091234567").status_code == 404


def test_results_are_numbered_per_type_and_year_at_approval(app: Flask, client: FlaskClient, web_clock: Now) -> None:
    first, second = returned_dossier(client, web_clock), returned_dossier(client, web_clock)
    with app.app_context():
        numbers = [db.session.scalar(select(Dossier.result_number).where(Dossier.instance_id == i))
                   for i in (first, second)]  # fmt: skip
    assert numbers == ["01/GXN-SKHCN", "02/GXN-SKHCN"]  # NĐ 30/2020: number/type-issuer, leading zero
    shown = page(as_user(app, "giamdoc"), f"/dossiers/{code_of(app, second)}")
    assert "Số 02/GXN-SKHCN" in shown

    iid = int(receive(client, key="procedure_radiation_officer_certificate")["id"])
    work(client, iid, "chuyenvien", "check", checkDecision="accept")
    work(client, iid, "truongphong3", "assign", specialist="chuyenvien5")
    work(client, iid, "chuyenvien5", "appraise", appraisalDecision="propose", appraisalResult="Đủ điều kiện.")
    work(client, iid, "truongphong3", "review", reviewDecision="approve")
    work(client, iid, "giamdoc", "approve", approvalDecision="approve")
    task = [t for t in client.get("/api/v1/tasks", headers=basic("chuyenvien")).json["claimable"]  # type: ignore[index]
            if t["instance_id"] == iid and t["element_id"] == "return_result"]  # fmt: skip
    form = as_user(app, "chuyenvien").get(f"/tasks/{task[0]['id']}").get_data(as_text=True)
    assert "01/CC-SKHCN" in form  # its own series: certificates; the desk sees the number it hands over


def test_the_control_slip_as_a_workbook(app: Flask, client: FlaskClient, web_clock: Now) -> None:
    from openpyxl import load_workbook

    code = code_of(app, returned_dossier(client, web_clock))
    made = as_user(app, "truongphong3").get(f"/dossiers/{code}/forms/control-slip.xlsx")
    assert made.status_code == 200
    sheet = load_workbook(io.BytesIO(made.data)).active
    assert sheet is not None
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][:3] == ["Tên cơ quan, bộ phận giải quyết", "Bước", "Thời điểm giao"]
    appraisal = next(r for r in rows if r[1] == "Thẩm định hồ sơ")
    assert appraisal[0] == "Phòng Quản lý Công nghệ và Chuyên ngành" and appraisal[4] == "Đỗ Thị Hương"
    assert appraisal[5] == "Lý Văn Phúc" and appraisal[8] == "Trước hạn"
    assert as_user(app, "chuyenvien3").get(f"/dossiers/{code}/forms/control-slip.xlsx").status_code == 404


def test_an_official_form_is_in_vietnamese_for_a_reader_of_english(app: Flask, client: FlaskClient,
                                                                   web_clock: Now) -> None:  # fmt: skip
    code = code_of(app, returned_dossier(client, web_clock))
    desk = as_user(app, "chuyenvien")
    desk.post("/language/en", data={"next": "/"})
    assert "Dossiers" in page(desk, "/dossiers")  # the pages are in English for this reader
    slip = page(desk, f"/dossiers/{code}/forms/control-slip")
    assert "phiếu kiểm soát quá trình giải quyết hồ sơ" in slip.lower() and "CỘNG HÒA XÃ HỘI CHỦ NGHĨA" in slip
    flat = " ".join(pdf_text(desk.get(f"/dossiers/{code}/forms/receipt.pdf")).split())
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in flat
    book = openpyxl.load_workbook(io.BytesIO(desk.get(f"/dossiers/{code}/forms/control-slip.xlsx").data))
    headings = [cell.value for cell in next(book.active.iter_rows(max_row=1))]
    assert "Thẩm định hồ sơ" not in headings and any("Bước" in str(h) for h in headings), headings
