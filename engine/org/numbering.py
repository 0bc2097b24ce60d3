"""Numbers a unit gives out in order: official documents (NĐ 30/2020: ``Số: 05/QĐ-SKHCN``, restarting
each 1 January) and the sequence part of dossier codes.

Each (unit, series, year) has one row counting the numbers given; ``next_number`` takes the next one in
the caller's transaction with one conditional UPDATE, so two commands never get the same number and a
rolled-back command gives its number back (the numbers of committed work have no gaps).
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base
from engine.errors import Conflict, EngineError
from engine.org.models import Unit

DOCUMENT_TYPES = {
    "QĐ": "Quyết định", "KH": "Kế hoạch", "BC": "Báo cáo", "TB": "Thông báo", "CV": "Công văn",
    "TTr": "Tờ trình", "BB": "Biên bản", "CT": "Chỉ thị",
    "GP": "Giấy phép", "GCN": "Giấy chứng nhận", "GXN": "Giấy xác nhận", "CC": "Chứng chỉ",
}  # fmt: skip
"""Type abbreviations of NĐ 30/2020 that units number (a letter, ``CV``, carries no type name)."""


class NumberSequence(Base):
    """How many numbers of one series a unit has given in one year."""

    __tablename__ = "number_sequences"
    __table_args__ = (UniqueConstraint("unit_id", "series", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    series: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


def next_number(session: Session, unit_id: int, series: str, year: int) -> int:
    """The next number of the unit's series in that year (1 for the first), inside the caller's transaction.

    The row is locked by the UPDATE until the transaction ends, so numbers follow the order of commits.
    Two commands taking the very first number of a year at the same instant: one gets a ``Conflict`` and
    tries again (its whole command is rolled back, nothing half-done)."""
    where = (NumberSequence.unit_id == unit_id, NumberSequence.series == series, NumberSequence.year == year)
    step = update(NumberSequence).where(*where).values(last_value=NumberSequence.last_value + 1)
    result = session.execute(step.execution_options(synchronize_session=False))
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return int(session.scalar(select(NumberSequence.last_value).where(*where)) or 0)
    session.add(NumberSequence(unit_id=unit_id, series=series, year=year, last_value=1))
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("Another number of this series was given out at the same moment; try again.")
    return 1


def document_number(session: Session, unit: Unit, document_type: str, year: int) -> str:
    """The next official number of a document type, as NĐ 30/2020 writes it: ``05/QĐ-SKHCN``."""
    if document_type not in DOCUMENT_TYPES:
        raise EngineError("'%(type)s' is not a document type abbreviation (%(known)s).", type=document_type,
                          known=", ".join(DOCUMENT_TYPES))  # fmt: skip
    number = next_number(session, unit.id, f"document:{document_type}", year)
    return f"{number:02d}/{document_type}-{unit.short_name or unit.code.upper()}"
