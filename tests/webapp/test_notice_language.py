"""Notices speak the reader's language; their mails the recipient's: the language the person chose (kept on
the account when they switch while logged in), else the installation's default, Vietnamese."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email.header import decode_header, make_header

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connectors.email.simulator import SmtpSimulator
from engine import Phrase, notices
from engine.org.models import Unit, User
from tests.webapp.conftest import login
from webapp.extensions import sa_session
from webapp.scheduler import sweep

TITLE = Phrase("Due soon: %(task)s", task="Xem xét mục tiêu")


@pytest.fixture
def smtp() -> Iterator[SmtpSimulator]:
    with SmtpSimulator() as simulator:
        yield simulator


@pytest.fixture
def app_env(smtp: SmtpSimulator) -> dict[str, str]:
    return {"EISO_SMTP_URL": smtp.url, "EISO_MAIL_FROM": "eiso@skhcn.example.vn",
            "EISO_PUBLIC_URL": "https://eiso.skhcn.example.vn"}  # fmt: skip


def notify(app: Flask, *usernames: str) -> None:
    with app.app_context():
        unit = sa_session().scalars(select(Unit)).one()
        people = sa_session().scalars(select(User).where(User.username.in_(usernames))).all()
        body = [Phrase("Overdue: %(task)s", task="Phê duyệt"), "Ghi chú của người gửi"]
        notices.notify(sa_session(), people, unit_id=unit.id, kind="task_reminder", title=TITLE, body=body,
                       link="/tasks/abc", now=datetime.now(UTC))  # fmt: skip
        sa_session().commit()


def language_of(app: Flask, username: str) -> str | None:
    with app.app_context():
        return sa_session().scalars(select(User.locale).where(User.username == username)).one()


def subject(message: object) -> str:
    return str(make_header(decode_header(message["Subject"])))  # type: ignore[index]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_inbox_shows_a_notice_in_the_readers_language(app: Flask, client: FlaskClient) -> None:
    notify(app, "thuky")
    login(client, "thuky")
    page = client.get("/notices").get_data(as_text=True)
    assert "Sắp đến hạn: Xem xét mục tiêu" in page and "Quá hạn: Phê duyệt" in page and "Ghi chú của người gửi" in page
    assert "Sắp đến hạn: Xem xét mục tiêu" in client.get("/").get_data(as_text=True)
    client.post("/language/en", data={"next": "/notices"})
    page = client.get("/notices").get_data(as_text=True)
    assert "Due soon: Xem xét mục tiêu" in page and "Overdue: Phê duyệt" in page and "Ghi chú của người gửi" in page


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_mails_are_in_the_recipients_language_vietnamese_by_default(app: Flask, client: FlaskClient,
                                                                    smtp: SmtpSimulator) -> None:  # fmt: skip
    login(client, "giamdoc")
    client.post("/language/en", data={"next": "/"})  # chosen while logged in: kept on the account
    assert language_of(app, "giamdoc") == "en" and language_of(app, "thuky") is None
    notify(app, "thuky", "giamdoc")
    sweep(app)
    mails = {str(make_header(decode_header(m["To"]))): m for m in smtp.messages}
    vietnamese = mails["Lê Thị Mai Anh <thuky@skhcn.example.vn>"]
    english = next(m for to, m in mails.items() if not to.startswith("Lê Thị Mai Anh"))
    assert subject(vietnamese) == "[eISO] Sắp đến hạn: Xem xét mục tiêu"
    assert "Quá hạn: Phê duyệt" in vietnamese.get_payload(decode=True).decode()
    assert subject(english) == "[eISO] Due soon: Xem xét mục tiêu"
    text = english.get_payload(decode=True).decode()
    assert "Overdue: Phê duyệt" in text and "Ghi chú của người gửi" in text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_chosen_language_comes_back_at_the_next_log_in(app: Flask, client: FlaskClient) -> None:
    login(client, "thuky")
    client.post("/language/en", data={"next": "/"})
    client.post("/logout")
    fresh = app.test_client()  # another browser, nothing in its session
    login(fresh, "thuky")
    assert '<html lang="en"' in fresh.get("/").get_data(as_text=True)
    fresh.post("/language/vi", data={"next": "/"})
    assert language_of(app, "thuky") == "vi"
    anonymous = app.test_client()
    anonymous.post("/language/en", data={"next": "/units"})  # nobody to remember it for
    assert '<html lang="en"' in anonymous.get("/units").get_data(as_text=True)
