"""Camunda clients list and count running instances and open user tasks and read an instance's variables,
over real HTTP; each account sees its own units' only. Waiting workers never take every server thread."""

from __future__ import annotations

import threading
import time

import requests

from engine import Unit
from tests.conftest import make_unit, make_user
from tests.webapp.camunda_rest.conftest import Server
from webapp.extensions import db

THUKY = ("thuky", "demo")
OUTSIDER = ("thuky_bmt", "demo")


def _outsider(eiso: Server) -> None:
    """An ISO secretary and administrator of another unit, with the same rights there as ours have here."""
    with eiso.app.app_context():
        other = make_unit(db.session)
        make_user(db.session, "thuky_bmt", other, ("iso_secretary", "specialist", "admin"), "vp")
        db.session.remove()


def _start(eiso: Server, key: str, business_key: str, auth: tuple[str, str], **variables: object) -> str:
    typed = {name: {"value": value} for name, value in variables.items()}
    started = eiso.post(f"/process-definition/key/{key}/start", auth=auth,
                        json={"businessKey": business_key, "variables": typed})  # fmt: skip
    assert started.status_code == 200, started.text
    return str(started.json()["id"])


def test_running_instances_are_listed_counted_and_read_per_unit(eiso: Server) -> None:
    assert eiso.deploy("score_check.bpmn").status_code == 200
    _outsider(eiso)
    first = _start(eiso, "score_check", "HS-1", ("admin", "demo"), amount=1_000_000)
    second = _start(eiso, "score_check", "HS-2", ("admin", "demo"), amount=5)
    theirs = _start(eiso, "quality_objectives", "MT-BMT", OUTSIDER)

    listed = eiso.get("/process-instance", params={"processDefinitionKey": "score_check"}).json()
    assert [(i["id"], i["businessKey"], i["tenantId"], i["ended"]) for i in listed] == [
        (first, "HS-1", "skhcn-daklak", False), (second, "HS-2", "skhcn-daklak", False)]  # fmt: skip
    assert eiso.get("/process-instance/count", params={"processDefinitionKey": "score_check"}).json() == {"count": 2}
    newest_first = eiso.get("/process-instance", params={"processDefinitionKey": "score_check", "sortBy": "instanceId",
                                                         "sortOrder": "desc", "maxResults": 1}).json()  # fmt: skip
    assert [i["id"] for i in newest_first] == [second]
    by_key = eiso.post("/process-instance", json={"businessKeyLike": "HS-%", "processInstanceIds": [first],
                                                  "sorting": [{"sortBy": "businessKey", "sortOrder": "asc"}]})
    assert [i["id"] for i in by_key.json()] == [first]
    # the other unit's account sees its own instance, never ours, and ours see never theirs
    assert [i["id"] for i in eiso.get("/process-instance", auth=OUTSIDER).json()] == [theirs]
    assert eiso.get("/process-instance/count", auth=OUTSIDER).json() == {"count": 1}
    assert theirs not in [i["id"] for i in eiso.get("/process-instance").json()]
    assert eiso.get("/process-instance", params={"tenantIdIn": "ubnd-buonmathuot"}).json() == []

    variables = eiso.get(f"/process-instance/{first}/variables").json()
    assert variables["amount"]["value"] == 1_000_000 and variables["amount"]["type"] in ("Integer", "Long")
    assert eiso.get(f"/process-instance/{second}/variables/amount").json()["value"] == 5
    missing = eiso.get(f"/process-instance/{first}/variables/khong_co")
    assert missing.status_code == 404 and "khong_co" in missing.json()["message"]
    for path in (f"/process-instance/{first}/variables", f"/process-instance/{first}/variables/amount"):
        refused = eiso.get(path, auth=OUTSIDER)
        assert refused.status_code == 404 and refused.json()["message"] == \
            f"Process instance with id {first} does not exist."  # fmt: skip


def test_queries_eiso_cannot_honour_are_refused_naming_the_parameter(eiso: Server) -> None:
    unknown = eiso.get("/process-instance", params={"variables": "amount_gt_5"})
    assert unknown.status_code == 400 and "variables" in unknown.json()["message"]
    assert unknown.json()["type"] == "InvalidRequestException"
    sort = eiso.get("/task", params={"sortBy": "assigneeLike", "sortOrder": "asc"})
    assert sort.status_code == 400 and "assigneeLike" in sort.json()["message"]
    no_order = eiso.get("/task", params={"sortBy": "created"})
    assert no_order.status_code == 400 and "sortOrder" in no_order.json()["message"]
    negative = eiso.get("/task", params={"maxResults": "-1"})
    assert negative.status_code == 400 and "maxResults" in negative.json()["message"]
    flag = eiso.post("/task", json={"unassigned": "maybe"})
    assert flag.status_code == 400 and "unassigned" in flag.json()["message"]


def test_open_user_tasks_are_listed_counted_and_filtered_per_unit(eiso: Server) -> None:
    _outsider(eiso)
    ours = _start(eiso, "quality_objectives", "MT-1", THUKY)
    _start(eiso, "quality_objectives", "MT-BMT", OUTSIDER)

    [task] = eiso.get("/task", auth=THUKY, params={"processInstanceId": ours}).json()
    assert eiso.get("/task", auth=OUTSIDER, params={"processInstanceId": ours}).json() == []  # the same query, theirs
    assert (task["taskDefinitionKey"], task["processInstanceId"], task["assignee"], task["tenantId"]) == (
        "draft_objectives", ours, None, "skhcn-daklak")  # fmt: skip
    assert task["processDefinitionId"].startswith("quality_objectives:1:") and task["due"] is not None
    assert eiso.get("/task/count", auth=THUKY, params={"candidateGroup": "iso_secretary"}).json() == {"count": 1}
    assert eiso.get("/task/count", auth=THUKY, params={"candidateGroup": "unit_leader"}).json() == {"count": 0}
    assert eiso.get("/task/count", auth=THUKY, params={"candidateUser": "thuky", "unassigned": "true"}).json() \
        == {"count": 1}  # fmt: skip
    assert eiso.get("/task/count", auth=THUKY, params={"candidateUser": "giamdoc"}).json() == {"count": 0}
    assert eiso.get("/task/count", auth=THUKY, params={"assignee": "thuky"}).json() == {"count": 0}
    assert eiso.get(f"/task/{task['id']}", auth=THUKY).json() == task  # the same TaskDto, one task or a list
    assert task["links"] == [{"method": "GET", "rel": "self", "href": f"{eiso.url}/task/{task['id']}"}]
    assert task["executionId"] == task["id"] and task["priority"] == 50 and task["suspended"] is False
    # the other unit's secretary sees her own draft only, and ours is not there for her
    theirs = eiso.get("/task", auth=OUTSIDER).json()
    assert [t["tenantId"] for t in theirs] == ["ubnd-buonmathuot"]
    assert eiso.get("/task/count", auth=OUTSIDER, params={"processInstanceId": ours}).json() == {"count": 0}
    hidden = eiso.get(f"/task/{task['id']}", auth=OUTSIDER)
    assert hidden.status_code == 404 and task["id"] in hidden.json()["message"]
    # once the secretary holds the draft, a query by candidate leaves it out, as Camunda does, unless the
    # client asks for the tasks someone holds too
    claimed = requests.post(f"{eiso.api}/tasks/{task['id']}/claim", auth=THUKY, timeout=10)
    assert claimed.status_code == 200, claimed.text
    for by in ({"candidateUser": "thuky"}, {"candidateGroup": "iso_secretary"}):
        assert eiso.get("/task/count", auth=THUKY, params=by).json() == {"count": 0}, by
        held_too = eiso.get("/task", auth=THUKY, params={**by, "includeAssignedTasks": "true"}).json()
        assert [(t["id"], t["assignee"]) for t in held_too] == [(task["id"], "thuky")], by
    assert eiso.get("/task/count", auth=THUKY, params={"candidateUser": "giamdoc", "includeAssignedTasks": "true"}
                    ).json() == {"count": 0}  # fmt: skip
    with eiso.app.app_context():
        assert db.session.query(Unit).count() == 2
        db.session.remove()


def test_tasks_come_in_pages_in_the_order_asked_for_whoever_asked_the_same_query_before(eiso: Server) -> None:
    """One query asked with other values (page, order, instance, person) answers for those values: eISO
    reuses a query's statement from one call to the next, never its answer."""
    _outsider(eiso)
    started = [_start(eiso, "quality_objectives", f"MT-{n}", THUKY) for n in range(3)]
    theirs = _start(eiso, "quality_objectives", "MT-BMT", OUTSIDER)

    def page(auth: tuple[str, str], first: int, size: int, order: str = "asc") -> list[str]:
        asked = {"processDefinitionKey": "quality_objectives", "sortBy": "processInstanceId", "sortOrder": order,
                 "firstResult": first, "maxResults": size}  # fmt: skip
        return [t["processInstanceId"] for t in eiso.get("/task", auth=auth, params=asked).json()]

    oldest_first = sorted(started, key=int)
    assert page(THUKY, 0, 2) == oldest_first[:2] and page(THUKY, 2, 2) == oldest_first[2:]
    assert page(THUKY, 0, 2, "desc") == oldest_first[::-1][:2] and page(THUKY, 1, 1, "desc") == [oldest_first[1]]
    assert page(OUTSIDER, 0, 2) == [theirs] and page(THUKY, 0, 5) == oldest_first
    by_instance = [eiso.get("/task", auth=THUKY, params={"processInstanceIdIn": ",".join(pick)}).json()
                   for pick in (started[:1], started[1:])]  # fmt: skip
    assert [sorted(t["processInstanceId"] for t in found) for found in by_instance] == \
        [started[:1], sorted(started[1:], key=str)]  # fmt: skip
    counts = [eiso.get("/task/count", auth=who, params={"processDefinitionKey": "quality_objectives"}).json()
              for who in (THUKY, OUTSIDER, THUKY)]  # fmt: skip
    assert counts == [{"count": 3}, {"count": 1}, {"count": 3}]


def test_a_specialist_sees_in_the_task_list_only_the_tasks_of_their_own_work(eiso: Server) -> None:
    """The Camunda task list, count and task follow the rule of every other list: in a unit where a person
    holds no role that sees the whole unit, they see the tasks of their own work (and a department head their
    department's people's), never the rest of the unit's open tasks; the secretary sees them all."""
    colleague, specialist, head = ("chuyenvien", "demo"), ("chuyenvien3", "demo"), ("truongphong2", "demo")
    ours = _start(eiso, "quality_objectives", "MT-1", THUKY)
    [draft] = eiso.get("/task", auth=THUKY, params={"processInstanceId": ours}).json()
    api = f"{eiso.api}/tasks/{draft['id']}"

    def seen(auth: tuple[str, str]) -> tuple[list[str], int, int, int]:
        listed = [t["id"] for t in eiso.get("/task", auth=auth, params={"processDefinitionKey": "quality_objectives"}
                                            ).json()]  # fmt: skip
        counted = eiso.get("/task/count", auth=auth, params={"processInstanceId": ours}).json()["count"]
        return (listed, counted, eiso.get(f"/task/{draft['id']}", auth=auth).status_code,
                requests.get(api, auth=auth, timeout=10).status_code)

    # the secretary's draft: work of nobody of QLKH, nor of her colleague; her own department head sees it
    for outside in (colleague, specialist, head):
        assert seen(outside) == ([], 0, 404, 404), outside
        assert seen(outside) == ([], 0, 404, 404), outside  # asked again: the same answer
    for inside in (THUKY, ("truongphong", "demo")):
        assert seen(inside) == ([draft["id"]], 1, 200, 200), inside
    # she hands the draft to a specialist of QLKH: now it is his work and his department head's, still not
    # her colleague's
    assert requests.post(f"{api}/claim", auth=THUKY, timeout=10).status_code == 200
    handed = requests.post(f"{api}/delegate", auth=THUKY, timeout=10, json={"delegate": "chuyenvien3", "note": "xem"})
    assert handed.status_code == 200, handed.text
    for inside in (specialist, head, THUKY):
        assert seen(inside) == ([draft["id"]], 1, 200, 200), inside
    assert seen(colleague) == ([], 0, 404, 404)


def test_waiting_workers_never_hold_every_thread(eiso: Server) -> None:
    assert eiso.deploy("score_check.bpmn").status_code == 200
    eiso.app.extensions["eiso_long_poll"] = threading.BoundedSemaphore(1)
    body = {"workerId": "w", "maxTasks": 1, "asyncResponseTimeout": 3_000,
            "topics": [{"topicName": "scoreCheck", "lockDuration": 1_000}]}  # fmt: skip
    first = threading.Thread(target=eiso.post, args=("/external-task/fetchAndLock",), kwargs={"json": body})
    first.start()
    time.sleep(0.5)
    began = time.monotonic()
    second = eiso.post("/external-task/fetchAndLock", json={**body, "workerId": "w2"})
    answered = time.monotonic() - began
    assert second.status_code == 200 and second.json() == []
    assert answered < 1.5  # no free slot: one look and an answer, not a three-second wait
    assert first.is_alive()  # the first worker still waits for work
    assert requests.get(eiso.url + "/version", timeout=2).json()["version"]
    first.join()
