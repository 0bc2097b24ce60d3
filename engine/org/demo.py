"""A demo organisation: Sở Khoa học và Công nghệ tỉnh Đắk Lắk with its people (password ``demo``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.org.models import Department, RoleAssignment, Unit, User
from engine.org.people import DEPARTMENT_ROLES, PROVINCE_ADMIN, SYSTEM_ADMIN, grant_system_role, hash_password

UNIT_CODE = "skhcn-daklak"
QUALITY_POLICY = (
    "Sở Khoa học và Công nghệ tỉnh Đắk Lắk cam kết giải quyết thủ tục hành chính công khai, minh bạch, "
    "đúng hẹn; lấy sự hài lòng của người dân, doanh nghiệp làm thước đo chất lượng phục vụ; duy trì và "
    "cải tiến liên tục hệ thống quản lý chất lượng theo TCVN ISO 9001:2015."
)

DEPARTMENTS = [
    ("vp", "Văn phòng Sở"),
    ("qlkh", "Phòng Quản lý Khoa học"),
    ("qlcn", "Phòng Quản lý Công nghệ và Chuyên ngành"),
]


@dataclass(frozen=True)
class DemoPerson:
    username: str
    full_name: str
    title: str
    roles: tuple[str, ...]
    department: str | None = None


PEOPLE = [
    DemoPerson("admin", "Quản trị hệ thống", "Quản trị viên", ("admin",)),  # also system_admin, province_admin
    DemoPerson("giamdoc", "Nguyễn Văn Thành", "Giám đốc Sở", ("unit_leader",)),
    DemoPerson("phogiamdoc", "Trần Thị Hồng Nhung", "Phó Giám đốc Sở", ("unit_leader",)),
    DemoPerson("thuky", "Lê Thị Mai Anh", "Thư ký ISO", ("iso_secretary", "specialist"), "vp"),
    DemoPerson("truongphong", "Phạm Văn Hùng", "Chánh Văn phòng", ("department_head",), "vp"),
    DemoPerson("chuyenvien", "Hoàng Thị Lan", "Chuyên viên Văn phòng", ("specialist",), "vp"),
    DemoPerson("chuyenvien2", "Vũ Minh Tuấn", "Chuyên viên Văn phòng", ("specialist",), "vp"),
    DemoPerson("truongphong2", "Đặng Quốc Bảo", "Trưởng phòng Quản lý Khoa học", ("department_head",), "qlkh"),
    DemoPerson("chuyenvien3", "Bùi Thị Thu Hà", "Chuyên viên", ("specialist",), "qlkh"),
    DemoPerson("chuyenvien4", "Ngô Đức Long", "Chuyên viên", ("specialist",), "qlkh"),
    DemoPerson("truongphong3", "Đỗ Thị Hương", "Trưởng phòng Quản lý Công nghệ", ("department_head",), "qlcn"),
    DemoPerson("chuyenvien5", "Lý Văn Phúc", "Chuyên viên", ("specialist",), "qlcn"),
    DemoPerson("chuyenvien6", "Trịnh Thị Ngọc", "Chuyên viên", ("specialist",), "qlcn"),
    DemoPerson("danhgiavien", "Phan Thanh Sơn", "Đánh giá viên nội bộ", ("internal_auditor",)),
]

PASSWORD = "demo"  # noqa: S105 - the documented demo password


def load_demo(session: Session, password: str = PASSWORD) -> tuple[Unit, bool]:
    """Create the demo unit and people; returns (unit, created). Safe to run twice."""
    unit = session.scalar(select(Unit).where(Unit.code == UNIT_CODE))
    if unit is not None:
        return unit, False
    unit = Unit(code=UNIT_CODE, name="Sở Khoa học và Công nghệ tỉnh Đắk Lắk", short_name="SKHCN",
                quality_policy=QUALITY_POLICY, province="dak-lak")  # fmt: skip
    session.add(unit)
    departments = {code: Department(unit=unit, code=code, name=name) for code, name in DEPARTMENTS}
    session.add_all(departments.values())
    session.flush()
    hashed = hash_password(password)  # one slow hash for every demo account
    for person in PEOPLE:
        department = departments.get(person.department) if person.department else None
        user = User(
            username=person.username,
            full_name=person.full_name,
            title=person.title,
            email=f"{person.username}@skhcn.example.vn",
            password_hash=hashed,
            unit=unit,
            department=department,
        )
        session.add(user)
        for role in person.roles:
            scoped = department.id if department and role in DEPARTMENT_ROLES else None
            user.roles.append(RoleAssignment(unit=unit, role=role, department_id=scoped))
        if person.username == "admin":  # the installation's administrator: the shared library, the province calendar
            session.flush()
            grant_system_role(session, user, SYSTEM_ADMIN)
            grant_system_role(session, user, PROVINCE_ADMIN)
    session.commit()
    return unit, True
