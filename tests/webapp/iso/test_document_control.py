"""Control of documented information in the browser: a specialist proposes a procedure with its signed file, the
code is checked, the ISO secretary reviews and returns, the leader returns and then approves, the secretary issues
it; a revision supersedes it. The register lists both issues, filters and exports them, opens the file, and a
second unit sees nothing of the first."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from engine import Engine, ProcessInstance, Unit
from engine.iso.documents import ControlledDocument, DocumentIssue
from tests.conftest import make_user
from tests.iso_flows import PDF, decision, document_draft, issued, open_tasks, review
from tests.webapp.iso.conftest import Office
from webapp.extensions import sa_session


def tasks(office: Office, instance_id: int) -> list[tuple[str, str]]:
    with office.app.app_context():
        return [(t.element_id, t.id) for t in open_tasks(sa_session(), instance_id)]


def only(office: Office, instance_id: int, element_id: str) -> str:
    [(element, task_id)] = tasks(office, instance_id)
    assert element == element_id
    return task_id


def data(office: Office, task_id: str) -> dict[str, Any]:
    with office.app.app_context():
        engine = Engine(sa_session())
        return engine.task_data(engine.task_row(task_id))


def submit(browser: FlaskClient, task_id: str, post: dict[str, Any], status: int = 302) -> str:
    response = browser.post(f"/tasks/{task_id}", data=post, content_type="multipart/form-data")
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def propose(office: Office, author: str, post: dict[str, list[str]]) -> tuple[int, str]:
    """Start a proposal as ``author`` and send the draft with its signed PDF."""
    browser = office.browser(author)
    started = browser.post("/processes/document_control/start", data={"unit_id": office.unit_id})
    task_id = started.headers["Location"].removeprefix("/tasks/")
    with office.app.app_context():
        instance_id = Engine(sa_session()).task_row(task_id).instance_id
    submit(browser, task_id, {**post, "documentFiles": (io.BytesIO(PDF), f"{post['code'][0]}.pdf")})
    return instance_id, task_id


def through(office: Office, instance_id: int, decision_number: str = "12/QĐ-SKHCN") -> None:
    """Review, approval and issue of a proposal that fits the register."""
    submit(office.browser(office.secretary), only(office, instance_id, "review_document"), review("accept"))
    submit(office.browser(office.leader), only(office, instance_id, "approve_document"), decision("approve"))
    submit(office.browser(office.secretary), only(office, instance_id, "issue_document"),
           issued(decision_number, distribution=["vp"]))  # fmt: skip


def export(browser: FlaskClient, query: str = "") -> list[list[str]]:
    response = browser.get(f"/iso/documents?format=csv{query}")
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_a_proposal_goes_round_every_return_and_is_issued_then_a_revision_supersedes_it(demo: Office) -> None:
    author, secretary, leader = (demo.browser(u) for u in ("chuyenvien", "thuky", "giamdoc"))
    instance_id, draft = propose(demo, "chuyenvien", document_draft("QT-05"))
    assert "Xem xét dự thảo tài liệu" in secretary.get(f"/tasks/{only(demo, instance_id, 'review_document')}"
                                                       ).get_data(as_text=True)  # fmt: skip
    check = only(demo, instance_id, "review_document")
    page = secretary.get(f"/tasks/{check}").get_data(as_text=True)
    assert "Tiếp nhận, vào sổ phản ánh" in page and "QT-05.pdf" in page  # the steps' table and the file
    submit(secretary, check, review("return", "Bổ sung biểu mẫu BM-02"))
    again = only(demo, instance_id, "draft_document")
    assert "Lý do: Bổ sung biểu mẫu BM-02" in author.get(f"/tasks/{again}").get_data(as_text=True)
    assert secretary.get(f"/tasks/{again}").status_code == 200  # she sees it, but it is the author's to work
    submit(secretary, again, document_draft("QT-05"), status=403)
    submit(author, again, document_draft("QT-05"))  # the signed file sent first stays with the draft
    submit(secretary, only(demo, instance_id, "review_document"), review("accept"))
    approve = only(demo, instance_id, "approve_document")
    submit(leader, approve, decision("return", "Sửa phạm vi áp dụng cho cả bộ phận một cửa"))
    submit(author, only(demo, instance_id, "draft_document"), document_draft("QT-05"))
    submit(secretary, only(demo, instance_id, "review_document"), review("accept"))
    submit(leader, only(demo, instance_id, "approve_document"), decision("approve"))
    issue = only(demo, instance_id, "issue_document")
    assert "Nhập theo mẫu 12/QĐ-SKHCN" in submit(secretary, issue, issued("QĐ 12"), status=422)
    submit(secretary, issue, issued(distribution=["vp", "qlkh"]))
    with demo.app.app_context():
        assert sa_session().get(ProcessInstance, instance_id).status == "completed"  # type: ignore[union-attr]

    revision, _ = propose(demo, "thuky", document_draft("QT-05", "revise"))
    through(demo, revision, "40/QĐ-SKHCN")
    table = export(leader)
    assert table[0][:7] == ["Mã", "Tên tài liệu", "Loại", "Đơn vị", "Phòng ban", "Lần ban hành", "Trạng thái"]
    assert [(r[0], r[5], r[6], r[9]) for r in table[1:]] == [("QT-05", "2", "Đang áp dụng", "40/QĐ-SKHCN"),
                                                            ("QT-05", "1", "Đã bị thay thế", "12/QĐ-SKHCN")]
    first = dict(zip(table[0], table[2], strict=True))
    assert first["Người soạn thảo"].startswith("Hoàng Thị Lan") and first["Người phê duyệt"].startswith("Nguyễn Văn")
    assert first["Nơi nhận"] == "Văn phòng Sở; Phòng Quản lý Khoa học" and first["Quy trình"] == str(instance_id)
    assert [r[0] for r in export(leader, "&status=superseded")[1:]] == ["QT-05"]
    sheet = load_workbook(io.BytesIO(leader.get("/iso/documents?format=xlsx&status=current").get_data())).active
    assert sheet.max_row == 2 and sheet.cell(row=2, column=6).value == 2

    with demo.app.app_context():
        document = sa_session().scalars(select(ControlledDocument)).one()
        files = [i.files[0]["id"] for i in sa_session().scalars(select(DocumentIssue).order_by(DocumentIssue.number))]
    page = leader.get(f"/iso/documents/{document.id}").get_data(as_text=True)
    assert "Lịch sử sửa đổi" in page and "Rút ngắn thời hạn trả lời còn 10 ngày" in page and "Ban hành lần đầu" in page
    path = f"/iso/documents/{document.id}/files"
    assert f'href="{path}/{files[0]}"' in page and f'href="{path}/{files[1]}"' in page
    download = demo.browser("thuky").get(f"{path}/{files[1]}")  # the ISO secretary reads the whole unit
    assert download.status_code == 200 and download.get_data() == PDF


def test_a_code_already_in_force_goes_back_to_its_drafter_with_what_to_do(demo: Office) -> None:
    first, _ = propose(demo, "thuky", document_draft("QT-05"))
    through(demo, first)
    instance_id, _ = propose(demo, "truongphong", document_draft("QT-05"))
    again = only(demo, instance_id, "draft_document")
    page = demo.browser("truongphong").get(f"/tasks/{again}").get_data(as_text=True)
    assert "Chưa thể trình" in page and "Mã QT-05 đã là tài liệu" in page
    assert data(demo, again)["issueNumber"] == 2
    submit(demo.browser("truongphong"), again, document_draft("QT-06"))
    assert only(demo, instance_id, "review_document")


def test_a_second_unit_keeps_its_own_documents_apart(demo: Office, second: Office) -> None:  # noqa: F811
    ours, _ = propose(demo, "thuky", document_draft("QT-05"))
    through(demo, ours)
    theirs, _ = propose(second, "thuky_bmt", document_draft("QT-05"))
    through(second, theirs, "03/QĐ-UBND")
    their_browser, our_browser = second.browser("thuky_bmt"), demo.browser("thuky")
    assert [(r[0], r[9]) for r in export(their_browser)[1:]] == [("QT-05", "03/QĐ-UBND")]
    assert [(r[0], r[9]) for r in export(our_browser)[1:]] == [("QT-05", "12/QĐ-SKHCN")]
    with demo.app.app_context():
        by_unit = {d.unit_id: d.id for d in sa_session().scalars(select(ControlledDocument))}
        their_file = sa_session().scalars(select(DocumentIssue).where(DocumentIssue.instance_id == theirs)).one()
        their_file_id = their_file.files[0]["id"]
    assert our_browser.get(f"/iso/documents/{by_unit[second.unit_id]}").status_code == 404
    assert our_browser.get(f"/files/{their_file_id}").status_code == 404
    assert their_browser.get(f"/iso/documents/{by_unit[second.unit_id]}").status_code == 200
    assert f"/instances/{ours}" not in their_browser.get("/iso/documents").get_data(as_text=True)


def test_the_document_register_filters_are_checked(app: Flask, demo: Office) -> None:
    browser = demo.browser("thuky")
    assert browser.get("/iso/documents?kind=poem").status_code == 400
    assert browser.get("/iso/documents?status=draft").status_code == 400
    assert browser.get("/iso/documents?department=vp").status_code == 400
    assert browser.get("/iso/documents?year=2027&kind=procedure&status=current").status_code == 200


def test_an_issued_document_is_read_by_those_it_is_issued_to(demo: Office, second: Office) -> None:  # noqa: F811
    """Issued to one department (owned by another): its people and the owning department's read the file, as do
    the unit's leaders, secretaries and auditors; a specialist of a department it was not issued to sees the
    row but not the file, and another unit's people nothing. Issued to every department: the whole unit."""
    with demo.app.app_context():
        unit = sa_session().get(Unit, demo.unit_id)
        make_user(sa_session(), "cv_khong_phong", unit, ("specialist",), None, "Chuyên viên không thuộc phòng")
    limited, _ = propose(demo, "thuky", document_draft("QT-07", distribution=("qlkh",), ownerDepartment="qlcn"))
    submit(demo.browser("thuky"), only(demo, limited, "review_document"), review("accept"))
    submit(demo.browser("giamdoc"), only(demo, limited, "approve_document"), decision("approve"))
    submit(demo.browser("thuky"), only(demo, limited, "issue_document"), issued(distribution=["qlkh"]))
    wide, _ = propose(demo, "thuky", document_draft("QT-08", distribution=("vp", "qlkh", "qlcn")))
    submit(demo.browser("thuky"), only(demo, wide, "review_document"), review("accept"))
    submit(demo.browser("giamdoc"), only(demo, wide, "approve_document"), decision("approve"))
    submit(demo.browser("thuky"), only(demo, wide, "issue_document"), issued(distribution=["vp", "qlkh", "qlcn"]))
    with demo.app.app_context():
        found = sa_session().scalars(select(DocumentIssue))
        issues = {i.document.code: (i.document_id, i.files[0]["id"]) for i in found}

    def reads(who: str, code: str) -> bool:
        document_id, file_id = issues[code]
        browser = demo.browser(who) if who != "thuky_bmt" else second.browser(who)
        page = browser.get(f"/iso/documents/{document_id}")
        download = browser.get(f"/iso/documents/{document_id}/files/{file_id}")
        if download.status_code == 200:
            assert download.get_data() == PDF and f"/iso/documents/{document_id}/files/{file_id}" in page.get_data(
                as_text=True)  # fmt: skip
            return True
        assert download.status_code == 404, (who, code, download.status_code)
        if who == "thuky_bmt":
            assert page.status_code == 404  # another unit's document does not exist for them
        else:
            assert page.status_code == 200 and f"/files/{file_id}" not in page.get_data(as_text=True)
            assert "Tệp của lần ban hành này dành cho các phòng được phân phối." in page.get_data(as_text=True)
        return False

    assert reads("chuyenvien3", "QT-07") and reads("truongphong2", "QT-07")  # the receiving department
    assert reads("chuyenvien5", "QT-07")  # the owning department
    assert reads("giamdoc", "QT-07") and reads("danhgiavien", "QT-07") and reads("thuky", "QT-07")  # the whole unit
    assert not reads("chuyenvien", "QT-07") and not reads("cv_khong_phong", "QT-07")  # not issued to them
    assert not reads("thuky_bmt", "QT-07")  # another unit
    assert reads("chuyenvien", "QT-08") and reads("cv_khong_phong", "QT-08")  # issued to the whole unit
    assert not reads("thuky_bmt", "QT-08")
    other_document, other_file = issues["QT-08"][0], issues["QT-07"][1]
    assert demo.browser("thuky").get(f"/iso/documents/{other_document}/files/{other_file}").status_code == 404
    assert "/iso/documents/" in demo.browser("chuyenvien3").get("/iso/documents").get_data(as_text=True)
