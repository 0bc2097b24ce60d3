"""The ISO registers as read-only JSON (/api/v1/registers): the same rows and filters as the pages, one row by id,
for an account or an API token that reads instances; another unit's rows, ``?unit=`` and rows by id not found."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine import Unit
from engine.iso.risks import Risk
from tests.conftest import make_unit, make_user
from tests.iso_flows import UnitPeople, run_risk_assessment
from tests.webapp.conftest import basic
from tests.webapp.test_api_tokens import bearer, make_token, person
from webapp.extensions import db, now

NAMES = ["assignments", "audit-findings", "audit-programmes", "complaints", "corrective-actions", "documents",
         "objectives", "policies", "review-actions", "reviews", "risks"]  # fmt: skip


def _risks(app: Flask) -> list[int]:
    """A risk assessment of the demo unit run to its report: the risks' ids."""
    with app.app_context():
        from engine import Engine

        session = db.session
        unit = session.scalar(select(Unit).where(Unit.code == "skhcn-daklak"))
        people = UnitPeople(unit, person(session, "thuky"), person(session, "giamdoc"),
                            {"vp": person(session, "truongphong")})  # fmt: skip
        instance = run_risk_assessment(session, Engine(session), people, now(), ["vp"])
        found = list(session.scalars(select(Risk.id).where(Risk.instance_id == instance.id).order_by(Risk.id)))
        db.session.remove()
        return found


def test_the_registers_are_listed_and_read_with_their_filters(app: Flask, client: FlaskClient) -> None:
    listed = client.get("/api/v1/registers", headers=basic("thuky"))
    assert listed.status_code == 200 and [r["name"] for r in listed.json] == NAMES
    assert {r["name"] for r in listed.json if r["rows_by_id"]} == {"assignments", "complaints", "reviews", "risks"}
    ids = _risks(app)
    read = client.get("/api/v1/registers/risks", headers=basic("chuyenvien")).json
    assert read["count"] == len(ids) == len(read["rows"]) and {r["id"] for r in read["rows"]} == set(ids)
    first = client.get(f"/api/v1/registers/risks/{ids[0]}", headers=basic("chuyenvien")).json
    assert first["code"].startswith("RR-") and first["unit"] == "Sở Khoa học và Công nghệ tỉnh Đắk Lắk"
    assert first["status"] in ("Đang theo dõi", "Being monitored")  # named, as the export names it, not "open"
    assert client.get("/api/v1/registers/risks?status=closed", headers=basic("thuky")).json["count"] == 0
    refused = client.get("/api/v1/registers/risks?status=late", headers=basic("thuky"))
    assert refused.status_code == 400 and "late" in refused.json["message"]
    assert client.get("/api/v1/registers/reviews?year=20x7", headers=basic("thuky")).status_code == 400
    unknown = client.get("/api/v1/registers/rumours", headers=basic("thuky"))
    assert unknown.status_code == 404 and "rumours" in unknown.json["message"]
    assert client.get("/api/v1/registers/documents/1", headers=basic("thuky")).status_code == 404  # no rows by id
    assert client.get("/api/v1/registers/risks").status_code == 401


def test_another_unit_reads_none_of_it(app: Flask, client: FlaskClient) -> None:
    ids = _risks(app)
    with app.app_context():
        other = make_unit(db.session)
        make_user(db.session, "thuky_bmt", other, ("iso_secretary", "unit_leader", "internal_auditor"), "vp")
        demo_id = db.session.scalar(select(Unit.id).where(Unit.code == "skhcn-daklak"))
    outsider = basic("thuky_bmt")
    assert client.get("/api/v1/registers/risks", headers=outsider).json["count"] == 0
    assert client.get(f"/api/v1/registers/risks/{ids[0]}", headers=outsider).status_code == 404
    assert client.get(f"/api/v1/registers/policies?unit={demo_id}", headers=outsider).status_code == 404
    assert client.get("/api/v1/registers/reviews?unit=skhcn-daklak", headers=outsider).status_code == 404
    assert client.get("/api/v1/registers/corrective-actions", headers=outsider).json["count"] == 0
    assert client.get("/api/v1/registers/corrective-actions", headers=basic("chuyenvien")).status_code == 403


def test_a_token_reads_the_registers_with_the_scope_that_reads_instances(app: Flask, client: FlaskClient) -> None:
    ids = _risks(app)
    _id, reader = make_token(app, holder="thuky", scopes=("tasks",))
    assert client.get("/api/v1/registers/risks", headers=bearer(reader)).json["count"] == len(ids)
    _id, deployer = make_token(app, holder="thuky", scopes=("deploy",), name="Modeler")
    refused = client.get("/api/v1/registers/risks", headers=bearer(deployer))
    assert refused.status_code == 403
