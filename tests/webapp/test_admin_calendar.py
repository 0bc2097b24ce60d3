"""Administrators edit the working calendar; deadlines computed afterwards follow it."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient

from engine.org.calendar_days import calendar_for
from tests.webapp.conftest import login
from webapp.extensions import sa_session


def test_admin_adds_a_day_off_and_deadlines_follow_it(app: Flask, client: FlaskClient) -> None:
    login(client, "admin")
    page = client.get("/admin/calendar?year=2026").get_data(as_text=True)
    assert "Ngày Văn hóa Việt Nam" in page and "24/11/2026" in page  # national holidays for reference
    added = client.post("/admin/calendar", data={"day": "2027-03-03", "kind": "off", "scope": "province",
                                                "note": "Nghỉ theo quyết định của UBND tỉnh"})  # fmt: skip
    assert added.status_code == 302
    assert "Nghỉ theo quyết định của UBND tỉnh" in client.get("/admin/calendar?year=2027").get_data(as_text=True)
    again = client.post("/admin/calendar", data={"day": "2027-03-03", "kind": "working", "scope": "province"})
    assert again.status_code == 409  # one entry per date: remove it first
    saturday = client.post("/admin/calendar", data={"day": "2027-03-06", "kind": "working", "scope": "1"})
    assert saturday.status_code == 302
    with app.app_context():
        calendar = calendar_for(sa_session(), 1)
        received = datetime(2027, 3, 2, 1, 0, tzinfo=UTC)  # Tue 2 Mar 2027, 08:00 in Hà Nội
        # Wed 3 is now a day off and Sat 6 a make-up working day: days 1..3 are Thu 4, Fri 5, Sat 6.
        assert calendar.add_working_days(received, 3) == datetime(2027, 3, 6, 10, 0, tzinfo=UTC)
        province = calendar_for(sa_session(), None)  # the day off, without the unit's make-up Saturday
        assert province.add_working_days(received, 3) == datetime(2027, 3, 8, 10, 0, tzinfo=UTC)


def test_only_administrators_see_the_calendar(client: FlaskClient) -> None:
    login(client, "giamdoc")
    assert client.get("/admin/calendar").status_code == 403
    assert client.post("/admin/calendar", data={"day": "2027-01-02", "kind": "off"}).status_code == 403


def test_bad_dates_and_kinds_are_explained(client: FlaskClient) -> None:
    login(client, "admin")
    assert client.post("/admin/calendar", data={"day": "02/01/2027", "kind": "off"}).status_code == 422
    assert client.post("/admin/calendar", data={"day": "2027-01-02", "kind": "maybe"}).status_code == 400
