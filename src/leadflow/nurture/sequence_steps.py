"""What a sequence's trigger and steps may say, checked before anything is saved: each bad
field is named (``steps[2].message_id``), references must be the workspace's own, and the
flow must be a graph without cycles (every enrolment moves forward and ends).

Step types (``type``; every step has an integer ``id``; ``next`` is the step after it, null
for the end):

- ``email``: ``message_id``, a marketing message sent to the contact (exactly once per
  step and entry; the pacing cap, quiet hours and consent apply at send time).
- ``wait``: ``seconds`` (1 minute to 365 days).
- ``wait_until``: ``weekdays`` (0 = Monday … 6 = Sunday) and ``time`` ("HH:MM"), the next
  such moment on the contact's wall clock (their time zone, told from phone or country).
- ``wait_for``: ``kind`` (an activity kind) with ``timeout_seconds``; goes to ``next``
  when the contact does it, to ``timeout_next`` when the time runs out.
- ``branch``: ``conditions`` (a condition tree); ``yes`` and ``no`` are the two ways on.
- ``tag`` / ``untag``: ``tag``; ``stage``: ``stage``; ``owner``: ``user_id`` (a member).
- ``field``: ``field`` and ``value``, one field set on the contact (a descriptive field or
  a custom field that does not identify a person; an empty value clears it), checked as an
  edit of the contact is.
- ``list_add``: ``segment_id`` (a static list of the workspace).
- ``enroll``: ``sequence_id`` (another sequence of the workspace).
- ``sms``: ``text`` (personalised like an email's), a text message through the workspace's
  SMS provider (nurture.services.sms).
- ``notify_owner``: ``title``, a notification (in the app and by email) to the owner.
- ``followup``: ``title``, ``due_hours``, ``kind`` (call, email, meeting, to_do), a
  follow-up for the owner (sales' ``sales.followup`` contact action).
"""

from typing import Any

from leadflow.contacts.activity_kinds import activity_kind_get
from leadflow.contacts.conditions import (
    ConditionContext,
    conditions_validate,
    tree_from_json,
    tree_to_json,
)
from leadflow.contacts.models import LifecycleStage
from leadflow.core.errors import FieldError, ValidationFailed
from leadflow.core.models import Membership, Workspace

MAX_STEPS = 100
MAX_WAIT_SECONDS = 365 * 86400
MIN_WAIT_SECONDS = 60
TAG_MAX_LENGTH = 50
STEP_TYPES = (
    "email",
    "wait",
    "wait_until",
    "wait_for",
    "branch",
    "tag",
    "untag",
    "stage",
    "field",
    "owner",
    "list_add",
    "enroll",
    "notify_owner",
    "followup",
    "sms",
)
FOLLOWUP_KINDS = ("call", "email", "meeting", "to_do")
WAIT_TYPES = ("wait", "wait_until", "wait_for")
# Where a step goes on: the keys that hold step ids.
LINKS = {"branch": ("yes", "no"), "wait_for": ("next", "timeout_next")}
# What can start a sequence besides manual enrolment; the other keys must equal the
# activity's data (``segment_id`` of ``segment.entered``…).
TRIGGER_MATCH = {
    "manual": (),
    "segment.entered": ("segment_id",),
    "segment.left": ("segment_id",),
    "form.submitted": ("form_id",),
    "stage.changed": ("to",),
    "tag.added": ("tag",),
    "lead.handed_back": (),
    "offer.redeemed": ("offer_id",),
    "magnet.downloaded": ("magnet_id",),
}


def links_of(step: dict[str, Any]) -> tuple[str, ...]:
    return LINKS.get(step.get("type", ""), ("next",))


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def trigger_check(workspace: Workspace, data: Any) -> dict[str, Any]:
    """The trigger, checked: a known kind and, for each match key it gives, a value."""
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        raise ValidationFailed([FieldError("trigger.kind", "Choose what starts the sequence.")])
    kind = data["kind"]
    if kind not in TRIGGER_MATCH:
        allowed = ", ".join(TRIGGER_MATCH)
        raise ValidationFailed([FieldError("trigger.kind", f"Use one of: {allowed}.")])
    clean: dict[str, Any] = {"kind": kind}
    errors = []
    for key in TRIGGER_MATCH[kind]:
        value = data.get(key)
        if value in (None, ""):
            continue
        if key.endswith("_id"):
            if _int(value) is None:
                errors.append(FieldError(f"trigger.{key}", "Give a whole number."))
                continue
            if key == "segment_id" and not _segment_exists(workspace, value):
                errors.append(FieldError("trigger.segment_id", "No such segment."))
            if key == "magnet_id" and not _magnet_exists(workspace, value):
                errors.append(FieldError("trigger.magnet_id", "No such lead magnet."))
        elif not isinstance(value, str) or len(value) > 100:
            errors.append(FieldError(f"trigger.{key}", "Give a text of at most 100 characters."))
            continue
        clean[key] = value
    if kind in ("segment.entered", "segment.left") and "segment_id" not in clean and not errors:
        errors.append(FieldError("trigger.segment_id", "Choose the segment."))
    if errors:
        raise ValidationFailed(errors)
    return clean


def _segment_exists(workspace: Workspace, segment_id: int) -> bool:
    from leadflow.nurture.models import Segment

    return Segment.objects.filter(workspace=workspace, pk=segment_id).exists()


def _magnet_exists(workspace: Workspace, magnet_id: int) -> bool:
    from leadflow.capture.models import Magnet

    return Magnet.objects.filter(workspace=workspace, pk=magnet_id).exists()


def conditions_check(workspace: Workspace, field: str, data: Any) -> dict[str, Any]:
    """A condition tree (or ``{}``/null for none) in its checked JSON form."""
    if not data:
        return {}
    try:
        tree = conditions_validate(tree_from_json(data), ConditionContext(workspace), path=field)
    except ValidationFailed:
        raise
    except (TypeError, ValueError, KeyError) as problem:
        raise ValidationFailed([FieldError(field, f"Not a condition tree: {problem}")]) from None
    return tree_to_json(tree)


def steps_check(
    workspace: Workspace, data: Any, *, sequence_id: int | None = None
) -> tuple[list[dict[str, Any]], int | None]:
    """The steps, checked, and the first step's id (the first in the list)."""
    if data in (None, ""):
        data = []
    if not isinstance(data, list):
        raise ValidationFailed([FieldError("steps", "Give a list of steps.")])
    if len(data) > MAX_STEPS:
        raise ValidationFailed([FieldError("steps", f"At most {MAX_STEPS} steps.")])
    errors: list[FieldError] = []
    clean: list[dict[str, Any]] = []
    ids: set[int] = set()
    taken = _messages_of_other_sequences(workspace, sequence_id) if _has_email(data) else set()
    for index, raw in enumerate(data):
        path = f"steps[{index}]"
        if not isinstance(raw, dict):
            errors.append(FieldError(path, "Each step is an object."))
            continue
        step_id = _int(raw.get("id"))
        if step_id is None or not 1 <= step_id <= 1_000_000:
            errors.append(FieldError(f"{path}.id", "Give a whole number from 1."))
            continue
        if step_id in ids:
            errors.append(FieldError(f"{path}.id", "Another step has this id."))
            continue
        ids.add(step_id)
        kind = raw.get("type")
        if kind not in STEP_TYPES:
            errors.append(FieldError(f"{path}.type", f"Use one of: {', '.join(STEP_TYPES)}."))
            continue
        step = {"id": step_id, "type": kind}
        _fields_check(workspace, kind, raw, step, path, errors, sequence_id)
        if kind == "email" and step.get("message_id") in taken:
            # A delivery is once per (message, contact, step, entry): another sequence's
            # message at the same step id would be sent to a contact in only one of them.
            errors.append(
                FieldError(
                    f"{path}.message_id",
                    "This message belongs to another sequence: give this step its own.",
                )
            )
        for link in links_of(step):
            target = raw.get(link)
            if target is not None and _int(target) is None:
                errors.append(FieldError(f"{path}.{link}", "Give a step id or null."))
            step[link] = target if _int(target) is not None else None
        clean.append(step)
    if not errors:
        errors.extend(_graph_check(clean, ids))
    if errors:
        raise ValidationFailed(errors)
    return clean, (clean[0]["id"] if clean else None)


def _has_email(data: list) -> bool:
    return any(isinstance(raw, dict) and raw.get("type") == "email" for raw in data)


def _messages_of_other_sequences(workspace: Workspace, sequence_id: int | None) -> set[int]:
    from leadflow.nurture.models import Sequence

    others = Sequence.objects.filter(workspace=workspace).exclude(pk=sequence_id or 0)
    return {
        step["message_id"]
        for steps in others.values_list("steps", flat=True)
        for step in steps or []
        if step.get("type") == "email" and step.get("message_id")
    }


def _fields_check(workspace, kind, raw, step, path, errors, sequence_id) -> None:
    from leadflow.nurture.models import Message, Segment, SegmentKind, Sequence

    def number(key: str, low: int, high: int, message: str) -> int | None:
        value = _int(raw.get(key))
        if value is None or not low <= value <= high:
            errors.append(FieldError(f"{path}.{key}", message))
            return None
        step[key] = value
        return value

    if kind == "email":
        message_id = number("message_id", 1, 2**62, "Choose a message.")
        if message_id and not Message.objects.filter(workspace=workspace, pk=message_id).exists():
            errors.append(FieldError(f"{path}.message_id", "No such message."))
    elif kind in ("wait", "wait_for"):
        key = "seconds" if kind == "wait" else "timeout_seconds"
        number(key, MIN_WAIT_SECONDS, MAX_WAIT_SECONDS, "Give 1 minute to 365 days, in seconds.")
        if kind == "wait_for":
            activity = raw.get("kind")
            if not isinstance(activity, str) or activity_kind_get(activity) is None:
                errors.append(FieldError(f"{path}.kind", "Choose an activity kind."))
            else:
                step["kind"] = activity
    elif kind == "wait_until":
        days = raw.get("weekdays")
        if (
            not isinstance(days, list)
            or not days
            or any(_int(day) is None or not 0 <= day <= 6 for day in days)
        ):
            errors.append(FieldError(f"{path}.weekdays", "Choose days (0 = Monday … 6 = Sunday)."))
        else:
            step["weekdays"] = sorted(set(days))
        at = raw.get("time")
        if not isinstance(at, str) or not _time_ok(at):
            errors.append(FieldError(f"{path}.time", 'Give a time as "HH:MM".'))
        else:
            step["time"] = at
    elif kind == "branch":
        try:
            step["conditions"] = conditions_check(
                workspace, f"{path}.conditions", raw.get("conditions")
            )
        except ValidationFailed as failed:
            errors.extend(failed.errors)
        else:
            if not step["conditions"]:
                errors.append(FieldError(f"{path}.conditions", "A branch needs conditions."))
    elif kind in ("tag", "untag"):
        tag = raw.get("tag")
        if not isinstance(tag, str) or not tag.strip() or len(tag.strip()) > TAG_MAX_LENGTH:
            errors.append(FieldError(f"{path}.tag", "Give a tag of 1 to 50 characters."))
        else:
            step["tag"] = tag.strip()
    elif kind == "stage":
        if raw.get("stage") not in LifecycleStage.values:
            errors.append(FieldError(f"{path}.stage", "Choose a lifecycle stage."))
        else:
            step["stage"] = raw["stage"]
    elif kind == "field":
        from leadflow.contacts.services.bulk import set_field_check

        try:
            field, value = set_field_check(
                workspace, {"field": raw.get("field"), "value": raw.get("value")}, path
            )
        except ValidationFailed as failed:
            errors.extend(failed.errors)
        else:
            step["field"], step["value"] = field, value
    elif kind == "owner":
        user_id = number("user_id", 1, 2**62, "Choose a member.")
        if user_id and not Membership.objects.filter(workspace=workspace, user_id=user_id).exists():
            errors.append(FieldError(f"{path}.user_id", "Not a member of this workspace."))
    elif kind == "list_add":
        segment_id = number("segment_id", 1, 2**62, "Choose a static list.")
        if (
            segment_id
            and not Segment.objects.filter(
                workspace=workspace, pk=segment_id, kind=SegmentKind.STATIC
            ).exists()
        ):
            errors.append(FieldError(f"{path}.segment_id", "No such static list."))
    elif kind == "sms":
        from leadflow.nurture.services.sms import sms_text_check

        try:
            sms_text_check(raw.get("text"), f"{path}.text")
        except ValidationFailed as failed:
            errors.extend(failed.errors)
        else:
            step["text"] = raw["text"].strip()
    elif kind in ("notify_owner", "followup"):
        title = raw.get("title")
        if not isinstance(title, str) or not title.strip() or len(title.strip()) > 200:
            errors.append(FieldError(f"{path}.title", "Give a title of 1 to 200 characters."))
        else:
            step["title"] = title.strip()
        if kind == "followup":
            number("due_hours", 0, 24 * 90, "Give 0 to 2160 hours.")
            if raw.get("kind", "call") not in FOLLOWUP_KINDS:
                errors.append(FieldError(f"{path}.kind", "Use call, email, meeting or to_do."))
            else:
                step["kind"] = raw.get("kind", "call")
            from leadflow.contacts.actions import contact_action_get

            if contact_action_get("sales.followup") is None:
                errors.append(FieldError(f"{path}.type", "Sales follow-ups are not installed."))
    elif kind == "enroll":
        other = number("sequence_id", 1, 2**62, "Choose a sequence.")
        if other and other == sequence_id:
            errors.append(FieldError(f"{path}.sequence_id", "A sequence cannot enrol in itself."))
        elif other and not Sequence.objects.filter(workspace=workspace, pk=other).exists():
            errors.append(FieldError(f"{path}.sequence_id", "No such sequence."))


def _time_ok(value: str) -> bool:
    hours, _, minutes = value.partition(":")
    return (
        len(hours) == 2
        and len(minutes) == 2
        and hours.isdigit()
        and minutes.isdigit()
        and int(hours) < 24
        and int(minutes) < 60
    )


def _graph_check(steps: list[dict[str, Any]], ids: set[int]) -> list[FieldError]:
    """Links point at steps that exist, and no path comes back to a step (DFS colouring)."""
    errors: list[FieldError] = []
    for index, step in enumerate(steps):
        for link in links_of(step):
            if step[link] is not None and step[link] not in ids:
                errors.append(FieldError(f"steps[{index}].{link}", "No step with this id."))
            if step[link] == step["id"]:
                errors.append(FieldError(f"steps[{index}].{link}", "A step cannot lead to itself."))
    if errors:
        return errors
    by_id = {step["id"]: step for step in steps}

    def children(node: int) -> list[int]:
        return [by_id[node][link] for link in links_of(by_id[node]) if by_id[node][link]]

    state: dict[int, int] = {}  # 1: on the current path, 2: done
    for start in by_id:
        if state.get(start):
            continue
        state[start] = 1
        stack = [(start, iter(children(start)))]
        while stack:
            node, rest = stack[-1]
            child = next(rest, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                index = steps.index(by_id[node])
                return [FieldError(f"steps[{index}]", "The steps go round in a circle.")]
            elif not state.get(child):
                state[child] = 1
                stack.append((child, iter(children(child))))
    return []
