"""The flow editor's changes to a sequence's steps, one step at a time: add a step at a
place in the flow, change a step's settings, remove a step. Each builds the new step list
and saves it through ``sequence_update``, so the same checks hold as for the API (every
bad field named; a step someone waits at is never removed).

An email step in the app names a template and a sending identity: the editor makes the
``Message`` that the deliveries belong to (one per step version, named after the sequence
and the step), so a marketer never handles messages by hand.
"""

import copy
from typing import Any

from leadflow.core.actors import Actor
from leadflow.core.errors import FieldError, NotFound, ValidationFailed
from leadflow.core.models import Workspace
from leadflow.nurture.models import Message
from leadflow.nurture.models.sequences import Sequence
from leadflow.nurture.sequence_steps import LINKS, links_of
from leadflow.nurture.services.sequences import sequence_update


def _primary(step: dict[str, Any]) -> str:
    return links_of(step)[0]


def _get(workspace: Workspace, sequence_id: int) -> Sequence:
    sequence = Sequence.objects.filter(workspace=workspace, pk=sequence_id).first()
    if sequence is None:
        raise NotFound("No such sequence.")
    return sequence


def email_message(
    *, workspace: Workspace, actor: Actor, sequence: Sequence, data: dict[str, Any]
) -> dict[str, Any]:
    """An email step's data with ``message_id`` set: the message of the chosen template and
    identity (a new one when they changed)."""
    from leadflow.nurture.services.sending import message_create

    template_id, identity_id = data.pop("template_id", None), data.pop("identity_id", None)
    current = data.get("message_id")
    if template_id is None and identity_id is None:
        return data
    message = Message.objects.filter(workspace=workspace, pk=current).first() if current else None
    if (
        message is not None
        and message.template_id == template_id
        and message.identity_id == identity_id
    ):
        return data
    errors = []
    if template_id is None:
        errors.append(FieldError("template_id", "Choose a template."))
    if identity_id is None:
        errors.append(FieldError("identity_id", "Choose who it is from."))
    if errors:
        raise ValidationFailed(errors)
    made = message_create(
        workspace=workspace,
        name=f"{sequence.name} · step {data.get('id', '')}"[:200],
        template_id=template_id,
        identity_id=identity_id,
        user=actor.user,
    )
    data["message_id"] = made.pk
    return data


def step_add(
    *,
    workspace: Workspace,
    actor: Actor,
    sequence_id: int,
    after: int | None,
    link: str = "next",
    data: dict[str, Any],
) -> Sequence:
    """Put a new step at a place of the flow: after step ``after`` on its ``link`` (next,
    yes, no, timeout_next), or first when ``after`` is None. What came there comes after
    the new step (on its first way on: next, or yes for a branch)."""
    sequence = _get(workspace, sequence_id)
    steps = copy.deepcopy(sequence.steps or [])
    new_id = max((step["id"] for step in steps), default=0) + 1
    step = {**data, "id": new_id}
    if step.get("type") == "email":
        step = email_message(workspace=workspace, actor=actor, sequence=sequence, data=step)
    for key in set(sum(LINKS.values(), ("next",))):
        step.pop(key, None)
    if after is None:
        step[_primary(step)] = steps[0]["id"] if steps else None
        steps.insert(0, step)
    else:
        before = next((s for s in steps if s["id"] == after), None)
        if before is None:
            raise ValidationFailed([FieldError("after", "No such step.")])
        if link not in links_of(before):
            raise ValidationFailed([FieldError("link", "This step has no such way on.")])
        step[_primary(step)] = before.get(link)
        before[link] = new_id
        steps.insert(steps.index(before) + 1, step)
    for key in links_of(step):
        step.setdefault(key, None)
    return sequence_update(
        workspace=workspace, actor=actor, sequence_id=sequence.pk, values={"steps": steps}
    )


def step_change(
    *,
    workspace: Workspace,
    actor: Actor,
    sequence_id: int,
    step_id: int,
    data: dict[str, Any],
) -> Sequence:
    """Change a step's settings (its type and place stay)."""
    sequence = _get(workspace, sequence_id)
    steps = copy.deepcopy(sequence.steps or [])
    step = next((s for s in steps if s["id"] == step_id), None)
    if step is None:
        raise NotFound("No such step.")
    kind = step["type"]
    links = {key: step.get(key) for key in links_of(step)}
    settings = {k: v for k, v in data.items() if k not in ("id", "type", *links)}
    if kind == "email":
        settings = email_message(
            workspace=workspace,
            actor=actor,
            sequence=sequence,
            data={**settings, "id": step_id, "message_id": step.get("message_id")},
        )
        settings.pop("id")
    step.clear()
    step.update({"id": step_id, "type": kind, **settings, **links})
    return sequence_update(
        workspace=workspace, actor=actor, sequence_id=sequence.pk, values={"steps": steps}
    )


def step_remove(*, workspace: Workspace, actor: Actor, sequence_id: int, step_id: int) -> Sequence:
    """Take a step out: what led to it leads to what came after it (its first way on);
    steps no longer reachable (the other side of a removed branch) go with it."""
    sequence = _get(workspace, sequence_id)
    steps = copy.deepcopy(sequence.steps or [])
    gone = next((s for s in steps if s["id"] == step_id), None)
    if gone is None:
        raise NotFound("No such step.")
    then = gone.get(_primary(gone))
    steps.remove(gone)
    for step in steps:
        for key in links_of(step):
            if step.get(key) == step_id:
                step[key] = then
    if steps and sequence.first_step == step_id:
        first = next((s for s in steps if s["id"] == then), None)
        if first is not None:
            steps.remove(first)
            steps.insert(0, first)
    steps = _reachable(steps)
    return sequence_update(
        workspace=workspace, actor=actor, sequence_id=sequence.pk, values={"steps": steps}
    )


def _reachable(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not steps:
        return steps
    by_id = {step["id"]: step for step in steps}
    seen, todo = set(), [steps[0]["id"]]
    while todo:
        current = todo.pop()
        if current in seen or current not in by_id:
            continue
        seen.add(current)
        todo.extend(by_id[current].get(key) for key in links_of(by_id[current]))
    return [step for step in steps if step["id"] in seen]
