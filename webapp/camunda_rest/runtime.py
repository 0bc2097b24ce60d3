"""Camunda 7 REST: the running process instances, their variables, and the open user tasks, as Camunda
clients list and count them (``GET /process-instance``, ``/count``, ``/{id}/variables``, ``GET /task``,
``/count``, ``/{id}``).

Everything is read from the indexed tables and scoped in the engine to the units the account belongs to
(``queries.running_instances_query`` / ``members_open_tasks``); only the variables of one instance deserialize
that instance. As in Camunda's runtime API, the instance list holds running instances only (ended ones
are history). A filter or sort eISO cannot honour is refused with 400 naming it, never ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flask import Blueprint, g, jsonify, request
from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.orm import aliased

from engine import InstanceNotFound, ProcessDefinition, ProcessInstance, TaskCandidate, TaskRow, Unit, User, queries

from ..blueprints.api import basic_auth
from ..extensions import engine as app_engine
from ..extensions import sa_session
from ..ids import MAX_REQUEST_INT, is_id
from .shapes import camunda_time, definition_id_of, instance_dto, invalid, json_object, link, not_found
from .variables import to_camunda

bp = Blueprint("camunda_runtime", __name__)

MAX_RESULTS = 1000  # a page never holds more, whatever maxResults asks (and without maxResults, this many)


# --- parameters, from the query string (GET) or the JSON body (POST) ------------------------------------


def _params() -> Mapping[str, Any]:
    return json_object() if request.method == "POST" else request.args


def _text(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid(f"'{name}' must be text, not {type(value).__name__}.")
    return value


def _texts(params: Mapping[str, Any], name: str) -> list[str] | None:
    """A list parameter: comma-separated in a query string, a list of text in a JSON body."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return [v for v in value.split(",") if v]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise invalid(f"'{name}' must be a list of text.")


def _flag(params: Mapping[str, Any], name: str) -> bool:
    value = params.get(name)
    if isinstance(value, bool):
        return value
    if value is None or value == "" or str(value).lower() == "false":
        return False
    if str(value).lower() == "true":
        return True
    raise invalid(f"'{name}' must be true or false, not '{value}'.")


def _number(params: Mapping[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and is_id(value))):
        raise invalid(f"'{name}' must be a whole number, not '{value}'.")
    number = int(value)
    if not 0 <= number <= MAX_REQUEST_INT:
        raise invalid(f"'{name}' must be a whole number from 0 to {MAX_REQUEST_INT}, not {number}.")
    return number


def _ids(params: Mapping[str, Any], name: str) -> list[int] | None:
    values = _texts(params, name)
    if values is None:
        return None
    if not all(is_id(v) for v in values):
        raise invalid(f"'{name}' must list process instance ids (whole numbers).")
    return [int(v) for v in values]


def _refuse_unknown(params: Mapping[str, Any], known: set[str]) -> None:
    unknown = sorted(set(params) - known)
    if unknown:
        raise invalid(f"eISO does not support the parameter(s) {', '.join(unknown)} here; supported: "
                      f"{', '.join(sorted(known))}.")  # fmt: skip


def _page_of(params: Mapping[str, Any]) -> tuple[int, int]:
    """``firstResult`` and ``maxResults`` as the page's offset and size (never more than ``MAX_RESULTS``)."""
    first = _number(params, "firstResult") or 0
    size = _number(params, "maxResults")
    return first, MAX_RESULTS if size is None else min(size, MAX_RESULTS)


def _page(stmt: Any, params: Mapping[str, Any]) -> Any:
    first, size = _page_of(params)
    return stmt.offset(first).limit(size)


def _sorted(stmt: Any, params: Mapping[str, Any], columns: Mapping[str, Any], fallback: Any) -> Any:
    """Camunda's ``sortBy``/``sortOrder`` (query string) or ``sorting`` (JSON body); ties by ``fallback``."""
    return stmt.order_by(*_order(_sorting(params, columns), columns), fallback)


def _order(sorting: Sequence[tuple[str, str]], columns: Mapping[str, Any]) -> list[Any]:
    return [columns[by].desc() if direction == "desc" else columns[by].asc() for by, direction in sorting]


def _sorting(params: Mapping[str, Any], columns: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The (column name, direction) pairs asked for, checked against ``columns``."""
    sorting = params.get("sorting")
    pairs: list[tuple[Any, Any]]
    if sorting is not None:
        if not isinstance(sorting, list) or not all(isinstance(s, dict) for s in sorting):
            raise invalid("'sorting' must be a list of {\"sortBy\": ..., \"sortOrder\": \"asc\" or \"desc\"}.")
        pairs = [(s.get("sortBy"), s.get("sortOrder")) for s in sorting]
    elif params.get("sortBy") or params.get("sortOrder"):
        pairs = [(params.get("sortBy"), params.get("sortOrder"))]
    else:
        pairs = []
    for by, direction in pairs:
        if by not in columns:
            raise invalid(f"Cannot sort by '{by}': use one of {', '.join(sorted(columns))}.")
        if direction not in ("asc", "desc"):
            raise invalid("'sortOrder' must be 'asc' or 'desc' and is needed with 'sortBy'.")
    return tuple(pairs)


def _tenants(params: Mapping[str, Any], unit_column: Any) -> Any:
    """``tenantIdIn`` (unit codes); ``withoutTenantId`` matches nothing, every instance and task has a unit."""
    codes = _texts(params, "tenantIdIn")
    clauses = []
    if codes is not None:
        clauses.append(unit_column.in_(select(Unit.id).where(Unit.code.in_(codes))))
    if _flag(params, "withoutTenantId"):
        clauses.append(unit_column.is_(None))
    return clauses


# --- process instances --------------------------------------------------------------------------------

INSTANCE_PARAMS = {"processInstanceIds", "businessKey", "businessKeyLike", "processDefinitionKey",
                   "processDefinitionKeyIn", "processDefinitionId", "tenantIdIn", "withoutTenantId", "active",
                   "suspended", "superProcessInstance", "subProcessInstance", "rootProcessInstances", "sortBy",
                   "sortOrder", "sorting", "firstResult", "maxResults"}  # fmt: skip
INSTANCE_SORTS = {"instanceId": ProcessInstance.id, "definitionKey": ProcessDefinition.key,
                  "definitionId": ProcessDefinition.id, "businessKey": ProcessInstance.business_key,
                  "tenantId": ProcessInstance.unit_id}  # fmt: skip


def _instance_query(params: Mapping[str, Any]) -> Any:
    _refuse_unknown(params, INSTANCE_PARAMS)
    stmt = queries.running_instances_query(sa_session(), g.user)
    if _flag(params, "suspended"):
        stmt = stmt.where(ProcessInstance.id.is_(None))  # eISO never suspends an instance
    ids = _ids(params, "processInstanceIds")
    if ids is not None:
        stmt = stmt.where(ProcessInstance.id.in_(ids))
    for name, column in (("businessKey", ProcessInstance.business_key),
                         ("processDefinitionKey", ProcessDefinition.key)):  # fmt: skip
        value = _text(params, name)
        if value is not None:
            stmt = stmt.where(column == value)
    like = _text(params, "businessKeyLike")
    if like is not None:
        stmt = stmt.where(ProcessInstance.business_key.like(like))
    keys = _texts(params, "processDefinitionKeyIn")
    if keys is not None:
        stmt = stmt.where(ProcessDefinition.key.in_(keys))
    camunda_id = _text(params, "processDefinitionId")
    if camunda_id is not None:
        number = camunda_id.rsplit(":", 1)[-1]
        stmt = stmt.where(ProcessDefinition.id == (int(number) if is_id(number) else -1))
    parent = _text(params, "superProcessInstance")
    if parent is not None:
        stmt = stmt.where(ProcessInstance.parent_instance_id == (int(parent) if is_id(parent) else -1))
    sub = _text(params, "subProcessInstance")
    if sub is not None:
        caller = select(ProcessInstance.parent_instance_id).where(ProcessInstance.id == (int(sub) if is_id(sub)
                                                                                         else -1))  # fmt: skip
        stmt = stmt.where(ProcessInstance.id.in_(caller.scalar_subquery()))
    if _flag(params, "rootProcessInstances"):
        stmt = stmt.where(ProcessInstance.parent_instance_id.is_(None))
    return stmt.where(*_tenants(params, ProcessInstance.unit_id))


@bp.route("/process-instance", methods=["GET", "POST"])
@basic_auth
def instances() -> Any:
    """Running instances of the account's units (POST: the same query as a JSON body)."""
    params = _params()
    stmt = _page(_sorted(_instance_query(params), params, INSTANCE_SORTS, ProcessInstance.id), params)
    return jsonify([instance_dto(i) for i in sa_session().scalars(stmt)])


@bp.route("/process-instance/count", methods=["GET", "POST"])
@basic_auth
def count_instances() -> Any:
    params = {k: v for k, v in _params().items() if k not in ("sortBy", "sortOrder", "sorting")}
    query = _instance_query(params).with_only_columns(ProcessInstance.id)
    return jsonify({"count": sa_session().scalar(select(func.count()).select_from(query.subquery()))})


def _visible(instance_id: str) -> ProcessInstance:
    if not is_id(instance_id):
        raise not_found(f"Process instance with id {instance_id} does not exist.")
    try:
        return queries.visible_instance(sa_session(), g.user, int(instance_id))
    except InstanceNotFound:
        raise not_found(f"Process instance with id {instance_id} does not exist.") from None


@bp.get("/process-instance/<instance_id>/variables")
@basic_auth
def instance_variables(instance_id: str) -> Any:
    found = _visible(instance_id)
    names = [n for n in request.args.get("variableNames", "").split(",") if n] or None
    return jsonify(to_camunda(app_engine().instance_variables(found), names))


@bp.get("/process-instance/<instance_id>/variables/<name>")
@basic_auth
def instance_variable(instance_id: str, name: str) -> Any:
    found = _visible(instance_id)
    data = app_engine().instance_variables(found)
    if name not in data:
        raise not_found(f"process instance variable with name {name} does not exist")
    return jsonify(to_camunda(data, [name])[name])


# --- user tasks ---------------------------------------------------------------------------------------

TASK_PARAMS = {"taskId", "taskIdIn", "processInstanceId", "processInstanceIdIn", "processInstanceBusinessKey",
               "processDefinitionKey", "processDefinitionKeyIn", "processDefinitionId", "taskDefinitionKey",
               "taskDefinitionKeyIn", "name", "nameLike", "assignee", "assigned", "unassigned", "candidateGroup",
               "candidateUser", "includeAssignedTasks", "tenantIdIn", "withoutTenantId", "active", "suspended",
               "sortBy", "sortOrder", "sorting", "firstResult", "maxResults"}  # fmt: skip
TASK_SORTS = {"created": TaskRow.created_at, "dueDate": TaskRow.due_at, "followUpDate": TaskRow.follow_up_at,
              "priority": TaskRow.priority, "name": TaskRow.name, "id": TaskRow.id,
              "processInstanceId": TaskRow.instance_id}  # fmt: skip


class _TaskQuery:
    """A task query (``GET /task``, ``/task/count``) as its shape (which filters, which order, whether paged) and
    its values. The statement of a shape is built once and run with the values: building it cost as much as
    running it, and clients ask the same few shapes again and again (the open task of an instance, the tasks
    of a process). A query by ``candidateUser`` depends on that person's offers and is built each time, and
    so is the query of anyone who sees only their own work in a unit (``queries.beyond_members``)."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        _refuse_unknown(params, TASK_PARAMS)
        members, holder = queries.members_shape(g.user)
        self.shape: list[Any] = list(members)
        self.values: dict[str, Any] = dict(holder)
        self.parts: list[Callable[[], Any]] = []
        self.cached = True
        own_work = queries.beyond_members(sa_session(), g.user)
        if own_work is not None:  # the rule names the person: their statement is theirs alone
            self.cached = False
            self.parts.append(lambda: own_work)
        if _flag(params, "suspended"):
            self._add("suspended", lambda: TaskRow.id.is_(None))  # eISO never suspends a task
        for name, column in (("taskId", TaskRow.id), ("processInstanceBusinessKey", ProcessInstance.business_key),
                             ("processDefinitionKey", ProcessDefinition.key), ("taskDefinitionKey", TaskRow.element_id),
                             ("name", TaskRow.name), ("nameLike", TaskRow.name)):  # fmt: skip
            value = _text(params, name)
            if value is not None:
                self._add(name, _like(column, name) if name == "nameLike" else _equal(column, name), value)
        for name, column in (("taskIdIn", TaskRow.id), ("processDefinitionKeyIn", ProcessDefinition.key),
                             ("taskDefinitionKeyIn", TaskRow.element_id)):  # fmt: skip
            values = _texts(params, name)
            if values is not None:
                self._add(name, _among(column, name), values)
        one = _text(params, "processInstanceId")
        if one is not None:
            self._add("processInstanceId", _equal(TaskRow.instance_id, "processInstanceId"),
                      int(one) if is_id(one) else -1)  # fmt: skip
        many = _ids(params, "processInstanceIdIn")
        if many is not None:
            self._add("processInstanceIdIn", _among(TaskRow.instance_id, "processInstanceIdIn"), many)
        camunda_id = _text(params, "processDefinitionId")
        if camunda_id is not None:
            number = camunda_id.rsplit(":", 1)[-1]
            self._add("processDefinitionId", _equal(ProcessDefinition.id, "processDefinitionId"),
                      int(number) if is_id(number) else -1)  # fmt: skip
        assignee = _text(params, "assignee")
        if assignee is not None:
            self._add("assignee", lambda: TaskRow.assignee_id.in_(
                select(User.id).where(User.username == bindparam("assignee"))), assignee)  # fmt: skip
        if _flag(params, "assigned"):
            self._add("assigned", lambda: TaskRow.assignee_id.is_not(None))
        if _flag(params, "unassigned"):
            self._add("unassigned", lambda: TaskRow.assignee_id.is_(None))
        # as in Camunda, a query by candidate leaves out the tasks someone already holds, unless the client asks
        # for them with includeAssignedTasks
        held_too = _flag(params, "includeAssignedTasks")
        group = _text(params, "candidateGroup")
        if group is not None:
            self._add("candidateGroup", lambda: TaskRow.id.in_(
                select(TaskCandidate.task_id).where(TaskCandidate.role == bindparam("candidateGroup"))), group)
            if not held_too:
                self._add("candidateGroup unheld", lambda: TaskRow.assignee_id.is_(None))
        candidate = _text(params, "candidateUser")
        if candidate is not None:
            self.cached = False
            person = sa_session().scalar(select(User).where(User.username == candidate))
            if person is None:
                self.parts.append(lambda: TaskRow.id.is_(None))
            else:
                offered = queries.offered_query(person) if held_too else queries.claimable_query(person)
                self.parts.append(lambda: TaskRow.id.in_(offered.with_only_columns(TaskRow.id)))
        codes = _texts(params, "tenantIdIn")
        if codes is not None:
            self._add("tenantIdIn", lambda: TaskRow.unit_id.in_(
                select(Unit.id).where(Unit.code.in_(bindparam("tenantIdIn", expanding=True)))), codes)
        if _flag(params, "withoutTenantId"):
            self._add("withoutTenantId", lambda: TaskRow.unit_id.is_(None))

    def _add(self, part: str, clause: Callable[[], Any], value: Any = None) -> None:
        self.shape.append(part)
        self.parts.append(clause)
        if value is not None:
            self.values[part] = value

    def _statement(self, use: tuple[Any, ...], build: Callable[[Any], Any]) -> Any:
        """The statement for ``use`` (what the request does with the query), built from the filtered query by
        ``build`` once per shape."""
        key = (*self.shape, *use)
        found = _TASK_STATEMENTS.get(key) if self.cached else None
        if found is None:
            active, in_one_unit = self.shape[0], self.shape[1]
            filtered = queries.members_open_tasks(active, in_one_unit).join(
                ProcessInstance, ProcessInstance.id == TaskRow.instance_id).join(
                ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)  # fmt: skip
            found = build(filtered.where(*(make() for make in self.parts)))
            if self.cached:
                if len(_TASK_STATEMENTS) >= _SHAPES_KEPT:
                    _TASK_STATEMENTS.clear()  # clients asking ever new shapes: start again rather than grow
                _TASK_STATEMENTS[key] = found
        return found

    def page(self, params: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
        """The page asked for, in the order asked for (ties by id), as a TaskDto's columns."""
        sorting = _sorting(params, TASK_SORTS)
        first, size = _page_of(params)

        def build(filtered: Any) -> Any:
            return (filtered.order_by(*_order(sorting, TASK_SORTS), TaskRow.id)
                    .offset(bindparam("first_result", type_=Integer)).limit(bindparam("max_results", type_=Integer))
                    .with_only_columns(*TASK_COLUMNS).join(Unit, Unit.id == ProcessInstance.unit_id)
                    .outerjoin(_ASSIGNEE, _ASSIGNEE.id == TaskRow.assignee_id))  # fmt: skip

        return self._statement(("page", sorting), build), {**self.values, "first_result": first, "max_results": size}

    def count(self) -> tuple[Any, dict[str, Any]]:
        def build(filtered: Any) -> Any:
            return select(func.count()).select_from(filtered.with_only_columns(TaskRow.id).subquery())

        return self._statement(("count",), build), self.values


_TASK_STATEMENTS: dict[tuple[Any, ...], Any] = {}
_SHAPES_KEPT = 256


def _equal(column: Any, name: str) -> Callable[[], Any]:
    return lambda: column == bindparam(name)


def _like(column: Any, name: str) -> Callable[[], Any]:
    return lambda: column.like(bindparam(name))


def _among(column: Any, name: str) -> Callable[[], Any]:
    return lambda: column.in_(bindparam(name, expanding=True))


_ASSIGNEE = aliased(User)
TASK_COLUMNS = (TaskRow.id, TaskRow.name, _ASSIGNEE.username, TaskRow.created_at, TaskRow.due_at,
                TaskRow.follow_up_at, TaskRow.priority, ProcessDefinition.key, ProcessDefinition.version,
                ProcessDefinition.id, ProcessInstance.id, TaskRow.element_id, Unit.code)  # fmt: skip
"""What a TaskDto shows, read as columns in the list's one query (never the workflow, the diagram nor the
row's other columns)."""


def _task_dtos(page: tuple[Any, dict[str, Any]]) -> list[dict[str, Any]]:
    """Camunda's TaskDto for each task of a ``_TaskQuery.page``, in its order."""
    stmt, values = page
    rows = sa_session().execute(stmt, values)
    task_link = link("/task/")  # built once: the address of the request is the same for every task
    return [
        {
            "id": task_id, "name": name, "assignee": assignee, "owner": None, "created": camunda_time(created),
            "lastUpdated": None, "due": camunda_time(due), "followUp": camunda_time(follow_up),
            "delegationState": None, "description": None, "executionId": task_id, "parentTaskId": None,
            "priority": priority, "processDefinitionId": definition_id_of(key, version, definition),
            "processInstanceId": str(instance), "taskDefinitionKey": element, "caseExecutionId": None,
            "caseInstanceId": None, "caseDefinitionId": None, "suspended": False, "formKey": None,
            "camundaFormRef": None, "tenantId": unit_code,
            "links": [{**task_link, "href": task_link["href"] + task_id}],
        }
        for (task_id, name, assignee, created, due, follow_up, priority, key, version, definition, instance,
             element, unit_code) in rows
    ]  # fmt: skip


@bp.route("/task", methods=["GET", "POST"])
@basic_auth
def tasks() -> Any:
    """Open user tasks the account may see in its units (POST: the same query as a JSON body)."""
    params = _params()
    return jsonify(_task_dtos(_TaskQuery(params).page(params)))


@bp.route("/task/count", methods=["GET", "POST"])
@basic_auth
def count_tasks() -> Any:
    params = {k: v for k, v in _params().items() if k not in ("sortBy", "sortOrder", "sorting")}
    stmt, values = _TaskQuery(params).count()
    return jsonify({"count": sa_session().scalar(stmt, values)})


@bp.get("/task/<task_id>")
@basic_auth
def task(task_id: str) -> Any:
    params = {"taskId": task_id}
    found = _task_dtos(_TaskQuery(params).page(params))
    if not found:
        raise not_found(f"No matching task with id {task_id}")
    return jsonify(found[0])
