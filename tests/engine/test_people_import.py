"""Importing people and roles from a sheet: the report of each refused row, all or nothing, the template, and
who may import. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import EngineError, NotAllowed, NotFound
from engine.org import admin, people_import
from engine.org.audit import AuditEntry
from engine.org.models import Unit, User
from engine.org.people import authenticate
from engine.org.people_import import ImportRefused, check_import, import_people, parse_sheet, template_xlsx
from tests.conftest import Clock, People, make_user
from tests.engine.test_org_admin import org_rows

HEADER = ["STT", "Tên đăng nhập (username)", "Họ và tên (full_name)", "Chức danh (title)", "Thư điện tử (email)",
          "Mã phòng ban (department)", "Vai trò (roles)", "Mật khẩu ban đầu (password)"]  # fmt: skip


def xlsx(rows: list[list[Any]], header: list[str] = HEADER) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def unit_admin(session: Session, unit: Unit) -> User:
    return make_user(session, "quantri", unit, ("admin",), full_name="Quản trị đơn vị")


def test_the_report_names_every_refused_row_column_and_reason_and_nothing_is_imported(
        session: Session, unit_admin: User, unit: Unit, clock: Clock) -> None:  # fmt: skip
    rows = [
        [1, "nguyenvana", "Nguyễn Văn A", "Chuyên viên", "a@skhcn.gov.vn", "vp", "specialist", "mat-khau-a1"],
        [2, "tranthib", "Trần Thị B", "", "", "phong-khong-co", "", ""],
        [3, "NguyenVanA", "Nguyễn Văn A (trùng)", "", "", "", "", ""],
        [4, "lethic", "Lê Thị C", "", "le.thi.c@", "", "", ""],
        [5, "phamvand", "Phạm Văn D", "", "", "qlkh", "chuyen_vien; department_head", ""],
        [6, "thuky", "Lê Thị Mai Anh", "", "", "", "", ""],
        [7, "hoangvane", "", "", "", "", "", ""],
        [None, None, None, None, None, None, None, None],
        [9, "vuthif", "Vũ Thị F", "", "", "", "", "1234"],
        [10, "ngovang", "Ngô Văn G", "", "", "", "department_head:khong-co", ""],
    ]
    before = org_rows(session)
    with pytest.raises(ImportRefused) as refused:
        import_people(session, unit.id, "nhan-su.xlsx", xlsx(rows), actor=unit_admin, now=clock.now)
    session.rollback()
    report = refused.value.report
    assert [(p.row, p.column, p.message) for p in report.problems] == [
        (3, "department", "The unit has no open department with the code 'phong-khong-co'; create it first or check "
                          "the code."),
        (4, "username", "The user name 'nguyenvana' is also in row 2; each person once."),
        (5, "email", "'le.thi.c@' is not an e-mail address; write it as name@agency.gov.vn."),
        (6, "roles", "'chuyen_vien' is not a role; use one of: iso_secretary, unit_leader, department_head, "
                     "specialist, internal_auditor, admin."),
        (7, "username", "The user name 'thuky' is already taken; choose another (e.g. add a digit)."),
        (8, "full_name", "Fill in this field."),
        (10, "password", "A password needs at least 8 characters."),
        (11, "roles", "The unit has no open department with the code 'khong-co'; create it first or check the code."),
    ]  # fmt: skip
    assert report.refused_rows == [3, 4, 5, 6, 7, 8, 10, 11] and [r.row for r in report.rows] == [2]
    assert report.ignored_columns == ["STT"]
    assert str(refused.value).startswith("8 row(s) of the sheet are refused")
    assert org_rows(session) == before  # not even the right row


def test_a_clean_sheet_is_checked_then_imported_with_roles_and_passwords(
        session: Session, unit_admin: User, unit: Unit, clock: Clock) -> None:  # fmt: skip
    rows = [
        [1, "nguyenvana", "Nguyễn Văn A", "Trưởng phòng", "a@skhcn.gov.vn", "qlkh", "Lãnh đạo phòng", "mat-khau-a1"],
        [2, "tranthib", "Trần Thị B", "Chuyên viên", "", "QLKH", "specialist, iso_secretary", ""],
        [3, 12345, "Số Mười Hai", "", "", "", "", ""],
    ]
    before = org_rows(session)
    checked = check_import(session, unit.id, "nhan-su.xlsx", xlsx(rows), actor=unit_admin)
    assert checked.problems == [] and not checked.imported and [r.username for r in checked.rows] == [
        "nguyenvana", "tranthib", "12345"]
    assert all(r.password is None for r in checked.rows)
    assert org_rows(session) == before  # a check changes nothing

    report = import_people(session, unit.id, "nhan-su.xlsx", xlsx(rows), actor=unit_admin, now=clock.now)

    assert report.imported and [r.roles for r in report.rows] == [
        ["department_head:qlkh"], ["iso_secretary", "specialist:qlkh"], []]
    assert report.rows[0].password is None and report.rows[1].password and report.rows[2].password
    people = {u.username: u for u in session.scalars(select(User).where(User.unit_id == unit.id))}
    assert authenticate(session, "nguyenvana", "mat-khau-a1") is not None
    assert authenticate(session, "tranthib", report.rows[1].password or "") is not None
    assert people["tranthib"].department is not None and people["tranthib"].department.code == "qlkh"
    assert people["tranthib"].must_change_password
    actions = [(e.action, e.subject_name, e.actor_id) for e in session.scalars(select(AuditEntry)
                                                                               .order_by(AuditEntry.id))]
    assert actions == [("person.created", "Nguyễn Văn A (nguyenvana)", unit_admin.id),
                       ("person.created", "Trần Thị B (tranthib)", unit_admin.id),
                       ("person.created", "Số Mười Hai (12345)", unit_admin.id),
                       ("people.imported", "nhan-su.xlsx", unit_admin.id)]  # fmt: skip
    again = pytest.raises(ImportRefused, import_people, session, unit.id, "nhan-su.xlsx", xlsx(rows[:1]),
                          actor=unit_admin, now=clock.now)  # fmt: skip
    assert [p.column for p in again.value.report.problems] == ["username"]


def test_a_csv_file_with_semicolons_and_vietnamese_headings_imports(
        session: Session, unit_admin: User, unit: Unit, clock: Clock) -> None:  # fmt: skip
    text = ("Họ và tên;Tên đăng nhập;Mã phòng;Vai trò\n"
            "Đinh Thị Hà;dinhthiha;vp;Chuyên viên\n\n"
            '"Lý, Văn Khoa";lyvankhoa;;unit_leader\n')  # fmt: skip
    report = import_people(session, unit.id, "nhan-su.csv", text.encode("utf-8-sig"), actor=unit_admin,
                           now=clock.now)  # fmt: skip
    assert [(r.row, r.username, r.full_name, r.roles) for r in report.rows] == [
        (2, "dinhthiha", "Đinh Thị Hà", ["specialist:vp"]), (4, "lyvankhoa", "Lý, Văn Khoa", ["unit_leader"])]


@pytest.mark.parametrize(("filename", "content", "reason"), [
    ("nhan-su.xls", b"\xd0\xcf\x11\xe0rest", "Old Excel (.xls)"),
    ("nhan-su.xlsx", b"not a workbook", "could not be read as an Excel workbook"),
    ("nhan-su.xlsx", b"PK\x03\x04broken", "could not be read as an Excel workbook"),
    ("nhan-su.csv", b"full_name;username\n\xc1nh;anh\n", "not UTF-8"),  # Windows-1258, as Excel's plain CSV
    ("nhan-su.csv", b"", "The file is empty"),
    ("nhan-su.csv", b"full_name,title\nA,B\n", "no column 'T\u00ean \u0111\u0103ng nh\u1eadp (username)'"),
    ("nhan-su.csv", b"a,b\n1,2\n", "No header row"),
    ("nhan-su.csv", b"username,full_name\n", "nobody below it"),
    ("nhan-su.csv", b"username,full_name,username\na,A,a\n", "appears twice"),
])  # fmt: skip
def test_files_that_are_not_a_sheet_of_people_are_refused_with_the_reason(
        session: Session, unit_admin: User, unit: Unit, clock: Clock, filename: str, content: bytes,
        reason: str) -> None:  # fmt: skip
    before = org_rows(session)
    with pytest.raises(EngineError) as refused:
        import_people(session, unit.id, filename, content, actor=unit_admin, now=clock.now)
    session.rollback()
    assert reason in str(refused.value) and refused.value.http_status == 400
    assert org_rows(session) == before


def test_a_sheet_too_long_is_refused_before_any_row_is_checked(
        session: Session, unit_admin: User, unit: Unit, clock: Clock,
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(people_import, "MAX_ROWS", 2)
    rows = "".join(f"u{i},Người {i}\n" for i in range(3))
    with pytest.raises(EngineError, match="more than 2 people"):
        import_people(session, unit.id, "x.csv", f"username,full_name\n{rows}".encode(), actor=unit_admin,
                      now=clock.now)  # fmt: skip
    exactly = "".join(f"u{i},Người {i}\n" for i in range(2))
    assert len(check_import(session, unit.id, "x.csv", f"username,full_name\n{exactly}".encode(),
                            actor=unit_admin).rows) == 2  # fmt: skip


def test_the_template_lists_the_columns_departments_and_roles_and_reads_back(
        session: Session, unit_admin: User, unit: Unit, clock: Clock) -> None:  # fmt: skip
    content = template_xlsx(session, unit.id, actor=unit_admin)
    book = openpyxl.load_workbook(io.BytesIO(content))
    people, guide = book.worksheets
    assert [c.value for c in people[1]] == HEADER[1:]
    guide_text = [tuple(c.value for c in row) for row in guide.iter_rows()]
    assert ("qlkh", "Phòng Quản lý Khoa học") in guide_text and ("iso_secretary", "Thư ký ISO") in guide_text
    people.append(["mailan", "Mai Lan", "", "", "qlcn", "specialist", ""])
    filled = io.BytesIO()
    book.save(filled)
    report = import_people(session, unit.id, "mau.xlsx", filled.getvalue(), actor=unit_admin, now=clock.now)
    assert [(r.username, r.roles) for r in report.rows] == [("mailan", ["specialist:qlcn"])]
    with pytest.raises(EngineError, match="nobody below it"):
        parse_sheet("mau.xlsx", content)


def test_only_the_units_administrators_import_or_get_the_template(
        session: Session, unit: Unit, people: People, users: dict[str, User], clock: Clock) -> None:  # fmt: skip
    sheet = xlsx([[1, "xamnhap", "Xâm Nhập", "", "", "", "admin", "mat-khau-xn"]])
    before = org_rows(session)
    for actor, error in ((people.outsider_member, NotFound), (users["thuky"], NotAllowed), (people.nobody, NotFound)):
        with pytest.raises(error):
            import_people(session, unit.id, "x.xlsx", sheet, actor=actor, now=clock.now)
        with pytest.raises(error):
            check_import(session, unit.id, "x.xlsx", sheet, actor=actor)
        with pytest.raises(error):
            template_xlsx(session, unit.id, actor=actor)
        session.rollback()
    assert org_rows(session) == before
    assert admin.administered_units(session, people.outsider_member) == [people.other_unit]
