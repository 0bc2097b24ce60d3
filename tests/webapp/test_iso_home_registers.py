"""The ISO home page's list of registers and the top bar: one "ISO system" entry in the bar, and on /iso every
register the reader reads, with how many rows it holds for the unit, each linking to that unit's register."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine import Unit
from tests.conftest import make_unit, make_user
from tests.webapp.conftest import login
from webapp.extensions import db

EVERY_REGISTER = ("/iso/policies", "/iso/objectives", "/iso/risks", "/iso/reviews", "/iso/reviews/actions",
                  "/iso/audits", "/iso/audits/findings", "/iso/corrective-actions", "/iso/documents",
                  "/iso/complaints", "/iso/assignments")  # fmt: skip
# read by secretaries, leaders, auditors and department heads only
READERS_ONLY = ("/iso/audits", "/iso/audits/findings", "/iso/corrective-actions")


def _top_bar(html: str) -> str:
    return html.split('<header class="topbar">', 1)[1].split("</header>", 1)[0]


def _registers(html: str) -> dict[str, str]:
    """Each register listed on the home page: its address (with ``?unit=``) -> the row count shown."""
    section = html.split('id="iso-registers"', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r'<tr data-register="[^"]+"><td><a href="([^"]+)">.*?<td class="num">([^<]*)</td></tr>', section)
    return {href.replace("&amp;", "&"): count for href, count in rows}


@pytest.fixture
def second(app: Flask) -> tuple[int, int]:
    """The demo unit's id, and a second unit's, with a secretary and a specialist of its own."""
    with app.app_context():
        unit = make_unit(db.session, "ubnd-eakar", "UBND xã Ea Kar", (("vp", "Văn phòng UBND"),))
        make_user(db.session, "tk_eakar", unit, ("iso_secretary",), "vp")
        make_user(db.session, "cv_eakar", unit, ("specialist",), "vp")
        demo = db.session.scalar(select(Unit.id).where(Unit.code == "skhcn-daklak"))
        return int(demo), unit.id


def test_the_top_bar_has_one_iso_entry_and_no_register_links(client: FlaskClient) -> None:
    bar = _top_bar(login(client, "thuky").get("/").get_data(as_text=True))
    assert 'href="/iso"' in bar and "Hệ thống ISO" in bar
    assert "/iso/" not in bar  # no register of its own up there


@pytest.mark.parametrize("which", ["demo", "second"])
def test_the_home_page_lists_every_register_with_its_count(client: FlaskClient, app: Flask, second: tuple[int, int],
                                                           which: str) -> None:  # fmt: skip
    demo_id, other_id = second
    secretary, specialist, unit_id, code = (("thuky", "chuyenvien", demo_id, "skhcn-daklak") if which == "demo"
                                            else ("tk_eakar", "cv_eakar", other_id, "ubnd-eakar"))  # fmt: skip
    listed = _registers(login(client, secretary).get("/iso").get_data(as_text=True))
    assert sorted(href.split("?")[0] for href in listed) == sorted(EVERY_REGISTER)
    for href, count in listed.items():
        assert count == "0", href  # nothing recorded yet, in either unit
        assert href.endswith(f"unit={unit_id}") or href.endswith(f"unit={code}"), href  # this unit's register
        assert client.get(href).status_code == 200, href
    client.post("/logout")
    listed = _registers(login(client, specialist).get("/iso").get_data(as_text=True))
    assert sorted(href.split("?")[0] for href in listed) == sorted(set(EVERY_REGISTER) - set(READERS_ONLY))


def test_the_count_follows_the_rows_and_stops_at_the_unit_wall(client: FlaskClient, app: Flask,
                                                               second: tuple[int, int]) -> None:  # fmt: skip
    demo_id, other_id = second
    login(client, "thuky")
    started = client.post("/processes/corrective_action/start", data={
        "unit_id": demo_id, "source": "complaint", "department": "qlkh", "requirement": "Quy trình cấp phép",
        "description": "Hồ sơ trả kết quả trễ hạn", "detectedOn": "2026-11-20"})  # fmt: skip
    assert started.status_code == 302
    counts = {href.split("?")[0]: n for href, n in _registers(client.get("/iso").get_data(as_text=True)).items()}
    assert counts["/iso/corrective-actions"] == "1"
    client.post("/logout")
    login(client, "tk_eakar")  # the other unit's secretary: its own register is empty, the demo unit's is not there
    counts = {href.split("?")[0]: n for href, n in _registers(client.get("/iso").get_data(as_text=True)).items()}
    assert counts["/iso/corrective-actions"] == "0"
    assert client.get(f"/iso?unit={demo_id}").status_code == 404


def test_every_register_of_a_unit_the_reader_is_not_in_is_not_there(client: FlaskClient, app: Flask,
                                                                     second: tuple[int, int]) -> None:  # fmt: skip
    """Asked for by the address the demo unit's home page gives it, each register and its exports answer 404 to
    the other unit's secretary, as a unit they are not in does not exist for them (not an empty register)."""
    login(client, "thuky")
    addresses = []
    for href in _registers(client.get("/iso").get_data(as_text=True)):
        page = client.get(href)
        assert page.status_code == 200, href
        exports = page.get_data(as_text=True).split('class="meta register-exports"', 1)[1].split("</p>", 1)[0]
        links = [link.replace("&amp;", "&") for link in re.findall(r'href="([^"]+)"', exports)]
        assert len(links) == 2 and all("unit=" in link for link in links), (href, links)
        addresses += [href, *links]
    assert len(addresses) == 3 * len(EVERY_REGISTER)
    client.post("/logout")
    login(client, "tk_eakar")
    for address in addresses:
        assert client.get(address).status_code == 404, address
