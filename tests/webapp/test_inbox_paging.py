"""The inbox a page at a time, on the page and through /api/v1/tasks: next-page links that continue exactly
where the page ended, filters that combine, and page links that only work for the person and list they were
made for (an altered or borrowed one is a 400 that says what to do)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from engine import Engine, TaskRow, Unit, User, queries
from tests.webapp.conftest import basic, login
from webapp.extensions import db, now


def drafts(app: Flask, count: int) -> list[str]:
    """``count`` objectives drafts offered to the demo unit's secretaries, all received in the same second."""
    with app.app_context():
        thuky = db.session.scalar(select(User).where(User.username == "thuky"))
        unit_id = db.session.scalar(select(Unit.id))
        engine, moment, made = Engine(db.session), now(), []
        for n in range(count):
            instance = engine.start("quality_objectives", actor=thuky, unit_id=unit_id, now=moment,
                                    business_key=f"P{n}")  # fmt: skip
            made.append(db.session.scalars(select(TaskRow.id).where(TaskRow.instance_id == instance.id)).one())
        db.session.remove()
    return made


def set_tasks(app: Flask, values: dict[str, dict[str, Any]]) -> None:
    with app.app_context():
        for task_id, columns in values.items():
            db.session.execute(update(TaskRow).where(TaskRow.id == task_id).values(**columns))
        db.session.commit()
        db.session.remove()


def api(client: FlaskClient, query: str, who: str = "thuky") -> tuple[int, Any]:
    response = client.get("/api/v1/tasks" + query, headers=basic(who))
    return response.status_code, response.get_json()


def test_the_api_pages_through_claimable_tasks_without_repeating_or_skipping(app: Flask, client: FlaskClient) -> None:
    made = drafts(app, 5)
    status, first = api(client, "?list=claimable&limit=2")
    assert status == 200 and len(first["claimable"]) == 2 and "mine" not in first
    assert first["counts"] == {"claimable": 5} and first["count_caps"] == {"mine": 1000, "claimable": 100}
    seen, body = [t["id"] for t in first["claimable"]], first
    while body["next"]["claimable"]:
        status, body = api(client, f"?list=claimable&limit=2&after={body['next']['claimable']}")
        assert status == 200
        seen += [t["id"] for t in body["claimable"]]
    assert len(seen) == 5 and sorted(seen) == sorted(made)
    status, both = api(client, "")  # without 'list': the first page of each, as before
    assert status == 200 and both["mine"] == [] and len(both["claimable"]) == 5
    assert both["next"] == {"mine": None, "claimable": None}
    assert both["claimable"][0]["process_key"] == "quality_objectives" and both["claimable"][0]["assignee"] is None
    _, outsider = api(client, "", who="chuyenvien")  # a specialist: the drafts are the secretaries'
    assert outsider["claimable"] == [] and outsider["counts"] == {"mine": 0, "claimable": 0}


def test_a_page_link_altered_or_made_for_someone_else_is_refused(app: Flask, client: FlaskClient) -> None:
    drafts(app, 3)
    _, first = api(client, "?list=claimable&limit=1")
    after = first["next"]["claimable"]
    assert after
    for query, who in ((f"?list=claimable&after={after[:-2]}xy", "thuky"),   # altered
                       (f"?list=claimable&after={after}", "admin"),          # another person's
                       (f"?list=mine&after={after}", "thuky"),               # another list's
                       (f"?list=claimable&sort=priority&after={after}", "thuky")):  # another order's  # fmt: skip
        status, body = api(client, query, who)
        assert status == 400, (query, who, body)
        assert "trang đầu" in body["message"], body  # "Open the list again from its first page."
    for query, word in (("?after=abc", "'list'"), ("?due=tomorrow", "'due'"), ("?priority=urgent", "'priority'"),
                        ("?limit=0", "'limit'"), ("?list=all", "'list'"), ("?q=" + "x" * 201, "'q'")):  # fmt: skip
        status, body = api(client, query)
        assert status == 400 and word in body["message"], (query, body)


def test_filters_combine_on_the_api(app: Flask, client: FlaskClient) -> None:
    made = drafts(app, 4)
    moment = now()
    set_tasks(app, {
        made[0]: {"priority": 80, "due_at": moment - timedelta(days=3), "name": "Thẩm định hồ sơ"},
        made[1]: {"priority": 80, "due_at": moment + timedelta(days=40), "name": "Thẩm định hồ sơ"},
        made[2]: {"priority": 20, "due_at": moment - timedelta(days=3), "name": "Thẩm định hồ sơ"},
        made[3]: {"priority": 80, "due_at": moment - timedelta(days=4), "name": "Soạn mục tiêu"},
    })  # fmt: skip

    def ids(query: str) -> set[str]:
        status, body = api(client, "?list=claimable&" + query)
        assert status == 200, body
        return {t["id"] for t in body["claimable"]}

    assert ids("due=late") == {made[0], made[2], made[3]}
    assert ids("priority=high") == {made[0], made[1], made[3]}
    assert ids("q=th%E1%BA%A9m") == {made[0], made[1], made[2]}
    assert ids("due=late&priority=high&q=th%E1%BA%A9m") == {made[0]}
    assert ids("due=late&priority=low") == {made[2]}
    assert ids("process=quality_objectives&due=week") == set()  # none due from today to Sunday
    set_tasks(app, {made[1]: {"due_at": moment + timedelta(minutes=1)}})
    assert ids("process=quality_objectives&due=week") == {made[1]}
    assert ids("due=week&priority=low") == set()
    assert ids("process=other_process") == set()
    status, body = api(client, "?list=claimable&q=th%E1%BA%A9m")
    assert body["counts"] == {"claimable": None}  # a text search is not counted


def test_the_inbox_page_has_a_next_page_link_and_filters(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = drafts(app, 3)
    set_tasks(app, {made[1]: {"priority": 90}})
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    login(client, "thuky")
    html = client.get("/").get_data(as_text=True)
    shown = [t for t in made if f'data-task="{t}"' in html]
    assert len(shown) == 2 and 'rel="next"' in html
    link = html[html.index('href="', html.index('rel="next"') - 400):].split('"')[1].replace("&amp;", "&")
    if "claimable_after" not in link:  # the link is written before rel: find the claimable one
        link = next(part.split('"')[0].replace("&amp;", "&") for part in html.split('href="')
                    if "claimable_after=" in part.split('"')[0])  # fmt: skip
    following = client.get(link).get_data(as_text=True)
    rest = [t for t in made if f'data-task="{t}"' in following]
    assert rest == [t for t in made if t not in shown] and "Trang đầu" in following
    high = client.get("/?priority=high").get_data(as_text=True)
    assert [t for t in made if f'data-task="{t}"' in high] == [made[1]]
    bad = client.get("/?claimable_after=not-a-link")
    assert bad.status_code == 400
    assert client.get("/?due=soon").status_code == 400


def test_a_page_of_tasks_due_later_reads_the_units_calendar_once(app: Flask, client: FlaskClient) -> None:
    """Each line says how many working days are left; the unit's calendar is read once for the page, not
    once a line."""
    from sqlalchemy import event

    made = drafts(app, 6)
    set_tasks(app, {task_id: {"due_at": now() + timedelta(days=20 + n)} for n, task_id in enumerate(made)})
    login(client, "thuky")
    read: list[str] = []
    with app.app_context():
        bind = db.engine

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM calendar_days" in statement:
            read.append(statement)

    event.listen(bind, "before_cursor_execute", seen)
    try:
        html = client.get("/").get_data(as_text=True)
    finally:
        event.remove(bind, "before_cursor_execute", seen)
    assert all(f'data-task="{t}"' in html for t in made)
    assert html.count("ngày làm việc") >= len(made)  # "Còn N ngày làm việc" on every line
    assert len(read) == 1


def _task_counts(app: Flask, call: Any) -> tuple[Any, int]:
    """What ``call()`` returns, and how many statements counted tasks while it ran."""
    from sqlalchemy import event

    seen: list[str] = []
    with app.app_context():
        bind = db.engine

    def on(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "count(*)" in statement and ("FROM tasks" in statement or "FROM task_candidates" in statement):
            seen.append(statement)

    event.listen(bind, "before_cursor_execute", on)
    try:
        return call(), len(seen)
    finally:
        event.remove(bind, "before_cursor_execute", on)


def test_a_list_its_first_page_holds_is_counted_off_the_page(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counting a list the first page already holds would walk the same rows again (for someone who may claim a
    few tasks of a large unit's queue: the whole queue twice). A longer list, and any later page, is counted."""
    drafts(app, 3)
    login(client, "thuky")
    html, counted = _task_counts(app, lambda: client.get("/").get_data(as_text=True))
    assert counted == 0 and '<span class="count">(3)</span>' in html and '<span class="count">(0)</span>' in html
    (_, body), counted = _task_counts(app, lambda: api(client, ""))
    assert counted == 0 and body["counts"] == {"mine": 0, "claimable": 3}
    (_, first), counted = _task_counts(app, lambda: api(client, "?list=claimable&limit=2"))
    assert counted == 1 and first["counts"] == {"claimable": 3} and first["next"]["claimable"]
    following = f"?list=claimable&limit=2&after={first['next']['claimable']}"
    (_, last), counted = _task_counts(app, lambda: api(client, following))
    assert counted == 1 and last["counts"] == {"claimable": 3} and len(last["claimable"]) == 1
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    paged, counted = _task_counts(app, lambda: client.get("/").get_data(as_text=True))
    assert counted == 1 and '<span class="count">(3)</span>' in paged
    # counted off the page as the count caps it: past the cap, the cap and one ("1+" for a cap of one)
    monkeypatch.setitem(queries.COUNT_CAPS, "claimable", 1)
    (_, capped), counted = _task_counts(app, lambda: api(client, "?limit=5"))
    assert counted == 0 and capped["counts"] == {"mine": 0, "claimable": 2}
    monkeypatch.setattr(queries, "PAGE_SIZE", 50)
    assert '<span class="count">(1+)</span>' in client.get("/").get_data(as_text=True)
