"""The instance list and the notices a page at a time, on the pages and through /api/v1/instances: newest
first, next-page links that continue exactly where the page ended when start times tie, page links that only
work for the person and list they were made for, and a unit's instances on none of another unit's pages."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine import Engine, ProcessInstance, Unit, User
from engine.dossiers.dossiers import Dossier
from engine.org.models import Notice
from tests.conftest import make_unit, make_user
from tests.webapp.conftest import basic, login
from webapp.extensions import db, now

NEWEST = (ProcessInstance.started_at.desc(), ProcessInstance.id.desc())


def start(app: Flask, count: int) -> tuple[list[int], list[int]]:
    """``count`` objectives drafts in the demo unit and two in another unit, all started in the same second;
    the ids of each unit's instances, newest first (the id breaking the tie)."""
    with app.app_context():
        thuky = db.session.scalar(select(User).where(User.username == "thuky"))
        unit_id = db.session.scalar(select(Unit.id).order_by(Unit.id))
        other = make_unit(db.session)
        outsider = make_user(db.session, "thuky_bmt", other, ("iso_secretary", "specialist"), "vp")
        engine, moment = Engine(db.session), now()
        for n in range(count):
            engine.start("quality_objectives", actor=thuky, unit_id=unit_id, now=moment, business_key=f"P{n}")
        for n in range(2):
            engine.start("quality_objectives", actor=outsider, unit_id=other.id, now=moment, business_key=f"B{n}")
        ids = {u: list(db.session.scalars(select(ProcessInstance.id).where(ProcessInstance.unit_id == u)
                                          .order_by(*NEWEST))) for u in (unit_id, other.id)}  # fmt: skip
        db.session.remove()
    return ids[unit_id], ids[other.id]


def api(client: FlaskClient, query: str, who: str = "thuky") -> tuple[int, Any]:
    response = client.get("/api/v1/instances" + query, headers=basic(who))
    return response.status_code, response.get_json()


def walk(client: FlaskClient, who: str, limit: int) -> list[list[int]]:
    pages, query = [], f"?limit={limit}"
    while True:
        status, body = api(client, query, who)
        assert status == 200, body
        pages.append([i["id"] for i in body["instances"]])
        if body["next"] is None:
            return pages
        query = f"?limit={limit}&after={body['next']}"


def test_the_api_pages_through_instances_newest_first_without_repeating_skipping_or_crossing_units(
    app: Flask, client: FlaskClient
) -> None:
    ours, theirs = start(app, 5)
    pages = walk(client, "thuky", 2)
    assert [i for p in pages for i in p] == ours and len(pages) == 3  # 2 + 2 + 1, the start times all tie
    assert [len(p) for p in walk(client, "thuky_bmt", 1)] == [1, 1]
    assert [i for p in walk(client, "thuky_bmt", 1) for i in p] == theirs  # on every page: theirs only
    _, first = api(client, "?limit=1")
    line = first["instances"][0]
    assert line["process_key"] == "quality_objectives" and line["started_by"] == "thuky" and "tasks" not in line
    _, nothing = api(client, "", who="chuyenvien")  # a specialist sees only their own work
    assert nothing == {"instances": [], "next": None}


def test_an_instance_page_link_altered_or_made_for_someone_else_is_refused(app: Flask, client: FlaskClient) -> None:
    start(app, 3)
    _, first = api(client, "?limit=1")
    after = first["next"]
    notices_link = client.get("/api/v1/tasks?list=claimable&limit=1", headers=basic("thuky")).get_json()["next"]
    for query, who in ((f"?after={after[:-2]}xy", "thuky"),            # altered
                       (f"?after={after}", "thuky_bmt"),               # another unit's person
                       (f"?after={after}", "giamdoc"),                 # another person of the same unit
                       (f"?after={notices_link['claimable']}", "thuky"),  # the task list's
                       ("?limit=0", "thuky"), ("?limit=201", "thuky")):  # fmt: skip
        status, body = api(client, query, who)
        assert status == 400, (query, who, body)
        assert "trang đầu" in body["message"] or "'limit'" in body["message"], body


def next_link(html: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_the_instance_page_has_next_page_links_to_its_end(app: Flask, client: FlaskClient) -> None:
    ours, theirs = start(app, 3)
    login(client, "thuky")
    seen, url = [], "/instances?limit=2"
    while url:
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        seen += [int(i) for i in re.findall(r'href="/instances/(\d+)"', html)]
        url = next_link(html)
    assert seen == ours and not set(seen) & set(theirs)
    assert "Trang đầu" in html  # the last page offers the way back
    tampered = client.get("/instances?after=xyz")
    assert tampered.status_code == 400 and "trang đầu" in tampered.get_data(as_text=True)


def test_the_notices_page_pages_the_persons_own_notices(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        people = {u.username: u for u in db.session.scalars(select(User))}
        unit_id = db.session.scalar(select(Unit.id).order_by(Unit.id))
        moment = now()
        db.session.add_all(Notice(user_id=people["thuky" if n % 3 else "giamdoc"].id, unit_id=unit_id, kind="test",
                                  title=f"Thông báo số {n:02d}", created_at=moment - timedelta(minutes=n % 2))
                           for n in range(9))  # fmt: skip
        db.session.commit()
        db.session.remove()
    login(client, "thuky")
    seen, url, pages = [], "/notices?limit=2", 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        seen += re.findall(r"Thông báo số (\d\d)", html)
        url, pages = next_link(html), pages + 1
    # thuky's six, newest first (the later of the two moments, then the higher id), none of giamdoc's
    assert seen == ["08", "04", "02", "07", "05", "01"] and pages == 3
    foreign = client.get(url or "/notices?after=" + _link_of(client, "giamdoc"))
    assert foreign.status_code == 400


def _link_of(client: FlaskClient, who: str) -> str:
    """A notices page link made for ``who`` (then signed in again as thuky)."""
    client.post("/logout")
    login(client, who)
    html = client.get("/notices?limit=1").get_data(as_text=True)
    link = next_link(html)
    assert link is not None
    client.post("/logout")
    login(client, "thuky")
    return link.split("after=", 1)[1]


def test_the_dossier_list_pages_by_links_keeps_its_filters_and_refuses_a_borrowed_link(
    app: Flask, client: FlaskClient
) -> None:
    ours, theirs = start(app, 5)
    with app.app_context():
        moment = now()
        for instance_id in sorted(ours + theirs):  # dossier ids in the order of the instance ids
            unit_id = db.session.get(ProcessInstance, instance_id).unit_id  # type: ignore[union-attr]
            db.session.add(Dossier(unit_id=unit_id, instance_id=instance_id, code=f"HS-{instance_id}",
                                   procedure_code="1.001", procedure_name="Thủ tục thử", applicant_name="Người nộp",
                                   applicant_phone="0900000000", status=2 if instance_id % 2 else 4,
                                   received_at=moment))  # fmt: skip
        db.session.commit()
        db.session.remove()
    login(client, "giamdoc")
    seen, url, pages = [], "/dossiers?limit=2", 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        seen += [int(c) for c in re.findall(r">HS-(\d+)</a>", html)]
        url, pages = next_link(html), pages + 1
    assert seen == sorted(ours, reverse=True) and pages == 3  # received together: the newest id first
    assert "(5)" in html  # the count heads every page
    filtered, url = [], "/dossiers?limit=1&status=2"
    while url:
        html = client.get(url).get_data(as_text=True)
        filtered += [int(c) for c in re.findall(r">HS-(\d+)</a>", html)]
        url = next_link(html)
    assert filtered == [i for i in sorted(ours, reverse=True) if i % 2]  # the filter holds on every page
    first = next_link(client.get("/dossiers?limit=1").get_data(as_text=True))
    assert first is not None
    client.post("/logout")
    login(client, "thuky_bmt")  # the other unit's secretary with the leader's link
    borrowed = client.get(first)
    assert borrowed.status_code == 400 and "trang đầu" in borrowed.get_data(as_text=True)
    html = client.get("/dossiers?limit=1").get_data(as_text=True)
    assert re.findall(r">HS-(\d+)</a>", html) == [str(max(theirs))]
