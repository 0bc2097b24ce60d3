"""Tables of the process library: change-control reviews of draft versions, and moves of running
instances between versions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import Base

if TYPE_CHECKING:
    from engine.org.models import User
    from engine.runtime.models import ProcessDefinition, ProcessInstance



class VersionReview(Base):
    """A draft version's passage through change control (TCVN ISO 9001:2015, 7.5.3): the process instance
    in which the unit leader reviews it, who asked, and the decision."""

    __tablename__ = "version_reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), unique=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime]
    decision: Mapped[str | None] = mapped_column(String(10))  # approved | returned
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    definition: Mapped[ProcessDefinition] = relationship()
    instance: Mapped[ProcessInstance] = relationship()
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class InstanceMigration(Base):
    """A running instance moved to another version of its process, with what is needed to move it back.

    ``previous_tasks`` holds the open task rows as they were (id, name, form); ``revision_after`` is the
    instance's revision right after the move: a revert is only allowed while it has not changed.
    """

    __tablename__ = "instance_migrations"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    from_definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"))
    to_definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"))
    previous_state: Mapped[str] = mapped_column(Text)
    previous_tasks: Mapped[list[Any]]
    revision_after: Mapped[int] = mapped_column(Integer)
    migrated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    migrated_at: Mapped[datetime]
    reverted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reverted_at: Mapped[datetime | None]
    instance: Mapped[ProcessInstance] = relationship()
    from_definition: Mapped[ProcessDefinition] = relationship(foreign_keys=[from_definition_id])
    to_definition: Mapped[ProcessDefinition] = relationship(foreign_keys=[to_definition_id])
    migrated_by: Mapped[User | None] = relationship(foreign_keys=[migrated_by_id])


