"""``eiso bench import``: how long checking and importing a sheet of people takes, per person."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from engine.db import Base
from engine.org.demo import load_demo
from engine.org.models import User
from engine.org.people_import import check_import, import_people


def sheet(rows: int) -> bytes:
    """A CSV sheet of ``rows`` specialists of the demo unit's office; every other one without a password."""
    lines = ["username,full_name,department,roles,password"]
    for i in range(rows):
        password = f"mat-khau-{i:05d}" if i % 2 else ""
        lines.append(f"canbo{i:05d},Cán bộ {i},vp,specialist,{password}")
    return ("\n".join(lines) + "\n").encode()


def run_import_benchmark(rows: int) -> Iterator[str]:
    db = create_engine("sqlite://")
    Base.metadata.create_all(db)
    now = datetime.now(UTC)
    content = sheet(rows)
    with Session(db) as session:
        unit, _ = load_demo(session, password="bench")  # noqa: S106 - throwaway in-memory database
        actor = session.scalar(select(User).where(User.username == "admin"))
        assert actor is not None
        started = time.perf_counter()
        check_import(session, unit.id, "bench.csv", content, actor=actor)
        checked = time.perf_counter() - started
        started = time.perf_counter()
        report = import_people(session, unit.id, "bench.csv", content, actor=actor, now=now)
        imported = time.perf_counter() - started
    db.dispose()
    yield f"sheet of {rows} people (CSV), SQLite in memory"
    yield f"check only:  {checked:7.2f} s  ({checked / rows * 1000:6.1f} ms per person)"
    yield f"import:      {imported:7.2f} s  ({imported / rows * 1000:6.1f} ms per person, scrypt hash included)"
    yield f"imported {len(report.rows)} people"
