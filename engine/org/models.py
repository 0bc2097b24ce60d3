"""Tables of the organisation: units, departments, people and their roles, notices, calendar days."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base


class Unit(Base):
    """An agency or office (đơn vị) that runs its own quality management system."""

    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    short_name: Mapped[str] = mapped_column(String(40), default="")
    quality_policy: Mapped[str] = mapped_column(Text, default="")
    # The unit's electronic identification code (mã định danh điện tử, e.g. 000.00.01.H22) that document
    # exchange (edXML) and dossier codes carry; None until the administrators enter it.
    electronic_code: Mapped[str | None] = mapped_column(String(40), unique=True)
    # The province the unit belongs to (a code of ``engine.org.provinces.PROVINCES``); "" not entered yet.
    province: Mapped[str] = mapped_column(String(40), default="", server_default="")
    # Administrators of the unit may deploy new versions without the leader's approval (change control).
    allow_direct_deploy: Mapped[bool] = mapped_column(default=False, server_default=false())
    departments: Mapped[list[Department]] = relationship(back_populates="unit", order_by="Department.id")

    def department_choices(self) -> list[dict[str, str]]:
        """The unit's active departments as process forms list them (``valuesKey: departments``)."""
        return [{"label": d.name, "value": d.code} for d in self.departments if d.is_active is not False]


class Department(Base):
    """A department (phòng ban) inside a unit."""

    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("unit_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(300))
    # A closed department keeps its history but takes no new people and is offered to no process form.
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())
    unit: Mapped[Unit] = relationship(back_populates="departments")


class User(Base):
    """A person's account. ``unit_id`` is the unit whose administrators manage the account (None: an
    account above the units, such as an installation's system administrator); the person may hold roles
    in other units too. Accounts are never deleted: a leaver is deactivated, and history keeps the name."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    is_active: Mapped[bool] = mapped_column(default=True)
    # The password was set by an administrator: the person is asked to choose their own at log-in.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    unit: Mapped[Unit | None] = relationship()
    department: Mapped[Department | None] = relationship()
    roles: Mapped[list[RoleAssignment]] = relationship(back_populates="user", cascade="all, delete-orphan")
    locale: Mapped[str | None] = mapped_column(String(8))  # the language chosen (vi, en); None: the installation's


class SystemRole(Base):
    """A role above the units: ``system_admin`` changes the shared process library (and may deploy for
    any unit); ``province_admin`` keeps the province's working calendar that every unit's deadlines use.
    A unit's ``admin`` is neither."""

    __tablename__ = "system_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))


class RoleAssignment(Base):
    """A role a user holds in one unit (optionally for one department of it)."""

    __tablename__ = "role_assignments"
    __table_args__ = (
        UniqueConstraint("user_id", "unit_id", "role", "department_id"),
        Index("ix_role_assignments_unit_role", "unit_id", "role"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    role: Mapped[str] = mapped_column(String(40))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    user: Mapped[User] = relationship(back_populates="roles")
    unit: Mapped[Unit] = relationship()


class Notice(Base):
    """A message in a user's inbox (objectives disseminated, a process changed, ...)."""

    __tablename__ = "notices"
    __table_args__ = (
        Index("ix_notices_user_read", "user_id", "read_at"),
        Index("ix_notices_user_created", "user_id", "created_at", "id"),  # the person's notices, newest first
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))  # in English (the reader sees ``texts`` translated)
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(300), default="")
    texts: Mapped[dict[str, Any] | None]  # {"title": phrase, "body": [phrase…]}; None: written before phrases
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class CalendarDay(Base):
    """An agency's own exception to the national calendar: a day off, or a make-up working day.

    ``unit_id`` None: the province-wide calendar every unit shares.
    """

    __tablename__ = "calendar_days"
    __table_args__ = (UniqueConstraint("unit_id", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(10))  # off | working
    note: Mapped[str] = mapped_column(String(300), default="")


