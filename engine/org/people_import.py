"""Importing a unit's people and their roles from a spreadsheet (XLSX) or a CSV file.

**The sheet.** The first sheet of the workbook (or the CSV file, UTF-8, separated by commas or
semicolons) has a header row, then one person per row. Columns, in any order (a heading is the key, its
Vietnamese name, or the template's ``Tên đăng nhập (username)``):

============  ==================  ======================================================================
key           Vietnamese          what
============  ==================  ======================================================================
username      Tên đăng nhập       required; lower-case letters without accents, digits, ``. _ - @``
full_name     Họ và tên           required
title         Chức danh           optional
email         Thư điện tử         optional; notices are copied there
department    Mã phòng ban        optional; the code of an open department of the unit, created beforehand
roles         Vai trò             optional; role codes or names separated by ``;`` or ``,``
                                  (``specialist; department_head``, ``iso_secretary``,
                                  ``department_head:qlkh`` for another department)
password      Mật khẩu ban đầu    optional; at least 8 characters; empty: one is generated and shown once
============  ==================  ======================================================================

Other columns (a row number, notes) are ignored and the report says so. Empty rows are skipped.

**All or nothing.** Every row is checked first; if any row is refused, nothing is imported and the report
lists each refused row with its row number, column and reason. Departments are not created by the sheet:
a code the unit does not have refuses the row (a typo must not make a department). A person whose user
name exists already is refused, not changed: the people's pages change existing accounts.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.errors import EngineError
from engine.org import audit
from engine.org.admin import Fields, add_person, administered_unit, new_person, save
from engine.org.models import Department, Unit, User
from engine.org.people import ROLES

MAX_ROWS = 300  # each person costs one deliberately slow password hash (about 0.1–0.2 s): a sheet takes under a minute
MAX_UNPACKED_BYTES = 50 * 1024 * 1024  # an XLSX is a zip: refuse one that unpacks to more than this
HEADER_SEARCH_ROWS = 10  # a title above the header row is allowed


@dataclass(frozen=True)
class Column:
    key: str
    heading_vi: str
    required: bool
    aliases: tuple[str, ...]

    @property
    def heading(self) -> str:
        return f"{self.heading_vi} ({self.key})"


COLUMNS: tuple[Column, ...] = (
    Column("username", "Tên đăng nhập", True, ("tài khoản", "user name", "login")),
    Column("full_name", "Họ và tên", True, ("họ tên", "full name", "name")),
    Column("title", "Chức danh", False, ("chức vụ", "job title")),
    Column("email", "Thư điện tử", False, ("e-mail", "email address")),
    Column("department", "Mã phòng ban", False, ("mã phòng", "phòng ban", "department code")),
    Column("roles", "Vai trò", False, ("role",)),
    Column("password", "Mật khẩu ban đầu", False, ("mật khẩu", "initial password")),
)


class RowProblem:
    """Why one row of the sheet is refused: its row number as the spreadsheet shows it, the column, and an
    English template translated where it is shown (``scripts/i18n-update`` finds it by this name)."""

    def __init__(self, row: int, column: str, template: str, **params: Any) -> None:
        self.row = row
        self.column = column
        self.template = template
        self.params = params

    @property
    def message(self) -> str:
        return self.template % self.params if self.params else self.template

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}

    def __repr__(self) -> str:
        return f"RowProblem({self.row}, {self.column!r}, {self.message!r})"


@dataclass
class ImportedRow:
    row: int
    username: str
    full_name: str
    department: str | None
    roles: list[str]
    password: str | None = None  # the generated initial password, once imported (None: the sheet's own)


@dataclass
class ImportReport:
    filename: str
    rows: list[ImportedRow] = field(default_factory=list)  # the rows found right
    problems: list[RowProblem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    imported: bool = False

    @property
    def refused_rows(self) -> list[int]:
        return sorted({p.row for p in self.problems})

    def as_dict(self) -> dict[str, Any]:
        return {
            "filename": self.filename, "imported": self.imported, "people": len(self.rows) if self.imported else 0,
            "checked_rows": len(self.rows) + len(self.refused_rows), "refused_rows": self.refused_rows,
            "problems": [p.as_dict() for p in self.problems], "ignored_columns": self.ignored_columns,
            "rows": [{"row": r.row, "username": r.username, "full_name": r.full_name, "department": r.department,
                      "roles": r.roles, **({"password": r.password} if r.password else {})} for r in self.rows],
        }  # fmt: skip


class ImportRefused(EngineError):
    """Some rows of the sheet are refused; nothing was imported. ``report`` lists them."""

    http_status = 422

    def __init__(self, report: ImportReport) -> None:
        super().__init__("%(count)s row(s) of the sheet are refused, so nobody was imported; correct them and "
                         "import the sheet again.", count=len(report.refused_rows))  # fmt: skip
        self.report = report


# --- reading the file ---------------------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()


def _xlsx_rows(content: bytes) -> Iterator[list[str]]:
    import openpyxl  # reads the workbook's XML through defusedxml (installed with it): no entity expansion

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
                raise EngineError("The workbook unpacks to more than %(mb)s MB; keep only the people's sheet.",
                                  mb=MAX_UNPACKED_BYTES // (1024 * 1024))  # fmt: skip
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except EngineError:
        raise
    except Exception:  # a damaged or disguised file: openpyxl raises many kinds
        raise EngineError("The file could not be read as an Excel workbook (.xlsx); save it again from Excel or "
                          "LibreOffice as .xlsx, or as CSV UTF-8.") from None  # fmt: skip
    try:
        sheet = workbook.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield [_cell_text(v) for v in values]
    finally:
        workbook.close()


def _csv_rows(content: bytes) -> Iterator[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise EngineError("The CSV file is not UTF-8 text; in Excel choose 'CSV UTF-8', or upload the .xlsx "
                          "workbook itself.") from None  # fmt: skip
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    try:
        for values in csv.reader(io.StringIO(text), delimiter=delimiter):
            yield [v.strip() for v in values]
    except csv.Error as error:
        raise EngineError("The CSV file could not be read (%(reason)s); check its quotes.", reason=str(error)) from None


def read_rows(filename: str, content: bytes) -> Iterator[list[str]]:
    """The cells of the file's first sheet as text, row by row."""
    name = filename.lower()
    if content.startswith(b"PK"):
        return _xlsx_rows(content)
    if name.endswith((".xls", ".ods")) or content.startswith(b"\xd0\xcf\x11\xe0"):
        raise EngineError("Old Excel (.xls) and OpenDocument files are not read; save the sheet as .xlsx or as "
                          "CSV UTF-8.")  # fmt: skip
    if name.endswith(".xlsx"):
        raise EngineError("The file could not be read as an Excel workbook (.xlsx); save it again from Excel or "
                          "LibreOffice as .xlsx, or as CSV UTF-8.")  # fmt: skip
    return _csv_rows(content)


def _heading_key(heading: str) -> str | None:
    text = " ".join(heading.split()).casefold()
    inside = re.search(r"\(([^()]*)\)\s*$", text)
    if inside and any(c.key == inside.group(1).strip() for c in COLUMNS):
        return inside.group(1).strip()
    for column in COLUMNS:
        if text in (column.key, column.key.replace("_", " "), column.heading_vi.casefold(), *column.aliases):
            return column.key
    return None


@dataclass
class _Sheet:
    columns: dict[int, str]  # cell index -> column key
    ignored: list[str]
    rows: list[tuple[int, dict[str, str]]]  # spreadsheet row number, values by key


def parse_sheet(filename: str, content: bytes) -> _Sheet:
    """The header and the people's rows; ``EngineError`` when the file is not a sheet of people."""
    if not content:
        raise EngineError("The file is empty; fill in the template and upload it again.")
    header: dict[int, str] | None = None
    ignored: list[str] = []
    rows: list[tuple[int, dict[str, str]]] = []
    for number, cells in enumerate(read_rows(filename, content), start=1):
        if header is None:
            keys = {i: _heading_key(c) for i, c in enumerate(cells) if c}
            found = {i: k for i, k in keys.items() if k}
            if len(set(found.values())) >= 2:
                header = found
                ignored = [cells[i] for i, k in keys.items() if k is None]
                duplicated = sorted({k for k in found.values() if list(found.values()).count(k) > 1})
                if duplicated:
                    raise EngineError("The column '%(column)s' appears twice in the header row; keep one.",
                                      column=duplicated[0])  # fmt: skip
            elif number >= HEADER_SEARCH_ROWS:
                break
            continue
        if not any(cells):
            continue
        rows.append((number, {key: cells[i] if i < len(cells) else "" for i, key in header.items()}))
        if len(rows) > MAX_ROWS:
            raise EngineError("The sheet has more than %(n)s people; split it into several files.", n=MAX_ROWS)
    if header is None:
        raise EngineError("No header row found in the first %(n)s rows; keep the template's header row "
                          "(username, full_name, ...).", n=HEADER_SEARCH_ROWS)  # fmt: skip
    for column in COLUMNS:
        if column.required and column.key not in header.values():
            raise EngineError("The sheet has no column '%(column)s'; keep the template's header row.",
                              column=column.heading)  # fmt: skip
    if not rows:
        raise EngineError("The sheet has a header row but nobody below it; add one person per row.")
    return _Sheet(columns=header, ignored=ignored, rows=rows)


# --- checking and importing ------------------------------------------------------------------------------------


def _check(session: Session, unit: Unit, sheet: _Sheet, filename: str) -> tuple[ImportReport, list[Any]]:
    report = ImportReport(filename=filename, ignored_columns=sheet.ignored)
    seen: dict[str, int] = {}
    accepted: list[Any] = []
    for number, values in sheet.rows:
        fields = Fields(values)
        person, roles, password, generated = new_person(session, unit, fields)
        problems = [RowProblem(number, p.field, p.template, **p.params) for p in fields.problems]
        if person.username and person.username in seen:
            problems.append(RowProblem(number, "username", "The user name '%(value)s' is also in row %(first)s; each "
                                                           "person once.", value=person.username,
                                       first=seen[person.username]))  # fmt: skip
        seen.setdefault(person.username, number)
        if problems:
            report.problems += problems
            continue
        department = session.get(Department, person.department_id) if person.department_id else None
        report.rows.append(ImportedRow(number, person.username, person.full_name,
                                       department.code if department else None, [r.code for r in roles],
                                       password if generated else None))  # fmt: skip
        accepted.append((person, roles, password))
    return report, accepted


def check_import(session: Session, unit_id: int, filename: str, content: bytes, *, actor: User) -> ImportReport:
    """What importing the sheet would do, changing nothing: the rows found right and each refused row."""
    unit = administered_unit(session, actor, unit_id)
    report, _ = _check(session, unit, parse_sheet(filename, content), filename)
    for row in report.rows:
        row.password = None  # a dry run's generated passwords would not be the ones given
    return report


def import_people(session: Session, unit_id: int, filename: str, content: bytes, *, actor: User,
                  now: datetime) -> ImportReport:  # fmt: skip
    """Create every person of the sheet with their roles, or nobody (``ImportRefused``, 422, with the report)
    if any row is refused. The report gives the generated initial passwords, once."""
    unit = administered_unit(session, actor, unit_id)
    report, accepted = _check(session, unit, parse_sheet(filename, content), filename)
    if report.problems:
        raise ImportRefused(report)
    for person, roles, password in accepted:
        add_person(session, person, roles, password, actor=actor, now=now, via="import")
    audit.record(session, "people.imported", actor=actor, now=now, unit_id=unit.id, subject_kind="import",
                 subject_name=filename[:300],
                 details={"filename": filename[:300], "people": len(accepted),
                          "usernames": [person.username for person, _, _ in accepted],
                          "ignored_columns": report.ignored_columns})  # fmt: skip
    save(session)
    report.imported = True
    return report


# --- the template -------------------------------------------------------------------------------------------------

INSTRUCTIONS = (
    ("username", "Bắt buộc. Chữ thường không dấu, chữ số, dấu chấm, gạch ngang, gạch dưới hoặc @; không trùng "
                 "với tài khoản đã có. Ví dụ: nguyenvana."),
    ("full_name", "Bắt buộc. Họ và tên đầy đủ, có dấu."),
    ("title", "Không bắt buộc. Ví dụ: Chuyên viên, Trưởng phòng."),
    ("email", "Không bắt buộc. Thông báo của hệ thống được gửi bản sao tới địa chỉ này."),
    ("department", "Không bắt buộc. Mã một phòng ban của đơn vị (xem trang Phòng ban); phòng ban phải được tạo "
                   "trước khi nhập."),
    ("roles", "Không bắt buộc. Mã hoặc tên vai trò, cách nhau bằng dấu chấm phẩy. Vai trò Lãnh đạo phòng và "
              "Chuyên viên gắn với phòng ban của người đó; ghi department_head:MÃ_PHÒNG để gắn với phòng khác."),
    ("password", "Không bắt buộc. Ít nhất 8 ký tự. Để trống: hệ thống tạo mật khẩu và hiển thị một lần sau khi "
                 "nhập. Người dùng đổi mật khẩu ở lần đăng nhập đầu."),
)


def template_xlsx(session: Session, unit_id: int, *, actor: User) -> bytes:
    """A workbook to fill in: the people's sheet with its header row, and the instructions with the unit's
    departments and the roles."""
    import openpyxl
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    unit = administered_unit(session, actor, unit_id)
    book = openpyxl.Workbook()
    people = book.active
    assert people is not None
    people.title = "Nhân sự"
    people.append([c.heading for c in COLUMNS])
    for cell in people[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDEFG", (22, 28, 24, 30, 18, 36, 18), strict=True):
        people.column_dimensions[letter].width = width
    people.freeze_panes = "A2"
    guide = book.create_sheet("Hướng dẫn")
    guide.append(["Cột", "Cách ghi"])
    for key, text in INSTRUCTIONS:
        guide.append([next(c.heading for c in COLUMNS if c.key == key), text])
    guide.append([])
    guide.append(["Phòng ban của đơn vị", unit.name])
    open_departments = [d for d in unit.departments if d.is_active]
    for department in open_departments:
        guide.append([department.code, department.name])
    if not open_departments:
        guide.append(["", "Đơn vị chưa có phòng ban: tạo phòng ban trước khi nhập."])
    guide.append([])
    guide.append(["Vai trò", "Tên"])
    for code, role in ROLES.items():
        guide.append([code, role.name_vi])
    for cell in guide[1]:
        cell.font = Font(bold=True)
    guide.column_dimensions["A"].width = 28
    guide.column_dimensions["B"].width = 100
    listed = ",".join(d.code for d in open_departments)
    if open_departments and len(listed) <= 250:  # Excel's limit for a list written in the rule itself
        choices = DataValidation(type="list", formula1=f'"{listed}"',
                                 allow_blank=True)  # fmt: skip
        choices.error = "Mã phòng ban không có trong đơn vị"
        people.add_data_validation(choices)
        choices.add(f"E2:E{MAX_ROWS + 1}")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

