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


# --- control of documented information (bpmn/document-control.bpmn) ---------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def document_draft(code: str, change: str = "new", distribution: tuple[str, ...] = ("vp",), **changes: str) -> Post:
    """A procedure as its drafter writes it: the seven sections, one step, one form, one record."""
    post: Post = {
        "changeType": [change], "code": [code], "title": ["Quy trình giải quyết khiếu nại, phản ánh"],
        "kind": ["procedure"], "ownerDepartment": ["vp"],
        "changeSummary": ["Ban hành lần đầu" if change == "new" else "Rút ngắn thời hạn trả lời còn 10 ngày"],
        "purpose": ["Quy định trình tự tiếp nhận, giải quyết phản ánh của tổ chức, cá nhân"],
        "scope": ["Áp dụng cho các phòng thuộc đơn vị"], "references": ["TCVN ISO 9001:2015; Luật Khiếu nại 2011"],
        "definitions": ["PA: phản ánh, kiến nghị"],
        **rows("steps", [{"responsible": "Văn phòng", "work": "Tiếp nhận, vào sổ phản ánh", "timeLimit": "01 ngày"}]),
        **rows("formsList", [{"formCode": "BM-01", "formName": "Sổ theo dõi phản ánh"}]),
        **rows("records", [{"recordName": "Sổ theo dõi phản ánh", "keeper": "Văn phòng", "retention": "05 năm"}]),
        "distribution": list(distribution),
    }  # fmt: skip
    if change == "revise":
        post["changedSections"] = ["steps"]
    post.update({k: [v] for k, v in changes.items()})
    return post


def issued(decision_number: str = "12/QĐ-SKHCN", issue_date: str = "2027-01-05", **changes: Any) -> Post:
    return {"decisionNumber": [decision_number], "issueDate": [issue_date], "effectiveDate": ["2027-01-15"],
            **{k: v if isinstance(v, list) else [v] for k, v in changes.items()}}  # fmt: skip


def review(choice: str, reason: str = "") -> Post:
    return {"reviewDecision": [choice], **({"reviewReason": [reason]} if reason else {})}


def run_document_control(session: Session, engine: Engine, people: UnitPeople, at: datetime, code: str,
                         change: str = "new", drafter: User | None = None,
                         decision_number: str = "12/QĐ-SKHCN") -> ProcessInstance:  # fmt: skip
    """A proposal from the draft (with its signed PDF) through review and approval to its issue."""
    from engine import Upload

    author = drafter or people.secretary
    instance = engine.start("document_control", actor=author, unit_id=people.unit.id, now=at)
    [draft] = open_tasks(session, instance.id)
    files = engine.stash_uploads(draft.id, [Upload("documentFiles", f"{code}.pdf", "application/pdf", PDF)],
                                 actor=author, now=at)  # fmt: skip
    engine.complete(draft.id, actor=author, now=at, post=document_draft(code, change), files=files)
    [check] = open_tasks(session, instance.id)
    assert check.element_id == "review_document", engine.task_data(check).get("documentProblem")
    engine.complete(check.id, actor=people.secretary, now=at, post=review("accept"))
    [approve] = open_tasks(session, instance.id)
    engine.complete(approve.id, actor=people.leader, now=at, post=decision("approve"))
    [issue] = open_tasks(session, instance.id)
    engine.complete(issue.id, actor=people.secretary, now=at,
                    post=issued(decision_number, distribution=["vp"]))  # fmt: skip
    return instance


# --- complaints and feedback (bpmn/complaint-handling.bpmn) ------------------------------------------------------


def complaint_record(**changes: str) -> Post:
    return {
        "kind": ["complaint"], "source": ["citizen"], "channel": ["phone"], "complainantName": ["Nguyễn Thị Hoa"],
        "phone": ["0912345678"], "email": ["hoa@example.vn"], "subject": ["Hồ sơ cấp phép trễ hẹn 5 ngày"],
        "content": ["Tôi nộp hồ sơ ngày 02/11, giấy hẹn trả 09/11 nhưng đến nay chưa nhận được kết quả."],
        "dossierCode": ["000.00.01.H22-261102-0001"], **{k: [v] for k, v in changes.items()},
    }  # fmt: skip


def assignment(department: str = "vp", days: int = 10) -> Post:
    return {"assignedDepartment": [department], "answerDays": [str(days)],
            "instructions": ["Kiểm tra ngay, trả lời bằng văn bản"]}  # fmt: skip


def answered(finding: str = "justified") -> Post:
    return {"finding": [finding], "answer": ["Hồ sơ trễ do thiếu ý kiến phối hợp; đã trả kết quả ngày 20/11."],
            "actions": ["Nhắc phòng phối hợp trả lời đúng hạn"]}  # fmt: skip


def followed_up(satisfaction: str | None = "satisfied") -> Post:
    if satisfaction is None:
        return {"contacted": ["no"]}
    return {"contacted": ["yes"], "satisfaction": [satisfaction], "satisfactionNote": ["Cảm ơn đơn vị"]}


def run_complaint(session: Session, engine: Engine, people: UnitPeople, at: datetime, *, department: str = "vp",
                  days: int = 10, answer_at: datetime | None = None,
                  satisfaction: str | None = "satisfied") -> ProcessInstance:  # fmt: skip
    """A complaint received by the secretary, answered by the department's head (at ``answer_at``), approved by
    the leader and followed up."""
    instance = engine.start("complaint_handling", actor=people.secretary, unit_id=people.unit.id, now=at,
                            post=complaint_record())  # fmt: skip
    [assign] = open_tasks(session, instance.id)
    engine.complete(assign.id, actor=people.secretary, now=at, post=assignment(department, days))
    when = answer_at or at
    [answer] = open_tasks(session, instance.id)
    engine.complete(answer.id, actor=people.heads[department], now=when, post=answered())
    [approve] = open_tasks(session, instance.id)
    engine.complete(approve.id, actor=people.leader, now=when, post=decision("approve"))
    [follow] = open_tasks(session, instance.id)
    engine.complete(follow.id, actor=people.secretary, now=when, post=followed_up(satisfaction))
    return instance
