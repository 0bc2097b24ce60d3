"""Shared test data for the forms package: form files, a fake FEEL evaluator, valid submissions."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import lxml.html

from forms import Form, load_form_js

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = Path(os.environ.get("EISO_CORPUS") or Path(__file__).parents[3] / "shared" / "corpus") / "camunda7-examples"
TODAY = date(2025, 6, 2)


def load(path: Path) -> Form:
    return load_form_js(json.loads(path.read_text(encoding="utf-8")))


def fixture_form(name: str) -> Form:
    return load(FIXTURES / name)


def _not(value: Any) -> Any:
    return None if value is None else not value


# The few FEEL expressions the fixtures use, with FEEL's null semantics where they matter.
_EXPRESSIONS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    'decision != "return"': lambda v: v.get("decision") != "return",
    "tagOptions": lambda v: v.get("tagOptions"),
    'title + " - " + dossierCode': lambda v: (
        f"{v['title']} - {v['dossierCode']}" if isinstance(v.get("title"), str) and v.get("dossierCode") else None
    ),
    "history": lambda v: v.get("history"),
    "feeColumns": lambda v: v.get("feeColumns"),
    "documents": lambda v: v.get("documents"),
    "not(wantsExtras)": lambda v: _not(v.get("wantsExtras")),
    'this.name = ""': lambda v: v["this"].get("name") == "" if "name" in v["this"] else None,
}


def fake_feel(expression: str, variables: Mapping[str, Any]) -> Any:
    """Stands in for engine/expressions/feel.py; an unexpected expression fails the test loudly."""
    return _EXPRESSIONS[expression](variables)


PLAN_DATA: dict[str, Any] = {
    "unitName": "Sở Thông tin và Truyền thông",
    "departments": [{"label": "Văn phòng Sở", "value": "vp"}, {"label": "Phòng Bưu chính", "value": "bc"}],
    "tagOptions": [{"label": "Cải cách hành chính", "value": "cai-cach"}, {"label": "Chuyển đổi số", "value": "cds"}],
}

_VALID_PLAN_POST: dict[str, list[str]] = {
    "unitName": ["Sở Thông tin và Truyền thông"],
    "documentCode": ["KH-03/2025"],
    "title": ["Kế hoạch thực hiện mục tiêu chất lượng năm 2025"],
    "contact.email": ["thuky.iso@stttt.gov.vn"],
    "contact.phone": ["0236 3822 123"],
    "budget.amount": ["150000000"],
    "targetRate": ["95,5"],
    "auditSessions": ["4"],
    "deadline": ["2025-12-31"],
    "kickoffTime": ["08:30"],
    "reviewAt": ["2025-06-15T14:00"],
    "department": ["vp"],
    "priority": ["high"],
    "standards": ["iso9001", "iso27001"],
    "tags": ["cai-cach"],
    "decision": ["approve"],
    "returnReason": [""],
    "_rows:plan.objectives": ["2"],
    "plan.objectives[0].objective": ["Giải quyết 100% hồ sơ đúng hạn"],
    "plan.objectives[0].indicator.target": ["100"],
    "_rows:plan.objectives[0].actions": ["1"],
    "plan.objectives[0].actions[0].action": ["Rà soát quy trình tiếp nhận"],
    "plan.objectives[0].actions[0].owner": ["Bộ phận một cửa"],
    "plan.objectives[1].objective": ["Mức hài lòng của người dân trên 90%"],
    "plan.objectives[1].indicator.target": ["90.5"],
    "_rows:plan.objectives[1].actions": ["0"],
    "confirmed": ["true"],
    "_form_action": ["submit"],
}


def plan_post(changes: Mapping[str, list[str] | None] | None = None) -> dict[str, list[str]]:
    """A complete, valid post of objectives-plan.form; ``None`` in ``changes`` removes an input."""
    post = {name: list(values) for name, values in _VALID_PLAN_POST.items()}
    for name, values in (changes or {}).items():
        if values is None:
            post.pop(name, None)
        else:
            post[name] = values
    return post


@dataclass
class Upload:
    """Quacks like werkzeug's FileStorage as far as validation looks."""

    filename: str
    mimetype: str | None = None


def parse_html(html: str) -> Any:
    return lxml.html.fragment_fromstring(html, create_parent="div")
