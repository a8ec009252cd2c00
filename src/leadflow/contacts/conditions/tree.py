"""The condition tree itself: leaves (``Condition``), AND/OR groups (``Group``) and their JSON
form. Nothing here knows a field: ``tree_from_json`` checks the shape only; the meaning of
each leaf is checked by ``conditions.compiler.conditions_validate`` against the registry."""

from dataclasses import dataclass, field
from typing import Any

from leadflow.core.errors import FieldError, ValidationFailed

CONDITIONS_VERSION = 1
MAX_DEPTH = 6
MAX_NODES = 200


@dataclass(frozen=True)
class Condition:
    """One test on one field: ``field`` (a registry key such as "email", "custom.plan",
    "company.name"), ``operator`` ("eq", "contains", "in_last_days", ...) and ``value``
    (None for operators that take none, such as "is_empty")."""

    field: str
    operator: str
    value: Any = None


@dataclass(frozen=True)
class Group:
    """``all`` of the children (AND) or ``any`` of them (OR). An empty "all" matches every
    contact, an empty "any" none."""

    match: str = "all"
    children: tuple["Node", ...] = field(default_factory=tuple)


Node = Condition | Group


def conditions_all(*children: Node) -> Group:
    """AND of the given nodes; groups that are themselves empty "all" groups are dropped."""
    kept = tuple(c for c in children if not (isinstance(c, Group) and _always(c)))
    return Group("all", kept)


def _always(group: Group) -> bool:
    return group.match == "all" and not group.children


def tree_to_json(node: Node) -> dict[str, Any]:
    """The JSON form: a group (or a single condition) with a ``version`` key at the top."""
    return {"version": CONDITIONS_VERSION, **_node_json(node)}


def _node_json(node: Node) -> dict[str, Any]:
    if isinstance(node, Group):
        return {"match": node.match, "children": [_node_json(child) for child in node.children]}
    data: dict[str, Any] = {"field": node.field, "operator": node.operator}
    if node.value is not None:
        data["value"] = node.value
    return data


def tree_from_json(data: Any, path: str = "conditions") -> Node:
    """The tree a JSON form describes; every shape problem is a ``FieldError`` naming its
    path (``conditions.children[1].operator``), all reported at once."""
    errors: list[FieldError] = []
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError(path, "Must be a JSON object.")])
    version = data.get("version", CONDITIONS_VERSION)
    if version != CONDITIONS_VERSION or isinstance(version, bool):
        errors.append(FieldError(f"{path}.version", f"Must be {CONDITIONS_VERSION}."))
    body = {key: value for key, value in data.items() if key != "version"}
    counter = [0]
    node = _parse(body, path, 1, errors, counter)
    if errors:
        raise ValidationFailed(errors)
    return node


def _parse(data: Any, path: str, depth: int, errors: list[FieldError], counter: list[int]) -> Node:
    counter[0] += 1
    if counter[0] == MAX_NODES + 1:
        errors.append(FieldError(path, f"At most {MAX_NODES} conditions in a tree."))
    if not isinstance(data, dict):
        errors.append(FieldError(path, "Must be a JSON object."))
        return Group()
    if "children" in data or "match" in data:
        unknown = sorted(set(data) - {"match", "children"})
        for key in unknown:
            errors.append(FieldError(f"{path}.{key}", "Unknown key."))
        match = data.get("match", "all")
        if match not in ("all", "any"):
            errors.append(FieldError(f"{path}.match", 'Must be "all" or "any".'))
        children = data.get("children", [])
        if not isinstance(children, list):
            errors.append(FieldError(f"{path}.children", "Must be a list."))
            return Group()
        if depth >= MAX_DEPTH and children:
            errors.append(FieldError(f"{path}.children", f"Groups nest at most {MAX_DEPTH} deep."))
            return Group()
        return Group(
            match if match in ("all", "any") else "all",
            tuple(
                _parse(child, f"{path}.children[{index}]", depth + 1, errors, counter)
                for index, child in enumerate(children)
            ),
        )
    unknown = sorted(set(data) - {"field", "operator", "value"})
    for key in unknown:
        errors.append(FieldError(f"{path}.{key}", "Unknown key."))
    name, operator = data.get("field"), data.get("operator")
    if not isinstance(name, str) or not name:
        errors.append(FieldError(f"{path}.field", "Name a field."))
    if not isinstance(operator, str) or not operator:
        errors.append(FieldError(f"{path}.operator", "Name an operator."))
    return Condition(str(name or ""), str(operator or ""), data.get("value"))
