"""Send tasks that tell people something: the built-in job ``eiso.notify``.

A send or service task with ``zeebe:taskDefinition type="eiso.notify"`` (Camunda 7: ``camunda:topic``)
gives people of the instance's unit a notice in their inbox, with its e-mail copy (``engine.org.notices``).
Its task headers (Camunda 7: extension properties) say to whom and what:

| header | meaning |
|---|---|
| ``to`` | user names, comma-separated, or a FEEL expression (``=draftAuthor``) giving a name or a list of names |
| ``toRoles`` | roles in the unit (``iso_secretary, unit_leader``) or a FEEL expression giving them |
| ``title`` | the notice's title: text with ``{{variable}}`` placeholders, or a FEEL expression |
| ``body`` | its text, the same way (optional) |
| ``link`` | where the notice leads, a path of this site (default: the instance's page) |

Names are looked up among the unit's people only. A name found nowhere there, or a notice that reaches
nobody, is an ``incident`` in the history and a notice to the unit's administrators: nothing is lost
silently.
"""

from __future__ import annotations

import re
from typing import Any

from engine.errors import EngineError, Phrase
from engine.org.models import User
from engine.org.notices import notify
from engine.org.people import member_in, users_with_role
from engine.runtime.handlers import JobContext
from engine.runtime.script_engine import evaluate_expression

NOTIFY_JOB = "eiso.notify"
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")


def _headers(job: JobContext) -> dict[str, Any]:
    node = job.instance.definition.elements["nodes"].get(job.element_id, {})
    return {**(node.get("properties") or {}), **(node.get("headers") or {})}


def _names(value: Any, data: dict[str, Any]) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str) and value.strip().startswith(("=", "${", "#{")):
        value = evaluate_expression(value.strip(), data)
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    return [] if value is None else [str(value)]


def _text(value: Any, data: dict[str, Any]) -> str:
    if not isinstance(value, str):
        return ""
    if value.strip().startswith("="):
        result = evaluate_expression(value.strip(), data)
        return "" if result is None else str(result)

    def fill(match: re.Match[str]) -> str:
        found: Any = data
        for part in match.group(1).split("."):
            found = found.get(part) if isinstance(found, dict) else None
        return "" if found is None else str(found)

    return _PLACEHOLDER.sub(fill, value)


def send_notice(job: JobContext) -> dict[str, Any]:
    """Give the named people and roles of the unit a notice; report names that reach nobody."""
    session, instance, data = job.session, job.instance, dict(job.data)
    headers = _headers(job)
    title = _text(headers.get("title"), data).strip()
    if not title:
        raise EngineError("The notice step '%(step)s' has no title (task header 'title').", step=job.element_id)
    body = _text(headers.get("body"), data)
    link = str(headers.get("link") or "").strip()
    if not link.startswith("/") or link.startswith("//"):
        link = f"/instances/{instance.id}"
    people: list[User] = []
    missing: list[str] = []
    for name in _names(headers.get("to"), data):
        found = member_in(session, instance.unit_id, name)
        if found is None:
            missing.append(name)
        else:
            people.append(found)
    for role in _names(headers.get("toRoles"), data):
        people += users_with_role(session, instance.unit_id, role)
    sent = notify(session, people, unit_id=instance.unit_id, instance_id=instance.id, kind="process_notice",
                  title=title[:300], body=body, link=link, now=job.now)  # fmt: skip
    recipients = sorted({n.user_id for n in sent})
    job.record("notice_sent", {"title": title[:300], "to": sorted({u.username for u in people})})
    if missing or not recipients:
        _report(job, title, missing)
    return {"notified": len(recipients)}


def _report(job: JobContext, title: str, missing: list[str]) -> None:
    session, instance = job.session, job.instance
    error = (f"No one in this unit has the user name(s): {', '.join(missing)}." if missing
             else "The notice names no one in this unit.")  # fmt: skip
    job.record("incident", {"error": error, "not_found": missing, "notice": title[:300]})
    admins = users_with_role(session, instance.unit_id, "admin")
    notify(session, admins, unit_id=instance.unit_id, instance_id=instance.id, kind="notice_undelivered",
           title=Phrase("A notice reached no one: %(title)s", title=title[:250]),
           body=(Phrase("%(process)s #%(id)s: %(names)s", process=instance.definition.name, id=instance.id,
                        names=", ".join(missing)) if missing
                 else Phrase("%(process)s #%(id)s: no recipient", process=instance.definition.name, id=instance.id)),
           link=f"/instances/{instance.id}", now=job.now)  # fmt: skip
