"""The ISO registers a page at a time, as a person uses them: "Next page" links that walk a register to its end
without showing a row twice or leaving one out when sort keys tie, filters kept on every page, a count above
the list, exports still of every row, a page link altered or borrowed (another person, another unit, another
register) refused with a 400 that says to start from the first page, and the same through
/api/v1/registers/<name> with ``next``."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Unit, User
from engine.iso import assignments, audits, complaints, corrective_actions, documents, reviews, risks
from tests.conftest import Clock, People, make_unit, make_user
from tests.engine import test_register_paging as filled
from tests.webapp.conftest import basic, login
from webapp.extensions import db


def fill(app: Flask, how: Callable[[Session, People, Clock, int], None], count: int) -> None:
    """``count`` rows of a register (a third in a second unit, whose secretary and leader is ``thuky_bmt``)."""
    with app.app_context():
        session = db.session
        by_name = {u.username: u for u in session.scalars(select(User))}
        unit = session.scalar(select(Unit).where(Unit.code == "skhcn-daklak"))
        assert unit is not None
        other = make_unit(session)
        outsider = make_user(session, "thuky_bmt", other, ("iso_secretary", "unit_leader", "specialist"), "vp")
        people = People(unit, other, by_name["thuky"], by_name["giamdoc"], outsider, outsider, by_name["thuky"])
        how(session, people, Clock(), count)
        session.commit()
        db.session.remove()


def cast(session: Session) -> People:
    """The demo unit's people and the second unit's (after ``fill``), as the engine tests' fill functions take them."""
    unit = session.scalar(select(Unit).where(Unit.code == "skhcn-daklak"))
    other = session.scalar(select(Unit).where(Unit.code == "ubnd-buonmathuot"))
    by_name = {u.username: u for u in session.scalars(select(User))}
    assert unit is not None and other is not None
    return People(unit, other, by_name["thuky"], by_name["giamdoc"], by_name["thuky_bmt"], by_name["thuky_bmt"],
                  by_name["thuky"])  # fmt: skip


def next_link(html: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">', html)
    return found.group(1).replace("&amp;", "&") if found else None


def walk(client: FlaskClient, url: str, row: str) -> tuple[list[str], list[str], str]:
    """Every page from ``url`` by its "Next page" link: the rows (``row``: a pattern of one row's code), the
    links followed, and the last page."""
    seen, links = [], []
    next_url: str | None = url
    html = ""
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        html = response.get_data(as_text=True)
        seen += re.findall(row, html)
        links.append(next_url)
        next_url = next_link(html)
        assert len(links) < 60
    return seen, links, html


# (register, page address, filter, the prefix of a row's code, the rows in list order for giamdoc / with the filter)
PAGES: list[tuple[str, str, str, str, Any, Any]] = [
    ("risks", "/iso/risks", "level=high", "RR",
     lambda s, u: [r.code for r in risks.find_risks(s, u, risks.RiskFilter())[0]],
     lambda s, u: [r.code for r in risks.find_risks(s, u, risks.RiskFilter(level="high"))[0]]),
    ("complaints", "/iso/complaints", "status=received", "PA",
     lambda s, u: [c.code for c in complaints.find_complaints(s, u, complaints.ComplaintFilter(),
                                                               now=filled.p_now())[0]],
     lambda s, u: [c.code for c in complaints.find_complaints(s, u, complaints.ComplaintFilter(status="received"),
                                                               now=filled.p_now())[0]]),
    ("corrective-actions", "/iso/corrective-actions", "source=audit", "KP",
     lambda s, u: [a.code for a in corrective_actions.actions(s, u, filled.NO_ACTION, today=filled.TODAY)],
     lambda s, u: [a.code for a in corrective_actions.actions(s, u, corrective_actions.ActionFilter(source="audit"),
                                                              today=filled.TODAY)]),
    ("audit-findings", "/iso/audits/findings", "classification=observation", "PH",
     lambda s, u: [f.code for f in audits.findings(s, u, filled.NO_AUDIT)],
     lambda s, u: [f.code for f in audits.findings(s, u, audits.AuditFilter(classification="observation"))]),
]  # fmt: skip
FILLS = {"risks": filled.fill_risks, "complaints": filled.fill_complaints, "corrective-actions": filled.fill_corrective,
         "audit-findings": filled.fill_findings}  # fmt: skip


def expected(app: Flask, rows: Callable[[Session, User], list[str]], who: str = "giamdoc") -> list[str]:
    with app.app_context():
        person = db.session.scalar(select(User).where(User.username == who))
        assert person is not None
        found = rows(db.session, person)
        db.session.remove()
    return found


@pytest.mark.parametrize("register", PAGES, ids=lambda r: r[0])
def test_a_register_walks_to_its_end_by_next_page_links_and_keeps_its_filter(
    app: Flask, client: FlaskClient, register: Any
) -> None:
    name, url, narrowing, prefix, whole, narrowed = register
    row = f">({prefix}-\\d+)<"
    fill(app, FILLS[name], 24)
    ours, kept = expected(app, whole), expected(app, narrowed)
    assert len(ours) >= 12 and 2 < len(kept) < len(ours)
    login(client, "giamdoc")
    seen, links, last = walk(client, f"{url}?limit=5", row)
    assert seen == ours and len(links) == -(-len(ours) // 5)  # every row once, in the register's order
    assert "Trang đầu" in last  # the way back from a later page
    seen, links, _ = walk(client, f"{url}?limit=2&{narrowing}", row)
    assert seen == kept and all(narrowing in link for link in links)  # the filter holds on every page
    # the export of a later page is still every row the filter selects
    exported = client.get(links[-1] + "&format=csv" if name in ("risks", "complaints") else
                          links[-1] + "&export=csv")  # fmt: skip
    assert exported.status_code == 200
    codes = re.findall(rf"\b({prefix}-\d+)\b", exported.get_data(as_text=True))
    assert sorted(set(codes)) == sorted(kept)
    # an altered link, and the link in another person's hands (same unit; another unit), are refused
    borrowed = links[1]
    assert client.get(borrowed.replace("after=", "after=x")).status_code == 400
    client.post("/logout")
    login(client, "thuky")
    refused = client.get(borrowed)
    assert refused.status_code == 400 and "trang đầu" in refused.get_data(as_text=True)
    client.post("/logout")
    login(client, "thuky_bmt")
    assert client.get(borrowed).status_code == 400
    theirs, _, _ = walk(client, f"{url}?limit=3", row)
    assert theirs == expected(app, whole, "thuky_bmt") and theirs and not set(theirs) & set(ours)


def test_a_page_link_of_one_register_does_not_open_another(app: Flask, client: FlaskClient) -> None:
    fill(app, filled.fill_risks, 12)
    with app.app_context():  # complaints too, of the same two units
        filled.fill_complaints(db.session, cast(db.session), Clock(), 12)
        db.session.commit()
        db.session.remove()
    login(client, "giamdoc")
    risk_link = next_link(client.get("/iso/risks?limit=2").get_data(as_text=True))
    assert risk_link is not None
    after = risk_link.split("after=", 1)[1].split("&", 1)[0]
    refused = client.get(f"/iso/complaints?limit=2&after={after}")
    assert refused.status_code == 400 and "trang đầu" in refused.get_data(as_text=True)
    assert client.get(f"/iso/documents?after={after}").status_code == 400


def test_reviews_and_ad_hoc_work_page_a_unit_at_a_time(app: Flask, client: FlaskClient) -> None:
    fill(app, filled.fill_reviews, 14)
    with app.app_context():
        session = db.session
        people = cast(session)
        filled.fill_assignments(session, people, Clock(), 14)
        session.commit()
        titles = [r.title for r in reviews.list_reviews(session, people.leader, people.unit.id)]
        everything = assignments.AssignmentFilter()
        jobs = [a.title for a in assignments.list_assignments(session, people.leader, people.unit.id, everything,
                                                                filled.TODAY)]  # fmt: skip
        db.session.remove()
    login(client, "giamdoc")
    seen, links, _ = walk(client, "/iso/reviews?unit=skhcn-daklak&limit=3", r">(Xem xét \d+)<")
    assert seen == titles and len(links) == -(-len(titles) // 3)
    seen, links, _ = walk(client, "/iso/assignments?limit=4", r">(Việc \d+)<")
    assert seen == jobs and len(links) > 2
    client.post("/logout")
    login(client, "thuky_bmt")
    assert client.get(links[1]).status_code == 400
    assert client.get("/iso/reviews?unit=skhcn-daklak").status_code == 404


def api(client: FlaskClient, query: str, who: str = "giamdoc") -> tuple[int, Any]:
    response = client.get("/api/v1/registers/" + query, headers=basic(who))
    return response.status_code, response.get_json()


@pytest.mark.parametrize("name", ["risks", "complaints", "documents", "audit-programmes", "corrective-actions"])
def test_the_registers_api_pages_with_next_and_refuses_a_foreign_link(
    app: Flask, client: FlaskClient, name: str
) -> None:
    how = {"risks": filled.fill_risks, "complaints": filled.fill_complaints, "documents": filled.fill_documents,
           "audit-programmes": filled.fill_programmes, "corrective-actions": filled.fill_corrective}[name]  # fmt: skip
    fill(app, how, 15)
    status, whole = api(client, f"{name}?limit=200")
    assert status == 200 and whole["next"] is None and whole["count"] >= 9
    rows, query, pages = [], f"{name}?limit=4", 0
    while query:
        status, body = api(client, query)
        assert status == 200, body
        rows += body["rows"]
        pages += 1
        query = f"{name}?limit=4&after={body['next']}" if body["next"] else ""
    assert rows == whole["rows"] and pages == -(-len(rows) // 4)
    _, first = api(client, f"{name}?limit=4")
    for query, who in ((f"{name}?after={first['next']}", "thuky_bmt"), (f"{name}?after={first['next']}", "thuky"),
                       (f"{name}?after={first['next'][:-3]}abc", "giamdoc"), (f"{name}?limit=0", "giamdoc"),
                       (f"{name}?limit=201", "giamdoc")):  # fmt: skip
        status, body = api(client, query, who)
        assert status == 400, (query, who, body)
        assert "trang đầu" in body["message"] or "'limit'" in body["message"], body
    _, theirs = api(client, f"{name}?limit=200", "thuky_bmt")
    assert theirs["rows"] and not {str(r) for r in theirs["rows"]} & {str(r) for r in whole["rows"]}


def test_a_register_export_is_not_cut_to_a_page(app: Flask, client: FlaskClient) -> None:
    fill(app, filled.fill_documents, 30)
    login(client, "giamdoc")
    page = client.get("/iso/documents?limit=3").get_data(as_text=True)
    assert next_link(page) is not None
    exported = client.get("/iso/documents?limit=3&format=csv")
    lines = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    with app.app_context():
        leader = db.session.scalar(select(User).where(User.username == "giamdoc"))
        assert leader is not None
        count = len(documents.find_issues(db.session, leader, documents.IssueFilter())[0])
        db.session.remove()
    assert len(lines) - 1 == count > 3
    assert f"({count})" in page  # the count above the list
