"""Work management over HTTP with the demo people: delegation and its way back, reassignment by a leader with
its reason, and taking several tasks at once, on the inbox pages and through /api/v1."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient

from tests.engine.test_runtime import DRAFT
from tests.webapp.conftest import basic, login
from tests.webapp.test_pages import DRAFT_POST

REVIEW = "Xem xét, phê duyệt mục tiêu"


def api(client: FlaskClient, who: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    response = client.open("/api/v1" + path, method=method, headers=basic(who), json=body)
    return response.status_code, response.get_json()


def started_draft(client: FlaskClient) -> str:
    """A new objectives instance started by ``thuky``; its draft task, held by her."""
    status, instance = api(client, "thuky", "POST", "/process-definitions/quality_objectives/start", {})
    assert status == 201, instance
    task_id = instance["tasks"][0]["id"]
    assert api(client, "thuky", "POST", f"/tasks/{task_id}/claim")[0] == 200
    return str(task_id)


def review(client: FlaskClient) -> tuple[str, int]:
    """A leaders' review, offered to both leaders and held by nobody; with its instance."""
    draft = started_draft(client)
    status, done = api(client, "thuky", "POST", f"/tasks/{draft}/complete", {"variables": DRAFT})
    assert status == 200, done
    _, instance = api(client, "thuky", "GET", f"/instances/{done['instance_id']}")
    [task] = [t for t in instance["tasks"] if t["state"] == "open"]
    assert (task["name"], task["assignee"]) == (REVIEW, None)
    return task["id"], done["instance_id"]


def task_json(client: FlaskClient, task_id: str, who: str = "giamdoc") -> dict[str, Any]:
    status, body = api(client, who, "GET", f"/tasks/{task_id}")
    assert status == 200, body
    return dict(body)


def test_a_delegated_draft_is_resolved_back_and_completed_by_the_secretary(client: FlaskClient) -> None:
    draft = started_draft(client)
    login(client, "thuky")
    page = client.get(f"/tasks/{draft}").get_data(as_text=True)
    assert "Ủy quyền cho đồng nghiệp" in page and 'value="chuyenvien"' in page
    assert 'value="thuky"' not in page  # not to herself
    sent = client.post(f"/tasks/{draft}/delegate", data={"delegate": "chuyenvien", "note": "Nhờ chị soạn giúp"})
    assert sent.status_code == 302
    inbox = client.get("/").get_data(as_text=True)
    assert "Công việc tôi đã ủy quyền" in inbox and "Hoàng Thị Lan" in inbox
    client.post("/logout")

    login(client, "chuyenvien")
    assert "Bạn được ủy quyền xử lý công việc: Soạn thảo mục tiêu chất lượng" in client.get("/notices").get_data(
        as_text=True)
    page = client.get(f"/tasks/{draft}").get_data(as_text=True)
    assert "Giải quyết xong và trả lại" in page and "do Lê Thị Mai Anh ủy quyền" in page
    assert 'name="_complete"' not in page
    refused = client.post(f"/tasks/{draft}", data={**DRAFT_POST, "_complete": "1"})
    assert refused.status_code == 403 and "hãy bấm “Giải quyết xong” để trả lại" in refused.get_data(as_text=True)
    assert task_json(client, draft, "thuky")["state"] == "open"
    back = client.post(f"/tasks/{draft}", data={**DRAFT_POST, "title": "Bản của chị Lan", "_resolve": "1",
                                                "_resolve_note": "Đã soạn xong phần mục tiêu"})  # fmt: skip
    assert back.status_code == 302
    assert f"/tasks/{draft}" not in client.get("/").get_data(as_text=True)
    client.post("/logout")

    login(client, "thuky")
    page = client.get(f"/tasks/{draft}").get_data(as_text=True)
    assert "Bản của chị Lan" in page and "Giải quyết xong và trả lại" not in page  # her draft now
    assert task_json(client, draft, "thuky")["delegation_state"] == "resolved"
    done = client.post(f"/tasks/{draft}", data={**DRAFT_POST, "title": "Bản của chị Lan"})
    assert done.status_code == 302
    history = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "ủy quyền công việc" in history and "thay mặt thuky" in history and "Nhờ chị soạn giúp" in history
    assert "giải quyết xong công việc được ủy quyền" in history and "Đã soạn xong phần mục tiêu" in history


def test_her_own_tasks_table_names_their_roles_while_she_has_a_task_delegated(client: FlaskClient) -> None:
    """The "Delegated to" column belongs to the delegated list alone: with a task delegated, her own tasks still
    show whom they are for, not a colleague's name."""
    delegated, kept = started_draft(client), started_draft(client)
    login(client, "thuky")
    assert client.post(f"/tasks/{delegated}/delegate", data={"delegate": "chuyenvien"}).status_code == 302
    inbox = client.get("/").get_data(as_text=True)
    mine = inbox[inbox.index('id="mine"'):inbox.index('id="claimable"')]
    sent = inbox[inbox.index("Công việc tôi đã ủy quyền"):]
    [line] = [row for row in mine.split("<tr ")[1:] if f'data-task="{kept}"' in row]
    assert "<th>Dành cho</th>" in mine and "Đã ủy quyền cho" not in mine
    assert "<td>Thư ký ISO</td>" in line and "Hoàng Thị Lan" not in mine, line
    assert "<th>Đã ủy quyền cho</th>" in sent and f'data-task="{delegated}"' in sent and "Hoàng Thị Lan" in sent


def test_a_leader_reassigns_with_a_reason_and_a_refusal_changes_nothing(client: FlaskClient) -> None:
    task_id, instance_id = review(client)
    assert api(client, "giamdoc", "POST", f"/tasks/{task_id}/claim")[0] == 200
    login(client, "giamdoc")
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    reassign_form = page[page.index(f'action="/tasks/{task_id}/reassign"'):]
    reassign_form = reassign_form[:reassign_form.index("</form>")]
    assert 'value="phogiamdoc"' in reassign_form and 'value="chuyenvien"' not in reassign_form  # leaders only
    no_reason = client.post(f"/tasks/{task_id}/reassign", data={"assignee": "phogiamdoc", "reason": " "})
    assert no_reason.status_code == 400 and "Hãy nhập lý do giao lại" in no_reason.get_data(as_text=True)
    not_eligible = client.post(f"/tasks/{task_id}/reassign", data={"assignee": "chuyenvien", "reason": "x"})
    assert not_eligible.status_code == 403
    assert "Hoàng Thị Lan không được xử lý công việc này" in not_eligible.get_data(as_text=True)
    assert task_json(client, task_id)["assignee"] == "giamdoc"
    done = client.post(f"/tasks/{task_id}/reassign", data={"assignee": "phogiamdoc",
                                                           "reason": "Giám đốc đi công tác"})  # fmt: skip
    assert done.status_code == 302
    assert task_json(client, task_id)["assignee"] == "phogiamdoc"
    history = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "giao lại công việc" in history and "Lý do: Giám đốc đi công tác" in history
    client.post("/logout")

    login(client, "phogiamdoc")
    assert "Bạn được giao công việc: Xem xét, phê duyệt mục tiêu" in client.get("/notices").get_data(as_text=True)
    assert re.search(rf'href="/tasks/{task_id}"', client.get("/").get_data(as_text=True))

    # the API: the specialist who started it may not; the deputy leader gives it back; a completed task is 409
    status, body = api(client, "thuky", "POST", f"/tasks/{task_id}/reassign", {"assignee": "giamdoc", "reason": "x"})
    assert status == 403 and "lãnh đạo phòng liên quan" in body["message"]
    status, body = api(client, "phogiamdoc", "POST", f"/tasks/{task_id}/reassign",
                       {"assignee": "giamdoc", "reason": "Giám đốc đã về"})  # fmt: skip
    assert (status, body["assignee"]) == (200, "giamdoc")
    approve = {"variables": {"decision": "approve"}}
    assert api(client, "giamdoc", "POST", f"/tasks/{task_id}/complete", approve)[0] == 200
    status, body = api(client, "giamdoc", "POST", f"/tasks/{task_id}/reassign", {"assignee": "phogiamdoc",
                                                                                 "reason": "x"})  # fmt: skip
    assert status == 409 and task_json(client, task_id)["state"] == "completed"


def test_bulk_claim_takes_the_free_tasks_and_lists_the_one_taken_meanwhile(client: FlaskClient) -> None:
    first, second, taken = (review(client)[0] for _ in range(3))
    assert api(client, "phogiamdoc", "POST", f"/tasks/{taken}/claim")[0] == 200  # taken meanwhile
    login(client, "giamdoc")
    inbox = client.get("/").get_data(as_text=True)
    assert f'name="task_id" value="{first}"' in inbox and "Nhận các công việc đã chọn" in inbox
    response = client.post("/tasks/bulk-claim", data={"task_id": [first, taken, second]}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Bạn đã nhận 2 công việc" in page
    assert "Chưa nhận được: Công việc này đã được Trần Thị Hồng Nhung nhận xử lý." in page
    assert [task_json(client, t)["assignee"] for t in (first, second, taken)] == ["giamdoc", "giamdoc", "phogiamdoc"]

    nothing = client.post("/tasks/bulk-claim", data={"task_id": [taken]})
    assert nothing.status_code == 409  # nothing taken: the inbox again, saying why
    assert client.post("/tasks/bulk-claim", data={}).status_code == 400
    status, body = api(client, "giamdoc", "POST", "/tasks/bulk-claim", {"task_ids": [taken, "khong-co"]})
    assert status == 409 and body["claimed"] == []
    assert [(r["id"], r["status"]) for r in body["refused"]] == [(taken, 409), ("khong-co", 404)]
    assert api(client, "giamdoc", "POST", "/tasks/bulk-claim", {"task_ids": "x"})[0] == 400


def test_a_substitute_on_leave_gets_her_new_tasks_on_the_pages_and_the_api(client: FlaskClient) -> None:
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    login(client, "thuky")
    page = client.get("/substitutes").get_data(as_text=True)
    assert "Phân công người thay" in page and 'value="chuyenvien"' in page
    unit_id = re.search(r'name="unit_id"><option value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    leave = {"unit_id": unit_id, "person": "thuky", "substitute": "chuyenvien", "starts_on": today.isoformat(),
             "ends_on": (today + timedelta(days=2)).isoformat(), "note": "Nghỉ phép năm"}  # fmt: skip
    wrong = client.post("/substitutes", data={**leave, "ends_on": (today - timedelta(days=1)).isoformat()})
    assert wrong.status_code == 400 and "Ngày kết thúc nghỉ trước ngày bắt đầu" in wrong.get_data(as_text=True)
    assert client.post("/substitutes", data={**leave, "starts_on": "mai"}).status_code == 400
    assert api(client, "thuky", "GET", "/substitutes")[1] == []  # nothing was arranged by the refusals
    assert client.post("/substitutes", data=leave).status_code == 302
    assert client.post("/substitutes", data=leave).status_code == 409  # the same days again
    client.post("/logout")

    # her new tasks by name go to the substitute: the recording step, given to the draft's author
    draft = started_draft(client)
    api(client, "thuky", "POST", f"/tasks/{draft}/complete", {"variables": DRAFT})
    _, instance = api(client, "thuky", "GET", f"/instances/{task_json(client, draft, 'thuky')['instance_id']}")
    [review_task] = [t for t in instance["tasks"] if t["state"] == "open"]
    api(client, "giamdoc", "POST", f"/tasks/{review_task['id']}/complete", {"variables": {"decision": "approve"}})
    _, instance = api(client, "giamdoc", "GET", f"/instances/{instance['id']}")
    [record] = [t for t in instance["tasks"] if t["state"] == "open"]
    assert record["assignee"] == "chuyenvien"
    created = [e for e in instance["history"] if e["kind"] == "task_created" and e["task_id"] == record["id"]]
    assert created[0]["data"]["on_behalf_of"] == {"thuky": "chuyenvien"}
    login(client, "chuyenvien")
    assert "Bạn nhận công việc thay Lê Thị Mai Anh: Ghi nhận và phổ biến mục tiêu" in client.get("/notices").get_data(
        as_text=True)
    assert "thay mặt thuky" in client.get(f"/instances/{instance['id']}").get_data(as_text=True)

    # another unit's person does not cancel it; she does, through the API
    [arranged] = api(client, "chuyenvien", "GET", "/substitutes")[1]
    assert api(client, "chuyenvien2", "POST", f"/substitutes/{arranged['id']}/cancel")[0] == 403
    status, done = api(client, "thuky", "POST", f"/substitutes/{arranged['id']}/cancel")
    assert status == 200 and done["cancelled_at"]
    assert api(client, "thuky", "GET", "/substitutes")[1] == []
