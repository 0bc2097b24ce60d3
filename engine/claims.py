"""Claiming a row: the one way several workers or requests agree on who does something.

``claim`` runs ``UPDATE … SET values WHERE id = … AND conditions`` and tells whether this caller's
update changed the row. Only one of several concurrent callers can see True: the others find the
conditions no longer hold (PostgreSQL re-checks them after the winner commits; SQLite serialises
writers).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session


def claim(session: Session, model: Any, row_id: object, *conditions: Any, **values: Any) -> bool:
    result = session.execute(
        update(model)
        .where(model.id == row_id, *conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]
