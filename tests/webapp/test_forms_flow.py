"""Forms as staff meet them: start forms, evidence files, drafts, live conditions, generated forms."""

from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.org.models import User
from engine.runtime.models import ProcessInstance, StoredFile
from tests.conftest import deploy_fixture
from tests.webapp.conftest import basic, login
from webapp.extensions import sa_session

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000a49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)


@pytest.fixture
def evidence(app: Flask, client: FlaskClient) -> FlaskClient:
    with app.app_context():
        from datetime import UTC, datetime

        deploy_fixture(sa_session(), datetime.now(UTC), "evidence.bpmn", "evidence-start.form", "evidence-attach.form",
                       "c7_generated.bpmn")  # fmt: skip
    return login(client, "thuky")


def _unit_id(client: FlaskClient) -> str:
    page = client.get("/processes").get_data(as_text=True)
    return re.search(r'name="unit_id" value="(\d+)"', page).group(1)  # type: ignore[union-attr]


def _start_evidence(client: FlaskClient, **fields: str) -> str:
    unit_id = _unit_id(client)
    data = {"unit_id": unit_id, "subject": "Biên bản họp xem xét", "kind": "minutes", **fields}
    response = client.post("/processes/evidence/start", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def test_start_form_validates_and_keeps_input(evidence: FlaskClient) -> None:
    unit_id = _unit_id(evidence)
    catalogue = evidence.get("/processes").get_data(as_text=True)
    assert 'action="/processes/evidence/start"' in catalogue and 'method="get"' in catalogue
    page = evidence.get(f"/processes/evidence/start?unit_id={unit_id}").get_data(as_text=True)
    assert 'name="subject"' in page and "Lý do khẩn" in page
    refused = evidence.post("/processes/evidence/start", data={"unit_id": unit_id, "subject": "Họp", "kind": "minutes",
                                                              "urgent": "true", "urgentReason": ""})  # fmt: skip
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert 'value="Họp"' in body and "Trường này là bắt buộc" in body
    task_url = _start_evidence(evidence, urgent="true", urgentReason="Đoàn đánh giá đến sớm")
    assert task_url.startswith("/tasks/")
    data = evidence.get(f"/api/v1/tasks/{task_url.rsplit('/', 1)[1]}", headers=basic("thuky")).json["data"]
    assert (data["subject"], data["urgent"], data["urgentReason"]) == ("Biên bản họp xem xét", True,
                                                                        "Đoàn đánh giá đến sớm")  # fmt: skip


def test_refused_form_keeps_the_uploaded_file_and_completes_later(app: Flask, evidence: FlaskClient) -> None:
    task_url = _start_evidence(evidence)
    first = evidence.post(task_url, data={"items[0].name": "", "_rows:items": "1",
                                          "evidence": [(io.BytesIO(PDF), "bien-ban.pdf", "application/pdf")]},
                          content_type="multipart/form-data")  # fmt: skip
    assert first.status_code == 422
    page = first.get_data(as_text=True)
    assert "bien-ban.pdf" in page and "Trường này là bắt buộc" in page
    stashed = re.search(r'name="_file:evidence" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]

    done = evidence.post(task_url, data={"items[0].name": "Biên bản số 3", "_rows:items": "1",
                                         "_file:evidence": stashed}, content_type="multipart/form-data")  # fmt: skip
    assert done.status_code == 302
    instance_page = evidence.get(done.headers["Location"]).get_data(as_text=True)
    assert "bien-ban.pdf" in instance_page  # listed with the step in the history and under the files
    download = evidence.get(f"/files/{stashed}")
    assert download.status_code == 200 and download.data == PDF
    assert "attachment" in download.headers["Content-Disposition"]
    with app.app_context():
        stored = sa_session().get(StoredFile, stashed)
        assert stored is not None and stored.state == "attached"
        instance = sa_session().get(ProcessInstance, stored.instance_id)
        assert instance is not None and instance.status == "completed"


def test_files_are_checked_before_they_are_kept(evidence: FlaskClient) -> None:
    task_url = _start_evidence(evidence)
    fake = evidence.post(task_url, data={"items[0].name": "x", "_rows:items": "1",
                                         "evidence": [(io.BytesIO(PNG), "hop-dong.pdf", "application/pdf")]},
                         content_type="multipart/form-data")  # fmt: skip
    assert fake.status_code == 422
    assert "hop-dong.pdf" in fake.get_data(as_text=True)
    program = evidence.post(task_url, data={"items[0].name": "x", "_rows:items": "1",
                                            "evidence": [(io.BytesIO(b"MZ\x90\x00" + b"\x00" * 60), "setup.exe")]},
                            content_type="multipart/form-data")  # fmt: skip
    assert program.status_code == 422
    wrong_kind = evidence.post(task_url, data={"items[0].name": "x", "_rows:items": "1",
                                               "evidence": [(io.BytesIO(b"a,b\n"), "bang.csv", "text/csv")]},
                               content_type="multipart/form-data")  # fmt: skip
    assert wrong_kind.status_code == 422  # the form accepts only .pdf and .png


def test_files_are_only_for_people_of_the_unit(app: Flask, evidence: FlaskClient) -> None:
    task_url = _start_evidence(evidence)
    page = evidence.post(task_url, data={"items[0].name": "", "_rows:items": "1",
                                         "evidence": [(io.BytesIO(PDF), "bien-ban.pdf", "application/pdf")]},
                         content_type="multipart/form-data").get_data(as_text=True)  # fmt: skip
    file_id = re.search(r'name="_file:evidence" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    with app.app_context():
        from engine.org.people import hash_password

        sa_session().add(User(username="outsider", full_name="Người ngoài", password_hash=hash_password("demo")))
        sa_session().commit()
    evidence.post("/logout")
    login(evidence, "truongphong")
    assert evidence.get(f"/files/{file_id}").status_code == 403  # still pending: only its uploader sees it
    evidence.post("/logout")
    login(evidence, "outsider")
    assert evidence.get(f"/files/{file_id}").status_code == 404  # not of the unit: as if it did not exist
    assert evidence.get("/files/nope").status_code == 404


def test_draft_is_saved_and_resumed_by_the_same_user(evidence: FlaskClient) -> None:
    task_url = _start_evidence(evidence)
    saved = evidence.post(task_url, data={"items[0].name": "Bản nháp danh mục", "_rows:items": "1", "_draft": "1"},
                          content_type="multipart/form-data")  # fmt: skip
    assert saved.status_code == 302
    page = evidence.get(task_url).get_data(as_text=True)
    assert "Bản nháp danh mục" in page and "bản nháp" in page.lower()
    evidence.post("/logout")
    login(evidence, "truongphong")
    assert "Bản nháp danh mục" not in evidence.get(task_url).get_data(as_text=True)


def test_conditions_follow_what_the_user_types(evidence: FlaskClient) -> None:
    task_url = _start_evidence(evidence, kind="other")
    page = evidence.get(task_url).get_data(as_text=True)
    assert re.search(r'data-conditional="[^"]+"(?! hidden)', page)  # explanation shown: kind is "other"
    hidden = evidence.post(task_url + "/conditions", data={"items[0].name": "x", "_rows:items": "1"}).json["hidden"]
    assert list(hidden.values()) == [False]
    unit_id = _unit_id(evidence)
    start = evidence.post(f"/processes/evidence/start?unit_id={unit_id}", data={"unit_id": unit_id})
    assert start.status_code == 422  # required subject and kind


def test_add_row_without_javascript(evidence: FlaskClient) -> None:
    task_url = _start_evidence(evidence)
    more = evidence.post(task_url, data={"items[0].name": "Một", "_rows:items": "1", "_form_action": "add:items"},
                         content_type="multipart/form-data")  # fmt: skip
    assert more.status_code == 200
    page = more.get_data(as_text=True)
    assert 'name="items[1].name"' in page and 'value="Một"' in page


def test_camunda7_generated_form_renders_and_validates(app: Flask, evidence: FlaskClient) -> None:
    evidence.post("/processes/c7_generated/start", data={"unit_id": _unit_id(evidence)})
    evidence.post("/logout")
    login(evidence, "danhgiavien")
    inbox = evidence.get("/").get_data(as_text=True)
    task_url = re.search(r'href="(/tasks/[^"]+)">Đăng ký', inbox).group(1)  # type: ignore[union-attr]
    page = evidence.get(task_url).get_data(as_text=True)
    assert 'name="days"' in page and 'value="2"' in page and "Toàn đơn vị" in page
    refused = evidence.post(task_url, data={"auditor": "", "days": "30", "scope": "unit"})
    assert refused.status_code == 422
    assert "Trường này là bắt buộc" in refused.get_data(as_text=True)
    done = evidence.post(task_url, data={"auditor": "Phan Thanh Sơn", "days": "3", "scope": "department",
                                         "startDate": "2027-03-01"})  # fmt: skip
    assert done.status_code == 302


def test_a_form_kept_outside_eiso_is_linked_from_the_task_with_its_data(app: Flask) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import select

    from engine import Engine
    from engine.runtime.models import TaskRow

    with app.app_context():
        deploy_fixture(sa_session(), datetime.now(UTC), "external_form_c8.bpmn")
        thuky = sa_session().scalar(select(User).where(User.username == "thuky"))
        started = Engine(sa_session()).start("external_form", actor=thuky, unit_id=thuky.roles[0].unit_id,
                                             now=datetime.now(UTC), variables={"maHoSo": "H22-0001"})  # fmt: skip
        instance_id = started.id
    client = login(app.test_client(), "thuky")
    with app.app_context():
        task_id = sa_session().scalar(select(TaskRow.id).where(TaskRow.instance_id == instance_id))
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'href="https://dichvucong.gov.vn/ho-so?ma=H22-0001"' in page
    api = app.test_client().get(f"/api/v1/tasks/{task_id}", headers=basic("thuky")).get_json()
    assert api["externalForm"] == "https://dichvucong.gov.vn/ho-so?ma=H22-0001"
    assert client.post(f"/tasks/{task_id}", data={"_complete": "1"}).status_code == 302
    with app.app_context():
        task_id = sa_session().scalar(select(TaskRow.id).where(TaskRow.instance_id == instance_id,
                                                               TaskRow.state == "open"))  # fmt: skip
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "javascript:" not in page and "external-form" not in page  # only web addresses are linked
    assert app.test_client().get(f"/api/v1/tasks/{task_id}", headers=basic("thuky")).get_json()["externalForm"] is None


def test_a_form_kept_outside_eiso_must_be_a_web_address(app: Flask) -> None:
    from datetime import UTC, datetime

    from engine import Deployer, SourceFile
    from engine.errors import DeploymentRejected
    from tests.conftest import FIXTURES

    text = (FIXTURES / "external_form_c8.bpmn").read_text(encoding="utf-8")
    literal = text.replace('externalReference="=&#34;javascript:alert(&#34; + string(1) + &#34;)&#34;"',
                           'externalReference="javascript:alert(1)"')  # fmt: skip
    assert literal != text
    with app.app_context(), pytest.raises(DeploymentRejected) as refused:
        Deployer(sa_session()).deploy([SourceFile("external.bpmn", literal.encode())], actor=None,
                                      now=datetime.now(UTC))  # fmt: skip
    [problem] = refused.value.problems
    assert problem.element_id == "fixed_link" and "javascript:alert(1)" in str(problem.message)
