"""A flow's graph: its JSON form, the checks every save runs, and the condition leaves.

A graph is ``{"start": step id, "steps": [step, ...]}``; each step has an ``id`` (letters,
digits, ``_`` and ``-``, at most 64) and a ``kind``:

- ``message``: ``text``, ``next``;
- ``question``: ``text``, ``input`` (text, email, phone, number, choice, date), ``field``
  (optional: the contact field the answer fills, ``email``, ``first_name``... or
  ``custom_fields.<key>``), ``choices`` for a choice (``value``, ``label``, optional
  ``next``), ``retry_text`` (optional: what the bot says to a bad answer), ``next``;
- ``condition``: ``branches`` (``when``: a condition tree in the one condition language's
  JSON form, ``next``), ``otherwise``; a leaf on ``answer.<question id>`` tests an answer
  given in this conversation, any other leaf tests the contact (docs/conditions.md);
- ``set_field`` (``field``, ``value``), ``tag`` (``tag``), ``score`` (``points``): effects
  on the contact, then ``next``;
- ``knowledge``: ``text`` (the prompt), ``next``: the visitor asks, the knowledge base
  answers (or a person takes over when it cannot);
- ``handover`` (``text``): a person takes over; ``end`` (``text``): the flow is over;
- ``product``: ``product`` (a product's id), ``text`` (optional), ``buy_label`` and
  ``decline_label`` (optional: the two buttons), ``paid_text`` (optional: said when the
  payment arrives), ``next`` (after "No thanks", or when the order cannot be made),
  ``paid`` (optional: where the flow goes on once paid; none: it ends);
- ``meeting``: ``text`` (optional), ``member`` (optional: the user id of the member whose
  calendar is offered when the contact has no owner), ``duration`` (minutes), ``days``
  (how many days ahead), ``next`` (after the booking, or when no time is free).

A product or meeting step needs a known visitor: every path from the start to it passes a
question that fills ``email`` (the checks refuse the graph otherwise).

``graph_clean`` refuses, naming the step: an unknown kind or field, a ``next`` to an
unknown step, a step that cannot be reached from the start, and a cycle that passes no
step waiting for the visitor (the bot would talk forever). Pure: no database; checking the
contact condition leaves and custom fields against a workspace is the caller's
(``check_contact_leaf``, ``known_field``).
"""

import re
from collections.abc import Callable, Iterator
from typing import Any

from leadflow.contacts.conditions import Condition, Node, tree_from_json
from leadflow.core.errors import FieldError, ValidationFailed

STEP_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
KINDS = (
    "message",
    "question",
    "condition",
    "set_field",
    "tag",
    "score",
    "knowledge",
    "handover",
    "end",
    "product",
    "meeting",
)
INPUTS = ("text", "email", "phone", "number", "choice", "date")
# Steps the bot stops at until the visitor sends something: a cycle must pass one.
WAITING_KINDS = ("question", "knowledge", "product", "meeting")
# Steps whose choices the service offers (a product, free times) and that need an
# identified visitor.
OFFER_KINDS = ("product", "meeting")
MEETING_DURATIONS = (15, 20, 30, 45, 60, 90, 120)
MAX_MEETING_DAYS = 60
FINAL_KINDS = ("handover", "end")
MAX_STEPS = 200
MAX_TEXT = 2000
MAX_CHOICES = 20
MAX_BRANCHES = 20
MAX_POINTS = 1000
ANSWER_PREFIX = "answer."
ANSWER_OPERATORS = ("eq", "neq", "contains", "is_empty", "is_not_empty", "gt", "lt", "in")
# Contact fields an answer or a set-field step may fill, besides custom fields.
CONTACT_FIELDS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "country",
    "city",
    "region",
    "postal_code",
    "street_address",
    "date_of_birth",
)
SETTABLE_FIELDS = tuple(f for f in CONTACT_FIELDS if f not in ("email", "phone"))
IDENTITY_FIELDS = ("email", "phone")

KNOWN_KEYS = {
    "message": {"text", "next"},
    "question": {"text", "input", "field", "choices", "retry_text", "next"},
    "condition": {"branches", "otherwise"},
    "set_field": {"field", "value", "next"},
    "tag": {"tag", "next"},
    "score": {"points", "next"},
    "knowledge": {"text", "next"},
    "handover": {"text"},
    "end": {"text"},
    "product": {"text", "product", "buy_label", "decline_label", "paid_text", "next", "paid"},
    "meeting": {"text", "member", "duration", "days", "next"},
}


def steps_by_id(graph: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["id"]: step for step in graph.get("steps", [])}


def step_targets(step: dict[str, Any]) -> list[str]:
    """The steps ``step`` can lead to, in order."""
    kind = step["kind"]
    if kind in FINAL_KINDS:
        return []
    if kind == "condition":
        return [branch["next"] for branch in step.get("branches", [])] + [step["otherwise"]]
    targets = [step["next"]]
    if kind == "question":
        targets += [c["next"] for c in step.get("choices", []) if c.get("next")]
    if kind == "product" and step.get("paid"):
        targets.append(step["paid"])
    return targets


def condition_leaves(node: Node, path: str = "") -> Iterator[tuple[str, Condition]]:
    """Every leaf of a tree with its path inside it ("0.1": second child of the first)."""
    if isinstance(node, Condition):
        yield path, node
        return
    for index, child in enumerate(node.children):
        yield from condition_leaves(child, f"{path}.{index}" if path else str(index))


def contact_leaves(step: dict[str, Any]) -> list[tuple[str, Condition]]:
    """The leaves of a condition step that test the contact, each under its key
    ("<step>/<branch>/<path>"): the facts the service looks up for the engine."""
    leaves = []
    for index, branch in enumerate(step.get("branches", [])):
        tree = tree_from_json(branch["when"])
        for path, leaf in condition_leaves(tree):
            if not leaf.field.startswith(ANSWER_PREFIX):
                leaves.append((f"{step['id']}/{index}/{path}", leaf))
    return leaves


def _text(step: dict, key: str, at: str, errors: list[FieldError], *, required: bool) -> None:
    value = step.get(key, "")
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        errors.append(FieldError(f"{at}.{key}", f"Text of at most {MAX_TEXT} characters."))
    elif required and not value.strip():
        errors.append(FieldError(f"{at}.{key}", f"Step {step['id']}: say something."))


def _field(
    value: Any, at: str, errors: list[FieldError], allowed: tuple[str, ...], known_field
) -> None:
    if not isinstance(value, str) or not (
        value in allowed
        or (
            value.startswith("custom_fields.") and known_field(value.removeprefix("custom_fields."))
        )
    ):
        errors.append(FieldError(at, f"Not a contact field this step can fill: {value!r}."))


def _choices(step: dict, at: str, errors: list[FieldError]) -> None:
    choices = step.get("choices")
    if not isinstance(choices, list) or not 1 <= len(choices) <= MAX_CHOICES:
        errors.append(FieldError(f"{at}.choices", f"From 1 to {MAX_CHOICES} choices."))
        return
    seen = set()
    for index, choice in enumerate(choices):
        where = f"{at}.choices[{index}]"
        if not isinstance(choice, dict) or set(choice) - {"value", "label", "next"}:
            errors.append(FieldError(where, "An object with value, label and optional next."))
            continue
        value, label = choice.get("value"), choice.get("label", choice.get("value"))
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            errors.append(FieldError(f"{where}.value", "Text of 1 to 200 characters."))
        elif value.lower() in seen:
            errors.append(FieldError(f"{where}.value", f"The choice {value!r} is there twice."))
        else:
            seen.add(value.lower())
        if not isinstance(label, str) or len(label) > 200:
            errors.append(FieldError(f"{where}.label", "Text of at most 200 characters."))
        if "next" in choice and not isinstance(choice["next"], str):
            errors.append(FieldError(f"{where}.next", "A step id."))


def _answer_leaf(leaf: Condition, where: str, questions: set[str], errors: list) -> None:
    question = leaf.field.removeprefix(ANSWER_PREFIX)
    if question not in questions:
        errors.append(FieldError(where, f"No question step {question!r} to test the answer of."))
    if leaf.operator not in ANSWER_OPERATORS:
        errors.append(
            FieldError(where, f"An answer is tested with: {', '.join(ANSWER_OPERATORS)}.")
        )
    elif leaf.operator == "in" and not isinstance(leaf.value, list):
        errors.append(FieldError(where, "A list of values."))


def _branches(
    step: dict,
    at: str,
    errors: list[FieldError],
    questions: set[str],
    check_contact_leaf: Callable[[Condition, str], list[FieldError]] | None,
) -> None:
    branches = step.get("branches")
    if not isinstance(branches, list) or not 1 <= len(branches) <= MAX_BRANCHES:
        errors.append(FieldError(f"{at}.branches", f"From 1 to {MAX_BRANCHES} branches."))
        step["branches"] = []
        return
    for index, branch in enumerate(branches):
        where = f"{at}.branches[{index}]"
        if not isinstance(branch, dict) or set(branch) != {"when", "next"}:
            errors.append(FieldError(where, "An object with when (a condition) and next."))
            continue
        try:
            tree = tree_from_json(branch["when"], path=f"{where}.when")
        except ValidationFailed as failure:
            errors.extend(failure.errors)
            continue
        for path, leaf in condition_leaves(tree):
            leaf_at = f"{where}.when" + (f".{path}" if path else "")
            if leaf.field.startswith(ANSWER_PREFIX):
                _answer_leaf(leaf, leaf_at, questions, errors)
            elif check_contact_leaf is not None:
                errors.extend(check_contact_leaf(leaf, leaf_at))


def _step_clean(
    step: dict,
    at: str,
    errors: list[FieldError],
    questions: set[str],
    known_field: Callable[[str], bool],
    check_contact_leaf,
) -> None:
    kind = step["kind"]
    for key in sorted(set(step) - KNOWN_KEYS[kind] - {"id", "kind"}):
        errors.append(FieldError(f"{at}.{key}", f"A {kind} step has no {key!r}."))
    if kind in ("message", "question", "handover", "end", "knowledge", *OFFER_KINDS):
        _text(step, "text", at, errors, required=kind in ("message", "question"))
    if kind == "question":
        if step.get("input") not in INPUTS:
            errors.append(FieldError(f"{at}.input", f"One of: {', '.join(INPUTS)}."))
        if step.get("field"):
            _field(step["field"], f"{at}.field", errors, CONTACT_FIELDS, known_field)
        if step.get("input") == "choice":
            _choices(step, at, errors)
        elif "choices" in step:
            errors.append(FieldError(f"{at}.choices", "Only a choice question has choices."))
        if "retry_text" in step:
            _text(step, "retry_text", at, errors, required=False)
    elif kind == "condition":
        _branches(step, at, errors, questions, check_contact_leaf)
    elif kind == "set_field":
        _field(step.get("field"), f"{at}.field", errors, SETTABLE_FIELDS, known_field)
        if not isinstance(step.get("value"), str) or len(step["value"]) > MAX_TEXT:
            errors.append(FieldError(f"{at}.value", "Text of at most 2000 characters."))
    elif kind == "tag":
        tag = step.get("tag")
        if not isinstance(tag, str) or not tag.strip() or len(tag) > 100:
            errors.append(FieldError(f"{at}.tag", "A tag of 1 to 100 characters."))
    elif kind == "product":
        _offer_clean(step, at, errors)
    elif kind == "meeting":
        _meeting_clean(step, at, errors)
    elif kind == "score":
        points = step.get("points")
        if isinstance(points, bool) or not isinstance(points, int) or not points:
            errors.append(FieldError(f"{at}.points", "A whole number of points, not 0."))
        elif abs(points) > MAX_POINTS:
            errors.append(FieldError(f"{at}.points", f"At most {MAX_POINTS} points either way."))
    for key in ("next", "otherwise"):
        needed = (key == "next" and kind not in (*FINAL_KINDS, "condition")) or (
            key == "otherwise" and kind == "condition"
        )
        if needed and not isinstance(step.get(key), str):
            errors.append(FieldError(f"{at}.{key}", f"Step {step['id']}: the step that follows."))
            step[key] = ""


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _offer_clean(step: dict, at: str, errors: list[FieldError]) -> None:
    """A product step's own keys (that the product exists is the caller's ``check_step``)."""
    if not _whole(step.get("product")) or step["product"] < 1:
        errors.append(FieldError(f"{at}.product", f"Step {step['id']}: choose a product."))
    for key in ("buy_label", "decline_label"):
        value = step.get(key, "")
        if not isinstance(value, str) or len(value) > 60:
            errors.append(FieldError(f"{at}.{key}", f"Step {step['id']}: at most 60 characters."))
    if "paid_text" in step:
        _text(step, "paid_text", at, errors, required=False)
    if "paid" in step and not isinstance(step["paid"], str):
        errors.append(FieldError(f"{at}.paid", f"Step {step['id']}: a step id (or nothing)."))


def _meeting_clean(step: dict, at: str, errors: list[FieldError]) -> None:
    """A meeting step's own keys (that the member exists is the caller's ``check_step``)."""
    member = step.get("member")
    if member not in (None, "") and (not _whole(member) or member < 1):
        errors.append(FieldError(f"{at}.member", f"Step {step['id']}: choose a member."))
    if step.get("duration") not in MEETING_DURATIONS:
        minutes = ", ".join(str(m) for m in MEETING_DURATIONS)
        errors.append(
            FieldError(f"{at}.duration", f"Step {step['id']}: a length of {minutes} minutes.")
        )
    days = step.get("days")
    if not _whole(days) or not 1 <= days <= MAX_MEETING_DAYS:
        errors.append(
            FieldError(f"{at}.days", f"Step {step['id']}: 1 to {MAX_MEETING_DAYS} days ahead.")
        )


def graph_clean(
    data: Any,
    *,
    known_field: Callable[[str], bool] = lambda key: False,
    check_contact_leaf: Callable[[Condition, str], list[FieldError]] | None = None,
    check_step: Callable[[dict, str], list[FieldError]] | None = None,
) -> dict[str, Any]:
    """The graph as stored, or ValidationFailed naming every problem and its step (see the
    module docstring). ``known_field(key)``: whether ``custom_fields.<key>`` exists;
    ``check_contact_leaf(leaf, path)``: the field errors of a contact condition leaf;
    ``check_step(step, path)``: the errors of a product or meeting step against the
    workspace (its product, its member)."""
    if not isinstance(data, dict) or set(data) - {"start", "steps"}:
        raise ValidationFailed([FieldError("graph", "An object with start and steps.")])
    steps = data.get("steps")
    if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS:
        raise ValidationFailed([FieldError("graph.steps", f"From 1 to {MAX_STEPS} steps.")])
    errors: list[FieldError] = []
    ids: list[str] = []
    for index, step in enumerate(steps):
        at = f"graph.steps[{index}]"
        if not isinstance(step, dict):
            errors.append(FieldError(at, "A step is an object."))
        elif not isinstance(step.get("id"), str) or not STEP_ID.fullmatch(step["id"]):
            errors.append(FieldError(f"{at}.id", "Letters, digits, _ and -, at most 64."))
        elif step["id"] in ids:
            errors.append(FieldError(f"{at}.id", f"Two steps are called {step['id']}."))
        elif step.get("kind") not in KINDS:
            errors.append(
                FieldError(f"{at}.kind", f"Step {step['id']}: one of {', '.join(KINDS)}.")
            )
        else:
            ids.append(step["id"])
    if errors:
        raise ValidationFailed(errors)
    graph = {"start": data.get("start"), "steps": [dict(step) for step in steps]}
    questions = {s["id"] for s in graph["steps"] if s["kind"] == "question"}
    for index, step in enumerate(graph["steps"]):
        before = len(errors)
        _step_clean(
            step, f"graph.steps[{index}]", errors, questions, known_field, check_contact_leaf
        )
        if check_step is not None and step["kind"] in OFFER_KINDS and len(errors) == before:
            errors.extend(check_step(step, f"graph.steps[{index}]"))
    if errors:
        raise ValidationFailed(errors)
    _links_check(graph, errors)
    if errors:
        raise ValidationFailed(errors)
    return graph


def _links_check(graph: dict[str, Any], errors: list[FieldError]) -> None:
    """Unknown targets, unreachable steps, and cycles that wait for no input."""
    by_id = steps_by_id(graph)
    index_of = {step["id"]: index for index, step in enumerate(graph["steps"])}
    if graph["start"] not in by_id:
        errors.append(FieldError("graph.start", f"No step {graph['start']!r} to start at."))
        return
    for step in graph["steps"]:
        for target in step_targets(step):
            if target not in by_id:
                errors.append(
                    FieldError(
                        f"graph.steps[{index_of[step['id']]}]",
                        f"Step {step['id']} leads to {target!r}, which is not a step.",
                    )
                )
    if errors:
        return
    reached = {graph["start"]}
    pending = [graph["start"]]
    while pending:
        for target in step_targets(by_id[pending.pop()]):
            if target not in reached:
                reached.add(target)
                pending.append(target)
    for step in graph["steps"]:
        if step["id"] not in reached:
            errors.append(
                FieldError(
                    f"graph.steps[{index_of[step['id']]}]",
                    f"Step {step['id']} cannot be reached from the start.",
                )
            )
    for step_id in _unidentified_offers(graph, by_id):
        errors.append(
            FieldError(
                f"graph.steps[{index_of[step_id]}]",
                f"Step {step_id} needs the visitor's email: ask for it (a question filling "
                "email) on every path before it.",
            )
        )
    cycle = _cycle_without_input(graph, by_id)
    if cycle:
        errors.append(
            FieldError(
                f"graph.steps[{index_of[cycle[0]]}]",
                "These steps run in a circle without waiting for the visitor: "
                + " → ".join([*cycle, cycle[0]])
                + ".",
            )
        )


def _unidentified_offers(graph: dict[str, Any], by_id: dict[str, dict]) -> list[str]:
    """The product and meeting steps some path from the start reaches without passing a
    question that fills ``email`` (the walk stops at such questions)."""
    reached = {graph["start"]}
    pending = [graph["start"]]
    while pending:
        step = by_id[pending.pop()]
        if step["kind"] == "question" and step.get("field") == "email":
            continue
        for target in step_targets(step):
            if target not in reached:
                reached.add(target)
                pending.append(target)
    return [s["id"] for s in graph["steps"] if s["kind"] in OFFER_KINDS and s["id"] in reached]


def _cycle_without_input(graph: dict[str, Any], by_id: dict[str, dict]) -> list[str]:
    """A cycle among the steps that do not wait for the visitor, or []. Depth-first with an
    explicit stack (graphs are small, but recursion depth is not the place to find out)."""
    colour: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in (s["id"] for s in graph["steps"] if s["kind"] not in WAITING_KINDS):
        if colour.get(root):
            continue
        path = [root]
        colour[root] = 1
        stack = [iter(_moves(by_id[root]))]
        while stack:
            target = next(stack[-1], None)
            if target is None:
                colour[path.pop()] = 2
                stack.pop()
                continue
            if by_id[target]["kind"] in WAITING_KINDS or colour.get(target) == 2:
                continue
            if colour.get(target) == 1:
                return path[path.index(target) :]
            colour[target] = 1
            path.append(target)
            stack.append(iter(_moves(by_id[target])))
    return []


def _moves(step: dict[str, Any]) -> list[str]:
    return [] if step["kind"] in WAITING_KINDS else step_targets(step)
