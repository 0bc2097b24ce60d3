"""What changed between two versions of a process: elements, flows and the forms their tasks show.

Pure functions over the stored element index (``ProcessDefinition.elements``) and form-js schemas;
nothing here touches the database or the workflow engine.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import Phrase

# Bookkeeping in the element index that says nothing about the model itself.
IGNORED_ATTRIBUTES = frozenset({"line", "form_definition_id", "decision_definition_id"})
FIELD_ATTRIBUTES = ("label", "type", "validate", "values", "conditional")


@dataclass(frozen=True)
class Change:
    """One attribute of an element, flow or form field, before and after."""

    attribute: str
    old: Any
    new: Any


@dataclass(frozen=True)
class ElementChange:
    """An element (flow node or sequence flow) that was added, removed or changed."""

    element_id: str
    name: str
    type: str
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True)
class FieldChange:
    key: str
    label: str
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True)
class FormDiff:
    """The fields of one form (by form id) that differ between the versions' forms."""

    form_key: str
    old_version: int | None
    new_version: int | None
    added: tuple[FieldChange, ...] = ()
    removed: tuple[FieldChange, ...] = ()
    changed: tuple[FieldChange, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


@dataclass(frozen=True)
class VersionDiff:
    added: tuple[ElementChange, ...] = ()
    removed: tuple[ElementChange, ...] = ()
    changed: tuple[ElementChange, ...] = ()
    flows_added: tuple[ElementChange, ...] = ()
    flows_removed: tuple[ElementChange, ...] = ()
    flows_changed: tuple[ElementChange, ...] = ()
    forms: tuple[FormDiff, ...] = field(default=())

    @property
    def empty(self) -> bool:
        lists = (self.added, self.removed, self.changed, self.flows_added, self.flows_removed, self.flows_changed)
        return not any(lists) and all(f.empty for f in self.forms)

    def new_markers(self) -> dict[str, str]:
        """For the new diagram: added elements and flows, and changed ones."""
        marks = {e.element_id: "added" for e in (*self.added, *self.flows_added)}
        marks.update({e.element_id: "changed" for e in (*self.changed, *self.flows_changed)})
        return marks

    def old_markers(self) -> dict[str, str]:
        """For the old diagram: what the new version no longer has."""
        return {e.element_id: "removed" for e in (*self.removed, *self.flows_removed)}


def diff_elements(old: Mapping[str, Any], new: Mapping[str, Any]) -> VersionDiff:
    """Compare two element indexes (``{"nodes": …, "flows": …}``) element by element, by id."""
    added, removed, changed = _compare(old.get("nodes", {}), new.get("nodes", {}), _node_attributes)
    flows_added, flows_removed, flows_changed = _compare(old.get("flows", {}), new.get("flows", {}), _flow_attributes)
    return VersionDiff(added, removed, changed, flows_added, flows_removed, flows_changed)


def with_forms(diff: VersionDiff, forms: list[FormDiff]) -> VersionDiff:
    changed_forms = tuple(f for f in forms if not f.empty)
    return VersionDiff(diff.added, diff.removed, diff.changed, diff.flows_added, diff.flows_removed,
                       diff.flows_changed, changed_forms)  # fmt: skip


def _node_attributes(node: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k not in IGNORED_ATTRIBUTES}


def _flow_attributes(flow: Mapping[str, Any]) -> dict[str, Any]:
    return {**{k: v for k, v in flow.items() if k not in IGNORED_ATTRIBUTES}, "type": "sequenceFlow"}


Elements = tuple[ElementChange, ...]


def _compare(old: Mapping[str, Any], new: Mapping[str, Any], attributes: Any) -> tuple[Elements, Elements, Elements]:
    added = tuple(_element(i, attributes(new[i])) for i in new if i not in old)
    removed = tuple(_element(i, attributes(old[i])) for i in old if i not in new)
    changed = []
    for element_id in (i for i in new if i in old):
        before, after = attributes(old[element_id]), attributes(new[element_id])
        changes = _changes(before, after)
        if changes:
            changed.append(_element(element_id, after, changes))
    return added, removed, tuple(changed)


def _element(element_id: str, attributes: Mapping[str, Any], changes: tuple[Change, ...] = ()) -> ElementChange:
    return ElementChange(element_id, str(attributes.get("name") or ""), str(attributes.get("type") or ""), changes)


def _changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[Change, ...]:
    keys = sorted(set(before) | set(after))
    return tuple(Change(k, before.get(k), after.get(k)) for k in keys if _blank(before.get(k)) != _blank(after.get(k)))


def _blank(value: Any) -> Any:
    """An absent attribute and an empty one mean the same in a diagram."""
    return None if value in (None, "", [], {}) else value


# --- forms --------------------------------------------------------------------------------------------


def form_fields(schema: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every input field of a form-js schema by its key (inside a dynamic list: ``path.key``)."""
    return {key: fields for key, fields in _fields(schema.get("components") or [], "")}


def _fields(components: list[Any], prefix: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for component in components:
        if not isinstance(component, Mapping):
            continue
        if component.get("key"):
            key = prefix + str(component["key"])
            yield key, {a: component.get(a) for a in FIELD_ATTRIBUTES}
        nested = component.get("components")
        if isinstance(nested, list):
            path = f"{prefix}{component['path']}." if component.get("path") else prefix
            yield from _fields(nested, path)


def diff_form(form_key: str, old: tuple[int, Mapping[str, Any]] | None,
              new: tuple[int, Mapping[str, Any]] | None) -> FormDiff:  # fmt: skip
    """Fields added, removed and changed between two versions of one form (either may be missing)."""
    old_fields = form_fields(old[1]) if old else {}
    new_fields = form_fields(new[1]) if new else {}
    added = tuple(_field(k, new_fields[k]) for k in new_fields if k not in old_fields)
    removed = tuple(_field(k, old_fields[k]) for k in old_fields if k not in new_fields)
    changed = []
    for key in (k for k in new_fields if k in old_fields):
        changes = _changes(old_fields[key], new_fields[key])
        if changes:
            changed.append(_field(key, new_fields[key], changes))
    return FormDiff(form_key, old[0] if old else None, new[0] if new else None, added, removed, tuple(changed))


def _field(key: str, attributes: Mapping[str, Any], changes: tuple[Change, ...] = ()) -> FieldChange:
    return FieldChange(key, str(attributes.get("label") or key), changes)


# --- a few lines for people ------------------------------------------------------------------------------


def summary_rows(diff: VersionDiff) -> list[dict[str, str]]:
    """The changes as table rows (Vietnamese, like the process names they quote) for forms and notices."""
    rows = [_row("Thêm bước", e) for e in diff.added]
    rows += [_row("Bỏ bước", e) for e in diff.removed]
    rows += [_row("Sửa bước", e, _describe(e.changes)) for e in diff.changed]
    rows += [_row("Sửa luồng", e, _describe(e.changes)) for e in diff.flows_changed]
    for form in diff.forms:
        rows += [{"change": "Thêm trường", "element": f"{f.label} ({f.key})", "detail": form.form_key}
                 for f in form.added]  # fmt: skip
        rows += [{"change": "Bỏ trường", "element": f"{f.label} ({f.key})", "detail": form.form_key}
                 for f in form.removed]  # fmt: skip
        rows += [{"change": "Sửa trường", "element": f"{f.label} ({f.key})",
                  "detail": f"{form.form_key}: {_describe(f.changes)}"} for f in form.changed]  # fmt: skip
    return rows


def _row(change: str, element: ElementChange, detail: str = "") -> dict[str, str]:
    return {"change": change, "element": element.name or element.element_id, "detail": detail}


# How the attributes are called in the Vietnamese summaries; others keep their technical name.
ATTRIBUTE_NAMES = {
    "name": "tên", "type": "loại", "form_key": "biểu mẫu", "candidate_groups": "vai trò thực hiện",
    "candidate_users": "người thực hiện", "assignee": "người được giao", "due_date": "hạn xử lý",
    "follow_up_date": "ngày theo dõi", "priority": "độ ưu tiên",
    "properties": "thuộc tính", "timer": "hẹn giờ", "job_type": "loại công việc tự động",
    "source": "từ bước", "target": "đến bước", "condition": "điều kiện", "label": "nhãn",
    "validate": "ràng buộc", "values": "lựa chọn", "conditional": "điều kiện hiển thị",
}  # fmt: skip


def _describe(changes: tuple[Change, ...]) -> str:
    return "; ".join(f"{ATTRIBUTE_NAMES.get(c.attribute, c.attribute)}: {_text(c.old)} → {_text(c.new)}"
                     for c in changes)  # fmt: skip


def _text(value: Any) -> str:
    return "—" if _blank(value) is None else str(value)


# The same changes in a notice, in its reader's language.
CHANGE_WORDS = {
    "step_added": Phrase("- Step added: %(element)s"), "step_removed": Phrase("- Step removed: %(element)s"),
    "step_changed": Phrase("- Step changed: %(element)s (%(detail)s)"),
    "flow_changed": Phrase("- Flow changed: %(element)s (%(detail)s)"),
    "field_added": Phrase("- Field added: %(element)s (%(detail)s)"),
    "field_removed": Phrase("- Field removed: %(element)s (%(detail)s)"),
    "field_changed": Phrase("- Field changed: %(element)s (%(detail)s)"),
}  # fmt: skip
ATTRIBUTE_PHRASES = {
    "name": Phrase("name"), "type": Phrase("type"), "form_key": Phrase("form"),
    "candidate_groups": Phrase("roles that do it"), "candidate_users": Phrase("people who do it"),
    "assignee": Phrase("assignee"), "due_date": Phrase("time limit"), "follow_up_date": Phrase("follow-up date"),
    "priority": Phrase("priority"), "properties": Phrase("properties"), "timer": Phrase("timer"),
    "job_type": Phrase("automatic job type"), "source": Phrase("from step"), "target": Phrase("to step"),
    "condition": Phrase("condition"), "label": Phrase("label"), "validate": Phrase("validation"),
    "values": Phrase("choices"), "conditional": Phrase("shown when"),
}  # fmt: skip


def change_lines(diff: VersionDiff) -> list[Phrase]:
    """The changes as lines of a notice, each a phrase, so every reader gets them in their own language."""
    lines = [_line("step_added", e.name or e.element_id) for e in diff.added]
    lines += [_line("step_removed", e.name or e.element_id) for e in diff.removed]
    lines += [_line("step_changed", e.name or e.element_id, _attributes(e.changes)) for e in diff.changed]
    lines += [_line("flow_changed", e.name or e.element_id, _attributes(e.changes)) for e in diff.flows_changed]
    for form in diff.forms:
        lines += [_line("field_added", f"{f.label} ({f.key})", form.form_key) for f in form.added]
        lines += [_line("field_removed", f"{f.label} ({f.key})", form.form_key) for f in form.removed]
        lines += [_line("field_changed", f"{f.label} ({f.key})", Phrase("%(form)s: %(what)s", form=form.form_key,
                                                                         what=_attributes(f.changes)))
                  for f in form.changed]  # fmt: skip
    return lines


def _line(kind: str, element: str, detail: Phrase | str | list[Phrase] = "") -> Phrase:
    return Phrase(CHANGE_WORDS[kind].template, element=element, detail=detail)


def _attributes(changes: tuple[Change, ...]) -> list[Phrase]:
    """``name: old → new`` for each change, the attribute named in the reader's language (joined with commas)."""
    return [Phrase("%(attribute)s: %(old)s → %(new)s", attribute=ATTRIBUTE_PHRASES.get(c.attribute, c.attribute),
                   old=_text(c.old), new=_text(c.new)) for c in changes]  # fmt: skip
