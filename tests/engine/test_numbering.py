"""Official document numbers and sequence numbers: in order, per unit, type and year, never twice."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from engine.errors import Conflict, EngineError
from engine.org.models import Unit
from engine.org.numbering import document_number, next_number
from tests.conftest import People


def test_numbers_follow_each_other_per_type_unit_and_year_with_a_leading_zero(
    session: Session, people: People
) -> None:
    unit, other = people.unit, people.other_unit
    assert [document_number(session, unit, "QĐ", 2027) for _ in range(3)] == [
        "01/QĐ-SKHCN", "02/QĐ-SKHCN", "03/QĐ-SKHCN"]  # fmt: skip
    assert document_number(session, unit, "KH", 2027) == "01/KH-SKHCN"  # each type its own series
    assert document_number(session, other, "QĐ", 2027) == f"01/QĐ-{other.short_name}"  # each unit its own
    assert document_number(session, unit, "QĐ", 2028) == "01/QĐ-SKHCN"  # numbering restarts each 1 January
    for _ in range(6):
        document_number(session, unit, "QĐ", 2027)
    assert document_number(session, unit, "QĐ", 2027) == "10/QĐ-SKHCN"  # from 10 on, no leading zero


def test_an_unknown_document_type_is_refused_and_takes_no_number(session: Session, people: People) -> None:
    with pytest.raises(EngineError, match="not a document type"):
        document_number(session, people.unit, "XYZ", 2027)
    assert next_number(session, people.unit.id, "document:XYZ", 2027) == 1


def test_a_rolled_back_command_gives_its_number_back(session: Session, people: People) -> None:
    assert next_number(session, people.unit.id, "dossier", 2027) == 1
    session.commit()
    assert next_number(session, people.unit.id, "dossier", 2027) == 2
    session.rollback()
    assert next_number(session, people.unit.id, "dossier", 2027) == 2  # no gap in committed numbers


def test_two_commands_taking_numbers_at_once_never_get_the_same(session: Session, people: People) -> None:
    unit_id = people.unit.id
    next_number(session, unit_id, "dossier", 2027)  # the year's row exists; the rest race on it
    session.commit()
    bind = session.get_bind()
    taken: list[int] = []
    lock = threading.Lock()

    def take(count: int) -> None:
        with Session(bind) as own:
            done = 0
            while done < count:
                try:
                    number = next_number(own, unit_id, "dossier", 2027)
                    own.commit()
                except (Conflict, OperationalError):  # SQLite: the other writer holds the database; again
                    own.rollback()
                    continue
                with lock:
                    taken.append(number)
                done += 1

    threads = [threading.Thread(target=take, args=(15,)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(taken) == list(range(2, 32))  # 30 numbers, each once, none skipped
    assert session.get(Unit, unit_id) is not None
