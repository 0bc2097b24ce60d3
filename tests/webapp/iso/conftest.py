"""Two units and who plays which part in each, each person with a browser of their own: the demo unit and a
second unit made for the test (one department), for the ISO processes' pages."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine import Unit
from tests.conftest import make_unit, make_user
from tests.webapp.conftest import login
from webapp.extensions import sa_session


@dataclass
class Office:
    """A unit and who plays which part in it, each with a browser of their own."""

    app: Flask
    unit_id: int
    secretary: str
    leader: str
    heads: dict[str, str]

    def browser(self, username: str) -> FlaskClient:
        return login(self.app.test_client(), username)


@pytest.fixture
def demo(app: Flask) -> Office:
    with app.app_context():
        unit = sa_session().scalar(select(Unit).where(Unit.code == "skhcn-daklak"))
        assert unit is not None
        unit_id = unit.id
    return Office(app, unit_id, "thuky", "giamdoc", {"vp": "truongphong", "qlkh": "truongphong2",
                                                         "qlcn": "truongphong3"})  # fmt: skip


@pytest.fixture
def second(app: Flask) -> Office:
    """A second unit with one department and its own secretary, leader and head."""
    with app.app_context():
        session = sa_session()
        unit = make_unit(session)
        make_user(session, "thuky_bmt", unit, ("iso_secretary",), "vp")
        make_user(session, "chutich_bmt", unit, ("unit_leader",))
        make_user(session, "truongphong_bmt", unit, ("department_head",), "vp")
        unit_id = unit.id
    return Office(app, unit_id, "thuky_bmt", "chutich_bmt", {"vp": "truongphong_bmt"})


