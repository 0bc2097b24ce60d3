"""The internal-audit and corrective-action processes worked through the engine, step by step, as people
fill their forms (``bpmn/internal-audit*.form``, ``bpmn/corrective-action*.form``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Engine, ProcessInstance, TaskRow, User
from tests.conftest import Clock

PROGRAMME = {"year": 2027, "title": "Chương trình đánh giá nội bộ năm 2027",
             "objectives": "Xác định mức độ phù hợp của hệ thống quản lý chất lượng",
             "scope": "Văn phòng Sở và Phòng Quản lý Khoa học", "criteria": "TCVN ISO 9001:2015; các quy trình của Sở",
             "expectedTime": "Tháng 5 năm 2027"}  # fmt: skip
CHECKLIST = [{"clause": "7.5", "question": "Hồ sơ có được kiểm soát, lưu trữ đúng quy định không?"}]


def plan(*rows: tuple[str, str, str], title: str = "Đợt 1 năm 2027") -> dict[str, Any]:
    """A detailed plan: (department, auditor, audit date) per row."""
    return {"roundTitle": title, "startsOn": "2027-05-10", "endsOn": "2027-05-14",
            "roundCriteria": "Điều 7.5, 8.5 TCVN ISO 9001:2015", "procedure": "Họp khai mạc; đánh giá; họp kết thúc",
            "auditPlan": [{"department": d, "auditor": a, "auditDate": day} for d, a, day in rows],
            "checklist": CHECKLIST}  # fmt: skip


def finding(classification: str, description: str, clause: str = "7.5.3") -> dict[str, Any]:
    return {"classification": classification, "clause": clause, "description": description,
            "evidence": "Hồ sơ số 12/2027 không có chữ ký người duyệt"}  # fmt: skip


def audit_result(*findings: dict[str, Any]) -> dict[str, Any]:
    return {"checklist": [{**CHECKLIST[0], "result": "nonconform" if findings else "conform", "note": ""}],
            "findings": list(findings), "auditSummary": "Phòng thực hiện cơ bản đúng quy trình."}  # fmt: skip


class Steps:
    """Who does what in one unit: open tasks of an instance, taken and completed by a named person."""

    def __init__(self, session: Session, clock: Clock, people: dict[str, User]) -> None:
        self.session, self.clock, self.people = session, clock, people
        self.engine = Engine(session)

    def open(self, instance: ProcessInstance, element: str | None = None) -> list[TaskRow]:
        self.session.expire_all()
        stmt = select(TaskRow).where(TaskRow.instance_id == instance.id, TaskRow.state == "open",
                                     TaskRow.kind == "user")  # fmt: skip
        rows = list(self.session.scalars(stmt.order_by(TaskRow.created_at, TaskRow.id)))
        return [r for r in rows if element is None or r.element_id == element]

    def one(self, instance: ProcessInstance, element: str) -> TaskRow:
        rows = self.open(instance, element)
        assert len(rows) == 1, [(r.element_id, r.state) for r in self.open(instance)]
        return rows[0]

    def do(self, instance: ProcessInstance, element: str, who: str, **values: Any) -> TaskRow:
        row = self.one(instance, element)
        self.clock.advance(hours=1)
        return self.engine.complete(row.id, actor=self.people[who], now=self.clock.now, variables=values)

    def do_task(self, row: TaskRow, who: str, **values: Any) -> TaskRow:
        self.clock.advance(hours=1)
        return self.engine.complete(row.id, actor=self.people[who], now=self.clock.now, variables=values)

    def children(self, instance: ProcessInstance) -> list[ProcessInstance]:
        self.session.expire_all()
        stmt = select(ProcessInstance).where(ProcessInstance.parent_instance_id == instance.id)
        found = list(self.session.scalars(stmt.order_by(ProcessInstance.id)))
        for child in list(found):  # the corrective actions are called from inside the per-finding subprocess
            found += self.children(child)
        return found

    def start_audit(self, who: str = "thuky") -> ProcessInstance:
        unit_id = next(iter(r.unit_id for r in self.people[who].roles))
        return self.engine.start("internal_audit", actor=self.people[who], unit_id=unit_id, now=self.clock.now)

    def approve_programme(self, audit: ProcessInstance, secretary: str = "thuky", leader: str = "giamdoc") -> None:
        self.do(audit, "draft_programme", secretary, **PROGRAMME)
        self.do(audit, "review_programme", leader, programmeDecision="approve")

    def approve_plan(self, audit: ProcessInstance, planned: dict[str, Any], secretary: str = "thuky",
                     leader: str = "giamdoc") -> None:  # fmt: skip
        self.do(audit, "draft_plan", secretary, **planned)
        self.do(audit, "review_plan", leader, planDecision="approve")

    def audit_department(self, audit: ProcessInstance, department: str, auditor: str, *found: dict[str, Any]) -> None:
        rows = [r for r in self.open(audit, "audit_department")
                if self.engine.task_data(r)["audit"]["department"] == department]  # fmt: skip
        assert len(rows) == 1
        self.do_task(rows[0], auditor, **audit_result(*found))

    def correct(self, action: ProcessInstance, head: str, *, verifier: str = "thuky", effective: bool = True) -> None:
        """A corrective action from its correction to its verification."""
        self.do(action, "record_correction", head, correction="Bổ sung chữ ký vào hồ sơ số 12/2027",
                correctionDate="2027-05-20")
        self.cause_and_plan(action, head)
        self.implement(action, head)
        self.verify(action, verifier, effective=effective)

    def cause_and_plan(self, action: ProcessInstance, head: str, due: str = "2027-06-30") -> None:
        self.do(action, "analyse_cause", head, causeMethod="five_whys",
                rootCause="Quy trình chưa quy định bước kiểm tra chữ ký trước khi lưu hồ sơ")
        self.do(action, "plan_actions", head, actions=[
            {"action": "Sửa quy trình lưu trữ, thêm bước kiểm tra", "owner": "Chánh Văn phòng", "dueDate": due}])

    def implement(self, action: ProcessInstance, head: str) -> None:
        self.do(action, "implement_actions", head,
                actions=[{"action": "Sửa quy trình lưu trữ, thêm bước kiểm tra", "owner": "Chánh Văn phòng",
                          "dueDate": "2027-06-30", "result": "Đã ban hành quy trình sửa đổi", "done": True}],
                implementation="Quy trình lưu trữ sửa đổi đã ban hành và phổ biến")  # fmt: skip

    def verify(self, action: ProcessInstance, verifier: str, *, effective: bool) -> None:
        self.do(action, "verify_effectiveness", verifier,
                verification="effective" if effective else "not_effective",
                verificationNote="Kiểm tra 20 hồ sơ: đủ chữ ký" if effective else "Vẫn còn 3 hồ sơ thiếu chữ ký")
