"""The shipped ISO processes filled in as their people fill them: the form posts of each step, and whole runs
through the engine for tests that need a register with rows in it (the web tests post the same forms over HTTP).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Engine
from engine.org.models import Unit, User
from engine.runtime.models import ProcessInstance, TaskRow

Post = dict[str, list[str]]


def open_tasks(session: Session, instance_id: int, element_id: str | None = None) -> list[TaskRow]:
    session.expire_all()
    stmt = select(TaskRow).where(TaskRow.instance_id == instance_id, TaskRow.state == "open")
    if element_id is not None:
        stmt = stmt.where(TaskRow.element_id == element_id)
    return list(session.scalars(stmt.order_by(TaskRow.created_at, TaskRow.id)))


def rows(name: str, items: list[Mapping[str, Any]]) -> Post:
    """A dynamic list as the browser posts it: ``name[i].key`` for each row, and the row count."""
    post: Post = {f"_rows:{name}": [str(len(items))]}
    for index, item in enumerate(items):
        for key, value in item.items():
            if value is not None:
                post[f"{name}[{index}].{key}"] = [str(value)]
    return post


# --- risk management (bpmn/risk-management.bpmn) -----------------------------------------------------------------


def risk_plan(departments: list[str], year: int = 2027, **changes: str) -> Post:
    return {
        "year": [str(year)], "title": [f"Đánh giá rủi ro năm {year}"],
        "scope": ["Các quy trình giải quyết thủ tục hành chính và quy trình nội bộ"],
        "objectives": ["Nhận diện, đánh giá và xử lý rủi ro ảnh hưởng đến mục tiêu chất lượng"],
        "resources": ["Thư ký ISO và lãnh đạo các phòng"], "startDate": [f"{year}-01-05"],
        "endDate": [f"{year}-02-05"], "methods": ["interview", "data"], "riskDepartmentCodes": departments,
        **{k: [v] for k, v in changes.items()},
    }  # fmt: skip


def decision(choice: str, reason: str = "") -> Post:
    return {"decision": [choice], **({"returnReason": [reason]} if reason else {})}


def identified(department: str) -> Post:
    """A department's two risks: a high one (4 × 4) and a low one (1 × 2)."""
    return rows("risks", [
        {"description": f"Hồ sơ trễ hạn do thiếu nhân lực ({department})", "activity": "Tiếp nhận hồ sơ",
         "cause": "Cán bộ nghỉ phép", "consequence": "Người dân phàn nàn", "severity": 4, "likelihood": 4},
        {"description": f"Mất dữ liệu do sự cố máy chủ ({department})", "severity": 1, "likelihood": 2},
    ])  # fmt: skip


def assessed(all_risks: list[Mapping[str, Any]], **scores: tuple[int, int]) -> Post:
    """The secretary's list as it stands, with some risks (by 1-based position ``r1``…) scored again."""
    items = []
    for number, risk in enumerate(all_risks, start=1):
        severity, likelihood = scores.get(f"r{number}", (risk["severity"], risk["likelihood"]))
        items.append({"department": risk["department"], "description": risk["description"],
                      "activity": risk.get("activity"), "cause": risk.get("cause"),
                      "consequence": risk.get("consequence"), "severity": severity, "likelihood": likelihood})
    return rows("allRisks", items)


def treated(group: Mapping[str, Any], owner: str = "Phạm Văn Hùng") -> Post:
    """Treatment for every risk that needs it (reduce, with an owner and a date); the others accepted."""
    items = []
    for risk in group["risks"]:
        if risk["treatmentRequired"]:
            items.append({"treatment": "reduce", "action": "Bố trí cán bộ trực thay, theo dõi hạn hằng ngày",
                          "owner": owner, "dueDate": "2027-06-30"})
        else:
            items.append({"treatment": "accept"})
    return rows("group.risks", items)


def reported(interval: str = "P3M") -> Post:
    return {"summary": ["Đã nhận diện và đánh giá rủi ro; các rủi ro mức cao có kế hoạch xử lý."],
            "monitoringInterval": [interval]}  # fmt: skip


def monitored(risks: list[Mapping[str, Any]], *, close: tuple[str, ...] = (), raise_: tuple[str, ...] = (),
              stop: bool = False) -> Post:  # fmt: skip
    """One monitoring round: actions in progress, risks ``close`` closed, risks ``raise_`` scored 5 × 5."""
    items = []
    for risk in risks:
        accepted = risk["treatment"] == "accept"
        item: dict[str, Any] = {"treatment": risk["treatment"], "actionStatus": "none" if accepted else "in_progress",
                                "effectiveness": "not_evaluated", "severity": risk["severity"],
                                "likelihood": risk["likelihood"], "status": "open", "note": ""}  # fmt: skip
        if not accepted:
            item.update(action=risk["action"], owner=risk["owner"], dueDate=risk["dueDate"])
        if risk["code"] in close:
            item.update(actionStatus="done" if not accepted else "none", effectiveness="effective", status="closed",
                        note="Đã kiểm soát")  # fmt: skip
        if risk["code"] in raise_:
            item.update(severity=5, likelihood=5, note="Tình hình xấu đi")
        items.append(item)
    return {**rows("monitoredRisks", items), "reviewSummary": ["Các biện pháp đang được thực hiện."],
            "continueMonitoring": ["stop" if stop else "continue"]}  # fmt: skip


@dataclass
class UnitPeople:
    """Who works a process in a unit: its ISO secretary, a leader, and a head for each department."""

    unit: Unit
    secretary: User
    leader: User
    heads: dict[str, User]


def run_risk_assessment(session: Session, engine: Engine, people: UnitPeople, at: datetime,
                        departments: list[str], year: int = 2027) -> ProcessInstance:  # fmt: skip
    """A risk assessment from the plan to the secretary's report: the register has its risks, monitoring waits."""
    instance = engine.start("risk_management", actor=people.secretary, unit_id=people.unit.id, now=at)
    [plan] = open_tasks(session, instance.id)
    engine.complete(plan.id, actor=people.secretary, now=at, post=risk_plan(departments, year))
    [approve] = open_tasks(session, instance.id)
    engine.complete(approve.id, actor=people.leader, now=at, post=decision("approve"))
    for task in open_tasks(session, instance.id, "identify_risks"):
        code = engine.task_data(task)["department"]["value"]
        engine.complete(task.id, actor=people.heads[code], now=at, post=identified(code))
    [assess] = open_tasks(session, instance.id)
    engine.complete(assess.id, actor=people.secretary, now=at, post=assessed(engine.task_data(assess)["allRisks"]))
    for task in open_tasks(session, instance.id, "plan_treatment"):
        group = engine.task_data(task)["group"]
        engine.complete(task.id, actor=people.heads[group["department"]["value"]], now=at, post=treated(group))
    [report] = open_tasks(session, instance.id)
    engine.complete(report.id, actor=people.secretary, now=at, post=reported())
    return instance
