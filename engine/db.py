"""The database layer every part of the engine shares: the declarative base, column types and ``claim``.

Plain SQLAlchemy 2 declarative models. The web app binds them through Flask-SQLAlchemy
(``SQLAlchemy(model_class=Base)``); the engine itself only ever receives a ``Session``.

``claim`` runs ``UPDATE … SET values WHERE id = … AND conditions`` and tells whether this caller's
update changed the row. Only one of several concurrent callers can see True: the others find the
conditions no longer hold (PostgreSQL re-checks them after the winner commits; SQLite serialises
writers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    JSON,
    DateTime,
    MetaData,
    bindparam,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Session, aliased, registry
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql import Select
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonValue = JSON().with_variant(JSONB(), "postgresql")

T = TypeVar("T")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; SQLite hands back naive values, which are UTC by construction."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING),
        type_annotation_map={datetime: UTCDateTime(), dict[str, Any]: JsonValue, list[Any]: JsonValue},
    )


def claim(session: Session, model: Any, row_id: object, *conditions: Any, skip_locked: bool = False,
          params: Mapping[str, Any] | None = None, **values: Any) -> bool:  # fmt: skip
    """Set ``values`` on the row if it still meets ``conditions``; True when this caller got it.

    Concurrent claims of one row are decided by the database: the UPDATE of the later one waits for the
    earlier to commit and then finds the row no longer meets the conditions. ``skip_locked`` (for the
    sweeps that several workers run) does not wait: a row another transaction holds is left to it at once
    (PostgreSQL's ``FOR UPDATE SKIP LOCKED``; SQLite has one writer at a time and needs nothing). ``params``:
    the values of the ``bindparam``s the conditions and values name.
    """
    if skip_locked:
        free = select(model.id).where(model.id == row_id, *conditions).with_for_update(skip_locked=True)
        if session.scalar(free, params) is None:
            return False
    result = session.execute(
        update(model)
        .where(model.id == row_id, *conditions)
        .values(**values)
        .execution_options(synchronize_session=False),
        params,
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def claim_row(session: Session, model: type[T], row_id: object, *conditions: Any, skip_locked: bool = False,
              params: Mapping[str, Any] | None = None, **values: Any) -> T | None:  # fmt: skip
    """``claim`` that hands back the claimed row as it now is, or None when it is not this caller's: one
    ``UPDATE … RETURNING`` where the database has it (PostgreSQL; SQLite from 3.35) instead of a lock, an
    update and a read. With ``skip_locked`` on PostgreSQL the row is taken by a ``FOR UPDATE SKIP LOCKED``
    subquery inside that statement: a row another transaction holds matches nothing, at once."""
    dialect = session.get_bind().dialect
    if not dialect.update_returning:
        if not claim(session, model, row_id, *conditions, skip_locked=skip_locked, params=params, **values):
            return None
        return session.get(model, row_id, populate_existing=True)
    key = model.id  # type: ignore[attr-defined]
    where = [key == row_id, *conditions]
    if skip_locked and dialect.name == "postgresql":
        where = [key == select(key).where(*where).with_for_update(skip_locked=True).scalar_subquery()]
    stmt = update(model).where(*where).values(**values).returning(model)
    found = session.scalars(stmt, params,
                            execution_options={"populate_existing": True, "synchronize_session": False})  # fmt: skip
    return found.one_or_none()


def first_of(model: Any, *conditions: Any, order_by: Sequence[Any], skip_locked: bool,
             joined: Sequence[tuple[Any, Any]] = ()) -> Select[Any]:  # fmt: skip
    """The id of the first row in ``order_by`` that meets ``conditions`` (what ``NextClaim`` claims);
    ``joined``: (table, on clause) pairs the conditions may name. ``skip_locked``: the row is locked, and the
    joined rows with it, passing over rows any of which another transaction holds (PostgreSQL)."""
    pick = _eligible(model, conditions, joined).order_by(*order_by).limit(1)
    return pick.with_for_update(skip_locked=True) if skip_locked else pick  # the joined rows are locked too


def _eligible(model: Any, conditions: Sequence[Any], joined: Sequence[tuple[Any, Any]]) -> Select[Any]:
    """The ids of the rows that meet ``conditions``, with the ``joined`` tables the conditions may name; never
    correlated to a statement it is put in (an UPDATE of the same table)."""
    eligible = select(model.id)
    for target, on in joined:
        eligible = eligible.join(target, on)
    return eligible.where(*conditions).correlate(None)


class NextClaim(Generic[T]):
    """Claims the first row in ``order_by`` that meets ``conditions`` and that no other transaction holds
    (``values`` set) and hands it back as it now is; None when no such row is left. Workers sweeping together
    thus each take the next free row instead of trying the same ones in turn. ``joined`` (see ``first_of``):
    rows of other tables that are locked with the row, and whose being held by another transaction passes the
    row over too (a timer whose instance someone is changing).

    Built once, for a sweep that claims row after row: the conditions and values name what changes from one
    claim to the next with ``bindparam``, and each call gives them (building the statement cost about as
    much as running it). The statements are made on first use for the database at hand.

    Where the database has ``UPDATE … RETURNING`` the row is chosen and claimed in that one statement: on
    PostgreSQL the choice is a ``FOR UPDATE SKIP LOCKED`` subquery, so the chosen row is this transaction's
    until it ends and still meets the conditions (the database checks them again as it locks the row); SQLite
    runs the statement as its one writer. Without ``RETURNING`` the row is chosen, then claimed; a row another
    caller took in between is passed over for the next one."""

    def __init__(self, model: type[T], *conditions: Any, order_by: Sequence[Any],
                 joined: Sequence[tuple[Any, Any]] = (), **values: Any) -> None:  # fmt: skip
        self.model, self.conditions, self.order_by, self.joined, self.values = (
            model, conditions, order_by, joined, values)  # fmt: skip
        self._built: dict[Any, Any] = {}  # by dialect name, or by what is read with the claim

    def __call__(self, session: Session, params: dict[str, Any]) -> T | None:
        dialect = session.get_bind().dialect
        key = self.model.id  # type: ignore[attr-defined]
        if not dialect.update_returning:
            pick = first_of(self.model, *self.conditions, order_by=self.order_by,
                            skip_locked=dialect.name == "postgresql", joined=self.joined)  # fmt: skip
            eligible = key.in_(_eligible(self.model, self.conditions, self.joined))
            taken: list[Any] = []
            while (row_id := session.scalar(pick.where(key.not_in(taken)) if taken else pick, params)) is not None:
                row = claim_row(session, self.model, row_id, eligible, params=params, **self.values)
                if row is not None:
                    return row
                taken.append(row_id)  # another caller's since it was chosen
            return None
        stmt = self._built.get(dialect.name)
        if stmt is None:
            # the table's own UPDATE … RETURNING, its row read as the model's: the ORM's UPDATE is made anew at
            # each run
            stmt = self._built[dialect.name] = (
                select(self.model).from_statement(self._claiming(dialect.name))
                .execution_options(populate_existing=True)
            )  # fmt: skip
        return session.scalars(stmt, params).one_or_none()

    def reading(self, session: Session, params: dict[str, Any],
                read: Callable[[Any], Select[Any]]) -> tuple[T, Any] | None:  # fmt: skip
        """Claim as a call does, and read what the caller needs next with the claimed row: ``read`` gets the
        claimed row as an alias of the model and selects it first, then one entity more (the claimed row's
        instance, say). On PostgreSQL the claim and the read are one statement (the claim a data-modifying
        ``WITH``); elsewhere the row is claimed as a call does and the second element is None: the caller
        reads it itself. None when no row is left."""
        dialect = session.get_bind().dialect
        if dialect.name != "postgresql":
            row = self(session, params)
            return None if row is None else (row, None)
        stmt = self._built.get(read)
        if stmt is None:
            stmt = self._built[read] = read(aliased(self.model, self._claiming(dialect.name).cte("claimed")))
        found = session.execute(stmt, params).one_or_none()
        return None if found is None else (found[0], found[1])

    def _claiming(self, dialect_name: str) -> Any:
        """The claim as the table's own ``UPDATE … RETURNING`` every column."""
        pick = first_of(self.model, *self.conditions, order_by=self.order_by,
                        skip_locked=dialect_name == "postgresql", joined=self.joined)  # fmt: skip
        table = self.model.metadata.tables[self.model.__tablename__]  # type: ignore[attr-defined]
        return update(table).where(table.c.id == pick.scalar_subquery()).values(**self.values).returning(*table.c)


# --- a row written by its table's own statement ------------------------------------------------------------
# The ORM's flush of one row (its unit of work: dependency sort, mapper, per-attribute history) costs several
# times the statement it sends. A step writes a few rows of known shape: these write them directly, with the
# statement built once per shape (``_STATEMENTS``: a shape is a model and the columns written).
_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def write_row(session: Session, row: Any, **values: Any) -> None:
    """Set ``values`` on a row the session holds and write them at once by the table's UPDATE of that row
    (by its primary key). The values become the row's committed ones: a later flush writes them no more, but
    still writes any other attribute changed on the row. No revision check: for rows their instance's lock
    guards (a task row changes only with its instance locked)."""
    session.flush()  # what the row's statement may depend on, and earlier changes of the row, first
    mapper = inspect(row).mapper
    shape = ("update", mapper.class_, *values)
    stmt = _STATEMENTS.get(shape)
    if stmt is None:
        table, (key,) = mapper.local_table, mapper.primary_key
        columns: dict[str, Any] = {mapper.get_property(name).columns[0].name: bindparam(f"v_{name}") for name in values}
        stmt = _STATEMENTS[shape] = (update(table).where(key == bindparam("row_key")).values(columns)
                                     .execution_options(synchronize_session=False))  # fmt: skip
    session.execute(stmt, {"row_key": mapper.primary_key_from_instance(row)[0],
                           **{f"v_{name}": value for name, value in values.items()}})  # fmt: skip
    for name, value in values.items():
        set_committed_value(row, name, value)


def insert_row(session: Session, model: type[T], values: Mapping[str, Any]) -> None:
    """Insert one row of ``model`` by the table's own INSERT (built once per set of columns given), not kept in
    the session: what reads it later in the transaction reads it from the table. Columns not given take their
    defaults."""
    session.flush()  # the rows it refers to first
    mapper = inspect(model)
    shape = ("insert", model, *values)
    stmt = _STATEMENTS.get(shape)
    if stmt is None:
        stmt = _STATEMENTS[shape] = insert(mapper.local_table)
    session.execute(stmt, {mapper.get_property(name).columns[0].name: value for name, value in values.items()})
